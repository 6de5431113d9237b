"""sarsense:accuracyassessment — confusion matrix, OA, kappa, PA/UA/F1 and the Olofsson area estimate of a class map."""

from __future__ import annotations

import re

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....algorithms import metrics
from ....algorithms import report as _report
from ....algorithms.crop import accuracy as _acc
from ....algorithms.io import read_info
from ....algorithms.io import vector as _vector
from ....algorithms.io.raster import read_class_table
from .. import inputs, outputs
from ..base import WORKERS
from .base import CropAlgorithm

COLUMNS = [("code", int), ("class", str), ("mapped_px", int), ("mapped_ha", float), ("reference_n", int),
           ("PA", float), ("UA", float), ("F1", float), ("estimated_ha", float), ("se_ha", float),
           ("ci95_ha", float), ("ci95_low_ha", float), ("ci95_high_ha", float), ("reported_ha", float),
           ("rel_error_mapped", float), ("rel_error_estimated", float)]


class AccuracyAssessmentAlgorithm(CropAlgorithm):
    CLASSIFIED, REFERENCE, CLASS_FIELD, REPORTED_AREA_HA = "CLASSIFIED", "REFERENCE", "CLASS_FIELD", "REPORTED_AREA_HA"
    OUTPUT_TABLE, OUTPUT_HTML, OA, KAPPA = "OUTPUT_TABLE", "OUTPUT_HTML", "OA", "KAPPA"

    def name(self):
        return "accuracyassessment"

    def displayName(self):
        return self.tr("Accuracy assessment and area estimate")

    def tags(self):
        return self.tr("accuracy,confusion,kappa,overall,producer,user,f1,area,olofsson,validation,rice").split(",")

    def shortHelpString(self):
        return self.tr(
            "Assesses a class map against reference points or polygons: the confusion matrix (rows map, columns "
            "reference), overall accuracy, Cohen's kappa, and per class producer's and user's accuracy and F1, as in "
            "Liu et al. (2020, table 4). Each class's mapped area (pixels × pixel area, in ha; a projected CRS is "
            "needed) and its area estimated by the stratified estimator of Olofsson et al. (2014) with a 95 % "
            "confidence interval, which corrects the mapped area by the errors the reference samples show. Given "
            "official figures (Reported areas, e.g. 'rice=11500' or '1=11500'), the relative error of the mapped and "
            "the estimated area against them.\n\nReference classes are the map's codes (integers) or its class "
            "names (text, matched to the names stored in the map). Polygons contribute every pixel whose centre they "
            "hold, points the pixel under them. The estimator assumes a random sample stratified by map class; "
            "pixels of one reference polygon are not independent, which the report says.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.CLASSIFIED, self.tr("Class map")),
                 "An integer class map (e.g. from 'SVM classification' or 'Paddy rice by phenology thresholds'), "
                 "in a projected CRS.")
        self.add_labelled_layer(self.REFERENCE, "Reference samples", self.CLASS_FIELD, "Reference class field",
                                "The map's class code (integer) or class name (text).",
                                what="with the true class, independent of the training data")
        self.add(QgsProcessingParameterString(self.REPORTED_AREA_HA, self.tr("Reported areas (ha)"), optional=True),
                 "Official areas to compare with, as 'class=ha' pairs separated by commas (class by code or name).")
        self.add_table_output(self.OUTPUT_TABLE, "Accuracy and area table",
                              "One row per class: mapped area, PA, UA, F1, estimated area with its 95 % interval, "
                              "reported area and relative errors.")
        self.add_html_output(self.OUTPUT_HTML, "Accuracy report", "HTML: confusion matrix, accuracies and areas.")
        self.addOutput(QgsProcessingOutputNumber(self.OA, self.tr("Overall accuracy")))
        self.addOutput(QgsProcessingOutputNumber(self.KAPPA, self.tr("Kappa")))

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.CLASSIFIED, context)
        info = read_info(src)
        if not info.pixel_area_m2:
            raise self.error(f"{self.label(self.CLASSIFIED)} is in a geographic CRS (degrees) or has none: pixel "
                             "areas in hectares need a projected CRS. Warp the map to a UTM or equal-area CRS "
                             "(Raster ▸ Projections ▸ Warp, nearest neighbour) and run again.")
        names = {int(c["value"]): str(c["name"]) for c in read_class_table(src)}
        counts = _vector.value_counts(src, workers=WORKERS, **self.callbacks(feedback, 0.0, 0.5))
        s = self.labelled_samples(parameters, self.REFERENCE, self.CLASS_FIELD, src, context, feedback, start=0.5,
                                  end=0.9, class_names=names, match_names=True)
        if s.incomplete:
            feedback.pushWarning(self.tr(f"{s.incomplete} reference pixels fall on nodata of the map and were left "
                                         "out."))
        if len(s.y) == 0:
            raise self.error(f"no reference sample falls on a mapped pixel of {self.label(self.CLASSIFIED)}.")
        mapped = s.x[:, 0].astype(np.int64)
        classes = sorted(set(np.flatnonzero(counts).tolist()) | set(np.unique(s.y).tolist()))
        label = {c: names.get(c, s.names.get(c, str(c))) for c in classes}
        m = metrics.confusion_matrix(s.y, mapped, classes)
        acc = metrics.sample_accuracy(m)
        ha = counts[classes] * info.pixel_area_m2 / 1e4
        try:
            est = _acc.stratified_area(m, ha)
        except ValueError as err:
            feedback.pushWarning(self.tr(f"No area estimate: {err}."))
            nan = np.full(len(classes), np.nan)
            est = {"area": nan, "se": nan, "ci": nan, "oa": float("nan"), "ua": nan, "pa": nan}
        reported = self._reported(parameters, context, label)
        rows = []
        for i, c in enumerate(classes):
            rep = reported.get(c, float("nan"))
            with np.errstate(invalid="ignore", divide="ignore"):
                rows.append([c, label[c], int(counts[c]), ha[i], int(m[:, i].sum()), acc["pa"][i], acc["ua"][i],
                             acc["f1"][i], est["area"][i], est["se"][i], est["ci"][i], est["area"][i] - est["ci"][i],
                             est["area"][i] + est["ci"][i], rep, (ha[i] - rep) / rep, (est["area"][i] - rep) / rep])
        feedback.pushInfo(self.tr(f"Overall accuracy {100 * acc['oa']:.2f} %, kappa {acc['kappa']:.4f} "
                                  f"({acc['n']} reference pixels from {s.n_geometries} features)"))
        for r in rows:
            feedback.pushInfo(self.tr(f"{r[1]}: PA {_pct(r[5])}, UA {_pct(r[6])}; mapped {r[3]:.1f} ha, estimated "
                                      f"{r[8]:.1f} ± {r[10]:.1f} ha (95 %)" +
                                      (f", reported {r[13]:.1f} ha (mapped {100 * r[14]:+.2f} %)"
                                       if np.isfinite(r[13]) else "")))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS, rows)
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        self._report(html, src, s, m, acc, est, rows, [label[c] for c in classes])
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.OA: acc["oa"], self.KAPPA: acc["kappa"]}

    def _reported(self, parameters, context, label):
        """``{code: ha}`` from 'class=ha, …' (class by code or name); a malformed or unknown entry is refused."""
        text = self.parameterAsString(parameters, self.REPORTED_AREA_HA, context).strip()
        out = {}
        if not text:
            return out
        by_name = {str(n).lower(): c for c, n in label.items()}
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = re.fullmatch(r"(.+?)\s*=\s*([0-9.eE+]+)", part)
            if not m:
                raise self.error(f"{self.label(self.REPORTED_AREA_HA)}: '{part}' is not 'class=hectares' "
                                 "(e.g. rice=11500).")
            key, value = m.group(1).strip(), float(m.group(2))
            code = int(key) if key.isdigit() else by_name.get(key.lower())
            if code not in label:
                raise self.error(f"{self.label(self.REPORTED_AREA_HA)}: '{key}' is not a class of the map "
                                 f"({', '.join(f'{c}={n}' for c, n in label.items())}).")
            if not value > 0:
                raise self.error(f"{self.label(self.REPORTED_AREA_HA)}: the area of '{key}' must be positive.")
            out[code] = value
        return out

    def _report(self, path, src, s, m, acc, est, rows, names):
        rep = _report.Report("Accuracy assessment and area estimate",
                             source=f"Map: {src}. Reference: {s.n_geometries} features, {acc['n']} pixels.")
        rep.paragraph(f"Overall accuracy {100 * acc['oa']:.2f} %, kappa {acc['kappa']:.4f}. Area-weighted overall "
                      f"accuracy (Olofsson et al. 2014, eq. 1) {_pct(est['oa'])}.")
        rep.heading("Confusion matrix")
        rep.confusion_table(m, names, acc)
        rep.image(_report.confusion_figure(m, names), "Confusion matrix (reference pixels)")
        rep.heading("Accuracy and area per class")
        rep.table([c for c, _ in COLUMNS[1:]], [r[1:] for r in rows], digits=3)
        rep.paragraph("Estimated area: stratified estimator of Olofsson et al. (2014, eq. 9-11) with the map classes "
                      "as strata; ± is the 95 % confidence interval (1.96 standard errors). It assumes the reference "
                      "is a random sample stratified by map class: pixels of one reference polygon are correlated, so "
                      "with polygons the interval is too narrow. Relative error = (area − reported)/reported.",
                      note=True)
        rep.write(path)


def _pct(v):
    return f"{100 * v:.2f} %" if np.isfinite(v) else "n/a"
