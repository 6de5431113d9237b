"""Soil moisture I in real QGIS (processing.run) on the bundled Bolivia data: results equal the core,
dates kept, counts logged, bad inputs refused with a message and no output."""

import json
import math

import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster, write_raster
from osgeo import gdal
from qgis.core import QgsProcessingException, QgsProcessingFeedback
from qgis_helpers import Log, run

from sarsense.algorithms.io import stack as _stack
from sarsense.algorithms.soil_moisture import change_detection as cd
from sarsense.algorithms.soil_moisture import series, timeinterp, water_cloud

NDVI_DIR = REPO / "resources" / "sample_data" / "landsat_ndvi_bolivia"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory, qgis_app, qgis_processing):
    from qgis.core import QgsApplication

    from sarsense.sarsense_qgis.provider import SarsenseProvider
    reg = QgsApplication.processingRegistry()
    if reg.providerById("sarsense") is None:
        reg.addProvider(SarsenseProvider())
    tmp = tmp_path_factory.mktemp("sm")
    vv = run("buildstack", {"INPUTS": sorted(str(p) for p in STACK_DIR.glob("*.tif")), "DROP_EMPTY": True,
                            "OUTPUT": str(tmp / "vv.tif")})
    nd = run("buildstack", {"INPUTS": sorted(str(p) for p in NDVI_DIR.glob("*.tif")), "DROP_EMPTY": True,
                            "OUTPUT": str(tmp / "ndvi.tif")})
    return vv["OUTPUT"], nd["OUTPUT"], tmp


def test_change_detection_equals_core_keeps_dates_and_counts(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    log = Log()
    res = run("changedetection", {"INPUT": vv, "SSM_MIN": 0.08, "SSM_MAX": 0.38, "MIN_DATES": 16,
                                  "OUTPUT_INDEX": str(tmp_path / "i.tif"), "OUTPUT_SSM": str(tmp_path / "s.tif")},
              feedback=log)
    arr = read_raster(vv)
    idx, few, flat = cd.change_index(arr, min_dates=16)
    np.testing.assert_array_equal(read_raster(res["OUTPUT_INDEX"]), idx)
    np.testing.assert_allclose(read_raster(res["OUTPUT_SSM"]), cd.ssm_from_index(idx, 0.08, 0.38), rtol=1e-6)
    assert _stack.band_dates(res["OUTPUT_SSM"]) == _stack.band_dates(vv)
    assert few > 0 and any(f"{few} pixels have fewer than 16 valid dates" in line for line in log.lines)
    ssm = read_raster(res["OUTPUT_SSM"])
    assert np.nanmin(ssm) >= 0.08 - 1e-6 and np.nanmax(ssm) <= 0.38 + 1e-6


def test_change_detection_percentiles_and_ssm_rasters(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    info = gdal.Open(vv)
    lo = write_raster(tmp_path / "lo.tif", np.full((100, 100), 0.1, np.float32), epsg=32720,
                      gt=info.GetGeoTransform())
    res = run("changedetection", {"INPUT": vv, "REFERENCE": 1, "LOW_PCT": 10, "HIGH_PCT": 90, "SSM_MIN_RASTER": lo,
                                  "SSM_MAX": 0.3, "OUTPUT_INDEX": str(tmp_path / "i.tif"),
                                  "OUTPUT_SSM": str(tmp_path / "s.tif")})
    idx, _, _ = cd.change_index(read_raster(vv), reference="percentile", low_pct=10, high_pct=90)
    np.testing.assert_allclose(read_raster(res["OUTPUT_SSM"]), idx * 0.2 + 0.1, rtol=1e-5, atol=1e-7)


def test_ndvi_interpolated_to_radar_dates_equals_core(sarsense, stacks, tmp_path):
    vv, nd, _ = stacks
    res = run("interpolatetime", {"INPUT": nd, "TARGET": vv, "OUTPUT": str(tmp_path / "n.tif")})
    got = read_raster(res["OUTPUT"])
    ref = timeinterp.interpolate_time(read_raster(nd), _stack.band_dates(nd), _stack.band_dates(vv),
                                     max_gap_days=timeinterp.DEFAULT_MAX_GAP_DAYS)
    np.testing.assert_array_equal(got, ref)
    assert _stack.band_dates(res["OUTPUT"]) == _stack.band_dates(vv)
    res2 = run("interpolatetime", {"INPUT": nd, "TARGET": "2016-03-14, 2016-03-20", "MAX_GAP_DAYS": 20,
                                   "OUTPUT": str(tmp_path / "n2.tif")})
    assert _stack.band_dates(res2["OUTPUT"]) == ["2016-03-14", "2016-03-20"]


def test_vegetation_cd_with_ndvi_on_radar_dates_and_params_file(sarsense, stacks, tmp_path):
    vv, nd, _ = stacks
    v1 = run("interpolatetime", {"INPUT": nd, "TARGET": vv, "MAX_GAP_DAYS": 60, "OUTPUT": str(tmp_path / "v1.tif")})
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"alpha": 18.0, "beta": 12.0}))
    log = Log()
    res = run("vegetationcd", {"VV": vv, "V1": v1["OUTPUT"], "PARAMS": str(params), "SSM_MIN": 0.05,
                               "OUTPUT": str(tmp_path / "s.tif")}, feedback=log)
    ref, _ = cd.vegetation_cd(read_raster(vv), read_raster(v1["OUTPUT"]), alpha=18, beta=12, ssm_min=0.05)
    assert series.clip_ssm(ref, 0.5) == (0, res["CLIPPED"]) and res["CLIPPED"] > 0   # bounded by POROSITY (#29)
    np.testing.assert_array_equal(read_raster(res["OUTPUT"]), ref)
    assert any("α = 18, β = 12" in line for line in log.lines)


