"""GDAL raster access for the block engine: metadata, windowed reads, tiled writers.

Conventions (docs/conventions.md, "Outputs"):
- every read returns float32 with nodata turned into NaN and the band's declared scale and offset applied
  (value = raw · scale + offset, :func:`band_scaling`), so checks and kernels see physical values;
- float outputs are float32 with NaN nodata, class maps uint8 with 255 nodata;
- outputs are tiled GeoTIFF, ``BIGTIFF=IF_SAFER``, CRS, geotransform and band
  descriptions (ISO dates for time stacks) carried over.
"""

from __future__ import annotations

import collections
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import DTypeLike
from osgeo import gdal, osr

gdal.UseExceptions()

#: Compression choices offered to users, fastest first (measured in docs/performance.md, "Compression default").
COMPRESSIONS = ("NONE", "ZSTD", "LZW", "DEFLATE")
#: Default compression: see docs/performance.md, "Compression default". Fast and still smaller than NONE.
DEFAULT_COMPRESSION = "ZSTD"
TILE_SIZE = 256
#: Most bytes one output tile holds, all bands together. SARSense writes pixel-interleaved tiles: a deep
#: stack keeps this bound with smaller tiles (61 float32 dates: 128²), so a reader decodes a tile for the
#: window it needs and GDAL's capped cache still holds a tile of every file. 256² tiles of 61 dates (16 MB
#: each) did not fit: a 64² window re-decoded its whole tile per band, and mapping 61 dates on a
#: 199 × 237 scene took 252 s instead of 1.2 s (docs/performance.md).
MAX_TILE_BYTES = 4 * 2**20
#: Smallest tile side (GeoTIFF tiles are multiples of 16 pixels).
MIN_TILE_SIZE = 16
CLASS_NODATA = 255


@dataclass(frozen=True)
class RasterInfo:
    """Grid and band metadata of one raster file."""

    path: str
    xsize: int
    ysize: int
    band_count: int
    geotransform: tuple
    projection: str
    nodata: tuple
    descriptions: tuple
    dtypes: tuple
    metadata: dict = field(default_factory=dict, compare=False)
    georeferenced: bool = True

    @property
    def complex_bands(self):
        """1-based numbers of the bands holding complex values (SLC data), or []."""
        return [i + 1 for i, t in enumerate(self.dtypes) if t.startswith("C")]

    @property
    def bounds(self):
        """(xmin, ymin, xmax, ymax) of a north-up grid in its CRS units."""
        gt = self.geotransform
        xs = (gt[0], gt[0] + gt[1] * self.xsize + gt[2] * self.ysize)
        ys = (gt[3], gt[3] + gt[4] * self.xsize + gt[5] * self.ysize)
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def geographic(self):
        """True when the CRS is geographic (degrees): pixel areas and distances need a projected CRS."""
        if not self.projection:
            return False
        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.projection)
        return bool(srs.IsGeographic())

    @property
    def pixel_area_m2(self):
        """Area of one pixel in the CRS's units squared (m² in a projected CRS; None when geographic or
        without a CRS)."""
        if not self.projection or self.geographic:
            return None
        gt = self.geotransform
        return abs(gt[1] * gt[5] - gt[2] * gt[4])

    @property
    def shape(self):
        """(bands, rows, cols)."""
        return (self.band_count, self.ysize, self.xsize)

    def same_grid(self, other, *, tol=1e-6):
        """True when ``other`` has the same size, geotransform and CRS."""
        if (self.xsize, self.ysize) != (other.xsize, other.ysize):
            return False
        if not np.allclose(self.geotransform, other.geotransform, rtol=0,
                           atol=tol * max(1.0, abs(self.geotransform[1]))):
            return False
        return same_crs(self.projection, other.projection)


def same_crs(wkt_a: str, wkt_b: str) -> bool:
    """True when two WKT strings describe the same CRS (or both are empty)."""
    if not wkt_a and not wkt_b:
        return True
    if not wkt_a or not wkt_b:
        return False
    a, b = osr.SpatialReference(), osr.SpatialReference()
    a.ImportFromWkt(wkt_a)
    b.ImportFromWkt(wkt_b)
    return bool(a.IsSame(b))


