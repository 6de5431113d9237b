"""Inputs as a run reads them: raster layers as GDAL paths, and rasters or polygons put on a reference grid.

Functions of the running algorithm (``alg``, a :class:`~.base.SarsenseAlgorithm`). What they put on a
grid is virtual (a VRT or an in-memory raster) and freed when the run ends, whatever happened
(:meth:`~.base.SarsenseAlgorithm.processAlgorithm` frees ``alg.virtual``).
"""

from __future__ import annotations

import os

from qgis.core import QgsCoordinateReferenceSystem, QgsFeatureRequest, QgsProcessingException, QgsWkbTypes

from ...algorithms.io import datacube, read_info
from ...algorithms.io import stack as _stack
from ...algorithms.io import vector as _vector
from . import checks
from .checks import subdataset


def raster_path(alg, parameters, name, context):
    """File path of a raster parameter, with a clear error when it cannot be used. A datacube variable
    (``NETCDF:"cube.nc":VV``, ``ZARR:"cube.zarr":/VV``, a .nc/.zarr file with one variable on a time axis) is
    read as a dated stack (:func:`cube_stack`)."""
    cube = cube_stack(alg, parameters.get(name), name)
    if cube is not None:
        return cube
    sub = subdataset(alg, parameters, name)
    if sub is not None:
        return sub
    layer = alg.parameterAsRasterLayer(parameters, name, context)
    if layer is None or not layer.isValid():
        raise QgsProcessingException(alg.invalidRasterError(parameters, name))
    return _gdal_source(alg, layer, name)


def _gdal_source(alg, layer, name):
    """The GDAL path of raster ``layer`` (a cube's variable as its dated stack); refuses another provider."""
    if layer.providerType() != "gdal":
        raise QgsProcessingException(alg.tr(
            "{0}: '{1}' is a {2} layer; SARSense reads files through GDAL. Export it to GeoTIFF first.").format(
            alg.label(name), layer.name(), layer.providerType()))
    return cube_stack(alg, layer.source(), name) or layer.source()


def raster_layers(alg, parameters, name, context):
    """``(layer name, file path)`` of each raster of a multiple-raster parameter, in the order given, each path as
    :func:`raster_path` reads one (a datacube variable as its dated stack, named after its cube and variable,
    'cube_VV'): the one place a list of rasters becomes paths."""
    value = parameters.get(name)
    items = list(value) if isinstance(value, (list, tuple)) else [] if value in (None, "") else [value]
    found = []
    for item in items:
        cube = cube_stack(alg, item, name)
        if cube is not None:
            found.append((layer_name(cube), cube))
            continue
        layers = alg.parameterAsLayerList({name: [item]}, name, context)
        if not layers:
            raise alg.error(f"{alg.label(name)}: '{item}' is not a raster QGIS can load; choose a GeoTIFF, a dated "
                            'stack or a datacube variable (NETCDF:"cube.nc":VV)')
        found.extend((layer.name(), _gdal_source(alg, layer, name)) for layer in layers)
    return found


def raster_paths(alg, parameters, name, context):
    """File paths of a multiple-raster parameter (:func:`raster_layers`)."""
    return [path for _, path in raster_layers(alg, parameters, name, context)]


def layer_name(path):
    """The name QGIS gives the layer of file ``path`` (its base name without extension); a datacube's stack: the
    cube file and variable ('cube_VV')."""
    return os.path.splitext(os.path.basename(str(path).split("|", 1)[0]))[0]


def cube_stack(alg, value, name):
    """The dated stack (a virtual raster, freed when the run ends) of the datacube variable ``value`` of parameter
    ``name`` (:func:`~sarsense.algorithms.io.datacube.cube_stack`), or None when ``value`` names no cube; a cube
    that cannot be read as a dated stack is refused, saying why and what to do."""
    if not isinstance(value, str) or not datacube.is_cube(value):
        return None
    try:
        cube = datacube.as_cube(value)
    except ValueError as err:
        raise alg.error(f"{alg.label(name)}: {err}.") from None
    if cube is None:
        return None
    path = datacube.cube_stack(cube)
    virtual = getattr(alg, "virtual", None)
    if virtual is not None:
        virtual.append(path)
    return path


def on_grid_crs(source, reference, context):
    """``(feature, WKB in the CRS of raster reference)`` for each feature of ``source`` with a geometry."""
    request = QgsFeatureRequest().setDestinationCrs(
        QgsCoordinateReferenceSystem.fromWkt(read_info(reference).projection), context.transformContext())
    for feature in source.getFeatures(request):
        geom = feature.geometry()
        if geom is not None and not geom.isEmpty():
            yield feature, bytes(geom.asWkb())


def burn_polygons(alg, layer, reference, name, context):
    """The polygons of ``layer`` burned onto ``reference``'s grid (1 inside, 0 outside; virtual, freed at the
    end of the run). Geometries are transformed to the grid's CRS; a layer without polygons is refused."""
    checks.vector_source(alg, layer, name, geometry=(QgsWkbTypes.PolygonGeometry,))
    wkbs = [wkb for _, wkb in on_grid_crs(layer, reference, context)]
    if not wkbs:
        raise checks.no_geometry_error(alg, layer, name, "polygons")
    path = _vector.rasterize(wkbs, reference)
    alg.virtual.append(path)
    return path


def on_grid(alg, path, reference, name, feedback, *, resampling="bilinear"):
    """``path`` resampled onto ``reference``'s grid (virtual, freed when the run ends), with a warning
    when it covers only part."""
    on, covered = _stack.on_grid(path, reference, resampling=resampling, label=alg.label(name))
    alg.virtual.append(on)
    if covered < 0.999 and feedback is not None:
        feedback.reportError(alg.tr("{0} covers {1:.0f} % of the input's extent: outside it the output is "
                                    "NaN.").format(alg.label(name), 100 * covered), fatalError=False)
    return on


def release(paths):
    """Free the virtual rasters of a run."""
    for path in paths:
        (datacube.release if datacube.is_virtual(path) else _stack.release)(path)
