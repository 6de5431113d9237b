"""Vector geometries burned onto a raster's grid (water polygons, training and reference areas), GDAL only."""

from __future__ import annotations

import uuid

from osgeo import gdal, ogr, osr

from . import raster as _raster


def rasterize(geometries_wkb, reference, output=None, *, burn=None, all_touched=False):
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
