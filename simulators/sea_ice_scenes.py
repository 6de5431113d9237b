"""A simulated Sentinel-1 EW HH/HV scene over sea ice, with the ice chart an analyst would draw from it.

No real EW pixels with ice charts can be had here (``../shared/data/MANIFEST.md``), so the sea-ice
suite's bundled model, tests, demo and bench use this simulation. **Every figure computed on it is
simulated skill, not real skill.** What it follows:

- **Geometry**: EW mode, 40 m pixel spacing (GRDM), 5 sub-swaths over about 410 km of ground range.
  The incidence angle comes from the real EW1 annotation shipped in
  ``resources/sample_data/sea_ice`` (S1A 2021-04-03, xarray-sentinel test data): its geolocation grid
  gives incidence and elevation angle, hence the satellite's orbit radius (sine rule,
  ``R_s = R sin θ / sin α``) and the Earth-centre angle ``γ = θ − α`` of each point; the swath is
  continued beyond EW1 on the same sphere (``tan α = R sin γ / (R_s − R cos γ)``, ``θ = α + γ``),
  which gives 19.6° near range to about 46° at 410 km, EW's published 20–47°. EW2–EW5 share the
  rest of the swath equally (an assumption: only EW1's annotation is here). A scene is a window of
  that swath, its columns in ground range.
- **Ice concentration**: a field whose texture is a window of the real passive-microwave SIC map
  shipped in ``resources/sample_data/sea_ice`` (nansat test data, 1978-11-01, 25 km, Bootstrap
  algorithm), resampled to the scene and sharpened with random contrast and offset, plus
  small-scale variation; floes are drawn from it (a pixel is ice where a rank-uniform floe field
  is below the local concentration, so the ice fraction of any area follows the field); floe sizes
  vary from scene to scene (a few to some tens of pixels).
- **Surfaces and their backscatter** (C band, dB; typical values of Dierking 2013, *Oceanography*
  26(2), and Zakhvatkina et al. 2019, *Remote Sens.* 11): open water follows wind speed ``U`` and
  incidence, ``σ0_HH = −19 − 0.35 (θ − 20°) + 20 log10(U / 7 m/s)`` with ``U`` a smooth field of
  1–18 m/s, so strong wind near range makes water as bright as ice (the paper's ambiguity), HV
  water ``−32 + 8 log10(U / 7)``; first-year pack ice HH ``−15 − 0.12 (θ − 30°)``, HV −24; deformed
  (ridged) ice, in lines, HH −9, HV −18; smooth new ice and nilas in leads and at the edge, HH −24,
  HV −31 (dark, like calm water); land HH −7, HV −15 with texture. Each surface varies ±1–2 dB
  between floes.
- **Land and fjords**: a coast from a thresholded fractal field along one side of some scenes,
  with fjords cut into it as meandering channels 4–14 pixels wide (ice-covered or open).
- **HV noise**: residual thermal noise after ESA's denoising: each sub-swath keeps an additive
  noise floor ``NESZ · (k_s − 1)`` (``k_s`` drawn per sub-swath, 0.85–1.35) with the NESZ rising
  toward sub-swath edges (−28 dB at centre, +3 dB at edges), so steps and bright stripes appear at
  sub-swath seams, strongest in EW1, which is also scalloped along azimuth (±25 % over each ~20 km burst).
- **Speckle**: linear power times Gamma(L, 1/L) noise, ``L = 10``, the order of EW GRDM's
  equivalent number of looks, independently in HH and HV.
- **Ice chart**: an analyst's polygons: Voronoi cells of random seeds (coarser in the pack, finer
  near the ice edge), each labelled with the SIGRID-3 class of its mean true concentration (§II.B:
  nearest 10 %, below 10 % open water); land 255. Inside a polygon the true concentration varies,
  as it does in real charts.

:func:`simulate` gives arrays for one scene; :func:`write_scene` writes HH, HV (dB, 40 m) and the
chart (uint8 SIC classes) as GeoTIFFs in polar stereographic coordinates (EPSG:3413);
:func:`chart_polygons` writes the chart as SIGRID-3 polygons (field CT) for ``icechartclasses``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sarsense.algorithms.sea_ice import sigrid

from . import SAMPLE_DATA

DATA = SAMPLE_DATA / "sea_ice"
SIC_TEXTURE = DATA / "nansat_arctic_sic_19781101.nc"
PIXEL_M = 40.0
EARTH_RADIUS_M = 6371000.0
SWATH_M = 410000.0
SUBSWATHS = 5
LOOKS = 10.0
#: Along-track length of an EW burst (about 3 s of flight): the period of EW1's scalloping.
BURST_M = 20000.0
EPSG = 3413


# --------------------------------------------------------------------------------------------
# Geometry from the real EW1 annotation
# --------------------------------------------------------------------------------------------
def _annotation():
    return sorted(DATA.glob("s1a-ew1-slc-hh-*.xml"))[0]


def swath_geometry():
    """``(gamma0, r_s, ew1_width_m)``: Earth-centre angle of EW1's near edge, orbit radius and EW1's ground width,
    from the geolocation grid of the real EW1 annotation (first line, all its points)."""
    root = ET.parse(_annotation()).getroot()
    pts = root.findall(".//geolocationGridPoint")
    line = np.array([int(p.find("line").text) for p in pts])
    first = line == line.min()
    theta = np.radians([float(p.find("incidenceAngle").text) for p in pts])[first]
    alpha = np.radians([float(p.find("elevationAngle").text) for p in pts])[first]
    r_s = float(np.median(EARTH_RADIUS_M * np.sin(theta) / np.sin(alpha)))
    gamma = theta - alpha
    return float(gamma.min()), r_s, float((gamma.max() - gamma.min()) * EARTH_RADIUS_M)


def incidence_deg(ground_m, geometry=None):
    """Incidence angle (degrees) at ``ground_m`` metres of ground range from the swath's near edge."""
    gamma0, r_s, _ = geometry or swath_geometry()
    gamma = gamma0 + np.asarray(ground_m, np.float64) / EARTH_RADIUS_M
    alpha = np.arctan2(EARTH_RADIUS_M * np.sin(gamma), r_s - EARTH_RADIUS_M * np.cos(gamma))
    return np.degrees(alpha + gamma)


