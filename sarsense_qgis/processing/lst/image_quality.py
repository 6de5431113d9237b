"""sarsense:imagequality — RMSE, bias, PSNR and SSIM (global eq. 3 and windowed) of an LST estimate."""

from __future__ import annotations

import math

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer

from ....algorithms.io import read_info
from ....algorithms.lst import pipeline, quality
from .. import inputs, outputs
from .base import LstAlgorithm

FIGURES = ("n", "rmse", "bias", "psnr", "ssim", "ssim_windowed", "dynamic_range")


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

    def shortHelpString(self):
        return self.tr(
            "Scores an estimate against a reference over the pixels valid in both, in kelvin: RMSE, bias "
            "(estimate − reference), PSNR = 20·log10(DR/RMSE) with DR the reference's max − min (Nguyen et al. "
            "2022, eq. 2), SSIM over the whole image (their eq. 3, c1 = (0.01·DR)², c2 = (0.03·DR)²) and the "
            "standard windowed SSIM (Wang et al. 2004; 7×7 Gaussian, σ 1.5, mean over windows wholly valid). "
            "With PATCH > 0 the figures are also given per patch of that size (the paper's protocol: 64), "
            "for patches valid throughout, and their mean. An ESTIMATE on another grid is resampled "
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
        if not read_info(est_path).same_grid(ref.info):
            est_path = inputs.on_grid(self, est_path, ref.path, self.ESTIMATE, feedback, resampling="bilinear")
            feedback.pushInfo(self.tr(f"{self.label(self.ESTIMATE)} is on another grid: resampled (bilinear) onto "
                                      "the reference's before scoring."))
        est = pipeline.LstSource(est_path, self.lst_units(parameters, context), qc_filter=ref.qc_filter)
        patch = self.parameterAsInt(parameters, self.PATCH, context)
        res = pipeline.quality_figures(ref, est, patch=patch, **self.callbacks(feedback))
        whole = res["whole"]
        if whole["n"] == 0:
            raise self.error("the reference and the estimate have no valid pixel in common: nothing to score.")
        rows = [("whole", None, None) + tuple(whole[k] for k in FIGURES)]
        rows += [("patch", p["row"], p["col"]) + tuple(p[k] for k in FIGURES) for p in res["patches"]]
        if patch:
            ps = res["patches"]
            feedback.pushInfo(self.tr(f"{len(ps)} patches of {patch}×{patch} px scored; {res['skipped']} left out "
                                      "(not valid throughout)."))
            if ps:
                mean = {k: sum(p[k] for p in ps) / len(ps) for k in FIGURES}
                rows.append(("patch mean", None, None) + tuple(mean[k] for k in FIGURES))
        columns = [("scope", str), ("row", int), ("col", int), ("n", int)] + [(k, float) for k in FIGURES[1:]]
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, columns, rows)
        feedback.pushInfo(self.tr(
            f"Whole image, {whole['n']} px: RMSE {whole['rmse']:.3f} K, bias {whole['bias']:+.3f} K, PSNR "
            f"{whole['psnr']:.2f} dB (DR {whole['dynamic_range']:.2f} K), SSIM {whole['ssim']:.4f} (global), "
            f"{whole['ssim_windowed']:.4f} (windowed {quality.SSIM_WINDOWED_TEXT})."))

        def num(v):
            return float(v) if v is not None and math.isfinite(v) else float("nan")
        return {self.OUTPUT_TABLE: table, self.RMSE: num(whole["rmse"]), self.BIAS: num(whole["bias"]),
                self.PSNR: num(whole["psnr"]), self.SSIM: num(whole["ssim"]),
                self.SSIM_WINDOWED: num(whole["ssim_windowed"])}
