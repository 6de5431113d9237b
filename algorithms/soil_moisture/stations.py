"""Raster values around in-situ stations (Fayad et al. 2022, §2.1.4), GDAL only.

The paper averages the radar signal over a 500 m radius around each station and leaves a station-date
out when more than 50 % of the pixels there are excluded. Here:

- the pixels of a station are those whose centre lies within the radius (on a geographic grid the
  distance is measured in metres on the WGS 84 ellipsoid at the station's latitude); when the radius is
  smaller than a pixel, the pixel holding the station;
- pixels of the circle that fall outside the raster count as invalid, like NaN pixels;
- backscatter in dB is averaged in linear power and converted back (the mean of dB values is the
  geometric mean of the powers, biased low by speckle); other quantities (NDVI, angles, indices) are
  averaged as they are.

Only a window around each station is read: memory grows with the stations, not the raster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import sar
from ..io import RasterInfo, RunOptions, read_info, sample_values
from ..io import raster as _raster
from ..io import stack as _stack
from ..io.options import resolve
from . import insitu
from .terrain import metres_per_degree

#: Raster names taken as backscatter (averaged in linear power when their values are dB).
_BACKSCATTER = re.compile(r"(?i)(^|[^a-z])(vv|vh|hh|hv|sigma|gamma|s0|backscatter)")


@dataclass(frozen=True)
class Window:
    """A station's pixels: the window read and which of its pixels lie in the circle."""

    xoff: int
    yoff: int
    mask: np.ndarray        # bool (rows, cols) of the window: pixel centre within the radius
    n_circle: int           # pixels of the circle, those outside the raster included


def is_backscatter(name: str) -> bool:
    """True when a raster's name says it is backscatter (VV, VH, HH, HV, σ°, γ°, their ratio)."""
    return bool(_BACKSCATTER.search(str(name)))


def station_window(info: RasterInfo, x: float, y: float, radius_m: float) -> Window | None:
    """The pixels of ``info``'s grid around ``(x, y)`` (in the raster's CRS), or None when the station is
    outside the raster."""
    gt = info.geotransform
    if gt[2] or gt[4]:
        raise ValueError("rotated rasters are not supported: warp the raster to a north-up grid first")
    px, py = (x - gt[0]) / gt[1], (y - gt[3]) / gt[5]
    if not (0 <= px < info.xsize and 0 <= py < info.ysize):
        return None
    if info.geographic:
        mx, my = metres_per_degree(y)
        rx, ry = radius_m / (mx * abs(gt[1])), radius_m / (my * abs(gt[5]))
    else:
        rx, ry = radius_m / abs(gt[1]), radius_m / abs(gt[5])
    c0, c1 = int(np.floor(px - rx - 0.5)), int(np.ceil(px + rx + 0.5))
    r0, r1 = int(np.floor(py - ry - 0.5)), int(np.ceil(py + ry + 0.5))
    cols = np.arange(c0, c1 + 1) + 0.5
    rows = np.arange(r0, r1 + 1) + 0.5
    dx = (cols[None, :] - px) / rx if rx > 0 else np.zeros((1, cols.size))
    dy = (rows[:, None] - py) / ry if ry > 0 else np.zeros((rows.size, 1))
    circle = dx * dx + dy * dy <= 1.0
    if not circle.any():    # radius below a pixel: the pixel holding the station
        circle = np.zeros_like(circle)
        circle[int(np.floor(py)) - r0, int(np.floor(px)) - c0] = True
    n_circle = int(circle.sum())
    inside_c = (np.arange(c0, c1 + 1) >= 0) & (np.arange(c0, c1 + 1) < info.xsize)
    inside_r = (np.arange(r0, r1 + 1) >= 0) & (np.arange(r0, r1 + 1) < info.ysize)
    circle = circle[np.ix_(inside_r, inside_c)]
    return Window(max(c0, 0), max(r0, 0), circle, n_circle)


