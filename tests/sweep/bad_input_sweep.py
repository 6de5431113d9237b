"""Bad-input sweep: every sarsense algorithm through qgis_process with bad and edge-case inputs, classified.

A developer tool run by hand (issue #28), not a pytest module (``make test`` collects tests/core, tests/qgis and
tests/process only; this file's name does not match ``test_*.py`` either). It

1. prepares good inputs once (exampledata's five suites, the station simulators, and a chain of sarsense runs:
   stacks, NDVH, rice map, SVM model, ANN model, samples, SIC chart ...), cached under ``WORK/base``;
2. derives bad inputs from them (all-NaN, undeclared fill, wrong units, out-of-range values, float class maps,
   0-byte and truncated files, empty/no-geometry/field-less layers, far-away extents, single-date and duplicate-
   date stacks, broken ISMN CSVs and SAFE zips) and builds 250-400 cases (OUTPUT = an input, parameter extremes,
   min > max, SIGTERM mid-run included);
3. runs them through ``qgis_process.bin`` (at most ``--jobs`` at a time, under ``nice -n 10``), each case in its own
   folder with its own TMPDIR, and classifies each run:
   TRACEBACK, MODIFIED (an input's sha256 changed, or a file appeared beside an input), LEFTOVER (a file left in
   the case's output folder or TMPDIR after a refusal/cancel/SIGTERM), GARBAGE (rc 0 with an all-NaN/nodata
   output, an empty table, values outside the quantity's range, or a bad input accepted without a word),
   UNCLEAR (refused without naming the parameter/input, or with raw Python text), OK_REFUSED, OK_RESULT;
4. writes ``WORK/report.json`` and ``WORK/report.md`` (per algorithm, per class, with the message and the command).

Usage (the plugin found as ``sarsense`` on PYTHONPATH and QGIS_PLUGINPATH, e.g. a folder holding a link
``sarsense -> <checkout>``)::

    PYTHONPATH=/tmp/pk QGIS_PLUGINPATH=/tmp/pk python3 tests/sweep/bad_input_sweep.py --work /tmp/sweep [--jobs 2]
        [--only ndvi,despeckle] [--family allnan,zero] [--list]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr

gdal.UseExceptions()
ogr.UseExceptions()

QP = "/usr/bin/qgis_process.bin"
CLASSES = ["TRACEBACK", "MODIFIED", "LEFTOVER", "GARBAGE", "UNCLEAR", "OK_REFUSED", "OK_RESULT"]
#: Raw Python text that must never reach a user without file/line and what to do.
RAW_PYTHON = ["Traceback", "could not convert", "codec can't decode", "BadZipFile", "RuntimeError:", "KeyError",
              "IndexError", "TypeError", "AttributeError", "ZeroDivisionError", "Error parsing datetime",
              "object has no attribute", "NoneType", "list index out of range", "division by zero", "[Errno",
              "ValueError:", "OverflowError", "MemoryError", "invalid literal for", "not supported between",
              "unsupported operand", "zipfile.", "numpy.", "np.", "_ArrayMemoryError", "LinAlgError"]
#: Physical range of each output quantity (after scale/offset).
RANGES = {"ssm": (0.0, 1.0), "index": (0.0, 1.0), "ndvi": (-1.0, 1.0), "lst": (150.0, 380.0),
          "db": (-60.0, 40.0), "linear": (0.0, 1e4), "sic_class": (0, 10), "sic_percent": (0.0, 100.0),
          "class": (0, 254), "doy": (1, 366), "angle": (0.0, 90.0), "ratio": (-60.0, 60.0)}
PHYS = {"db": (-60.0, 40.0), "linear": (0.0, 1e4), "ndvi": (-1.0, 1.0), "lst": (150.0, 380.0),
        "ndvh": (-5.0, 5.0)}


# ----------------------------------------------------------------------------------------------------------------
# qgis_process
def qp_env(tmpdir=None):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.setdefault("QGIS_PLUGINPATH", os.environ.get("PYTHONPATH", ""))
    if tmpdir:
        env["TMPDIR"] = str(tmpdir)
        runtime = Path(tmpdir).parent / "home" / "runtime"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    for var in ("XDG_DATA_HOME", "QGIS_CUSTOM_CONFIG_PATH", "QGIS_OPTIONS_PATH"):
        env.pop(var, None)
    return env


def argv(alg, params):
    out = ["nice", "-n", "10", QP, "run", f"sarsense:{alg}", "--json"]
    for k, v in params:
        out.append(f"--{k}={v}")
    return out


def run_ok(alg, params, what=""):
    """A preparation run that must succeed: its results."""
    res = subprocess.run(argv(alg, params), env=qp_env(), capture_output=True, text=True, timeout=900)
    if res.returncode:
        raise SystemExit(f"preparation failed: {alg} {what}\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return json.loads(res.stdout[res.stdout.index("{"):])["results"]


# ----------------------------------------------------------------------------------------------------------------
# raster / vector / file helpers
def read(path):
    ds = gdal.Open(str(path))
    arr = ds.ReadAsArray().astype(np.float64)
    return ds, (arr[None] if arr.ndim == 2 else arr)


def write_like(src, path, arr, *, dtype=gdal.GDT_Float32, nodata="nan", gt=None, wkt=None, descriptions=None,
               band_meta=True):
    """``arr`` (bands, rows, cols) with ``src``'s georeferencing, band descriptions and band metadata."""
    ds, _ = read(src)
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    out = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[2], arr.shape[1], arr.shape[0], dtype)
    out.SetGeoTransform(gt or ds.GetGeoTransform())
    out.SetProjection(wkt if wkt is not None else ds.GetProjection())
    out.SetMetadata(ds.GetMetadata())
    for i in range(arr.shape[0]):
        b = out.GetRasterBand(i + 1)
        sb = ds.GetRasterBand(min(i + 1, ds.RasterCount))
        if descriptions is not None:
            b.SetDescription(descriptions[i])
        else:
            b.SetDescription(sb.GetDescription())
        if band_meta:
            b.SetMetadata(sb.GetMetadata())
        if nodata == "nan":
            b.SetNoDataValue(float("nan"))
        elif nodata is not None:
            b.SetNoDataValue(float(nodata))
        b.WriteArray(arr[i])
    out = None
    return str(path)


def masked(src):
    ds, arr = read(src)
    nd = ds.GetRasterBand(1).GetNoDataValue()
    valid = np.isfinite(arr) if nd is None or np.isnan(nd) else (arr != nd) & np.isfinite(arr)
    return ds, arr, valid


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def vec_copy(src, dst, *, where=None, drop_fields=False, shift=None, no_geometry=False, layer=None):
    """A GeoPackage copy of ``src``: features filtered by ``where``, fields dropped, moved by ``shift`` metres,
    or as an attribute table without geometry."""
    sds = ogr.Open(str(src))
    sl = sds.GetLayer(layer or 0)
    drv = ogr.GetDriverByName("GPKG")
    if os.path.exists(dst):
        drv.DeleteDataSource(str(dst))
    dds = drv.CreateDataSource(str(dst))
    gtype = ogr.wkbNone if no_geometry else sl.GetGeomType()
    dl = dds.CreateLayer(sl.GetName(), sl.GetSpatialRef() if not no_geometry else None, gtype)
    defn = sl.GetLayerDefn()
    if not drop_fields:
        for i in range(defn.GetFieldCount()):
            dl.CreateField(defn.GetFieldDefn(i))
    else:
        dl.CreateField(ogr.FieldDefn("other", ogr.OFTString))
    if where:
        sl.SetAttributeFilter(where)
    for f in sl:
        nf = ogr.Feature(dl.GetLayerDefn())
        if not drop_fields:
            for i in range(defn.GetFieldCount()):
                nf.SetField(defn.GetFieldDefn(i).GetNameRef(), f.GetField(i))
        else:
            nf.SetField("other", "x")
        g = f.GetGeometryRef()
        if g is not None and not no_geometry:
            g = g.Clone()
            if shift:
                # move every vertex by shift (x, y)
                wkt = g.ExportToWkt()
                g = ogr.CreateGeometryFromWkt(_shift_wkt(wkt, *shift))
            nf.SetGeometry(g)
        dl.CreateFeature(nf)
    dds = None
    return str(dst)


def _shift_wkt(wkt, dx, dy):
    def move(m):
        x, y = float(m.group(1)), float(m.group(2))
        return f"{x + dx} {y + dy}"
    return re.sub(r"(-?[\d.]+(?:e[-+]?\d+)?) (-?[\d.]+(?:e[-+]?\d+)?)", move, wkt)


def truncate(src, dst, frac=0.4):
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: max(1, int(len(data) * frac))])
    return str(dst)


def zero(dst):
    Path(dst).write_bytes(b"")
    return str(dst)


