"""Issue 28, soil moisture: station-sample layers that are empty, hold no number in a field, or hold values in the
wrong unit (NDVI × 5 + 2.5, soil moisture in percent, σ° in linear power) are refused by every algorithm that
reads them, naming the layer, the field and what it must hold, before any output exists."""

import pytest
import sm_bad_data
from process_helpers import needs_qgis_process, refusal, run

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return sm_bad_data.make(tmp_path_factory.mktemp("smsamples"))


#: Each algorithm on samples: its extra parameters and its outputs.
READERS = {
    "calibratewatercloud": ({}, ["OUTPUT_PARAMS", "OUTPUT_HTML"]),
    "calibratevegetationcd": ({}, ["OUTPUT_PARAMS", "OUTPUT_HTML"]),
    "regressmoisture": ({}, ["OUTPUT_PARAMS", "OUTPUT_TABLE"]),
    "trainannmoisture": ({"INPUTS": [0, 2, 3], "ENSEMBLE": 1}, ["OUTPUT_MODEL", "OUTPUT_HTML"]),
    "validatemoisture": ({"ESTIMATE_FIELD": "NDVI"}, ["OUTPUT_TABLE", "OUTPUT_HTML"]),
}
#: (layer, the algorithms it is given to, what the refusal must say)
LAYERS = [
    ("samples_empty", list(READERS), ("(SAMPLES)", "'samples_empty'", "has no feature", "one feature per station and "
                                      "date with the fields station, date")),
    ("samples_null", ["calibratewatercloud", "calibratevegetationcd", "regressmoisture"],
     ("'VV'", "'samples_null'", "holds no number in any of its 48 features")),
    ("samples_null", ["trainannmoisture", "validatemoisture"],
     ("'samples_null'", "holds no number in any of its 48 features")),
    ("samples_ndvi_bad", ["calibratewatercloud", "calibratevegetationcd", "trainannmoisture"],
     ("the field 'NDVI'", "'samples_ndvi_bad'", "no NDVI (-1..1)")),
    ("samples_percent", ["calibratewatercloud", "calibratevegetationcd", "trainannmoisture"],
     ("(SSM_FIELD)", "the field 'ssm_insitu'", "looks like percent")),
    ("samples_percent", ["validatemoisture"], ("(ESTIMATE_FIELD) ('NDVI') looks like m³/m³", "like %")),
    ("samples_linear", ["calibratewatercloud", "calibratevegetationcd", "regressmoisture", "trainannmoisture"],
     ("the field 'VV'", "look like linear power", "dB")),
    ("samples_radians", ["calibratewatercloud", "trainannmoisture"], ("the field 'theta'", "look like radians")),
]
CASES = [(layer, alg, needles) for layer, algs, needles in LAYERS for alg in algs]


@pytest.mark.parametrize("layer, alg, needles", CASES, ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_a_bad_samples_layer_is_refused_with_what_it_must_hold(env, data, tmp_path, layer, alg, needles):
    extra, outputs = READERS[alg]
    args, paths = sm_bad_data.arguments({"SAMPLES": f"{{{layer}}}", **extra}, data, tmp_path, outputs)
    before = sm_bad_data.digest(data[layer])
    text = refusal(run(env, alg, *args), *needles)
    assert "Traceback" not in text and list(tmp_path.iterdir()) == []
    assert sm_bad_data.digest(data[layer]) == before


def test_validation_refuses_an_estimate_that_is_no_soil_moisture(env, data, tmp_path):
    args, _ = sm_bad_data.arguments({"SAMPLES": "{samples}", "ESTIMATE_FIELD": "VV"}, data, tmp_path,
                                    READERS["validatemoisture"][1])
    refusal(run(env, "validatemoisture", *args), "Estimate field (ESTIMATE_FIELD)", "the field 'VV'",
            "no volumetric soil moisture")
    assert list(tmp_path.iterdir()) == []


def test_validation_refuses_to_compare_a_field_with_itself(env, data, tmp_path):
    args, _ = sm_bad_data.arguments({"SAMPLES": "{samples}", "ESTIMATE_FIELD": "ssm_insitu"}, data, tmp_path,
                                    READERS["validatemoisture"][1])
    refusal(run(env, "validatemoisture", *args), "(ESTIMATE_FIELD)", "(REFERENCE_FIELD)", "same field 'ssm_insitu'")
    assert list(tmp_path.iterdir()) == []
