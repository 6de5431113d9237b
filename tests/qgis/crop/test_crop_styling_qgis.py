"""Crop maps a person can read, in real QGIS: the rice map's classes render in clearly different colours, the
sieved map and the rice workflow's main result load with their class names and colours (not grey), and the
workflow's dialog and Modeler layout are in order."""

import numpy as np
import pytest
from helpers import REPO
from qgis.core import (
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPalettedRasterRenderer,
    QgsProcessingModelAlgorithm,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

from sarsense.algorithms.io import stack as _stack
from sarsense.algorithms.io.raster import read_class_table
from sarsense.simulators import rice_landscape as rl

MODEL = REPO / "resources" / "workflows" / "rice_mapping.model3"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("rice_style")
    sc = rl.write_scene(out, rows=60, cols=60, seed=5, reference_points=150)
    sc["dir"] = out
    return sc


@pytest.fixture(scope="module")
def ndvh(scene, sarsense):
    from qgis_helpers import run
    stack = run("buildstack", {"INPUTS": scene["paths"]["vh"], "OUTPUT": str(scene["dir"] / "vh.tif")})["OUTPUT"]
    assert len(_stack.band_dates(stack)) == rl.N_DATES
    return run("waternormalized", {"INPUT": stack, "INPUT_UNITS": 1, "WATER": scene["paths"]["water"],
                                   "OUTPUT": str(scene["dir"] / "ndvh.tif")})["OUTPUT"]


def _loaded(path):
    """The raster layer of ``path`` that Processing loaded into the project."""
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values()
              if isinstance(lyr, QgsRasterLayer) and lyr.source() == str(path)]
    assert len(layers) == 1, [lyr.source() for lyr in QgsProject.instance().mapLayers().values()]
    return layers[0]


def _rendered(layer):
    """``layer`` drawn by QGIS's map renderer, one screen pixel per raster pixel: (rows, cols, RGB) uint8."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(layer.width(), layer.height()))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    return np.array([[QColor(img.pixel(c, r)).getRgb()[:3] for c in range(img.width())]
                     for r in range(img.height())], dtype=np.uint8)


def _class_colours(layer, values):
    """The median rendered colour of the pixels of each class value."""
    from osgeo import gdal
    data = gdal.Open(layer.source()).ReadAsArray()
    rgb = _rendered(layer).astype(float)
    inner = np.zeros(data.shape, bool)
    inner[2:-2, 2:-2] = True                     # away from the edge, where resampling could blend
    return {v: np.median(rgb[(data == v) & inner], axis=0) for v in values}


def test_rice_map_classes_render_in_clearly_different_colours(sarsense, qgis_iface, ndvh, tmp_path):
    import processing
    QgsProject.instance().removeAllMapLayers()
    out = tmp_path / "rice.tif"
    processing.runAndLoadResults("sarsense:ricethreshold", {"NDVH": ndvh, "SEASON_START": "2019-03-10",
                                                            "SEASON_END": "2019-04-27", "OUTPUT": str(out)})
    layer = _loaded(out)
    r = layer.renderer()
    assert isinstance(r, QgsPalettedRasterRenderer)
    assert {c.value: c.label for c in r.classes()} == {0: "not rice", 1: "rice"}
    colours = _class_colours(layer, (0, 1))
    # 'not rice' used to take rice's green ('rice' in 'not rice'): two greens 79 apart in RGB; now grey vs green
    assert np.linalg.norm(colours[0] - colours[1]) > 100, colours
    green = colours[1]
    assert green[1] > green[0] + 40 and green[1] > green[2] + 40            # rice is green
    assert np.ptp(colours[0]) < 20                                         # not rice is a neutral grey
    QgsProject.instance().removeAllMapLayers()


def test_sieved_map_loads_with_class_names_and_colours(sarsense, qgis_iface, ndvh, tmp_path):
    import processing
    from qgis_helpers import run
    rice = run("ricethreshold", {"NDVH": ndvh, "SEASON_START": "2019-03-10", "SEASON_END": "2019-04-27",
                                 "OUTPUT": str(tmp_path / "rice.tif")})["OUTPUT"]
    QgsProject.instance().removeAllMapLayers()
    out = tmp_path / "sieved.tif"
    processing.runAndLoadResults("sarsense:sieveclasses", {"INPUT": rice, "THRESHOLD": 8, "OUTPUT": str(out)})
    r = _loaded(out).renderer()
    assert isinstance(r, QgsPalettedRasterRenderer)
    got = {c.value: (c.label, c.color.name()) for c in r.classes()}
    assert got == {c["value"]: (c["name"], c["color"]) for c in read_class_table(rice)}
    assert got[1][0] == "rice" and got[0][1] != got[1][1]
    QgsProject.instance().removeAllMapLayers()


def test_rice_workflow_result_loads_with_class_names_and_colours(sarsense, qgis_iface, scene, tmp_path):
    import processing
    QgsProject.instance().removeAllMapLayers()
    out = tmp_path / "rice_map.tif"
    processing.runAndLoadResults("sarsense:rice_mapping", {
        "vh_scenes": scene["paths"]["vh"], "water": scene["paths"]["water"], "season_start": "2019-03-10",
        "season_end": "2019-04-27", "water_date": "2019-01-21", "min_field_px": 10,
        "reference": scene["paths"]["reference"], "reference_field": "rice", "sieve:Rice map": str(out),
        "accuracy:Accuracy and area table": str(tmp_path / "acc.csv"),
        "accuracy:Accuracy report": str(tmp_path / "acc.html")})
    layer = _loaded(out)
    r = layer.renderer()
    assert isinstance(r, QgsPalettedRasterRenderer), type(r).__name__      # was a grey single-band renderer
    assert {c.value: c.label for c in r.classes()} == {0: "not rice", 1: "rice"}
    colours = _class_colours(layer, (0, 1))
    assert np.linalg.norm(colours[0] - colours[1]) > 100, colours
    QgsProject.instance().removeAllMapLayers()


def test_rice_workflow_inputs_in_order_and_its_layout_without_overlaps(sarsense):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL))
    names = [p.name() for p in model.parameterDefinitions() if not p.isDestination()]
    assert names[0] == "vh_scenes" and names.index("season_start") + 1 == names.index("season_end")
    assert names.index("reference") + 1 == names.index("reference_field")
    assert model.childAlgorithm("sieve").algorithmId() == "sarsense:sieveclasses"
    boxes = {}                                   # QGIS draws a component centred on its position
    for name, comp in model.parameterComponents().items():
        boxes[f"input {name}"] = (comp.position(), comp.size())
    for cid, child in model.childAlgorithms().items():
        boxes[f"step {cid}"] = (child.position(), child.size())
        for oname, o in child.modelOutputs().items():
            boxes[f"output {oname}"] = (o.position(), o.size())
    rects = {k: (p.x() - s.width() / 2, p.y() - s.height() / 2, p.x() + s.width() / 2, p.y() + s.height() / 2)
             for k, (p, s) in boxes.items()}
    for k, (x0, y0, _, _) in rects.items():
        assert x0 >= 0 and y0 >= 0, f"{k} is off the canvas: {rects[k]}"
    keys = sorted(rects)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            ra, rb = rects[a], rects[b]
            assert ra[2] <= rb[0] or rb[2] <= ra[0] or ra[3] <= rb[1] or rb[3] <= ra[1], f"{a} overlaps {b}"
    # the canvas reads top to bottom as the dialog does
    ys = [model.parameterComponent(n).position().y() for n in ("vh_scenes", "season_start", "season_end")]
    assert ys == sorted(ys)
