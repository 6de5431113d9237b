"""A simulated Sentinel-1 rice landscape: field parcels of 8 classes, 12-day VV/VH stacks, labels, truth.

No licensed, labelled VV+VH rice stack exists here (``../shared/data/MANIFEST.md``), so the rice
suite's tests, demo and bench run on this simulation. **Every figure computed on it is simulated
skill, not real skill.** What it follows:

- **Classes and dates** as in Liu et al. (2020): early rice, dry crops, rubber, banana, buildings,
  water, forest, other; Sentinel-1A every 12 days from 9 January to July 2019 (the paper's dates
  21 Jan, 10 Mar … 27 Apr are among them), Lingao County, Hainan (UTM 49N).
- **Rice phenology** (VH/VV dB against days ``d`` since the parcel's transplanting date): dry
  ploughed soil before puddling; a flooding dip to about −25 dB VH (−20 dB VV) from 12 days before
  transplanting to 12 days after (specular water under small seedlings); a linear rise to heading
  at d = 75 (−12.5 / −9 dB, volume scattering); a slight fall to harvest at d ≈ 100; stubble after
  (−20 / −13 dB).
  Transplanting dates are spread uniformly over a month, 10 March - 10 April (the paper, §1.4).
  The temporal standard deviation of a rice pixel's noise-free VH profile averages about 3.7 dB
  (MANIFEST.md).
- **Other classes**: a level per class (typical C-band VH/VV, e.g. water −26/−21, buildings −10/−4,
  forest −13/−7.5 dB), a per-parcel offset (σ 0.7 dB), a gentle seasonal swing and date-to-date
  noise: their pixels' temporal standard deviation averages about 1.0 dB (MANIFEST.md).
- **Speckle**: each date's linear intensity times an independent Gamma(L, 1/L) variable, ENL
  ``L = 4.4`` (Sentinel-1 IW GRDH's nominal equivalent number of looks).
- **Layout**: rectangular parcels of 5-14 pixels a side (50-140 m at 10 m), a lake and a river.

:func:`simulate` returns everything in memory for small scenes; :func:`write_scene` writes the
per-date GeoTIFFs (dates in the file names, as 'Build dated stack' reads them), the training
polygons, independent reference points, water polygons and the truth rasters; :func:`stack_rows`
generates any number of rows of a large scene block by block (bench).
"""

from __future__ import annotations

import datetime as _dt
import pathlib

import numpy as np

CLASSES = {1: "early rice", 2: "dry crops", 3: "rubber", 4: "banana", 5: "buildings", 6: "water", 7: "forest",
           8: "other"}
RICE, WATER = 1, 6
#: Share of parcels per class (the lake and river are added as water on top).
SHARES = {1: 0.30, 2: 0.15, 3: 0.10, 4: 0.08, 5: 0.07, 6: 0.03, 7: 0.12, 8: 0.15}
#: (VH, VV) level in dB per non-rice class.
LEVELS = {2: (-16.5, -10.5), 3: (-13.0, -7.0), 4: (-14.0, -8.0), 5: (-10.0, -4.0), 6: (-26.0, -21.0),
          7: (-13.0, -7.5), 8: (-17.5, -11.5)}
ENL = 4.4
PIXEL = 10.0
EPSG = 32649
ORIGIN = (640000.0, 2210000.0)          # near Lingao, Hainan
FIRST_DATE = _dt.date(2019, 1, 9)
N_DATES = 17                             # 9 Jan … 20 Jul 2019, every 12 days
TRANSPLANT = (_dt.date(2019, 3, 10), _dt.date(2019, 4, 10))


def dates(n=N_DATES):
    return [(FIRST_DATE + _dt.timedelta(days=12 * k)).isoformat() for k in range(n)]


def rice_profile(days):
    """Mean (VH, VV) dB of a paddy ``days`` after transplanting (module docstring)."""
    d = np.asarray(days, dtype=np.float64)
    vh = np.select([d < -12, d <= 12, d <= 75, d <= 100],
                   [-17.0, -25.5 + np.clip(d, 0, None) / 12.0, -24.5 + 12.0 * (d - 12) / 63.0,
                    -12.5 - 1.5 * (d - 75) / 25.0], -20.0)
    vv = np.select([d < -12, d <= 12, d <= 75, d <= 100],
                   [-11.0, -20.0 + np.clip(d, 0, None) / 12.0, -19.0 + 10.0 * (d - 12) / 63.0,
                    -9.0 - (d - 75) / 25.0], -13.0)
    return vh, vv


