"""sarsense:extractstations — raster values in a radius around stations, per date, matched to in-situ values."""

from __future__ import annotations

import re

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ....algorithms import sar
from ....algorithms.io import read_info, sample_values
from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import insitu, stations
from .. import outputs
from .base import SoilMoistureAlgorithm, first_field

_FIELD = re.compile(r"[^0-9A-Za-z_/]+")


def field_name(layer_name, taken):
    """A field name for a raster: its layer name, spaces and odd characters as '_', made unique."""
    base = _FIELD.sub("_", layer_name).strip("_") or "raster"
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name.lower())
    return name


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

    def shortHelpString(self):
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

    # -- inputs ---------------------------------------------------------------------------
    def _stations(self, parameters, context):
        source = self.parameterAsSource(parameters, self.STATIONS, context)
        if source is None:
            raise self.error(self.invalidSourceError(parameters, self.STATIONS))
        names = [f.name() for f in source.fields()]
        id_field = first_field(names, ("id", "station", "station_id", "name"))
        if id_field is None:
            raise self.error(f"{self.label(self.STATIONS)} needs an id field ('id' or 'station'); it has "
                             f"{', '.join(names)}.")
        net_field = first_field(names, ("network",))
        out = {}
        for f in source.getFeatures():
            geom = f.geometry()
            if geom is None or geom.isEmpty():
                continue
            sid = str(f[id_field])
            if sid not in out:   # several sensors of one station: one point
                pt = geom.centroid().asPoint()
                out[sid] = (str(f[net_field]) if net_field else "", pt.x(), pt.y())
        if not out:
            raise self.error(f"{self.label(self.STATIONS)} has no station with a geometry.")
        return out, source.sourceCrs()

    def _values(self, parameters, context):
        source = self.parameterAsSource(parameters, self.VALUES, context)
        if source is None:
            return None
        names = [f.name() for f in source.fields()]
        st = first_field(names, ("station", "station_id", "id"))
        tm = first_field(names, ("time_utc", "time", "datetime", "date"))
        sm = first_field(names, ("soil_moisture", "ssm", "sm", "value"))
        per = first_field(names, ("period_h",))
        if not (st and tm and sm):
            raise self.error(f"{self.label(self.VALUES)} needs station, time_utc and soil_moisture fields; it has "
                             f"{', '.join(names)}.")
        by = {}
        for f in source.getFeatures():
            t, v = f[tm], f[sm]
            if t is None or v is None:
                continue
            text = t.toString("yyyy-MM-ddTHH:mm:ss") if hasattr(t, "toString") else str(t).replace(" ", "T")
            try:
                when = np.datetime64(text[:19], "s")
                value = float(v)
            except (TypeError, ValueError):
                continue
            period = float(f[per]) * 3600.0 if per and f[per] is not None else 0.0
            by.setdefault(str(f[st]), []).append((when, value, period))
        return {k: (np.array([w for w, _, _ in v], dtype="datetime64[s]"), np.array([x for _, x, _ in v]),
                    np.array([p for _, _, p in v])) for k, v in by.items()}

    # -- run ------------------------------------------------------------------------------
    def process(self, parameters, context, feedback):
        st, st_crs = self._stations(parameters, context)
        values = self._values(parameters, context)
        layers = self.parameterAsLayerList(parameters, self.RASTERS, context)
        if not layers:
            raise self.error(f"give at least one raster in {self.label(self.RASTERS)}.")
        radius = self.parameterAsDouble(parameters, self.RADIUS_M, context)
        max_invalid = self.parameterAsDouble(parameters, self.MAX_INVALID, context)
        tol = self.parameterAsDouble(parameters, self.TIME_TOLERANCE_H, context) * 3600.0
        ids = sorted(st)
        taken = {"station", "network", "date", "acq_time", "ssm_insitu", "n_insitu"}
        rasters, all_dates, times = [], set(), {}
        for lyr in layers:
            if lyr.providerType() != "gdal":
                raise self.error(f"'{lyr.name()}' is not a GDAL raster file; export it to GeoTIFF first.")
            path = lyr.source()
            info = read_info(path)
            try:
                dates = _stack.band_dates(path)
                band_times = _stack.band_times(path)
            except ValueError:
                if info.band_count != 1:
                    raise self.error(f"raster '{lyr.name()}' has {info.band_count} bands without dates: give dated "
                                     "stacks (one band per date, as 'Build dated stack' writes).") from None
                dates, band_times = [None], [None]
            for d, t in zip(dates, band_times):
                if d is not None:
                    all_dates.add(d)
                    if d not in times or t[0] == t[1]:
                        times[d] = t
            name = field_name(lyr.name(), taken)
            db = stations.is_backscatter(lyr.name()) and sar.guess_units(sample_values(path, max_side=128)) == "db"
            rasters.append((name, path, dates, db, info))
        if not all_dates:
            raise self.error("no raster has a date: at least one must be a dated stack or a dated raster.")
        dates = sorted(all_dates)
        # raster values per station
        n = len(rasters)
        means, bad, outside_all = {}, {}, set(ids)
        for k, (name, path, rdates, db, info) in enumerate(rasters):
            crs = QgsCoordinateReferenceSystem.fromWkt(info.projection)
            tr = QgsCoordinateTransform(st_crs, crs, context.transformContext())
            xy = []
            for sid in ids:
                p = tr.transform(QgsPointXY(st[sid][1], st[sid][2]))
                xy.append((p.x(), p.y()))
            m, inv, outside = stations.extract(path, xy, radius, db_power=db, is_canceled=feedback.isCanceled)
            outside_all -= {ids[i] for i in range(len(ids)) if i not in outside}
            means[name], bad[name] = m, inv
            feedback.pushInfo(self.tr(f"{name}: {len(rdates)} date(s){', averaged in linear power' if db else ''}; "
                                      f"{len(ids) - len(outside)} of {len(ids)} stations inside."))
            feedback.setProgress(80.0 * (k + 1) / n)
        if len(outside_all) == len(ids):
            raise self.error(f"every station lies outside the rasters ({', '.join(ids[:10])}"
                             f"{' …' if len(ids) > 10 else ''}): check that stations and rasters cover the same area "
                             "(the CRSs are transformed).")
        if outside_all:
            feedback.reportError(self.tr(f"{len(outside_all)} station(s) outside every raster, left out: "
                                         f"{', '.join(sorted(outside_all))}."), fatalError=False)
        rows, points, left_out, no_insitu, matched = [], [], {}, 0, 0
        for i, sid in enumerate(ids):
            if sid in outside_all:
                continue
            for d in dates:
                row_vals, skip = [], None
                for name, _path, rdates, _db, _info in rasters:
                    band = rdates.index(d) if d in rdates else (0 if rdates == [None] else None)
                    if band is None:
                        row_vals.append(np.nan)
                        continue
                    if bad[name][i, band] > max_invalid:
                        skip = name
                        break
                    row_vals.append(means[name][i, band])
                if skip:
                    left_out[skip] = left_out.get(skip, 0) + 1
                    continue
                start, end = times[d]
                ssm, k = np.nan, 0
                if values is not None and sid in values:
                    t, v, per = values[sid]
                    ssm, k = insitu.match_readings(t, v, per, start, end, tol)
                if values is not None:
                    matched += k > 0
                    no_insitu += k == 0
                acq = str(start)[:19].replace("T", " ") if start == end else ""
                rows.append([sid, st[sid][0], d, acq] + row_vals + [ssm, k])
                points.append((st[sid][1], st[sid][2]))
        for name, k in left_out.items():
            feedback.pushWarning(self.tr(f"{k} station-date(s) left out: more than {100 * max_invalid:g} % of the "
                                         f"circle is NaN in {name}."))
        if not rows:
            raise self.error("no station-date is left: every one has too many NaN pixels in the radius. Raise "
                             f"{self.label(self.MAX_INVALID)} or {self.label(self.RADIUS_M)}.")
        if values is not None:
            if matched == 0:
                raise self.error(f"no in-situ value lies within ± {tol / 3600:g} h of any acquisition: check the "
                                 f"in-situ period and the rasters' dates, or raise "
                                 f"{self.label(self.TIME_TOLERANCE_H)}.")
            if no_insitu:
                feedback.pushWarning(self.tr(f"{no_insitu} of {len(rows)} samples have no in-situ value within "
                                             f"± {tol / 3600:g} h (ssm_insitu left empty)."))
        columns = [("station", str), ("network", str), ("date", str), ("acq_time", str)] + \
                  [(r[0], float) for r in rasters] + [("ssm_insitu", float), ("n_insitu", int)]
        out = outputs.write_table(self, parameters, self.OUTPUT, context, columns, rows, points=points, crs=st_crs)
        feedback.pushInfo(self.tr(f"{len(rows)} samples at {len(ids) - len(outside_all)} station(s), {len(dates)} "
                                  f"date(s); {matched} with an in-situ value."))
        return {self.OUTPUT: out, self.N_SAMPLES: len(rows)}

