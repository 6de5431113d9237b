"""What the Soil moisture algorithms share: the group and angles given as raster or number."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from .. import checks, inputs
from ..base import SarsenseAlgorithm


class SoilMoistureAlgorithm(SarsenseAlgorithm):
    _group = ("Soil moisture", "soilmoisture")
    #: Raster parameters that also take a number (qgis_process ``--INCIDENCE=39.5``): a constant angle.
    NUMBER_OR_RASTER = ()

    def checkParameterValues(self, parameters, context):
        params = dict(parameters)
        for name in self.NUMBER_OR_RASTER:
            if checks.as_number(params.get(name)) is not None:
                params.pop(name)  # a constant: not a layer for QGIS to look up
        return super().checkParameterValues(params, context)

    def add_angle(self, name, const_name, label, help_text, *, default=None):
        """A raster-or-constant angle: raster ``name`` (optional; a number is accepted too) and number
        ``const_name``."""
        self.add(QgsProcessingParameterRasterLayer(name, self.tr(f"{label} raster (degrees)"), optional=True),
                 help_text + f" A raster on any grid (resampled onto the input's), or a number here or in "
                 f"{label} (constant).")
        self.add(QgsProcessingParameterNumber(const_name, self.tr(f"{label}, constant (degrees)"),
                                              type=QgsProcessingParameterNumber.Double, optional=True,
                                              defaultValue=default, minValue=0.0, maxValue=90.0),
                 f"One {label.lower()} for the whole input, used when no raster is given.", decimals=2)

    def angle_source(self, parameters, name, const_name, context):
        """``(raster path, None)`` or ``(None, constant)`` for an angle given as raster or number."""
        value = parameters.get(name)
        number = checks.as_number(value)
        if number is None and value not in (None, ""):
            return inputs.raster_path(self, parameters, name, context), None
        if number is None and parameters.get(const_name) not in (None, ""):
            number = self.parameterAsDouble(parameters, const_name, context)
        if number is None:
            raise QgsProcessingException(self.tr(
                f"{self.displayName()}: give {self.label(name)} as a raster, or a constant angle in "
                f"{self.label(const_name)}."))
        if not 0.0 < number < 90.0:
            raise QgsProcessingException(self.tr(
                f"{self.displayName()}: {self.label(name)} must be between 0 and 90 degrees (exclusive); got "
                f"{number:g}. Give the angle in degrees."))
        return None, number


class StationSamples:
    """Station-date samples read from a layer (as 'Extract raster values at stations' writes): the station
    ids, dates, numeric fields as float arrays (NULL as NaN) and text fields as strings."""

    def __init__(self, station, date, values):
        self.station, self.date, self.values = station, date, values

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


class SampleAlgorithm(SoilMoistureAlgorithm):
    """Algorithms on station samples: reads the station and date fields and any numeric field."""

    SAMPLES = "SAMPLES"
    STATION_FIELDS = ("station", "station_id", "id")
    DATE_FIELDS = ("date", "time", "datetime")

    def add_samples(self, label="Station samples",
                    help_text="One feature per station and date (from 'Extract raster values at stations')."):
        self.add(QgsProcessingParameterFeatureSource(self.SAMPLES, self.tr(label), types=[QgsProcessing.TypeVector]),
                 help_text)

    def add_split(self, seed_help, fraction_help):
        """``SEED`` and ``TRAIN_FRACTION`` (the paper's 70 %)."""
        self.add(QgsProcessingParameterNumber("SEED", self.tr("Random seed"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=0), seed_help)
        self.add(QgsProcessingParameterNumber("TRAIN_FRACTION", self.tr("Training fraction"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.7,
                                              minValue=0.05, maxValue=0.95), fraction_help, decimals=2)

    def read_samples(self, parameters, name, context, numeric, *, text=()):
        """Read layer ``name`` in one pass: ``numeric`` field names as floats, ``text`` ones as strings."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        names = [f.name() for f in source.fields()]
        station = first_field(names, self.STATION_FIELDS)
        date = first_field(names, self.DATE_FIELDS)
        if station is None or date is None:
            raise self.error(f"{self.label(name)} needs a 'station' and a 'date' field (one feature per station and "
                             f"date, as 'Extract raster values at stations' writes); it has {', '.join(names)}.")
        wanted = [f for f in numeric if f]
        texts = [f for f in text if f and f not in wanted]
        missing = [f for f in wanted + texts if f not in names]
        if missing:
            raise self.error(f"{self.label(name)} has no field {', '.join(missing)}; "
                             f"its fields are {', '.join(names)}.")
        request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
        rows = [[f[station], f[date]] + [f[x] for x in wanted + texts] for f in source.getFeatures(request)]
        if not rows:
            raise self.error(f"{self.label(name)} has no feature.")
        values = {f: np.array([_number(r[2 + i]) for r in rows]) for i, f in enumerate(wanted)}
        values.update({f: np.array([str(r[2 + len(wanted) + i]) for r in rows]) for i, f in enumerate(texts)})
        return StationSamples(np.array([str(r[0]) for r in rows]),
                              np.array([str(r[1].toString("yyyy-MM-dd") if hasattr(r[1], "toString") else r[1])[:10]
                                        for r in rows]), values)

    def add_field(self, name, label, default, help_text, *, parent="SAMPLES", numeric=True):
        """A field of the samples layer with a default name, used when left empty (qgis_process 3.22 does not
        apply a field parameter's default itself)."""
        from qgis.core import QgsProcessingParameterField

        self.add(QgsProcessingParameterField(name, self.tr(label), defaultValue=default,
                                             parentLayerParameterName=parent,
                                             type=QgsProcessingParameterField.Numeric if numeric else
                                             QgsProcessingParameterField.Any, optional=True),
                 f"{help_text} Empty: the field '{default}'." if default else help_text)

    def field(self, parameters, name, context):
        """The chosen field name, or the parameter's default when none was given."""
        value = self.parameterAsString(parameters, name, context)
        return value or (self.parameterDefinition(name).defaultValue() or "")
