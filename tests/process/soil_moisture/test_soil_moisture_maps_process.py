"""Soil moisture maps headless (change detection, vegetation and terrain corrections, NDVI in time): every
algorithm through qgis_process.bin --json on the bundled Bolivia data."""


import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, refusal, run, run_json

from sarsense.algorithms.io import stack as _stack

pytestmark = needs_qgis_process
NDVI_DIR = REPO / "resources" / "sample_data" / "landsat_ndvi_bolivia"


@pytest.fixture(scope="module")
def stacks(env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smp")
    vv = run_json(env, "buildstack", *[f"--INPUTS={p}" for p in sorted(STACK_DIR.glob("*.tif"))],
                  "--DROP_EMPTY=true", f"--OUTPUT={tmp / 'vv.tif'}")["results"]["OUTPUT"]
    nd = run_json(env, "buildstack", *[f"--INPUTS={p}" for p in sorted(NDVI_DIR.glob("*.tif"))],
                  "--DROP_EMPTY=true", f"--OUTPUT={tmp / 'nd.tif'}")["results"]["OUTPUT"]
    return vv, nd


def test_the_soil_moisture_chain_headless(env, stacks, tmp_path):
    vv, nd = stacks
    n1 = run_json(env, "interpolatetime", f"--INPUT={nd}", f"--TARGET={vv}", "--MAX_GAP_DAYS=60",
                  f"--OUTPUT={tmp_path / 'n.tif'}")["results"]["OUTPUT"]
    assert _stack.band_dates(n1) == _stack.band_dates(vv)
    res = run_json(env, "changedetection", f"--INPUT={vv}", "--SSM_MIN=0.05", "--SSM_MAX=0.4",
                   f"--OUTPUT_INDEX={tmp_path / 'i.tif'}", f"--OUTPUT_SSM={tmp_path / 's.tif'}")["results"]
    ssm = read_raster(res["OUTPUT_SSM"])
    assert np.isfinite(ssm).mean() > 0.3 and np.nanmax(ssm) <= 0.4 + 1e-6
    res = run_json(env, "vegetationcd", f"--VV={vv}", f"--V1={n1}", "--ALPHA=18", "--BETA=12",
                   f"--OUTPUT={tmp_path / 'v.tif'}")["results"]
    assert np.isfinite(read_raster(res["OUTPUT"])).any()
    # A = B = 1 (as printed) leave no soil term on real C-band data: refused, blaming A; fitted-like values do
    # (test_soil_moisture_trust_process.py has the rest)
    refusal(run(env, "watercloud", f"--INPUT={vv}", f"--NDVI={n1}", "--INCIDENCE=39", "--A=1", "--B=1",
                f"--OUTPUT_SOIL={tmp_path / 'soil.tif'}", f"--OUTPUT_VEG={tmp_path / 'veg.tif'}"),
            "A = 1 is too high for these data")
    res = run_json(env, "watercloud", f"--INPUT={vv}", f"--NDVI={n1}", "--INCIDENCE=39", "--A=0.05", "--B=0.1",
                   f"--OUTPUT_SOIL={tmp_path / 'soil2.tif'}", f"--OUTPUT_VEG={tmp_path / 'veg2.tif'}")["results"]
    soil = read_raster(res["OUTPUT_SOIL"])
    assert np.isfinite(soil).mean() > 0.3


def test_ndvi_and_terrain_headless(env, stacks, tmp_path):
    vv, _ = stacks
    gt = gdal.Open(vv).GetGeoTransform()
    bands = write_raster(tmp_path / "rn.tif", np.stack([np.full((100, 100), 0.1), np.full((100, 100), 0.3)]),
                         epsg=32720, gt=gt)
    res = run_json(env, "ndvi", f"--RED={bands}", "--RED_BAND=1", "--NIR_BAND=2", f"--OUTPUT={tmp_path / 'n.tif'}")
    assert np.allclose(read_raster(res["results"]["OUTPUT"]), 0.5)
    dem = write_raster(tmp_path / "dem.tif", np.full((100, 100), 300.0, np.float32), epsg=32720, gt=gt)
    res = run_json(env, "terrainflatten", f"--INPUT={vv}", f"--DEM={dem}", "--INCIDENCE=39", "--HEADING=348",
                   f"--OUTPUT={tmp_path / 'f.tif'}")
    np.testing.assert_allclose(read_raster(res["results"]["OUTPUT"]), read_raster(vv), rtol=1e-5, atol=1e-5)


def test_bad_input_headless_is_a_message_not_a_traceback(env, stacks, tmp_path):
    vv, nd = stacks
    res = qp(env, "run", "sarsense:vegetationcd", f"--VV={vv}", f"--V1={nd}", "--ALPHA=18", "--BETA=12",
             f"--OUTPUT={tmp_path / 'v.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "must be on the same dates" in text and "Traceback" not in text
    assert not (tmp_path / "v.tif").exists()


def test_change_detection_chain_headless(env, tmp_path):
    files = [f"--vv_files={p}" for p in sorted(STACK_DIR.glob("*.tif"))]
    out = run_json(env, "soil_moisture_cd", *files, "--ssm_min=0.05", "--ssm_max=0.35",
                   f"--cd:Soil moisture index={tmp_path / 'i.tif'}",
                   f"--cd:Soil moisture (m³ per m³)={tmp_path / 's.tif'}")["results"]
    assert np.nanmax(read_raster(out["cd:Soil moisture (m³ per m³)"])) <= 0.35 + 1e-6
    # the workflow keeps every date of its inputs (STYLE §8 metadata travels)
    dates = sorted(d for p in sorted(STACK_DIR.glob("*.tif")) for d in _stack.band_dates(p))
    assert _stack.band_dates(out["cd:Soil moisture (m³ per m³)"])[0] in dates
    assert set(_stack.band_dates(out["cd:Soil moisture (m³ per m³)"])) <= set(dates)
    assert _stack.band_dates(out["cd:Soil moisture index"]) == _stack.band_dates(out["cd:Soil moisture (m³ per m³)"])
