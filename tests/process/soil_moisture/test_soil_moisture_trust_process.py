"""Soil moisture, nothing silently wrong (issue 27), through qgis_process.bin --json: a calibration the paper's
model does not admit is flagged and its map says so; the Water Cloud Model has no pretend defaults and says
which term made its NaN; change detection says when its percentile fields were ignored; reports name the
samples layer."""

import json

import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster
from process_helpers import needs_qgis_process, ok, refused, run_json

from sarsense.simulators import soil_moisture_s1

pytestmark = needs_qgis_process
RAAM = REPO / "resources" / "sample_data" / "soil_moisture_raam"
NDVI_DIR = REPO / "resources" / "sample_data" / "landsat_ndvi_bolivia"


@pytest.fixture(scope="module")
def demo_samples(env, tmp_path_factory):
    """The samples `make demo` calibrates on: Sentinel-1 simulated over the Raam stations (Oh 2004 under the
    Water Cloud Model, 12-day repeat), extracted at the 14 stations."""
    tmp = tmp_path_factory.mktemp("smt")
    p = soil_moisture_s1.scene(tmp / "scene", step_days=12)["paths"]
    imp = ok(env, "importismn", f"--INPUT={RAAM}", f"--OUTPUT_STATIONS={tmp / 'st.gpkg'}",
             f"--OUTPUT_VALUES={tmp / 'values.csv'}")
    ext = ok(env, "extractstations", f"--STATIONS={imp['OUTPUT_STATIONS']}", f"--VALUES={imp['OUTPUT_VALUES']}",
             f"--RASTERS={p['VV']}", f"--RASTERS={p['NDVI']}", f"--RASTERS={p['theta']}",
             f"--OUTPUT={tmp / 'demo_samples.gpkg'}")
    return {"tmp": tmp, "paths": p, "samples": ext["OUTPUT"]}


def test_an_implausible_calibration_is_flagged_and_its_map_says_so(env, demo_samples):
    t = demo_samples["tmp"]
    out = run_json(env, "calibratevegetationcd", f"--SAMPLES={demo_samples['samples']}",
                   f"--OUTPUT_PARAMS={t / 'p.json'}", f"--OUTPUT_HTML={t / 'cal.html'}")
    res, log = out["results"], json.dumps(out, ensure_ascii=False)
    # the numbers: β < 0 and the corrected method worse than the classic one on the held-out samples
    assert res["BETA"] < 0 and res["RMSE_CORRECTED"] > res["RMSE_CLASSIC"]
    assert res["FLAGS"].split(",") == ["beta_negative", "corrected_worse"]
    assert "Calibration flagged: β = " in log and "does worse than the classic one" in log
    params = json.loads((t / "p.json").read_text())
    assert [f["code"] for f in params["flags"]] == ["beta_negative", "corrected_worse"]
    html = (t / "cal.html").read_text()
    assert html.count('class="note"') >= 2 and "calibration flagged" in html and "physically implausible" in html
    assert "demo_samples" in html and str(demo_samples["samples"]) in html   # the samples layer, by name and source
    # the map made with it warns, flag by flag
    p = demo_samples["paths"]
    out = run_json(env, "vegetationcd", f"--VV={p['VV']}", f"--V1={p['NDVI']}", f"--PARAMS={t / 'p.json'}",
                   f"--OUTPUT={t / 'vcd.tif'}")
    log = json.dumps(out, ensure_ascii=False)
    assert log.count("Calibration flagged") == 2 and "do not trust it" in log


def test_typed_in_alpha_beta_of_the_wrong_sign_are_warned_about(env, demo_samples):
    p, t = demo_samples["paths"], demo_samples["tmp"]
    out = run_json(env, "vegetationcd", f"--VV={p['VV']}", f"--V1={p['NDVI']}", "--ALPHA=20", "--BETA=-5",
                   f"--OUTPUT={t / 'typed.tif'}")
    assert "α and β flagged: β = -5 < 0" in json.dumps(out, ensure_ascii=False)
    out = run_json(env, "vegetationcd", f"--VV={p['VV']}", f"--V1={p['NDVI']}", "--ALPHA=20", "--BETA=5",
                   f"--OUTPUT={t / 'typed2.tif'}")
    assert "flagged" not in json.dumps(out, ensure_ascii=False)
