"""Issue 31, through qgis_process: the bundled CD + ANN hybrid maps real Sentinel-1 VV (the Bolivian series, with its
real Landsat NDVI and the change-detection maps of sarsense:changedetection) without a negative pixel-date: the
network's output is bounded, nothing is left for the clip to do; a network trained by sarsense:trainannmoisture is
bounded by the trainer's POROSITY."""

import json

import numpy as np
import pytest
import sm_bad_data
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import bolivia_series, needs_qgis_process, ok, run_json

from sarsense.algorithms import onnx as rt

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def predictors(env, tmp_path_factory):
    """The bundled model's seven predictors on the Bolivian grid, as a user makes them: VV (real, 17 dates with data),
    NDVI (real Landsat, interpolated onto the radar dates), θ 39° (no angle ships with the series), ΔVV, I_SSM and
    SSM_t (changedetection), and VH/VV: no VH ships, so a ramp across the columns over Sentinel-1's range over
    land, -16 … -4 dB (the simulated training samples span -12.5 … -4.2 dB, 5-95 %)."""
    tmp = tmp_path_factory.mktemp("smhyb")
    series = bolivia_series(env, tmp)
    vv, n1 = series["vv"], series["ndvi"]
    cd = ok(env, "changedetection", f"--INPUT={vv}", "--SSM_MIN=0.05", "--SSM_MAX=0.4",
            f"--OUTPUT_INDEX={tmp / 'i.tif'}", f"--OUTPUT_SSM={tmp / 's.tif'}", f"--OUTPUT_DVV={tmp / 'd.tif'}")
    ds = gdal.Open(vv)
    shape, gt = (ds.RasterYSize, ds.RasterXSize), ds.GetGeoTransform()
    theta = write_raster(tmp / "theta.tif", np.full(shape, 39.0, np.float32), epsg=32720, gt=gt)
    ramp = np.broadcast_to(np.linspace(-16.0, -4.0, shape[1], dtype=np.float32), shape)
    vhvv = write_raster(tmp / "vhvv.tif", np.ascontiguousarray(ramp), epsg=32720, gt=gt)
    return [vv, n1, theta, cd["OUTPUT_DVV"], cd["OUTPUT_INDEX"], vhvv, cd["OUTPUT_SSM"]]


def test_the_bundled_network_maps_real_vv_without_negative_soil_moisture(env, predictors, tmp_path):
    doc = run_json(env, "annmoisture", *[f"--INPUTS={p}" for p in predictors], f"--OUTPUT={tmp_path / 'ssm.tif'}",
                   f"--OUTPUT_SPREAD={tmp_path / 'spread.tif'}")
    res = doc["results"]
    ssm, spread = read_raster(res["OUTPUT"]), read_raster(res["OUTPUT_SPREAD"])
    assert np.isfinite(ssm).mean() > 0.3                    # the forest/clearing half of the grid with data
    assert np.nanmin(ssm) >= 0.0 and np.nanmax(ssm) <= 0.5
    meta = gdal.Open(res["OUTPUT"]).GetMetadata()
    # the old linear output went below 0 on some of these pixel-dates (clipped and counted); now none
    assert res["CLIPPED"] == 0 and meta["SSM_CLIPPED_BELOW_0"] == "0" and meta["SSM_CLIPPED_ABOVE_POROSITY"] == "0"
    assert np.nanmax(spread) <= 0.25                        # members in [0, 0.5]: their SD is at most half of it


def test_a_user_trained_network_is_bounded_by_the_trainers_porosity(env, tmp_path):
    d = sm_bad_data.make(tmp_path)                       # station samples with in-situ 0.1 … 0.4 m³/m³
    doc = run_json(env, "trainannmoisture", f"--SAMPLES={d['samples']}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=2",
                   "--POROSITY=0.25", f"--OUTPUT_MODEL={tmp_path / 'ann.onnx'}", f"--OUTPUT_HTML={tmp_path / 'a.html'}")
    assert any("training sample(s) hold more soil moisture than the porosity 0.25" in w and "(POROSITY)" in w
               for w in doc["log"]["warning"]), doc["log"]
    model = doc["results"]["OUTPUT_MODEL"]
    raw = rt.Model(model).session.get_modelmeta().custom_metadata_map["sarsense"]
    assert json.loads(raw)["output"]["range"] == [0.0, 0.25]
    # mapped with the default porosity 0.5: the network itself keeps every value at or below its 0.25
    doc = run_json(env, "annmoisture", f"--INPUTS={d['vv']}", f"--INPUTS={d['ndvi_ok']}", f"--MODEL={model}",
                   f"--OUTPUT={tmp_path / 'm.tif'}")
    ssm = read_raster(doc["results"]["OUTPUT"])
    assert np.isfinite(ssm).all() and ssm.min() >= 0.0 and ssm.max() <= 0.25 and doc["results"]["CLIPPED"] == 0
