"""In-situ soil moisture: ISMN downloads and the Raam network's CSV files, read without the ``ismn`` package.

ISMN (International Soil Moisture Network, Dorigo et al. 2021, HESS 25:5749-5804) ships one ``.stm`` file
per sensor and variable, in ``<network>/<station>/`` folders, named
``<CSE>_<network>_<station>_<variable>_<depth from>_<depth to>_<sensor>_<start>_<end>.stm``, in two
layouts (the ``ismn`` package's readers, version 1.5.4, define both the same way):

- **header + values**: a first line ``CSE network station lat lon elevation depth_from depth_to sensor``,
  then one line per reading ``YYYY/MM/DD HH:MM value ISMN-flag original-flag``;
- **CEOP separate**: every line ``date time date time CSE network station lat lon elevation depth_from
  depth_to value ISMN-flag original-flag`` (15 fields; nominal then actual time, the nominal one is used).

Times are UTC. ISMN quality flags (Dorigo et al. 2013, VZJ 12(3)): ``G`` good, ``D01``…``D10`` dubious,
``C01``…``C03`` out of range, ``M`` missing, several joined by commas. A reading is kept when every one
of its flags is in the accepted set. The ``ismn`` package is not used at run time: its dependency tree
(pandas, xarray …) does not fit QGIS's Python; the tests check these counts against it where it installs.

The Raam network (Benninga et al. 2018, ESSD 10:61-79) as shipped in ``resources/sample_data``: daily
means (``station,date,vwc_5cm_m3m3,…``) and a station list (``;``-separated, ``,`` decimals). A daily
mean stands for the whole UTC day, so each reading carries the length of the period it covers.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

#: Variables of ISMN files that are soil moisture (m³/m³).
SOIL_MOISTURE_VARIABLES = ("sm", "soil_moisture")
RAAM_NETWORK = "Raam"
DAY_S = 86400


@dataclass
class Sensor:
    """One in-situ sensor and its kept readings (UTC start times, m³/m³, each covering ``period_s`` seconds)."""

    network: str
    station: str
    sensor: str
    depth_from: float
    depth_to: float
    lon: float
    lat: float
    source: str
    times: np.ndarray = field(repr=False)      # datetime64[s]
    values: np.ndarray = field(repr=False)     # float64
    period_s: int = 0
    n_read: int = 0                            # readings in the file, before the flag filter
    n_skipped: int = 0                         # records of the file that could not be read (Import.skipped)

    @property
    def station_id(self):
        """The station's id, unique across networks: ``network/station``."""
        return f"{self.network}/{self.station}"


@dataclass
class Import:
    """What :func:`read_insitu` found: the kept sensors, the files it could not read (path, reason), the
    sensors left out for their depth, the records it skipped (file, line, reason), the files it decoded with a
    fallback encoding (file, encoding) and how many readings of the kept sensors carry each ISMN flag."""

    sensors: list
    problems: list
    too_deep: list
    layout: str
    skipped: list = field(default_factory=list)
    decoded: list = field(default_factory=list)
    flag_counts: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Files in a folder or a zip
# --------------------------------------------------------------------------------------------
class _Files:
    """The files of a folder or a zip archive: relative paths and their bytes."""

    def __init__(self, source):
        self.source = str(source)
        if os.path.isdir(self.source):
            self.zip = None
            self.names = sorted(os.path.relpath(os.path.join(d, f), self.source).replace(os.sep, "/")
                                for d, _, files in os.walk(self.source) for f in files)
        elif os.path.isfile(self.source):
            try:
                self.zip = zipfile.ZipFile(self.source)
            except (zipfile.BadZipFile, OSError) as err:
                raise ValueError(f"'{self.source}' is neither a folder nor a readable zip archive ({err}): a truncated "
                                 "or damaged download? Download it again, or give the folder it unpacks to") from None
            self.names = sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        else:
            raise ValueError(f"'{self.source}' does not exist: give an ISMN download (zip or unpacked folder)")

    def read(self, name):
        """The bytes of file ``name``; one that cannot be read (a damaged zip member, no permission) raises
        ``ValueError`` with the reason, so that the import names it and goes on."""
        try:
            if self.zip is not None:
                return self.zip.read(name)
            with open(os.path.join(self.source, name), "rb") as fh:
                return fh.read()
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise ValueError(f"it cannot be read from the zip ({err}): a damaged download? Download it again") \
                from None
        except OSError as err:
            raise ValueError(f"it cannot be read ({err.strerror or err})") from None

    def close(self):
        if self.zip is not None:
            self.zip.close()


