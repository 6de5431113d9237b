"""Issue 28, soil moisture: inputs whose values are no such quantity (reflectance as digital numbers, zero or
negative; NDVI or V1 outside −1..1; soil moisture in percent; SSM_min above SSM_max; σ° in linear power where dB is
mapped) and inputs with no valid pixel are refused through qgis_process with the input named, the values seen and
the fix, before any output exists, the inputs untouched."""

import pytest
import sm_bad_data
from process_helpers import needs_qgis_process, ok, refusal, run

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def data(env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smbad")
    d = sm_bad_data.make(tmp)
    # a network on VV and NDVI, for the map's predictor checks
    d["model"] = ok(env, "trainannmoisture", f"--SAMPLES={d['samples']}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=1",
                    f"--OUTPUT_MODEL={tmp / 'ann.onnx'}", f"--OUTPUT_HTML={tmp / 'ann.html'}")["OUTPUT_MODEL"]
    return d


NDVI_BANDS = {"RED_BAND": 1, "NIR_BAND": 2}
WCM = {"INPUT": "{vv}", "NDVI": "{ndvi_ok}", "INCIDENCE": 39, "A": 0.05, "B": 0.1}
CD = {"INPUT": "{vv}", "MIN_DATES": 2}
#: (case, algorithm, parameters ({name} is an input of sm_bad_data), outputs, what the refusal must say)
CASES = [
    # reflectance: red = NIR = 0, negative reflectance, digital numbers without their scale
    ("ndvi_zero", "ndvi", {"RED": "{red_zero}", **NDVI_BANDS}, ["OUTPUT"],
     ("Red raster (RED)", "no positive reflectance", "values 0..0", "Reflectance scale factor (SCALE)")),
    ("ndvi_negative", "ndvi", {"RED": "{red_negative}", **NDVI_BANDS}, ["OUTPUT"],
     ("Red raster (RED)", "band 1", "-0.08", "no surface reflectance")),
    ("ndvi_dn", "ndvi", {"RED": "{red_dn}", **NDVI_BANDS}, ["OUTPUT"],
     ("Red raster (RED)", "digital numbers", "Reflectance scale factor (SCALE)", "0.0001")),
    ("ndvi_nir_zero", "ndvi", {"RED": "{red_ok}", "RED_BAND": 1, "NIR": "{red_zero}", "NIR_BAND": 1}, ["OUTPUT"],
     ("Near-infrared raster (NIR)", "no positive reflectance")),
    # NDVI and V1 outside −1..1: the refusal names the vegetation input and its values, not A, B, α or β
    ("vegetationcd_v1", "vegetationcd", {"VV": "{vv}", "V1": "{ndvi_bad}", "ALPHA": 18, "BETA": 12}, ["OUTPUT"],
     ("(V1)", "values 2.", "no NDVI (-1..1)", "nor are they a VH/VV ratio in dB")),
    ("watercloud_ndvi", "watercloud", {**WCM, "NDVI": "{ndvi_bad}"}, ["OUTPUT_SOIL", "OUTPUT_VEG"],
     ("NDVI (NDVI)", "values 2.", "no NDVI (-1..1)")),
    ("annmoisture_ndvi", "annmoisture", {"INPUTS": ["{vv}", "{ndvi_bad}"], "MODEL": "{model}"}, ["OUTPUT"],
     ("(INPUTS)", "'ndvi_bad' (input NDVI)", "no NDVI (-1..1)")),
    # soil moisture bounds: percent, and SSM_min at or above SSM_max pixel by pixel (raster or number)
    ("changedetection_percent", "changedetection", {**CD, "SSM_MAX_RASTER": "{ssm_percent}"},
     ["OUTPUT_INDEX", "OUTPUT_SSM"], ("(SSM_MAX_RASTER)", "values 35..35", "percent")),
    ("changedetection_swapped", "changedetection",
     {**CD, "SSM_MIN_RASTER": "{ssm_high}", "SSM_MAX_RASTER": "{ssm_low}"}, ["OUTPUT_INDEX", "OUTPUT_SSM"],
     ("not below the wettest on 1600 of 1600 sampled pixels", "0.4 ≥ 0.1", "(SSM_MIN_RASTER)", "(SSM_MAX_RASTER)",
      "swapped")),
    ("changedetection_ssm_nan", "changedetection", {**CD, "SSM_MIN_RASTER": "{ndvi_nan}"},
     ["OUTPUT_INDEX", "OUTPUT_SSM"], ("(SSM_MIN_RASTER)", "no valid pixel")),
    ("changedetection_raster_number", "changedetection", {**CD, "SSM_MIN_RASTER": "{ssm_high}", "SSM_MAX": 0.3},
     ["OUTPUT_INDEX", "OUTPUT_SSM"], ("1600 of 1600", "0.4 ≥ 0.3", "(SSM_MAX) = 0.3")),
    # σ° in linear power where the map needs dB: refused before the regression writes its table and parameters
    ("regressmoisture_linear", "regressmoisture", {"SAMPLES": "{samples}", "RASTER": "{vv_linear}"},
     ["OUTPUT_PARAMS", "OUTPUT_TABLE", "OUTPUT"], ("σ° raster to map (dB) (RASTER)", "linear power")),
    ("regressmoisture_no_raster", "regressmoisture", {"SAMPLES": "{samples}"},
     ["OUTPUT_PARAMS", "OUTPUT_TABLE", "OUTPUT"], ("needs σ° raster to map (dB) (RASTER)",)),
    ("annmoisture_linear", "annmoisture", {"INPUTS": ["{vv_linear}", "{ndvi_ok}"], "MODEL": "{model}"}, ["OUTPUT"],
     ("'vv_linear' (input VV)", "linear power")),
    # σ° as digital numbers (amplitude DN 46..1179) where calibrated backscatter in dB is expected
    *[(f"{alg}_dn", alg, {**params, key: "{vv_dn}"}, outs, (f"({key})", "digital numbers", "alibrat"))
      for alg, key, params, outs in (
          ("changedetection", "INPUT", CD, ["OUTPUT_INDEX", "OUTPUT_SSM"]),
          ("vegetationcd", "VV", {"V1": "{ndvi_ok}", "ALPHA": 18, "BETA": 12}, ["OUTPUT"]),
          ("watercloud", "INPUT", WCM, ["OUTPUT_SOIL"]),
          ("terrainflatten", "INPUT", {"DEM": "{dem}", "INCIDENCE": 39, "HEADING": 348}, ["OUTPUT"]),
          ("regressmoisture", "RASTER", {"SAMPLES": "{samples}"}, ["OUTPUT_PARAMS", "OUTPUT_TABLE", "OUTPUT"]))],
    ("annmoisture_dn", "annmoisture", {"INPUTS": ["{vv_dn}", "{ndvi_ok}"], "MODEL": "{model}"}, ["OUTPUT"],
     ("'vv_dn' (input VV)", "no backscatter σ° in dB")),
    # incidence in radians (number or raster), a number outside its parameter's range (soil moisture in percent)
    ("watercloud_radians", "watercloud", {**WCM, "INCIDENCE": 0.68}, ["OUTPUT_SOIL"],
     ("Incidence angle raster (degrees) (INCIDENCE)", "0.68", "look like radians")),
    ("terrainflatten_radians", "terrainflatten",
     {"INPUT": "{vv}", "DEM": "{dem}", "INCIDENCE": "{incidence_radians}", "HEADING": 348}, ["OUTPUT"],
     ("(INCIDENCE)", "look like radians")),
    ("terrainflatten_dem_cm", "terrainflatten",
     {"INPUT": "{vv}", "DEM": "{dem_cm}", "INCIDENCE": 39, "HEADING": 348}, ["OUTPUT"],
     ("Digital elevation model (metres) (DEM)", "no terrain elevation in metres", "centimetres")),
    ("vegetationcd_ssm_percent", "vegetationcd",
     {"VV": "{vv}", "V1": "{ndvi_ok}", "ALPHA": 18, "BETA": 12, "SSM_MIN": 35}, ["OUTPUT"],
     ("Driest soil moisture SSM_min (m³/m³) (SSM_MIN) must be between 0 and 1; got 35",)),
    # no valid pixel at all
    ("changedetection_nan", "changedetection", {**CD, "INPUT": "{vv_nan}"}, ["OUTPUT_INDEX", "OUTPUT_SSM"],
     ("VV time stack (INPUT)", "no valid pixel")),
    ("vegetationcd_nan", "vegetationcd", {"VV": "{vv_nan}", "V1": "{ndvi_ok}", "ALPHA": 18, "BETA": 12}, ["OUTPUT"],
     ("VV time stack (VV)", "no valid pixel")),
    ("watercloud_nan", "watercloud", {**WCM, "INPUT": "{vv_nan}"}, ["OUTPUT_SOIL", "OUTPUT_VEG"],
     ("Backscatter σ° (INPUT)", "no valid pixel")),
    ("terrainflatten_nan", "terrainflatten", {"INPUT": "{vv_nan}", "DEM": "{dem}", "INCIDENCE": 39, "HEADING": 348},
     ["OUTPUT"], ("(INPUT)", "no valid pixel")),
    ("terrainflatten_dem_nan", "terrainflatten",
     {"INPUT": "{vv}", "DEM": "{ndvi_nan}", "INCIDENCE": 39, "HEADING": 348}, ["OUTPUT"], ("(DEM)", "no valid pixel")),
    ("annmoisture_nan", "annmoisture", {"INPUTS": ["{vv}", "{ndvi_nan}"], "MODEL": "{model}"}, ["OUTPUT"],
     ("(INPUTS) (", "ndvi_nan.tif')", "has no valid pixel")),
]


@pytest.mark.parametrize("case, alg, params, outputs, needles", CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_refused_before_any_output(env, data, tmp_path, case, alg, params, outputs, needles):
    args, paths = sm_bad_data.arguments(params, data, tmp_path, outputs)
    inputs = sm_bad_data.input_files(params, data)
    before = sm_bad_data.digest(*inputs)
    text = refusal(run(env, alg, *args), *needles)
    assert "is too high for these data" not in text          # the NDVI is blamed, not the coefficients
    assert [p.name for p in paths if p.exists()] == [], text[-2000:]
    assert list(tmp_path.iterdir()) == []                       # no partial or temporary file either
    assert sm_bad_data.digest(*inputs) == before


@pytest.mark.parametrize("case, alg, params", [
    ("ndvi_reflectance", "ndvi", {"RED": "{red_ok}", **NDVI_BANDS}),
    ("ndvi_dn_scaled", "ndvi", {"RED": "{red_dn}", **NDVI_BANDS, "SCALE": 0.0001, "MASK_OUTSIDE": "false"}),
    ("changedetection_rasters", "changedetection",
     {**CD, "SSM_MIN_RASTER": "{ssm_low}", "SSM_MAX_RASTER": "{ssm_high}"}),
    ("vegetationcd_ndvi", "vegetationcd", {"VV": "{vv}", "V1": "{ndvi_ok}", "ALPHA": 18, "BETA": 12}),
    ("annmoisture", "annmoisture", {"INPUTS": ["{vv}", "{ndvi_ok}"], "MODEL": "{model}"}),
], ids=["ndvi_reflectance", "ndvi_dn_scaled", "changedetection_rasters", "vegetationcd_ndvi", "annmoisture"])
def test_good_inputs_still_run(env, data, tmp_path, case, alg, params):
    outputs = {"changedetection": ["OUTPUT_INDEX", "OUTPUT_SSM"]}.get(alg, ["OUTPUT"])
    args, paths = sm_bad_data.arguments(params, data, tmp_path, outputs)
    res = run(env, alg, *args)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert all(p.exists() for p in paths)
