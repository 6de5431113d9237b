"""Crop mapping through qgis_process: no silent wrong answer from the accuracy assessment (one-class reference,
unsampled or single-sample map classes), and reports a person can read (headers in words, 1280 px, the samples
layer named)."""

import csv
import html as _html
import json
import re

import numpy as np
import pytest
from osgeo import gdal, ogr
from process_helpers import needs_qgis_process, ok, refusal, run

from sarsense.algorithms.crop import threshold
from sarsense.algorithms.crop.samples import classes_json
from sarsense.algorithms.io.raster import create_geotiff
from sarsense.simulators import rice_landscape as rl

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A simulated landscape, its rice map (1 rice, 0 not rice, named classes) and reference layers."""
    out = tmp_path_factory.mktemp("rice_trust")
    sc = rl.write_scene(out, rows=80, cols=80, seed=11, reference_points=200)
    rice = (sc["classes"] == rl.RICE).astype(np.uint8)
    ds = create_geotiff(str(out / "rice.tif"), xsize=80, ysize=80, bands=1, geotransform=rl.geotransform(),
                        projection=rl._srs().ExportToWkt(), dtype=np.uint8, descriptions=["rice"],
                        band_metadata=[{"classes": classes_json(threshold.CLASSES)}])
    ds.GetRasterBand(1).WriteArray(rice)
    ds = None
    sc.update(dir=out, rice_map=str(out / "rice.tif"), rice=rice)
    return sc


def _points(path, cells, values):
    """A point GeoPackage 'reference' with an integer field 'rice' and a text field 'name', one point per (row, col)."""
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("reference", rl._srs(), ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("rice", ogr.OFTInteger))
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for (r, c), v in zip(cells, values):
        f = ogr.Feature(layer.GetLayerDefn())
        g = ogr.Geometry(ogr.wkbPoint)
        g.AddPoint_2D(rl.ORIGIN[0] + (c + 0.5) * rl.PIXEL, rl.ORIGIN[1] - (r + 0.5) * rl.PIXEL)
        f.SetGeometry(g)
        f.SetField("rice", int(v))
        f.SetField("name", threshold.CLASSES[int(v)])
        layer.CreateFeature(f)
    ds = None
    return str(path)


def _rice_polygons(scene, path):
    """The simulated rice parcels as polygons, every one labelled rice: the common 'I have rice polygons' case."""
    src = ogr.Open(scene["paths"]["training"])
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    ds.CopyLayer(src.GetLayer(0), "rice_parcels")
    layer = ds.GetLayer(0)
    layer.SetAttributeFilter("code <> 1")
    for f in list(layer):
        layer.DeleteFeature(f.GetFID())
    ds = None
    return str(path)


def _acc(scene, tmp_path, reference, field, **extra):
    return run(scene["env"], "accuracyassessment", CLASSIFIED=scene["rice_map"],
               REFERENCE=reference, CLASS_FIELD=field, OUTPUT_TABLE=tmp_path / "acc.csv",
               OUTPUT_HTML=tmp_path / "acc.html", **extra)


@pytest.fixture
def s(scene, env):
    scene["env"] = env
    return scene


def test_reference_of_one_class_is_refused_with_the_class_to_add(s, tmp_path):
    """Rice polygons alone gave 'estimated … ± 0.0 ha' and kappa 0 without a word: refused, naming 'not rice'."""
    polygons = _rice_polygons(s, tmp_path / "rice_parcels.gpkg")
    for field, value in (("rice", "the value 0"), ("class", "the value 0 or 'not rice'")):
        if field == "class":      # the simulator's text class of rice is 'early rice': name it as the map does
            ds = ogr.Open(polygons, 1)
            ds.ExecuteSQL("UPDATE rice_parcels SET class = 'rice'")
            ds = None
        text = refusal(_acc(s, tmp_path, polygons, field), "Reference samples (REFERENCE) hold only 'rice'",
                       "no sample of 'not rice' (code 0), which the map shows",
                       "Add reference samples of 'not rice' (" + value)
        assert "estimated" not in text
    assert not (tmp_path / "acc.csv").exists() and not (tmp_path / "acc.html").exists()


def test_a_mapped_class_without_reference_pixels_is_refused(s, tmp_path):
    """Points of both classes, all on pixels mapped 'not rice': the rice stratum has no sample (Olofsson eq. 10)."""
    rr, cc = np.nonzero(s["rice"] == 0)
    cells = list(zip(rr[:40], cc[:40]))
    ref = _points(tmp_path / "ref.gpkg", cells, [k % 2 for k in range(40)])
    refusal(_acc(s, tmp_path, ref, "rice"), "no sample of Reference samples (REFERENCE) falls where the map shows "
                                            "'rice' (code 1)", "Add reference samples where the map shows 'rice'")
    assert not (tmp_path / "acc.csv").exists()


def test_a_map_class_with_one_reference_pixel_warns_and_gives_no_interval(s, tmp_path):
    """One reference pixel in the rice stratum has no variance: the log and the report say so, no interval."""
    rng = np.random.default_rng(2)
    rr, cc = np.nonzero(s["rice"] == 0)
    pick = rng.choice(len(rr), 60, replace=False)
    cells = [(rr[i], cc[i]) for i in pick]
    truth = [int(s["classes"][r, c] == rl.RICE) for r, c in cells]
    r1, c1 = np.argwhere(s["rice"] == 1)[0]
    ref = _points(tmp_path / "ref.gpkg", cells + [(r1, c1)], truth + [1])
    res = _acc(s, tmp_path, ref, "name")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert "only one reference pixel falls where the map shows 'rice' (code 1)" in log and "no standard error" in log
    with open(tmp_path / "acc.csv", newline="") as f:
        rows = {int(r["code"]): r for r in csv.DictReader(f)}
    assert rows[1]["se_ha"] == "" and rows[0]["ci95_ha"] == "" and float(rows[1]["estimated_ha"]) > 0
    html = _html.unescape((tmp_path / "acc.html").read_text(encoding="utf-8"))
    assert "Warning: only one reference pixel falls where the map shows 'rice'" in html


def _table_headers(html):
    return [_html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th[^>]*>(.*?)</th>", html)]


def _page_width(path, width=1280):
    """The widest element (document scroll width) of an HTML file laid out by a web engine in a ``width`` px
    window (QtWebKit, as a browser does: CSS, tables, images)."""
    from qgis.PyQt.QtCore import QEventLoop, QSize, QUrl
    from qgis.PyQt.QtWidgets import QApplication
    webkit = pytest.importorskip("PyQt5.QtWebKitWidgets")
    app = QApplication.instance() or QApplication([])      # pytest-qgis starts one
    assert app is not None
    page = webkit.QWebPage()
    page.setViewportSize(QSize(width, 900))
    loop = QEventLoop()
    page.mainFrame().loadFinished.connect(loop.quit)
    page.mainFrame().setHtml(open(path, encoding="utf-8").read(), QUrl.fromLocalFile(str(path)))
    loop.exec_()
    return page.mainFrame().evaluateJavaScript(
        "Math.max.apply(null, Array.prototype.map.call(document.querySelectorAll('table,img'), "
        "function(t){return t.getBoundingClientRect().right}).concat([document.documentElement.scrollWidth]))")


def test_accuracy_report_reads_in_words_fits_1280_px_and_names_the_reference(s, tmp_path):
    res = _acc(s, tmp_path, s["paths"]["reference"], "rice", REPORTED_AREA_HA="rice=20")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    html_path = tmp_path / "acc.html"
    html = _html.unescape(html_path.read_text(encoding="utf-8"))
    headers = _table_headers(html)
    for want in ("Std. error (ha)", "95 % CI low (ha)", "95 % CI high (ha)", "Producer's accuracy",
                 "Estimated vs reported"):
        assert want in headers, headers
    assert not [h for h in headers if "_" in h], headers          # no field names (se_ha, ci95_low_ha …)
    assert "Reference: 'reference' (" in html and "reference.gpkg), field 'rice'" in html
    assert _page_width(html_path) <= 1280


def test_separability_report_names_the_samples_layer_and_keeps_the_legend_off_the_lines(s, tmp_path):
    stack = ok(s["env"], "buildstack", *[f"--INPUTS={p}" for p in s["paths"]["vh"][:6]], OUTPUT=tmp_path / "vh.tif")
    res = ok(s["env"], "separability", INPUT=stack["OUTPUT"], TRAINING=s["paths"]["training"], CLASS_FIELD="class",
             OUTPUT_TABLE=tmp_path / "jm.csv", OUTPUT_HTML=tmp_path / "jm.html")
    html = _html.unescape(open(res["OUTPUT_HTML"], encoding="utf-8").read())
    assert "Training: 'training' (" in html and "training.gpkg), field 'class'" in html
    assert "Legend: each training class" in html
    assert _page_width(res["OUTPUT_HTML"]) <= 1280
    gdal.Unlink(str(tmp_path / "vh.tif"))


def test_sieve_classes_headless_keeps_names_and_equals_gdal(s, tmp_path):
    rng = np.random.default_rng(9)
    noisy = s["rice"].copy()
    flip = rng.random(noisy.shape) < 0.04
    noisy[flip] = 1 - noisy[flip]
    src = str(tmp_path / "noisy.tif")
    gdal.Translate(src, s["rice_map"])
    ds = gdal.Open(src, gdal.GA_Update)
    ds.GetRasterBand(1).WriteArray(noisy)
    ds = None
    res = run(s["env"], "sieveclasses", INPUT=src, THRESHOLD=6, OUTPUT=tmp_path / "sieved.tif")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    mem = gdal.GetDriverByName("MEM").CreateCopy("", gdal.Open(src))
    band = mem.GetRasterBand(1)
    gdal.SieveFilter(band, band.GetMaskBand(), band, 6, 4)
    got = gdal.Open(str(tmp_path / "sieved.tif")).ReadAsArray()
    assert (got == band.ReadAsArray()).all() and (got != noisy).sum() > 0
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert doc["results"]["CHANGED_PIXELS"] == int((got != noisy).sum())
    assert f"rice: {(noisy == 1).sum()} → {(got == 1).sum()} pixels" in " ".join(doc["log"]["info"])
    info = gdal.Info(str(tmp_path / "sieved.tif"))
    assert re.search(r"Categories:\s+0: not rice\s+1: rice", info) and "Color Table" in info
    bad = run(s["env"], "sieveclasses", INPUT=s["paths"]["truth_doy"], OUTPUT=tmp_path / "bad.tif")   # float32
    refusal(bad, "Class map (INPUT) holds fractional values", "not a class map")     # not "convert it to Byte"
    assert not (tmp_path / "bad.tif").exists()


def _parcels(scene, path):
    """The simulated parcels as reference polygons of both classes: an integer field 'rice' (1 rice, 0 not)."""
    src = ogr.Open(scene["paths"]["training"])
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    ds.CopyLayer(src.GetLayer(0), "parcels")
    layer = ds.GetLayer(0)
    layer.CreateField(ogr.FieldDefn("rice", ogr.OFTInteger))
    for f in list(layer):
        f.SetField("rice", int(f.GetField("code") == 1))
        layer.SetFeature(f)
    n = layer.GetFeatureCount()
    ds = None
    return str(path), n


def test_polygon_reference_warns_in_the_log_and_the_report_with_pixel_and_feature_counts(s, tmp_path):
    """Pixels counted from polygons are clustered, so the interval is too narrow: said in the log too (STYLE §9),
    with the counts; points (one pixel each) get no such warning."""
    parcels, n_features = _parcels(s, tmp_path / "parcels.gpkg")
    res = _acc(s, tmp_path, parcels, "rice")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    found = re.search(r"the (\d+) reference pixels come from (\d+) features of Reference samples \(REFERENCE\)", log)
    assert found, log[-3000:]
    pixels = int(re.search(r"\((\d+) reference pixels from (\d+) features\)", log).group(1))
    assert int(found.group(1)) == pixels > int(found.group(2)) and int(found.group(2)) <= n_features
    assert "confidence intervals of the estimated areas are too narrow" in log
    html = _html.unescape((tmp_path / "acc.html").read_text(encoding="utf-8"))
    assert f"Warning: the {pixels} reference pixels come from {found.group(2)} features" in html
    points = _acc(s, tmp_path, s["paths"]["reference"], "rice")
    assert points.returncode == 0 and "reference pixels come from" not in points.stdout + points.stderr
