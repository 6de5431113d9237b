"""sarsense:rainresponse — does a soil-moisture series respond to rain? (issue #29: the check a user can repeat)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....algorithms.soil_moisture import rain_response as rr
from .. import checks, inputs, outputs
from .base import SoilMoistureAlgorithm

COLUMNS = [("from", str), ("to", str), ("ssm_from", float), ("ssm_to", float), ("d_ssm", float), ("rain_mm", float),
           ("wet_to", bool), ("dry_to", bool)]


class RainResponseAlgorithm(SoilMoistureAlgorithm):
    INPUT, RAIN, RAIN_COLUMN, AOI, MASK = "INPUT", "RAIN", "RAIN_COLUMN", "AOI", "MASK"
    WET_MM, WET_DAYS, DRY_DAYS = "WET_MM", "WET_DAYS", "DRY_DAYS"
    OUTPUT_TABLE, OUTPUT_HTML = "OUTPUT_TABLE", "OUTPUT_HTML"
    RHO, P_VALUE, WET_MINUS_DRY, N_PAIRS = "RHO", "P_VALUE", "WET_MINUS_DRY", "N_PAIRS"

    def name(self):
        return "rainresponse"

    def displayName(self):
        return self.tr("Check soil moisture against rain")

    def tags(self):
        return self.tr("soil moisture,ssm,rain,precipitation,check,validation,spearman,era5,time series").split(",")

    def help_text(self):
        return self.tr(
            "Checks a soil-moisture series against a daily rain record, without in-situ probes: soil moisture should "
            "rise after rain and fall in dry spells. Three numbers, of the area's median SSM:\n\n"
            "RHO: Spearman's rank correlation between the SSM change of consecutive acquisitions and the rain that "
            "fell between them (daily rain spread evenly over its UTC day; an acquisition's time of day is used "
            "where its band gives one, noon otherwise).\n"
            "WET_MINUS_DRY: mean SSM of the acquisitions after at least {0:g} mm of rain in the {1:g} days before "
            "them, minus mean SSM after {2} dry days (< {3:g} mm each), m³/m³ (the thresholds are parameters; "
            "these are their defaults).\n"
            "P_VALUE: the share of circular shifts of the rain series (≥ {4} days) that give a ρ at least as high: "
            "whether the timing of the rain matters. Read it with RHO: the report gives the median shifted ρ.\n\n"
            "On real Sentinel-1 series, change detection run one relative orbit at a time gave RHO 0.31-0.45 and "
            "WET_MINUS_DRY 0.043-0.057 m³/m³ at four agricultural sites; the same series pooled over two orbits "
            "gave RHO about −0.07. The table lists every pair; the HTML report draws the series and the test.").format(
            rr.RainCheck.wet_mm, rr.RainCheck.wet_days, rr.RainCheck.dry_days, rr.RainCheck.dry_day_mm,
            rr.RainCheck.min_shift_days)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Soil moisture stack (m³/m³)")),
                 "Dated SSM stack, one band per acquisition (e.g. 'Soil moisture by change detection').")
        self.add(QgsProcessingParameterFile(self.RAIN, self.tr("Daily rain (CSV)"),
                                            fileFilter="CSV files (*.csv *.txt)"),
                 "One row per day: a date column (named date, time or day, else the first; ISO dates, UTC days) and "
                 "the rain in mm. It must cover the acquisitions, from {0} days before the first, without gaps.",
                 help_args=(rr.RainCheck.dry_days,))
        self.add(QgsProcessingParameterString(self.RAIN_COLUMN, self.tr("Rain column (mm/day)"),
                                              defaultValue="rain_mm"),
                 "Name of the CSV column holding the daily rain in mm (e.g. rain_mm, tp_mm, precipitation).")
        self.add(QgsProcessingParameterFeatureSource(self.AOI, self.tr("Area (polygons)"),
                                                     types=[QgsProcessing.TypeVectorPolygon], optional=True),
                 "Only pixels inside these polygons make the area median (e.g. the fields of one crop). Default: "
                 "every pixel.")
        self.add(QgsProcessingParameterRasterLayer(self.MASK, self.tr("Area mask (1 = in the area)"), optional=True),
                 "A raster whose pixels above 0 make the area (e.g. a crop map's class), on any grid (nearest "
                 "neighbour onto the stack's). With polygons too, the area is where both say so.")
        for key, label, default, kind, text in (
                (self.WET_MM, "Rain that makes a wet acquisition (mm)", rr.RainCheck.wet_mm, "Double",
                 "An acquisition is 'after rain' with at least this much rain in the days before it."),
                (self.WET_DAYS, "Days before a wet acquisition", rr.RainCheck.wet_days, "Double",
                 "How far back the rain of a wet acquisition is summed."),
                (self.DRY_DAYS, "Dry days before a dry acquisition", rr.RainCheck.dry_days, "Integer",
                 "An acquisition is 'after a dry spell' when each of this many days before it had less than 1 mm.")):
            self.add(QgsProcessingParameterNumber(key, self.tr(label), type=getattr(QgsProcessingParameterNumber, kind),
                                                  defaultValue=default, minValue=1), text, advanced=True)
        self.add_table_output(self.OUTPUT_TABLE, "Pairs",
                              "One row per pair of consecutive acquisitions: times, SSM, ΔSSM, rain between them, "
                              "and whether the later one is wet or dry.")
        self.add_html_output(self.OUTPUT_HTML, "Rain-check report", "HTML with the numbers and their figures.")
        for name, label in ((self.RHO, "Spearman ρ of ΔSSM with rain"), (self.P_VALUE, "p-value (shifted rain)"),
                            (self.WET_MINUS_DRY, "Wet − dry SSM (m³/m³)"), (self.N_PAIRS, "Pairs")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def fix(self, about):
        """What to change when the check would be meaningless (:class:`~rr.RainCheckError`'s ``about``)."""
        return {"rain": self.tr("Give a daily rain series in mm that covers the acquisitions in {0} (column {1})."
                                ).format(self.label(self.RAIN), self.label(self.RAIN_COLUMN)),
                "pairs": self.tr("Give a longer soil-moisture series in {0}, or one with fewer NaN dates.").format(
                    self.label(self.INPUT)),
                "wet": self.tr("Lower {0} or raise {1}.").format(self.label(self.WET_MM), self.label(self.WET_DAYS)),
                "dry": self.tr("Lower {0}.").format(self.label(self.DRY_DAYS)),
                "area": self.tr("Give {0} or {1} that overlap {2} (and each other).").format(
                    self.label(self.AOI), self.label(self.MASK), self.label(self.INPUT))}[about]

    def area(self, parameters, context, feedback, src):
        """The area's masks on the grid of ``src`` (virtual): the polygons burned, the mask raster resampled."""
        masks = []
        if parameters.get(self.AOI):
            source = self.parameterAsSource(parameters, self.AOI, context)
            masks.append(inputs.burn_polygons(self, source, src, self.AOI, context))
        if parameters.get(self.MASK):
            path = inputs.raster_path(self, parameters, self.MASK, context)
            masks.append(inputs.on_grid(self, path, src, self.MASK, feedback, resampling="near"))
        return masks

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        checks.stack_dates(self, src, self.INPUT, min_dates=rr.RainCheck.min_pairs + 1)
        checks.require_valid(self, src, self.INPUT)
        checks.value_range(self, src, self.INPUT, "soil_moisture",
                           hint=self.tr("Give soil moisture in m³/m³ (percent / 100)."))
        rain = self.parameterAsFile(parameters, self.RAIN, context)
        column = self.parameterAsString(parameters, self.RAIN_COLUMN, context).strip()
        masks = self.area(parameters, context, feedback, src)
        check = rr.RainCheck(wet_mm=self.parameterAsDouble(parameters, self.WET_MM, context),
                             wet_days=self.parameterAsDouble(parameters, self.WET_DAYS, context),
                             dry_days=self.parameterAsInt(parameters, self.DRY_DAYS, context))
        try:
            result = rr.rain_response_file(src, rain, column=column, mask=masks, check=check)
        except rr.RainCheckError as err:
            raise self.error(f"{err}. {self.fix(err.about)}") from None
        if result["timed"] == 0:
            feedback.pushInfo(self.tr("No band of {0} gives a time of day: acquisitions are placed at noon UTC when "
                                      "the rain is split between them.").format(self.label(self.INPUT)))
        warning = rr.sampling_warning(result)
        if warning:
            feedback.pushWarning(self.tr("{0}: {1}.").format(self.label(self.INPUT), warning))
        simulated = rr.simulated(src)
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS, rr.pair_rows(result))
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        rr.write_report(result, html, check=check, simulated_data=simulated,
                        source=f"Soil moisture {src}; rain '{column}' of {rain}.")
        feedback.pushInfo(self.tr("{0}ρ = {1:+.3f} (p = {2:.3f}, shifted rain median {3:+.3f}), wet − dry = {4:+.4f} "
                                  "m³/m³ ({5} wet, {6} dry acquisitions), {7} pairs").format(
            "SIMULATED data: " if simulated else "", result["rho"], result["p_value"], result["null_median"],
            result["wet_minus_dry"], result["n_wet"], result["n_dry"], result["n_pairs"]))
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.RHO: result["rho"],
                self.P_VALUE: result["p_value"], self.WET_MINUS_DRY: result["wet_minus_dry"],
                self.N_PAIRS: result["n_pairs"]}
