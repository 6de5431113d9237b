"""sarsense:seaiceconcentration — a sea-ice concentration chart from Sentinel-1 HH/HV by the N-level U-Net."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ....algorithms import onnx as rt
from ....algorithms.io import stack as _stack
from ....algorithms.sea_ice import pipeline
from ....algorithms.sea_ice.classes import SIC_PERCENT
from .. import checks, inputs, names, outputs
from .base import SeaIceAlgorithm

BUNDLED = rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx"
MODE_LABELS = ("Full scene when it fits the memory budget", "Tiled")


class SeaIceConcentrationAlgorithm(SeaIceAlgorithm):
    HH, HV, INPUT_UNITS, DOWNSAMPLE, LAND, MODEL, MODE, BUDGET_MB, OUTPUT, OUTPUT_EXPECTED = (
        "HH", "HV", "INPUT_UNITS", "DOWNSAMPLE", "LAND", "MODEL", "MODE", "BUDGET_MB", "OUTPUT", "OUTPUT_EXPECTED")
    requires = ("onnxruntime",)

    def name(self):
        return "seaiceconcentration"

    def displayName(self):
        return self.tr("Sea-ice concentration chart (U-Net)")

    def tags(self):
        return self.tr("sea ice,ice chart,concentration,sic,sentinel-1,ew,hh,hv,u-net,ai4arctic,autoice,"
                       "wmo,sigrid").split(",")

    def help_text(self):
        return self.tr(
            "Charts sea-ice concentration (SIC) from a Sentinel-1 EW (or IW) scene's HH and HV backscatter with the "
            "N-level U-Net of Stokholm et al. (2022, AI4SeaIce): classes 0–100 % in 10 % steps, in WMO "
            "colours.\n\n"
            "Steps, as in the paper: the scene is downsampled (an n×n mean in linear power, n the Downsampling "
            "factor (pixels averaged per side) (DOWNSAMPLE); 2 takes "
            "EW GRDM's 40 m to 80 m), turned to dB and clipped to −30…+10 dB, which the model scales to −1…1; NaN "
            "and land pixels are given 0 and masked (255) in the chart. Full-scene mode runs the whole scene at "
            "once, as the paper does, when it fits the memory budget (else it runs tiled and says what budget "
            "would be needed); tiled mode runs overlapping tiles blended by the shared runtime, whose overlap is "
            "at least half the model's receptive field.\n\n"
            "The bundled model is a DEMONSTRATION trained on simulated scenes only (its card gives its simulated "
            "skill); for real charts, retrain it on the AI4Arctic data (one command, in the model card) and give "
            "that model as Model (.onnx) (MODEL). A user model must have the same contract: inputs HH and HV in "
            "dB, segmentation "
            "into classes 0–10.\n\n"
            "Expected SIC (%) (OUTPUT_EXPECTED, optional): the expected SIC in %, Σ p(class) × its %, a smooth "
            "field beside the "
            "class chart.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.HH, self.tr("HH backscatter"), optional=True),
                 "Sentinel-1 HH, calibrated (σ⁰), noise-corrected, in dB or linear power. Leave empty when HV holds "
                 "both bands.")
        self.add(QgsProcessingParameterRasterLayer(self.HV, self.tr("HV backscatter (or a 2-band HH, HV raster)")),
                 "Sentinel-1 HV on the same grid as HH; or one raster with band 1 = HH and band 2 = HV (then leave "
                 "HH empty).")
        self.add_units(what="HH and HV")
        self.add(QgsProcessingParameterNumber(self.DOWNSAMPLE,
                                              self.tr("Downsampling factor (pixels averaged per side)"),
                                              defaultValue=2, minValue=1, maxValue=8),
                 "2 (the paper): 40 m EW GRDM pixels → 80 m, the pixel size the model was trained at; 1 when the "
                 "scene is at 80 m already.")
        self.add(QgsProcessingParameterMapLayer(self.LAND, self.tr("Land mask (polygons or raster)"), optional=True,
                                                types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeRaster]),
                 "Land polygons, or a raster non-zero on land (any grid; nearest neighbour onto the scene's). Land "
                 "is charted 255; a coarse pixel touching land counts as land.")
        self.add(QgsProcessingParameterFile(self.MODEL, self.tr("Model (.onnx)"), extension="onnx", optional=True),
                 "A sea-ice U-Net with a SARSense contract (inputs HH, HV in dB; classes 0–10). Empty: the bundled "
                 "{0} (a demonstration trained on simulated scenes).", help_args=(BUNDLED.name,))
        self.add(QgsProcessingParameterEnum(self.MODE, self.tr("Mode"), options=list(MODE_LABELS), defaultValue=0),
                 "0: the whole scene at once when it fits the memory budget (else tiled); 1: overlapping tiles "
                 "(bounded memory for any scene size).")
        self.add(QgsProcessingParameterNumber(self.BUDGET_MB, self.tr("Memory budget (MiB)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=512,
                                              minValue=64),
                 "Memory the run may use beyond QGIS and the loaded model: GDAL's cache, the tile accumulator and the "
                 "network's working memory. A full-scene run of a large scene needs several GiB.", advanced=True)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Sea-ice concentration chart")),
                 "uint8 GeoTIFF: SIC class 0–10 (0–100 % in 10 % steps), 255 = no data or land; WMO colours.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_EXPECTED, self.tr("Expected SIC (%)"),
                                                         optional=True, createByDefault=False),
                 "float32 GeoTIFF: the probability-weighted mean concentration (%), NaN = no data or land.")

    def _inputs(self, parameters, context):
        """``[hh, hv]`` or ``[hh_hv]``: refused when a band is missing or the grids differ."""
        hv = inputs.raster_path(self, parameters, self.HV, context)
        hh = inputs.raster_path(self, parameters, self.HH, context) if parameters.get(self.HH) else None
        return pipeline.polarisation_inputs(hh, hv, hh_label=self.label(self.HH), hv_label=self.label(self.HV))

    def _land(self, parameters, context, reference):
        """The land mask on the scene's input grid (a virtual raster freed after the run), or None."""
        if not parameters.get(self.LAND):
            return None
        layer = self.parameterAsLayer(parameters, self.LAND, context)
        if isinstance(layer, QgsVectorLayer):
            return inputs.burn_polygons(self, layer, reference, self.LAND, context)
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            path, _ = _stack.on_grid(layer.source(), reference, resampling="near", label=self.label(self.LAND),
                                     ref_label="the scene")
            self.virtual.append(path)
            return path
        raise self.error(f"{self.label(self.LAND)} must be a polygon layer or a raster.")

    def process(self, parameters, context, feedback):
        path = self.parameterAsFile(parameters, self.MODEL, context) or str(BUNDLED)
        model = rt.Model(path)
        pipeline.check_model(model)
        inputs = self._inputs(parameters, context)
        units = "db" if self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1 else "linear"
        for p, name in zip(inputs, (self.HH, self.HV) if len(inputs) == 2 else (self.HV,)):
            checks.require_valid(self, p, name)
            checks.units(self, p, units, units_param=self.INPUT_UNITS, name=name)
            checks.value_range(self, p, name, "sigma0_db" if units == "db" else "sigma0_linear",
                               hint=self.tr("HH and HV must be calibrated, noise-corrected σ⁰ (e.g. from 'Import "
                                            "Sentinel-1 GRD'), in the units of {0}.").format(
                                   self.label(self.INPUT_UNITS)))
        land = self._land(parameters, context, inputs[0])
        factor = self.parameterAsInt(parameters, self.DOWNSAMPLE, context)
        mode = pipeline.MODES[self.parameterAsEnum(parameters, self.MODE, context)]
        budget = self.parameterAsInt(parameters, self.BUDGET_MB, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        expected = self.parameterAsOutputLayer(parameters, self.OUTPUT_EXPECTED, context) \
            if parameters.get(self.OUTPUT_EXPECTED) else None
        outputs.report_model(self, feedback, model)
        res = pipeline.concentration_file(inputs, out, model, units=units, factor=factor, land=land, mode=mode,
                                          expected=expected,
                                          options=self.run_options(parameters, context, feedback, budget_mb=budget))
        net = res["input"]
        feedback.pushInfo(self.tr("Network input: {0}×{1} px at {2:g} m ({3}×{3} mean in linear power), dB clipped "
                                  "to {4:g}…{5:g}; {6} valid pixels.").format(
            net["xsize"], net["ysize"], net["pixel_size"], factor, pipeline.DB_MIN, pipeline.DB_MAX, res["valid"]))
        for note in res["notes"]:
            feedback.reportError(note, fatalError=False)
        if res["mode"] == "full":
            feedback.pushInfo(self.tr("Full scene in one piece ({0}×{1} px, padded to the model's multiple of "
                                      "{2}).").format(res["tile"][0], res["tile"][1], model.contract.size_multiple))
        else:
            feedback.pushInfo(self.tr("Tiled: {0} tiles of {1} px, halo {2} px, blend {3} px (overlap {4} px; "
                                      "receptive field {5} px).").format(
                res["tiles"], res["tile"][0], res["halo"], res["blend"], 2 * res["halo"] + res["blend"],
                model.contract.receptive_field))
        outputs.report_infinite(self, feedback, res)
        outputs.report_nonfinite(self, feedback, model)
        demo = model.card.demonstration
        self.style_sic(context, out, names.model_name(self.tr("Sea-ice concentration chart"), model), demo)
        results = {self.OUTPUT: out}
        if expected:
            self.style_expected(context, expected, names.model_name(self.tr("Expected SIC (%)"), model), demo)
            results[self.OUTPUT_EXPECTED] = expected
        feedback.pushInfo(self.tr("Classes are {0}; 255 = no data or land.").format(
            ", ".join(f"{p} %" for p in SIC_PERCENT)))
        return results
