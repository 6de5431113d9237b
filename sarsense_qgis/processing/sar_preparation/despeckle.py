"""sarsense:despeckle — single-image speckle filters."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.sar import speckle
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from ..base import SarsenseAlgorithm

# Enum order is fixed (issue #2).
FILTER_LABELS = ("Boxcar (mean)", "Lee", "Refined Lee (edge-aligned)", "Frost", "Gamma-MAP", "Kuan", "Median")


class DespeckleAlgorithm(SarsenseAlgorithm):
    INPUT, FILTER, SIZE, LOOKS, DAMPING, INPUT_UNITS, OUTPUT = (
        "INPUT", "FILTER", "SIZE", "LOOKS", "DAMPING", "INPUT_UNITS", "OUTPUT")

    def name(self):
        return "despeckle"

    def displayName(self):
        return self.tr("Despeckle SAR image")

    def tags(self):
        return self.tr("sar,speckle,despeckle,filter,lee,refined lee,frost,gamma map,kuan,median,boxcar").split(",")

    def help_text(self):
        return self.tr(
            "Reduces speckle in SAR backscatter with a moving window, band by band.\n\n"
            "Input: backscatter in dB (the default Input units, as the bundled scenes and most Sentinel-1 "
            "products are) or in linear power. The filters always work on linear power: dB input is converted "
            "to linear, filtered and written back in dB. Values that do not match the chosen Input units are "
            "refused with a message.\n\n"
            "Lee, Frost, Gamma-MAP and Kuan follow OTB 8.1's definitions (same local statistics, same edge "
            "handling): on the same input the output equals otbcli_Despeckle's to float precision. Refined "
            "Lee uses Lee's (1981) eight edge-aligned windows (Window size ≥ 5). NaN/nodata pixels stay NaN and "
            "are left out of their neighbours' statistics.\n\n"
            "Equivalent number of looks (ENL): the speckle strength of the input (1 for single-look intensity, "
            "4.4 for Sentinel-1 IW GRDH by ESA's product specification). 0 (the default) takes it from the input: "
            "the ENL the Sentinel-1 import writes for the product, else an estimate from the image (μ²/σ² of its "
            "homogeneous 9×9 windows, Anfinsen et al. 2009); the log says which ENL was used and where it came "
            "from. Damping factor: Frost only.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input SAR raster")),
                 "Backscatter raster (dB or linear power); each band is filtered on its own.")
        self.add_units(what="the input SAR raster")
        self.add(QgsProcessingParameterEnum(self.FILTER, self.tr("Filter"), options=list(FILTER_LABELS),
                                            defaultValue=4),
                 "Boxcar, Lee, refined Lee, Frost, Gamma-MAP (default), Kuan or median.")
        self.add(QgsProcessingParameterNumber(self.SIZE, self.tr("Window size (pixels, odd)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=5,
                                              minValue=3, maxValue=21),
                 "Side of the square moving window in pixels: odd, 3 to 21. OTB's radius is (size − 1)/2.")
        self.add(QgsProcessingParameterNumber(self.LOOKS, self.tr("Equivalent number of looks (ENL)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.0,
                                              minValue=0.0),
                 "Speckle strength: Cu² = 1/ENL. 0: from the input (the product's ENL the Sentinel-1 import "
                 "writes, else estimated from the image's homogeneous areas). 1 for single-look intensity; 4.4 for "
                 "Sentinel-1 IW GRDH.", decimals=2)
        self.add(QgsProcessingParameterNumber(self.DAMPING, self.tr("Damping factor (Frost)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=2.0,
                                              minValue=0.0),
                 "Frost only: weights exp(−D·Ci²·distance). Larger keeps more detail near edges.", decimals=2)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Despeckled")),
                 "Float32 GeoTIFF in the input's units, NaN nodata.")

    def checkParameterValues(self, parameters, context):
        problem = checks.odd_size_problem(self, parameters, context)
        if problem:
            return False, problem
        filt = speckle.FILTERS[self.parameterAsEnum(parameters, self.FILTER, context)]
        if filt == "refinedlee" and self.parameterAsInt(parameters, self.SIZE, context) < 5:
            return False, self.tr("Refined Lee needs a {0} of at least 5.").format(self.label(self.SIZE))
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        try:
            res = speckle.despeckle_file(
                src, out, filter=speckle.FILTERS[self.parameterAsEnum(parameters, self.FILTER, context)],
                size=self.parameterAsInt(parameters, self.SIZE, context),
                looks=self.parameterAsDouble(parameters, self.LOOKS, context),
                damping=self.parameterAsDouble(parameters, self.DAMPING, context), in_db=in_db,
                options=self.run_options(parameters, context, feedback))
        except speckle.EnlEstimateError as err:
            raise self.error(f"{err}: set {self.label(self.LOOKS)} (1 for single-look intensity, 4.4 for Sentinel-1 "
                             "IW GRDH).") from None
        filt = self.parameterAsEnum(parameters, self.FILTER, context)
        for band, (enl, source) in enumerate(res["looks"], start=1):
            feedback.pushInfo(self.tr("Band {0}: ENL {1:g}, {2}.").format(band, enl, source))
        outputs.report_infinite(self, feedback, res)
        pol, date = names.input_details(src)
        style_on_load(context, out, name=names.layer_name(self.tr("Despeckled"), FILTER_LABELS[filt].split(" (")[0],
                                                          pol, date), unit="dB" if in_db else "linear power")
        return {self.OUTPUT: out}
