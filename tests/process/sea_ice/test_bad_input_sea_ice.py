"""The sea-ice suite through qgis_process (issue #28): bad input is refused before any output exists, with a message
that names the input, what is wrong and the fix, and the input is never touched. One parametrised test per class of
defect: a raster that is no SIC class chart (the expected SIC in %, a fractional or negative raster), a chart and a
grid that do not overlap or give no class, backscatter with no valid pixel or uncalibrated, a vector layer that cannot
serve."""


import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from process_helpers import bad_layer, digest, needs_qgis_process, refusal, run, run_json

from sarsense.simulators import sea_ice_scenes as sim

pytestmark = needs_qgis_process


def _rewrite(src, dst, change, **translate):
    gdal.Translate(str(dst), str(src), **translate)
    ds = gdal.Open(str(dst), gdal.GA_Update)
    band = ds.GetRasterBand(1)
    band.WriteArray(change(band.ReadAsArray().astype(np.float64)))
    ds = None
    return str(dst)


def _layer(path, kind, srs):
    """A GeoPackage that cannot serve as an ice chart or land mask (``empty``, ``table``, ``points``, ``nulls``:
    :func:`bad_layer`), with the CT field."""
    return bad_layer(path, kind, srs, {"CT": (ogr.OFTString, "92")}, "POINT (-495000 -1495000)")


@pytest.fixture(scope="module")
def data(tmp_path_factory, env):
    """A simulated EW scene, its U-Net chart and expected SIC (%), its ice chart, and bad versions of each."""
    d = tmp_path_factory.mktemp("sic_bad")
    s = sim.simulate((256, 256), seed=10)
    p = sim.write_scene(d, s, name="s")
    p["polygons"] = sim.chart_polygons(d / "chart.gpkg", s)
    run_json(env, "seaiceconcentration", HH=p["hh"], HV=p["hv"], OUTPUT=d / "sic.tif", OUTPUT_EXPECTED=d / "exp.tif")
    p["sic"], p["expected"] = str(d / "sic.tif"), str(d / "exp.tif")
    p["expected_tenth"] = _rewrite(p["expected"], d / "exp_tenth.tif", lambda a: a / 10)   # fractional, in 0..10
    p["far"] = _rewrite(p["sic"], d / "far.tif", lambda a: a, outputBounds=[2e6, 2.02e6, 2.02e6, 2e6])
    p["hh_nan"] = _rewrite(p["hh"], d / "hh_nan.tif", lambda a: np.full_like(a, np.nan))
    p["hh_dn"] = _rewrite(p["hh"], d / "hh_dn.tif", lambda a: 1e6 * 10 ** (a / 10))
    p["hv_dn"] = _rewrite(p["hv"], d / "hv_dn.tif", lambda a: 1e6 * 10 ** (a / 10))
    land = ogr.GetDriverByName("GPKG").CopyDataSource(ogr.Open(p["polygons"]), str(d / "land.gpkg"))
    land.ExecuteSQL("UPDATE icechart SET POLY_TYPE = 'L'")              # every polygon land: no class anywhere
    land = None
    p["all_land"] = str(d / "land.gpkg")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(sim.EPSG)
    for kind in ("empty", "table", "points", "nulls"):
        p[kind] = _layer(d / f"{kind}.gpkg", kind, srs)
    (d / "zero.gpkg").write_bytes(b"")
    p["zero"] = str(d / "zero.gpkg")
    return p


def _check(env, tmp_path, data, alg, needles, inputs, **params):
    """Run ``alg`` with ``params`` (``data`` keys replaced by paths, OUTPUT… by files in ``tmp_path``): refused
    naming ``needles``, no output file left, the ``inputs`` unchanged."""
    before = {k: digest(data[k]) for k in inputs}
    args = {k: tmp_path / v if k.startswith("OUTPUT") else data.get(v, v) for k, v in params.items()}
    text = refusal(run(env, alg, **args), *needles)
    left = [p.name for p in tmp_path.iterdir()]
    assert not left, left
    assert {k: digest(data[k]) for k in inputs} == before
    return text


SKILL = dict(OUTPUT_TABLE="skill.csv", OUTPUT_HTML="skill.html")
CHART_FIX = ("a SIC class chart holds classes 0–10", "OUTPUT_EXPECTED")


