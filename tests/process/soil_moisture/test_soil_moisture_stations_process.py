"""Soil moisture at stations headless (the CD + ANN hybrid, in-situ import, extraction, validation): every
algorithm through qgis_process.bin --json on the Raam stations and a small scene made from the change-detection
model itself (simulators/station_scenes.py), and the bad inputs."""

import json
import shutil
from html import unescape

import numpy as np
import pytest
from helpers import REPO, ismn_test_data, read_raster
from process_helpers import needs_qgis_process, ok, qp, refused, run

from sarsense.simulators import station_scenes

pytestmark = needs_qgis_process
RAAM = REPO / "resources" / "sample_data" / "soil_moisture_raam"


@pytest.fixture(scope="module")
def chain(env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sm2")
    scene = station_scenes.scene(tmp)
    imp = ok(env, "importismn", f"--INPUT={RAAM}", f"--OUTPUT_STATIONS={tmp / 'st.gpkg'}",
             f"--OUTPUT_VALUES={tmp / 'values.csv'}")
    p = scene["paths"]
    ext = ok(env, "extractstations", f"--STATIONS={imp['OUTPUT_STATIONS']}", f"--VALUES={imp['OUTPUT_VALUES']}",
             f"--RASTERS={p['VV']}", f"--RASTERS={p['NDVI']}", f"--RASTERS={p['theta']}", f"--OUTPUT={tmp / 's.gpkg'}")
    return {"tmp": tmp, "scene": scene, "imp": imp, "samples": ext["OUTPUT"], "n": ext["N_SAMPLES"]}


def test_import_and_extract(chain):
    assert chain["imp"]["N_STATIONS"] == 14 and chain["imp"]["N_VALUES"] == 4338
    from osgeo import ogr
    ds = ogr.Open(chain["samples"])
    lyr = ds.GetLayer(0)
    names = [lyr.GetLayerDefn().GetFieldDefn(i).GetName() for i in range(lyr.GetLayerDefn().GetFieldCount())]
    assert {"station", "date", "VV", "NDVI", "theta", "ssm_insitu", "n_insitu"} <= set(names)
    feats = list(lyr)
    assert len(feats) == chain["n"] > 100
    # the scene's VV follows eq. 7 of each station's own series: in-situ values come back with the dates
    f = next(x for x in feats if x["station"] == "Raam/RM_SM_04" and x["date"] == "2016-05-14")
    assert f["ssm_insitu"] == pytest.approx(_raam("RM_SM_04", "2016-05-14")) and f["n_insitu"] == 1
    assert f["acq_time"] == "2016-05-14 06:00:00" and 31 <= f["theta"] <= 44


def _raam(station, day):
    import csv
    with open(RAAM / "raam_daily_5cm.csv") as fh:
        return next(float(r["vwc_5cm_m3m3"]) for r in csv.DictReader(fh)
                    if r["station"] == station and r["date"] == day)


def test_calibrate_recovers_alpha_beta(env, chain):
    t = chain["tmp"]
    res = ok(env, "calibratevegetationcd", f"--SAMPLES={chain['samples']}", f"--OUTPUT_PARAMS={t / 'p.json'}",
             f"--OUTPUT_HTML={t / 'cal.html'}")
    assert res["ALPHA"] == pytest.approx(station_scenes.ALPHA, rel=0.1)
    assert res["BETA"] == pytest.approx(station_scenes.BETA, rel=0.15)
    params = json.loads((t / "p.json").read_text())
    assert params["alpha"] == res["ALPHA"] and "Raam/RM_SM_01" in params["stations"]
    assert res["RMSE_CORRECTED"] < res["RMSE_CLASSIC"]
    assert res["FLAGS"] == "" and params["flags"] == []          # a plausible fit is not flagged
    assert "base64" in (t / "cal.html").read_text()


def test_train_map_extract_validate(env, chain):
    t, p = chain["tmp"], chain["scene"]["paths"]
    tr = ok(env, "trainannmoisture", f"--SAMPLES={chain['samples']}", "--INPUTS=0", "--INPUTS=2", "--INPUTS=3",
            "--ENSEMBLE=3", f"--OUTPUT_MODEL={t / 'm.onnx'}", f"--OUTPUT_HTML={t / 'train.html'}")
    assert 0 < tr["RMSE"] < 0.1 and tr["R"] > 0.5
    html = unescape((t / "train.html").read_text())
    assert "split by station (this model)" in html and "split by random" in html
    assert f"from layer 's' ({chain['samples']})" in html          # the samples layer, by name and source
    mp = ok(env, "annmoisture", f"--INPUTS={p['VV']}", f"--INPUTS={p['theta']}", f"--INPUTS={p['NDVI']}",
            f"--MODEL={t / 'm.onnx'}", f"--OUTPUT={t / 'ssm.tif'}", f"--OUTPUT_SPREAD={t / 'spread.tif'}")
    ssm, spread = read_raster(mp["OUTPUT"]), read_raster(mp["OUTPUT_SPREAD"])
    assert ssm.shape[0] == len(chain["scene"]["dates"]) and 0.0 < np.nanmean(ssm) < 0.6
    assert np.nanmin(spread) >= 0 and np.nanmean(spread) < 0.1
    # the map, extracted at the stations and validated: a retrieval round trip on simulated truth
    ext = ok(env, "extractstations", f"--STATIONS={chain['imp']['OUTPUT_STATIONS']}",
             f"--VALUES={chain['imp']['OUTPUT_VALUES']}", f"--RASTERS={p['NDVI']}", f"--RASTERS={mp['OUTPUT']}",
             f"--OUTPUT={t / 'v.gpkg'}")
    val = ok(env, "validatemoisture", f"--SAMPLES={ext['OUTPUT']}", "--ESTIMATE_FIELD=ssm",
             f"--OUTPUT_TABLE={t / 'scores.csv'}", f"--OUTPUT_HTML={t / 'val.html'}")
    assert val["N"] > 100 and val["RMSE"] < 0.06 and val["R"] > 0.8
    assert val["RMSE"] ** 2 == pytest.approx(val["BIAS"] ** 2 + val["UBRMSE"] ** 2)
    rows = (t / "scores.csv").read_text().splitlines()
    assert rows[1].startswith("all,") and len(rows) == 2 + 14
    report = unescape((t / "val.html").read_text())
    assert report.count("<img") >= 4
    assert "per network (fig. 4): Raam" in report      # the samples' network field, not a guess from the ids
    assert f"samples from layer 'v' ({ext['OUTPUT']})" in report
    # the series' second axis is explained (what, unit), not "NDVI·10 − 20" drawn on the VV axis
    assert "(m³/m³, left axis); NDVI (unitless, 0-1) on the right axes" in report and "− 20" not in report


def test_regression_per_date_and_map(env, chain):
    t, p = chain["tmp"], chain["scene"]["paths"]
    res = ok(env, "regressmoisture", f"--SAMPLES={chain['samples']}", f"--OUTPUT_PARAMS={t / 'r.json'}",
             f"--OUTPUT_TABLE={t / 'r.csv'}", f"--RASTER={p['VV']}", f"--OUTPUT={t / 'rm.tif'}")
    lines = json.loads((t / "r.json").read_text())["lines"]
    assert len(lines) == len(chain["scene"]["dates"])
    d0 = chain["scene"]["dates"][0]
    vv = read_raster(p["VV"])[0]
    assert np.allclose(read_raster(res["OUTPUT"])[0], lines[d0]["slope"] * vv + lines[d0]["intercept"], atol=1e-5,
                       equal_nan=True)


# -- bad inputs ------------------------------------------------------------------------------------
def test_stations_all_outside_and_no_insitu_within_tolerance(env, chain, tmp_path):
    p = chain["scene"]["paths"]
    far = tmp_path / "far.csv"
    far.write_text("id,x,y\nfar,10.0,40.0\n")
    from osgeo import ogr, osr
    drv = ogr.GetDriverByName("GPKG")
    ds = drv.CreateDataSource(str(tmp_path / "far.gpkg"))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    lyr = ds.CreateLayer("far", srs, ogr.wkbPoint)
    lyr.CreateField(ogr.FieldDefn("id", ogr.OFTString))
    f = ogr.Feature(lyr.GetLayerDefn())
    f["id"] = "far"
    f.SetGeometry(ogr.CreateGeometryFromWkt("POINT (10 40)"))
    lyr.CreateFeature(f)
    ds = None
    refused(env, "extractstations", f"--STATIONS={tmp_path / 'far.gpkg'}", f"--RASTERS={p['VV']}",
            f"--OUTPUT={tmp_path / 'o.gpkg'}", match="every station lies outside the rasters (far)")
    assert not (tmp_path / "o.gpkg").exists()
    late = tmp_path / "late.csv"
    late.write_text("station,time_utc,soil_moisture,period_h\nRaam/RM_SM_01,2019-01-01 06:00:00,0.3,0\n")
    refused(env, "extractstations", f"--STATIONS={chain['imp']['OUTPUT_STATIONS']}", f"--VALUES={late}",
            f"--RASTERS={p['VV']}", f"--OUTPUT={tmp_path / 'o2.gpkg'}", match="no in-situ value lies within")


def test_one_station_split_and_too_few_samples(env, chain, tmp_path):
    from osgeo import ogr
    src = ogr.Open(chain["samples"])
    drv = ogr.GetDriverByName("GPKG")
    for name, where in (("one", "station = 'Raam/RM_SM_01'"),
                        ("few", "station = 'Raam/RM_SM_01' AND date < '2016-05-20'")):
        out = drv.CreateDataSource(str(tmp_path / f"{name}.gpkg"))
        lyr = src.GetLayer(0)
        lyr.SetAttributeFilter(where)
        out.CopyLayer(lyr, name)
        out = None
    refused(env, "trainannmoisture", f"--SAMPLES={tmp_path / 'one.gpkg'}", "--INPUTS=0", "--INPUTS=3",
            f"--OUTPUT_MODEL={tmp_path / 'm.onnx'}", f"--OUTPUT_HTML={tmp_path / 'r.html'}",
            match="one station only")
    refused(env, "trainannmoisture", f"--SAMPLES={tmp_path / 'few.gpkg'}", "--SPLIT=1", "--INPUTS=0", "--INPUTS=3",
            "--INPUTS=2", f"--OUTPUT_MODEL={tmp_path / 'm2.onnx'}", f"--OUTPUT_HTML={tmp_path / 'r2.html'}",
            match="predictors")
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m2.onnx").exists()


def test_model_inputs_must_match_the_rasters(env, chain, tmp_path):
    p = chain["scene"]["paths"]
    ok(env, "trainannmoisture", f"--SAMPLES={chain['samples']}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=1",
       f"--OUTPUT_MODEL={tmp_path / 'm.onnx'}", f"--OUTPUT_HTML={tmp_path / 'r.html'}")
    refused(env, "annmoisture", f"--INPUTS={p['VV']}", f"--MODEL={tmp_path / 'm.onnx'}",
            f"--OUTPUT={tmp_path / 'x.tif'}", match="needs 2 predictor rasters in this order: VV (dB), NDVI")
    refused(env, "annmoisture", f"--INPUTS={p['NDVI']}", f"--INPUTS={p['VV']}", f"--MODEL={tmp_path / 'm.onnx'}",
            f"--OUTPUT={tmp_path / 'y.tif'}", match="which is input 2 of model")
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "y.tif").exists()


