"""`make bench`, section 10: the block engine on Dask (issue #32) against the local engine, in the same run.

(This file is dask_engine.py, not distributed.py: on the bench's path that name would hide the package.)

10. Dask: the same qgis_process runs with the local engine (this machine's threads), with
    ``SARSENSE_DASK_SCHEDULER=local:2`` (a LocalCluster of two worker processes started for the run, its start-up
    included) and on a cluster already running (``dask scheduler`` + two ``dask worker`` processes, started as
    tests/dask_helpers.py starts them for the tests): despeckle (Lee 7×7) on 8192² and changedetection on
    4096² × 30 dates, median of 3 alternating runs; target: the local:2 run takes at most 1.2× the local one on
    this 2-core machine. Then, in this process on a
    running ``local:2`` cluster, what a task costs: a no-op kernel over many small windows (per-task overhead and
    bytes moved per task), and the despeckle kernel's work per 8192² window on a worker and on the client (receive and
    write); from those, a measured model of the 8192² run's time against the number of workers,
    T(n) = start-up + max(client · tasks, (worker + overhead) · tasks / n): the client, which writes the one
    GeoTIFF, is the bound the model shows as n grows.
Not a test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import os
import statistics
import sys
import time

import numpy as np
from common import QGIS_PROCESS, REPO, make_input, make_vv_stack, qgis_process
from osgeo import gdal

DASK_OVERHEAD = 1.2         # local:2 time ≤ 1.2 × the local engine's, through qgis_process, same run
REPEATS = 3


def run(tmp, sar_side=8192, stack_side=4096):
    """Section 10 (its own temporary folder)."""
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("SARSENSE_DASK_SCHEDULER", None)
    failed = []
    sar = os.path.join(tmp, f"sar_{sar_side}.tif")
    make_input(sar, sar_side)
    stack = make_vv_stack(os.path.join(tmp, f"vv_{stack_side}x30.tif"), stack_side, 30)
    dask_helpers = _dask_helpers()
    running = dask_helpers.start(os.path.join(tmp, "cluster"), workers=2)
    try:
        failed += _compare(f"despeckle {sar_side}²", env, tmp, "sarsense:despeckle",
                           dict(INPUT=sar, INPUT_UNITS=0, FILTER=1, SIZE=7, COMPRESSION=0), running["address"])
        failed += _compare(f"changedetection {stack_side}² × 30", env, tmp, "sarsense:changedetection",
                           dict(INPUT=stack, INPUT_UNITS=1, COMPRESSION=0), running["address"],
                           outputs=("OUTPUT_INDEX", "OUTPUT_SSM"))
    finally:
        dask_helpers.stop(running)
    _task_model(tmp, sar)
    return failed


def _dask_helpers():
    """tests/dask_helpers.py (how the tests start a scheduler and its workers), loaded from its file."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("dask_helpers", os.path.join(REPO, "tests", "dask_helpers.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compare(label, env, tmp, alg, params, address, outputs=("OUTPUT",)):
    """Median time of the same ``alg`` run with the local engine, with ``local:2`` (a LocalCluster started for the
    run, its start-up included) and on the running 2-worker cluster at ``address``, alternating (the first run, which
    makes QGIS's histogram of a new input, is left out); every output compared bit for bit with the local one."""
    sides = ("local", "local:2", "running")
    out = {side: {o: os.path.join(tmp, f"{side.replace(':', '')}_{o}.tif") for o in outputs} for side in sides}
    envs = {"local": env, "local:2": dict(env, SARSENSE_DASK_SCHEDULER="local:2"),
            "running": dict(env, SARSENSE_DASK_SCHEDULER=address)}
    qgis_process(alg, env, **params, **out["local"])          # QGIS's first open of the input, not timed
    times = {side: [] for side in sides}
    peaks = {side: [] for side in sides}
    for _ in range(REPEATS):
        for side in sides:
            os.sync()
            t, peak = qgis_process(alg, envs[side], **params, **out[side])
            times[side].append(t)
            peaks[side].append(peak)
    same = all(np.array_equal(gdal.Open(out["local"][o]).ReadAsArray(), gdal.Open(out[side][o]).ReadAsArray(),
                              equal_nan=True) for o in outputs for side in sides[1:])
    t = {side: statistics.median(times[side]) for side in sides}
    ratio, running = t["local:2"] / t["local"], t["running"] / t["local"]
    met = ratio <= DASK_OVERHEAD and same
    print(f"\ndask: {label} through qgis_process, median of {REPEATS} (alternating)")
    print(f"  local engine ({os.cpu_count()} cores) {t['local']:6.1f} s; SARSENSE_DASK_SCHEDULER=local:2 "
          f"{t['local:2']:6.1f} s = {ratio:.2f}x (target <= {DASK_OVERHEAD}x): {'met' if met else 'MISSED'}; "
          f"outputs identical: {same}")
    print(f"  on a 2-worker cluster already running (dask scheduler + 2 dask workers, tcp://): {t['running']:6.1f} s = "
          f"{running:.2f}x the local engine (local:2's start-up: {t['local:2'] - t['running']:.1f} s)")
    print(f"  client peak RSS: local {max(peaks['local']):.0f} MB, local:2 {max(peaks['local:2']):.0f} MB, running "
          f"{max(peaks['running']):.0f} MB (the workers are other processes)")
    return [] if met else [f"dask@{label.split()[0]}"]


