"""The crop-mapping (rice) chain end to end in real QGIS (processing.run) on the simulated landscape
(simulators/rice_landscape.py): separability, SVM (split by polygon, reuse of the saved model),
the threshold rule and the accuracy assessment, each against a direct computation, and the bad inputs
the issue lists."""

import json

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException, QgsVectorLayer
from qgis_helpers import Log, run

from sarsense.algorithms import metrics
from sarsense.algorithms.crop import accuracy, separability, svm, threshold
from sarsense.algorithms.io import stack as _stack
from sarsense.simulators import rice_landscape as rl


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("rice")
    sc = rl.write_scene(out, rows=120, cols=120, seed=3, reference_points=300)
    sc["dir"] = out
    return sc


@pytest.fixture(scope="module")
def ndvh(scene, sarsense):
    """VH stack → water-normalised index (the threshold rule's and the SVM's input)."""
    out = scene["dir"]
    stack = run("buildstack", {"INPUTS": scene["paths"]["vh"], "OUTPUT": str(out / "vh_stack.tif")})["OUTPUT"]
    return run("waternormalized", {"INPUT": stack, "INPUT_UNITS": 1, "WATER": scene["paths"]["water"],
                                   "OUTPUT": str(out / "ndvh.tif")})["OUTPUT"]


def _layer(path):
    layer = QgsVectorLayer(path, "l", "ogr")
    assert layer.isValid()
    return layer


