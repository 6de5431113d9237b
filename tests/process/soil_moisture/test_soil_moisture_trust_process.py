"""Soil moisture, nothing silently wrong (issue 27), through qgis_process.bin --json: a calibration the paper's
model does not admit is flagged and its map says so; the Water Cloud Model's defaults are the literature's and
say so (issue 29), and it says which term made its NaN; change detection says when its percentile fields were
ignored; reports name the samples layer."""

import json

import numpy as np
import pytest
from helpers import REPO, read_raster
from process_helpers import bolivia_series, needs_qgis_process, ok, refusal, refused, run, run_json

from sarsense.simulators import soil_moisture_s1

pytestmark = needs_qgis_process
RAAM = REPO / "resources" / "sample_data" / "soil_moisture_raam"


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
    # a parameters file without flags (by hand, or an older version) is checked when read
    (t / "hand.json").write_text(json.dumps({"alpha": 6.1, "beta": -11.3}))
    out = run_json(env, "vegetationcd", f"--VV={p['VV']}", f"--V1={p['NDVI']}", f"--PARAMS={t / 'hand.json'}",
                   f"--OUTPUT={t / 'hand.tif'}")
    assert "Calibration flagged: β = -11.3 < 0" in json.dumps(out, ensure_ascii=False)


# -- the Water Cloud Model: no pretend defaults, and the log names the term that made σ°_soil NaN -----------------
@pytest.fixture(scope="module")
def bolivia(env, tmp_path_factory):
    """The bundled Bolivia VV series and Landsat NDVI interpolated onto its dates (as the docs' example)."""
    tmp = tmp_path_factory.mktemp("smb")
    return {"tmp": tmp, **bolivia_series(env, tmp)}


def _wcm(env, bolivia, name, *args):
    t = bolivia["tmp"]
    return run_json(env, "watercloud", f"--INPUT={bolivia['vv']}", f"--NDVI={bolivia['ndvi']}", "--INCIDENCE=39",
                    *args, f"--OUTPUT_SOIL={t / (name + '_soil.tif')}", f"--OUTPUT_VEG={t / (name + '_veg.tif')}")


def test_water_cloud_defaults_are_the_literature_ones_and_say_so(env, bolivia):
    # issue 29: A and B default to Prévot et al. 1993 (wheat, C band, LAI as descriptor); a run on them says so and
    # where to get better ones. On the Bolivia series they leave no pixel-date NaN for σ° ≤ σ°_veg (A = 0: the
    # canopy's own backscatter is not significant at C band), where A = 0.05, B = 0.1 leave some (25-48 % on the
    # issue's crop series)
    t = bolivia["tmp"]
    log = json.dumps(_wcm(env, bolivia, "defaults")["log"], ensure_ascii=False)
    assert "literature default of Prévot et al. 1993" in log and "Calibrate Water Cloud Model" in log
    assert "σ° ≤ σ°_veg (no soil term, NaN) on 0.0 %" in log
    old = json.dumps(_wcm(env, bolivia, "old", "--A=0.05", "--B=0.1")["log"], ensure_ascii=False)
    assert "pixel-dates have σ° ≤ σ°_veg" in old, old      # 103 pixel-dates on this forest/clearing series
    assert "literature default" not in old
    refused(env, "watercloud", f"--INPUT={bolivia['vv']}", f"--NDVI={bolivia['ndvi']}", "--INCIDENCE=39", "--A=0",
            "--B=0", f"--OUTPUT_SOIL={t / 'x.tif'}", match="no vegetation term at all")
    assert not (t / "x.tif").exists()


