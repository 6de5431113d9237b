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

    @property
    def station_id(self):
        """The station's id, unique across networks: ``network/station``."""
        return f"{self.network}/{self.station}"


@dataclass
class Import:
    """What :func:`read_insitu` found: the kept sensors, the files it could not read (path, reason) and the
    sensors left out for their depth."""

    sensors: list
    problems: list
    too_deep: list
    layout: str


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
                raise ValueError(f"'{self.source}' is neither a folder nor a readable zip archive ({err})") from None
            self.names = sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        else:
            raise ValueError(f"'{self.source}' does not exist: give an ISMN download (zip or unpacked folder)")

    def read(self, name):
        if self.zip is not None:
            return self.zip.read(name)
        with open(os.path.join(self.source, name), "rb") as fh:
            return fh.read()

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


def read_stm(data: bytes, name: str, flags: frozenset = frozenset({"G"})) -> tuple:
    """Parse one ISMN ``.stm`` file (bytes) in either layout.

    Returns ``(header, times, values, layout, n_read)``: header = dict(lat, lon, depth_from, depth_to),
    the kept readings (flags in ``flags``) and the number of readings in the file. Raises
    ``ValueError`` with the reason when the file cannot be read.
    """
    lines = [ln.split() for ln in data.decode("latin-1").splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2:
        raise ValueError("the file holds no reading")
    if len(lines[0]) == 15 and len(lines[1]) == 15:
        layout = "CEOP separate"
        rows = lines
        try:
            lat, lon = float(rows[0][7]), float(rows[0][8])
        except ValueError:
            raise ValueError("the latitude and longitude columns are not numbers") from None
        header = {"lat": lat, "lon": lon}
        cols = (0, 1, 12, 13)
        width = 15
    else:
        layout = "header + values"
        head, rows = lines[0], lines[1:]
        if len(head) < 9:
            raise ValueError(f"the first line has {len(head)} fields; an ISMN header has at least 9")
        try:
            header = {"lat": float(head[3]), "lon": float(head[4]), "depth_from": float(head[6]),
                      "depth_to": float(head[7])}
        except ValueError:
            raise ValueError("the header line's latitude, longitude or depths are not numbers") from None
        cols = (0, 1, 2, 3)
        width = 4
    bad = [i for i, r in enumerate(rows) if len(r) < width]
    if bad:
        raise ValueError(f"line {bad[0] + (1 if layout == 'CEOP separate' else 2)} has {len(rows[bad[0]])} fields, "
                         f"fewer than the {width} of the {layout} layout")
    if not (-90 <= header["lat"] <= 90 and -180 <= header["lon"] <= 180):
        raise ValueError(f"latitude {header['lat']} / longitude {header['lon']} are not geographic coordinates")
    try:
        times = _times([r[cols[0]] for r in rows], [r[cols[1]] for r in rows])
        values = np.array([r[cols[2]] for r in rows], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"a date, time or value cannot be read ({err})") from None
    keep = _keep([r[cols[3]] for r in rows], flags) & np.isfinite(values)
    return header, times[keep], values[keep], layout, len(rows)


def read_ismn(source: str | os.PathLike, *, depth_max: float = 0.1, flags: frozenset = frozenset({"G"})) -> Import:
    """Soil-moisture sensors of an ISMN download (zip or folder) whose lower depth is ≤ ``depth_max`` (m).

    Files that cannot be read are named in ``problems`` (with the reason) and the rest is still read.
    Raises ``ValueError`` when there is no ``.stm`` file, or no soil-moisture sensor at the asked depth
    (naming the depths there are).
    """
    files = _Files(source)
    try:
        return _read_ismn_files(files, source, depth_max, flags)
    finally:
        files.close()


def _read_ismn_files(files, source, depth_max, flags):
    """:func:`read_ismn` on the opened files of ``source``."""
    stm = [n for n in files.names if n.lower().endswith(".stm")]
    if not stm:
        raise ValueError(f"'{source}' holds no ISMN data file (*.stm): give the zip or folder ISMN's download "
                         "page made, in the 'header + values' or 'CEOP separate' layout")
    sensors, problems, too_deep, layouts = [], [], [], set()
    for name in stm:
        try:
            network, station, variable, d_from, d_to, instrument = _name_parts(name)
            if variable.lower() not in SOIL_MOISTURE_VARIABLES:
                continue
            header, times, values, layout, n_read = read_stm(files.read(name), name, flags)
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
        sensors.append(Sensor(network, station, instrument, d_from, d_to, header["lon"], header["lat"],
                              name, times, values, 0, n_read))
    if not sensors:
        if too_deep:
            depths = sorted({f"{a:g}-{b:g} m" for _, a, b in too_deep})
            raise ValueError(f"no soil-moisture sensor in '{source}' reaches no deeper than {depth_max:g} m; the "
                             f"sensors there measure at {', '.join(depths)}. Raise the maximum depth to use them")
        if problems:
            raise ValueError(f"no ISMN file in '{source}' could be read: " +
                             "; ".join(f"{n}: {why}" for n, why in problems[:3]))
        raise ValueError(f"'{source}' holds no soil-moisture file (variable 'sm')")
    return Import(sensors, problems, too_deep, " and ".join(sorted(layouts)))


# --------------------------------------------------------------------------------------------
# Raam
# --------------------------------------------------------------------------------------------
def _raam_names(names):
    """(values CSV, locations CSV) among ``names``, or None."""
    values = [n for n in names if os.path.basename(n).lower().startswith("raam_daily") and n.lower().endswith(".csv")]
    locs = [n for n in names if "station_locations" in os.path.basename(n).lower() and n.lower().endswith(".csv")]
    return (values[0], locs[0]) if values and locs else None


def _decimal(text):
    return float(str(text).strip().replace(",", "."))


def read_raam(files: _Files, values_name: str, locations_name: str, *, depth_max: float = 0.1) -> Import:
    """The Raam daily 5 cm series (``raam_daily_5cm.csv`` + ``Raam_station_locations_WGS84.csv``).

    Each reading is the mean of a UTC day (``period_s`` = one day, timestamp at 00:00 UTC).
    """
    depth = 0.05
    if depth > depth_max + 1e-9:
        raise ValueError(f"the Raam series are at {depth:g} m; raise the maximum depth to at least {depth:g} m")
    locations = {}
    text = files.read(locations_name).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text), delimiter=";"):
        if len(row) < 3 or not row[0].strip() or row[0].strip().startswith("["):
            continue
        try:
            locations[row[0].strip()] = (_decimal(row[1]), _decimal(row[2]))
        except ValueError:
            raise ValueError(f"{locations_name}: station '{row[0]}' has no numeric coordinates") from None
    rows = list(csv.DictReader(io.StringIO(files.read(values_name).decode("utf-8-sig"))))
    need = {"station", "date", "vwc_5cm_m3m3"}
    if not rows or not need <= set(rows[0]):
        raise ValueError(f"{values_name} lacks the columns {', '.join(sorted(need))}")
    by_station = {}
    for r in rows:
        by_station.setdefault(r["station"].strip(), []).append(r)
    sensors, problems = [], []
    for station, rs in sorted(by_station.items()):
        if station not in locations:
            problems.append((values_name, f"station {station} is not in {os.path.basename(locations_name)}"))
            continue
        lon, lat = locations[station]
        times = np.array([r["date"].strip() for r in rs], dtype="datetime64[D]").astype("datetime64[s]")
        values = np.array([float(r["vwc_5cm_m3m3"]) if r["vwc_5cm_m3m3"].strip() else np.nan for r in rs])
        ok = np.isfinite(values)
        sensors.append(Sensor(RAAM_NETWORK, station, "5TM (daily mean)", depth, depth, lon, lat, values_name,
                              times[ok], values[ok], DAY_S, len(rs)))
    return Import(sensors, problems, [], "Raam daily CSV")


