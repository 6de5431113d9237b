"""The base of every SARSense Processing algorithm: identity, parameters with their help, one run's options, errors.

An algorithm stays thin: it implements :meth:`SarsenseAlgorithm.process` (read parameters, call one core
job, style and return outputs). The base class's ``processAlgorithm`` runs it with GDAL's block cache
bounded for the whole run and turns the core's ``ValueError`` and a cancel into a
``QgsProcessingException`` that names the parameter as the dialog labels it. Input checks live in
:mod:`.checks`, inputs put on a grid in :mod:`.inputs`, tables and counts in :mod:`.outputs`.
"""

from __future__ import annotations

import os
from functools import partial

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ...algorithms.io import COMPRESSIONS, DEFAULT_COMPRESSION, Cancelled, RunOptions
from ...algorithms.io.engine import RUN_CACHE_MB, cleanup_on_signal, gdal_cache_limit
from .. import help as _help
from .. import setup_tools
from ..resources import INSTALL_ACTION, icon_path
from . import checks, cluster, inputs

#: Blocks computed at once. Two cores are the smallest machine we support; more rarely pays off.
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: Order of the INPUT_UNITS enum everywhere (STYLE.md §8).
UNITS = ("Linear power", "dB")


class SarsenseAlgorithm(QgsProcessingAlgorithm):
    """Base of all SARSense algorithms (group, icon, help, checks, error and cancel handling)."""

    COMPRESSION = "COMPRESSION"
    _group = ("SAR preparation", "sarpreparation")
    #: Modules beyond QGIS's own Python this algorithm needs (``setup_tools.RUNTIME_MODULES`` keys).
    requires = ()
    #: Raster inputs that may hold no valid pixel (a grid reference); any other is refused when it has none.
    empty_inputs_allowed = ()

    # -- identity --------------------------------------------------------------------
    def tr(self, text):
        return QCoreApplication.translate("SARSense", text)

    def createInstance(self):
        return type(self)()

    def group(self):
        return self.tr(self._group[0])

    def groupId(self):
        return self._group[1]

    def icon(self):
        return QIcon(icon_path())

    def svgIconPath(self):
        return icon_path()

    def helpUrl(self):
        """The algorithm's help page shipped with the plugin (resources/help/<name>.html)."""
        return _help.help_url(self.name())

    def help_text(self):
        """The help panel's text, plain (subclasses): '<' is a less-than sign, never markup; a blank line
        starts a paragraph."""
        return ""

    def shortHelpString(self):
        """:meth:`help_text` as the rich text QGIS's help panel reads (escaped here, for every algorithm)."""
        return _help.panel_text(self.help_text())

    def canExecute(self):
        """False, with what to install and how, when a package this algorithm needs is missing."""
        missing = [m for m in self.requires if m in setup_tools.missing_modules()]
        if not missing:
            return True, ""
        names = " and ".join(setup_tools.RUNTIME_MODULES[m] for m in missing)
        return False, self.tr(
            "{0} needs {1}, which QGIS's Python does not have. Install it with Plugins ▸ SARSense ▸ {2} (one "
            "click, into SARSense's own folder, keeping QGIS's numpy; no restart needed), or run 'make setup' in "
            "the plugin folder.").format(self.displayName(), names, INSTALL_ACTION)

    # -- parameters ------------------------------------------------------------------
    def label(self, name):
        """A parameter as the dialog shows it, with its id for qgis_process users: 'Input units (INPUT_UNITS)'."""
        param = self.parameterDefinition(name)
        return f"{param.description()} ({name})" if param is not None else name

    def add(self, param, help_text, *, advanced=False, decimals=None, help_args=()):
        """Add ``param`` with its help text (shown in the dialog and by ``qgis_process help``).

        The help text is plain text, escaped for the dialog's rich-text tooltip. It is translated, then
        ``help_args`` fill its ``{0}``, ``{1}``, … (so that the text a translator sees is fixed). ``decimals``
        sets how many decimals the dialog's number box shows.
        """
        text = self.tr(help_text).format(*help_args) if help_args else self.tr(help_text)
        param.setHelp(_help.panel_text(text))  # the dialog's tooltip is rich text: '<' must stay a sign
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        if decimals is not None:
            meta = param.metadata()
            meta.setdefault("widget_wrapper", {})["decimals"] = decimals
            param.setMetadata(meta)
        self.addParameter(param)
        return param

    def add_compression(self):
        self.add(QgsProcessingParameterEnum(self.COMPRESSION, self.tr("Output compression"), options=list(COMPRESSIONS),
                                            defaultValue=COMPRESSIONS.index(DEFAULT_COMPRESSION)),
                 "GeoTIFF compression of the output. ZSTD (default) is fast and small; NONE is fastest to "
                 "write; DEFLATE and LZW are the most widely readable but slower.", advanced=True)

    def compression(self, parameters, context):
        return COMPRESSIONS[self.parameterAsEnum(parameters, self.COMPRESSION, context)]

    def add_units(self, name="INPUT_UNITS", default=1, what="the input"):
        """The shared INPUT_UNITS enum [0 linear power, 1 dB]."""
        self.add(QgsProcessingParameterEnum(name, self.tr("Input units"), options=list(UNITS), defaultValue=default),
                 "Units of {0}: linear power or dB (the bundled scenes and most Sentinel-1 products from "
                 "GEE or ASF are dB). The values are checked against this choice.", help_args=(what,))

    def add_table_output(self, name, label, help_text):
        """A table output (no geometry): a CSV, a GeoPackage table or a temporary layer, as the user picks."""
        self.add(QgsProcessingParameterFeatureSink(name, self.tr(label), type=QgsProcessing.TypeVector), help_text)

    def add_html_output(self, name, label, help_text):
        """A self-contained HTML report (figures embedded), opened from the Results Viewer."""
        self.add(QgsProcessingParameterFileDestination(name, self.tr(label), fileFilter="HTML files (*.html)"),
                 help_text)

    def checkParameterValues(self, parameters, context):
        """Refuse what cannot run with a sentence that says why (:func:`.checks.parameter_values`)."""
        return checks.parameter_values(self, parameters, context)

    # -- running ---------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process` with GDAL's cache bounded, turning input problems into messages; the virtual
        rasters the run made (:mod:`.inputs`) are freed whatever happened, and a run that fails (a refusal, an
        error, a cancel, SIGTERM) leaves no output file behind: those it created or changed are removed."""
        self.virtual, self.executor = [], None
        outputs_before, done = checks.output_files(self, parameters, context), False
        try:
            with gdal_cache_limit(RUN_CACHE_MB), cleanup_on_signal(partial(checks.remove_changed, outputs_before)):
                self.executor = cluster.open_executor(feedback)
                results = self.process(parameters, context, feedback)
            done = True
            return results
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled: no output was written.")) from None
        except ValueError as err:
            raise self.error(str(err)) from None
        except MemoryError:
            raise checks.out_of_memory(self) from None
        finally:
            cluster.close_executor(self.executor, feedback)
            if not done:
                checks.remove_changed(outputs_before)
            inputs.release(self.virtual)
            self.virtual = []

    def process(self, parameters, context, feedback):
        """The algorithm's work (subclasses): parameters → core → outputs dict."""
        raise NotImplementedError

    def run_options(self, parameters, context, feedback, **changes):
        """The run's :class:`RunOptions`: :data:`WORKERS` threads (or the run's Dask executor), the user's output
        compression (when the algorithm has it), QGIS's progress bar and cancel button; ``changes`` override."""
        options = RunOptions(
            workers=WORKERS,
            compression=self.compression(parameters, context) if self.parameterDefinition(self.COMPRESSION) else
            DEFAULT_COMPRESSION,
            progress=(lambda f: feedback.setProgress(100.0 * f)) if feedback is not None else None,
            is_canceled=feedback.isCanceled if feedback is not None else None,
            executor=getattr(self, "executor", None))
        return options.replace(**changes) if changes else options

    def error(self, message):
        """A ``QgsProcessingException`` prefixed with the algorithm's name, ready to raise."""
        return QgsProcessingException(f"{self.displayName()}: {message}")
