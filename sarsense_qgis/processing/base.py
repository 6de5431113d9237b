"""What every SARSense Processing algorithm shares: parameter help, checks, engine callbacks, error translation.

An algorithm stays thin: it implements :meth:`SarsenseAlgorithm.process` (read
parameters, check inputs, call one core function, style and return outputs).
The base class's ``processAlgorithm`` runs it with GDAL's block cache bounded
for the whole run and turns the core's ``ValueError`` and a cancel into a
``QgsProcessingException`` that names the parameter as the dialog labels it.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication, QVariant
from qgis.PyQt.QtGui import QIcon

from ...algorithms import sar
from ...algorithms.io import COMPRESSIONS, DEFAULT_COMPRESSION, Cancelled, read_info, sample_values
from ...algorithms.io.engine import RUN_CACHE_MB, gdal_cache_limit
from .. import help as _help
from .. import setup_tools
from ..plugin import INSTALL_ACTION, icon_path

#: Blocks computed at once. Two cores are the smallest machine we support; more rarely pays off.
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: A GDAL subdataset name: DRIVER:… (not a Windows drive letter).
_SUBDATASET = re.compile(r"^[A-Z][A-Z0-9_]+:")
#: Order of the INPUT_UNITS enum everywhere (STYLE.md §8).
UNITS = ("Linear power", "dB")


def as_number(value):
    """``value`` as a float when it is a number or a numeric text, else None."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def _plain(value, kind):
    """A table cell as QGIS stores it: Python scalars, NULL for None and NaN."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return kind(value.item() if isinstance(value, np.generic) else value)


class SarsenseAlgorithm(QgsProcessingAlgorithm):
    """Base of all SARSense algorithms (group, icon, help, checks, error and cancel handling)."""

    COMPRESSION = "COMPRESSION"
    _group = ("SAR preparation", "sarpreparation")
    #: Modules beyond QGIS's own Python this algorithm needs (``setup_tools.RUNTIME_MODULES`` keys).
    requires = ()

    # -- identity --------------------------------------------------------------------
    def tr(self, text):
        return QCoreApplication.translate("SARSense", text)

    def createInstance(self):
        return type(self)()

    def group(self):
        return self.tr(self._group[0])

    def groupId(self):
        return self._group[1]

    def icon(self):
        return QIcon(icon_path())

    def svgIconPath(self):
        return icon_path()

    def helpUrl(self):
        """The algorithm's help page shipped with the plugin (resources/help/<name>.html)."""
        return _help.help_url(self.name())

    def canExecute(self):
        """False, with what to install and how, when a package this algorithm needs is missing."""
        missing = [m for m in self.requires if m in setup_tools.missing_modules()]
        if not missing:
            return True, ""
        names = " and ".join(setup_tools.RUNTIME_MODULES[m] for m in missing)
        return False, self.tr(
            f"{self.displayName()} needs {names}, which QGIS's Python does not have. Install it with "
            f"Plugins ▸ SARSense ▸ {INSTALL_ACTION} (one click, into SARSense's own folder, keeping QGIS's numpy; "
            "no restart needed), or run 'make setup' in the plugin folder.")

    # -- parameters ------------------------------------------------------------------
    def label(self, name):
        """A parameter as the dialog shows it, with its id for qgis_process users: 'Input units (INPUT_UNITS)'."""
        param = self.parameterDefinition(name)
        return f"{param.description()} ({name})" if param is not None else name

    def add(self, param, help_text, *, advanced=False, decimals=None):
        """Add ``param`` with its help text (shown in the dialog and by ``qgis_process help``).

        ``decimals`` sets how many decimals the dialog's number box shows.
        """
        param.setHelp(self.tr(help_text))
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        if decimals is not None:
            meta = param.metadata()
            meta.setdefault("widget_wrapper", {})["decimals"] = decimals
            param.setMetadata(meta)
        self.addParameter(param)
        return param

    def add_compression(self):
        self.add(QgsProcessingParameterEnum(self.COMPRESSION, self.tr("Output compression"), options=list(COMPRESSIONS),
                                            defaultValue=COMPRESSIONS.index(DEFAULT_COMPRESSION)),
                 "GeoTIFF compression of the output. ZSTD (default) is fast and small; NONE is fastest to "
                 "write; DEFLATE and LZW are the most widely readable but slower.", advanced=True)

    def add_units(self, name="INPUT_UNITS", default=1, what="the input"):
        """The shared INPUT_UNITS enum [0 linear power, 1 dB]."""
        self.add(QgsProcessingParameterEnum(name, self.tr("Input units"), options=list(UNITS), defaultValue=default),
                 f"Units of {what}: linear power or dB (the bundled scenes and most Sentinel-1 products from "
                 "GEE or ASF are dB). The values are checked against this choice.")

    def add_table_output(self, name, label, help_text):
        """A table output (no geometry): a CSV, a GeoPackage table or a temporary layer, as the user picks."""
        self.add(QgsProcessingParameterFeatureSink(name, self.tr(label), type=QgsProcessing.TypeVector), help_text)

    def add_html_output(self, name, label, help_text):
        """A self-contained HTML report (figures embedded), opened from the Results Viewer."""
        self.add(QgsProcessingParameterFileDestination(name, self.tr(label), fileFilter="HTML files (*.html)"),
                 help_text)

    _FIELD_TYPES = {int: QVariant.LongLong, float: QVariant.Double, str: QVariant.String, bool: QVariant.Bool}

    def write_table(self, parameters, name, context, columns, rows, *, points=None, crs=None):
        """Write ``rows`` (sequences) to table output ``name`` with ``columns`` ``[(field, int|float|str|bool)]``;
        NaN becomes NULL. With ``points`` (one ``(x, y)`` per row, in ``crs``) the output is a point layer.
        Returns the output's id."""
        fields = QgsFields()
        for col, kind in columns:
            fields.append(QgsField(col, self._FIELD_TYPES[kind]))
        geometry = QgsWkbTypes.Point if points is not None else QgsWkbTypes.NoGeometry
        sink, dest = self.parameterAsSink(parameters, name, context, fields, geometry,
                                          crs if crs is not None else QgsCoordinateReferenceSystem())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        for i, row in enumerate(rows):
            feature = QgsFeature(fields)
            feature.setAttributes([_plain(v, kind) for v, (_, kind) in zip(row, columns)])
            if points is not None:
                feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*points[i])))
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return dest

    def compression(self, parameters, context):
        return COMPRESSIONS[self.parameterAsEnum(parameters, self.COMPRESSION, context)]

    def odd_size_problem(self, parameters, context, name="SIZE"):
        """A message when window parameter ``name`` is even, else None (for ``checkParameterValues``)."""
        size = self.parameterAsInt(parameters, name, context)
        return None if size % 2 else self.tr(f"{self.label(name)} must be odd (3, 5, 7, …); got {size}.")

    def checkParameterValues(self, parameters, context):
        """Refuse what cannot run, with a sentence that says why, before anything is read or written.

        A missing package (qgis_process 3.22 never asks ``canExecute``), a number that is NaN or
        infinite, a raster file GDAL cannot open, a file of the wrong type: QGIS's own check would
        only say "Incorrect parameter value".
        """
        ok, message = self.canExecute()
        if not ok:
            return False, message
        for param in self.parameterDefinitions():
            problem = self._parameter_problem(param, parameters, context)
            if problem:
                return False, problem
        # QGIS's own check, parameter by parameter as QgsProcessingAlgorithm does, except for a GDAL
        # subdataset name given as text (QGIS 3.22 loads only existing files from text; GDAL reads it)
        for param in self.parameterDefinitions():
            name = param.name()
            if self.subdataset(parameters, name) is not None:
                continue
            if not param.checkValueIsAcceptable(parameters.get(name), context):
                if isinstance(param, QgsProcessingParameterRasterLayer):
                    return False, self.invalidRasterError(parameters, name)
                if isinstance(param, QgsProcessingParameterFeatureSource):
                    return False, self.invalidSourceError(parameters, name)
                if isinstance(param, QgsProcessingParameterFeatureSink):
                    return False, self.invalidSinkError(parameters, name)
                return False, self.tr(f"Incorrect parameter value for {name}")
        return True, ""

    def subdataset(self, parameters, name):
        """The value of raster parameter ``name`` when it is a GDAL subdataset name given as text, else None.

        QGIS 3.22 loads a raster layer from text only when the text is an existing file, so a
        MODIS HDF subdataset (``HDF4_EOS:EOS_GRID:"file.hdf":grid:layer``) passed to ``qgis_process``
        would be refused; SARSense reads it through GDAL itself. (In the QGIS window the layer
        loaded from the HDF file is used as any other layer.)
        """
        value = parameters.get(name)
        param = self.parameterDefinition(name)
        if not isinstance(value, str) or not isinstance(param, QgsProcessingParameterRasterLayer) \
                or not _SUBDATASET.match(value) or os.path.exists(value):
            return None
        return value

    def _parameter_problem(self, param, parameters, context):
        name = param.name()
        value = parameters.get(name)
        if value is None or value == "":
            return None
        if isinstance(param, QgsProcessingParameterNumber):
            number = self.parameterAsDouble(parameters, name, context)
            if not math.isfinite(number):
                return self.tr(f"{self.label(name)} must be a finite number; got {value}.")
        elif isinstance(param, QgsProcessingParameterRasterLayer) and isinstance(value, str):
            return self._raster_file_problem(name, value)
        elif isinstance(param, QgsProcessingParameterMultipleLayers) and isinstance(value, (list, tuple)):
            for item in value:
                problem = self._raster_file_problem(name, item) if isinstance(item, str) else None
                if problem:
                    return problem
        elif isinstance(param, QgsProcessingParameterFile) and isinstance(value, str) and param.extension():
            ext = "." + param.extension().lower()
            if not value.lower().endswith(ext):
                return self.tr(f"{self.label(name)}: '{value}' is not a {ext} file; choose a {ext} file.")
            if not os.path.isfile(value):
                return self.tr(f"{self.label(name)}: the file '{value}' does not exist.")
        return None

    def _raster_file_problem(self, name, value):
        """A message when ``value`` names a file that is missing or not a raster GDAL reads, else None."""
        path = value.split("|", 1)[0]
        if _SUBDATASET.match(path):     # a GDAL subdataset (HDF4_EOS:EOS_GRID:"file.hdf":grid:layer, NETCDF:…)
            try:
                ds = gdal.Open(path)
            except RuntimeError as err:
                return self.tr(f"{self.label(name)}: GDAL cannot open the subdataset '{path}' ({str(err).strip()}).")
            return None if ds is not None else self.tr(f"{self.label(name)}: GDAL cannot open '{path}'.")
        if not (os.sep in path or "." in os.path.basename(path)) or path.startswith("/vsi"):
            return None  # a layer name or id in a project: QGIS resolves it
        if not os.path.exists(path):
            return self.tr(f"{self.label(name)}: the file '{path}' does not exist.")
        try:
            ds = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
        except RuntimeError as err:
            ds, reason = None, str(err).strip()
        else:
            reason = ""
        if ds is None or ds.RasterCount == 0:
            return self.tr(f"{self.label(name)}: '{path}' is not a raster GDAL can read"
                           f"{' (' + reason + ')' if reason else ''}; choose a GeoTIFF or another raster file.")
        return None

    def raster_path(self, parameters, name, context):
        """File path of a raster parameter, with a clear error when it cannot be used."""
        sub = self.subdataset(parameters, name)
        if sub is not None:
            return sub
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(self.invalidRasterError(parameters, name))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(self.tr(
                f"{self.label(name)}: '{layer.name()}' is a {layer.providerType()} layer; SARSense reads files "
                "through GDAL. Export it to GeoTIFF first."))
        return layer.source()

    # -- running ---------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process` with GDAL's cache bounded, turning input problems into messages."""
        try:
            with gdal_cache_limit(RUN_CACHE_MB):
                return self.process(parameters, context, feedback)
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled: no output was written.")) from None
        except ValueError as err:
            raise self.error(str(err)) from None
        except MemoryError:
            raise QgsProcessingException(self.tr("Out of memory: lower the memory budget or close other "
                                                 "programs.")) from None

    def process(self, parameters, context, feedback):
        """The algorithm's work (subclasses): parameters → core → outputs dict."""
        raise NotImplementedError

    @staticmethod
    def callbacks(feedback, start=0.0, end=1.0):
        """Progress and cancel callbacks of the block engine for a Processing feedback.

        ``start`` and ``end`` (fractions) give the part of the progress bar one pass fills, for
        algorithms that walk the raster more than once.
        """
        if feedback is None:
            return {}
        return {"progress": lambda f: feedback.setProgress(100.0 * (start + (end - start) * f)),
                "is_canceled": feedback.isCanceled}

    def report(self, feedback, result):
        """Warn about what the engine replaced: ±inf values the computation gave, written as NaN."""
        n = result.get("infinite", 0) if isinstance(result, dict) else 0
        if n and feedback is not None:
            feedback.reportError(self.tr(f"{n} pixels had no finite result (±inf) and were written as NaN "
                                         "(nodata)."), fatalError=False)

    def check_units(self, path, expected, *, units_param=None, name="INPUT"):
        """Refuse an input whose bands do not look like ``expected`` ('db' or 'linear'), or hold fill values.

        Every band is sampled (a stack may mix units); a value ≤ −100, which no backscatter has,
        is an undeclared nodata value and is refused with how to declare it.
        """
        info = read_info(path)
        rows = 512 if info.band_count <= 4 else 128
        samples = sample_values(path, band=range(1, info.band_count + 1), max_side=rows)
        for band, sample in enumerate(samples, start=1):
            where = f"{self.label(name)}" + (f", band {band}" if info.band_count > 1 else "")
            fill = sar.undeclared_nodata(sample)
            if fill is not None:
                value, count = fill
                raise QgsProcessingException(self.tr(
                    f"{where} holds values of {value:g} ({count} in a sample of {sample.size}) that no backscatter "
                    "has: it looks like a nodata value the file does not declare. Declare it (layer Properties ▸ "
                    f"Transparency, or gdal_edit.py -a_nodata {value:g} '{path}') and run again."))
            found = sar.guess_units(sample)
            if found == "unknown" or found == expected:
                continue
            rng = sar.describe_range(sample)
            if units_param:
                fix = (f"set {self.label(units_param)} to " + ("dB" if found == "db" else "Linear power") +
                       ", or convert it with 'Convert SAR units' first")
            else:
                fix = "pick the conversion that matches the data"
            if expected == "linear":
                raise QgsProcessingException(self.tr(
                    f"{where} looks like dB (values {rng}, some negative) but linear power is expected: {fix}."))
            raise QgsProcessingException(self.tr(
                f"{where} looks like linear power (values {rng}, none negative) but dB is expected: {fix}."))

    def error(self, message):
        """A ``QgsProcessingException`` prefixed with the algorithm's name, ready to raise."""
        return QgsProcessingException(f"{self.displayName()}: {message}")

    @staticmethod
    def band_count(path):
        return read_info(path).band_count
