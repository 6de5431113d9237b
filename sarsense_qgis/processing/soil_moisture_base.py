"""What the Soil moisture algorithms share: the group, dated stacks, angles given as raster or number."""

from __future__ import annotations

import threading

import numpy as np
from qgis.core import QgsProcessingException, QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer

from ...algorithms.io import read_info, sample_values
from ...algorithms.io import stack as _stack
from ...algorithms.io.raster import open_dataset
from .base import SarsenseAlgorithm


def as_number(value):
    """``value`` as a float when it is a number or a numeric text, else None."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


class Counts:
    """Thread-safe counters the block kernels add to (workers run blocks in threads)."""

    def __init__(self, *names):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(names, 0)

    def add(self, **counts):
        with self._lock:
            for k, v in counts.items():
                self.values[k] += int(v)

    def __getitem__(self, name):
        return self.values[name]


class SoilMoistureAlgorithm(SarsenseAlgorithm):
    _group = ("Soil moisture", "soilmoisture")
    #: Raster parameters that also take a number (qgis_process ``--INCIDENCE=39.5``): a constant angle.
    NUMBER_OR_RASTER = ()

    def checkParameterValues(self, parameters, context):  # noqa: N802
        params = dict(parameters)
        for name in self.NUMBER_OR_RASTER:
            if as_number(params.get(name)) is not None:
                params.pop(name)  # a constant: not a layer for QGIS to look up
        return super().checkParameterValues(params, context)

    def add_angle(self, name, const_name, label, help_text, *, default=None):
        """A raster-or-constant angle: raster ``name`` (optional; a number is accepted too) and number ``const_name``."""
        self.add(QgsProcessingParameterRasterLayer(name, self.tr(f"{label} raster (degrees)"), optional=True),
                 help_text + f" A raster on any grid (resampled onto the input's), or a number here or in "
                 f"{label} (constant).")
        self.add(QgsProcessingParameterNumber(const_name, self.tr(f"{label}, constant (degrees)"),
                                              type=QgsProcessingParameterNumber.Double, optional=True,
                                              defaultValue=default, minValue=0.0, maxValue=90.0),
                 f"One {label.lower()} for the whole input, used when no raster is given.", decimals=2)

    def angle_source(self, parameters, name, const_name, context):
        """``(raster path, None)`` or ``(None, constant)`` for an angle given as raster or number."""
        value = parameters.get(name)
        number = as_number(value)
        if number is None and value not in (None, ""):
            return self.raster_path(parameters, name, context), None
        if number is None and parameters.get(const_name) not in (None, ""):
            number = self.parameterAsDouble(parameters, const_name, context)
        if number is None:
            raise QgsProcessingException(self.tr(
                f"{self.displayName()}: give {self.label(name)} as a raster, or a constant angle in "
                f"{self.label(const_name)}."))
        if not 0.0 < number < 90.0:
            raise QgsProcessingException(self.tr(
                f"{self.displayName()}: {self.label(name)} must be between 0 and 90 degrees (exclusive); got "
                f"{number:g}. Give the angle in degrees."))
        return None, number

    def stack_dates(self, path, name, *, min_dates=2):
        """The ISO dates of a dated stack parameter; refuses a stack without dates or with too few."""
        try:
            dates = _stack.band_dates(path)
        except ValueError as err:
            raise self.error(f"{self.label(name)} must be a dated stack (one band per date, ISO dates in the "
                             f"band descriptions, as 'Build dated stack' writes): {err}") from None
        if len(dates) < min_dates:
            raise self.error(f"{self.label(name)} has {len(dates)} date(s) ({', '.join(dates)}); this needs at "
                             f"least {min_dates}. Build a longer stack with 'Build dated stack'.")
        return dates

    def require_valid(self, path, name):
        """Refuse a raster with no valid pixel in any band (all NaN or nodata): nothing could come out."""
        n = read_info(path).band_count
        if np.isfinite(sample_values(path, band=range(1, n + 1))).any():
            return
        ds = open_dataset(path)
        for b in range(1, n + 1):       # the sample missed them? GDAL's exact min/max reads every pixel
            try:
                lo, hi = ds.GetRasterBand(b).ComputeRasterMinMax(False)
            except RuntimeError:
                continue
            if np.isfinite(lo) or np.isfinite(hi):
                return
        raise self.error(f"{self.label(name)} has no valid pixel (every band is NaN or nodata): choose dates "
                         "with data, or check its nodata value.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        """The shared run, then every virtual raster :meth:`on_grid` made is freed, whatever happened."""
        self._virtual = []
        try:
            return super().processAlgorithm(parameters, context, feedback)
        finally:
            for path in self._virtual:
                _stack.release(path)

    def on_grid(self, path, reference, name, feedback, *, resampling="bilinear"):
        """``path`` resampled onto ``reference``'s grid (virtual, freed when the run ends), with a warning
        when it covers only part."""
        on, covered = _stack.on_grid(path, reference, resampling=resampling, label=self.label(name))
        self._virtual.append(on)
        if covered < 0.999 and feedback is not None:
            feedback.reportError(self.tr(f"{self.label(name)} covers {100 * covered:.0f} % of the input's extent: "
                                         "outside it the output is NaN."), fatalError=False)
        return on

    def report_counts(self, feedback, counts, messages):
        """Log each non-zero count with its sentence (``messages[name]`` has ``{n}``)."""
        for key, text in messages.items():
            n = counts[key]
            if n and feedback is not None:
                feedback.pushWarning(self.tr(text.format(n=n)))
