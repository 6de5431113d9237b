"""sarsense:lstsuperresolution — LST ×SCALE by the multi-residual U-Net, bicubic, TsHARP or ATPRK."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms import onnx as rt
from ....algorithms.io import raster
from ....algorithms.lst import pipeline
from .. import checks, inputs, names, outputs
from .base import LstAlgorithm

METHOD_LABELS = ("Multi-residual U-Net (bundled or MODEL)", "Bicubic (Keys)", "TsHARP (needs NDVI)",
                 "ATPRK (needs NDVI)")
BUNDLED = rt.BUNDLED_MODELS_DIR / "lst_superresolution.onnx"
#: The method as the output's layer name gives it (with the scale: 'U-Net ×4').
METHOD_NAMES = {"unet": "U-Net", "bicubic": "bicubic", "tsharp": "TsHARP", "atprk": "ATPRK"}


class LstSuperResolutionAlgorithm(LstAlgorithm):
    INPUT, INPUT_UNITS, METHOD, SCALE, NDVI, MODEL, OUTPUT = (
        "INPUT", "INPUT_UNITS", "METHOD", "SCALE", "NDVI", "MODEL", "OUTPUT")
    requires = ("onnxruntime",)

    def name(self):
        return "lstsuperresolution"

    def displayName(self):
        return self.tr("LST super-resolution")

    def tags(self):
        return self.tr("lst,land surface temperature,thermal,modis,super-resolution,downscaling,sharpening,unet,"
                       "tsharp,atprk,bicubic").split(",")

    def help_text(self):
        return self.tr(
            "Land-surface temperature on a grid finer by the Scale factor (SCALE) (same CRS and extent), by one "
            "of four methods:\n"
            "• U-Net: the multi-residual U-Net of Nguyen et al. (2022), ×4, trained on real ECOSTRESS LST (70 m) and "
            "validated on ECOSTRESS and MODIS (1 km) LST (the bundled model's card says on what, how well and at which "
            "input pixel sizes: the log gives the input's and warns outside them), or your own super-resolution ONNX "
            "model;\n"
            "• Bicubic: Keys' cubic convolution (a = −0.5), the U-Net's own starting point;\n"
            "• TsHARP (Agam et al. 2007) and ATPRK (Wang et al. 2016): LST–NDVI regression plus the coarse residual "
            "(TsHARP) or its area-to-point kriging (ATPRK); both need an NDVI covering the LST and return LST that "
            "aggregates back (Norm-L4) to the input.\n"
            "The Land-surface temperature (INPUT) may be a MOD11A1/MYD11A1 HDF subdataset (scale, fill and QC "
            "applied). Cloud gaps stay gaps: "
            "methods see a fill from the gap's edge, and the output is masked again. To work in UTM as the paper "
            "did, warp MODIS sinusoidal first (Raster ▸ Projections ▸ Warp, or the lst_superresolution workflow).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Land-surface temperature")),
                 "Single-band LST, e.g. MODIS LST_Day_1km (a GeoTIFF, or the HDF subdataset itself).")
        self.add_lst_units()
        self.add(QgsProcessingParameterEnum(self.METHOD, self.tr("Method"), options=list(METHOD_LABELS),
                                            defaultValue=0),
                 "U-Net: single-image, no other data needed. TsHARP and ATPRK: need NDVI at the fine scale.")
        self.add(QgsProcessingParameterNumber(self.SCALE, self.tr("Scale factor"), defaultValue=4, minValue=2,
                                              maxValue=16),
                 "Output pixels per input pixel along each axis. The U-Net supports its model's factor (4 for the "
                 "bundled one); bicubic, TsHARP and ATPRK any factor from 2 to 16.")
        self.add(QgsProcessingParameterRasterLayer(self.NDVI, self.tr("NDVI at the fine scale"), optional=True),
                 "Required by TsHARP and ATPRK: NDVI (−1 to 1) covering the whole LST extent, any CRS and pixel "
                 "size (averaged onto the output grid when finer, bilinear when coarser), acquired close in time.")
        self.add(QgsProcessingParameterFile(self.MODEL, self.tr("U-Net model (.onnx)"), extension="onnx",
                                            optional=True),
                 "A super-resolution model with a SARSense contract (task super_resolution, one input in K). Empty: "
                 "the bundled {0}.", advanced=True, help_args=(BUNDLED.name,))
        self.add_qc_filter()
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Super-resolved LST")),
                 "Float32 GeoTIFF in the input's units, NaN nodata, finer by the Scale factor (SCALE); styled with a "
                 "thermal ramp.")

    def process(self, parameters, context, feedback):
        method = pipeline.METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        scale = self.parameterAsInt(parameters, self.SCALE, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        model = ndvi = None
        # every refusal before anything is written
        if method == "unet":
            path = self.parameterAsFile(parameters, self.MODEL, context) or str(BUNDLED)
            model = rt.Model(path)
            pipeline.check_sr_model(model, scale, label=self.label(self.MODEL))
        elif method in ("tsharp", "atprk") and not parameters.get(self.NDVI):
            raise self.error(f"{METHOD_LABELS[2 if method == 'tsharp' else 3]} needs an NDVI raster at the fine scale: "
                             f"give {self.label(self.NDVI)}, or choose the U-Net or bicubic, which need none.")
        src = self.lst_source(parameters, self.INPUT, context, feedback=feedback)
        units, info = src.units, src.info
        if method in ("tsharp", "atprk"):
            ndvi_path = inputs.raster_path(self, parameters, self.NDVI, context)
            checks.require_valid(self, ndvi_path, self.NDVI)
            checks.value_range(self, ndvi_path, self.NDVI, "ndvi", hint=self.tr(
                "TsHARP and ATPRK regress LST on NDVI as a fraction in −1..1: give the NDVI itself (MODIS MOD13 stores "
                "NDVI × 10000: scale by 0.0001; from reflectance, compute it with 'NDVI')."))
            ndvi, resampling = pipeline.fine_ndvi(ndvi_path, info, scale)
            self.virtual.append(ndvi)
            feedback.pushInfo(self.tr("NDVI put on the {0}×{1} output grid ({2} resampling).").format(
                info.xsize * scale, info.ysize * scale, resampling))
        if method == "unet":
            outputs.report_model(self, feedback, model, info=info)
        else:
            feedback.pushInfo(raster.pixel_size_text(info))
        res = pipeline.super_resolution_file(src, out, method, scale, model=model, ndvi=ndvi,
                                             options=self.run_options(parameters, context, feedback))
        if method == "unet":
            feedback.pushInfo(self.tr(
                "Tiles of {0} px with {1} px halo ({2} tiles); cloud gaps filled {3} px deep from their edges, then "
                "{4:g} (normalised), and masked again.").format(res["tile"][0], res["halo"], res["tiles"],
                                                                pipeline.UNET_FILL, model.contract.nodata_fill))
        elif method != "bicubic":
            t = res["trend"]
            feedback.pushInfo(self.tr("LST–NDVI regression on {0} coarse pixels: LST = {1:.2f} {2:+.2f}·NDVI K "
                                      "(r = {3:.2f}).").format(t["n"], t["a"], t["b"], t["r"]))
            if "variogram" in res:
                v = res["variogram"]
                feedback.pushInfo(self.tr("ATPRK point covariance (deconvolved, exponential): sill {0:.3g} K², range "
                                          "{1:.1f} fine px.").format(v["sill"], v["range_px"]))
        outputs.report_infinite(self, feedback, res)
        outputs.report_nonfinite(self, feedback, model)
        feedback.pushInfo(self.tr("{0} ×{1}: {2}×{3} → {4}×{5} px, in {6}.").format(
            method, scale, info.xsize, info.ysize, info.xsize * scale, info.ysize * scale,
            "K" if units == "kelvin" else "°C"))
        how, date = f"{METHOD_NAMES[method]} ×{scale}", names.input_details(src.path)[1]
        name = (names.model_name(self.tr("Super-resolved LST"), model, how, date) if model is not None
                else names.layer_name(self.tr("Super-resolved LST"), how, date))
        self.style_thermal(context, out, src, name=name, force_name=model is not None and model.card.demonstration)
        return {self.OUTPUT: out}
