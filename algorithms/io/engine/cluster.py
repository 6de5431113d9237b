"""The engine's blocks on a Dask cluster (``dask.distributed``): the same plan, the same kernels, the same results.

A run points at a cluster with an address (the Processing provider's *Dask scheduler* setting, or
``SARSENSE_DASK_SCHEDULER`` for ``qgis_process`` and batch jobs): ``local:N`` starts a ``LocalCluster`` of N worker
processes for the run; ``tcp://host:port`` (or ``tls://…``) uses an existing scheduler, deployed with Dask's own
tools (``dask scheduler``/``dask worker``, dask-jobqueue on SLURM, the Dask Kubernetes operator). SARSense writes
no scheduler, queue or worker protocol of its own.

What travels (docs/distributed.md):

* **the core**: the QGIS-free package (``algorithms``) zipped with its digest and sent with
  ``UploadFile`` (a worker plugin: workers that join later get it too); every worker is checked to run that
  digest, and a worker that ran another version drops it first. A worker needs Python of the client's version with
  numpy, SciPy, GDAL's Python bindings and dask/distributed (onnxruntime for the network algorithms), no SARSense
  and no QGIS;
* **the work**: each walker's ``compute`` (its kernel, the input stack as paths, a model as its bytes) scattered
  once to every worker, then one task per item of the plan (a window, a batch of tiles);
* **the results**: back to the client, which consumes them in plan order (writes the output block by block, adds
  a reduction's partials) with at most a few tasks' results in flight (back-pressure), so the client holds a
  bounded amount whatever the raster's size. GeoTIFF has one writer: the client, which owns the output anyway.

Inputs must be readable by every worker under the same path (a shared filesystem, ``/vsis3/``, ``/vsicurl/``);
each run asks the workers and refuses a path they cannot open. In-memory rasters (``/vsimem/``) travel with the
stack. Cancel cancels the cluster's tasks; an error, a cancel, or a scheduler that goes away leave no output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import multiprocessing
import multiprocessing.spawn
import os
import pickle
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .. import memfiles
from ..options import Cancelled
from . import counts as _counts
from . import remote

#: The environment variable that points ``qgis_process`` and batch jobs at a cluster (empty: the local engine).
SCHEDULER_ENV = "SARSENSE_DASK_SCHEDULER"
#: Seconds a run waits for a scheduler to answer, and for the workers of a ``local:N`` cluster to start.
CONNECT_TIMEOUT_S = 30
#: Seconds without a scheduler before a run gives up (the client reconnects on its own within them).
LOST_TIMEOUT_S = 10
#: Results a run lets the cluster hold for it ahead of the one it writes next, per worker thread.
IN_FLIGHT_PER_THREAD = 2
#: Items (windows, batches of tiles) a task computes at most. Measured on Lee 7×7, 8192², 352 windows: one window a
#: task cost 4.5 ms of overhead each, 16 a task 0.34 ms a window (bench section 10).
MAX_ITEMS_PER_TASK = 16
#: Share of the run's memory budget one task's results may take at most: the client holds a task's results whole
#: while it writes them (the rest wait on the workers).
TASK_RESULTS_SHARE = 0.25
#: Tasks per worker thread a pass is cut into at least (when it has the items): enough to balance the workers.
TASKS_PER_THREAD = 8
#: The name the core's upload is registered under on a cluster (one per cluster: a later run replaces it).
PLUGIN_NAME = "sarsense-core"


class ClusterError(ValueError):
    """A cluster that cannot run SARSense's blocks (unreachable, wrong Python, an input its workers cannot read)."""


def parse_address(text):
    """``None`` (local engine) for an empty address, ``("local", n)`` for ``local:N``, ``("remote", address)`` for a
    scheduler's address; anything else is refused with the forms that are accepted."""
    text = (text or "").strip()
    if not text:
        return None
    if text.lower().startswith("local:"):
        n = text.split(":", 1)[1].strip()
        if not n.isdigit() or int(n) < 1:
            raise ClusterError(f"Dask scheduler '{text}': local:N needs a number of worker processes N ≥ 1, "
                               "e.g. local:2")
        return "local", int(n)
    if "://" in text and text.split("://", 1)[1]:
        return "remote", text
    raise ClusterError(f"Dask scheduler '{text}' is not an address SARSense understands: leave it empty for this "
                       "machine's threads, 'local:N' for N worker processes on this machine, or a scheduler's "
                       "address such as tcp://host:8786")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("a Dask scheduler is set, but dask/distributed is not installed in QGIS's Python: install "
                           "SARSense's packages (Plugins ▸ SARSense ▸ Install missing Python packages…, or "
                           "'make setup'), or clear the setting (Processing ▸ Options ▸ Providers ▸ SARSense) / "
                           f"{SCHEDULER_ENV}") from None
    return distributed


