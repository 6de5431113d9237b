"""sarsense:terrainflatten — σ° normalised for the local incidence angle from a DEM (Rahimabadi & Jamali 2019,
eq. 3)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.soil_moisture import terrain
from ...styles import INCIDENCE_RAMP, style_on_load
from .. import checks, inputs, outputs
from .base import SoilMoistureAlgorithm

#: Metadata keys read for the satellite heading when HEADING is not given.
HEADING_KEYS = terrain.HEADING_KEYS


class TerrainFlattenAlgorithm(SoilMoistureAlgorithm):
    INPUT, INPUT_UNITS, DEM, INCIDENCE, INCIDENCE_ANGLE = "INPUT", "INPUT_UNITS", "DEM", "INCIDENCE", "INCIDENCE_ANGLE"
    HEADING, LOOK, OUTPUT, OUTPUT_LOCAL_INCIDENCE = "HEADING", "LOOK", "OUTPUT", "OUTPUT_LOCAL_INCIDENCE"
    NUMBER_OR_RASTER = ("INCIDENCE",)

    def name(self):
        return "terrainflatten"

    def displayName(self):
        return self.tr("Terrain normalisation of backscatter")

    def tags(self):
        return self.tr("terrain,terrain normalisation,terrain normalization,terrain flattening,flattening,"
                       "radiometric terrain correction,rtc,slope,dem,local incidence angle,normalisation,"
                       "normalization,sigma0,gamma0,sentinel-1").split(",")

    def help_text(self):
        return self.tr(
            "Normalises σ° for the terrain (Rahimabadi & Jamali 2019, eq. 3): σ°_norm = σ°_ell · sin θ_DEM / "
            "sin θ_ell, "
            "with θ_ell the ellipsoid incidence angle and θ_DEM the local incidence angle between the radar look "
            "vector and the DEM's surface normal (slope by Horn's method, in metres; a geographic DEM or input "
            "grid is handled with the WGS 84 metres per degree at each row).\n\n"
            "The look direction is the satellite heading ± 90° (right-looking for Sentinel-1; heading about −12° "
            "or 348° ascending and 192° descending at mid latitudes). The DEM may be in any CRS: it is resampled "
            "bilinearly onto the input's grid. Radar shadow (θ_DEM ≥ 90°) and layover (slope facing the radar "
            "steeper than θ_ell; θ_DEM written ≤ 0°) are NaN and counted. Grid north is taken as north.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Backscatter σ° (ellipsoid)")),
                 "σ° on a map grid (one or more bands, e.g. a dated stack); every band is normalised.")
        self.add_units(what="σ°")
        self.add(QgsProcessingParameterRasterLayer(self.DEM, self.tr("Digital elevation model (metres)")),
                 "Heights in metres, any CRS; it must cover the input.")
        self.add_angle(self.INCIDENCE, self.INCIDENCE_ANGLE, "Incidence angle",
                       "Ellipsoid incidence angle θ_ell in degrees (Sentinel-1 IW: 29-46°).")
        self.add(QgsProcessingParameterNumber(self.HEADING, self.tr("Satellite heading (degrees from north)"),
                                              type=QgsProcessingParameterNumber.Double, optional=True,
                                              minValue=-360.0, maxValue=360.0),
                 "Direction of flight, clockwise from north. Empty: read from the input's metadata (items such "
                 "as {0}).",
                 decimals=2, help_args=(" or ".join(HEADING_KEYS[1:3]),))
        self.add(QgsProcessingParameterEnum(self.LOOK, self.tr("Look direction"),
                                            options=[self.tr("Right (Sentinel-1)"), self.tr("Left")], defaultValue=0),
                 "Side of the track the radar looks to.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Normalised σ°")),
                 "Float32, same units and bands as the input, NaN in shadow and layover.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_LOCAL_INCIDENCE,
                                                         self.tr("Local incidence angle θ_DEM (degrees)"),
                                                         optional=True, createByDefault=False),
                 "Float32 degrees; ≥ 90 shadow, ≤ 0 layover.")

    def heading(self, parameters, context, src):
        if parameters.get(self.HEADING) not in (None, ""):
            return self.parameterAsDouble(parameters, self.HEADING, context)
        heading = terrain.heading_from_metadata(src)
        if heading is None:
            raise self.error(f"give {self.label(self.HEADING)}: the input's metadata has no heading "
                             f"({', '.join(HEADING_KEYS)}). Sentinel-1: about 348° ascending, 192° descending.")
        return heading

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.require_valid(self, src, self.INPUT)
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        dem = inputs.raster_path(self, parameters, self.DEM, context)
        checks.require_valid(self, dem, self.DEM)
        checks.value_range(self, dem, self.DEM, "elevation_m")
        inc_path, inc_const = self.angle_source(parameters, self.INCIDENCE, self.INCIDENCE_ANGLE, context)
        heading = self.heading(parameters, context, src)
        look = ("right", "left")[self.parameterAsEnum(parameters, self.LOOK, context)]
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        out_inc = self.parameterAsOutputLayer(parameters, self.OUTPUT_LOCAL_INCIDENCE, context) \
            if parameters.get(self.OUTPUT_LOCAL_INCIDENCE) else None
        geographic = terrain.north_up_info(src).geographic
        dem_on = inputs.on_grid(self, dem, src, self.DEM, feedback)
        inc_on = inputs.on_grid(self, inc_path, src, self.INCIDENCE, feedback) if inc_path else None
        counts = terrain.terrain_flatten_file(
            src, dem_on, out, heading_deg=heading, incidence=inc_on, incidence_deg=None if inc_path else inc_const,
            look=look, in_db=in_db, output_local_incidence=out_inc, incidence_name=self.label(self.INCIDENCE),
            options=self.run_options(parameters, context, feedback, empty_hint=self.tr(
                "σ° and the DEM share no valid pixel, or every pixel is in radar shadow or layover: check that the "
                "DEM covers the scene and is in metres, and the heading, look direction and incidence angle.")))
        incidence = "from raster" if inc_path else f"{inc_const:g}°"
        grid = ", geographic grid (metres per degree by row)" if geographic else ""
        feedback.pushInfo(self.tr("heading {0:g}°, {1}-looking, incidence {2}{3}.").format(heading, look, incidence,
                                                                                         grid))
        outputs.report_infinite(self, feedback, counts)
        outputs.report_counts(self, feedback, counts, {"shadow": "{n} pixels are in radar shadow (θ_DEM ≥ 90°): NaN.",
                                                       "layover": "{n} pixels are in layover (θ_DEM ≤ 0°): NaN."})
        style_on_load(context, out)
        result = {self.OUTPUT: out}
        if out_inc:
            style_on_load(context, out_inc, ramp=INCIDENCE_RAMP)
            result[self.OUTPUT_LOCAL_INCIDENCE] = out_inc
        return result