def _task_model(tmp, sar):
    """Per-task overhead, bytes per task and the despeckle run's cost split, on a running local:2 cluster."""
    from sarsense.algorithms.io import RunOptions, engine
    from sarsense.algorithms.io.engine.cluster import DaskExecutor
    from sarsense.algorithms.sar import speckle

    small = os.path.join(tmp, "small.tif")
    gdal.Translate(small, sar, srcWin=[0, 0, 2048, 2048], creationOptions=["TILED=YES"])
    t0 = time.perf_counter()
    with DaskExecutor("local:2") as ex:
        start = time.perf_counter() - t0
        opts = RunOptions(block_size=64, compression="NONE")
        t = time.perf_counter()
        n = engine.run_blockwise(small, os.path.join(tmp, "noop_l.tif"), lambda b: b, options=opts)["blocks"]
        t_local = time.perf_counter() - t
        s0 = dict(ex.stats)
        t = time.perf_counter()
        engine.run_blockwise(small, os.path.join(tmp, "noop_d.tif"), lambda b: b, options=opts.replace(executor=ex))
        t_dask = time.perf_counter() - t
        tasks0 = ex.stats["tasks"] - s0["tasks"]
        moved = (ex.stats["to_workers"] - s0["to_workers"] + ex.stats["to_client"] - s0["to_client"]) / n
        per_window = (t_dask - t_local) / n
        # the real kernel: Lee 7×7 on the scene, as despeckle runs it (the budget's windows on two threads' budget)
        s1 = dict(ex.stats)
        t = time.perf_counter()
        speckle.despeckle_file(sar, os.path.join(tmp, "lee_d.tif"), filter="lee", size=7, looks=1.0,
                               options=RunOptions(workers=2, compression="NONE", executor=ex))
        t_run = time.perf_counter() - t
        tasks = ex.stats["tasks"] - s1["tasks"]
        worker = (ex.stats["worker_s"] - s1["worker_s"]) / tasks
        client = (ex.stats["client_s"] - s1["client_s"]) / tasks
        mb = (ex.stats["to_client"] - s1["to_client"]) / tasks / 2**20
    t = time.perf_counter()
    speckle.despeckle_file(sar, os.path.join(tmp, "lee_l.tif"), filter="lee", size=7, looks=1.0,
                           options=RunOptions(workers=2, compression="NONE"))
    t_lee_local = time.perf_counter() - t
    side = gdal.Open(sar).RasterXSize
    overhead = per_window * (n / max(1, tasks0))      # per task
    print(f"\ndask: what a task costs (in this process, local:2 running; start-up of the cluster {start:.1f} s)")
    print(f"  no-op kernel, {n} windows of 64² in {tasks0} tasks: local {t_local:.2f} s, Dask {t_dask:.2f} s: "
          f"{1000 * per_window:.2f} ms and {moved / 1024:.1f} KiB moved per window ({1000 * overhead:.0f} ms a task)")
    print(f"  Lee 7×7 on {side}²: local engine (2 threads) {t_lee_local:.2f} s; Dask {t_run:.2f} s in {tasks} tasks "
          f"of consecutive windows: per task {worker:.2f} s on a worker, {client:.2f} s on the client "
          f"(writing; receiving overlaps the workers' compute), {mb:.1f} MiB of results")
    print(f"  model T(n) = start-up + max(client·tasks, (worker + overhead)·tasks / n) for the {side}² run, this "
          "machine's figures:")
    for workers in (1, 2, 4, 8, 16, 32):
        cost = (worker + max(overhead, 0.0)) * tasks / workers
        model = start + max(client * tasks, cost)
        print(f"    {workers:3d} worker(s): {model:6.1f} s {'client-bound' if client * tasks >= cost else ''}")


if __name__ == "__main__":
    import tempfile
    if not os.path.exists(QGIS_PROCESS):
        sys.exit("qgis_process.bin missing")
    with tempfile.TemporaryDirectory(prefix="sarsense-bench-") as d:
        sides = [int(v) for v in sys.argv[1:3]] if len(sys.argv) > 2 else [8192, 4096]
        failed = run(os.path.join(d, "dask"), *sides)
    print("targets missed: " + (", ".join(failed) if failed else "none"))
