"""The block engine: every raster a SARSense job writes goes through one of these walkers.

- :func:`run_blockwise`: input windows with a halo → kernel → output windows (:mod:`.walk`);
- :func:`run_on_grid`: a grid no input gives (resampling onto a map grid);
- :func:`reduce_blockwise`: statistics, nothing written; :func:`run_aggregate`: a coarser grid;
- :func:`run_tiled`: overlap-add tiled inference of a network (:mod:`.tiles`).

Rooms: :mod:`.windows` (how a grid is cut by the memory budget), :mod:`.inputs` (reading a stack),
:mod:`.outputs` and :mod:`.partials` (all-or-nothing writing), :mod:`.provenance` (the metadata an output
inherits: metadata travels), :mod:`.memory` (GDAL cache and glibc).
Each takes one :class:`~sarsense.algorithms.io.options.RunOptions`.
"""

from ..options import DEFAULT_BUDGET_MB, Cancelled, RunOptions
from .counts import Counts, Sums
from .inputs import RasterStack
from .memory import RUN_CACHE_MB, gdal_cache_limit, gdal_cache_share, reuse_freed_memory
from .outputs import OutputRaster
from .partials import cleanup_on_signal, remove_dataset_files, remove_stale_partials, temporary_raster
from .tiles import ExtraOutput, fitting_tile, plan_tiles, run_tiled
from .walk import KERNEL_COLUMNS, reduce_blockwise, run_aggregate, run_blockwise, run_on_grid, run_whole
from .windows import DEFAULT_BYTES_PER_PIXEL, Position, Window, plan_windows

__all__ = ["DEFAULT_BUDGET_MB", "DEFAULT_BYTES_PER_PIXEL", "KERNEL_COLUMNS", "RUN_CACHE_MB", "Cancelled", "Counts",
           "ExtraOutput", "OutputRaster", "Position", "RasterStack", "RunOptions", "Sums", "Window",
           "cleanup_on_signal", "fitting_tile", "gdal_cache_limit", "gdal_cache_share", "plan_tiles", "plan_windows",
           "reduce_blockwise", "remove_dataset_files", "remove_stale_partials", "reuse_freed_memory", "run_aggregate",
           "run_blockwise", "run_on_grid", "run_tiled", "run_whole", "temporary_raster"]
