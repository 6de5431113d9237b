"""sarsense:applymodel — run any ONNX model that carries a SARSense contract over a raster."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms import onnx as rt
from ....algorithms.io import raster
from ...styles import ClassMapPostProcessor, GreyStretchPostProcessor, style_on_load
from .. import checks, inputs, names, outputs
from ..base import SarsenseAlgorithm

#: The default of Apply ONNX model: the general SAR example (suite models have their own algorithms).
DEFAULT_MODEL = "s1_despeckle_example.onnx"


def bundled_models():
    """Paths of the models shipped in the plugin's ``models/`` folder (those with a card), the default first."""
    found = sorted(str(p) for p in rt.BUNDLED_MODELS_DIR.glob("*.onnx") if rt.card_path(p).exists())
    return sorted(found, key=lambda p: os.path.basename(p) != DEFAULT_MODEL)

DEVICE_LABELS = ("Auto (CUDA when onnxruntime-gpu provides it, else CPU)", "CPU")


class ApplyModelAlgorithm(SarsenseAlgorithm):
    INPUT, MODEL, TILE_SIZE, HALO, BLEND, BATCH, BUDGET_MB, THREADS, DEVICE, OUTPUT = (
        "INPUT", "MODEL", "TILE_SIZE", "HALO", "BLEND", "BATCH", "BUDGET_MB", "THREADS", "DEVICE", "OUTPUT")
    # Not "Models": QGIS's toolbox has its own "Models" section for Graphical Modeler models.
    _group = ("Neural networks", "neuralnetworks")
    requires = ("onnxruntime",)

    def name(self):
        return "applymodel"

    def displayName(self):
        return self.tr("Apply ONNX model")

    def tags(self):
        return self.tr("onnx,model,neural network,cnn,u-net,deep learning,inference,segmentation,"
                       "super-resolution,regression").split(",")

    def help_text(self):
        return self.tr(
            "Runs a neural network saved as ONNX over a raster, in overlapping tiles, and writes a GeoTIFF.\n\n"
            "The model must carry a SARSense contract in its metadata (models/README.md explains how to add "
            "one when exporting): the input bands it expects, their normalisation, what it returns, its tile "
            "size and halo. Input raster (INPUT) must have exactly those bands, in that order. Bundled models "
            "are checked "
            "against the sha256 in their model card before they are loaded.\n\n"
            "Bundled models (the Model field starts with the first): {0}, in {1}.\n\n"
            "Tiles overlap by the model's halo and are blended with a smooth weight, so no seams appear at "
            "tile edges; when the halo covers the network's receptive field the result equals a whole-image "
            "run (the image padded at its bottom and right edges to the network's size multiple), whatever the "
            "tile size. Memory stays within the Memory budget whatever the raster size. Input bands whose "
            "units the model declares as dB or linear are checked against the data. NaN/nodata pixels are "
            "filled for the network and masked again in the output (NaN, or 255 in class maps).\n\n"
            "Output: float32 values in the units the model declares, on the input grid (or a finer grid for "
            "super-resolution models); segmentation models write a class map styled with their colours.").format(
            ", ".join(os.path.basename(p) for p in bundled_models()) or "none", rt.BUNDLED_MODELS_DIR)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")),
                 "Raster whose bands are the model's input channels, in the order its contract lists them.")
        bundled = bundled_models()
        self.add(QgsProcessingParameterFile(self.MODEL, self.tr("Model (.onnx)"), extension="onnx",
                                            defaultValue=bundled[0] if bundled else None),
                 "ONNX file with a SARSense contract in its metadata (see models/README.md). Bundled models are in "
                 "{0}.", help_args=(rt.BUNDLED_MODELS_DIR,))
        self.add(QgsProcessingParameterNumber(self.TILE_SIZE, self.tr("Tile size (pixels, 0 = the model's)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=0,
                                              minValue=0, maxValue=8192),
                 "Side of the square tiles fed to the network; 0 uses the tile size in the model's contract.",
                 advanced=True)
        self.add(QgsProcessingParameterNumber(self.HALO, self.tr("Halo (pixels, -1 = the model's)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=-1,
                                              minValue=-1, maxValue=4096),
                 "Pixels discarded at each inner tile edge, where the network lacks context; -1 uses the "
                 "model's halo.", advanced=True)
        self.add(QgsProcessingParameterNumber(self.BLEND, self.tr("Blend width (pixels, -1 = half the halo)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=-1,
                                              minValue=-1, maxValue=4096),
                 "Width of the smooth weight ramp between overlapping tiles beyond the halo.", advanced=True)
        self.add(QgsProcessingParameterNumber(self.BATCH, self.tr("Tiles per batch"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=4,
                                              minValue=1, maxValue=256),
                 "Tiles sent to the network at once (reduced automatically to fit the memory budget).",
                 advanced=True)
        self.add(QgsProcessingParameterNumber(self.BUDGET_MB, self.tr("Memory budget (MiB)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=512,
                                              minValue=16),
                 "Memory the run may use beyond QGIS and the loaded model, whatever the raster size: GDAL's block "
                 "cache (a quarter, at most 32 MiB), the input strip, the tile accumulator, the batch of tiles and "
                 "the network's working memory (its contract's memory_per_pixel).", advanced=True)
        self.add(QgsProcessingParameterNumber(self.THREADS, self.tr("CPU threads (0 = one per core)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=0,
                                              minValue=0, maxValue=256),
                 "Threads onnxruntime uses on the CPU.", advanced=True)
        self.add(QgsProcessingParameterEnum(self.DEVICE, self.tr("Device"), options=list(DEVICE_LABELS),
                                            defaultValue=0),
                 "0 auto: the GPU when onnxruntime-gpu is installed, else the CPU; 1 always the CPU.",
                 advanced=True)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Model output")),
                 "GeoTIFF: float32 values (NaN nodata) or a uint8 class map (255 nodata).")

    def _open(self, parameters, context):
        path = self.parameterAsFile(parameters, self.MODEL, context)
        threads = self.parameterAsInt(parameters, self.THREADS, context)
        device = rt.DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)]
        return rt.Model(path, threads=threads, device=device)

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        checks.require_valid(self, src, self.INPUT)
        model = self._open(parameters, context)
        outputs.report_model(self, feedback, model, info=raster.read_info(src) if model.contract.spatial else None)
        halo = self.parameterAsInt(parameters, self.HALO, context)
        blend = self.parameterAsInt(parameters, self.BLEND, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        res = rt.apply_model(model, src, out, tile=self.parameterAsInt(parameters, self.TILE_SIZE, context) or None,
                             halo=None if halo < 0 else halo, blend=None if blend < 0 else blend,
                             batch=self.parameterAsInt(parameters, self.BATCH, context), label=self.label(self.INPUT),
                             options=self.run_options(parameters, context, feedback, budget_mb=self.parameterAsInt(
                                 parameters, self.BUDGET_MB, context), empty_hint=self.tr(
                                 "model '{0}' gave no finite value where the input is valid: check the model and that "
                                 "the input holds what its contract expects (bands, units)").format(
                                 model.contract.name)))
        if "tiles" in res:
            (tx, ty), used_halo, used_blend = res["tile"], res["halo"], res["blend"]
            feedback.pushInfo(self.tr(
                "Tiling used: tile {0}×{1} px, halo {2} px, blend {3} px; {4} tiles in {5} panel(s), {6} per "
                "batch").format(tx, ty, used_halo, used_blend, res["tiles"], res["panels"], res["batch"]))
            for msg in res.get("warnings", []):
                feedback.reportError(self.tr(msg), fatalError=False)
        outputs.report_infinite(self, feedback, res)
        outputs.report_nonfinite(self, feedback, model)
        name = names.model_name(self.tr("Model output"), model, model.contract.name)
        units = (model.contract.output_units or "").lower()
        style_on_load(context, out, ClassMapPostProcessor if model.contract.task == "segmentation" else
                      GreyStretchPostProcessor, name=name, force_name=model.card.demonstration,
                      unit="dB" if units in rt.UNITS_DB else "linear power" if units in rt.UNITS_LINEAR else None)
        return {self.OUTPUT: out}