def test_water_cloud_says_which_term_made_the_soil_term_nan(env, bolivia):
    # A = B = 1 (the equations as printed): σ°_veg above σ° everywhere, so no soil term anywhere: refused (issue 28:
    # no all-NaN map), the refusal blaming A, with the bound, not B; nothing written
    t = bolivia["tmp"]
    args = (f"--INPUT={bolivia['vv']}", f"--NDVI={bolivia['ndvi']}", "--INCIDENCE=39")
    log = refusal(run(env, "watercloud", *args, "--A=1", "--B=1", f"--OUTPUT_SOIL={t / 'printed_soil.tif'}",
                      f"--OUTPUT_VEG={t / 'printed_veg.tif'}"), "every pixel of σ°_soil would be NaN")
    assert "σ°_soil is NaN on 100 % of the pixel-dates that have a σ°" in log
    assert "A = 1 is too high for these data" in log and "so it is not the main cause" in log
    assert not (t / "printed_soil.tif").exists() and not (t / "printed_veg.tif").exists()
    a_max = float(log.split("for A under about ")[1].split(" ")[0])
    assert 0.02 < a_max < 0.2
    # pixel-dates without NDVI are counted as such, whatever A and B
    assert "have σ° but no NDVI or incidence angle" in log
    # an opaque canopy (B far too high): B is blamed, not A
    log = refusal(run(env, "watercloud", *args, "--A=0.05", "--B=400", f"--OUTPUT_SOIL={t / 'opaque_soil.tif'}"))
    assert "B = 400 makes τ² = exp(−2·B·LAI·sec θ) vanish" in log and "A is not the cause" in log
    # A below that bound leaves a soil term on most pixel-dates, and no alarm
    out = _wcm(env, bolivia, "ok", f"--A={a_max / 2:.4f}", "--B=0.1")
    assert "σ°_soil is NaN on" not in json.dumps(out, ensure_ascii=False)
    soil = read_raster(out["results"]["OUTPUT_SOIL"])
    veg_or_sigma = np.isfinite(read_raster(bolivia["ndvi"])) & np.isfinite(read_raster(bolivia["vv"]))
    assert np.isfinite(soil)[veg_or_sigma].mean() > 0.95


def test_water_cloud_calibration_feeds_the_model(env, demo_samples, bolivia):
    t = demo_samples["tmp"]
    out = run_json(env, "calibratewatercloud", f"--SAMPLES={demo_samples['samples']}",
                   f"--OUTPUT_PARAMS={t / 'wcm.json'}", f"--OUTPUT_HTML={t / 'wcm.html'}")
    res = out["results"]
    # the samples were simulated with A in 0.02-0.06 and B in 0.06-0.16 per field (simulators/soil_moisture_s1.py)
    lo_a, hi_a = soil_moisture_s1.RANGES["a_vv"]
    assert lo_a < res["A"] < hi_a and 0.03 < res["B"] < 0.5 and res["FLAGS"] == ""
    assert res["RMSE_DB"] < 1.5
    params = json.loads((t / "wcm.json").read_text())
    assert params["a"] == res["A"] and params["flags"] == [] and "demo_samples" in params["samples"]
    assert "demo_samples" in (t / "wcm.html").read_text()
    log = json.dumps(_wcm(env, bolivia, "fitted", f"--PARAMS={t / 'wcm.json'}"), ensure_ascii=False)
    assert f"A = {res['A']:g}, B = {res['B']:g}" in log


# -- change detection: percentiles set with the min/max reference change nothing, and the log says so ----------
def test_percentiles_with_the_minmax_reference_are_ignored_and_said_so(env, bolivia):
    t, vv = bolivia["tmp"], bolivia["vv"]
    plain = run_json(env, "changedetection", f"--INPUT={vv}", f"--OUTPUT_INDEX={t / 'i0.tif'}",
                     f"--OUTPUT_SSM={t / 's0.tif'}")
    assert "ignored" not in json.dumps(plain, ensure_ascii=False)
    out = run_json(env, "changedetection", f"--INPUT={vv}", "--REFERENCE=0", "--LOW_PCT=30", "--HIGH_PCT=20",
                   f"--OUTPUT_INDEX={t / 'i1.tif'}", f"--OUTPUT_SSM={t / 's1.tif'}")
    log = json.dumps(out, ensure_ascii=False)
    assert "(LOW_PCT) = 30 and High percentile in % (percentile reference only) (HIGH_PCT) = 20 ignored" in log
    for key in ("OUTPUT_INDEX", "OUTPUT_SSM"):
        np.testing.assert_array_equal(read_raster(out["results"][key]), read_raster(plain["results"][key]))
    # with the percentile reference they are used (and inverted ones refused)
    pct = ok(env, "changedetection", f"--INPUT={vv}", "--REFERENCE=1", "--LOW_PCT=30", "--HIGH_PCT=70",
             f"--OUTPUT_INDEX={t / 'i2.tif'}", f"--OUTPUT_SSM={t / 's2.tif'}")
    assert not np.array_equal(read_raster(pct["OUTPUT_INDEX"]), read_raster(plain["results"]["OUTPUT_INDEX"]),
                              equal_nan=True)
    refused(env, "changedetection", f"--INPUT={vv}", "--REFERENCE=1", "--LOW_PCT=30", "--HIGH_PCT=20",
            f"--OUTPUT_INDEX={t / 'i3.tif'}", f"--OUTPUT_SSM={t / 's3.tif'}", match="must be below")
