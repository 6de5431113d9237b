"""Does a soil-moisture series respond to rain? The check a user can repeat on their own site (issue #29).

Surface soil moisture rises when it rains and falls in dry spells. Without in-situ probes, a rain record (a
gauge, or daily reanalysis such as ERA5/AgERA5) still tells whether a retrieved SSM series holds that signal.
Three numbers, each defined here once:

- ``rho``: Spearman's rank correlation between the SSM change of consecutive acquisitions (ΔSSM = SSM_{i+1} −
  SSM_i, of the area's median SSM) and the rain that fell between the two acquisitions (mm). Positive when the
  series gets wetter after rain and drier without it; noise gives about 0.
- ``wet_minus_dry``: the mean SSM (area median) of the acquisitions with at least ``wet_mm`` of rain in the
  ``wet_days`` days before them, minus the mean SSM of the acquisitions after at least ``dry_days`` dry days
  (each 24 h before the acquisition with less than ``dry_day_mm`` of rain, the ETCCDI dry day), m³/m³.
- ``p_value``: how often the rain series shifted in time gives a correlation at least as high:
  ``(1 + #{ρ_shift ≥ ρ}) / (1 + n_shifts)`` over circular shifts of the daily rain by ``min_shift_days`` …
  ``n_days − min_shift_days`` days (a one-sided permutation test that keeps the rain's own statistics and the
  series' sampling; shifts are spread evenly when there are more than ``max_shifts``). Read it with ρ: it
  asks whether the *timing* of the rain matters, against a null that keeps the sampling. Where the steps of a
  series follow the interval lengths (two orbits pooled, alternating 5- and 1-day steps), the shifted
  correlations centre far from 0 (``null_median``) and a ρ near 0 can still come out "significant".

Real Sentinel-1 series at four agricultural sites, change detection run one relative orbit at a time, gave
ρ 0.31-0.45, wet − dry 0.043-0.057 m³/m³ and p < 0.05 at every site (issue #29); the same series pooled over
two relative orbits gave ρ −0.07/−0.06.

Time matters: daily rain is spread evenly over its UTC day and cumulated, so that the rain "between" two
acquisitions at 17:32 counts 17.5/24 of the first day's rain toward the pair that ends that day. A band known
to the day only (no time of day) is placed at noon.
"""

from __future__ import annotations

import csv
import datetime as _dt
from dataclasses import dataclass

import numpy as np

from ..io import dates as _dates
from ..io import raster as _raster

DAY_S = 86400


class RainCheckError(ValueError):
    """A rain check that would be meaningless; ``about`` says which input can fix it: ``"rain"`` (the rain
    series or its column), ``"pairs"`` (the SSM series), ``"wet"`` or ``"dry"`` (the wet or dry thresholds),
    ``"area"`` (the area)."""

    def __init__(self, message, about):
        super().__init__(message)
        self.about = about


@dataclass(frozen=True)
class RainCheck:
    """Thresholds of the rain check (module docstring). Defaults: the issue's definitions (≥ 10 mm of rain,
    ≥ 7 dry days); 3 days for "rain in the preceding days"; 1 mm, the ETCCDI wet-day threshold; shifts of at
    least 30 days (beyond the rain's own autocorrelation); at least 10 pairs and 2 wet and 2 dry acquisitions."""

    wet_mm: float = 10.0
    wet_days: float = 3.0
    dry_days: int = 7
    dry_day_mm: float = 1.0
    min_shift_days: int = 30
    max_shifts: int = 999
    min_pairs: int = 10
    min_events: int = 2


def _rain_error(message):
    return RainCheckError(message, "rain")