def _csv_rows(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_separability_equals_the_core_and_writes_table_and_report(scene, ndvh, tmp_path):
    res = run("separability", {"INPUT": ndvh, "TRAINING": scene["paths"]["training"], "CLASS_FIELD": "class",
                               "TARGET_CLASS": "Early Rice", "OUTPUT_TABLE": str(tmp_path / "jm.csv"),
                               "OUTPUT_HTML": str(tmp_path / "jm.html")})
    rows = _csv_rows(res["OUTPUT_TABLE"])
    dates = _stack.band_dates(ndvh)
    assert len(rows) == 7 * (len(dates) + 1) and {r["class_a"] for r in rows} == {"early rice"}
    # the same pixels through the core
    x = read_raster(ndvh)
    burn = _burn(scene["paths"]["training"], ndvh)
    samples = {n: x[:, burn == n].T for n in rl.CLASSES.values()}
    want = separability.separability_table(samples, dates, target="early rice")
    got = {(r["class_b"], r["date"]): float(r["JM"]) for r in rows}
    for w in want:
        assert got[(w["class_b"], w["date"])] == pytest.approx(w["JM"], abs=1e-6)
    all_dates = [r for r in rows if r["date"] == "all dates"]
    assert all(r["separable"] in ("true", "True", "1") for r in all_dates)     # the paper: > 1.8 over all dates
    html = open(res["OUTPUT_HTML"]).read()
    assert html.count("data:image/png;base64") == 2 and "Jeffries-Matusita" in html


def _burn(gpkg, raster):
    """Class name per pixel under the polygons ('' elsewhere), by GDAL's pixel-centre rule."""
    info = gdal.Open(raster)
    mem = gdal.GetDriverByName("MEM").Create("", info.RasterXSize, info.RasterYSize, 1, gdal.GDT_Int32)
    mem.SetGeoTransform(info.GetGeoTransform())
    mem.SetProjection(info.GetProjection())
    src = ogr.Open(gpkg)
    gdal.RasterizeLayer(mem, [1], src.GetLayer(0), options=["ATTRIBUTE=code"])
    code = mem.ReadAsArray()
    out = np.full(code.shape, "", dtype=object)
    for c, n in rl.CLASSES.items():
        out[code == c] = n
    return out


def test_svm_split_by_polygon_equals_sklearn_and_the_saved_model_reapplies(scene, ndvh, tmp_path):
    log = Log()
    res = run("svmclassify", {"INPUT": ndvh, "TRAINING": scene["paths"]["training"], "CLASS_FIELD": "class",
                              "SEED": 5, "OUTPUT": str(tmp_path / "svm.tif"), "OUTPUT_MODEL": str(tmp_path / "m.npz"),
                              "OUTPUT_REPORT": str(tmp_path / "svm.html")}, feedback=log)
    got = read_raster(res["OUTPUT"])[0]
    # direct scikit-learn on the same samples and split
    x = read_raster(ndvh)
    order = sorted(rl.CLASSES.values())
    code = {n: i + 1 for i, n in enumerate(order)}
    model, params, meta = svm.load_model(res["OUTPUT_MODEL"])
    assert meta["dates"] == _stack.band_dates(ndvh) and params["gamma"] == 0.125 and params["c"] == 100
    direct = svm.make_svm().fit(*_model_samples(res["OUTPUT_MODEL"]))
    flat = x.reshape(x.shape[0], -1).T.astype(np.float64)
    want = direct.predict(flat).reshape(got.shape)
    assert (got == want).all()
    ds = gdal.Open(res["OUTPUT"])
    classes = json.loads(ds.GetRasterBand(1).GetMetadataItem("classes"))
    assert [c["name"] for c in classes] == order and ds.GetRasterBand(1).GetColorTable() is not None
    # on single-look-like speckle (no filter here) rubber, forest and banana overlap, rice stands out; the
    # held-out OA estimates the accuracy against the simulated truth
    truth = np.vectorize(lambda c: code[rl.CLASSES[c]])(scene["classes"])
    truth_oa = (got == truth).mean()
    assert truth_oa > 0.6 and ((got == 1) == (truth == 1)).mean() > 0.85
    assert abs(res["OA"] - truth_oa) < 0.12 and 0 < res["KAPPA"] < 1
    assert any("For comparison, split by pixel" in line for line in log.lines)
    html = open(res["OUTPUT_REPORT"]).read()
    assert "Split by polygon (this map)" in html and "Split by pixel (for comparison)" in html
    # the saved model on the same stack gives the same map; on another band count it is refused
    again = run("svmapply", {"INPUT": ndvh, "MODEL": res["OUTPUT_MODEL"], "OUTPUT": str(tmp_path / "again.tif")})
    assert (read_raster(again["OUTPUT"])[0] == got).all()
    fewer = write_raster(tmp_path / "fewer.tif", x[:5], gt=rl.geotransform(), epsg=rl.EPSG,
                         descriptions=_stack.band_dates(ndvh)[:5], nodata=float("nan"))
    out = tmp_path / "bad.tif"
    with pytest.raises(QgsProcessingException, match="has 5 bands but the model was trained on 17"):
        run("svmapply", {"INPUT": fewer, "MODEL": res["OUTPUT_MODEL"], "OUTPUT": str(out)})
    shifted = write_raster(tmp_path / "shifted.tif", x, gt=rl.geotransform(), epsg=rl.EPSG, nodata=float("nan"),
                           descriptions=[d.replace("2019", "2020") for d in _stack.band_dates(ndvh)])
    with pytest.raises(QgsProcessingException, match="other dates than the model"):
        run("svmapply", {"INPUT": shifted, "MODEL": res["OUTPUT_MODEL"], "OUTPUT": str(out)})
    assert not out.exists()


def _model_samples(path):
    with np.load(path, allow_pickle=False) as z:
        return z["x"].astype(np.float64), z["y"]


def test_rice_threshold_equals_the_core_and_maps_rice_and_its_date(scene, ndvh, tmp_path):
    log = Log()
    res = run("ricethreshold", {"NDVH": ndvh, "SEASON_START": "2019-03-10", "SEASON_END": "2019-04-27",
                                "WATER_DATE": "2019-01-20", "OUTPUT": str(tmp_path / "rice.tif"),
                                "OUTPUT_DATE": str(tmp_path / "doy.tif")}, feedback=log)
    x = read_raster(ndvh)
    dates = _stack.band_dates(ndvh)
    season = [k for k, d in enumerate(dates) if "2019-03-10" <= d <= "2019-04-27"]
    want, flood = threshold.rice_rule(x, season, water_date=dates.index("2019-01-21"))
    got = read_raster(res["OUTPUT"])[0]
    assert (got == want).all()
    doy = read_raster(res["OUTPUT_DATE"])[0]
    assert np.isnan(doy[want != 1]).all() and np.isfinite(doy[want == 1]).all()
    assert any("using the stack date 2019-01-21 (1 days away)" in line for line in log.lines)
    assert res["RICE_PIXELS"] == int((want == 1).sum()) and res["RICE_AREA_HA"] == pytest.approx(
        (want == 1).sum() * 100 / 1e4)
    truth = scene["classes"] == rl.RICE
    assert ((got == 1) == truth).mean() > 0.85
    # the transplanting date lies within 12 days (one revisit) before the simulated one on most rice pixels
    both = (got == 1) & truth
    lag = scene["doy"][both] - doy[both]
    assert np.median(np.abs(lag)) <= 12


def test_accuracy_assessment_equals_the_core_and_estimates_area(scene, ndvh, tmp_path):
    rice = run("ricethreshold", {"NDVH": ndvh, "SEASON_START": "2019-03-10", "SEASON_END": "2019-04-27",
                                 "OUTPUT": str(tmp_path / "rice.tif")})["OUTPUT"]
    res = run("accuracyassessment", {"CLASSIFIED": rice, "REFERENCE": scene["paths"]["reference"],
                                     "CLASS_FIELD": "rice", "REPORTED_AREA_HA": "rice=30",
                                     "OUTPUT_TABLE": str(tmp_path / "acc.csv"),
                                     "OUTPUT_HTML": str(tmp_path / "a.html")})
    mapped = read_raster(rice)[0]
    ref_ds = ogr.Open(scene["paths"]["reference"])      # kept alive while its layer is read
    ref = ref_ds.GetLayer(0)
    r, m = [], []
    for f in ref:
        x, y = f.GetGeometryRef().GetX(), f.GetGeometryRef().GetY()
        col, row = int((x - rl.ORIGIN[0]) / rl.PIXEL), int((rl.ORIGIN[1] - y) / rl.PIXEL)
        r.append(f.GetField("rice"))
        m.append(int(mapped[row, col]))
    cm = metrics.confusion_matrix(r, m, [0, 1])
    want = metrics.sample_accuracy(cm)
    assert res["OA"] == pytest.approx(want["oa"]) and res["KAPPA"] == pytest.approx(want["kappa"])
    rows = {int(row["code"]): row for row in _csv_rows(res["OUTPUT_TABLE"])}
    areas = np.array([(mapped == 0).sum(), (mapped == 1).sum()]) * 100 / 1e4
    est = accuracy.stratified_area(cm, areas)
    assert float(rows[1]["estimated_ha"]) == pytest.approx(est["area"][1])
    assert float(rows[1]["ci95_ha"]) == pytest.approx(est["ci"][1])
    assert float(rows[1]["rel_error_mapped"]) == pytest.approx((areas[1] - 30) / 30)
    assert rows[1]["class"] == "rice" and float(rows[1]["mapped_ha"]) == pytest.approx(areas[1])
    assert "Confusion matrix" in open(res["OUTPUT_HTML"]).read()


def _polygons(rects, classes, crs=f"EPSG:{rl.EPSG}"):
    """A memory polygon layer: ``rects`` (xmin, ymin, xmax, ymax) with a text field 'class'."""
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsRectangle
    from qgis.PyQt.QtCore import QVariant
    layer = QgsVectorLayer(f"Polygon?crs={crs}", "training", "memory")
    layer.dataProvider().addAttributes([QgsField("class", QVariant.String)])
    layer.updateFields()
    feats = []
    for r, c in zip(rects, classes):
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromRect(QgsRectangle(*r)))
        f.setAttributes([c])
        feats.append(f)
    layer.dataProvider().addFeatures(feats)
    return layer