def test_water_cloud_equals_core_in_db(sarsense, stacks, tmp_path):
    vv, nd, _ = stacks
    v1 = run("interpolatetime", {"INPUT": nd, "TARGET": vv, "MAX_GAP_DAYS": 60, "OUTPUT": str(tmp_path / "v1.tif")})
    res = run("watercloud", {"INPUT": vv, "NDVI": v1["OUTPUT"], "INCIDENCE": "39", "A": 0.05, "B": 0.1,
                             "OUTPUT_SOIL": str(tmp_path / "s.tif"), "OUTPUT_VEG": str(tmp_path / "v.tif")})
    soil, veg, _ = water_cloud.water_cloud(10 ** (read_raster(vv) / 10), read_raster(v1["OUTPUT"]), 39.0, a=0.05,
                                           b=0.1)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(read_raster(res["OUTPUT_SOIL"]), 10 * np.log10(soil), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(read_raster(res["OUTPUT_VEG"]), 10 * np.log10(veg), rtol=1e-5, atol=1e-4)


def test_terrain_flatten_with_a_geographic_dem(sarsense, stacks, tmp_path):
    """A plane rising to the east by 10° in a DEM in EPSG:4326 (another CRS than the input's UTM grid)."""
    vv, _, _ = stacks
    src = gdal.Open(vv)
    gt = src.GetGeoTransform()
    one = write_raster(tmp_path / "one.tif", np.full((100, 100), -10.0, np.float32), epsg=32720, gt=gt)
    # DEM on a lon/lat grid covering the scene generously, height = tan(10°)·(easting − e0) via UTM
    from osgeo import osr
    utm, geo = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32720)
    geo.ImportFromEPSG(4326)
    for s in (utm, geo):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_geo = osr.CoordinateTransformation(utm, geo)
    lon0, lat0, _ = to_geo.TransformPoint(gt[0] - 600, gt[3] + 600)
    lon1, lat1, _ = to_geo.TransformPoint(gt[0] + 3600, gt[3] - 3600)
    n = 400
    lons, lats = np.linspace(lon0, lon1, n), np.linspace(lat0, lat1, n)
    to_utm = osr.CoordinateTransformation(geo, utm)
    east = np.array([[to_utm.TransformPoint(x, y)[0] for x in lons] for y in lats])
    dem = write_raster(tmp_path / "dem.tif", (np.tan(np.radians(10)) * (east - gt[0])).astype(np.float32),
                       epsg=4326, gt=(lon0, (lon1 - lon0) / n, 0, lat0, 0, (lat1 - lat0) / n))
    res = run("terrainflatten", {"INPUT": one, "DEM": dem, "INCIDENCE_ANGLE": 40, "HEADING": 0, "LOOK": 0,
                                 "OUTPUT": str(tmp_path / "f.tif"), "OUTPUT_LOCAL_INCIDENCE": str(tmp_path / "t.tif")})
    theta = read_raster(res["OUTPUT_LOCAL_INCIDENCE"])[0][5:-5, 5:-5]
    # looking east at a slope rising east by 10°: θ_DEM = 30° (grid convergence at this UTM position < 1°)
    assert abs(np.median(theta) - 30.0) < 1.0
    flat = read_raster(res["OUTPUT"])[0][5:-5, 5:-5]
    expect = -10 + 10 * math.log10(math.sin(math.radians(30)) / math.sin(math.radians(40)))
    assert abs(np.median(flat) - expect) < 0.15


