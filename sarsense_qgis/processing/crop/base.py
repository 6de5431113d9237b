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

from ....algorithms import sar
from ....algorithms.crop import samples as _samples
from ....algorithms.io import sample_values
from ....algorithms.io.raster import open_dataset
from .. import checks, inputs
from ..base import SarsenseAlgorithm

#: What NDVH and NDVV are and how to make them: the hint of every refusal of an index stack.
INDEX_HINT = ("Compute NDVH and NDVV (σA of Liu et al. (2020, eq. 1)) from the VH (NDVH) or VV (NDVV) backscatter "
              "stack with 'Water-normalised backscatter index'.")
#: What a class map is, for the refusal of a continuous raster given as one.
CLASS_MAP_HINT = ("A class map holds integer class codes, as 'SVM classification', 'Paddy rice by phenology "
                  "thresholds' and 'Sieve class map' write them.")
#: The range check of a feature stack by the units or quantity its bands declare: (word in QUANTITY or units,
#: quantity name of ``checks.value_range``).
DECLARED = (("water-normalised", "water_normalized"), ("ndvi", "ndvi"), ("db", "sigma0_db"),
            ("linear", "sigma0_linear"))


def declared_quantity(path):
    """The :data:`DECLARED` quantity band 1 of ``path`` declares (QUANTITY, units), or None (a stack is one
    series: its bands declare the same)."""
    ds = open_dataset(path)         # held while its band is read (GDAL's Python frees a dataset with no reference)
    meta = {k.lower(): str(v).lower() for k, v in (ds.GetRasterBand(1).GetMetadata() or {}).items()}
    quantity, units = meta.get("quantity", ""), meta.get("units", "")
    for word, name in DECLARED:
        if word in quantity or (name.startswith("sigma0") and units == word):
            return name
    return None


#: The geometries training and reference samples may have.
SAMPLE_GEOMETRIES = (QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry)


class CropAlgorithm(SarsenseAlgorithm):
    _group = ("Crop mapping", "cropmapping")

    def add_labelled_layer(self, name, label, field, field_label, field_help, what="with a class field"):
        """A points-or-polygons parameter and its class field (training or reference samples)."""
        self.add(QgsProcessingParameterFeatureSource(
            name, self.tr(label), types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]),
                 "Polygons (every pixel whose centre is inside) or points (the pixel under each) {0}.",
                 help_args=(what,))
        self.add(QgsProcessingParameterField(field, self.tr(field_label), parentLayerParameterName=name), field_help)

    def check_index(self, path, name):
        """Refuse an NDVH or NDVV stack with no valid pixel or values outside the index's range −1..1 (Liu et al.
        2020, eq. 1): a backscatter stack or a scaled index given where the index is expected."""
        checks.require_valid(self, path, name)
        checks.value_range(self, path, name, "water_normalized", hint=INDEX_HINT)

    def check_features(self, path, name):
        """Refuse a feature stack (NDVH, NDVV, backscatter …) that cannot be classified: no valid pixel, values
        outside the range of the quantity its bands declare (water-normalised index, NDVI, σ° in dB or linear), or
        an undeclared fill value (≤ −100, which none of them has)."""
        checks.require_valid(self, path, name)
        quantity = declared_quantity(path)
        if quantity is not None:
            checks.value_range(self, path, name, quantity,
                               hint=INDEX_HINT if quantity == "water_normalized" else
                               self.tr("Give the stack as its bands declare it, or rebuild it with 'Build dated "
                                       "stack'."))
            return
        n = open_dataset(path).RasterCount
        for band, sample in enumerate(sample_values(path, band=range(1, n + 1), max_side=128), start=1):
            fill = sar.undeclared_nodata(sample)
            if fill is not None:
                raise self.error(f"{self.label(name)}, band {band} holds values of {fill[0]:g} ({fill[1]} in a "
                                 f"sample of {sample.size}) that no index or backscatter has: it looks like a nodata "
                                 f"value the file does not declare. Declare it (gdal_edit.py -a_nodata {fill[0]:g} "
                                 f"'{path}') and run again.")

    def gaps_hint(self, name):
        """Why a class map of feature stack ``name`` would hold no class (the engine's empty-result rule)."""
        return self.tr("every pixel of {0} is NaN or nodata on at least one date, and the classifier needs a value "
                       "on every date: leave the empty dates out ('Build dated stack', Leave out empty dates "
                       "(DROP_EMPTY)) or fill the gaps first.").format(self.label(name))

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
        field_name = self.parameterAsString(parameters, field_param, context)
        source = checks.vector_layer(self, parameters, name, context, geometry=SAMPLE_GEOMETRIES,
                                     fields=(field_name,), what="points or polygons with a class field",
                                     field_hint=self.tr("Choose its class field in {0}.").format(
                                         self.label(field_param)))
        fidx = source.fields().lookupField(field_name)
        gtype = QgsWkbTypes.geometryType(source.wkbType())
        wkbs, values, no_class = [], [], 0
        for feature, wkb in inputs.on_grid_crs(source, raster, context):
            value = feature.attribute(fidx)
            if value is None or (hasattr(value, "isNull") and value.isNull()) or str(value).strip() == "":
                no_class += 1
                continue
            wkbs.append(wkb)
            values.append(value)
        if not wkbs and not no_class:
            raise checks.no_geometry_error(self, source, name, "points or polygons with a class field")
        if not wkbs:
            raise self.error(f"{self.label(name)} has no "
                             f"{('point' if gtype == QgsWkbTypes.PointGeometry else 'polygon')}"
                             f" with a value in '{field_name}' ({no_class} feature(s), every one without a class): "
                             f"fill in '{field_name}', or choose the field that holds the classes.")
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
