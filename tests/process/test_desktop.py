"""The QGIS desktop as a person sees it: a real QGIS window under Xvfb (tests/desktop/look.py)."""

import json
import shutil
import subprocess

import pytest
from helpers import REPO

pytestmark = pytest.mark.skipif(not (shutil.which("xvfb-run") and shutil.which("qgis")),
                                reason="needs the QGIS desktop and xvfb-run (Debian: apt install qgis xvfb)")


@pytest.fixture(scope="module")
def looked(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("look")
    e = dict(env, SARSENSE_LOOK_DIR=str(out))
    e.pop("QT_QPA_PLATFORM")  # a real X display (Xvfb), not offscreen
    res = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--nologo", "--noversioncheck",
                          "--code", str(REPO / "tests" / "desktop" / "look.py")],
                         env=e, capture_output=True, text=True, timeout=240)
    assert (out / "facts.json").exists(), res.stdout[-3000:] + res.stderr[-3000:]
    return out, json.loads((out / "facts.json").read_text())


def test_desktop_opens_every_part_without_error(looked):
    out, facts = looked
    assert facts["errors"] == []
    names = {p.name for p in out.glob("*.png")}
    assert {"main_window.png", "menu.png", "toolbox.png", "dialog_despeckle.png", "dialog_applymodel.png"} <= names
    assert any(n.startswith("modeler_") for n in names)
    assert all((out / n).stat().st_size > 2000 for n in names), "screenshots are not blank"


def test_one_sarsense_menu_with_install_state_and_help(looked):
    _, facts = looked
    assert list(facts["menus"]) == ["Plugins"]
    entries = facts["menus"]["Plugins"]
    assert any(e.startswith("Python packages") for e in entries) and "SARSense help" in entries
    assert "Getting started" in entries


def test_toolbox_groups_and_dialog_labels(looked):
    _, facts = looked
    groups = {g for g, _, _ in facts["toolbox"]}
    assert {"SAR preparation", "Neural networks", "Workflows"} <= groups and "Models" not in groups
    assert ["Workflows", "SAR chain: dB → Gamma-MAP → dB", "sarsense:sar_chain_db_gammamap"] in facts["toolbox"]
    labels = facts["dialogs"]["sarsense:despeckle"]
    assert "Input units" in labels and "Equivalent number of looks (ENL)" in labels
    assert not any(lbl.isupper() and "_" in lbl for d in facts["dialogs"].values() for lbl in d), "labels, not ids"
    assert any("s1_despeckle_example.onnx" in lbl for lbl in facts["dialogs"]["sarsense:applymodel"])


def test_workflow_has_human_names_in_the_modeler(looked):
    _, facts = looked
    flow = facts["workflows"]["sarsense:sar_chain_db_gammamap"]
    assert all(" " in s for s in flow["steps"] + flow["inputs"] + flow["outputs"])


def test_help_panels_read_whole_and_every_workflow_has_a_help_button(looked):
    """The dialogs' own help panels (Qt's rich text) show the rules that '<' used to hide, and every algorithm
    and workflow has a Help button (a help URL)."""
    _, facts = looked
    shown = facts["help"]
    assert "NDVH < Flooding threshold on a date" in " ".join(shown["sarsense:ricethreshold"]["panel"].split())
    assert "< 1/10 and bergy water → 0" in shown["sarsense:icechartclasses"]["panel"]
    assert "Output bands: '<pol> <quantity>'" in shown["sarsense:importsentinel1"]["panel"]
    assert [a for a, f in shown.items() if not f["button"]] == [], "no Help button"
    workflows = [a for a in shown if a in facts.get("workflows", {})]
    assert len(workflows) >= 8 and all(len(shown[a]["panel"].split()) > 25 for a in workflows)
    assert "Land mask (polygons or raster)" in shown["sarsense:sea_ice_chart"]["panel"]


def test_the_dask_scheduler_setting_is_under_providers_sarsense(looked):
    """Processing ▸ Options ▸ Providers ▸ SARSense lists the Dask scheduler, empty (this computer) by default."""
    out, facts = looked
    rows = facts["options"]
    assert [label for label, _ in rows if label.startswith("Dask scheduler")], rows
    assert [value for label, value in rows if label.startswith("Dask scheduler")] == [""]
    assert (out / "options_providers.png").stat().st_size > 2000
