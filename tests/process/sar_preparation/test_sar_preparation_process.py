"""SAR preparation headless: qgis_process.bin --json, results equal to the core, the shipped chain."""

import os

import numpy as np
import pytest
from helpers import REPO, read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, refusal, run, run_json

from sarsense.algorithms import sar
from sarsense.algorithms.io import stack
from sarsense.algorithms.sar import speckle

pytestmark = needs_qgis_process


def test_despeckle_json(env, sample_db, tmp_path):
    out = tmp_path / "gm_db.tif"
    doc = run_json(env, "despeckle", INPUT=sample_db, FILTER=4, SIZE=5, INPUT_UNITS=1, LOOKS=1, OUTPUT=out)
    assert doc["algorithm_details"]["id"] == "sarsense:despeckle"
    assert doc["results"]["OUTPUT"] == str(out)
    assert "Band 1: ENL 1, given." in doc["log"]["info"]
    expected = sar.linear_to_db(speckle.gamma_map(sar.db_to_linear(read_raster(sample_db)[0])[0], size=5))[0]
    np.testing.assert_allclose(read_raster(out)[0], expected, rtol=1e-5, atol=1e-4)


def _speckled_db(tmp_path, looks, *, meta=None, name="s.tif"):
    """A 600² dB scene of flat fields (one level per 100 px square) under gamma speckle of ``looks`` looks."""
    rng = np.random.default_rng(3)
    levels = rng.uniform(0.02, 0.2, (6, 6)).repeat(100, axis=0).repeat(100, axis=1)
    db = sar.linear_to_db((levels * rng.gamma(looks, 1.0 / looks, levels.shape)).astype(np.float32))[0]
    path = write_raster(tmp_path / name, db)
    if meta:
        ds = gdal.Open(path, gdal.GA_Update)
        ds.SetMetadata(meta)
        ds = None
    return path


def test_despeckle_enl_comes_from_the_product_or_the_image_and_the_log_says_which(env, tmp_path):
    """Issue #27: the default ENL (0) is the product's (the Sentinel-1 import writes 4.4 for IW GRDH, ESA's product
    specification), else estimated from the image; the log says which and where from (it used to be 1 silently)."""
    db = read_raster(_speckled_db(tmp_path, 4.4))[0]
    lin = sar.db_to_linear(db)[0]
    # the importer's metadata
    src = _speckled_db(tmp_path, 4.4, meta={"ENL": "4.4", "ENL_SOURCE": "Sentinel-1 product specification, IW GRDH"},
                       name="grdh.tif")
    doc = run_json(env, "despeckle", INPUT=src, FILTER=1, SIZE=5, OUTPUT=tmp_path / "a.tif")
    assert ("Band 1: ENL 4.4, the input's metadata (Sentinel-1 product specification, IW GRDH)."
            in doc["log"]["info"])
    np.testing.assert_allclose(read_raster(tmp_path / "a.tif")[0],
                               sar.linear_to_db(speckle.lee(lin, size=5, looks=4.4))[0], rtol=1e-5, atol=1e-4)
    # the filtered output no longer claims the product's ENL; it says what filtered it
    meta = gdal.Open(str(tmp_path / "a.tif")).GetMetadata()
    assert not meta.get("ENL") and meta["DESPECKLE"] == "lee 5×5, ENL 4.4"
    # no metadata: estimated from the image, close to the speckle's 4.4 looks
    src = _speckled_db(tmp_path, 4.4, name="plain.tif")
    doc = run_json(env, "despeckle", INPUT=src, FILTER=1, SIZE=5, OUTPUT=tmp_path / "b.tif")
    line = next(t for t in doc["log"]["info"] if t.startswith("Band 1: ENL"))
    enl = float(line.split()[3].rstrip(","))
    assert "estimated from the image" in line and 4.0 < enl < 4.8
    np.testing.assert_allclose(read_raster(tmp_path / "b.tif")[0],
                               sar.linear_to_db(speckle.lee(lin, size=5, looks=enl))[0], rtol=1e-4, atol=1e-3)
    # too small to estimate: refused with what to set
    tiny = write_raster(tmp_path / "tiny.tif", db[:40, :40])
    refusal(run(env, "despeckle", INPUT=tiny, FILTER=1, OUTPUT=tmp_path / "c.tif"), "too few usable 9×9 windows",
            "set Equivalent number of looks (ENL) (LOOKS)")
    assert not (tmp_path / "c.tif").exists()


def test_chain_and_stack(env, sample_db, stack_files, tmp_path):
    lin = run_json(env, "convertunits", INPUT=sample_db, CONVERSION=1, OUTPUT=tmp_path / "lin.tif")["results"]["OUTPUT"]
    lee = run_json(env, "despeckle", INPUT=lin, FILTER=1, SIZE=7, LOOKS=4.4, INPUT_UNITS=0, OUTPUT=tmp_path / "lee.tif")
    assert os.path.exists(lee["results"]["OUTPUT"])
    doc = run_json(env, "buildstack", INPUTS=stack_files[0], RESAMPLING=0, OUTPUT=tmp_path / "one.tif")
    assert doc["results"]["DATES"] == "2015-12-30"


@pytest.mark.parametrize("how", ["file", "id"])
def test_model3_runs_headless(env, sample_db, tmp_path, how):
    model = REPO / "resources" / "workflows" / "sar_chain_db_gammamap.model3"
    out = tmp_path / "m.tif"
    res = qp(env, "run", str(model) if how == "file" else "sarsense:sar_chain_db_gammamap", "--json",
             f"--input_db={sample_db}", "--window=5", f"--to_db:Despeckled backscatter (dB)={out}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.exists() and np.isfinite(read_raster(out)).mean() > 0.99
    assert stack.band_dates(out) == ["2015-03-09"], "the workflow keeps the scene's date (from its file name)"


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
