"""Dates and what the importer knows, read from a raster's bands: the one reader every dated stack goes through.

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

import numpy as np

from . import raster as _raster

DATE_KEYS = ("DATE", "ACQUISITION_DATE", "ACQUISITION_START_TIME", "TIFFTAG_DATETIME")

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


#: Per-band metadata a time series must hold one value of (STYLE §8): a stack that mixes polarisations,
#: quantities (backscatter and incidence angle) or units is not one series.
SERIES_KEYS = ("POLARISATION", "QUANTITY", "units")


#: How a source file encodes its values (netCDF/HDF packing): true of that file only, never passed on.
ENCODING_KEYS = ("scale_factor", "add_offset", "_FillValue", "missing_value", "valid_range", "valid_min", "valid_max",
                 "_Unsigned")
#: Metadata values longer than this are not passed on (a MODIS file's ECS metadata blocks, not one fact each).
CARRIED_MAX_CHARS = 512


def carried(metadata):
    """``metadata`` without what GDAL derives itself (``STATISTICS_*``, ``AREA_OR_POINT``), the source's
    encoding (:data:`ENCODING_KEYS`) and blocks longer than :data:`CARRIED_MAX_CHARS`: what the outputs made
    from a raster inherit."""
    return {k: v for k, v in (metadata or {}).items()
            if not k.startswith("STATISTICS_") and k != "AREA_OR_POINT" and k.split("#")[-1] not in ENCODING_KEYS
            and len(str(v)) <= CARRIED_MAX_CHARS}


def dataset_provenance(path):
    """The dataset metadata of ``path`` that outputs made from it inherit (mission, mode, product, date …)."""
    return carried(_raster.open_dataset(path).GetMetadata())


def band_provenance(path):
    """What every band of ``path`` passes on to the outputs made from it: its metadata (:func:`carried`) and,
    where its date is known but not in its own metadata (a description, the file's metadata or name), ``DATE``:
    the time to the second where one is known (:func:`band_times`), else the day."""
    ds = _raster.open_dataset(path)
    metas = [carried(ds.GetRasterBand(i + 1).GetMetadata()) for i in range(ds.RasterCount)]
    try:
        times = band_times(path)
    except ValueError:
        return metas
    for meta, (start, end) in zip(metas, times):
        if not any(parse_date(meta.get(k)) for k in DATE_KEYS):
            meta["DATE"] = str(start) if start == end else str(start)[:10]
    return metas


_WHAT = {"POLARISATION": "polarisations", "QUANTITY": "quantities", "units": "units"}
#: The fix for a stack that is not one series: what the refusals say.
REBUILD = ("rebuild it with 'Build dated stack' choosing one Polarisation (POLARISATION); it leaves "
           "incidence-angle bands out")


def _bands(numbers):
    return ("band " if len(numbers) == 1 else "bands ") + ", ".join(str(n) for n in numbers)


def series_refusal(dates, times, metas, *, label="the stack", names=None, fix=REBUILD):
    """Why bands with ``dates``, ``times`` (:func:`band_times`; both None for an undated stack) and metadata
    ``metas`` are not one time series, or None (STYLE §8, §9): they mix values of a :data:`SERIES_KEYS` key
    (VV and VH, backscatter and incidence angle, dB and linear), or a date holds several bands that no distinct
    time of day tells apart.
    Two bands of one day with distinct known times (two passes) are two dates of the series. ``names``
    (one per band, e.g. the files) are named beside the band numbers; ``fix`` is what the message tells to do."""
    def which(idx):
        text = _bands([i + 1 for i in idx])
        if names:
            text += " (" + ", ".join(sorted({os.path.basename(str(names[i])) for i in idx})) + ")"
        return text

    for key in SERIES_KEYS:
        found = {}
        for i, meta in enumerate(metas):
            if meta.get(key) is not None:
                found.setdefault(str(meta[key]), []).append(i)
        if len(found) > 1:
            parts = "; ".join(f"{value}: {which(idx)}" for value, idx in found.items())
            what = ("convert the bands to one unit first ('Convert SAR units') and rebuild it with 'Build dated "
                    "stack'") if key == "units" else fix
            return f"{label} mixes {_WHAT[key]} ({key} metadata: {parts}); a time series holds one. Fix: {what}."
    twice = []
    for day in sorted(set(dates or ())):
        idx = [i for i, d in enumerate(dates) if d == day]
        known = [times[i][0] for i in idx if times[i][0] == times[i][1]]
        if len(idx) > 1 and (len(known) < len(idx) or len(set(known)) < len(known)):
            twice.append(f"{day}: {which(idx)}")
    if twice:
        return (f"{label} has several bands on one date that nothing tells apart (no distinct time of day): "
                f"{'; '.join(twice)}. Fix: {fix}; bands that are separate acquisitions of one day need their "
                "time of day (ACQUISITION_START_TIME metadata), or average them into one band first.")
    return None


def repeated_refusal(dates, *, label="the stack"):
    """Why a stack whose rules take one band per date ("the next date", one sample per station and date) cannot
    take ``dates``: a date that repeats (even as two passes of one day), named with its bands; or None."""
    twice = sorted({d for d in dates if list(dates).count(d) > 1})
    if not twice:
        return None
    bands = [i + 1 for i, d in enumerate(dates) if d in twice]
    return (f"{label} has the same date twice ({', '.join(twice)}) in {_bands(bands)}: keep one band per date "
            "(average the acquisitions of a day first).")


def check_series(path, *, label="the stack", dated=True):
    """The dates of the dated stack ``path`` (:func:`band_dates`) after refusing, with ``ValueError``, one that is
    not one time series (:func:`series_refusal`): the one check every time-series algorithm makes. With
    ``dated`` False a stack without dates passes (None is returned) after the metadata check alone."""
    try:
        dates, times = band_dates(path), band_times(path)
    except ValueError:
        if dated:
            raise
        dates = times = None
    reason = series_refusal(dates, times, band_provenance(path), label=label)
    if reason:
        raise ValueError(reason)
    return dates
