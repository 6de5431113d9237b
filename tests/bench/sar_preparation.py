"""`make bench`, SAR preparation: SARSense's speckle filters against OTB 8.1's otbcli_Despeckle, file to
file, same run.

1. Engine: Lee, Gamma-MAP, Frost and Kuan at 5×5 on float32 GeoTIFFs of 4096² and 8192² pixels, wall
   time and peak RSS of each side, the throughput ratio (OTB time / SARSense time) and, as the floor,
   the time gdal_translate needs to copy the same file.
2. End to end, as users run it: `qgis_process.bin run sarsense:despeckle` (start-up included, median
   of 3) against otbcli_Despeckle (median of 3) at 8192².
3. Memory through qgis_process: peak RSS of every SAR-preparation algorithm at 8192², and of
   applymodel on 8000×8000×2 with its default 512 MiB budget, above `qgis_process.bin list`
   (QGIS's start-up), with QGIS's and GDAL's own caches counted.
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import os
import statistics
import sys

import numpy as np
from common import QGIS_PROCESS, make_input, qgis_process, timed
from osgeo import gdal

FILTERS = ("lee", "gammamap", "frost", "kuan")
TARGET = {"lee": 2.0, "gammamap": 2.0, "kuan": 2.0, "frost": 1.5}
RSS_LIMIT_MB = 300
E2E_TARGET = 1.8            # end to end through qgis_process, start-up included
QP_EXTRA_MB = 128           # SAR preparation: peak RSS above qgis_process start-up
FILTER_IDS = {"lee": 1, "gammamap": 4, "kuan": 5}

# Runs SARSense's despeckle job exactly as sarsense:despeckle does (same kernel, workers, block sizing).
OURS = """
import sys
from sarsense.algorithms.sar import speckle
from sarsense.algorithms.io import RunOptions
speckle.despeckle_file(sys.argv[1], sys.argv[2], filter=sys.argv[3], size=5, looks=1.0, damping=2.0,
                       options=RunOptions(workers=int(sys.argv[4]), compression=sys.argv[5]))
"""


def run(tmp, *, sizes=(4096, 8192), workers=1, compression="NONE"):
    """Sections 1-3. ``compression``: SARSense's output compression (OTB writes uncompressed)."""
    otb = "/usr/bin/otbcli_Despeckle"
    py = sys.executable
    print(f"machine: {os.cpu_count()} cores; SARSense workers={workers}; OTB uses all cores (ITK threads)")
    rows, failed = [], []
    if True:
        for n in sizes:
            src = os.path.join(tmp, f"in_{n}.tif")
            make_input(src, n)
            floor, _ = timed(["gdal_translate", "-q", src, os.path.join(tmp, "copy.tif")])
            print(f"\n{n}x{n} float32 ({n * n * 4 / 2**20:.0f} MiB): gdal_translate copy {floor:.2f} s (floor)")
            print(f"{'filter':9} {'OTB s':>7} {'OTB MB':>7} {'ours s':>7} {'ours MB':>8} {'ratio':>6}  target")
            for f in FILTERS:
                opt = ["-filter.frost.deramp", "2"] if f == "frost" else [f"-filter.{f}.nblooks", "1"]
                t_otb, m_otb = timed([otb, "-in", src, "-out", os.path.join(tmp, "otb.tif"), "float", "-filter", f,
                                      f"-filter.{f}.rad", "2", *opt])
                t_us, m_us = timed([py, "-c", OURS, src, os.path.join(tmp, "ours.tif"), f, str(workers),
                                    compression])
                ratio = t_otb / t_us
                ok = ratio >= TARGET[f] and m_us <= RSS_LIMIT_MB
                if not ok:
                    failed.append(f"{f}@{n}")
                rows.append((n, f, t_otb, m_otb, t_us, m_us, ratio))
                print(f"{f:9} {t_otb:7.2f} {m_otb:7.0f} {t_us:7.2f} {m_us:8.0f} {ratio:6.2f}x  "
                      f">= {TARGET[f]}x, <= {RSS_LIMIT_MB} MB: {'met' if ok else 'MISSED'}")
            for comp in ("NONE", "ZSTD", "DEFLATE"):
                t, _ = timed([py, "-c", OURS, src, os.path.join(tmp, f"c_{comp}.tif"), "boxcar", str(workers),
                              comp])
                size = os.path.getsize(os.path.join(tmp, f"c_{comp}.tif")) / 2**20
                print(f"boxcar 5x5 output compression {comp:8}: {t:6.2f} s, {size:6.0f} MiB")
        if 8192 in sizes and os.path.exists(QGIS_PROCESS):
            failed += through_qgis_process(tmp, os.path.join(tmp, "in_8192.tif"), otb)
    return failed


