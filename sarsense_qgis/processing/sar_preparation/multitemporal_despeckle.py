"""sarsense:multitemporaldespeckle — Quegan & Yu (2001) filter over a dated stack."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.sar import speckle
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from ..base import SarsenseAlgorithm


class MultitemporalDespeckleAlgorithm(SarsenseAlgorithm):
    INPUT, SIZE, INPUT_UNITS, OUTPUT = "INPUT", "SIZE", "INPUT_UNITS", "OUTPUT"

    def name(self):
        return "multitemporaldespeckle"

    def displayName(self):
        return self.tr("Multi-temporal despeckle (Quegan)")

    def tags(self):
        return self.tr("sar,speckle,multitemporal,time series,stack,quegan,despeckle").split(",")

    def help_text(self):
        return self.tr(
            "Quegan & Yu (2001) multi-temporal speckle filter for a stack of co-registered dates (one band per "
            "date): J_k = E[I_k]/N · Σ_i I_i/E[I_i], with E[·] the local mean over an n×n window, n the Window "
            "size (pixels, odd) (SIZE). It "
            "reduces speckle while keeping each date's own mean level and spatial detail.\n\n"
            "Input: a multiband raster with at least 2 dates, in dB (the default Input units) or linear power, "
            "e.g. the output of 'Build dated stack'. The filter works on linear power; dB input is converted and "
            "written back in dB. Output: same band count and band descriptions (dates).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Time stack (one band per date)")),
                 "Co-registered stack, at least 2 bands; band descriptions (ISO dates) are kept.")
        self.add_units(what="the stack")
        self.add(QgsProcessingParameterNumber(self.SIZE, self.tr("Window size (pixels, odd)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=7,
                                              minValue=3, maxValue=21),
                 "Side of the window for the local means E[I]: odd, 3 to 21.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Filtered stack")),
                 "Float32 GeoTIFF, one band per date, NaN nodata.")

    def checkParameterValues(self, parameters, context):
        problem = checks.odd_size_problem(self, parameters, context)
        if problem:
            return False, problem
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        speckle.check_stack(src)
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        res = speckle.multitemporal_despeckle_file(src, out, size=self.parameterAsInt(parameters, self.SIZE, context),
                                                   in_db=in_db, options=self.run_options(parameters, context, feedback))
        outputs.report_infinite(self, feedback, res)
        style_on_load(context, out, name=names.layer_name(self.tr("Despeckled"), "multi-temporal Quegan–Yu",
                                                          *names.input_details(src)),
                      unit="dB" if in_db else "linear power")
        return {self.OUTPUT: out}
