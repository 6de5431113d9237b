"""What a Dask worker runs for the engine (:mod:`.cluster`): one item of a run's plan, its counts sent back."""

from __future__ import annotations

import contextlib
import threading
import time
import weakref

from osgeo import gdal

from .counts import recording
from .memory import reuse_freed_memory


def run_task(compute, items, cache_mb, budget_mb):
    """``([compute(item) for item in items], counts, seconds)``: the items' results, what their kernels added to the
    run's :class:`~.counts.Counts` and :class:`~.counts.Sums` (merged into the originals by the client) and the
    seconds it took here. The worker holds memory as the local engine does for a run: GDAL's block cache capped at
    the run's share (:func:`~.memory.gdal_cache_share`), and freed memory kept for the next blocks
    (:func:`~.memory.reuse_freed_memory`; without it the workers' kernels ran 2.9× slower on Lee 7×7, bench
    section 10) until the run's work leaves the worker."""
    limit = int(cache_mb * 2**20)
    if gdal.GetCacheMax() > limit:
        gdal.SetCacheMax(limit)
    _hold_freed_memory(compute, budget_mb)
    start = time.perf_counter()
    with recording() as added:
        results = [compute(item) for item in items]
    return results, added, time.perf_counter() - start


#: The runs (their ``compute``) this worker keeps freed memory for, each until the worker drops it.
_HOLDING: dict = {}
_HOLDING_LOCK = threading.Lock()


def _hold_freed_memory(compute, budget_mb):
    """Enter :func:`~.memory.reuse_freed_memory` for ``compute``'s run at its first task here, and leave it when the
    worker drops ``compute`` (the client releases it when the run ends): glibc's defaults come back then."""
    key = id(compute)
    with _HOLDING_LOCK:
        if key in _HOLDING:
            return
        held = contextlib.ExitStack()
        held.enter_context(reuse_freed_memory(budget_mb))
        _HOLDING[key] = held
    weakref.finalize(compute, _release, key)


def _release(key):
    with _HOLDING_LOCK:
        held = _HOLDING.pop(key, None)
    if held is not None:
        held.close()
