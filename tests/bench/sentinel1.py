"""`make bench`, Sentinel-1 import: a full IW GRDH band against gdalwarp -tps, without and with a DEM.

9. Sentinel-1 import: a full-size IW GRDH product (25 788 × 16 685 samples, VV; simulators/s1_safe.py in the
   real product's geometry) through `qgis_process run sarsense:importsentinel1` (start-up included) against
   `gdalwarp -tps -r bilinear` of the same measurement TIFF to the same grid (the floor: GDAL's warp of the raw
   DN, no calibration), and its peak RSS above start-up; then the same with a 3" DEM (range-Doppler); then the
   border-noise rule's cost: the same product written as IPF 002.36 (the rule on: legacy noise vectors, a −45 dB
   strip after the no-data edge) and as IPF 003.31 (no rule), each imported the same way (issue #30).
   Then, where the bench venv holds sarsen (``make bench-sarsen``), sarsen's terrain correction against
   importsentinel1 on the same crop and DEM (:func:`compare_sarsen`).
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import glob
import os
import shutil
import subprocess

import numpy as np
from common import QGIS_PROCESS, REPO, timed
from osgeo import gdal, osr
from pyproj import Transformer

S1_FLOOR_RATIO = 3.0        # Sentinel-1 import: time <= 3x gdalwarp of the same measurement TIFF to the same grid
S1_EXTRA_MB = 300           # Sentinel-1 import: peak RSS above qgis_process start-up (full IW band)
S1_BORDER_RATIO = 1.3       # Sentinel-1 import of an IPF < 2.90 product (border-noise rule): time <= 1.3x IPF >= 2.90
#: sarsen's side: the bench venv (``make bench-sarsen``: sarsen and its xarray stack, never QGIS's Python).
BENCH_VENV = os.environ.get("SARSENSE_BENCH_VENV", os.path.join(REPO, ".venv-bench"))
SARSEN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sarsen_gtc.py")
#: The crop both terrain corrections run on: lines × samples of the real IW GRDH geometry from line, sample
#: (80 km × 80 km at 10 m, the size of issue #30's comparison on a real product), and the DEM's pixel (m).
SARSEN_CROP = (8000, 8000, 4000, 9000)
SARSEN_DEM_PIXEL = 10.0
#: Agreement of SARSense's β0 with sarsen's on the common grid: |median ratio − 1| (issue #30 measured 1.0000000
#: on a real product with a flat DEM, p1–p99 0.9991–1.0008) and the share of pixels valid or NaN on both sides.
SARSEN_MEDIAN_TOL = 1e-3
SARSEN_PATTERN_MIN = 0.999


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
    return failed + border_rule(tmp, env, base) + compare_sarsen(tmp, env)


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


def sarsen_python():
    """The bench venv's Python where it imports sarsen, else None."""
    py = os.path.join(BENCH_VENV, "bin", "python")
    if not os.path.exists(py):
        return None
    res = subprocess.run([py, "-c", "import sarsen; print(sarsen.__version__)"], capture_output=True, text=True)
    return (py, res.stdout.strip()) if res.returncode == 0 else None


def _utm_dem(path, heights_of, bounds, pixel, epsg, strip=1024):
    """A float32 DEM in EPSG ``epsg`` on the grid of ``pixel`` m over ``bounds`` (xmin, ymin, xmax, ymax, multiples
    of the pixel), ``heights_of(x, y)`` (pixel centres, (rows, cols)) written strip by strip."""
    xmin, ymin, xmax, ymax = bounds
    nx, ny = round((xmax - xmin) / pixel), round((ymax - ymin) / pixel)
    ds = gdal.GetDriverByName("GTiff").Create(path, nx, ny, 1, gdal.GDT_Float32,
                                              ["TILED=YES", "COMPRESS=ZSTD", "BIGTIFF=YES"])
    ds.SetGeoTransform((xmin, pixel, 0.0, ymax, 0.0, -pixel))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    xs = xmin + (np.arange(nx) + 0.5) * pixel
    for r0 in range(0, ny, strip):
        ys = ymax - (np.arange(r0, min(ny, r0 + strip)) + 0.5) * pixel
        x, y = np.meshgrid(xs, ys)
        band.WriteArray(heights_of(x, y).astype(np.float32), 0, r0)
    ds = None
    return path


