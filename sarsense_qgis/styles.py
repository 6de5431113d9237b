"""Layer post-processors that style SARSense outputs when Processing loads them into a project.

Styling happens only through ``QgsProcessingContext.LayerDetails.setPostProcessor``,
so the Graphical Modeler and ``qgis_process`` (which load nothing) are unaffected.
"""

from __future__ import annotations

import json

from osgeo import gdal
from qgis.core import (
    QgsContrastEnhancement,
    QgsPalettedRasterRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsSingleBandGrayRenderer,
)
from qgis.PyQt.QtGui import QColor

#: Cumulative-cut limits of the grey stretch (fractions).
CUT_LOW, CUT_HIGH = 0.02, 0.98


def apply_grey_stretch(layer, band=1, low=CUT_LOW, high=CUT_HIGH):
    """Render ``band`` of ``layer`` in grey, stretched between its ``low`` and ``high`` cumulative cuts."""
    provider = layer.dataProvider()
    lo, hi = provider.cumulativeCut(band, low, high, layer.extent(), 250000)
    renderer = QgsSingleBandGrayRenderer(provider, band)
    enhancement = QgsContrastEnhancement(provider.dataType(band))
    enhancement.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
    enhancement.setMinimumValue(lo)
    enhancement.setMaximumValue(hi)
    renderer.setContrastEnhancement(enhancement)
    origin = QgsRasterMinMaxOrigin()
    origin.setLimits(QgsRasterMinMaxOrigin.CumulativeCut)
    origin.setCumulativeCutLower(low)
    origin.setCumulativeCutUpper(high)
    renderer.setMinMaxOrigin(origin)
    layer.setRenderer(renderer)
    layer.triggerRepaint()
    return lo, hi


def apply_classes(layer, classes, band=1):
    """Render ``band`` of ``layer`` with one colour and label per class (``value``, ``name``, ``color``)."""
    items = [QgsPalettedRasterRenderer.Class(int(c["value"]), QColor(c["color"]), c["name"]) for c in classes]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), band, items))
    layer.triggerRepaint()


def band_classes(layer, band=1):
    """The classes a SARSense class map declares in its band metadata (``classes`` JSON), or []."""
    try:
        ds = gdal.Open(layer.source())
        raw = ds.GetRasterBand(band).GetMetadataItem("classes")
        return json.loads(raw) if raw else []
    except (RuntimeError, AttributeError, ValueError):
        return []


class GreyStretchPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Grey 2–98 % stretch of band 1 (dB and linear backscatter, stacks, model outputs)."""

    _alive = []

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_grey_stretch(layer)

    @classmethod
    def create(cls):
        # Processing keeps only a raw pointer: hold a Python reference so it outlives the run.
        inst = cls()
        cls._alive.append(inst)
        return inst


class ClassMapPostProcessor(GreyStretchPostProcessor):
    """A class map: the colours and names stored with it (segmentation models, later rice and sea-ice maps)."""

    _alive = []

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            classes = band_classes(layer)
            if classes:
                apply_classes(layer, classes)
            else:
                apply_grey_stretch(layer)


def style_on_load(context, output_path, processor_cls=GreyStretchPostProcessor):
    """Attach ``processor_cls`` to ``output_path`` if Processing will load it into the project."""
    if context.willLoadLayerOnCompletion(output_path):
        context.layerToLoadOnCompletionDetails(output_path).setPostProcessor(processor_cls.create())
