"""sarsense:seaiceskill — R², class-weighted F1, accuracy and the confusion matrix of a SIC chart against a
reference."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterRasterLayer

from ....algorithms.sea_ice import pipeline
from .. import checks, inputs, outputs
from .base import SeaIceAlgorithm


class SeaIceSkillAlgorithm(SeaIceAlgorithm):
    PREDICTED, REFERENCE, OUTPUT_TABLE, OUTPUT_HTML, R2, F1_WEIGHTED, ACCURACY = (
        "PREDICTED", "REFERENCE", "OUTPUT_TABLE", "OUTPUT_HTML", "R2", "F1_WEIGHTED", "ACCURACY")

    def name(self):
        return "seaiceskill"

    def displayName(self):
        return self.tr("Sea-ice chart skill (R², F1)")

    def tags(self):
        return self.tr("sea ice,skill,r2,r-squared,f1,weighted f1,accuracy,confusion,autoice,validation").split(",")

    def help_text(self):
        return self.tr(
            "Scores a SIC class chart (e.g. from 'Sea-ice concentration chart') against a reference chart (e.g. from "
            "'Ice chart to SIC classes'), over the pixels that hold a class 0–10 in both:\n"
            "• R² of the concentrations in % (Stokholm et al. 2022, eq. 7): 1 − Σ(true − predicted)² / Σ(true − "
            "mean true)², which rewards predicting 70 % for 80 % over predicting 0 %;\n"
            "• the class-weighted F1 the AutoICE challenge scores (each class's F1 weighted by its reference "
            "pixels; scikit-learn's f1_score(average='weighted'));\n"
            "• accuracy, and per class recall (PA), precision (UA), F1 and the confusion matrix.\n"
            "R2, F1_WEIGHTED and ACCURACY are also outputs for the Modeler. A reference on another grid is put on "
            "the chart's grid first (majority of the reference pixels in each chart pixel). The scene is read block "
            "by block: any size fits in memory.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.PREDICTED, self.tr("Predicted SIC chart")),
                 "SIC classes 0–10 (255 = no data), e.g. the output of 'Sea-ice concentration chart'.")
        self.add(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Reference SIC chart")),
                 "SIC classes 0–10 (255 = no data), e.g. an analyst's chart through 'Ice chart to SIC classes'.")
        self.add_table_output(self.OUTPUT_TABLE, "Skill per class",
                              "One row per SIC class: reference and mapped pixels, recall, precision, F1, and its row "
                              "of the confusion matrix (ref_0 … ref_10: pixels of that reference class mapped as it).")
        self.add_html_output(self.OUTPUT_HTML, "Skill report", "HTML: R², weighted F1, accuracy, confusion matrix "
                                                                "(table and plot), per-class figures.")
        self.addOutput(QgsProcessingOutputNumber(self.R2, self.tr("R² of SIC (%)")))
        self.addOutput(QgsProcessingOutputNumber(self.F1_WEIGHTED, self.tr("Class-weighted F1")))
        self.addOutput(QgsProcessingOutputNumber(self.ACCURACY, self.tr("Accuracy")))

    def process(self, parameters, context, feedback):
        pred = inputs.raster_path(self, parameters, self.PREDICTED, context)
        ref = inputs.raster_path(self, parameters, self.REFERENCE, context)
        for path, name in ((pred, self.PREDICTED), (ref, self.REFERENCE)):
            pipeline.check_class_chart(path, self.label(name))
            checks.class_map(self, path, name, hint=pipeline.CLASS_CHART_FIX + ".")
            checks.require_valid(self, path, name)
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        s = pipeline.skill_file(pred, ref, html, predicted_label=self.label(self.PREDICTED),
                                reference_label=self.label(self.REFERENCE),
                                options=self.run_options(parameters, context, feedback))
        if s["regridded"]:
            feedback.pushInfo(self.tr("The reference is on another grid: put on the chart's grid (majority)."))
        if s["demonstration"]:
            feedback.pushWarning(s["demonstration"])
        feedback.pushInfo(self.tr("R² {0:.4f}, class-weighted F1 {1:.4f}, accuracy {2:.4f} over {3} pixels valid in "
                                  "both charts.").format(s["r2"], s["f1_weighted"], s["accuracy"], s["n"]))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, pipeline.SKILL_COLUMNS, s["rows"])
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.R2: s["r2"], self.F1_WEIGHTED: s["f1_weighted"],
                self.ACCURACY: s["accuracy"]}
