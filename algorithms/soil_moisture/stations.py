"""Raster values around in-situ stations (Fayad et al. 2022, "000", §2.1.4), GDAL only.

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
from dataclasses import dataclass

import numpy as np

from ..io import Cancelled
from ..io import raster as _raster
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


def is_backscatter(name):
    """True when a raster's name says it is backscatter (VV, VH, HH, HV, σ°, γ°, their ratio)."""
    return bool(_BACKSCATTER.search(str(name)))


def station_window(info, x, y, radius_m):
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


def radius_means(arr, window, *, db_power=False):
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


def extract(path, stations_xy, radius_m, *, db_power=False, is_canceled=None):
    """Radius means of every band of ``path`` at each station.

    ``stations_xy``: (x, y) per station in the raster's CRS. Returns ``(means, invalid, outside)``:
    float64 (stations, bands) arrays (NaN for stations outside) and the indices of the stations outside
    the raster.
    """
    info = _raster.read_info(path)
    ds = _raster.open_dataset(path)
    bands = list(range(1, info.band_count + 1))
    means = np.full((len(stations_xy), len(bands)), np.nan)
    invalid = np.ones((len(stations_xy), len(bands)))
    outside = []
    for i, (x, y) in enumerate(stations_xy):
        if is_canceled is not None and is_canceled():
            raise Cancelled()
        win = station_window(info, x, y, radius_m)
        if win is None:
            outside.append(i)
            continue
        rows, cols = win.mask.shape
        arr = _raster.read_window(ds, bands, win.xoff, win.yoff, cols, rows)
        means[i], invalid[i] = radius_means(arr, win, db_power=db_power)
    ds = None
    return means, invalid, outside
