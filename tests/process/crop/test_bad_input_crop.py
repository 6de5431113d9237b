"""Crop mapping through qgis_process (issue #28): bad input is refused before any output exists, with a message
that names the input, what is wrong and the fix, and the input is never touched. One parametrised test per class
of defect: values outside their quantity's range, no valid pixel, a continuous raster given as a class map, a
vector layer that cannot serve (empty, no geometry, another geometry, geometries all NULL)."""


import numpy as np
import pytest
from osgeo import gdal, ogr
from process_helpers import bad_layer, digest, needs_qgis_process, ok, refusal, run

from sarsense.algorithms.crop import water_index
from sarsense.simulators import rice_landscape as rl
from sarsense.simulators import write_raster

pytestmark = needs_qgis_process
SEASON = {"SEASON_START": "2019-03-10", "SEASON_END": "2019-04-27"}


def _rewrite(src, dst, change):
    """A copy of ``src`` (every band's metadata and description kept) whose band values are ``change(values)``."""
    gdal.Translate(str(dst), str(src))
    ds = gdal.Open(str(dst), gdal.GA_Update)
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        band.WriteArray(change(band.ReadAsArray().astype(np.float64)))
    ds = None
    return str(dst)


def _layer(path, kind, srs):
    """A GeoPackage that cannot serve as samples or polygons (``empty``, ``table``, ``lines``, ``nulls``:
    :func:`bad_layer`), with a class and a rice field."""
    wkt = (f"LINESTRING ({rl.ORIGIN[0] + 50} {rl.ORIGIN[1] - 50}, {rl.ORIGIN[0] + 300} {rl.ORIGIN[1] - 300})"
           if kind == "lines" else None)
    return bad_layer(path, kind, srs, {"class": (ogr.OFTString, "early rice"), "rice": (ogr.OFTInteger, 1)}, wkt)


@pytest.fixture(scope="module")
def data(tmp_path_factory, env):
    """A simulated rice landscape: its VH stack (dB), NDVH, an SVM model of it, and bad versions of each."""
    d = tmp_path_factory.mktemp("crop_bad")
    sc = rl.write_scene(d, rows=60, cols=60, seed=5, reference_points=150)
    p = dict(sc["paths"], dir=d)
    p["vh_stack"] = rl.write_tif(d / "vh_stack.tif", sc["vh"], descriptions=sc["dates"])
    water_index.water_normalized_file(p["vh_stack"], str(d / "ndvh.tif"), dates=sc["dates"], in_db=True)
    p["ndvh"] = str(d / "ndvh.tif")
    p["model"] = ok(env, "svmclassify", INPUT=p["ndvh"], TRAINING=p["training"], CLASS_FIELD="class",
                    OUTPUT=d / "svm.tif", OUTPUT_MODEL=d / "svm.npz", OUTPUT_REPORT=d / "svm.html")["OUTPUT_MODEL"]
    p["ndvh_x40"] = _rewrite(p["ndvh"], d / "ndvh_x40.tif", lambda a: 40 * a)     # declared water-normalised
    p["ndvh_nan"] = _rewrite(p["ndvh"], d / "ndvh_nan.tif", lambda a: np.full_like(a, np.nan))
    p["vh_nan"] = _rewrite(p["vh_stack"], d / "vh_nan.tif", lambda a: np.full_like(a, np.nan))
    p["vh_dn"] = _rewrite(p["vh_stack"], d / "vh_dn.tif", lambda a: 1e6 * 10 ** (a / 10))   # uncalibrated numbers
    p["vh_fill"] = _rewrite(p["vh_stack"], d / "vh_fill.tif", lambda a: np.where(
        np.arange(a.shape[1])[None, :] < 6, -9999.0, a))                      # an undeclared nodata value
    season = [k for k, date in enumerate(sc["dates"]) if "2019-03-10" <= date <= "2019-05-09"]
    p["ndvh_season_nan"] = _rewrite(p["ndvh"], d / "ndvh_season_nan.tif", lambda a: np.full_like(a, np.nan))
    ds, full = gdal.Open(p["ndvh_season_nan"], gdal.GA_Update), gdal.Open(p["ndvh"])   # only the season empty
    for k in set(range(len(sc["dates"]))) - set(season):
        ds.GetRasterBand(k + 1).WriteArray(full.GetRasterBand(k + 1).ReadAsArray())
    ds = full = None
    truth = gdal.Open(p["truth"]).ReadAsArray()
    p["rice_float"] = rl.write_tif(d / "rice_float.tif", (truth == rl.RICE) + 0.9 * np.random.default_rng(1).random(
        truth.shape))                                                                       # a probability, not classes
    p["mask_float"] = rl.write_tif(d / "mask_float.tif", np.random.default_rng(2).random(truth.shape))
    p["rice_nodata"] = write_raster(d / "rice_nodata.tif", np.full(truth.shape, 255, np.uint8), epsg=rl.EPSG,
                                    gt=rl.geotransform(), nodata=255, dtype=gdal.GDT_Byte)
    for kind in ("empty", "table", "lines", "nulls"):
        p[kind] = _layer(d / f"{kind}.gpkg", kind, rl._srs())
    return p


