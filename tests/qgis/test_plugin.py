"""The plugin in real QGIS: its help pages, the workflows in the toolbox, class maps reopened with their classes,
the one SARSense menu and what the plugin manager shows."""

import pathlib
import re

import numpy as np
from helpers import REPO, write_raster
from qgis.core import QgsProcessingModelAlgorithm
from qgis_helpers import run


def test_help_is_shipped_and_matches_the_docs(sarsense):
    from sarsense.sarsense_qgis import help as shipped
    for name, text in shipped.build().items():
        assert (shipped.HELP_DIR / name).read_text(encoding="utf-8") == text, f"run 'make help-pages' ({name} is stale)"
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
    assert texts == [resources.INSTALLED_ACTION, resources.GETTING_STARTED_ACTION, resources.HELP_ACTION]
    assert not added[0][1].isEnabled()
    monkeypatch.setattr(setup_tools, "missing_modules", lambda: ["onnxruntime"])
    p.update_install_action()
    assert added[0][1].text() == resources.INSTALL_ACTION and added[0][1].isEnabled()
    assert "no restart needed" in added[0][1].toolTip()
    p.unload()
    assert len(removed) == 3


def test_plugin_manager_describes_what_this_version_contains(sarsense):
    meta = (REPO / "metadata.txt").read_text(encoding="utf-8")
    description = [line for line in meta.splitlines() if line.startswith("description=")][0].lower()
    groups = {a.group() for a in sarsense.algorithms()}
    suites = {"Soil moisture": "soil moisture", "Crop mapping": "rice", "Land surface temperature":
              "land-surface temperature", "Sea ice": "sea ice"}
    for group, phrase in suites.items():
        assert (phrase in description) == (group in groups), f"{phrase!r}: described iff the suite is there"
    assert "speckle" in description and "onnx" in description


def test_getting_started_menu_entry_opens_the_getting_started_page(qgis_iface, monkeypatch):
    """Plugins ▸ SARSense ▸ Getting started opens the page built from docs/getting_started.md, which leads on to
    the workflows' own pages inside the help folder; SARSense help opens the index, which lists it."""
    from qgis.PyQt.QtGui import QDesktopServices

    from sarsense.sarsense_qgis import help as shipped
    from sarsense.sarsense_qgis import plugin, resources, setup_tools
    added, opened = [], []
    monkeypatch.setattr(qgis_iface, "addPluginToMenu", lambda menu, action: added.append(action), raising=False)
    monkeypatch.setattr(qgis_iface, "removePluginMenu", lambda menu, action: None, raising=False)
    monkeypatch.setattr(plugin.SarsensePlugin, "initProcessing", lambda self: None)
    monkeypatch.setattr(setup_tools, "missing_modules", lambda: [])
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    p = plugin.SarsensePlugin(qgis_iface)
    p.initGui()
    entry = {a.text(): a for a in added}
    entry[resources.GETTING_STARTED_ACTION].trigger()
    entry[resources.HELP_ACTION].trigger()
    p.unload()
    start, index = map(pathlib.Path, opened)
    assert start == shipped.HELP_DIR / "getting_started.html" and start.exists(), start
    assert index.name == "index.html"
    built = shipped.build()
    assert "getting_started.html" in built["index.html"], "the help index lists Getting started"
    page = built["getting_started.html"]
    title = (REPO / "docs" / "getting_started.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert re.search(rf"<h1[^>]*>{re.escape(title)}</h1>", page)
    links = re.findall(r'href="([^"]+)"', page)
    workflows = sorted(p.stem for p in (REPO / "resources" / "workflows").glob("*.model3"))
    assert [w for w in workflows if f"{w}.html" not in links] == [], "each workflow's help page is linked"
    assert all((shipped.HELP_DIR / link.split("#")[0]).exists() for link in links if not link.startswith("#")
               and "://" not in link), "every link leads to a file of the plugin"


#: Parameters #29 added to the soil-moisture algorithms (orbits, porosity, frozen soil): optional with a default,
#: so that a user's model saved before them stays valid.
ADDED_IN_29 = ("ORBITS", "POROSITY", "FROZEN_BELOW", "TEMPERATURE", "OUTPUT_FROZEN")


def test_models_saved_before_new_parameters_stay_valid(sarsense, tmp_path):
    """A Graphical Modeler model that does not set the parameters #29 added (a user's model saved before them)
    still validates and takes their defaults: the shipped workflows with those parameters removed from every step."""
    for path in sorted((REPO / "resources" / "workflows").glob("soil_moisture*.model3")):
        text = path.read_text(encoding="utf-8")
        for key in ADDED_IN_29:
            text = re.sub(rf'\s*<Option name="{key}"[^>]*>\s*<Option type="Map">.*?</Option>\s*</Option>', "", text,
                          flags=re.S)
        assert 'name="POROSITY"' not in text
        old = tmp_path / path.name
        old.write_text(text, encoding="utf-8")
        model = QgsProcessingModelAlgorithm()
        assert model.fromFile(str(old))
        ok, errors = model.validate()
        assert ok, (path.name, errors)