def layout(rows, cols, seed=0):
    """Parcel id (int32, 0..P−1) and class (uint8) per pixel, and the parcels' pixel rectangles."""
    rng = np.random.default_rng(seed)
    parcel = np.zeros((rows, cols), dtype=np.int32)
    boxes = []
    r = 0
    while r < rows:
        h = int(rng.integers(5, 15))
        c = 0
        while c < cols:
            w = int(rng.integers(5, 15))
            parcel[r:r + h, c:c + w] = len(boxes)
            boxes.append((r, min(r + h, rows), c, min(c + w, cols)))
            c += w
        r += h
    codes = np.array(list(SHARES))
    probs = np.array(list(SHARES.values()))
    cls = rng.choice(codes, size=len(boxes), p=probs / probs.sum()).astype(np.uint8)
    classes = cls[parcel]
    # a lake and a river: water whatever the parcels were
    lake = (slice(int(rows * 0.1), int(rows * 0.3)), slice(int(cols * 0.65), int(cols * 0.9)))
    classes[lake] = WATER
    river_c = int(cols * 0.45)
    classes[:, river_c:river_c + max(3, cols // 100)] = WATER
    return parcel, classes, boxes, cls, {"lake": lake, "river": (slice(0, rows), slice(river_c, river_c +
                                                                                      max(3, cols // 100)))}


def parcel_values(n_parcels, parcel_class, seed=0):
    """Per-parcel transplanting day of year (rice; NaN else) and dB offset."""
    rng = np.random.default_rng(seed + 1)
    t0 = TRANSPLANT[0].timetuple().tm_yday
    t1 = TRANSPLANT[1].timetuple().tm_yday
    doy = np.where(parcel_class == RICE, rng.uniform(t0, t1, n_parcels), np.nan)
    return doy, rng.normal(0.0, 0.7, n_parcels)


def mean_db(classes, parcel, doy, offset, date_list, seed=0, row0=0):
    """Noise-free (VH, VV) dB per date, (dates, rows, cols) each, before speckle."""
    rng = np.random.default_rng([seed + 2, row0])
    n = len(date_list)
    date_doy = np.array([_dt.date.fromisoformat(d).timetuple().tm_yday for d in date_list], dtype=np.float64)
    vh = np.empty((n,) + classes.shape, dtype=np.float32)
    vv = np.empty_like(vh)
    lv = np.zeros((9, 2))
    for c, (a, b) in LEVELS.items():
        lv[c] = a, b
    swing = 1.5 * np.sin(2 * np.pi * (date_doy - 60) / 365.0)          # gentle seasonal change, dB
    off = offset[parcel]
    rice = classes == RICE
    d_since = date_doy[:, None] - doy[parcel][rice][None, :]
    rvh, rvv = rice_profile(d_since)
    for k in range(n):
        noise = rng.normal(0.0, 0.5, classes.shape)
        vh[k] = lv[classes, 0] + off + swing[k] + noise
        vv[k] = lv[classes, 1] + off + swing[k] + noise
        vh[k][rice] = rvh[k] + off[rice] + rng.normal(0.0, 0.5, rice.sum())
        vv[k][rice] = rvv[k] + off[rice] + rng.normal(0.0, 0.5, rice.sum())
    water = classes == WATER
    vh[:, water] = LEVELS[WATER][0] + rng.normal(0.0, 0.3, (n, water.sum()))
    vv[:, water] = LEVELS[WATER][1] + rng.normal(0.0, 0.3, (n, water.sum()))
    return vh, vv


def speckle_db(db, seed=0, row0=0, looks=ENL):
    """Gamma speckle of ENL ``looks`` on a dB array (multiplicative in linear power)."""
    rng = np.random.default_rng([seed + 3, row0])
    lin = 10.0 ** (db / 10.0) * rng.gamma(looks, 1.0 / looks, db.shape)
    return (10.0 * np.log10(lin)).astype(np.float32)


def simulate(rows=300, cols=300, seed=0, n_dates=N_DATES):
    """A whole small scene in memory: dict with dates, vh/vv dB (dates, rows, cols, speckled), classes,
    parcel ids, boxes, parcel classes, transplanting DOY per pixel (NaN off rice), water areas."""
    parcel, classes, boxes, pcls, water = layout(rows, cols, seed)
    doy, offset = parcel_values(len(boxes), pcls, seed)
    date_list = dates(n_dates)
    vh, vv = mean_db(classes, parcel, doy, offset, date_list, seed)
    pix_doy = np.where(classes == RICE, doy[parcel], np.nan).astype(np.float32)
    return {"dates": date_list, "vh": speckle_db(vh, seed), "vv": speckle_db(vv, seed + 100), "classes": classes,
            "parcel": parcel, "boxes": boxes, "parcel_class": pcls, "doy": pix_doy, "water": water,
            "vh_clean": vh, "vv_clean": vv}


def stack_rows(rows, cols, row0, row1, *, seed=0, n_dates=20, pol="vh"):
    """Rows ``row0:row1`` of the speckled ``pol`` stack of a large scene (dates, row1−row0, cols): the bench's
    4096² stacks are written strip by strip with this, in bounded memory."""
    parcel, classes, boxes, pcls, _ = _big_layout(rows, cols, seed)
    doy, offset = parcel_values(len(boxes), pcls, seed)
    vh, vv = mean_db(classes[row0:row1], parcel[row0:row1], doy, offset, dates(n_dates), seed, row0)
    return speckle_db(vh if pol == "vh" else vv, seed + (0 if pol == "vh" else 100), row0)


_LAYOUTS = {}


def _big_layout(rows, cols, seed):
    key = (rows, cols, seed)
    if key not in _LAYOUTS:
        _LAYOUTS.clear()
        _LAYOUTS[key] = layout(rows, cols, seed)
    return _LAYOUTS[key]


# -- files ---------------------------------------------------------------------------------
def geotransform():
    return (ORIGIN[0], PIXEL, 0.0, ORIGIN[1], 0.0, -PIXEL)


def _srs():
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    return srs


def write_tif(path, arr, *, descriptions=None, nodata=float("nan")):
    """A GeoTIFF on the scene's grid (float32, or uint8 for class rasters), with the tests' writer."""
    from osgeo import gdal

    from . import write_raster
    arr = np.asarray(arr)
    return write_raster(path, arr, epsg=EPSG, gt=geotransform(), nodata=nodata, descriptions=descriptions,
                        dtype=gdal.GDT_Byte if arr.dtype == np.uint8 else gdal.GDT_Float32)


def _box_polygon(r0, r1, c0, c1, shrink=0):
    from osgeo import ogr
    x0, y0 = ORIGIN[0] + (c0 + shrink) * PIXEL, ORIGIN[1] - (r0 + shrink) * PIXEL
    x1, y1 = ORIGIN[0] + (c1 - shrink) * PIXEL, ORIGIN[1] - (r1 - shrink) * PIXEL
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return poly


def _write_layer(path, name, gtype, features):
    """A GeoPackage layer with fields class (text), code (int), rice (0/1) and ``features`` (geometry, code)."""
    from osgeo import ogr
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer(name, _srs(), gtype)
    for field, kind in (("class", ogr.OFTString), ("code", ogr.OFTInteger), ("rice", ogr.OFTInteger)):
        layer.CreateField(ogr.FieldDefn(field, kind))
    for geom, code in features:
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetGeometry(geom)
        f.SetField("class", CLASSES[int(code)])
        f.SetField("code", int(code))
        f.SetField("rice", int(code == RICE))
        layer.CreateFeature(f)
    ds = None
    return str(path)


def write_scene(out_dir, rows=300, cols=300, seed=0, *, training_share=0.25, reference_points=600):
    """Write a scene to ``out_dir``: per-date ``S1_VH_<date>.tif``/``S1_VV_<date>.tif`` (dB), the truth
    (``truth_class.tif``, ``truth_transplanting_doy.tif``), ``training.gpkg`` (a share of each class's parcels,
    shrunk by one pixel so edge pixels are not labelled), ``reference.gpkg`` (random points off the training
    parcels) and ``water.gpkg`` (the lake). Returns the :func:`simulate` dict plus the paths."""
    from osgeo import ogr
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sc = simulate(rows, cols, seed)
    paths = {"vh": [], "vv": []}
    for k, d in enumerate(sc["dates"]):
        for pol in ("vh", "vv"):
            paths[pol].append(write_tif(out / f"S1_{pol.upper()}_{d}.tif", sc[pol][k], descriptions=[d]))
    paths["truth"] = write_tif(out / "truth_class.tif", sc["classes"], nodata=None)
    paths["truth_doy"] = write_tif(out / "truth_transplanting_doy.tif", sc["doy"])
    rng = np.random.default_rng(seed + 4)
    train_parcels = set()
    feats = []
    for p, (r0, r1, c0, c1) in enumerate(sc["boxes"]):
        cls = sc["classes"][r0:r1, c0:c1]
        code = int(sc["parcel_class"][p])
        if (cls != code).any() or min(r1 - r0, c1 - c0) < 4:   # cut by the lake or river, or too small
            continue
        if rng.random() < training_share:
            train_parcels.add(p)
            feats.append((_box_polygon(r0, r1, c0, c1, shrink=1), code))
    paths["training"] = _write_layer(out / "training.gpkg", "training", ogr.wkbPolygon, feats)
    pts = []
    free = ~np.isin(sc["parcel"], list(train_parcels))
    rr, cc = np.nonzero(free)
    pick = rng.choice(len(rr), size=min(reference_points, len(rr)), replace=False)
    for i in pick:
        g = ogr.Geometry(ogr.wkbPoint)
        g.AddPoint_2D(ORIGIN[0] + (cc[i] + 0.5) * PIXEL, ORIGIN[1] - (rr[i] + 0.5) * PIXEL)
        pts.append((g, int(sc["classes"][rr[i], cc[i]])))
    paths["reference"] = _write_layer(out / "reference.gpkg", "reference", ogr.wkbPoint, pts)
    lake = sc["water"]["lake"]
    paths["water"] = _write_layer(out / "water.gpkg", "water", ogr.wkbPolygon,
                                  [(_box_polygon(lake[0].start, lake[0].stop, lake[1].start, lake[1].stop), WATER)])
    sc["paths"] = paths
    return sc
