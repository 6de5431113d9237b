"""What the Crop mapping algorithms share: the group, polygons burned onto a stack's grid, and the pixels
under training or reference geometries with their classes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsWkbTypes,
)

from ....algorithms.io import vector as _vector
from .. import checks, inputs
from ..base import WORKERS, SarsenseAlgorithm

#: Colours of classes without their own, in order (ColorBrewer Set1/Dark2/Paired, distinguishable in print).
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#377eb8",
           "#e41a1c", "#984ea3", "#ff7f00", "#4daf4a", "#a65628", "#f781bf", "#999999", "#8dd3c7")
#: Colours a class whose name says what it is gets (case-insensitive substring of the name).
NAMED_COLOURS = (("rice", "#33a02c"), ("water", "#1f78b4"), ("forest", "#0b5d1e"), ("rubber", "#6a3d9a"),
                 ("banana", "#b2df8a"), ("build", "#e31a1c"), ("urban", "#e31a1c"), ("dry", "#fdbf6f"),
                 ("other", "#bdbdbd"))
#: Geometries one burn can tell apart (uint16 burn values).
MAX_GEOMETRIES = 65535


def class_colours(names):
    """``{code: "#rrggbb"}`` for ``{code: name}``: a colour by name where it says what it is, else the palette."""
    out, k = {}, 0
    for code in sorted(names):
        lower = str(names[code]).lower()
        colour = next((c for key, c in NAMED_COLOURS if key in lower), None)
        if colour is None or colour in out.values():
            colour = PALETTE[k % len(PALETTE)]
            k += 1
        out[code] = colour
    return out


def classes_json(names):
    """The ``classes`` band metadata of a class map (value, name, colour), as :func:`set_class_table` reads it."""
    colours = class_colours(names)
    return json.dumps([{"value": int(c), "name": str(names[c]), "color": colours[c]} for c in sorted(names)])


@dataclass
class Samples:
    """Pixels under labelled geometries: values (n, bands), class codes, geometry id of each pixel."""

    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    names: dict = field(default_factory=dict)      # code → class name
    n_geometries: int = 0
    incomplete: int = 0                            # pixels dropped because a band is NaN

    def label(self, code):
        return self.names.get(int(code), str(code))


class CropAlgorithm(SarsenseAlgorithm):
    _group = ("Crop mapping", "cropmapping")

    def add_labelled_layer(self, name, label, field, field_label, field_help, what="with a class field"):
        """A points-or-polygons parameter and its class field (training or reference samples)."""
        self.add(QgsProcessingParameterFeatureSource(
            name, self.tr(label), types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]),
                 f"Polygons (every pixel whose centre is inside) or points (the pixel under each) {what}.")
        self.add(QgsProcessingParameterField(field, self.tr(field_label), parentLayerParameterName=name), field_help)

    def labelled_samples(self, parameters, name, field_param, raster, context, feedback, *, start=0.0, end=1.0,
                         class_names=None, match_names=False):
        """The pixels of ``raster`` under the points or polygons of parameter ``name``, with the class in
        parameter ``field_param``.

        A polygon gives every pixel whose centre it contains, a point the pixel it falls in; where
        polygons overlap the later one wins. Geometries are transformed to the raster's CRS. Integer
        classes 0..254 keep their values as codes; other values (text) are coded 1..K in sorted order,
        or by ``class_names`` (``{code: name}``, e.g. a class map's own names) where given; with
        ``match_names`` text classes must match ``class_names`` (a map without names is refused). Refuses
        lines, an empty layer and geometries that all miss the raster; warns about those that miss it
        in part and about features without a class.
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
        if len(wkbs) > MAX_GEOMETRIES:
            raise self.error(f"{self.label(name)} has {len(wkbs)} features; at most {MAX_GEOMETRIES} can be used at "
                             "once. Dissolve polygons by class or sample fewer points.")
        if no_class and feedback is not None:
            feedback.pushWarning(self.tr(f"{no_class} feature(s) of {self.label(name)} have no value in "
                                         f"'{field_name}' and were left out."))
        codes, names = self._class_codes(values, class_names, name, field_name, match_names)
        labels = _vector.rasterize(wkbs, raster, burn=range(1, len(wkbs) + 1))
        self.virtual.append(labels)
        x, lab = _vector.labelled_pixels(raster, labels, workers=WORKERS, **self.callbacks(feedback, start, end))
        covered = np.unique(lab)
        empty = len(wkbs) - len(covered)
        if len(covered) == 0:
            raise self.error(f"none of the {len(wkbs)} features of {self.label(name)} covers a pixel of the raster: "
                             "they lie outside it (check both layers' CRS and extent), or the polygons are smaller "
                             "than a pixel.")
        if empty and feedback is not None:
            feedback.pushWarning(self.tr(f"{empty} of {len(wkbs)} features of {self.label(name)} cover no pixel "
                                         "centre of the raster (outside it, or smaller than a pixel) and give no "
                                         "sample."))
        complete = np.isfinite(x).all(axis=1)
        codes = np.asarray(codes)
        return Samples(x=x[complete], y=codes[lab[complete] - 1], group=lab[complete], names=names,
                       n_geometries=len(wkbs), incomplete=int((~complete).sum()))

    def _class_codes(self, values, class_names, name, field_name, match_names=False):
        """Codes (one per value) and ``{code: name}``: integers 0..254 as they are, else by name."""
        numbers = [checks.as_number(v) for v in values]
        ints = [int(f) if f is not None and f.is_integer() else None for f in numbers]
        if all(i is not None and 0 <= i <= 254 for i in ints):
            given = class_names or {}
            return ints, {i: given.get(i, str(i)) for i in sorted(set(ints))}
        text = [str(v).strip() for v in values]
        if match_names and not class_names:
            raise self.error(f"'{field_name}' of {self.label(name)} holds text classes but the map stores no class "
                             "names to match them to: use a field with the map's integer codes.")
        if class_names:
            by_name = {str(n).strip().lower(): c for c, n in class_names.items()}
            unknown = sorted({t for t in text if t.lower() not in by_name})
            if unknown:
                raise self.error(f"{self.label(name)}: class(es) {', '.join(repr(u) for u in unknown)} in "
                                 f"'{field_name}' are not among the map's classes "
                                 f"({', '.join(str(n) for n in class_names.values())}).")
            codes = [by_name[t.lower()] for t in text]
            return codes, {c: class_names[c] for c in sorted(set(codes))}
        order = sorted(set(text))
        if len(order) > 254:
            raise self.error(f"'{field_name}' of {self.label(name)} has {len(order)} classes; a class map holds 254.")
        code = {t: i + 1 for i, t in enumerate(order)}
        return [code[t] for t in text], {code[t]: t for t in order}
