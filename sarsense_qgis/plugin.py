"""The QGIS plugin object: registers the Processing provider, offers the one-click dependency install."""

from __future__ import annotations

from qgis.core import QgsApplication

from . import setup_tools
from .resources import GETTING_STARTED_ACTION, HELP_ACTION, INSTALL_ACTION, INSTALLED_ACTION, icon_path


def deps_dir():
    """SARSense's private package folder inside the active QGIS profile (or ``$SARSENSE_DEPS_DIR``)."""
    return setup_tools.deps_dir(QgsApplication.qgisSettingsDirPath().rstrip("/\\"))


class SarsensePlugin:
    """Plugin entry: ``initProcessing`` for qgis_process, ``initGui`` for QGIS desktop.

    The desktop gets one menu, Plugins ▸ SARSense, always: the package installer (enabled while a
    package is missing, disabled and saying so once all are there), Getting started (what to click, suite by
    suite) and the help pages.
    """

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = {}
        setup_tools.add_to_path(deps_dir())

    def initProcessing(self):
        from .provider import SarsenseProvider

        if self.provider is None:
            self.provider = SarsenseProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        parent = self.iface.mainWindow()
        install = QAction(INSTALL_ACTION, parent)
        install.triggered.connect(self.install_dependencies)
        getting_started = QAction(GETTING_STARTED_ACTION, parent)
        getting_started.setToolTip("First runs in the desktop, suite by suite: the menu, the dialog, what to click "
                                   "and what you get")
        getting_started.triggered.connect(self.open_getting_started)
        show_help = QAction(QIcon(icon_path()), HELP_ACTION, parent)
        show_help.triggered.connect(self.open_help)
        self.actions = {"install": install, "getting_started": getting_started, "help": show_help}
        for action in self.actions.values():
            self.iface.addPluginToMenu("SARSense", action)
        self.update_install_action()

    def update_install_action(self):
        """Enable the installer while a package is missing; otherwise say that all are installed."""
        action = self.actions.get("install")
        if action is None:
            return
        missing = setup_tools.missing_modules()
        action.setEnabled(bool(missing))
        action.setText(INSTALL_ACTION if missing else INSTALLED_ACTION)
        names = ", ".join(setup_tools.RUNTIME_MODULES[m] for m in missing)
        action.setToolTip(f"Installs {names} into SARSense's own folder (QGIS's numpy is kept); no restart needed"
                          if missing else "onnxruntime, scikit-learn and dask are installed")

    def open_help(self):
        """The help index (Plugins ▸ SARSense ▸ SARSense help)."""
        self.open_page("index")

    def open_getting_started(self):
        """The Getting started page (Plugins ▸ SARSense ▸ Getting started)."""
        from .help import GETTING_STARTED

        self.open_page(GETTING_STARTED)

    @staticmethod
    def open_page(page):
        """Open the shipped help page ``page`` (resources/help/<page>.html) in the system's browser."""
        from qgis.PyQt.QtCore import QUrl
        from qgis.PyQt.QtGui import QDesktopServices

        from .help import help_url

        QDesktopServices.openUrl(QUrl(help_url(page)))

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
        self.update_install_action()
        QMessageBox.information(self.iface.mainWindow(), "SARSense",
                                f"Installed into {target}:\n" + ("\n".join(installed) or "nothing was missing") +
                                "\n\nThe algorithms that need them can run now; no restart is needed.")

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.iface is not None:
            for action in self.actions.values():
                self.iface.removePluginMenu("SARSense", action)
        self.actions = {}

