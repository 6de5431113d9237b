"""Land surface temperature headless: every algorithm through qgis_process.bin --json, the refusals, the chain."""

import csv
import os

import numpy as np
import pytest
from helpers import modis_subdataset, read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, refusal, run_json

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.lst import modis, quality, resample, temperature

pytestmark = needs_qgis_process
SINU_GT = (-4447802.079066, 926.625433138333, 0.0, -463312.716569, 0.0, -926.625433139167)
UTM_GT = (280000.0, 1000.0, 0.0, 9120000.0, 0.0, -1000.0)
MODEL = rt.BUNDLED_MODELS_DIR / "lst_superresolution.onnx"


def _wkt_sinusoidal():
    return gdal.Open(modis_subdataset()).GetProjection()


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    """A 96×96 window of the real h14v09 day LST (no QC filter), with its clouds, as a GeoTIFF in kelvin."""
    out = tmp_path_factory.mktemp("lst_qp")
    k = modis.read_kelvin(modis_subdataset(), qc_filter=False)[480:576, 144:240]
    path = str(out / "lst_window.tif")
    gt = (SINU_GT[0] + 144 * SINU_GT[1], SINU_GT[1], 0.0, SINU_GT[3] + 480 * SINU_GT[5], 0.0, SINU_GT[5])
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(path, 96, 96, 1, gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    ds.SetProjection(_wkt_sinusoidal())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(float("nan"))
    band.WriteArray(k)
    band = ds = None
    return path, k


def _fail(env, alg, out, *args):
    text = refusal(qp(env, "run", f"sarsense:{alg}", *args, f"--OUTPUT={out}"))
    assert not os.path.exists(out)
    return text


def test_degradelst_reads_the_modis_subdataset(env, tmp_path):
    doc = run_json(env, "degradelst", INPUT=modis_subdataset(), FACTOR=4, OUTPUT=tmp_path / "d.tif")
    got = read_raster(doc["results"]["OUTPUT"])[0]
    assert got.shape == (300, 300)
    expected = temperature.norm_l4(modis.read_kelvin(modis_subdataset()), 4)   # QC filter on by default
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_the_log_counts_what_the_qc_filter_dropped_and_why(env, tmp_path):
    """Issue #27: the log says how many pixels the MODIS QC filter dropped ('other quality', QC 01) and how many had
    no LST (cloud, other reasons), counted here from the HDF's own LST and QC layers."""
    raw = gdal.Open(modis_subdataset()).ReadAsArray()
    flag = gdal.Open(modis_subdataset("QC_Day")).ReadAsArray() & 3
    value = raw >= 7500
    good, other = (value & (flag == 0)).sum(), (value & (flag == 1)).sum()
    cloud, reasons = (flag == 2).sum(), (flag == 3).sum()
    assert min(good, other, cloud, reasons) > 0            # the real tile has all four
    on = run_json(env, "lstsuperresolution", INPUT=modis_subdataset(), METHOD=1, SCALE=2, OUTPUT=tmp_path / "a.tif")
    assert (f"QC filter: {good} of {raw.size} pixels kept; {other} dropped as 'LST produced, other quality' (QC 01, "
            f"errors up to 2–3 K). Without an LST value: {cloud} cloud (QC 10), {reasons} not produced for other "
            "reasons (QC 11), 0 fill or out of range.") in on["log"]["info"]
    off = run_json(env, "degradelst", INPUT=modis_subdataset(), FACTOR=4, QC_FILTER=False, OUTPUT=tmp_path / "d.tif")
    assert any(line.startswith(f"QC filter off: {good + other} of {raw.size} pixels kept, {other} of them 'other "
                               "quality'") for line in off["log"]["info"])


def test_every_method_headless(env, window, tmp_path):
    path, k = window
    bic = run_json(env, "lstsuperresolution", INPUT=path, METHOD=1, SCALE=4, OUTPUT=tmp_path / "b.tif")
    got = read_raster(bic["results"]["OUTPUT"])[0]
    expected = resample.upsample(k, 4, fill=resample.fill_gaps(k, iterations=2, fallback=0.0))
    np.testing.assert_allclose(got, expected, atol=2e-4)
    ds = gdal.Open(bic["results"]["OUTPUT"])
    assert (ds.RasterXSize, ds.RasterYSize) == (384, 384) and ds.GetGeoTransform()[1] == pytest.approx(SINU_GT[1] / 4)
    # the U-Net keeps the gaps and starts from bicubic: close to it, not equal
    net = read_raster(run_json(env, "lstsuperresolution", INPUT=path,
                               OUTPUT=tmp_path / "u.tif")["results"]["OUTPUT"])[0]
    np.testing.assert_array_equal(np.isnan(net), np.isnan(expected))
    d = np.abs(net - expected)[np.isfinite(expected)]
    assert 0 < np.median(d) < 1.0
    # °C in, °C out
    c = write_raster(tmp_path / "c.tif", k - 273.15, gt=(0, 1000, 0, 0, 0, -1000), epsg=32725, nodata=float("nan"))
    cel = read_raster(run_json(env, "lstsuperresolution", INPUT=c, INPUT_UNITS=1, METHOD=1,
                               OUTPUT=tmp_path / "bc.tif")["results"]["OUTPUT"])[0]
    np.testing.assert_allclose(cel, expected - 273.15, atol=1e-3)


def test_the_input_pixel_size_is_logged_and_a_scale_outside_the_models_is_warned(env, window, tmp_path):
    """Issue #31: the bundled U-Net is validated on 250–1100 m inputs (its contract and card); a MODIS window is
    inside, the same temperatures on a 100 m grid (Landsat's thermal band) are not, and the run says so."""
    path, k = window
    lo, hi = rt.Model(MODEL).contract.validated_pixel_m
    assert (lo, hi) == (250.0, 1100.0)
    doc = run_json(env, "lstsuperresolution", INPUT=path, OUTPUT=tmp_path / "u.tif")
    assert ("Input pixel size: 926.6 × 926.6 m (the model was validated on inputs of 250–1100 m)"
            in doc["log"]["info"])
    assert not [w for w in doc["log"].get("warning", []) if "Scale:" in w]
    fine = write_raster(tmp_path / "landsat_like.tif", k, gt=(500000, 100, 0, 3800000, 0, -100), epsg=32611,
                        nodata=float("nan"))
    doc = run_json(env, "lstsuperresolution", INPUT=fine, OUTPUT=tmp_path / "f.tif")
    warning = [w for w in doc["log"]["warning"] if w.startswith("Scale:")]
    assert len(warning) == 1 and "(100 m) are outside the 250–1100 m on which lst_superresolution was validated" \
        in warning[0], doc["log"]
    assert os.path.exists(doc["results"]["OUTPUT"])          # warned, not refused: the user decides
    bic = run_json(env, "lstsuperresolution", INPUT=fine, METHOD=1, OUTPUT=tmp_path / "b.tif")
    assert "Input pixel size: 100.0 × 100.0 m" in bic["log"]["info"]
    assert not [w for w in bic["log"].get("warning", []) if "Scale:" in w]     # bicubic has no trained scale


@pytest.mark.parametrize("method", [2, 3])
def test_tsharp_and_atprk_headless_are_coherent(env, tmp_path, method):
    rng = np.random.default_rng(3)
    ndvi = np.clip(rng.normal(0.5, 0.2, (120, 120)), -0.1, 0.9).astype(np.float32)
    from scipy.ndimage import gaussian_filter
    truth = (310 - 15 * ndvi + gaussian_filter(rng.normal(0, 3, ndvi.shape), 4)).astype(np.float32)
    coarse = temperature.norm_l4(truth, 4)
    lst = write_raster(tmp_path / "l.tif", coarse, gt=UTM_GT, epsg=32725, nodata=float("nan"))
    fine_gt = (UTM_GT[0], 250.0, 0.0, UTM_GT[3], 0.0, -250.0)
    nd = write_raster(tmp_path / "n.tif", ndvi, gt=fine_gt, epsg=32725)
    out = run_json(env, "lstsuperresolution", INPUT=lst, METHOD=method, NDVI=nd, OUTPUT=tmp_path / "s.tif")
    fine = read_raster(out["results"]["OUTPUT"])[0]
    assert np.nanmax(np.abs(temperature.norm_l4(fine, 4) - coarse)) < 0.01
    assert quality.figures(truth, fine)["rmse"] < 0.6


def test_imagequality_number_outputs_and_table(env, window, tmp_path):
    path, k = window
    rng = np.random.default_rng(9)
    est = k + rng.normal(0, 0.5, k.shape).astype(np.float32)
    gt = gdal.Open(path).GetGeoTransform()
    e = str(tmp_path / "e.tif")
    ds = gdal.GetDriverByName("GTiff").Create(e, 96, 96, 1, gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    ds.SetProjection(_wkt_sinusoidal())
    ds.GetRasterBand(1).SetNoDataValue(float("nan"))
    ds.GetRasterBand(1).WriteArray(est)
    ds = None
    doc = run_json(env, "imagequality", REFERENCE=path, ESTIMATE=e, PATCH=32, OUTPUT_TABLE=tmp_path / "q.csv")
    r = doc["results"]
    f = quality.figures(k, est)
    assert r["RMSE"] == pytest.approx(f["rmse"], rel=1e-6) and r["BIAS"] == pytest.approx(f["bias"], abs=1e-6)
    assert r["PSNR"] == pytest.approx(f["psnr"], rel=1e-6) and r["SSIM"] == pytest.approx(f["ssim"], rel=1e-6)
    assert r["SSIM_WINDOWED"] == pytest.approx(quality.ssim_windowed(k, est), rel=1e-6)
    rows = list(csv.DictReader(open(tmp_path / "q.csv")))
    assert rows[0]["scope"] == "whole" and any(row["scope"] == "patch" for row in rows)


def test_refusals_are_messages_and_leave_no_output(env, window, tmp_path):
    path, k = window
    nan = write_raster(tmp_path / "nan.tif", np.full((20, 20), np.nan, np.float32), gt=UTM_GT, epsg=32725,
                       nodata=float("nan"))
    assert "no valid pixel" in _fail(env, "lstsuperresolution", tmp_path / "o1.tif", f"--INPUT={nan}", "--METHOD=1")
    cel = write_raster(tmp_path / "cel.tif", k - 273.15, gt=UTM_GT, epsg=32725, nodata=float("nan"))
    assert "looks like °C" in _fail(env, "lstsuperresolution", tmp_path / "o2.tif", f"--INPUT={cel}", "--METHOD=1")
    lst = write_raster(tmp_path / "l.tif", np.full((20, 20), 300, np.float32), gt=UTM_GT, epsg=32725)
    half = write_raster(tmp_path / "half.tif", np.full((40, 80), 0.5, np.float32),
                        gt=(UTM_GT[0], 250.0, 0.0, UTM_GT[3], 0.0, -250.0), epsg=32725)
    assert "must cover all of it" in _fail(env, "lstsuperresolution", tmp_path / "o3.tif", f"--INPUT={lst}",
                                           "--METHOD=3", f"--NDVI={half}")
    assert "needs an NDVI" in _fail(env, "lstsuperresolution", tmp_path / "o4.tif", f"--INPUT={lst}", "--METHOD=2")
    assert "not ×2" in _fail(env, "lstsuperresolution", tmp_path / "o5.tif", f"--INPUT={lst}", "--SCALE=2")
    other = rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx"
    assert "not a super-resolution model" in _fail(env, "lstsuperresolution", tmp_path / "o6.tif", f"--INPUT={lst}",
                                                   f"--MODEL={other}")
    assert "looks like °C" in _fail(env, "degradelst", tmp_path / "o7.tif", f"--INPUT={cel}")


def test_lst_chain_model3_runs_headless(env, window, tmp_path):
    path, k = window
    res = qp(env, "run", "sarsense:lst_superresolution", "--json", f"--lst={path}", "--utm=EPSG:32725", "--method=0",
             f"--sr:Super-resolved LST={tmp_path / 'sr.tif'}", f"--quality:Quality figures={tmp_path / 'q.csv'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ds = gdal.Open(str(tmp_path / "sr.tif"))
    assert "UTM zone 25S" in ds.GetProjection() and ds.GetGeoTransform()[1] == pytest.approx(1000.0)
    rows = list(csv.DictReader(open(tmp_path / "q.csv")))
    whole = rows[0]
    assert whole["scope"] == "whole" and int(whole["n"]) > 1000
    assert 0.0 < float(whole["rmse"]) < 3.0 and float(whole["psnr"]) > 15
