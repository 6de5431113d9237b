"""Water-normalised backscatter index σA (Liu et al. 2020, §2.1, eq. 1).

``σA = (P − T) / (P + T)`` with ``P`` the VV or VH backscatter of a pixel on one date and ``T`` the
mean backscatter of water on that date, both in **linear power**: σA lies in [−1, 1], water is
near or below 0 and vegetation approaches 1. The paper calls the VV and VH versions NDVV and NDVH.

Computed in two passes over a stack (block by block): :func:`water_sums` accumulates, per date,
the sum and count of the water pixels' linear backscatter; :func:`water_reference` turns the
totals into ``T``; :func:`normalized_index` maps each block. :func:`water_normalized_file` is the
file-to-file job (both passes, band descriptions and metadata).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .. import sar
from ..io import RunOptions, reduce_blockwise, run_blockwise
from ..io.options import resolve


class WaterReferenceError(ValueError):
    """The water reference T cannot be computed (no water pixel on some date, or T not positive)."""


def auto_water(stack_db: ArrayLike, threshold_db: float = -20.0) -> np.ndarray:
    """Water where the backscatter is below ``threshold_db`` (dB) on **every** date (a NaN date is not water).

    Open water is dark on every date, whereas a flooded paddy is dark only around transplanting:
    requiring every date keeps paddies out of the water reference.
    """
    arr = np.asarray(stack_db)
    if arr.ndim != 3:
        raise ValueError(f"expected a (dates, rows, cols) stack, got shape {arr.shape}")
    with np.errstate(invalid="ignore"):
        return np.all(arr < threshold_db, axis=0)


def water_sums(stack_linear: ArrayLike, water: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
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


def water_reference(sums: ArrayLike, counts: ArrayLike, dates=None) -> np.ndarray:
    """``T`` per date: the mean linear backscatter of water, from :func:`water_sums` totals.

    Refuses a date without any valid water pixel (``T`` undefined) or with ``T ≤ 0`` (not linear
    power), naming the dates (:class:`WaterReferenceError`, a ``ValueError``).
    """
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts)
    names = list(dates) if dates is not None else [f"band {i + 1}" for i in range(len(sums))]
    empty = [names[i] for i in np.flatnonzero(counts == 0)]
    if len(empty) == len(names):
        raise WaterReferenceError("no water pixels were found")
    if empty:
        raise WaterReferenceError(f"no valid water pixel on {', '.join(empty)}: the water reference T is "
                                  "undefined there")
    t = sums / counts
    bad = [names[i] for i in np.flatnonzero(~(t > 0))]
    if bad:
        raise WaterReferenceError(f"the mean water backscatter is not positive on {', '.join(bad)}: "
                         "the input is not linear power")
    return t


def normalized_index(stack_linear: ArrayLike, t: ArrayLike) -> np.ndarray:
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


def _add_sums(total, part):
    return total[0] + part[0], total[1] + part[1]


def water_normalized_file(stack: str, output: str, *, dates, in_db: bool = False, water: str | None = None,
                          threshold_db: float = -20.0, options: RunOptions | None = None) -> dict:
    """σA (eq. 1) of every date of a stack, file to file, in two block-wise passes.

    Parameters
    ----------
    stack : str
        Dated VV or VH stack (one band per date), linear power, or dB with ``in_db``.
    output : str
        Float32 GeoTIFF written: one band per date (σA, −1 to 1, NaN nodata), described by ``dates``, with
        the band metadata WATER_T_DB, WATER_T_LINEAR, WATER_PIXELS and UNITS.
    dates : sequence of str
        The stack's ISO dates (band descriptions of the output, and named in errors).
    in_db : bool
        The stack is in dB (converted to linear power before the index).
    water : str, optional
        A water raster on the stack's grid (1 = water; burned polygons or a resampled mask). Without it
        water is :func:`auto_water` below ``threshold_db`` on every date.
    options : RunOptions, optional
        Workers, budget, compression, progress (first pass 0-40 %, second 40-100 %) and cancel.

    Returns
    -------
    dict
        ``t`` (linear T per date), ``t_db``, ``water_pixels`` (per date) and ``infinite`` (pixels the
        engine wrote as NaN).

    Raises
    ------
    WaterReferenceError
        From :func:`water_reference` (a ``ValueError``): no water pixel on some date, or T not positive.
    """
    dates = list(dates)
    n = len(dates)
    options = resolve(options)

    def linear(block):
        return sar.db_to_linear(block)[0] if in_db else block

    def water_kernel(block):
        if water is not None:
            mask = block[n] == 1
        else:
            db = block[:n] if in_db else sar.linear_to_db(block[:n])[0]
            mask = auto_water(db, threshold_db)
        return water_sums(linear(block[:n]), mask)

    def index_kernel(block):
        return normalized_index(linear(block), t)

    inputs = [stack] + ([(water, [1])] if water is not None else [])
    sums, counts = reduce_blockwise(inputs, water_kernel, initial=(np.zeros(n), np.zeros(n, dtype=np.int64)),
                                    combine=_add_sums, options=options.part(0.0, 0.4))
    t = water_reference(sums, counts, dates)
    t_db = [10.0 * math.log10(value) for value in t]
    metadata = [{"WATER_T_DB": f"{v_db:.4f}", "WATER_T_LINEAR": f"{value:.6g}", "WATER_PIXELS": int(count),
                 "QUANTITY": "water-normalised index sigma_A", "units": "-1 to 1"}
                for v_db, value, count in zip(t_db, t, counts)]
    res = run_blockwise(stack, output, index_kernel, descriptions=dates, band_metadata=metadata, bytes_per_pixel=16,
                        options=options.part(0.4, 1.0))
    return {"t": t, "t_db": t_db, "water_pixels": counts, "infinite": res["infinite"]}
