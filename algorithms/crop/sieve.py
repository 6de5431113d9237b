"""Sieve a class map: patches smaller than a minimum field merge into their largest neighbour, the classes' names
and colours kept (what GDAL's own sieve loses, so its result loads grey).

The merge is GDAL's sieve filter (``GDALSieveFilter``): connected patches of one class (4- or 8-connected)
smaller than ``min_pixels`` take the class of their largest neighbouring patch; nodata (255) is never changed and
is no neighbour; a small patch with no neighbour (surrounded by nodata) stays. GDAL reads and writes the map one
line at a time in three passes, so memory does not grow with the map's size but with its number of patches:
about 24 bytes per patch (GDAL's documentation), i.e. at most 24 bytes per pixel for a map where every pixel is
a patch of its own (a 10 000 × 10 000 salt-and-pepper map: 2.4 GB; a map of fields: a few MB).
"""

from __future__ import annotations

import json

import numpy as np
from osgeo import gdal

from ..io import RunOptions, read_info
from ..io.engine import Cancelled, OutputRaster, reduce_blockwise
from ..io.options import resolve
from ..io.raster import CLASS_NODATA, read_class_table

#: GDAL's sieve keeps about this many bytes per connected patch (GDALSieveFilter's documentation).
BYTES_PER_PATCH = 24


def _band_info(path: str) -> tuple[str, dict, str, dict]:
    """(data type name, band metadata, band description, dataset metadata) of band 1."""
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    out = (gdal.GetDataTypeName(band.DataType), band.GetMetadata() or {}, band.GetDescription(), ds.GetMetadata() or {})
    band = None
    ds = None
    return out


def _counts(block):
    """Pixels per class before (band 0) and after (band 1), and per class before of the pixels that changed."""
    a, b = block[0], block[1]
    valid = np.isfinite(a)
    a_i, b_i = a[valid].astype(np.int64), b[valid].astype(np.int64)
    return np.stack([np.bincount(a_i, minlength=256), np.bincount(b_i, minlength=256),
                     np.bincount(a_i[a_i != b_i], minlength=256)])


def sieve_classes_file(classified: str, output: str, *, min_pixels: int = 10, eight_connected: bool = False,
                       options: RunOptions | None = None) -> dict:
    """Merge the patches of ``classified`` smaller than ``min_pixels`` into their largest neighbour, file to file.

    Parameters
    ----------
    classified : str
        A class map: one byte band (0..254 classes, 255 nodata), e.g. a SARSense rice or SVM map.
    output : str
        The sieved map: uint8, 255 nodata, the input's band description, metadata, class names and colours
        (its SARSense ``classes`` or its GDAL category names and colour table), plus ``SIEVE_MIN_PIXELS`` and
        ``SIEVE_CONNECTEDNESS``.
    min_pixels : int
        Patches smaller than this (pixels) are merged; at least 2.
    eight_connected : bool
        Diagonal neighbours belong to one patch (8-connectedness) instead of edge neighbours only (4).
    options : RunOptions, optional
        Compression, progress and cancel (checked on every line GDAL writes).

    Returns
    -------
    dict
        ``before``, ``after`` (pixels per class value 0..255) and ``changed`` (pixels per class they had before
        they were merged into a neighbour).

    Raises
    ------
    ValueError
        A map that is not one byte band, ``min_pixels`` below 2, an output that cannot be written.
    """
    opts = resolve(options)
    if int(min_pixels) < 2:
        raise ValueError(f"the minimum patch size must be at least 2 pixels, got {min_pixels}")
    info = read_info(classified)
    dtype, band_meta, description, metadata = _band_info(classified)
    if info.band_count != 1 or dtype != "Byte":
        raise ValueError(f"'{classified}' has {info.band_count} band(s) of {dtype}; the sieve takes a class map of "
                         "one byte band (classes 0..254, 255 nodata) as SARSense's class maps are. Convert it with "
                         "Raster ▸ Conversion ▸ Translate (output data type Byte), or use GDAL's Sieve for other "
                         "rasters")
    classes = read_class_table(classified)
    band_meta = {**band_meta, "SIEVE_MIN_PIXELS": int(min_pixels), "SIEVE_CONNECTEDNESS": 8 if eight_connected else 4}
    if classes:
        band_meta["classes"] = json.dumps(classes)
    with OutputRaster(output, [classified], xsize=info.xsize, ysize=info.ysize, bands=1,
                      geotransform=info.geotransform, projection=info.projection, dtype=np.uint8,
                      descriptions=[description], band_metadata=[band_meta], metadata=metadata,
                      compression=opts.compression) as out:
        ds = gdal.Open(str(classified))
        src = ds.GetRasterBand(1)
        nodata = src.GetNoDataValue()
        if nodata is not None and int(nodata) != CLASS_NODATA:      # another program's nodata stays nodata
            out.band(1).SetNoDataValue(nodata)
        sieve = opts.part(0.0, 0.8)

        def progress(fraction, message, data):
            sieve.report(fraction)
            return 0 if sieve.canceled() else 1

        try:
            err = gdal.SieveFilter(src, src.GetMaskBand(), out.band(1), int(min_pixels), 8 if eight_connected else 4,
                                   callback=progress)
        except RuntimeError as exc:
            err = exc
        finally:
            src = None
            ds = None
        if opts.canceled():
            raise Cancelled("cancelled by the user; no output was written")
        if err not in (0, None):
            raise ValueError(f"GDAL's sieve failed on '{classified}': {err}")
    counts = reduce_blockwise([(classified, [1]), (output, [1])], _counts, initial=np.zeros((3, 256), np.int64),
                              combine=lambda a, b: a + b, options=opts.part(0.8, 1.0))
    return {"before": counts[0], "after": counts[1], "changed": counts[2]}
