"""Linear regression of soil moisture on backscatter, per date or for all dates (the Miyankale study, "004",
§3.1 and table 1: one line per acquisition, scored by R² and RMSE)."""

from __future__ import annotations

import numpy as np


def fit_line(x, y):
    """Ordinary least squares ``y = slope·x + intercept`` over the finite pairs.

    Returns dict ``slope``, ``intercept``, ``r2`` (``1 − SS_res/SS_tot``), ``rmse`` (of the residuals, divided
    by n as 004 table 1 reports the fit's own error) and ``n``. Fewer than 3 pairs, or x constant: ValueError.
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


def regress(dates, x, y, *, per_date=True):
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