def test_ndvi_from_landsat_bands(sarsense, tmp_path):
    red = np.array([[[30, 60], [90, 10]]], np.float32)
    nir = np.array([[[90, 70], [100, 10]]], np.float32)
    both = write_raster(tmp_path / "rn.tif", np.concatenate([red, nir]), descriptions=["red", "nir"])
    res = run("ndvi", {"RED": both, "RED_BAND": 1, "NIR_BAND": 2, "SCALE": 0.01, "MASK_OUTSIDE": True,
                       "OUTPUT": str(tmp_path / "n.tif")})
    got = read_raster(res["OUTPUT"])[0]
    assert got[0, 0] == pytest.approx(0.5) and np.isnan(got[0, 1]) and np.isnan(got[1, 1])  # 0.077 and 0 masked
    red_f = write_raster(tmp_path / "r_2016-01-05.tif", red)
    nir_f = write_raster(tmp_path / "n_2016-01-05.tif", nir)
    res = run("ndvi", {"RED": red_f, "NIR": nir_f, "RED_BAND": 1, "NIR_BAND": 1, "MASK_OUTSIDE": False,
                       "SCALE": 0.01, "OUTPUT": str(tmp_path / "n2.tif")})   # digital numbers need their scale
    assert _stack.band_dates(res["OUTPUT"]) == ["2016-01-05"]
    assert read_raster(res["OUTPUT"])[0][1, 1] == 0.0


# -- bad inputs: a clear message and no output ---------------------------------------------------------
def _refused(alg, params, match, out_keys=("OUTPUT",)):
    with pytest.raises(QgsProcessingException, match=match):
        run(alg, params)
    for key in out_keys:
        assert not __import__("os").path.exists(params[key]), f"{key} was written"


