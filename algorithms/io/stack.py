"""Dated time stacks: one band per date, the ISO date (YYYY-MM-DD) as band description.

Dates are found, in this order, in a band's description, a band's metadata
(``DATE``, ``ACQUISITION_DATE``, ``ACQUISITION_START_TIME``, ``TIFFTAG_DATETIME``),
the dataset's metadata (same keys; single-band files only) and finally the
file name (single-band files only). Accepted forms: ``2016-01-05``,
``2016_01_05``, ``20160105``, ``20160105T173017`` and MODIS ``A2016005``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import threading
import uuid

import numpy as np
from osgeo import gdal, osr

from . import engine as _engine
from . import raster as _raster
from .options import RunOptions, resolve

DATE_KEYS = ("DATE", "ACQUISITION_DATE", "ACQUISITION_START_TIME", "TIFFTAG_DATETIME")
RESAMPLINGS = ("nearest", "bilinear", "cubic", "average")

_PATTERNS = (
    re.compile(r"(?<!\d)(\d{4})[-_](\d{2})[-_](\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?:T\d{6})?(?!\d)"),
    re.compile(r"(?<!\d)(\d{4}):(\d{2}):(\d{2})(?!\d)"),  # TIFFTAG_DATETIME
)
_MODIS = re.compile(r"(?<![A-Za-z0-9])A(\d{4})(\d{3})(?!\d)")


def parse_date(text):
    """Return the first plausible date in ``text`` as ``YYYY-MM-DD``, or None."""
    if not text:
        return None
    for pat in _PATTERNS:
        for m in pat.finditer(str(text)):
            try:
                d = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
            if 1950 <= d.year <= 2100:
                return d.isoformat()
    m = _MODIS.search(str(text))
    if m:
        year, doy = int(m.group(1)), int(m.group(2))
        if 1950 <= year <= 2100 and 1 <= doy <= 366:
            return (_dt.date(year, 1, 1) + _dt.timedelta(days=doy - 1)).isoformat()
    return None


_TIME = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[T ](\d{2}):?(\d{2}):?(\d{2})")


def parse_time(text):
    """The first date *with a time of day* in ``text`` (``2016-01-05T17:30:17``, ``20160105T173017``,
    ``2016-01-05 17:30:17``; fractions of a second dropped) as ``numpy.datetime64[s]``, read as UTC, or None."""
    m = _TIME.search(str(text or ""))
    if not m:
        return None
    try:
        return np.datetime64(_dt.datetime(*(int(g) for g in m.groups())), "s")
    except ValueError:
        return None


def band_times(path):
    """Acquisition time of every band of a dated stack as ``(start, end)`` datetime64[s] pairs (UTC).

    A band whose description or metadata (:data:`DATE_KEYS`) gives a time of day has ``start == end``;
    one with a date only covers its whole day (``end`` = next midnight), so that whatever is matched to
    it knows the time is unknown within the day.
    """
    ds = _raster.open_dataset(path)
    dates = band_dates(path)
    out = []
    for i, day in enumerate(dates):
        band = ds.GetRasterBand(i + 1)
        meta = band.GetMetadata() or {}
        texts = [band.GetDescription()] + [meta.get(k) for k in DATE_KEYS]
        if ds.RasterCount == 1:
            texts += [(ds.GetMetadata() or {}).get(k) for k in DATE_KEYS]
        found = next((t for t in map(parse_time, texts) if t is not None and str(t)[:10] == day), None)
        start = np.datetime64(day, "s")
        out.append((found, found) if found is not None else (start, start + np.timedelta64(86400, "s")))
    return out


def band_dates(path):
    """ISO dates of every band of ``path``; raises ``ValueError`` naming a band without a date."""
    ds = _raster.open_dataset(path)
    ds_meta = ds.GetMetadata() or {}
    dates = []
    for i in range(ds.RasterCount):
        band = ds.GetRasterBand(i + 1)
        meta = band.GetMetadata() or {}
        found = parse_date(band.GetDescription())
        for key in DATE_KEYS:
            found = found or parse_date(meta.get(key))
        if ds.RasterCount == 1:
            for key in DATE_KEYS:
                found = found or parse_date(ds_meta.get(key))
            found = found or parse_date(os.path.basename(str(path)))
        if found is None:
            where = "its description or DATE metadata" if ds.RasterCount > 1 else \
                "its band description, DATE metadata or file name"
            raise ValueError(
                f"band {i + 1} of '{path}' has no acquisition date in {where}; "
                "name the file with its date (e.g. S1_VV_2016-01-05.tif) or set the band description to the ISO date")
        dates.append(found)
    return dates


def _warped(path, ref, resampling):
    """A virtual raster of ``path`` on the grid of ``ref`` (RasterInfo), float32 with NaN nodata."""
    gt = ref.geotransform
    bounds = (gt[0], gt[3] + gt[5] * ref.ysize, gt[0] + gt[1] * ref.xsize, gt[3])
    vrt = f"/vsimem/sarsense_warp_{uuid.uuid4().hex}.vrt"
    gdal.Warp(vrt, path, format="VRT", dstSRS=ref.projection or None, outputBounds=bounds,
              width=ref.xsize, height=ref.ysize, resampleAlg=resampling,
              outputType=gdal.GDT_Float32, dstNodata=float("nan"))
    return vrt


def _check_georeferencing(path, info, ref, ref_label):
    """Refuse an input that cannot be put on the reference grid, saying what is missing."""
    if info.same_grid(ref) and info.georeferenced == ref.georeferenced:
        return
    if not ref.georeferenced or not ref.projection:
        what = "georeferencing (geotransform)" if not ref.georeferenced else "coordinate reference system (CRS)"
        raise ValueError(f"{ref_label} '{ref.path}' has no {what}, so '{path}' cannot be put on its grid. "
                         "Choose a georeferenced reference raster, or assign a CRS to it first "
                         "(Raster ▸ Projections ▸ Assign Projection, or gdal_edit.py -a_srs EPSG:…)")
    if not info.georeferenced:
        raise ValueError(f"'{path}' has no georeferencing (no geotransform), so it cannot be placed on the "
                         "reference grid. Georeference it first (e.g. the Georeferencer, or gdal_edit.py -a_ullr … "
                         "-a_srs …), or leave it out")
    if not info.projection:
        raise ValueError(f"'{path}' has no coordinate reference system (CRS), so it cannot be placed on the "
                         "reference grid. Assign its CRS first (Raster ▸ Projections ▸ Assign Projection, or "
                         "gdal_edit.py -a_srs EPSG:…)")


def build_stack(inputs: list, output: str, *, reference: str | None = None, resampling: str = "bilinear",
                drop_empty: bool = False, options: RunOptions | None = None) -> dict:
    """Stack every band of ``inputs`` onto one grid, sorted by date, each band described by its ISO date.

    Parameters
    ----------
    inputs : list of str
        Rasters; each band must carry a date (see module docstring).
    reference : str, optional
        Raster whose grid (CRS, extent, pixel size) the stack takes; default the first input.
        Inputs on another grid or CRS are warped with ``resampling``.
    resampling : {"nearest", "bilinear", "cubic", "average"}
    drop_empty : bool
        Leave out dates without a single valid pixel on the reference grid (they are always
        reported in ``empty``).
    options : RunOptions, optional
        Budget, compression, progress and cancel of the run; the stack is written on one thread
        (``workers`` is not used). With ``drop_empty`` the two passes share the progress.

    Returns
    -------
    dict
        ``output``, ``dates`` (sorted, as written), ``warped`` (inputs that were resampled),
        ``empty`` (dates without a valid pixel, with their file), ``dropped`` (dates left out)
        and ``warnings``.
    """
    inputs = [str(p) for p in inputs]
    if len(inputs) == 0:
        raise ValueError("no input rasters given")
    if resampling not in RESAMPLINGS:
        raise ValueError(f"resampling must be one of {', '.join(RESAMPLINGS)}, got '{resampling}'")
    ref = _raster.read_info(reference or inputs[0])
    ref_label = "REFERENCE" if reference else "the first input (the reference grid)"
    dated = []  # (date, position in the concatenated band list, file)
    sources, warped, warnings = [], [], []
    pos = 0
    try:
        for path in inputs:
            info = _raster.read_info(path)
            if info.complex_bands:
                raise ValueError(_raster.complex_refusal(path, info.complex_bands))
            _check_georeferencing(path, info, ref, ref_label)
            for d in band_dates(path):
                dated.append((d, pos, path))
                pos += 1
            if info.same_grid(ref):
                sources.append(path)
            else:
                if covered_fraction(info, ref) <= 0.0:
                    warnings.append(f"'{path}' does not overlap the reference grid: its date(s) will be empty")
                sources.append(_warped(path, ref, resampling))
                warped.append(path)
        dated.sort(key=lambda t: t[0])  # stable: equal dates keep input order
        dates = [d for d, _, _ in dated]
        order = [p for _, p, _ in dated]
        dupes = sorted({d for d in dates if dates.count(d) > 1})
        if dupes:
            warnings.append(f"several bands share a date ({', '.join(dupes)}); they are kept in input order")
        counts = np.zeros(len(order), np.int64)
        lock = threading.Lock()

        def kernel(block):
            out = block[order]
            n = np.isfinite(out).sum(axis=(1, 2))
            with lock:
                counts[:] += n
            return out

        opts = resolve(options).replace(workers=1)
        empty_idx = []
        first = output
        if drop_empty:
            first = f"{output}.all-dates-{uuid.uuid4().hex[:8]}.tif"
        try:
            _engine.run_blockwise(sources, first, kernel, out_bands=len(order), descriptions=dates,
                                  band_metadata=[{"DATE": d} for d in dates], bytes_per_pixel=16,
                                  options=opts.part(0.0, 0.5) if drop_empty else opts)
            empty_idx = [i for i, n in enumerate(counts) if n == 0]
            empty = [(dates[i], dated[i][2]) for i in empty_idx]
            dropped = []
            if drop_empty:
                keep = [i for i in range(len(order)) if i not in empty_idx]
                if not keep:
                    raise ValueError("no date has a single valid pixel on the reference grid: check that the "
                                     "inputs overlap the reference and that their nodata is declared correctly")
                dropped = [dates[i] for i in empty_idx]
                kept = [dates[i] for i in keep]
                _engine.run_blockwise(first, output, lambda block: block[keep], out_bands=len(keep),
                                      descriptions=kept, band_metadata=[{"DATE": d} for d in kept],
                                      bytes_per_pixel=16, options=opts.part(0.5, 1.0))
                dates = kept
        finally:
            if drop_empty:
                _engine.remove_dataset_files(first)
    finally:
        for s in sources:
            release(s)
    return {"output": output, "dates": dates, "warped": warped, "warnings": warnings, "empty": empty,
            "dropped": dropped}


def match_dates(dates_a, dates_b, label_a, label_b):
    """Refuse two stacks that are not on the same dates, naming the dates each lacks (STYLE §8).

    Returns the common dates in the order of ``dates_a``; the band order of ``b`` may differ
    (``[dates_b.index(d) for d in dates_a]`` reorders it).
    """
    if len(set(dates_a)) != len(dates_a) or len(set(dates_b)) != len(dates_b):
        raise ValueError(f"{label_a if len(set(dates_a)) != len(dates_a) else label_b} has the same date twice")
    only_a = [d for d in dates_a if d not in dates_b]
    only_b = [d for d in dates_b if d not in dates_a]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{label_b} lacks {', '.join(only_a)}")
        if only_b:
            parts.append(f"{label_a} lacks {', '.join(only_b)}")
        raise ValueError(f"{label_a} and {label_b} must be on the same dates: {'; '.join(parts)}. "
                         "Put one on the other's dates first, e.g. with 'Interpolate stack in time'")
    return list(dates_a)


def covered_fraction(info, ref):
    """Fraction (0..1) of the reference grid's extent inside ``info``'s footprint (bounding boxes)."""
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromWkt(info.projection)
    dst.ImportFromWkt(ref.projection)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    try:
        xmin, ymin, xmax, ymax = osr.CoordinateTransformation(src, dst).TransformBounds(*info.bounds, 21)
    except RuntimeError:
        return 1.0  # cannot tell; the empty-date count will say if nothing landed on the grid
    rx0, ry0, rx1, ry1 = ref.bounds
    w = max(0.0, min(xmax, rx1) - max(xmin, rx0))
    h = max(0.0, min(ymax, ry1) - max(ymin, ry0))
    return (w * h) / ((rx1 - rx0) * (ry1 - ry0))


def on_grid(path, reference, *, resampling="bilinear", label="the raster", ref_label="the input"):
    """``path`` on the grid of the raster ``reference``: itself when the grids match, else a virtual warp.

    ``reference`` is a raster's path, or the :class:`RasterInfo` of a grid no file has yet (an
    output grid). Any CRS is accepted; a raster without georeferencing or CRS, or one that does not overlap the
    reference at all, is refused with what to do. Returns ``(path_on_grid, covered)`` with
    ``covered`` the fraction of the reference's extent the raster covers (pixels outside it read
    as NaN). A returned ``/vsimem/`` path is released with :func:`release`.
    """
    ref = reference if isinstance(reference, _raster.RasterInfo) else _raster.read_info(reference)
    info = _raster.read_info(path)
    if info.same_grid(ref):
        return path, 1.0
    _check_georeferencing(path, info, ref, ref_label)
    covered = covered_fraction(info, ref)
    if covered <= 0.0:
        raise ValueError(f"{label} '{path}' does not cover {ref_label} '{ref.path}' (no overlap of their "
                         "extents): choose a raster that covers the same area")
    return _warped(path, ref, resampling), covered


def release(path):
    """Free a virtual raster made by :func:`on_grid` (no-op for files)."""
    if str(path).startswith("/vsimem/"):
        gdal.Unlink(path)


def stack_dates(path):
    """Dates of a stack built by :func:`build_stack` (or any raster with dated bands)."""
    return band_dates(path)