def _geoid_of(epsg, bounds, step=1000.0):
    """``(x, y) → EGM96 geoid height`` in EPSG ``epsg`` over ``bounds``: PROJ's geoid (the importer's own,
    rangedoppler.geoid_undulation) on nodes every ``step`` m, bilinear between them (the geoid grid is 15′,
    about 28 km: bilinear over 1 km moves it by well under a millimetre)."""
    from scipy.interpolate import RegularGridInterpolator

    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    xmin, ymin, xmax, ymax = bounds
    gx = np.arange(xmin, xmax + step, step)
    gy = np.arange(ymin, ymax + step, step)
    x, y = np.meshgrid(gx, gy)
    n = rd.geoid_undulation(*Transformer.from_crs(epsg, 4326, always_xy=True).transform(x, y))
    interp = RegularGridInterpolator((gy, gx), n)
    return lambda x, y: interp(np.stack([y, x], axis=-1))


def agreement(ours, theirs, strip=1024):
    """β0 of SARSense (band 1 of ``ours``) against sarsen's (``theirs``) on the pixels of both grids (same pixel
    size, origins on the same lattice): (pixels compared, share with the same valid/NaN pattern, median, p1, p99
    of ours / theirs where both are valid). sarsen leaves the product's DN-0 no-data at β0 = 0 (it does not mask
    it), so its zeros count as NaN."""
    a_ds, b_ds = gdal.Open(ours), gdal.Open(theirs)
    ga, gb = a_ds.GetGeoTransform(), list(b_ds.GetGeoTransform())
    up = gb[5] > 0          # sarsen writes the DEM's rows south to north (it sorts y ascending)
    if up:
        gb[3], gb[5] = gb[3] + b_ds.RasterYSize * gb[5], -gb[5]
    if abs(ga[1] - gb[1]) > 1e-9 or abs(ga[5] - gb[5]) > 1e-9:
        raise ValueError(f"the grids differ in pixel size: {ga[1:6:4]} vs {gb[1:6:4]}")
    ca, ra = round((gb[0] - ga[0]) / ga[1]), round((gb[3] - ga[3]) / ga[5])   # theirs' origin in ours' pixels

    def read_theirs(col, row, w, h):
        if not up:
            return b_ds.GetRasterBand(1).ReadAsArray(col, row, w, h)
        return b_ds.GetRasterBand(1).ReadAsArray(col, b_ds.RasterYSize - row - h, w, h)[::-1]
    c0, r0 = max(0, ca), max(0, ra)
    c1, r1 = min(a_ds.RasterXSize, ca + b_ds.RasterXSize), min(a_ds.RasterYSize, ra + b_ds.RasterYSize)
    same, ratios = 0, []
    for y in range(r0, r1, strip):
        h = min(strip, r1 - y)
        a = a_ds.GetRasterBand(1).ReadAsArray(c0, y, c1 - c0, h).astype(np.float64)
        b = read_theirs(c0 - ca, y - ra, c1 - c0, h).astype(np.float64)
        va, vb = np.isfinite(a), np.isfinite(b) & (b > 0)
        same += int(np.count_nonzero(va == vb))
        both = va & vb
        ratios.append((a[both] / b[both]).astype(np.float32))
    n = (c1 - c0) * (r1 - r0)
    ratio = np.concatenate(ratios) if ratios else np.empty(0, np.float32)
    if not ratio.size:
        return n, same / max(n, 1), np.nan, np.nan, np.nan
    p1, med, p99 = np.percentile(ratio, [1, 50, 99])
    return n, same / n, float(med), float(p1), float(p99)


