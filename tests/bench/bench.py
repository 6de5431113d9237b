"""`make bench`: SARSense speckle filters against OTB 8.1's otbcli_Despeckle, file to file, same run.

For Lee, Gamma-MAP, Frost and Kuan at 5×5 on float32 GeoTIFFs of 4096² and 8192² pixels it prints
wall time and peak RSS of each side, the throughput ratio (OTB time / SARSense time) and, as the
floor, the time gdal_translate needs to copy the same file. Each side runs as its own process under
/usr/bin/time so peak RSS is the whole process's. Not a test: timings vary between machines; only
ratios measured in the same run are quoted (README, "Performance").
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTERS = ("lee", "gammamap", "frost", "kuan")
TARGET = {"lee": 2.0, "gammamap": 2.0, "kuan": 2.0, "frost": 1.5}
RSS_LIMIT_MB = 300

# Runs SARSense's engine exactly as sarsense:despeckle does (same kernel, workers, block sizing).
OURS = """
import sys
sys.path.insert(0, sys.argv[1])
from sarsense.algorithms import speckle
from sarsense.algorithms.io import run_blockwise
name = sys.argv[4]
run_blockwise(sys.argv[2], sys.argv[3], speckle.band_kernel(name, size=5, looks=1.0, damping=2.0), halo=2,
              bytes_per_pixel=speckle.working_bytes(name), workers=int(sys.argv[5]), compression=sys.argv[6])
"""


def timed(cmd):
    """(seconds, peak RSS MB) of a command run under /usr/bin/time."""
    res = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr[-2000:]}")
    sec, kb = re.findall(r"TIME ([\d.]+) (\d+)", res.stderr)[-1]
    return float(sec), int(kb) / 1024


def make_input(path, n):
    """Gamma speckle (ENL 1) on a blocky scene, float32, tiled GeoTIFF, written block by block."""
    rng = np.random.default_rng(n)
    ds = gdal.GetDriverByName("GTiff").Create(path, n, n, 1, gdal.GDT_Float32, options=["TILED=YES"])
    ds.SetGeoTransform((500000, 10, 0, 5000000, 0, -10))
    band = ds.GetRasterBand(1)
    for y in range(0, n, 1024):
        scene = np.exp(rng.normal(-3, 1, (16, n // 64))).repeat(64, 0).repeat(64, 1)
        band.WriteArray((scene * rng.gamma(1.0, 1.0, scene.shape)).astype(np.float32), 0, y)
    ds = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    ap.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--compression", default="NONE", help="SARSense output compression (OTB writes uncompressed)")
    args = ap.parse_args()
    otb = "/usr/bin/otbcli_Despeckle"
    py = sys.executable
    pkg = tempfile.mkdtemp(prefix="sarsense-bench-pkg-")
    os.symlink(REPO, os.path.join(pkg, "sarsense"))
    print(f"machine: {os.cpu_count()} cores; SARSense workers={args.workers}; OTB uses all cores (ITK threads)")
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="sarsense-bench-") as tmp:
        for n in args.sizes:
            src = os.path.join(tmp, f"in_{n}.tif")
            make_input(src, n)
            floor, _ = timed(["gdal_translate", "-q", src, os.path.join(tmp, "copy.tif")])
            print(f"\n{n}x{n} float32 ({n * n * 4 / 2**20:.0f} MiB): gdal_translate copy {floor:.2f} s (floor)")
            print(f"{'filter':9} {'OTB s':>7} {'OTB MB':>7} {'ours s':>7} {'ours MB':>8} {'ratio':>6}  target")
            for f in FILTERS:
                opt = ["-filter.frost.deramp", "2"] if f == "frost" else [f"-filter.{f}.nblooks", "1"]
                t_otb, m_otb = timed([otb, "-in", src, "-out", os.path.join(tmp, "otb.tif"), "float", "-filter", f,
                                      f"-filter.{f}.rad", "2", *opt])
                t_us, m_us = timed([py, "-c", OURS, pkg, src, os.path.join(tmp, "ours.tif"), f, str(args.workers),
                                    args.compression])
                ratio = t_otb / t_us
                ok = ratio >= TARGET[f] and m_us <= RSS_LIMIT_MB
                if not ok:
                    failed.append(f"{f}@{n}")
                rows.append((n, f, t_otb, m_otb, t_us, m_us, ratio))
                print(f"{f:9} {t_otb:7.2f} {m_otb:7.0f} {t_us:7.2f} {m_us:8.0f} {ratio:6.2f}x  "
                      f">= {TARGET[f]}x, <= {RSS_LIMIT_MB} MB: {'met' if ok else 'MISSED'}")
            for comp in ("NONE", "ZSTD", "DEFLATE"):
                t, _ = timed([py, "-c", OURS, pkg, src, os.path.join(tmp, f"c_{comp}.tif"), "boxcar", str(args.workers),
                              comp])
                size = os.path.getsize(os.path.join(tmp, f"c_{comp}.tif")) / 2**20
                print(f"boxcar 5x5 output compression {comp:8}: {t:6.2f} s, {size:6.0f} MiB")
    print("\nmodels (the shipped model chain, LST- and sea-ice-size U-Nets): tests/bench/bench_onnx.py, next")
    print("targets missed: " + (", ".join(failed) if failed else "none"))


if __name__ == "__main__":
    main()
