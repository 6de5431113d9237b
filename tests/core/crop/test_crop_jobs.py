"""Crop jobs (file to file, as the algorithms run them): block-wise runs equal the whole-array kernels, band
layout and metadata, counts, labelled samples and their class codes, and the refusals."""

import json

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal, ogr

from sarsense.algorithms import metrics, sar
from sarsense.algorithms.crop import accuracy, samples, separability, svm, threshold, water_index
from sarsense.algorithms.io import Cancelled, RunOptions

BLOCKS = RunOptions(block_size=7, workers=2)
DATES = ["2017-03-10", "2017-03-22", "2017-04-03"]
X0, Y0, PX = 600000.0, 4800000.0, 20.0          # write_raster's default grid (EPSG:32631, 20 m)


# -- water-normalised index --------------------------------------------------------------------------
@pytest.fixture()
def vh_db(tmp_path):
    rng = np.random.default_rng(11)
    db = rng.normal(-15, 1.0, (3, 30, 40)).astype(np.float32)
    db[:, :, :10] = rng.normal(-25, 0.5, (3, 30, 10))
    db[1, 5, 20] = np.nan
    return write_raster(tmp_path / "vh.tif", db, descriptions=DATES, nodata=float("nan")), db


def _index(lin, water):
    t = water_index.water_reference(*water_index.water_sums(lin, water))
    return water_index.normalized_index(lin, t), t


