"""Sea-ice suite core: receptive fields, SIGRID-3 classes, class weights, skill against scikit-learn, preparation."""

import json
import math
import os

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from sklearn.metrics import f1_score, r2_score

from sarsense.algorithms import metrics
from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.io import read_info as rt_info
from sarsense.algorithms.onnx import receptive_field as rf
from sarsense.algorithms.sea_ice import classes, pipeline, sigrid


# --- receptive field (Stokholm et al. 2022, §IV) ----------------------------------------------------------
def test_receptive_field_series_in_both_upsampling_modes():
    # eq. 8 with one coarse pixel per upsampled pixel: "44, 92, 188, 380, 764, 1532, and 3068 for 2–8 levels"
    assert [rf.unet_receptive_field(n, upsampling="nearest") for n in range(2, 9)] == \
        [44, 92, 188, 380, 764, 1532, 3068]
    # bilinear (align_corners=False) reads one more coarse pixel per level: traced exactly
    assert [rf.unet_receptive_field(n, upsampling="bilinear") for n in range(2, 9)] == \
        [52, 108, 220, 444, 892, 1788, 3580]
    assert [rf.unet_encoder_receptive_field(n) for n in range(2, 9)] == [32, 68, 140, 284, 572, 1148, 2300]
    # more convolutions or larger kernels per block: eq. 8 term by term (one level: 2 convs, pool, bridge)
    assert rf.unet_encoder_receptive_field(1, convs_per_block=3, kernel=5) == 1 + 3 * 4 + 1 + 3 * 4 * 2


# --- classes and class weights (§II.B, eq. 1-2) ----------------------------------------------------------
def test_sic_classes_table_and_wmo_colours():
    t = classes.class_table()
    assert [c["value"] for c in t] == list(range(11)) and [c["quantity"] for c in t] == list(range(0, 101, 10))
    assert t[0]["color"] == "#0064ff" and t[3]["color"] == "#8cffa0" and t[5]["color"] == "#ffff00"
    assert t[8]["color"] == "#ff7d07" and t[10]["color"] == "#ff0000"


