"""Layer post-processors that style SARSense outputs when Processing loads them into a project.

Styling happens only through ``QgsProcessingContext.LayerDetails.setPostProcessor``,
so the Graphical Modeler and ``qgis_process`` (which load nothing) are unaffected.
"""

from __future__ import annotations

from qgis.core import (
    QgsColorRampShader,
    QgsContrastEnhancement,
    QgsPalettedRasterRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsRasterShader,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

from ..algorithms.io.raster import read_class_table

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


#: Continuous ramps: (minimum, maximum, colours from minimum to maximum, legend unit).
#: Soil moisture dry → wet, brown → blue (ColorBrewer BrBG ends; 0-0.5 m³/m³ covers mineral soils).
SSM_RAMP = (0.0, 0.5, ("#8c510a", "#d8b365", "#f6e8c3", "#c7eae5", "#5ab4ac", "#2166ac"), "m³/m³")
INDEX_RAMP = (0.0, 1.0, SSM_RAMP[2], "index (0 dry, 1 wet)")
NDVI_RAMP = (0.0, 1.0, ("#a50026", "#fdae61", "#ffffbf", "#a6d96a", "#006837"), "NDVI")
#: Land-surface temperature: cold blue to hot red through yellow (ColorBrewer RdYlBu, reversed).
THERMAL_COLOURS = ("#313695", "#4575b4", "#74add1", "#abd9e9", "#ffffbf", "#fdae61", "#f46d43", "#d73027", "#a50026")
#: Sea-ice concentration (%), the WMO total-concentration colours from ice free to 10/10 (WMO/TD-No. 1215).
SIC_RAMP = (0.0, 100.0, ("#0064ff", "#8cffa0", "#ffff00", "#ff7d07", "#ff0000"), "%")
INCIDENCE_RAMP = (0.0, 90.0, ("#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"), "degrees")


def apply_ramp(layer, ramp, band=1):
    """Render ``band`` with a continuous colour ramp from ``ramp``'s minimum to maximum (legend in its unit)."""
    vmin, vmax, colours, unit = ramp
    n = len(colours)
    items = [QgsColorRampShader.ColorRampItem(vmin + (vmax - vmin) * i / (n - 1), QColor(c),
                                              f"{vmin + (vmax - vmin) * i / (n - 1):g} {unit}")
             for i, c in enumerate(colours)]
    ramp_shader = QgsColorRampShader(vmin, vmax)
    ramp_shader.setColorRampType(QgsColorRampShader.Interpolated)
    ramp_shader.setColorRampItemList(items)
    shader = QgsRasterShader(vmin, vmax)
    shader.setRasterShaderFunction(ramp_shader)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, shader)
    renderer.setClassificationMin(vmin)
    renderer.setClassificationMax(vmax)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


def band_classes(layer, band=1):
    """The classes a class map declares (:func:`algorithms.io.raster.read_class_table`), or []."""
    return read_class_table(layer.source(), band)


class GreyStretchPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Grey 2–98 % stretch of band 1 (dB and linear backscatter, stacks, model outputs)."""

    _alive = []

    def postProcessLayer(self, layer, context, feedback):
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

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            classes = band_classes(layer)
            if classes:
                apply_classes(layer, classes)
            else:
                apply_grey_stretch(layer)


class FixedClassesPostProcessor(GreyStretchPostProcessor):
    """A class map drawn with given classes (``value``, ``name``, ``color``) whatever the file declares
    (sea-ice charts in WMO colours, also from a user's model)."""

    _alive = []

    def __init__(self, classes=()):
        super().__init__()
        self.classes = list(classes)

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_classes(layer, self.classes)

    @classmethod
    def create(cls, classes=()):
        inst = cls(classes)
        cls._alive.append(inst)
        return inst


class RampPostProcessor(GreyStretchPostProcessor):
    """A continuous quantity (soil moisture, NDVI, angles): a fixed colour ramp with its legend."""

    _alive = []

    def __init__(self, ramp=SSM_RAMP):
        super().__init__()
        self.ramp = ramp

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_ramp(layer, self.ramp)

    @classmethod
    def create(cls, ramp=SSM_RAMP):
        inst = cls(ramp)
        cls._alive.append(inst)
        return inst


def style_on_load(context, output_path, processor_cls=GreyStretchPostProcessor, ramp=None, classes=None):
    """Attach ``processor_cls`` (or, given ``ramp``, a :class:`RampPostProcessor`; given ``classes``, a
    :class:`FixedClassesPostProcessor`) to ``output_path`` if Processing will load it into the project."""
    if context.willLoadLayerOnCompletion(output_path):
        if ramp is not None:
            proc = RampPostProcessor.create(ramp)
        elif classes is not None:
            proc = FixedClassesPostProcessor.create(classes)
        else:
            proc = processor_cls.create()
        context.layerToLoadOnCompletionDetails(output_path).setPostProcessor(proc)
