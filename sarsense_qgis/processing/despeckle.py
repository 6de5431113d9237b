"""sarsense:despeckle — single-image speckle filters."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ...algorithms import speckle
from ...algorithms.io import run_blockwise
from ..styles import style_on_load
from .base import WORKERS, SarsenseAlgorithm

# Enum order is fixed (issue #2).
FILTER_LABELS = ("Boxcar (mean)", "Lee", "Refined Lee (edge-aligned)", "Frost", "Gamma-MAP", "Kuan", "Median")
UNITS = ("Linear power", "dB")


class DespeckleAlgorithm(SarsenseAlgorithm):
    INPUT, FILTER, SIZE, LOOKS, DAMPING, INPUT_UNITS, OUTPUT = (
        "INPUT", "FILTER", "SIZE", "LOOKS", "DAMPING", "INPUT_UNITS", "OUTPUT")

    def name(self):
        return "despeckle"

    def displayName(self):  # noqa: N802
        return self.tr("Despeckle SAR image")

    def tags(self):
        return self.tr("sar,speckle,despeckle,filter,lee,refined lee,frost,gamma map,kuan,median,boxcar").split(",")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Reduces speckle in SAR backscatter with a moving window, band by band.\n\n"
            "Lee, Frost, Gamma-MAP and Kuan follow OTB 8.1's definitions (same local statistics, same edge "
            "handling): on the same input our output equals otbcli_Despeckle's to float precision. Refined "
            "Lee uses Lee's (1981) eight edge-aligned windows (SIZE ≥ 5). NaN/nodata pixels stay NaN and are "
            "left out of their neighbours' statistics.\n\n"
            "Input: linear intensity (power), not dB. With INPUT_UNITS = dB the filter converts to linear, "
            "filters there and writes dB back. Values that do not match the chosen units are refused.\n\n"
            "LOOKS is the equivalent number of looks (ENL) of the input; DAMPING is Frost's damping factor.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input SAR raster")),
                 "Backscatter raster; each band is filtered on its own.")
        self.add(QgsProcessingParameterEnum(self.FILTER, self.tr("Filter"), options=list(FILTER_LABELS),
                                            defaultValue=4),
                 "0 boxcar, 1 Lee, 2 refined Lee, 3 Frost, 4 Gamma-MAP (default), 5 Kuan, 6 median.")
        self.add(QgsProcessingParameterNumber(self.SIZE, self.tr("Window size (pixels, odd)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=5,
                                              minValue=3, maxValue=21),
                 "Side of the square moving window in pixels: odd, 3 to 21. OTB's radius is (SIZE−1)/2.")
        self.add(QgsProcessingParameterNumber(self.LOOKS, self.tr("Equivalent number of looks (ENL)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=1.0,
                                              minValue=0.1),
                 "Speckle strength: Cu² = 1/ENL. 1 for single-look intensity; about 4.4 for Sentinel-1 IW GRDH.")
        self.add(QgsProcessingParameterNumber(self.DAMPING, self.tr("Damping factor (Frost)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=2.0,
                                              minValue=0.0),
                 "Frost only: weights exp(−D·Ci²·distance). Larger keeps more detail near edges.")
        self.add(QgsProcessingParameterEnum(self.INPUT_UNITS, self.tr("Input units"), options=list(UNITS),
                                            defaultValue=0),
                 "0 linear power (default), 1 dB: filtered in linear and written back in dB.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Despeckled")),
                 "Float32 GeoTIFF in the input's units, NaN nodata.")

    def checkParameterValues(self, parameters, context):  # noqa: N802
        problem = self.odd_size_problem(parameters, context)
        if problem:
            return False, problem
        filt = speckle.FILTERS[self.parameterAsEnum(parameters, self.FILTER, context)]
        if filt == "refinedlee" and self.parameterAsInt(parameters, self.SIZE, context) < 5:
            return False, self.tr("Refined Lee needs a window size of at least 5.")
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        src = self.raster_path(parameters, self.INPUT, context)
        filt = speckle.FILTERS[self.parameterAsEnum(parameters, self.FILTER, context)]
        size = self.parameterAsInt(parameters, self.SIZE, context)
        looks = self.parameterAsDouble(parameters, self.LOOKS, context)
        damping = self.parameterAsDouble(parameters, self.DAMPING, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.check_units(src, "db" if in_db else "linear", hint=", or set INPUT_UNITS to " +
                         ("linear" if in_db else "dB"))

        kernel = speckle.band_kernel(filt, size=size, looks=looks, damping=damping, in_db=in_db)
        self.run_core(run_blockwise, src, out, kernel, halo=size // 2, compression=self.compression(parameters, context),
                      bytes_per_pixel=speckle.working_bytes(filt), workers=WORKERS, **self.callbacks(feedback))
        style_on_load(context, out)
        return {self.OUTPUT: out}