def radius_means(arr: np.ndarray, window: Window, *, db_power: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per band, the mean over the circle's valid pixels and the fraction of the circle that is invalid.

    ``arr`` is the window read (bands, rows, cols) with NaN nodata. With ``db_power`` the values are dB
    backscatter, averaged in linear power: ``10·log10(mean(10^(v/10)))``.
    Returns ``(means, invalid_fraction)``, float64 arrays of one value per band.
    """
    vals = arr[:, window.mask].astype(np.float64)
    ok = np.isfinite(vals)
    n_ok = ok.sum(axis=1)
    invalid = 1.0 - n_ok / float(window.n_circle)
    with np.errstate(invalid="ignore", divide="ignore"):
        if db_power:
            lin = np.where(ok, 10.0 ** (vals / 10.0), 0.0)
            means = 10.0 * np.log10(lin.sum(axis=1) / n_ok)
        else:
            means = np.where(ok, vals, 0.0).sum(axis=1) / n_ok
    means[n_ok == 0] = np.nan
    return means, invalid


def extract(path: str, stations_xy: Sequence[tuple[float, float]], radius_m: float, *, db_power: bool = False,
            options: RunOptions | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Radius means of every band of ``path`` at each station.

    ``stations_xy``: (x, y) per station in the raster's CRS. ``options``: its cancel is asked before each
    station. Returns ``(means, invalid, outside)``: float64 (stations, bands) arrays (NaN for stations
    outside) and the indices of the stations outside the raster.
    """
    opts = resolve(options)
    info = _raster.read_info(path)
    ds = _raster.open_dataset(path)
    bands = list(range(1, info.band_count + 1))
    means = np.full((len(stations_xy), len(bands)), np.nan)
    invalid = np.ones((len(stations_xy), len(bands)))
    outside = []
    for i, (x, y) in enumerate(stations_xy):
        opts.check_cancel()
        win = station_window(info, x, y, radius_m)
        if win is None:
            outside.append(i)
            continue
        rows, cols = win.mask.shape
        arr = _raster.read_window(ds, bands, win.xoff, win.yoff, cols, rows)
        means[i], invalid[i] = radius_means(arr, win, db_power=db_power)
    ds = None
    return means, invalid, outside


# --------------------------------------------------------------------------------------------
# Station samples: every raster at every station and date, matched to the in-situ readings
# --------------------------------------------------------------------------------------------
#: Fields of a station sample besides one per raster.
SAMPLE_FIELDS = ("station", "network", "date", "acq_time", "ssm_insitu", "n_insitu")
_FIELD = re.compile(r"[^0-9A-Za-z_/]+")


def field_name(layer_name: str, taken: set) -> str:
    """A field name for a raster: its layer name, spaces and odd characters as '_', made unique (``taken``
    holds the lower-case names already used, and gets this one)."""
    base = _FIELD.sub("_", layer_name).strip("_") or "raster"
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name.lower())
    return name


@dataclass(frozen=True)
class StationRaster:
    """A raster sampled at the stations: its output field, file, band dates (``[None]`` for an undated
    single band, used for every date) and whether it is dB backscatter (averaged in linear power)."""

    field: str
    path: str
    dates: list
    db: bool
    info: RasterInfo


def station_rasters(rasters: Sequence[tuple[str, str]]) -> tuple[list[StationRaster], list[str], dict]:
    """The rasters ``(layer name, path)`` to sample, every date any of them has (sorted) and each date's
    acquisition time ``(start, end)`` (:func:`~sarsense.algorithms.io.stack.band_times`; a time known to the
    second wins over a whole day).

    A single-band raster without a date serves every date; several bands without dates, or no date at
    all, are refused (ValueError).
    """
    taken = set(SAMPLE_FIELDS)
    out, all_dates, times = [], set(), {}
    for name, path in rasters:
        info = read_info(path)
        try:
            dates = _stack.band_dates(path)
            band_times = _stack.band_times(path)
            dated = True
        except ValueError:
            dated = False
        if dated:
            _stack.check_series(path, label=f"raster '{name}'")
            twice = _stack.repeated_refusal(dates, label=f"raster '{name}'")   # one sample per station and date
            if twice:
                raise ValueError(twice)
        else:
            if info.band_count != 1:
                raise ValueError(f"raster '{name}' has {info.band_count} bands without dates: give dated stacks "
                                 "(one band per date, as 'Build dated stack' writes).")
            dates, band_times = [None], [None]
        for d, t in zip(dates, band_times):
            if d is not None:
                all_dates.add(d)
                if d not in times or t[0] == t[1]:
                    times[d] = t
        db = is_backscatter(name) and sar.guess_units(sample_values(path, max_side=128)) == "db"
        out.append(StationRaster(field_name(name, taken), path, dates, db, info))
    if not all_dates:
        raise ValueError("no raster has a date: at least one must be a dated stack or a dated raster.")
    return out, sorted(all_dates), times


