"""GDAL-only raster I/O (no QGIS): files (:mod:`.raster`), dated stacks (:mod:`.stack`), vectors
(:mod:`.vector`), one run's options (:mod:`.options`) and the block engine (:mod:`.engine`)."""

from .engine import (
    Cancelled,
    OutputRaster,
    Position,
    RasterStack,
    Window,
    plan_tiles,
    plan_windows,
    reduce_blockwise,
    run_blockwise,
    run_on_grid,
    run_tiled,
    run_whole,
)
from .options import RunOptions
from .raster import COMPRESSIONS, DEFAULT_COMPRESSION, RasterInfo, read_info, sample_values

__all__ = ["COMPRESSIONS", "DEFAULT_COMPRESSION", "Cancelled", "OutputRaster", "Position", "RasterInfo", "RasterStack",
           "RunOptions", "Window", "plan_tiles", "plan_windows", "read_info", "reduce_blockwise", "run_blockwise",
           "run_on_grid", "run_tiled", "run_whole", "sample_values"]