# ----------------------------------------------------------------------------------------------------------------
# preparation: good inputs, cached
def prepare(work):
    """Good inputs for every algorithm, made once: {name: path}."""
    base = work / "base"
    cache = base / "base.json"
    if cache.exists():
        return json.loads(cache.read_text())
    base.mkdir(parents=True, exist_ok=True)
    from sarsense.algorithms import onnx as rt
    from sarsense.simulators import SAMPLE_DATA, soil_moisture_s1, station_scenes
    b = {}
    ex = base / "ex"
    for s in range(5):
        run_ok("exampledata", [("SUITE", s), ("OUTPUT_FOLDER", ex)], f"suite {s}")
    b["safe_zip"] = str(sorted((ex / "sentinel1_grd_simulated").glob("*.zip"))[0])
    sm_ex = ex / "soil_moisture_simulated_s1_raam"
    b["raam_dir"] = str(sm_ex / "raam_stations")
    # copies: runs must not write statistics beside the checkout's own sample data
    b["sample_db"] = shutil.copy2(SAMPLE_DATA / "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif", base)
    (base / "bolivia").mkdir(exist_ok=True)
    b["bolivia"] = [shutil.copy2(p, base / "bolivia")
                    for p in sorted((SAMPLE_DATA / "s1_vv_stack_bolivia").glob("*.tif"))[:4]]
    b["despeckle_onnx"] = str(rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx")
    b["lst_onnx"] = str(rt.BUNDLED_MODELS_DIR / "lst_superresolution.onnx")
    b["sic_onnx"] = str(rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx")
    # soil moisture: simulated S1 over the Raam stations, its samples
    p = soil_moisture_s1.scene(base / "sm", step_days=12)["paths"]
    b.update(vv=p["VV"], vh=p["VH"], ndvi_stack=p["NDVI"], theta=p["theta"])
    (base / "st").mkdir(exist_ok=True)
    st = station_scenes.scene(base / "st")["paths"]
    b.update(st_vv=st["VV"], st_ndvi=st["NDVI"], st_theta=st["theta"])
    imp = run_ok("importismn", [("INPUT", b["raam_dir"]), ("OUTPUT_STATIONS", base / "stations.gpkg"),
                                ("OUTPUT_VALUES", base / "values.csv")])
    b.update(stations=imp["OUTPUT_STATIONS"], values=imp["OUTPUT_VALUES"])
    ext = run_ok("extractstations", [("STATIONS", b["stations"]), ("VALUES", b["values"]), ("RASTERS", b["vv"]),
                                     ("RASTERS", b["ndvi_stack"]), ("RASTERS", b["theta"]),
                                     ("OUTPUT", base / "samples.gpkg")])
    b["samples"] = ext["OUTPUT"]
    ext = run_ok("extractstations", [("STATIONS", b["stations"]), ("VALUES", b["values"]), ("RASTERS", b["st_vv"]),
                                     ("RASTERS", b["st_ndvi"]), ("RASTERS", b["st_theta"]),
                                     ("OUTPUT", base / "st_samples.gpkg")])
    b["st_samples"] = ext["OUTPUT"]
    cd = run_ok("changedetection", [("INPUT", b["vv"]), ("INPUT_UNITS", 1), ("SSM_MIN", 0.05), ("SSM_MAX", 0.4),
                                    ("OUTPUT_INDEX", base / "index.tif"), ("OUTPUT_SSM", base / "ssm.tif"),
                                    ("OUTPUT_DVV", base / "dvv.tif")])
    b.update(ssm=cd["OUTPUT_SSM"], index=cd["OUTPUT_INDEX"], dvv=cd["OUTPUT_DVV"])
    ext = run_ok("extractstations", [("STATIONS", b["stations"]), ("VALUES", b["values"]), ("RASTERS", b["ssm"]),
                                     ("OUTPUT", base / "ssm_samples.gpkg")])
    b["ssm_samples"] = ext["OUTPUT"]
    run_ok("calibratewatercloud", [("SAMPLES", b["samples"]), ("OUTPUT_PARAMS", base / "wcm.json"),
                                   ("OUTPUT_HTML", base / "wcm.html")])
    b["wcm_json"] = str(base / "wcm.json")
    run_ok("calibratevegetationcd", [("SAMPLES", b["st_samples"]), ("OUTPUT_PARAMS", base / "vcd.json"),
                                     ("OUTPUT_HTML", base / "vcd.html")])
    b["vcd_json"] = str(base / "vcd.json")
    run_ok("trainannmoisture", [("SAMPLES", b["st_samples"]), ("INPUTS", 0), ("INPUTS", 2), ("INPUTS", 3),
                                ("ENSEMBLE", 1), ("OUTPUT_MODEL", base / "ann.onnx"),
                                ("OUTPUT_HTML", base / "ann.html")])
    b["ann_onnx"] = str(base / "ann.onnx")
    # crop: the rice chain
    rice = ex / "rice_simulated"
    b["vh_files"] = [str(x) for x in sorted(rice.glob("S1_VH_*_simulated.tif"))]
    b["water"] = str(rice / "water_simulated.gpkg")
    b["parcels"] = str(rice / "parcels_simulated.gpkg")
    b["reference_pts"] = str(rice / "reference_points_simulated.gpkg")
    run_ok("buildstack", [*[("INPUTS", f) for f in b["vh_files"]], ("OUTPUT", base / "vh_stack.tif")])
    b["vh_stack"] = str(base / "vh_stack.tif")
    run_ok("despeckle", [("INPUT", b["vh_stack"]), ("INPUT_UNITS", 1), ("FILTER", 4), ("SIZE", 5), ("LOOKS", 4.4),
                         ("OUTPUT", base / "vh_desp.tif")])
    b["vh_desp"] = str(base / "vh_desp.tif")
    run_ok("waternormalized", [("INPUT", b["vh_desp"]), ("INPUT_UNITS", 1), ("WATER", b["water"]),
                               ("OUTPUT", base / "ndvh.tif")])
    b["ndvh"] = str(base / "ndvh.tif")
    run_ok("ricethreshold", [("NDVH", b["ndvh"]), ("SEASON_START", "2019-03-10"), ("SEASON_END", "2019-04-27"),
                             ("WATER_DATE", "2019-01-21"), ("OUTPUT", base / "rice.tif"),
                             ("OUTPUT_DATE", base / "doy.tif")])
    b["rice"] = str(base / "rice.tif")
    run_ok("svmclassify", [("INPUT", b["ndvh"]), ("TRAINING", b["parcels"]), ("CLASS_FIELD", "code"),
                           ("OUTPUT", base / "svm.tif"), ("OUTPUT_MODEL", base / "svm.npz"),
                           ("OUTPUT_REPORT", base / "svm.html")])
    b.update(svm=str(base / "svm.tif"), svm_npz=str(base / "svm.npz"))
    # LST
    lst = ex / "lst_modis_landsat_real"
    b["lst"] = str(lst / "MOD11A1_2019-11-01_LST_Day_1km_window.tif")
    b["olinda"] = str(lst / "L7_ETMs_olinda.tif")
    ds, arr, valid = masked(b["lst"])
    gt = list(ds.GetGeoTransform())
    fine_gt = (gt[0], gt[1] / 4, 0.0, gt[3], 0.0, gt[5] / 4)
    yy, xx = np.mgrid[0:arr.shape[1] * 4, 0:arr.shape[2] * 4]
    fine = 0.2 + 0.6 * (0.5 + 0.5 * np.sin(xx / 17.0) * np.cos(yy / 23.0))
    b["fine_ndvi"] = write_like(b["lst"], base / "fine_ndvi.tif", fine, gt=fine_gt, descriptions=["ndvi"],
                                band_meta=False)
    rng = np.random.default_rng(0)
    b["lst_est"] = write_like(b["lst"], base / "lst_est.tif", arr + rng.normal(0, 1.0, arr.shape))
    # sea ice
    si = ex / "sea_ice_simulated"
    b.update(hh=str(si / "EW_simulated_hh.tif"), hv=str(si / "EW_simulated_hv.tif"),
             land=str(si / "land_simulated.gpkg"), chart=str(si / "ice_chart_simulated.gpkg"))
    run_ok("seaiceconcentration", [("HH", b["hh"]), ("HV", b["hv"]), ("INPUT_UNITS", 1), ("DOWNSAMPLE", 2),
                                   ("LAND", b["land"]), ("MODE", 0), ("OUTPUT", base / "sic.tif"),
                                   ("OUTPUT_EXPECTED", base / "sic_percent.tif")])
    b.update(sic=str(base / "sic.tif"), sic_percent=str(base / "sic_percent.tif"))
    run_ok("icechartclasses", [("CHART", b["chart"]), ("REFERENCE", b["sic"]), ("OUTPUT", base / "chart.tif")])
    b["chart_classes"] = str(base / "chart.tif")
    # a DEM on the VV grid (a gentle east-facing slope)
    ds, arr = read(b["vv"])
    dem = 100.0 + 0.05 * np.arange(arr.shape[2])[None, :] * np.ones((arr.shape[1], 1))
    b["dem"] = write_like(b["vv"], base / "dem.tif", dem, descriptions=["elevation"], band_meta=False)
    b["vv_one"] = write_like(b["vv"], base / "vv_one.tif", arr[:1])
    cache.write_text(json.dumps(b, indent=1))
    return b


# ----------------------------------------------------------------------------------------------------------------
# bad inputs, derived from a good one
def bad_raster(kind, family, src, dst):
    """Write the ``family`` variant of raster ``src`` (of quantity ``kind``) to ``dst``; None where it does not
    apply."""
    if family == "zero":
        return zero(dst)
    if family == "truncated":
        return truncate(src, dst)
    ds, arr, valid = masked(src)
    rng = np.random.default_rng(1)
    if family == "allnan":
        if kind in ("class", "sic_class"):
            return write_like(src, dst, np.full(arr.shape, 255), dtype=gdal.GDT_Byte, nodata=255)
        return write_like(src, dst, np.full(arr.shape, np.nan))
    if family == "fill":          # an undeclared fill value over a third of the scene
        a = np.where(valid, arr, np.nan)
        a[..., : max(1, a.shape[-2] // 3), :] = -9999.0
        a = np.where(np.isfinite(a), a, -9999.0)
        return write_like(src, dst, a, nodata=None)
    if family == "x40":
        return write_like(src, dst, np.where(valid, arr * 40.0, np.nan))
    if family == "units" and kind == "db":        # linear power given as dB
        return write_like(src, dst, np.where(valid, 10 ** (arr / 10.0), np.nan))
    if family == "units" and kind == "linear":    # dB given as linear
        return write_like(src, dst, np.where(valid, 10 * np.log10(np.maximum(arr, 1e-6)), np.nan))
    if family == "dn" and kind in ("db", "linear"):   # Int16 amplitude DN 46..1179
        a = rng.integers(46, 1180, arr.shape)
        return write_like(src, dst, a, dtype=gdal.GDT_Int16, nodata=None)
    if family == "range" and kind == "ndvi":       # NDVI 2.5..5
        return write_like(src, dst, np.where(valid, 2.5 + 2.5 * rng.random(arr.shape), np.nan))
    if family == "range" and kind == "ndvh":
        return write_like(src, dst, np.where(valid, arr * 40.0, np.nan))
    if family == "units" and kind == "lst":        # °C declared as kelvin
        return write_like(src, dst, np.where(valid, arr - 273.15, np.nan))
    if family == "dn" and kind == "lst":           # raw MODIS DN (scale 0.02 not applied)
        return write_like(src, dst, np.where(valid, np.round(arr / 0.02), 0), dtype=gdal.GDT_UInt16, nodata=0)
    if family == "float_class" and kind in ("class", "sic_class"):
        return write_like(src, dst, np.where(valid, rng.random(arr.shape) * 3.0, np.nan))
    if family == "range" and kind == "sic_class":   # SIC in % (0..100) where classes 0..10 are expected
        return write_like(src, dst, np.where(valid, arr * 10 + 5, 255), dtype=gdal.GDT_Byte, nodata=255)
    if family == "range" and kind == "sic_percent":
        return write_like(src, dst, np.where(valid, arr * 3 + 20, np.nan))
    if family == "far":                            # the same pixels 5000 km away
        gt = list(ds.GetGeoTransform())
        gt[0] += 5e6
        gt[3] += 5e6 if gt[3] < 0 else -5e6
        return write_like(src, dst, np.where(valid, arr, np.nan), gt=tuple(gt))
    if family == "single_date":
        return write_like(src, dst, np.where(valid, arr, np.nan)[:1])
    if family == "dup_date" and arr.shape[0] >= 3:
        desc = [ds.GetRasterBand(i + 1).GetDescription() for i in range(arr.shape[0])]
        desc[1] = desc[0]
        return write_like(src, dst, np.where(valid, arr, np.nan), descriptions=desc, band_meta=False)
    if family == "nocrs":
        return write_like(src, dst, np.where(valid, arr, np.nan), wkt="")
    return None


def bad_vector(family, src, dst, field=None):
    if family == "zero":
        return zero(dst)
    if family == "truncated":
        return truncate(src, dst, 0.3)
    if family == "empty":
        return vec_copy(src, dst, where="1=0")
    if family == "nogeom":
        return vec_copy(src, dst, no_geometry=True)
    if family == "nofield":
        return vec_copy(src, dst, drop_fields=True)
    if family == "far":
        return vec_copy(src, dst, shift=(5e6, 5e6))
    return None


def bad_file(family, src, dst):
    if family == "zero":
        return zero(dst)
    if family == "truncated":
        return truncate(src, dst)
    if family == "garbage":
        Path(dst).write_bytes(b"this is not a model\n\x00\x01\x02" * 20)
        return str(dst)
    return None


# ----------------------------------------------------------------------------------------------------------------
# the cases
class Case:
    def __init__(self, alg, family, params, *, expect="refuse", names=(), note="", sigterm=False, outputs=None,
                 inputs_dir=None):
        self.alg, self.family, self.params, self.expect, self.note = alg, family, params, expect, note
        self.names = list(names)            # texts a refusal should hold (any one of them)
        self.sigterm = sigterm
        self.outputs = outputs or {}        # output key -> quantity for range checks
        self.id = ""
        self.inputs_dir = inputs_dir


#: Per algorithm: good parameters (values may name base inputs with '@key'), raster inputs and their quantity,
#: vector inputs (and the field they need), file inputs, output keys (and quantity), series inputs, min/max pairs,
#: number parameters to push to their extremes, and whether to SIGTERM it.
SPECS = {
    "despeckle": dict(p=[("INPUT", "@vh_stack"), ("INPUT_UNITS", 1), ("FILTER", 4), ("SIZE", 5), ("LOOKS", 4.4),
                         ("OUTPUT", "OUT:out.tif")], r={"INPUT": "db"}, o={"OUTPUT": "db"},
                      nums={"SIZE": [21, 4], "LOOKS": [0.001, 1e9], "DAMPING": [0, 1e9]}, sigterm=True),
    "convertunits": dict(p=[("INPUT", "@sample_db"), ("CONVERSION", 1), ("OUTPUT", "OUT:out.tif")],
                         r={"INPUT": "db"}, o={"OUTPUT": "linear"}),
    "buildstack": dict(p=[("INPUTS", "@bolivia"), ("OUTPUT", "OUT:out.tif")], r={"INPUTS": "db"},
                       o={"OUTPUT": "db"}),
    "multitemporaldespeckle": dict(p=[("INPUT", "@vh_stack"), ("INPUT_UNITS", 1), ("SIZE", 7),
                                      ("OUTPUT", "OUT:out.tif")], r={"INPUT": "db"}, o={"OUTPUT": "db"},
                                   series=["INPUT"], nums={"SIZE": [21, 3]}, sigterm=True),
    "polratio": dict(p=[("CROSS", "@vh"), ("CO", "@vv"), ("INPUT_UNITS", 1), ("OUTPUT", "OUT:out.tif")],
                     r={"CROSS": "db", "CO": "db"}, o={"OUTPUT": "ratio"}, dated=["CROSS", "CO"]),
    "terrainflatten": dict(p=[("INPUT", "@vv_one"), ("DEM", "@dem"), ("INPUT_UNITS", 1), ("INCIDENCE_ANGLE", 39),
                              ("HEADING", 348), ("OUTPUT", "OUT:out.tif")], r={"INPUT": "db", "DEM": "any"},
                           o={"OUTPUT": "db"}, nums={"INCIDENCE_ANGLE": [0, 90], "HEADING": [-360, 360]}),
    "importsentinel1": dict(p=[("INPUT", "@safe_zip"), ("POLARISATIONS", 0), ("OUTPUT", "OUT:out.tif")],
                            f={"INPUT": "safe"}, o={"OUTPUT": "db"}, nums={"PIXEL_SIZE": [100000, 0.01]},
                            sigterm=True),
    "applymodel": dict(p=[("INPUT", "@sample_db"), ("MODEL", "@despeckle_onnx"), ("OUTPUT", "OUT:out.tif")],
                       r={"INPUT": "db"}, f={"MODEL": "onnx"}, o={"OUTPUT": "db"},
                       nums={"TILE_SIZE": [1, 8192], "HALO": [4096, 0], "BATCH": [256, 1]}, sigterm=True),
    "interpolatetime": dict(p=[("INPUT", "@ndvi_stack"), ("TARGET", "@vv"), ("MAX_GAP_DAYS", 60),
                               ("OUTPUT", "OUT:out.tif")], r={"INPUT": "ndvi"}, o={"OUTPUT": "ndvi"},
                            series=["INPUT"], nums={"MAX_GAP_DAYS": [0, 1e9]}),
    "waternormalized": dict(p=[("INPUT", "@vh_desp"), ("INPUT_UNITS", 1), ("WATER", "@water"),
                               ("OUTPUT", "OUT:out.tif")], r={"INPUT": "db"}, v={"WATER": None},
                            o={"OUTPUT": "ndvh"}, nums={"AUTO_WATER_DB": [-1000, 1000]}),
    "ricethreshold": dict(p=[("NDVH", "@ndvh"), ("SEASON_START", "2019-03-10"), ("SEASON_END", "2019-04-27"),
                             ("WATER_DATE", "2019-01-21"), ("OUTPUT", "OUT:rice.tif"),
                             ("OUTPUT_DATE", "OUT:doy.tif")], r={"NDVH": "ndvh"},
                          o={"OUTPUT": "class", "OUTPUT_DATE": "doy"}, series=["NDVH"],
                          minmax=[("SEASON_START", "SEASON_END", "2019-06-01", "2019-02-01")],
                          nums={"T_FLOOD": [-1, 1], "T_WATER": [1, -1]}),
    "accuracyassessment": dict(p=[("CLASSIFIED", "@rice"), ("REFERENCE", "@reference_pts"), ("CLASS_FIELD", "rice"),
                                  ("OUTPUT_TABLE", "OUT:acc.csv"), ("OUTPUT_HTML", "OUT:acc.html")],
                               r={"CLASSIFIED": "class"}, v={"REFERENCE": "CLASS_FIELD"}, o={"OUTPUT_TABLE": "table"}),
    "sieveclasses": dict(p=[("INPUT", "@rice"), ("THRESHOLD", 10), ("OUTPUT", "OUT:out.tif")],
                         r={"INPUT": "class"}, o={"OUTPUT": "class"}, nums={"THRESHOLD": [1e9, 2]}),
    "separability": dict(p=[("INPUT", "@ndvh"), ("TRAINING", "@parcels"), ("CLASS_FIELD", "class"),
                            ("OUTPUT_TABLE", "OUT:jm.csv"), ("OUTPUT_HTML", "OUT:jm.html")],
                         r={"INPUT": "ndvh"}, v={"TRAINING": "CLASS_FIELD"}, o={"OUTPUT_TABLE": "table"},
                         nums={"REGULARISATION": [0, 1e9]}),
    "svmclassify": dict(p=[("INPUT", "@ndvh"), ("TRAINING", "@parcels"), ("CLASS_FIELD", "code"),
                           ("OUTPUT", "OUT:svm.tif"), ("OUTPUT_MODEL", "OUT:svm.npz"), ("OUTPUT_REPORT", "OUT:r.html")],
                        r={"INPUT": "ndvh"}, v={"TRAINING": "CLASS_FIELD"}, o={"OUTPUT": "class"},
                        nums={"C": [1e-9, 1e12], "GAMMA": [1e-9, 1e12], "MAX_TRAINING": [0, 1]}, sigterm=True),
    "svmapply": dict(p=[("INPUT", "@ndvh"), ("MODEL", "@svm_npz"), ("OUTPUT", "OUT:out.tif")],
                     r={"INPUT": "ndvh"}, f={"MODEL": "npz"}, o={"OUTPUT": "class"}),
    "changedetection": dict(p=[("INPUT", "@vv"), ("INPUT_UNITS", 1), ("SSM_MIN", 0.05), ("SSM_MAX", 0.4),
                               ("OUTPUT_INDEX", "OUT:index.tif"), ("OUTPUT_SSM", "OUT:ssm.tif")],
                            r={"INPUT": "db"}, o={"OUTPUT_INDEX": "index", "OUTPUT_SSM": "ssm"}, series=["INPUT"],
                            minmax=[("SSM_MIN", "SSM_MAX", 0.4, 0.05), ("LOW_PCT", "HIGH_PCT", 95, 5)],
                            nums={"MIN_DATES": [1e6, 2]}, sigterm=True),
    "vegetationcd": dict(p=[("VV", "@vv"), ("V1", "@ndvi_stack"), ("ALPHA", 20), ("BETA", 5),
                            ("OUTPUT", "OUT:out.tif")], r={"VV": "db", "V1": "ndvi"}, o={"OUTPUT": "ssm"},
                         series=["VV"], f={"PARAMS": "json"}, dated=["VV", "V1"],
                         nums={"ALPHA": [0, 1e9], "SSM_MIN": [1, 0]}),
    "watercloud": dict(p=[("INPUT", "@vv"), ("NDVI", "@ndvi_stack"), ("INCIDENCE", "@theta"), ("A", 0.05),
                          ("B", 0.1), ("OUTPUT_SOIL", "OUT:soil.tif"), ("OUTPUT_VEG", "OUT:veg.tif")],
                       r={"INPUT": "db", "NDVI": "ndvi", "INCIDENCE": "angle"}, o={"OUTPUT_SOIL": "db"},
                       f={"PARAMS": "json"}, dated=["INPUT", "NDVI"], nums={"A": [0, 1e9], "B": [1e9, 0]}),
    "regressmoisture": dict(p=[("SAMPLES", "@samples"), ("OUTPUT_PARAMS", "OUT:r.json"), ("OUTPUT_TABLE", "OUT:r.csv"),
                               ("RASTER", "@vv"), ("OUTPUT", "OUT:rm.tif")], r={"RASTER": "db"},
                            v={"SAMPLES": "VV"}, o={"OUTPUT": "ssm", "OUTPUT_TABLE": "table"}),
    "calibratewatercloud": dict(p=[("SAMPLES", "@samples"), ("OUTPUT_PARAMS", "OUT:w.json"),
                                   ("OUTPUT_HTML", "OUT:w.html")], v={"SAMPLES": "VV"},
                                nums={"TRAIN_FRACTION": [0.05, 0.95]}),
    "calibratevegetationcd": dict(p=[("SAMPLES", "@st_samples"), ("OUTPUT_PARAMS", "OUT:v.json"),
                                     ("OUTPUT_HTML", "OUT:v.html")], v={"SAMPLES": "VV"},
                                  nums={"TRAIN_FRACTION": [0.05, 0.95]}),
    "trainannmoisture": dict(p=[("SAMPLES", "@st_samples"), ("INPUTS", "0"), ("INPUTS", "2"), ("INPUTS", "3"),
                                ("ENSEMBLE", 1), ("OUTPUT_MODEL", "OUT:m.onnx"), ("OUTPUT_HTML", "OUT:m.html")],
                             v={"SAMPLES": "VV"}, nums={"ENSEMBLE": [50, 1], "TRAIN_FRACTION": [0.05, 0.95]}),
    "annmoisture": dict(p=[("INPUTS", "@st_vv"), ("INPUTS", "@st_theta"), ("INPUTS", "@st_ndvi"),
                           ("MODEL", "@ann_onnx"), ("OUTPUT", "OUT:ssm.tif"), ("OUTPUT_SPREAD", "OUT:spread.tif")],
                        r={"INPUTS": "db"}, f={"MODEL": "onnx"}, o={"OUTPUT": "ssm"}),
    "extractstations": dict(p=[("STATIONS", "@stations"), ("VALUES", "@values"), ("RASTERS", "@ssm"),
                               ("OUTPUT", "OUT:s.gpkg")], r={"RASTERS": "ssm"}, v={"STATIONS": None},
                            f={"VALUES": "csv"}, o={"OUTPUT": "table"}, dated=["RASTERS"],
                            nums={"RADIUS_M": [0, 1e9], "TIME_TOLERANCE_H": [0, 1e9], "MAX_INVALID": [0, 1]}),
    "validatemoisture": dict(p=[("SAMPLES", "@ssm_samples"), ("ESTIMATE_FIELD", "ssm"),
                                ("REFERENCE_FIELD", "ssm_insitu"), ("GROUP_FIELD", "station"),
                                ("OUTPUT_TABLE", "OUT:scores.csv"), ("OUTPUT_HTML", "OUT:v.html")],
                             v={"SAMPLES": "ESTIMATE_FIELD"}, o={"OUTPUT_TABLE": "table"}),
    "importismn": dict(p=[("INPUT", "@raam_dir"), ("OUTPUT_STATIONS", "OUT:st.gpkg"), ("OUTPUT_VALUES", "OUT:v.csv")],
                       f={"INPUT": "ismn"}, o={"OUTPUT_STATIONS": "table", "OUTPUT_VALUES": "table"},
                       nums={"DEPTH_MAX_M": [0, 10]}),
    "ndvi": dict(p=[("RED", "@olinda"), ("RED_BAND", 3), ("NIR_BAND", 4), ("OUTPUT", "OUT:ndvi.tif")],
                 r={"RED": "reflectance"}, o={"OUTPUT": "ndvi"},
                 nums={"RED_BAND": [0, 99], "SCALE": [1e-9, 1e9], "OFFSET": [-1e9, 1e9]}),
    "lstsuperresolution": dict(p=[("INPUT", "@lst"), ("INPUT_UNITS", 0), ("METHOD", 0), ("SCALE", 4),
                                  ("OUTPUT", "OUT:lst.tif")], r={"INPUT": "lst"}, f={"MODEL": "onnx"},
                               o={"OUTPUT": "lst"}, nums={"SCALE": [16, 3]}, sigterm=True),
    "lstsuperresolution_tsharp": dict(alg="lstsuperresolution",
                                      p=[("INPUT", "@lst"), ("INPUT_UNITS", 0), ("METHOD", 2), ("SCALE", 4),
                                         ("NDVI", "@fine_ndvi"), ("OUTPUT", "OUT:lst.tif")],
                                      r={"INPUT": "lst", "NDVI": "ndvi"}, o={"OUTPUT": "lst"}),
    "degradelst": dict(p=[("INPUT", "@lst"), ("FACTOR", 4), ("OUTPUT", "OUT:d.tif")], r={"INPUT": "lst"},
                       o={"OUTPUT": "lst"}, nums={"FACTOR": [64, 2]}),
    "imagequality": dict(p=[("REFERENCE", "@lst"), ("ESTIMATE", "@lst_est"), ("OUTPUT_TABLE", "OUT:q.csv")],
                         r={"REFERENCE": "lst", "ESTIMATE": "lst"}, o={"OUTPUT_TABLE": "table"},
                         nums={"PATCH": [100000, 1]}),
    "seaiceconcentration": dict(p=[("HH", "@hh"), ("HV", "@hv"), ("INPUT_UNITS", 1), ("DOWNSAMPLE", 2),
                                   ("LAND", "@land"), ("MODE", 0), ("OUTPUT", "OUT:sic.tif"),
                                   ("OUTPUT_EXPECTED", "OUT:sicp.tif")], r={"HH": "db", "HV": "db"},
                                v={"LAND": None}, f={"MODEL": "onnx"},
                                o={"OUTPUT": "sic_class", "OUTPUT_EXPECTED": "sic_percent"},
                                nums={"DOWNSAMPLE": [8, 1], "BUDGET_MB": [64, 1e9]}, sigterm=True),
    "icechartclasses": dict(p=[("CHART", "@chart"), ("REFERENCE", "@sic"), ("OUTPUT", "OUT:c.tif")],
                            r={"REFERENCE": "sic_class"}, v={"CHART": "CT"}, o={"OUTPUT": "sic_class"}),
    "seaiceskill": dict(p=[("PREDICTED", "@sic"), ("REFERENCE", "@chart_classes"), ("OUTPUT_TABLE", "OUT:s.csv"),
                           ("OUTPUT_HTML", "OUT:s.html")], r={"PREDICTED": "sic_class", "REFERENCE": "sic_class"},
                        o={"OUTPUT_TABLE": "table"}),
    "unetreceptivefield": dict(p=[("LEVELS", 8)], nums={"LEVELS": [10, 2], "KERNEL": [15, 2],
                                                        "CONVS_PER_BLOCK": [6, 1]}),
    "sar_chain_db_gammamap": dict(p=[("input_db", "@sample_db"), ("window", 5),
                                     ("to_db:Despeckled backscatter (dB)", "OUT:chain.tif")], r={"input_db": "db"},
                                  o={"to_db:Despeckled backscatter (dB)": "db"}),
}


def _val(b, v, case_dir):
    if isinstance(v, str) and v.startswith("@"):
        return b[v[1:]]
    if isinstance(v, str) and v.startswith("OUT:"):
        return str(case_dir / "out" / v[4:])
    return v


def expand(params, b, case_dir):
    """(key, value) pairs with '@base' and 'OUT:' resolved; a list value becomes repeated keys."""
    out = []
    for k, v in params:
        v = _val(b, v, case_dir)
        if isinstance(v, list):
            out.extend((k, x) for x in v)
        else:
            out.append((k, v))
    return out


def replace(params, key, value, first_only=True):
    """``params`` with ``key``'s (first) value replaced (or the key added)."""
    out, done = [], False
    for k, v in params:
        if k == key and not (done and first_only):
            if not done:
                out.append((k, value))
            done = True
            continue
        out.append((k, v))
    if not done:
        out.append((key, value))
    return out


def drop(params, key):
    return [(k, v) for k, v in params if k != key]


RASTER_FAMILIES = {
    "db": ["allnan", "fill", "x40", "units", "dn", "zero", "truncated"],
    "linear": ["allnan", "fill", "units", "dn", "zero", "truncated"],
    "ndvi": ["allnan", "fill", "range", "zero", "truncated"],
    "ndvh": ["allnan", "range", "zero", "truncated"],
    "lst": ["allnan", "fill", "units", "dn", "zero", "truncated"],
    "class": ["allnan", "float_class", "zero", "truncated"],
    "sic_class": ["allnan", "float_class", "range", "zero", "truncated"],
    "ssm": ["allnan", "fill", "zero", "truncated"],
    "reflectance": ["allnan", "fill", "zero", "truncated"],
    "angle": ["allnan", "fill", "zero"],
    "any": ["allnan", "zero", "truncated"],
}


#: Algorithms also given a truncated raster, and raw amplitude DN where dB is expected (the rest share readers).
TRUNCATED_TOO = {"despeckle", "changedetection", "lstsuperresolution", "seaiceconcentration", "svmapply",
                 "accuracyassessment", "extractstations", "icechartclasses"}
DN_TOO = {"despeckle", "convertunits", "multitemporaldespeckle", "changedetection", "seaiceconcentration",
          "waternormalized", "terrainflatten"}


def build_cases(b, work):
    """Every case: (Case, a function making its bad inputs in its folder)."""
    cases = []

    def add(name, family, params, prep=None, **kw):
        c = Case(SPECS[name].get("alg", name), family, params, **kw)
        c.spec = name
        c.prep = prep
        cases.append(c)

    for name, s in SPECS.items():
        p0 = s["p"]
        alg = s.get("alg", name)
        add(name, "baseline", p0, expect="result")
        # rasters
        for n_key, (key, kind) in enumerate(s.get("r", {}).items()):
            fams = list(RASTER_FAMILIES.get(kind, RASTER_FAMILIES["any"]))
            if alg not in TRUNCATED_TOO:
                fams = [f for f in fams if f != "truncated"]
            if kind == "db" and alg not in DN_TOO:
                fams = [f for f in fams if f != "dn"]
            if n_key:       # a second raster: the families that differ by quantity, and one broken file
                fams = [f for f in fams if f not in ("fill", "truncated", "dn", "x40")]
            if key in s.get("series", []):
                fams += ["single_date", "dup_date"]
            elif key in s.get("dated", []):
                fams += ["dup_date"]
            if len([k for k in s.get("r", {})]) + len(s.get("v", {})) > 1 or key in s.get("dated", []):
                fams += ["far"]
            if alg in ("icechartclasses", "polratio") and not n_key:
                fams += ["nocrs"]
            for fam in fams:
                src_val = first_value(p0, key)
                add(name, f"raster:{key}:{fam}", p0, prep=("raster", key, kind, fam, src_val),
                    expect="any" if fam in ("nocrs",) else "refuse", names=[f"({key})"])
        # vectors
        for key, field in s.get("v", {}).items():
            fams = ["empty", "nogeom", "nofield", "zero"]
            if s.get("r"):
                fams.append("far")
            if alg in ("calibratewatercloud", "calibratevegetationcd", "trainannmoisture", "regressmoisture",
                       "validatemoisture"):
                fams.remove("nogeom")   # attribute tables are fine there
            if field is None and "nofield" in fams:
                fams.remove("nofield")
            for fam in fams:
                add(name, f"vector:{key}:{fam}", p0, prep=("vector", key, field, fam, first_value(p0, key)),
                    expect="refuse", names=[f"({key})", f"({field})" if field else f"({key})"])
        # files
        for key, kind in s.get("f", {}).items():
            fams = ["zero", "truncated", "garbage"]
            if kind == "safe":
                fams += ["meas_zero", "meas_small", "no_annotation"]
            if kind == "ismn":
                fams = ["na_value", "cp1252", "bad_date", "empty_dir", "header_only", "no_locations",
                        "zero_values"]
            if kind == "csv":
                fams = ["zero", "truncated", "garbage"]
            src_val = first_value(p0, key)
            if src_val is None:
                src_val = {"onnx": "@despeckle_onnx", "json": "@wcm_json"}.get(kind)
            for fam in fams:
                add(name, f"file:{key}:{fam}", p0, prep=("file", key, kind, fam, src_val),
                    expect="refuse" if fam != "garbage" or kind != "csv" else "refuse", names=[f"({key})"])
        # OUTPUT = an input
        outs = [k for k, v in p0 if isinstance(v, str) and v.startswith("OUT:")]
        ins = [k for k, v in p0 if isinstance(v, str) and v.startswith("@")]
        for ok in outs[:1]:
            for ik in dict.fromkeys(ins):
                add(name, f"out_is_in:{ok}={ik}", p0, prep=("outin", ok, ik), expect="refuse",
                    names=[f"({ok})", f"({ik})"])
        # numbers at their extremes
        for key, vals in list(s.get("nums", {}).items())[:2]:
            for v in vals[:1]:
                add(name, f"num:{key}={v}", replace(p0, key, v), expect="any", names=[f"({key})"])
        for lo, hi, vlo, vhi in s.get("minmax", []):
            add(name, f"minmax:{lo}>{hi}", replace(replace(p0, lo, vlo), hi, vhi), expect="refuse",
                names=[f"({lo})", f"({hi})"])
        if s.get("sigterm"):
            add(name, "sigterm", p0, expect="cancel", sigterm=True)
    # cases the specs do not express
    add("changedetection", "raster:SSM_MIN_RASTER>SSM_MAX_RASTER",
        p0_with(SPECS["changedetection"]["p"], ("SSM_MIN_RASTER", "CASE:hi.tif"), ("SSM_MAX_RASTER", "CASE:lo.tif")),
        prep=("constant", {"hi.tif": 0.4, "lo.tif": 0.05}, "@vv"), expect="refuse",
        names=["(SSM_MIN_RASTER)", "(SSM_MAX_RASTER)"])
    add("importismn", "flags_nothing", replace(SPECS["importismn"]["p"], "FLAGS", "Z"), expect="refuse",
        names=["(FLAGS)"])
    add("importismn", "missing_folder", replace(SPECS["importismn"]["p"], "INPUT", "/nonexistent/ismn"),
        expect="refuse", names=["(INPUT)"])
    add("extractstations", "duplicate_date_raster", SPECS["extractstations"]["p"],
        prep=("raster", "RASTERS", "ssm", "dup_date", "@ssm"), expect="refuse", names=["(RASTERS)"])
    add("importsentinel1", "extent_far", replace(SPECS["importsentinel1"]["p"], "EXTENT",
                                                 "1000000,1001000,1000000,1001000 [EPSG:32631]"),
        expect="refuse", names=["(EXTENT)"])
    add("lstsuperresolution", "band_scale_wrong", SPECS["lstsuperresolution"]["p"],
        prep=("scale", "INPUT", 10.0, "@lst"), expect="refuse", names=["(INPUT)"])
    add("imagequality", "estimate_celsius", SPECS["imagequality"]["p"],
        prep=("raster", "ESTIMATE", "lst", "units", "@lst_est"), expect="refuse", names=["(ESTIMATE)"])
    add("seaiceskill", "predicted_is_percent", replace(SPECS["seaiceskill"]["p"], "PREDICTED", "@sic_percent"),
        expect="refuse", names=["(PREDICTED)"])
    add("ndvi", "red_eq_nir_zero", SPECS["ndvi"]["p"], prep=("constant", {"red.tif": 0.0}, "@olinda", "RED"),
        expect="refuse", names=["(RED)"])
    add("ndvi", "negative_reflectance", SPECS["ndvi"]["p"], prep=("constant", {"red.tif": -0.2}, "@olinda", "RED"),
        expect="refuse", names=["(RED)"])
    add("despeckle", "amplitude_dn_default_units", drop(SPECS["despeckle"]["p"], "INPUT_UNITS"),
        prep=("raster", "INPUT", "db", "dn", "@sample_db"), expect="refuse", names=["(INPUT)"])
    add("icechartclasses", "reference_far", SPECS["icechartclasses"]["p"],
        prep=("raster", "REFERENCE", "sic_class", "far", "@sic"), expect="refuse", names=["(REFERENCE)", "(CHART)"])
    add("vegetationcd", "v1_range_2.5_5", SPECS["vegetationcd"]["p"],
        prep=("raster", "V1", "ndvi", "range", "@ndvi_stack"), expect="refuse", names=["(V1)"])
    add("regressmoisture", "raster_linear", SPECS["regressmoisture"]["p"],
        prep=("raster", "RASTER", "db", "units", "@vv"), expect="refuse", names=["(RASTER)"])
    add("applymodel", "model_inf", SPECS["applymodel"]["p"], prep=("infmodel",), expect="refuse",
        names=["(MODEL)", "non-finite", "inf"])
    add("buildstack", "single_input", replace(SPECS["buildstack"]["p"], "INPUTS", "@sample_db", first_only=False),
        expect="any")
    add("buildstack", "mixed_crs", SPECS["buildstack"]["p"], prep=("raster", "INPUTS", "db", "nocrs", "@bolivia"),
        expect="refuse", names=["(INPUTS)"])
    for i, c in enumerate(cases):
        c.id = f"{i:03d}_{c.alg}_{re.sub(r'[^A-Za-z0-9_.=>-]+', '_', c.family)}"[:90]
    return cases


def first_value(params, key):
    """The first value of ``key`` (a multiple-layer parameter repeats its key), or None."""
    return next((v for k, v in params if k == key), None)


def p0_with(params, *extra):
    return list(params) + list(extra)


# ----------------------------------------------------------------------------------------------------------------
# making a case's bad inputs
def _first(b, v):
    v = b[v[1:]] if isinstance(v, str) and v.startswith("@") else v
    return v[0] if isinstance(v, list) else v


def make_inputs(case, b, cdir):
    """The case's parameters with its bad inputs written into ``cdir/in``; None where the family does not apply."""
    params = expand(case.params, b, cdir)
    params = [(k, str(cdir / "in" / v[5:]) if isinstance(v, str) and v.startswith("CASE:") else v)
              for k, v in params]
    indir = cdir / "in"
    prep = case.prep
    if prep is None:
        return params
    what = prep[0]
    if what == "raster":
        _, key, kind, fam, src = prep
        src = _first(b, src)
        ext = ".tif"
        dst = bad_raster(kind, fam, src, indir / f"{Path(src).stem}_{fam}{ext}")
        if dst is None:
            return None
        return _swap_first(params, key, dst)
    if what == "vector":
        _, key, field, fam, src = prep
        src = _first(b, src)
        dst = bad_vector(fam, src, indir / f"{Path(src).stem}_{fam}.gpkg", field)
        return _swap_first(params, key, dst)
    if what == "file":
        _, key, kind, fam, src = prep
        src = _first(b, src)
        if kind == "safe":
            dst = bad_safe(fam, src, indir)
        elif kind == "ismn":
            dst = bad_ismn(fam, src, indir)
        else:
            dst = bad_file(fam, src, indir / f"{Path(src).stem}_{fam}{Path(src).suffix}")
        if dst is None:
            return None
        return _swap_first(params, key, dst)
    if what == "outin":
        _, ok, ik = prep
        src = first_value(params, ik)
        copy = indir / Path(src).name
        if os.path.isdir(src):
            shutil.copytree(src, copy)
        else:
            shutil.copy2(src, copy)
            for side in (".aux.xml",):
                if os.path.exists(src + side):
                    shutil.copy2(src + side, str(copy) + side)
        params = _swap_first(params, ik, str(copy))
        return replace(params, ok, str(copy))
    if what == "constant":
        consts, like = prep[1], _first(b, prep[2])
        ds, arr = read(like)
        for name, value in consts.items():
            write_like(like, indir / name, np.full(arr.shape[1:] if len(prep) < 4 else arr.shape, value))
        if len(prep) >= 4:      # replace a key with the (single) constant raster; NIR stays the other band
            key = prep[3]
            name = next(iter(consts))
            params = _swap_first(params, key, str(indir / name))
            if key == "RED":
                params = replace(replace(params, "RED_BAND", 1), "NIR", str(indir / name))
                params = replace(params, "NIR_BAND", 2 if arr.shape[0] > 1 else 1)
        return params
    if what == "scale":
        _, key, scale, src = prep
        src = _first(b, src)
        dst = indir / "scaled.tif"
        ds, arr, valid = masked(src)
        write_like(src, dst, np.where(valid, arr / 0.02, 0), dtype=gdal.GDT_UInt16, nodata=0)
        d = gdal.Open(str(dst), gdal.GA_Update)
        d.GetRasterBand(1).SetScale(0.02 * scale)
        d.GetRasterBand(1).SetOffset(0.0)
        d = None
        return _swap_first(params, key, str(dst))
    if what == "infmodel":
        dst = indir / "inf.onnx"
        if not make_inf_model(dst):
            return None
        return replace(params, "MODEL", str(dst))
    return params


def _swap_first(params, key, value):
    return replace(params, key, value, first_only=True)


def bad_safe(fam, src, indir):
    """A SAFE zip made bad: 0-byte or truncated zip, 0-byte or too-small measurement TIFF, no annotation."""
    dst = indir / Path(src).name
    if fam == "zero":
        return zero(dst)
    if fam == "truncated":
        return truncate(src, dst, 0.5)
    if fam == "garbage":
        return bad_file("garbage", src, dst)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            low = item.filename.lower()
            if "/measurement/" in low and low.endswith((".tif", ".tiff")):
                if fam == "meas_zero":
                    data = b""
                elif fam == "meas_small":
                    tmp = indir / "small.tif"
                    d = gdal.GetDriverByName("GTiff").Create(str(tmp), 100, 100, 1, gdal.GDT_UInt16)
                    d.GetRasterBand(1).WriteArray(np.full((100, 100), 200, np.uint16))
                    d = None
                    data = tmp.read_bytes()
                    tmp.unlink()
            if fam == "no_annotation" and "/annotation/" in low and "calibration" not in low and \
                    "noise" not in low and low.endswith(".xml"):
                continue
            zout.writestr(item, data)
    return str(dst)


def bad_ismn(fam, src, indir):
    """A copy of the Raam station folder made bad."""
    dst = indir / "ismn"
    shutil.copytree(src, dst)
    values = dst / "raam_daily_5cm.csv"
    locs = dst / "Raam_station_locations_WGS84.csv"
    lines = values.read_text(encoding="utf-8").splitlines()
    if fam == "na_value":
        parts = lines[5].split(",")
        parts[-1] = "n/a"
        lines[5] = ",".join(parts)
        values.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fam == "cp1252":
        text = locs.read_text(encoding="utf-8").splitlines()
        text[1] = text[1].replace(text[1].split(",")[0], text[1].split(",")[0] + "é", 1)
        locs.write_bytes(("\n".join(text) + "\n").encode("cp1252"))
    elif fam == "bad_date":
        parts = lines[7].split(",")
        idx = next(i for i, x in enumerate(parts) if re.match(r"\d{4}-\d\d-\d\d", x))
        parts[idx] = "2016-13-45"
        lines[7] = ",".join(parts)
        values.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fam == "empty_dir":
        shutil.rmtree(dst)
        dst.mkdir()
    elif fam == "header_only":
        values.write_text(lines[0] + "\n", encoding="utf-8")
    elif fam == "no_locations":
        locs.unlink()
    elif fam == "zero_values":
        values.write_bytes(b"")
    return str(dst)


def make_inf_model(dst):
    """A 1-in 1-out ONNX model with the bundled despeckle model's contract that returns +inf (x / 0)."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:       # QGIS's Python lacks onnx: make it with the plugin's own packages
        deps = os.environ.get("SARSENSE_DEPS_DIR", "")
        if not deps or os.environ.get("SWEEP_NO_RETRY"):
            return False
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ.get("PYTHONPATH", ""), deps]),
                   SWEEP_NO_RETRY="1")
        code = f"import sys; sys.argv=['x']; from pathlib import Path; import runpy; " \
               f"m = runpy.run_path({__file__!r}); print(m['make_inf_model'](Path({str(dst)!r})))"
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        return res.stdout.strip().endswith("True")
    from sarsense.algorithms import onnx as rt
    src = onnx.load(str(Path(rt.BUNDLED_MODELS_DIR) / "s1_despeckle_example.onnx"))
    inp, out = src.graph.input[0], src.graph.output[0]
    zero_c = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    one_c = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [helper.make_node("Constant", [], ["z"], value=zero_c),
             helper.make_node("Constant", [], ["o"], value=one_c),
             helper.make_node("Mul", [inp.name, "z"], ["x0"]), helper.make_node("Add", ["x0", "o"], ["x1"]),
             helper.make_node("Div", ["x1", "z"], [out.name])]
    graph = helper.make_graph(nodes, "inf", [inp], [out])
    model = helper.make_model(graph, opset_imports=src.opset_import)
    model.ir_version = src.ir_version
    for p in src.metadata_props:
        model.metadata_props.add(key=p.key, value=p.value)
    onnx.save(model, str(dst))
    return True


# ----------------------------------------------------------------------------------------------------------------
# running and classifying one case
def _files(folder):
    out = []
    for base, _, names in os.walk(folder):
        out.extend(os.path.join(base, n) for n in names)
    return sorted(out)


def ours(tmp):
    """Files in a case's TMPDIR that SARSense (not QGIS, Qt or onnxruntime) made."""
    return [f for f in _files(tmp) if "runtime" not in f and (
        "sarsense" in os.path.basename(f).lower() or f.endswith((".tif", ".partial", ".npz", ".onnx", ".gpkg",
                                                                   ".csv", ".vrt", ".npy")))]


def input_files(params, cdir):
    """Every existing input file (outputs excluded), folders walked."""
    outdir = str(cdir / "out")
    seen = []
    for _, v in params:
        v = str(v)
        if v.startswith(outdir):
            continue
        if os.path.isdir(v):
            seen.extend(_files(v))
        elif os.path.isfile(v):
            seen.append(v)
    return sorted(set(seen))


def check_output(path, quantity):
    """Problems with an output of a successful run."""
    probs = []
    if not os.path.exists(path):
        return [f"{os.path.basename(path)} missing"]
    low = path.lower()
    if low.endswith((".csv", ".gpkg", ".shp", ".geojson")) or quantity == "table":
        try:
            ds = ogr.Open(path)
            n = ds.GetLayer(0).GetFeatureCount() if ds and ds.GetLayerCount() else 0
        except Exception as exc:  # report it, do not stop the sweep
            return [f"{os.path.basename(path)} unreadable: {exc}"]
        if n == 0:
            probs.append(f"{os.path.basename(path)} is an empty table")
        return probs
    if not low.endswith((".tif", ".tiff", ".vrt")):
        return probs
    try:
        ds = gdal.Open(path)
    except Exception as exc:  # report it, do not stop the sweep
        return [f"{os.path.basename(path)} unreadable: {exc}"]
    empty = []
    lo_hi = RANGES.get(quantity)
    bad_range = []
    for i in range(ds.RasterCount):
        band = ds.GetRasterBand(i + 1)
        a = band.ReadAsArray().astype(np.float64)
        scale, offset = band.GetScale() or 1.0, band.GetOffset() or 0.0
        nd = band.GetNoDataValue()
        valid = np.isfinite(a) if nd is None or np.isnan(nd) else (a != nd) & np.isfinite(a)
        if not valid.any():
            empty.append(i + 1)
            continue
        v = a[valid] * scale + offset
        if lo_hi and (v.min() < lo_hi[0] - 1e-6 or v.max() > lo_hi[1] + 1e-6):
            bad_range.append(f"band {i + 1}: {v.min():.4g}..{v.max():.4g}")
    if empty and len(empty) == ds.RasterCount:
        probs.append(f"{os.path.basename(path)}: every band all NaN/nodata")
    elif empty:
        probs.append(f"{os.path.basename(path)}: bands {empty[:8]} of {ds.RasterCount} all NaN/nodata")
    if bad_range:
        probs.append(f"{os.path.basename(path)} outside {quantity} range {lo_hi}: {'; '.join(bad_range[:3])}")
    return probs


NOISE = ("QGIS version", "QGIS code", "Qt version", "Python version", "GDAL version", "GEOS version", "PROJ version",
         "PDAL version", "Algorithm:", "Input parameters", "Results", "Running", "_", "{", "QStandardPaths:",
         "<string>:1: DeprecationWarning")


def message_of(text):
    """The run's own lines: qgis_process's banner, its JSON document and Qt's noise dropped."""
    if "{" in text and text.lstrip().startswith("{"):
        depth, end = 0, 0
        for i, ch in enumerate(text):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0 and ch == "}":
                end = i + 1
                break
        text = text[end:]
    keep = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(NOISE)]
    return "\n".join(dict.fromkeys(keep))[-1500:]


def run_case(case, b, work, timeout):
    cdir = work / "cases" / case.id
    if cdir.exists():
        shutil.rmtree(cdir)
    for sub in ("in", "out", "tmp", "home"):
        (cdir / sub).mkdir(parents=True)
    rec = {"id": case.id, "alg": case.alg, "family": case.family, "expect": case.expect}
    try:
        params = make_inputs(case, b, cdir)
    except Exception as exc:  # report it, do not stop the sweep
        rec.update(cls="SKIPPED", note=f"could not make inputs: {type(exc).__name__}: {exc}")
        return rec
    if params is None:
        rec.update(cls="SKIPPED", note="family does not apply")
        return rec
    cmd = argv(case.alg, params)
    rec["cmd"] = " ".join(shlex.quote(str(x)) for x in cmd[3:])
    ins = input_files(params, cdir)
    before = {f: sha(f) for f in ins}
    beside = {os.path.dirname(f) for f in ins}
    before_beside = {d: set(os.listdir(d)) for d in beside}
    env = qp_env(cdir / "tmp")
    home = cdir / "home"
    profile = Path(os.environ["HOME"]) / ".local" / "share" / "QGIS"
    if profile.exists():
        shutil.copytree(profile, home / ".local" / "share" / "QGIS", dirs_exist_ok=True)
    env["HOME"] = str(home)
    t0 = time.time()
    killed = False
    if case.sigterm:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        base_s = case.base_seconds or 20.0
        deadline = t0 + max(4.0, 0.6 * base_s)
        while time.time() < deadline and proc.poll() is None:
            if _files(cdir / "out") or ours(cdir / "tmp"):
                time.sleep(0.3)
                break
            time.sleep(0.1)
        if proc.poll() is None:
            # SIGTERM to qgis_process itself (not nice): the child of `nice` is the same process (exec)
            os.kill(proc.pid, signal.SIGTERM)
            killed = True
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        rc = proc.returncode
    else:
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
            rc, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = -999, str(exc.stdout or ""), str(exc.stderr or "")
    rec["seconds"] = round(time.time() - t0, 1)
    rec["rc"] = rc
    text = (out or "") + "\n" + (err or "")
    rec["message"] = message_of((out or "") + "\n" + (err or "")) if rc else message_of(err or "")
    doc = None
    if rc == 0 and "{" in (out or ""):
        try:
            doc = json.loads(out[out.index("{"):])
        except ValueError:
            doc = None
    warnings = [ln for ln in message_of(err or "").splitlines() if ln.strip()]
    rec["warnings"] = warnings[:6]
    # classification, worst first
    notes = []
    changed = [f for f in ins if not os.path.exists(f) or sha(f) != before[f]]
    new_beside = []
    for d in beside:
        new = set(os.listdir(d)) - before_beside[d]
        stems = {Path(f).name for f in ins}
        new_beside += [os.path.join(d, n) for n in new if (any(n.startswith(s) for s in stems) and
                                                            n.endswith(".aux.xml")) or "sarsense" in n.lower()
                       or n.endswith(".partial")]
    left = []
    if rc != 0:
        left = _files(cdir / "out") + ours(cdir / "tmp")
        if case.family.startswith("out_is_in"):
            left += [f for f in _files(cdir / "in") if f not in before and not f.endswith(".aux.xml")]
    else:
        left = ours(cdir / "tmp")
    garbage = []
    if rc == 0 and not killed:
        results = (doc or {}).get("results", {})
        for k, q in SPECS[case.spec].get("o", {}).items():
            v = results.get(k.split(":")[0]) or results.get(k)
            if isinstance(v, str) and v:
                garbage += check_output(v, q)
        if case.expect == "refuse":
            garbage.append("bad input accepted (rc 0)" + (f"; warned: {warnings[0][:200]}" if warnings else
                                                          ", no warning"))
    aux = [f for f in new_beside if f.endswith(".aux.xml")]
    new_beside = [f for f in new_beside if f not in aux]
    if aux:     # QGIS's own raster loading writes GDAL statistics beside any input (gdal:translate does too)
        notes.append("statistics .aux.xml written beside input (QGIS raster loading): "
                     + ", ".join(os.path.basename(f) for f in aux))
    if "Traceback" in text:
        cls = "TRACEBACK"
        tb = text[text.index("Traceback"):]
        notes.append(tb[-600:])
    elif changed or new_beside:
        cls = "MODIFIED"
        notes.append("changed: " + ", ".join(changed + new_beside))
    elif left and (rc != 0 or killed):
        cls = "LEFTOVER"
        notes.append("left: " + ", ".join(os.path.relpath(f, cdir) for f in left))
    elif rc == 0 and garbage and not killed:
        cls = "GARBAGE"
        notes += garbage
    elif rc != 0:
        msg = rec["message"]
        raw = [r for r in RAW_PYTHON if r in msg]
        named = any(n in msg for n in case.names) if case.names else True
        named = named or any(Path(str(v)).name in msg for _, v in params if os.path.exists(str(v)))
        if killed:
            cls = "OK_REFUSED"
            notes.append("cancelled by SIGTERM, nothing left")
        elif rc == -999:
            cls = "UNCLEAR"
            notes.append(f"timed out after {timeout} s")
        elif raw or not named:
            cls = "UNCLEAR"
            notes.append(("raw Python text: " + ", ".join(raw)) if raw else
                         f"names none of {case.names} nor the input file")
        else:
            cls = "OK_REFUSED"
    else:
        cls = "OK_RESULT"
        if left:
            notes.append("tmp files left after success: " + ", ".join(os.path.relpath(f, cdir) for f in left))
            cls = "LEFTOVER"
        if killed:
            notes.append("SIGTERM sent but rc 0")
        elif case.sigterm:
            notes.append("finished before SIGTERM")
    rec["cls"] = cls
    rec["note"] = " | ".join(notes)[:1500]
    if cls in ("OK_REFUSED", "OK_RESULT") and not os.environ.get("SWEEP_KEEP"):
        shutil.rmtree(cdir, ignore_errors=True)
    return rec


# ----------------------------------------------------------------------------------------------------------------
# report
def report(records, work, started):
    by_alg = {}
    for r in records:
        by_alg.setdefault(r["alg"], {}).setdefault(r["cls"], []).append(r)
    totals = {c: sum(1 for r in records if r["cls"] == c) for c in [*CLASSES, "SKIPPED"]}
    doc = {"started": started, "finished": dt.datetime.utcnow().isoformat(timespec="seconds") + "Z",
           "n_cases": len(records), "totals": totals, "cases": records}
    (work / "report.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"# Bad-input sweep ({len(records)} cases, {doc['started']} → {doc['finished']})", "",
             "| class | n |", "|---|---|"] + [f"| {c} | {n} |" for c, n in totals.items()] + ["",
             "## Per algorithm", "", "| algorithm | " + " | ".join(CLASSES) + " | SKIPPED |",
             "|---" * (len(CLASSES) + 2) + "|"]
    for alg in sorted(by_alg):
        lines.append(f"| {alg} | " + " | ".join(str(len(by_alg[alg].get(c, []))) for c in [*CLASSES, "SKIPPED"])
                     + " |")
    lines += ["", "## Defects", ""]
    for c in CLASSES[:5]:
        hits = [r for r in records if r["cls"] == c]
        if not hits:
            continue
        lines += [f"### {c} ({len(hits)})", ""]
        for r in sorted(hits, key=lambda r: (r["alg"], r["family"])):
            lines += [f"- **{r['alg']}** `{r['family']}` rc {r.get('rc')}: {r.get('note', '')[:600]}",
                      f"  - message: {r.get('message', '')[-400:]!r}", f"  - `{r.get('cmd', '')}`"]
        lines.append("")
    skipped = [r for r in records if r["cls"] == "SKIPPED"]
    if skipped:
        lines += ["### SKIPPED", ""] + [f"- {r['alg']} `{r['family']}`: {r['note']}" for r in skipped]
    (work / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/sarsense_sweep", type=Path)
    ap.add_argument("--jobs", default=2, type=int)
    ap.add_argument("--only", default="", help="algorithms (comma-separated)")
    ap.add_argument("--family", default="", help="family prefixes (comma-separated)")
    ap.add_argument("--timeout", default=300, type=int)
    ap.add_argument("--ids", default="", help="case numbers to run (comma-separated, e.g. 012,278)")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.utcnow().isoformat(timespec="seconds") + "Z"
    b = prepare(work)
    cases = build_cases(b, work)
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in cases if c.alg in keep or c.spec in keep]
    if args.family:
        pre = tuple(args.family.split(","))
        cases = [c for c in cases if c.family.startswith(pre)]
    if args.ids:
        keep = set(args.ids.split(","))
        cases = [c for c in cases if c.id.split("_")[0] in keep]
    if args.list:
        for c in cases:
            print(c.id)
        print(len(cases), "cases")
        return 0
    # baselines first (their times size the SIGTERM delay)
    base_s = {}
    records = []
    for c in cases:
        c.base_seconds = None
    first = [c for c in cases if c.family == "baseline"]
    order = ("sigterm", "file:", "vector:", "minmax:", "raster:", "out_is_in:", "num:")   # the issue's examples first
    rest = sorted((c for c in cases if c.family != "baseline"),
                  key=lambda c: next((i + 1 for i, f in enumerate(order) if c.family.startswith(f)), 0))
    for aux in (work / "base").rglob("*.aux.xml"):      # statistics GDAL wrote: gone, so new ones show
        text = aux.read_text(errors="replace")
        keys = re.findall(r'<MDI key="([^"]+)"', text)
        if keys and all(k.startswith("STATISTICS_") for k in keys) and "Description" not in text:
            aux.unlink()

    def go(c):
        c.base_seconds = base_s.get(c.spec)
        r = run_case(c, b, work, args.timeout)
        print(f"{r['cls']:10s} {r.get('seconds', 0):6.1f}s {c.id}", flush=True)
        return r

    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for c, r in zip(first, pool.map(go, first)):
            base_s[c.spec] = r.get("seconds", 20.0)
            records.append(r)
        for r in pool.map(go, rest):
            records.append(r)
            if len(records) % 10 == 0 and not args.ids:
                report(records, work, started)
    if args.ids and (work / "report.json").exists():     # a rerun of some cases: merged into the last report
        old = json.loads((work / "report.json").read_text(encoding="utf-8"))
        again = {r["id"] for r in records}
        records = [r for r in old["cases"] if r["id"] not in again] + records
        started = old["started"]
    report(records, work, started)
    print(json.dumps({c: sum(1 for r in records if r["cls"] == c) for c in [*CLASSES, "SKIPPED"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
