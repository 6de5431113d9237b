"""Issue #7 (hardening) through qgis_process.bin as a user runs it: bad inputs give a message and no output."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
from helpers import speckled, write_raster
from process_helpers import QGIS_PROCESS, needs_qgis_process, qp, refusal

pytestmark = needs_qgis_process


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


def test_db_above_385_is_not_written_as_inf(env, tmp_path):
    arr = np.random.default_rng(0).normal(-12, 3, (50, 50)).astype(np.float32)
    arr[:5, :5] = 500.0
    src = write_raster(tmp_path / "db.tif", arr)
    res = qp(env, "run", "sarsense:convertunits", f"--INPUT={src}", "--CONVERSION=1", f"--OUTPUT={tmp_path / 'l.tif'}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "25 pixels had no linear power value (above 385 dB" in res.stdout + res.stderr
    from helpers import read_raster
    got = read_raster(tmp_path / "l.tif")[0]
    assert not np.isinf(got).any() and np.isnan(got[:5, :5]).all()


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