def _px(c0, r0, c1, r1):
    """Pixel columns/rows → map rectangle on the simulated grid."""
    x0, y0 = rl.ORIGIN
    return (x0 + c0 * rl.PIXEL, y0 - r1 * rl.PIXEL, x0 + c1 * rl.PIXEL, y0 - r0 * rl.PIXEL)


def test_bad_training_inputs_are_refused_with_a_reason_and_no_output(scene, ndvh, tmp_path):
    out = tmp_path / "svm.tif"
    base = {"INPUT": ndvh, "CLASS_FIELD": "class", "OUTPUT": str(out), "OUTPUT_REPORT": str(tmp_path / "r.html")}
    one = _polygons([_px(0, 0, 10, 10), _px(20, 20, 30, 30)], ["rice", "rice"])
    with pytest.raises(QgsProcessingException, match="one class only.*rice"):
        run("svmclassify", {**base, "TRAINING": one})
    few = _polygons([_px(0, 0, 10, 10), _px(40, 40, 42, 42)], ["rice", "water"])   # water: 4 pixels < 17 bands
    with pytest.raises(QgsProcessingException, match="'water' \\(4\\) have fewer valid training pixels than the stack "
                                                     "has bands \\(17\\)"):
        run("svmclassify", {**base, "TRAINING": few})
    with pytest.raises(QgsProcessingException, match="class 'water' has 4 complete samples for 17 dates"):
        run("separability", {"INPUT": ndvh, "TRAINING": few, "CLASS_FIELD": "class",
                             "OUTPUT_TABLE": str(tmp_path / "t.csv"), "OUTPUT_HTML": str(tmp_path / "s.html")})
    outside = _polygons([(0, 0, 100, 100), (200, 200, 300, 300)], ["rice", "water"])
    with pytest.raises(QgsProcessingException, match="none of the 2 features of Training areas.*lie outside it"):
        run("svmclassify", {**base, "TRAINING": outside})
    assert not out.exists() and not (tmp_path / "t.csv").exists()