def test_water_normalized_file_block_wise_equals_the_whole_array(vh_db, tmp_path):
    src, db = vh_db
    out = str(tmp_path / "n.tif")
    res = water_index.water_normalized_file(src, out, dates=DATES, in_db=True, options=BLOCKS)
    lin = sar.db_to_linear(db)[0]
    want, t = _index(lin, water_index.auto_water(db, -20.0))
    np.testing.assert_allclose(read_raster(out), want, rtol=1e-6, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(res["t"], t, rtol=1e-10)
    np.testing.assert_allclose(res["t_db"], 10 * np.log10(t), rtol=1e-10)
    np.testing.assert_array_equal(res["water_pixels"], [300, 300, 300])
    assert res["infinite"] == 0
    ds = gdal.Open(out)
    band = ds.GetRasterBand(2)
    assert band.GetDescription() == DATES[1] and band.GetMetadataItem("units") == "-1 to 1"
    assert band.GetMetadataItem("WATER_T_LINEAR") == f"{t[1]:.6g}" and band.GetMetadataItem("WATER_PIXELS") == "300"
    assert band.GetMetadataItem("WATER_T_DB") == f"{10 * np.log10(t[1]):.4f}"


def test_water_normalized_file_with_a_water_raster_and_its_refusal(vh_db, tmp_path):
    src, db = vh_db
    lin = sar.db_to_linear(db)[0]
    linear = write_raster(tmp_path / "lin.tif", lin, descriptions=DATES, nodata=float("nan"))
    water = np.zeros((30, 40), dtype=bool)
    water[:, 2:6] = True
    mask = write_raster(tmp_path / "mask.tif", water.astype(np.float32))
    out = str(tmp_path / "m.tif")
    res = water_index.water_normalized_file(linear, out, dates=DATES, water=mask, options=BLOCKS)
    want, t = _index(lin, water)
    np.testing.assert_allclose(read_raster(out), want, rtol=1e-6, atol=1e-7, equal_nan=True)
    np.testing.assert_array_equal(res["water_pixels"], [120, 120, 120])
    with pytest.raises(water_index.WaterReferenceError, match="no water pixels were found"):
        water_index.water_normalized_file(src, str(tmp_path / "none.tif"), dates=DATES, in_db=True,
                                          threshold_db=-40.0)
    assert issubclass(water_index.WaterReferenceError, ValueError)


# -- threshold rule ----------------------------------------------------------------------------------
SEASON_DATES = ["2019-01-21", "2019-03-10", "2019-03-22", "2019-04-03", "2019-04-15", "2019-04-27", "2019-05-09"]


@pytest.fixture()
def ndvh(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.2, 0.9, (7, 20, 30)).astype(np.float32)
    x[:, 3, 4] = np.nan
    x[2, 8, 8] = np.nan
    return write_raster(tmp_path / "ndvh.tif", x, descriptions=SEASON_DATES, nodata=float("nan")), x


def test_season_water_date_and_day_of_year_helpers():
    assert threshold.season_indices(SEASON_DATES, "2019-03-10", "2019-04-27") == [1, 2, 3, 4, 5]
    assert threshold.season_indices(SEASON_DATES, "2020-03-10", "2020-04-27") == []
    assert threshold.nearest_date(SEASON_DATES, "2019-01-20") == (0, 1)
    assert threshold.nearest_date(["2019-01-01", "2019-01-03"], "2019-01-02") == (0, 1)   # the first of equals
    doy = threshold.day_of_year(SEASON_DATES)
    assert doy[0] == 21 and doy[1] == 69 and np.isnan(doy[-1]) and doy.dtype == np.float32


def test_rice_threshold_file_block_wise_equals_the_rule_with_dates_counts_and_metadata(ndvh, tmp_path):
    src, x = ndvh
    out, out_date = str(tmp_path / "rice.tif"), str(tmp_path / "doy.tif")
    res = threshold.rice_threshold_file(src, out, dates=SEASON_DATES, season_start="2019-03-10",
                                        season_end="2019-04-27", output_date=out_date, water_date="2019-01-20",
                                        options=BLOCKS)
    want, flood = threshold.rice_rule(x, [1, 2, 3, 4, 5], water_date=0)
    got = read_raster(out)[0]
    np.testing.assert_array_equal(got, want)
    assert 0 < res["rice"] == int((want == threshold.RICE).sum())
    assert res["rice_ha"] == pytest.approx(res["rice"] * PX * PX / 1e4)
    assert res["season"] == [1, 2, 3, 4, 5] and res["water_index"] == 0
    np.testing.assert_array_equal(read_raster(out_date)[0], threshold.day_of_year(SEASON_DATES)[flood])
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    assert band.GetDescription() == "rice" and band.DataType == gdal.GDT_Byte
    assert band.GetMetadataItem("SEASON") == "2019-03-10/2019-04-27"
    assert band.GetMetadataItem("WATER_DATE") == "2019-01-21"
    assert [c["name"] for c in json.loads(band.GetMetadataItem("classes"))] == ["not rice", "rice"]
    dds = gdal.Open(out_date)
    dband = dds.GetRasterBand(1)
    assert dband.GetDescription() == "transplanting day of year" and dband.GetMetadataItem("YEAR") == "2019"


def test_rice_threshold_file_with_ndvv_and_without_a_date_output(ndvh, tmp_path):
    src, x = ndvh
    v = np.full_like(x, 0.2)
    ndvv = write_raster(tmp_path / "ndvv.tif", v, descriptions=SEASON_DATES, nodata=float("nan"))
    out = str(tmp_path / "r.tif")
    res = threshold.rice_threshold_file(src, out, dates=SEASON_DATES, season_start="2019-03-10",
                                        season_end="2019-04-27", ndvv=ndvv, t_flood=0.45, t_next=0.55,
                                        options=BLOCKS)
    want, _ = threshold.rice_rule(x, [1, 2, 3, 4, 5], ndvv=v, t_flood=0.45, t_next=0.55)
    np.testing.assert_array_equal(read_raster(out)[0], want)
    assert res["rice"] == int((want == 1).sum()) and res["water_index"] is None
    ds = gdal.Open(out)
    assert not ds.GetRasterBand(1).GetMetadataItem("WATER_DATE")      # empty: GDAL stores no item
    with pytest.raises(ValueError, match="no stack date lies in the season"):
        threshold.rice_threshold_file(src, str(tmp_path / "no.tif"), dates=SEASON_DATES,
                                      season_start="2020-03-10", season_end="2020-04-27")


# -- labelled samples --------------------------------------------------------------------------------
def _rect_wkb(c0, r0, c1, r1):
    x0, x1, y0, y1 = X0 + c0 * PX, X0 + c1 * PX, Y0 - r1 * PX, Y0 - r0 * PX
    return ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))").ExportToWkb()


def _point_wkb(col, row):
    return ogr.CreateGeometryFromWkt(f"POINT({X0 + (col + 0.5) * PX} {Y0 - (row + 0.5) * PX})").ExportToWkb()