@pytest.mark.parametrize("params, needles", [
    # the float expected SIC (%) as PREDICTED was scored ("no pixel holds a SIC class" at best)
    (dict(PREDICTED="expected", REFERENCE="chart"), ("Predicted SIC chart (PREDICTED)", "SIC in percent", *CHART_FIX)),
    (dict(PREDICTED="sic", REFERENCE="expected"), ("Reference SIC chart (REFERENCE)", "SIC in percent", *CHART_FIX)),
    # fractional values within 0..10 would have been truncated to classes
    (dict(PREDICTED="expected_tenth", REFERENCE="chart"), ("Predicted SIC chart (PREDICTED)", "fractional values",
                                                           *CHART_FIX)),
    # backscatter (dB) is no class chart
    (dict(PREDICTED="hh", REFERENCE="chart"), ("Predicted SIC chart (PREDICTED)", "negative values", *CHART_FIX)),
], ids=["expected-as-predicted", "expected-as-reference", "fractional", "backscatter"])
def test_a_raster_that_is_no_sic_class_chart_is_refused_by_skill(env, tmp_path, data, params, needles):
    _check(env, tmp_path, data, "seaiceskill", needles, list(params.values()), **params, **SKILL)


@pytest.mark.parametrize("reference, needles", [
    # every pixel 255, rc 0
    ("far", ("Ice chart (polygons) (CHART) and Reference grid (REFERENCE) do not overlap", "EPSG:3413",
             "the grid x 2000000…2020000")),
], ids=["far"])
def test_a_chart_that_misses_the_grid_is_refused_with_both_extents(env, tmp_path, data, reference, needles):
    text = _check(env, tmp_path, data, "icechartclasses", needles, ["polygons", reference], CHART="polygons",
                  REFERENCE=reference, OUTPUT="ref.tif")
    assert "the chart spans x -500000…-489760" in text


def test_a_chart_that_gives_no_class_on_the_grid_is_refused_with_its_cause(env, tmp_path, data):
    """Every polygon land: the output would be 255 everywhere (the engine's empty-result rule, with the cause)."""
    _check(env, tmp_path, data, "icechartclasses", ("Reference grid (REFERENCE)", "land, no-data or unknown"),
           ["all_land"], CHART="all_land", REFERENCE="sic", OUTPUT="ref.tif")


@pytest.mark.parametrize("params, needles", [
    (dict(HH="hh_nan", HV="hv"), ("HH backscatter (HH)", "has no valid pixel")),
    (dict(HH="hh_dn", HV="hv_dn", INPUT_UNITS=0), ("HH backscatter (HH)", "calibrate")),
], ids=["all-nan", "digital-numbers"])
def test_backscatter_that_is_no_sigma0_is_refused(env, tmp_path, data, params, needles):
    inputs = [v for v in params.values() if isinstance(v, str)]
    _check(env, tmp_path, data, "seaiceconcentration", needles, inputs, **params, OUTPUT="sic.tif",
           OUTPUT_EXPECTED="exp.tif")


WHY = {"empty": "is empty: it has no feature", "table": "has no geometry (a table without a geometry column)",
       "points": "holds points", "nulls": "none with a geometry"}


@pytest.mark.parametrize("kind", ["empty", "table", "points", "nulls"])
def test_an_ice_chart_layer_that_cannot_serve_is_named_with_why(env, tmp_path, data, kind):
    """Said "has no field 'CT' (its fields: none)" for an empty layer and "has no polygon" for one without geometry."""
    text = _check(env, tmp_path, data, "icechartclasses", (f"Ice chart (polygons) (CHART) ('{kind}')", WHY[kind],
                                                           "must hold ice-chart polygons"),
                  [kind], CHART=kind, REFERENCE="sic", OUTPUT="ref.tif")
    assert "its fields: none" not in text


def test_a_chart_without_the_concentration_field_names_its_fields(env, tmp_path, data):
    _check(env, tmp_path, data, "icechartclasses", ("has no field 'ICE' (its fields: fid, CT, POLY_TYPE)",
                                                    "Concentration field (empty: CT) (CT_FIELD)"),
           ["polygons"], CHART="polygons", CT_FIELD="ICE", REFERENCE="sic", OUTPUT="ref.tif")


@pytest.mark.parametrize("kind", ["empty", "table"])
def test_a_land_layer_that_cannot_serve_is_named_with_why(env, tmp_path, data, kind):
    _check(env, tmp_path, data, "seaiceconcentration", (f"Land mask (polygons or raster) (LAND) ('{kind}')",
                                                        WHY[kind]),
           [kind], HH="hh", HV="hv", LAND=kind, OUTPUT="sic.tif")


def test_a_land_mask_file_of_zero_bytes_is_named_as_empty(env, tmp_path, data):
    """A map-layer input (raster or polygons) gets the file checks of both kinds, not QGIS's 'Incorrect
    parameter value'."""
    _check(env, tmp_path, data, "seaiceconcentration", ("Land mask (polygons or raster) (LAND)", "is empty (0 bytes)"),
           ["zero"], HH="hh", HV="hv", LAND="zero", OUTPUT="sic.tif")