# -- the core, shipped to the workers -----------------------------------------------------------------------------
def _core():
    """``(package, folder)``: the name the core is imported under here (``sarsense.algorithms``) and its folder."""
    package = __name__.rsplit(".io.engine.cluster", 1)[0]
    return package, Path(__file__).resolve().parents[2]


def core_zip(folder=None):
    """``(path, digest)``: the core's ``.py`` files zipped under the package name they are imported as here, with a
    stub top-level package that carries the digest (sha256 of the files' names and bytes). Built once per digest,
    byte-identical for the same sources (fixed timestamps)."""
    package, root = _core()
    root = Path(folder) if folder else root
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    sha = hashlib.sha256()
    for p in files:
        sha.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    digest = sha.hexdigest()
    path = Path(tempfile.gettempdir()) / f"sarsense-core-{digest[:16]}.zip"
    if path.exists():
        return str(path), digest
    parts = package.split(".")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name, data):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
        for i in range(1, len(parts)):        # the parent packages: stubs that carry the digest
            put("/".join(parts[:i]) + "/__init__.py",
                f'"""SARSense\'s QGIS-free core, as a Dask worker receives it."""\nCORE_DIGEST = "{digest}"\n')
        for p in files:
            put("/".join(parts) + "/" + p.relative_to(root).as_posix(), p.read_bytes())
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return str(path), digest


def _core_check(top, digest):
    """A function for ``Client.run``: on a worker, the core of ``digest`` imported (another version dropped first),
    and what the worker has. Built here as a closure so that cloudpickle sends it by value (a worker may not
    have the core yet, or an older one)."""
    def check(dask_worker=None):
        import importlib
        import platform
        import sys as _sys
        mod = _sys.modules.get(top)
        if mod is None or getattr(mod, "CORE_DIGEST", None) != digest:
            for name in [m for m in _sys.modules if m == top or m.startswith(top + ".")]:
                del _sys.modules[name]
            importlib.invalidate_caches()
            mod = importlib.import_module(top)
        found = {"digest": getattr(mod, "CORE_DIGEST", None), "python": platform.python_version(),
                 "threads": getattr(dask_worker, "state", None) and dask_worker.state.nthreads}
        from importlib import metadata
        for name in ("numpy", "scipy", "onnxruntime"):     # versions read, not imported (onnxruntime takes 0.4 s)
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = None
        try:
            from osgeo import gdal
            found["gdal"] = gdal.__version__
        except ImportError:
            found["gdal"] = None
        return found
    return check


