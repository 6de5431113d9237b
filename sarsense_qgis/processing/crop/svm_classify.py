"""sarsense:svmclassify — supervised SVM classification of a dated stack, split by polygon, with a held-out report."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms import metrics as _metrics
from ....algorithms import report as _report
from ....algorithms.crop import svm as _svm
from ....algorithms.io import Cancelled, run_blockwise
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs
from ..base import WORKERS
from .base import CropAlgorithm, classes_json

SPLITS = ("polygon", "pixel")


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

    def shortHelpString(self):
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

    # -- shared with svmapply ------------------------------------------------------------
    def classify(self, model, names, src, parameters, context, feedback, *, start, metadata=None, check_x=None):
        """Write the class map of ``src`` by ``model`` to OUTPUT, block by block, styled with ``names``
        (``check_x``: samples on which the fast predictor is checked against scikit-learn's)."""
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        predictor = _svm.Predictor(model, check_x)
        run_blockwise(src, out, lambda block: _svm.predict_block(predictor, block), out_bands=1, out_dtype=np.uint8,
                      descriptions=["class"], band_metadata=[{"classes": classes_json(names)}], metadata=metadata,
                      bytes_per_pixel=24, compression=self.compression(parameters, context), workers=WORKERS,
                      **self.callbacks(feedback, start, 1.0))
        style_on_load(context, out, ClassMapPostProcessor)
        return out

    # -- run ---------------------------------------------------------------------------
    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        params = {"kernel": _svm.KERNELS[self.parameterAsEnum(parameters, self.KERNEL, context)],
                  "gamma": self.parameterAsDouble(parameters, self.GAMMA, context),
                  "c": self.parameterAsDouble(parameters, self.C, context),
                  "degree": self.parameterAsInt(parameters, self.DEGREE, context),
                  "standardise": self.parameterAsBool(parameters, self.STANDARDISE, context)}
        fraction = self.parameterAsDouble(parameters, self.TRAIN_FRACTION, context)
        split = SPLITS[self.parameterAsEnum(parameters, self.SPLIT, context)]
        seed = self.parameterAsInt(parameters, self.SEED, context)
        cap = self.parameterAsInt(parameters, self.MAX_TRAINING, context)
        s = self.labelled_samples(parameters, self.TRAINING, self.CLASS_FIELD, src, context, feedback, end=0.25)
        if s.incomplete:
            feedback.pushWarning(self.tr(f"{s.incomplete} training pixels have NaN on some date and were left out."))
        _svm.check_samples(s.x, s.y, s.names)
        classes = sorted(s.names)
        runs = {}
        for how in (split, "polygon" if split == "pixel" else "pixel"):
            split_train = _metrics.split_samples(s.y, s.group, fraction=fraction, by=how, seed=seed)
            held = ~split_train
            train = _subsample(split_train, s.y, cap, seed)
            feedback.pushInfo(self.tr(f"Training the SVM on {int(train.sum())} pixels (split by {how}) …"))
            if feedback.isCanceled():
                raise Cancelled()
            model = _svm.fit(s.x[train], s.y[train], **params)
            runs[how] = {"train": train, "held": held, "model": model,
                         "eval": _svm.evaluate(model, s.x[held], s.y[held], classes)}
        main = runs[split]
        single = [s.label(c) for c in classes if not (main["held"] & (s.y == c)).any()]
        if single:
            feedback.pushWarning(self.tr(f"No held-out pixel for class(es) {', '.join(single)} (one polygon only, "
                                         "all used for training): their accuracy is not assessed. Add polygons."))
        ev = main["eval"]
        oa, kappa = (ev["oa"], ev["kappa"]) if ev else (float("nan"), float("nan"))
        feedback.pushInfo(self.tr(f"Held-out accuracy (split by {split}): OA {100 * oa:.2f} %, kappa {kappa:.4f}"))
        other = runs["pixel" if split == "polygon" else "polygon"]["eval"]
        if other:
            feedback.pushInfo(self.tr(f"For comparison, split by {'pixel' if split == 'polygon' else 'polygon'}: "
                                      f"OA {100 * other['oa']:.2f} %, kappa {other['kappa']:.4f}"))
        feedback.setProgress(30)
        out = self.classify(main["model"], s.names, src, parameters, context, feedback, start=0.3,
                            check_x=s.x[main["train"]],
                            metadata={"SVM": f"{params}", "TRAINING_PIXELS": int(main["train"].sum()),
                                      "HELD_OUT_OA": f"{oa:.4f}", "HELD_OUT_KAPPA": f"{kappa:.4f}"})
        results = {self.OUTPUT: out, self.OA: oa, self.KAPPA: kappa}
        model_path = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        if model_path:
            meta = {"dates": dates, "bands": len(dates), "names": {str(k): v for k, v in s.names.items()},
                    "split": split, "seed": seed, "held_out_oa": oa, "held_out_kappa": kappa, "source": src}
            train = main["train"]
            results[self.OUTPUT_MODEL] = _svm.save_model(model_path, s.x[train], s.y[train], params, meta)
        report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        self._report(report, s, runs, split, params, fraction, seed, src, dates)
        results[self.OUTPUT_REPORT] = report
        return results

    def _report(self, path, s, runs, split, params, fraction, seed, src, dates):
        rep = _report.Report("SVM classification: accuracy on held-out samples",
                             source=f"Stack: {src} ({len(dates)} dates). Training data: {s.n_geometries} features, "
                                    f"{len(s.y)} complete pixels.")
        classes = sorted(s.names)
        names = [s.label(c) for c in classes]
        rep.paragraph(f"SVC kernel {params['kernel']}, γ = {params['gamma']:g}, C = {params['c']:g}"
                      f"{', degree ' + str(params['degree']) if params['kernel'] == 'poly' else ''}, bands "
                      f"{'standardised' if params['standardise'] else 'not standardised'}; training fraction "
                      f"{fraction:g}, seed {seed}.")
        rows = []
        for c, n in zip(classes, names):
            sel = s.y == c
            rows.append([n, c, len(np.unique(s.group[sel])), int(sel.sum()), int((runs[split]["train"] & sel).sum()),
                         int((runs[split]["held"] & sel).sum())])
        rep.table(["class", "code", "features", "pixels", "training", "held out"], rows,
                  caption=f"Samples (split by {split})")
        for how in (split, "pixel" if split == "polygon" else "polygon"):
            ev = runs[how]["eval"]
            rep.heading(f"Split by {how}" + (" (this map)" if how == split else " (for comparison)"))
            if how == "pixel":
                rep.paragraph("Pixels of one field fall into both training and validation: these figures are "
                              "optimistic and only show how much a pixel split inflates accuracy.", note=True)
            if ev is None:
                rep.paragraph("No held-out sample: nothing to assess.", note=True)
                continue
            rep.paragraph(f"Overall accuracy {100 * ev['oa']:.2f} %, kappa {ev['kappa']:.4f}, "
                          f"{ev['n']} held-out pixels.")
            m = ev["matrix"]
            rep.confusion_table(m, names, ev)
            rep.table(["class", "PA", "UA", "F1"],
                      [[n, ev["pa"][i], ev["ua"][i], ev["f1"][i]] for i, n in enumerate(names)], digits=3)
            if how == split:
                rep.image(_report.confusion_figure(m, names), "Held-out confusion matrix (counts)")
        rep.write(path)


def _subsample(train, y, cap, seed):
    """At most ``cap`` training pixels per class (0: all), drawn with ``seed``."""
    if cap <= 0:
        return train
    rng = np.random.default_rng(seed + 1)
    out = train.copy()
    for c in np.unique(y):
        idx = np.flatnonzero(train & (y == c))
        if len(idx) > cap:
            out[rng.choice(idx, len(idx) - cap, replace=False)] = False
    return out