def test_bad_dates_and_stacks_are_refused_by_the_threshold_rule(scene, ndvh, tmp_path):
    x = read_raster(ndvh)
    dates = _stack.band_dates(ndvh)
    out = tmp_path / "rice.tif"
    season = {"SEASON_START": "2019-03-10", "SEASON_END": "2019-04-27", "OUTPUT": str(out)}
    shuffled = write_raster(tmp_path / "unsorted.tif", x[[0, 2, 1, 3]], gt=rl.geotransform(), epsg=rl.EPSG,
                            descriptions=[dates[i] for i in (0, 2, 1, 3)], nodata=float("nan"))
    with pytest.raises(QgsProcessingException, match="not in time order: band 3 \\(2019-01-21\\) after band 2"):
        run("ricethreshold", {"NDVH": shuffled, **season})
    twice = write_raster(tmp_path / "twice.tif", x[:3], gt=rl.geotransform(), epsg=rl.EPSG,
                         descriptions=[dates[0], dates[1], dates[1]], nodata=float("nan"))
    with pytest.raises(QgsProcessingException, match="nothing tells apart .*2019-01-21: bands 2, 3"):
        run("ricethreshold", {"NDVH": twice, **season})
    ds = gdal.Open(twice, gdal.GA_Update)        # two passes of that day: a series, but not one the rule reads
    for b, t in ((2, "05:30:00"), (3, "17:30:00")):
        ds.GetRasterBand(b).SetMetadata({"ACQUISITION_START_TIME": f"{dates[1]}T{t}"})
    ds = None
    with pytest.raises(QgsProcessingException, match="same date twice \\(2019-01-21\\)"):
        run("ricethreshold", {"NDVH": twice, **season})
    other = write_raster(tmp_path / "ndvv.tif", x[:-1], gt=rl.geotransform(), epsg=rl.EPSG,
                         descriptions=dates[:-1], nodata=float("nan"))
    with pytest.raises(QgsProcessingException,
                       match="must be on the same dates: NDVV stack \\(NDVV\\) lacks 2019-07-20"):
        run("ricethreshold", {"NDVH": ndvh, "NDVV": other, **season})
    with pytest.raises(QgsProcessingException, match="no date of NDVH stack \\(NDVH\\) lies in the season"):
        run("ricethreshold", {"NDVH": ndvh, **season, "SEASON_START": "2020-03-01", "SEASON_END": "2020-04-01"})
    with pytest.raises(QgsProcessingException, match="is before"):
        run("ricethreshold", {"NDVH": ndvh, **season, "SEASON_END": "2019-03-01"})
    assert not out.exists()


def test_ndvv_enters_the_low_all_season_rule(scene, ndvh, tmp_path):
    x = read_raster(ndvh)
    dates = _stack.band_dates(ndvh)
    ndvv_arr = np.full_like(x, 0.9)
    ndvv = write_raster(tmp_path / "ndvv.tif", ndvv_arr, gt=rl.geotransform(), epsg=rl.EPSG, descriptions=dates,
                        nodata=float("nan"))
    res = run("ricethreshold", {"NDVH": ndvh, "NDVV": ndvv, "SEASON_START": "2019-03-10",
                                "SEASON_END": "2019-04-27", "OUTPUT": str(tmp_path / "r.tif")})
    season = [k for k, d in enumerate(dates) if "2019-03-10" <= d <= "2019-04-27"]
    want, _ = threshold.rice_rule(x, season, ndvv=ndvv_arr)
    assert (read_raster(res["OUTPUT"])[0] == want).all()


