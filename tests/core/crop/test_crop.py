"""Crop mapping core (rice): water-normalised index, J-M separability, threshold rule, accuracy and area."""

import math

import numpy as np
import pytest

from sarsense.algorithms import metrics
from sarsense.algorithms.crop import accuracy, separability, threshold, water_index


# -- water-normalised index (Liu et al. 2020, eq. 1) -------------------------------------------------
def test_water_reference_and_index_against_hand_values():
    # 2 dates, 2×2 pixels; water = left column
    stack = np.array([[[0.01, 0.2], [0.03, 0.1]],
                      [[0.02, 0.5], [0.04, np.nan]]], dtype=np.float32)
    water = np.array([[True, False], [True, False]])
    sums, counts = water_index.water_sums(stack, water)
    np.testing.assert_allclose(sums, [0.04, 0.06], rtol=1e-6)
    np.testing.assert_array_equal(counts, [2, 2])
    t = water_index.water_reference(sums, counts)
    np.testing.assert_allclose(t, [0.02, 0.03], rtol=1e-6)
    out = water_index.normalized_index(stack, t)
    # (P − T)/(P + T): date 1 pixel (0,1): (0.2 − 0.02)/(0.22) = 0.8181…; date 2 pixel (0,1): 0.47/0.53
    assert out[0, 0, 1] == pytest.approx(0.18 / 0.22, rel=1e-6)
    assert out[1, 0, 1] == pytest.approx(0.47 / 0.53, rel=1e-6)
    assert out[0, 0, 0] == pytest.approx(-0.01 / 0.03, rel=1e-5)   # water below its own mean: < 0
    assert np.isnan(out[1, 1, 1])
    assert np.nanmin(out) >= -1 and np.nanmax(out) <= 1


def test_water_sums_over_blocks_equal_the_whole():
    rng = np.random.default_rng(1)
    stack = rng.gamma(2.0, 0.05, (3, 40, 30)).astype(np.float32)
    water = rng.random((40, 30)) < 0.3
    whole = water_index.water_sums(stack, water)
    parts = [water_index.water_sums(stack[:, y:y + 16], water[y:y + 16]) for y in range(0, 40, 16)]
    np.testing.assert_allclose(sum(p[0] for p in parts), whole[0], rtol=1e-12)
    np.testing.assert_array_equal(sum(p[1] for p in parts), whole[1])


def test_auto_water_needs_every_date_dark_and_nan_is_not_water():
    db = np.array([[[-25, -25, -10]], [[-22, -15, -30]], [[-21, -30, np.nan]]], dtype=np.float32)
    np.testing.assert_array_equal(water_index.auto_water(db, -20), [[True, False, False]])


def test_water_reference_refuses_no_water_and_empty_dates():
    with pytest.raises(ValueError, match="no water pixels"):
        water_index.water_reference([0.0, 0.0], [0, 0])
    with pytest.raises(ValueError, match="2017-03-22"):
        water_index.water_reference([0.1, 0.0], [3, 0], dates=["2017-03-10", "2017-03-22"])
    with pytest.raises(ValueError, match="not linear power"):
        water_index.water_reference([-3.0, 0.1], [3, 3])


# -- J-M separability ------------------------------------------------------------------------------
def test_jm_identical_classes_is_zero_and_far_classes_tend_to_two():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (500, 3))
    m, c, _ = separability.class_model(a)
    assert separability.bhattacharyya(m, c, m, c) == pytest.approx(0.0, abs=1e-12)
    assert separability.jeffries_matusita(0.0) == 0.0
    far = a + 50.0
    m2, c2, _ = separability.class_model(far)
    assert separability.jeffries_matusita(separability.bhattacharyya(m, c, m2, c2)) == pytest.approx(2.0, abs=1e-12)


