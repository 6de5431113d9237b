"""Per-pixel linear interpolation of a dated stack in time (Fayad et al. 2022 §2.1.4)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..io import RunOptions, run_blockwise
from ..io.engine import Counts

#: Sentinel-2's revisit with S2A and S2B (days, at the equator; ESA Sentinel-2 User Handbook 2015).
S2_REVISIT_DAYS = 5.0
#: The default largest gap between two valid (cloud-free) NDVI dates that is bridged (``MAX_GAP_DAYS``).
#: Clouds make the gaps between clear Sentinel-2 views far longer than the 5-day revisit over crops: cloud cover
#: during the growing season leaves many agricultural regions without a clear view for weeks (Whitcraft et al.
#: 2015, Remote Sens. Environ. 156, 438-447; Sudmanns et al. 2020, Int. J. Digit. Earth 13(7), 768-784, on
#: Sentinel-2's cloud-free availability). With clouds on a share p of the acquisitions, independently,
#: :func:`unbridged_share` gives the share of target dates left without NDVI: with p = 0.7 (70 % of the
#: acquisitions cloudy), 33 % at 32 days (the former default; 46-74 % was seen on real crop series, #29),
#: 6 % at 60 days; with p = 0.8, 58 % and 23 %. 60 days bridges the usual cloudy spells and stays within one
#: crop-growth phase (a season's green-up takes 1-2 months), beyond which a straight line misses the NDVI peak.
DEFAULT_MAX_GAP_DAYS = 60.0


def unbridged_share(max_gap_days: float, *, revisit_days: float = S2_REVISIT_DAYS,
                    cloud_probability: float = 0.7) -> float:
    """The expected share of target dates that fall in a gap between clear views longer than ``max_gap_days``,
    for acquisitions every ``revisit_days`` each cloudy with probability ``cloud_probability`` (independently).

    A gap is ``k`` revisits with ``k`` geometric (``P(k) = (1 − p)·p^(k−1)``); a target date falls in a gap in
    proportion to its length, so the share in gaps of at least ``m`` revisits is
    ``Σ_{k≥m} k·(1 − p)²·p^(k−1) = p^(m−1)·(m·(1 − p) + p)``, with ``m`` the fewest revisits longer than
    ``max_gap_days``.
    """
    p = float(cloud_probability)
    if not 0.0 <= p < 1.0 or revisit_days <= 0:
        raise ValueError(f"need 0 <= cloud probability < 1 and a positive revisit, got {p!r} and {revisit_days!r}")
    m = int(np.floor(max_gap_days / revisit_days)) + 1
    return float(p ** (m - 1) * (m * (1.0 - p) + p))


def day_numbers(dates: Sequence[str]) -> np.ndarray:
    """ISO dates → days since 1970-01-01 (float64)."""
    try:
        return np.array([(_dt.date.fromisoformat(str(d)) - _dt.date(1970, 1, 1)).days for d in dates], dtype=float)
    except ValueError as err:
        raise ValueError(f"dates must be ISO dates (YYYY-MM-DD): {err}") from None


def interpolate_time(stack: ArrayLike, dates: Sequence[str], targets: Sequence[str], *,
                     max_gap_days: float = DEFAULT_MAX_GAP_DAYS) -> np.ndarray:
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
                          max_gap_days: float = DEFAULT_MAX_GAP_DAYS, options: RunOptions | None = None) -> dict:
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
        ``infinite``: interpolated values that came out ±inf, written as NaN; ``possible``: pixel-dates of the
        pixels with at least one valid date (targets × those pixels), ``filled``: those with a value,
        ``filled_share`` (their ratio, 0..1; NaN when no pixel has a valid date) and ``dates_filled``: target dates
        with a value on at least half of those pixels.
    """
    dates, targets = list(dates), list(targets)
    per_date = [f"filled_{k}" for k in range(len(targets))]
    counts = Counts("filled", "possible", "pixels", *per_date)

    def kernel(block):
        out = interpolate_time(block, dates, targets, max_gap_days=max_gap_days)
        pixels = int(np.isfinite(block).any(axis=0).sum())
        done = np.isfinite(out).reshape(len(targets), -1).sum(axis=1)
        counts.add(filled=int(done.sum()), possible=pixels * len(targets), pixels=pixels,
                   **{k: int(v) for k, v in zip(per_date, done)})
        return out

    res = run_blockwise(stack, output, kernel, out_bands=len(targets), descriptions=targets,
                        band_metadata=[{"DATE": t} for t in targets], inherit="common",
                        bytes_per_pixel=64,  # per band of max(dates, targets): block, sweeps, result
                        options=options)
    c = counts.values
    return {"infinite": res["infinite"], "filled": c["filled"], "possible": c["possible"],
            "filled_share": c["filled"] / c["possible"] if c["possible"] else float("nan"),
            "dates_filled": sum(c[k] >= 0.5 * c["pixels"] > 0 for k in per_date)}
