"""Issue 29, through qgis_process: every soil-moisture map stays in [0, POROSITY] and says how many pixel-dates it
clipped (CLIPPED, log, metadata); SSM_MAX above POROSITY is refused; notices are no errors in the JSON log; NDVI
above 0.8 is kept; the default gap of 'Interpolate stack in time' fills a cloudy 10-day NDVI series."""

import datetime as dt

import numpy as np
import pytest
import sm_bad_data
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, ok, refusal, run, run_json

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def data(env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smbounds")
    d = sm_bad_data.make(tmp)
    wet = np.full(sm_bad_data.SHAPE, 0.40, np.float32)
    wet[:20] = 0.70                                       # a soil map wetter than saturation on half the rows
    d["ssm_wet"] = write_raster(tmp / "ssm_wet.tif", wet)
    d["model"] = ok(env, "trainannmoisture", f"--SAMPLES={d['samples']}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=1",
                    f"--OUTPUT_MODEL={tmp / 'ann.onnx'}", f"--OUTPUT_HTML={tmp / 'ann.html'}")["OUTPUT_MODEL"]
    return d


def _bounded(doc, key, porosity, *, scale=1.0):
    """The map of output ``key`` lies in [0, porosity], CLIPPED counts what was clipped, as the metadata and log say."""
    res = doc["results"]
    ssm = read_raster(res[key])
    assert np.isfinite(ssm).any()
    assert np.nanmin(ssm) >= 0.0 and np.nanmax(ssm) <= porosity * scale + 1e-6
    meta = gdal.Open(res[key]).GetMetadata()
    assert res["CLIPPED"] > 0 and float(meta["SSM_POROSITY"]) == porosity
    assert int(meta["SSM_CLIPPED_BELOW_0"]) + int(meta["SSM_CLIPPED_ABOVE_POROSITY"]) == res["CLIPPED"]
    assert any(f"{res['CLIPPED']} pixel-date(s) clipped" in line for line in doc["log"]["info"])
    assert "errors" not in doc["log"], doc["log"]
    return ssm


def test_change_detection_clips_a_soil_map_wetter_than_the_porosity(env, data, tmp_path):
    doc = run_json(env, "changedetection", f"--INPUT={data['vv']}", "--MIN_DATES=2",
                   f"--SSM_MAX_RASTER={data['ssm_wet']}", f"--OUTPUT_INDEX={tmp_path / 'i.tif'}",
                   f"--OUTPUT_SSM={tmp_path / 's.tif'}")
    ssm = _bounded(doc, "OUTPUT_SSM", 0.5)
    assert np.nanmax(ssm[:, :20]) == pytest.approx(0.5)  # the wet half reached saturation, and no further
    assert any("above the porosity 0.5 m³/m³" in w for w in doc["log"]["warning"])


def test_ssm_max_above_the_porosity_is_refused_with_the_fix(env, data, tmp_path):
    refusal(run(env, "changedetection", f"--INPUT={data['vv']}", "--SSM_MAX=0.6",
                f"--OUTPUT_INDEX={tmp_path / 'i.tif'}", f"--OUTPUT_SSM={tmp_path / 's.tif'}"),
            "(SSM_MAX) (0.6 m³/m³) is above", "(POROSITY) (0.5 m³/m³)", "raise")
    refusal(run(env, "vegetationcd", f"--VV={data['vv']}", f"--V1={data['ndvi_ok']}", "--ALPHA=20", "--BETA=20",
                "--SSM_MIN=0.3", "--POROSITY=0.3", f"--OUTPUT={tmp_path / 'v.tif'}"), "(SSM_MIN)", "(POROSITY)")
    assert list(tmp_path.iterdir()) == []


def test_vegetation_cd_stays_below_the_porosity(env, data, tmp_path):
    # α − β·NDVI = 20 − 20·0.2…0.7 = 6…16 dB per m³/m³ on VV spanning 10 dB: up to 1.7 m³/m³ unbounded
    doc = run_json(env, "vegetationcd", f"--VV={data['vv']}", f"--V1={data['ndvi_ok']}", "--ALPHA=20", "--BETA=20",
                   "--POROSITY=0.45", f"--OUTPUT={tmp_path / 'v.tif'}")
    _bounded(doc, "OUTPUT", 0.45)


def test_the_regression_map_stays_in_range_in_its_units(env, data, tmp_path):
    # σ° (−15…−5 dB) has no relation to the samples' 0.1…0.4: the lines give about 0.25 everywhere, above 0.1
    common = [f"--RASTER={data['vv']}", "--PER_DATE=false", "--POROSITY=0.1"]
    doc = run_json(env, "regressmoisture", f"--SAMPLES={data['samples']}", *common,
                   f"--OUTPUT_PARAMS={tmp_path / 'p.json'}", f"--OUTPUT_TABLE={tmp_path / 't.csv'}",
                   f"--OUTPUT={tmp_path / 'm.tif'}")
    _bounded(doc, "OUTPUT", 0.1)
    doc = run_json(env, "regressmoisture", f"--SAMPLES={data['samples_percent']}", *common,
                   f"--OUTPUT_PARAMS={tmp_path / 'p2.json'}", f"--OUTPUT_TABLE={tmp_path / 't2.csv'}",
                   f"--OUTPUT={tmp_path / 'm2.tif'}")
    ssm = _bounded(doc, "OUTPUT", 0.1, scale=100.0)     # in percent: bounded by 10 %, not by 0.1
    assert np.nanmax(ssm) == pytest.approx(10.0)


def test_the_network_map_stays_below_the_porosity(env, data, tmp_path):
    # a network trained on 0.1…0.4 m³/m³ maps about 0.25: above a porosity of 0.1
    doc = run_json(env, "annmoisture", f"--INPUTS={data['vv']}", f"--INPUTS={data['ndvi_ok']}",
                   f"--MODEL={data['model']}", "--POROSITY=0.1", f"--OUTPUT={tmp_path / 'a.tif'}")
    _bounded(doc, "OUTPUT", 0.1)
    # issue #31: the network runs feature-major in QGIS's own Python too (onnx importable, the probe passed)
    assert any(line.startswith("Model:") and "evaluated feature-major" in line for line in doc["log"]["info"])


def test_ndvi_keeps_dense_crops_by_default(env, tmp_path):
    red = np.full((2, 10, 10), 0.03, np.float32)
    nir = np.full((2, 10, 10), 0.57, np.float32)          # NDVI 0.9
    nir[:, :, :5] = 0.12                                  # NDVI 0.6
    r = write_raster(tmp_path / "red.tif", red, descriptions=["2019-06-01", "2019-06-11"])
    n = write_raster(tmp_path / "nir.tif", nir, descriptions=["2019-06-01", "2019-06-11"])
    doc = run_json(env, "ndvi", f"--RED={r}", "--RED_BAND=0", f"--NIR={n}", "--NIR_BAND=0",
                   f"--OUTPUT={tmp_path / 'nd.tif'}")
    got = read_raster(doc["results"]["OUTPUT"])
    assert np.isfinite(got).all() and np.nanmax(got) == pytest.approx(0.9)
    assert any("above 0.8: 50.0 %" in line and "kept" in line for line in doc["log"]["info"])


def _cloudy_10_day_ndvi(tmp_path):
    """NDVI every 10 days, each pixel clear only every 4th or 5th acquisition (clouds): valid dates 40-50 days
    apart; the radar every 6 days within them."""
    d0 = dt.date(2019, 4, 1)
    dates = [(d0 + dt.timedelta(days=10 * k)).isoformat() for k in range(19)]
    arr = np.full((19, 6, 6), np.nan, np.float32)
    for col in range(6):
        step = 4 if col % 2 else 5
        arr[col % 2::step, :, col] = 0.3 + 0.02 * np.arange(19)[col % 2::step, None]
    radar = [(d0 + dt.timedelta(days=6 * k)).isoformat() for k in range(1, 28)]
    return write_raster(tmp_path / "nd.tif", arr, descriptions=dates), radar


def test_the_default_gap_fills_a_cloudy_10_day_ndvi_series_and_says_how_much(env, tmp_path):
    nd, radar = _cloudy_10_day_ndvi(tmp_path)
    doc = run_json(env, "interpolatetime", f"--INPUT={nd}", f"--TARGET={','.join(radar)}",
                   f"--OUTPUT={tmp_path / 'o.tif'}")
    got = read_raster(doc["results"]["OUTPUT"])
    filled = 100.0 * np.isfinite(got).mean()
    assert doc["results"]["FILLED"] == pytest.approx(filled) and filled > 85
    assert any(f"Filled: {filled:.1f} % of the pixel-dates" in line for line in doc["log"]["info"])
    old = run_json(env, "interpolatetime", f"--INPUT={nd}", f"--TARGET={','.join(radar)}", "--MAX_GAP_DAYS=32",
                   f"--OUTPUT={tmp_path / 'o32.tif'}")          # the former default: most radar dates empty
    assert old["results"]["FILLED"] < 20 and any("Raise Maximum gap" in w for w in old["log"]["warning"])


def test_the_outside_dates_notice_is_a_warning_not_an_error(env, data, tmp_path):
    doc = run_json(env, "interpolatetime", f"--INPUT={data['ndvi_ok']}", "--TARGET=2020-01-13,2020-05-01",
                   f"--OUTPUT={tmp_path / 'o.tif'}")
    assert "errors" not in doc["log"], doc["log"]
    assert any("1 target date(s) lie outside the input's dates" in w for w in doc["log"]["warning"])


def test_water_cloud_logs_the_share_without_a_soil_term_as_no_error(env, data, tmp_path):
    doc = run_json(env, "watercloud", f"--INPUT={data['vv']}", f"--NDVI={data['ndvi_ok']}", "--INCIDENCE=39",
                   "--A=0.4", "--B=0.1", f"--OUTPUT_SOIL={tmp_path / 's.tif'}")
    soil = read_raster(doc["results"]["OUTPUT_SOIL"])
    share = 100.0 * np.isnan(soil).mean()                 # every pixel-date has σ° and NDVI here
    assert any(f"σ° ≤ σ°_veg (no soil term, NaN) on {share:.1f} %" in line for line in doc["log"]["info"])
    assert share > 50 and "errors" not in doc["log"], doc["log"]
    assert any("A = 0.4 is too high" in w for w in doc["log"]["warning"])


def test_vegetation_cd_leaves_out_ndvi_below_the_papers_limit(env, data, tmp_path):
    nd = read_raster(data["ndvi_ok"])
    nd[:, :, :4] = 0.1                                    # water or built-up land: no soil to map
    path = write_raster(tmp_path / "nd.tif", nd, descriptions=sm_bad_data.DATES)
    doc = run_json(env, "vegetationcd", f"--VV={data['vv']}", f"--V1={path}", "--ALPHA=30", "--BETA=10",
                   f"--OUTPUT={tmp_path / 'v.tif'}")
    ssm = read_raster(doc["results"]["OUTPUT"])
    assert np.isnan(ssm[:, :, :4]).all() and np.isfinite(ssm[:, :, 4:]).all()
    n = 6 * sm_bad_data.SHAPE[0] * 4
    assert any(f"{n} pixel-dates have NDVI below 0.15" in w for w in doc["log"]["warning"])