def compare_sarsen(tmp, env, crop=SARSEN_CROP):
    """sarsen's terrain correction (``sarsen gtc``, bilinear: tests/bench/sarsen_gtc.py in the bench venv) against
    importsentinel1 (β0, linear, no noise removal: the quantity sarsen writes) with the same DEM on the same
    grid: the DEM's (UTM, 10 m) over an 80 km crop of the IW geometry. One DEM, a flat one (0 m above the EGM96
    geoid), given to each in its convention: SARSense takes heights above the geoid, sarsen ellipsoidal heights
    (it converts the DEM's CRS to ECEF as is), so sarsen's copy holds the geoid height the importer adds. Each
    side runs as its own process under /usr/bin/time: time and peak RSS of the whole process (QGIS's start-up
    included), their ratios, and the agreement of the values on the common grid."""
    found = sarsen_python()
    if found is None:
        print("\n  sarsen: not installed (make bench-sarsen installs it into .venv-bench): comparison skipped")
        return []
    py, version = found
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.simulators import s1_safe
    rows, cols, line0, pixel0 = crop
    work = os.path.join(tmp, "sarsen")
    os.makedirs(work, exist_ok=True)
    made = s1_safe.write_grd(work, rows=rows, cols=cols, pols=("VV",), line0=line0, pixel0=pixel0,
                             keep_arrays=False)
    _, _, (lon, lat, *_rest) = made["grid"]
    epsg = importer.utm_epsg(float(np.mean(lon)), float(np.mean(lat)))
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    ps = SARSEN_DEM_PIXEL
    bounds = (np.floor(np.min(x) / ps) * ps, np.floor(np.min(y) / ps) * ps,
              np.ceil(np.max(x) / ps) * ps, np.ceil(np.max(y) / ps) * ps)
    dem = _utm_dem(os.path.join(work, "dem_geoid.tif"), lambda x, y: np.zeros_like(x), bounds, ps, epsg)
    dem_ell = _utm_dem(os.path.join(work, "dem_ellipsoid.tif"), _geoid_of(epsg, bounds), bounds, ps, epsg)
    nx, ny = round((bounds[2] - bounds[0]) / ps), round((bounds[3] - bounds[1]) / ps)
    print(f"\n  sarsen {version} (`sarsen gtc`, β0, bilinear) against importsentinel1 (β0, linear, no noise removal) "
          f"with the same flat DEM, on its grid: EPSG:{epsg}, {ps:g} m, {nx} x {ny} px ({nx * ny / 1e6:.0f} Mpx) "
          f"over a crop of {cols} x {rows} samples of the IW geometry (lines {line0}…, samples {pixel0}…)")
    ours = os.path.join(work, "sarsense.tif")
    theirs = os.path.join(work, "sarsen.tif")
    extent = f"{bounds[0]},{bounds[2]},{bounds[1]},{bounds[3]} [EPSG:{epsg}]"
    t_ours, m_ours = timed([QGIS_PROCESS, "run", "sarsense:importsentinel1", f"--INPUT={made['safe']}",
                            f"--DEM={dem}", "--CALIBRATION=2", "--THERMAL_NOISE=false", "--BORDER_NOISE=false",
                            "--OUTPUT_UNITS=0", f"--TARGET_CRS=EPSG:{epsg}", f"--PIXEL_SIZE={ps:g}",
                            f"--EXTENT={extent}", f"--OUTPUT={ours}"], env=env)
    t_theirs, m_theirs = timed([py, SARSEN_SCRIPT, made["safe"], "IW/VV", dem_ell, theirs])
    n, same, med, p1, p99 = agreement(ours, theirs)
    ok = abs(med - 1.0) <= SARSEN_MEDIAN_TOL and same >= SARSEN_PATTERN_MIN
    print(f"  importsentinel1 {t_ours:.1f} s, peak RSS {m_ours:.0f} MB; sarsen {t_theirs:.1f} s, {m_theirs:.0f} MB: "
          f"SARSense {t_theirs / t_ours:.1f}x faster with {m_theirs / m_ours:.1f}x less peak memory (no target)")
    print(f"  agreement over {n / 1e6:.0f} Mpx: β0 ratio SARSense/sarsen median {med:.7f}, p1-p99 {p1:.4f}-{p99:.4f}; "
          f"valid/NaN pattern the same on {100 * same:.3f} % (sarsen's DN-0 zeros as NaN) (target: median within "
          f"{SARSEN_MEDIAN_TOL:g} of 1, pattern >= {100 * SARSEN_PATTERN_MIN:g} %): {'met' if ok else 'MISSED'}")
    return [] if ok else ["sentinel1-sarsen@agreement"]
