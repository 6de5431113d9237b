"""sarsense:terrainflatten — σ° normalised for the local incidence angle from a DEM (004 eq. 3)."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import read_info, run_blockwise
from ....algorithms.io.raster import open_dataset
from ....algorithms.soil_moisture import terrain
from ...styles import INCIDENCE_RAMP, style_on_load
from .. import checks, inputs, outputs
from ..base import WORKERS
from .base import SoilMoistureAlgorithm

#: Metadata keys read for the satellite heading when HEADING is not given.
HEADING_KEYS = ("HEADING", "PLATFORM_HEADING", "platformHeading", "SATELLITE_HEADING", "heading")


class TerrainFlattenAlgorithm(SoilMoistureAlgorithm):
    INPUT, INPUT_UNITS, DEM, INCIDENCE, INCIDENCE_ANGLE = "INPUT", "INPUT_UNITS", "DEM", "INCIDENCE", "INCIDENCE_ANGLE"
    HEADING, LOOK, OUTPUT, OUTPUT_LOCAL_INCIDENCE = "HEADING", "LOOK", "OUTPUT", "OUTPUT_LOCAL_INCIDENCE"
    NUMBER_OR_RASTER = ("INCIDENCE",)

    def name(self):
        return "terrainflatten"

    def displayName(self):
        return self.tr("Terrain normalisation of backscatter")

    def tags(self):
        return self.tr("terrain,slope,dem,local incidence angle,normalisation,sigma0,sentinel-1").split(",")

    def shortHelpString(self):
        return self.tr(
            "Normalises σ° for the terrain (Sadeghi et al., eq. 3): σ°_norm = σ°_ell · sin θ_DEM / sin θ_ell, "
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
                 "Direction of flight, clockwise from north. Empty: read from the input's metadata "
                 f"({', '.join(HEADING_KEYS[:3])}).", decimals=2)
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
        ds = open_dataset(src)
        metas = [ds.GetMetadata() or {}] + [ds.GetRasterBand(1).GetMetadata() or {}]
        for meta in metas:
            for key in HEADING_KEYS:
                value = checks.as_number(meta.get(key))
                if value is not None:
                    return value
        raise self.error(f"give {self.label(self.HEADING)}: the input's metadata has no heading "
                         f"({', '.join(HEADING_KEYS)}). Sentinel-1: about 348° ascending, 192° descending.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        checks.units(self, src, "db" if in_db else "linear", units_param=self.INPUT_UNITS)
        dem = inputs.raster_path(self, parameters, self.DEM, context)
        inc_path, inc_const = self.angle_source(parameters, self.INCIDENCE, self.INCIDENCE_ANGLE, context)
        heading = self.heading(parameters, context, src)
        look = ("right", "left")[self.parameterAsEnum(parameters, self.LOOK, context)]
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        out_inc = self.parameterAsOutputLayer(parameters, self.OUTPUT_LOCAL_INCIDENCE, context) \
            if parameters.get(self.OUTPUT_LOCAL_INCIDENCE) else None
        info = read_info(src)
        gt = info.geotransform
        if gt[2] or gt[4]:
            raise self.error("the input grid is rotated; warp it to a north-up grid first (gdalwarp).")
        geographic = info.geographic
        n = info.band_count
        sources = [src, (inputs.on_grid(self, dem, src, self.DEM, feedback), [1])]
        if inc_path:
            sources.append((inputs.on_grid(self, inc_path, src, self.INCIDENCE, feedback), [1]))
        counts = outputs.Counts("shadow", "layover")

        def kernel(block, where):
            if geographic:
                lat = gt[3] + gt[5] * (where.rows + 0.5)
                mx, my = terrain.metres_per_degree(lat)
                dx, dy = (abs(gt[1]) * mx)[:, None], abs(gt[5]) * my[:, None]
            else:
                dx, dy = abs(gt[1]), abs(gt[5])
            inc = block[n + 1] if inc_path else inc_const
            if inc_path:
                terrain.check_incidence(inc, f"{self.label(self.INCIDENCE)}")
            theta = terrain.local_incidence(block[n], dx_m=dx, dy_m=dy, incidence_deg=inc, heading_deg=heading,
                                            look=look)
            flat, _, _ = terrain.flatten(block[:n], theta, inc, in_db=in_db)
            t, valid = where.core_of(theta), where.core_of(np.isfinite(block[0]))
            counts.add(shadow=int(((t >= 90) & valid).sum()), layover=int(((t <= 0) & valid).sum()))
            return (flat, theta) if out_inc else flat

        results = [out, out_inc] if out_inc else out
        kw = dict(out_bands=[n, 1], descriptions=[info.descriptions, ["local incidence angle (degrees)"]]) \
            if out_inc else dict(out_bands=n)
        res = run_blockwise(sources, results, kernel, halo=1, with_position=True, bytes_per_pixel=96,
                            compression=self.compression(parameters, context), workers=WORKERS,
                            **kw, **self.callbacks(feedback))
        feedback.pushInfo(self.tr(f"heading {heading:g}°, {look}-looking, incidence "
                                  f"{'from raster' if inc_path else f'{inc_const:g}°'}"
                                  f"{', geographic grid (metres per degree by row)' if geographic else ''}."))
        outputs.report_infinite(self, feedback, res)
        outputs.report_counts(self, feedback, counts, {"shadow": "{n} pixels are in radar shadow (θ_DEM ≥ 90°): NaN.",
                                              "layover": "{n} pixels are in layover (θ_DEM ≤ 0°): NaN."})
        style_on_load(context, out)
        result = {self.OUTPUT: out}
        if out_inc:
            style_on_load(context, out_inc, ramp=INCIDENCE_RAMP)
            result[self.OUTPUT_LOCAL_INCIDENCE] = out_inc
        return result

