"""SARSense algorithms through processing.run in real QGIS: compliance, results, styling, errors, cancel, model."""

import os

import numpy as np
import pytest
from helpers import read_raster, speckled, write_raster
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProject,
    QgsRasterLayer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis_helpers import run

from sarsense.algorithms.sar import speckle

#: Every algorithm id SARSense has published: ids are never renamed (models, scripts and batch files use them).
IDS = {"accuracyassessment", "annmoisture", "applymodel", "buildstack", "calibratevegetationcd", "calibratewatercloud",
       "changedetection", "convertunits", "degradelst", "despeckle", "exampledata", "extractstations",
       "icechartclasses", "imagequality", "importismn", "importsentinel1",
       "importsentinel1stack", "interpolatetime", "lstsuperresolution",
       "multitemporaldespeckle", "ndvi", "polratio", "rainresponse", "regressmoisture", "ricethreshold",
       "seaiceconcentration", "seaiceskill", "separability", "sieveclasses", "svmapply", "svmclassify",
       "terrainflatten", "trainannmoisture", "unetreceptivefield", "validatemoisture", "vegetationcd", "watercloud",
       "waternormalized"}


def test_provider_lists_the_algorithms(sarsense):
    assert sarsense.name() == "SARSense" and not sarsense.icon().isNull()
    assert {a.name() for a in sarsense.algorithms() if not isinstance(a, QgsProcessingModelAlgorithm)} == IDS


def test_compliance_every_algorithm(sarsense):
    for alg in sarsense.algorithms():
        if isinstance(alg, QgsProcessingModelAlgorithm):
            continue  # the shipped workflows: test_workflows_are_in_the_toolbox
        assert alg.group() and alg.groupId(), alg.id()
        assert alg.tags() and all(t.strip() for t in alg.tags()), alg.id()
        assert len(alg.shortHelpString()) > 80, alg.id()
        assert alg.displayName() and alg.id() == f"sarsense:{alg.name()}"
        assert alg.name() == alg.name().lower()
        assert alg.createInstance().name() == alg.name()
        for p in alg.parameterDefinitions():
            assert p.description(), f"{alg.id()}:{p.name()} has no label"
            assert len(p.help()) > 10, f"{alg.id()}:{p.name()} has no help"
            assert p.name() == p.name().upper()


def test_no_label_says_optional_itself(sarsense):
    """QGIS marks an optional parameter itself ('[optional]'): a label that says so too reads 'Near-infrared raster
    [optional] [optional]'. Every algorithm's and workflow's parameters."""
    import re
    said = re.compile(r"[\[(]\s*optional\s*[\])]", re.I)
    found = [f"{alg.id()}:{p.name()}: {p.description()}" for alg in sarsense.algorithms()
             for p in alg.parameterDefinitions() if said.search(p.description())]
    assert found == []
    assert said.search("Near-infrared raster [optional]") and said.search("DEM (Optional)")


def test_algorithms_are_shallow_and_independent(sarsense):
    """At most three levels below QgsProcessingAlgorithm (SarsenseAlgorithm, the suite's base, the algorithm),
    each algorithm in its suite's package, and none inherits from another concrete algorithm."""
    from qgis.core import QgsProcessingAlgorithm

    from sarsense.sarsense_qgis.processing.registry import ALGORITHMS
    concrete = set(ALGORITHMS)
    for cls in ALGORITHMS:
        mro = cls.__mro__
        assert mro.index(QgsProcessingAlgorithm) <= 3, f"{cls.__name__}: {[c.__name__ for c in mro]}"
        assert not concrete & set(mro[1:]), f"{cls.__name__} inherits from {concrete & set(mro[1:])}"
        suite = cls.__module__.split(".")[-2]
        assert suite in ("sar_preparation", "sentinel1", "neural_networks", "soil_moisture", "crop", "lst",
                         "sea_ice", "examples"), cls.__module__
    assert {type(a) for a in sarsense.algorithms() if not isinstance(a, QgsProcessingModelAlgorithm)} == concrete


def test_outputs_load_styled_grey_2_98(sarsense, sample_db, tmp_path, qgis_iface):
    import processing
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:despeckle", {"INPUT": sample_db, "INPUT_UNITS": 1,
                                                        "OUTPUT": str(tmp_path / "styled.tif")})
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)]
    assert len(layers) == 1
    # black to white between the 2 and 98 % cuts, drawn as a two-stop ramp so that the legend carries the unit
    r = layers[0].renderer()
    assert isinstance(r, QgsSingleBandPseudoColorRenderer)
    items = r.shader().rasterShaderFunction().colorRampItemList()
    assert [i.color.name() for i in items] == ["#000000", "#ffffff"]
    vals = read_raster(tmp_path / "styled.tif")[0]
    lo, hi = np.percentile(vals[np.isfinite(vals)], [2, 98])
    assert items[0].value == pytest.approx(lo, abs=0.3) and items[1].value == pytest.approx(hi, abs=0.3)
    assert all(i.label.endswith(" dB") for i in items)
    QgsProject.instance().removeAllMapLayers()


# --- bad input: a clear QgsProcessingException, no output, inputs untouched ------------------------------
def test_db_given_as_linear_is_refused(sarsense, sample_db, tmp_path):
    with pytest.raises(QgsProcessingException, match="looks like dB"):
        run("despeckle", {"INPUT": sample_db, "FILTER": 1, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "o.tif")})
    with pytest.raises(QgsProcessingException, match="looks like dB"):
        run("convertunits", {"INPUT": sample_db, "CONVERSION": 0, "OUTPUT": str(tmp_path / "o.tif")})
    assert not (tmp_path / "o.tif").exists()


