"""What every `make bench` section shares: timing a command with its peak RSS, qgis_process, inputs."""

import os
import re
import subprocess
import sys

import numpy as np
from osgeo import gdal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QGIS_PROCESS = "/usr/bin/qgis_process.bin"


def timed(cmd, env=None):
    """(seconds, peak RSS MB) of a command run under /usr/bin/time."""
    res = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], capture_output=True, text=True, env=env)
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


def make_vv_stack(path, n, dates):
    """A VV stack in dB, n² × dates, tiled, pixel-interleaved, each band dated 12 days after the last (2021-01-01
    on): a blocky field plus a wetness per date and noise (sections 4 and 10)."""
    import datetime
    ds = gdal.GetDriverByName("GTiff").Create(path, n, n, dates, gdal.GDT_Float32,
                                              options=["TILED=YES", "BIGTIFF=YES", "INTERLEAVE=PIXEL"])
    ds.SetGeoTransform((500000, 10, 0, 5000000, 0, -10))
    rng = np.random.default_rng(7)
    wet = rng.uniform(0, 1, dates)
    for b in range(dates):
        band = ds.GetRasterBand(b + 1)
        band.SetDescription((datetime.date(2021, 1, 1) + datetime.timedelta(days=12 * b)).isoformat())
        band.SetNoDataValue(float("nan"))
        for y in range(0, n, 1024):
            field = rng.normal(-14, 2, (16, n // 64)).repeat(64, 0).repeat(64, 1)
            band.WriteArray((field + 4 * wet[b] + rng.normal(0, 1.0, field.shape)).astype(np.float32), 0, y)
    ds = None
    return path


def qgis_process(alg, env, **params):
    return timed([QGIS_PROCESS, "run", alg, *[f"--{k}={v}" for k, v in params.items()]], env=env)


def memory_mb():
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:")) / 1024