#: Mean Earth radius (IUGG, m): a geographic grid's pixel size in metres, for logs and scale checks (±0.5 %).
EARTH_RADIUS_M = 6_371_008.8


def pixel_size_m(info: RasterInfo) -> tuple[float, float] | None:
    """(x, y) size of a pixel of ``info``'s grid in metres at the grid's centre, or None without a CRS.

    A projected CRS: the geotransform's steps in its linear unit, converted to metres (on the projection's own
    scale: a UTM or sinusoidal grid's nominal size). A geographic CRS: the steps in degrees on the mean Earth
    sphere (:data:`EARTH_RADIUS_M`), the x step shrunk by the cosine of the centre's latitude; within 0.5 % of
    the ellipsoid's distances, enough to tell 70 m from 1 km.
    """
    if not info.projection or not info.georeferenced:
        return None
    srs = osr.SpatialReference()
    if srs.ImportFromWkt(info.projection) != 0:
        return None
    gt = info.geotransform
    dx, dy = math.hypot(gt[1], gt[4]), math.hypot(gt[2], gt[5])
    if srs.IsGeographic():
        lat = gt[3] + gt[4] * info.xsize / 2 + gt[5] * info.ysize / 2
        deg = math.pi / 180 * EARTH_RADIUS_M
        return dx * deg * math.cos(math.radians(lat)), dy * deg
    unit = srs.GetLinearUnits() or 1.0
    return dx * unit, dy * unit


def pixel_size_text(info: RasterInfo) -> str:
    """'Input pixel size: 926.6 × 926.6 m' (:func:`pixel_size_m`), or that it is unknown, for logs."""
    size = pixel_size_m(info)
    if size is None:
        return "Input pixel size: unknown (the input has no CRS)"
    return f"Input pixel size: {size[0]:.1f} × {size[1]:.1f} m"


def open_dataset(path: str | os.PathLike) -> gdal.Dataset:
    """Open ``path`` read-only, raising ``ValueError`` with the path when GDAL cannot."""
    if not path:
        raise ValueError("no input raster given")
    if not str(path).startswith(("/vsi", "HDF", "NETCDF")) and not os.path.exists(path):
        raise ValueError(f"input raster '{path}' does not exist")
    try:
        ds = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as err:
        raise ValueError(f"GDAL cannot open '{path}': {err}") from None
    if ds is None or ds.RasterCount == 0:
        raise ValueError(f"'{path}' is not a raster with at least one band")
    return ds


def read_info(path: str | os.PathLike) -> RasterInfo:
    """Return the :class:`RasterInfo` of ``path``."""
    ds = open_dataset(path)
    bands = [ds.GetRasterBand(i + 1) for i in range(ds.RasterCount)]
    georeferenced = ds.GetGeoTransform(can_return_null=True) is not None or bool(ds.GetGCPCount())
    return RasterInfo(
        path=str(path),
        xsize=ds.RasterXSize,
        ysize=ds.RasterYSize,
        band_count=ds.RasterCount,
        geotransform=tuple(ds.GetGeoTransform()),
        projection=ds.GetProjection() or "",
        nodata=tuple(b.GetNoDataValue() for b in bands),
        descriptions=tuple(b.GetDescription() or "" for b in bands),
        dtypes=tuple(gdal.GetDataTypeName(b.DataType) for b in bands),
        metadata=dict(ds.GetMetadata() or {}),
        georeferenced=georeferenced,
    )


