"""sarsense:svmapply — classify another dated stack with an SVM model file saved by sarsense:svmclassify."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.crop import svm as _svm
from .. import checks, inputs
from .svm_classify import SvmClassifyAlgorithm


class SvmApplyAlgorithm(SvmClassifyAlgorithm):
    INPUT, MODEL, OUTPUT = "INPUT", "MODEL", "OUTPUT"

    def name(self):
        return "svmapply"

    def displayName(self):
        return self.tr("Apply saved SVM model")

    def tags(self):
        return self.tr("svm,apply,model,classification,rice,crop,reuse").split(",")

    def shortHelpString(self):
        return self.tr(
            "Classifies a dated stack with a model file written by 'SVM classification' (its SVM model file "
            "output), e.g. the next scene or a neighbouring area prepared the same way. The stack must have the "
            "model's band count and dates (the model learned the values of those dates): another stack is refused "
            "with what differs. The file holds the training samples, not code; loading it refits the same SVM "
            "(deterministic, seconds), so the map equals what the original model would give.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated stack")),
                 "Same dates, bands and preparation as the stack the model was trained on.")
        self.add(QgsProcessingParameterFile(self.MODEL, self.tr("SVM model file"), extension="npz"),
                 "The .npz written by 'SVM classification'.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Class map")),
                 "uint8 GeoTIFF, 255 = nodata, with the model's class names and colours.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        path = self.parameterAsFile(parameters, self.MODEL, context)
        model, params, meta = _svm.load_model(path)
        want = list(meta.get("dates", []))
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        if len(dates) != len(want):
            raise self.error(f"{self.label(self.INPUT)} has {len(dates)} bands but the model was trained on "
                             f"{len(want)} ({', '.join(want)}): apply it to a stack of the same dates.")
        if dates != want:
            diff = [f"band {i + 1}: {a} ≠ {b}" for i, (a, b) in enumerate(zip(dates, want)) if a != b]
            raise self.error(f"{self.label(self.INPUT)} has other dates than the model ({'; '.join(diff[:5])}"
                             f"{' …' if len(diff) > 5 else ''}; stack ≠ model): build a stack of the model's dates.")
        names = {int(k): v for k, v in meta["names"].items()}
        feedback.pushInfo(self.tr(f"Model: SVC {params['kernel']}, γ {params['gamma']:g}, C {params['c']:g}; "
                                  f"classes {', '.join(names.values())}; held-out OA when trained "
                                  f"{100 * meta.get('held_out_oa', float('nan')):.2f} %."))
        out = self.classify(model, names, src, parameters, context, feedback, start=0.05,
                            metadata={"SVM_MODEL": path})
        return {self.OUTPUT: out}
