"""sarsense:extractstations — raster values in a radius around stations, per date, matched to in-situ values."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ....algorithms.soil_moisture import stations
from .. import inputs, outputs
from . import samples
from .base import SoilMoistureAlgorithm


class ExtractStationsAlgorithm(SoilMoistureAlgorithm):
    STATIONS, VALUES, RASTERS, RADIUS_M, MAX_INVALID, TIME_TOLERANCE_H = (
        "STATIONS", "VALUES", "RASTERS", "RADIUS_M", "MAX_INVALID", "TIME_TOLERANCE_H")
    OUTPUT, N_SAMPLES = "OUTPUT", "N_SAMPLES"

    def name(self):
        return "extractstations"

    def displayName(self):
        return self.tr("Extract raster values at stations")

    def tags(self):
        return self.tr("station,in situ,ismn,extract,radius,sample,soil moisture,calibration,validation").split(",")

    def help_text(self):
        return self.tr(
            "For every station and date, the mean of each raster over the pixels within the radius (Fayad et al. "
            "2022 §2.1.4: 500 m), and the in-situ soil moisture matched to the acquisition time. One output feature "
            "per station and date, with a field per raster named after its layer (VV, VH, NDVI, θ …).\n\n"
            "Rasters are dated stacks (one band per date) or single dated rasters; a single-band raster without a "
            "date (an incidence-angle map) is used for every date. Backscatter in dB (layers named VV, VH, HH, HV, "
            "σ°…) is averaged in linear power and converted back; other rasters are averaged as they are. Pixels of "
            "the circle outside the raster count as invalid. A station-date is left out when more than the Maximum "
            "invalid share of the circle's pixels are NaN in any raster (the paper: 50 %).\n\n"
            "In-situ matching: the mean of the readings within ± the tolerance of the acquisition time. A band whose "
            "date has no time of day covers its whole UTC day; a daily mean covers its day. Stations outside every "
            "raster are named in the log; stations and rasters may be in different CRSs.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFeatureSource(self.STATIONS, self.tr("Stations"),
                                                     types=[QgsProcessing.TypeVectorPoint]),
                 "Points with an id field ('id' or 'station'), e.g. from 'Import in-situ soil moisture (ISMN)'.")
        self.add(QgsProcessingParameterFeatureSource(self.VALUES, self.tr("In-situ values"),
                                                     types=[QgsProcessing.TypeVector], optional=True),
                 "Table with station, time_utc, soil_moisture (m³/m³) and optionally period_h, as the ISMN import "
                 "writes.")
        self.add(QgsProcessingParameterMultipleLayers(self.RASTERS, self.tr("Rasters (dated stacks)"),
                                                      layerType=QgsProcessing.TypeRaster),
                 "Each raster becomes a field named after its layer: VV, VH, NDVI, incidence, I_SSM, SSM_t …")
        self.add(QgsProcessingParameterNumber(self.RADIUS_M, self.tr("Radius (m)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=500.0,
                                              minValue=0.0),
                 "Pixels whose centre is within this distance are averaged (at least the pixel under the station).")
        self.add(QgsProcessingParameterNumber(self.MAX_INVALID, self.tr("Maximum invalid share"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.5,
                                              minValue=0.0, maxValue=1.0),
                 "A station-date is left out when a larger share of the circle is NaN in any raster.", decimals=2)
        self.add(QgsProcessingParameterNumber(self.TIME_TOLERANCE_H, self.tr("Time tolerance (h)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=1.0,
                                              minValue=0.0),
                 "In-situ readings within ± this of the acquisition are averaged.", decimals=2)
        self.add_table_output(self.OUTPUT, "Station samples",
                              "Points: station, network, date, acquisition time, one field per raster, the in-situ "
                              "value (ssm_insitu) and how many readings it averages (n_insitu).")
        self.addOutput(QgsProcessingOutputNumber(self.N_SAMPLES, self.tr("Samples")))

    def process(self, parameters, context, feedback):
        st, st_crs = samples.read_stations(self, parameters, self.STATIONS, context)
        values = samples.read_values(self, parameters, self.VALUES, context, feedback)
        paths = inputs.raster_paths(self, parameters, self.RASTERS, context)   # a datacube variable: its stack
        if not paths:
            raise self.error(f"give at least one raster in {self.label(self.RASTERS)}.")
        max_invalid = self.parameterAsDouble(parameters, self.MAX_INVALID, context)
        tol = self.parameterAsDouble(parameters, self.TIME_TOLERANCE_H, context) * 3600.0
        rasters, dates, times = stations.station_rasters([(inputs.layer_name(p), p) for p in paths])
        res = stations.extract_at_stations(
            st, rasters, dates, times, values, radius_m=self.parameterAsDouble(parameters, self.RADIUS_M, context),
            max_invalid=max_invalid, tolerance_s=tol, locate=samples.Locator(st_crs, context),
            options=self.run_options(parameters, context, feedback))
        ids, outside = res.ids, res.outside
        for r, inside in zip(rasters, res.inside):
            feedback.pushInfo(self.tr("{0}: {1} date(s){2}; {3} of {4} stations inside.").format(
                r.field, len(r.dates), ", averaged in linear power" if r.db else "", inside, len(ids)))
        if len(outside) == len(ids):
            raise self.error(f"every station lies outside the rasters ({', '.join(ids[:10])}"
                             f"{' …' if len(ids) > 10 else ''}): check that stations and rasters cover the same area "
                             "(the CRSs are transformed).")
        if outside:
            feedback.reportError(self.tr("{0} station(s) outside every raster, left out: {1}.").format(
                len(outside), ", ".join(sorted(outside))), fatalError=False)
        for name, k in res.left_out.items():
            feedback.pushWarning(self.tr("{0} station-date(s) left out: more than {1:g} % of the circle is NaN in "
                                         "{2}.").format(k, 100 * max_invalid, name))
        if not res.rows:
            raise self.error("no station-date is left: every one has too many NaN pixels in the radius. Raise "
                             f"{self.label(self.MAX_INVALID)} or {self.label(self.RADIUS_M)}.")
        if values is not None:
            if res.matched == 0:
                raise self.error(f"no in-situ value lies within ± {tol / 3600:g} h of any acquisition: check the "
                                 f"in-situ period and the rasters' dates, or raise "
                                 f"{self.label(self.TIME_TOLERANCE_H)}.")
            if res.no_insitu:
                feedback.pushWarning(self.tr("{0} of {1} samples have no in-situ value within ± {2:g} h (ssm_insitu "
                                             "left empty).").format(res.no_insitu, len(res.rows), tol / 3600))
        out = outputs.write_table(self, parameters, self.OUTPUT, context, res.columns, res.rows, points=res.points,
                                  crs=st_crs)
        feedback.pushInfo(self.tr("{0} samples at {1} station(s), {2} date(s); {3} with an in-situ value.").format(
            len(res.rows), len(ids) - len(outside), len(dates), res.matched))
        return {self.OUTPUT: out, self.N_SAMPLES: len(res.rows)}
