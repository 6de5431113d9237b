"""The Dask executor through qgis_process, as a batch job uses it: SARSENSE_DASK_SCHEDULER pointing at a ``dask
scheduler`` with two ``dask worker`` processes on this machine (no SARSense installed in them), or ``local:2``. Every
output is the local engine's, bit for bit (issue #32)."""

import dask_helpers
import numpy as np
import pytest
from helpers import modis_subdataset, read_raster, write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, ok, refusal, run

from sarsense.algorithms.lst import modis
from sarsense.simulators import rice_landscape as rl
from sarsense.simulators import s1_safe

pytestmark = needs_qgis_process
pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_env(env, tmp_path_factory):
    """``env`` with SARSENSE_DASK_SCHEDULER set to a scheduler started here, with two worker processes."""
    c = dask_helpers.start(tmp_path_factory.mktemp("dask_qp"), workers=2)
    try:
        yield dict(env, SARSENSE_DASK_SCHEDULER=c["address"]), c
    finally:
        dask_helpers.stop(c)


def _both(env, dask_env, tmp_path, alg, outputs=("OUTPUT",), **params):
    """Run ``alg`` locally and on the cluster; assert every output is identical; return the cluster run's log."""
    denv, c = dask_env
    local = ok(env, alg, **params, **{o: tmp_path / f"local_{o}.tif" for o in outputs})
    res = run(denv, alg, *[f"--{k}={v}" for k, v in params.items()],
              *[f"--{o}={tmp_path / f'dask_{o}.tif'}" for o in outputs])
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    for o in outputs:
        a, b = read_raster(local[o]), read_raster(tmp_path / f"dask_{o}.tif")
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), f"{alg} {o} differs on the cluster"
        assert gdal.Info(str(local[o])).split("Corner")[0].replace("local_", "") == \
            gdal.Info(str(tmp_path / f"dask_{o}.tif")).split("Corner")[0].replace("dask_", "")
    assert f"Executor: Dask on the Dask scheduler at {c['address']} (2 worker(s)" in log
    assert "Dask: " in log and " task(s) in " in log and "MiB of results to this machine" in log
    return log


def test_despeckle_is_identical_on_the_cluster(env, dask_env, tmp_path):
    rng = np.random.default_rng(5)
    sar = (rng.gamma(4.0, 0.25, (1, 1800, 1500)) * np.linspace(0.02, 0.2, 1500)).astype(np.float32)
    src = write_raster(tmp_path / "sar.tif", sar, nodata=float("nan"), epsg=32631)
    log = _both(env, dask_env, tmp_path, "despeckle", INPUT=src, INPUT_UNITS=0, FILTER=1, SIZE=7)
    assert int(log.split("Dask: ")[1].split(" task")[0]) > 1


def test_change_detection_is_identical_on_the_cluster(env, dask_env, tmp_path):
    from process_helpers import bolivia_series
    data = bolivia_series(env, tmp_path)
    _both(env, dask_env, tmp_path, "changedetection", outputs=("OUTPUT_INDEX", "OUTPUT_SSM"), INPUT=data["vv"],
          INPUT_UNITS=1, SSM_MIN=0.05, SSM_MAX=0.45, MIN_DATES=2)


def test_svm_apply_is_identical_on_the_cluster(env, dask_env, tmp_path):
    sc = rl.write_scene(tmp_path, rows=120, cols=130, seed=3, reference_points=100)
    vh = ok(env, "buildstack", *[f"--INPUTS={p}" for p in sc["paths"]["vh"]], f"--OUTPUT={tmp_path / 'vh.tif'}")
    model = ok(env, "svmclassify", INPUT=vh["OUTPUT"], TRAINING=sc["paths"]["training"], CLASS_FIELD="code",
               OUTPUT=tmp_path / "svm.tif", OUTPUT_MODEL=tmp_path / "svm.npz",
               OUTPUT_REPORT=tmp_path / "s.html")["OUTPUT_MODEL"]
    _both(env, dask_env, tmp_path, "svmapply", INPUT=vh["OUTPUT"], MODEL=model)


def test_lst_unet_tiles_are_identical_on_the_cluster(env, dask_env, tmp_path):
    k = modis.read_kelvin(modis_subdataset(), qc_filter=False)[300:560, 100:380]
    sd = gdal.Open(modis_subdataset())
    gt = sd.GetGeoTransform()
    ds = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "lst.tif"), k.shape[1], k.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform((gt[0] + 100 * gt[1], gt[1], 0, gt[3] + 300 * gt[5], 0, gt[5]))
    ds.SetProjection(sd.GetProjection())
    ds.GetRasterBand(1).SetNoDataValue(float("nan"))
    ds.GetRasterBand(1).WriteArray(k)
    ds = None
    _both(env, dask_env, tmp_path, "lstsuperresolution", INPUT=tmp_path / "lst.tif", METHOD=1, SCALE=4)


