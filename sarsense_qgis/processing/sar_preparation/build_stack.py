"""sarsense:buildstack — one dated multiband GeoTIFF from several rasters."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import stack
from ...styles import style_on_load
from .. import inputs, names
from ..base import SarsenseAlgorithm

RESAMPLING_LABELS = ("Nearest neighbour", "Bilinear", "Cubic", "Average")
POLARISATION_LABELS = ("Auto (the one the inputs carry)", "VV", "VH", "HH", "HV")


class BuildStackAlgorithm(SarsenseAlgorithm):
    INPUTS, POLARISATION, REFERENCE, RESAMPLING, DROP_EMPTY, OUTPUT, DATES, EMPTY_DATES = (
        "INPUTS", "POLARISATION", "REFERENCE", "RESAMPLING", "DROP_EMPTY", "OUTPUT", "DATES", "EMPTY_DATES")
    #: an empty date is kept as an all-NaN band, said in the log (or left out: DROP_EMPTY); the reference is a grid
    empty_inputs_allowed = ("INPUTS", "REFERENCE")

    def name(self):
        return "buildstack"

    def displayName(self):
        return self.tr("Build dated stack")

    def tags(self):
        return self.tr("sar,stack,time series,multitemporal,dates,align,warp,sentinel-1").split(",")

    def help_text(self):
        return self.tr(
            "Stacks several rasters into one multiband GeoTIFF, one band per date, sorted by date; each band's "
            "description is its ISO date (YYYY-MM-DD), the convention every SARSense time-series tool reads.\n\n"
            "Dates come from the band description or DATE metadata, or (single-band files) from a date in the "
            "file name: 2016-01-05, 20160105, 20160105T173017 or MODIS A2016005. A file without a date is "
            "refused with a message. A datacube variable, NETCDF:\"cube.nc\":VV or ZARR:\"cube.zarr\":/VV (or a .nc "
            "file with one variable on a time axis, as openEO and xarray write them), gives one band per time step, "
            "dated to the second from its CF time coordinate, scale factor and fill applied.\n\n"
            "One polarisation per stack: Polarisation picks the bands by the polarisation metadata the "
            "Sentinel-1 import writes (Auto: the one the inputs carry; inputs with several are refused with the "
            "choices). Incidence-angle bands are never stacked (the log counts them); bands without "
            "polarisation metadata (your own single-band files) are kept. Each band keeps its acquisition time "
            "and what the import wrote (polarisation, quantity, units, mission, product). A stack with two bands "
            "on one date that no time of day tells apart is refused, naming the dates and files.\n\n"
            "All bands are put on the grid of the Reference grid raster (default: the first input); inputs in "
            "another CRS or grid are warped with the chosen Resampling. Areas an input does not cover are NaN. "
            "Inputs and reference must be georeferenced (geotransform and CRS); one that is not is refused.\n\n"
            "Dates without a single valid pixel on the reference grid (an input that does not overlap it, or is "
            "all nodata there) are named in a warning and listed in the Empty dates output; tick 'Leave out "
            "empty dates' to drop them from the stack.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterMultipleLayers(self.INPUTS, self.tr("Input rasters"),
                                                      layerType=QgsProcessing.TypeRaster),
                 "Rasters to stack; every band needs a date (description, DATE metadata or file name). A datacube "
                 "variable (NETCDF:\"cube.nc\":VV, ZARR:\"cube.zarr\":/VV, or a .nc file with one variable on a "
                 "time axis) gives one band per time step.")
        self.add(QgsProcessingParameterEnum(self.POLARISATION, self.tr("Polarisation"),
                                            options=list(POLARISATION_LABELS), defaultValue=0,
                                            optional=True),
                 "Which bands to stack, by the polarisation in their metadata; bands without it are kept. Empty: Auto.")
        self.add(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Reference grid"), optional=True),
                 "Raster whose CRS, extent and pixel size the stack takes. Default: the first input.")
        self.add(QgsProcessingParameterEnum(self.RESAMPLING, self.tr("Resampling"), options=list(RESAMPLING_LABELS),
                                            defaultValue=1),
                 "How inputs on another grid are resampled: nearest, bilinear (default), cubic or average.")
        self.add(QgsProcessingParameterBoolean(self.DROP_EMPTY, self.tr("Leave out empty dates"), defaultValue=False),
                 "Drop dates that have no valid pixel on the reference grid (they are reported either way).")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Dated stack")),
                 "Float32 GeoTIFF, one band per date (ISO date as band description), NaN nodata.")
        self.addOutput(QgsProcessingOutputString(self.DATES, self.tr("Dates (comma-separated)")))
        self.addOutput(QgsProcessingOutputString(self.EMPTY_DATES, self.tr("Empty dates (comma-separated)")))

    def process(self, parameters, context, feedback):
        paths = inputs.raster_paths(self, parameters, self.INPUTS, context)
        if not paths:
            raise self.error(f"no input rasters given; add at least one dated raster to {self.label(self.INPUTS)}")
        ref = inputs.raster_path(self, parameters, self.REFERENCE, context) if parameters.get(self.REFERENCE) else None
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        drop = self.parameterAsBoolean(parameters, self.DROP_EMPTY, context)
        res = stack.build_stack(
            paths, out, reference=ref,
            resampling=stack.RESAMPLINGS[self.parameterAsEnum(parameters, self.RESAMPLING, context)],
            drop_empty=drop,
            polarisation=stack.POLARISATIONS[self.parameterAsEnum(parameters, self.POLARISATION, context)],
            polarisation_label=self.label(self.POLARISATION), options=self.run_options(parameters, context, feedback))
        if res["incidence"]:
            feedback.pushInfo(self.tr("{0} incidence-angle band(s) left out: {1}").format(
                len(res["incidence"]), "; ".join(f"{d} ({path})" for d, path in res["incidence"])))
        for pol, n in res["other_polarisations"].items():
            feedback.pushInfo(self.tr("{0} {1} band(s) left out (Polarisation {2})").format(
                n, pol, res["polarisation"]))
        for path in res["warped"]:
            feedback.pushInfo(self.tr("warped onto the reference grid: {0}").format(path))
        for msg in res["warnings"]:
            feedback.reportError(msg, fatalError=False)
        if res["empty"]:
            listed = "; ".join(f"{d} ({path})" for d, path in res["empty"])
            what = ("left out" if drop
                    else f"kept as all-NaN bands (tick '{self.label(self.DROP_EMPTY)}' to leave them out)")
            feedback.reportError(self.tr("{0} date(s) have no valid pixel on the reference grid, {1}: {2}").format(
                len(res["empty"]), what, listed), fatalError=False)
        feedback.pushInfo(self.tr("{0} dates: {1} … {2}").format(len(res["dates"]), res["dates"][0], res["dates"][-1]))
        style_on_load(context, out, name=names.layer_name(self.tr("Dated stack"), *names.input_details(out)),
                      unit=names.backscatter_unit(out))
        return {self.OUTPUT: out, self.DATES: ",".join(res["dates"]),
                self.EMPTY_DATES: ",".join(d for d, _ in res["empty"])}