def nodata_mask(arr: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """Pixels of ``arr`` equal to ``nodata``, compared in the array's own type (None if no nodata).

    A float32 band's nodata (e.g. -3.4e38) is stored as a double; comparing in float64 would miss it.
    """
    if nodata is None or np.isnan(nodata):
        return None
    if arr.dtype.kind in "iu" and (nodata != int(nodata) or not
                                   np.iinfo(arr.dtype).min <= nodata <= np.iinfo(arr.dtype).max):
        return None
    return arr == np.asarray(nodata).astype(arr.dtype)


#: How a complex (SLC) band may be read: refused (None) or as its modulus |z| (amplitude).
COMPLEX_MODES = (None, "amplitude")


def band_scaling(band: gdal.Band) -> tuple[float, float] | None:
    """``(scale, offset)`` a band declares (value = raw · scale + offset), or None when it declares none.

    A scale of 1 with offset 0 is none. GDAL's HDF4 driver reports uninitialised numbers (denormals such as
    2e-316) for a MODIS subdataset that declares no GDAL scale; a scale or offset that is not a normal finite
    number (|x| < 1e-30 other than 0, NaN, inf) is taken as undeclared, and the product's own decoding
    (e.g. :mod:`sarsense.algorithms.lst.modis`) applies.
    """
    scale, offset = band.GetScale(), band.GetOffset()
    scale = 1.0 if scale is None else float(scale)
    offset = 0.0 if offset is None else float(offset)

    def sane(x, zero_ok):
        return np.isfinite(x) and (abs(x) >= 1e-30 or (zero_ok and x == 0.0))

    if not sane(scale, False) or not sane(offset, True):
        return None
    return None if (scale, offset) == (1.0, 0.0) else (scale, offset)


def _apply_scaling(out: np.ndarray, scaling: tuple[float, float] | None) -> None:
    if scaling is not None:
        scale, offset = scaling
        out *= np.float32(scale)
        out += np.float32(offset)


def complex_refusal(path: str, bands: Sequence[int]) -> str:
    """The message refusing complex (SLC) bands ``bands`` of ``path``."""
    return (f"'{path}' holds complex (SLC) values in band(s) {', '.join(map(str, bands))}; this tool needs "
            "detected backscatter (intensity or amplitude). Convert it first with 'Convert SAR units' "
            "(Amplitude → intensity), which reads complex bands as |z| and writes the intensity |z|²")


def _read_error(path, xoff, yoff, xsize, ysize, err):
    """The ``ValueError`` for a failed read of a window: the file, the pixels, GDAL's reason, what to do."""
    return ValueError(f"cannot read '{path}' (pixels x {xoff}..{xoff + xsize - 1}, y {yoff}..{yoff + ysize - 1}): "
                      f"{str(err).strip()}. The file is damaged or incomplete (an interrupted copy or download?); "
                      "copy it again or re-create it")


def _read_band(band, xoff, yoff, xsize, ysize, complex_as):
    try:
        arr = band.ReadAsArray(xoff, yoff, xsize, ysize)
    except RuntimeError as err:
        raise _read_error(band.GetDataset().GetDescription(), xoff, yoff, xsize, ysize, err) from None
    if arr.dtype.kind == "c":
        if complex_as != "amplitude":
            raise ValueError(complex_refusal(band.GetDataset().GetDescription(), [band.GetBand()]))
        return np.abs(arr), None
    return arr, nodata_mask(arr, band.GetNoDataValue())


def read_window(ds: gdal.Dataset, band_numbers: Sequence[int], xoff: int, yoff: int, xsize: int, ysize: int, *,
                complex_as: str | None = None) -> np.ndarray:
    """Read a window of several bands as float32 (bands, rows, cols), nodata as NaN.

    A complex band is refused (``ValueError``) unless ``complex_as="amplitude"``, which reads it as |z|.
    A band's declared scale and offset are applied (:func:`band_scaling`). A read error (a damaged file)
    becomes a ``ValueError`` naming the file and the window.
    """
    bands = [ds.GetRasterBand(b) for b in band_numbers]
    if len(bands) == 1 or any(gdal.GetDataTypeName(b.DataType).startswith("C") for b in bands):
        out = np.empty((len(band_numbers), ysize, xsize), dtype=np.float32)
        for i, band in enumerate(bands):
            arr, mask = _read_band(band, xoff, yoff, xsize, ysize, complex_as)
            out[i] = arr
            _apply_scaling(out[i], band_scaling(band))
            if mask is not None:
                out[i][mask] = np.nan
        return out
    # several real bands in one call: a pixel-interleaved stack's tiles are decoded once, not once per band
    try:
        raw = ds.ReadAsArray(xoff, yoff, xsize, ysize, band_list=list(band_numbers))
    except RuntimeError as err:
        raise _read_error(ds.GetDescription(), xoff, yoff, xsize, ysize, err) from None
    raw = raw.reshape(len(band_numbers), ysize, xsize)
    out = raw.astype(np.float32, copy=False)
    if out is raw and not out.flags.writeable:
        out = out.copy()
    for i, band in enumerate(bands):
        mask = nodata_mask(raw[i], band.GetNoDataValue())
        _apply_scaling(out[i], band_scaling(band))
        if mask is not None:
            out[i][mask] = np.nan
    return out


def sample_side(n_bands: int) -> int:
    """The side of the sample :func:`sample_values` takes of each of ``n_bands`` bands by default: 512 for up to
    4 bands, 128 for a stack (its blocks hold every band: the same reads, fewer values kept per band)."""
    return 512 if n_bands <= 4 else 128


#: The last samples taken (:func:`sample_values`), keyed by file, its size and time, bands and sampling: one run's
#: checks (fill values, units, ranges, a valid pixel) ask for the same sample of an input several times; each
#: costs whole-block reads (0.3 s for a 4096² × 30 stack). At most this many bytes are kept (the oldest go first):
#: seven 61-date predictor stacks' samples (4 MiB each) of one 'annmoisture' run fit.
_SAMPLES: collections.OrderedDict = collections.OrderedDict()
_SAMPLES_MAX_BYTES = 32 * 2**20
_SAMPLES_LOCK = threading.Lock()


def _sample_key(path, bands, max_side, max_blocks):
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None             # /vsimem/, a subdataset name: not remembered
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns, tuple(bands), max_side, max_blocks)