def test_sentinel1_import_is_identical_on_the_cluster(env, dask_env, tmp_path):
    made = s1_safe.write_grd(tmp_path, zip_it=True)
    _both(env, dask_env, tmp_path, "importsentinel1", INPUT=made["zip"])


def test_a_month_of_products_becomes_one_stack_on_the_cluster(env, dask_env, tmp_path):
    """Three products (two passes, the second in two slices) → a dated VV stack and its incidence in one run, the
    same locally and on the cluster, ready for change detection (issue #32, item 5)."""
    made = [s1_safe.write_grd(tmp_path / "a", cycles=0, seed=1, zip_it=True),
            s1_safe.write_grd(tmp_path / "b", cycles=1, seed=2, zip_it=True),
            s1_safe.write_grd(tmp_path / "c", cycles=1, seed=3, line0=s1_safe.LINE0 + 200, zip_it=True)]
    zips = [f"--INPUTS={m['zip']}" for m in made]
    denv, _ = dask_env
    for side, e in (("local", env), ("dask", denv)):
        res = run(e, "importsentinel1stack", *zips, f"--OUTPUT_VV={tmp_path / f'{side}_vv.tif'}",
                  f"--OUTPUT_INCIDENCE={tmp_path / f'{side}_inc.tif'}")
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    log = res.stdout
    assert "3 product(s), 2 pass(es) (2021-04-01 to 2021-04-13)" in log and "Executor: Dask" in log
    assert " + " in log.split("2021-04-13: ")[1].splitlines()[0]            # the two slices of one pass
    for name in ("vv", "inc"):
        a, b = read_raster(tmp_path / f"local_{name}.tif"), read_raster(tmp_path / f"dask_{name}.tif")
        assert a.shape[0] == 2 and np.array_equal(a, b, equal_nan=True)
    cd = ok(env, "changedetection", INPUT=tmp_path / "dask_vv.tif", INPUT_UNITS=1, MIN_DATES=2,
            OUTPUT_INDEX=tmp_path / "i.tif", OUTPUT_SSM=tmp_path / "ssm.tif")
    assert np.isfinite(read_raster(cd["OUTPUT_SSM"])).any()


def test_the_grd_workflow_maps_soil_moisture_from_products(env, dask_env, tmp_path):
    """sarsense:soil_moisture_cd_grd: five passes of GRD products → stack → despeckle → change detection, in one run,
    the same on the cluster."""
    zips = [f"--products={s1_safe.write_grd(tmp_path / f'p{c}', cycles=c, seed=c, zip_it=True)['zip']}"
            for c in range(5)]
    maps = {}
    for side, e in (("local", env), ("dask", dask_env[0])):
        out = tmp_path / f"{side}_ssm.tif"
        res = run(e, "soil_moisture_cd_grd", *zips, "--ssm_min=0.05", "--ssm_max=0.45",
                  f"--cd:Soil moisture (m³ per m³)={out}", f"--cd:Soil moisture index={tmp_path / f'{side}_i.tif'}")
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        maps[side] = read_raster(out)
    assert maps["local"].shape[0] == 5 and np.isfinite(maps["local"]).any()
    assert np.array_equal(maps["local"], maps["dask"], equal_nan=True)


def test_local_n_starts_worker_processes_for_the_run(env, tmp_path):
    rng = np.random.default_rng(6)
    src = write_raster(tmp_path / "sar.tif", rng.gamma(4.0, 0.05, (1, 300, 280)).astype(np.float32),
                       nodata=float("nan"), epsg=32631)
    a = ok(env, "despeckle", INPUT=src, INPUT_UNITS=0, OUTPUT=tmp_path / "a.tif")["OUTPUT"]
    res = run(dict(env, SARSENSE_DASK_SCHEDULER="local:2"), "despeckle", f"--INPUT={src}", "--INPUT_UNITS=0",
              f"--OUTPUT={tmp_path / 'b.tif'}")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "Executor: Dask on a LocalCluster of 2 worker processes started for this run" in res.stdout
    assert np.array_equal(read_raster(a), read_raster(tmp_path / "b.tif"), equal_nan=True)


@pytest.mark.parametrize("address,needle", [
    ("cluster7", "is not an address SARSense understands"),
    ("local:0", "local:N needs a number of worker processes"),
])
def test_a_bad_scheduler_address_is_refused_before_anything_runs(env, tmp_path, address, needle):
    src = write_raster(tmp_path / "s.tif", np.ones((1, 20, 20), np.float32), epsg=32631)
    res = run(dict(env, SARSENSE_DASK_SCHEDULER=address), "despeckle", f"--INPUT={src}", "--INPUT_UNITS=0",
              f"--OUTPUT={tmp_path / 'o.tif'}")
    refusal(res, needle, "(the address comes from the environment variable SARSENSE_DASK_SCHEDULER)")
    assert not (tmp_path / "o.tif").exists()