def test_ismn_without_sensor_at_depth_and_corrupt_file(env, tmp_path):
    root = ismn_test_data()
    if root is None:
        pytest.skip("the ISMN sample cannot be downloaded (offline?)")
    refused(env, "importismn", f"--INPUT={root / 'Data_seperate_files_header_20170810_20180809'}",
            f"--OUTPUT_STATIONS={tmp_path / 's.gpkg'}", f"--OUTPUT_VALUES={tmp_path / 'v.csv'}",
            match="Raise the maximum depth")
    dst = tmp_path / "ismn"
    shutil.copytree(root / "Data_seperate_files_20170810_20180809", dst)
    bad = next(dst.glob("FR_Aqui/fraye/*.stm"))
    bad.write_bytes(b"2013/08/13 10:00 broken\r\n2013/08/13 11:00 broken\r\n")
    res = run(env, "importismn", f"--INPUT={dst}", "--DEPTH_MAX_M=0.3", f"--OUTPUT_STATIONS={tmp_path / 's2.gpkg'}",
              f"--OUTPUT_VALUES={tmp_path / 'v2.csv'}")
    assert res.returncode == 0 and f"Not imported: FR_Aqui/fraye/{bad.name}" in res.stdout + res.stderr
    assert json.loads(res.stdout[res.stdout.index("{"):])["results"]["N_STATIONS"] == 2


