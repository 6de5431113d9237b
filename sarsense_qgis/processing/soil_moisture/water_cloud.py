"""sarsense:watercloud — soil and vegetation terms of σ° by the Water Cloud Model (Rahimabadi & Jamali 2019,
eq. 1, 4-6)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import read_info
from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import water_cloud
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from .base import SoilMoistureAlgorithm

#: Why σ°_soil is NaN, one sentence per count of the job (pixel-dates).
NAN_REASONS = {
    "no_sigma": "{n} pixel-dates have no σ° (NaN in the input): σ°_soil is NaN.",
    "no_ndvi": "{n} pixel-dates have σ° but no NDVI or incidence angle (NaN: masked, e.g. by 'NDVI' with its "
               "0.15-0.8 filter on, or no NDVI date near enough in 'Interpolate stack in time'): σ°_soil is NaN "
               "whatever A and B.",
    "no_soil": "{n} pixel-dates have σ° ≤ σ°_veg = A·LAI·cos θ·(1 − τ²) (the vegetation term explains all the "
               "signal): σ°_soil is NaN.",
    "opaque": "{n} pixel-dates have τ² = exp(−2·B·LAI·sec θ) so small that σ°_soil = (σ° − σ°_veg)/τ² leaves the "
              "float range (the canopy is opaque with this B): σ°_soil is NaN."}


def nan_diagnosis(counts, a, b):
    """The sentence that says why most of σ°_soil is NaN (the largest cause among those of
    :data:`NAN_REASONS` but missing σ°), or "" when at least half of the pixel-dates with σ° have a soil term."""
    with_sigma = counts["no_ndvi"] + counts["valid"]
    causes = {k: counts[k] for k in ("no_ndvi", "no_soil", "opaque")}
    if not with_sigma or sum(causes.values()) <= 0.5 * with_sigma:
        return ""
    share = 100 * sum(causes.values()) / with_sigma
    main = max(causes, key=causes.get)
    head = f"σ°_soil is NaN on {share:.0f} % of the pixel-dates that have a σ°, "
    if main == "no_ndvi":
        return head + ("mostly because NDVI (or the incidence angle) is NaN there, not because of A or B: check the "
                       "NDVI stack's cover and dates (e.g. a larger maximum gap in 'Interpolate stack in time').")
    if main == "opaque":
        return head + (f"mostly because B = {b:g} makes τ² = exp(−2·B·LAI·sec θ) vanish (an opaque canopy): B is "
                       "too high for these data; A is not the cause.")
    return head + (f"mostly because the vegetation term σ°_veg = A·LAI·cos θ·(1 − τ²) exceeds the measured σ° "
                   f"({100 * causes['no_soil'] / with_sigma:.0f} %): A = {a:g} is too high for these data; on those "
                   f"pixel-dates σ°_veg stays below σ° for A under about {counts['a_max']:.3g} (geometric mean). B "
                   f"enters σ°_veg only through the factor (1 − τ²) ≤ 1, so it is not the main cause. Fit A and B to "
                   "your crop and sensor ('Calibrate Water Cloud Model').")


class WaterCloudAlgorithm(SoilMoistureAlgorithm):
    INPUT, INPUT_UNITS, NDVI, INCIDENCE, INCIDENCE_ANGLE = "INPUT", "INPUT_UNITS", "NDVI", "INCIDENCE", \
        "INCIDENCE_ANGLE"
    A, B, PARAMS, OUTPUT_SOIL, OUTPUT_VEG = "A", "B", "PARAMS", "OUTPUT_SOIL", "OUTPUT_VEG"
    NUMBER_OR_RASTER = ("INCIDENCE",)

    def name(self):
        return "watercloud"

    def displayName(self):
        return self.tr("Water Cloud Model: soil and vegetation backscatter")

    def tags(self):
        return self.tr("water cloud model,wcm,vegetation,lai,ndvi,soil moisture,sigma0").split(",")

    def help_text(self):
        return self.tr(
            "Separates the vegetation's own backscatter from the soil's (Rahimabadi & Jamali 2019, eq. 1, "
            "4-6), in linear "
            "power: LAI = 0.57·exp(2.33·NDVI); τ² = exp(−2·B·LAI·sec θ); σ°_veg = A·LAI·cos θ·(1 − τ²); "
            "σ°_soil = (σ° − σ°_veg)/τ².\n\n"
            "A and B have no default: the paper prints the equations without them (A = B = 1 as printed leave no "
            "soil term on C-band data: σ°_soil is NaN on 100 % of the bundled Bolivia series), and a fitted pair "
            "holds only for its crop, sensor, polarisation and vegetation descriptor (here LAI from NDVI). Fit them "
            "on field samples of σ°, NDVI, θ and soil moisture ('Calibrate Water Cloud Model' on the samples "
            "'Extract raster values at stations' writes), or take published values fitted with LAI at C-band for "
            "your crop. The log says which term made σ°_soil NaN and, when A is too high, the largest A the data "
            "admit.\n\n"
            "τ²: the paper's eq. 4 multiplies σ°_soil by τ, its eq. 5 defines τ²; we follow the Water Cloud Model "
            "(Attema & Ulaby 1978): the soil term is attenuated on the way in and out, τ². The one-way reading "
            "would give soil terms lower by 10·log10 τ dB (see docs/soil_moisture.md for the bundled data).\n\n"
            "NDVI: one band (all dates) or a dated stack on the input's dates; resampled onto the input's grid. "
            "Where σ° ≤ σ°_veg the vegetation alone explains the signal: σ°_soil is NaN, counted. Outputs are in "
            "the input's units (dB stays dB).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Backscatter σ°")),
                 "σ° (one band or a dated stack).")
        self.add_units(what="σ°")
        self.add(QgsProcessingParameterRasterLayer(self.NDVI, self.tr("NDVI")),
                 "One band, or a dated stack on the same dates as the input (e.g. 'Interpolate stack in time').")
        self.add_angle(self.INCIDENCE, self.INCIDENCE_ANGLE, "Incidence angle",
                       "Incidence angle θ in degrees (local incidence after 'Terrain normalisation', or ellipsoid).")
        self.add(QgsProcessingParameterNumber(self.A, self.tr("A, vegetation backscatter per unit LAI (fitted)"),
                                              type=QgsProcessingParameterNumber.Double, minValue=0.0, optional=True,
                                              defaultValue=water_cloud.LITERATURE_A),
                 "Multiplies LAI·cos θ·(1 − τ²) in σ°_veg (linear power). Default {0:g}: {1}, where the canopy's own "
                 "backscatter was not significant at C band; a value fitted to your crop and sensor ('Calibrate "
                 "Water Cloud Model') is better, or the parameters file.",
                 help_args=(water_cloud.LITERATURE_A, water_cloud.LITERATURE_SOURCE), decimals=4)
        self.add(QgsProcessingParameterNumber(self.B, self.tr("B, vegetation attenuation per unit LAI (fitted)"),
                                              type=QgsProcessingParameterNumber.Double, minValue=0.0, optional=True,
                                              defaultValue=water_cloud.LITERATURE_B),
                 "Multiplies LAI in τ² = exp(−2·B·LAI·sec θ). Default {0:g}: {1}; fitted with A is better, or the "
                 "parameters file.", help_args=(water_cloud.LITERATURE_B, water_cloud.LITERATURE_SOURCE),
                 decimals=4)
        self.add(QgsProcessingParameterFile(self.PARAMS, self.tr("Parameters file (JSON with a, b)"),
                                            extension="json", optional=True),
                 "What 'Calibrate Water Cloud Model' writes; overrides A and B when given.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_SOIL, self.tr("Soil backscatter σ°_soil")),
                 "Float32, input units, NaN where the vegetation explains all the signal.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_VEG, self.tr("Vegetation backscatter σ°_veg"),
                                                         optional=True, createByDefault=True),
                 "Float32, input units.")

    def checkParameterValues(self, parameters, context):
        if not parameters.get(self.PARAMS) and checks.as_number(parameters.get(self.A)) == 0 \
                and checks.as_number(parameters.get(self.B)) == 0:
            return False, self.tr("{0} and {1} are both 0: no vegetation term at all (σ°_soil = σ°). Give fitted "
                                  "values.").format(self.label(self.A), self.label(self.B))
        return super().checkParameterValues(parameters, context)

    def coefficients(self, parameters, context, feedback=None):
        """``(A, B)`` from the parameters file, else the two numbers (the literature defaults where not given: the
        log says so)."""
        if parameters.get(self.PARAMS):
            return water_cloud.read_params(self.parameterAsFile(parameters, self.PARAMS, context))
        a, b = self.parameterAsDouble(parameters, self.A, context), self.parameterAsDouble(parameters, self.B, context)
        # the dialog passes the defaults as values: a run on them is told so whichever way it was started
        defaults = [self.label(k) for k, v, d in ((self.A, a, water_cloud.LITERATURE_A),
                                                  (self.B, b, water_cloud.LITERATURE_B)) if v == d]
        if defaults and feedback is not None:
            feedback.pushWarning(self.tr(
                "{0}: the literature default of {1} (A = {2:g}, B = {3:g}, LAI as descriptor). Your crop, "
                "polarisation and angle differ: fit A and B on station samples with 'Calibrate Water Cloud Model' "
                "and give its file as {4}.").format(" and ".join(defaults), water_cloud.LITERATURE_SOURCE,
                                                    water_cloud.LITERATURE_A, water_cloud.LITERATURE_B,
                                                    self.label(self.PARAMS)))
        return a, b

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        # a stack must be one series before its bands' values are judged (an incidence band among the dates
        # is a stack to rebuild, not σ° to calibrate)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1) if read_info(src).band_count > 1 else None
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        ndvi = inputs.raster_path(self, parameters, self.NDVI, context)
        inc_path, inc_const = self.angle_source(parameters, self.INCIDENCE, self.INCIDENCE_ANGLE, context)
        a, b = self.coefficients(parameters, context, feedback)
        out_soil = self.parameterAsOutputLayer(parameters, self.OUTPUT_SOIL, context)
        out_veg = self.parameterAsOutputLayer(parameters, self.OUTPUT_VEG, context) \
            if parameters.get(self.OUTPUT_VEG) else None
        n = read_info(src).band_count
        checks.require_valid(self, src, self.INPUT)
        checks.require_valid(self, ndvi, self.NDVI)
        self.check_ndvi(ndvi, self.NDVI)
        if read_info(ndvi).band_count == 1:
            ndvi_bands = [1] * n
        else:
            dates = dates or checks.stack_dates(self, src, self.INPUT, min_dates=1)
            ndvi_dates = checks.stack_dates(self, ndvi, self.NDVI, min_dates=1)
            _stack.match_dates(dates, ndvi_dates, self.label(self.INPUT), self.label(self.NDVI))
            ndvi_bands = [ndvi_dates.index(d) + 1 for d in dates]
        ndvi_on = inputs.on_grid(self, ndvi, src, self.NDVI, feedback)
        inc_on = inputs.on_grid(self, inc_path, src, self.INCIDENCE, feedback) if inc_path else None
        counts = water_cloud.water_cloud_file(
            src, ndvi_on, out_soil, ndvi_bands=ndvi_bands, incidence=inc_on,
            incidence_deg=None if inc_path else inc_const, a=a, b=b, in_db=in_db, output_veg=out_veg,
            incidence_name=self.label(self.INCIDENCE),
            options=self.run_options(parameters, context, feedback, allow_empty=True))  # refused below, with its cause

        feedback.pushInfo(self.tr("A = {0:g}, B = {1:g}; two-way attenuation τ² (see the help), geometric mean "
                                  "{2:.3g} over the pixel-dates with σ° and NDVI: σ°_soil = (σ° − σ°_veg)/τ² "
                                  "multiplies what is left by {3:.3g}.").format(a, b, counts["tau2"],
                                                                                1 / counts["tau2"])
                          if counts["tau2"] > 0 else self.tr("A = {0:g}, B = {1:g}.").format(a, b))
        outputs.report_infinite(self, feedback, counts)
        with_sigma = counts["no_ndvi"] + counts["valid"]
        feedback.pushInfo(self.tr("σ° ≤ σ°_veg (no soil term, NaN) on {0:.1f} % of the {1} pixel-dates with σ°; "
                                  "no NDVI or angle on {2:.1f} %.").format(
            100 * counts["no_soil"] / with_sigma if with_sigma else 0.0, with_sigma,
            100 * counts["no_ndvi"] / with_sigma if with_sigma else 0.0))
        outputs.report_counts(self, feedback, counts, NAN_REASONS)
        why = nan_diagnosis(counts, a, b)
        if not counts["soil"]:   # the base class removes the outputs of a refused run
            counted = " ".join(self.tr(NAN_REASONS[k]).format(n=counts[k]) for k in NAN_REASONS if counts[k])
            raise self.error(self.tr("every pixel of σ°_soil would be NaN, so nothing was written: {0} {1}").format(
                why or self.tr("check that σ° and NDVI overlap in space and dates."), counted))
        if why:
            feedback.pushWarning(why)
        style_on_load(context, out_soil, name=names.layer_name(self.tr("Soil backscatter σ°_soil"),
                                                               "Water Cloud Model"))
        result = {self.OUTPUT_SOIL: out_soil}
        if out_veg:
            style_on_load(context, out_veg, name=names.layer_name(self.tr("Vegetation backscatter σ°_veg"),
                                                                  "Water Cloud Model"))
            result[self.OUTPUT_VEG] = out_veg
        return result