def test_labelled_pixels_codes_classes_and_counts_left_out_pixels(tmp_path):
    img = np.arange(2 * 10 * 12, dtype=np.float32).reshape(2, 10, 12)
    img[1, 1, 1] = np.nan
    src = write_raster(tmp_path / "s.tif", img, nodata=float("nan"))
    wkbs = [_rect_wkb(0, 0, 3, 3), _point_wkb(5, 6), _rect_wkb(100, 100, 101, 101)]
    s = samples.labelled_pixels(src, wkbs, ["water", "rice", "rice"], layer="Training areas (TRAINING)",
                                options=BLOCKS)
    assert s.names == {1: "rice", 2: "water"} and s.n_geometries == 3 and s.empty == 1 and s.incomplete == 1
    assert len(s.y) == 8 + 1 and (s.y[s.group == 1] == 2).all() and (s.y[s.group == 2] == 1).all()
    np.testing.assert_array_equal(s.x[s.group == 2], [img[:, 6, 5]])
    assert set(s.by_class()) == {"rice", "water"} and s.label(2) == "water" and s.label(7) == "7"
    assert not [f for f in (gdal.ReadDir("/vsimem/") or []) if f.startswith("sarsense_burn")]
    with pytest.raises(ValueError, match="none of the 1 features of Training areas \\(TRAINING\\) covers a pixel"):
        samples.labelled_pixels(src, wkbs[2:], ["rice"], layer="Training areas (TRAINING)")
    # issue #28: NaN under every sample said "separability needs at least 2 classes, got 0"
    img[0, :4, :4] = np.nan
    hole = write_raster(tmp_path / "hole.tif", img, nodata=float("nan"))
    with pytest.raises(ValueError, match=r"every one of the 9 pixels under the features of Training areas \(TRAINING\) "
                                         r"is NaN or nodata.*no valid pixel lies under the samples"):
        samples.labelled_pixels(hole, wkbs[:1], ["water"], layer="Training areas (TRAINING)")


def test_class_codes_keep_integers_code_text_and_match_a_maps_names():
    assert samples.class_codes([3, "0", 3.0]) == ([3, 0, 3], {0: "0", 3: "3"})
    assert samples.class_codes([1, 0], class_names={1: "rice"}) == ([1, 0], {0: "0", 1: "rice"})
    assert samples.class_codes(["b", " a", "b"]) == ([2, 1, 2], {1: "a", 2: "b"})
    assert samples.class_codes(["Rice"], class_names={0: "not rice", 1: "rice"}) == ([1], {1: "rice"})
    with pytest.raises(ValueError, match="'cls' of Ref \\(R\\) holds text classes but the map stores no class names"):
        samples.class_codes(["rice"], match_names=True, layer="Ref (R)", field_name="cls")
    with pytest.raises(ValueError, match="class\\(es\\) 'paddy' in 'class' are not among the map's classes \\(rice\\)"):
        samples.class_codes(["paddy"], class_names={1: "rice"})
    with pytest.raises(ValueError, match="has 300 classes; a class map holds 254"):
        samples.class_codes([f"c{i}" for i in range(300)])
    assert json.loads(samples.classes_json({1: "Water", 2: "forest", 3: "x", 4: "lake water"})) == [
        {"value": 1, "name": "Water", "color": "#1f78b4"}, {"value": 2, "name": "forest", "color": "#0b5d1e"},
        {"value": 3, "name": "x", "color": "#1b9e77"}, {"value": 4, "name": "lake water", "color": "#d95f02"}]


# -- SVM job ------------------------------------------------------------------------------------------
def _svm_scene(tmp_path, seed=0):
    """Three classes in column thirds of a 4-band stack; each class's five row strips are its polygons."""
    rng = np.random.default_rng(seed)
    img = np.empty((4, 30, 60), dtype=np.float32)
    group = np.zeros((30, 60), dtype=np.int64)
    for c in range(3):
        img[:, :, 20 * c:20 * (c + 1)] = rng.normal(1.5 * c, 0.6, (4, 30, 20))
        for k in range(5):
            group[6 * k:6 * k + 6, 20 * c:20 * c + 20] = 5 * c + k + 1
    img[0, 0, 0] = np.nan
    src = write_raster(tmp_path / "stack.tif", img, descriptions=[f"2019-0{i + 1}-01" for i in range(4)],
                       nodata=float("nan"))
    sel = (group % 2 == 1) & np.isfinite(img).all(axis=0)
    y = (group[sel] - 1) // 5 + 1
    s = samples.Samples(x=img[:, sel].T.copy(), y=y, group=group[sel], names={1: "rice", 2: "water", 3: "forest"},
                        n_geometries=8)
    return src, img, s


