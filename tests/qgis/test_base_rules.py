"""The base class's rules for every algorithm (issue #28): an output that is an input is refused before anything
runs, and a run that fails leaves no output file behind, whatever output kind and whenever it fails."""

import os

import numpy as np
import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from sarsense.sarsense_qgis.processing import checks
from sarsense.sarsense_qgis.processing.base import SarsenseAlgorithm
from sarsense.simulators import write_raster


class _FailsLate(SarsenseAlgorithm):
    """Writes each kind of output, then fails the way ``mode`` says (a refusal, a bug, a cancel)."""

    mode = "refuse"

    def name(self):
        return "failslate"

    def displayName(self):
        return "Fails late"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Input"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT_TABLE", "Table"))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", "Report", "HTML files (*.html)"))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Raster"))

    def process(self, parameters, context, feedback):
        from qgis.core import QgsFields
        sink, _ = self.parameterAsSink(parameters, "OUTPUT_TABLE", context, QgsFields())
        del sink
        with open(self.parameterAsFileOutput(parameters, "OUTPUT_HTML", context), "w") as f:
            f.write("<html>half a report</html>")
        with open(self.parameterAsOutputLayer(parameters, "OUTPUT", context), "wb") as f:
            f.write(b"II*\0")
        if self.mode == "refuse":
            raise ValueError("a refusal after the outputs exist")
        if self.mode == "bug":
            raise RuntimeError("a bug")
        from sarsense.algorithms.io import Cancelled
        raise Cancelled("cancelled")


@pytest.fixture
def raster(tmp_path):
    return write_raster(tmp_path / "in.tif", np.ones((8, 8), np.float32))


@pytest.mark.parametrize("mode", ["refuse", "bug", "cancel"])
def test_a_failed_run_removes_every_output_it_created(qgis_app, tmp_path, raster, mode):
    alg = _FailsLate()
    alg.mode = mode
    alg.initAlgorithm()
    old = tmp_path / "old.html"        # an earlier run's report, named again: replaced, so removed with the rest
    old.write_text("an earlier report")
    params = {"INPUT": raster, "OUTPUT_TABLE": str(tmp_path / "t.csv"), "OUTPUT_HTML": str(old),
              "OUTPUT": str(tmp_path / "o.tif")}
    untouched = tmp_path / "other.txt"
    untouched.write_text("not an output")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    with pytest.raises(RuntimeError if mode == "bug" else QgsProcessingException):
        alg.processAlgorithm(params, context, feedback)
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "other.txt"]


def test_outputs_a_run_did_not_touch_are_kept(tmp_path):
    kept = tmp_path / "kept.csv"
    kept.write_text("x\n1\n")
    state = {str(kept): checks._file_state(str(kept)), str(tmp_path / "never.tif"): None}
    assert checks.remove_changed(state) == [] and kept.exists()


def test_a_sink_output_named_as_the_input_layer_is_refused(qgis_app, tmp_path, raster):
    alg = _FailsLate()
    alg.initAlgorithm()
    context = QgsProcessingContext()
    ok, message = alg.checkParameterValues({"INPUT": raster, "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
                                            "OUTPUT_HTML": str(tmp_path / "r.html"), "OUTPUT": raster}, context)
    assert not ok and "Raster (OUTPUT)" in message and "is the input Input (INPUT)" in message
    ok, message = alg.checkParameterValues({"INPUT": raster, "OUTPUT_TABLE": str(tmp_path / "same.csv"),
                                            "OUTPUT_HTML": str(tmp_path / "same.csv"),
                                            "OUTPUT": str(tmp_path / "o.tif")}, context)
    assert not ok and "are the same file" in message
    ok, message = alg.checkParameterValues({"INPUT": raster + "|option:x", "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
                                            "OUTPUT_HTML": str(tmp_path / "r.html"),
                                            "OUTPUT": os.path.join(os.path.dirname(raster), ".", "in.tif")}, context)
    assert not ok and "is the input" in message
    ok, message = alg.checkParameterValues({"INPUT": raster, "OUTPUT_TABLE": "TEMPORARY_OUTPUT",
                                            "OUTPUT_HTML": str(tmp_path / "r.html"),
                                            "OUTPUT": str(tmp_path / "o.tif")}, context)
    assert ok, message


def test_the_outputs_of_a_successful_run_stay(qgis_app, tmp_path, raster):
    """The cleanup runs on failure only: a successful run's outputs stay."""
    class _Succeeds(_FailsLate):
        def process(self, parameters, context, feedback):
            from qgis.core import QgsFields
            sink, dest = self.parameterAsSink(parameters, "OUTPUT_TABLE", context, QgsFields())
            del sink
            return {"OUTPUT_TABLE": dest}
    alg = _Succeeds()
    alg.initAlgorithm()
    params = {"INPUT": raster, "OUTPUT_TABLE": str(tmp_path / "t.csv"), "OUTPUT_HTML": str(tmp_path / "r.html"),
              "OUTPUT": str(tmp_path / "o.tif")}
    alg.processAlgorithm(params, QgsProcessingContext(), QgsProcessingFeedback())
    assert (tmp_path / "t.csv").exists()