# --------------------------------------------------------------------------------------------
# ISMN
# --------------------------------------------------------------------------------------------
def parse_flags(text: str) -> frozenset:
    """Accepted ISMN flags from a text such as ``"G"`` or ``"G, D01"`` (upper case, a set)."""
    flags = {f.strip().upper() for f in str(text).replace(";", ",").replace(" ", ",").split(",") if f.strip()}
    if not flags:
        raise ValueError("give at least one accepted ISMN quality flag (G for good values only)")
    return flags


def _name_parts(name):
    """(network, station, variable, depth from, depth to, sensor) from an ISMN file name."""
    base = os.path.basename(name)[:-4]
    parts = base.split("_")
    if len(parts) < 9:
        raise ValueError("the file name does not follow ISMN's CSE_network_station_variable_from_to_sensor_start_end")
    try:
        d_from, d_to = float(parts[4]), float(parts[5])
    except ValueError:
        raise ValueError(f"the depths in the file name ('{parts[4]}', '{parts[5]}') are not numbers") from None
    return parts[1], parts[2], parts[3], d_from, d_to, "_".join(parts[6:-2])


def _same_name(a, b):
    return a.replace("-", "_").lower() == b.replace("-", "_").lower()


def _times(dates, clock):
    """``YYYY/MM/DD`` and ``HH:MM`` texts → datetime64[s]."""
    iso = np.char.add(np.char.add(np.char.replace(np.asarray(dates), "/", "-"), "T"), np.asarray(clock))
    return iso.astype("datetime64[s]")


def _keep(flags, accepted):
    """Readings whose every flag (comma-joined) is accepted."""
    if accepted == {"G"}:                            # the common case, vectorised
        return np.asarray(flags) == "G"
    return np.array([all(f in accepted for f in str(x).split(",")) for x in flags], dtype=bool)


def _count_flags(flags, counts):
    """Add the readings of each single ISMN flag (comma-joined ones counted under each) to ``counts``."""
    kinds, n = np.unique(np.asarray(flags, dtype=str), return_counts=True)
    for kind, k in zip(kinds, n):
        for flag in str(kind).split(","):
            counts[flag] = counts.get(flag, 0) + int(k)


# --------------------------------------------------------------------------------------------
# Text and records: one reader of the files' bytes, one of their records
# --------------------------------------------------------------------------------------------
#: Encodings tried in turn: UTF-8 (with or without byte-order mark), then Windows-1252 (spreadsheets on
#: Windows save CSV in it), then Latin-1, which decodes any byte.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def decode_text(data: bytes, name: str, decoded: list | None = None) -> str:
    """The text of file ``name``'s bytes in the first of :data:`ENCODINGS` that reads it; a fallback (not UTF-8)
    is appended to ``decoded`` as ``(name, encoding)`` so that the import can say so."""
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != ENCODINGS[0] and decoded is not None:
            decoded.append((name, encoding))
        return text
    raise AssertionError("latin-1 decodes any byte")


def parse_records(records, parse, name, skipped):
    """``parse(fields)`` of each ``(line number, fields)`` record; a record it refuses (``ValueError`` with the
    reason) is left out and appended to ``skipped`` as ``(name, line, reason)``. Returns the parsed records."""
    out = []
    for line, fields in records:
        try:
            out.append(parse(fields))
        except ValueError as err:
            skipped.append((name, line, str(err)))
    return out


