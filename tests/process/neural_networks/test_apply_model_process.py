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