def subswath_edges(geometry=None):
    """Ground-range edges (m) of the 5 sub-swaths: EW1's width from its annotation, the rest shared equally."""
    _, _, ew1 = geometry or swath_geometry()
    rest = (SWATH_M - ew1) / (SUBSWATHS - 1)
    return np.array([0.0, ew1] + [ew1 + rest * k for k in range(1, SUBSWATHS)])


# --------------------------------------------------------------------------------------------
# Random fields
# --------------------------------------------------------------------------------------------
def smooth_field(shape, scale_px, rng):
    """Zero-mean, unit-variance Gaussian random field with a Gaussian correlation of ``scale_px`` (FFT filter)."""
    noise = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    transfer = np.exp(-2 * (math.pi * scale_px) ** 2 * (fx ** 2 + fy ** 2))
    f = np.fft.irfft2(np.fft.rfft2(noise) * transfer, s=shape)
    f -= f.mean()
    return f / (f.std() + 1e-12)


def fractal_field(shape, rng, *, largest, smallest=2.0, slope=1.0):
    """Sum of octaves of :func:`smooth_field` from ``largest`` to ``smallest`` pixels, amplitude ∝ scale^slope."""
    out = np.zeros(shape)
    scale = float(largest)
    while scale >= smallest:
        out += scale ** slope * smooth_field(shape, scale, rng)
        scale /= 2
    out -= out.mean()
    return out / (out.std() + 1e-12)


def rank_uniform(field):
    """``field``'s values replaced by their ranks scaled to (0, 1): a uniform marginal, the same texture."""
    flat = field.ravel()
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = (np.arange(flat.size) + 0.5) / flat.size
    return ranks.reshape(field.shape)


def _texture_window(shape, rng):
    """A window of the real 25 km SIC map (fraction 0–1), mostly valid, resampled to ``shape`` (bicubic)."""
    from osgeo import gdal
    from scipy import ndimage

    ds = gdal.Open(f'NETCDF:"{SIC_TEXTURE}":Bootstrap')
    band = ds.GetRasterBand(1)
    sic = band.ReadAsArray().astype(np.float64)
    nodata = band.GetNoDataValue()
    band = None
    ds = None
    valid = (sic >= 0) & (sic <= 100) & (sic != nodata)
    n = 24
    for _ in range(200):
        y, x = rng.integers(0, sic.shape[0] - n), rng.integers(0, sic.shape[1] - n)
        win, ok = sic[y:y + n, x:x + n], valid[y:y + n, x:x + n]
        if ok.mean() > 0.8 and 5 < win[ok].mean() < 95:
            break
    win = np.where(ok, win, win[ok].mean()) / 100.0
    if rng.random() < 0.5:
        win = win[:, ::-1]
    zoom = (shape[0] / n, shape[1] / n)
    return np.clip(ndimage.zoom(win, zoom, order=3)[:shape[0], :shape[1]], 0, 1)