def _check(env, tmp_path, data, alg, needles, inputs, **params):
    """Run ``alg`` with ``params`` (values naming ``data`` keys are replaced by their paths; OUT… by files in
    ``tmp_path``): refused naming ``needles``, no output file left, the ``inputs`` (``data`` keys) unchanged."""
    before = {k: digest(data[k]) for k in inputs}
    args = {}
    for key, value in params.items():
        if key.startswith("OUTPUT"):
            args[key] = tmp_path / value
        else:
            args[key] = data.get(value, value) if isinstance(value, str) else value
    text = refusal(run(env, alg, **args), *needles)
    left = [p.name for p in tmp_path.iterdir()]
    assert not left, left
    assert {k: digest(data[k]) for k in inputs} == before
    return text


INDEX = ("Liu et al. (2020, eq. 1)", "'Water-normalised backscatter index'")


@pytest.mark.parametrize("alg, needles, inputs, params", [
    # NDVH ×40 (a scaled index) gave 301 "rice" pixels on the scene
    ("ricethreshold", ("NDVH stack (NDVH)", "water-normalised", *INDEX), ["ndvh_x40"],
     dict(NDVH="ndvh_x40", **SEASON, OUTPUT="rice.tif")),
    # a backscatter stack (dB) given as NDVH gave 0 rice pixels and rc 0
    ("ricethreshold", ("NDVH stack (NDVH)", *INDEX), ["vh_stack"], dict(NDVH="vh_stack", **SEASON, OUTPUT="rice.tif")),
    ("ricethreshold", ("NDVV stack (NDVV)", *INDEX), ["ndvh_x40"],
     dict(NDVH="ndvh", NDVV="ndvh_x40", **SEASON, OUTPUT="rice.tif")),
    # feature stacks: checked by the quantity their bands declare
    ("separability", ("Dated stack (INPUT)", *INDEX), ["ndvh_x40", "training"],
     dict(INPUT="ndvh_x40", TRAINING="training", CLASS_FIELD="class", OUTPUT_TABLE="jm.csv", OUTPUT_HTML="jm.html")),
    ("svmclassify", ("Dated stack (INPUT)", *INDEX), ["ndvh_x40"],
     dict(INPUT="ndvh_x40", TRAINING="training", CLASS_FIELD="class", OUTPUT="svm.tif", OUTPUT_REPORT="svm.html")),
    ("svmapply", ("Dated stack (INPUT)", *INDEX), ["ndvh_x40", "model"], dict(INPUT="ndvh_x40", MODEL="model",
                                                                            OUTPUT="svm.tif")),
    # digital numbers given as linear power
    ("waternormalized", ("Dated VV or VH stack (INPUT)", "calibrate"), ["vh_dn"],
     dict(INPUT="vh_dn", INPUT_UNITS=0, OUTPUT="ndvh.tif")),
    # a fill value no index or backscatter has, not declared as nodata
    ("separability", ("Dated stack (INPUT), band 1 holds values of -9999", "gdal_edit.py -a_nodata -9999"),
     ["vh_fill"], dict(INPUT="vh_fill", TRAINING="training", CLASS_FIELD="class", OUTPUT_TABLE="jm.csv",
                       OUTPUT_HTML="jm.html")),
], ids=["rice-ndvh-x40", "rice-ndvh-db", "rice-ndvv-x40", "separability-x40", "svm-x40", "svmapply-x40",
        "waternormalized-dn",
        "separability-fill"])
