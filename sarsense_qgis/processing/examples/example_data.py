"""sarsense:exampledata — small, documented inputs for one suite, written to a folder and loaded into the project."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
)

from ....simulators import examples
from ...styles import INCIDENCE_RAMP, NDVI_RAMP, THERMAL_COLOURS, style_on_load
from ..base import SarsenseAlgorithm

#: How each kind of example layer is drawn on load (``examples.Item.style``): a ramp, or the grey stretch with
#: its legend in the unit of :data:`UNITS` (the two-stop ramp despeckled and imported dB layers get).
RAMPS = {"ndvi": NDVI_RAMP, "incidence": INCIDENCE_RAMP, "lst": (295.0, 325.0, THERMAL_COLOURS, "K")}
UNITS = {"db": "dB"}


class ExampleDataAlgorithm(SarsenseAlgorithm):
    SUITE, OUTPUT_FOLDER = "SUITE", "OUTPUT_FOLDER"
    FOLDER, README, LAYERS, FILES, N_FILES = "FOLDER", "README", "LAYERS", "FILES", "N_FILES"
    _group = ("Examples", "examples")

    def name(self):
        return "exampledata"

    def displayName(self):
        return self.tr("Example data")

    def tags(self):
        return self.tr("example,sample,tutorial,getting started,demo,simulated,test data").split(",")

    def help_text(self):
        return self.tr(
            "Writes small inputs to try one suite end to end, with a README.txt that says what each file is, its "
            "source and licence (real data bundled with the plugin) or the simulator that made it (file and layer "
            "names then say 'simulated'), and what to run next. The layers are added to the project.\n\n"
            "Each suite goes into a folder of its own inside the Output folder (an earlier example folder of the "
            "same suite is replaced). Seeds are fixed: the same data every time. A few seconds, a few MB.\n\n"
            "The Getting-started pages of the SARSense help walk through each suite on this data. Figures computed "
            "on simulated data are simulated skill, not real skill.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterEnum(self.SUITE, self.tr("Suite"),
                                            options=[examples.LABELS[s] for s in examples.SUITES], defaultValue=0),
                 "Which suite's inputs to write: simulated Sentinel-1 GRD products; simulated Sentinel-1 stacks with "
                 "the real Raam soil-moisture stations; a simulated VH series with reference parcels and points; a "
                 "real MODIS LST window with a real Landsat scene; a simulated HH/HV scene with its ice chart.")
        self.add(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")),
                 "Folder to write to (created if missing); the suite's files go into a folder of their own in it.")
        self.addOutput(QgsProcessingOutputFolder(self.FOLDER, self.tr("Example folder")))
        self.addOutput(QgsProcessingOutputFile(self.README, self.tr("README")))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.LAYERS, self.tr("Example layers")))
        self.addOutput(QgsProcessingOutputString(self.FILES, self.tr("Files written (semicolon-separated)")))
        self.addOutput(QgsProcessingOutputNumber(self.N_FILES, self.tr("Number of files")))

    def process(self, parameters, context, feedback):
        suite = examples.SUITES[self.parameterAsEnum(parameters, self.SUITE, context)]
        target = self.parameterAsFileOutput(parameters, self.OUTPUT_FOLDER, context)
        try:
            examples.check_output_folder(target, suite)
        except ValueError as err:
            raise self.error(f"{self.label(self.OUTPUT_FOLDER)}: {err}") from None
        options = self.run_options(parameters, context, feedback)
        folder, items = examples.write_example(suite, target, is_canceled=options.is_canceled,
                                               progress=options.progress)
        files = [os.path.join(folder, it.name) for it in items] + [os.path.join(folder, "README.txt")]
        loaded = examples.layers(folder, items)
        for path, name, style in loaded:
            context.addLayerToLoadOnCompletion(path, QgsProcessingContext.LayerDetails(name, context.project(), name))
            if path.endswith(".tif"):
                style_on_load(context, path, ramp=RAMPS.get(style), unit=UNITS.get(style))
        feedback.pushInfo(self.tr("{0}: {1} files in {2}; {3} layers added to the project").format(
            examples.LABELS[suite], len(files), folder, len(loaded)))
        if not loaded:
            feedback.pushInfo(self.tr("The products are zips, not layers: import them with Import Sentinel-1 GRD "
                                      "(README.txt says how)."))
        return {self.FOLDER: folder, self.README: os.path.join(folder, "README.txt"),
                self.LAYERS: [p for p, _, _ in loaded], self.FILES: ";".join(files), self.N_FILES: len(files)}