def through_qgis_process(tmp, src, otb):
    """Sections 2 and 3: end-to-end speed and memory of the algorithms as qgis_process runs them."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    failed = []
    _, base = timed([QGIS_PROCESS, "list"], env=env)
    out = os.path.join(tmp, "qp.tif")
    print("\nend to end at 8192x8192: qgis_process.bin run sarsense:despeckle (start-up included, COMPRESSION=NONE "
          "like OTB) vs otbcli_Despeckle, median of 3")
    print(f"{'filter':9} {'OTB s':>7} {'qgis_process s':>15} {'ratio':>6}  target >= {E2E_TARGET}x")
    for f, fid in FILTER_IDS.items():
        t_otb = statistics.median(timed([otb, "-in", src, "-out", os.path.join(tmp, "otb.tif"), "float", "-filter", f,
                                         f"-filter.{f}.rad", "2", f"-filter.{f}.nblooks", "1"])[0] for _ in range(3))
        t_qp = statistics.median(qgis_process("sarsense:despeckle", env, INPUT=src, FILTER=fid, SIZE=5, LOOKS=1,
                                              INPUT_UNITS=0, COMPRESSION=0, OUTPUT=out)[0] for _ in range(3))
        ok = t_otb / t_qp >= E2E_TARGET
        failed += [] if ok else [f"{f}@qgis_process"]
        print(f"{f:9} {t_otb:7.2f} {t_qp:15.2f} {t_otb / t_qp:6.2f}x  {'met' if ok else 'MISSED'}")

    print(f"\npeak RSS through qgis_process at 8192x8192 (qgis_process.bin list: {base:.0f} MB), default parameters")
    print(f"{'algorithm':34} {'s':>6} {'peak MB':>8} {'above start-up':>15}  target")
    dated = []
    for day in ("2020-01-01", "2020-01-13", "2020-01-25"):
        link = os.path.join(tmp, f"vv_{day}.tif")
        os.symlink(src, link)
        dated.append(link)
    stack = os.path.join(tmp, "stack.tif")
    runs = [("convertunits linear -> dB", "sarsense:convertunits", dict(INPUT=src, CONVERSION=0, OUTPUT=out)),
            ("despeckle Lee 5x5", "sarsense:despeckle", dict(INPUT=src, FILTER=1, INPUT_UNITS=0, OUTPUT=out)),
            ("despeckle Gamma-MAP 5x5", "sarsense:despeckle", dict(INPUT=src, INPUT_UNITS=0, OUTPUT=out)),
            ("despeckle refined Lee 7x7", "sarsense:despeckle", dict(INPUT=src, FILTER=2, SIZE=7, INPUT_UNITS=0,
                                                                     OUTPUT=out)),
            ("buildstack 3 dates", "sarsense:buildstack", {"INPUTS": ";".join(dated), "OUTPUT": stack}),
            ("multitemporaldespeckle 3 dates 7x7", "sarsense:multitemporaldespeckle", dict(INPUT=stack, INPUT_UNITS=0,
                                                                                          OUTPUT=out))]
    for label, alg, params in runs:
        if alg == "sarsense:buildstack":
            t, peak = timed([QGIS_PROCESS, "run", alg, *[f"--INPUTS={p}" for p in dated], f"--OUTPUT={stack}"], env=env)
        else:
            t, peak = qgis_process(alg, env, **params)
        ok = peak - base <= QP_EXTRA_MB
        failed += [] if ok else [f"{label}@rss"]
        print(f"{label:34} {t:6.1f} {peak:8.0f} {peak - base:15.0f}  <= {QP_EXTRA_MB} MB: {'met' if ok else 'MISSED'}")

    # applymodel: a 2-band 8000x8000 raster and a small 2-channel CNN (tests/onnx_models.py), default budget
    from sarsense.tests.onnx_models import contract, conv_net
    model = conv_net(os.path.join(tmp, "bench_net.onnx"), filters=16, layers=4,
                     contract_dict=contract(tiling={"tile_size": 512, "halo": 8, "receptive_field": 9,
                                                    "memory_per_pixel": 256}))
    two = os.path.join(tmp, "two_8000.tif")
    ds = gdal.GetDriverByName("GTiff").Create(two, 8000, 8000, 2, gdal.GDT_Float32, options=["TILED=YES"])
    ds.SetGeoTransform((500000, 10, 0, 5000000, 0, -10))
    rng = np.random.default_rng(1)
    for b in (1, 2):
        for y in range(0, 8000, 1000):
            ds.GetRasterBand(b).WriteArray(rng.normal(-12, 3, (1000, 8000)).astype(np.float32), 0, y)
    ds = None
    t, peak = qgis_process("sarsense:applymodel", env, INPUT=two, MODEL=model, OUTPUT=out)
    ok = peak - base <= 512
    failed += [] if ok else ["applymodel@rss"]
    print(f"{'applymodel 8000x8000x2, budget 512':34} {t:6.1f} {peak:8.0f} {peak - base:15.0f}  <= 512 MB (the "
          f"budget): {'met' if ok else 'MISSED'}")
    return failed
