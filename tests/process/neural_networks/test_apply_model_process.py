"""Applying a SARSense ONNX model headless: qgis_process.bin --json gives what the core gives."""

import numpy as np
from helpers import read_raster
from process_helpers import needs_qgis_process, run_json

pytestmark = needs_qgis_process


def test_applymodel_json(env, tmp_path):
    from helpers import write_raster
    from onnx_models import contract, conv_net
    arr = np.random.default_rng(2).normal(-13, 3, (2, 90, 120)).astype(np.float32)
    src = write_raster(tmp_path / "in.tif", arr)
    model = conv_net(tmp_path / "m.onnx", layers=3, contract_dict=contract())
    doc = run_json(env, "applymodel", INPUT=src, MODEL=model, OUTPUT=tmp_path / "y.tif")
    from sarsense.algorithms import onnx as rt
    rt.apply_model(rt.Model(model), src, str(tmp_path / "core.tif"))
    np.testing.assert_array_equal(read_raster(doc["results"]["OUTPUT"]), read_raster(tmp_path / "core.tif"))


def test_applymodel_of_a_demonstration_model_says_so(env, tmp_path):
    """Issue #27: the bundled example despeckler's card says 'demonstration': the log warns and says what it was
    trained on, the output's band description (the legend title) says so; a user model without a card does not."""
    from helpers import SAMPLE_DB, write_raster
    from osgeo import gdal

    from sarsense.algorithms import onnx as rt
    doc = run_json(env, "applymodel", INPUT=SAMPLE_DB, MODEL=rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx",
                   OUTPUT=tmp_path / "y.tif")
    assert any("DEMONSTRATION model" in w and "trained on one Sentinel-1A IW GRDH VV scene" in w
               for w in doc["log"]["warning"])
    assert gdal.Open(str(tmp_path / "y.tif")).GetRasterBand(1).GetDescription().endswith("(demonstration model)")
    from onnx_models import contract, conv_net
    arr = np.random.default_rng(2).normal(-13, 3, (2, 40, 40)).astype(np.float32)
    src = write_raster(tmp_path / "in.tif", arr)
    user = run_json(env, "applymodel", INPUT=src, MODEL=conv_net(tmp_path / "m.onnx", contract_dict=contract()),
                    OUTPUT=tmp_path / "u.tif")
    assert not any("DEMONSTRATION" in w for w in user["log"].get("warning", []))
    assert "demonstration" not in gdal.Open(str(tmp_path / "u.tif")).GetRasterBand(1).GetDescription()
