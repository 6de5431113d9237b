"""Frozen soil and snow (issue #29) through qgis_process.bin --json: without a temperature the frozen dates are the
driest and set the dry reference (and the log says they are not screened); with TEMPERATURE (a CSV of daily air
temperature, or a dated raster stack) they are NaN, flagged and counted; a CSV that is no temperature is refused."""

import datetime as dt
import json

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, ok, refused, run_json

pytestmark = needs_qgis_process
DATES = [(dt.date(2018, 11, 2) + dt.timedelta(days=6 * i)).isoformat() for i in range(12)]
FROZEN = (4, 7)            # a −3.4 °C day and a snow day
NOT_SCREENED = "Frozen soil and snow are not screened"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A winter VV series in dB (frozen dates 3 dB below their unfrozen value, the driest of the series) and an
    ERA5-like hourly 2 m temperature CSV in K."""
    tmp = tmp_path_factory.mktemp("frozen")
    rng = np.random.default_rng(3)
    vv = -12.0 + 1.5 * np.sin(np.arange(len(DATES)))
    vv[list(FROZEN)] -= 3.0 + vv[list(FROZEN)] - vv.min()
    stack = (vv[:, None, None] + 0.05 * rng.standard_normal((len(DATES), 6, 6))).astype(np.float32)
    path = write_raster(tmp / "vv_db.tif", stack, descriptions=DATES)
    temp = [4.0 if i not in FROZEN else (-3.4 if i == FROZEN[0] else -1.2) for i in range(len(DATES))]
    rows = ["time,t2m [K]"] + [f"{d} {h:02d}:00:00,{t + 273.15 + dh:.2f}" for d, t in zip(DATES, temp)
                               for h, dh in ((0, -1.0), (12, 1.0))]
    (tmp / "t2m.csv").write_text("\n".join(rows) + "\n")
    return {"tmp": tmp, "vv": path, "csv": str(tmp / "t2m.csv"), "vv_values": stack}


def log_text(out):
    return json.dumps(out["log"], ensure_ascii=False)


def test_without_temperature_frozen_dates_set_the_dry_reference_and_the_log_says_so(env, site):
    t = site["tmp"]
    out = run_json(env, "changedetection", f"--INPUT={site['vv']}", f"--OUTPUT_INDEX={t / 'i0.tif'}",
                   f"--OUTPUT_SSM={t / 's0.tif'}")
    assert NOT_SCREENED in log_text(out) and "FROZEN_COUNT" not in out["results"]
    ssm = np.nanmean(read_raster(t / "s0.tif"), axis=(1, 2))
    assert sorted(np.argsort(ssm)[:2]) == list(FROZEN) and ssm[list(FROZEN)].min() == pytest.approx(0.05, abs=0.01)
    assert "not screened" in gdal.Open(str(t / "s0.tif")).GetMetadataItem("FROZEN_SCREEN")


def test_csv_temperature_screens_frozen_dates_flags_and_counts_them(env, site):
    t = site["tmp"]
    out = run_json(env, "changedetection", f"--INPUT={site['vv']}", f"--TEMPERATURE={site['csv']}",
                   f"--OUTPUT_INDEX={t / 'i1.tif'}", f"--OUTPUT_SSM={t / 's1.tif'}",
                   f"--OUTPUT_FROZEN={t / 'flags.tif'}")
    res, log = out["results"], log_text(out)
    assert res["FROZEN_COUNT"] == 2 * 36 and res["OUTPUT_FROZEN"] == str(t / "flags.tif")
    assert NOT_SCREENED not in log and "2 of 12 dates frozen" in log and DATES[FROZEN[0]] in log
    assert "column 't2m [K]' (K, 24 rows, 12 days)" in log
    ssm = read_raster(t / "s1.tif")
    assert np.isnan(ssm[list(FROZEN)]).all() and np.isfinite(np.delete(ssm, FROZEN, axis=0)).all()
    # the dry reference is the driest unfrozen date now
    driest = int(np.argmin(np.delete(site["vv_values"].mean(axis=(1, 2)), FROZEN)))
    driest = [i for i in range(len(DATES)) if i not in FROZEN][driest]
    kept = np.delete(ssm, FROZEN, axis=0).mean(axis=(1, 2))
    assert ssm[driest].mean() < 0.07 and kept.min() > 0.049
    flags = read_raster(t / "flags.tif")
    assert flags[:, 0, 0].tolist() == [1 if i in FROZEN else 0 for i in range(len(DATES))]
    assert "t2m.csv" in gdal.Open(str(t / "s1.tif")).GetMetadataItem("FROZEN_SCREEN")


def test_raster_temperature_on_another_grid_screens_per_pixel(env, site):
    t = site["tmp"]
    # a 60 m °C stack over the 20 m VV grid, without the last date; day FROZEN[0] frozen on the left half only
    temp = np.full((len(DATES) - 1, 2, 2), 5.0, np.float32)
    temp[FROZEN[0], :, 0] = -4.0
    tpath = write_raster(t / "t_c.tif", temp, gt=(600000.0, 60.0, 0.0, 4800000.0, 0.0, -60.0),
                         descriptions=DATES[:-1])
    out = run_json(env, "vegetationcd", f"--VV={site['vv']}", f"--V1={site['vv']}", "--ALPHA=20", "--BETA=0",
                   f"--TEMPERATURE={tpath}", f"--OUTPUT={t / 'v.tif'}", f"--OUTPUT_FROZEN={t / 'vflags.tif'}")
    log = log_text(out)
    assert "no temperature on 1 of 12 dates" in log and DATES[-1] in log and "in °C" in log
    ssm, flags = read_raster(t / "v.tif"), read_raster(t / "vflags.tif")
    assert np.isnan(ssm[FROZEN[0], :, :3]).all() and np.isfinite(ssm[FROZEN[0], :, 3:]).all()
    assert (flags[-1] == 255).all() and (flags[FROZEN[0], :, :3] == 1).all() and (flags[FROZEN[1]] == 0).all()
    assert out["results"]["FROZEN_COUNT"] == 18


@pytest.mark.parametrize("text, match", [
    ("t2m,u10\n271.1,2.0\n272.3,3.1\n", "has no date column"),
    ("date,t2m\n2018-11-02,-9999\n2018-11-08,-9999\n", "no air or surface temperature"),
    ("date,station\n2018-11-02,uccle\n2018-11-08,uccle\n", "no numeric temperature column"),
])
def test_a_csv_that_is_no_temperature_is_refused_before_any_output(env, site, text, match):
    t = site["tmp"]
    bad = t / "bad.csv"
    bad.write_text(text)
    refused(env, "changedetection", f"--INPUT={site['vv']}", f"--TEMPERATURE={bad}", f"--OUTPUT_INDEX={t / 'ib.tif'}",
            f"--OUTPUT_SSM={t / 'sb.tif'}", match=("Temperature", "(TEMPERATURE)", match))
    assert not (t / "sb.tif").exists()
    refused(env, "changedetection", f"--INPUT={site['vv']}", f"--TEMPERATURE={t / 'none.csv'}",
            f"--OUTPUT_INDEX={t / 'ib.tif'}", f"--OUTPUT_SSM={t / 'sb.tif'}", match="does not exist")


def test_the_threshold_is_a_parameter(env, site):
    t = site["tmp"]
    res = ok(env, "changedetection", f"--INPUT={site['vv']}", f"--TEMPERATURE={site['csv']}", "--FROZEN_BELOW=-2",
             f"--OUTPUT_INDEX={t / 'i2.tif'}", f"--OUTPUT_SSM={t / 's2.tif'}")
    assert res["FROZEN_COUNT"] == 36      # only the −3.4 °C day is below −2 °C


def samples_layer(path, frozen_dates):
    """Station samples that follow eq. 7 exactly (α = 25, β = 10, V1 = NDVI), VV 3 dB darker on frozen dates."""
    from osgeo import ogr, osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    for name, kind in (("station", ogr.OFTString), ("date", ogr.OFTString), ("VV", ogr.OFTReal),
                       ("NDVI", ogr.OFTReal), ("ssm_insitu", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    rng = np.random.default_rng(5)
    for k, station in enumerate(("A", "B")):
        ssm = 0.1 + 0.25 * rng.random(len(DATES))
        ssm[::3] = 0.1                           # the driest value on several dates: in any training split
        ndvi = 0.2 + 0.5 * rng.random(len(DATES))
        vv = -14.0 + k + (25.0 - 10.0 * ndvi) * (ssm - 0.1)
        for i, d in enumerate(DATES):
            f = ogr.Feature(layer.GetLayerDefn())
            for name, v in (("station", station), ("date", d), ("NDVI", float(ndvi[i])), ("ssm_insitu", float(ssm[i])),
                            ("VV", float(vv[i] - (3.0 if d in frozen_dates else 0.0)))):
                f.SetField(name, v)
            f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({4 + k} 50)"))
            layer.CreateFeature(f)
    ds = None
    return str(path)


def test_calibration_leaves_frozen_samples_out_of_the_fit(env, site):
    t = site["tmp"]
    smp = samples_layer(t / "samples.gpkg", {DATES[i] for i in FROZEN})
    args = (f"--SAMPLES={smp}", "--TRAIN_FRACTION=0.8")
    plain = run_json(env, "calibratevegetationcd", *args, f"--OUTPUT_PARAMS={t / 'p0.json'}",
                     f"--OUTPUT_HTML={t / 'p0.html'}")
    assert NOT_SCREENED in log_text(plain)
    out = run_json(env, "calibratevegetationcd", *args, f"--TEMPERATURE={site['csv']}",
                   f"--OUTPUT_PARAMS={t / 'p1.json'}", f"--OUTPUT_HTML={t / 'p1.html'}")
    res, params = out["results"], json.loads((t / "p1.json").read_text())
    assert res["FROZEN_COUNT"] == 4 and "4 station sample(s) screened as frozen" in log_text(out)
    # frozen samples made σVV_min 3 dB too low and the fit wrong; without them eq. 7 is recovered exactly
    assert params["fit_residual_db"] < 0.01 < json.loads((t / "p0.json").read_text())["fit_residual_db"]
    assert res["ALPHA"] == pytest.approx(25.0, rel=1e-3) and res["BETA"] == pytest.approx(10.0, rel=1e-2)
    assert "t2m.csv" in params["FROZEN_SCREEN"]
    raster = write_raster(t / "t_samples.tif", np.zeros((2, 2, 2), np.float32), descriptions=DATES[:2])
    refused(env, "calibratevegetationcd", *args, f"--TEMPERATURE={raster}", f"--OUTPUT_PARAMS={t / 'p2.json'}",
            f"--OUTPUT_HTML={t / 'p2.html'}", match=("(TEMPERATURE)", "is not a CSV", "station samples"))


def test_the_network_map_writes_nan_on_frozen_dates(env, site):
    t = site["tmp"]
    smp = samples_layer(t / "samples_ann.gpkg", set())
    model = ok(env, "trainannmoisture", f"--SAMPLES={smp}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=1",
               f"--OUTPUT_MODEL={t / 'ann.onnx'}", f"--OUTPUT_HTML={t / 'ann.html'}")["OUTPUT_MODEL"]
    ndvi = write_raster(t / "ndvi.tif", np.full((len(DATES), 6, 6), 0.4, np.float32), descriptions=DATES)
    out = run_json(env, "annmoisture", f"--INPUTS={site['vv']}", f"--INPUTS={ndvi}", f"--MODEL={model}",
                   f"--TEMPERATURE={site['csv']}", f"--OUTPUT={t / 'ann_ssm.tif'}",
                   f"--OUTPUT_FROZEN={t / 'ann_flags.tif'}")
    ssm = read_raster(t / "ann_ssm.tif")
    assert out["results"]["FROZEN_COUNT"] == 72 and np.isnan(ssm[list(FROZEN)]).all()
    assert np.isfinite(np.delete(ssm, FROZEN, axis=0)).all()
    assert read_raster(t / "ann_flags.tif")[:, 0, 0].tolist() == [1 if i in FROZEN else 0 for i in range(len(DATES))]
    out = run_json(env, "annmoisture", f"--INPUTS={site['vv']}", f"--INPUTS={ndvi}", f"--MODEL={model}",
                   f"--OUTPUT={t / 'ann_ssm0.tif'}")
    assert NOT_SCREENED in log_text(out) and np.isfinite(read_raster(t / "ann_ssm0.tif")).all()