def skipped_summary(skipped, *, per_file: int = 3) -> list:
    """One line per file of ``skipped`` ``(file, line, reason)`` records: ``"file: N record(s) skipped (line 5:
    value 'n/a' is not a number; …)"``, naming the first ``per_file`` of them."""
    by_file = {}
    for name, line, why in skipped:
        by_file.setdefault(name, []).append((line, why))
    return [f"{name}: {len(rs)} record(s) skipped ({'; '.join(f'line {ln}: {why}' for ln, why in rs[:per_file])}"
            f"{'; …' if len(rs) > per_file else ''})" for name, rs in by_file.items()]


def _stm_record(width, cols, layout):
    """A parser of one ``.stm`` record (its whitespace-separated fields) → (time, value, flag)."""
    def parse(fields):
        if len(fields) < width:
            raise ValueError(f"{len(fields)} fields, fewer than the {width} of the {layout} layout")
        date, clock, value, flag = (fields[c] for c in cols)
        try:
            when = np.datetime64(f"{date.replace('/', '-')}T{clock}", "s")
        except ValueError:
            when = np.datetime64("NaT")
        if np.isnat(when):
            raise ValueError(f"date and time '{date} {clock}' are not YYYY/MM/DD HH:MM")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"value '{value}' is not a number") from None
        return when, number, flag
    return parse


def read_stm(data: bytes, name: str, flags: frozenset = frozenset({"G"}), *, skipped: list | None = None,
             decoded: list | None = None, flag_counts: dict | None = None) -> tuple:
    """Parse one ISMN ``.stm`` file (bytes) in either layout.

    Returns ``(header, times, values, layout, n_read)``: header = dict(lat, lon, depth_from, depth_to),
    the kept readings (flags in ``flags``) and the number of readings read. A record (line) that cannot be read
    is left out and appended to ``skipped`` as ``(name, line, reason)``; the file's text falls back from UTF-8
    to Windows-1252 (noted in ``decoded``); ``flag_counts`` counts the readings of each flag. Raises
    ``ValueError`` with the reason when the file as a whole cannot be read (header, no readable reading).
    """
    skipped = [] if skipped is None else skipped
    lines = [(i + 1, ln.split()) for i, ln in enumerate(decode_text(data, name, decoded).splitlines())]
    lines = [(i, ln) for i, ln in lines if ln]
    if len(lines) < 2:
        raise ValueError("the file holds no reading")
    if len(lines[0][1]) == 15 and len(lines[1][1]) == 15:
        layout = "CEOP separate"
        rows = lines
        try:
            lat, lon = float(rows[0][1][7]), float(rows[0][1][8])
        except ValueError:
            raise ValueError(f"line {rows[0][0]}: the latitude and longitude columns are not numbers") from None
        header = {"lat": lat, "lon": lon}
        cols = (0, 1, 12, 13)
        width = 15
    else:
        layout = "header + values"
        (first, head), rows = lines[0], lines[1:]
        if len(head) < 9:
            raise ValueError(f"line {first}: the header has {len(head)} fields; an ISMN header has at least 9")
        try:
            header = {"lat": float(head[3]), "lon": float(head[4]), "depth_from": float(head[6]),
                      "depth_to": float(head[7])}
        except ValueError:
            raise ValueError(f"line {first}: the header's latitude, longitude or depths are not numbers") from None
        cols = (0, 1, 2, 3)
        width = 4
    if not (-90 <= header["lat"] <= 90 and -180 <= header["lon"] <= 180):
        raise ValueError(f"latitude {header['lat']} / longitude {header['lon']} are not geographic coordinates")
    try:                                            # the common case, vectorised: every record readable
        if any(len(r) < width for _, r in rows):
            raise ValueError("short record")
        times = _times([r[cols[0]] for _, r in rows], [r[cols[1]] for _, r in rows])
        values = np.array([r[cols[2]] for _, r in rows], dtype=np.float64)
        flag_texts = [r[cols[3]] for _, r in rows]
    except ValueError:                              # record by record, the unreadable ones named and skipped
        parsed = parse_records(rows, _stm_record(width, cols, layout), name, skipped)
        if not parsed:
            raise ValueError(f"none of its {len(rows)} records can be read ({skipped[-1][2]} at line "
                             f"{skipped[-1][1]}, …)") from None
        times = np.array([p[0] for p in parsed], dtype="datetime64[s]")
        values = np.array([p[1] for p in parsed], dtype=np.float64)
        flag_texts = [p[2] for p in parsed]
    if flag_counts is not None:
        _count_flags(flag_texts, flag_counts)
    keep = _keep(flag_texts, flags) & np.isfinite(values)
    return header, times[keep], values[keep], layout, len(values)