def test_values_outside_their_quantity_are_refused(env, tmp_path, data, alg, needles, inputs, params):
    _check(env, tmp_path, data, alg, needles, inputs, **params)


@pytest.mark.parametrize("alg, label, params", [
    ("ricethreshold", "NDVH stack (NDVH)", dict(NDVH="ndvh_nan", **SEASON, OUTPUT="rice.tif")),
    # said "separability needs at least 2 classes, got 0"
    ("separability", "Dated stack (INPUT)", dict(INPUT="vh_nan", TRAINING="training", CLASS_FIELD="class",
                                                 OUTPUT_TABLE="jm.csv", OUTPUT_HTML="jm.html")),
    ("svmclassify", "Dated stack (INPUT)", dict(INPUT="vh_nan", TRAINING="training", CLASS_FIELD="class",
                                                OUTPUT="svm.tif", OUTPUT_REPORT="svm.html")),
    ("svmapply", "Dated stack (INPUT)", dict(INPUT="ndvh_nan", MODEL="model", OUTPUT="svm.tif")),
    ("waternormalized", "Dated VV or VH stack (INPUT)", dict(INPUT="vh_nan", OUTPUT="ndvh.tif")),
    ("accuracyassessment", "Class map (CLASSIFIED)", dict(CLASSIFIED="rice_nodata", REFERENCE="reference",
                                                          CLASS_FIELD="rice", OUTPUT_TABLE="acc.csv",
                                                          OUTPUT_HTML="acc.html")),
    ("sieveclasses", "Class map (INPUT)", dict(INPUT="rice_nodata", OUTPUT="sieved.tif")),
], ids=["ricethreshold", "separability", "svmclassify", "svmapply", "waternormalized", "accuracyassessment",
        "sieveclasses"])
def test_a_raster_without_a_valid_pixel_is_refused_as_such(env, tmp_path, data, alg, label, params):
    text = _check(env, tmp_path, data, alg, (label, "has no valid pixel"), [], **params)
    assert "classes, got 0" not in text


@pytest.mark.parametrize("alg, needles, params", [
    # the season dates empty: the rice map would be nodata everywhere (the engine's empty-result rule, with the cause)
    ("ricethreshold", ("would be NaN or nodata", "NDVH stack (NDVH) has no valid pixel on the season dates"),
     dict(NDVH="ndvh_season_nan", **SEASON, OUTPUT="rice.tif", OUTPUT_DATE="doy.tif")),
    # NaN under every training pixel on the season dates
    ("svmclassify", ("is NaN or nodata on some band", "no valid pixel lies under the samples"),
     dict(INPUT="ndvh_season_nan", TRAINING="training", CLASS_FIELD="class", OUTPUT="svm.tif",
          OUTPUT_REPORT="svm.html")),
], ids=["ricethreshold", "svmclassify"])
def test_no_valid_pixel_where_the_method_needs_one_is_refused_with_the_cause(env, tmp_path, data, alg, needles,
                                                                             params):
    _check(env, tmp_path, data, alg, needles, ["ndvh_season_nan"], **params)


