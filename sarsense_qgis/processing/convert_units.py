"""sarsense:convertunits — dB ↔ linear power, amplitude ↔ intensity."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from ...algorithms import sar
from ...algorithms.io import run_blockwise
from ..styles import style_on_load
from .base import WORKERS, SarsenseAlgorithm

# Enum order is fixed (issue #2): 0 linear→dB, 1 dB→linear, 2 amplitude→intensity, 3 intensity→amplitude.
OPTIONS = ("Linear power → dB", "dB → linear power", "Amplitude → intensity", "Intensity → amplitude")
# What each conversion expects to read: values that look otherwise are refused.
EXPECTS = ("linear", "db", "linear", "linear")


class ConvertUnitsAlgorithm(SarsenseAlgorithm):
    INPUT, CONVERSION, OUTPUT = "INPUT", "CONVERSION", "OUTPUT"

    def name(self):
        return "convertunits"

    def displayName(self):  # noqa: N802
        return self.tr("Convert SAR units")

    def tags(self):
        return self.tr("sar,db,decibel,linear,sigma0,amplitude,intensity,backscatter,units").split(",")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Converts SAR backscatter between dB and linear power (10·log10 / 10^(x/10)) and between "
            "amplitude and intensity (A² / √I), band by band, block by block.\n\n"
            "Zero or negative linear values have no dB value: they become NaN (nodata), and the count is "
            "reported as a warning. The input is checked first: dB values given to a linear conversion "
            "(or the reverse) are refused with a message.\n\n"
            "Output: float32 GeoTIFF, NaN nodata, same grid and band descriptions as the input.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input SAR raster")),
                 "Backscatter raster (any band count). Nodata becomes NaN.")
        self.add(QgsProcessingParameterEnum(self.CONVERSION, self.tr("Conversion"), options=list(OPTIONS),
                                            defaultValue=0),
                 "0 linear power → dB, 1 dB → linear power, 2 amplitude → intensity, 3 intensity → amplitude.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Converted")),
                 "Float32 GeoTIFF with NaN nodata.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        src = self.raster_path(parameters, self.INPUT, context)
        idx = self.parameterAsEnum(parameters, self.CONVERSION, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.check_units(src, EXPECTS[idx], hint=" or pick the matching conversion")
        name = sar.CONVERSIONS[idx]
        invalid = []

        def kernel(block):
            res, n_bad = sar.convert(name, block)
            invalid.append(n_bad)
            return res

        self.run_core(run_blockwise, src, out, kernel, compression=self.compression(parameters, context),
                      bytes_per_pixel=16, workers=WORKERS, **self.callbacks(feedback))
        if sum(invalid):
            feedback.reportError(self.tr(f"{sum(invalid)} pixels were ≤ 0 (no valid {OPTIONS[idx].split(' → ')[1]} "
                                         "value) and were set to NaN."), fatalError=False)
        style_on_load(context, out)
        return {self.OUTPUT: out}
