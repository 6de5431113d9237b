"""The frozen-soil screen of the Soil moisture algorithms (issue #29): TEMPERATURE, FROZEN_BELOW, the flag stack.

TEMPERATURE is one file parameter for both forms a user has, a CSV of daily air temperature (an ERA5-Land or
AgERA5 export) and a dated raster stack (a NetCDF/GeoTIFF of 2 m or surface temperature): a raster-layer
parameter cannot take a CSV, a map-layer parameter would route the CSV through QGIS's delimited-text provider
(geometry guessing, a URI to parse back), and two parameters would make the Modeler and qgis_process users learn
two ids for one input. The file's form is told by its extension (.csv/.txt) or by GDAL opening it (any raster GDAL
reads, NetCDF subdatasets ``NETCDF:"t2m.nc":t2m`` included).
The core is :mod:`sarsense.algorithms.soil_moisture.frozen`.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
)

from ....algorithms.io import read_info, sample_values
from ....algorithms.soil_moisture import frozen as fz
from ...styles import ClassMapPostProcessor, style_on_load
from .. import checks, inputs, names

TEMPERATURE, FROZEN_BELOW, OUTPUT_FROZEN, FROZEN_COUNT = "TEMPERATURE", "FROZEN_BELOW", "OUTPUT_FROZEN", "FROZEN_COUNT"
FILE_FILTER = ("Daily temperature: CSV or raster (*.csv *.txt *.tif *.tiff *.nc *.vrt *.grib *.grb);;"
               "All files (*.*)")
CSV_EXTENSIONS = (".csv", ".txt")


def add_parameters(alg, *, flags=True):
    """TEMPERATURE, FROZEN_BELOW, the flag stack OUTPUT_FROZEN (with ``flags``) and the FROZEN_COUNT output."""
    alg.add(QgsProcessingParameterFile(TEMPERATURE, alg.tr("Temperature: daily air temperature CSV or dated raster"),
                                       behavior=QgsProcessingParameterFile.File, fileFilter=FILE_FILTER,
                                       optional=True),
            "Optional: screens frozen soil and snow, which look like the driest dates. A CSV with a date column and a "
            "daily (or hourly: averaged per day) air temperature column in °C or K, e.g. an ERA5-Land or AgERA5 "
            "2 m temperature export, matched to each acquisition's UTC day; or a dated raster stack of air or "
            "surface temperature (°C or K, any grid), matched by date, screening pixel by pixel. Frozen dates are "
            "left out of the references and written as NaN. Empty: not screened (the log says so).")
    alg.add(QgsProcessingParameterNumber(FROZEN_BELOW, alg.tr("Frozen below (°C)"),
                                         type=QgsProcessingParameterNumber.Double, defaultValue=fz.FROZEN_BELOW_C,
                                         minValue=-30.0, maxValue=10.0, optional=True),
            "A date is frozen where its daily mean temperature is below this. A daily mean air temperature below "
            "0 °C is a conservative proxy for frozen topsoil (soil water freezes at or just below 0 °C and lags the "
            "air); raise it (1-2 °C) to screen the mornings after a frozen night too.", decimals=1)
    if flags:
        alg.add(QgsProcessingParameterRasterDestination(OUTPUT_FROZEN, alg.tr("Frozen-soil flags"), optional=True,
                                                        createByDefault=True),
                "Written when a temperature is given: uint8, one band per date, 1 frozen (screened), 0 not frozen, "
                "255 temperature unknown (not screened).")
    alg.addOutput(QgsProcessingOutputNumber(FROZEN_COUNT, alg.tr("Frozen pixel-dates screened")))


def _is_csv(path):
    return path.lower().endswith(CSV_EXTENSIONS)


def _dates_text(dates, k=8):
    return ", ".join(dates[:k]) + (" …" if len(dates) > k else "")


def read_screen(alg, parameters, context, feedback, reference, dates):
    """The :class:`~sarsense.algorithms.soil_moisture.frozen.FrozenScreen` of the run for the dated stack
    ``reference`` (its ISO ``dates``; None: station samples on those dates, which take a CSV only), or None without
    TEMPERATURE (said in the log); refuses a temperature that cannot be read, before any output is made."""
    value = parameters.get(TEMPERATURE)
    if value in (None, ""):
        feedback.pushInfo(alg.tr("Frozen soil and snow are not screened: no temperature given ({0}). Frozen or "
                                 "snow-covered dates look like the driest and may set the dry reference.").format(
            alg.label(TEMPERATURE)))
        return None
    path = alg.parameterAsFile(parameters, TEMPERATURE, context)
    below = alg.parameterAsDouble(parameters, FROZEN_BELOW, context)
    where = alg.label(TEMPERATURE)
    if not checks.SUBDATASET.match(path) and not os.path.isfile(path):
        raise alg.error(f"{where}: the file '{path}' does not exist.")
    out = (alg.parameterAsOutputLayer(parameters, OUTPUT_FROZEN, context)
           if alg.parameterDefinition(OUTPUT_FROZEN) is not None and parameters.get(OUTPUT_FROZEN) else None)
    name = os.path.basename(path)
    try:
        if _is_csv(path):
            table = fz.read_temperature_csv(path)
            screen = fz.screen_from_table(table, dates, below_c=below, source=f"'{name}' ({table.column}, daily "
                                                                               "mean air temperature)", output=out)
            frozen = [d for d, f in zip(dates, screen.flags) if f == fz.FROZEN]
            feedback.pushInfo(alg.tr("Temperature {0}: {1}. {2} of {3} dates frozen (below {4:g} °C), left out of "
                                     "the references and written as NaN{5}").format(
                name, table.describe(), len(frozen), len(dates), below, f": {_dates_text(frozen)}." if frozen else "."))
        elif reference is None:
            raise ValueError(f"'{name}' is not a CSV: station samples are screened by date, with the site's daily "
                             "air temperature as a CSV (a date column and a temperature column, e.g. an ERA5-Land "
                             "export at the site)")
        else:
            screen = _raster_screen(alg, path, reference, dates, below, out, feedback)
    except ValueError as err:
        raise alg.error(f"{where}: {err}.") from None
    if screen.unknown:
        feedback.pushWarning(alg.tr("{0}: no temperature on {1} of {2} dates, which are not screened (flag 255): "
                                    "{3}. Give a temperature that covers the whole series.").format(
            where, len(screen.unknown), len(dates), _dates_text(list(screen.unknown))))
    return screen


def _raster_screen(alg, path, reference, dates, below, out, feedback):
    try:
        info = read_info(path)
    except ValueError:
        info = None
    if info is None or not info.band_count:
        raise ValueError(f"'{path}' is neither a CSV (.csv, .txt) nor a raster GDAL reads: give a CSV of daily "
                         "temperature or a dated temperature stack")
    t_dates = checks.stack_dates(alg, path, TEMPERATURE, min_dates=1)
    sample = sample_values(path, band=range(1, info.band_count + 1), max_side=128)
    unit = fz.temperature_unit(sample, where=f"'{os.path.basename(path)}'")
    on = inputs.on_grid(alg, path, reference, TEMPERATURE, feedback)
    screen = fz.screen_from_raster(on, t_dates, dates, kelvin=unit == "K", below_c=below, output=out,
                                   source=f"'{os.path.basename(path)}' (temperature stack, {unit}, per pixel)")
    feedback.pushInfo(alg.tr("Temperature {0}: {1} bands in {2}, {3} of the {4} dates matched; pixel-dates below "
                             "{5:g} °C are left out of the references and written as NaN.").format(
        os.path.basename(path), info.band_count, unit, len(dates) - len(screen.unknown), len(dates), below))
    return screen


def report(alg, context, feedback, counts, screen, result, *, what="pixel-date(s)"):
    """Log and return the count of screened pixel-dates (or ``what``); style and return the flag stack."""
    if screen is None:
        return result
    n = counts["frozen"]
    feedback.pushInfo(alg.tr("{0} {1} screened as frozen (below {2:g} °C): left out of the references{3}.").format(
        n, what, screen.below_c, ", NaN in the outputs" if what == "pixel-date(s)" else ""))
    result[FROZEN_COUNT] = n
    if screen.output:
        style_on_load(context, screen.output, ClassMapPostProcessor,
                      name=names.layer_name(alg.tr("Frozen-soil flags"), f"below {screen.below_c:g} °C"))
        result[OUTPUT_FROZEN] = screen.output
    return result
