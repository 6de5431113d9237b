"""Which acquisitions of a dated stack belong to one orbit: the series a time-series method treats on its own.

Sentinel-1 images one place from several relative orbits (different incidence angle and look direction: 0.4-0.8
dB apart in mean VV over one field, issue #29). A change-detection reference (the driest and wettest
backscatter, the series minimum of ΔVV; Fayad et al. 2022, eq. 2 and 6) mixes them into a sawtooth unless each
relative orbit is its own series (the TU Wien practice: one reference per relative orbit).

A band's orbit is its ``RELATIVE_ORBIT`` metadata (what 'Import Sentinel-1 GRD' writes, with ``ORBIT_PASS`` and
``PLATFORM``). Without it, one relative orbit passes over a place at the same time of day (to within seconds: the
orbit is kept in a ±100 m tube and repeats every 12 days), and two orbits that see it are minutes apart (the
hidden set's 17:32 and 17:40 UTC): acquisitions within :data:`TOLERANCE_S` of each other in time of day are one
orbit. Bands with a date only cannot be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dates as _dates
from . import raster as _raster

#: Same orbit when the time of day is within this many seconds (about 3 minutes): far more than one orbit's spread
#: over a site, less than the minutes between two orbits that see it.
TOLERANCE_S = 180.0
_DAY_S = 86400.0
#: How groups were formed, as :attr:`OrbitGroup.basis` says it.
BASES = ("relative orbit", "time of day", "date only")


@dataclass(frozen=True)
class Acquisition:
    """One band of a dated stack: its ISO ``date``, ``start`` and ``end`` (datetime64[s], UTC; equal when the time
    of day is known, else the whole day: :func:`~.dates.band_times`), and ``relative_orbit``, ``orbit_pass``,
    ``platform`` as its metadata gives them (None where not)."""

    date: str
    start: np.datetime64
    end: np.datetime64
    relative_orbit: str | None = None
    orbit_pass: str | None = None
    platform: str | None = None

    @property
    def timed(self):
        """The time of day is known."""
        return self.start == self.end

    @property
    def time_of_day_s(self):
        """Seconds since midnight UTC (None without a time of day)."""
        return float((self.start - self.start.astype("datetime64[D]")) / np.timedelta64(1, "s")) if self.timed \
            else None


@dataclass(frozen=True)
class OrbitGroup:
    """One series: its ``label`` ("relative orbit 88, ascending", "acquisitions at 17:32 UTC ±3 min"), the 0-based
    ``bands`` it holds (band order) and the ``basis`` it was found on (:data:`BASES`)."""

    label: str
    bands: tuple[int, ...]
    basis: str


def band_acquisitions(path) -> list[Acquisition]:
    """Every band of the dated stack ``path`` as an :class:`Acquisition` (date and time as
    :func:`~.dates.band_times` reads them; orbit, pass and platform from the band's metadata, or the file's for a
    one-band file). Raises ``ValueError`` naming a band without a date."""
    ds = _raster.open_dataset(path)
    days, times = _dates.band_dates(path), _dates.band_times(path)
    file_meta = (ds.GetMetadata() or {}) if ds.RasterCount == 1 else {}
    out = []
    for i, (day, (start, end)) in enumerate(zip(days, times)):
        meta = {**file_meta, **(ds.GetRasterBand(i + 1).GetMetadata() or {})}
        orbit = str(meta.get("RELATIVE_ORBIT") or "").strip() or None
        if orbit is not None and orbit.lstrip("0").isdigit():
            orbit = orbit.lstrip("0")
        out.append(Acquisition(day, start, end, orbit, str(meta.get("ORBIT_PASS") or "").upper() or None,
                               str(meta.get("PLATFORM") or "").upper() or None))
    return out


def _clock(seconds):
    s = int(round(seconds)) % int(_DAY_S)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _by_time_of_day(items, tolerance_s):
    """``items`` (band index, seconds of day) cut into clusters: the circle of the day opened at its largest gap,
    then each cluster takes the times within ``tolerance_s`` of its first one (no chaining beyond it)."""
    items = sorted(items, key=lambda it: it[1])
    secs = [s for _, s in items]
    gaps = [b - a for a, b in zip(secs, secs[1:])] + [secs[0] + _DAY_S - secs[-1]]
    cut = int(np.argmax(gaps)) + 1          # the last gap is the one across midnight
    ordered = items[cut:] + [(i, s + _DAY_S) for i, s in items[:cut]]
    clusters = []
    for i, s in ordered:
        if clusters and s - clusters[-1][0][1] <= tolerance_s:
            clusters[-1].append((i, s))
        else:
            clusters.append([(i, s)])
    return clusters


def orbit_groups(acquisitions, *, tolerance_s=TOLERANCE_S) -> list[OrbitGroup]:
    """The series of ``acquisitions`` (:func:`band_acquisitions`), in the order of their first band.

    Bands with a ``relative_orbit`` are grouped by it ("relative orbit 88, ascending"); bands without one but with
    a time of day join the orbit group whose times lie within ``tolerance_s`` of theirs, or are grouped by time of
    day (circular, so 23:59 and 00:01 are one; each group spans at most ``tolerance_s`` from its earliest time:
    "acquisitions at 17:32 UTC ±3 min"); bands with a date only form one group of basis "date only" (the caller
    says that their orbits cannot be told apart).
    """
    acqs = list(acquisitions)
    if tolerance_s <= 0:
        raise ValueError(f"the time-of-day tolerance must be positive, got {tolerance_s} s")
    groups = {}
    for i, a in enumerate(acqs):
        if a.relative_orbit is not None:
            groups.setdefault(("relative orbit", a.relative_orbit), []).append(i)
    loose = [(i, a.time_of_day_s) for i, a in enumerate(acqs) if a.relative_orbit is None and a.timed]
    for i, s in loose:
        near = [key for key, idx in groups.items()
                if any(acqs[j].timed and abs((acqs[j].time_of_day_s - s + _DAY_S / 2) % _DAY_S - _DAY_S / 2)
                       <= tolerance_s for j in idx)]
        if len(near) == 1:
            groups[near[0]].append(i)
    placed = {i for idx in groups.values() for i in idx}
    rest = [(i, s) for i, s in loose if i not in placed]
    for cluster in (_by_time_of_day(rest, tolerance_s) if rest else []):
        centre = float(np.median([s for _, s in cluster]))
        groups[("time of day", _clock(centre))] = [i for i, _ in cluster]
    undated = [i for i, a in enumerate(acqs) if a.relative_orbit is None and not a.timed]
    if undated:
        groups[("date only", "")] = undated
    out = []
    for (basis, key), idx in groups.items():
        idx = tuple(sorted(idx))
        if basis == "relative orbit":
            passes = sorted({acqs[i].orbit_pass.lower() for i in idx if acqs[i].orbit_pass})
            label = f"relative orbit {key}" + (f", {'/'.join(passes)}" if passes else "")
        elif basis == "time of day":
            label = f"acquisitions at {key} UTC ±{tolerance_s / 60:g} min"
        else:
            label = "acquisitions with a date only (no time of day, no orbit)"
        out.append(OrbitGroup(label, idx, basis))
    return sorted(out, key=lambda g: g.bands[0])


def group_dates(group, dates):
    """The dates of ``group``'s bands (``dates``: the stack's, in band order)."""
    return [dates[i] for i in group.bands]
