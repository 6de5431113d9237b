"""Station samples on the QGIS side: the parameters of the algorithms that read them, and reading them.

Functions of the running algorithm (``alg``, a :class:`~.base.SoilMoistureAlgorithm`, which gives the
parameters' labels and raises its own errors). A samples layer holds one feature per station and date, as
'Extract raster values at stations' writes it.
"""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsFeatureRequest,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)

from ....algorithms import sar
from ....algorithms.io import quantities
from ....algorithms.soil_moisture import calibration, hybrid, terrain

#: Parameter of the samples layer.
SAMPLES = "SAMPLES"
#: Field names taken as the station id and the date (lower case, first found wins).
STATION_FIELDS = ("station", "station_id", "id")
DATE_FIELDS = ("date", "time", "datetime")


class StationSamples:
    """Station-date samples read from a layer (as 'Extract raster values at stations' writes): the station
    ids, dates, numeric fields as float arrays (NULL as NaN) and text fields as strings."""

    def __init__(self, station, date, values, origin=""):
        self.station, self.date, self.values = station, date, values
        #: The layer they were read from, as reports name it: ``layer 'name' (source)``.
        self.origin = origin

    def __len__(self):
        return len(self.station)

    def __getitem__(self, field):
        return self.values[field]


def first_field(names, candidates):
    """The first of ``candidates`` (lower case) among the field ``names`` (any case), or None."""
    lower = {n.lower(): n for n in names}
    return next((lower[c] for c in candidates if c in lower), None)


def _number(v):
    try:
        return float(v) if v is not None and not (hasattr(v, "isNull") and v.isNull()) else np.nan
    except (TypeError, ValueError):
        return np.nan


# -- parameters ---------------------------------------------------------------------------------------
def add_samples(alg, label="Station samples",
                help_text="One feature per station and date (from 'Extract raster values at stations')."):
    """The samples layer parameter, :data:`SAMPLES`."""
    alg.add(QgsProcessingParameterFeatureSource(SAMPLES, alg.tr(label), types=[QgsProcessing.TypeVector]), help_text)


def add_split(alg, seed_help, fraction_help):
    """``SEED`` and ``TRAIN_FRACTION`` (the paper's 70 %)."""
    alg.add(QgsProcessingParameterNumber("SEED", alg.tr("Random seed"), type=QgsProcessingParameterNumber.Integer,
                                         defaultValue=0), seed_help)
    alg.add(QgsProcessingParameterNumber("TRAIN_FRACTION", alg.tr("Training fraction"),
                                         type=QgsProcessingParameterNumber.Double, defaultValue=0.7, minValue=0.05,
                                         maxValue=0.95), fraction_help, decimals=2)


def add_field(alg, name, label, default, help_text, *, parent=SAMPLES, numeric=True):
    """A field of the samples layer with a default name, used when left empty (qgis_process 3.22 does not
    apply a field parameter's default itself)."""
    alg.add(QgsProcessingParameterField(name, alg.tr(label), defaultValue=default, parentLayerParameterName=parent,
                                        type=QgsProcessingParameterField.Numeric if numeric else
                                        QgsProcessingParameterField.Any, optional=True),
            help_text + " Empty: the field '{0}'." if default else help_text, help_args=(default,) if default else ())


def field(alg, parameters, name, context):
    """The chosen field name, or the parameter's default when none was given."""
    value = alg.parameterAsString(parameters, name, context)
    return value or (alg.parameterDefinition(name).defaultValue() or "")


# -- reading ------------------------------------------------------------------------------------------
def _not_numbers(rows, column):
    """``row N: 'text'`` of the values of ``column`` that are text but not a number (NULL and empty are missing
    values, not errors)."""
    out = []
    for i, r in enumerate(rows, start=1):
        v = r[column]
        if v is None or (hasattr(v, "isNull") and v.isNull()) or str(v).strip() == "":
            continue
        if not np.isfinite(_number(v)) and str(v).strip().lower() != "nan":
            out.append(f"row {i}: '{v}'")
    return out


