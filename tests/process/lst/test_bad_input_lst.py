"""Issue #28, land surface temperature: bad input through qgis_process is refused with its cause and fix (raw
MODIS DN, a wrong scale, kelvin against °C, an NDVI out of −1..1, no valid pixel), nothing is written and the
inputs are untouched; a killed U-Net run leaves nothing behind."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
from helpers import modis_subdataset, read_raster
from osgeo import gdal
from process_helpers import QGIS_PROCESS, digest, needs_qgis_process, refusal, run, run_json

from sarsense.algorithms.lst import modis

pytestmark = needs_qgis_process
SINU_GT = (-4447802.079066, 926.625433138333, 0.0, -463312.716569, 0.0, -926.625433139167)


def _write(path, array, dtype=gdal.GDT_Float32, *, scale=None, nodata=None, gt=None):
    """A one-band GeoTIFF on the sinusoidal MODIS grid (a window of h14v09), with an optional declared scale."""
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, dtype)
    x0, y0 = SINU_GT[0] + 144 * SINU_GT[1], SINU_GT[3] + 480 * SINU_GT[5]
    ds.SetGeoTransform(gt or (x0, SINU_GT[1], 0.0, y0, 0.0, SINU_GT[5]))
    ds.SetProjection(gdal.Open(modis_subdataset()).GetProjection())
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    if scale is not None:
        band.SetScale(scale)
        band.SetOffset(0.0)
    band.WriteArray(array)
    band = ds = None
    return str(path)


def _fine_gt(scale):
    x0, y0 = SINU_GT[0] + 144 * SINU_GT[1], SINU_GT[3] + 480 * SINU_GT[5]
    return (x0, SINU_GT[1] / scale, 0.0, y0, 0.0, SINU_GT[5] / scale)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 96×96 window of the real h14v09 day LST as raw DN (no scale), with a wrong scale (0.2), with the right
    one (0.02), in kelvin and in °C; all-NaN LST; kelvin with an undeclared −9999 fill; NDVI on the ×4 grid: 3..7,
    all NaN, constant and a good one."""
    d = tmp_path_factory.mktemp("lst_bad")
    raw = gdal.Open(modis_subdataset()).ReadAsArray()[480:576, 144:240]
    k = modis.read_kelvin(modis_subdataset(), qc_filter=False)[480:576, 144:240]
    rng = np.random.default_rng(0)
    return {
        "dn": _write(d / "raw_dn.tif", raw, gdal.GDT_UInt16, nodata=0),
        "scale02": _write(d / "scale_0.2.tif", raw, gdal.GDT_UInt16, scale=0.2, nodata=0),
        "scaled": _write(d / "scale_0.02.tif", raw, gdal.GDT_UInt16, scale=0.02, nodata=0),
        "kelvin": _write(d / "kelvin.tif", k, nodata=float("nan")),
        "celsius": _write(d / "celsius.tif", k - 273.15, nodata=float("nan")),
        "nan": _write(d / "nan.tif", np.full_like(k, np.nan), nodata=float("nan")),
        "fill": _write(d / "fill.tif", np.where(np.isfinite(k), k, -9999.0).astype(np.float32)),
        "ndvi37": _write(d / "ndvi_3_7.tif", rng.uniform(3, 7, (384, 384)).astype(np.float32), gt=_fine_gt(4)),
        "ndvi_nan": _write(d / "ndvi_nan.tif", np.full((384, 384), np.nan, np.float32), nodata=float("nan"),
                           gt=_fine_gt(4)),
        "ndvi_const": _write(d / "ndvi_const.tif", np.full((384, 384), 0.5, np.float32), gt=_fine_gt(4)),
        "ndvi": _write(d / "ndvi.tif", rng.uniform(0.1, 0.8, (384, 384)).astype(np.float32), gt=_fine_gt(4)),
    }


def _digest(paths):
    return {p: digest(p) for p in paths}


