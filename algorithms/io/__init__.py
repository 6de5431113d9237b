"""GDAL-only raster engine: block walker with halo, tiled writers, dated time stacks (no QGIS)."""

from .blocks import Cancelled, RasterStack, Window, plan_windows, run_blockwise, run_whole  # noqa: F401
from .raster import COMPRESSIONS, DEFAULT_COMPRESSION, RasterInfo, read_info, sample_values  # noqa: F401
