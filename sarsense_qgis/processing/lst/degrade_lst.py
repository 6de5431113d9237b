"""sarsense:degradelst — Norm-L4 aggregation of LST to a coarser grid (the paper's training degradation)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.lst import pipeline
from .. import outputs
from .base import LstAlgorithm


class DegradeLstAlgorithm(LstAlgorithm):
    INPUT, INPUT_UNITS, FACTOR, OUTPUT = "INPUT", "INPUT_UNITS", "FACTOR", "OUTPUT"

    def name(self):
        return "degradelst"

    def displayName(self):
        return self.tr("Degrade LST (Norm-L4)")

    def tags(self):
        return self.tr("lst,land surface temperature,degrade,aggregate,norm-l4,stefan-boltzmann,upscale").split(",")

    def help_text(self):
        return self.tr(
            "Aggregates LST to a grid coarser by the Aggregation factor (FACTOR) the way a sensor sees it: T_c = "
            "(mean T⁴)^(1/4) in "
            "kelvin (Stefan–Boltzmann; Nguyen et al. 2022, §III.B.3). A coarse pixel with any NaN input is NaN. "
            "Rows and columns at the bottom/right that do not fill a whole coarse pixel are left out. Use it to "
            "build test pairs: degrade 1 km LST to 4 km, super-resolve back, and score with Image quality.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Land-surface temperature")),
                 "Single-band LST (GeoTIFF or a MODIS LST HDF subdataset).")
        self.add_lst_units()
        self.add(QgsProcessingParameterNumber(self.FACTOR, self.tr("Aggregation factor"), defaultValue=4,
                                              minValue=2, maxValue=64),
                 "Input pixels per output pixel along each axis (4: 1 km → 4 km).")
        self.add_qc_filter()
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Degraded LST")),
                 "Float32 GeoTIFF in the input's units, NaN nodata, coarser by the Aggregation factor (FACTOR), same "
                 "origin and CRS.")

    def process(self, parameters, context, feedback):
        factor = self.parameterAsInt(parameters, self.FACTOR, context)
        src = self.lst_source(parameters, self.INPUT, context, feedback=feedback)
        info = src.info
        if info.xsize < factor or info.ysize < factor:
            raise self.error(f"{self.label(self.INPUT)} ({info.xsize}×{info.ysize} px) is smaller than one "
                             f"{factor}×{factor} block: lower {self.label(self.FACTOR)}.")
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        res = pipeline.degrade_file(src, out, factor, options=self.run_options(
            parameters, context, feedback, empty_hint=self.tr(
                "no {0}×{0} block of {1} ({2}×{3} px) holds enough valid pixels for a coarse value (a block with "
                "nodata gives NaN): lower {4}, or give an LST with fewer gaps.").format(
                factor, self.label(self.INPUT), info.xsize, info.ysize, self.label(self.FACTOR))))
        dropped = res["dropped"]
        if any(dropped):
            feedback.pushWarning(self.tr("The last {0} column(s) and {1} row(s) do not fill a whole {2}×{2} block "
                                         "and were left out.").format(dropped[0], dropped[1], factor))
        feedback.pushInfo(self.tr("{0}×{1} → {2}×{3} px (Norm-L4).").format(info.xsize, info.ysize, res["xsize"],
                                                                           res["ysize"]))
        outputs.report_infinite(self, feedback, res)
        self.style_thermal(context, out, src)
        return {self.OUTPUT: out}