def read_ismn(source: str | os.PathLike, *, depth_max: float = 0.1, flags: frozenset = frozenset({"G"})) -> Import:
    """Soil-moisture sensors of an ISMN download (zip or folder) whose lower depth is ≤ ``depth_max`` (m).

    Files that cannot be read are named in ``problems`` (with the reason), records (lines) that cannot be read
    in ``skipped``, and the rest is still read. Raises ``ValueError`` when there is no ``.stm`` file, or no
    soil-moisture sensor at the asked depth (naming the depths there are).
    """
    files = _Files(source)
    try:
        return _read_ismn_files(files, source, depth_max, flags)
    finally:
        files.close()


#: What an in-situ folder or zip must hold, and where to get it (the refusals name it).
WHAT_TO_GIVE = (
    "give the zip that ISMN's data viewer (https://ismn.earth, free registration) made, or the folder it unpacks "
    "to (<network>/<station>/*.stm files, 'header + values' or 'CEOP separate' layout); or a folder or zip "
    "holding the Raam network's raam_daily_5cm.csv AND Raam_station_locations_WGS84.csv (Benninga et al. 2018, "
    "doi:10.4121/uuid:2411bbb8-2161-4f31-985f-7b65b8448bc9; both ship in the plugin's "
    "resources/sample_data/soil_moisture_raam)")


def _listing(names, n=5):
    return (f"it holds {len(names)} file(s): {', '.join(names[:n])}{' …' if len(names) > n else ''}" if names
            else "it is empty")


def _read_ismn_files(files, source, depth_max, flags):
    """:func:`read_ismn` on the opened files of ``source``."""
    stm = [n for n in files.names if n.lower().endswith(".stm")]
    if not stm:
        raise ValueError(f"'{source}' holds no ISMN data file (*.stm) and no Raam CSV pair ({_listing(files.names)})"
                         f": {WHAT_TO_GIVE}")
    sensors, problems, too_deep, layouts, skipped, decoded, counts = [], [], [], set(), [], [], {}
    for name in stm:
        own_skipped, own_counts = [], {}
        try:
            network, station, variable, d_from, d_to, instrument = _name_parts(name)
            if variable.lower() not in SOIL_MOISTURE_VARIABLES:
                continue
            header, times, values, layout, n_read = read_stm(files.read(name), name, flags, skipped=own_skipped,
                                                             decoded=decoded, flag_counts=own_counts)
        except ValueError as err:
            problems.append((name, str(err)))
            continue
        layouts.add(layout)
        d_from, d_to = header.get("depth_from", d_from), header.get("depth_to", d_to)
        # the folder names the network where the file name spells it differently (FR_Aqui / FR-Aqui), as ISMN does
        folders = [p for p in name.split("/")[:-1] if _same_name(p, network)]
        network = folders[-1] if folders else network
        if d_to > depth_max + 1e-9:
            too_deep.append((f"{network}/{station}", d_from, d_to))
            continue
        skipped.extend(own_skipped)
        for flag, k in own_counts.items():
            counts[flag] = counts.get(flag, 0) + k
        sensors.append(Sensor(network, station, instrument, d_from, d_to, header["lon"], header["lat"],
                              name, times, values, 0, n_read, len(own_skipped)))
    if not sensors:
        if too_deep:
            depths = sorted({f"{a:g}-{b:g} m" for _, a, b in too_deep})
            raise ValueError(f"no soil-moisture sensor in '{source}' reaches no deeper than {depth_max:g} m; the "
                             f"sensors there measure at {', '.join(depths)}. Raise the maximum depth to use them")
        if problems:
            raise ValueError(f"no ISMN file in '{source}' could be read: " +
                             "; ".join(f"{n}: {why}" for n, why in problems[:3]))
        raise ValueError(f"'{source}' holds no soil-moisture file (variable 'sm')")
    return Import(sensors, problems, too_deep, " and ".join(sorted(layouts)), skipped, decoded, counts)