def test_hybrid_chain_model3_runs_headless(env, chain, tmp_path):
    """soil_moisture_hybrid.model3 on the physical simulator's scene: change detection (with the ΔVV output),
    samples, training, maps, the maps at the stations, validation."""
    from sarsense.simulators import soil_moisture_s1
    p = soil_moisture_s1.scene(tmp_path / "scene", pixel=200.0, step_days=18)["paths"]
    imp = chain["imp"]
    res = qp(env, "run", "sarsense:soil_moisture_hybrid", "--json", f"--stations={imp['OUTPUT_STATIONS']}",
             f"--values={imp['OUTPUT_VALUES']}", f"--vv={p['VV']}", f"--ndvi={p['NDVI']}", f"--incidence={p['theta']}",
             "--ssm_min=0.02", "--ssm_max=0.5", f"--train:Trained model (ONNX)={tmp_path / 'm.onnx'}",
             f"--train:Training report={tmp_path / 'train.html'}", "--map:Soil moisture (m³/m³)=TEMPORARY_OUTPUT",
             f"--map:Ensemble spread (m³/m³)={tmp_path / 'spread.tif'}",
             f"--validate:Scores per station={tmp_path / 'scores.csv'}",
             f"--validate:Validation report={tmp_path / 'val.html'}")
    assert (REPO / "resources" / "workflows" / "soil_moisture_hybrid.model3").exists()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = {r.split(",")[0]: r.split(",") for r in (tmp_path / "scores.csv").read_text().splitlines()[1:]}
    assert "all" in rows and len(rows) >= 10 and float(rows["all"][5]) > 0.3   # R of the maps at the stations
    assert "ANN hybrid" in (tmp_path / "train.html").read_text() and (tmp_path / "m.onnx").stat().st_size > 1000
    spread = read_raster(str(tmp_path / "spread.tif"))
    assert np.isfinite(spread).any() and np.nanmin(spread) >= 0