def test_svm_classify_file_maps_with_the_training_part_and_writes_model_and_report(tmp_path):
    src, img, s = _svm_scene(tmp_path)
    out, model_path, html = str(tmp_path / "c.tif"), str(tmp_path / "m.npz"), str(tmp_path / "r.html")
    params = {"kernel": "rbf", "gamma": 0.125, "c": 100.0, "degree": 3, "standardise": True}
    dates = [f"2019-0{i + 1}-01" for i in range(4)]
    res = svm.svm_classify_file(src, out, s, dates=dates, params=params, seed=2, max_training=40, model_path=model_path,
                                report_path=html, options=BLOCKS)
    train = svm.subsample(metrics.split_samples(s.y, s.group, fraction=0.6, by="polygon", seed=2), s.y, 40, 2)
    model = svm.fit(s.x[train], s.y[train], **params)
    ev = svm.evaluate(model, s.x[~metrics.split_samples(s.y, s.group, fraction=0.6, by="polygon", seed=2)],
                      s.y[~metrics.split_samples(s.y, s.group, fraction=0.6, by="polygon", seed=2)], [1, 2, 3])
    assert res["oa"] == pytest.approx(ev["oa"]) and res["kappa"] == pytest.approx(ev["kappa"]) and res["oa"] > 0.9
    assert res["training"]["polygon"] == int(train.sum()) <= 3 * 40 and res["other"]["n"] > 0
    assert res["unassessed"] == [] and res["model"] == model_path
    np.testing.assert_array_equal(read_raster(out)[0], svm.predict_block(model, img))
    again, saved_params, meta = svm.load_model(model_path)
    assert saved_params == params and meta["dates"] == dates and meta["names"] == {"1": "rice", "2": "water",
                                                                                   "3": "forest"}
    assert gdal.Open(out).GetMetadataItem("HELD_OUT_OA") == f"{res['oa']:.4f}"
    text = open(html, encoding="utf-8").read()
    assert "Split by polygon (this map)" in text and "Split by pixel (for comparison)" in text


def test_svm_classify_file_refuses_one_class_and_cancels_without_output(tmp_path):
    src, img, s = _svm_scene(tmp_path)
    params = {"kernel": "rbf", "gamma": 0.125, "c": 100.0, "degree": 3, "standardise": True}
    one = samples.Samples(x=s.x[s.y == 1], y=s.y[s.y == 1], group=s.group[s.y == 1], names={1: "rice"})
    with pytest.raises(ValueError, match="one class only \\(rice\\)"):
        svm.svm_classify_file(src, str(tmp_path / "one.tif"), one, dates=["d"] * 4, params=params)
    out = tmp_path / "c.tif"
    with pytest.raises(Cancelled):
        svm.svm_classify_file(src, str(out), s, dates=["d"] * 4, params=params,
                              options=RunOptions(is_canceled=lambda: True))
    assert not out.exists()


def test_subsample_caps_each_class_and_model_dates_are_checked():
    y = np.repeat([1, 2], [50, 10])
    train = np.ones(60, dtype=bool)
    capped = svm.subsample(train, y, 20, seed=0)
    assert capped[y == 1].sum() == 20 and capped[y == 2].sum() == 10
    assert svm.subsample(train, y, 0, seed=0) is train
    svm.check_model_dates(["a", "b"], ["a", "b"])
    with pytest.raises(ValueError, match="^Stack \\(INPUT\\) has 1 bands but the model was trained on 2 \\(a, b\\)"):
        svm.check_model_dates(["a"], ["a", "b"], what="Stack (INPUT)")
    with pytest.raises(ValueError, match="other dates than the model \\(band 2: c ≠ b; stack ≠ model\\)"):
        svm.check_model_dates(["a", "c"], ["a", "b"])


# -- separability and accuracy jobs ------------------------------------------------------------------
def test_class_separability_matches_the_target_in_any_case_and_writes_the_report(tmp_path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0.3, 0.05, (40, 3)), rng.normal(0.8, 0.05, (40, 3))])
    s = samples.Samples(x=x, y=np.repeat([1, 2], 40), group=np.repeat([1, 2], 40), names={1: "rice", 2: "crops"},
                        n_geometries=2)
    html = str(tmp_path / "s.html")
    rows = separability.class_separability(s, DATES, target="RICE", report_path=html, source="stack.tif")
    assert rows == separability.separability_table(s.by_class(), DATES, target="rice")
    assert open(html, encoding="utf-8").read().count("data:image/png;base64") == 2
    with pytest.raises(ValueError, match="^Target class \\(TARGET_CLASS\\) 'paddy' is not a class of the training "
                                         "data \\(crops, rice\\)"):
        separability.class_separability(s, DATES, target="paddy", target_label="Target class (TARGET_CLASS)")


