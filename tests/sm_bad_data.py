"""Bad and edge-case inputs of the soil-moisture suite (issue 28), for tests/process and tests/qgis: rasters whose
values are no such quantity, all-NaN rasters, sample layers that are empty or hold the wrong units."""

import hashlib
import shutil

import numpy as np
from helpers import write_raster
from osgeo import gdal, ogr, osr

DATES = ["2020-01-01", "2020-01-13", "2020-01-25", "2020-02-06", "2020-02-18", "2020-03-01"]
SHAPE = (40, 40)


def _samples(path, per_date, rng, *, empty=False):
    """Station samples as 'Extract raster values at stations' writes them: ``per_date[i]`` stations on date i."""
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    lyr = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    for name, kind in (("station", ogr.OFTString), ("date", ogr.OFTString), ("VV", ogr.OFTReal), ("VH", ogr.OFTReal),
                       ("NDVI", ogr.OFTReal), ("theta", ogr.OFTReal), ("ssm_insitu", ogr.OFTReal)):
        lyr.CreateField(ogr.FieldDefn(name, kind))
    for day, n in zip(DATES, [] if empty else per_date):
        for s in range(n):
            f = ogr.Feature(lyr.GetLayerDefn())
            f["station"], f["date"] = f"s{s}", day
            f["VV"], f["VH"] = float(rng.uniform(-15, -5)), float(rng.uniform(-25, -15))
            f["NDVI"], f["theta"], f["ssm_insitu"] = float(rng.uniform(0.2, 0.7)), 39.0, float(rng.uniform(0.1, 0.4))
            f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({600000 + s * 20} 4799000)"))
            lyr.CreateFeature(f)
    ds = None
    return str(path)


def _changed(src, dst, sql):
    shutil.copy(src, dst)
    ds = ogr.Open(str(dst), 1)
    ds.ExecuteSQL(sql)
    ds = None
    return str(dst)


def make(tmp):
    """Every input the bad-input tests use, under ``tmp``: ``{name: path}``."""
    rng = np.random.default_rng(28)
    sh, d = SHAPE, {}
    vv = rng.uniform(-15, -5, (6,) + sh).astype(np.float32)
    rasters = {
        "red_zero": np.zeros((2,) + sh),
        "red_negative": np.stack([np.full(sh, -0.08), np.full(sh, -0.02)]),
        "red_dn": np.stack([rng.integers(300, 1200, sh), rng.integers(2000, 5000, sh)]),
        "red_ok": np.stack([np.full(sh, 0.1), np.full(sh, 0.3)]),
        "dem": rng.uniform(100, 300, sh), "ssm_high": np.full(sh, 0.4), "ssm_low": np.full(sh, 0.1),
        "ssm_percent": np.full(sh, 35.0), "incidence_radians": np.full(sh, 0.68),
        "dem_cm": rng.uniform(10000, 30000, sh)}
    for name, arr in rasters.items():
        d[name] = write_raster(tmp / f"{name}.tif", np.asarray(arr, np.float32))
    stacks = {"vv": vv, "vv_nan": np.full((6,) + sh, np.nan), "vv_linear": 10 ** (vv / 10),
              "ndvi_bad": rng.uniform(2.5, 5, (6,) + sh), "ndvi_ok": rng.uniform(0.2, 0.7, (6,) + sh),
              "ndvi_nan": np.full((6,) + sh, np.nan)}
    for name, arr in stacks.items():
        d[name] = write_raster(tmp / f"{name}.tif", np.asarray(arr, np.float32), descriptions=DATES)
    # amplitude digital numbers (Int16 46..1179) where σ° is expected
    d["vv_dn"] = write_raster(tmp / "vv_dn.tif", rng.integers(46, 1179, (6,) + sh).astype(np.int16),
                              descriptions=DATES, dtype=gdal.GDT_Int16)
    d["samples"] = _samples(tmp / "samples.gpkg", [8] * 6, rng)
    d["samples_few"] = _samples(tmp / "samples_few.gpkg", [5, 5, 2, 2, 2, 2], rng)
    d["samples_empty"] = _samples(tmp / "samples_empty.gpkg", [], rng, empty=True)
    for name, sql in (("samples_ndvi_bad", "UPDATE samples SET NDVI = NDVI * 5 + 2.5"),
                      ("samples_null", "UPDATE samples SET VV = NULL, VH = NULL, NDVI = NULL, ssm_insitu = NULL"),
                      ("samples_percent", "UPDATE samples SET ssm_insitu = ssm_insitu * 100"),
                      ("samples_linear", "UPDATE samples SET VV = 0.05 + (VV + 15) / 100.0"),
                      ("samples_radians", "UPDATE samples SET theta = 0.68")):
        d[name] = _changed(d["samples"], tmp / f"{name}.gpkg", sql)
    return d


def digest(*paths):
    """The inputs' bytes, to show that a run left them as they were."""
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]


SUFFIX = {"OUTPUT_PARAMS": ".json", "OUTPUT_TABLE": ".csv", "OUTPUT_HTML": ".html", "OUTPUT_MODEL": ".onnx"}


def _values(params):
    return [x for v in params.values() for x in (v if isinstance(v, list) else [v])]


def arguments(params, data, tmp, outputs):
    """``(qgis_process arguments, output paths)``: ``params`` with ``{name}`` replaced by the inputs of ``data``
    (a list is a parameter given several times), and each of ``outputs`` written under ``tmp``."""
    args = [f"--{k}={str(x).format(**data)}" for k, v in params.items()
            for x in (v if isinstance(v, list) else [v])]
    paths = {o: tmp / f"{o.lower()}{SUFFIX.get(o, '.tif')}" for o in outputs}
    return args + [f"--{o}={p}" for o, p in paths.items()], list(paths.values())


def input_files(params, data):
    """The input files ``params`` name."""
    return sorted({str(v).format(**data) for v in _values(params) if "{" in str(v)})
