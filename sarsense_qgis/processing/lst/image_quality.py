"""sarsense:imagequality — RMSE, bias, PSNR and SSIM (global eq. 3 and windowed) of an LST estimate."""

from __future__ import annotations

import math

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer

from ....algorithms.io import read_info
from ....algorithms.lst import pipeline, quality
from .. import inputs, outputs
from .base import LstAlgorithm


def _number(value):
    """A figure as a number output: NaN where it is missing or infinite (PSNR of a perfect estimate)."""
    return float(value) if value is not None and math.isfinite(value) else float("nan")


class ImageQualityAlgorithm(LstAlgorithm):
    REFERENCE, ESTIMATE, INPUT_UNITS, PATCH, OUTPUT_TABLE = (
        "REFERENCE", "ESTIMATE", "INPUT_UNITS", "PATCH", "OUTPUT_TABLE")
    RMSE, BIAS, PSNR, SSIM, SSIM_WINDOWED = "RMSE", "BIAS", "PSNR", "SSIM", "SSIM_WINDOWED"

    def name(self):
        return "imagequality"

    def displayName(self):
        return self.tr("Image quality (RMSE, PSNR, SSIM)")

    def tags(self):
        return self.tr("lst,quality,rmse,psnr,ssim,metrics,validation,super-resolution").split(",")

    def help_text(self):
        return self.tr(
            "Scores an estimate against a reference over the pixels valid in both, in kelvin: RMSE, bias "
            "(estimate − reference), PSNR = 20·log10(DR/RMSE) with DR the reference's max − min (Nguyen et al. "
            "2022, eq. 2), SSIM over the whole image (their eq. 3, c1 = (0.01·DR)², c2 = (0.03·DR)²) and the "
            "standard windowed SSIM (Wang et al. 2004; 7×7 Gaussian, σ 1.5, mean over windows wholly valid). "
            "With Patch size (px, 0 = whole image only) (PATCH) above 0 the figures are also given per patch of "
            "that size (the paper's "
            "protocol: 64), "
            "for patches valid throughout, and their mean. An Estimated LST (ESTIMATE) on another grid is resampled "
            "(bilinear) onto the reference's first, as the log says.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Reference LST")),
                 "The truth, e.g. the original 1 km LST (GeoTIFF or MODIS HDF subdataset).")
        self.add(QgsProcessingParameterRasterLayer(self.ESTIMATE, self.tr("Estimated LST")),
                 "The estimate, e.g. the super-resolved LST; same units as the reference.")
        self.add_lst_units(what="both rasters")
        self.add(QgsProcessingParameterNumber(self.PATCH, self.tr("Patch size (px, 0 = whole image only)"),
                                              defaultValue=0, minValue=0, maxValue=100000),
                 "0: whole-image figures. 64: also per 64×64 patch, as Nguyen et al. (2022) evaluate.")
        self.add_qc_filter()
        self.add_table_output(self.OUTPUT_TABLE, "Quality figures",
                              "One row for the whole image, one per valid patch and their mean (scope, row, col, "
                              "n, rmse, bias, psnr, ssim, ssim_windowed, dynamic_range).")
        for name, label in ((self.RMSE, "RMSE (K)"), (self.BIAS, "Bias (K)"), (self.PSNR, "PSNR (dB)"),
                            (self.SSIM, "SSIM (global, eq. 3)"), (self.SSIM_WINDOWED, "SSIM (windowed)")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def process(self, parameters, context, feedback):
        ref = self.lst_source(parameters, self.REFERENCE, context, feedback=feedback)
        est_path = inputs.raster_path(self, parameters, self.ESTIMATE, context)
        # the estimate is checked as the reference is: its units against the reference's, its values, not empty
        self.check_same_units(ref, self.REFERENCE, est_path, self.ESTIMATE, self.lst_units(parameters, context))
        self.lst_source(parameters, self.ESTIMATE, context)
        if not read_info(est_path).same_grid(ref.info):
            est_path = inputs.on_grid(self, est_path, ref.path, self.ESTIMATE, feedback, resampling="bilinear")
            feedback.pushInfo(self.tr("{0} is on another grid: resampled (bilinear) onto the reference's before "
                                      "scoring.").format(self.label(self.ESTIMATE)))
        est = pipeline.LstSource(est_path, self.lst_units(parameters, context), qc_filter=ref.qc_filter)
        patch = self.parameterAsInt(parameters, self.PATCH, context)
        res = pipeline.quality_file(ref, est, patch=patch, options=self.run_options(parameters, context, feedback))
        whole = res["whole"]
        if patch:
            feedback.pushInfo(self.tr("{0} patches of {1}×{1} px scored; {2} left out (not valid "
                                      "throughout).").format(len(res["patches"]), patch, res["skipped"]))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, pipeline.QUALITY_COLUMNS,
                                    res["rows"])
        feedback.pushInfo(self.tr(
            "Whole image, {0} px: RMSE {1:.3f} K, bias {2:+.3f} K, PSNR {3:.2f} dB (DR {4:.2f} K), SSIM {5:.4f} "
            "(global), {6:.4f} (windowed {7}).").format(
                whole["n"], whole["rmse"], whole["bias"], whole["psnr"], whole["dynamic_range"], whole["ssim"],
                whole["ssim_windowed"], quality.SSIM_WINDOWED_TEXT))
        return {self.OUTPUT_TABLE: table, self.RMSE: _number(whole["rmse"]), self.BIAS: _number(whole["bias"]),
                self.PSNR: _number(whole["psnr"]), self.SSIM: _number(whole["ssim"]),
                self.SSIM_WINDOWED: _number(whole["ssim_windowed"])}
