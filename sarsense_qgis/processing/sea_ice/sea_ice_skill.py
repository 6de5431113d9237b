"""sarsense:seaiceskill — R², class-weighted F1, accuracy and the confusion matrix of a SIC chart against a
reference."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterRasterLayer

from ....algorithms import report as _report
from ....algorithms.io import read_info
from ....algorithms.io import stack as _stack
from ....algorithms.sea_ice import pipeline
from ....algorithms.sea_ice.classes import N_SIC_CLASSES, SIC_PERCENT
from .. import inputs, outputs
from .base import SeaIceAlgorithm

COLUMNS = ([("code", int), ("class", str), ("sic_percent", int), ("reference_px", int), ("mapped_px", int),
            ("PA_recall", float), ("UA_precision", float), ("F1", float)] +
           [(f"ref_{k}", int) for k in range(N_SIC_CLASSES)])


class SeaIceSkillAlgorithm(SeaIceAlgorithm):
    PREDICTED, REFERENCE, OUTPUT_TABLE, OUTPUT_HTML, R2, F1_WEIGHTED, ACCURACY = (
        "PREDICTED", "REFERENCE", "OUTPUT_TABLE", "OUTPUT_HTML", "R2", "F1_WEIGHTED", "ACCURACY")

    def name(self):
        return "seaiceskill"

    def displayName(self):
        return self.tr("Sea-ice chart skill (R², F1)")

    def tags(self):
        return self.tr("sea ice,skill,r2,r-squared,f1,weighted f1,accuracy,confusion,autoice,validation").split(",")

    def shortHelpString(self):
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

    def _classes_only(self, path, name):
        info = read_info(path)
        if info.band_count != 1:
            raise self.error(f"{self.label(name)} has {info.band_count} bands; a SIC chart has one (classes 0–10).")

    def process(self, parameters, context, feedback):
        pred = inputs.raster_path(self, parameters, self.PREDICTED, context)
        ref = inputs.raster_path(self, parameters, self.REFERENCE, context)
        for path, name in ((pred, self.PREDICTED), (ref, self.REFERENCE)):
            self._classes_only(path, name)
        ref_grid, _ = _stack.on_grid(ref, pred, resampling="mode", label=self.label(self.REFERENCE),
                                     ref_label=self.label(self.PREDICTED))
        if ref_grid != ref:
            self.virtual.append(ref_grid)
            feedback.pushInfo(self.tr("The reference is on another grid: put on the chart's grid (majority)."))
        m = pipeline.skill_counts(pred, ref_grid, **self.callbacks(feedback))
        s = pipeline.skill(m)
        feedback.pushInfo(self.tr(f"R² {s['r2']:.4f}, class-weighted F1 {s['f1_weighted']:.4f}, accuracy "
                                  f"{s['accuracy']:.4f} over {s['n']} pixels valid in both charts."))
        rows = [[k, s["names"][k], SIC_PERCENT[k], int(s["support"][k]), int(m[k].sum()), s["pa"][k], s["ua"][k],
                 s["f1"][k]] + [int(v) for v in m[k]] for k in range(N_SIC_CLASSES)]
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS, rows)
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        self._report(html, pred, ref, s)
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.R2: s["r2"], self.F1_WEIGHTED: s["f1_weighted"],
                self.ACCURACY: s["accuracy"]}

    def _report(self, path, pred, ref, s):
        rep = _report.Report("Sea-ice chart skill",
                             source=f"Predicted: {pred}. Reference: {ref}. {s['n']} pixels hold a SIC class in both.")
        rep.paragraph(f"R² of SIC (Stokholm et al. 2022, eq. 7) {s['r2']:.4f}; class-weighted F1 (AutoICE) "
                      f"{s['f1_weighted']:.4f}; accuracy {s['accuracy']:.4f}.")
        rep.heading("Confusion matrix (rows: predicted, columns: reference)")
        short = [f"{p} %" for p in SIC_PERCENT]
        acc = {"ua": s["ua"], "pa": s["pa"], "oa": s["accuracy"]}
        rep.confusion_table(s["matrix"], short, acc)
        rep.image(_report.confusion_figure(s["matrix"], short), "Confusion matrix (pixels)")
        rep.heading("Per class")
        rep.table(["class", "reference px", "mapped px", "recall (PA)", "precision (UA)", "F1"],
                  [[s["names"][k], int(s["support"][k]), int(s["matrix"][k].sum()), s["pa"][k], s["ua"][k], s["f1"][k]]
                   for k in range(N_SIC_CLASSES)], digits=3)
        rep.paragraph("R² uses each class's concentration (0, 10, … 100 %); F1 of a class with reference pixels but no "
                      "correct prediction is 0, and classes without reference pixels weigh nothing in the weighted F1.")
        rep.write(path)
