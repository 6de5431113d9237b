"""What the Crop mapping algorithms share: the group, and polygons burned onto a stack's grid."""

from __future__ import annotations

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsWkbTypes

from ...algorithms.io import read_info
from ...algorithms.io import vector as _vector
from .stack_base import StackAlgorithm


class CropAlgorithm(StackAlgorithm):
    _group = ("Crop mapping", "cropmapping")

    def burn_polygons(self, layer, reference, name, context):
        """The polygons of ``layer`` burned onto ``reference``'s grid (1 inside, 0 outside; virtual, freed at the
        end of the run). Geometries are transformed to the grid's CRS; a layer without polygons is refused."""
        if layer.geometryType() != QgsWkbTypes.PolygonGeometry:
            raise self.error(f"{self.label(name)} must be a polygon layer; '{layer.name()}' has "
                             f"{QgsWkbTypes.geometryDisplayString(layer.geometryType()).lower()} geometries.")
        info = read_info(reference)
        target = QgsCoordinateReferenceSystem.fromWkt(info.projection)
        transform = QgsCoordinateTransform(layer.crs(), target, context.transformContext() if context else
                                           QgsProject.instance().transformContext())
        wkbs = []
        for feature in layer.getFeatures():
            geom = feature.geometry()
            if geom is None or geom.isEmpty():
                continue
            geom.transform(transform)
            wkbs.append(bytes(geom.asWkb()))
        if not wkbs:
            raise self.error(f"{self.label(name)} ('{layer.name()}') has no polygon to use.")
        path = _vector.rasterize(wkbs, reference)
        self._virtual.append(path)
        return path
