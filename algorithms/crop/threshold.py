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
nodata.
"""

from __future__ import annotations

import numpy as np

RICE, NOT_RICE, NODATA = 1, 0, 255
T_FLOOD, T_NEXT, T_WATER = 0.5, 0.6, 0.3


def rice_rule(ndvh, season, *, ndvv=None, t_flood=T_FLOOD, t_next=T_NEXT, water_date=None, t_water=T_WATER):
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
