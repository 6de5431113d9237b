"""Open the QGIS desktop as a person would and record what the SARSense parts look like.

Run inside QGIS (``qgis --code tests/desktop/look.py``, under ``xvfb-run`` when headless; ``make
screenshots`` does both). It waits for the desktop, then saves PNGs of the main window, the
SARSense menu, Processing ▸ Options ▸ Providers ▸ SARSense (the Dask scheduler setting), the Processing toolbox
filtered on SARSense, every algorithm's dialog and every
Workflows model in the Graphical Modeler, and writes ``facts.json`` (menu entries, toolbox groups,
dialog labels, help panels and Help buttons, model component names) that ``tests/process/test_desktop.py``
checks. Output folder: ``$SARSENSE_LOOK_DIR``. QGIS quits when done.
"""

import json
import os
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox, QDockWidget, QLabel, QLineEdit, QTextBrowser
from qgis.utils import iface

OUT = os.environ.get("SARSENSE_LOOK_DIR", os.getcwd())


def shot(widget, name):
    QApplication.processEvents()
    widget.grab().save(os.path.join(OUT, name + ".png"))


def menu_facts(main):
    """{top menu: {SARSense entry: [its actions]}} wherever a SARSense submenu is."""
    found = {}
    for top in main.menuBar().actions():
        for entry in (top.menu().actions() if top.menu() else []):
            if entry.menu() and "SARSense" in entry.text().replace("&", ""):
                found[top.text().replace("&", "")] = [a.text() for a in entry.menu().actions()]
                entry.menu().popup(main.pos())
                shot(entry.menu(), "menu")
                entry.menu().hide()
    return found


def help_facts(dialog):
    """What an algorithm dialog's help panel shows (as plain text) and whether it has a Help button."""
    panel = dialog.findChild(QTextBrowser, "textShortHelp")
    button = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Help)
    return {"panel": panel.toPlainText() if panel is not None else "", "button": button is not None}


def options_facts():
    """Processing ▸ Options as QGIS shows it: the rows under Providers ▸ SARSense (label, value), with a screenshot."""
    from processing.gui.ConfigDialog import ConfigDialog
    dialog = ConfigDialog()
    model, rows = dialog.model, []
    for r in range(model.rowCount()):
        top = model.item(r, 0)
        if top.text() != "Providers":
            continue
        for p in range(top.rowCount()):
            group = top.child(p, 0)
            if group.text() != "SARSense":
                continue
            dialog.tree.expand(top.index())
            dialog.tree.expand(group.index())
            rows = [[group.child(i, 0).text(), group.child(i, 1).text()] for i in range(group.rowCount())]
    dialog.resize(1000, 700)
    dialog.show()
    shot(dialog, "options_providers")
    dialog.close()
    return rows


def look():
    facts = {"errors": []}
    try:
        import processing
        main = iface.mainWindow()
        shot(main, "main_window")
        facts["menus"] = menu_facts(main)
        facts["options"] = options_facts()
        provider = QgsApplication.processingRegistry().providerById("sarsense")
        algs = sorted(provider.algorithms(), key=lambda a: (a.group(), a.displayName()))
        facts["toolbox"] = [[a.group(), a.displayName(), a.id()] for a in algs]
        dock = main.findChild(QDockWidget, "ProcessingToolbox")
        dock.show()
        dock.findChild(QLineEdit).setText("SARSense")
        shot(dock, "toolbox")
        facts["dialogs"] = {}
        for alg in algs:
            if alg.group() == "Workflows":
                from processing.modeler.ModelerDialog import ModelerDialog
                model = alg.create()
                facts.setdefault("workflows", {})[alg.id()] = {
                    "steps": [c.description() for c in model.childAlgorithms().values()],
                    "inputs": [p.description() for p in model.parameterDefinitions()],
                    "outputs": [o.name() for c in model.childAlgorithms().values() for o in c.modelOutputs().values()],
                    "positions": [[c.position().x(), c.position().y(), c.size().width(), c.size().height()]
                                  for c in model.childAlgorithms().values()]}
                run = processing.createAlgorithmDialog(alg.id())
                facts.setdefault("help", {})[alg.id()] = help_facts(run)
                run.close()
                dialog = ModelerDialog.create(model)
                dialog.resize(1400, 900)
                dialog.show()
                shot(dialog, "modeler_" + alg.name())
                dialog.close()
                continue
            dialog = processing.createAlgorithmDialog(alg.id())
            dialog.resize(900, 760)
            dialog.show()
            shot(dialog, "dialog_" + alg.name())
            facts["dialogs"][alg.id()] = [w.text() for w in dialog.findChildren(QLabel) if w.text().strip()]
            facts.setdefault("help", {})[alg.id()] = help_facts(dialog)
            dialog.close()
    except Exception:
        facts["errors"].append(traceback.format_exc())
    with open(os.path.join(OUT, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, ensure_ascii=False)
    QTimer.singleShot(200, QApplication.instance().quit)


QTimer.singleShot(int(os.environ.get("SARSENSE_LOOK_DELAY_MS", "6000")), look)
