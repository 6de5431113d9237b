"""What the base class refuses for every algorithm, through qgis_process (issue #28): an output named as one of
the inputs, of every kind (raster, vector layer, model or table file, a layer of a multiple-layer input, a
folder), or as another output. Refused before anything is read or written; the input's bytes are unchanged."""

import json
import os

import numpy as np
import pytest
from process_helpers import digest, needs_qgis_process, refusal, run

import sarsense
from sarsense.simulators import write_raster

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    lst = write_raster(d / "lst.tif", np.full((16, 16), 300.0, np.float32))
    db = write_raster(d / "db.tif", np.full((16, 16), -12.0, np.float32))
    points = d / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": 1, "id": "a"},
         "geometry": {"type": "Point", "coordinates": [600100.0, 4799900.0]}}]}))
    model = d / "model.npz"
    model.write_bytes(b"PK\x03\x04 not really a model")
    folder = d / "ismn"
    folder.mkdir()
    fill = np.full((16, 16), 300.0, np.float32)
    fill[:4] = -9999.0                                      # a fill value the file does not declare
    fill = write_raster(d / "fill.tif", fill, descriptions=["2020-01-01"])
    onnx = os.path.join(os.path.dirname(sarsense.__file__), "models", "s1_despeckle_example.onnx")
    nan = write_raster(d / "nan.tif", np.full((16, 16), np.nan, np.float32), nodata=float("nan"),
                       descriptions=["2020-01-01"])
    return {"nan": nan, "onnx": onnx, "fill": fill, "lst": lst, "db": db,
            "points": str(points), "model": str(model), "folder": str(folder)}


# (algorithm, parameters with {key} placeholders for the input files, the output parameter named as an input,
#  the input it names)
CASES = {
    "raster output = raster input (lstsuperresolution)": (
        "lstsuperresolution", {"INPUT": "{lst}", "METHOD": "1", "OUTPUT": "{lst}"}, "OUTPUT", "lst"),
    "raster output = raster input (despeckle)": (
        "despeckle", {"INPUT": "{db}", "OUTPUT": "{db}"}, "OUTPUT", "db"),
    "raster output = a layer of a multiple-layer input": (
        "buildstack", {"INPUTS": "{db}", "OUTPUT": "{db}"}, "OUTPUT", "db"),
    "raster output = a raster named in a text parameter (interpolatetime's TARGET)": (
        "interpolatetime", {"INPUT": "{fill}", "TARGET": "{lst}", "OUTPUT": "{lst}"}, "OUTPUT", "lst"),
    "workflow output = workflow input": (
        "sar_chain_db_gammamap", {"input_db": "{db}", "to_db:Despeckled backscatter (dB)": "{db}"},
        "to_db:Despeckled backscatter (dB)", "db"),
    "file output = vector input": (
        "svmclassify", {"INPUT": "{db}", "TRAINING": "{points}", "CLASS_FIELD": "class", "OUTPUT": "TEMPORARY_OUTPUT",
                        "OUTPUT_MODEL": "{points}", "OUTPUT_REPORT": "TEMPORARY_OUTPUT"}, "OUTPUT_MODEL", "points"),
    "table output = vector input": (
        "accuracyassessment", {"CLASSIFIED": "{db}", "REFERENCE": "{points}", "CLASS_FIELD": "class",
                               "OUTPUT_TABLE": "{points}", "OUTPUT_HTML": "TEMPORARY_OUTPUT"},
        "OUTPUT_TABLE", "points"),
    "raster output = model file input": (
        "svmapply", {"INPUT": "{db}", "MODEL": "{model}", "OUTPUT": "{model}"}, "OUTPUT", "model"),
    "table output inside an input folder": (
        "importismn", {"INPUT": "{folder}", "OUTPUT_STATIONS": "{folder}/stations.gpkg",
                       "OUTPUT_VALUES": "TEMPORARY_OUTPUT"}, "OUTPUT_STATIONS", "folder"),
}


