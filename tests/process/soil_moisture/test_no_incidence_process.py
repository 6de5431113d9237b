"""No incidence angle (issue #29, finding 7): datacubes from openEO, Sentinel Hub or CDSE hold σ° without θ. Every
method that needs θ says so, naming what to give (the importer's incidence band, or one angle for the site), through
qgis_process.bin --json."""

import numpy as np
import pytest
from helpers import write_raster
from process_helpers import needs_qgis_process, ok, refused

pytestmark = needs_qgis_process
DATES = [f"2019-0{m}-0{d}" for m in range(1, 4) for d in (1, 7)]
HINT = ("No incidence angle in the data (a datacube)?", "'Import Sentinel-1'", "29-46°")


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    """A VV stack (dB) and NDVI stack as a datacube gives them (no incidence band), a DEM, and station samples with
    VV, NDVI and in-situ soil moisture but no θ."""
    from osgeo import ogr, osr
    tmp = tmp_path_factory.mktemp("noinc")
    rng = np.random.default_rng(0)
    vv = write_raster(tmp / "vv.tif", (-12 + rng.standard_normal((len(DATES), 6, 6))).astype(np.float32),
                      descriptions=DATES)
    ndvi = write_raster(tmp / "ndvi.tif", np.full((len(DATES), 6, 6), 0.4, np.float32), descriptions=DATES)
    dem = write_raster(tmp / "dem.tif", np.full((6, 6), 100.0, np.float32))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp / "samples.gpkg"))
    layer = ds.CreateLayer("samples", srs, ogr.wkbPoint)
    for name, kind in (("station", ogr.OFTString), ("date", ogr.OFTString), ("VV", ogr.OFTReal), ("NDVI", ogr.OFTReal),
                       ("ssm_insitu", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    for i in range(24):
        f = ogr.Feature(layer.GetLayerDefn())
        for name, v in (("station", f"S{i % 3}"), ("date", DATES[i % len(DATES)]), ("VV", -12.0 + rng.random()),
                        ("NDVI", 0.3 + 0.4 * rng.random()), ("ssm_insitu", 0.1 + 0.2 * rng.random())):
            f.SetField(name, v)
        f.SetGeometry(ogr.CreateGeometryFromWkt("POINT (4 50)"))
        layer.CreateFeature(f)
    ds = None
    return {"tmp": tmp, "vv": vv, "ndvi": ndvi, "dem": dem, "samples": str(tmp / "samples.gpkg")}


def test_water_cloud_refuses_without_an_angle_and_takes_one_for_the_site(env, cube):
    t = cube["tmp"]
    refused(env, "watercloud", f"--INPUT={cube['vv']}", f"--NDVI={cube['ndvi']}", "--A=0.05", "--B=0.1",
            f"--OUTPUT_SOIL={t / 'w.tif'}", match=("(INCIDENCE)", "(INCIDENCE_ANGLE)", *HINT))
    assert not (t / "w.tif").exists()
    res = ok(env, "watercloud", f"--INPUT={cube['vv']}", f"--NDVI={cube['ndvi']}", "--A=0.05", "--B=0.1",
             "--INCIDENCE_ANGLE=39", f"--OUTPUT_SOIL={t / 'w.tif'}")
    assert (t / "w.tif").exists() and res["OUTPUT_SOIL"] == str(t / "w.tif")


def test_terrain_normalisation_refuses_without_an_angle(env, cube):
    refused(env, "terrainflatten", f"--INPUT={cube['vv']}", f"--DEM={cube['dem']}", "--HEADING=348",
            f"--OUTPUT={cube['tmp'] / 'tf.tif'}", match=("(INCIDENCE)", "(INCIDENCE_ANGLE)", *HINT))


def test_the_network_map_says_how_to_give_theta(env, cube):
    # the bundled model takes θ third: given VV and NDVI only, the refusal says what θ can be
    refused(env, "annmoisture", f"--INPUTS={cube['vv']}", f"--INPUTS={cube['ndvi']}",
            f"--OUTPUT={cube['tmp'] / 'ann.tif'}",
            match=("θ (degrees)", "θ is a one-band raster without a date", *HINT, "Raster calculator"))


def test_calibrations_on_samples_without_theta_say_where_it_comes_from(env, cube):
    t = cube["tmp"]
    refused(env, "calibratewatercloud", f"--SAMPLES={cube['samples']}", f"--OUTPUT_PARAMS={t / 'cw.json'}",
            f"--OUTPUT_HTML={t / 'cw.html'}",
            match=("has no field theta", *HINT, "'Extract raster values at stations'", "add a field 'theta'"))
    refused(env, "trainannmoisture", f"--SAMPLES={cube['samples']}", "--INPUTS=0", "--INPUTS=2",
            f"--OUTPUT_MODEL={t / 'm.onnx'}", f"--OUTPUT_HTML={t / 'm.html'}",
            match=("no field for predictor θ", *HINT, "leave θ out of the predictors"))

