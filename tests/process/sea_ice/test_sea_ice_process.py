"""The sea-ice suite headless: every algorithm through qgis_process.bin --json, and the sea_ice_chart.model3 chain."""

import csv
import json

import numpy as np
import pytest
from helpers import REPO
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, run_json

from sarsense.algorithms import metrics
from sarsense.algorithms.sea_ice import pipeline
from sarsense.simulators import sea_ice_scenes as sim

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("sic_qp")
    s = sim.simulate((512, 512), seed=10)
    paths = sim.write_scene(d, s, name="s")
    paths["polygons"] = sim.chart_polygons(d / "chart.gpkg", s)
    return s, paths


def test_receptive_field_headless_in_both_modes(env):
    paper = [run_json(env, "unetreceptivefield", LEVELS=n, UPSAMPLING=0)["results"] for n in range(2, 9)]
    assert [r["RF"] for r in paper] == [44, 92, 188, 380, 764, 1532, 3068]
    assert [r["ENCODER_RF"] for r in paper] == [32, 68, 140, 284, 572, 1148, 2300]
    assert run_json(env, "unetreceptivefield", LEVELS=8, UPSAMPLING=1)["results"]["RF"] == 3580
    bad = qp(env, "run", "sarsense:unetreceptivefield", "--KERNEL=4")
    assert bad.returncode != 0 and "must be odd" in bad.stdout + bad.stderr


