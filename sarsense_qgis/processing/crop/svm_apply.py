"""sarsense:svmapply — classify another dated stack with an SVM model file saved by sarsense:svmclassify."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.crop import svm as _svm
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs
from .base import CropAlgorithm


class SvmApplyAlgorithm(CropAlgorithm):
    INPUT, MODEL, OUTPUT = "INPUT", "MODEL", "OUTPUT"
    requires = ("sklearn",)

    def name(self):
        return "svmapply"

    def displayName(self):
        return self.tr("Apply saved SVM model")

    def tags(self):
        return self.tr("svm,apply,model,classification,rice,crop,reuse").split(",")

    def help_text(self):
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
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        _svm.check_model_dates(dates, meta.get("dates", []), what=self.label(self.INPUT))
        self.check_features(src, self.INPUT)
        names = {int(k): v for k, v in meta["names"].items()}
        feedback.pushInfo(self.tr("Model: SVC {0}, γ {1:g}, C {2:g}; classes {3}; held-out OA when trained "
                                  "{4:.2f} %.").format(params["kernel"], params["gamma"], params["c"],
                                                       ", ".join(names.values()),
                                                       100 * meta.get("held_out_oa", float("nan"))))
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        _svm.classify_file(model, src, out, names=names, metadata={"SVM_MODEL": path},
                           options=self.run_options(parameters, context, feedback,
                                                    empty_hint=self.gaps_hint(self.INPUT)).part(0.05, 1.0))
        style_on_load(context, out, ClassMapPostProcessor)
        return {self.OUTPUT: out}
