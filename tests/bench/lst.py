"""`make bench`, land-surface temperature: every method on the full MODIS tile, Keys bicubic against gdalwarp.

6. LST: the full real MOD11A1 tile h14v09 (1200², LST_Day_1km, QC filter on) ×4 through qgis_process with
   each method of `sarsense:lstsuperresolution` (TsHARP and ATPRK with a synthetic 250 m NDVI: only the time
   counts), time, output Mpx/s and peak RSS; then Keys bicubic ×4 of the same tile, file to file, against
   `gdalwarp -r cubic` (GDAL's Keys kernel) to the same grid.
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import os
import statistics
import sys

import numpy as np
from common import QGIS_PROCESS, REPO, qgis_process, timed
from osgeo import gdal

LST_UNET_S = 120            # LST: the U-Net super-resolves a full 1200² tile ×4 in ≤ 2 minutes through qgis_process
LST_BICUBIC_TARGET = 1.0    # LST: our Keys bicubic ×4 throughput ≥ 1.0× gdalwarp -r cubic, file to file
LST_EXTRA_MB = 300          # LST: peak RSS above qgis_process start-up, every method
MODIS_HDF = os.path.join("resources", "sample_data", "modis_lst", "MOD11A1.A2019305.h14v09.006.2019306084028.hdf")

# Keys bicubic ×4 of a kelvin GeoTIFF exactly as sarsense:lstsuperresolution runs it (METHOD bicubic).
LST_BICUBIC = """
import sys
from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.lst import pipeline
pipeline.bicubic(sys.argv[1], sys.argv[2], 4, options=RunOptions(compression="NONE"))
"""


def run(tmp):
    """Section 6: a full MOD11A1 tile ×4 by each method through qgis_process; bicubic against gdalwarp -r cubic."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    _, base = timed([QGIS_PROCESS, "list"], env=env)
    hdf = os.path.join(REPO, MODIS_HDF)
    sub = f'HDF4_EOS:EOS_GRID:"{hdf}":MODIS_Grid_Daily_1km_LST:LST_Day_1km'
    # the tile in kelvin (scale, fill, valid range, QC as the algorithm reads it), for the file-to-file part
    kelvin = os.path.join(tmp, "lst_k.tif")
    from sarsense.algorithms.lst import pipeline  # the repository as the package, as QGIS loads the plugin

    pipeline.LstSource(sub).write_kelvin(kelvin)   # what lstsuperresolution writes before it super-resolves
    src = gdal.Open(sub)
    gt, n = src.GetGeoTransform(), src.RasterXSize
    # a smooth synthetic NDVI on the 250 m grid (TsHARP and ATPRK timing only; no skill is measured here)
    ndvi = os.path.join(tmp, "ndvi.tif")
    rng = np.random.default_rng(6)
    ds = gdal.GetDriverByName("GTiff").Create(ndvi, 4 * n, 4 * n, 1, gdal.GDT_Float32, options=["TILED=YES"])
    ds.SetGeoTransform((gt[0], gt[1] / 4, 0, gt[3], 0, gt[5] / 4))
    ds.SetProjection(src.GetProjection())
    field = np.clip(rng.normal(0.5, 0.2, (n // 16, n // 16)), -0.1, 0.95).astype(np.float32)
    for y in range(0, 4 * n, 64 * 8):
        rows = field[y // 64:y // 64 + 8].repeat(64, 0).repeat(64, 1)
        ds.GetRasterBand(1).WriteArray(rows + rng.normal(0, 0.02, rows.shape).astype(np.float32), 0, y)
    ds = None
    src = None
    mpx = 16 * n * n / 1e6
    print(f"\nLST: MOD11A1 h14v09 LST_Day_1km, {n}x{n} (QC filter on) x4 -> {4 * n}x{4 * n} ({mpx:.1f} Mpx) through "
          f"qgis_process (start-up included; qgis_process.bin list: {base:.0f} MB)")
    print(f"{'method':9} {'s':>7} {'Mpx/s':>6} {'peak MB':>8} {'above start-up':>15}  target")
    failed = []
    for m, name in enumerate(("unet", "bicubic", "tsharp", "atprk")):
        extra = {"NDVI": ndvi} if m >= 2 else {}
        t, peak = qgis_process("sarsense:lstsuperresolution", env, INPUT=sub, METHOD=m, COMPRESSION=0,
                               OUTPUT=os.path.join(tmp, f"sr_{name}.tif"), **extra)
        ok = peak - base <= LST_EXTRA_MB and (m != 0 or t <= LST_UNET_S)
        failed += [] if ok else [f"lst-{name}"]
        target = f"<= {LST_UNET_S} s, " if m == 0 else ""
        print(f"{name:9} {t:7.1f} {mpx / t:6.2f} {peak:8.0f} {peak - base:15.0f}  {target}<= {LST_EXTRA_MB} MB: "
              f"{'met' if ok else 'MISSED'}")
    ours = statistics.median(timed([sys.executable, "-c", LST_BICUBIC, kelvin, os.path.join(tmp, "ours.tif")])[0]
                             for _ in range(3))
    warp = statistics.median(timed(["gdalwarp", "-q", "-overwrite", "-r", "cubic", "-ts", str(4 * n), str(4 * n),
                                    kelvin, os.path.join(tmp, "warp.tif")])[0] for _ in range(3))
    ok = warp / ours >= LST_BICUBIC_TARGET
    failed += [] if ok else ["lst-bicubic@gdalwarp"]
    print(f"bicubic x4 file to file (median of 3): gdalwarp -r cubic {warp:.2f} s, ours {ours:.2f} s = "
          f"{warp / ours:.2f}x (target >= {LST_BICUBIC_TARGET}x): {'met' if ok else 'MISSED'}")
    return failed