def read_rain_csv(path, *, column="rain_mm", date_column=None):
    """``(days, rain)`` of a daily rain CSV: datetime64[D] and float64 mm, in date order.

    ``date_column`` defaults to a column named ``date``/``time``/``day`` (any case), else the first column;
    dates are ISO (``2018-01-31``, a time after the date is ignored). Empty cells are NaN (missing). Raises
    ``ValueError`` naming the column, the row or the date for a missing column, text that is no number, negative
    rain or a date given twice.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = list(reader)
    if not header:
        raise _rain_error(f"'{path}' has no header row: give a CSV whose first row names the columns (date,rain_mm)")
    if column not in header:
        raise _rain_error(f"'{path}' has no column '{column}'; its columns are {', '.join(header)}")
    if date_column is None:
        date_column = next((h for h in header if h.lower() in ("date", "time", "day")), header[0])
    elif date_column not in header:
        raise _rain_error(f"'{path}' has no date column '{date_column}'; its columns are {', '.join(header)}")
    raw = [{(k or "").strip(): v for k, v in r.items()} for r in rows]
    days, rain = [], []
    for i, r in enumerate(raw, start=2):
        text = (r.get(date_column) or "").strip()
        day = _dates.parse_date(text[:10])
        if day is None:
            raise _rain_error(f"'{path}' row {i}: '{text}' in column '{date_column}' is no ISO date (YYYY-MM-DD)")
        value = (r.get(column) or "").strip()
        try:
            mm = float(value) if value else np.nan
        except ValueError:
            raise _rain_error(f"'{path}' row {i}: '{value}' in column '{column}' is no number (mm of rain)") from None
        if mm < 0:
            raise _rain_error(f"'{path}' row {i}: rain {mm:g} mm in column '{column}' is negative")
        days.append(np.datetime64(day, "D"))
        rain.append(mm)
    if not days:
        raise _rain_error(f"'{path}' holds no rows of rain")
    days = np.array(days)
    order = np.argsort(days, kind="stable")
    days, rain = days[order], np.array(rain, np.float64)[order]
    twice = days[1:][days[1:] == days[:-1]]
    if twice.size:
        raise _rain_error(f"'{path}' gives the rain of {twice[0]} twice: one row per day")
    return days, rain


def acquisition_seconds(times):
    """Seconds since 1970 (float) of each band from :func:`~sarsense.algorithms.io.dates.band_times` pairs: the
    time when known, noon when the band is dated to the day only."""
    out = []
    for start, end in times:
        s = start.astype("datetime64[s]").astype(np.int64)
        e = end.astype("datetime64[s]").astype(np.int64)
        out.append(float(s) if s == e else (s + e) / 2.0)
    return np.array(out, np.float64)


def _cumulative(rain):
    """Cumulative rain at each midnight of the daily series (mm): rain spread evenly over its day."""
    return np.concatenate([[0.0], np.cumsum(rain)])


def _rain_until(cum, day0_s, t):
    """Cumulative rain up to times ``t`` (s since 1970), linear within each day."""
    x = (np.asarray(t, np.float64) - day0_s) / DAY_S
    return np.interp(x, np.arange(cum.size, dtype=np.float64), cum)


def rain_window(days, rain, t, *, check: RainCheck = RainCheck()):
    """The part of the daily rain series an acquisition series at ``t`` (s since 1970) needs: ``(day0_s, rain)``
    from the day ``max(wet_days, dry_days)`` before the first acquisition to the day of the last one.

    Raises ``ValueError`` naming the dates when the series does not cover that span, or misses days in it.
    """
    lead = int(np.ceil(max(check.wet_days, check.dry_days)))
    first = np.datetime64(int(np.floor(t.min() / DAY_S)), "D") - np.timedelta64(lead, "D")
    last = np.datetime64(int(np.floor(t.max() / DAY_S)), "D")
    if days[0] > first or days[-1] < last:
        raise RainCheckError(f"the rain series covers {days[0]} … {days[-1]}, but the acquisitions need rain from "
                             f"{first} ({lead} days before the first acquisition) to {last}", "rain")
    keep = (days >= first) & (days <= last)
    sel, mm = days[keep], rain[keep]
    want = np.arange(first, last + np.timedelta64(1, "D"))
    if sel.size != want.size or not np.isfinite(mm).all():
        missing = np.setdiff1d(want, sel[np.isfinite(mm)])
        raise RainCheckError(f"the rain series misses {missing.size} day(s) between {first} and {last} (first: "
                             f"{missing[0]}): fill them, or give a complete daily series", "rain")
    return float(first.astype("datetime64[s]").astype(np.int64)), mm


def pair_rain(day0_s, rain, t):
    """Rain between consecutive acquisitions at ``t`` (mm, one value per pair)."""
    return np.diff(_rain_until(_cumulative(rain), day0_s, t))


def wet_dry(day0_s, rain, t, *, check: RainCheck = RainCheck()):
    """``(wet, dry)`` boolean per acquisition: at least ``wet_mm`` in the ``wet_days`` before it; every one of
    the ``dry_days`` 24-h periods before it with less than ``dry_day_mm``."""
    cum = _cumulative(rain)
    wet = _rain_until(cum, day0_s, t) - _rain_until(cum, day0_s, t - check.wet_days * DAY_S) >= check.wet_mm
    edges = np.stack([_rain_until(cum, day0_s, t - k * DAY_S) for k in range(check.dry_days + 1)])
    dry = (edges[:-1] - edges[1:] < check.dry_day_mm).all(axis=0)
    return wet, dry


def spearman(a, b):
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import rankdata
    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def response(ssm, t, days, rain, *, check: RainCheck = RainCheck()):
    """The rain check of one SSM series (module docstring).

    Parameters
    ----------
    ssm : array (n,)
        Soil moisture per acquisition (m³/m³; NaN where unknown: those acquisitions are left out, and the pairs
        join the acquisitions on either side).
    t : array (n,)
        Acquisition times, seconds since 1970 (UTC), in band order (:func:`acquisition_seconds`).
    days, rain
        The daily rain series (:func:`read_rain_csv`).

    Returns
    -------
    dict
        ``rho``, ``p_value``, ``n_shifts``, ``null_median`` (median ρ of the shifted rain), ``wet_minus_dry``
        (m³/m³), ``n_pairs``, ``n_wet``, ``n_dry``,
        ``wet_mean``, ``dry_mean``, and per acquisition and pair the arrays the report draws: ``t``, ``ssm``,
        ``wet``, ``dry`` (valid acquisitions, in time order), ``d_ssm``, ``pair_rain`` and ``null`` (the shifted
        correlations). Raises ``ValueError`` for fewer pairs than ``min_pairs``, no rain between any pair, or
        fewer wet or dry acquisitions than ``min_events``.
    """
    ssm = np.asarray(ssm, np.float64)
    t = np.asarray(t, np.float64)
    ok = np.isfinite(ssm)
    order = np.argsort(t[ok], kind="stable")
    s, tt = ssm[ok][order], t[ok][order]
    if s.size - 1 < check.min_pairs:
        raise RainCheckError(f"{max(s.size - 1, 0)} pairs of consecutive acquisitions with soil moisture: at "
                             f"least {check.min_pairs} are needed for a rank correlation", "pairs")
    day0, mm = rain_window(days, rain, tt, check=check)
    between = pair_rain(day0, mm, tt)
    if not (between > 0).any():
        raise RainCheckError(f"no rain fell between any two acquisitions ({s.size - 1} pairs): the correlation with "
                             "rain is meaningless; check the rain column and its units (mm)", "rain")
    d_ssm = np.diff(s)
    if np.all(d_ssm == d_ssm[0]):
        raise RainCheckError(f"the soil moisture changes by the same {d_ssm[0]:g} m³/m³ between every two "
                             "acquisitions: there is nothing to rank", "pairs")
    rho = spearman(d_ssm, between)
    wet, dry = wet_dry(day0, mm, tt, check=check)
    for name, sel, what in (("wet", wet, f"at least {check.wet_mm:g} mm of rain in the {check.wet_days:g} days "
                                         "before them"),
                            ("dry", dry, f"{check.dry_days} dry days (< {check.dry_day_mm:g} mm each) before them")):
        if sel.sum() < check.min_events:
            raise RainCheckError(f"{int(sel.sum())} acquisition(s) with {what}: at least {check.min_events} are "
                                 f"needed for the {name} side of wet − dry", name)
    null = _shifted(day0, mm, tt, d_ssm, check)
    p = (1 + np.sum(null >= rho)) / (1 + null.size) if np.isfinite(rho) else float("nan")
    return {"rho": rho, "p_value": float(p), "n_shifts": int(null.size), "null_median": float(np.median(null)),
            "wet_minus_dry": float(s[wet].mean() - s[dry].mean()), "wet_mean": float(s[wet].mean()),
            "dry_mean": float(s[dry].mean()), "n_pairs": int(d_ssm.size), "n_wet": int(wet.sum()),
            "n_dry": int(dry.sum()), "t": tt, "ssm": s, "wet": wet, "dry": dry, "d_ssm": d_ssm,
            "pair_rain": between, "null": null}


def _shifted(day0, mm, t, d_ssm, check):
    """Spearman ρ of ``d_ssm`` with the rain between pairs of the daily series circularly shifted (module note)."""
    n = mm.size
    shifts = np.arange(check.min_shift_days, n - check.min_shift_days + 1)
    if shifts.size > check.max_shifts:
        shifts = np.unique(np.linspace(shifts[0], shifts[-1], check.max_shifts).round().astype(int))
    return np.array([spearman(d_ssm, pair_rain(day0, np.roll(mm, k), t)) for k in shifts], np.float64)


def per_pixel_rho(stack, t, days, rain, *, check: RainCheck = RainCheck()):
    """Spearman ρ of every pixel's own ΔSSM with the rain between its consecutive valid acquisitions.

    ``stack`` (n, pixels) holds sampled pixels' SSM; pixels with fewer than ``min_pairs`` pairs are NaN.
    """
    stack = np.asarray(stack, np.float64)
    t = np.asarray(t, np.float64)
    order = np.argsort(t, kind="stable")
    stack, t = stack[order], t[order]
    day0, mm = rain_window(days, rain, t[np.isfinite(stack).any(axis=1)] if np.isfinite(stack).any() else t,
                           check=check)
    cum = _cumulative(mm)
    at = _rain_until(cum, day0, t)
    out = np.full(stack.shape[1], np.nan)
    for j in range(stack.shape[1]):
        ok = np.isfinite(stack[:, j])
        if ok.sum() - 1 >= check.min_pairs:
            out[j] = spearman(np.diff(stack[ok, j]), np.diff(at[ok]))
    return out


#: Pixels of a band the area median is taken from: a larger band is read every k-th row and column.
MAX_READ_PIXELS = 4_000_000


def _strided(ds, band, k, strip=512):
    """Band ``band`` of ``ds`` every ``k``-th row and column (float32, nodata NaN, scale applied), read in strips."""
    step = max(k, (strip // k) * k)
    parts = [_raster.read_window(ds, [band], 0, y0, ds.RasterXSize, min(step, ds.RasterYSize - y0))[0][::k, ::k]
             for y0 in range(0, ds.RasterYSize, step)]
    return np.concatenate(parts)


def read_series(path, *, mask=None, max_pixels=2000):
    """The area median SSM per band of a dated stack, and a sample of pixels' series.

    ``mask`` is an optional raster on the stack's grid, or several (a pixel is in the area where every one is
    > 0). Returns ``(median, sample,
    n_valid)``: float64 (bands,), (bands, ≤ ``max_pixels``) and the valid pixel count per band. Bands are read one
    at a time, in strips, their scale and nodata applied; a band of more than :data:`MAX_READ_PIXELS` pixels is
    read every k-th row and column (the median of a regular sample of the area).
    """
    ds = _raster.open_dataset(path)
    k = max(1, int(np.ceil(np.sqrt(ds.RasterXSize * ds.RasterYSize / MAX_READ_PIXELS))))
    inside = None
    masks = [] if mask is None else [mask] if isinstance(mask, str) else list(mask)
    for m in masks:
        this = np.nan_to_num(_strided(_raster.open_dataset(m), 1, k)) > 0
        inside = this if inside is None else inside & this
    if inside is not None:
        if not inside.any():
            raise RainCheckError("the area holds no pixel of the stack", "area")
    n = ds.RasterCount
    pick = None
    median, valid, sample = np.full(n, np.nan), np.zeros(n, np.int64), []
    for b in range(1, n + 1):
        arr = _strided(ds, b, k).astype(np.float64)
        vals = arr[inside] if inside is not None else arr.ravel()
        if pick is None:
            step = max(1, vals.size // max_pixels)
            pick = np.arange(0, vals.size, step)[:max_pixels]
        ok = np.isfinite(vals)
        valid[b - 1] = int(ok.sum())
        if ok.any():
            median[b - 1] = float(np.median(vals[ok]))
        sample.append(vals[pick])
    return median, np.array(sample), valid


def rain_response_file(stack, rain_csv, *, column="rain_mm", mask=None, check: RainCheck = RainCheck()):
    """The rain check (:func:`response`) of a dated SSM stack against a daily rain CSV, file to file.

    The area median SSM of each band (inside ``mask``, one raster or several, when given: :func:`read_series`) is
    the series; its
    acquisition times come from the bands (:func:`~sarsense.algorithms.io.dates.band_times`, noon where only the
    date is known). Also the per-pixel ρ of a sample of pixels (:func:`per_pixel_rho`): its median is
    ``pixel_rho_median``. Returns :func:`response`'s dict with ``pixel_rho`` (the sample), ``pixel_rho_median``,
    ``dates`` (ISO time of each valid acquisition) and ``timed`` (how many bands have a time of day).
    """
    times = _dates.band_times(stack)
    t = acquisition_seconds(times)
    days, rain = read_rain_csv(rain_csv, column=column)
    median, sample, _ = read_series(stack, mask=mask)
    out = response(median, t, days, rain, check=check)
    out["pixel_rho"] = per_pixel_rho(sample, t, days, rain, check=check)
    finite = out["pixel_rho"][np.isfinite(out["pixel_rho"])]
    out["pixel_rho_median"] = float(np.median(finite)) if finite.size else float("nan")
    out["dates"] = [str(np.datetime64(int(round(x)), "s")) for x in out["t"]]
    out["timed"] = int(sum(1 for s, e in times if s == e))
    return out


def iso_day(seconds):
    """The UTC date of ``seconds`` since 1970 as ISO text."""
    return _dt.datetime.fromtimestamp(float(seconds), _dt.timezone.utc).date().isoformat()


#: |median ρ of the shifted rain| above which the sampling alone makes the correlation (see :func:`sampling_warning`):
#: 0.0 ± 0.05 for one orbit's series on the simulated site, −0.29 … −0.32 for its two orbits pooled.
MAX_NULL_MEDIAN = 0.15


def sampling_warning(result):
    """A sentence when the shifted rain gives a median ρ far from 0 (:data:`MAX_NULL_MEDIAN`): the series' steps
    follow the intervals between acquisitions (e.g. two relative orbits pooled, alternating long and short steps),
    so ρ and its p-value say more about the sampling than about the soil; else None."""
    m = result["null_median"]
    if abs(m) <= MAX_NULL_MEDIAN:
        return None
    return (f"the rain shifted in time gives a median ρ of {m:+.2f} (0 expected): the changes of the series follow the "
            "intervals between acquisitions, not only the rain. A series that mixes relative orbits does this "
            "(alternating long and short steps, each orbit a different mean); run the soil moisture one orbit at a "
            "time and check again")


def _says_simulated(meta):
    return (meta or {}).get("SIMULATED", "").lower() in ("yes", "true", "1")


def simulated(path):
    """True when a band of ``path`` says it holds simulated data (metadata ``SIMULATED=yes``, as the simulators
    write it and the outputs made from them inherit), or the datacube it was read from does (``SOURCE_CUBE``: its
    variable's ``SIMULATED`` attribute)."""
    ds = _raster.open_dataset(path)
    metas = [ds.GetRasterBand(i + 1).GetMetadata() or {} for i in range(ds.RasterCount)]
    if any(_says_simulated(m) for m in metas):
        return True
    cubes = {m["SOURCE_CUBE"] for m in metas if m.get("SOURCE_CUBE")}
    for cube in cubes:
        try:
            src = _raster.open_dataset(cube)
        except ValueError:
            continue                     # the cube moved or was deleted: nothing to tell
        if _says_simulated(src.GetRasterBand(1).GetMetadata()):
            return True
    return False


def pair_rows(result):
    """One row per pair of consecutive acquisitions: ``[from, to, ssm_from, ssm_to, d_ssm, rain_mm, wet_to,
    dry_to]`` (times ISO UTC; wet/dry of the later acquisition)."""
    d = result["dates"]
    s = result["ssm"]
    return [[d[i], d[i + 1], float(s[i]), float(s[i + 1]), float(result["d_ssm"][i]), float(result["pair_rain"][i]),
             bool(result["wet"][i + 1]), bool(result["dry"][i + 1])] for i in range(len(d) - 1)]


def write_report(result, path, *, source, check: RainCheck = RainCheck(), simulated_data=False):
    """The rain check as one HTML file: the numbers, what each one is, and three figures (SSM with the rain,
    ΔSSM against rain between acquisitions, the shifted-rain correlations against the observed one)."""
    from .. import report as _report
    title = "Soil moisture against rain" + (" (SIMULATED data)" if simulated_data else "")
    rep = _report.Report(title, source=source)
    if simulated_data:
        rep.paragraph("The input says it holds SIMULATED data: these numbers show what the chain recovers from a "
                      "simulation, not skill on real data.", note=True)
    warning = sampling_warning(result)
    if warning:
        rep.paragraph("Warning: " + warning + ".", note=True)
    r = result
    rep.table(["number", "value", "what it is"], [
        ["ρ (RHO)", r["rho"], "Spearman rank correlation of ΔSSM (consecutive acquisitions, area median) with the "
                              "rain between them"],
        ["p (P_VALUE)", r["p_value"], f"share of {r['n_shifts']} circular shifts of the daily rain (≥ "
                                      f"{check.min_shift_days} days) giving a ρ at least as high (one-sided)"],
        ["median shifted ρ", r["null_median"], "what the sampling alone gives: read ρ against it"],
        ["wet − dry (WET_MINUS_DRY)", r["wet_minus_dry"],
         f"mean SSM after ≥ {check.wet_mm:g} mm in {check.wet_days:g} days ({r['n_wet']} acquisitions) minus mean "
         f"SSM after {check.dry_days} dry days ({r['n_dry']} acquisitions), m³/m³"],
        ["pairs (N_PAIRS)", r["n_pairs"], "pairs of consecutive acquisitions with soil moisture"],
        ["median pixel ρ", r["pixel_rho_median"], "the same ρ pixel by pixel (a sample), median: speckle lowers it"],
    ], caption="The rain check (real Sentinel-1, change detection per orbit, issue #29: ρ 0.31-0.45, wet − dry "
               "0.043-0.057 m³/m³)", digits=3)
    t = r["t"].astype("datetime64[s]").astype("O")
    fig = _report.figure(9, 3.6)
    ax = fig.add_subplot()
    ax.plot(t, r["ssm"], "-", color="#2166ac", lw=1)
    ax.plot(np.array(t)[r["wet"]], r["ssm"][r["wet"]], "o", ms=3, color="#2166ac", label="after rain")
    ax.plot(np.array(t)[r["dry"]], r["ssm"][r["dry"]], "o", ms=3, color="#8c510a", label="after a dry spell")
    ax.set_ylabel("SSM, area median (m³/m³)")
    ax.legend(fontsize=8, loc="upper left")
    ax2 = ax.twinx()
    ax2.bar(t[1:], r["pair_rain"], width=2.0, color="#555555", alpha=0.6)
    ax2.set_ylabel("rain since the previous acquisition (mm)")
    rep.image(fig, "Soil moisture (area median) and the rain between acquisitions")
    fig = _report.figure(9, 3.6)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.plot(r["pair_rain"], r["d_ssm"], ".", ms=4, color="#2166ac")
    ax.axhline(0, color="#888888", lw=0.5)
    ax.set_xlabel("rain between acquisitions (mm)")
    ax.set_ylabel("ΔSSM (m³/m³)")
    ax.set_title(f"ρ = {r['rho']:+.2f}", fontsize=9)
    bx.hist(r["null"], bins=30, color="#bbbbbb")
    bx.axvline(r["rho"], color="#b2182b", lw=2)
    bx.set_xlabel("ρ with the rain shifted in time")
    bx.set_title(f"p = {r['p_value']:.3f}", fontsize=9)
    rep.image(fig, "ΔSSM against the rain between acquisitions; ρ with the rain shifted (grey) and as observed (red)")
    return rep.write(path)
