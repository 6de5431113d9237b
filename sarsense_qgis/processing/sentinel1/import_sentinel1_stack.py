"""sarsense:importsentinel1stack — many Sentinel-1 GRDs to one dated stack per polarisation, in one pass."""

from __future__ import annotations

from qgis.core import QgsProcessing, QgsProcessingParameterMultipleLayers, QgsProcessingParameterRasterDestination

from ....algorithms.sentinel1 import series
from ...styles import style_on_load
from .. import names
from .base import POLARISATIONS, Sentinel1Algorithm

HELP = (
    "Imports many Sentinel-1 Level-1 GRD products (a month of passes over a region, say) into dated stacks on one "
    "map grid, in one pass and with no file per product in between: the stack of each polarisation you give an "
    "output for (one band per pass, described by its date), and, optionally, the incidence angle of each pass. "
    "Each product is calibrated, noise-removed and geocoded exactly as 'Import Sentinel-1 GRD' does (see its help); "
    "the map grid covers every product (the union of their footprints, in the target CRS, default the UTM zone of "
    "the first product), or the extent you give.\n\n"
    "Products of one platform, relative orbit and pass on one day are slices of one pass: they make one band, "
    "mosaicked (where slices overlap, the earlier slice's pixel). Each band keeps its pass's acquisition time, "
    "platform, relative orbit and direction (ascending, descending), which 'Soil moisture by change detection' "
    "splits the series by. Every product must hold every polarisation asked for.\n\n"
    "With a Dask scheduler set (Processing ▸ Options ▸ Providers ▸ SARSense, or SARSENSE_DASK_SCHEDULER), the "
    "map's blocks, each with every product that covers it, are computed on the cluster's workers; the products must "
    "then be readable by every worker under the same path (docs/distributed.md).")


class ImportSentinel1StackAlgorithm(Sentinel1Algorithm):
    INPUTS, OUTPUT_INCIDENCE = "INPUTS", "OUTPUT_INCIDENCE"
    OUTPUTS = {p: f"OUTPUT_{p}" for p in POLARISATIONS}

    def name(self):
        return "importsentinel1stack"

    def displayName(self):
        return self.tr("Import Sentinel-1 GRDs as dated stacks")

    def tags(self):
        return self.tr("sentinel-1,grd,safe,zip,import,stack,time series,dated stack,many products,month,"
                       "calibration,sigma0,geocode,terrain correction,dask,cluster").split(",")

    def help_text(self):
        return self.tr(HELP)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterMultipleLayers(self.INPUTS, self.tr("Sentinel-1 GRD products (.zip or .SAFE)"),
                                                      layerType=QgsProcessing.TypeFile),
                 "The products' .zip files as downloaded (read in place) or their .SAFE folders (manifest.safe), in "
                 "any order: the stack is in time order.")
        self.add_import_parameters()
        for pol, name in self.OUTPUTS.items():
            self.add(QgsProcessingParameterRasterDestination(name, self.tr("{0} stack").format(pol), optional=True,
                                                             createByDefault=pol == "VV"),
                     "Float32 GeoTIFF, NaN nodata: one band per pass of {0} backscatter, described by its date; "
                     "skip it to leave {0} out.", help_args=(pol,))
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_INCIDENCE, self.tr("Incidence angle stack"),
                                                         optional=True, createByDefault=False),
                 "Float32 GeoTIFF: the incidence angle (°) of each pass, on the same dates (the local incidence "
                 "angle with a DEM).")

    def process(self, parameters, context, feedback):
        paths = self.parameterAsFileList(parameters, self.INPUTS, context)
        if not paths:
            raise self.error(f"{self.label(self.INPUTS)}: give at least one Sentinel-1 GRD product")
        products = [self.product(p) for p in paths]
        outputs = {p: self.parameterAsOutputLayer(parameters, n, context) for p, n in self.OUTPUTS.items()
                   if parameters.get(n) not in (None, "")}
        outputs = {p: o for p, o in outputs.items() if o}
        if not outputs:
            raise self.error("give an output for at least one polarisation (" + ", ".join(
                self.label(n) for n in self.OUTPUTS.values()) + ")")
        incidence = self.parameterAsOutputLayer(parameters, self.OUTPUT_INCIDENCE, context) \
            if parameters.get(self.OUTPUT_INCIDENCE) not in (None, "") else None
        opts = self.import_options(parameters, context, products[0], next(iter(outputs)))
        res = series.import_series(products, outputs, incidence=incidence or None, **opts,
                                   options=self.run_options(parameters, context, feedback))
        for day, group in zip(res["dates"], res["passes"]):
            feedback.pushInfo(self.tr("{0}: {1}").format(day, " + ".join(group)))
        said = set()
        for product in products:
            self._report(feedback, product, res["products"][product.name], opts["border_noise"], who=product.name,
                         said=said)
        grid = res["grid"]
        feedback.pushInfo(self.tr("{0} product(s), {1} pass(es) ({2} to {3}) on one grid of {4} × {5} px at {6:g}; "
                                  "stacks: {7}").format(len(products), len(res["dates"]), res["dates"][0],
                                                       res["dates"][-1], grid.xsize, grid.ysize, grid.geotransform[1],
                                                       ", ".join(outputs) + (" and incidence" if incidence else "")))
        results = {self.OUTPUTS[p]: o for p, o in outputs.items()}
        if opts["db"]:
            for p, o in outputs.items():
                style_on_load(context, o, name=names.layer_name(self.tr("Sentinel-1"), p, opts["calibration"],
                                                                names.input_details(o)[1]), unit="dB")
        if incidence:
            results[self.OUTPUT_INCIDENCE] = incidence
        return results
