"""The block engine on a Dask cluster (algorithms/io/engine/cluster.py): the same outputs and counts as the local
engine, bit for bit; workers without SARSense; cancel, errors, unreadable inputs, a killed worker and a scheduler
that goes away (issue #32)."""

import os
import subprocess
import threading
import time
import zipfile

import dask_helpers
import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from scipy.ndimage import uniform_filter

from sarsense.algorithms.io import Cancelled, RunOptions, engine
from sarsense.algorithms.io.engine import cluster
from sarsense.algorithms.io.engine.cluster import ClusterError, DaskExecutor, parse_address

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def local2():
    """``local:2``: a LocalCluster of two worker processes, as SARSENSE_DASK_SCHEDULER=local:2 starts one."""
    with DaskExecutor("local:2") as executor:
        yield executor


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """A ``dask scheduler`` and two ``dask worker`` processes (plain QGIS Python, no SARSense), and an executor on
    it."""
    c = dask_helpers.start(tmp_path_factory.mktemp("dask_external"), workers=2)
    try:
        with DaskExecutor(c["address"]) as executor:
            yield c, executor
    finally:
        dask_helpers.stop(c)


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(4)
    arr = rng.gamma(4.0, 0.25, (3, 301, 419)).astype(np.float32)
    arr[1, 40:55, :30] = np.nan
    arr[:, 280:, 400:] = np.nan
    return write_raster(tmp_path / "in.tif", arr, nodata=float("nan")), arr


def _same(a, b):
    x, y = read_raster(a), read_raster(b)
    return x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)


def _blockwise(path, out, executor, counts):
    def kernel(block, where):
        counts.add(valid=int(np.isfinite(where.core_of(block)).sum()))
        mean = uniform_filter(np.nan_to_num(block), size=(1, 7, 7), mode="nearest")
        return [mean, (block[:1] > 1).astype(np.uint8)]
    return engine.run_blockwise(path, [out, out.replace(".tif", "_mask.tif")], kernel, halo=3, with_position=True,
                                out_bands=[3, 1], out_dtype=[np.float32, np.uint8],
                                options=RunOptions(block_size=64, executor=executor))


def test_addresses_are_read_or_refused_with_the_forms_that_work():
    assert parse_address("") is None and parse_address("  ") is None
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "10.0.0.5:8786", "cluster"):
        with pytest.raises(ClusterError, match="local:N|tcp://host"):
            parse_address(bad)