def test_accuracy_assessment_equals_metrics_and_the_olofsson_estimate(tmp_path):
    rng = np.random.default_rng(8)
    mapped = (rng.random((40, 50)) < 0.3).astype(np.float32)
    src = write_raster(tmp_path / "map.tif", mapped)
    idx = rng.choice(mapped.size, 200, replace=False)
    ref = mapped.ravel()[idx].astype(np.int64)
    ref[:20] = 1 - ref[:20]
    s = samples.Samples(x=mapped.ravel()[idx][:, None], y=ref, group=np.arange(200) + 1, names={0: "0", 1: "1"},
                        n_geometries=200)
    html = str(tmp_path / "a.html")
    res = accuracy.accuracy_assessment(src, s, pixel_area_m2=400.0, class_names={0: "other", 1: "rice"},
                                       reported="rice=30", report_path=html, options=BLOCKS)
    cm = metrics.confusion_matrix(ref, mapped.ravel()[idx].astype(np.int64), [0, 1])
    want = metrics.sample_accuracy(cm)
    assert res["oa"] == pytest.approx(want["oa"]) and res["kappa"] == pytest.approx(want["kappa"]) and res["n"] == 200
    ha = np.array([(mapped == 0).sum(), (mapped == 1).sum()]) * 400 / 1e4
    est = accuracy.stratified_area(cm, ha)
    rice = res["rows"][1]
    assert rice[:3] == [1, "rice", int((mapped == 1).sum())] and rice[3] == pytest.approx(ha[1])
    assert rice[8] == pytest.approx(est["area"][1]) and rice[10] == pytest.approx(est["ci"][1])
    assert rice[13] == 30 and rice[14] == pytest.approx((ha[1] - 30) / 30) and np.isnan(res["rows"][0][13])
    assert res["warnings"] == [] and "Confusion matrix" in open(html, encoding="utf-8").read()
    # no sample falls on mapped class 1 (rice): the stratified estimate is undefined, refused with the class
    only0 = samples.Samples(x=s.x[s.x[:, 0] == 0], y=s.y[s.x[:, 0] == 0], group=s.group[s.x[:, 0] == 0])
    with pytest.raises(ValueError, match="no sample of R falls where the map shows 'rice' \\(code 1\\).*Add "
                                         "reference samples where the map shows 'rice'"):
        accuracy.accuracy_assessment(src, only0, pixel_area_m2=400.0, class_names={0: "other", 1: "rice"},
                                     reference_label="R")
    # reference samples of one class (rice polygons only): refused, naming the class to add
    rice_only = samples.Samples(x=s.x[s.y == 1], y=s.y[s.y == 1], group=s.group[s.y == 1])
    with pytest.raises(ValueError, match="R hold only 'rice' \\(code 1\\) in 'f', no sample of 'other' "
                                         "\\(code 0\\).*Add reference samples of 'other' \\(the value 0"):
        accuracy.accuracy_assessment(src, rice_only, pixel_area_m2=400.0, class_names={0: "other", 1: "rice"},
                                     reference_label="R", field_name="f")
    # one sample in the rice stratum: no variance, so no interval, and a warning (in the report too)
    keep = (s.x[:, 0] == 0) | (np.cumsum(s.x[:, 0] == 1) == 1)
    one = samples.Samples(x=s.x[keep], y=np.where(s.x[keep, 0] == 1, 1, s.y[keep]), group=s.group[keep])
    res = accuracy.accuracy_assessment(src, one, pixel_area_m2=400.0, class_names={0: "other", 1: "rice"},
                                       report_path=html)
    assert len(res["warnings"]) == 1 and "only one reference pixel falls where the map shows 'rice'" in \
        res["warnings"][0]
    assert np.isnan(res["rows"][1][9]) and np.isnan(res["rows"][0][10]) and np.isfinite(res["rows"][1][8])
    assert "only one reference pixel" in open(html, encoding="utf-8").read()


def test_reported_areas_are_parsed_by_code_or_name_and_refused_with_the_rule():
    label = {0: "not rice", 1: "rice"}
    assert accuracy.parse_reported(" rice = 11500, 0=2e3 ", label) == {1: 11500.0, 0: 2000.0}
    assert accuracy.parse_reported("", label) == {}
    with pytest.raises(ValueError, match="^R \\(X\\): 'rice' is not 'class=hectares'"):
        accuracy.parse_reported("rice", label, what="R (X)")
    with pytest.raises(ValueError, match="'paddy' is not a class of the map \\(0=not rice, 1=rice\\)"):
        accuracy.parse_reported("paddy=3", label)
    with pytest.raises(ValueError, match="the area of 'rice' must be positive"):
        accuracy.parse_reported("rice=0", label)
    assert accuracy.percent(0.12345) == "12.35 %" and accuracy.percent(float("nan")) == "n/a"
