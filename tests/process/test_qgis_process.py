"""SARSense as a user runs it headless: qgis_process.bin with the plugin on QGIS_PLUGINPATH and enabled."""

import os

import numpy as np
import pytest
from helpers import REPO, read_raster
from process_helpers import needs_qgis_process, qp, run_json

from sarsense.algorithms import sar
from sarsense.algorithms.sar import speckle

pytestmark = needs_qgis_process


def test_list_shows_provider(env):
    res = qp(env, "list")
    assert res.returncode == 0
    for alg in ("convertunits", "despeckle", "multitemporaldespeckle", "buildstack", "polratio", "importsentinel1"):
        assert f"sarsense:{alg}" in res.stdout


def test_help_documents_parameters(env):
    res = qp(env, "help", "sarsense:despeckle")
    assert res.returncode == 0
    for key in ("INPUT", "FILTER", "SIZE", "LOOKS", "DAMPING", "INPUT_UNITS", "OUTPUT", "Gamma-MAP"):
        assert key in res.stdout


def test_despeckle_json(env, sample_db, tmp_path):
    out = tmp_path / "gm_db.tif"
    doc = run_json(env, "despeckle", INPUT=sample_db, FILTER=4, SIZE=5, INPUT_UNITS=1, OUTPUT=out)
    assert doc["algorithm_details"]["id"] == "sarsense:despeckle"
    assert doc["results"]["OUTPUT"] == str(out)
    expected = sar.linear_to_db(speckle.gamma_map(sar.db_to_linear(read_raster(sample_db)[0])[0], size=5))[0]
    np.testing.assert_allclose(read_raster(out)[0], expected, rtol=1e-5, atol=1e-4)


def test_chain_and_stack(env, sample_db, stack_files, tmp_path):
    lin = run_json(env, "convertunits", INPUT=sample_db, CONVERSION=1, OUTPUT=tmp_path / "lin.tif")["results"]["OUTPUT"]
    lee = run_json(env, "despeckle", INPUT=lin, FILTER=1, SIZE=7, LOOKS=4.4, INPUT_UNITS=0, OUTPUT=tmp_path / "lee.tif")
    assert os.path.exists(lee["results"]["OUTPUT"])
    doc = run_json(env, "buildstack", INPUTS=stack_files[0], RESAMPLING=0, OUTPUT=tmp_path / "one.tif")
    assert doc["results"]["DATES"] == "2015-12-30"


def test_bad_input_is_a_message_not_a_traceback(env, sample_db, tmp_path):
    res = qp(env, "run", "sarsense:despeckle", f"--INPUT={sample_db}", "--FILTER=1", "--INPUT_UNITS=0",
             f"--OUTPUT={tmp_path / 'o.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "looks like dB" in text and "Traceback" not in text
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("how", ["file", "id"])
def test_model3_runs_headless(env, sample_db, tmp_path, how):
    model = REPO / "resources" / "workflows" / "sar_chain_db_gammamap.model3"
    out = tmp_path / "m.tif"
    res = qp(env, "run", str(model) if how == "file" else "sarsense:sar_chain_db_gammamap", "--json",
             f"--input_db={sample_db}", "--window=5", f"--to_db:Despeckled backscatter (dB)={out}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.exists() and np.isfinite(read_raster(out)).mean() > 0.99


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


def test_without_onnxruntime_the_plugin_loads_and_says_what_to_install(env, sample_db, tmp_path):
    """QGIS's Python alone (no SARSense package folder): SAR preparation runs, applymodel explains."""
    bare = dict(env, SARSENSE_DEPS_DIR=str(tmp_path / "empty"))
    res = qp(bare, "list")
    assert res.returncode == 0 and "sarsense:applymodel" in res.stdout and "sarsense:despeckle" in res.stdout
    out = tmp_path / "lin.tif"
    assert run_json(bare, "convertunits", INPUT=sample_db, CONVERSION=1, OUTPUT=out)["results"]["OUTPUT"]
    res = qp(bare, "run", "sarsense:applymodel", f"--INPUT={out}", f"--MODEL={tmp_path / 'x.onnx'}",
             f"--OUTPUT={tmp_path / 'y.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "Traceback" not in text
    assert "needs onnxruntime" in text and "make setup" in text