def test_bhattacharyya_1d_equals_the_closed_form():
    m1, s1, m2, s2 = 0.3, 0.1, 0.7, 0.2
    closed = (m1 - m2) ** 2 / (4 * (s1 ** 2 + s2 ** 2)) + 0.5 * math.log((s1 ** 2 + s2 ** 2) / (2 * s1 * s2))
    got = separability.bhattacharyya([m1], [[s1 ** 2]], [m2], [[s2 ** 2]])
    assert got == pytest.approx(closed, rel=1e-12)
    assert separability.jeffries_matusita(got) == pytest.approx(2 * (1 - math.exp(-closed)), rel=1e-12)


def test_bhattacharyya_multivariate_against_a_direct_evaluation():
    m1, m2 = np.array([0.1, 0.5, 0.3]), np.array([0.4, 0.2, 0.6])
    c1 = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.05]])
    c2 = np.array([[0.02, 0.0, 0.005], [0.0, 0.03, 0.0], [0.005, 0.0, 0.08]])
    c = (c1 + c2) / 2
    d = m1 - m2
    direct = (d @ np.linalg.inv(c) @ d / 8
              + 0.5 * np.log(np.linalg.det(c) / np.sqrt(np.linalg.det(c1) * np.linalg.det(c2))))
    assert separability.bhattacharyya(m1, c1, m2, c2) == pytest.approx(direct, rel=1e-10)


def test_separability_table_per_date_and_all_dates_with_target():
    rng = np.random.default_rng(3)
    rice = rng.normal([0.3, 0.5, 0.7], 0.05, (60, 3))
    crops = rng.normal([0.8, 0.8, 0.8], 0.05, (60, 3))
    water = rng.normal([-0.1, -0.1, -0.1], 0.05, (60, 3))
    rows = separability.separability_table({"rice": rice, "crops": crops, "water": water},
                                           ["2017-03-10", "2017-03-22", "2017-04-03"], target="rice")
    assert len(rows) == 2 * 4
    assert {r["class_b"] for r in rows} == {"crops", "water"}
    last = [r for r in rows if r["date"] == "all dates"]
    assert all(r["separable"] and r["JM"] > 1.99 for r in last)
    # on 2017-04-03 rice (0.7) and crops (0.8) overlap: two σ apart, not separable on that date alone
    mid = [r for r in rows if r["class_b"] == "crops" and r["date"] == "2017-04-03"][0]
    assert 0.5 < mid["JM"] < 1.8 and not mid["separable"]
    assert all(r["ridge"] > 0 for r in rows)


