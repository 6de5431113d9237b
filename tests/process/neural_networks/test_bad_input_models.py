"""Issue #28, the model runtime: NaN/±inf model outputs are counted where the input was valid; a model that gives
them for (nearly) every pixel is refused naming the model and the count, nothing written; a few are written as
NaN, logged and recorded in the output's metadata. Input that is no σ⁰ (digital numbers) is refused. Before, a
model returning ±inf gave an all-NaN output with rc 0."""

import os

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import digest, needs_qgis_process, refusal, run, run_json

pytestmark = needs_qgis_process
#: The value at which the 'few' model (1 / (x − at)) returns +inf, and where the input holds it.
AT = -10.0
BAD = [(10, c) for c in range(10, 15)]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A dB scene (−13 ± 3 dB) holding exactly AT at five pixels, with a NaN hole; and the same as Int16 DN."""
    d = tmp_path_factory.mktemp("nn_bad")
    arr = np.random.default_rng(2).normal(-13, 3, (90, 120)).astype(np.float32)
    arr[arr == AT] = AT - 0.5
    for r, c in BAD:
        arr[r, c] = AT
    arr[50:55, 50:55] = np.nan
    dn = np.random.default_rng(1).integers(46, 1180, (90, 120)).astype(np.int16)
    ds = gdal.GetDriverByName("GTiff").Create(str(d / "dn.tif"), 120, 90, 1, gdal.GDT_Int16)
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
    ds.SetProjection("EPSG:32633")
    ds.GetRasterBand(1).WriteArray(dn)
    ds = None
    return write_raster(d / "vv.tif", arr), str(d / "dn.tif")


def _model(tmp_path, spatial, **kw):
    from onnx_models import reciprocal_net
    return reciprocal_net(tmp_path / f"m_{'tile' if spatial else 'pixel'}.onnx", spatial=spatial, **kw)


@pytest.mark.parametrize("spatial", [True, False], ids=["tiled", "per-pixel"])
def test_a_model_returning_inf_everywhere_is_refused(env, scene, tmp_path, spatial):
    src = scene[0]
    before = digest(src)
    model = _model(tmp_path, spatial, gain=0.0, at=0.0)      # 1 / 0 = +inf for every pixel
    out = tmp_path / "y.tif"
    refusal(run(env, "applymodel", INPUT=src, MODEL=model, OUTPUT=out), "model 'test-net'", os.path.basename(model),
            "returned NaN or ±inf for", "output values at valid input pixels", "nothing was written")
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(model)]
    assert digest(src) == before


@pytest.mark.parametrize("spatial", [True, False], ids=["tiled", "per-pixel"])
def test_a_few_non_finite_outputs_are_masked_counted_and_recorded(env, scene, tmp_path, spatial):
    src = scene[0]
    doc = run_json(env, "applymodel", INPUT=src, MODEL=_model(tmp_path, spatial, gain=1.0, at=AT),
                   OUTPUT=tmp_path / "y.tif")
    got = read_raster(doc["results"]["OUTPUT"])[0]
    nan_in = np.isnan(read_raster(src)[0])
    bad = np.zeros_like(nan_in)
    for r, c in BAD:
        bad[r, c] = True
    np.testing.assert_array_equal(np.isnan(got), nan_in | bad)     # exactly the five pixels more than the input
    warning = [w for w in doc["log"]["warning"] if "returned NaN or ±inf for" in w]
    assert warning and "written as NaN" in warning[0]
    n = int(warning[0].split("returned NaN or ±inf for ")[1].split(" of ")[0])
    assert 5 <= n <= 20          # tiles overlap: a pixel in two tiles' reach is counted in each
    meta = gdal.Open(doc["results"]["OUTPUT"]).GetMetadataItem("SARSENSE_MODEL_NONFINITE")
    assert meta is not None and meta.startswith(f"{n} of ")


def test_digital_numbers_are_refused_before_the_model_runs(env, scene, tmp_path):
    from onnx_models import contract, conv_net
    model = conv_net(tmp_path / "m.onnx", channels=1,
                     contract_dict=contract(inputs=[{"name": "VV", "units": "dB"}],
                                            normalisation={"method": "offset_scale", "offset": [0.0], "scale": [1.0]}))
    refusal(run(env, "applymodel", INPUT=scene[1], MODEL=model, OUTPUT=tmp_path / "y.tif"),
            "Input raster (INPUT) band 1 (VV) holds values no σ⁰ in dB has", "digital numbers (DN) or amplitude",
            "Calibrate it first")
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


def test_an_input_with_no_valid_pixel_is_refused_naming_it(env, tmp_path):
    """An all-NaN input gave the engine's generic empty-output refusal; it is named before the model runs."""
    src = write_raster(tmp_path / "nan.tif", np.full((40, 40), np.nan, np.float32))
    model = _model(tmp_path, True, gain=1.0, at=AT)
    refusal(run(env, "applymodel", INPUT=src, MODEL=model, OUTPUT=tmp_path / "y.tif"), "Input raster (INPUT)",
            "has no valid pixel")
    assert not (tmp_path / "y.tif").exists()


def test_a_small_input_the_model_returns_inf_for_is_refused_too(env, tmp_path):
    """Below the runtime's 4096 outputs the share is not judged during the run: the empty-output rule refuses it, with
    the model named."""
    src = write_raster(tmp_path / "small.tif", np.random.default_rng(0).normal(-13, 3, (20, 20)).astype(np.float32))
    model = _model(tmp_path, False, gain=0.0, at=0.0)
    refusal(run(env, "applymodel", INPUT=src, MODEL=model, OUTPUT=tmp_path / "y.tif"), "nothing was written",
            "model 'test-net' gave no finite value where the input is valid")
    assert not (tmp_path / "y.tif").exists()