@pytest.mark.parametrize("alg, needles, params", [
    # a float class map was truncated silently (OA 1, kappa 1)
    ("accuracyassessment", ("Class map (CLASSIFIED)", "fractional values", "not a class map"),
     dict(CLASSIFIED="rice_float", REFERENCE="reference", CLASS_FIELD="rice", OUTPUT_TABLE="acc.csv",
          OUTPUT_HTML="acc.html")),
    ("waternormalized", ("Water mask (1 = water) (WATER_MASK)", "fractional values"),
     dict(INPUT="vh_stack", WATER_MASK="mask_float", OUTPUT="ndvh.tif")),
    # said "has 1 band(s) of Float32 … convert it to Byte", which would turn a probability into classes
    ("sieveclasses", ("Class map (INPUT)", "fractional values", "not a class map"),
     dict(INPUT="rice_float", OUTPUT="sieved.tif")),
], ids=["accuracyassessment", "waternormalized-mask", "sieveclasses"])
def test_a_continuous_raster_given_as_a_class_map_is_refused(env, tmp_path, data, alg, needles, params):
    _check(env, tmp_path, data, alg, needles, ["rice_float"], **params)


WHY = {"empty": "is empty: it has no feature", "table": "has no geometry (a table without a geometry column)",
       "lines": "holds lines", "nulls": "none with a geometry"}


@pytest.mark.parametrize("alg, param, kind, params", [
    # said "must be a polygon layer; 'x' has no geometry geometries"
    ("waternormalized", "WATER", "table", dict(INPUT="vh_stack", OUTPUT="ndvh.tif")),
    ("waternormalized", "WATER", "empty", dict(INPUT="vh_stack", OUTPUT="ndvh.tif")),
    ("waternormalized", "WATER", "lines", dict(INPUT="vh_stack", OUTPUT="ndvh.tif")),
    ("waternormalized", "WATER", "nulls", dict(INPUT="vh_stack", OUTPUT="ndvh.tif")),
    ("separability", "TRAINING", "empty", dict(INPUT="vh_stack", CLASS_FIELD="class", OUTPUT_TABLE="jm.csv",
                                               OUTPUT_HTML="jm.html")),
    ("separability", "TRAINING", "table", dict(INPUT="vh_stack", CLASS_FIELD="class", OUTPUT_TABLE="jm.csv",
                                               OUTPUT_HTML="jm.html")),
    ("svmclassify", "TRAINING", "nulls", dict(INPUT="vh_stack", CLASS_FIELD="class", OUTPUT="svm.tif",
                                              OUTPUT_REPORT="svm.html")),
    ("accuracyassessment", "REFERENCE", "empty", dict(CLASSIFIED="truth", CLASS_FIELD="rice", OUTPUT_TABLE="acc.csv",
                                                      OUTPUT_HTML="acc.html")),
    ("accuracyassessment", "REFERENCE", "lines", dict(CLASSIFIED="truth", CLASS_FIELD="rice", OUTPUT_TABLE="acc.csv",
                                                      OUTPUT_HTML="acc.html")),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_vector_layer_that_cannot_serve_is_named_with_why(env, tmp_path, data, alg, param, kind, params):
    text = _check(env, tmp_path, data, alg, (f"({param}) ('{kind}')", WHY[kind], "must hold"), [kind],
                  **{param: kind}, **params)
    assert "no geometry geometries" not in text


def test_thresholds_no_pixel_passes_give_no_rice_with_a_warning_not_an_empty_refusal(env, tmp_path, data):
    """T_FLOOD = -1 (below any NDVH): no rice is a valid answer; the empty transplanting-date raster is written and
    the log says no pixel passed, naming the thresholds (the empty-output rule allows that one output)."""
    res = run(env, "ricethreshold", f"--NDVH={data['ndvh']}", *[f"--{k}={v}" for k, v in SEASON.items()],
              "--T_FLOOD=-1", f"--OUTPUT={tmp_path / 'rice.tif'}", f"--OUTPUT_DATE={tmp_path / 'doy.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-2000:]
    assert "No pixel passed the rule" in text and "(T_FLOOD) = -1" in text
    assert (tmp_path / "rice.tif").exists() and (tmp_path / "doy.tif").exists()