@pytest.mark.parametrize("case", CASES)
def test_an_output_named_as_an_input_is_refused_and_the_input_kept(env, files, case):
    alg, params, output, source = CASES[case]
    before = {k: digest(v) for k, v in files.items() if k != "folder"}
    res = run(env, alg, **{k: v.format(**files) for k, v in params.items()})
    text = refusal(res, f"({output})", "is ", "the input", "choose another output path")
    assert "Traceback" not in text
    assert {k: digest(v) for k, v in files.items() if k != "folder"} == before
    if source == "folder":
        assert not os.listdir(files["folder"])


def test_two_outputs_named_as_one_file_are_refused(env, files, tmp_path):
    same = str(tmp_path / "same.html")
    res = run(env, "svmclassify", INPUT=files["db"], TRAINING=files["points"], CLASS_FIELD="class",
              OUTPUT="TEMPORARY_OUTPUT", OUTPUT_MODEL=same, OUTPUT_REPORT=same)
    refusal(res, "are the same file", "give each output its own path")
    assert not (tmp_path / "same.html").exists()


# Algorithms that read a raster with no quantity check of their own: the base class refuses the fill value
FILL_CASES = {
    "interpolatetime": {"INPUT": "{fill}", "TARGET": "2020-01-02"},
    "degradelst": {"INPUT": "{fill}"},
    "applymodel": {"INPUT": "{fill}", "MODEL": "{onnx}"},
    "buildstack": {"INPUTS": "{fill}"},
    "imagequality": {"REFERENCE": "{fill}", "ESTIMATE": "{lst}", "OUTPUT_TABLE": "TEMPORARY_OUTPUT"},
    "extractstations": {"STATIONS": "{points}", "RASTERS": "{fill}", "OUTPUT": "TEMPORARY_OUTPUT"},
    "lstsuperresolution": {"INPUT": "{fill}"},
}


@pytest.mark.parametrize("alg", FILL_CASES)
def test_an_undeclared_fill_value_in_any_raster_input_is_refused(env, files, tmp_path, alg):
    params = {k: v.format(**files) for k, v in FILL_CASES[alg].items()}
    params.setdefault("OUTPUT", str(tmp_path / "out.tif"))
    refusal(run(env, alg, **params), "holds values of -9999", "does not declare", "gdal_edit.py -a_nodata -9999")
    assert not os.listdir(tmp_path)


# One raster input with no valid pixel, for algorithms of every suite: refused naming that input, before anything
NAN_CASES = {
    "despeckle": ({"INPUT": "{nan}"}, "INPUT"),
    "convertunits": ({"INPUT": "{nan}"}, "INPUT"),
    "polratio": ({"CROSS": "{nan}", "CO": "{db}"}, "CROSS"),
    "ndvi": ({"RED": "{nan}", "NIR": "{lst}"}, "RED"),
    "degradelst": ({"INPUT": "{nan}"}, "INPUT"),
    "applymodel": ({"INPUT": "{nan}", "MODEL": "{onnx}"}, "INPUT"),
    "extractstations": ({"STATIONS": "{points}", "RASTERS": "{nan}", "OUTPUT": "TEMPORARY_OUTPUT"}, "RASTERS"),
    "sar_chain_db_gammamap": ({"input_db": "{nan}", "to_db:Despeckled backscatter (dB)": "TEMPORARY_OUTPUT"},
                              "input_db"),     # a workflow: QGIS asks its steps no check of their own
}


@pytest.mark.parametrize("alg", NAN_CASES)
def test_a_raster_input_with_no_valid_pixel_is_refused_by_name(env, files, tmp_path, alg):
    params, name = NAN_CASES[alg]
    params = {k: v.format(**files) for k, v in params.items()}
    params.setdefault("OUTPUT", str(tmp_path / "out.tif"))
    refusal(run(env, alg, **params), f"({name})", "has no valid pixel", "nothing could come out")
    assert not os.listdir(tmp_path)
