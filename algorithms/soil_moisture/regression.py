"""Linear regression of soil moisture on backscatter, per date or for all dates (Rahimabadi & Jamali 2019,
the Miyankale study, §3.1 and table 1: one line per acquisition, scored by R² and RMSE)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..io import RunOptions, run_blockwise
from ..io.engine import Counts
from . import series as _series


def fit_line(x: ArrayLike, y: ArrayLike) -> dict:
    """Ordinary least squares ``y = slope·x + intercept`` over the finite pairs.

    Returns dict ``slope``, ``intercept``, ``r2`` (``1 − SS_res/SS_tot``), ``rmse`` (of the residuals, divided
    by n as Rahimabadi & Jamali (2019), table 1 reports the fit's own error) and ``n``. Fewer than 3 pairs, or x
    constant: ValueError.
    """
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n < 3:
        raise ValueError(f"{n} complete sample(s): a regression line needs at least 3")
    sxx = float(((x - x.mean()) ** 2).sum())
    if sxx == 0:
        raise ValueError("the predictor is constant: no line can be fitted")
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * x.mean())
    resid = y - (slope * x + intercept)
    sst = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / sst if sst > 0 else float("nan")
    return {"slope": slope, "intercept": intercept, "r2": r2, "rmse": float(np.sqrt(np.mean(resid ** 2))), "n": n}


def regress(dates: ArrayLike, x: ArrayLike, y: ArrayLike, *, per_date: bool = True) -> list[tuple[str, dict | str]]:
    """One line per date (``per_date``) or one for all samples: ``[(date or 'all', fit)]``, dates in order.

    Dates with fewer than 3 complete samples are returned with ``fit`` = None and the reason.
    """
    dates = np.asarray(dates).astype(str)
    if not per_date:
        return [("all", fit_line(x, y))]
    out = []
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    for d in sorted(set(dates)):
        sel = dates == d
        try:
            out.append((d, fit_line(x[sel], y[sel])))
        except ValueError as err:
            out.append((d, str(err)))
    if not any(isinstance(f, dict) for _, f in out):
        raise ValueError("no date has 3 complete samples with a varying predictor: switch off the per-date "
                         "regression to fit one line over all dates")
    return out


def lines_for_dates(fits: dict, dates: Sequence[str], *, per_date: bool = True) -> list[dict | None]:
    """The fitted line of each of ``dates`` (``fits`` as :func:`regress` gives them, as a dict): the date's own
    with ``per_date``, else the one line over all dates; None where a date has no line."""
    lines = [fits.get(d if per_date else "all") for d in dates]
    return [f if isinstance(f, dict) else None for f in lines]


def regression_map_file(stack: str, output: str, lines: Sequence[dict | None], *, dates: Sequence[str],
                        options: RunOptions | None = None, series: _series.SeriesOptions | None = None,
                        percent: bool = False) -> dict:
    """Soil moisture ``SM = slope·σ° + intercept`` (Rahimabadi & Jamali 2019, §3.1, table 1) from a dated σ° stack,
    one fitted line per
    band (:func:`lines_for_dates`; a band without a line is NaN), file to file.

    Parameters
    ----------
    stack : str
        σ° in dB, one band per date of ``dates``.
    output : str
        Float32 GeoTIFF, one band per date, described by its date.
    lines : sequence of dict or None
        ``slope`` and ``intercept`` of each band's line (:func:`fit_line`), or None.
    options : RunOptions, optional
        How the map is run (budget, workers, compression, progress, cancel).
    series : SeriesOptions, optional
        Its ``porosity`` bounds the map (:func:`~.series.clip_ssm`).
    percent : bool
        The lines were fitted to soil moisture in percent: the map is in percent, bounded by 100·porosity.

    Returns
    -------
    dict
        ``infinite``: soil-moisture values that came out ±inf, written as NaN; ``empty_bands``: 1-based bands
        with no valid pixel (dates without a line, or without σ°); ``below_range``/``above_range``: values a line
        put below 0 or above the porosity (σ° beyond the samples' range), clipped to it; ``clipped``: their sum.
    """
    if len(lines) != len(dates):
        raise ValueError(f"one line (or None) per date is needed ({len(dates)}), got {len(lines)}")
    slope = np.array([f["slope"] if f else np.nan for f in lines], np.float32)[:, None, None]
    icpt = np.array([f["intercept"] if f else np.nan for f in lines], np.float32)[:, None, None]

    counts = Counts("below_range", "above_range")
    porosity = (series or _series.SeriesOptions()).porosity
    _series.check_porosity(porosity)

    def kernel(block):
        sm = (block * slope + icpt).astype(np.float32)
        below, above = _series.clip_ssm(sm, porosity, percent=percent)
        counts.add(below_range=below, above_range=above)
        return sm

    res = run_blockwise(stack, output, kernel, out_bands=len(dates), descriptions=list(dates),
                        band_metadata={"QUANTITY": "surface soil moisture", "units": "%" if percent else "m3/m3"},
                        options=options)
    _series.write_clip_metadata(output, counts.values, porosity)
    return {"infinite": res["infinite"], "empty_bands": res.get("empty_bands", []), **counts.values,
            "clipped": _series.clipped(counts.values)}