def nothing_kept(res: Import, flags: frozenset, label: str = "FLAGS") -> str | None:
    """Why the import keeps no reading at all, or None when it keeps some: the flag filter ``flags`` (``label``
    names the parameter) accepts none of the flags the readings carry (named with their counts), or no reading
    holds a value (files without flags: Raam)."""
    if any(len(s.values) for s in res.sensors):
        return None
    if not res.flag_counts:
        return (f"none of the {sum(s.n_read for s in res.sensors)} readings of the {len(res.sensors)} sensor(s) "
                "holds a soil-moisture value (all empty or NaN): check that the files are the in-situ series, not "
                "a template or an export that failed")
    seen = ", ".join(f"{f} ({k})" for f, k in sorted(res.flag_counts.items(), key=lambda x: (-x[1], x[0])))
    good = "G" if "G" in res.flag_counts else max(res.flag_counts, key=res.flag_counts.get)
    return (f"no reading passed {label} = {', '.join(sorted(flags))}: the {sum(s.n_read for s in res.sensors)} "
            f"readings of the {len(res.sensors)} sensor(s) carry the flags {seen}. List the flags you accept "
            f"(e.g. {good}; G: good, D01…D10 dubious, C01…C03 out of range, M missing, U unchecked).")


# --------------------------------------------------------------------------------------------
# Raam
# --------------------------------------------------------------------------------------------
def _raam_names(names):
    """(values CSV, locations CSV) among ``names``; either may be None."""
    values = [n for n in names if os.path.basename(n).lower().startswith("raam_daily") and n.lower().endswith(".csv")]
    locs = [n for n in names if "station_locations" in os.path.basename(n).lower() and n.lower().endswith(".csv")]
    return (values[0] if values else None), (locs[0] if locs else None)


def _decimal(text):
    return float(str(text).strip().replace(",", "."))


def _raam_location(fields):
    """(station, (lon, lat)) of a record of the station list."""
    try:
        lon, lat = _decimal(fields[1]), _decimal(fields[2])
    except ValueError:
        raise ValueError(f"station '{fields[0].strip()}' has no numeric coordinates "
                         f"('{fields[1].strip()}', '{fields[2].strip()}')") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"station '{fields[0].strip()}' has coordinates {lon:g}, {lat:g} outside longitude/latitude")
    return fields[0].strip(), (lon, lat)


def _raam_reading(columns):
    """A parser of a record of the daily values (``columns``: the station, date and value columns) → (station,
    date, value; NaN where the value is empty)."""
    def parse(fields):
        if len(fields) <= max(columns):
            raise ValueError(f"{len(fields)} field(s); the header names {max(columns) + 1} or more")
        station, day, value = (fields[c].strip() for c in columns)
        try:
            when = np.datetime64(day, "D")
        except ValueError:
            when = np.datetime64("NaT")
        if np.isnat(when):
            raise ValueError(f"date '{day}' is not a date (YYYY-MM-DD)")
        try:
            number = float(value) if value else float("nan")
        except ValueError:
            raise ValueError(f"value '{value}' is not a number") from None
        return station, when, number
    return parse


