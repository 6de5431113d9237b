"""Documented simulators of data that cannot be had here (see each module and ../shared/data/MANIFEST.md).

Importable as ``sarsense.simulators`` by the tests, the demo, the bench, the training recipes and
``sarsense:exampledata`` (:mod:`.examples`); shipped in the plugin zip. :func:`write_raster` is the one
small GeoTIFF writer they and the tests share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal, osr

#: The bundled sample data the simulators take real series and geometry from.
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "resources" / "sample_data"


def write_raster(path, arr, *, epsg=32631, gt=(600000.0, 20.0, 0.0, 4800000.0, 0.0, -20.0), nodata=None,
                 descriptions=None, dtype=gdal.GDT_Float32):
    """Write ``arr`` (2-D or bands×rows×cols) as a GeoTIFF and return its path as str."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[2], arr.shape[1], arr.shape[0], dtype)
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    for i in range(arr.shape[0]):
        b = ds.GetRasterBand(i + 1)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if descriptions:
            b.SetDescription(descriptions[i])
        b.WriteArray(arr[i])
    ds = None
    return str(path)
