"""What every SARSense Processing algorithm shares: parameter help, engine callbacks, error translation.

An algorithm stays thin: read parameters, check inputs, call one core
function through :meth:`SarsenseAlgorithm.run_core`, style and return outputs.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ...algorithms import sar
from ...algorithms.io import COMPRESSIONS, DEFAULT_COMPRESSION, Cancelled, read_info, sample_values
from .. import setup_tools
from ..plugin import icon_path

README_URL = "https://github.com/sarsense/sarsense#"
#: Blocks computed at once. Two cores are the smallest machine we support; more rarely pays off.
WORKERS = max(1, min(4, os.cpu_count() or 1))


class SarsenseAlgorithm(QgsProcessingAlgorithm):
    """Base of all SARSense algorithms (group, icon, help, error and cancel handling)."""

    COMPRESSION = "COMPRESSION"
    _group = ("SAR preparation", "sarpreparation")
    #: Modules beyond QGIS's own Python this algorithm needs (``setup_tools.RUNTIME_MODULES`` keys).
    requires = ()

    # -- identity --------------------------------------------------------------------
    def tr(self, text):
        return QCoreApplication.translate("SARSense", text)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def group(self):
        return self.tr(self._group[0])

    def groupId(self):  # noqa: N802
        return self._group[1]

    def icon(self):
        return QIcon(icon_path())

    def svgIconPath(self):  # noqa: N802
        return icon_path()

    def helpUrl(self):  # noqa: N802
        return README_URL + self.name()

    def canExecute(self):  # noqa: N802
        """False, with what to install and how, when a package this algorithm needs is missing."""
        missing = [m for m in self.requires if m in setup_tools.missing_modules()]
        if not missing:
            return True, ""
        names = " and ".join(setup_tools.RUNTIME_MODULES[m] for m in missing)
        return False, self.tr(
            f"{self.displayName()} needs {names}, which QGIS's Python does not have. Install it with "
            "Plugins ▸ SARSense ▸ 'install onnxruntime and scikit-learn…' (one click, into SARSense's own "
            "folder, keeping QGIS's numpy), or run 'make setup' in the plugin folder; then restart QGIS.")

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """Refuse to start when a needed package is missing (qgis_process 3.22 never asks canExecute)."""
        ok, message = self.canExecute()
        if not ok:
            return False, message
        return super().checkParameterValues(parameters, context)

    # -- parameters ------------------------------------------------------------------
    def add(self, param, help_text, *, advanced=False):
        """Add ``param`` with its help text (shown in the dialog and by ``qgis_process help``)."""
        param.setHelp(self.tr(help_text))
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(param)
        return param

    def add_compression(self):
        self.add(QgsProcessingParameterEnum(self.COMPRESSION, self.tr("Output compression"), options=list(COMPRESSIONS),
                                            defaultValue=COMPRESSIONS.index(DEFAULT_COMPRESSION)),
                 "GeoTIFF compression of the output. ZSTD (default) is fast and small; NONE is fastest to "
                 "write; DEFLATE and LZW are the most widely readable but slower.", advanced=True)

    def compression(self, parameters, context):
        return COMPRESSIONS[self.parameterAsEnum(parameters, self.COMPRESSION, context)]

    def odd_size_problem(self, parameters, context, name="SIZE"):
        """A message when window parameter ``name`` is even, else None (for ``checkParameterValues``)."""
        size = self.parameterAsInt(parameters, name, context)
        return None if size % 2 else self.tr(f"Window size must be odd (3, 5, 7, …); got {size}.")

    def raster_path(self, parameters, name, context):
        """File path of a raster parameter, with a clear error when it cannot be used."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(self.invalidRasterError(parameters, name))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(self.tr(f"{name}: '{layer.name()}' is a {layer.providerType()} layer; "
                                                 "SARSense reads files through GDAL. Export it to GeoTIFF first."))
        return layer.source()

    # -- running the core ------------------------------------------------------------
    @staticmethod
    def callbacks(feedback):
        """Progress and cancel callbacks of the block engine for a Processing feedback."""
        if feedback is None:
            return {}
        return {"progress": lambda f: feedback.setProgress(100.0 * f), "is_canceled": feedback.isCanceled}

    def run_core(self, func, *args, **kwargs):
        """Call a core function, turning its ``ValueError`` and a cancel into ``QgsProcessingException``."""
        try:
            return func(*args, **kwargs)
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled: no output was written.")) from None
        except ValueError as err:
            raise self.error(str(err)) from None
        except MemoryError:
            raise QgsProcessingException(self.tr("Out of memory: lower the memory budget or close other "
                                                 "programs.")) from None

    def check_units(self, path, expected, param=None, hint=""):
        """Refuse an input whose values do not look like ``expected`` ('db' or 'linear')."""
        try:
            sample = sample_values(path)
        except ValueError as err:
            raise QgsProcessingException(str(err)) from None
        found = sar.guess_units(sample)
        param = param or "INPUT"
        if found == "unknown" or found == expected:
            return
        rng = sar.describe_range(sample)
        if expected == "linear":
            raise QgsProcessingException(self.tr(
                f"{param} looks like dB (values {rng}, some negative) but linear power is needed. "
                f"Convert it with 'Convert SAR units' (dB → linear) first{hint}."))
        raise QgsProcessingException(self.tr(
            f"{param} looks like linear power (values {rng}, none negative) but dB is expected. "
            f"Convert it with 'Convert SAR units' (linear → dB) first{hint}."))

    def error(self, message):
        """A ``QgsProcessingException`` prefixed with the algorithm's name, ready to raise."""
        return QgsProcessingException(f"{self.displayName()}: {message}")

    @staticmethod
    def band_count(path):
        return read_info(path).band_count