def sample_values(path: str, *, band: int | Iterable[int] = 1, max_side: int | None = None,
                  max_blocks: int = 64) -> np.ndarray | list[np.ndarray]:
    """Return a float32 sample of one band, or of several, (nodata as NaN) of at most about ``max_side``² values each.

    Used for unit checks and statistics without reading the whole scene: up to ``max_blocks`` of
    the file's own blocks (tiles or strips), spread evenly over the image, are read whole and
    decimated, so a large raster costs a few MiB of reads whatever its size, and GDAL's block cache
    holds one block at a time. ``band`` is a band number, or a sequence of them: the same blocks
    are then read once for all those bands (a pixel-interleaved stack stores every band of a tile
    together: sampling 30 bands one by one read each tile 30 times, 10.8 s instead of 0.4 s on a
    4096² × 30 stack). A complex band is sampled as its modulus |z|; a band's declared scale and offset are
    applied (:func:`band_scaling`), as the engine's reads do. Returns a 2-D array, one row
    per band (blocks side by side along it), for statistics only. ``max_side`` None is :func:`sample_side` of the
    band count. The last few samples are remembered while their file is unchanged (size and time), so the checks of
    one run read an input's blocks once; each caller gets its own copy.
    """
    bands = [int(band)] if np.isscalar(band) else [int(b) for b in band]
    max_side = sample_side(len(bands)) if max_side is None else int(max_side)
    key = _sample_key(path, bands, max_side, max_blocks)
    if key is not None:
        with _SAMPLES_LOCK:
            if key in _SAMPLES:
                _SAMPLES.move_to_end(key)
                return _SAMPLES[key].copy()
    out = _read_sample(path, bands, max_side, max_blocks)
    if key is not None:
        with _SAMPLES_LOCK:
            _SAMPLES[key] = out.copy()
            while len(_SAMPLES) > 1 and sum(a.nbytes for a in _SAMPLES.values()) > _SAMPLES_MAX_BYTES:
                _SAMPLES.popitem(last=False)
    return out


