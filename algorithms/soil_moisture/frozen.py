"""Frozen soil and snow: the temperature screen of the soil-moisture series (issue #29).

When the soil freezes its liquid water turns to ice, whose permittivity (≈3.2) is that of dry soil, not of water
(≈80): C-band backscatter drops by 2-3 dB and a change detection reads the date as the driest of the series, and
makes it the dry reference. Dry snow on the ground, which comes with sub-zero air, does the same. The TU Wien
scatterometer soil moisture leaves frozen soil and snow out for this reason (Wagner et al. 1999; Naeimi et al.
2012, its surface state flag); Fayad et al. (2022, §4) trace their worst stations (GROW, RMSE 0.07 m³/m³) to the
freeze-thaw of a cold climate. The screen leaves such dates out: a pixel-date is *frozen* where the air (or surface)
temperature of its day is below ``FROZEN_BELOW`` (°C, default 0).

A daily mean air temperature below 0 °C is a conservative proxy for frozen topsoil: soil water freezes at or
slightly below 0 °C (dissolved salts and capillary binding depress its freezing point), and the soil lags the air
by hours, so the rule flags the frozen days plus a margin of cold unfrozen ones, which are only lost dates, not
wrong ones. What it can miss is a day whose mean is above 0 °C after a frozen night, with the acquisition in the
morning (Sentinel-1's descending pass is at about 06:00 local time): raise the threshold (e.g. 1-2 °C) to screen
those too. ERA5-Land 2 m temperature (Muñoz-Sabater et al. 2021) or AgERA5 give the daily mean anywhere.

Temperature is given as

- a CSV of daily air temperature (an ERA5/ERA5-Land/AgERA5 export: a date column and a temperature column, in °C
  or K, told apart by the column's name or by the values' range); several rows on one day are averaged (hourly
  ERA5), and each acquisition is matched to its UTC day: one flag per date (:func:`read_temperature_csv`,
  :func:`screen_from_table`);
- a dated raster stack of air or surface temperature (°C or K), on any grid (put on the stack's grid by the
  caller), matched by date: one flag per pixel-date (:func:`screen_from_raster`).

A date without temperature is *unknown*: kept (not screened), flagged 255 and named in the log.
Jobs treat a frozen pixel-date as missing before any reference (dry/wet extremes, ΔVV minimum) is formed, and write
NaN there (:func:`screen`).
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..io.dates import parse_date, parse_time

#: Default threshold (°C): frozen below it (see the module docstring for why 0 °C of air temperature).
FROZEN_BELOW_C = 0.0
#: Flag values of the frozen-flag stack (uint8, one band per date; 255 is the house's class nodata).
NOT_FROZEN, FROZEN, UNKNOWN = 0, 1, 255
#: Class table of the flag stack (house class-map convention: value, name, colour).
FLAG_CLASSES = [{"value": NOT_FROZEN, "name": "not frozen", "color": "#b8d98c"},
                {"value": FROZEN, "name": "frozen or snow (screened)", "color": "#4f8fd6"}]
#: Plausible air or surface temperature on Earth, in °C and in K (−90 °C, Vostok's record low, to 60 °C).
CELSIUS_RANGE = (-90.0, 60.0)
KELVIN_RANGE = (183.0, 333.0)
#: Column names taken as the date, and as the temperature (lower case; first found wins; see :func:`_columns`).
DATE_COLUMNS = ("date", "time", "datetime", "valid_time", "day", "timestamp", "date_utc", "time_utc")
TEMPERATURE_WORDS = ("temperature", "temp", "t2m", "tas", "tair", "t2")
_KELVIN_NAMES = ("kelvin", "[k]", "(k)", "_k", " k", "degk")
_CELSIUS_NAMES = ("celsius", "°c", "degc", "deg_c", "[c]", "(c)", "_c", " c")


@dataclass(frozen=True)
class TemperatureTable:
    """Daily mean temperature (°C) read from a CSV: ``daily`` maps an ISO date to °C."""

    daily: dict
    column: str
    unit: str                  # "°C" or "K", as the file gives it
    rows: int
    skipped: int = 0           # rows without a date or a value

    def describe(self):
        return (f"column '{self.column}' ({self.unit}, {self.rows} rows, {len(self.daily)} days"
                + (f", {self.skipped} rows without a date or value skipped" if self.skipped else "") + ")")


@dataclass(frozen=True)
class FrozenScreen:
    """What a job screens as frozen (the ``frozen`` field of :class:`~.series.SeriesOptions`).

    Per date (``flags``: one :data:`FROZEN`/:data:`NOT_FROZEN`/:data:`UNKNOWN` per date of the stack, from a CSV)
    or per pixel-date (``raster``: a temperature stack on the job's grid, ``bands``: for each date of the stack the
    1-based bands of its day, averaged, empty when unknown; ``kelvin``: its values are K). ``output``: the uint8 flag
    stack to write (optional); ``source``: the temperature's description for the output's metadata.
    """

    below_c: float = FROZEN_BELOW_C
    flags: tuple = ()
    raster: str | None = None
    bands: tuple = ()
    kelvin: bool = False
    source: str = ""
    output: str | None = None
    unknown: tuple = field(default=())          # the dates without temperature (ISO)
    dates: tuple = ()                           # the dates ``flags`` are of (a per-date screen)

    def inputs(self):
        """The extra inputs a job reads for the screen (``[(path, bands)]``; none for a per-date screen)."""
        return [(self.raster, self.read_bands)] if self.raster else []

    @property
    def read_bands(self):
        return sorted({b for day in self.bands for b in day})

    @property
    def n_extra(self):
        return len(self.read_bands)

    def block_flags(self, extra, shape):
        """The flags (uint8, ``shape`` = (dates, rows, cols)) of a block; ``extra`` the screen's bands read."""
        if not self.raster:
            return np.broadcast_to(np.asarray(self.flags, np.uint8)[:, None, None], shape).copy()
        where = {b: k for k, b in enumerate(self.read_bands)}
        out = np.full(shape, UNKNOWN, np.uint8)
        for i, day in enumerate(self.bands):
            if not day:
                continue
            with warnings.catch_warnings():      # a pixel without temperature that day: unknown
                warnings.simplefilter("ignore", RuntimeWarning)
                t = np.nanmean(np.stack([extra[where[b]] for b in day]), axis=0)
            t = t - 273.15 if self.kelvin else t
            out[i] = np.where(np.isfinite(t), np.where(t < self.below_c, FROZEN, NOT_FROZEN), UNKNOWN)
        return out

    def describe(self, n_frozen=None):
        """One line for the output's metadata (``FROZEN_SCREEN``) and the log."""
        what = (f"pixel-dates with temperature below {self.below_c:g} °C from {self.source} left out of the "
                "references and written as NaN")
        return what + (f" ({n_frozen} screened)" if n_frozen is not None else "")


