"""Crop mapping headless: the algorithms through qgis_process.bin --json."""

import csv
import json
import re

import numpy as np
import pytest
from helpers import REPO, read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, run_json

from sarsense.algorithms.crop import threshold
from sarsense.algorithms.io import stack as _stack
from sarsense.algorithms.io.raster import read_class_table
from sarsense.simulators import rice_landscape as rl

pytestmark = needs_qgis_process
DATES = ["2017-01-21", "2017-03-10", "2017-03-22"]


def test_water_normalized_headless_and_its_refusal(env, tmp_path):
    rng = np.random.default_rng(12)
    db = rng.normal(-15, 1.0, (3, 40, 50)).astype(np.float32)
    db[:, 30:, :] = rng.normal(-26, 0.5, (3, 10, 50))
    src = write_raster(tmp_path / "vh.tif", db, descriptions=DATES, nodata=float("nan"))
    res = qp(env, "run", "sarsense:waternormalized", "--json", f"--INPUT={src}", "--INPUT_UNITS=1",
             f"--OUTPUT={tmp_path / 'n.tif'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads(res.stdout[res.stdout.index("{"):])["results"]["OUTPUT"]
    got = read_raster(out)
    assert _stack.band_dates(out) == DATES
    lin = 10 ** (db / 10)
    t = lin[:, 30:, :].mean(axis=(1, 2))
    np.testing.assert_allclose(got, (lin - t[:, None, None]) / (lin + t[:, None, None]), rtol=1e-4, atol=1e-5)
    ds = gdal.Open(out)
    assert int(ds.GetRasterBand(3).GetMetadataItem("WATER_PIXELS")) == 500
    bad = qp(env, "run", "sarsense:waternormalized", f"--INPUT={src}", "--AUTO_WATER_DB=-35",
             f"--OUTPUT={tmp_path / 'none.tif'}")
    assert bad.returncode != 0 and "no water pixels were found" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr and not (tmp_path / "none.tif").exists()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("rice_qp")
    sc = rl.write_scene(out, rows=140, cols=140, seed=7, reference_points=250)
    sc["dir"] = out
    return sc


def test_rice_algorithms_headless_with_number_outputs(env, scene, tmp_path):
    d = scene["dir"]
    vh = qp(env, "run", "sarsense:buildstack", "--json", *[f"--INPUTS={p}" for p in scene["paths"]["vh"]],
            f"--OUTPUT={d / 'vh.tif'}")
    assert vh.returncode == 0, vh.stdout[-2000:] + vh.stderr[-2000:]
    ndvh = run_json(env, "waternormalized", INPUT=d / "vh.tif", INPUT_UNITS=1, WATER=scene["paths"]["water"],
                    OUTPUT=tmp_path / "ndvh.tif")["results"]["OUTPUT"]
    sep = run_json(env, "separability", INPUT=ndvh, TRAINING=scene["paths"]["training"], CLASS_FIELD="class",
                   TARGET_CLASS="early rice", OUTPUT_TABLE=tmp_path / "jm.csv", OUTPUT_HTML=tmp_path / "jm.html")
    with open(sep["results"]["OUTPUT_TABLE"], newline="") as f:
        rows = list(csv.DictReader(f))
    classes = {r["class_b"] for r in rows}
    assert len(rows) == 18 * len(classes) and len(classes) >= 5 and {r["class_a"] for r in rows} == {"early rice"}
    svm = run_json(env, "svmclassify", INPUT=ndvh, TRAINING=scene["paths"]["training"], CLASS_FIELD="code",
                   OUTPUT=tmp_path / "svm.tif", OUTPUT_MODEL=tmp_path / "svm.npz", OUTPUT_REPORT=tmp_path / "s.html")
    r = svm["results"]
    assert "Training data: &#x27;training&#x27; (" in open(r["OUTPUT_REPORT"], encoding="utf-8").read()    # named
    assert 0 < r["OA"] <= 1 and 0 < r["KAPPA"] <= 1 and set(np.unique(read_raster(r["OUTPUT"]))) <= set(range(1, 9))
    again = run_json(env, "svmapply", INPUT=ndvh, MODEL=r["OUTPUT_MODEL"], OUTPUT=tmp_path / "again.tif")
    assert (read_raster(again["results"]["OUTPUT"]) == read_raster(r["OUTPUT"])).all()
    rice = run_json(env, "ricethreshold", NDVH=ndvh, SEASON_START="2019-03-10", SEASON_END="2019-04-27",
                    WATER_DATE="2019-01-21", OUTPUT=tmp_path / "rice.tif", OUTPUT_DATE=tmp_path / "doy.tif")["results"]
    x = read_raster(ndvh)
    want, _ = threshold.rice_rule(x, [5, 6, 7, 8, 9], water_date=1)
    assert (read_raster(rice["OUTPUT"])[0] == want).all() and rice["RICE_PIXELS"] == int((want == 1).sum())
    acc = run_json(env, "accuracyassessment", CLASSIFIED=rice["OUTPUT"], REFERENCE=scene["paths"]["reference"],
                   CLASS_FIELD="rice", OUTPUT_TABLE=tmp_path / "acc.csv", OUTPUT_HTML=tmp_path / "acc.html")
    assert 0.8 < acc["results"]["OA"] <= 1 and 0 < acc["results"]["KAPPA"] <= 1
    # text reference classes ('early rice', 'water' …) that the rice map does not hold: a message, no traceback
    bad = qp(env, "run", "sarsense:accuracyassessment", f"--CLASSIFIED={rice['OUTPUT']}",
             f"--REFERENCE={scene['paths']['reference']}", "--CLASS_FIELD=class",
             f"--OUTPUT_TABLE={tmp_path / 'b.csv'}", f"--OUTPUT_HTML={tmp_path / 'b.html'}")
    text = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "are not among the map's classes" in text and "Traceback" not in text
    assert not (tmp_path / "b.csv").exists()


def test_rice_chain_model3_runs_headless(env, scene, tmp_path):
    model = REPO / "resources" / "workflows" / "rice_mapping.model3"
    args = [f"--vh_scenes={p}" for p in scene["paths"]["vh"]]
    res = qp(env, "run", "sarsense:rice_mapping", "--json", *args, f"--water={scene['paths']['water']}",
             "--season_start=2019-03-10", "--season_end=2019-04-27", "--water_date=2019-01-21", "--min_field_px=10",
             f"--reference={scene['paths']['reference']}", "--reference_field=rice", "--reported_ha=1=40",
             f"--sieve:Rice map={tmp_path / 'rice.tif'}", f"--rule:Transplanting day of year={tmp_path / 'doy.tif'}",
             f"--accuracy:Accuracy and area table={tmp_path / 'acc.csv'}",
             f"--accuracy:Accuracy report={tmp_path / 'acc.html'}")
    assert model.exists() and res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with open(tmp_path / "acc.csv", newline="") as f:
        rows = {int(r["code"]): r for r in csv.DictReader(f)}
    assert float(rows[1]["PA"]) > 0.85 and float(rows[1]["UA"]) > 0.85       # simulated skill, filtered stack
    assert float(rows[1]["reported_ha"]) == 40 and "Confusion matrix" in (tmp_path / "acc.html").read_text()
    truth = scene["classes"] == rl.RICE
    got = read_raster(tmp_path / "rice.tif")[0]
    assert ((got == 1) == truth).mean() > 0.9
    # the workflow's main result (after the sieve) keeps the rice map's class names and colours, and is sieved
    classes = read_class_table(str(tmp_path / "rice.tif"))
    assert [(c["value"], c["name"]) for c in classes] == [(0, "not rice"), (1, "rice")]
    info = gdal.Info(str(tmp_path / "rice.tif"))       # what any GIS reads: GDAL's category names and colours
    assert re.search(r"Categories:\s+0: not rice\s+1: rice", info) and "Color Table" in info
    assert "SIEVE_MIN_PIXELS=10" in info and "SEASON=2019-03-10/2019-04-27" in info