def test_median_frequency_weights_on_a_toy_histogram():
    # classes 0..3 with 10, 20, 40, 30 valid pixels, class 4 (masked) 1000: frequencies .1 .2 .4 .3, median .25
    w = classes.median_frequency_weights([10, 20, 40, 30, 1000], masked=4)
    np.testing.assert_allclose(w, [2.5, 1.25, 0.625, 0.25 / 0.3, 0.0])
    # an absent class gets weight 0 and does not enter the median: frequencies .5 .5 → median .5
    np.testing.assert_allclose(classes.median_frequency_weights([5, 0, 5, 7], masked=3), [1.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="no unmasked pixel"):
        classes.median_frequency_weights([0, 0, 9], masked=2)


# --- SIGRID-3 (§II.B) ----------------------------------------------------------------------------------
@pytest.mark.parametrize("code,cls", [("00", 0), ("01", 0), ("02", 0), ("10", 1), (50, 5), ("90", 9), ("91", 10),
                                      ("92", 10), ("35", 4), ("46", 5), ("79", 8), ("12", 2), ("89", 9),
                                      ("13", 2), ("98", 255), ("99", 255), ("", 255), (None, 255), (-9, 255),
                                      (35.0, 4)])
def test_sigrid_ct_codes(code, cls):
    assert sigrid.ct_class(code) == cls


def test_sigrid_refuses_unknown_codes_and_knows_every_range():
    for bad in ("95", 100, "3a", 21.5):
        with pytest.raises(ValueError):
            sigrid.ct_class(bad)
    ranges = {k: v for k, v in sigrid.CT_CLASSES.items() if 11 <= k <= 89 and k % 10 > k // 10}
    assert len(ranges) == 36 and all(v == int((k // 10 + k % 10) / 2 + 0.5) for k, v in ranges.items())


def test_percent_and_polygon_types():
    assert [sigrid.percent_class(p) for p in (0, 9.9, 10, 14.9, 15, 55, 94, 95, 100)] == [0, 0, 1, 1, 2, 6, 9, 10, 10]
    with pytest.raises(ValueError, match="outside 0–100"):
        sigrid.percent_class(120)
    assert sigrid.polygon_class("92", poly_type="L") == 255 and sigrid.polygon_class(None, poly_type="N") == 255
    assert sigrid.polygon_class(None, poly_type="W") == 0
    assert sigrid.polygon_class("60", poly_type="I", forms=["03", "08"]) == 10      # fast ice → 100 %
    assert sigrid.polygon_class(64, percent=True) == 6


# --- skill (eq. 7, AutoICE weighted F1) --------------------------------------------------------------------
def test_r2_and_weighted_f1_equal_scikit_learn():
    rng = np.random.default_rng(3)
    ref = rng.choice(11, size=(300, 200), p=np.r_[0.3, np.full(9, 0.04), 0.34])
    pred = np.clip(ref + rng.integers(-2, 3, ref.shape) * (rng.random(ref.shape) < 0.4), 0, 10)
    pred[rng.random(ref.shape) < 0.02] = 7                         # some gross errors
    ref[:5] = 255                                                  # nodata rows left out
    pred[:, :3] = 255
    ok = (ref <= 10) & (pred <= 10)
    m = metrics.confusion_counts(ref, pred, 11)
    assert m.sum() == ok.sum()
    s = pipeline.skill(m)
    assert s["r2"] == pytest.approx(r2_score(10 * ref[ok], 10 * pred[ok]), abs=1e-12)
    assert s["f1_weighted"] == pytest.approx(f1_score(ref[ok], pred[ok], average="weighted"), abs=1e-12)
    assert s["accuracy"] == pytest.approx((ref[ok] == pred[ok]).mean(), abs=1e-12)
    # a class present in the reference but never predicted: F1 0 as in scikit-learn (zero_division)
    r2 = np.array([0, 0, 5, 5, 10])
    p2 = np.array([0, 0, 0, 0, 10])
    m2 = metrics.confusion_counts(r2, p2, 11)
    assert metrics.weighted_f1(m2) == pytest.approx(f1_score(r2, p2, average="weighted", zero_division=0))


def test_skill_counts_block_by_block_equal_the_whole(tmp_path):
    rng = np.random.default_rng(5)
    ref = rng.integers(0, 11, (300, 260)).astype(np.uint8)
    pred = np.where(rng.random(ref.shape) < 0.7, ref, rng.integers(0, 11, ref.shape)).astype(np.uint8)
    ref[40:60] = 255
    a = write_raster(tmp_path / "p.tif", pred[None], nodata=255, dtype=gdal.GDT_Byte)
    b = write_raster(tmp_path / "r.tif", ref[None], nodata=255, dtype=gdal.GDT_Byte)
    m = pipeline.skill_counts(a, b, options=RunOptions(budget_mb=1))
    np.testing.assert_array_equal(m, metrics.confusion_counts(ref, pred, 11))
    with pytest.raises(ValueError, match="no pixel holds a SIC class"):
        pipeline.skill(np.zeros((11, 11)))


# --- preparation (§II.A, §II.C) ----------------------------------------------------------------------------
def test_downsample_mean_in_linear_power_clipped_and_land():
    hh = np.array([[-10, -20, 0, 0], [-10, -20, np.nan, 20]], np.float32)       # dB
    hv = np.full_like(hh, -40)
    land = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], np.float32)
    out = pipeline.downsample_kernel(units="db", factor=2)(np.stack([hh, hv]))
    assert out.shape == (2, 1, 2)
    assert out[0, 0, 0] == pytest.approx(10 * np.log10((0.1 + 0.01) / 2), abs=1e-5)   # not the dB mean (−15)
    assert out[0, 0, 1] == pytest.approx(10.0)                                         # 20 dB clipped to +10
    assert out[1, 0, 0] == -30.0                                                       # −40 dB clipped to −30
    masked = pipeline.downsample_kernel(units="db", factor=2, land_band=True)(np.stack([hh, hv, land]))
    assert np.isnan(masked[:, 0, 1]).all() and np.isfinite(masked[:, 0, 0]).all()
    lin = pipeline.downsample_kernel(units="linear", factor=2)(np.stack([10 ** (hh / 10), 10 ** (hv / 10)]))
    np.testing.assert_allclose(lin, out, atol=1e-4)
    neg = pipeline.downsample_kernel(units="linear", factor=1)(np.array([[[-0.001]], [[0.5]]], np.float32))
    assert neg[0, 0, 0] == -30.0                                     # power ≤ 0 after noise removal: the floor


def test_prepare_writes_the_network_input_and_refuses_an_empty_scene(tmp_path):
    rng = np.random.default_rng(2)
    db = rng.normal(-18, 3, (2, 90, 70)).astype(np.float32)
    src = write_raster(tmp_path / "hhhv.tif", db, nodata=float("nan"))
    res = pipeline.prepare([src], str(tmp_path / "prep.tif"), factor=2, options=RunOptions(budget_mb=1))
    got = read_raster(tmp_path / "prep.tif")
    assert got.shape == (2, 45, 35) and res["valid"] == 45 * 35
    np.testing.assert_allclose(got, pipeline.downsample_kernel(factor=2)(db), atol=1e-5)
    empty = write_raster(tmp_path / "nan.tif", np.full((2, 20, 20), np.nan, np.float32), nodata=float("nan"))
    with pytest.raises(ValueError, match="no valid pixel"):
        pipeline.prepare([empty], str(tmp_path / "none.tif"))
    assert not (tmp_path / "none.tif").exists()
    one = write_raster(tmp_path / "one.tif", db[:1], nodata=float("nan"))
    with pytest.raises(ValueError, match="need HH and HV"):
        pipeline.prepare([one], str(tmp_path / "x.tif"))


def test_contract_of_the_bundled_model_is_a_sea_ice_model():
    from sarsense.algorithms import onnx as rt

    model = rt.Model(rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx")
    pipeline.check_model(model)
    c = model.contract
    assert c.receptive_field == rf.unet_receptive_field(int(np.log2(c.size_multiple)), upsampling="bilinear")
    assert 2 * c.halo + c.halo // 2 >= c.receptive_field / 2          # tiles overlap by ≥ half the RF
    assert [k.quantity for k in c.classes] == list(range(0, 101, 10)) and c.expectation[1] == "%"
    assert json.loads(json.dumps(c.norm_offset)) and c.nodata_fill == 0.0
    # min_max [-30, 10] dB → [-1, 1]
    np.testing.assert_allclose((np.array([-30.0, 10.0]) - c.norm_offset[0]) / c.norm_scale[0], [-1, 1])


def test_full_scene_and_tiled_charts_agree_for_the_bundled_model(tmp_path):
    """The issue's bar: ≥ 99.9 % of pixels equal, on a simulated scene large enough for 3×3 tiles."""


    from sarsense.algorithms import onnx as rt
    from sarsense.simulators import sea_ice_scenes as sim

    s = sim.simulate((2048, 2048), seed=11)
    paths = sim.write_scene(tmp_path, s, name="big")
    prep = str(tmp_path / "prep.tif")
    pipeline.prepare([paths["hh"], paths["hv"]], prep)
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx")
    full = pipeline.chart(model, prep, str(tmp_path / "full.tif"), mode="full", options=RunOptions(budget_mb=4096))
    tiled = pipeline.chart(model, prep, str(tmp_path / "tiled.tif"), mode="tiled", expected=str(tmp_path / "e.tif"))
    assert full["mode"] == "full" and tiled["mode"] == "tiled" and tiled["tiles"] >= 9
    a = gdal.Open(str(tmp_path / "full.tif")).ReadAsArray()
    b = gdal.Open(str(tmp_path / "tiled.tif")).ReadAsArray()
    assert a.shape == (1024, 1024) and np.mean(a == b) >= 0.999
    # full mode that does not fit the budget runs tiled and says what budget it would need
    said = []
    small = pipeline.chart(model, prep, str(tmp_path / "small.tif"), mode="full", log=said.append,
                           options=RunOptions(budget_mb=512))
    assert small["mode"] == "tiled" and "Raise the budget to at least" in said[0]
    named = int(said[0].split("at least ")[1].split(" MiB")[0])       # the budget the message names is enough
    assert named == math.ceil(pipeline.full_scene_budget_mb(model, 1024, 1024))
    assert pipeline.full_scene_tile(model, rt_info(prep), budget_mb=named) == 1024
    assert pipeline.full_scene_tile(model, rt_info(prep), budget_mb=named - 40) is None


def test_tiled_overlap_is_at_least_half_the_receptive_field_for_any_model(tmp_path):
    from onnx_models import contract, conv_net

    from sarsense.algorithms import onnx as rt

    c = contract(task="segmentation", output={"activation": "softmax"},
                 classes=[{"value": v, "name": str(v), "color": "#000000"} for v in range(11)],
                 tiling={"tile_size": 96, "halo": 2, "receptive_field": 101})
    model = rt.Model(conv_net(tmp_path / "m.onnx", outputs=11, layers=2, contract_dict=c))
    rng = np.random.default_rng(0)
    prep = write_raster(tmp_path / "p.tif", rng.normal(-15, 3, (2, 150, 170)).astype(np.float32))
    res = pipeline.chart(model, prep, str(tmp_path / "o.tif"), mode="tiled")
    assert res["halo"] == 21 and 2 * res["halo"] + res["blend"] >= 101 / 2      # halo raised from the contract's 2


# --- the jobs the algorithms run -----------------------------------------------------------------------------
def test_downsample_kernel_counts_valid_pixels_in_blocks_like_the_whole():
    from sarsense.algorithms.io.engine import Counts

    rng = np.random.default_rng(4)
    db = rng.normal(-18, 3, (2, 40, 36)).astype(np.float32)
    db[0, 4:10, 6:12] = np.nan
    whole, blocks = Counts("valid"), Counts("valid")
    out = pipeline.downsample_kernel(factor=2, counter=whole)(db)
    kernel = pipeline.downsample_kernel(factor=2, counter=blocks)
    for y in range(0, 40, 8):
        kernel(db[:, y:y + 8])
    assert whole["valid"] == blocks["valid"] == np.count_nonzero(np.all(np.isfinite(out), axis=0)) == 20 * 18 - 9


def test_polarisation_inputs_and_class_charts_are_refused_by_name(tmp_path):
    rng = np.random.default_rng(1)
    two = write_raster(tmp_path / "two.tif", rng.normal(-18, 3, (2, 20, 20)).astype(np.float32))
    one = write_raster(tmp_path / "one.tif", rng.normal(-18, 3, (20, 20)).astype(np.float32))
    small = write_raster(tmp_path / "small.tif", rng.normal(-18, 3, (10, 20)).astype(np.float32))
    assert pipeline.polarisation_inputs(None, two) == [two]
    assert pipeline.polarisation_inputs(one, one) == [one, one]
    with pytest.raises(ValueError, match="HV band has 1 band.*HH band is empty"):
        pipeline.polarisation_inputs(None, one, hh_label="HH band", hv_label="HV band")
    with pytest.raises(ValueError, match=r"with both HH \(1 band\(s\)\) and HV \(2\) given"):
        pipeline.polarisation_inputs(one, two)
    with pytest.raises(ValueError, match="not on the same grid"):
        pipeline.polarisation_inputs(one, small)
    with pytest.raises(ValueError, match="Chart X has 2 bands; a SIC chart has one"):
        pipeline.check_class_chart(two, "Chart X")
    chart = rng.integers(0, 11, (20, 20)).astype(np.uint8)
    chart[:3] = 255
    pipeline.check_class_chart(write_raster(tmp_path / "chart.tif", chart))
    # issue #28: backscatter or a SIC in percent is no class chart, whatever its band count
    with pytest.raises(ValueError, match=r"Chart X holds values -\d+\.\d+\.\.-\d+\.\d+, 400 of 400 sampled "
                                         r".*negative values.*classes 0–10"):
        pipeline.check_class_chart(one, "Chart X")
    percent = write_raster(tmp_path / "percent.tif", np.full((20, 20), 40, np.uint8))
    with pytest.raises(ValueError, match=r"values 40\.\.40, 400 of 400 sampled.*SIC in percent.*round\(SIC / 10\)"):
        pipeline.check_class_chart(percent, "Chart X")


def test_concentration_job_is_prepare_then_chart_and_leaves_no_temporary(tmp_path, monkeypatch):
    from sarsense.algorithms import onnx as rt
    from sarsense.simulators import sea_ice_scenes as sim

    s = sim.simulate((256, 256), seed=3)
    paths = sim.write_scene(tmp_path, s, name="small")
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx")
    prep = str(tmp_path / "prep.tif")
    want = pipeline.prepare([paths["hh"], paths["hv"]], prep)
    pipeline.chart(model, prep, str(tmp_path / "want.tif"), mode="tiled", expected=str(tmp_path / "want_e.tif"))
    out = tmp_path / "out"
    out.mkdir()
    seen = []
    res = pipeline.concentration_file([paths["hh"], paths["hv"]], str(out / "sic.tif"), model, mode="tiled",
                                      expected=str(out / "e.tif"), options=RunOptions(progress=seen.append))
    assert {"e.tif", "sic.tif"} <= set(os.listdir(out))
    assert not [f for f in os.listdir(out) if "input" in f]                   # the network's input is gone
    assert res["mode"] == "tiled" and res["valid"] == want["valid"] and res["notes"] == []
    assert res["input"] == {"xsize": 128, "ysize": 128, "pixel_size": 2 * abs(sim.geotransform((256, 256))[1])}
    np.testing.assert_array_equal(read_raster(out / "sic.tif"), read_raster(tmp_path / "want.tif"))
    np.testing.assert_array_equal(read_raster(out / "e.tif"), read_raster(tmp_path / "want_e.tif"))
    assert seen == sorted(seen) and seen[0] <= 0.1 and seen[-1] == pytest.approx(1.0)
    # full mode that does not fit the budget: tiled, and the job returns chart's note naming the budget needed
    monkeypatch.setattr(pipeline, "full_scene_tile", lambda *args, **kwargs: None)
    small = pipeline.concentration_file([paths["hh"], paths["hv"]], str(out / "f.tif"), model, mode="full")
    assert small["mode"] == "tiled" and len(small["notes"]) == 1
    assert "(512 MiB)" in small["notes"][0] and "Raise the budget to at least" in small["notes"][0]


def test_skill_job_regrids_the_reference_and_writes_rows_and_report(tmp_path):
    rng = np.random.default_rng(8)
    ref = rng.integers(0, 11, (30, 40)).astype(np.uint8)
    pred = np.where(rng.random((60, 80)) < 0.8, ref.repeat(2, 0).repeat(2, 1), 3).astype(np.uint8)
    gt = (-500000.0, 80.0, 0.0, -1488000.0, 0.0, -80.0)
    p = write_raster(tmp_path / "p.tif", pred[None], nodata=255, dtype=gdal.GDT_Byte, epsg=3413, gt=gt)
    coarse = (gt[0], 160.0, 0.0, gt[3], 0.0, -160.0)
    r = write_raster(tmp_path / "r.tif", ref[None], nodata=255, dtype=gdal.GDT_Byte, epsg=3413, gt=coarse)
    html = str(tmp_path / "skill.html")
    s = pipeline.skill_file(p, r, html)
    m = metrics.confusion_counts(ref.repeat(2, 0).repeat(2, 1), pred, 11)
    assert s["regridded"] and s["n"] == pred.size
    np.testing.assert_array_equal(s["matrix"], m)
    assert [c for c, _ in pipeline.SKILL_COLUMNS][:8] == ["code", "class", "sic_percent", "reference_px",
                                                           "mapped_px", "PA_recall", "UA_precision", "F1"]
    assert s["rows"][3][:5] == [3, "30 %", 30, int(m[:, 3].sum()), int(m[3].sum())]
    assert s["rows"][3][8:] == [int(v) for v in m[3]]
    text = open(html, encoding="utf-8").read()
    assert f"{s['r2']:.4f}" in text and "Confusion matrix" in text
    same = pipeline.skill_file(p, p, str(tmp_path / "same.html"))
    assert not same["regridded"] and same["accuracy"] == 1.0


def test_ice_chart_job_refuses_a_chart_that_misses_the_grid_with_both_extents(tmp_path):
    """Issue #28: a chart far from the grid gave a raster of 255 and rc 0."""
    from osgeo import ogr

    grid = write_raster(tmp_path / "g.tif", np.zeros((10, 10), np.float32), epsg=3413,
                        gt=(0.0, 10.0, 0.0, 100.0, 0.0, -10.0))
    far = bytes(ogr.CreateGeometryFromWkt("POLYGON((500 500,600 500,600 600,500 600,500 500))").ExportToWkb())
    out = tmp_path / "c.tif"
    with pytest.raises(ValueError, match=r"Chart C and Grid G do not overlap: in EPSG:3413 \(.*Polar Stereographic.*\) "
                                         r"the chart spans x 500…600, y 500…600 and the grid x 0…100, y 0…100"):
        sigrid.chart_file([far], [10], grid, str(out), chart_label="Chart C", grid_label="Grid G")
    assert not out.exists()
    near = bytes(ogr.CreateGeometryFromWkt("POLYGON((90 90,600 90,600 600,90 600,90 90))").ExportToWkb())
    sigrid.check_overlap([far, near], grid)          # one polygon on the grid is enough


def test_ice_chart_job_burns_polygon_classes_with_its_layout(tmp_path):
    from osgeo import ogr

    gt = (0.0, 10.0, 0.0, 100.0, 0.0, -10.0)
    grid = write_raster(tmp_path / "g.tif", np.zeros((10, 10), np.float32), epsg=3413, gt=gt)

    def square(x0, y0, x1, y1):
        return bytes(ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
                     .ExportToWkb())
    records = [(1, "35", "I", ["03"]), (2, "92", None, []), (3, None, "L", []), (4, "60", "I", ["08"])]
    classes, bad = sigrid.polygon_classes(records)
    assert classes == [4, 10, 255, 10] and bad == []
    assert sigrid.polygon_classes([(7, "95", None, [])])[1] == [
        "feature 7: CT code 95 is not a SIGRID-3 total-concentration code (00, 01, 02, 10–92, ranges such as 35, "
        "98, 99)"]
    wkbs = [square(0, 50, 50, 100), square(50, 50, 100, 100), square(0, 0, 50, 50), square(50, 0, 70, 30)]
    out = str(tmp_path / "c.tif")
    res = sigrid.chart_file(wkbs, classes, grid, out, field="CT", options=RunOptions(block_size=4, workers=2))
    got = read_raster(out)[0]
    want = np.full((10, 10), 255, np.uint8)
    want[:5, :5], want[:5, 5:], want[7:, 5:7] = 4, 10, 10
    np.testing.assert_array_equal(got, want)
    assert res["polygons"] == [0] * 4 + [1] + [0] * 5 + [2, 1]
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    assert band.GetDescription() == "SIC class (ice chart)" and band.DataType == gdal.GDT_Byte
    assert [c["value"] for c in json.loads(band.GetMetadata()["classes"])] == list(range(11))
    meta = ds.GetMetadata()
    assert meta["SARSENSE_CHART_CODING"] == "SIGRID-3 CT" and meta["SARSENSE_CHART_FIELD"] == "CT"
