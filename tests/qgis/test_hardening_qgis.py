"""Issue #7 (hardening) in real QGIS: messages a person can act on, the desktop's menu, help, workflows."""

import os
import pathlib

import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster, write_raster
from qgis.core import QgsProcessingException, QgsProcessingModelAlgorithm
from qgis_helpers import run


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


def test_despeckle_defaults_run_on_the_bundled_db_scene(sarsense, sample_db, tmp_path):
    alg = sarsense.algorithm("despeckle")
    assert alg.parameterDefinition("INPUT_UNITS").defaultValue() == 1
    assert "not dB" not in alg.shortHelpString()
    out = run("despeckle", {"INPUT": sample_db, "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"]
    assert np.nanmedian(read_raster(out)) < 0  # still dB


def test_number_boxes_show_two_decimals(sarsense):
    alg = sarsense.algorithm("despeckle")
    for name in ("LOOKS", "DAMPING"):
        assert alg.parameterDefinition(name).metadata()["widget_wrapper"]["decimals"] == 2


def test_help_is_shipped_and_matches_the_readme(sarsense):
    from sarsense.sarsense_qgis import help as shipped
    for name, text in shipped.build().items():
        assert (shipped.HELP_DIR / name).read_text(encoding="utf-8") == text, f"run 'make help' ({name} is stale)"
    for alg in sarsense.algorithms():
        if isinstance(alg, QgsProcessingModelAlgorithm):
            continue
        url = alg.helpUrl()
        assert url.startswith("file://") and "github.com" not in url
        page = pathlib.Path(url[len("file://"):])
        assert page.name == f"{alg.name()}.html" and page.exists(), alg.name()
        assert f"sarsense:{alg.name()}" in page.read_text(encoding="utf-8")


def test_workflows_are_in_the_toolbox(sarsense):
    models = [a for a in sarsense.algorithms() if isinstance(a, QgsProcessingModelAlgorithm)]
    shipped = sorted((REPO / "resources" / "workflows").glob("*.model3"))
    assert len(models) == len(shipped) >= 1
    assert sorted(m.id() for m in models) == sorted(f"sarsense:{p.stem}" for p in shipped), "ids from file names"
    for model in models:
        assert model.group() == "Workflows" and model.displayName() != model.name(), "a human name in the toolbox"
        assert model.create().id() == model.id()
        ok, errors = model.validate()
        assert ok, errors
        boxes = []
        for child in model.childAlgorithms().values():
            assert child.description() != child.childId(), "steps have human names"
            boxes.append((child.position(), child.size()))
            for out in child.modelOutputs().values():
                assert out.description() and out.position().x() > 0
                assert " " in out.name(), "outputs have human names (the dialog's label)"
                boxes.append((out.position(), out.size()))
        for name in model.parameterComponents():
            comp = model.parameterComponent(name)
            boxes.append((comp.position(), comp.size()))
        rects = [(p.x() - s.width() / 2, p.y() - s.height() / 2, p.x() + s.width() / 2, p.y() + s.height() / 2)
                 for p, s in boxes]
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                assert not overlap, f"boxes overlap in {model.name()}: {a} {b}"


def test_applymodel_offers_the_bundled_model(sarsense):
    default = sarsense.algorithm("applymodel").parameterDefinition("MODEL").defaultValue()
    assert default and os.path.basename(default) == "s1_despeckle_example.onnx" and os.path.exists(default)
    assert "s1_despeckle_example.onnx" in sarsense.algorithm("applymodel").shortHelpString()


def test_buildstack_names_the_empty_bolivia_dates_and_can_drop_them(sarsense, tmp_path):
    files = sorted(str(p) for p in STACK_DIR.glob("*.tif"))
    from osgeo import gdal
    empty = []
    for f in files:
        ds = gdal.Open(f)
        a = ds.ReadAsArray().astype(np.float32)
        nd = ds.GetRasterBand(1).GetNoDataValue()
        if not np.isfinite(np.where(a == np.float32(nd), np.nan, a) if nd is not None else a).any():
            empty.append(os.path.basename(f)[:10])
    assert len(empty) >= 1
    res = run("buildstack", {"INPUTS": files, "OUTPUT": str(tmp_path / "s.tif")})
    assert res["EMPTY_DATES"].split(",") == empty
    res = run("buildstack", {"INPUTS": files, "DROP_EMPTY": True, "OUTPUT": str(tmp_path / "d.tif")})
    assert not set(res["DATES"].split(",")) & set(empty)
    assert len(res["DATES"].split(",")) == len(files) - len(empty)


def test_class_map_reopened_in_qgis_shows_its_classes(sarsense, tmp_path):
    from onnx_models import contract, conv_net
    from qgis.core import QgsPalettedRasterRenderer, QgsRasterLayer
    classes = [{"value": 0, "name": "water", "color": "#0064ff"}, {"value": 1, "name": "land", "color": "#00aa00"}]
    seg = contract(task="segmentation", output={"activation": "softmax"}, classes=classes)
    model = conv_net(tmp_path / "s.onnx", outputs=2, contract_dict=seg)
    src = write_raster(tmp_path / "in.tif", np.random.default_rng(0).normal(-15, 3, (2, 40, 40)).astype(np.float32))
    out = run("applymodel", {"INPUT": src, "MODEL": model, "OUTPUT": str(tmp_path / "c.tif")})["OUTPUT"]
    layer = QgsRasterLayer(out, "reopened")  # a fresh layer, no SARSense styling involved
    assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
    colours = {c.value: c.color.name() for c in layer.renderer().classes()}
    assert colours[0] == "#0064ff" and colours[1] == "#00aa00"


def test_plugin_menu_is_one_consistent_menu(qgis_iface, monkeypatch):
    from sarsense.sarsense_qgis import plugin, resources, setup_tools
    monkeypatch.setattr(qgis_iface, "addPluginToMenu", lambda menu, action: added.append((menu, action)),
                        raising=False)
    monkeypatch.setattr(qgis_iface, "removePluginMenu", lambda menu, action: removed.append((menu, action)),
                        raising=False)
    added, removed = [], []
    monkeypatch.setattr(plugin.SarsensePlugin, "initProcessing", lambda self: None)  # the session's provider stays
    monkeypatch.setattr(setup_tools, "missing_modules", lambda: [])
    p = plugin.SarsensePlugin(qgis_iface)
    p.initGui()
    texts = [a.text() for _, a in added]
    assert {m for m, _ in added} == {"SARSense"}
    assert texts == [resources.INSTALLED_ACTION, resources.HELP_ACTION] and not added[0][1].isEnabled()
    monkeypatch.setattr(setup_tools, "missing_modules", lambda: ["onnxruntime"])
    p.update_install_action()
    assert added[0][1].text() == resources.INSTALL_ACTION and added[0][1].isEnabled()
    assert "no restart needed" in added[0][1].toolTip()
    p.unload()
    assert len(removed) == 2


def test_plugin_manager_describes_what_this_version_contains(sarsense):
    meta = (REPO / "metadata.txt").read_text(encoding="utf-8")
    description = [line for line in meta.splitlines() if line.startswith("description=")][0].lower()
    groups = {a.group() for a in sarsense.algorithms()}
    suites = {"Soil moisture": "soil moisture", "Crop mapping": "rice", "Land surface temperature":
              "land-surface temperature", "Sea ice": "sea ice"}
    for group, phrase in suites.items():
        assert (phrase in description) == (group in groups), f"{phrase!r}: described iff the suite is there"
    assert "speckle" in description and "onnx" in description