def task_groups(items, threads, budget_mb, result_bytes=None):
    """``items`` cut into consecutive groups, one task each: at least :data:`TASKS_PER_THREAD` tasks per worker thread
    where there are the items, at most :data:`MAX_ITEMS_PER_TASK` items, and (with ``result_bytes(item)``, the bytes
    of an item's result) at most :data:`TASK_RESULTS_SHARE` of the budget of results in a task."""
    cap = max(1, min(MAX_ITEMS_PER_TASK, len(items) // (TASKS_PER_THREAD * max(1, threads))))
    limit = TASK_RESULTS_SHARE * budget_mb * 2**20
    groups, group, held = [], [], 0
    for item in items:
        size = result_bytes(item) if result_bytes else 0
        if group and (len(group) >= cap or held + size > limit):
            groups.append(group)
            group, held = [], 0
        group.append(item)
        held += size
    if group:
        groups.append(group)
    return groups


def _task_function(module):
    """The function each task runs: ``module``'s ``run_task`` (:mod:`.remote`) on the worker, with the item
    unpickled there. Sent by value (a closure, which cloudpickle pickles whole) and given the item as bytes: the
    scheduler, which unpickles every task it schedules, then needs no SARSense core (nor GDAL) of its own."""
    def task(compute, items, cache_mb, budget_mb):
        import importlib
        import pickle
        return importlib.import_module(module).run_task(compute, pickle.loads(items), cache_mb, budget_mb)
    return task


def _readable_check(paths):
    """A function for ``Client.run``: the paths among ``paths`` that GDAL cannot open on the worker."""
    def check():
        from osgeo import gdal
        bad = []
        with_errors = gdal.GetUseExceptions()
        gdal.UseExceptions()
        try:
            for p in paths:
                try:
                    ok = gdal.OpenEx(p, gdal.OF_RASTER | gdal.OF_READONLY) is not None
                except RuntimeError:
                    ok = False
                if not ok:
                    bad.append(p)
        finally:
            if not with_errors:
                gdal.DontUseExceptions()
        return bad
    return check


@contextlib.contextmanager
def _python_for_spawn():
    """Worker processes of a ``local:N`` cluster started with a Python interpreter: inside QGIS (desktop or
    ``qgis_process``) ``sys.executable`` is QGIS itself, which multiprocessing would start instead."""
    spawn = multiprocessing.get_context("spawn")
    old = multiprocessing.spawn.get_executable()
    exe = _python_executable()
    if exe != old:
        spawn.set_executable(exe)
    try:
        yield
    finally:
        if exe != old:
            spawn.set_executable(old)


def _python_executable():
    """The Python interpreter of the standard library that runs here: ``<prefix>/lib/python3.X/os.py`` →
    ``<prefix>/bin/python3.X`` (Windows: ``<prefix>/Lib/os.py`` → ``<prefix>/python.exe``). Inside QGIS,
    ``sys.executable`` is QGIS itself, or another Python that ``qgis_process`` found on PATH, whose library would
    not match this one's (the workers get this process's ``sys.path``)."""
    lib = Path(os.__file__).resolve().parent
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    prefix = lib.parents[1]
    for cand in (prefix / "bin" / f"python{ver}", prefix / "bin" / "python3", lib.parent / "python.exe"):
        if cand.exists():
            return str(cand)
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    raise ClusterError("cannot find a Python interpreter to start local Dask workers with (QGIS's own runs this "
                       "process); start a scheduler and workers yourself and give its address instead of local:N")


class DaskExecutor:
    """A run's blocks computed on a Dask cluster (``RunOptions(executor=...)``); use as a context manager.

    ``address`` as :func:`parse_address` reads it. :meth:`describe` says where the blocks run (which cluster, how
    many workers) and :meth:`summary` what they cost: :attr:`stats` counts tasks and bytes moved over the executor's
    life.
    """

    name = "dask"

    def __init__(self, address):
        kind = parse_address(address)
        if kind is None:
            raise ClusterError("no Dask scheduler address given")
        self.address, self.kind = str(address).strip(), kind[0]
        self.cluster = self.client = None
        self._spawn = None
        self._checked = set()
        # distributed logs, with tracebacks, what the run reports itself in one sentence (a lost scheduler, a
        # cancelled task): quiet while the executor lives
        self._quiet = [(logger, logger.level) for logger in map(logging.getLogger, ("distributed", "tornado"))]
        for logger, _ in self._quiet:
            logger.setLevel(logging.CRITICAL)
        #: tasks run; bytes sent to the workers and results received; engine passes; seconds of the passes here,
        #: seconds the workers spent computing, and seconds this process spent consuming (writing, adding) results
        self.stats = {"tasks": 0, "to_client": 0, "to_workers": 0, "calls": 0, "seconds": 0.0, "worker_s": 0.0,
                      "client_s": 0.0}
        distributed = _import_distributed()
        try:
            if self.kind == "local":
                self._spawn = _python_for_spawn()
                self._spawn.__enter__()
                self.cluster = distributed.LocalCluster(
                    n_workers=kind[1], threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR, worker_class=distributed.Nanny)
                self.client = distributed.Client(self.cluster, timeout=CONNECT_TIMEOUT_S)
            else:
                try:
                    self.client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT_S)
                except (OSError, TimeoutError) as err:
                    raise ClusterError(f"cannot reach the Dask scheduler at {self.address} ({err}); start it "
                                       f"('dask scheduler' and 'dask worker {self.address}'), check the address, or "
                                       f"clear {SCHEDULER_ENV} to run on this machine") from None
            self._ship_core()
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------------------------------------------
    def _ship_core(self):
        from distributed.diagnostics.plugin import UploadFile

        path, digest = core_zip()
        top = _core()[0].split(".")[0]
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not self.client.scheduler_info().get("workers"):
            if time.monotonic() > deadline:
                raise ClusterError(f"the Dask scheduler at {self.address} has no workers: start some "
                                   f"('dask worker {self.address}') and run again")
            time.sleep(0.1)
        self.client.register_plugin(UploadFile(path, load=True), name=PLUGIN_NAME)
        found = self.client.run(_core_check(top, digest))
        self.workers = found
        mine = f"{sys.version_info.major}.{sys.version_info.minor}"
        for worker, info in found.items():
            if ".".join(info["python"].split(".")[:2]) != mine:
                raise ClusterError(f"Dask worker {worker} runs Python {info['python']}, this QGIS Python {mine}: "
                                   "the blocks' code travels pickled and needs the same Python version on both sides")
            if info["digest"] != digest:
                raise ClusterError(f"Dask worker {worker} did not load SARSense's core ({digest[:12]}…): it has "
                                   f"{info['digest']!r}; restart the worker and run again")
            if info["gdal"] is None:
                raise ClusterError(f"Dask worker {worker} has no GDAL Python bindings (Debian: python3-gdal)")
        self.core_digest = digest
        self.core_bytes = os.path.getsize(path)
        self.stats["to_workers"] += self.core_bytes * len(found)

    def describe(self):
        """What the log says of the executor: where it runs and on how many workers."""
        n = len(self.workers)
        threads = sum(int(i.get("threads") or 1) for i in self.workers.values())
        where = (f"a LocalCluster of {n} worker processes started for this run" if self.kind == "local"
                 else f"the Dask scheduler at {self.address}")
        return (f"Executor: Dask on {where} ({n} worker(s), {threads} thread(s)); SARSense core "
                f"{self.core_digest[:12]} sent ({self.core_bytes / 2**10:.0f} KiB)")

    def summary(self):
        """The run's totals: tasks, and bytes moved each way."""
        s = self.stats
        return (f"Dask: {s['tasks']} task(s) in {s['calls']} pass(es), {s['seconds']:.1f} s (workers computed "
                f"{s['worker_s']:.1f} s, this machine wrote {s['client_s']:.1f} s); moved "
                f"{s['to_workers'] / 2**20:.1f} MiB to the workers (core, kernels, inputs' virtual rasters) and "
                f"{s['to_client'] / 2**20:.1f} MiB of results to this machine")

    def threads(self):
        return sum(int(i.get("threads") or 1) for i in self.workers.values()) or 1

    def check_inputs(self, paths):
        """Refuse, with the path and what to do, an input some worker cannot open. In-memory rasters travel; the
        files their VRTs read are checked instead."""
        paths = [str(p) for p in paths]
        memory = [p for p in paths if p.startswith("/vsimem/")]
        files = memfiles.sources(memfiles.collect(memory)) if memory else []
        todo = sorted({p for p in paths if not p.startswith("/vsimem/")} | set(files) - self._checked)
        if not todo:
            return
        found = self.client.run(_readable_check(todo))
        for worker, bad in found.items():
            if bad:
                raise ClusterError(
                    f"the Dask worker {worker} cannot read the input '{bad[0]}': with a Dask scheduler every input "
                    "must be readable by every worker under the same path: put it on a filesystem they share with this "
                    "machine, or give a path GDAL reads over the network (/vsis3/, /vsicurl/, …); or clear the "
                    f"Dask scheduler setting / {SCHEDULER_ENV} to run on this machine")
        self._checked.update(todo)

    # -- running ---------------------------------------------------------------------------------------------
    def map_ordered(self, items, compute, consume, *, options, threads=1, inputs=(), result_bytes=None):
        """:meth:`.executors.LocalExecutor.map_ordered` on the cluster: ``compute`` scattered once to every worker,
        consecutive items grouped into tasks (:func:`task_groups`, with ``result_bytes(item)`` the size of an item's
        result), results consumed here in item order with at most :data:`IN_FLIGHT_PER_THREAD` tasks per worker
        thread held ahead. ``threads`` (the local engine's) does not apply. The plan is the local engine's: the same
        windows, in the same order."""
        import cloudpickle
        from distributed import TimeoutError as DaskTimeout
        from distributed.sizeof import sizeof

        from .memory import gdal_cache_share

        items = list(items)
        if not items:
            return
        start = time.perf_counter()
        self.check_inputs(inputs)
        options.check_cancel()
        client = self.client
        try:
            payload = len(cloudpickle.dumps(compute))
        except (TypeError, pickle.PicklingError) as err:    # a bug of ours: an object that cannot travel
            raise ClusterError(f"this step cannot run on a Dask cluster ({err}); clear the Dask scheduler setting / "
                               f"{SCHEDULER_ENV} to run it on this machine, and report it") from None
        fn = client.scatter(compute, broadcast=True, hash=False)
        self.stats["to_workers"] += payload * len(self.workers)
        self.stats["calls"] += 1
        cache_mb = gdal_cache_share(options.budget_mb)
        ahead = max(2, IN_FLIGHT_PER_THREAD * self.threads())
        groups = task_groups(items, self.threads(), options.budget_mb, result_bytes)
        task = _task_function(remote.__name__)
        total, progress = len(items), options.progress
        pending, nxt, done = [], 0, 0
        try:
            while done < total:
                options.check_cancel()
                while nxt < len(groups) and len(pending) < ahead:
                    group = pickle.dumps(groups[nxt], protocol=pickle.HIGHEST_PROTOCOL)
                    pending.append(client.submit(task, fn, group, cache_mb, options.budget_mb, pure=False))
                    self.stats["to_workers"] += len(group)
                    nxt += 1
                results, added, seconds = self._wait(pending[0], options, DaskTimeout)
                pending.pop(0)
                self.stats["tasks"] += 1
                self.stats["worker_s"] += seconds
                self.stats["to_client"] += sizeof(results) + sizeof(added)
                t0 = time.perf_counter()
                _counts.merge(added)
                while results:
                    options.check_cancel()
                    consume(items[done], results.pop(0))
                    done += 1
                    if progress:
                        progress(done / total)
                self.stats["client_s"] += time.perf_counter() - t0
        except BaseException:
            if pending:
                with contextlib.suppress(Exception):
                    client.cancel(pending)
            raise
        finally:
            pending.clear()
            with contextlib.suppress(Exception):
                client.cancel([fn])
            self.stats["seconds"] += time.perf_counter() - start

    def _wait(self, future, options, timeout_error):
        """The future's result, checking cancel (every half second) and the scheduler while it runs."""
        from distributed import CancelledError
        from distributed.scheduler import KilledWorker

        lost = None
        while True:
            try:
                return future.result(timeout=0.5)
            except timeout_error:
                pass
            except CancelledError:      # the client cancels its tasks when the scheduler is gone
                raise self._gone() from None
            except KilledWorker:
                raise ClusterError("Dask workers died again and again computing the same block (out of memory, or a "
                                   "crash in a library): nothing was written. Give the workers more memory, or run "
                                   "with a smaller memory budget") from None
            options.check_cancel()
            if self.client.status in ("running", "connecting") and self.client.scheduler is not None and \
                    getattr(self.client.scheduler_comm, "comm", None) is not None and \
                    not self.client.scheduler_comm.comm.closed():
                lost = None
                continue
            lost = lost or time.monotonic()
            if time.monotonic() - lost > LOST_TIMEOUT_S or self.client.status in ("closed", "closing"):
                raise self._gone()

    def _gone(self):
        return ClusterError(f"the Dask scheduler at {self.address} went away during the run; nothing was written. "
                            "Start it again (or clear the Dask scheduler setting) and rerun")

    # -- the end ---------------------------------------------------------------------------------------------
    def close(self):
        for what in ("client", "cluster"):
            obj = getattr(self, what)
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close(timeout=5) if what == "client" else obj.close()
                setattr(self, what, None)
        if self._spawn is not None:
            self._spawn.__exit__(None, None, None)
            self._spawn = None
        for logger, level in getattr(self, "_quiet", ()):
            logger.setLevel(level)
        self._quiet = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


__all__ = ["CONNECT_TIMEOUT_S", "SCHEDULER_ENV", "Cancelled", "ClusterError", "DaskExecutor", "core_zip",
           "parse_address"]
