"""sarsense:sieveclasses — merge the patches of a class map smaller than a field, keeping class names and colours."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.crop import sieve as _sieve
from ....algorithms.io.raster import read_class_table
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs
from .base import CLASS_MAP_HINT, CropAlgorithm


class SieveClassesAlgorithm(CropAlgorithm):
    INPUT, THRESHOLD, EIGHT_CONNECTEDNESS, OUTPUT, CHANGED_PIXELS = (
        "INPUT", "THRESHOLD", "EIGHT_CONNECTEDNESS", "OUTPUT", "CHANGED_PIXELS")

    def name(self):
        return "sieveclasses"

    def displayName(self):
        return self.tr("Sieve class map")

    def tags(self):
        return self.tr("sieve,majority,patch,minimum mapping unit,field,clean,class map,rice,crop").split(",")

    def help_text(self):
        return self.tr(
            "Removes patches smaller than a field from a class map (e.g. from 'Paddy rice by phenology thresholds' "
            "or 'SVM classification'): each connected patch of one class smaller than Minimum patch size takes the "
            "class of its largest neighbouring patch (GDAL's sieve filter). Unlike GDAL's Sieve, the result keeps "
            "the map's class names, colours and metadata and loads styled like the map.\n\nNodata (255) is never "
            "changed and counts as no neighbour, so a small patch surrounded by nodata stays. The log gives each "
            "class's pixels before and after. Memory grows with the number of patches, not the map's size: about "
            "24 bytes per patch (a map of fields needs a few MB; a salt-and-pepper map of 10 000 × 10 000 pixels, "
            "every pixel its own patch, up to 2.4 GB).")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Class map")),
                 "One byte band: classes 0..254, 255 nodata.")
        self.add(QgsProcessingParameterNumber(self.THRESHOLD, self.tr("Minimum patch size (pixels)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=10, minValue=2),
                 "Patches with fewer pixels than this are merged into their largest neighbour (e.g. the smallest "
                 "field: 10 pixels of 10 m are 0.1 ha).")
        self.add(QgsProcessingParameterBoolean(self.EIGHT_CONNECTEDNESS, self.tr("Use 8-connectedness"),
                                               defaultValue=False),
                 "Diagonal neighbours belong to the same patch; off: only pixels sharing an edge (4-connectedness).")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Sieved class map")),
                 "uint8, 255 nodata, with the input's class names, colours and metadata.")
        self.addOutput(QgsProcessingOutputNumber(self.CHANGED_PIXELS, self.tr("Pixels changed")))

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        checks.class_map(self, src, self.INPUT, hint=CLASS_MAP_HINT)
        checks.require_valid(self, src, self.INPUT)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        res = _sieve.sieve_classes_file(
            src, out, min_pixels=self.parameterAsInt(parameters, self.THRESHOLD, context),
            eight_connected=self.parameterAsBoolean(parameters, self.EIGHT_CONNECTEDNESS, context),
            options=self.run_options(parameters, context, feedback, empty_hint=self.tr(
                "{0} holds no class: every pixel is nodata (255). Choose the class map with data.").format(
                self.label(self.INPUT))))
        names = {int(c["value"]): c["name"] for c in read_class_table(out)}
        for code in (c for c in range(255) if res["before"][c] or res["after"][c]):
            feedback.pushInfo(self.tr("{0}: {1} → {2} pixels ({3} merged into a neighbour)").format(
                names.get(code, str(code)), res["before"][code], res["after"][code], res["changed"][code]))
        style_on_load(context, out, ClassMapPostProcessor)
        return {self.OUTPUT: out, self.CHANGED_PIXELS: int(res["changed"].sum())}
