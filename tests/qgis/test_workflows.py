"""Every shipped workflow (resources/workflows/*.model3) as a newcomer meets it: its dialog asks for the main
inputs first, its Help button opens its own page, its help panel reads whole, and the Graphical Modeler shows
it with no box on another and nothing off the canvas."""

import html
import pathlib
import re

import pytest
from helpers import REPO
from qgis.core import (
    QgsProcessingModelAlgorithm,
    QgsProcessingModelParameter,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterField,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QPointF

WORKFLOW_FILES = sorted((REPO / "resources" / "workflows").glob("*.model3"))
#: Parameter types a workflow's data comes in as (the rest are options: numbers, choices, dates, CRS, text).
DATA_TYPES = {"raster", "vector", "source", "multilayer", "file", "layer", "mesh", "pointcloud", "band"}
#: Pairs whose first must come first in the dialog (by parameter name or label).
PAIRS = (("start", "end"), ("min", "max"), ("from", "to"), ("first", "last"))


def load(path):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(path)), path
    return model


def inputs(model):
    """The workflow's inputs in the order its dialog shows them."""
    return [p for p in model.parameterDefinitions() if not p.isDestination()]


def is_data(param):
    return param.type() in DATA_TYPES


def input_order_problems(model):
    """Why the dialog's order is not 'main inputs first' (empty list: it is)."""
    params = inputs(model)
    names = [p.name() for p in params]
    problems = []
    if params and not (is_data(params[0]) and not params[0].flags() & params[0].FlagOptional):
        problems.append(f"the first input '{params[0].description()}' is not a required data input")
    for i, p in enumerate(params):
        if isinstance(p, QgsProcessingParameterField) and p.parentLayerParameterName() in names[i:]:
            problems.append(f"field '{p.description()}' comes before its layer")
    for first, last in PAIRS:
        for i, p in enumerate(params):
            for j, q in enumerate(params):
                for key in ("name", "description"):
                    a, b = getattr(p, key)().lower(), getattr(q, key)().lower()
                    if j < i and re.search(rf"\b{first}\b", a.replace("_", " ")) and \
                            a.replace(first, last) == b:
                        problems.append(f"'{q.description()}' comes before '{p.description()}'")
    return sorted(set(problems))


def boxes(model):
    """``{what: (left, top, right, bottom)}`` of every box the Modeler draws (positions are box centres)."""
    found = {}

    def add(what, comp):
        p, s = comp.position(), comp.size()
        found[what] = (p.x() - s.width() / 2, p.y() - s.height() / 2, p.x() + s.width() / 2, p.y() + s.height() / 2)
        comment = comp.comment() if hasattr(comp, "comment") else None
        if comment is not None and comment.description():
            add(f"comment of {what}", comment)

    for name in model.parameterComponents():
        add(f"input '{name}'", model.parameterComponent(name))
    for child in model.childAlgorithms().values():
        add(f"step '{child.childId()}'", child)
        for out in child.modelOutputs().values():
            add(f"output '{out.name()}'", out)
    for i, group in enumerate(model.groupBoxes()):
        add(f"group box {i}", group)
    return found


def layout_problems(model):
    """Boxes off the canvas (left or above the origin) and boxes on one another."""
    found = boxes(model)
    problems = [f"{what} is off the canvas at ({r[0]:.0f}, {r[1]:.0f})" for what, r in found.items()
                if r[0] < 0 or r[1] < 0]
    items = sorted(found.items())
    for i, (what_a, a) in enumerate(items):
        for what_b, b in items[i + 1:]:
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                problems.append(f"{what_a} and {what_b} overlap")
    return problems


def canvas_order(model):
    """The inputs as the Modeler's canvas reads (top to bottom, left to right)."""
    comps = [model.parameterComponent(p.name()) for p in inputs(model)]
    return [c.parameterName() for c in sorted(comps, key=lambda c: (c.position().y(), c.position().x()))]


def rendered(text):
    """What Qt's rich-text engine shows of an algorithm's help, laid out as QGIS's dialog does (one paragraph per
    line under the title)."""
    from qgis.PyQt.QtGui import QTextDocument
    doc = QTextDocument()
    doc.setHtml("<h2>title</h2>" + "".join(f"<p>{line}</p>" for line in text.split("\n")))
    return doc.toPlainText()


@pytest.fixture(scope="module")
def workflows(sarsense):
    models = {a.name(): a for a in sarsense.algorithms() if isinstance(a, QgsProcessingModelAlgorithm)}
    assert sorted(models) == [p.stem for p in WORKFLOW_FILES]
    return models


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_workflow_dialog_asks_for_the_main_inputs_first(sarsense, path):
    model = load(path)
    assert input_order_problems(model) == []
    assert canvas_order(model) == [p.name() for p in inputs(model)], "the canvas reads in the dialog's order"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_workflow_boxes_are_on_the_canvas_and_apart(sarsense, path):
    assert layout_problems(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.stem)
def test_workflow_has_its_help_page_and_a_whole_summary(workflows, path):
    model = workflows[path.stem]
    url = model.helpUrl()
    assert url.startswith("file://"), f"{path.name}: no Help button (help URL {url!r})"
    page = pathlib.Path(url[len("file://"):])
    assert page.name == f"{path.stem}.html" and page.exists(), url
    text = page.read_text(encoding="utf-8")
    assert f"sarsense:{path.stem}" in text and html.escape(model.displayName(), quote=False) in text
    summary = model.shortHelpString()
    plain = html.unescape(summary)
    assert len(plain) > 80 and "<" not in summary.replace("&lt;", "")
    shown = set(re.findall(r"\w+", rendered(summary)))
    assert [w for w in re.findall(r"\w+", plain) if w not in shown] == []
    for param in inputs(model):
        assert param.description().lower() in plain.lower() or param.flags() & param.FlagAdvanced, \
            f"{path.name}: the summary names every input by its label ({param.description()!r} is missing)"
        assert len(html.unescape(param.help())) > 20, f"{path.name}: input '{param.name()}' has no help (tooltip)"


def test_the_checks_find_what_they_look_for(sarsense):
    """The order and layout checks above fail on a workflow laid out badly (options first, a box on another,
    an input left of the canvas, Season end before Season start)."""
    model = load(REPO / "resources" / "workflows" / "sea_ice_chart.model3")
    names = [p.name() for p in inputs(model)]
    model.setParameterOrder(list(reversed(names)))
    variant = model.toVariant()
    model = QgsProcessingModelAlgorithm()  # the order applies when the definitions are read again
    model.loadVariant(variant)
    assert any("is not a required data input" in p for p in input_order_problems(model))
    comp = model.parameterComponent(names[0])
    comp.setPosition(model.parameterComponent(names[1]).position())
    model.setParameterComponent(comp)
    assert any("overlap" in p for p in layout_problems(model))
    comp.setPosition(QPointF(-20.0, 60.0))
    model.setParameterComponent(comp)
    assert any("off the canvas" in p for p in layout_problems(model))
    dated = QgsProcessingModelAlgorithm()
    for name, label in (("scene", "Scene"), ("season_end", "Season end"), ("season_start", "Season start")):
        param = QgsProcessingParameterRasterLayer(name, label) if name == "scene" else \
            QgsProcessingParameterDateTime(name, label)
        dated.addModelParameter(param, QgsProcessingModelParameter(name))
    assert input_order_problems(dated) == ["'Season end' comes before 'Season start'"]
