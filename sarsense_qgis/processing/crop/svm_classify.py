"""sarsense:svmclassify — supervised SVM classification of a dated stack, split by polygon, with a held-out report."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.crop import svm as _svm
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs
from .base import CropAlgorithm


class SvmClassifyAlgorithm(CropAlgorithm):
    INPUT, TRAINING, CLASS_FIELD, KERNEL, GAMMA, C, DEGREE, STANDARDISE = (
        "INPUT", "TRAINING", "CLASS_FIELD", "KERNEL", "GAMMA", "C", "DEGREE", "STANDARDISE")
    TRAIN_FRACTION, SPLIT, SEED, MAX_TRAINING = "TRAIN_FRACTION", "SPLIT", "SEED", "MAX_TRAINING"
    OUTPUT, OUTPUT_MODEL, OUTPUT_REPORT, OA, KAPPA = "OUTPUT", "OUTPUT_MODEL", "OUTPUT_REPORT", "OA", "KAPPA"
    requires = ("sklearn",)

    def name(self):
        return "svmclassify"

    def displayName(self):
        return self.tr("SVM classification")

    def tags(self):
        return self.tr("svm,support vector machine,classification,supervised,rice,crop,rbf,scikit-learn").split(",")

    def help_text(self):
        return self.tr(
            "Classifies a dated stack with a support vector machine trained on polygons or points (Liu et al. 2020, "
            "§3.2: RBF kernel, γ = 0.125, C = 100, 60 % of the samples for training, 40 % for validation). "
            "scikit-learn's SVC does the work; bands are standardised first (z-score from the training pixels) "
            "unless switched off.\n\nThe split is by polygon by default: all pixels of one field go to training "
            "or to validation, never both, because neighbouring pixels of one field are nearly identical and a "
            "pixel split counts them as independent, which inflates the accuracy. The report gives the held-out "
            "confusion matrix, OA, kappa, PA, UA and F1, and for comparison the figures of the other split. The "
            "map is made by the model trained on the training part (the one the report assesses), block by "
            "block. The model file (.npz: training samples, parameters, dates; no code) classifies another "
            "stack of the same dates with 'Apply saved SVM model'.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated stack")),
                 "One band per date (e.g. NDVH and NDVV stacked), ISO dates in the band descriptions.")
        self.add_labelled_layer(self.TRAINING, "Training areas", self.CLASS_FIELD, "Class field",
                                "Integer codes 0-254 are kept as the map's values; text classes are coded 1, 2 … in "
                                "sorted order.")
        self.add(QgsProcessingParameterEnum(self.KERNEL, self.tr("Kernel"), options=list(_svm.KERNELS),
                                            defaultValue=0), "SVM kernel; the paper uses RBF.")
        self.add(QgsProcessingParameterNumber(self.GAMMA, self.tr("Gamma"), type=QgsProcessingParameterNumber.Double,
                                              defaultValue=0.125, minValue=1e-9),
                 "Kernel coefficient γ of the RBF and polynomial kernels (paper: 0.125).", decimals=4)
        self.add(QgsProcessingParameterNumber(self.C, self.tr("Penalty C"), type=QgsProcessingParameterNumber.Double,
                                              defaultValue=100.0, minValue=1e-9),
                 "Cost of a misclassified training pixel (paper: 100).", decimals=3)
        self.add(QgsProcessingParameterNumber(self.DEGREE, self.tr("Polynomial degree"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=3, minValue=1,
                                              maxValue=10), "Degree of the polynomial kernel.", advanced=True)
        self.add(QgsProcessingParameterBoolean(self.STANDARDISE, self.tr("Standardise bands"), defaultValue=True),
                 "Scale every band to zero mean and unit variance over the training pixels before the SVM.")
        self.add(QgsProcessingParameterNumber(self.TRAIN_FRACTION, self.tr("Training fraction"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.6,
                                              minValue=0.05, maxValue=0.95),
                 "Share of each class's polygons (or pixels) used for training; the rest validates.", decimals=2)
        self.add(QgsProcessingParameterEnum(self.SPLIT, self.tr("Split"), options=["By polygon", "By pixel"],
                                            defaultValue=0),
                 "By polygon (default) keeps each field on one side; by pixel overstates accuracy.")
        self.add(QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=0),
                 "Seed of the split and of the training subsample: the same seed gives the same map.")
        self.add(QgsProcessingParameterNumber(self.MAX_TRAINING, self.tr("Training pixels per class (0 = all)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=2000,
                                              minValue=0),
                 "At most this many training pixels per class, drawn at random (SVM training time grows with "
                 "the square of the samples; validation always uses every held-out pixel).", advanced=True)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Class map")),
                 "uint8 GeoTIFF, 255 = nodata, with the class names and colours stored in the file.")
        self.add(QgsProcessingParameterFileDestination(self.OUTPUT_MODEL, self.tr("SVM model file"),
                                                       fileFilter="SARSense SVM model (*.npz)", optional=True),
                 "Reusable with 'Apply saved SVM model' on a stack of the same dates.")
        self.add_html_output(self.OUTPUT_REPORT, "Accuracy report",
                             "HTML: held-out confusion matrix, OA, kappa, PA/UA/F1, pixel-split comparison.")
        self.addOutput(QgsProcessingOutputNumber(self.OA, self.tr("Overall accuracy (held out)")))
        self.addOutput(QgsProcessingOutputNumber(self.KAPPA, self.tr("Kappa (held out)")))

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        self.check_features(src, self.INPUT)
        params = {"kernel": _svm.KERNELS[self.parameterAsEnum(parameters, self.KERNEL, context)],
                  "gamma": self.parameterAsDouble(parameters, self.GAMMA, context),
                  "c": self.parameterAsDouble(parameters, self.C, context),
                  "degree": self.parameterAsInt(parameters, self.DEGREE, context),
                  "standardise": self.parameterAsBool(parameters, self.STANDARDISE, context)}
        split = _svm.SPLITS[self.parameterAsEnum(parameters, self.SPLIT, context)]
        options = self.run_options(parameters, context, feedback, empty_hint=self.gaps_hint(self.INPUT))
        s = self.labelled_samples(parameters, self.TRAINING, self.CLASS_FIELD, src, context, feedback,
                                  options=options.part(0.0, 0.25))
        if s.incomplete:
            feedback.pushWarning(self.tr("{0} training pixels have NaN on some date and were left out.").format(
                s.incomplete))
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        res = _svm.svm_classify_file(
            src, out, s, dates=dates, params=params,
            fraction=self.parameterAsDouble(parameters, self.TRAIN_FRACTION, context), split=split,
            seed=self.parameterAsInt(parameters, self.SEED, context),
            max_training=self.parameterAsInt(parameters, self.MAX_TRAINING, context),
            model_path=self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context) or None,
            report_path=report, options=options)
        self._log(feedback, res, split)
        style_on_load(context, out, ClassMapPostProcessor)
        results = {self.OUTPUT: out, self.OA: res["oa"], self.KAPPA: res["kappa"], self.OUTPUT_REPORT: report}
        if res["model"]:
            results[self.OUTPUT_MODEL] = res["model"]
        return results

    def _log(self, feedback, res, split):
        for how, n in res["training"].items():
            feedback.pushInfo(self.tr("Training the SVM on {0} pixels (split by {1}) …").format(n, how))
        if res["unassessed"]:
            feedback.pushWarning(self.tr("No held-out pixel for class(es) {0} (one polygon only, all used for "
                                         "training): their accuracy is not assessed. Add polygons.").format(
                ", ".join(res["unassessed"])))
        feedback.pushInfo(self.tr("Held-out accuracy (split by {0}): OA {1:.2f} %, kappa {2:.4f}").format(
            split, 100 * res["oa"], res["kappa"]))
        other = res["other"]
        if other:
            feedback.pushInfo(self.tr("For comparison, split by {0}: OA {1:.2f} %, kappa {2:.4f}").format(
                "pixel" if split == "polygon" else "polygon", 100 * other["oa"], other["kappa"]))
