"""sarsense:regressmoisture — linear regression of in-situ soil moisture on σ° (dB), per date or for all dates."""

from __future__ import annotations

import json

import numpy as np
from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import quantities
from ....algorithms.soil_moisture import regression
from ...styles import SSM_RAMP, style_on_load
from .. import checks, inputs, names, outputs
from . import samples
from .base import SoilMoistureAlgorithm

COLUMNS = [("date", str), ("slope", float), ("intercept", float), ("r2", float), ("rmse", float), ("n", int),
           ("note", str)]


class RegressMoistureAlgorithm(SoilMoistureAlgorithm):
    SAMPLES, PREDICTOR_FIELD, SSM_FIELD, PER_DATE, RASTER = ("SAMPLES", "PREDICTOR_FIELD", "SSM_FIELD", "PER_DATE",
                                                             "RASTER")
    OUTPUT_PARAMS, OUTPUT_TABLE, OUTPUT = "OUTPUT_PARAMS", "OUTPUT_TABLE", "OUTPUT"

    def name(self):
        return "regressmoisture"

    def displayName(self):
        return self.tr("Soil moisture regression on backscatter")

    def tags(self):
        return self.tr("regression,linear,soil moisture,backscatter,sigma0,r2,rmse,per date").split(",")

    def help_text(self):
        return self.tr(
            "Fits in-situ soil moisture = slope·σ° + intercept by least squares, one line per date (as the Miyankale "
            "study's table 1: R² 0.72-0.82) or one for all dates, and reports slope, intercept, R², RMSE and N per "
            "line. σ° is in dB, e.g. terrain-normalised and vegetation-corrected by the Soil moisture I algorithms. "
            "Given a raster (a dated stack of the same σ°), it maps soil moisture from the fitted lines: per date, the "
            "line of that date (dates without a line are NaN, each named in the log with why); otherwise the one "
            "line on every band. The map is clipped to [0, porosity] in its units (the pixel-dates clipped counted in "
            "the log and the output CLIPPED).\n\n"
            "The RMSE is the fit's own residual on the samples that made it, as the paper reports it: an optimistic "
            "figure. For an independent assessment, validate the map on other stations with 'Validate soil "
            "moisture'.")

    def initAlgorithm(self, config=None):
        samples.add_samples(self)
        samples.add_field(self, self.PREDICTOR_FIELD, "σ° field (dB)", "VV", "Backscatter in dB.")
        samples.add_field(self, self.SSM_FIELD, "In-situ soil moisture field", "ssm_insitu",
                          "m³/m³ (or %: the map follows).")
        self.add(QgsProcessingParameterBoolean(self.PER_DATE, self.tr("One regression per date"), defaultValue=True),
                 "On: one line per acquisition date (the paper). Off: one line for all samples.")
        self.add(QgsProcessingParameterFileDestination(self.OUTPUT_PARAMS, self.tr("Regression parameters (JSON)"),
                                                       fileFilter="JSON (*.json)"), "The fitted lines.")
        self.add_table_output(self.OUTPUT_TABLE, "Regression table", "date, slope, intercept, R², RMSE, N.")
        self.add(QgsProcessingParameterRasterLayer(self.RASTER, self.tr("σ° raster to map (dB)"), optional=True),
                 "A dated stack of the same σ°; mapped with the fitted lines.")
        self.add_porosity()
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Soil moisture map"), optional=True,
                                                         createByDefault=False),
                 "Float32, one band per date, NaN nodata.")

    def process(self, parameters, context, feedback):
        f_x = samples.field(self, parameters, self.PREDICTOR_FIELD, context)
        f_y = samples.field(self, parameters, self.SSM_FIELD, context)
        per_date = self.parameterAsBool(parameters, self.PER_DATE, context)
        s = samples.read_samples(self, parameters, self.SAMPLES, context, [f_x, f_y])
        samples.check_field(self, s, self.PREDICTOR_FIELD, f_x, "sigma0_db")
        samples.check_field(self, s, self.SSM_FIELD, f_y, "soil_moisture", percent_ok=True)
        src = self._raster(parameters, context)       # every check before any output exists
        fits = regression.regress(s.date, s[f_x], s[f_y], per_date=per_date)
        lines = self._lines(src, dict(fits), per_date, feedback) if src else None
        rows = []
        for d, f in fits:
            if isinstance(f, dict):
                rows.append([d, f["slope"], f["intercept"], f["r2"], f["rmse"], f["n"], ""])
                feedback.pushInfo(self.tr("{0}: SM = {1:.4g}·σ° + {2:.4g}; R² {3:.3f}, RMSE {4:.4f}, N {5}").format(
                    d, f["slope"], f["intercept"], f["r2"], f["rmse"], f["n"]))
            else:
                rows.append([d, np.nan, np.nan, np.nan, np.nan, 0, f])
                feedback.pushWarning(self.tr("{0}: no line ({1}).").format(d, f))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS, rows)
        path = self.parameterAsFileOutput(parameters, self.OUTPUT_PARAMS, context)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"model": "SM = slope·σ° + intercept (ordinary least squares)", "predictor_field": f_x,
                       "ssm_field": f_y, "per_date": per_date,
                       "lines": {d: f for d, f in fits if isinstance(f, dict)}}, fh, indent=1)
        results = {self.OUTPUT_PARAMS: path, self.OUTPUT_TABLE: table}
        if src:
            unit = "m³/m³" if quantities.range_problem(s[f_y], "soil_moisture") is None else "%"
            results[self.OUTPUT], results[self.CLIPPED] = self._map(src, lines, parameters, context, feedback, unit)
        return results

    def _raster(self, parameters, context):
        """The σ° stack to map, checked (dated, in dB, with data), or None when no map is asked for."""
        if not parameters.get(self.OUTPUT):
            return None
        if not parameters.get(self.RASTER):
            raise self.error(f"a soil moisture map needs {self.label(self.RASTER)}.")
        src = inputs.raster_path(self, parameters, self.RASTER, context)
        checks.stack_dates(self, src, self.RASTER, min_dates=1)
        checks.require_valid(self, src, self.RASTER)
        checks.units(self, src, "db", name=self.RASTER)
        return src

    def _lines(self, src, fits, per_date, feedback):
        """The fitted line of each date of ``src`` (None where there is none, each such date said in the log), or
        a refusal when no date has one."""
        dates = checks.stack_dates(self, src, self.RASTER, min_dates=1)
        lines = regression.lines_for_dates(fits, dates, per_date=per_date)
        if not any(lines):
            raise self.error(f"no date of {self.label(self.RASTER)} ({', '.join(dates[:5])}) has a fitted line: the "
                             "samples' dates differ from the raster's, or no date has 3 samples. Switch off "
                             f"{self.label(self.PER_DATE)} or give the matching stack.")
        missing = [(i + 1, d) for i, (d, f) in enumerate(zip(dates, lines)) if f is None]
        for band, d in missing:
            why = fits.get(d, "no sample on this date")
            feedback.pushWarning(self.tr("map band {0} ({1}) is NaN: no line was fitted for this date ({2}).").format(
                band, d, why))
        if missing:
            feedback.pushWarning(self.tr("{0} of {1} map bands are NaN (dates without a fitted line, listed above); "
                                         "switch off {2} to map every date with one line.").format(
                len(missing), len(dates), self.label(self.PER_DATE)))
        return lines

    def _map(self, src, lines, parameters, context, feedback, unit):
        dates = checks.stack_dates(self, src, self.RASTER, min_dates=1)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        series = self.series_options(parameters, context)
        res = regression.regression_map_file(src, out, lines, dates=dates, series=series, percent=unit == "%",
                                             options=self.run_options(
            parameters, context, feedback, empty_hint=self.tr("the σ° stack has no valid pixel on the dates with a "
                                                              "fitted line.")))
        clipped = self.report_clipped(feedback, res, series.porosity, unit=unit)
        empty = [b for b in res.get("empty_bands", []) if lines[b - 1] is not None]
        if empty:
            feedback.pushWarning(self.tr("map band(s) {0} are NaN although their date has a line: {1} has no valid "
                                         "pixel on {2}.").format(", ".join(map(str, empty)), self.label(self.RASTER),
                                                                 ", ".join(dates[b - 1] for b in empty)))
        nan = sum(f is None for f in lines)    # said in the layer name too: a map with NaN dates is no full map
        style_on_load(context, out, ramp=SSM_RAMP, name=names.layer_name(
            self.tr("Soil moisture"), "regression", names.input_details(src)[1],
            self.tr("{0} of {1} dates without a line").format(nan, len(lines)) if nan else ""), force_name=bool(nan))
        return out, clipped