def _read_named(files, name):
    """:meth:`_Files.read`, its refusal naming the file."""
    try:
        return files.read(name)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


def read_raam(files: _Files, values_name: str, locations_name: str, *, depth_max: float = 0.1) -> Import:
    """The Raam daily 5 cm series (``raam_daily_5cm.csv`` + ``Raam_station_locations_WGS84.csv``).

    Each reading is the mean of a UTC day (``period_s`` = one day, timestamp at 00:00 UTC). A record that
    cannot be read is left out and named in ``skipped`` (file, line, reason).
    """
    depth = 0.05
    if depth > depth_max + 1e-9:
        raise ValueError(f"the Raam series are at {depth:g} m; raise the maximum depth to at least {depth:g} m")
    skipped, decoded = [], []
    text = decode_text(_read_named(files, locations_name), locations_name, decoded)
    records = [(i + 1, row) for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=";"))
               if len(row) >= 3 and row[0].strip() and not row[0].strip().startswith("[")]
    locations = dict(parse_records(records, _raam_location, locations_name, skipped))
    if not locations:
        raise ValueError(f"{locations_name} lists no station with coordinates ({len(text.splitlines())} line(s)"
                         f"{': ' + '; '.join(skipped_summary(skipped)) if skipped else ''}): it must hold lines "
                         "'station;longitude;latitude' (WGS 84, ',' or '.' decimals), as the Raam network ships it")
    rows = list(csv.reader(io.StringIO(decode_text(_read_named(files, values_name), values_name, decoded))))
    head = [h.strip() for h in rows[0]] if rows else []
    need = ["station", "date", "vwc_5cm_m3m3"]
    if not set(need) <= set(head):
        raise ValueError(f"{values_name} lacks the columns {', '.join(need)} (its first line: "
                         f"{','.join(head)[:80] or 'empty'}): give the raam_daily_5cm.csv SARSense ships")
    records = [(i + 1, row) for i, row in enumerate(rows) if i > 0 and any(f.strip() for f in row)]
    by_station = {}
    columns = [head.index(c) for c in need]
    for station, day, value in parse_records(records, _raam_reading(columns), values_name, skipped):
        by_station.setdefault(station, []).append((day, value))
    bad_by_station = {}
    for _, line, _ in (s for s in skipped if s[0] == values_name):
        station = rows[line - 1][columns[0]].strip() if len(rows[line - 1]) > columns[0] else ""
        bad_by_station[station] = bad_by_station.get(station, 0) + 1
    sensors, problems = [], []
    for station, rs in sorted(by_station.items()):
        if station not in locations:
            problems.append((values_name, f"station {station} is not in {os.path.basename(locations_name)}"))
            continue
        lon, lat = locations[station]
        times = np.array([d for d, _ in rs], dtype="datetime64[D]").astype("datetime64[s]")
        values = np.array([v for _, v in rs])
        ok = np.isfinite(values)
        sensors.append(Sensor(RAAM_NETWORK, station, "5TM (daily mean)", depth, depth, lon, lat, values_name,
                              times[ok], values[ok], DAY_S, len(rs), bad_by_station.get(station, 0)))
    if not sensors:
        raise ValueError(f"no station of {values_name} could be imported: " +
                         "; ".join(skipped_summary(skipped) + [f"{n}: {why}" for n, why in problems[:3]]))
    return Import(sensors, problems, [], "Raam daily CSV", skipped, decoded)


