"""sarsense:changedetection — change-detection soil moisture index and SSM (Fayad et al. 2022, eq. 2-3)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.soil_moisture import change_detection as cd
from ...styles import INDEX_RAMP, SSM_RAMP, style_on_load
from .. import checks, inputs, names, outputs
from . import frozen
from .base import SoilMoistureAlgorithm, toggles

#: The share of sampled pixels with SSM_min ≥ SSM_max above which the rasters are refused (swapped or mixed up);
#: at or below it those pixels are NaN and counted in the log.
MAX_CONFLICT_SHARE = 0.5


def check_bounds(alg, parameters, context, feedback, rasters):
    """Refuse SSM_min/SSM_max rasters that are no soil moisture (m³/m³) or whose SSM_min is at or above SSM_max
    (raster or number) on most sampled pixels; count the pixels where it is on fewer (NaN there)."""
    for key, path in rasters.items():
        checks.require_valid(alg, path, key)
        checks.value_range(alg, path, key, "soil_moisture", hint=alg.tr(
            "Give it in m³/m³ (percent / 100), the site's driest or wettest soil moisture."))
    if not rasters:
        return
    lo = alg.parameterAsDouble(parameters, alg.SSM_MIN, context)
    hi = alg.parameterAsDouble(parameters, alg.SSM_MAX, context)
    n, of, (a, b) = cd.bound_conflicts(lo, hi, ssm_min_raster=rasters.get(alg.SSM_MIN_RASTER),
                                       ssm_max_raster=rasters.get(alg.SSM_MAX_RASTER))
    if not n:
        return
    pair = [alg.label(r) if r in rasters else f"{alg.label(k)} = {v:g}"
            for r, k, v in ((alg.SSM_MIN_RASTER, alg.SSM_MIN, lo), (alg.SSM_MAX_RASTER, alg.SSM_MAX, hi))]
    what = alg.tr("the driest soil moisture is not below the wettest on {0} of {1} sampled pixels (e.g. {2:g} ≥ "
                  "{3:g} m³/m³ from {4} and {5})").format(n, of, a, b, *pair)
    if n > MAX_CONFLICT_SHARE * of:
        raise alg.error(alg.tr("{0}: eq. 3 has no answer there and the map would be NaN. Check that they are not "
                               "swapped or the same layer.").format(what))
    feedback.pushWarning(alg.tr("{0}: soil moisture is NaN there.").format(what))


def report_references(alg, feedback, references, groups, dates, reference):
    """Log, per series (orbit group, or the whole stack), its dates and the mean dry and wet references (dB) used."""
    kind = "minimum/maximum" if reference == "minmax" else "percentiles"
    named = [(g.label, g.bands) for g in groups] if groups else [("one series", tuple(range(len(dates))))]
    for (label, idx), (dry, wet, n) in zip(named, references):
        feedback.pushInfo(alg.tr("{0}, {1} date(s) ({2} … {3}): dry/wet references ({4}) {5:.2f} / {6:.2f} dB on "
                                 "average over {7} pixel(s).").format(
            label, len(idx), dates[idx[0]], dates[idx[-1]], kind, dry, wet, n))


def warn_ignored_percentiles(alg, parameters, context, feedback, reference):
    """Warn when percentile fields were set away from their defaults but the reference uses none (min/max)."""
    ignored = [f"{alg.label(k)} = {parameters[k]}" for k in (alg.LOW_PCT, alg.HIGH_PCT)
               if reference == "minmax" and parameters.get(k) not in (None, "")
               and alg.parameterAsDouble(parameters, k, context) != alg.parameterDefinition(k).defaultValue()]
    if ignored:
        feedback.pushWarning(alg.tr("{0} ignored: {1} is the minimum/maximum over the series, which uses no "
                                    "percentile. Choose Percentiles to use them.").format(
            " and ".join(ignored), alg.label(alg.REFERENCE)))


class ChangeDetectionAlgorithm(SoilMoistureAlgorithm):
    INPUT, INPUT_UNITS = "INPUT", "INPUT_UNITS"
    SSM_MIN, SSM_MAX, SSM_MIN_RASTER, SSM_MAX_RASTER = "SSM_MIN", "SSM_MAX", "SSM_MIN_RASTER", "SSM_MAX_RASTER"
    REFERENCE, LOW_PCT, HIGH_PCT, MIN_DATES = "REFERENCE", "LOW_PCT", "HIGH_PCT", "MIN_DATES"
    OUTPUT_INDEX, OUTPUT_SSM, OUTPUT_DVV = "OUTPUT_INDEX", "OUTPUT_SSM", "OUTPUT_DVV"

    def name(self):
        return "changedetection"

    def displayName(self):
        return self.tr("Soil moisture by change detection")

    def tags(self):
        return self.tr("soil moisture,ssm,change detection,sentinel-1,vv,time series,index").split(",")

    def help_text(self):
        return self.tr(
            "Surface soil moisture from a VV backscatter time series by change detection (Fayad et al. 2022, "
            "eq. 2-3): per pixel, I_SSM = (σVV − σVV_min)/(σVV_max − σVV_min) on dB values, min and max over "
            "the series (or the chosen percentiles, the index then clipped to 0-1), and SSM_t = I_SSM·(SSM_max − "
            "SSM_min) + SSM_min in m³/m³.\n\n"
            "SSM_min and SSM_max are the driest and wettest soil moisture of the site (in situ, or a soil map's "
            "wilting point and porosity); the defaults are placeholders for a mineral soil. Rasters override them "
            "per pixel. Pixels with fewer valid dates than the minimum, or a dynamic below "
            "{0} dB (flat series: noise only), are NaN and counted in the log. SSM_t is clipped to [0, porosity] (the "
            "soil's saturation; SSM_max above it is refused), the pixel-dates clipped counted in the log and the "
            "output CLIPPED.\n\n"
            "Input: a dated VV stack (one band per date, 'Build dated stack'), ideally speckle-filtered "
            "('Multi-temporal despeckle'). Outputs keep the dates. The method assumes roughness and vegetation "
            "do not change over the series; with growing vegetation use 'Soil moisture by vegetation-corrected "
            "change detection'.").format(cd.MIN_RANGE_DB)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("VV time stack")),
                 "Dated VV stack, one band per date.")
        self.add_units(what="the VV stack")
        for key, label, default in ((self.SSM_MIN, "Driest soil moisture SSM_min (m³/m³)", 0.05),
                                    (self.SSM_MAX, "Wettest soil moisture SSM_max (m³/m³)", 0.40)):
            self.add(QgsProcessingParameterNumber(key, self.tr(label), type=QgsProcessingParameterNumber.Double,
                                                  defaultValue=default, minValue=0.0, maxValue=1.0),
                     "Volumetric water content; a site value (in situ minimum/maximum over the series).", decimals=3)
        self.add_porosity()
        for key, label in ((self.SSM_MIN_RASTER, "SSM_min raster (m³/m³)"),
                           (self.SSM_MAX_RASTER, "SSM_max raster (m³/m³)")):
            self.add(QgsProcessingParameterRasterLayer(key, self.tr(label), optional=True),
                     "Per-pixel value overriding the number (e.g. from a soil map); resampled onto the stack's grid.",
                     advanced=True)
        self.add(toggles(QgsProcessingParameterEnum(self.REFERENCE, self.tr("Dry/wet reference"),
                                                    options=[self.tr("Minimum/maximum over the series (paper)"),
                                                             self.tr("Percentiles")], defaultValue=0),
                         (self.LOW_PCT, self.HIGH_PCT), when=1),
                 "Min/max is the paper's; percentiles are robust to one outlying date (index clipped to 0-1). The "
                 "percentile fields are shown only with Percentiles.")
        for key, label, default, text in (
                (self.LOW_PCT, "Low percentile in % (percentile reference only)", 5.0, "Dry reference"),
                (self.HIGH_PCT, "High percentile in % (percentile reference only)", 95.0, "Wet reference")):
            self.add(QgsProcessingParameterNumber(key, self.tr(label), type=QgsProcessingParameterNumber.Double,
                                                  defaultValue=default, minValue=0.0, maxValue=100.0),
                     "{0} with Dry/wet reference = Percentiles; ignored (and said so in the log) with min/max.",
                     help_args=(text,), decimals=1)
        self.add(QgsProcessingParameterNumber(self.MIN_DATES, self.tr("Minimum valid dates per pixel"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=5, minValue=2),
                 "Pixels with fewer valid (non-NaN) dates are NaN.")
        frozen.add_parameters(self)
        self.add_orbits()
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_INDEX, self.tr("Soil moisture index I_SSM")),
                 "Float32 stack, 0 (driest) to 1 (wettest), one band per date.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_SSM, self.tr("Soil moisture SSM (m³/m³)")),
                 "Float32 stack in m³/m³, one band per date.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_DVV, self.tr("Backscatter change ΔVV (dB)"),
                                                         optional=True, createByDefault=False),
                 "Optional float32 stack, σVV − its minimum over the series (eq. 6), one band per date: a predictor "
                 "of 'Map soil moisture with the neural network'.")

    def checkParameterValues(self, parameters, context):
        lo = self.parameterAsDouble(parameters, self.SSM_MIN, context)
        hi = self.parameterAsDouble(parameters, self.SSM_MAX, context)
        if lo >= hi:
            return False, self.tr("{0} ({1:g}) must be below {2} ({3:g}).").format(
                self.label(self.SSM_MIN), lo, self.label(self.SSM_MAX), hi)
        porosity = self.parameterAsDouble(parameters, self.POROSITY, context)
        if porosity < hi <= 1.0:      # a value outside 0..1 is refused by its range below
            return False, self.tr("{0} ({1:g} m³/m³) is above {2} ({3:g} m³/m³), the most water the soil holds: "
                                  "lower {0} to the site's wettest soil moisture, or raise {2} to the soil's "
                                  "saturated water content.").format(self.label(self.SSM_MAX), hi,
                                                                     self.label(self.POROSITY), porosity)
        if self.parameterAsEnum(parameters, self.REFERENCE, context) == 1:
            p0 = self.parameterAsDouble(parameters, self.LOW_PCT, context)
            p1 = self.parameterAsDouble(parameters, self.HIGH_PCT, context)
            if p0 >= p1:
                return False, self.tr("{0} ({1:g}) must be below {2} ({3:g}).").format(
                    self.label(self.LOW_PCT), p0, self.label(self.HIGH_PCT), p1)
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=2)
        checks.require_valid(self, src, self.INPUT)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        min_dates = self.parameterAsInt(parameters, self.MIN_DATES, context)
        if min_dates > len(dates):
            raise self.error(f"{self.label(self.MIN_DATES)} is {min_dates} but the stack has {len(dates)} dates: "
                             "lower it, or use a longer stack.")
        groups = self.orbit_groups(parameters, context, feedback, src, self.INPUT, min_dates=min_dates,
                                   need=f"{self.label(self.MIN_DATES)} = {min_dates}")
        lo = self.parameterAsDouble(parameters, self.SSM_MIN, context)
        hi = self.parameterAsDouble(parameters, self.SSM_MAX, context)
        cd.check_ssm_bounds(lo, hi)
        reference = cd.REFERENCES[self.parameterAsEnum(parameters, self.REFERENCE, context)]
        warn_ignored_percentiles(self, parameters, context, feedback, reference)
        out_index = self.parameterAsOutputLayer(parameters, self.OUTPUT_INDEX, context)
        out_ssm = self.parameterAsOutputLayer(parameters, self.OUTPUT_SSM, context)
        rasters = {key: inputs.on_grid(self, inputs.raster_path(self, parameters, key, context), src, key, feedback)
                   for key in (self.SSM_MIN_RASTER, self.SSM_MAX_RASTER) if parameters.get(key)}
        check_bounds(self, parameters, context, feedback, rasters)
        series = self.series_options(parameters, context, groups=checks.series_of(groups),
                                     frozen=frozen.read_screen(self, parameters, context, feedback, src, dates))
        out_dvv = self.parameterAsOutputLayer(parameters, self.OUTPUT_DVV, context) \
            if parameters.get(self.OUTPUT_DVV) else None
        counts = cd.change_detection_file(
            src, out_index, out_ssm, dates=dates, output_dvv=out_dvv, in_db=in_db,
            reference=reference,
            low_pct=self.parameterAsDouble(parameters, self.LOW_PCT, context),
            high_pct=self.parameterAsDouble(parameters, self.HIGH_PCT, context), min_dates=min_dates,
            ssm_min=lo, ssm_max=hi, ssm_min_raster=rasters.get(self.SSM_MIN_RASTER),
            ssm_max_raster=rasters.get(self.SSM_MAX_RASTER), series=series,
            options=self.run_options(parameters, context, feedback, empty_hint=self.tr(
                "no pixel has {0} valid dates whose VV varies by {1} dB or more over the series (with SSM_min below "
                "SSM_max): lower {2}, give a longer stack, or check its nodata value.").format(
                min_dates, cd.MIN_RANGE_DB, self.label(self.MIN_DATES))))
        report_references(self, feedback, counts["references"], groups, dates, reference)
        outputs.report_infinite(self, feedback, counts)
        clipped = self.report_clipped(feedback, counts, series.porosity)
        outputs.report_counts(self, feedback, counts, {
            "few": f"{{n}} pixels have fewer than {min_dates} valid dates and are NaN.",
            "flat": f"{{n}} pixels vary by less than {cd.MIN_RANGE_DB} dB over the series (no usable change) and "
                    "are NaN."})
        when = names.input_details(src)[1]
        style_on_load(context, out_index, ramp=INDEX_RAMP,
                      name=names.layer_name(self.tr("Soil moisture index"), "change detection", when))
        style_on_load(context, out_ssm, ramp=SSM_RAMP,
                      name=names.layer_name(self.tr("Soil moisture"), "change detection", when))
        result = {self.OUTPUT_INDEX: out_index, self.OUTPUT_SSM: out_ssm, self.CLIPPED: clipped}
        if out_dvv:
            result[self.OUTPUT_DVV] = out_dvv
        return frozen.report(self, context, feedback, counts, series.frozen, result)
