"""The SARSense Processing provider."""

from __future__ import annotations

import glob
import os

from qgis.core import (
    QgsApplication,
    QgsMessageLog,
    QgsProcessingModelAlgorithm,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingProvider,
)
from qgis.PyQt.QtGui import QIcon

from . import help as _help
from .processing import checks
from .processing.cluster import SCHEDULER_SETTING
from .processing.registry import ALGORITHMS
from .resources import WORKFLOWS_DIR, icon_path

WORKFLOWS_GROUP = "Workflows"


class SarsenseProvider(QgsProcessingProvider):
    """Provider id ``sarsense``: every algorithm is ``sarsense:<name>``."""

    def id(self):
        return "sarsense"

    def name(self):
        return "SARSense"

    def longName(self):
        return "SARSense: SAR and thermal remote sensing"

    def icon(self):
        return QIcon(icon_path())

    def svgIconPath(self):
        return icon_path()

    def __init__(self):
        super().__init__()
        QgsApplication.processingRegistry().providerAdded.connect(self._registered)

    def _registered(self, provider_id):
        # A workflow's steps are SARSense algorithms, found through the registry: they resolve only once
        # this provider is registered, so the workflows are loaded again then.
        if provider_id == self.id():
            QgsApplication.processingRegistry().providerAdded.disconnect(self._registered)
            self.refreshAlgorithms()

    def load(self):
        """Register the provider's setting (Processing ▸ Options ▸ Providers ▸ SARSense: the Dask scheduler), then
        load the algorithms."""
        try:
            import processing.core.ProcessingConfig
            config = processing.core.ProcessingConfig
        except ImportError:     # no Processing plugin Python (the variable SARSENSE_DASK_SCHEDULER still applies)
            config = None
        if config is not None:
            config.ProcessingConfig.settingIcons[self.name()] = self.icon()
            config.ProcessingConfig.addSetting(config.Setting(
                self.name(), SCHEDULER_SETTING, "Dask scheduler (empty: this computer; local:N: N worker processes "
                                                "here; tcp://host:8786: a cluster)", ""))
            config.ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:
            return
        if SCHEDULER_SETTING in ProcessingConfig.settings:
            ProcessingConfig.removeSetting(SCHEDULER_SETTING)

    def loadAlgorithms(self):
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
        if QgsApplication.processingRegistry().providerById(self.id()) is not None:
            for model in load_workflows():
                self.addAlgorithm(model)

    def supportedOutputRasterLayerExtensions(self):
        return ["tif"]

    def defaultRasterFileExtension(self):
        return "tif"


class Workflow(QgsProcessingModelAlgorithm):
    """A shipped ``.model3`` whose id is ``sarsense:<file name>``: short, stable and typeable in
    ``qgis_process``, while the toolbox shows the model's own (human) name."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.ok = self.fromFile(path)
        self.setSourceFilePath(path)
        self.setGroup(WORKFLOWS_GROUP)
        # Each input's help is the model's help text for it (what the Modeler's 'Edit Model Help' keeps), plain
        # text: escaped once here, as every algorithm's, for the dialog's tooltip and `qgis_process help`.
        for name, text in self.helpContent().items():
            param = self.parameterDefinition(name)
            if param is not None and not param.isDestination() and text:
                param.setHelp(_help.panel_text(text))

    def name(self):
        return os.path.splitext(os.path.basename(self.path))[0]

    def displayName(self):
        return super().name()

    def helpUrl(self):
        """The workflow's help page (resources/help/<file name>.html, built from its section of the docs)."""
        return _help.help_url(self.name())

    def shortHelpString(self):
        """The model's own description (plain text, as the Modeler's help editor keeps it), escaped as every
        algorithm's help is, instead of QGIS's HTML page of it (which ``qgis_process help`` prints as tags)."""
        return _help.panel_text(self.helpContent().get("ALG_DESC", ""))

    @property
    def empty_inputs_allowed(self):
        """The workflows' scene lists go to 'Build dated stack', which keeps an empty date as an all-NaN band (said
        in the log) or leaves it out: an empty scene there is no reason to refuse the run."""
        return tuple(p.name() for p in self.parameterDefinitions()
                     if isinstance(p, QgsProcessingParameterMultipleLayers))

    def checkParameterValues(self, parameters, context):
        """QGIS's checks, and the rules every SARSense algorithm keeps, which QGIS does not ask of a model's steps:
        no output named as an input (a step sees only its own inputs, and would overwrite the workflow's), no
        raster input with an undeclared fill value or no valid pixel (named as the workflow calls it)."""
        ok, message = super().checkParameterValues(parameters, context)
        if ok:
            problem = checks.output_is_input(self, parameters, context) or \
                checks.raster_inputs_problem(self, parameters, context)
            if problem:
                return False, problem
        return ok, message

    def createInstance(self):
        return Workflow(self.path)


def load_workflows(folder=WORKFLOWS_DIR):
    """Every ``*.model3`` of ``folder`` as a model algorithm in the group Workflows (``sarsense:<file name>``)."""
    models = []
    for path in sorted(glob.glob(os.path.join(folder, "*.model3"))):
        model = Workflow(path)
        if not model.ok:
            QgsMessageLog.logMessage(f"SARSense: cannot read workflow {path}", "SARSense")
            continue
        models.append(model)
    return models
