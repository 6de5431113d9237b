"""sarsense:applymodel in real QGIS: results equal the core, styled class maps, refusals, canExecute, cancel."""

import os
import sys

import numpy as np
import pytest
from helpers import read_raster, write_raster
from onnx_models import contract, conv_net
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsSingleBandGrayRenderer,
)
from qgis_helpers import run

from sarsense.algorithms import onnx as rt

CLASSES = [{"value": 0, "name": "open water", "color": "#0a2f6b"},
           {"value": 50, "name": "SIC 50 %", "color": "#8fd14f"},
           {"value": 100, "name": "SIC 100 %", "color": "#ffffff"}]


def apply_model(params, **kw):
    return run("applymodel", params, **kw)


@pytest.fixture
def scene(tmp_path):
    rng = np.random.default_rng(11)
    arr = rng.normal(-14, 3, (2, 150, 210)).astype(np.float32)
    arr[:, 0:5, 0:5] = np.nan
    return write_raster(tmp_path / "hh_hv.tif", arr, descriptions=["HH", "HV"])


def test_algorithm_is_listed_in_neural_networks_group(sarsense):
    alg = sarsense.algorithm("applymodel")
    assert alg.group() == "Neural networks"  # not "Models": the toolbox has its own Models section
    ok, message = alg.canExecute()
    assert ok, message


def test_result_equals_core_run(sarsense, scene, tmp_path):
    model = conv_net(tmp_path / "m.onnx", layers=4, contract_dict=contract(
        tiling={"tile_size": 64, "halo": 4, "receptive_field": 9}))
    out = apply_model({"INPUT": scene, "MODEL": model, "BUDGET_MB": 16, "OUTPUT": str(tmp_path / "q.tif")})["OUTPUT"]
    core = str(tmp_path / "core.tif")
    rt.apply_model(rt.Model(model), scene, core)
    np.testing.assert_array_equal(read_raster(out), read_raster(core))


def test_class_map_loads_with_the_models_colours(sarsense, scene, tmp_path, qgis_iface):
    import processing
    model = conv_net(tmp_path / "seg.onnx", outputs=3, contract_dict=contract(
        task="segmentation", output={"activation": "softmax"}, classes=CLASSES))
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:applymodel", {"INPUT": scene, "MODEL": model,
                                                         "OUTPUT": str(tmp_path / "sic.tif")})
    layers = list(QgsProject.instance().mapLayers().values())
    assert len(layers) == 1
    renderer = layers[0].renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [(c.value, c.label, c.color.name()) for c in renderer.classes()] == \
        [(c["value"], c["name"], c["color"]) for c in CLASSES]
    QgsProject.instance().removeAllMapLayers()


def test_value_output_loads_in_grey(sarsense, scene, tmp_path, qgis_iface):
    import processing
    model = conv_net(tmp_path / "m.onnx", contract_dict=contract())
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:applymodel", {"INPUT": scene, "MODEL": model,
                                                         "OUTPUT": str(tmp_path / "v.tif")})
    layers = list(QgsProject.instance().mapLayers().values())
    assert len(layers) == 1 and isinstance(layers[0].renderer(), QgsSingleBandGrayRenderer)
    QgsProject.instance().removeAllMapLayers()


def test_wrong_band_count_is_a_clear_message(sarsense, scene, tmp_path):
    three = contract(inputs=[{"name": n, "units": "dB"} for n in ("HH", "HV", "incidence")],
                     normalisation={"method": "offset_scale", "offset": 0, "scale": 1})
    model = conv_net(tmp_path / "m3.onnx", channels=3, contract_dict=three)
    with pytest.raises(QgsProcessingException, match=r"needs 3 input band\(s\).*Input raster \(INPUT\) has 2"):
        apply_model({"INPUT": scene, "MODEL": model, "OUTPUT": str(tmp_path / "o.tif")})
    assert not os.path.exists(tmp_path / "o.tif")


def test_model_without_contract_is_refused(sarsense, scene, tmp_path):
    model = conv_net(tmp_path / "plain.onnx", contract_dict=None)
    with pytest.raises(QgsProcessingException, match="has no SARSense contract"):
        apply_model({"INPUT": scene, "MODEL": model, "OUTPUT": str(tmp_path / "o.tif")})


def test_missing_onnxruntime_is_reported_by_can_execute(sarsense, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    ok, message = sarsense.algorithm("applymodel").canExecute()
    assert not ok
    assert ("needs onnxruntime" in message and "Plugins ▸ SARSense ▸ Install missing Python packages…" in message
            and "restart" not in message.replace("no restart needed", ""))
    assert sarsense.algorithm("despeckle").canExecute()[0]  # the rest of the plugin still works


class CancelAfterFirstTile(QgsProcessingFeedback):
    def setProgress(self, progress):
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_cancel_leaves_no_output(sarsense, scene, tmp_path):
    model = conv_net(tmp_path / "m.onnx", contract_dict=contract(tiling={"tile_size": 32, "halo": 2,
                                                                          "receptive_field": 7}))
    alg = sarsense.algorithm("applymodel").create()
    out = tmp_path / "c.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run({"INPUT": scene, "MODEL": model, "BATCH": 1, "OUTPUT": str(out)}, QgsProcessingContext(),
                CancelAfterFirstTile(), catchExceptions=False)
    assert not list(tmp_path.glob("c.tif*"))


def test_applymodel_offers_the_bundled_model(sarsense):
    default = sarsense.algorithm("applymodel").parameterDefinition("MODEL").defaultValue()
    assert default and os.path.basename(default) == "s1_despeckle_example.onnx" and os.path.exists(default)
    assert "s1_despeckle_example.onnx" in sarsense.algorithm("applymodel").shortHelpString()
