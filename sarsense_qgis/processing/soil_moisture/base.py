"""What the Soil moisture algorithms share: the group and angles given as raster or number.

Algorithms on station samples use the functions of :mod:`.samples`."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms import onnx as rt
from ....algorithms import sar
from ....algorithms.io import quantities, read_info, sample_values
from ....algorithms.soil_moisture import calibration, terrain
from ....algorithms.soil_moisture import series as _series
from .. import checks, inputs
from ..base import SarsenseAlgorithm

#: The fix of an NDVI input outside −1..1, for every algorithm of the suite that reads one.
NDVI_HINT = ("Give NDVI as a fraction −1..1 (as 'NDVI' writes it), and check that the layer is the NDVI, not another "
             "input.")


def toggles(param, dependents, when):
    """Give enum ``param`` the dialog widget that shows the parameters named in ``dependents`` only while option
    ``when`` is chosen (:class:`~sarsense.sarsense_qgis.processing.widgets.ChoiceTogglesWrapper`; batch and
    modeler dialogs keep QGIS's own widget). Named by its path, so that only a dialog imports it."""
    meta = param.metadata()
    meta["widget_wrapper"] = {"class": f"{__package__.rsplit('.', 1)[0]}.widgets.ChoiceTogglesWrapper",
                              "dependents": list(dependents), "when": int(when)}
    param.setMetadata(meta)
    return param


class SoilMoistureAlgorithm(SarsenseAlgorithm):
    _group = ("Soil moisture", "soilmoisture")
    #: Raster parameters that also take a number (qgis_process ``--INCIDENCE=39.5``): a constant angle.
    NUMBER_OR_RASTER = ()
    #: The soil's porosity (every SSM output is clipped to [0, POROSITY]) and the pixel-dates clipped (#29).
    POROSITY, CLIPPED = "POROSITY", "CLIPPED"

    def add_porosity(self, *, help_text=None, clipped=True):
        """The POROSITY parameter and (``clipped``) the CLIPPED output number of an algorithm that writes soil
        moisture; ``help_text`` replaces what the parameter's help says it does."""
        lo, hi = _series.POROSITY_RANGE
        self.add(QgsProcessingParameterNumber(self.POROSITY, self.tr("Porosity, the soil's saturation (m³/m³)"),
                                              type=QgsProcessingParameterNumber.Double,
                                              defaultValue=_series.DEFAULT_POROSITY, minValue=lo, maxValue=hi,
                                              optional=True),
                 (help_text or "Soil moisture cannot be negative nor above the pore volume: every value is clipped "
                  "to [0, porosity], and the pixel-dates clipped are counted in the log, the output number "
                  "Pixel-dates clipped (CLIPPED) and the output's metadata.") + " 0.5 suits most mineral soils "
                 "(0.35-0.55, Dobson et al. 1985); give the site's saturated water content (soil map) when known.",
                 decimals=3)
        if clipped:
            self.addOutput(QgsProcessingOutputNumber(self.CLIPPED, self.tr("Pixel-dates clipped to [0, porosity]")))

    def series_options(self, parameters, context, *, frozen=None, groups=None):
        """The :class:`~sarsense.algorithms.soil_moisture.series.SeriesOptions` of a run: its porosity (POROSITY),
        the frozen-soil screen (:func:`.frozen.read_screen`) and the orbit groups (:meth:`orbit_groups`)."""
        porosity = self.parameterAsDouble(parameters, self.POROSITY, context) \
            if self.parameterDefinition(self.POROSITY) is not None else _series.DEFAULT_POROSITY
        return _series.SeriesOptions(porosity=porosity, frozen=frozen, groups=groups)

    def report_clipped(self, feedback, counts, porosity, *, unit="m³/m³"):
        """Log the SSM pixel-dates clipped to [0, porosity] (``below_range``/``above_range`` of a job) with their
        cause; returns the CLIPPED number."""
        below, above = counts.get("below_range", 0), counts.get("above_range", 0)
        top = f"{porosity * (100 if unit == '%' else 1):g} {unit}"
        if below:
            feedback.pushWarning(self.tr("{0} soil-moisture pixel-date(s) below 0 (σ° drier than the method's "
                                         "calibration reaches) were set to 0.").format(below))
        if above:
            feedback.pushWarning(self.tr("{0} soil-moisture pixel-date(s) above the porosity {1} (wetter than "
                                         "saturation: the method extrapolates there) were set to {1}.").format(
                above, top))
        feedback.pushInfo(self.tr("Soil moisture bounded to [0, {0}] ({1}): {2} pixel-date(s) clipped.").format(
            top, self.label(self.POROSITY), below + above))
        return below + above

    def checkParameterValues(self, parameters, context):
        params = dict(parameters)
        for name in self.NUMBER_OR_RASTER:
            if checks.as_number(params.get(name)) is not None:
                params.pop(name)  # a constant: not a layer for QGIS to look up
        return super().checkParameterValues(params, context)

    def add_orbits(self):
        """The ORBITS choice of every time-series algorithm of the suite (issue #29): each relative orbit its own
        series (default), or one pooled series."""
        self.add(QgsProcessingParameterEnum("ORBITS", self.tr("Orbits"), options=[
            self.tr("Per relative orbit (default)"), self.tr("Pooled (one series)")], defaultValue=0, optional=True),
            "Per relative orbit: each orbit (RELATIVE_ORBIT metadata, as 'Import Sentinel-1 GRD' writes it; else "
            "acquisitions within 3 minutes of one time of day) is its own series, with its own dry/wet references "
            "and ΔVV (the TU Wien practice), merged back in date order. Pooled: one series, as if one orbit.",
            advanced=True)

    def orbit_groups(self, parameters, context, feedback, path, name, *, min_dates=2, need=""):
        """The band groups of ``path`` to process as separate series (:func:`~..checks.orbit_groups`), or None."""
        pooled = self.parameterAsEnum(parameters, "ORBITS", context) == 1
        return checks.orbit_groups(self, path, name, feedback, pooled=pooled, min_dates=min_dates, need=need)

    def check_ndvi(self, path, name, *, bands=None):
        """Refuse an NDVI raster with values outside −1..1 (scaled integers, another layer), naming the values."""
        checks.value_range(self, path, name, "ndvi", bands=bands, hint=self.tr(NDVI_HINT))

    def check_v1(self, path, name, kind=None):
        """Refuse a vegetation-variable raster (eq. 7's V1) that is neither NDVI (−1..1) nor, unless ``kind`` is
        "NDVI", a VH/VV ratio in dB (:func:`~sarsense.algorithms.soil_moisture.calibration.v1_problem`)."""
        n = read_info(path).band_count
        samples = sample_values(path, band=range(1, n + 1))
        for band, sample in enumerate(samples, start=1):
            problem = calibration.v1_problem(sample, kind)
            if problem:
                where = self.label(name) + (f", band {band}" if n > 1 else "")
                raise self.error(f"{where}: {problem}. {self.tr(NDVI_HINT)}")

    def check_predictor(self, path, key, units, where):
        """Refuse a predictor raster of a network (``key``: "VV", "NDVI", …, as ``hybrid.PREDICTORS`` names it) that
        is no such quantity: backscatter in linear power where dB is expected, NDVI outside −1..1, an incidence
        angle in radians, a change-detection index outside 0..1 or soil moisture outside 0..1 m³/m³."""
        n = read_info(path).band_count
        samples = sample_values(path, band=range(1, n + 1))
        for band, sample in enumerate(samples, start=1):
            problem = None
            if key in ("VV", "VH") and units.lower() in rt.UNITS_DB:
                problem = quantities.range_problem(sample, "sigma0_db")
                if problem is None and sar.guess_units(sample) == "linear":
                    problem = self.tr("looks like linear power (values {0}) but the model expects dB: convert it "
                                      "with 'Convert SAR units' first").format(sar.describe_range(sample))
            elif key == "theta":
                problem = terrain.incidence_problem(sample)
            elif key == "NDVI":
                problem = quantities.range_problem(sample, "ndvi")
                problem = problem and f"{problem}. {self.tr(NDVI_HINT)}"
            elif key in ("I_SSM", "SSM_t"):    # change detection's index (0-1) and soil moisture (m³/m³)
                problem = quantities.range_problem(sample, "fraction" if key == "I_SSM" else "soil_moisture")
            if problem:
                raise self.error(f"{where}{f', band {band}' if n > 1 else ''}: {problem}")

    def add_angle(self, name, const_name, label, help_text, *, default=None):
        """A raster-or-constant angle: raster ``name`` (optional; a number is accepted too) and number
        ``const_name``."""
        self.add(QgsProcessingParameterRasterLayer(name, self.tr("{0} raster (degrees)").format(label), optional=True),
                 help_text + " A raster on any grid (resampled onto the input's), or a number here or in {0} "
                 "(constant).", help_args=(label,))
        self.add(QgsProcessingParameterNumber(const_name, self.tr("{0}, constant (degrees)").format(label),
                                              type=QgsProcessingParameterNumber.Double, optional=True,
                                              defaultValue=default, minValue=0.0, maxValue=90.0),
                 "One {0} for the whole input, used when no raster is given.", decimals=2,
                 help_args=(label.lower(),))

    def angle_source(self, parameters, name, const_name, context):
        """``(raster path, None)`` or ``(None, constant)`` for an angle given as raster or number."""
        value = parameters.get(name)
        number = checks.as_number(value)
        if number is None and value not in (None, ""):
            path = inputs.raster_path(self, parameters, name, context)
            checks.require_valid(self, path, name)
            problem = terrain.incidence_problem(sample_values(path))
            if problem:
                raise self.error(f"{self.label(name)}: {problem}.")
            return path, None
        if number is None and parameters.get(const_name) not in (None, ""):
            number = self.parameterAsDouble(parameters, const_name, context)
        if number is None:
            raise QgsProcessingException(self.tr("{0}: give {1} as a raster, or a constant angle in {2}. {3}.").format(
                self.displayName(), self.label(name), self.label(const_name), terrain.NO_INCIDENCE_HINT))
        problem = terrain.incidence_problem([number])
        if problem:
            raise self.error(f"{self.label(name)}: {problem}.")
        return None, number
