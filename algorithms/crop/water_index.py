"""Water-normalised backscatter index σA (Liu et al. 2020, §2.1, eq. 1).

``σA = (P − T) / (P + T)`` with ``P`` the VV or VH backscatter of a pixel on one date and ``T`` the
mean backscatter of water on that date, both in **linear power**: σA lies in [−1, 1], water is
near or below 0 and vegetation approaches 1. The paper calls the VV and VH versions NDVV and NDVH.

Computed in two passes over a stack (block by block): :func:`water_sums` accumulates, per date,
the sum and count of the water pixels' linear backscatter; :func:`water_reference` turns the
totals into ``T``; :func:`normalized_index` maps each block.
"""

from __future__ import annotations

import numpy as np


def auto_water(stack_db, threshold_db=-20.0):
    """Water where the backscatter is below ``threshold_db`` (dB) on **every** date (a NaN date is not water).

    Open water is dark on every date, whereas a flooded paddy is dark only around transplanting:
    requiring every date keeps paddies out of the water reference.
    """
    arr = np.asarray(stack_db)
    if arr.ndim != 3:
        raise ValueError(f"expected a (dates, rows, cols) stack, got shape {arr.shape}")
    with np.errstate(invalid="ignore"):
        return np.all(arr < threshold_db, axis=0)


def water_sums(stack_linear, water):
    """Per-date sum (float64) and count of the finite linear backscatter of the ``water`` pixels.

    ``stack_linear`` is (dates, rows, cols) and ``water`` a boolean (rows, cols) mask. Sums of
    blocks add up to the sums of the whole image, so ``T`` does not depend on the blocks.
    """
    arr = np.asarray(stack_linear)
    water = np.asarray(water, dtype=bool)
    if arr.ndim != 3 or water.shape != arr.shape[1:]:
        raise ValueError(f"stack {arr.shape} and water mask {water.shape} do not match")
    values = arr[:, water].astype(np.float64)
    ok = np.isfinite(values)
    return np.where(ok, values, 0.0).sum(axis=1), ok.sum(axis=1).astype(np.int64)


def water_reference(sums, counts, dates=None):
    """``T`` per date: the mean linear backscatter of water, from :func:`water_sums` totals.

    Refuses a date without any valid water pixel (``T`` undefined) or with ``T ≤ 0`` (not linear
    power), naming the dates.
    """
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts)
    names = list(dates) if dates is not None else [f"band {i + 1}" for i in range(len(sums))]
    empty = [names[i] for i in np.flatnonzero(counts == 0)]
    if len(empty) == len(names):
        raise ValueError("no water pixels were found")
    if empty:
        raise ValueError(f"no valid water pixel on {', '.join(empty)}: the water reference T is undefined there")
    t = sums / counts
    bad = [names[i] for i in np.flatnonzero(~(t > 0))]
    if bad:
        raise ValueError(f"the mean water backscatter is not positive on {', '.join(bad)}: "
                         "the input is not linear power")
    return t


def normalized_index(stack_linear, t):
    """σA = (P − T)/(P + T) per date (eq. 1): float32 (dates, rows, cols), NaN where P is NaN or negative.

    ``t`` is the per-date water mean (:func:`water_reference`), linear power.
    """
    arr = np.asarray(stack_linear, dtype=np.float32)
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1, 1)
    if arr.ndim != 3 or t.shape[0] != arr.shape[0]:
        raise ValueError(f"need one water reference per date: stack {arr.shape}, T {t.shape[0]}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ((arr - t) / (arr + t)).astype(np.float32)
        out[~(arr >= 0)] = np.nan
    return out