@dataclass
class StationExtraction:
    """What :func:`extract_at_stations` found.

    ``inside[k]``: stations inside raster ``k``; ``outside``: ids outside every raster (left out); ``rows`` and
    ``points`` (the station's ``(x, y)``), one per station-date, under ``columns``; ``left_out[field]``:
    station-dates left out for too many NaN pixels in that raster; ``matched`` and ``no_insitu``: samples with
    and without an in-situ value (both 0 without in-situ values).
    """

    ids: list
    columns: list
    inside: list = field(default_factory=list)
    outside: set = field(default_factory=set)
    rows: list = field(default_factory=list)
    points: list = field(default_factory=list)
    left_out: dict = field(default_factory=dict)
    matched: int = 0
    no_insitu: int = 0


def extract_at_stations(stations: dict, rasters: Sequence[StationRaster], dates: Sequence[str], times: dict,
                        values: dict | None, *, radius_m: float = 500.0, max_invalid: float = 0.5,
                        tolerance_s: float = 3600.0,
                        locate: Callable[[str, list], list] | None = None,
                        options: RunOptions | None = None) -> StationExtraction:
    """Every raster's radius mean at every station and date (Fayad et al. 2022, §2.1.4), matched to the in-situ
    readings.

    Parameters
    ----------
    stations : dict
        ``{id: (network, x, y)}``.
    rasters, dates, times
        As :func:`station_rasters` gives them.
    values : dict or None
        In-situ readings ``{id: (times datetime64[s], values, period_s)}``, matched to each acquisition by
        :func:`~.insitu.match_readings` within ± ``tolerance_s``.
    radius_m, max_invalid
        Circle radius (:func:`extract`); a station-date is left out when a larger share of the circle is
        NaN in any raster.
    locate : callable, optional
        ``locate(projection_wkt, [(x, y), …])``: the stations' coordinates in a raster's CRS (default: the
        same numbers).
    options : RunOptions, optional
        Cancel (asked before each station), and progress up to 0.8 after each raster.

    Returns
    -------
    StationExtraction
    """
    opts = resolve(options)
    ids = sorted(stations)
    xy = [(stations[sid][1], stations[sid][2]) for sid in ids]
    res = StationExtraction(ids, [("station", str), ("network", str), ("date", str), ("acq_time", str)]
                            + [(r.field, float) for r in rasters] + [("ssm_insitu", float), ("n_insitu", int)])
    means, bad, outside_all = {}, {}, set(ids)
    for k, r in enumerate(rasters):
        where = locate(r.info.projection, xy) if locate is not None else xy
        m, inv, outside = extract(r.path, where, radius_m, db_power=r.db, options=opts)
        outside_all -= {ids[i] for i in range(len(ids)) if i not in outside}
        means[r.field], bad[r.field] = m, inv
        res.inside.append(len(ids) - len(outside))
        opts.report(0.8 * (k + 1) / len(rasters))
    res.outside = outside_all
    if len(outside_all) == len(ids):
        return res
    for i, sid in enumerate(ids):
        if sid in outside_all:
            continue
        for d in dates:
            row_vals, skip = [], None
            for r in rasters:
                band = r.dates.index(d) if d in r.dates else (0 if r.dates == [None] else None)
                if band is None:
                    row_vals.append(np.nan)
                    continue
                if bad[r.field][i, band] > max_invalid:
                    skip = r.field
                    break
                row_vals.append(means[r.field][i, band])
            if skip:
                res.left_out[skip] = res.left_out.get(skip, 0) + 1
                continue
            start, end = times[d]
            ssm, n = np.nan, 0
            if values is not None and sid in values:
                t, v, per = values[sid]
                ssm, n = insitu.match_readings(t, v, per, start, end, tolerance_s)
            if values is not None:
                res.matched += n > 0
                res.no_insitu += n == 0
            acq = str(start)[:19].replace("T", " ") if start == end else ""
            res.rows.append([sid, stations[sid][0], d, acq] + row_vals + [ssm, n])
            res.points.append((stations[sid][1], stations[sid][2]))
    return res