def test_linear_given_as_db_is_refused(sarsense, sample_linear, tmp_path):
    with pytest.raises(QgsProcessingException, match="looks like linear"):
        run("convertunits", {"INPUT": sample_linear, "CONVERSION": 1, "OUTPUT": str(tmp_path / "o.tif")})


def test_missing_file_is_refused(sarsense, tmp_path):
    with pytest.raises(QgsProcessingException):
        run("despeckle", {"INPUT": str(tmp_path / "missing.tif"), "OUTPUT": str(tmp_path / "o.tif")})


def test_unwritable_output_is_refused(sarsense, sample_linear):
    with pytest.raises(QgsProcessingException, match="output"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": "/proc/sarsense_cannot_write_here.tif"})
    with pytest.raises(QgsProcessingException, match="does not exist"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": "/nonexistent_dir/o.tif"})


def test_output_equal_to_input_is_refused(sarsense, sample_linear):
    before = open(sample_linear, "rb").read()
    with pytest.raises(QgsProcessingException, match="is the input Input"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": sample_linear})
    assert open(sample_linear, "rb").read() == before


def test_nodata_stays_nan(sarsense, tmp_path):
    arr = speckled((64, 64))
    arr[10:20, 10:20] = -1.0
    src = write_raster(tmp_path / "nd.tif", arr, nodata=-1.0)
    got = read_raster(run("despeckle", {"INPUT": src, "FILTER": 1, "INPUT_UNITS": 0, "LOOKS": 1,
                                        "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"])[0]
    assert np.isnan(got[10:20, 10:20]).all() and np.isfinite(got[30:, 30:]).all()


class CancelAfterFirstBlock(QgsProcessingFeedback):
    def setProgress(self, progress):
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_cancel_reports_no_output(sarsense, tmp_path):
    big = write_raster(tmp_path / "big.tif", speckled((1200, 1100)))
    out = tmp_path / "cancelled.tif"
    alg = sarsense.algorithm("despeckle").create()
    context = QgsProcessingContext()
    feedback = CancelAfterFirstBlock()
    params = {"INPUT": big, "FILTER": 1, "INPUT_UNITS": 0, "OUTPUT": str(out)}
    # budget small enough for several blocks
    old = speckle.WORKING_BYTES.copy()
    speckle.WORKING_BYTES["lee"] = 4000
    try:
        with pytest.raises(QgsProcessingException, match="Cancelled"):
            alg.run(params, context, feedback, catchExceptions=False)
    finally:
        speckle.WORKING_BYTES.clear()
        speckle.WORKING_BYTES.update(old)
    assert feedback.isCanceled()
    assert sorted(os.listdir(tmp_path)) == ["big.tif"], "no output (and no partial file) is left"


@pytest.mark.parametrize("param,value", [("LOOKS", "nan"), ("DAMPING", float("nan")), ("LOOKS", float("inf"))])
def test_nan_parameters_are_refused_by_their_label(sarsense, sample_db, tmp_path, param, value):
    label = {"LOOKS": "Equivalent number of looks (ENL) (LOOKS)", "DAMPING": "Damping factor (Frost) (DAMPING)"}[param]
    with pytest.raises(QgsProcessingException, match=rf"{label.replace('(', '[(]').replace(')', '[)]')} must be a "
                                                     "finite number"):
        run("despeckle", {"INPUT": sample_db, "FILTER": 3, param: value, "OUTPUT": str(tmp_path / "o.tif")})
    assert not (tmp_path / "o.tif").exists()


def test_a_text_file_named_tif_and_a_model_named_txt_are_explained(sarsense, sample_db, tmp_path):
    fake = tmp_path / "notes.tif"
    fake.write_text("not a raster")
    with pytest.raises(QgsProcessingException, match=r"Input SAR raster \(INPUT\): '.*notes.tif' is not a raster "
                                                     "GDAL can read"):
        run("despeckle", {"INPUT": str(fake), "OUTPUT": str(tmp_path / "o.tif")})
    model = tmp_path / "model.txt"
    model.write_text("x")
    with pytest.raises(QgsProcessingException, match=r"Model \(.onnx\) \(MODEL\): '.*model.txt' is not a .onnx file"):
        run("applymodel", {"INPUT": sample_db, "MODEL": str(model), "OUTPUT": str(tmp_path / "o.tif")})


def test_units_messages_name_the_dialog_labels_and_every_band(sarsense, sample_db, tmp_path):
    db = read_raster(sample_db)[0]
    db[db == -99] = -15.0
    two = write_raster(tmp_path / "two.tif", np.stack([10 ** (db / 10), db]))
    with pytest.raises(QgsProcessingException, match=r"Input SAR raster \(INPUT\), band 2 looks like dB .* set Input "
                                                     r"units \(INPUT_UNITS\) to dB"):
        run("despeckle", {"INPUT": two, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "o.tif")})
    lin = 10 ** (db / 10)
    lin[:40, :40] = -9999.0
    fill = write_raster(tmp_path / "fill.tif", lin)
    with pytest.raises(QgsProcessingException, match=r"values of -9999 .* nodata value the file does not declare.*"
                                                     r"gdal_edit.py -a_nodata -9999"):
        run("despeckle", {"INPUT": fill, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "o.tif")})
    assert not (tmp_path / "o.tif").exists()


def test_number_boxes_show_two_decimals(sarsense):
    alg = sarsense.algorithm("despeckle")
    for name in ("LOOKS", "DAMPING"):
        assert alg.parameterDefinition(name).metadata()["widget_wrapper"]["decimals"] == 2
