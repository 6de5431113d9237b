"""Refusals before and during a run, with a sentence a person can act on.

Functions of the running algorithm (``alg``: a :class:`~.base.SarsenseAlgorithm`, which gives the
parameters' labels and raises its own errors): QGIS's parameter check made to say *why*, the units of
backscatter, dated stacks, rasters with no valid pixel, odd window sizes, vector layers that cannot serve.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsProperty,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...algorithms import sar
from ...algorithms.io import datacube, quantities, read_info, sample_values
from ...algorithms.io import orbits as _orbits
from ...algorithms.io import stack as _stack
from ...algorithms.io.raster import open_dataset
from ...algorithms.io.vector import as_number  # noqa: F401 (the algorithms' one way to read a number given as text)

#: A GDAL subdataset name: DRIVER:… (not a Windows drive letter).
SUBDATASET = re.compile(r"^[A-Z][A-Z0-9_]+:")


def subdataset(alg, parameters, name):
    """The value of raster parameter ``name`` when it is a GDAL subdataset name given as text, else None.

    QGIS 3.22 loads a raster layer from text only when the text is an existing file, so a
    MODIS HDF subdataset (``HDF4_EOS:EOS_GRID:"file.hdf":grid:layer``) passed to ``qgis_process``
    would be refused; SARSense reads it through GDAL itself. (In the QGIS window the layer
    loaded from the HDF file is used as any other layer.)
    """
    value = parameters.get(name)
    param = alg.parameterDefinition(name)
    if not isinstance(value, str) or not isinstance(param, QgsProcessingParameterRasterLayer) \
            or not SUBDATASET.match(value) or os.path.exists(value):
        return None
    return value


def parameter_values(alg, parameters, context):
    """``(ok, message)`` for ``checkParameterValues``: what cannot run is refused, before anything is read or
    written, with a sentence that says why.

    A missing package (qgis_process 3.22 never asks ``canExecute``), a number that is NaN or
    infinite, a raster file GDAL cannot open, a file of the wrong type: QGIS's own check would
    only say "Incorrect parameter value".
    """
    ok, message = alg.canExecute()
    if not ok:
        return False, message
    for param in alg.parameterDefinitions():
        problem = _parameter_problem(alg, param, parameters, context)
        if problem:
            return False, problem
    problem = output_is_input(alg, parameters, context) or raster_inputs_problem(alg, parameters, context)
    if problem:
        return False, problem
    # QGIS's own check, parameter by parameter as QgsProcessingAlgorithm does, except for a GDAL
    # subdataset name given as text (QGIS 3.22 loads only existing files from text; GDAL reads it)
    for param in alg.parameterDefinitions():
        name = param.name()
        if subdataset(alg, parameters, name) is not None:
            continue
        value = _without_cubes(param, parameters.get(name))
        if value is _ALL_CUBES:
            continue
        if not param.checkValueIsAcceptable(value, context):
            if isinstance(param, QgsProcessingParameterRasterLayer):
                return False, alg.invalidRasterError(parameters, name)
            if isinstance(param, QgsProcessingParameterFeatureSource):
                return False, alg.invalidSourceError(parameters, name)
            if isinstance(param, QgsProcessingParameterFeatureSink):
                return False, alg.invalidSinkError(parameters, name)
            return False, alg.tr("Incorrect parameter value for {0}").format(name)
    return True, ""


#: A raster parameter's value that names only datacube variables (checked by :func:`raster_file_problem`).
_ALL_CUBES = object()


def _without_cubes(param, value):
    """``value`` of a raster parameter without the datacube names it holds (QGIS 3.22 loads no layer from
    ``NETCDF:"cube.nc":VV`` text nor from a .zarr folder; SARSense reads them itself), or :data:`_ALL_CUBES`."""
    if not isinstance(param, (QgsProcessingParameterRasterLayer, QgsProcessingParameterMultipleLayers)):
        return value
    if isinstance(value, str):
        return _ALL_CUBES if _is_cube(value) else value
    if isinstance(value, (list, tuple)):
        rest = [v for v in value if not (isinstance(v, str) and _is_cube(v))]
        return _ALL_CUBES if value and not rest else type(value)(rest) if len(rest) != len(value) else value
    return value


def _is_cube(value):
    """Whether ``value`` names a datacube variable SARSense reads as a dated stack (a .nc file with other, 2-D
    variables beside it too, which QGIS would not load as one layer)."""
    try:
        return datacube.as_cube(value) is not None
    except ValueError:
        return False        # not a cube that can be read: raster_file_problem has said why


#: Parameters whose value names files the run reads.
_INPUT_TYPES = (QgsProcessingParameterRasterLayer, QgsProcessingParameterFeatureSource, QgsProcessingParameterFile,
                QgsProcessingParameterMultipleLayers, QgsProcessingParameterMapLayer, QgsProcessingParameterVectorLayer)
#: Parameters whose value names a file (or folder) the run writes.
_OUTPUT_TYPES = (QgsProcessingParameterRasterDestination, QgsProcessingParameterVectorDestination,
                 QgsProcessingParameterFileDestination, QgsProcessingParameterFeatureSink,
                 QgsProcessingParameterFolderDestination)


def _file_of(value):
    """The real path of the file a parameter value names (a path, 'path|layername=…', a GDAL subdataset
    'DRIVER:"path":…', a layer), or None for what names no file (a temporary output, a memory layer)."""
    if isinstance(value, QgsMapLayer):
        value = value.source()
    elif isinstance(value, (QgsProcessingFeatureSourceDefinition, QgsProcessingOutputLayerDefinition)):
        prop = value.source if isinstance(value, QgsProcessingFeatureSourceDefinition) else value.sink
        value = prop.staticValue() if prop.propertyType() == QgsProperty.StaticProperty else None
    if not isinstance(value, str) or not value or value == "TEMPORARY_OUTPUT" or value.startswith("memory:"):
        return None
    path = value.split("|", 1)[0]
    if SUBDATASET.match(path):
        quoted = re.search(r'"([^"]+)"', path)
        if not quoted:
            return None
        path = quoted.group(1)
    elif path.startswith(("ogr:", "postgres:", "/vsi")) or "://" in path:
        return None
    return os.path.realpath(path)


def _input_files(alg, param, parameters, context):
    value = parameters.get(param.name())
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    files = []
    for item in values:
        if isinstance(item, str) and item and not os.path.exists(item.split("|", 1)[0]) \
                and not SUBDATASET.match(item) and context is not None and context.project() is not None:
            layer = context.project().mapLayer(item)   # a layer id in the project: its source
            item = layer if layer is not None else item
        path = _file_of(item)
        if path:
            files.append(path)
    return files


def _label(alg, name):
    """A parameter as the dialog shows it, with its id ('Input (INPUT)'), for a SARSense algorithm or a workflow."""
    if hasattr(alg, "label"):
        return alg.label(name)
    param = alg.parameterDefinition(name)
    return f"{param.description()} ({name})" if param is not None else name


def _tr(text):
    return QCoreApplication.translate("SARSense", text)


def output_is_input(alg, parameters, context):
    """A message when an output would overwrite an input or another output, else None.

    Every kind of input counts (rasters, vector layers, model and table files, folders, the layers of a
    multiple-layer input); an output inside an input folder (a SAFE product) would change that input and is
    refused too. Checked before anything is read or written.
    """
    inputs = []       # (label, real path, is a folder)
    for param in alg.parameterDefinitions():
        if isinstance(param, _INPUT_TYPES):
            paths = _input_files(alg, param, parameters, context)
        elif isinstance(param, QgsProcessingParameterString) and isinstance(parameters.get(param.name()), str) \
                and os.path.isfile(parameters[param.name()]):
            paths = [os.path.realpath(parameters[param.name()])]   # text naming a file (interpolatetime's TARGET)
        else:
            continue
        inputs.extend((_label(alg, param.name()), path, os.path.isdir(path)) for path in paths)
    seen = {}
    for param in alg.parameterDefinitions():
        if not isinstance(param, _OUTPUT_TYPES):
            continue
        out = _file_of(parameters.get(param.name()))
        if not out:
            continue
        label = _label(alg, param.name())
        for in_label, path, folder in inputs:
            if out == path or (folder and out.startswith(path + os.sep)):
                what = "is" if out == path else "is inside"
                return _tr("{0}: '{1}' {2} the input {3} ('{4}'); choose another output path (inputs are never "
                              "overwritten).").format(label, parameters.get(param.name()) if isinstance(
                                  parameters.get(param.name()), str) else out, what, in_label, path)
        if out in seen:
            return _tr("{0} and {1} are the same file '{2}'; give each output its own path.").format(
                seen[out], label, out)
        seen[out] = label
    return None


def raster_inputs_problem(alg, parameters, context):
    """A message when a raster input holds a fill value (-9999, -32768, -3.4e38, …) it does not declare as
    nodata (every result computed from it would be wrong, whatever the algorithm), or has no valid pixel at all
    (nothing could come out; except the inputs an algorithm lists in ``empty_inputs_allowed``: a grid
    reference, dates a stack keeps as empty bands), else None."""
    allowed = getattr(alg, "empty_inputs_allowed", ())
    virtual = []
    try:
        return _raster_inputs_problem(alg, parameters, context, allowed, virtual)
    finally:
        for path in virtual:
            datacube.release(path)


def _input_rasters(alg, param, parameters, context, virtual):
    """``(path, name shown)`` of the raster files parameter ``param`` reads, a datacube variable as its dated stack
    (appended to ``virtual``, to free; shown by its cube name), so that its values are sampled as the run reads
    them (scale and fill applied)."""
    value = parameters.get(param.name())
    paths = []
    for item in (list(value) if isinstance(value, (list, tuple)) else [value]):
        if isinstance(item, str) and context is not None and context.project() is not None \
                and context.project().mapLayer(item) is not None:
            item = context.project().mapLayer(item)     # a layer id: its source (a cube loaded in the project)
        text = item.source() if isinstance(item, QgsMapLayer) else item
        try:
            cube = datacube.as_cube(text) if isinstance(text, str) else None
        except (ValueError, RuntimeError):
            cube = None     # raster_file_problem says why
        if cube is not None:
            virtual.append(datacube.cube_stack(cube))
            paths.append((virtual[-1], cube.name))
        else:
            paths.extend((p, p) for p in _input_files(alg, param, {param.name(): item}, context))
    return paths


def _file_list(param):
    """Whether ``param`` is a list of files that are no layers (Sentinel-1 products), not of rasters."""
    return isinstance(param, QgsProcessingParameterMultipleLayers) and param.layerType() == QgsProcessing.TypeFile


def _raster_inputs_problem(alg, parameters, context, allowed, virtual):
    for param in alg.parameterDefinitions():
        if not isinstance(param, (QgsProcessingParameterRasterLayer, QgsProcessingParameterMultipleLayers,
                                  QgsProcessingParameterMapLayer)) or _file_list(param):
            continue
        for path, shown in _input_rasters(alg, param, parameters, context, virtual):
            try:
                info = read_info(path)
                samples = sample_values(path, band=range(1, info.band_count + 1))
            except (RuntimeError, ValueError):
                continue        # not a raster (a land-mask layer) or unreadable: other checks say so
            for band, sample in enumerate(samples, start=1):
                fill = quantities.fill_problem(sample)
                if fill:
                    where = _label(alg, param.name()) + (f", band {band}" if info.band_count > 1 else "")
                    return fill_message(alg, where, *fill, sample.size, shown, "no measured quantity takes")
            if param.name() not in allowed and not np.isfinite(samples).any() and not _has_valid_pixel(path):
                return no_valid_message(alg, param.name(), shown if isinstance(param, (
                    QgsProcessingParameterMultipleLayers)) else None)
    return None


def _has_valid_pixel(path):
    """Whether any band of ``path`` holds a valid pixel, read exactly (GDAL's min/max reads every pixel): for a
    raster whose sample held none."""
    ds = open_dataset(path)
    for b in range(1, ds.RasterCount + 1):
        try:
            lo, hi = ds.GetRasterBand(b).ComputeRasterMinMax(False)
        except RuntimeError:
            continue
        if np.isfinite(lo) or np.isfinite(hi):
            return True
    return False


def no_valid_message(alg, name, path=None):
    """The refusal of a raster with no valid pixel."""
    which = f" ('{path}')" if path else ""
    return _tr("{0}{1} has no valid pixel (every band is NaN or nodata): nothing could come out. Choose a raster "
                  "(or dates) with data over the area, or check its nodata value.").format(_label(alg, name), which)


def fill_message(alg, where, value, count, n, path, why):
    """The refusal of an undeclared nodata value, with how to declare it."""
    return _tr("{0} holds values of {1:g} ({2} in a sample of {3}) that {5}: it looks like a nodata value the "
                  "file does not declare, and every result computed with it would be wrong. Declare it (layer "
                  "Properties ▸ Transparency, or gdal_edit.py -a_nodata {1:g} '{4}') and run again.").format(
        where, value, count, n, path, why)


def output_files(alg, parameters, context):
    """The files the run's outputs name, ``{real path: (size, mtime) or None if absent}`` as they are now (what
    the base class removes if the run then fails: any that it created or changed)."""
    state = {}
    for param in alg.parameterDefinitions():
        if isinstance(param, _OUTPUT_TYPES) and not isinstance(param, QgsProcessingParameterFolderDestination):
            out = _file_of(parameters.get(param.name()))
            if out:
                state[out] = _file_state(out)
    return state


def _file_state(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


#: Side files GDAL and OGR write beside an output.
_SIDE_FILES = (".aux.xml", ".ovr", "-wal", "-shm", "-journal")
_SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".qmd")


def remove_changed(state):
    """Remove the output files of ``state`` (:func:`output_files`) that the failed run created or changed, with
    their side files; returns those removed."""
    removed = []
    for path, before in state.items():
        if _file_state(path) == before or os.path.isdir(path):
            continue
        parts = [path] + [path + s for s in _SIDE_FILES]
        if path.lower().endswith(".shp"):
            parts += [path[:-4] + s for s in _SHAPEFILE_PARTS]
        for p in parts:
            try:
                os.remove(p)
            except OSError:      # absent (a side file never written) or not removable
                continue
            removed.append(p)
    return removed


def _parameter_problem(alg, param, parameters, context):
    name = param.name()
    value = parameters.get(name)
    if value is None or value == "":
        return None
    if isinstance(param, QgsProcessingParameterNumber):
        number = alg.parameterAsDouble(parameters, name, context)
        if not math.isfinite(number):
            return alg.tr("{0} must be a finite number; got {1}.").format(alg.label(name), value)
        lo, hi = param.minimum(), param.maximum()
        if not lo <= number <= hi:   # QGIS's own check would only say "Incorrect parameter value"
            rule = (alg.tr("at least {0:g}").format(lo) if hi >= 1e300 else alg.tr("at most {0:g}").format(hi)
                    if lo <= -1e300 else alg.tr("between {0:g} and {1:g}").format(lo, hi))
            return alg.tr("{0} must be {1}; got {2:g}.").format(alg.label(name), rule, number)
    elif isinstance(param, QgsProcessingParameterRasterLayer) and isinstance(value, str):
        return raster_file_problem(alg, name, value)
    elif isinstance(param, QgsProcessingParameterMultipleLayers) and isinstance(value, (list, tuple, str)):
        for item in ([value] if isinstance(value, str) else value):
            if not isinstance(item, str):
                continue
            if _file_list(param):
                if not os.path.exists(item):
                    return alg.tr("{0}: '{1}' does not exist.").format(alg.label(name), item)
                continue
            problem = raster_file_problem(alg, name, item)
            if problem:
                return problem
    elif isinstance(param, (QgsProcessingParameterFeatureSource, QgsProcessingParameterVectorLayer)) \
            and isinstance(value, str):
        return vector_file_problem(alg, name, value)
    elif isinstance(param, QgsProcessingParameterMapLayer) and isinstance(value, str):
        # a raster or a vector layer (a land mask): a file GDAL reads as a raster is fine, else it must be a table
        return raster_file_problem(alg, name, value) and vector_file_problem(alg, name, value)
    elif isinstance(param, QgsProcessingParameterFile) and isinstance(value, str) and param.extension():
        ext = "." + param.extension().lower()
        if not value.lower().endswith(ext):
            return alg.tr("{0}: '{1}' is not a {2} file; choose a {2} file.").format(alg.label(name), value, ext)
        if not os.path.isfile(value):
            return alg.tr("{0}: the file '{1}' does not exist.").format(alg.label(name), value)
    return None


def raster_file_problem(alg, name, value):
    """A message when ``value`` names a file that is missing or not a raster GDAL reads, or a datacube that cannot
    be read as a dated stack (saying why), else None."""
    path = value.split("|", 1)[0]
    if datacube.is_cube(path) and (os.path.exists(datacube.parse_name(path)[1])):
        try:
            if datacube.as_cube(path) is not None:
                return None
        except ValueError as err:
            return alg.tr("{0}: {1}.").format(_label(alg, name), str(err).rstrip("."))
    if SUBDATASET.match(path):     # a GDAL subdataset (HDF4_EOS:EOS_GRID:"file.hdf":grid:layer, NETCDF:…)
        try:
            ds = gdal.Open(path)
        except RuntimeError as err:
            return alg.tr("{0}: GDAL cannot open the subdataset '{1}' ({2}).").format(
                alg.label(name), path, str(err).strip())
        return None if ds is not None else alg.tr("{0}: GDAL cannot open '{1}'.").format(alg.label(name), path)
    if not (os.sep in path or "." in os.path.basename(path)) or path.startswith("/vsi"):
        return None  # a layer name or id in a project: QGIS resolves it
    if not os.path.exists(path):
        return alg.tr("{0}: the file '{1}' does not exist.").format(alg.label(name), path)
    ds, reason = _open_file(path, gdal.OF_RASTER)
    if ds is None or ds.RasterCount == 0:
        return alg.tr("{0}: '{1}' is not a raster GDAL can read{2}; choose a GeoTIFF or another raster "
                      "file.").format(alg.label(name), path, f" ({reason})" if reason else "")
    return None


def _open_file(path, kind):
    """``(dataset or None, GDAL's reason or '')`` of ``path`` opened read-only as ``kind`` (gdal.OF_RASTER or
    gdal.OF_VECTOR)."""
    try:
        return gdal.OpenEx(path, kind | gdal.OF_READONLY), ""
    except RuntimeError as err:
        return None, str(err).strip()


def vector_file_problem(alg, name, value):
    """A message when ``value`` names a file that is missing, empty (0 bytes) or not a table or vector layer OGR
    reads, else None (QGIS's own check says only "… not found")."""
    path = value.split("|", 1)[0]
    if not (os.sep in path or "." in os.path.basename(path)) or path.startswith("/vsi") or "://" in path:
        return None  # a layer name or id in a project, or a provider URI: QGIS resolves it
    if not os.path.exists(path):
        return alg.tr("{0}: the file '{1}' does not exist.").format(alg.label(name), path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return alg.tr("{0}: '{1}' is empty (0 bytes): it holds no table or layer. Choose the file the algorithm "
                      "that makes it wrote, or run that algorithm again (an interrupted run or copy leaves an "
                      "empty file).").format(alg.label(name), path)
    ds, reason = _open_file(path, gdal.OF_VECTOR)
    if ds is None or ds.GetLayerCount() == 0:
        return alg.tr("{0}: '{1}' is not a table or vector layer QGIS can read{2}; choose a CSV, GeoPackage, "
                      "Shapefile or another vector file.").format(alg.label(name), path,
                                                                  f" ({reason})" if reason else "")
    return None


def odd_size_problem(alg, parameters, context, name="SIZE"):
    """A message when window parameter ``name`` is even, else None (for ``checkParameterValues``)."""
    size = alg.parameterAsInt(parameters, name, context)
    return None if size % 2 else alg.tr("{0} must be odd (3, 5, 7, …); got {1}.").format(alg.label(name), size)


def units(alg, path, expected, *, units_param=None, name="INPUT", sigma0=True):
    """Refuse an input whose bands do not look like ``expected`` ('db' or 'linear'), or hold fill values.

    Every band is sampled (a stack may mix units); a value ≤ −100, which no backscatter has,
    is an undeclared nodata value and is refused with how to declare it. With ``sigma0`` (the input must be
    calibrated backscatter), values no σ⁰ in those units has (:func:`~sarsense.algorithms.sar.implausible_backscatter`:
    digital numbers, amplitudes in the hundreds) are refused with how to calibrate them. A band its metadata
    declares an incidence angle (the importer's second band) is no backscatter and is not checked.
    """
    info = read_info(path)
    samples = sample_values(path, band=range(1, info.band_count + 1))
    ds = open_dataset(path)
    for band, sample in enumerate(samples, start=1):
        if _stack.is_incidence(ds.GetRasterBand(band).GetMetadata() or {}, info.descriptions[band - 1]):
            continue
        where = f"{alg.label(name)}" + (f", band {band}" if info.band_count > 1 else "")
        fill = sar.undeclared_nodata(sample)
        if fill is not None:
            raise QgsProcessingException(fill_message(alg, where, *fill, sample.size, path, "no backscatter has"))
        why = sar.implausible_backscatter(sample, expected) if sigma0 else None
        if why:
            raise QgsProcessingException(alg.tr(
                "{0} holds values no σ⁰ in {1} has ({2}): it looks like digital numbers (DN) or amplitude, not "
                "calibrated backscatter (or another layer, such as an incidence angle). Calibrate it first with "
                "'Import Sentinel-1' or your processor's σ⁰ calibration (SNAP: Radar ▸ Radiometric ▸ "
                "Calibrate).").format(
                where, "dB" if expected == "db" else "linear power", why))
        found = sar.guess_units(sample)
        if found == "unknown" or found == expected:
            continue
        rng = sar.describe_range(sample)
        if units_param:
            fix = alg.tr("set {0} to {1}, or convert it with 'Convert SAR units' first").format(
                alg.label(units_param), "dB" if found == "db" else "Linear power")
        else:
            fix = alg.tr("pick the conversion that matches the data")
        if expected == "linear":
            raise QgsProcessingException(alg.tr(
                "{0} looks like dB (values {1}, some negative) but linear power is expected: {2}.").format(
                where, rng, fix))
        raise QgsProcessingException(alg.tr(
            "{0} looks like linear power (values {1}, none negative) but dB is expected: {2}.").format(
            where, rng, fix))


def stack_dates(alg, path, name, *, min_dates=2, in_order=False):
    """The ISO dates of a dated stack parameter; refuses a stack without dates or with too few, one that is no
    time series (:func:`~sarsense.algorithms.io.stack.check_series`: a date twice with nothing to tell the bands
    apart, mixed polarisations, quantities or units), and with ``in_order`` one whose dates repeat or are not in
    time order (rules that look at "the next date")."""
    try:
        dates = _stack.band_dates(path)
    except ValueError as err:
        raise alg.error(f"{alg.label(name)} must be a dated stack (one band per date, ISO dates in the "
                        f"band descriptions, as 'Build dated stack' writes): {err}") from None
    try:
        _stack.check_series(path, label=alg.label(name))
    except ValueError as err:
        raise alg.error(str(err)) from None
    if len(dates) < min_dates:
        raise alg.error(f"{alg.label(name)} has {len(dates)} date(s) ({', '.join(dates)}); this needs at "
                        f"least {min_dates}. Build a longer stack with 'Build dated stack'.")
    if in_order:
        twice = _stack.repeated_refusal(dates, label=alg.label(name))
        if twice:
            raise alg.error(twice)
        back = [f"band {i + 2} ({b}) after band {i + 1} ({a})" for i, (a, b) in enumerate(zip(dates, dates[1:]))
                if b < a]
        if back:
            raise alg.error(f"{alg.label(name)} is not in time order: {'; '.join(back[:3])}. Rebuild it with "
                            "'Build dated stack', which sorts the bands by date.")
    return dates


def _log_groups(alg, name, feedback, groups, dates):
    """Log the orbit groups of stack parameter ``name`` with their number of dates and first and last date."""
    feedback.pushInfo(alg.tr("{0}: {1} series by orbit: {2}.").format(alg.label(name), len(groups), "; ".join(
        f"{g.label}: {len(g.bands)} date(s) ({dates[g.bands[0]]} … {dates[g.bands[-1]]})" for g in groups)))


def orbit_groups(alg, path, name, feedback, *, pooled=False, min_dates=2, need=""):
    """The series of the dated stack ``path`` (:func:`~sarsense.algorithms.io.orbits.orbit_groups`: relative
    orbits, else times of day; a list of :class:`~sarsense.algorithms.io.orbits.OrbitGroup`), or None for one
    series (``pooled``, or one group found): ``series_of`` turns either into the core jobs' groups.
    Logs the groups and their dates; warns where orbits cannot be told apart (bands with a date only) and where
    ``pooled`` mixes several; refuses, naming it, a group with fewer than ``min_dates`` dates (``need``: what
    asks for them, e.g. the parameter), saying what to do."""
    try:
        acqs = _orbits.band_acquisitions(path)
    except ValueError as err:
        raise alg.error(f"{alg.label(name)}: {err}") from None
    groups = _orbits.orbit_groups(acqs)
    dates = [a.date for a in acqs]
    _log_groups(alg, name, feedback, groups, dates)
    undated = [g for g in groups if g.basis == "date only"]
    if undated:
        feedback.pushWarning(alg.tr(
            "{0}: {1} band(s) have a date only (no time of day, no RELATIVE_ORBIT metadata): orbits cannot be told "
            "apart, and they are one series. If the stack mixes relative orbits, build it from 'Import Sentinel-1 "
            "GRD' outputs (which carry RELATIVE_ORBIT) or give each band its ACQUISITION_START_TIME.").format(
            alg.label(name), len(undated[0].bands)))
    orbit_param = alg.label("ORBITS")
    if pooled:
        if len(groups) > 1:
            feedback.pushWarning(alg.tr(
                "{0} is Pooled: the {1} series found ({2}) are treated as one; their offsets (different incidence "
                "and look direction) become part of the signal. Choose 'Per relative orbit' unless they are known "
                "to agree.").format(orbit_param, len(groups), ", ".join(g.label for g in groups)))
        return None
    small = [g for g in groups if len(g.bands) < min_dates]
    if small:
        what = "; ".join(f"{g.label} has {len(g.bands)} date(s) ({', '.join(dates[i] for i in g.bands)})"
                         for g in small)
        raise alg.error(alg.tr(
            "{0}: {1}, fewer than the {2} each series needs{3}. Fix: drop those dates (leave their files out of "
            "'Build dated stack'), or choose 'Pooled (one series)' in {4} if the orbits agree.").format(
            alg.label(name), what, min_dates, f" ({need})" if need else "", orbit_param))
    return groups if len(groups) > 1 else None


def orbit_notice(alg, path, name, feedback, why):
    """Log the orbit groups of the dated stack ``path`` (:func:`~sarsense.algorithms.io.orbits.orbit_groups`) for
    a method that takes the stack as it is, and warn, saying ``why`` it matters, when it mixes several."""
    acqs = _orbits.band_acquisitions(path)
    groups = _orbits.orbit_groups(acqs)
    _log_groups(alg, name, feedback, groups, [a.date for a in acqs])
    if len(groups) > 1:
        feedback.pushWarning(alg.tr("{0} mixes {1} orbits ({2}): {3}").format(
            alg.label(name), len(groups), ", ".join(g.label for g in groups), why))
    return groups


def series_of(groups):
    """The core jobs' :class:`~sarsense.algorithms.soil_moisture.series.SeriesOptions` groups (0-based band
    indices per series) of :func:`orbit_groups`' answer (None: one series)."""
    return tuple(g.bands for g in groups) if groups else None


#: How messages name each kind of geometry.
GEOMETRY_WORDS = {QgsWkbTypes.PointGeometry: "points", QgsWkbTypes.LineGeometry: "lines",
                  QgsWkbTypes.PolygonGeometry: "polygons"}


def vector_layer(alg, parameters, name, context, *, geometry=(), fields=(), what="", field_hint=""):
    """The feature source of vector parameter ``name``, refused (:func:`vector_source`) when it cannot serve."""
    source = alg.parameterAsSource(parameters, name, context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, name))
    vector_source(alg, source, name, geometry=geometry, fields=fields, what=what, field_hint=field_hint)
    return source


def vector_source(alg, source, name, *, geometry=(), fields=(), what="", field_hint=""):
    """Refuse a layer (any ``QgsFeatureSource``) of parameter ``name`` that cannot serve, saying what it must hold.

    In this order: no feature at all (an empty layer or table), no geometry column (a table) or another kind of
    geometry than ``geometry`` (``QgsWkbTypes`` geometry types; empty: any), a field of ``fields`` missing
    (``field_hint`` says which field to choose instead). ``what`` is what the layer must hold ("polygons with
    a CT field"); empty: the allowed geometries. One check for every suite, so that an empty layer is called empty.
    """
    kinds = " or ".join(GEOMETRY_WORDS[g] for g in geometry)
    must = what or kinds or "features"
    layer = f"{alg.label(name)} ('{source.sourceName()}')"
    gtype = QgsWkbTypes.geometryType(source.wkbType())
    if source.featureCount() == 0:
        raise alg.error(f"{layer} is empty: it has no feature. It must hold {must}; choose another layer, or check "
                        "the file and its layer name.")
    if geometry and gtype == QgsWkbTypes.NullGeometry:
        raise alg.error(f"{layer} has no geometry (a table without a geometry column). It must hold {must}.")
    if geometry and gtype != QgsWkbTypes.UnknownGeometry and gtype not in geometry:
        raise alg.error(f"{layer} holds {GEOMETRY_WORDS.get(gtype, 'geometries of another kind')}; it must hold "
                        f"{must}.")
    names = source.fields().names()
    for field in fields:
        if field not in names:
            raise alg.error(f"{layer} has no field '{field}' (its fields: {', '.join(names) or 'none'}). "
                            f"{field_hint or f'It must hold {must}.'}")


def no_geometry_error(alg, source, name, what):
    """The refusal of a layer whose features all lack a geometry (each is NULL or empty) where ``what`` is needed."""
    n = source.featureCount()
    return alg.error(f"{alg.label(name)} ('{source.sourceName()}') has {n if n >= 0 else 'its'} feature(s), none "
                     f"with a geometry: it must hold {what}. Check the layer (e.g. a table joined without its "
                     "geometries).")


def require_valid(alg, path, name):
    """Refuse a raster with no valid pixel in any band (all NaN or nodata): nothing could come out."""
    n = read_info(path).band_count
    if np.isfinite(sample_values(path, band=range(1, n + 1))).any() or _has_valid_pixel(path):
        return
    raise alg.error(no_valid_message(alg, name))


def value_range(alg, path, name, quantity, *, bands=None, hint=""):
    """Refuse a raster whose values are no ``quantity`` (a :data:`~sarsense.algorithms.io.quantities.QUANTITIES`
    name): more than 0.5 % of a sample of each band (``bands``: 1-based numbers, default all) outside the
    quantity's physical range, compared after the band's scale and offset. The message gives the values seen,
    the range, the likely cause and ``hint`` (the suite's own fix)."""
    n = read_info(path).band_count
    bands = list(bands) if bands is not None else list(range(1, n + 1))
    samples = sample_values(path, band=bands)
    for band, sample in zip(bands, samples):
        problem = quantities.range_problem(sample, quantity)
        if problem:
            where = alg.label(name) + (f", band {band}" if n > 1 else "")
            raise alg.error(f"{where}: {problem}." + (f" {hint}" if hint else ""))


def class_map(alg, path, name, *, band=1, hint=""):
    """Refuse a raster given where a class map is expected whose values are not integer class codes (``hint``: the
    suite's own sentence on what the class map must be)."""
    problem = quantities.class_problem(sample_values(path, band=band))
    if problem:
        raise alg.error(f"{alg.label(name)} {problem}." + (f" {hint}" if hint else ""))


def out_of_memory(alg):
    """The message of a run that ran out of memory: what to do, with the algorithm's memory budget where it has one."""
    hint = alg.tr(", or lower {0}").format(alg.label("BUDGET_MB")) if alg.parameterDefinition("BUDGET_MB") else ""
    return QgsProcessingException(alg.tr("Out of memory: close other programs and run again{0}.").format(hint))