# --------------------------------------------------------------------------------------------
# The scene
# --------------------------------------------------------------------------------------------
def _db(x):
    return np.float32(10.0) ** (np.asarray(x, np.float32) / np.float32(10.0))


def _land(shape, rng):
    """Land mask: a fractal coast along one random side (in about half the scenes), with fjords cut in."""
    rows, cols = shape
    land = np.zeros(shape, bool)
    if rng.random() < 0.5:
        return land
    depth = rng.uniform(0.08, 0.3)
    yy, xx = np.mgrid[0:rows, 0:cols]
    side = rng.integers(4)
    dist = (yy / rows, 1 - yy / rows, xx / cols, 1 - xx / cols)[side]
    coast = fractal_field(shape, rng, largest=min(shape) / 6, smallest=2)
    land = dist + 0.06 * coast < depth
    for _ in range(rng.integers(1, 4)):            # fjords: meandering channels from the sea into the land
        width = rng.uniform(4, 14) * 40.0 / PIXEL_M
        t = np.linspace(0, 1, 4 * max(shape))
        start = rng.uniform(0.1, 0.9)
        heading = rng.normal(0, 0.3)
        wiggle = np.cumsum(rng.normal(0, 0.02, t.size))
        u = start + heading * t * depth + wiggle * depth       # along the coast (fraction)
        v = depth * (1.15 - 1.1 * t)                           # into the land (fraction from the edge)
        if side in (0, 1):
            px, py = u * cols, (v if side == 0 else 1 - v) * rows
        else:
            py, px = u * rows, (v if side == 2 else 1 - v) * cols
        ok = (px >= 0) & (px < cols) & (py >= 0) & (py < rows)
        channel = np.zeros(shape, bool)
        channel[py[ok].astype(int), px[ok].astype(int)] = True
        from scipy import ndimage
        channel = ndimage.binary_dilation(channel, iterations=max(1, int(width / 2)))
        land &= ~channel
    return land