def read_samples(alg, parameters, name, context, numeric, *, text=(), feedback=None, hints=None):
    """Read layer ``name`` in one pass: ``numeric`` field names as floats, ``text`` ones as strings. A value of a
    numeric field that is text but no number is read as missing and counted in the log (``feedback``); a field
    holding no number at all is refused, naming the first such values. ``hints``: {field: where to get it}, added to
    the refusal of a missing field."""
    source = alg.parameterAsSource(parameters, name, context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, name))
    names = [f.name() for f in source.fields()]
    station = first_field(names, STATION_FIELDS)
    date = first_field(names, DATE_FIELDS)
    if station is None or date is None:
        raise alg.error(f"{alg.label(name)} needs a 'station' and a 'date' field (one feature per station and "
                        f"date, as 'Extract raster values at stations' writes); it has {', '.join(names) or 'none'}.")
    wanted = [f for f in numeric if f]
    texts = [f for f in text if f and f not in wanted]
    missing = [f for f in wanted + texts if f not in names]
    if missing:
        extra = "".join(f" {hints[f]}." for f in missing if f in (hints or {}))
        raise alg.error(f"{alg.label(name)} has no field {', '.join(missing)}; its fields are {', '.join(names)}. "
                        f"Choose the fields that hold these values.{extra}")
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
    rows = [[f[station], f[date]] + [f[x] for x in wanted + texts] for f in source.getFeatures(request)]
    if not rows:
        raise alg.error(f"{alg.label(name)}, {origin(alg, parameters, name, context)}, has no feature: it must hold "
                        f"one feature per station and date with the fields {', '.join([station, date] + wanted)} (as "
                        "'Extract raster values at stations' writes them); choose a layer with samples, or check its "
                        "filter.")
    values = {f: np.array([_number(r[2 + i]) for r in rows]) for i, f in enumerate(wanted)}
    for i, f in enumerate(wanted):
        bad = _not_numbers(rows, 2 + i)
        if bad and not np.isfinite(values[f]).any():
            raise alg.error(f"{alg.label(name)}: field '{f}' holds no number ({'; '.join(bad[:3])}"
                            f"{' …' if len(bad) > 3 else ''}): choose the numeric field, or the samples table "
                            "'Extract raster values at stations' wrote.")
        if bad and feedback is not None:
            feedback.pushWarning(alg.tr("{0}: {1} value(s) of field '{2}' are not numbers and are left out as "
                                        "missing ({3}{4}).").format(alg.label(name), len(bad), f,
                                                                    "; ".join(bad[:3]), " …" if len(bad) > 3 else ""))
    values.update({f: np.array([str(r[2 + len(wanted) + i]) for r in rows]) for i, f in enumerate(texts)})
    return StationSamples(np.array([str(r[0]) for r in rows]),
                          np.array([str(r[1].toString("yyyy-MM-dd") if hasattr(r[1], "toString") else r[1])[:10]
                                    for r in rows]), values, origin(alg, parameters, name, context))


def check_field(alg, s, param, field, quantity, *, kind=None, percent_ok=False):
    """Refuse field ``field`` (chosen in parameter ``param``) of samples ``s`` when it holds no number, or values
    that are no ``quantity``: "sigma0_db" (σ° in dB: linear power is refused), "v1" (eq. 7's vegetation variable,
    of ``kind``), "incidence_deg" (degrees, not radians), or a
    :data:`~sarsense.algorithms.io.quantities.QUANTITIES` name ("ndvi", "soil_moisture"; ``percent_ok``: 0..100 %
    accepted too, where the result follows the field's unit)."""
    values = s[field]
    where = f"{alg.label(param)}: the field '{field}' of {s.origin}"
    if not np.isfinite(values).any():
        raise alg.error(f"{where} holds no number in any of its {len(values)} features: choose the field that holds "
                        "the values (as 'Extract raster values at stations' writes them), or fill it.")
    if quantity == "sigma0_db":
        problem = quantities.range_problem(values, "sigma0_db")
        if problem is None and sar.guess_units(values) == "linear":
            problem = (f"values {sar.describe_range(values)}, none negative, look like linear power, but σ° in dB "
                       "is expected: convert them (10·log10) or choose the dB field")
    elif quantity == "v1":
        problem = calibration.v1_problem(values, kind)
    elif quantity == "incidence_deg":
        problem = terrain.incidence_problem(values)
    else:
        problem = quantities.range_problem(values, quantity)
        if problem and percent_ok and quantities.range_problem(values / 100.0, quantity) is None:
            problem = None
    if problem:
        raise alg.error(f"{where}: {problem}.")


def check_comparable(alg, s, first, second):
    """Refuse two soil-moisture fields (``(param, field)`` pairs) to be compared when they are the same field, when
    either holds no soil moisture (m³/m³, or 0..100 %) or they are in different units (one in %, the other in
    m³/m³)."""
    if first[1] == second[1]:
        raise alg.error(f"{alg.label(first[0])} and {alg.label(second[0])} are the same field '{first[1]}': the scores "
                        "would be perfect whatever the map. Choose the field of the estimates (the map extracted at "
                        "the stations) and that of the in-situ values.")
    units = []
    for param, field in (first, second):
        check_field(alg, s, param, field, "soil_moisture", percent_ok=True)
        units.append("m³/m³" if quantities.range_problem(s[field], "soil_moisture") is None else "%")
    if units[0] != units[1]:
        raise alg.error(f"{alg.label(first[0])} ('{first[1]}') looks like {units[0]} and {alg.label(second[0])} "
                        f"('{second[1]}') like {units[1]} (values {sar.describe_range(s[first[1]])} and "
                        f"{sar.describe_range(s[second[1]])}): give both in m³/m³ (percent / 100).")


#: The quantity of each predictor a sample field may hold (:func:`check_predictors`).
PREDICTOR_QUANTITIES = {"VV": "sigma0_db", "VH": "sigma0_db", "NDVI": "ndvi", "theta": "incidence_deg",
                        "I_SSM": "fraction", "SSM_t": "soil_moisture"}