#: The metadata of an output made without a temperature (no screen).
NOT_SCREENED = "not screened: no temperature given (TEMPERATURE), frozen soil and snow may set the dry reference"


def screen(vv, flags):
    """Frozen pixel-dates of ``vv`` (dates, rows, cols) set to NaN in place: the count of those that were valid."""
    hit = flags == FROZEN
    n = int(np.count_nonzero(hit & np.isfinite(vv)))
    vv[hit] = np.nan
    return n


def _is_number(text):
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def _unit_from_name(name):
    low = f" {name.strip().lower()} "
    if any(k in low for k in _KELVIN_NAMES):
        return "K"
    if any(k in low for k in _CELSIUS_NAMES):
        return "°C"
    return None


def temperature_unit(values, *, name="", where="the temperature"):
    """"K" or "°C" for temperature ``values`` (the column's ``name`` first, else their range); ValueError for
    values neither in −90..60 °C nor in 183..333 K."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        raise ValueError(f"{where} has no numeric value")
    lo, hi = float(v.min()), float(v.max())
    unit = _unit_from_name(name)
    ranges = {"°C": CELSIUS_RANGE, "K": KELVIN_RANGE}
    if unit is None:
        unit = next((u for u, (a, b) in ranges.items() if a <= lo and hi <= b), None)
    if unit is None or not (ranges[unit][0] <= lo and hi <= ranges[unit][1]):
        said = f" (its name says {unit})" if _unit_from_name(name) else ""
        raise ValueError(f"{where} holds values {lo:g} … {hi:g}{said}: no air or surface temperature in °C "
                         f"({CELSIUS_RANGE[0]:g}..{CELSIUS_RANGE[1]:g}) or K "
                         f"({KELVIN_RANGE[0]:g}..{KELVIN_RANGE[1]:g}). "
                         "Give daily temperature in °C or K (e.g. ERA5-Land 2 m temperature), with the fill values "
                         "left empty")
    return unit


def _columns(header, rows, column, path):
    low = [h.strip().lower() for h in header]
    date_col = next((low.index(c) for c in DATE_COLUMNS if c in low), None)
    if date_col is None:
        head = rows[:20]
        date_col = next((j for j in range(len(header))
                         if sum(parse_date(r[j]) is not None for r in head if j < len(r)) >= max(1, len(head) // 2)),
                        None)
    if date_col is None:
        raise ValueError(f"the temperature CSV '{path}' has no date column (columns: {', '.join(header)}): give one "
                         "named 'date' (YYYY-MM-DD, or a date and time in UTC) and one of temperature")
    numeric = [j for j in range(len(header)) if j != date_col
               and sum(_is_number(r[j]) for r in rows if j < len(r)) >= max(1, len(rows) // 2)]
    if column:
        if column.strip().lower() not in low:
            raise ValueError(f"the temperature CSV '{path}' has no column '{column}' (columns: {', '.join(header)})")
        return date_col, low.index(column.strip().lower())
    if len(numeric) == 1:
        return date_col, numeric[0]
    named = [j for j in numeric if any(w in low[j] for w in TEMPERATURE_WORDS)]
    plain = [j for j in named if "min" not in low[j] and "max" not in low[j]]
    for hit in (named, [j for j in plain if "mean" in low[j] or "avg" in low[j]], plain):
        if len(hit) == 1:             # several: the daily mean (AgERA5 has Min, Max and Mean columns)
            return date_col, hit[0]
    if not numeric:
        raise ValueError(f"the temperature CSV '{path}' has no numeric temperature column (columns: "
                         f"{', '.join(header)}): give one of daily air temperature in °C or K")
    names = ", ".join(header[j] for j in numeric)
    raise ValueError(f"the temperature CSV '{path}' has several numeric columns ({names})"
                     " and none is plainly the mean temperature: keep the date and one temperature column, or name "
                     "it 'temperature'")


def read_temperature_csv(path, *, column=None) -> TemperatureTable:
    """Daily mean air temperature (°C) of a CSV (ERA5 / ERA5-Land / AgERA5 export): see the module docstring.

    The delimiter (comma, semicolon, tab) is sniffed; lines starting with '#' are comments. The date column is the
    first named as in :data:`DATE_COLUMNS`, else the first holding dates; the temperature column is ``column``, the
    only numeric one, or the one named like a (mean) temperature. A row's UTC day is its date (a time, when given,
    is read as UTC); rows of one day are averaged. Raises ValueError for a file without a date or a numeric
    temperature column, or with values that are no temperature (:func:`temperature_unit`).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read the temperature CSV '{path}': {err}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise ValueError(f"the temperature CSV '{path}' has no data rows: give a header and one row per day")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    table = list(csv.reader(lines, dialect))
    header, rows = [h.strip() for h in table[0]], table[1:]
    d, t = _columns(header, rows, column, path)
    sums, skipped = {}, 0
    for r in rows:
        day = None
        if d < len(r):
            when = parse_time(r[d])
            day = str(when.astype("datetime64[D]")) if when is not None else parse_date(r[d])
        if day is None or t >= len(r) or not _is_number(r[t]):
            skipped += 1
            continue
        s = sums.setdefault(day, [0.0, 0])
        s[0] += float(r[t])
        s[1] += 1
    if not sums:
        raise ValueError(f"the temperature CSV '{path}' has no row with both a date and a numeric temperature in "
                         f"column '{header[t]}'")
    means = {k: s / n for k, (s, n) in sums.items()}
    unit = temperature_unit(list(means.values()), name=header[t], where=f"column '{header[t]}' of '{path}'")
    daily = {k: (v - 273.15 if unit == "K" else v) for k, v in sorted(means.items())}
    return TemperatureTable(daily, header[t], unit, len(rows), skipped)