def read_insitu(source: str | os.PathLike, *, depth_max: float = 0.1, flags: frozenset = frozenset({"G"})) -> Import:
    """In-situ soil moisture from ``source``: an ISMN download (zip or folder) or the Raam CSV files."""
    files = _Files(source)
    try:
        values, locations = _raam_names(files.names)
        if values and locations:
            return read_raam(files, values, locations, depth_max=depth_max)
        if values and not any(n.lower().endswith(".stm") for n in files.names):
            raise ValueError(f"'{source}' holds the Raam values {values} but not their station list "
                             "Raam_station_locations_WGS84.csv (station;x;y in WGS 84), so the stations cannot be "
                             "placed: put that file beside the values (it ships with the plugin in "
                             "resources/sample_data/soil_moisture_raam; source: Benninga et al. 2018, "
                             "doi:10.4121/uuid:2411bbb8-2161-4f31-985f-7b65b8448bc9)")
        return _read_ismn_files(files, source, depth_max, flags)
    finally:
        files.close()


# --------------------------------------------------------------------------------------------
# Matching readings to acquisition times
# --------------------------------------------------------------------------------------------
def match_readings(times: ArrayLike, values: ArrayLike, period_s: ArrayLike, start: np.datetime64, end: np.datetime64,
                   tolerance_s: float) -> tuple[float, int]:
    """Mean of the readings whose period meets ``[start − tolerance, end + tolerance]``, and their count.

    A reading at ``t`` covers ``[t, t + period_s]`` (``period_s`` = 0: an instantaneous reading; one day:
    a daily mean; one number for all readings or one per reading). An acquisition known to the second has
    ``start == end``; one known only by its date covers its whole UTC day. ``times``, ``start`` and ``end``
    are datetime64[s]. Returns ``(mean, n)``, NaN and 0 when no reading falls in the window.
    """
    t = np.asarray(times, dtype="datetime64[s]").astype(np.int64)
    lo = np.datetime64(start, "s").astype(np.int64) - int(tolerance_s)
    hi = np.datetime64(end, "s").astype(np.int64) + int(tolerance_s)
    sel = (t + np.asarray(period_s, dtype=np.int64) >= lo) & (t <= hi)
    n = int(sel.sum())
    return (float(np.mean(np.asarray(values)[sel])) if n else float("nan")), n


# --------------------------------------------------------------------------------------------
# Tables of an import
# --------------------------------------------------------------------------------------------
#: Columns of the stations table (one row per sensor, a point at lon/lat) and of the readings table.
STATION_COLUMNS = [("id", str), ("network", str), ("station", str), ("sensor", str), ("depth_from", float),
                   ("depth_to", float), ("lon", float), ("lat", float), ("n_values", int), ("first", str),
                   ("last", str), ("n_skipped", int)]
VALUE_COLUMNS = [("station", str), ("time_utc", str), ("soil_moisture", float), ("period_h", float),
                 ("sensor", str), ("depth_to", float)]


def _utc_text(t):
    return str(t)[:19].replace("T", " ") if t is not None else None


def sensor_rows(sensors: Sequence[Sensor]) -> list[list]:
    """One row of :data:`STATION_COLUMNS` per sensor: its id, place, depths, kept readings, first and last
    reading time (UTC text; None without readings) and the records of its file that could not be read."""
    return [[s.station_id, s.network, s.station, s.sensor, s.depth_from, s.depth_to, s.lon, s.lat, len(s.values),
             _utc_text(s.times.min()) if len(s.values) else None, _utc_text(s.times.max()) if len(s.values) else None,
             s.n_skipped] for s in sensors]


def reading_rows(sensors: Sequence[Sensor]) -> list[list]:
    """One row of :data:`VALUE_COLUMNS` per kept reading: station id, UTC time, soil moisture (m³/m³), the period
    it covers (h), sensor and depth."""
    rows = []
    for s in sensors:
        times = np.datetime_as_string(s.times, unit="s")
        rows.extend([s.station_id, t.replace("T", " "), float(v), s.period_s / 3600.0, s.sensor, s.depth_to]
                    for t, v in zip(times, s.values))
    return rows