def simulate(shape=(1024, 1024), *, seed=0, ground_offset_m=None, pixel_m=PIXEL_M, chart_cells=None):
    """One simulated EW scene: dict of ``hh_db``, ``hv_db`` (float32), ``chart`` (uint8 SIC class 0–10, 255 land),
    ``concentration`` (true fraction 0–1), ``land`` (bool), ``incidence`` (degrees per column), ``wind`` (m/s).

    ``ground_offset_m``: ground range of the first column from the swath's near edge (default: a random
    position at which the scene fits in the swath, or 0 when it is wider).
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    rows, cols = shape
    geometry = swath_geometry()
    width_m = cols * pixel_m
    if ground_offset_m is None:
        ground_offset_m = rng.uniform(0, max(0.0, SWATH_M - width_m))
    ground = ground_offset_m + (np.arange(cols) + 0.5) * pixel_m
    theta = incidence_deg(ground, geometry)
    scale = 40.0 / pixel_m                       # feature sizes are set in 40 m pixels

    # concentration: real SIC texture, random contrast, small-scale variation
    c = _texture_window(shape, rng)
    contrast = rng.uniform(1.5, 5.0)
    c = 1 / (1 + np.exp(-contrast * (c - rng.uniform(0.3, 0.7)) * 4))
    c = np.clip(c + 0.12 * smooth_field(shape, 30 * scale, rng), 0, 1)
    c[c < 0.03] = 0.0
    c[c > 0.97] = 1.0
    land = _land(shape, rng)

    # floes: ice where a rank-uniform floe field is below the local concentration
    floe = rank_uniform(fractal_field(shape, rng, largest=rng.uniform(4, 40) * scale, smallest=1.0, slope=0.6))
    ice = (floe < c) & ~land
    labels, n_floes = ndimage.label(ice)
    per_floe = rng.normal(0, 1, n_floes + 1)

    # ice types: new ice / nilas in leads and at the edge, deformed ice in lines, first-year elsewhere
    lead = smooth_field(shape, 12 * scale, rng)
    young = ice & ((lead > 1.2) | (c < rng.uniform(0.2, 0.5))) & (rng.random() < 0.8)
    ridges = np.abs(smooth_field(shape, 3 * scale, rng)) < 0.08
    deformed = ice & ~young & (ridges | (smooth_field(shape, 60 * scale, rng) > 1.0))
    first_year = ice & ~young & ~deformed

    wind = np.clip(7 + 4 * smooth_field(shape, 200 * scale, rng) + rng.normal(0, 3), 1, 18)
    th = theta[None, :]
    hh = np.full(shape, np.nan, np.float32)
    hv = np.full(shape, np.nan, np.float32)
    water = ~ice & ~land
    hh[water] = (-19 - 0.35 * (th - 20) + 20 * np.log10(wind / 7))[water]
    hv[water] = (-32 + 8 * np.log10(wind / 7) + 0 * th)[water]
    var = per_floe[labels]
    hh[first_year] = (-15 - 0.12 * (th - 30) + 1.5 * var)[first_year]
    hv[first_year] = (-24 + 1.5 * var + 0 * th)[first_year]
    hh[deformed] = (-9 - 0.1 * (th - 30) + 1.5 * var)[deformed]
    hv[deformed] = (-18 + 1.5 * var + 0 * th)[deformed]
    hh[young] = (-24 - 0.2 * (th - 30) + 1.0 * var)[young]
    hv[young] = (-31 + 1.0 * var + 0 * th)[young]
    relief = 2.5 * fractal_field(shape, rng, largest=30 * scale)
    hh[land] = (-7 + relief + 0 * th)[land]
    hv[land] = (-15 + relief + 0 * th)[land]
    hh_lin, hv_lin = _db(hh), _db(hv)

    # residual HV thermal noise per sub-swath (steps and stripes at seams; EW1 scalloped)
    edges = subswath_edges(geometry)
    sub = np.clip(np.searchsorted(edges, ground, side="right") - 1, 0, SUBSWATHS - 1)
    pos = (ground - edges[sub]) / (edges[sub + 1] - edges[sub])
    nesz = _db(-28 + 3 * (2 * pos - 1) ** 2)
    k = rng.uniform(0.85, 1.35, SUBSWATHS)
    residual = nesz * (k[sub] - 1)
    burst = 1 + 0.25 * np.cos(2 * math.pi * np.arange(rows) * pixel_m / BURST_M)[:, None]
    residual = residual[None, :] * np.where(sub[None, :] == 0, burst, 1.0)
    hv_lin = np.maximum(hv_lin + residual.astype(np.float32), _db(-38))
    hh_lin = hh_lin + 0.1 * residual.astype(np.float32)

    hh_lin *= rng.gamma(LOOKS, 1 / LOOKS, shape).astype(np.float32)
    hv_lin *= rng.gamma(LOOKS, 1 / LOOKS, shape).astype(np.float32)
    out = {"hh_db": (10 * np.log10(np.maximum(hh_lin, 1e-6))).astype(np.float32),
           "hv_db": (10 * np.log10(np.maximum(hv_lin, 1e-6))).astype(np.float32),
           "concentration": c.astype(np.float32), "land": land, "incidence": theta.astype(np.float32),
           "wind": wind.astype(np.float32)}

    # the analyst's chart: Voronoi polygons, finer near the ice edge, each its mean concentration's class
    n_cells = chart_cells or int(rng.uniform(30, 80) * rows * cols / 1024 ** 2 * scale ** 2) + 8
    edge = ndimage.gaussian_filter((c > 0.1).astype(np.float32), 8) * (1 - ndimage.gaussian_filter(
        (c > 0.1).astype(np.float32), 8))
    p = 0.2 + edge.ravel() * 4
    idx = rng.choice(rows * cols, size=n_cells, replace=False, p=p / p.sum())
    seeds = np.column_stack(np.unravel_index(idx, shape))
    yy, xx = np.mgrid[0:rows, 0:cols]
    cell = cKDTree(seeds).query(np.column_stack([yy.ravel(), xx.ravel()]))[1].reshape(shape)
    sea = ~land
    mean_c = np.bincount(cell[sea], weights=c[sea], minlength=n_cells) / np.maximum(
        np.bincount(cell[sea], minlength=n_cells), 1)
    cell_class = np.array([sigrid.percent_class(100 * v) for v in mean_c], np.uint8)
    chart = cell_class[cell]
    chart[land] = 255
    out["chart"] = chart
    out["cells"] = cell.astype(np.int32)
    out["cell_class"] = cell_class
    return out


def geotransform(shape, *, pixel_m=PIXEL_M, origin=(-500000.0, -1500000.0)):
    """A north-up EPSG:3413 (NSIDC polar stereographic north) geotransform for a scene of ``shape``."""
    return (origin[0], pixel_m, 0.0, origin[1] + shape[0] * pixel_m, 0.0, -pixel_m)


def write_scene(folder, scene, *, pixel_m=PIXEL_M, name="scene"):
    """Write ``<name>_hh.tif``, ``<name>_hv.tif`` (dB) and ``<name>_chart.tif`` (SIC classes); returns their paths."""
    from osgeo import gdal, osr

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    gt = geotransform(scene["hh_db"].shape, pixel_m=pixel_m)
    paths = {}
    for key, arr, dtype, nodata in (("hh", scene["hh_db"], gdal.GDT_Float32, float("nan")),
                                    ("hv", scene["hv_db"], gdal.GDT_Float32, float("nan")),
                                    ("chart", scene["chart"], gdal.GDT_Byte, 255)):
        path = folder / f"{name}_{key}.tif"
        ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[1], arr.shape[0], 1, dtype,
                                                  options=["TILED=YES", "COMPRESS=ZSTD"])
        ds.SetGeoTransform(gt)
        ds.SetProjection(srs.ExportToWkt())
        band = ds.GetRasterBand(1)
        band.SetNoDataValue(nodata)
        band.SetDescription({"hh": "HH (dB)", "hv": "HV (dB)", "chart": "SIC class (ice chart)"}[key])
        band.WriteArray(arr)
        band = None
        ds = None
        paths[key] = str(path)
    return paths


#: SIGRID-3 CT codes written for each class in :func:`chart_polygons` (a range code where one exists,
#: to exercise the table: class 4 as 35, class 5 as 46, class 8 as 79).
CT_FOR_CLASS = {0: "01", 1: "10", 2: "20", 3: "30", 4: "35", 5: "46", 6: "60", 7: "70", 8: "79", 9: "90", 10: "92"}


def chart_polygons(path, scene, *, pixel_m=PIXEL_M, layer="icechart"):
    """Write the scene's chart as SIGRID-3 polygons (GeoPackage: CT text, POLY_TYPE I/W/L) and return ``path``.

    Polygons are the chart's regions of one class, traced from the chart raster (GDAL Polygonize);
    land becomes POLY_TYPE 'L' with CT '-9'.
    """
    from osgeo import gdal, ogr, osr

    chart = scene["chart"]
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    mem = gdal.GetDriverByName("MEM").Create("", chart.shape[1], chart.shape[0], 1, gdal.GDT_Byte)
    mem.SetGeoTransform(geotransform(chart.shape, pixel_m=pixel_m))
    mem.SetProjection(srs.ExportToWkt())
    mem.GetRasterBand(1).WriteArray(chart)
    tmp = ogr.GetDriverByName("Memory").CreateDataSource("poly")
    lyr = tmp.CreateLayer("poly", srs, ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("cls", ogr.OFTInteger))
    gdal.Polygonize(mem.GetRasterBand(1), None, lyr, 0)
    out = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    dst = out.CreateLayer(layer, srs, ogr.wkbMultiPolygon)
    for name in ("CT", "POLY_TYPE"):
        dst.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    for feat in lyr:
        cls = feat.GetField("cls")
        f = ogr.Feature(dst.GetLayerDefn())
        f.SetGeometry(ogr.ForceToMultiPolygon(feat.GetGeometryRef().Clone()))
        if cls == 255:
            f.SetField("CT", "-9")
            f.SetField("POLY_TYPE", "L")
        else:
            f.SetField("CT", CT_FOR_CLASS[cls])
            f.SetField("POLY_TYPE", "W" if cls == 0 else "I")
        dst.CreateFeature(f)
    out = None
    mem = None
    return str(path)
