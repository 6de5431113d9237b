"""sarsense:ricethreshold — early paddy rice from the flooding at transplanting (Liu et al. 2020, §3.3)."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.crop import threshold as _rule
from ....algorithms.io import stack as _stack
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs
from .base import CropAlgorithm

#: Transplanting date ramp, early to late (viridis stops).
DOY_COLOURS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


class RiceThresholdAlgorithm(CropAlgorithm):
    NDVH, NDVV, SEASON_START, SEASON_END, T_FLOOD, T_NEXT = (
        "NDVH", "NDVV", "SEASON_START", "SEASON_END", "T_FLOOD", "T_NEXT")
    WATER_DATE, T_WATER, OUTPUT, OUTPUT_DATE, RICE_PIXELS, RICE_AREA_HA = (
        "WATER_DATE", "T_WATER", "OUTPUT", "OUTPUT_DATE", "RICE_PIXELS", "RICE_AREA_HA")

    def name(self):
        return "ricethreshold"

    def displayName(self):
        return self.tr("Paddy rice by phenology thresholds")

    def tags(self):
        return self.tr("rice,paddy,transplanting,flooding,threshold,phenology,ndvh,ndvv,crop").split(",")

    def help_text(self):
        return self.tr(
            "Maps early paddy rice from the water-normalised index of a dated VH stack (NDVH, from "
            "'Water-normalised backscatter index'), as Liu et al. (2020, §3.3) did: paddies are flooded at "
            "transplanting, so their NDVH drops on one date and is still low on the next while the seedlings are "
            "small; other land stays above about 0.6.\n\nPer pixel, over the stack dates from Season start to "
            "Season end: rice where NDVH < Flooding threshold on a date and < Next-date threshold on the stack's "
            "next date; not rice where the index stays below the flooding threshold on every season date (NDVH "
            "and, when given, NDVV: permanently wet land); water is removed where NDVH < Water threshold on the "
            "water date (the stack date nearest to it, stated in the log; the paper: 21 January, before the "
            "season). Every threshold is a parameter; the defaults are the paper's.\n\nOutputs: the rice map "
            "(1 rice, 0 not rice, 255 nodata) and the transplanting date of each rice pixel as day of year (the "
            "first date of the flooding pair).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.NDVH, self.tr("NDVH stack")),
                 "σA of VH per date (dates in time order, ISO dates in the band descriptions).")
        self.add(QgsProcessingParameterRasterLayer(self.NDVV, self.tr("NDVV stack"), optional=True),
                 "σA of VV on the same dates; used by the 'low all season' rule.")
        for key, label, text in ((self.SEASON_START, "Season start", "First date of the transplanting season "
                                  "(the paper: 10 March)."),
                                 (self.SEASON_END, "Season end", "Last date of the season (the paper: 27 April).")):
            self.add(QgsProcessingParameterDateTime(key, self.tr(label), type=QgsProcessingParameterDateTime.Date),
                     text)
        self.add(QgsProcessingParameterNumber(self.T_FLOOD, self.tr("Flooding threshold"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=_rule.T_FLOOD,
                                              minValue=-1, maxValue=1), "NDVH below this: flooded (paper: 0.5).",
                 decimals=3)
        self.add(QgsProcessingParameterNumber(self.T_NEXT, self.tr("Next-date threshold"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=_rule.T_NEXT,
                                              minValue=-1, maxValue=1),
                 "NDVH on the next date below this: still a young crop (paper: 0.6).", decimals=3)
        self.add(QgsProcessingParameterDateTime(self.WATER_DATE, self.tr("Water date"),
                                                type=QgsProcessingParameterDateTime.Date, optional=True),
                 "A date before the season when paddies are dry: NDVH below the water threshold then is open water. "
                 "Empty: no water removal.")
        self.add(QgsProcessingParameterNumber(self.T_WATER, self.tr("Water threshold"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=_rule.T_WATER,
                                              minValue=-1, maxValue=1), "NDVH below this on the water date is water "
                                                                         "(paper: 0.3).", decimals=3)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Rice map")),
                 "uint8: 1 rice, 0 not rice, 255 nodata; named and coloured classes.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_DATE, self.tr("Transplanting day of year"),
                                                         optional=True),
                 "float32: day of year of the flooding date of each rice pixel, NaN elsewhere.")
        self.addOutput(QgsProcessingOutputNumber(self.RICE_PIXELS, self.tr("Rice pixels")))
        self.addOutput(QgsProcessingOutputNumber(self.RICE_AREA_HA, self.tr("Rice area (ha, projected CRS)")))

    def _date(self, parameters, name, context):
        value = self.parameterAsDateTime(parameters, name, context)
        if not value.isValid():
            return None
        return value.date().toString("yyyy-MM-dd")

    def process(self, parameters, context, feedback):
        ndvh = inputs.raster_path(self, parameters, self.NDVH, context)
        dates = checks.stack_dates(self, ndvh, self.NDVH, min_dates=2, in_order=True)
        self.check_index(ndvh, self.NDVH)
        start, end = self._date(parameters, self.SEASON_START, context), self._date(parameters, self.SEASON_END,
                                                                                      context)
        if start is None or end is None:
            raise self.error(f"give {self.label(self.SEASON_START)} and {self.label(self.SEASON_END)}.")
        if end < start:
            raise self.error(f"{self.label(self.SEASON_END)} ({end}) is before {self.label(self.SEASON_START)} "
                             f"({start}).")
        season = _rule.season_indices(dates, start, end)
        if not season:
            raise self.error(f"no date of {self.label(self.NDVH)} lies in the season {start} … {end} (the stack has "
                             f"{dates[0]} … {dates[-1]}).")
        if season[-1] + 1 >= len(dates):
            feedback.pushWarning(self.tr("The last season date {0} is the stack's last: it has no next date, so "
                                         "flooding on it cannot be confirmed.").format(dates[season[-1]]))
        feedback.pushInfo(self.tr("Season dates: {0}").format(", ".join(dates[k] for k in season)))
        checks.orbit_notice(self, ndvh, self.NDVH, feedback, self.tr(
            "the rule compares each date with the next, so an orbit's offset can pass for flooding or hide it. Keep "
            "one relative orbit ('Build dated stack' from that orbit's images) unless the water normalisation has "
            "made them agree."))
        ndvv = None
        if parameters.get(self.NDVV):
            ndvv = inputs.raster_path(self, parameters, self.NDVV, context)
            v_dates = checks.stack_dates(self, ndvv, self.NDVV, min_dates=2, in_order=True)
            self.check_index(ndvv, self.NDVV)
            _stack.match_dates(dates, v_dates, self.label(self.NDVH), self.label(self.NDVV))
            ndvv = inputs.on_grid(self, ndvv, ndvh, self.NDVV, feedback)
        water = self._date(parameters, self.WATER_DATE, context)
        if water is not None:
            water_idx, gap = _rule.nearest_date(dates, water)
            feedback.pushInfo(self.tr("Water date {0}: using the stack date {1} ({2} days away).").format(
                water, dates[water_idx], gap))
            if water_idx in season:
                feedback.pushWarning(self.tr("The water date {0} lies in the season: flooded paddies are dark on it "
                                             "too and will be removed as water. Choose a date before "
                                             "transplanting.").format(dates[water_idx]))
        t = {k: self.parameterAsDouble(parameters, k, context) for k in (self.T_FLOOD, self.T_NEXT, self.T_WATER)}
        if t[self.T_FLOOD] > t[self.T_NEXT]:
            raise self.error(f"{self.label(self.T_FLOOD)} ({t[self.T_FLOOD]}) must not exceed "
                             f"{self.label(self.T_NEXT)} ({t[self.T_NEXT]}).")
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        out_date = self.parameterAsOutputLayer(parameters, self.OUTPUT_DATE, context) \
            if parameters.get(self.OUTPUT_DATE) else None
        res = _rule.rice_threshold_file(ndvh, out, dates=dates, season_start=start, season_end=end, ndvv=ndvv,
                                        output_date=out_date, t_flood=t[self.T_FLOOD], t_next=t[self.T_NEXT],
                                        water_date=water, t_water=t[self.T_WATER],
                                        options=self.run_options(parameters, context, feedback, empty_hint=self.tr(
                                            "{0} has no valid pixel on the season dates and their next dates: "
                                            "choose a season the stack covers with data, or check its nodata "
                                            "value.").format(self.label(self.NDVH)),
                                            allow_empty=(out_date,) if out_date else False))   # no rice: no date
        ha = res["rice_ha"]
        if res["rice"] == 0:
            feedback.pushWarning(self.tr("No pixel passed the rule: no rice in the season ({0}){1}. Check the "
                                         "thresholds ({2}) against the NDVH values, and the season.").format(
                ", ".join(f"{self.label(k)} = {v:g}" for k, v in t.items()),
                self.tr("; the transplanting-date raster is empty") if out_date else "",
                ", ".join(self.label(k) for k in t)))
        feedback.pushInfo(self.tr("Rice: {0} pixels{1}").format(
            res["rice"], f", {ha:.1f} ha" if np.isfinite(ha) else " (area not computed: geographic CRS)"))
        style_on_load(context, out, ClassMapPostProcessor)
        results = {self.OUTPUT: out, self.RICE_PIXELS: res["rice"], self.RICE_AREA_HA: ha}
        if out_date:
            doy = _rule.day_of_year(dates)
            ramp = (float(doy[season[0]]), float(doy[season[-1]]) + 1.0, DOY_COLOURS, "day of year")
            style_on_load(context, out_date, ramp=ramp)
            results[self.OUTPUT_DATE] = out_date
        return results