def test_chart_classes_and_skill_headless(env, scene, tmp_path):
    s, p = scene
    res = run_json(env, "seaiceconcentration", HH=p["hh"], HV=p["hv"], OUTPUT=tmp_path / "sic.tif",
                   OUTPUT_EXPECTED=tmp_path / "exp.tif")
    assert any("Full scene in one piece" in line for line in res["log"]["info"])
    sic = gdal.Open(str(tmp_path / "sic.tif")).ReadAsArray()
    exp = gdal.Open(str(tmp_path / "exp.tif")).ReadAsArray()
    assert sic.shape == (256, 256) and set(np.unique(sic)) <= set(range(11)) | {255}
    assert np.array_equal(sic == 255, np.isnan(exp)) and np.nanmin(exp) >= 0 and np.nanmax(exp) <= 100
    ref = run_json(env, "icechartclasses", CHART=p["polygons"], REFERENCE=tmp_path / "sic.tif",
                   OUTPUT=tmp_path / "ref.tif")["results"]["OUTPUT"]
    got = run_json(env, "seaiceskill", PREDICTED=tmp_path / "sic.tif", REFERENCE=ref, OUTPUT_TABLE=tmp_path / "k.csv",
                   OUTPUT_HTML=tmp_path / "k.html")["results"]
    r = gdal.Open(ref).ReadAsArray()
    m = metrics.confusion_counts(r, sic, 11)
    want = pipeline.skill(m)
    assert got["R2"] == pytest.approx(want["r2"]) and got["F1_WEIGHTED"] == pytest.approx(want["f1_weighted"])
    assert got["ACCURACY"] == pytest.approx(want["accuracy"])
    with open(tmp_path / "k.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 11 and sum(int(row["reference_px"]) for row in rows) == m.sum()
    assert [int(rows[3][f"ref_{j}"]) for j in range(11)] == m[3].tolist()
    assert "Confusion matrix" in (tmp_path / "k.html").read_text()
    # the chart on the 40 m grid scores the 80 m prediction too (put on its grid by majority)
    fine = run_json(env, "seaiceskill", PREDICTED=tmp_path / "sic.tif", REFERENCE=p["chart"],
                    OUTPUT_TABLE=tmp_path / "f.csv", OUTPUT_HTML=tmp_path / "f.html")
    assert any("another grid" in line for line in fine["log"]["info"])


def test_tiled_mode_and_a_refusal_headless(env, scene, tmp_path):
    _, p = scene
    full = run_json(env, "seaiceconcentration", HH=p["hh"], HV=p["hv"], MODE=0, OUTPUT=tmp_path / "f.tif")
    tiled = run_json(env, "seaiceconcentration", HH=p["hh"], HV=p["hv"], MODE=1, OUTPUT=tmp_path / "t.tif")
    assert any("Tiled:" in line for line in tiled["log"]["info"]) and full["results"]["OUTPUT"]
    a, b = (gdal.Open(str(tmp_path / n)).ReadAsArray() for n in ("f.tif", "t.tif"))
    assert np.mean(a == b) >= 0.999
    bad = qp(env, "run", "sarsense:seaiceconcentration", f"--HV={p['hv']}", f"--OUTPUT={tmp_path / 'x.tif'}")
    text = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "Give HH as well" in text and "Traceback" not in text
    assert not (tmp_path / "x.tif").exists()


def test_sea_ice_chain_model3_runs_headless(env, scene, tmp_path):
    _, p = scene
    model = REPO / "resources" / "workflows" / "sea_ice_chart.model3"
    res = qp(env, "run", "sarsense:sea_ice_chart", "--json", f"--hh={p['hh']}", f"--hv={p['hv']}",
             f"--ice_chart={p['polygons']}", "--mode=1", f"--chart:SIC chart (U-Net)={tmp_path / 'sic.tif'}",
             f"--reference:SIC chart (analyst)={tmp_path / 'ref.tif'}", f"--skill:Skill per class={tmp_path / 's.csv'}",
             f"--skill:Skill report={tmp_path / 's.html'}")
    assert model.exists() and res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads(res.stdout[res.stdout.index("{"):])["results"]
    assert (tmp_path / "s.csv").exists() and "R²" in (tmp_path / "s.html").read_text()
    assert out["skill:Skill report"].endswith("s.html")


def test_the_demonstration_model_says_so_in_the_log_the_legend_and_the_report(env, scene, tmp_path):
    """Issue #27: the bundled model's card says 'demonstration' (its Status line); its chart says so in the band
    description (QGIS's legend title), the log says what it was trained on, and the skill report says so."""
    _, p = scene
    res = run_json(env, "seaiceconcentration", HH=p["hh"], HV=p["hv"], OUTPUT=tmp_path / "sic.tif",
                   OUTPUT_EXPECTED=tmp_path / "exp.tif")
    warnings = " ".join(res["log"]["warning"])
    assert "DEMONSTRATION model" in warnings and "trained on simulated Sentinel-1 EW scenes" in warnings
    assert any("trained on: simulated" in line for line in res["log"]["info"])
    for name in ("sic.tif", "exp.tif"):
        ds = gdal.Open(str(tmp_path / name))
        assert "(demonstration model)" in ds.GetRasterBand(1).GetDescription()
        assert ds.GetMetadataItem("SARSENSE_MODEL_STATUS") == "demonstration"
    ref = run_json(env, "icechartclasses", CHART=p["polygons"], REFERENCE=tmp_path / "sic.tif",
                   OUTPUT=tmp_path / "ref.tif")["results"]["OUTPUT"]
    skill = run_json(env, "seaiceskill", PREDICTED=tmp_path / "sic.tif", REFERENCE=ref,
                     OUTPUT_TABLE=tmp_path / "k.csv", OUTPUT_HTML=tmp_path / "k.html")
    assert any("DEMONSTRATION model" in line for line in skill["log"]["warning"])
    html = (tmp_path / "k.html").read_text()
    assert "<h1>Sea-ice chart skill (demonstration model)</h1>" in html and "DEMONSTRATION model trained on" in html
    # the reference chart (no model made it) scored against itself: no such words
    run_json(env, "seaiceskill", PREDICTED=ref, REFERENCE=ref, OUTPUT_TABLE=tmp_path / "r.csv",
             OUTPUT_HTML=tmp_path / "r.html")
    assert "DEMONSTRATION" not in (tmp_path / "r.html").read_text()
    assert "skill (demonstration model)" not in (tmp_path / "r.html").read_text()
