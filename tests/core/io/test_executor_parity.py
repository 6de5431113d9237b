"""Jobs whose kernels add up more than their output blocks (counts, float sums, a table of image lines) give the
local engine's outputs, counts and sums on a Dask cluster (issue #32): what a worker adds comes back to the client
(:class:`Counts`, :class:`Sums`), replayed in the plan's order."""

import pickle

import numpy as np
import pytest
from helpers import write_raster
from osgeo import gdal

from sarsense.algorithms.io import RunOptions, stack
from sarsense.algorithms.io.engine import Counts, Sums, counts, executors
from sarsense.algorithms.soil_moisture import change_detection as cd
from sarsense.algorithms.soil_moisture import water_cloud
from sarsense.algorithms.soil_moisture.series import SeriesOptions

DATES = [f"2016-01-{d:02d}" for d in range(1, 15, 2)]


@pytest.fixture(scope="module")
def dask(test_executor):
    """The session's cluster (``SARSENSE_TEST_EXECUTOR``), or a LocalCluster of 2 worker processes."""
    if test_executor is not None:
        yield test_executor
        return
    pytest.importorskip("distributed")
    from sarsense.algorithms.io.engine.cluster import DaskExecutor
    with DaskExecutor("local:2") as executor:
        yield executor


def _bytes(path):
    ds = gdal.Open(str(path))
    return ds.ReadAsArray().tobytes(), [ds.GetRasterBand(b + 1).GetDescription() for b in range(ds.RasterCount)]


def test_sums_come_back_from_a_worker_added_in_the_order_they_were_made():
    """A worker's copy records each addition; merged here they are replayed in turn: the float total is the one
    of a local run on one thread (adding the task's subtotal instead would give 1.0, not 0.0)."""
    local, here = Sums("x"), Sums("x")
    for s in (local, here):
        s.add(x=1.0)
    there = pickle.loads(pickle.dumps(here))          # what a worker gets: the same token, starting at zero
    assert there.token == here.token and there["x"] == 0.0
    with counts.recording() as added:
        for v in (1e16, -1e16):
            there.add(x=v)
            local.add(x=v)
    counts.merge(added)
    assert here["x"] == local["x"] == 0.0 and (1.0 + (1e16 - 1e16)) == 1.0
    tally = Counts("n")
    copy = pickle.loads(pickle.dumps(tally))
    with counts.recording() as added:
        copy.add(n=3)
    counts.merge(added)
    assert tally["n"] == 3


def _scene(tmp_path):
    rng = np.random.default_rng(5)
    n, h, w = len(DATES), 70, 90
    vv = rng.normal(-12, 2, (n, h, w)).astype(np.float32)
    vv[rng.random(vv.shape) < 0.1] = np.nan
    v1 = rng.uniform(0.2, 0.8, (n, h, w)).astype(np.float32)
    return (write_raster(tmp_path / "vv.tif", vv, descriptions=DATES),
            write_raster(tmp_path / "v1.tif", v1, descriptions=DATES))


def _both(tmp_path, dask, job):
    """``job(prefix, options)`` run on this process's one thread and on the cluster, in blocks of 32: the two
    results (the job's returned dict and ``(bytes, descriptions)`` of each output it names)."""
    out = {}
    for name, executor in (("local", executors.LOCAL), ("dask", dask)):
        res, paths = job(str(tmp_path / name), RunOptions(block_size=32, workers=1, executor=executor))
        out[name] = res, [_bytes(p) for p in paths]
    return out["local"], out["dask"]


def test_water_cloud_geometric_means_and_counts_are_the_local_ones(tmp_path, dask):
    vv, v1 = _scene(tmp_path)

    def job(prefix, options):
        paths = [f"{prefix}_soil.tif", f"{prefix}_veg.tif"]
        return water_cloud.water_cloud_file(vv, v1, paths[0], ndvi_bands=range(1, len(DATES) + 1), incidence_deg=35.0,
                                            a=0.05, b=0.1, in_db=True, output_veg=paths[1], options=options), paths
    local, on_dask = _both(tmp_path, dask, job)
    assert local == on_dask
    counted = local[0]
    assert counted["no_soil"] > 0 and counted["valid"] > 0 and np.isfinite([counted["a_max"], counted["tau2"]]).all()


def test_change_detection_references_per_orbit_are_the_local_ones(tmp_path, dask):
    vv, _ = _scene(tmp_path)
    groups = (tuple(range(0, len(DATES), 2)), tuple(range(1, len(DATES), 2)))

    def job(prefix, options):
        paths = [f"{prefix}_i.tif", f"{prefix}_s.tif"]
        return cd.change_detection_file(vv, *paths, dates=DATES, min_dates=3, series=SeriesOptions(groups=groups),
                                        options=options), paths
    local, on_dask = _both(tmp_path, dask, job)
    assert local == on_dask
    assert all(0 < k < 70 * 90 for _, _, k in local[0]["references"]) and local[0]["few"] > 0


def test_a_stack_drops_the_same_empty_dates(tmp_path, dask):
    a = write_raster(tmp_path / "a_2020-01-01.tif", np.ones((40, 40)))
    b = write_raster(tmp_path / "b_2020-01-02.tif", np.full((40, 40), np.nan))
    c = write_raster(tmp_path / "c_2020-01-03.tif", np.where(np.eye(40) > 0, 2.0, np.nan))   # one pixel a block

    def job(prefix, options):
        return stack.build_stack([a, b, c], f"{prefix}.tif", drop_empty=True, options=options), [f"{prefix}.tif"]
    local, on_dask = _both(tmp_path, dask, job)
    for res in (local[0], on_dask[0]):
        res.pop("output")
    assert local == on_dask and local[0]["dropped"] == ["2020-01-02"] and local[0]["dates"] == ["2020-01-01",
                                                                                               "2020-01-03"]


def test_the_sentinel1_import_with_the_line_table_is_the_local_one(tmp_path, dask, monkeypatch):
    """The border-noise rule's table of DN 0 (read 7 lines at a time) is built by each worker for its windows; the
    import, its counts and the table's lines and intervals (each counted once) are the local run's."""
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    monkeypatch.setattr(importer, "REACH_READ_SAMPLES", 7 * 330)     # read where the job is set up (the client)
    made = s1_safe.write_grd(tmp_path, ipf="002.72", legacy_noise=True, border_strip=True, pols=("VV",),
                             keep_arrays=False)
    prod = s1p.open_product(made["safe"])

    def job(prefix, options):
        res = importer.import_grd(prod, ["VV"], f"{prefix}.tif", options=options)
        res.pop("grid")
        res["border_table"].pop("seconds")
        return res, [f"{prefix}.tif"]
    local, on_dask = _both(tmp_path, dask, job)
    assert local == on_dask
    assert local[0]["border_rule"] and local[0]["border_table"]["lines"] == 240 and local[0]["border"]["VV"] > 0


def test_the_modis_qc_counts_are_the_local_ones(dask):
    """The pass the Processing layer logs for a MODIS input (``report_qc``, now given the run's options)."""
    from helpers import modis_subdataset

    from sarsense.algorithms.lst.pipeline import LstSource
    src = LstSource(modis_subdataset())
    local, on_dask = (src.qc_counts(options=RunOptions(block_size=256, executor=e)) for e in (executors.LOCAL, dask))
    assert local == on_dask and local["pixels"] == 1200 * 1200 and 0 < local["kept"] < local["pixels"]
