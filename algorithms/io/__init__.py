"""GDAL-only raster engine: block walker with halo, tiled overlap-add inference, writers, dated stacks (no QGIS)."""

from .blocks import (  # noqa: F401
                     Cancelled,
                     OutputRaster,
                     Position,
                     RasterStack,
                     Window,
                     plan_windows,
                     reduce_blockwise,
                     run_blockwise,
                     run_on_grid,
                     run_whole,
)
from .raster import COMPRESSIONS, DEFAULT_COMPRESSION, RasterInfo, read_info, sample_values  # noqa: F401
from .tiles import plan_tiles, run_tiled  # noqa: F401
