"""What the Crop mapping algorithms share: the group, and the pixels under training or reference geometries with
their classes (read here, sampled by :func:`sarsense.algorithms.crop.samples.labelled_pixels`)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProviderRegistry,
    QgsWkbTypes,
)

from ....algorithms.crop import samples as _samples
from .. import inputs
from ..base import SarsenseAlgorithm


class CropAlgorithm(SarsenseAlgorithm):
    _group = ("Crop mapping", "cropmapping")

    def add_labelled_layer(self, name, label, field, field_label, field_help, what="with a class field"):
        """A points-or-polygons parameter and its class field (training or reference samples)."""
        self.add(QgsProcessingParameterFeatureSource(
            name, self.tr(label), types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]),
                 "Polygons (every pixel whose centre is inside) or points (the pixel under each) {0}.",
                 help_args=(what,))
        self.add(QgsProcessingParameterField(field, self.tr(field_label), parentLayerParameterName=name), field_help)

    def layer_name(self, parameters, name, context):
        """The layer of parameter ``name`` as its user knows it, for reports: "'training' (/data/training.gpkg)"."""
        layer = self.parameterAsVectorLayer(parameters, name, context)
        if layer is None:
            return self.label(name)
        path = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source()).get("path")
        return f"'{layer.name()}' ({path or layer.providerType() + ' layer'})"

    def labelled_samples(self, parameters, name, field_param, raster, context, feedback, *, options,
                         class_names=None, match_names=False):
        """The pixels of ``raster`` under the points or polygons of parameter ``name``, with the class in
        parameter ``field_param`` (:func:`sarsense.algorithms.crop.samples.labelled_pixels`, run with
        ``options``; ``class_names`` and ``match_names`` as there).

        Geometries are transformed to the raster's CRS. Refuses lines, an empty layer and geometries that
        all miss the raster; warns about those that miss it in part and about features without a class.
        """
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise self.error(f"{self.label(name)} could not be read.")
        field_name = self.parameterAsString(parameters, field_param, context)
        fidx = source.fields().lookupField(field_name)
        if fidx < 0:
            raise self.error(f"{self.label(name)} has no field '{field_name}'; choose its class field.")
        gtype = QgsWkbTypes.geometryType(source.wkbType())
        if gtype not in (QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry):
            raise self.error(f"{self.label(name)} must hold points or polygons; it has "
                             f"{QgsWkbTypes.geometryDisplayString(gtype).lower()} geometries.")
        wkbs, values, no_class = [], [], 0
        for feature, wkb in inputs.on_grid_crs(source, raster, context):
            value = feature.attribute(fidx)
            if value is None or (hasattr(value, "isNull") and value.isNull()) or str(value).strip() == "":
                no_class += 1
                continue
            wkbs.append(wkb)
            values.append(value)
        if not wkbs:
            raise self.error(f"{self.label(name)} has no "
                             f"{('point' if gtype == QgsWkbTypes.PointGeometry else 'polygon')}"
                             f" with a value in '{field_name}'.")
        if no_class and feedback is not None:
            feedback.pushWarning(self.tr("{0} feature(s) of {1} have no value in '{2}' and were left out.").format(
                no_class, self.label(name), field_name))
        s = _samples.labelled_pixels(raster, wkbs, values, class_names=class_names, match_names=match_names,
                                     layer=self.label(name), field_name=field_name, options=options)
        s.source = f"{self.layer_name(parameters, name, context)}, field '{field_name}'"
        if s.empty and feedback is not None:
            feedback.pushWarning(self.tr("{0} of {1} features of {2} cover no pixel centre of the raster (outside "
                                         "it, or smaller than a pixel) and give no sample.").format(
                s.empty, s.n_geometries, self.label(name)))
        return s
