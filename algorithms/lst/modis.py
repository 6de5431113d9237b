"""MOD11A1 / MYD11A1 (MODIS daily LST, collection 6/6.1) HDF4 subdatasets.

The LST layers (``LST_Day_1km``, ``LST_Night_1km``) are uint16 with ``scale_factor`` 0.02 K,
``_FillValue`` 0 and ``valid_range`` 7500–65535; all three are read from the subdataset's own
metadata, not assumed. Each has a QC layer (``QC_Day``, ``QC_Night``) whose bits 0–1 are the
mandatory QA flag (MOD11 user's guide, Wan 2013, table 11): 00 = LST produced, good quality;
01 = produced, other quality (check the other bits); 10 = not produced, cloud; 11 = not produced,
other reasons. The QC filter keeps only 00.

GDAL names a subdataset ``HDF4_EOS:EOS_GRID:"<file>":MODIS_Grid_Daily_1km_LST:LST_Day_1km``.
"""

from __future__ import annotations

import re

import numpy as np

_SUBDATASET = re.compile(r'^(HDF4_EOS:EOS_GRID:"?)(?P<file>.+?)("?:)(?P<grid>[^:]+):(?P<layer>LST_(Day|Night)_1km)$')
QC_GOOD = 0


def parse_subdataset(path):
    """``(file, grid, layer)`` of a MODIS LST subdataset name, or None for anything else."""
    m = _SUBDATASET.match(str(path).strip())
    return (m.group("file"), m.group("grid"), m.group("layer")) if m else None


def qc_subdataset(path):
    """The QC subdataset that goes with an LST subdataset (LST_Day_1km → QC_Day)."""
    file, grid, layer = parse_subdataset(path)
    return f'HDF4_EOS:EOS_GRID:"{file}":{grid}:QC_{layer.split("_")[1]}'


def decoding(metadata, nodata):
    """(scale, offset, fill, valid_min, valid_max) from a subdataset band's metadata (raw units)."""
    def num(key, default):
        try:
            return float(str(metadata.get(key, default)).split(",")[0])
        except ValueError:
            return float(default)
    lo, hi = (str(metadata.get("valid_range", "7500, 65535")).split(",") + ["65535"])[:2]
    fill = num("_FillValue", 0 if nodata is None else nodata)
    return num("scale_factor", 0.02), num("add_offset", 0.0), fill, float(lo), float(hi)


def stored_value(raw, *, fill, valid_min, valid_max):
    """Where the stored integers ``raw`` hold an LST value: finite, not ``fill``, inside the valid range (what
    :func:`decode` turns into kelvin and :func:`qc_counts` counts as produced)."""
    return np.isfinite(raw) & (raw != fill) & (raw >= valid_min) & (raw <= valid_max)


#: What the QC counts (:func:`qc_counts`) hold, in order: pixels in all; LST kept; LST produced but dropped by the
#: QC filter as "other quality" (QC 01; kept when the filter is off); not produced: cloud (QC 10), other
#: reasons (QC 11); and fill or out of the valid range although QC says produced (00 or 01).
QC_COUNT_NAMES = ("pixels", "kept", "other quality (QC 01)", "not produced, cloud (QC 10)",
                  "not produced, other reasons (QC 11)", "no value although produced")


def qc_counts(raw, qc, *, fill, valid_min, valid_max, qc_filter=True):
    """Pixel counts of a block by what became of them (:data:`QC_COUNT_NAMES`), as an int64 array.

    ``raw`` holds the stored integers, NaN or ``fill`` where no LST; ``qc`` the QC bytes (mandatory QA flag,
    bits 0–1: Wan 2013, table 11).
    """
    raw = np.asarray(raw, dtype=np.float64)
    flag = np.asarray(qc).astype(np.uint8) & 0b11
    has_value = stored_value(raw, fill=fill, valid_min=valid_min, valid_max=valid_max)
    other = has_value & (flag == 1)
    kept = has_value & ((flag == QC_GOOD) | (other if not qc_filter else False))
    return np.array([raw.size, kept.sum(), other.sum(), (flag == 2).sum(), (flag == 3).sum(),
                     ((flag <= 1) & ~has_value).sum()], np.int64)


def decode(raw, qc, *, scale, offset, fill, valid_min, valid_max, qc_filter=True):
    """Kelvin (float32, NaN where fill, out of the valid range, or, with ``qc_filter``, not good quality).

    ``raw`` holds the stored integers (fill not yet turned into NaN), ``qc`` the QC bytes. MOD11's
    scale is applied as value = raw·scale + offset (its ``add_offset`` is 0).
    """
    raw = np.asarray(raw)
    bad = ~stored_value(raw, fill=fill, valid_min=valid_min, valid_max=valid_max)
    if qc_filter:
        bad |= (np.asarray(qc).astype(np.uint8) & 0b11) != QC_GOOD
    out = raw.astype(np.float32) * np.float32(scale) + np.float32(offset)
    out[bad] = np.nan
    return out


def read_kelvin(subdataset, *, qc_filter=True):
    """A whole MODIS LST subdataset as kelvin (float32, NaN nodata); for small tiles (training, tests)."""
    from osgeo import gdal

    ds = gdal.Open(str(subdataset))
    band = ds.GetRasterBand(1)
    raw = band.ReadAsArray()
    scale, offset, fill, lo, hi = decoding(band.GetMetadata(), band.GetNoDataValue())
    del band, ds
    qc = gdal.Open(qc_subdataset(subdataset)).ReadAsArray() if qc_filter else None
    return decode(raw, qc, scale=scale, offset=offset, fill=fill, valid_min=lo, valid_max=hi, qc_filter=qc_filter)
