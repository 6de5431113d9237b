"""Layer names: one rule for every SARSense output loaded into a project.

A name is the output's label followed, in brackets, by what makes the run distinct: the method, the
polarisation and the date of the input (from the band metadata the importer writes and the dates a dated
stack carries), e.g. "Despeckled (Lee, VV, 2021-04-01)" or "Soil moisture (change detection)". An output of a
model whose card says "demonstration" says so in its name too (:func:`model_name`), whatever the file is
called. The names reach the project through :func:`..styles.style_on_load` (``name=``), never through
``QgsProject``, so ``qgis_process`` and the Modeler are unaffected.
"""

from __future__ import annotations

from osgeo import gdal

from ...algorithms.io import stack as _stack
from ...algorithms.onnx.cards import DEMONSTRATION


def layer_name(label, *details):
    """``label`` with the non-empty ``details`` in brackets: ``layer_name("Despeckled", "Lee", "VV")`` →
    'Despeckled (Lee, VV)'."""
    parts = [str(d) for d in details if d]
    return f"{label} ({', '.join(parts)})" if parts else label


def model_name(label, model, *details):
    """:func:`layer_name` for an output of ``model`` (an ``onnx.Model``), 'demonstration model' the last detail
    when its card says so: 'Soil moisture (CD + ANN hybrid, demonstration model)'."""
    return layer_name(label, *details, f"{DEMONSTRATION} model" if model.card.demonstration else "")


#: The legend unit of each backscatter ``units`` metadata word (the importer's "linear" is linear power).
BACKSCATTER_UNITS = {"db": "dB", "linear": "linear power", "linear power": "linear power"}


def backscatter_unit(path):
    """The legend unit of a backscatter raster by its bands' ``units`` metadata (what the Sentinel-1 import and
    every SARSense step write): 'dB', 'linear power', or None where the bands say nothing or disagree."""
    ds = gdal.Open(str(path))
    if ds is None:
        return None
    found = {BACKSCATTER_UNITS.get((ds.GetRasterBand(i + 1).GetMetadataItem("units") or "").strip().lower())
             for i in range(ds.RasterCount)}
    ds = None
    return found.pop() if len(found) == 1 else None


def input_details(path):
    """``[polarisations, dates]`` of a raster as short texts for a layer name ('' where unknown): the bands'
    POLARISATION metadata (e.g. 'VV' or 'VV+VH') and their dates ('2021-04-01', or '2021-04-01…2021-06-30, 8
    dates')."""
    ds = gdal.Open(str(path))
    if ds is None:
        return ["", ""]
    pols = []
    for i in range(ds.RasterCount):
        pol = (ds.GetRasterBand(i + 1).GetMetadataItem("POLARISATION") or "").upper()
        if pol and pol not in pols:
            pols.append(pol)
    ds = None
    try:
        dates = sorted(set(_stack.band_dates(path)))
    except ValueError:
        dates = []
    when = dates[0] if len(dates) == 1 else f"{dates[0]}…{dates[-1]}, {len(dates)} dates" if dates else ""
    return ["+".join(pols), when]
