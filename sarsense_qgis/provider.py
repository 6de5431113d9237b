"""The SARSense Processing provider."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .plugin import icon_path
from .processing import ALGORITHMS


class SarsenseProvider(QgsProcessingProvider):
    """Provider id ``sarsense``: every algorithm is ``sarsense:<name>``."""

    def id(self):
        return "sarsense"

    def name(self):
        return "SARSense"

    def longName(self):  # noqa: N802
        return "SARSense: SAR and thermal remote sensing"

    def icon(self):
        return QIcon(icon_path())

    def svgIconPath(self):  # noqa: N802
        return icon_path()

    def loadAlgorithms(self):  # noqa: N802
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802
        return ["tif"]

    def defaultRasterFileExtension(self):  # noqa: N802
        return "tif"
