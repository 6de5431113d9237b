"""The QGIS plugin object: registers the Processing provider, offers the one-click dependency install."""

from __future__ import annotations

import os

from qgis.core import QgsApplication

from . import setup_tools


def deps_dir():
    """SARSense's private package folder inside the active QGIS profile (or ``$SARSENSE_DEPS_DIR``)."""
    return setup_tools.deps_dir(QgsApplication.qgisSettingsDirPath().rstrip("/\\"))


class SarsensePlugin:
    """Plugin entry: ``initProcessing`` for qgis_process, ``initGui`` for QGIS desktop."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        setup_tools.add_to_path(deps_dir())

    def initProcessing(self):  # noqa: N802 (QGIS API)
        from .provider import SarsenseProvider

        if self.provider is None:
            self.provider = SarsenseProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()
        if self.iface is None or not setup_tools.missing_modules():
            return
        from qgis.PyQt.QtWidgets import QAction

        self.action = QAction("SARSense: install onnxruntime and scikit-learn…", self.iface.mainWindow())
        self.action.triggered.connect(self.install_dependencies)
        self.iface.addPluginToMenu("SARSense", self.action)

    def install_dependencies(self):
        """One-click install of the missing runtime packages into the private folder (numpy pinned)."""
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtGui import QCursor
        from qgis.PyQt.QtWidgets import QApplication, QMessageBox

        target = deps_dir()
        QApplication.setOverrideCursor(QCursor(Qt.WaitCursor))
        try:
            installed = setup_tools.install_deps(target, log=lambda msg: None)
        except RuntimeError as err:
            QApplication.restoreOverrideCursor()
            QMessageBox.critical(self.iface.mainWindow(), "SARSense", str(err))
            return
        QApplication.restoreOverrideCursor()
        setup_tools.add_to_path(target)
        if self.provider is not None:
            self.provider.refreshAlgorithms()
        QMessageBox.information(self.iface.mainWindow(), "SARSense",
                                f"Installed into {target}:\n" + ("\n".join(installed) or "nothing was missing"))

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.action is not None and self.iface is not None:
            self.iface.removePluginMenu("SARSense", self.action)
            self.action = None


def icon_path():
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icons", "sarsense.svg")
