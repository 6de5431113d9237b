"""`make bench`, sea ice: seaiceconcentration through qgis_process, tiled and full-scene.

7. Sea ice: a 5000 × 5200 scene at 80 m (one AI4Arctic scene's size after downsampling; simulated HH/HV,
   simulators/sea_ice_scenes.py, tiled from a 1250 × 1300 simulated scene) charted by
   `sarsense:seaiceconcentration` through qgis_process (DOWNSAMPLE 1) in tiled mode at its default 512 MiB
   budget and in full-scene mode with the budget a whole scene needs (or, where this machine's memory cannot
   hold that, the largest square part of the scene that fits, said so), time and peak RSS; and the
   agreement of full-scene and tiled charts of the same raster.
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import os

import numpy as np
from common import QGIS_PROCESS, REPO, memory_mb, qgis_process, timed
from osgeo import gdal

SIC_TILED_EXTRA_MB = 512    # sea ice: tiled mode within its default 512 MiB budget (above qgis_process start-up)
SIC_SHAPE = (5200, 5000)    # rows, columns at 80 m: one AI4Arctic scene
SIC_AGREEMENT = 0.999       # full-scene and tiled charts agree on this share of pixels


def run(tmp):
    """Section 7: a 5000 × 5200 scene at 80 m charted through qgis_process, tiled (default budget) and full scene."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    _, base = timed([QGIS_PROCESS, "list"], env=env)
    from sarsense.algorithms import onnx as rt
    from sarsense.algorithms.sea_ice import pipeline
    from sarsense.simulators import sea_ice_scenes as sim

    rows, cols = SIC_SHAPE
    part = sim.simulate((rows // 4, cols // 4), seed=77, pixel_m=80.0)
    src = os.path.join(tmp, "ew_80m_hh_hv.tif")
    ds = gdal.GetDriverByName("GTiff").Create(src, cols, rows, 2, gdal.GDT_Float32,
                                              options=["TILED=YES", "COMPRESS=ZSTD", "BIGTIFF=YES"])
    ds.SetGeoTransform(sim.geotransform((rows, cols), pixel_m=80.0))
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(sim.EPSG)
    ds.SetProjection(srs.ExportToWkt())
    for b, key in enumerate(("hh_db", "hv_db"), start=1):
        ds.GetRasterBand(b).SetNoDataValue(float("nan"))
        ds.GetRasterBand(b).WriteArray(np.tile(part[key], (4, 4)))
    ds = None
    model = rt.Model(os.path.join(REPO, "models", "sea_ice_concentration.onnx"))
    c = model.contract

    def need_mb(r, q):     # the budget a full-scene run of r × q px needs (what the algorithm's log says)
        return pipeline.full_scene_budget_mb(model, q, r)
    full_side = None
    if need_mb(rows, cols) > 0.8 * memory_mb():
        full_side = max(n for n in range(c.size_multiple, min(rows, cols) + 1, c.size_multiple)
                        if need_mb(n, n) <= 0.8 * memory_mb() - 1024)
    print(f"\nSea ice: simulated HH/HV {cols}x{rows} px at 80 m ({rows * cols / 1e6:.1f} Mpx), bundled U-Net "
          f"({int(np.log2(c.size_multiple))} levels, {c.memory_per_pixel} B/px), through qgis_process (start-up "
          f"included; qgis_process.bin list: {base:.0f} MB); this machine: {memory_mb() / 1024:.0f} GiB")
    print(f"{'mode':34} {'s':>7} {'Mpx/s':>6} {'peak MB':>8} {'above start-up':>15}  target")
    failed = []
    t, peak = qgis_process("sarsense:seaiceconcentration", env, HV=src, DOWNSAMPLE=1, MODE=1, COMPRESSION=0,
                           OUTPUT=os.path.join(tmp, "tiled.tif"))
    ok = peak - base <= SIC_TILED_EXTRA_MB
    failed += [] if ok else ["sea-ice-tiled@rss"]
    print(f"{'tiled, default 512 MiB budget':34} {t:7.1f} {rows * cols / 1e6 / t:6.2f} {peak:8.0f} "
          f"{peak - base:15.0f}  <= {SIC_TILED_EXTRA_MB} MB: {'met' if ok else 'MISSED'}")
    full_src, label = src, "full scene"
    if full_side:
        full_src = os.path.join(tmp, "part.tif")
        gdal.Translate(full_src, src, srcWin=[0, 0, full_side, full_side])
        label = f"full scene, {full_side}x{full_side} part"
        print(f"  (a whole {cols}x{rows} scene in one piece needs a {need_mb(rows, cols) / 1024:.1f} GiB budget, more "
              f"than 80 % of this machine's memory: full-scene mode runs on the largest square part that fits)")
    r_n, c_n = (full_side, full_side) if full_side else (rows, cols)
    budget = int(need_mb(r_n, c_n)) + 1
    t2, peak2 = qgis_process("sarsense:seaiceconcentration", env, HV=full_src, DOWNSAMPLE=1, MODE=0, COMPRESSION=0,
                             BUDGET_MB=budget, OUTPUT=os.path.join(tmp, "full.tif"))
    print(f"{label + f', {budget} MiB budget':34} {t2:7.1f} {r_n * c_n / 1e6 / t2:6.2f} {peak2:8.0f} "
          f"{peak2 - base:15.0f}")
    tiled_same = os.path.join(tmp, "tiled.tif")
    if full_side:   # the part's right and bottom edges are image edges for it: compare with a tiled run of the part
        tiled_same = os.path.join(tmp, "tiled_part.tif")
        qgis_process("sarsense:seaiceconcentration", env, HV=full_src, DOWNSAMPLE=1, MODE=1, COMPRESSION=0,
                     OUTPUT=tiled_same)
    a = gdal.Open(os.path.join(tmp, "full.tif")).ReadAsArray()
    b = gdal.Open(tiled_same).ReadAsArray()
    agree = float(np.mean(a == b))
    ok = agree >= SIC_AGREEMENT
    failed += [] if ok else ["sea-ice@agreement"]
    print(f"full-scene and tiled charts agree on {100 * agree:.3f} % of the {r_n}x{c_n} px both cover "
          f"(target >= {100 * SIC_AGREEMENT:.1f} %): {'met' if ok else 'MISSED'}")
    return failed