def test_accuracy_refuses_a_geographic_map_and_unknown_reported_classes(scene, tmp_path):
    classes = scene["classes"].astype(np.float32)
    geo = write_raster(tmp_path / "geo.tif", classes, epsg=4326, gt=(109.0, 1e-4, 0, 20.0, 0, -1e-4))
    with pytest.raises(QgsProcessingException, match="geographic CRS.*projected CRS"):
        run("accuracyassessment", {"CLASSIFIED": geo, "REFERENCE": scene["paths"]["reference"], "CLASS_FIELD": "code",
                                   "OUTPUT_TABLE": str(tmp_path / "a.csv"), "OUTPUT_HTML": str(tmp_path / "a.html")})
    truth = scene["paths"]["truth"]
    with pytest.raises(QgsProcessingException, match="'paddy' is not a class of the map"):
        run("accuracyassessment", {"CLASSIFIED": truth, "REFERENCE": scene["paths"]["reference"], "CLASS_FIELD": "code",
                                   "REPORTED_AREA_HA": "paddy=10", "OUTPUT_TABLE": str(tmp_path / "a.csv"),
                                   "OUTPUT_HTML": str(tmp_path / "a.html")})
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "a.html").exists()
    # the truth assessed against points drawn from it: every sample agrees
    res = run("accuracyassessment", {"CLASSIFIED": truth, "REFERENCE": scene["paths"]["reference"],
                                     "CLASS_FIELD": "code", "OUTPUT_TABLE": str(tmp_path / "t.csv"),
                                     "OUTPUT_HTML": str(tmp_path / "t.html")})
    assert res["OA"] == 1.0 and res["KAPPA"] == 1.0


def test_svm_cancel_during_prediction_leaves_no_output(scene, ndvh, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class CancelMidway(QgsProcessingFeedback):
        def setProgress(self, p):
            super().setProgress(p)
            if p >= 30:            # the map pass starts at 30 %
                self.cancel()

    out = tmp_path / "svm.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled: no output was written"):
        run("svmclassify", {"INPUT": ndvh, "TRAINING": scene["paths"]["training"], "CLASS_FIELD": "class",
                            "OUTPUT": str(out), "OUTPUT_REPORT": str(tmp_path / "r.html")}, feedback=CancelMidway())
    assert not out.exists() and not list(tmp_path.glob("svm*"))


def test_points_train_the_svm_and_feed_separability(scene, ndvh, tmp_path):
    """Points give the pixel under each: the reference points (integer 0/1 rice field) as training data."""
    res = run("svmclassify", {"INPUT": ndvh, "TRAINING": scene["paths"]["reference"], "CLASS_FIELD": "rice",
                              "SPLIT": 1, "OUTPUT": str(tmp_path / "p.tif"), "OUTPUT_REPORT": str(tmp_path / "p.html")})
    ds = gdal.Open(res["OUTPUT"])
    codes = {c["value"] for c in json.loads(ds.GetRasterBand(1).GetMetadataItem("classes"))}
    ds = None
    assert codes == {0, 1}                                           # integer codes kept as the map's values
    got = read_raster(res["OUTPUT"])[0]
    assert ((got == 1) == (scene["classes"] == rl.RICE)).mean() > 0.85
    sep = run("separability", {"INPUT": ndvh, "TRAINING": scene["paths"]["reference"], "CLASS_FIELD": "rice",
                               "TARGET_CLASS": "1", "OUTPUT_TABLE": str(tmp_path / "s.csv"),
                               "OUTPUT_HTML": str(tmp_path / "s.html")})
    rows = _csv_rows(sep["OUTPUT_TABLE"])
    assert {(r["class_a"], r["class_b"]) for r in rows} == {("1", "0")}
    assert all(r["separable"] in ("true", "True", "1") for r in rows if r["date"] == "all dates")
