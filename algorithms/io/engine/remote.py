"""What a Dask worker runs for the engine (:mod:`.cluster`): one item of a run's plan, its counts sent back."""

from __future__ import annotations

from osgeo import gdal

from .counts import recording


def run_task(compute, item, cache_mb):
    """``(compute(item), counts)``: the item's result and what its kernels added to the run's
    :class:`~.counts.Counts` (merged into the originals by the client). GDAL's block cache of the worker is capped
    at the run's share (:func:`~.memory.gdal_cache_share`), as the client's is."""
    limit = int(cache_mb * 2**20)
    if gdal.GetCacheMax() > limit:
        gdal.SetCacheMax(limit)
    with recording() as added:
        result = compute(item)
    return result, added
