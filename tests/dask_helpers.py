"""A Dask cluster as a user deploys one, for the tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

The workers are plain QGIS Python (numpy, SciPy, GDAL from Debian) with only the private package folder
(dask/distributed, onnxruntime) on their path and a working folder of their own: no SARSense, no QGIS plugin path.
Whatever SARSense code they run is what the client sends them (docs/distributed.md).
"""

import json
import os
import signal
import subprocess
import sys
import time

#: The interpreter the workers run (QGIS's Python; the tests' own may be a venv of it).
WORKER_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def deps_dir():
    from sarsense.sarsense_qgis import setup_tools
    return setup_tools.deps_dir()


def _env():
    return dict(os.environ, PYTHONPATH=deps_dir(), DASK_DISTRIBUTED__WORKER__DAEMON="False")


def start(folder, workers=2, *, nanny=True):
    """A scheduler and ``workers`` single-threaded workers started in ``folder``; returns the cluster's dict
    (``address``, processes) for :func:`stop`, once every worker has joined."""
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    info = os.path.join(folder, "scheduler.json")
    log = open(os.path.join(folder, "cluster.log"), "ab")
    procs = [subprocess.Popen([WORKER_PYTHON, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", info],
                              cwd=folder, env=_env(), stdout=log, stderr=log, start_new_session=True)]
    deadline = time.monotonic() + 60
    while not os.path.exists(info) or not os.path.getsize(info):
        if time.monotonic() > deadline or procs[0].poll() is not None:
            stop({"procs": procs})
            raise RuntimeError("the dask scheduler did not start: " + open(os.path.join(folder, "cluster.log")).read())
        time.sleep(0.1)
    time.sleep(0.2)
    with open(info) as f:
        address = json.load(f)["address"]
    for i in range(workers):
        wdir = os.path.join(folder, f"worker{i}")
        os.makedirs(wdir, exist_ok=True)
        procs.append(subprocess.Popen(
            [WORKER_PYTHON, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1", "--local-directory", wdir, "--nanny" if nanny else "--no-nanny",
             "--name", f"w{i}"], cwd=wdir, env=_env(), stdout=log, stderr=log, start_new_session=True))
    cluster = {"address": address, "procs": procs, "folder": folder}
    wait_for_workers(cluster, workers)
    return cluster


def wait_for_workers(cluster, n, timeout=60):
    from distributed import Client
    with Client(cluster["address"], timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)


def worker_pids(address):
    """``{worker address: pid}`` of the worker processes (not their nannies)."""
    from distributed import Client
    with Client(address, timeout=30) as client:
        return client.run(os.getpid)


def kill_scheduler(cluster):
    os.killpg(cluster["procs"][0].pid, signal.SIGKILL)
    cluster["procs"][0].wait(10)


def stop(cluster):
    for p in reversed(cluster["procs"]):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in cluster["procs"]:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
