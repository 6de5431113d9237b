"""sarsense:vegetationcd — vegetation-corrected change detection (Fayad et al. 2022, eq. 4-7)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import calibration
from ....algorithms.soil_moisture import change_detection as cd
from ....algorithms.soil_moisture.series import SeriesOptions
from ...styles import SSM_RAMP, style_on_load
from .. import checks, inputs, names, outputs
from . import frozen
from .base import SoilMoistureAlgorithm


class VegetationCdAlgorithm(SoilMoistureAlgorithm):
    VV, V1, INPUT_UNITS, ALPHA, BETA, PARAMS = "VV", "V1", "INPUT_UNITS", "ALPHA", "BETA", "PARAMS"
    SSM_MIN, OUTPUT = "SSM_MIN", "OUTPUT"

    def name(self):
        return "vegetationcd"

    def displayName(self):
        return self.tr("Soil moisture by vegetation-corrected change detection")

    def tags(self):
        return self.tr("soil moisture,ssm,change detection,vegetation,ndvi,vh/vv,sentinel-1").split(",")

    def help_text(self):
        return self.tr(
            "Change detection with the vegetation's effect on the radar sensitivity (Fayad et al. 2022, eq. 4-7): "
            "ΔVV = σVV − σVV_min (dB, minimum per pixel over the series) and ΔVV = (α − β·V1)·(SSM_t − SSM_min), "
            "so SSM_t = SSM_min + ΔVV/(α − β·V1), in m³/m³.\n\n"
            "V1 is a vegetation variable on the same dates as VV: NDVI (e.g. 'NDVI' then 'Interpolate stack in "
            "time' onto the radar dates) or the VH/VV ratio. α (dB per m³/m³) and β are fitted to in situ data; "
            "the paper does not publish its values, so there are no defaults: give them, or the parameters JSON "
            "file ({{\"alpha\": …, \"beta\": …}}). Where α − β·V1 ≤ "
            "{0} the radar has no usable sensitivity: NaN, counted in the log.\n\n"
            "A parameters file from 'Calibrate vegetation-corrected change detection' whose fit was flagged (β < 0, "
            "no sensitivity left, or worse than the classic method on held-out samples) is used, with a warning in "
            "the log for each flag and '(calibration flagged)' in the layer name; α ≤ 0 or β < 0 typed in are "
            "warned about too.").format(cd.MIN_SENSITIVITY)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.VV, self.tr("VV time stack")),
                 "Dated VV stack, one band per date.")
        self.add_units(what="the VV stack")
        self.add(QgsProcessingParameterRasterLayer(self.V1, self.tr("Vegetation variable V1 stack (NDVI or VH/VV)")),
                 "Dated stack on the same dates as VV (matched by date; resampled onto VV's grid).")
        for key, label in ((self.ALPHA, "α, sensitivity of VV to soil moisture (dB per m³/m³)"),
                           (self.BETA, "β, loss of sensitivity per unit of V1")):
            self.add(QgsProcessingParameterNumber(key, self.tr(label), type=QgsProcessingParameterNumber.Double,
                                                  optional=True),
                     "Fitted value; no default (the paper does not publish its own). Or use the parameters file.",
                     decimals=4)
        self.add(QgsProcessingParameterFile(self.PARAMS, self.tr("Parameters file (JSON with alpha, beta)"),
                                            extension="json", optional=True),
                 "Overrides α and β when given.")
        self.add(QgsProcessingParameterNumber(self.SSM_MIN, self.tr("Driest soil moisture SSM_min (m³/m³)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.05,
                                              minValue=0.0, maxValue=1.0),
                 "Soil moisture at the date of σVV_min (site value).", decimals=3)
        frozen.add_parameters(self)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Soil moisture SSM (m³/m³)")),
                 "Float32 stack in m³/m³, one band per date.")

    def coefficients(self, parameters, context):
        """``(α, β, flags, V1 kind)``: from the parameters file (its calibration's flags) or the two numbers (flags of
        their own plausibility, :func:`~sarsense.algorithms.soil_moisture.calibration.plausibility`)."""
        if parameters.get(self.PARAMS):
            alpha, beta, data = cd.read_params(self.parameterAsFile(parameters, self.PARAMS, context))
            flags = [f for f in ((data.get("flags") or []) if isinstance(data, dict) else [])
                     if isinstance(f, dict) and "message" in f]
            # a file written by hand or by an older version has no flags: its α and β are checked here
            codes = {f.get("code") for f in flags}
            kind = data.get("v1") if isinstance(data, dict) and data.get("v1") in calibration.V1_KINDS else None
            return alpha, beta, flags + [f for f in calibration.plausibility(alpha, beta, v1=[], v1_kind="unknown")
                                         if f["code"] not in codes], kind
        if parameters.get(self.ALPHA) in (None, "") or parameters.get(self.BETA) in (None, ""):
            raise self.error(f"give {self.label(self.ALPHA)} and {self.label(self.BETA)}, or "
                             f"{self.label(self.PARAMS)}: the paper does not publish fitted values, so there are "
                             "no defaults (fit them to in situ data of your site).")
        alpha = self.parameterAsDouble(parameters, self.ALPHA, context)
        beta = self.parameterAsDouble(parameters, self.BETA, context)
        return alpha, beta, calibration.plausibility(alpha, beta, v1=[], v1_kind="unknown"), None

    def process(self, parameters, context, feedback):
        vv = inputs.raster_path(self, parameters, self.VV, context)
        v1 = inputs.raster_path(self, parameters, self.V1, context)
        alpha, beta, flags, kind = self.coefficients(parameters, context)
        for flag in flags:
            feedback.pushWarning(self.tr("{0} flagged: {1}. The map is made, but do not trust it before "
                                         "checking the fit.").format("Calibration" if parameters.get(self.PARAMS)
                                                                     else "α and β", flag["message"]))
        dates = checks.stack_dates(self, vv, self.VV, min_dates=2)
        v1_dates = checks.stack_dates(self, v1, self.V1, min_dates=1)
        checks.require_valid(self, vv, self.VV)
        checks.require_valid(self, v1, self.V1)
        self.check_v1(v1, self.V1, kind)
        _stack.match_dates(dates, v1_dates, self.label(self.VV), self.label(self.V1))
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.units(self, vv, "db" if in_db else "linear", units_param=self.INPUT_UNITS, name=self.VV)
        ssm_min = self.parameterAsDouble(parameters, self.SSM_MIN, context)
        screen = frozen.read_screen(self, parameters, context, feedback, vv, dates)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        counts = cd.vegetation_cd_file(vv, inputs.on_grid(self, v1, vv, self.V1, feedback), out, dates=dates,
                                       v1_bands=[v1_dates.index(d) + 1 for d in dates], alpha=alpha, beta=beta,
                                       ssm_min=ssm_min, in_db=in_db, series=SeriesOptions(frozen=screen),
                                       options=self.run_options(parameters, context, feedback, empty_hint=self.tr(
                                           "α − β·V1 ≤ {0} (no radar sensitivity left) wherever VV and V1 are both "
                                           "valid, or they share no valid pixel-date: check α = {1:g}, β = {2:g} "
                                           "against V1's values, and that V1 covers the VV stack.").format(
                                           cd.MIN_SENSITIVITY, alpha, beta)))
        feedback.pushInfo(self.tr("α = {0:g}, β = {1:g}, SSM_min = {2:g} m³/m³, {3} dates.").format(
            alpha, beta, ssm_min, len(dates)))
        outputs.report_infinite(self, feedback, counts)
        outputs.report_counts(self, feedback, counts, {
            "weak": f"{{n}} pixel-dates have α − β·V1 ≤ {cd.MIN_SENSITIVITY} (no radar sensitivity left under the "
                    "vegetation) and are NaN."})
        outputs.report_counts(self, feedback, counts, outputs.SSM_CLIPPED)
        what = ("calibration" if parameters.get(self.PARAMS) else "α, β") + " flagged" if flags else ""
        # a flagged calibration's map says so whatever its file is called
        style_on_load(context, out, ramp=SSM_RAMP, name=names.layer_name(
            self.tr("Soil moisture"), "vegetation-corrected change detection", names.input_details(vv)[1], what),
                      force_name=bool(flags))
        return frozen.report(self, context, feedback, counts, screen, {self.OUTPUT: out})
