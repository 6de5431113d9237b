"""sarsense:watercloud — soil and vegetation terms of σ° by the Water Cloud Model (Rahimabadi & Jamali 2019,
eq. 1, 4-6)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import read_info
from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import water_cloud
from ...styles import style_on_load
from .. import checks, inputs, outputs
from .base import SoilMoistureAlgorithm


class WaterCloudAlgorithm(SoilMoistureAlgorithm):
    INPUT, INPUT_UNITS, NDVI, INCIDENCE, INCIDENCE_ANGLE = "INPUT", "INPUT_UNITS", "NDVI", "INCIDENCE", \
        "INCIDENCE_ANGLE"
    A, B, OUTPUT_SOIL, OUTPUT_VEG = "A", "B", "OUTPUT_SOIL", "OUTPUT_VEG"
    NUMBER_OR_RASTER = ("INCIDENCE",)

    def name(self):
        return "watercloud"

    def displayName(self):
        return self.tr("Water Cloud Model: soil and vegetation backscatter")

    def tags(self):
        return self.tr("water cloud model,wcm,vegetation,lai,ndvi,soil moisture,sigma0").split(",")

    def help_text(self):
        return self.tr(
            "Separates the vegetation's own backscatter from the soil's (Rahimabadi & Jamali 2019, eq. 1, "
            "4-6), in linear "
            "power: LAI = 0.57·exp(2.33·NDVI); τ² = exp(−2·B·LAI·sec θ); σ°_veg = A·LAI·cos θ·(1 − τ²); "
            "σ°_soil = (σ° − σ°_veg)/τ². A = B = 1 reproduce the paper's equations as printed; fit them for your "
            "crop.\n\n"
            "τ²: the paper's eq. 4 multiplies σ°_soil by τ, its eq. 5 defines τ²; we follow the Water Cloud Model "
            "(Attema & Ulaby 1978): the soil term is attenuated on the way in and out, τ². The one-way reading "
            "would give soil terms lower by 10·log10 τ dB (see docs/soil_moisture.md for the bundled data).\n\n"
            "NDVI: one band (all dates) or a dated stack on the input's dates; resampled onto the input's grid. "
            "Where σ° ≤ σ°_veg the vegetation alone explains the signal: σ°_soil is NaN, counted. Outputs are in "
            "the input's units (dB stays dB).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Backscatter σ°")),
                 "σ° (one band or a dated stack).")
        self.add_units(what="σ°")
        self.add(QgsProcessingParameterRasterLayer(self.NDVI, self.tr("NDVI")),
                 "One band, or a dated stack on the same dates as the input (e.g. 'Interpolate stack in time').")
        self.add_angle(self.INCIDENCE, self.INCIDENCE_ANGLE, "Incidence angle",
                       "Incidence angle θ in degrees (local incidence after 'Terrain normalisation', or ellipsoid).")
        self.add(QgsProcessingParameterNumber(self.A, self.tr("A (vegetation backscatter scale)"),
                                              type=QgsProcessingParameterNumber.Double,
                                              defaultValue=water_cloud.DEFAULT_A, minValue=0.0),
                 "Multiplies LAI·cos θ·(1 − τ²) in σ°_veg; 1 as printed in the paper.", decimals=4)
        self.add(QgsProcessingParameterNumber(self.B, self.tr("B (vegetation attenuation)"),
                                              type=QgsProcessingParameterNumber.Double,
                                              defaultValue=water_cloud.DEFAULT_B, minValue=0.0),
                 "Multiplies LAI in τ² = exp(−2·B·LAI·sec θ); 1 as printed in the paper.", decimals=4)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_SOIL, self.tr("Soil backscatter σ°_soil")),
                 "Float32, input units, NaN where the vegetation explains all the signal.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_VEG, self.tr("Vegetation backscatter σ°_veg"),
                                                         optional=True, createByDefault=True),
                 "Float32, input units.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        ndvi = inputs.raster_path(self, parameters, self.NDVI, context)
        inc_path, inc_const = self.angle_source(parameters, self.INCIDENCE, self.INCIDENCE_ANGLE, context)
        a = self.parameterAsDouble(parameters, self.A, context)
        b = self.parameterAsDouble(parameters, self.B, context)
        out_soil = self.parameterAsOutputLayer(parameters, self.OUTPUT_SOIL, context)
        out_veg = self.parameterAsOutputLayer(parameters, self.OUTPUT_VEG, context) \
            if parameters.get(self.OUTPUT_VEG) else None
        n = read_info(src).band_count
        checks.require_valid(self, ndvi, self.NDVI)
        if read_info(ndvi).band_count == 1:
            ndvi_bands = [1] * n
        else:
            dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
            ndvi_dates = checks.stack_dates(self, ndvi, self.NDVI, min_dates=1)
            _stack.match_dates(dates, ndvi_dates, self.label(self.INPUT), self.label(self.NDVI))
            ndvi_bands = [ndvi_dates.index(d) + 1 for d in dates]
        ndvi_on = inputs.on_grid(self, ndvi, src, self.NDVI, feedback)
        inc_on = inputs.on_grid(self, inc_path, src, self.INCIDENCE, feedback) if inc_path else None
        counts = water_cloud.water_cloud_file(
            src, ndvi_on, out_soil, ndvi_bands=ndvi_bands, incidence=inc_on,
            incidence_deg=None if inc_path else inc_const, a=a, b=b, in_db=in_db, output_veg=out_veg,
            incidence_name=self.label(self.INCIDENCE), options=self.run_options(parameters, context, feedback))
        feedback.pushInfo(self.tr("A = {0:g}, B = {1:g}; two-way attenuation τ² (see the help).").format(a, b))
        outputs.report_infinite(self, feedback, counts)
        outputs.report_counts(self, feedback, counts, {
            "no_soil": "{n} pixels have σ° ≤ σ°_veg (the vegetation term explains all the signal): σ°_soil is NaN."})
        if counts["valid"] and counts["no_soil"] > 0.5 * counts["valid"]:
            feedback.reportError(self.tr(
                "σ° ≤ σ°_veg on {0:.0f} % of the pixel-dates: with A = {1:g} and B = {2:g} the vegetation term alone "
                "exceeds the measured backscatter. A = B = 1 (the paper's equations as printed) are far too high for "
                "C-band; fit A and B to your crop and sensor.").format(100 * counts["no_soil"] / counts["valid"], a, b),
                fatalError=False)
        style_on_load(context, out_soil)
        result = {self.OUTPUT_SOIL: out_soil}
        if out_veg:
            style_on_load(context, out_veg)
            result[self.OUTPUT_VEG] = out_veg
        return result
