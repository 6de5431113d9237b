"""Per-pixel linear interpolation of a dated stack in time (Fayad et al. 2022 §2.1.4)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..io import RunOptions, run_blockwise


def day_numbers(dates: Sequence[str]) -> np.ndarray:
    """ISO dates → days since 1970-01-01 (float64)."""
    try:
        return np.array([(_dt.date.fromisoformat(str(d)) - _dt.date(1970, 1, 1)).days for d in dates], dtype=float)
    except ValueError as err:
        raise ValueError(f"dates must be ISO dates (YYYY-MM-DD): {err}") from None


def interpolate_time(stack: ArrayLike, dates: Sequence[str], targets: Sequence[str], *,
                     max_gap_days: float = 32.0) -> np.ndarray:
    """Values of ``stack`` at ``targets`` by linear interpolation between each pixel's valid dates.

    The paper interpolates NDVI linearly to every radar date (Fayad et al. 2022, §2.1.4); per pixel, NaN dates are
    skipped, not read as zeros. A target date equal to a valid date takes that value. Outside the
    pixel's valid dates, or when the two valid dates around the target are more than
    ``max_gap_days`` apart, the result is NaN: no extrapolation, no bridging of long gaps.

    Parameters
    ----------
    stack : ndarray (dates, rows, cols)
    dates, targets : sequences of ISO dates (``dates`` in any order, without repeats)
    max_gap_days : float

    Returns float32 (targets, rows, cols).
    """
    arr = np.asarray(stack, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[0] != len(dates):
        raise ValueError(f"expected a (dates, rows, cols) stack with {len(dates)} bands, got shape {arr.shape}")
    if not np.isfinite(max_gap_days) or max_gap_days < 0:
        raise ValueError(f"the maximum gap must be a number of days >= 0, got {max_gap_days!r}")
    d = day_numbers(dates)
    if len(set(d)) != len(d):
        raise ValueError("the input stack has the same date twice; merge or drop the repeated band first")
    t = day_numbers(targets)
    order = np.argsort(d)
    d, arr = d[order], arr[order]
    shape = arr.shape[1:]
    out = np.full((len(t),) + shape, np.nan, dtype=np.float32)
    # forward sweep: last valid value and its day at or before each target; backward: first at or after
    prev_v, prev_d = np.full(shape, np.nan, np.float32), np.full(shape, np.nan)
    next_v, next_d = np.full((len(t),) + shape, np.nan, np.float32), np.full((len(t),) + shape, np.nan)
    t_order = np.argsort(t)
    before = {}
    i = 0
    for k in t_order:
        while i < len(d) and d[i] <= t[k]:
            ok = np.isfinite(arr[i])
            prev_v[ok], prev_d[ok] = arr[i][ok], d[i]
            i += 1
        before[k] = (prev_v.copy(), prev_d.copy())
    nv, nd = np.full(shape, np.nan, np.float32), np.full(shape, np.nan)
    i = len(d) - 1
    for k in t_order[::-1]:
        while i >= 0 and d[i] >= t[k]:
            ok = np.isfinite(arr[i])
            nv[ok], nd[ok] = arr[i][ok], d[i]
            i -= 1
        next_v[k], next_d[k] = nv, nd
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(len(t)):
            pv, pd = before[k]
            span = next_d[k] - pd
            w = np.where(span > 0, (t[k] - pd) / np.where(span > 0, span, 1.0), 0.0)
            val = pv + w * (next_v[k] - pv)
            val[~(span <= max_gap_days)] = np.nan          # outside the valid dates (NaN span) or a long gap
            exact = pd == t[k]
            val[exact] = pv[exact]
            out[k] = val
    return out


def outside_dates(dates: Sequence[str], targets: Sequence[str]) -> list[str]:
    """The ``targets`` before the first or after the last of ``dates`` (NaN everywhere: no extrapolation)."""
    days, tdays = day_numbers(dates), day_numbers(targets)
    return [t for t, d in zip(targets, tdays) if d < days.min() or d > days.max()]


def interpolate_time_file(stack: str, output: str, *, dates: Sequence[str], targets: Sequence[str],
                          max_gap_days: float = 32.0, options: RunOptions | None = None) -> dict:
    """A dated stack linearly interpolated in time onto ``targets`` (:func:`interpolate_time`), file to file.

    Parameters
    ----------
    stack : str
        Dated stack, one band per date of ``dates`` (ISO), NaN nodata.
    output : str
        Float32 GeoTIFF, one band per target date, described by its date.
    dates, targets : sequences of str
        The stack's ISO dates in band order, and the dates to interpolate onto.
    max_gap_days : float
        Valid dates further apart are not bridged (:func:`interpolate_time`).
    options : RunOptions, optional
        Budget, workers, compression, progress and cancel of the interpolation pass.

    Returns
    -------
    dict
        ``infinite``: interpolated values that came out ±inf, written as NaN.
    """
    dates, targets = list(dates), list(targets)

    def kernel(block):
        return interpolate_time(block, dates, targets, max_gap_days=max_gap_days)

    res = run_blockwise(stack, output, kernel, out_bands=len(targets), descriptions=targets,
                        band_metadata=[{"DATE": t} for t in targets], inherit="common",
                        bytes_per_pixel=64,  # per band of max(dates, targets): block, sweeps, result
                        options=options)
    return {"infinite": res["infinite"]}
