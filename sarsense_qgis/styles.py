"""Layer post-processors that style SARSense outputs when Processing loads them into a project.

Styling happens only through ``QgsProcessingContext.LayerDetails.setPostProcessor``,
so the Graphical Modeler and ``qgis_process`` (which load nothing) are unaffected.
"""

from __future__ import annotations

from qgis.core import (
    QgsColorRampLegendNodeSettings,
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


def apply_grey_stretch(layer, band=1, low=CUT_LOW, high=CUT_HIGH, unit=None):
    """Render ``band`` of ``layer`` in grey, stretched between its ``low`` and ``high`` cumulative cuts.

    With a ``unit`` (e.g. "dB") the same black-to-white stretch is drawn as a two-stop ramp whose legend gives
    its ends in that unit (QGIS 3.22's grey renderer shows bare numbers in the legend)."""
    provider = layer.dataProvider()
    lo, hi = provider.cumulativeCut(band, low, high, layer.extent(), 250000)
    if unit:
        apply_ramp(layer, (lo, hi, ("#000000", "#ffffff"), unit), band)
        return lo, hi
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


#: Continuous ramps: (minimum, maximum, colours from minimum to maximum, legend unit[, (word at the minimum,
#: word at the maximum)]). The unit goes on every legend entry; the words, where given, on the two ends only.
#: Soil moisture dry → wet, brown → blue (ColorBrewer BrBG ends; 0-0.5 m³/m³ covers mineral soils).
SSM_RAMP = (0.0, 0.5, ("#8c510a", "#d8b365", "#f6e8c3", "#c7eae5", "#5ab4ac", "#2166ac"), "m³/m³")
INDEX_RAMP = (0.0, 1.0, SSM_RAMP[2], "", ("dry", "wet"))
NDVI_RAMP = (0.0, 1.0, ("#a50026", "#fdae61", "#ffffbf", "#a6d96a", "#006837"), "NDVI")
#: Land-surface temperature: cold blue to hot red through yellow (ColorBrewer RdYlBu, reversed).
THERMAL_COLOURS = ("#313695", "#4575b4", "#74add1", "#abd9e9", "#ffffbf", "#fdae61", "#f46d43", "#d73027", "#a50026")
#: Sea-ice concentration (%), the WMO total-concentration colours from ice free to 10/10 (WMO/TD-No. 1215).
SIC_RAMP = (0.0, 100.0, ("#0064ff", "#8cffa0", "#ffff00", "#ff7d07", "#ff0000"), "%")
INCIDENCE_RAMP = (0.0, 90.0, ("#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"), "degrees")


def ramp_labels(ramp):
    """The legend text of each colour stop of ``ramp``: value and unit; the end words on the ends only."""
    vmin, vmax, colours, unit = ramp[:4]
    n = len(colours)
    labels = [f"{vmin + (vmax - vmin) * i / (n - 1):.4g} {unit}".strip() for i in range(n)]
    if len(ramp) > 4:
        labels[0], labels[-1] = f"{labels[0]} ({ramp[4][0]})", f"{labels[-1]} ({ramp[4][1]})"
    return labels


def apply_ramp(layer, ramp, band=1):
    """Render ``band`` with a continuous colour ramp from ``ramp``'s minimum to maximum (legend in its unit,
    :func:`ramp_labels`; the continuous legend's ends carry the same text)."""
    vmin, vmax, colours = ramp[:3]
    n = len(colours)
    labels = ramp_labels(ramp)
    items = [QgsColorRampShader.ColorRampItem(vmin + (vmax - vmin) * i / (n - 1), QColor(c), labels[i])
             for i, c in enumerate(colours)]
    ramp_shader = QgsColorRampShader(vmin, vmax)
    ramp_shader.setColorRampType(QgsColorRampShader.Interpolated)
    ramp_shader.setColorRampItemList(items)
    legend = QgsColorRampLegendNodeSettings()
    legend.setUseContinuousLegend(True)
    legend.setMinimumLabel(labels[0])
    legend.setMaximumLabel(labels[-1])
    ramp_shader.setLegendSettings(legend)
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
    """Grey 2–98 % stretch of band 1 (dB and linear backscatter, stacks, model outputs), its legend in ``unit``
    when one is given."""

    _alive = []

    def __init__(self, unit=None):
        super().__init__()
        self.unit = unit

    def postProcessLayer(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            apply_grey_stretch(layer, unit=self.unit)

    @classmethod
    def create(cls, unit=None):
        # Processing keeps only a raw pointer: hold a Python reference so it outlives the run.
        inst = cls(unit) if unit else cls()
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


def style_on_load(context, output_path, processor_cls=GreyStretchPostProcessor, ramp=None, classes=None, *,
                  name=None, force_name=False, unit=None):
    """Attach ``processor_cls`` (or, given ``ramp``, a :class:`RampPostProcessor`; given ``classes``, a
    :class:`FixedClassesPostProcessor`; given ``unit``, a grey stretch with its legend in that unit) to
    ``output_path`` if Processing will load it into the project.

    ``name`` is the layer's name in the project (``processing/names.py`` makes it: what makes the run distinct);
    QGIS uses it for temporary outputs, and for files too where the user's Processing settings prefer it to the
    file name, or always with ``force_name`` (a demonstration model's output must say so whatever the file).
    """
    if context.willLoadLayerOnCompletion(output_path):
        if ramp is not None:
            proc = RampPostProcessor.create(ramp)
        elif classes is not None:
            proc = FixedClassesPostProcessor.create(classes)
        elif unit and processor_cls is GreyStretchPostProcessor:
            proc = GreyStretchPostProcessor.create(unit)
        else:
            proc = processor_cls.create()
        details = context.layerToLoadOnCompletionDetails(output_path)
        details.setPostProcessor(proc)
        if name:
            details.name = name
            details.forceName = bool(force_name)
