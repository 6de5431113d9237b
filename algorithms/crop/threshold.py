"""Phenology threshold rule for early paddy rice (Liu et al. 2020, §3.3).

Paddies are flooded at transplanting: the water-normalised index (σA, :mod:`.water_index`) of a
paddy drops on one date and is still low on the next, while the crop is small; other classes
stay above about 0.6. Per pixel, over the season dates (the paper: 10 Mar - 27 Apr, every 12 days):

- **rice** where NDVH is below ``t_flood`` (0.5) on a season date and below ``t_next`` (0.6) on
  the stack's next date (which may lie after the season's end); the first such date is the
  flooding (transplanting) date;
- **not rice** where the indices stay below ``t_flood`` on every season date (NDVH and NDVV both
  when NDVV is given: permanently flooded, i.e. water or marsh), and everywhere else;
- **water removed**: not rice where NDVH is below ``t_water`` (0.3) on the water date (the paper:
  21 Jan, before the season, when paddies are dry and only lakes and rivers are dark).

NaN dates are skipped: a pair needs both dates valid. A pixel without any valid season date is
nodata. :func:`rice_threshold_file` applies the rule to a dated stack file to file.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from numpy.typing import ArrayLike

from ..io import RunOptions, read_info, run_blockwise
from ..io.engine import Counts
from .samples import classes_json

RICE, NOT_RICE, NODATA = 1, 0, 255
T_FLOOD, T_NEXT, T_WATER = 0.5, 0.6, 0.3
#: Names of the rice map's classes.
CLASSES = {NOT_RICE: "not rice", RICE: "rice"}


def season_indices(dates, start: str, end: str) -> list[int]:
    """Indices of the ISO ``dates`` from ``start`` to ``end`` (ISO dates, both included)."""
    return [k for k, d in enumerate(dates) if start <= d <= end]


def nearest_date(dates, date: str) -> tuple[int, int]:
    """Index of the ISO date of ``dates`` nearest to ``date`` (the first of equally near ones) and its distance
    in days."""
    gaps = [abs((_dt.date.fromisoformat(d) - _dt.date.fromisoformat(date)).days) for d in dates]
    k = int(np.argmin(gaps))
    return k, gaps[k]


def day_of_year(dates) -> np.ndarray:
    """float32 day of year of each ISO date, with a NaN appended (what a flood index of −1 picks)."""
    return np.array([_dt.date.fromisoformat(d).timetuple().tm_yday for d in dates] + [np.nan], dtype=np.float32)


def rice_rule(ndvh: ArrayLike, season, *, ndvv: ArrayLike | None = None, t_flood: float = T_FLOOD,
              t_next: float = T_NEXT, water_date: int | None = None,
              t_water: float = T_WATER) -> tuple[np.ndarray, np.ndarray]:
    """Apply the §3.3 rule; returns ``(classes uint8, flood_index int16)``.

    Parameters
    ----------
    ndvh : ndarray (dates, rows, cols)
        NDVH, σA of VH (dates in time order).
    season : sequence of int
        Indices of the season dates in ``ndvh`` (ascending).
    ndvv : ndarray, optional
        NDVV on the same dates, used by the "permanently low" rule.
    water_date : int, optional
        Index of the date on which NDVH below ``t_water`` marks water.

    Returns
    -------
    classes : uint8 (rows, cols)
        1 rice, 0 not rice, 255 nodata.
    flood_index : int16 (rows, cols)
        Index (into ``ndvh``'s dates) of the flooding date of rice pixels, −1 elsewhere.
    """
    h = np.asarray(ndvh, dtype=np.float32)
    if h.ndim != 3:
        raise ValueError(f"expected a (dates, rows, cols) NDVH stack, got shape {h.shape}")
    season = [int(k) for k in season]
    if not season:
        raise ValueError("no stack date lies in the season")
    if sorted(set(season)) != season or season[0] < 0 or season[-1] >= h.shape[0]:
        raise ValueError(f"season indices must be ascending dates of the stack, got {season}")
    if ndvv is not None:
        v = np.asarray(ndvv, dtype=np.float32)
        if v.shape != h.shape:
            raise ValueError(f"NDVV {v.shape} and NDVH {h.shape} differ in shape")
    if not t_flood <= t_next:
        raise ValueError(f"the flooding threshold ({t_flood}) must not exceed the next-date threshold ({t_next})")
    rows_cols = h.shape[1:]
    flood = np.full(rows_cols, -1, dtype=np.int16)
    any_valid = np.zeros(rows_cols, dtype=bool)
    always_low = np.ones(rows_cols, dtype=bool)
    with np.errstate(invalid="ignore"):
        for k in season:
            valid = np.isfinite(h[k])
            any_valid |= valid
            low = h[k] < t_flood
            if ndvv is not None:
                low &= v[k] < t_flood
            always_low &= low | ~valid
            if k + 1 < h.shape[0]:
                hit = (h[k] < t_flood) & (h[k + 1] < t_next) & (flood < 0)
                flood[hit] = k
        rice = flood >= 0
        rice &= ~always_low
        if water_date is not None:
            if not 0 <= water_date < h.shape[0]:
                raise ValueError(f"water date index {water_date} is outside the stack")
            rice &= ~(h[water_date] < t_water)
    classes = np.where(rice, RICE, NOT_RICE).astype(np.uint8)
    classes[~any_valid] = NODATA
    flood[~rice | ~any_valid] = -1
    return classes, flood


def rice_threshold_file(ndvh: str, output: str, *, dates, season_start: str, season_end: str,
                        ndvv: str | None = None, output_date: str | None = None, t_flood: float = T_FLOOD,
                        t_next: float = T_NEXT, water_date: str | None = None, t_water: float = T_WATER,
                        options: RunOptions | None = None) -> dict:
    """The §3.3 rule (:func:`rice_rule`) over a dated NDVH stack, file to file, block by block.

    Parameters
    ----------
    ndvh : str
        NDVH stack (σA of VH), one band per date in time order.
    output : str
        The rice map written: uint8, 1 rice, 0 not rice, 255 nodata, band "rice" with its classes
        (:data:`CLASSES`) and the rule's parameters in the band metadata.
    dates : sequence of str
        The stack's ISO dates.
    season_start, season_end : str
        ISO dates bounding the season (:func:`season_indices`).
    ndvv : str, optional
        NDVV stack on the same dates and grid ("low all season" rule).
    output_date : str, optional
        float32 raster of the transplanting day of year of rice pixels (NaN elsewhere).
    water_date : str, optional
        ISO date; the stack's nearest date (:func:`nearest_date`) is the water date.
    options : RunOptions, optional
        Workers, budget, compression, progress and cancel.

    Returns
    -------
    dict
        ``rice`` (pixels), ``rice_ha`` (NaN without a projected CRS), ``season`` (indices) and
        ``water_index`` (None without a water date).

    Raises
    ------
    ValueError
        No date in the season, or thresholds out of order (:func:`rice_rule`).
    """
    dates = list(dates)
    season = season_indices(dates, season_start, season_end)
    if not season:
        raise ValueError(f"no stack date lies in the season {season_start} … {season_end}")
    water_idx = nearest_date(dates, water_date)[0] if water_date is not None else None
    doy = day_of_year(dates)
    n = len(dates)
    counts = Counts("rice")

    def kernel(block):
        classes, flood = rice_rule(block[:n], season, ndvv=block[n:] if ndvv is not None else None,
                                   t_flood=t_flood, t_next=t_next, water_date=water_idx, t_water=t_water)
        counts.add(rice=np.count_nonzero(classes == RICE))
        return classes, doy[flood]          # flood −1 → the NaN appended to doy

    def rice_only(block):
        return kernel(block)[0]

    sources = [ndvh] + ([ndvv] if ndvv is not None else [])
    meta = {"SEASON": f"{season_start}/{season_end}", "T_FLOOD": t_flood, "T_NEXT": t_next,
            "WATER_DATE": dates[water_idx] if water_idx is not None else "", "T_WATER": t_water}
    class_meta = {"classes": classes_json(CLASSES), **meta}
    if output_date:
        run_blockwise(sources, [output, output_date], kernel, out_bands=[1, 1], out_dtype=[np.uint8, np.float32],
                      descriptions=[["rice"], ["transplanting day of year"]],
                      band_metadata=[[class_meta], [{"units": "day of year", "YEAR": dates[season[0]][:4]}]],
                      bytes_per_pixel=24, options=options)
    else:
        run_blockwise(sources, output, rice_only, out_bands=1, out_dtype=np.uint8, descriptions=["rice"],
                      band_metadata=[class_meta], bytes_per_pixel=24, options=options)
    area = read_info(ndvh).pixel_area_m2
    return {"rice": counts["rice"], "rice_ha": counts["rice"] * area / 1e4 if area else float("nan"),
            "season": season, "water_index": water_idx}
