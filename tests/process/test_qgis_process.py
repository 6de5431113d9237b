"""SARSense as a user runs it headless: qgis_process.bin with the plugin on QGIS_PLUGINPATH and enabled; bad inputs
give a message and leave no output."""

import os
import signal
import subprocess
import time

import pytest
from helpers import speckled, write_raster
from process_helpers import QGIS_PROCESS, needs_qgis_process, qp, refusal, run_json

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


def test_bad_input_is_a_message_not_a_traceback(env, sample_db, tmp_path):
    res = qp(env, "run", "sarsense:despeckle", f"--INPUT={sample_db}", "--FILTER=1", "--INPUT_UNITS=0",
             f"--OUTPUT={tmp_path / 'o.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "looks like dB" in text and "Traceback" not in text
    assert not (tmp_path / "o.tif").exists()


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


@pytest.mark.parametrize("name,needle", [("out.png", "extension '.png'"), ("out.asc", "extension '.asc'"),
                                         ("out", "has no extension")])
def test_output_extensions_other_than_tif(env, sample_db, tmp_path, name, needle):
    res = qp(env, "run", "sarsense:convertunits", f"--INPUT={sample_db}", "--CONVERSION=1",
             f"--OUTPUT={tmp_path / name}")
    text = refusal(res, needle, str(tmp_path / name))
    assert ".partial-" not in text
    assert sorted(os.listdir(tmp_path)) == []


def test_nan_looks_damaged_file_and_folder_output(env, sample_db, tmp_path):
    refusal(qp(env, "run", "sarsense:despeckle", f"--INPUT={sample_db}", "--LOOKS=nan",
               f"--OUTPUT={tmp_path / 'o.tif'}"), "Equivalent number of looks (ENL) (LOOKS) must be a finite number")
    data = open(sample_db, "rb").read()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) * 2 // 3])
    refusal(qp(env, "run", "sarsense:despeckle", f"--INPUT={cut}", f"--OUTPUT={tmp_path / 'o.tif'}"),
            "damaged or incomplete")
    (tmp_path / "folder.tif").mkdir()
    refusal(qp(env, "run", "sarsense:convertunits", f"--INPUT={sample_db}", "--CONVERSION=1",
               f"--OUTPUT={tmp_path / 'folder.tif'}"), "is an existing folder")
    assert sorted(os.listdir(tmp_path)) == ["cut.tif", "folder.tif"]


def test_sigterm_leaves_nothing_behind(env, tmp_path):
    big = write_raster(tmp_path / "big.tif", speckled((3000, 3000)))
    out = tmp_path / "out.tif"
    proc = subprocess.Popen([QGIS_PROCESS, "run", "sarsense:despeckle", f"--INPUT={big}", "--FILTER=6", "--SIZE=9",
                             "--INPUT_UNITS=0", f"--OUTPUT={out}"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while not list(tmp_path.glob("out.tif.partial-*")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob("out.tif.partial-*")), "the run had started writing"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert sorted(os.listdir(tmp_path)) == ["big.tif"]


def test_help_names_labels(env):
    res = qp(env, "help", "sarsense:despeckle")
    assert "Equivalent number of looks (ENL)" in res.stdout and "Input units" in res.stdout
