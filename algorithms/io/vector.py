"""Vector geometries burned onto a raster's grid (water polygons, training and reference areas), GDAL only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from osgeo import gdal, ogr, osr

from . import raster as _raster
from .engine import RasterStack, reduce_blockwise


def as_number(value):
    """``value`` (an attribute, a metadata item or a parameter given as text) as a float when it is a number or
    a numeric text, else None."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def rasterize(geometries_wkb: Sequence[bytes], reference: str, output: str | None = None, *,
              burn: Sequence[int] | None = None, all_touched: bool = False) -> str:
    """Burn polygons or points onto ``reference``'s grid: a uint16 GeoTIFF, 0 where nothing was burned.

    ``geometries_wkb`` are WKB geometries already in the reference's CRS (the QGIS side transforms
    them); ``burn`` gives each one's value (1..65535, default 1 for all). Pixels whose centre lies in a
    polygon are burned (GDAL's rule; ``all_touched`` burns every pixel a geometry touches); where
    geometries overlap, the later one wins. Without ``output`` the raster is written to ``/vsimem/``
    (DEFLATE: a mask of a 4096² grid takes a few hundred KiB) and is freed with
    :func:`algorithms.io.stack.release`. Returns the path.
    """
    geoms = [bytes(g) for g in geometries_wkb]
    if not geoms:
        raise ValueError("no geometry to burn")
    values = [1] * len(geoms) if burn is None else [int(v) for v in burn]
    if len(values) != len(geoms) or not all(1 <= v <= 65535 for v in values):
        raise ValueError("need one burn value in 1..65535 per geometry")
    info = _raster.read_info(reference)
    srs = osr.SpatialReference()
    if info.projection:
        srs.ImportFromWkt(info.projection)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("burn")
    layer = mem.CreateLayer("burn", srs if info.projection else None, ogr.wkbUnknown)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    for wkb, value in zip(geoms, values):
        feature = ogr.Feature(layer.GetLayerDefn())
        geom = ogr.CreateGeometryFromWkb(wkb)
        if geom is None:
            raise ValueError("a geometry could not be read (invalid WKB)")
        feature.SetGeometry(geom)
        feature.SetField("value", value)
        layer.CreateFeature(feature)
    path = output or f"/vsimem/sarsense_burn_{uuid.uuid4().hex}.tif"
    ds = gdal.GetDriverByName("GTiff").Create(path, info.xsize, info.ysize, 1, gdal.GDT_UInt16,
                                              options=["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform(info.geotransform)
    if info.projection:
        ds.SetProjection(info.projection)
    options = ["ATTRIBUTE=value"] + (["ALL_TOUCHED=TRUE"] if all_touched else [])
    if gdal.RasterizeLayer(ds, [1], layer, options=options) != 0:
        raise ValueError(f"GDAL could not burn the geometries onto the grid of '{reference}'")
    ds = None
    return path


def _append(total, part):
    total[0].append(part[0])
    total[1].append(part[1])
    return total


def labelled_pixels(inputs, labels: str, **walk) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ``inputs`` (one path or a list on one grid) where the ``labels`` raster is > 0.

    ``labels`` is a raster on the same grid, usually from :func:`rasterize` with one burn value per
    geometry. One block-wise pass (:func:`..blocks.reduce_blockwise`; ``walk`` passes workers,
    progress, is_canceled): memory grows with the labelled pixels only. Returns ``(values, label)``:
    float32 ``(n, bands)`` with NaN for nodata, and the int64 label of each row, in image order.
    """
    paths = [inputs] if isinstance(inputs, (str, tuple)) else list(inputs)

    def kernel(block):
        lab = block[-1]
        sel = lab > 0
        return block[:-1][:, sel].T.copy(), lab[sel].astype(np.int64)

    parts = reduce_blockwise(paths + [(labels, [1])], kernel, initial=([], []), combine=_append, **walk)
    if not parts[0]:
        return np.zeros((0, RasterStack(paths).band_count), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate(parts[0]), np.concatenate(parts[1])


def value_counts(path: str, *, band: int = 1, **walk) -> np.ndarray:
    """Pixels per integer value 0..255 of one band of a class map (nodata and NaN not counted), one block-wise pass."""
    def kernel(block):
        v = block[0]
        v = v[np.isfinite(v) & (v >= 0) & (v <= 255)].astype(np.int64)
        return np.bincount(v, minlength=256)

    return reduce_blockwise([(path, [band])], kernel, initial=np.zeros(256, dtype=np.int64),
                            combine=lambda a, b: a + b, **walk)