def test_the_core_zip_is_reproducible_and_imports_without_qgis(tmp_path):
    path, digest = cluster.core_zip()
    again = cluster.core_zip(folder=None)
    assert again == (path, digest)
    names = zipfile.ZipFile(path).namelist()
    assert "sarsense/__init__.py" in names and "sarsense/algorithms/io/engine/remote.py" in names
    assert not [n for n in names if "sarsense_qgis" in n or n.endswith(".pyc")]
    assert digest in zipfile.ZipFile(path).read("sarsense/__init__.py").decode()
    # a bare Python (numpy, GDAL; no plugin, no QGIS on its path) imports the engine's worker side from the zip
    env = dict(os.environ, PYTHONPATH=path)
    res = subprocess.run([dask_helpers.WORKER_PYTHON, "-c", "import sarsense, sys; "
                          "import sarsense.algorithms.io.engine.remote as r; print(sarsense.CORE_DIGEST); "
                          "print('qgis' in sys.modules)"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [digest, "False"]


@pytest.mark.parametrize("where", ["local2", "external"])
def test_blockwise_outputs_and_counts_are_identical(request, tmp_path, image, where):
    executor = request.getfixturevalue(where)
    executor = executor[1] if where == "external" else executor
    path, arr = image
    a, b = engine.Counts("valid"), engine.Counts("valid")
    local = _blockwise(path, str(tmp_path / "local.tif"), None, a)
    before = executor.stats["tasks"]
    dask = _blockwise(path, str(tmp_path / "dask.tif"), executor, b)
    assert dask["blocks"] == local["blocks"] > 20
    # 5 × 7 = 35 windows of 64² on 2 worker threads: 35 // (8 tasks × 2 threads) = 2 consecutive windows a task
    # (their 16 bytes a pixel stay far below a quarter of the budget), so 18 tasks, the last with one window
    assert local["blocks"] == 35 and executor.threads() == 2
    assert executor.stats["tasks"] - before == 18
    assert _same(tmp_path / "local.tif", tmp_path / "dask.tif")
    assert _same(tmp_path / "local_mask.tif", tmp_path / "dask_mask.tif")
    assert a["valid"] == b["valid"] == int(np.isfinite(arr).sum()), "the workers' counts come back, once each"
    assert gdal.Open(str(tmp_path / "dask.tif")).GetRasterBand(2).GetDescription() == \
        gdal.Open(str(tmp_path / "local.tif")).GetRasterBand(2).GetDescription()


def test_a_task_holds_a_bounded_share_of_the_budget():
    class W:
        def __init__(self, n):
            self.n = n
    items = [W(i) for i in range(100)]
    groups = cluster.task_groups(items, 2, budget_mb=16, result_bytes=lambda w: 2**20)   # 1 MiB results
    assert [w for g in groups for w in g] == items                                     # in order, each once
    assert max(len(g) for g in groups) == 4                                            # a quarter of 16 MiB
    assert len(cluster.task_groups(items, 2, budget_mb=1024)) == 17                    # 100 // (8 · 2) = 6 a task
    assert len(cluster.task_groups(items[:3], 8, budget_mb=96)) == 3                   # few items: one a task


def test_reductions_are_combined_in_window_order(tmp_path, image, local2):
    path, _ = image
    run = [engine.reduce_blockwise(path, lambda b: float(np.nansum(b.astype(np.float64) ** 1.5)), initial=0.0,
                                   combine=lambda t, p: t + p, options=RunOptions(block_size=48, executor=ex))
           for ex in (None, local2)]
    assert run[0] == run[1]        # the same float: the same partials added in the same order


def test_tiled_network_and_grid_runs_are_identical(tmp_path, image, local2):
    path, _ = image

    def predict(tiles):
        x = np.nan_to_num(tiles.sum(axis=1, keepdims=True))
        return uniform_filter(x, size=(1, 1, 5, 5), mode="constant").repeat(2, axis=2).repeat(2, axis=3)

    for name, ex in (("l", None), ("d", local2)):
        engine.run_tiled(path, str(tmp_path / f"sr_{name}.tif"), predict, tile=64, margin=4, blend=4, out_bands=1,
                         scale=2, options=RunOptions(budget_mb=4, executor=ex))
        engine.run_on_grid(str(tmp_path / f"grid_{name}.tif"), lambda w: np.full((1, w.h, w.w), w.x + 1000 * w.y,
                                                                                  np.float32),
                           xsize=700, ysize=500, geotransform=(0, 1, 0, 0, 0, -1), projection="", out_bands=1,
                           options=RunOptions(block_size=128, executor=ex))
    assert _same(tmp_path / "sr_l.tif", tmp_path / "sr_d.tif")
    assert _same(tmp_path / "grid_l.tif", tmp_path / "grid_d.tif")


def test_an_onnx_model_travels_as_bytes_with_its_counts(tmp_path, image, local2):
    from onnx_models import contract, conv_net

    from sarsense.algorithms.onnx import Model, apply_model
    path, _ = image
    net = conv_net(tmp_path / "net.onnx", channels=3, contract_dict=contract(
        inputs=[{"name": f"b{i}", "units": "linear"} for i in range(3)], tile_size=64, halo=4,
        normalisation={"method": "offset_scale", "offset": [0.0] * 3, "scale": [1.0] * 3}))
    model = Model(net, threads=1)
    runs = [apply_model(model, path, str(tmp_path / f"m_{n}.tif"), options=RunOptions(budget_mb=8, executor=ex))
            for n, ex in (("l", None), ("d", local2))]
    assert _same(tmp_path / "m_l.tif", tmp_path / "m_d.tif")
    assert runs[0]["outputs_checked"] == runs[1]["outputs_checked"] > 0


def test_in_memory_virtual_rasters_travel(tmp_path, image, local2):
    path, _ = image
    vrt = "/vsimem/sarsense_test_cluster/in.vrt"
    gdal.Translate(vrt, path, format="VRT", bandList=[3, 1])
    try:
        for n, ex in (("l", None), ("d", local2)):
            engine.run_blockwise(vrt, str(tmp_path / f"v_{n}.tif"), lambda b: b * 2,
                                 options=RunOptions(block_size=100, executor=ex))
    finally:
        gdal.Unlink(vrt)
    assert _same(tmp_path / "v_l.tif", tmp_path / "v_d.tif")


def test_cancel_and_errors_leave_no_output(tmp_path, image, local2):
    path, _ = image
    asked = []

    def slow(b):
        time.sleep(0.05)
        return b

    with pytest.raises(Cancelled):
        engine.run_blockwise(path, str(tmp_path / "c.tif"), slow, options=RunOptions(
            block_size=32, executor=local2, is_canceled=lambda: asked.append(1) or len(asked) > 5))

    def boom(b):
        raise ValueError("bad block on a worker")

    with pytest.raises(ValueError, match="bad block on a worker"):
        engine.run_blockwise(path, str(tmp_path / "e.tif"), boom, options=RunOptions(block_size=64, executor=local2))
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]
    # the cluster is free again: nothing of the cancelled run still runs there
    deadline = time.monotonic() + 10
    while local2.client.processing() and any(local2.client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(local2.client.processing().values())


def test_an_input_the_workers_cannot_read_is_refused_by_name(tmp_path, image, external, monkeypatch):
    """A path only the client sees (here relative to the client's folder; the workers run elsewhere)."""
    path, _ = image
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ClusterError, match="cannot read the input 'in.tif'.*share.*/vsis3/"):
        engine.run_blockwise("in.tif", str(tmp_path / "out.tif"), lambda b: b,
                             options=RunOptions(executor=external[1]))
    assert not (tmp_path / "out.tif").exists()


def test_the_files_an_in_memory_vrt_reads_are_checked_too(tmp_path, image, external, monkeypatch):
    path, _ = image
    monkeypatch.chdir(tmp_path)
    vrt = "/vsimem/sarsense_test_cluster/rel.vrt"
    gdal.BuildVRT(vrt, [path]).FlushCache()
    f = gdal.VSIFOpenL(vrt, "rb")
    xml = gdal.VSIFReadL(1, 1 << 20, f).decode().replace(path, "in.tif")   # a source only the client's folder has
    gdal.VSIFCloseL(f)
    gdal.FileFromMemBuffer(vrt, xml.encode())
    try:
        with pytest.raises(ClusterError, match="cannot read the input 'in.tif'"):
            engine.run_blockwise(vrt, str(tmp_path / "out.tif"), lambda b: b,
                                 options=RunOptions(executor=external[1]))
    finally:
        gdal.Unlink(vrt)


def test_a_killed_worker_is_survived_with_identical_output(tmp_path, image, external):
    c, executor = external
    path, arr = image
    counts = engine.Counts("valid")

    def slow(block, where):
        time.sleep(0.04)
        counts.add(valid=int(np.isfinite(where.core_of(block)).sum()))
        return block * 3

    engine.run_blockwise(path, str(tmp_path / "local.tif"), lambda b: b * 3, options=RunOptions(block_size=32))
    victim = sorted(dask_helpers.worker_pids(c["address"]).values())[0]
    killer = threading.Timer(1.0, os.kill, (victim, 9))
    killer.start()
    try:
        engine.run_blockwise(path, str(tmp_path / "dask.tif"), slow, with_position=True,
                             options=RunOptions(block_size=32, executor=executor))
    finally:
        killer.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)          # it was killed during the run
    assert _same(tmp_path / "local.tif", tmp_path / "dask.tif")
    assert counts["valid"] == int(np.isfinite(arr).sum()), "a task lost with its worker is counted once"
    dask_helpers.wait_for_workers(c, 2)   # its nanny started a new worker


def test_a_scheduler_that_goes_away_fails_the_run_with_no_output(tmp_path, image, monkeypatch):
    path, _ = image
    monkeypatch.setattr(cluster, "LOST_TIMEOUT_S", 2)
    c = dask_helpers.start(tmp_path / "lonely", workers=1)
    try:
        with DaskExecutor(c["address"]) as executor:
            def slow(b):
                time.sleep(0.1)
                return b
            threading.Timer(1.0, dask_helpers.kill_scheduler, (c,)).start()
            t0 = time.monotonic()
            with pytest.raises(ClusterError, match="went away during the run; nothing was written"):
                engine.run_blockwise(path, str(tmp_path / "out.tif"), slow,
                                     options=RunOptions(block_size=32, executor=executor))
            assert time.monotonic() - t0 < 30
    finally:
        dask_helpers.stop(c)
    assert not [p for p in os.listdir(tmp_path) if p.startswith("out")]


def test_no_scheduler_at_the_address_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9")


def test_without_dask_installed_the_run_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed → ImportError
    with pytest.raises(ClusterError, match="dask/distributed is not installed.*Install missing Python packages"):
        DaskExecutor("local:2")
