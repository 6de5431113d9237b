"""`make bench`, Sentinel-1 import: a full IW GRDH band against gdalwarp -tps, without and with a DEM.

9. Sentinel-1 import: a full-size IW GRDH product (25 788 × 16 685 samples, VV; simulators/s1_safe.py in the
   real product's geometry) through `qgis_process run sarsense:importsentinel1` (start-up included) against
   `gdalwarp -tps -r bilinear` of the same measurement TIFF to the same grid (the floor: GDAL's warp of the raw
   DN, no calibration), and its peak RSS above start-up; then the same with a 3" DEM (range-Doppler); then the
   border-noise rule's cost: the same product written as IPF 002.36 (the rule on: legacy noise vectors, a −45 dB
   strip after the no-data edge) and as IPF 003.31 (no rule), each imported the same way (issue #30).
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import glob
import os
import shutil

import numpy as np
from common import QGIS_PROCESS, timed
from osgeo import gdal

S1_FLOOR_RATIO = 3.0        # Sentinel-1 import: time <= 3x gdalwarp of the same measurement TIFF to the same grid
S1_EXTRA_MB = 300           # Sentinel-1 import: peak RSS above qgis_process start-up (full IW band)
S1_BORDER_RATIO = 1.3       # Sentinel-1 import of an IPF < 2.90 product (border-noise rule): time <= 1.3x IPF >= 2.90


def run(tmp):
    """Section 9: importsentinel1 of a full IW GRDH band through qgis_process against gdalwarp to the same grid."""
    from sarsense.simulators import s1_safe
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start_s, base = timed([QGIS_PROCESS, "list"], env=env)
    made = s1_safe.write_grd(tmp, rows=16685, cols=25788, pols=("VV",), line0=0, pixel0=0, keep_arrays=False)
    measurement = next(iter(glob.glob(os.path.join(made["safe"], "measurement", "*.tiff"))))
    print(f"\nSentinel-1 import: full IW GRDH band {made['cols']} x {made['rows']} (VV, uint16, "
          f"{os.path.getsize(measurement) / 2**20:.0f} MiB; simulated DN in the real product's geometry) through "
          f"qgis_process (qgis_process.bin list: {start_s:.2f} s, {base:.0f} MB), default parameters (10 m UTM, dB, "
          "ZSTD)")
    ours = os.path.join(tmp, "s1.tif")
    t, peak = timed([QGIS_PROCESS, "run", "sarsense:importsentinel1", f"--INPUT={made['safe']}", f"--OUTPUT={ours}"],
                    env=env)
    ds = gdal.Open(ours)
    gt, nx, ny = ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize
    ds = None
    te = [str(v) for v in (gt[0], gt[3] + ny * gt[5], gt[0] + nx * gt[1], gt[3])]
    t_warp, m_warp = timed(["gdalwarp", "-q", "-overwrite", "-t_srs", "EPSG:32632", "-tr", "10", "10", "-te", *te,
                            "-tps", "-r", "bilinear", "-ot", "Float32", "-co", "TILED=YES", "-co", "COMPRESS=ZSTD",
                            "-co", "BIGTIFF=YES", measurement, os.path.join(tmp, "warp.tif")])
    os.remove(os.path.join(tmp, "warp.tif"))
    ok_t, ok_m = t / t_warp <= S1_FLOOR_RATIO, peak - base <= S1_EXTRA_MB
    failed = ([] if ok_t else ["sentinel1@floor"]) + ([] if ok_m else ["sentinel1@rss"])
    print(f"  map grid {nx} x {ny} px ({nx * ny / 1e6:.0f} Mpx): importsentinel1 {t:.1f} s, gdalwarp {t_warp:.1f} s "
          f"({m_warp:.0f} MB): {t / t_warp:.2f}x the floor (target <= {S1_FLOOR_RATIO}x): "
          f"{'met' if ok_t else 'MISSED'}")
    print(f"  peak RSS {peak:.0f} MB = {peak - base:.0f} MB above start-up (target <= {S1_EXTRA_MB} MB): "
          f"{'met' if ok_m else 'MISSED'}")
    # a 3" DEM over the scene (smooth random relief, 0-2 500 m): range-Doppler terrain correction
    dem = os.path.join(tmp, "dem.tif")
    rng = np.random.default_rng(3)
    w, h = 4800, 2640
    from scipy.ndimage import zoom
    s1_safe.write_dem(dem, zoom(rng.random((h // 60 + 2, w // 60 + 2)) * 2500, 60, order=3)[:h, :w].clip(0),
                      bounds=(8.6, 47.7 - h / 1200, 8.6 + w / 1200, 47.7))
    os.remove(ours)
    t_dem, peak_dem = timed([QGIS_PROCESS, "run", "sarsense:importsentinel1", f"--INPUT={made['safe']}",
                             f"--DEM={dem}", f"--OUTPUT={ours}"], env=env)
    ds = gdal.Open(ours)
    px = ds.RasterXSize * ds.RasterYSize / 1e6
    ds = None
    ok = peak_dem - base <= S1_EXTRA_MB
    failed += [] if ok else ["sentinel1-dem@rss"]
    print(f"  with a 3\" DEM (range-Doppler, {px:.0f} Mpx: the grid grows by the relief's displacement): {t_dem:.1f} s "
          f"= {t_dem / t_warp:.2f}x the floor (no target), peak RSS {peak_dem - base:.0f} MB above start-up (target "
          f"<= {S1_EXTRA_MB} MB): {'met' if ok else 'MISSED'}")
    os.remove(ours)
    shutil.rmtree(made["safe"])
    return failed + border_rule(tmp, env, base)


def border_rule(tmp, env, base):
    """The border-noise rule's cost: the full IW band as IPF 002.36 (rule on) against the same as 003.31."""
    runs = {}
    for ipf in ("002.36", "003.31"):
        made = _legacy_band(os.path.join(tmp, ipf), ipf)
        out = os.path.join(tmp, f"s1_{ipf}.tif")
        runs[ipf] = timed([QGIS_PROCESS, "run", "sarsense:importsentinel1", f"--INPUT={made['safe']}",
                           f"--OUTPUT={out}"], env=env)
        os.remove(out)
        shutil.rmtree(made["safe"])
    (t_old, m_old), (t_new, m_new) = runs["002.36"], runs["003.31"]
    ok_t, ok_m = t_old / t_new <= S1_BORDER_RATIO, m_old - base <= S1_EXTRA_MB
    print(f"  border-noise rule: the same band as IPF 002.36 (rule on; legacy noise, -45 dB border strip) "
          f"{t_old:.1f} s ({m_old - base:.0f} MB above start-up), as IPF 003.31 {t_new:.1f} s ({m_new - base:.0f} MB): "
          f"{t_old / t_new:.2f}x (target <= {S1_BORDER_RATIO}x): {'met' if ok_t else 'MISSED'}; peak RSS (target <= "
          f"{S1_EXTRA_MB} MB): {'met' if ok_m else 'MISSED'}")
    return ([] if ok_t else ["sentinel1-border@ratio"]) + ([] if ok_m else ["sentinel1-border@rss"])


def _legacy_band(folder, ipf):
    """The bench's full IW GRDH band (VV) with the legacy noise layout and the border strip, as IPF ``ipf``."""
    from sarsense.simulators import s1_safe
    return s1_safe.write_grd(folder, rows=16685, cols=25788, pols=("VV",), line0=0, pixel0=0, keep_arrays=False,
                             ipf=ipf, legacy_noise=True, border_strip=True)