def _read_sample(path, bands, max_side, max_blocks):
    """The sample :func:`sample_values` describes, read from the file."""
    ds = open_dataset(path)
    first = ds.GetRasterBand(bands[0])
    xs, ys = ds.RasterXSize, ds.RasterYSize
    bx, by = first.GetBlockSize()
    bx, by = max(1, min(bx, xs)), max(1, min(by, ys))
    nbx, nby = -(-xs // bx), -(-ys // by)
    per_axis = max(1, int(np.sqrt(max_blocks)))
    cols = np.unique(np.linspace(0, nbx - 1, min(nbx, per_axis)).round().astype(int))
    rows = np.unique(np.linspace(0, nby - 1, min(nby, max_blocks // len(cols))).round().astype(int))
    budget = max(1, max_side * max_side // (len(cols) * len(rows)))  # values kept per block
    nodata = [ds.GetRasterBand(b).GetNoDataValue() for b in bands]
    scaling = [band_scaling(ds.GetRasterBand(b)) for b in bands]
    from .engine.memory import RUN_CACHE_MB, gdal_cache_limit  # here: the engine imports this module

    parts = []
    # each block is read once: GDAL's cache (5 % of RAM) would keep them all, +450 MB for a 30-date stack
    with gdal_cache_limit(RUN_CACHE_MB):
        for j in rows:
            for i in cols:
                x0, y0 = int(i * bx), int(j * by)
                w, h = min(bx, xs - x0), min(by, ys - y0)
                try:
                    raw = ds.ReadAsArray(x0, y0, w, h, band_list=bands).reshape(len(bands), h, w)
                except RuntimeError as err:
                    raise _read_error(path, x0, y0, w, h, err) from None
                if raw.dtype.kind == "c":
                    raw = np.abs(raw)
                step = max(1, int(np.ceil(np.sqrt(raw[0].size / budget))))
                raw = raw[:, ::step, ::step]
                arr = raw.astype(np.float32)
                for k, nd in enumerate(nodata):
                    mask = nodata_mask(raw[k], nd)
                    _apply_scaling(arr[k], scaling[k])
                    if mask is not None:
                        arr[k][mask] = np.nan
                parts.append(arr.reshape(len(bands), -1))
    return np.concatenate(parts, axis=1)


def tile_size(bands: int = 1, dtype: DTypeLike = np.float32) -> int:
    """Tile side of an output with ``bands`` bands: :data:`TILE_SIZE`, halved until a tile of all bands
    holds at most :data:`MAX_TILE_BYTES` (never below :data:`MIN_TILE_SIZE`)."""
    side, item = TILE_SIZE, np.dtype(dtype).itemsize
    while side > MIN_TILE_SIZE and side * side * max(1, int(bands)) * item > MAX_TILE_BYTES:
        side //= 2
    return side


def creation_options(compression: str = DEFAULT_COMPRESSION, *, dtype: DTypeLike = np.float32,
                     tile: int = TILE_SIZE) -> list[str]:
    """GeoTIFF creation options for SARSense outputs (tiles of ``tile`` pixels, pixel-interleaved)."""
    compression = (compression or "NONE").upper()
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got '{compression}'")
    opts = ["TILED=YES", f"BLOCKXSIZE={int(tile)}", f"BLOCKYSIZE={int(tile)}", "BIGTIFF=IF_SAFER"]
    if compression != "NONE":
        opts.append(f"COMPRESS={compression}")
        if compression == "ZSTD":
            opts.append("ZSTD_LEVEL=1")
        # Floating-point predictor helps ZSTD/DEFLATE/LZW on float32 rasters.
        opts.append("PREDICTOR=3" if np.dtype(dtype).kind == "f" else "PREDICTOR=2")
    return opts


def set_class_table(band, classes):
    """Store a class map's classes in the file itself: a colour table and category names.

    ``classes`` is the JSON text (or list) of ``{"value", "name", "color": "#rrggbb"}`` that SARSense keeps in
    the band metadata ``classes``; any GIS (QGIS shows it as a paletted layer) then sees the classes,
    not grey values. Nodata (255) gets no colour and the name "nodata".
    """
    import json

    items = json.loads(classes) if isinstance(classes, str) else classes
    table = gdal.ColorTable()
    names = [""] * 256
    for c in items:
        colour = c["color"].lstrip("#")
        table.SetColorEntry(int(c["value"]), tuple(int(colour[k:k + 2], 16) for k in (0, 2, 4)) + (255,))
        names[int(c["value"])] = str(c["name"])
    table.SetColorEntry(CLASS_NODATA, (0, 0, 0, 0))
    names[CLASS_NODATA] = "nodata"
    band.SetRasterColorTable(table)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetRasterCategoryNames(names)


def read_class_table(path: str, band: int = 1) -> list[dict]:
    """The classes a class map declares, as :func:`set_class_table` stored them: ``[{"value", "name", "color"}]``.

    SARSense's band metadata ``classes`` first; else GDAL's category names (a class map from other
    software), with the colour table's colours where there is one. [] when the file
    declares no classes or cannot be read.
    """
    import json

    try:
        ds = gdal.Open(str(path))
        band_obj = ds.GetRasterBand(band)
        raw = band_obj.GetMetadataItem("classes")
        names = band_obj.GetCategoryNames() or []
        table = band_obj.GetRasterColorTable()
        colours = [table.GetColorEntry(i) for i in range(table.GetCount())] if table is not None else []
        band_obj = None     # the band before its dataset: GDAL's Python bindings crash the other way round
        ds = None
    except (RuntimeError, AttributeError):
        return []
    if raw:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return [{"value": i, "name": n,
             "color": "#{:02x}{:02x}{:02x}".format(*colours[i][:3]) if i < len(colours) else "#808080"}
            for i, n in enumerate(names) if n and i != CLASS_NODATA]


_GDAL_TYPES = {np.dtype(np.float32): gdal.GDT_Float32, np.dtype(np.uint8): gdal.GDT_Byte}


def create_geotiff(path: str, *, xsize: int, ysize: int, bands: int, geotransform: Sequence[float], projection: str,
                   dtype: DTypeLike = np.float32, descriptions: Sequence[str] | None = None,
                   compression: str = DEFAULT_COMPRESSION, band_metadata: Sequence[dict] | None = None,
                   metadata: dict | None = None, tile: int | None = None) -> gdal.Dataset:
    """Create a tiled GeoTIFF for block-wise writing; float32 gets NaN nodata, uint8 gets 255.

    ``tile``: the tile side; None takes :func:`tile_size` of the band count."""
    dtype = np.dtype(dtype)
    if dtype not in _GDAL_TYPES:
        raise ValueError(f"output dtype must be float32 or uint8, got {dtype}")
    driver = gdal.GetDriverByName("GTiff")
    try:
        ds = driver.Create(str(path), xsize, ysize, bands, _GDAL_TYPES[dtype],
                           options=creation_options(compression, dtype=dtype, tile=tile or tile_size(bands, dtype)))
    except RuntimeError as err:
        raise ValueError(f"cannot create output '{path}': {err}") from None
    ds.SetGeoTransform(geotransform)
    if projection:
        ds.SetProjection(projection)
    nodata = float("nan") if dtype.kind == "f" else CLASS_NODATA
    for i in range(bands):
        band = ds.GetRasterBand(i + 1)
        band.SetNoDataValue(nodata)
        if descriptions and i < len(descriptions) and descriptions[i]:
            band.SetDescription(str(descriptions[i]))
        if band_metadata and i < len(band_metadata) and band_metadata[i]:
            band.SetMetadata({k: str(v) for k, v in band_metadata[i].items()})
            if dtype == np.uint8 and "classes" in band_metadata[i] and bands == 1:
                # GeoTIFF holds a colour table on one-band files only: a class stack keeps its classes in the
                # band metadata, which read_class_table reads first (and QGIS styles on load)
                set_class_table(band, band_metadata[i]["classes"])
    if metadata:
        ds.SetMetadata({k: str(v) for k, v in metadata.items()})
    return ds
