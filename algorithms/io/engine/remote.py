"""What a Dask worker runs for the engine (:mod:`.cluster`): one item of a run's plan, its counts sent back."""

from __future__ import annotations

import time

from osgeo import gdal

from .counts import recording


def run_task(compute, item, cache_mb):
    """``(compute(item), counts, seconds)``: the item's result, what its kernels added to the run's
    :class:`~.counts.Counts` (merged into the originals by the client) and the seconds it took here. GDAL's block
    cache of the worker is capped at the run's share (:func:`~.memory.gdal_cache_share`), as the client's is."""
    limit = int(cache_mb * 2**20)
    if gdal.GetCacheMax() > limit:
        gdal.SetCacheMax(limit)
    start = time.perf_counter()
    with recording() as added:
        result = compute(item)
    return result, added, time.perf_counter() - start