def test_change_detection_writes_the_delta_vv_stack(env, chain, tmp_path):
    vv = chain["scene"]["paths"]["VV"]
    out = ok(env, "changedetection", f"--INPUT={vv}", "--INPUT_UNITS=1", f"--OUTPUT_INDEX={tmp_path / 'i.tif'}",
             f"--OUTPUT_SSM={tmp_path / 's.tif'}", f"--OUTPUT_DVV={tmp_path / 'dvv.tif'}")
    v, d = read_raster(vv), read_raster(out["OUTPUT_DVV"])
    want = v - np.nanmin(v, axis=0)                                            # eq. 6 per pixel
    want[:, np.isfinite(v).sum(axis=0) < 5] = np.nan                           # MIN_DATES (5), as the index
    assert np.isfinite(d).any() and np.allclose(d, want, equal_nan=True, atol=1e-5)


def test_polratio_pairs_dates_and_feeds_the_bundled_model(env, tmp_path):
    """polratio: VH − VV in dB date by date (stacks in different band orders; a date one lacks is refused and
    named); the paper's set (i) then maps soil moisture with the bundled model, close to the simulator's truth."""
    from sarsense.algorithms.io import read_info
    from sarsense.simulators import soil_moisture_s1
    sc = soil_moisture_s1.scene(tmp_path / "scene", pixel=400.0, step_days=24)
    p = sc["paths"]
    vh = read_raster(p["VH"])
    from helpers import write_raster
    info = read_info(p["VH"])
    backwards = write_raster(tmp_path / "vh_backwards.tif", vh[::-1], gt=info.geotransform, epsg=32631,
                             descriptions=info.descriptions[::-1])
    done = ok(env, "polratio", f"--CROSS={backwards}", f"--CO={p['VV']}", "--INPUT_UNITS=1",
              f"--OUTPUT={tmp_path / 'r.tif'}")
    ratio, vv = read_raster(done["OUTPUT"]), read_raster(p["VV"])
    assert read_info(done["OUTPUT"]).descriptions == info.descriptions       # VV's order, times kept
    np.testing.assert_allclose(ratio, vh - vv, atol=1e-5)
    short = write_raster(tmp_path / "vh_short.tif", vh[1:], gt=info.geotransform, epsg=32631,
                         descriptions=info.descriptions[1:])
    refused(env, "polratio", f"--CROSS={short}", f"--CO={p['VV']}", f"--OUTPUT={tmp_path / 'x.tif'}",
            match=f"lacks {sc['dates'][0]}")
    refused(env, "polratio", f"--CROSS={p['theta']}", f"--CO={p['VV']}", f"--OUTPUT={tmp_path / 'x.tif'}",
            match="has no dates in its band descriptions")
    refused(env, "polratio", f"--CROSS={p['VH']}", f"--CO={p['VV']}", "--INPUT_UNITS=0",
            f"--OUTPUT={tmp_path / 'x.tif'}", match="looks like dB")
    assert not (tmp_path / "x.tif").exists()
    # the bundled model (no MODEL) on set (i): VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t
    full = ok(env, "polratio", f"--CROSS={p['VH']}", f"--CO={p['VV']}", f"--OUTPUT={tmp_path / 'vhvv.tif'}")
    cd = ok(env, "changedetection", f"--INPUT={p['VV']}", "--INPUT_UNITS=1", "--SSM_MIN=0.05", "--SSM_MAX=0.45",
            f"--OUTPUT_INDEX={tmp_path / 'i.tif'}", f"--OUTPUT_SSM={tmp_path / 's.tif'}",
            f"--OUTPUT_DVV={tmp_path / 'dvv.tif'}")
    mp = ok(env, "annmoisture", f"--INPUTS={p['VV']}", f"--INPUTS={p['NDVI']}", f"--INPUTS={p['theta']}",
            f"--INPUTS={cd['OUTPUT_DVV']}", f"--INPUTS={cd['OUTPUT_INDEX']}", f"--INPUTS={full['OUTPUT']}",
            f"--INPUTS={cd['OUTPUT_SSM']}", f"--OUTPUT={tmp_path / 'ssm.tif'}")
    est, truth = read_raster(mp["OUTPUT"]), sc["ssm"]
    both = np.isfinite(est) & np.isfinite(truth)
    rmse = float(np.sqrt(np.mean((est[both] - truth[both]) ** 2)))
    r = float(np.corrcoef(est[both], truth[both])[0, 1])
    assert both.sum() > 1000 and rmse < 0.12 and r > 0.3, (rmse, r)
