"""GDAL-only raster engine: block walker with halo, tiled overlap-add inference, writers, dated stacks (no QGIS)."""

from .blocks import (Cancelled, OutputRaster, Position, RasterStack, Window, plan_windows, run_blockwise,  # noqa: F401
                     run_whole)
from .raster import COMPRESSIONS, DEFAULT_COMPRESSION, RasterInfo, read_info, sample_values  # noqa: F401
from .tiles import plan_tiles, run_tiled  # noqa: F401