def screen_from_table(table: TemperatureTable, dates: Sequence[str], *, below_c=FROZEN_BELOW_C, source="",
                      output=None) -> FrozenScreen:
    """One flag per date of the stack (ISO UTC dates): frozen where the day's mean is below ``below_c`` °C."""
    flags = tuple(UNKNOWN if d not in table.daily else FROZEN if table.daily[d] < below_c else NOT_FROZEN
                  for d in dates)
    return FrozenScreen(below_c=float(below_c), flags=flags, source=source, output=output,
                        unknown=tuple(d for d in dates if d not in table.daily), dates=tuple(dates))


def screen_from_raster(path, raster_dates: Sequence[str], dates: Sequence[str], *, kelvin, below_c=FROZEN_BELOW_C,
                       source="", output=None) -> FrozenScreen:
    """A per-pixel screen from a temperature stack ``path`` on the job's grid (bands dated ``raster_dates``; several
    bands on one day are averaged); dates of the stack it lacks are unknown."""
    by_day = {}
    for b, day in enumerate(raster_dates, start=1):
        by_day.setdefault(day, []).append(b)
    bands = tuple(tuple(by_day.get(d, ())) for d in dates)
    return FrozenScreen(below_c=float(below_c), raster=path, bands=bands, kelvin=bool(kelvin), source=source,
                        output=output, unknown=tuple(d for d in dates if d not in by_day))


