"""sarsense:separability — Jeffries-Matusita separability of training classes, per date and over all dates."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....algorithms.crop import separability as _sep
from .. import checks, inputs, outputs
from .base import CropAlgorithm

COLUMNS = [("class_a", str), ("class_b", str), ("date", str), ("n_a", int), ("n_b", int), ("B", float),
           ("JM", float), ("separable", bool), ("ridge", float)]


class SeparabilityAlgorithm(CropAlgorithm):
    INPUT, TRAINING, CLASS_FIELD, TARGET_CLASS, REGULARISATION, OUTPUT_TABLE, OUTPUT_HTML = (
        "INPUT", "TRAINING", "CLASS_FIELD", "TARGET_CLASS", "REGULARISATION", "OUTPUT_TABLE", "OUTPUT_HTML")

    def name(self):
        return "separability"

    def displayName(self):
        return self.tr("Class separability (Jeffries-Matusita)")

    def tags(self):
        return self.tr("jeffries,matusita,jm,bhattacharyya,separability,training,rice,classes,stack").split(",")

    def help_text(self):
        return self.tr(
            "How well training classes separate in a dated stack, before classifying it (Liu et al. 2020, §3.1, "
            "tables 1-2). Each class is modelled as a Gaussian; B is the Bhattacharyya distance between two "
            "classes and JM = 2(1 − e^−B) the Jeffries-Matusita distance, from 0 (identical) to 2 (fully "
            "separable). JM above 1.8 counts as separable.\n\nComputed for every date alone (1-D) and for all "
            "dates together (full covariance; a small ridge, reported, keeps the inverse finite), for every class "
            "pair or for the target class against each other class. The table lists B and JM; the HTML report "
            "has a date × class-pair heat map and each class's mean profile with ±1σ bands.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated stack")),
                 "One band per date (NDVH, NDVV, backscatter …), ISO dates in the band descriptions.")
        self.add_labelled_layer(self.TRAINING, "Training areas", self.CLASS_FIELD, "Class field",
                                "The class of each training feature (text or integer).")
        self.add(QgsProcessingParameterString(self.TARGET_CLASS, self.tr("Target class"), optional=True),
                 "Compare only this class with each other one (the paper: early rice); empty compares every pair.")
        self.add(QgsProcessingParameterNumber(self.REGULARISATION, self.tr("Covariance regularisation"),
                                              type=QgsProcessingParameterNumber.Double,
                                              defaultValue=_sep.DEFAULT_REGULARISATION, minValue=0.0),
                 "Ridge added to each class covariance, relative to its mean variance.", advanced=True, decimals=8)
        self.add_table_output(self.OUTPUT_TABLE, "Separability table",
                              "One row per class pair and date (or 'all dates'): B, JM, separable (JM > 1.8).")
        self.add_html_output(self.OUTPUT_HTML, "Separability report", "HTML: heat map and class profiles.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        self.check_features(src, self.INPUT)
        options = self.run_options(parameters, context, feedback)
        samples = self.labelled_samples(parameters, self.TRAINING, self.CLASS_FIELD, src, context, feedback,
                                        options=options.part(0.0, 0.8))
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        rows = _sep.class_separability(
            samples, dates, target=self.parameterAsString(parameters, self.TARGET_CLASS, context).strip() or None,
            regularisation=self.parameterAsDouble(parameters, self.REGULARISATION, context), report_path=html,
            source=src, target_label=self.label(self.TARGET_CLASS))
        for r in rows:
            if r["date"] == "all dates":
                feedback.pushInfo(self.tr("{0} / {1}, all dates: JM = {2:.3f} (B = {3:.3f}) {4}").format(
                    r["class_a"], r["class_b"], r["JM"], r["B"], "separable" if r["separable"] else "NOT separable"))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS,
                                    [[r[c] for c, _ in COLUMNS] for r in rows])
        feedback.setProgress(100)
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html}
