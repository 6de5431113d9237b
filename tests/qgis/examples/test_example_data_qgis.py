"""sarsense:exampledata in QGIS: Cancel leaves nothing behind; the layers load under readable names."""

import os

import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsProject


class CancelAfterFirstFile(QgsProcessingFeedback):
    def setProgress(self, progress):
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_cancel_leaves_nothing(sarsense, tmp_path):
    alg = sarsense.algorithm("exampledata").create()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run({"SUITE": 0, "OUTPUT_FOLDER": str(tmp_path)}, QgsProcessingContext(), CancelAfterFirstFile(),
                catchExceptions=False)
    assert os.listdir(tmp_path) == []          # no suite folder, no hidden partial folder


def test_layers_load_with_readable_names(sarsense, tmp_path):
    alg = sarsense.algorithm("exampledata").create()
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    res, ok = alg.run({"SUITE": 4, "OUTPUT_FOLDER": str(tmp_path)}, context, QgsProcessingFeedback())
    assert ok
    names = {context.layerToLoadOnCompletionDetails(p).name for p in context.layersToLoadOnCompletion()}
    assert names == {"HH (dB, simulated)", "HV (dB, simulated)", "Ice chart (SIGRID-3, simulated)",
                     "Land (simulated)"}
    assert sorted(context.layersToLoadOnCompletion()) == sorted(res["LAYERS"])
