"""sarsense:waternormalized — the water-normalised index σA = (P − T)/(P + T) of a dated VV or VH stack."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
)

from ....algorithms.crop import water_index
from ...styles import style_on_load
from .. import checks, inputs, outputs
from .base import CropAlgorithm


class WaterNormalizedAlgorithm(CropAlgorithm):
    INPUT, INPUT_UNITS, WATER, WATER_MASK, AUTO_WATER_DB, OUTPUT = (
        "INPUT", "INPUT_UNITS", "WATER", "WATER_MASK", "AUTO_WATER_DB", "OUTPUT")

    def name(self):
        return "waternormalized"

    def displayName(self):
        return self.tr("Water-normalised backscatter index")

    def tags(self):
        return self.tr("rice,paddy,water,normalised,ndvh,ndvv,sentinel-1,crop,stack").split(",")

    def help_text(self):
        return self.tr(
            "The water-normalised index of Liu et al. (2020, eq. 1) for each date of a VV or VH stack: "
            "σA = (P − T)/(P + T), with P a pixel's backscatter and T the mean backscatter of water on that date, "
            "both in linear power (dB input is converted first). σA lies in [−1, 1]: water is near or below 0, "
            "vegetation approaches 1. Computed on VH it is the paper's NDVH, on VV its NDVV, the input of the rice "
            "threshold rule.\n\nWater comes from the polygons (Water polygons), else the mask (Water mask, 1 = "
            "water), else the pixels darker than the automatic threshold on every date (open water is dark all "
            "year; a paddy is dark only around transplanting). Each date's T (dB and linear) and its number of "
            "water pixels are logged and written into the band metadata (WATER_T_DB, WATER_T_LINEAR, "
            "WATER_PIXELS).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated VV or VH stack")),
                 "One band per date, ISO dates in the band descriptions (as 'Build dated stack' writes).")
        self.add_units(what="the stack (dB is converted to linear power before the index is computed)")
        self.add(QgsProcessingParameterVectorLayer(self.WATER, self.tr("Water polygons"),
                                                   types=[QgsProcessing.TypeVectorPolygon], optional=True),
                 "Lakes, reservoirs or rivers: the water reference T of each date is the mean over them.")
        self.add(QgsProcessingParameterRasterLayer(self.WATER_MASK, self.tr("Water mask (1 = water)"),
                                                   optional=True),
                 "Used when no polygons are given; any grid (resampled onto the stack's by nearest neighbour).")
        self.add(QgsProcessingParameterNumber(self.AUTO_WATER_DB, self.tr("Automatic water threshold (dB)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=-20.0),
                 "Without polygons or mask, water is where the backscatter is below this on every date.",
                 decimals=1)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Water-normalised index")),
                 "Float32 GeoTIFF, one band per date (σA, −1 to 1), NaN nodata.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.require_valid(self, src, self.INPUT)
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        checks.value_range(self, src, self.INPUT, "sigma0_db" if in_db else "sigma0_linear",
                           hint=self.tr("The index needs calibrated backscatter σ° of one polarisation (VV or VH)."))
        threshold = self.parameterAsDouble(parameters, self.AUTO_WATER_DB, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        polygons = self.parameterAsVectorLayer(parameters, self.WATER, context) if parameters.get(self.WATER) else None
        if polygons is not None:
            water, source = inputs.burn_polygons(self, polygons, src, self.WATER, context), "the water polygons"
        elif parameters.get(self.WATER_MASK):
            mask = inputs.raster_path(self, parameters, self.WATER_MASK, context)
            checks.class_map(self, mask, self.WATER_MASK, hint=self.tr(
                "The water mask holds 1 on water and 0 elsewhere (threshold a probability first, e.g. with the "
                "Raster calculator)."))
            water = inputs.on_grid(self, mask, src, self.WATER_MASK, feedback, resampling="near")
            source = "the water mask"
        else:
            water, source = None, f"pixels below {threshold:g} dB on every date"
        try:
            res = water_index.water_normalized_file(src, out, dates=dates, in_db=in_db, water=water,
                                                    threshold_db=threshold,
                                                    options=self.run_options(
                                                        parameters, context, feedback, empty_hint=self.tr(
                                                            "{0} has no valid pixel on any date: check its nodata "
                                                            "value.").format(self.label(self.INPUT))))
        except water_index.WaterReferenceError as err:
            raise self.error(f"{err} (water from {source}). Draw polygons over open water in "
                             f"{self.label(self.WATER)}, give {self.label(self.WATER_MASK)}, or raise "
                             f"{self.label(self.AUTO_WATER_DB)}.") from None
        for date, value, t_db, count in zip(dates, res["t"], res["t_db"], res["water_pixels"]):
            feedback.pushInfo(self.tr("{0}: water T = {1:.2f} dB ({2:.5g} linear) over {3} pixels").format(
                date, t_db, value, count))
        outputs.report_infinite(self, feedback, res)
        style_on_load(context, out)
        return {self.OUTPUT: out}