def test_separability_refuses_too_few_samples_and_one_class():
    with pytest.raises(ValueError, match="more samples than dates"):
        separability.separability_table({"a": np.ones((3, 3)), "b": np.ones((10, 3))}, ["d1", "d2", "d3"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        separability.separability_table({"a": np.random.default_rng(0).random((10, 2))}, ["d1", "d2"])


# -- threshold rule (§3.3) -------------------------------------------------------------------------
def _stack(*profiles):
    return np.array(profiles, dtype=np.float32).T[:, np.newaxis, :]   # (dates, 1, pixels)


def test_threshold_rule_on_hand_made_profiles():
    # dates: 0 = 21 Jan (water date), 1..5 = season, 6 = after the season
    ndvh = _stack([0.7, 0.8, 0.45, 0.55, 0.7, 0.8, 0.8],     # flooded on date 2, still low on 3: rice
                  [0.7, 0.4, 0.45, 0.4, 0.45, 0.4, 0.4],     # low all season: permanently flooded, not rice
                  [0.7, 0.8, 0.45, 0.7, 0.8, 0.8, 0.8],      # one low date, recovers at once: not rice
                  [0.1, 0.8, 0.45, 0.55, 0.7, 0.8, 0.8],     # rice-like, but dark on the water date: removed
                  [0.7, 0.8, 0.8, 0.8, 0.8, 0.45, 0.5],      # flooded on the last season date, next date low: rice
                  [np.nan] * 7)                              # no data
    classes, flood = threshold.rice_rule(ndvh, season=[1, 2, 3, 4, 5], water_date=0)
    np.testing.assert_array_equal(classes[0], [1, 0, 0, 0, 1, 255])
    np.testing.assert_array_equal(flood[0], [2, -1, -1, -1, 5, -1])


def test_threshold_rule_with_ndvv_needs_both_low_for_permanent_flooding():
    ndvh = _stack([0.4, 0.4, 0.45, 0.4])
    high_vv = _stack([0.7, 0.7, 0.7, 0.7])
    classes, _ = threshold.rice_rule(ndvh, season=[0, 1, 2], ndvv=high_vv)
    assert classes[0, 0] == threshold.RICE                   # NDVV not low: not permanently flooded
    classes, _ = threshold.rice_rule(ndvh, season=[0, 1, 2], ndvv=_stack([0.3, 0.3, 0.3, 0.3]))
    assert classes[0, 0] == threshold.NOT_RICE


def test_threshold_rule_refuses_bad_options():
    ndvh = _stack([0.4, 0.4, 0.45])
    with pytest.raises(ValueError, match="season"):
        threshold.rice_rule(ndvh, season=[])
    with pytest.raises(ValueError, match="must not exceed"):
        threshold.rice_rule(ndvh, season=[0, 1], t_flood=0.7, t_next=0.6)
    with pytest.raises(ValueError, match="differ in shape"):
        threshold.rice_rule(ndvh, season=[0, 1], ndvv=np.zeros((2, 1, 1)))


# -- accuracy and area -----------------------------------------------------------------------------
def test_oa_kappa_pa_ua_against_a_hand_computed_matrix():
    m = np.array([[45, 5], [10, 40]])          # rows map, columns reference
    acc = metrics.sample_accuracy(m)
    assert acc["oa"] == pytest.approx(0.85)
    assert acc["kappa"] == pytest.approx(0.7)  # p_e = (50·55 + 50·45)/100² = 0.5
    np.testing.assert_allclose(acc["ua"], [0.9, 0.8])
    np.testing.assert_allclose(acc["pa"], [45 / 55, 40 / 45])
    np.testing.assert_allclose(acc["f1"], [2 * 0.9 * 45 / 55 / (0.9 + 45 / 55), 2 * 0.8 * 40 / 45 / (0.8 + 40 / 45)])


def test_confusion_matrix_rows_are_the_map():
    m = metrics.confusion_matrix(reference=[1, 1, 0, 0, 0, 7], predicted=[1, 0, 0, 0, 1, 1], classes=[0, 1])
    np.testing.assert_array_equal(m, [[2, 1], [1, 1]])


def test_olofsson_stratified_estimator_reproduces_the_worked_example():
    # Olofsson et al. (2014), §5 example: deforestation, forest gain, stable forest, stable non-forest;
    # map areas in 30 m pixels (0.09 ha). The paper gives 21 158 ± 6 158 ha of deforestation and
    # 11 686 ± 3 756 ha of forest gain (95 %), user's accuracy 0.88 and producer's 0.75 for deforestation.
    m = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
    pixels = np.array([200_000, 150_000, 3_200_000, 6_450_000])
    res = accuracy.stratified_area(m, pixels * 0.09)
    assert res["area"][0] == pytest.approx(21_158, abs=1)
    assert res["ci"][0] == pytest.approx(6_158, abs=1)
    assert res["area"][1] == pytest.approx(11_686, abs=1)
    assert res["ci"][1] == pytest.approx(3_756, abs=1)
    assert res["ua"][0] == pytest.approx(0.88, abs=0.005)
    assert res["pa"][0] == pytest.approx(0.75, abs=0.005)
    assert res["oa"] == pytest.approx(0.95, abs=0.005)
    assert res["area"].sum() == pytest.approx(pixels.sum() * 0.09)


def test_olofsson_refuses_a_mapped_class_without_samples():
    with pytest.raises(ValueError, match="no reference sample"):
        accuracy.stratified_area([[5, 1], [0, 0]], [100.0, 50.0])


# -- SVM (§3.2) ----------------------------------------------------------------------------------------
def _blobs(seed=0, n_groups=6, per_group=30, bands=4):
    """Three classes of Gaussian pixels in polygons ('groups'); each polygon has its own offset."""
    rng = np.random.default_rng(seed)
    xs, ys, gs = [], [], []
    g = 0
    for c, centre in enumerate((0.0, 1.5, 3.0), start=1):
        for _ in range(n_groups):
            g += 1
            off = rng.normal(0, 0.3, bands)
            xs.append(rng.normal(centre, 0.5, (per_group, bands)) + off)
            ys.append(np.full(per_group, c))
            gs.append(np.full(per_group, g))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys), np.concatenate(gs)


def test_split_by_polygon_keeps_each_polygon_on_one_side_and_is_stratified():
    x, y, g = _blobs()
    train = metrics.split_samples(y, g, fraction=0.6, by="polygon", seed=3)
    for group in np.unique(g):
        assert len(set(train[g == group])) == 1
    for c in (1, 2, 3):
        n_train = len(np.unique(g[(y == c) & train]))
        assert n_train == 4                          # round(0.6 × 6)
    assert (metrics.split_samples(y, g, fraction=0.6, by="polygon", seed=3) == train).all()
    by_pixel = metrics.split_samples(y, g, fraction=0.6, by="pixel", seed=3)
    assert by_pixel.sum() == 3 * round(0.6 * 180)
    # a class with one polygon is all training; with two, one of each
    one = metrics.split_samples(np.array([1, 1, 2, 2]), np.array([1, 1, 2, 3]), fraction=0.9, seed=0)
    assert one[:2].all() and one[2:].sum() == 1
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        metrics.split_samples(y, g, fraction=1.0)


def test_svm_equals_a_direct_scikit_learn_fit_and_the_model_file_round_trips(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from sarsense.algorithms.crop import svm
    x, y, g = _blobs(seed=1)
    model = svm.fit(x, y, kernel="rbf", gamma=0.125, c=100.0)
    direct = make_pipeline(StandardScaler(), SVC(kernel="rbf", gamma=0.125, C=100.0)).fit(x.astype(np.float64), y)
    probe = np.random.default_rng(2).normal(1.5, 1.5, (500, 4))
    np.testing.assert_array_equal(model.predict(probe), direct.predict(probe))
    path = svm.save_model(str(tmp_path / "m.npz"), x, y, {"kernel": "rbf", "gamma": 0.125, "c": 100.0, "degree": 3,
                                                          "standardise": True}, {"dates": ["2019-01-01"] * 4})
    again, params, meta = svm.load_model(path)
    np.testing.assert_array_equal(again.predict(probe), direct.predict(probe))
    assert meta["dates"] == ["2019-01-01"] * 4 and params["c"] == 100.0
    with np.load(path, allow_pickle=False) as z:            # no pickled object inside
        assert set(z.files) == {"x", "y", "header"}
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a SARSense SVM model file"):
        svm.load_model(str(bad))


def test_svm_classify_file_block_wise_equals_whole_and_nan_is_nodata(tmp_path):
    import json

    from helpers import read_raster, write_raster
    from osgeo import gdal

    from sarsense.algorithms.crop import svm
    from sarsense.algorithms.io import RunOptions
    x, y, g = _blobs(seed=2)
    model = svm.fit(x, y)
    img = np.random.default_rng(5).normal(1.5, 1.5, (4, 50, 70)).astype(np.float32)
    img[2, 10, 10] = np.nan
    whole = svm.predict_block(model, img)
    assert whole[10, 10] == svm.NODATA and set(np.unique(whole)) <= {1, 2, 3, svm.NODATA}
    np.testing.assert_array_equal(svm.predict_block(model, img, chunk=100), whole)
    src = write_raster(tmp_path / "s.tif", img, nodata=float("nan"))
    out = str(tmp_path / "c.tif")
    names = {1: "rice", 2: "water", 3: "forest"}
    assert svm.classify_file(model, src, out, names=names, metadata={"SVM_MODEL": "m.npz"}, check_x=x,
                             options=RunOptions(block_size=16, workers=2)) == out
    np.testing.assert_array_equal(read_raster(out)[0], whole)
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    assert band.GetDescription() == "class" and ds.GetMetadataItem("SVM_MODEL") == "m.npz"
    assert [c["name"] for c in json.loads(band.GetMetadataItem("classes"))] == ["rice", "water", "forest"]


def test_svm_refuses_one_class_and_classes_with_fewer_samples_than_bands():
    from sarsense.algorithms.crop import svm
    x, y, g = _blobs()
    with pytest.raises(ValueError, match="one class only"):
        svm.check_samples(x[y == 1], y[y == 1])
    keep = (y != 3) | (np.arange(len(y)) % 100 == 0)
    with pytest.raises(ValueError, match="'3' \\(2\\) have fewer valid training pixels than the stack has bands"):
        svm.check_samples(x[keep], y[keep])
    with pytest.raises(ValueError, match="kernel must be one of"):
        svm.make_svm(kernel="sigmoid")


# -- the simulator (simulators/rice_landscape.py) follows MANIFEST.md's statistics ---------------
def test_rice_simulator_has_the_stated_temporal_spread_and_flooding_dip():
    from sarsense.simulators import rice_landscape as rl
    sc = rl.simulate(200, 200, seed=1)
    cls, clean = sc["classes"], sc["vh_clean"]
    spread = {c: clean[:, cls == c].std(axis=0).mean() for c in rl.CLASSES if c != rl.WATER}
    assert spread[rl.RICE] == pytest.approx(3.7, abs=0.25)
    for c, s in spread.items():
        if c != rl.RICE:
            assert s == pytest.approx(1.0, abs=0.15)
    assert clean[:, cls == rl.RICE].min(axis=0).mean() < -24       # the flooding dip near −25 dB
    doy = sc["doy"][cls == rl.RICE]
    assert 69 <= doy.min() and doy.max() <= 100 and doy.max() - doy.min() > 25   # transplanting over a month
    # ENL of the speckle: mean²/var of the linear ratio to the clean signal
    ratio = 10 ** ((sc["vh"] - clean) / 10)
    assert ratio.mean() ** 2 / ratio.var() == pytest.approx(rl.ENL, rel=0.05)


def test_report_is_one_self_contained_html_file(tmp_path):
    from sarsense.algorithms import report
    rep = report.Report("T <1>", source="data: simulated")
    rep.table(["a", "b"], [["x", 1.23456], ["y", float("nan")]], digits=2)
    rep.image(report.confusion_figure(np.array([[3, 1], [0, 4]]), ["p", "q"]), "cm")
    text = open(rep.write(str(tmp_path / "r.html")), encoding="utf-8").read()
    assert "T &lt;1&gt;" in text and "1.23" in text and "–" in text and text.count("data:image/png;base64,") == 1


@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("standardise", [True, False])
def test_fast_predictor_gives_scikit_learns_predictions(kernel, n_classes, standardise):
    from sarsense.algorithms.crop import svm
    x, y, g = _blobs(seed=4)
    keep = y <= n_classes
    model = svm.fit(x[keep], y[keep], kernel=kernel, gamma=0.125 if kernel != "poly" else 0.05, c=100.0,
                    standardise=standardise)
    pred = svm.Predictor(model, x[keep])
    assert pred.fast
    probe = np.random.default_rng(6).normal(1.5, 2.0, (5000, 4))
    np.testing.assert_array_equal(pred.predict(probe), model.predict(probe))
    np.testing.assert_array_equal(svm.predict_block(pred, probe.T.reshape(4, 50, 100).astype(np.float32)),
                                  model.predict(probe.astype(np.float32).astype(np.float64)).reshape(50, 100))


def test_predictor_falls_back_to_scikit_learn_for_a_model_it_does_not_know():
    from sklearn.svm import SVC

    from sarsense.algorithms.crop import svm
    x, y, g = _blobs(seed=5)
    model = SVC(kernel="sigmoid", gamma="scale").fit(x, y)
    pred = svm.Predictor(model, x)
    assert not pred.fast
    np.testing.assert_array_equal(pred.predict(x[:50]), model.predict(x[:50]))
