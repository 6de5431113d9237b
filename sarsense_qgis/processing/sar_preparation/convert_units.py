"""sarsense:convertunits — dB ↔ linear power, amplitude ↔ intensity."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms import sar
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from ..base import SarsenseAlgorithm

# Enum order is fixed (issue #2): 0 linear→dB, 1 dB→linear, 2 amplitude→intensity, 3 intensity→amplitude.
OPTIONS = ("Linear power → dB", "dB → linear power", "Amplitude → intensity", "Intensity → amplitude")
# What each conversion expects to read: values that look otherwise are refused.
EXPECTS = ("linear", "db", "linear", "linear")
# Why a value has no result, per conversion (the count is reported).
INVALID = ("zero or negative power", "above 385 dB, beyond float32", "", "negative intensity")


class ConvertUnitsAlgorithm(SarsenseAlgorithm):
    INPUT, CONVERSION, OUTPUT = "INPUT", "CONVERSION", "OUTPUT"

    def name(self):
        return "convertunits"

    def displayName(self):
        return self.tr("Convert SAR units")

    def tags(self):
        return self.tr("sar,db,decibel,linear,sigma0,amplitude,intensity,backscatter,units").split(",")

    def help_text(self):
        return self.tr(
            "Converts SAR backscatter between dB and linear power (10·log10 / 10^(x/10)) and between "
            "amplitude and intensity (A² / √I), band by band, block by block.\n\n"
            "Zero or negative linear values have no dB value, and dB values above 385 have no float32 power: "
            "they become NaN (nodata), and the count is reported as a warning. The input is checked first: "
            "dB values given to a linear conversion (or the reverse), and fill values such as −9999 that the "
            "file does not declare as nodata, are refused with a message.\n\n"
            "Complex (SLC) input: Amplitude → intensity reads each complex value z as its amplitude |z| and "
            "writes the intensity |z|²; the other conversions refuse complex input.\n\n"
            "Output: float32 GeoTIFF, NaN nodata, same grid and band descriptions as the input.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input SAR raster")),
                 "Backscatter raster (any band count). Nodata becomes NaN.")
        self.add(QgsProcessingParameterEnum(self.CONVERSION, self.tr("Conversion"), options=list(OPTIONS),
                                            defaultValue=0),
                 "0 linear power → dB, 1 dB → linear power, 2 amplitude → intensity, 3 intensity → amplitude.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Converted")),
                 "Float32 GeoTIFF with NaN nodata.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        idx = self.parameterAsEnum(parameters, self.CONVERSION, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if not sar.convertible_complex_bands(src, sar.CONVERSIONS[idx]):
            checks.units(self, src, EXPECTS[idx], sigma0=idx < 2)   # amplitude ↔ intensity: DN are valid input
        res = sar.convert_file(src, out, conversion=sar.CONVERSIONS[idx],
                               options=self.run_options(parameters, context, feedback))
        if res["complex_bands"]:
            feedback.pushInfo(self.tr("complex band(s) {0} read as |z|: the output is the intensity |z|²").format(
                ", ".join(map(str, res["complex_bands"]))))
        if res["invalid"]:
            feedback.reportError(self.tr("{0} pixels had no {1} value ({2}) and were set to NaN.").format(
                res["invalid"], OPTIONS[idx].split(" → ")[1], INVALID[idx]), fatalError=False)
        outputs.report_infinite(self, feedback, res)
        target = OPTIONS[idx].split(" → ")[1]
        style_on_load(context, out, name=names.layer_name(self.tr("Converted"), target, *names.input_details(src)),
                      unit=target if target in ("dB", "linear power") else None)
        return {self.OUTPUT: out}
