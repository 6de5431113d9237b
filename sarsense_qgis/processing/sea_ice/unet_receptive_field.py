"""sarsense:unetreceptivefield — the receptive field of an N-level U-Net (Stokholm et al. 2022, eq. 8)."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterEnum, QgsProcessingParameterNumber

from ....algorithms.onnx import receptive_field as rf
from .base import SeaIceAlgorithm

UPSAMPLING = ("nearest", "bilinear")
UPSAMPLING_LABELS = ("As in the paper's eq. 8 (each upsampled pixel reads one coarse pixel)",
                     "Bilinear (reads two coarse pixels per axis; the bundled sea-ice model)")


class UnetReceptiveFieldAlgorithm(SeaIceAlgorithm):
    # a tool for whoever builds or tiles a network, not a step of a chart: its own group, apart from the suites
    _group = ("Developer tools", "developertools")
    LEVELS, CONVS_PER_BLOCK, KERNEL, UPSAMPLING, ENCODER_RF, RF = (
        "LEVELS", "CONVS_PER_BLOCK", "KERNEL", "UPSAMPLING", "ENCODER_RF", "RF")

    def name(self):
        return "unetreceptivefield"

    def displayName(self):
        return self.tr("U-Net receptive field")

    def tags(self):
        return self.tr("u-net,receptive field,cnn,levels,tiling,halo,sea ice,developer,network design").split(",")

    def help_text(self):
        return self.tr(
            "The receptive field of a U-Net of a number of Levels (LEVELS): how many input pixels one output "
            "pixel depends on, "
            "along each axis. Blocks of Convolutions per block (CONVS_PER_BLOCK) k×k convolutions (k the Kernel "
            "size (pixels) (KERNEL)), 2×2 max-pooling, "
            "upsampling before each decoder block (Stokholm et al. 2022, §IV, eq. 8).\n\n"
            "ENCODER_RF: the encoder and bridge alone (32, 68, 140 … 2300 px for 2–8 levels of two 3×3 "
            "convolutions). RF: the whole U-Net: with Upsampling (UPSAMPLING) 0 the paper's values, the encoder "
            "plus 3·2^levels "
            "(44, 92, 188, 380, 764, 1532, 3068 px for 2–8 levels); with 1, bilinear upsampling, which reads one "
            "more coarse pixel per level (52, 108, 220 … 3580 px), traced exactly; the bundled sea-ice model's "
            "contract uses that value. At 80 m pixels, 3068 px is about 245 km.\n\n"
            "Use it to choose the levels for the features to resolve, and a tile overlap (at least half the RF).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterNumber(self.LEVELS, self.tr("Levels"), defaultValue=8, minValue=2,
                                              maxValue=10),
                 "Encoder/decoder level pairs (the paper: 3–8; 8 is its best model).")
        self.add(QgsProcessingParameterNumber(self.CONVS_PER_BLOCK, self.tr("Convolutions per block"), defaultValue=2,
                                              minValue=1, maxValue=6),
                 "Convolutions in each encoder and decoder block (the U-Net: 2).")
        self.add(QgsProcessingParameterNumber(self.KERNEL, self.tr("Kernel size (pixels)"), defaultValue=3,
                                              minValue=1, maxValue=15),
                 "Side of the convolution kernels (odd; the U-Net: 3).")
        self.add(QgsProcessingParameterEnum(self.UPSAMPLING, self.tr("Upsampling"), options=list(UPSAMPLING_LABELS),
                                            defaultValue=0),
                 "0: the paper's eq. 8 count; "
                 "1: bilinear upsampling (align_corners false), as the U-Net implements it.")
        self.addOutput(QgsProcessingOutputNumber(self.ENCODER_RF, self.tr("Encoder receptive field (pixels)")))
        self.addOutput(QgsProcessingOutputNumber(self.RF, self.tr("U-Net receptive field (pixels)")))

    def checkParameterValues(self, parameters, context):
        ok, message = super().checkParameterValues(parameters, context)
        if ok and self.parameterAsInt(parameters, self.KERNEL, context) % 2 == 0:
            return False, self.tr("{0} must be odd (1, 3, 5, …); got {1}.").format(
                self.label(self.KERNEL), self.parameterAsInt(parameters, self.KERNEL, context))
        return ok, message

    def process(self, parameters, context, feedback):
        levels = self.parameterAsInt(parameters, self.LEVELS, context)
        convs = self.parameterAsInt(parameters, self.CONVS_PER_BLOCK, context)
        kernel = self.parameterAsInt(parameters, self.KERNEL, context)
        up = UPSAMPLING[self.parameterAsEnum(parameters, self.UPSAMPLING, context)]
        enc = rf.unet_encoder_receptive_field(levels, convs_per_block=convs, kernel=kernel)
        full = rf.unet_receptive_field(levels, upsampling=up, convs_per_block=convs, kernel=kernel)
        feedback.pushInfo(self.tr("{0} levels, {1} × {2}×{2} convolutions per block, {3} upsampling: encoder {4} px, "
                                  "U-Net {5} px ({6:.1f} km at 80 m); a tile overlap of at least {7} px.").format(
            levels, convs, kernel, up, enc, full, full * 0.08, -(-full // 2)))
        return {self.ENCODER_RF: enc, self.RF: full}
