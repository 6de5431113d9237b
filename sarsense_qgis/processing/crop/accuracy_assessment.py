"""sarsense:accuracyassessment — confusion matrix, OA, kappa, PA/UA/F1 and the Olofsson area estimate of a class map."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....algorithms.crop import accuracy as _acc
from ....algorithms.io import read_info
from ....algorithms.io.raster import read_class_table
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from .base import CLASS_MAP_HINT, CropAlgorithm


class AccuracyAssessmentAlgorithm(CropAlgorithm):
    CLASSIFIED, REFERENCE, CLASS_FIELD, REPORTED_AREA_HA = "CLASSIFIED", "REFERENCE", "CLASS_FIELD", "REPORTED_AREA_HA"
    OUTPUT_TABLE, OUTPUT_HTML, OA, KAPPA = "OUTPUT_TABLE", "OUTPUT_HTML", "OA", "KAPPA"

    def name(self):
        return "accuracyassessment"

    def displayName(self):
        return self.tr("Accuracy assessment and area estimate")

    def tags(self):
        return self.tr("accuracy,confusion,kappa,overall,producer,user,f1,area,olofsson,validation,rice").split(",")

    def help_text(self):
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
            "pixels of one reference polygon are not independent, so the interval is too narrow: the log and the "
            "report warn with the pixel and feature counts.\n\nThe reference must "
            "hold samples of every class the map shows, and samples inside every mapped class: reference polygons "
            "of rice alone cannot tell how much rice the map missed or invented, so they are refused with the "
            "class to add. A mapped class with one reference pixel gets no confidence interval (a warning).")

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
        checks.class_map(self, src, self.CLASSIFIED, hint=CLASS_MAP_HINT)
        checks.require_valid(self, src, self.CLASSIFIED)
        info = read_info(src)
        if not info.pixel_area_m2:
            raise self.error(f"{self.label(self.CLASSIFIED)} is in a geographic CRS (degrees) or has none: pixel "
                             "areas in hectares need a projected CRS. Warp the map to a UTM or equal-area CRS "
                             "(Raster ▸ Projections ▸ Warp, nearest neighbour) and run again.")
        classes = {int(c["value"]): str(c["name"]) for c in read_class_table(src)}
        options = self.run_options(parameters, context, feedback)
        s = self.labelled_samples(parameters, self.REFERENCE, self.CLASS_FIELD, src, context, feedback,
                                  options=options.part(0.0, 0.4), class_names=classes, match_names=True)
        if s.incomplete:
            feedback.pushWarning(self.tr("{0} reference pixels fall on nodata of the map and were left out.").format(
                s.incomplete))
        if len(s.y) == 0:
            raise self.error(f"no reference sample falls on a mapped pixel of {self.label(self.CLASSIFIED)}.")
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        res = _acc.accuracy_assessment(src, s, pixel_area_m2=info.pixel_area_m2, class_names=classes,
                                       reported=self.parameterAsString(parameters, self.REPORTED_AREA_HA, context),
                                       reported_label=self.label(self.REPORTED_AREA_HA), report_path=html,
                                       reference_label=self.label(self.REFERENCE),
                                       field_name=self.parameterAsString(parameters, self.CLASS_FIELD, context),
                                       options=options.part(0.4, 0.9))
        for text in res["warnings"]:
            feedback.pushWarning(self.tr("Warning: {0} (also in the report).").format(text))
        feedback.pushInfo(self.tr("Overall accuracy {0:.2f} %, kappa {1:.4f} ({2} reference pixels from {3} "
                                  "features)").format(100 * res["oa"], res["kappa"], res["n"], s.n_geometries))
        for r in res["rows"]:
            reported = (self.tr(", reported {0:.1f} ha (mapped {1:+.2f} %)").format(r[13], 100 * r[14])
                        if np.isfinite(r[13]) else "")
            ci = self.tr("± {0:.1f} ha (95 %)").format(r[10]) if np.isfinite(r[10]) else self.tr("(no interval)")
            feedback.pushInfo(self.tr("{0}: PA {1}, UA {2}; mapped {3:.1f} ha, estimated {4:.1f} {5}{6}").format(
                r[1], _acc.percent(r[5]), _acc.percent(r[6]), r[3], r[8], ci, reported))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, _acc.COLUMNS, res["rows"])
        reference = self.parameterAsVectorLayer(parameters, self.REFERENCE, context)
        where = reference.name() if reference is not None else self.label(self.REFERENCE)
        style_on_load(context, table, name=names.layer_name(self.tr("Accuracy and area"),
                                                            self.tr("reference: {0}").format(where)))
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.OA: res["oa"], self.KAPPA: res["kappa"]}
