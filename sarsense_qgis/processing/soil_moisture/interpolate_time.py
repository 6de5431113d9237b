"""sarsense:interpolatetime — a dated stack linearly interpolated onto other dates, pixel by pixel."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import timeinterp
from ...styles import style_on_load
from .. import checks, inputs, outputs
from .base import SoilMoistureAlgorithm


class InterpolateTimeAlgorithm(SoilMoistureAlgorithm):
    INPUT, TARGET, MAX_GAP_DAYS, OUTPUT = "INPUT", "TARGET", "MAX_GAP_DAYS", "OUTPUT"

    def name(self):
        return "interpolatetime"

    def displayName(self):
        return self.tr("Interpolate stack in time")

    def tags(self):
        return self.tr("time,interpolation,ndvi,dates,stack,resample,soil moisture").split(",")

    def help_text(self):
        return self.tr(
            "Puts a dated stack (e.g. NDVI from optical images) on other dates (e.g. the radar dates) by linear "
            "interpolation in time, pixel by pixel, as Fayad et al. (2022, §2.1.4) do for NDVI at each radar "
            "date.\n\nAt each pixel only its valid dates count: NaN dates (clouds) are skipped, never read as "
            "zero. A target date equal to a valid date takes that value. Outside the pixel's first and last valid "
            "date, or when the valid dates around the target are more than the maximum gap apart, the result is "
            "NaN (no extrapolation, no bridging of long gaps).\n\nTarget dates: a dated stack (a file path or a "
            "loaded layer's name; its band dates are used) or a comma-separated list of ISO dates "
            "(2016-01-05, 2016-01-17). Output: one band per target date, described by its date.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated stack to interpolate")),
                 "One band per date, ISO dates in the band descriptions (as 'Build dated stack' writes).")
        self.add(QgsProcessingParameterString(self.TARGET, self.tr("Target dates (dated stack or ISO dates)")),
                 "A dated stack whose dates to use (path or layer name), or ISO dates separated by commas.")
        self.add(QgsProcessingParameterNumber(self.MAX_GAP_DAYS, self.tr("Maximum gap between valid dates (days)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=32.0,
                                              minValue=0.0),
                 "Two valid dates further apart than this are not bridged: the dates between them are NaN.",
                 decimals=1)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Interpolated stack")),
                 "Float32 GeoTIFF, one band per target date, NaN nodata.")

    def target_dates(self, parameters, context):
        text = (self.parameterAsString(parameters, self.TARGET, context) or "").strip()
        if not text:
            raise self.error(f"give {self.label(self.TARGET)}: a dated stack or ISO dates separated by commas.")
        cube = inputs.cube_stack(self, text, self.TARGET)     # a datacube variable: its time steps
        if cube is not None:
            return checks.stack_dates(self, cube, self.TARGET, min_dates=1)
        layer = QgsProcessingUtils.mapLayerFromString(text, context)
        if layer is not None or os.path.exists(text.split("|")[0]):
            path = layer.source() if layer is not None else text.split("|")[0]
            return checks.stack_dates(self, path, self.TARGET, min_dates=1)
        dates = []
        for item in text.replace(";", ",").split(","):
            item = item.strip()
            found = _stack.parse_date(item) if item else None
            if found is None or len(item) > 10:
                raise self.error(f"{self.label(self.TARGET)}: '{item}' is neither an ISO date (YYYY-MM-DD) nor a "
                                 "raster that exists; give a dated stack or dates like 2016-01-05, 2016-01-17.")
            dates.append(found)
        return dates

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=2)
        checks.require_valid(self, src, self.INPUT)
        targets = self.target_dates(parameters, context)
        gap = self.parameterAsDouble(parameters, self.MAX_GAP_DAYS, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        outside = timeinterp.outside_dates(dates, targets)
        if outside:
            feedback.reportError(self.tr("{0} target date(s) lie outside the input's dates ({1} to {2}) and are NaN: "
                                         "{3}.").format(len(outside), min(dates), max(dates), ", ".join(outside)),
                                 fatalError=False)
        counts = timeinterp.interpolate_time_file(src, out, dates=dates, targets=targets, max_gap_days=gap,
                                                  options=self.run_options(
                                                      parameters, context, feedback, empty_hint=self.tr(
                                                          "no target date lies between two valid dates of a pixel "
                                                          "less than {0:g} days apart: give target dates within the "
                                                          "input's, or a larger {1}.").format(
                                                          gap, self.label(self.MAX_GAP_DAYS))))
        feedback.pushInfo(self.tr("{0} input dates → {1} target dates, gaps > {2:g} days not bridged.").format(
            len(dates), len(targets), gap))
        outputs.report_infinite(self, feedback, counts)
        style_on_load(context, out)
        return {self.OUTPUT: out}