def _refused(env, data, tmp_path, alg, params, *needles):
    """Run ``alg`` with ``params`` (values naming ``data`` keys are replaced by their paths): refused naming
    ``needles``, no output file, the inputs' bytes unchanged."""
    params = {k: data.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    before = _digest([v for v in params.values() if isinstance(v, str) and os.path.isfile(v)])
    out_key = "OUTPUT_TABLE" if alg == "imagequality" else "OUTPUT"
    out = tmp_path / ("q.csv" if alg == "imagequality" else "o.tif")
    text = refusal(run(env, alg, **params, **{out_key: out}), *needles)
    assert not out.exists() and not list(tmp_path.iterdir()), os.listdir(tmp_path)
    assert _digest(before) == before
    return text


#: Every LST algorithm, with the raster under test given as its LST input (the reference and the estimate of image
#: quality in turn).
LST_RUNS = {
    "lstsuperresolution": ("lstsuperresolution", {"METHOD": 1, "SCALE": 4}, "INPUT", "Land-surface temperature"),
    "degradelst": ("degradelst", {"FACTOR": 4}, "INPUT", "Land-surface temperature"),
    "imagequality-reference": ("imagequality", {"ESTIMATE": "kelvin"}, "REFERENCE", "Reference LST (REFERENCE)"),
    "imagequality-estimate": ("imagequality", {"REFERENCE": "kelvin"}, "ESTIMATE", "Estimated LST (ESTIMATE)"),
}


@pytest.mark.parametrize("run_name", LST_RUNS)
@pytest.mark.parametrize("case,units,needles", [
    ("dn", 0, ("look like raw MODIS DN", "scale is 0.02 K", "HDF subdataset", "land surface temperature in kelvin")),
    ("dn", 1, ("look like raw MODIS DN", "scale is 0.02 K", "land surface temperature in °C")),
    ("scale02", 0, ("declares scale 0.2", "gdal_edit.py -scale 0.02", "land surface temperature in kelvin")),
    ("nan", 0, ("no valid pixel",)),
    ("fill", 0, ("holds values of -9999", "nodata value the file does not declare", "gdal_edit.py -a_nodata -9999")),
    ("ndvi", 0, ("as an NDVI or a reflectance does: choose the LST layer",)),
])
def test_values_no_lst_is_refused_with_its_cause(env, data, tmp_path, run_name, case, units, needles):
    """Raw MODIS DN ≈ 15 000 taken as kelvin (15 000 K) or °C, a wrong declared scale (≈ 3 000 K), an undeclared
    −9999 fill, or no valid pixel: every LST algorithm refuses it, saying why and what to do, before anything is
    written."""
    alg, params, key, label = LST_RUNS[run_name]
    params = {k: "celsius" if v == "kelvin" and units == 1 else v for k, v in params.items()}   # the other raster
    _refused(env, data, tmp_path, alg, {**params, key: case, "INPUT_UNITS": units}, label, *needles)


@pytest.mark.parametrize("ref,est,units", [("kelvin", "celsius", 0), ("celsius", "kelvin", 1)])
def test_image_quality_refuses_kelvin_against_celsius_naming_both(env, data, tmp_path, ref, est, units):
    """A kelvin reference scored against a °C estimate (RMSE 273.15 before) is refused, naming both rasters."""
    _refused(env, data, tmp_path, "imagequality", {"REFERENCE": ref, "ESTIMATE": est, "INPUT_UNITS": units},
             "Reference LST (REFERENCE)", "Estimated LST (ESTIMATE)", "differ by 273 K", "one is in kelvin")


@pytest.mark.parametrize("method", [2, 3])
@pytest.mark.parametrize("ndvi,needles", [("ndvi37", ("NDVI at the fine scale (NDVI)", "values 3", "NDVI (-1..1)",
                                                       "scale by 0.0001")),
                                          ("ndvi_nan", ("NDVI at the fine scale (NDVI)", "no valid pixel")),
                                          ("ndvi_const", ("NDVI is constant (0.5)", "no slope", "choose bicubic"))])
def test_tsharp_and_atprk_refuse_an_ndvi_that_is_none(env, data, tmp_path, method, ndvi, needles):
    _refused(env, data, tmp_path, "lstsuperresolution", {"INPUT": "kelvin", "METHOD": method, "SCALE": 4,
                                                         "NDVI": ndvi}, *needles)


def test_refusals_name_the_parameter(env, data, tmp_path, tmp_path_factory):
    """A 3-band LST and a model that is no super-resolution model are refused naming the parameter as the dialog
    labels it (before: the file alone, or 'MODEL')."""
    from onnx_models import contract, conv_net
    d = tmp_path_factory.mktemp("lst_names")
    gdal.Translate(str(d / "lst3.tif"), data["kelvin"], bandList=[1, 1, 1])
    _refused(env, data, tmp_path, "lstsuperresolution", {"INPUT": str(d / "lst3.tif"), "METHOD": 1},
             "Land-surface temperature (INPUT): ", "has 3 bands", "LST must be a single band")
    model = conv_net(d / "net.onnx", channels=1, contract_dict=contract(
        inputs=[{"name": "LST", "units": "K"}], normalisation={"method": "offset_scale", "offset": [0.0],
                                                                 "scale": [1.0]}))
    _refused(env, data, tmp_path, "lstsuperresolution", {"INPUT": "kelvin", "MODEL": model},
             "U-Net model (.onnx) (MODEL) 'net.onnx' is a image_regression model", "not a super-resolution model")


def test_the_same_good_ndvi_runs(env, data, tmp_path):
    """The check refuses the bad NDVI, not TsHARP: a real NDVI range on the same grid runs."""
    doc = run_json(env, "lstsuperresolution", INPUT=data["kelvin"], METHOD=2, SCALE=4, NDVI=data["ndvi"],
                   OUTPUT=tmp_path / "t.tif")
    assert np.isfinite(read_raster(doc["results"]["OUTPUT"])).any()


def test_a_declared_scale_is_applied_once(env, data, tmp_path):
    """MODIS DN in a GeoTIFF that declares the 0.02 K scale give the same LST as the kelvin GeoTIFF: the engine
    applies the band's scale and the LST pipeline does not apply it again (0.0004 K LST before #28's rule)."""
    a = run_json(env, "lstsuperresolution", INPUT=data["scaled"], METHOD=1, SCALE=4, OUTPUT=tmp_path / "a.tif")
    b = run_json(env, "lstsuperresolution", INPUT=data["kelvin"], METHOD=1, SCALE=4, OUTPUT=tmp_path / "b.tif")
    got, expected = read_raster(a["results"]["OUTPUT"]), read_raster(b["results"]["OUTPUT"])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert 290 < np.nanmean(got) < 330


def test_output_on_the_input_is_refused(env, data, tmp_path):
    """OUTPUT = INPUT replaced the input with the ×4 result (rc 0) before #28."""
    src = tmp_path / "in.tif"
    src.write_bytes(open(data["kelvin"], "rb").read())
    before = _digest([str(src)])
    refusal(run(env, "lstsuperresolution", INPUT=src, METHOD=1, SCALE=4, OUTPUT=src), "Super-resolved LST (OUTPUT)",
            "is the input", "choose another output path")
    # QGIS itself keeps the statistics of a raster layer it loads in a GDAL side file (in.tif.aux.xml)
    assert _digest([str(src)]) == before and [f for f in os.listdir(tmp_path) if not f.endswith(".aux.xml")] == \
        ["in.tif"]


def test_sigterm_during_the_unet_leaves_nothing_behind(env, tmp_path):
    """The U-Net's gap-filled temporary (sarsense_lst_filled_*.tif) and the kelvin copy are removed on SIGTERM,
    with the partial output (before #28 the filled file stayed beside the output)."""
    out = tmp_path / "sr.tif"
    proc = subprocess.Popen([QGIS_PROCESS, "run", "sarsense:lstsuperresolution", f"--INPUT={modis_subdataset()}",
                             "--METHOD=0", "--SCALE=4", f"--OUTPUT={out}"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not list(tmp_path.glob("sr.tif.partial-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert list(tmp_path.glob("sarsense_lst_filled_*.tif")), "the run had written its gap-filled temporary"
    assert list(tmp_path.glob("sr.tif.partial-*")), "the run had started writing its output"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert sorted(os.listdir(tmp_path)) == []