def job_outputs(screen_, dates):
    """What a job adds to its :func:`~sarsense.algorithms.io.engine.run_blockwise` call for the screen's flag stack:
    ``(outputs, dtypes, descriptions, band_metadata)``, empty lists without one."""
    if screen_ is None or not screen_.output:
        return [], [], [], []
    meta = {"QUANTITY": "frozen soil flag", "classes": _classes_json(), "FROZEN_BELOW_C": screen_.below_c}
    return [screen_.output], [np.uint8], [list(dates)], [meta]


def job_metadata(screen_):
    """The dataset metadata an SSM output gets: how it was screened (``FROZEN_SCREEN``)."""
    return {"FROZEN_SCREEN": screen_.describe() if screen_ is not None else NOT_SCREENED}


def screen_samples(values, dates, screen_):
    """Station samples (``values`` per sample, ``dates`` their ISO dates) with those of frozen dates NaN (a per-date
    ``screen_``; None leaves them): ``(values, count of valid samples screened)``."""
    out = np.asarray(values, np.float64).copy()
    if screen_ is None:
        return out, 0
    cold = {d for d, f in zip(screen_.dates, screen_.flags) if f == FROZEN}
    hit = np.isin(np.asarray(dates).astype(str), sorted(cold)) & np.isfinite(out)
    out[hit] = np.nan
    return out, int(hit.sum())


def _classes_json():
    import json
    return json.dumps(FLAG_CLASSES)