def test_one_date_stack_and_undated_stack_are_refused(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    one = write_raster(tmp_path / "one.tif", read_raster(vv)[:1], descriptions=["2016-01-05"])
    outs = {"OUTPUT_INDEX": str(tmp_path / "i.tif"), "OUTPUT_SSM": str(tmp_path / "s.tif")}
    _refused("changedetection", {"INPUT": one, **outs}, "has 1 date", outs)
    undated = write_raster(tmp_path / "undated.tif", read_raster(vv)[:4])
    _refused("changedetection", {"INPUT": undated, **outs}, "must be a dated stack", outs)


def test_ssm_min_not_below_max_and_wrong_units_are_refused(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    outs = {"OUTPUT_INDEX": str(tmp_path / "i.tif"), "OUTPUT_SSM": str(tmp_path / "s.tif")}
    _refused("changedetection", {"INPUT": vv, "SSM_MIN": 0.4, "SSM_MAX": 0.3, **outs}, "must be below", outs)
    _refused("changedetection", {"INPUT": vv, "INPUT_UNITS": 0, **outs}, "looks like dB", outs)
    linear = write_raster(tmp_path / "lin.tif", 10 ** (read_raster(vv) / 10), descriptions=_stack.band_dates(vv))
    _refused("changedetection", {"INPUT": linear, "INPUT_UNITS": 1, **outs}, "looks like linear power", outs)


def test_v1_on_other_dates_and_missing_alpha_are_refused(sarsense, stacks, tmp_path):
    vv, nd, _ = stacks
    out = str(tmp_path / "s.tif")
    _refused("vegetationcd", {"VV": vv, "V1": nd, "ALPHA": 20, "BETA": 10, "OUTPUT": out},
             "must be on the same dates.*lacks 2015-12-30")
    _refused("vegetationcd", {"VV": vv, "V1": vv, "OUTPUT": out}, "no defaults")


def test_all_nan_ndvi_is_refused(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    nan = write_raster(tmp_path / "nan.tif", np.full((100, 100), np.nan, np.float32), epsg=32720,
                       gt=gdal.Open(vv).GetGeoTransform())
    _refused("watercloud", {"INPUT": vv, "NDVI": nan, "INCIDENCE_ANGLE": 39, "A": 0.05, "B": 0.1,
                            "OUTPUT_SOIL": str(tmp_path / "s.tif"), "OUTPUT_VEG": str(tmp_path / "v.tif")},
             "no valid pixel", ("OUTPUT_SOIL", "OUTPUT_VEG"))


def test_dem_not_covering_and_bad_incidence_are_refused(sarsense, stacks, tmp_path):
    vv, _, _ = stacks
    far = write_raster(tmp_path / "far.tif", np.zeros((20, 20), np.float32), epsg=32631)
    out = str(tmp_path / "f.tif")
    _refused("terrainflatten", {"INPUT": vv, "DEM": far, "INCIDENCE_ANGLE": 39, "HEADING": 348, "OUTPUT": out},
             "does not cover")
    dem = write_raster(tmp_path / "dem.tif", np.zeros((100, 100), np.float32), epsg=32720,
                       gt=gdal.Open(vv).GetGeoTransform())
    _refused("terrainflatten", {"INPUT": vv, "DEM": dem, "INCIDENCE": "95", "HEADING": 348, "OUTPUT": out},
             "between 0 and 90")
    inc = write_raster(tmp_path / "inc.tif", np.full((100, 100), 0.68, np.float32) * 0 + 120, epsg=32720,
                       gt=gdal.Open(vv).GetGeoTransform())
    _refused("terrainflatten", {"INPUT": vv, "DEM": dem, "INCIDENCE": inc, "HEADING": 348, "OUTPUT": out},
             "between 0 and 90")
    _refused("terrainflatten", {"INPUT": vv, "DEM": dem, "INCIDENCE_ANGLE": 39, "OUTPUT": out}, "no heading")


def test_soil_moisture_group_and_help(sarsense):
    ids = {a.id() for a in sarsense.algorithms() if a.groupId() == "soilmoisture"}
    assert ids == {f"sarsense:{n}" for n in ("ndvi", "interpolatetime", "changedetection", "vegetationcd",
                                              "terrainflatten", "watercloud", "importismn", "extractstations",
                                              "calibratevegetationcd", "calibratewatercloud", "trainannmoisture",
                                              "annmoisture",
                                              "regressmoisture", "validatemoisture", "rainresponse")}


def test_shipped_soil_moisture_chains_run(sarsense, stacks, tmp_path):
    vv, nd, _ = stacks
    files = sorted(str(p) for p in STACK_DIR.glob("*.tif"))
    res = run("soil_moisture_cd", {"vv_files": files, "ssm_min": 0.05, "ssm_max": 0.35,
                                   "cd:Soil moisture index": str(tmp_path / "i.tif"),
                                   "cd:Soil moisture (m³ per m³)": str(tmp_path / "s.tif")})
    ssm = read_raster(res["cd:Soil moisture (m³ per m³)"])
    assert ssm.shape[0] == 17 and np.nanmax(ssm) <= 0.35 + 1e-6 and np.isfinite(ssm).mean() > 0.3
    res = run("soil_moisture_vegetation_cd", {"vv_stack": vv, "ndvi_stack": nd, "alpha": 18, "beta": 12,
                                              "max_gap": 60, "vcd:Soil moisture, vegetation-corrected (m³ per m³)":
                                              str(tmp_path / "v.tif")})
    out = read_raster(res["vcd:Soil moisture, vegetation-corrected (m³ per m³)"])
    assert out.shape[0] == 17 and np.isfinite(out).any()


def test_ssm_and_index_load_with_their_ramps_and_legends(sarsense, stacks, tmp_path, qgis_iface):
    import processing
    from qgis.core import QgsProject, QgsRasterLayer, QgsSingleBandPseudoColorRenderer
    vv, _, _ = stacks
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:changedetection", {"INPUT": vv, "OUTPUT_INDEX": str(tmp_path / "i.tif"),
                                                              "OUTPUT_SSM": str(tmp_path / "s.tif")})
    layers = {lyr.source(): lyr for lyr in QgsProject.instance().mapLayers().values()
              if isinstance(lyr, QgsRasterLayer)}
    ssm, idx = layers[str(tmp_path / "s.tif")].renderer(), layers[str(tmp_path / "i.tif")].renderer()
    for r, hi in ((ssm, 0.5), (idx, 1.0)):
        assert isinstance(r, QgsSingleBandPseudoColorRenderer)
        assert (r.classificationMin(), r.classificationMax()) == (0.0, hi)
        assert len(r.legendSymbologyItems()) >= 5
    items = ssm.shader().rasterShaderFunction().colorRampItemList()
    assert items[0].color.name() == "#8c510a" and items[-1].color.name() == "#2166ac"   # brown (dry) → blue (wet)
    QgsProject.instance().removeAllMapLayers()


def test_cancel_leaves_no_output(sarsense, tmp_path):
    from qgis.core import QgsProcessingContext
    n = 6
    arr = np.random.default_rng(0).normal(-12, 2, (n, 700, 900)).astype(np.float32)
    src = write_raster(tmp_path / "st.tif", arr, descriptions=[f"2016-01-{d:02d}" for d in range(1, n + 1)])

    class CancelAfterFirstBlock(QgsProcessingFeedback):
        def setProgress(self, progress):
            super().setProgress(progress)
            if progress > 0:
                self.cancel()

    alg = sarsense.algorithm("changedetection").create()
    feedback = CancelAfterFirstBlock()
    params = {"INPUT": src, "OUTPUT_INDEX": str(tmp_path / "i.tif"), "OUTPUT_SSM": str(tmp_path / "s.tif")}
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run(params, QgsProcessingContext(), feedback, catchExceptions=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["st.tif"], "no output and no partial file is left"


def test_virtual_rasters_are_freed_even_when_the_run_is_refused(sarsense, stacks, tmp_path):
    """The DEM is put on the grid (a /vsimem/ warp), then the incidence raster is refused: nothing is left."""
    vv, _, _ = stacks
    dem = write_raster(tmp_path / "dem_utm31.tif", np.zeros((60, 60), np.float32), epsg=32720,
                       gt=(gdal.Open(vv).GetGeoTransform()[0] - 300, 60.0, 0, gdal.Open(vv).GetGeoTransform()[3] + 300,
                           0, -60.0))
    far = write_raster(tmp_path / "far.tif", np.full((20, 20), 39.0, np.float32), epsg=32631)
    before = set(gdal.ReadDir("/vsimem/") or [])
    _refused("terrainflatten", {"INPUT": vv, "DEM": dem, "INCIDENCE": far, "HEADING": 348,
                                "OUTPUT": str(tmp_path / "f.tif")}, "does not cover")
    assert set(gdal.ReadDir("/vsimem/") or []) == before