def read_insitu(source: str | os.PathLike, *, depth_max: float = 0.1, flags: frozenset = frozenset({"G"})) -> Import:
    """In-situ soil moisture from ``source``: an ISMN download (zip or folder) or the Raam CSV files."""
    files = _Files(source)
    try:
        raam = _raam_names(files.names)
        if raam:
            return read_raam(files, *raam, depth_max=depth_max)
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
                   ("last", str)]
VALUE_COLUMNS = [("station", str), ("time_utc", str), ("soil_moisture", float), ("period_h", float),
                 ("sensor", str), ("depth_to", float)]


def _utc_text(t):
    return str(t)[:19].replace("T", " ") if t is not None else None


def sensor_rows(sensors: Sequence[Sensor]) -> list[list]:
    """One row of :data:`STATION_COLUMNS` per sensor: its id, place, depths, kept readings and first and last
    reading time (UTC text; None without readings)."""
    return [[s.station_id, s.network, s.station, s.sensor, s.depth_from, s.depth_to, s.lon, s.lat, len(s.values),
             _utc_text(s.times.min()) if len(s.values) else None, _utc_text(s.times.max()) if len(s.values) else None]
            for s in sensors]


def reading_rows(sensors: Sequence[Sensor]) -> list[list]:
    """One row of :data:`VALUE_COLUMNS` per kept reading: station id, UTC time, soil moisture (m³/m³), the period
    it covers (h), sensor and depth."""
    rows = []
    for s in sensors:
        times = np.datetime_as_string(s.times, unit="s")
        rows.extend([s.station_id, t.replace("T", " "), float(v), s.period_s / 3600.0, s.sensor, s.depth_to]
                    for t, v in zip(times, s.values))
    return rows