def check_predictors(alg, s, param, keys):
    """Refuse the fields of samples ``s`` that hold predictors ``keys`` (chosen in ``param``) with values that
    are no such predictor (σ° not in dB, NDVI outside −1..1): :func:`check_field` on each field found."""
    for key in keys:
        quantity = PREDICTOR_QUANTITIES.get(key)
        found = hybrid.find_field(key, s.values) if quantity else None
        if found:
            check_field(alg, s, param, found, quantity)


def origin(alg, parameters, name, context):
    """The samples layer ``name`` as a report names it: ``'layer name' (source)``."""
    layer = alg.parameterAsVectorLayer(parameters, name, context)
    if layer is None:
        return f"'{parameters.get(name)}'"
    return f"layer '{layer.name()}' ({layer.source()})"


def read_stations(alg, parameters, name, context):
    """``({id: (network, x, y)}, crs)`` of the station points of layer ``name`` (several sensors of one station:
    its first point)."""
    source = alg.parameterAsSource(parameters, name, context)
    if source is None:
        raise alg.error(alg.invalidSourceError(parameters, name))
    names = [f.name() for f in source.fields()]
    id_field = first_field(names, ("id", "station", "station_id", "name"))
    if id_field is None:
        raise alg.error(f"{alg.label(name)} needs an id field ('id' or 'station'); it has {', '.join(names)}.")
    net_field = first_field(names, ("network",))
    out = {}
    for f in source.getFeatures():
        geom = f.geometry()
        if geom is None or geom.isEmpty():
            continue
        sid = str(f[id_field])
        if sid not in out:   # several sensors of one station: one point
            pt = geom.centroid().asPoint()
            out[sid] = (str(f[net_field]) if net_field else "", pt.x(), pt.y())
    if not out:
        raise alg.error(f"{alg.label(name)} has no station with a geometry.")
    return out, source.sourceCrs()


def read_values(alg, parameters, name, context, feedback=None):
    """In-situ readings of table ``name`` as ``{station: (times datetime64[s], values, period_s)}``, or None
    when no table is given. A row whose time or value cannot be read is skipped and counted in the log (the
    first ones named with their row and reason); a table with no readable row is refused."""
    source = alg.parameterAsSource(parameters, name, context)
    if source is None:
        return None
    names = [f.name() for f in source.fields()]
    st = first_field(names, ("station", "station_id", "id"))
    tm = first_field(names, ("time_utc", "time", "datetime", "date"))
    sm = first_field(names, ("soil_moisture", "ssm", "sm", "value"))
    per = first_field(names, ("period_h",))
    if not (st and tm and sm):
        raise alg.error(f"{alg.label(name)} needs station, time_utc and soil_moisture fields; it has "
                        f"{', '.join(names) or 'none'}: give the In-situ values table 'Import in-situ soil moisture "
                        "(ISMN)' writes.")
    by, skipped, rows = {}, [], 0
    for row, f in enumerate(source.getFeatures(), start=1):
        rows += 1
        t, v = f[tm], f[sm]
        text = t.toString("yyyy-MM-ddTHH:mm:ss") if hasattr(t, "toString") else str(t).replace(" ", "T")
        try:
            when = np.datetime64(text[:19], "s")
        except ValueError:
            when = np.datetime64("NaT")
        if t is None or np.isnat(when):
            skipped.append(f"row {row}: time '{t}' is not a date and time (YYYY-MM-DD HH:MM:SS)")
            continue
        value = _number(v)
        if not np.isfinite(value):
            skipped.append(f"row {row}: soil moisture '{v}' is not a number")
            continue
        period = _number(f[per]) * 3600.0 if per else 0.0
        by.setdefault(str(f[st]), []).append((when, value, period if np.isfinite(period) else 0.0))
    if not by:
        raise alg.error(f"{alg.label(name)} has no readable reading ({rows} row(s)"
                        f"{': ' + '; '.join(skipped[:3]) if skipped else ''}): give the In-situ values table "
                        "'Import in-situ soil moisture (ISMN)' writes.")
    if skipped and feedback is not None:
        feedback.pushWarning(alg.tr("{0}: {1} row(s) skipped ({2}{3}).").format(
            alg.label(name), len(skipped), "; ".join(skipped[:3]), "; …" if len(skipped) > 3 else ""))
    return {k: (np.array([w for w, _, _ in v], dtype="datetime64[s]"), np.array([x for _, x, _ in v]),
                np.array([p for _, _, p in v])) for k, v in by.items()}


class Locator:
    """Station coordinates from their layer's CRS into a raster's (``locate`` of
    :func:`~sarsense.algorithms.soil_moisture.stations.extract_at_stations`)."""

    def __init__(self, crs, context):
        self.crs, self.context = crs, context

    def __call__(self, projection, points):
        tr = QgsCoordinateTransform(self.crs, QgsCoordinateReferenceSystem.fromWkt(projection),
                                    self.context.transformContext())
        out = []
        for x, y in points:
            try:
                p = tr.transform(QgsPointXY(x, y))
            except QgsCsException:      # no position in the raster's CRS (far outside its projection's area)
                out.append((float("nan"), float("nan")))   # counted as outside the raster
                continue
            out.append((p.x(), p.y()))
        return out
