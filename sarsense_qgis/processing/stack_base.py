"""What algorithms on dated stacks share, in every suite: the dates, valid data, rasters put on the
stack's grid (freed when the run ends), and counts the block kernels report."""

from __future__ import annotations

import threading

import numpy as np
from qgis.core import QgsCoordinateReferenceSystem, QgsFeatureRequest, QgsWkbTypes

from ...algorithms.io import read_info, sample_values
from ...algorithms.io import stack as _stack
from ...algorithms.io import vector as _vector
from ...algorithms.io.raster import open_dataset
from .base import SarsenseAlgorithm


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


class StackAlgorithm(SarsenseAlgorithm):
    """Base of algorithms that read dated stacks or put rasters and polygons on a grid (soil moisture, crop
    mapping, sea ice, …)."""

    def stack_dates(self, path, name, *, min_dates=2, in_order=False):
        """The ISO dates of a dated stack parameter; refuses a stack without dates or with too few, and with
        ``in_order`` one whose dates repeat or are not in time order (rules that look at "the next date")."""
        try:
            dates = _stack.band_dates(path)
        except ValueError as err:
            raise self.error(f"{self.label(name)} must be a dated stack (one band per date, ISO dates in the "
                             f"band descriptions, as 'Build dated stack' writes): {err}") from None
        if len(dates) < min_dates:
            raise self.error(f"{self.label(name)} has {len(dates)} date(s) ({', '.join(dates)}); this needs at "
                             f"least {min_dates}. Build a longer stack with 'Build dated stack'.")
        if in_order:
            twice = sorted({d for d in dates if dates.count(d) > 1})
            if twice:
                raise self.error(f"{self.label(name)} has the same date twice ({', '.join(twice)}): keep one band per "
                                 "date (average the acquisitions of a day first).")
            back = [f"band {i + 2} ({b}) after band {i + 1} ({a})" for i, (a, b) in enumerate(zip(dates, dates[1:]))
                    if b < a]
            if back:
                raise self.error(f"{self.label(name)} is not in time order: {'; '.join(back[:3])}. Rebuild it with "
                                 "'Build dated stack', which sorts the bands by date.")
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

    @staticmethod
    def on_grid_crs(source, reference, context):
        """``(feature, WKB in the CRS of raster reference)`` for each feature of ``source`` with a geometry."""
        request = QgsFeatureRequest().setDestinationCrs(
            QgsCoordinateReferenceSystem.fromWkt(read_info(reference).projection), context.transformContext())
        for feature in source.getFeatures(request):
            geom = feature.geometry()
            if geom is not None and not geom.isEmpty():
                yield feature, bytes(geom.asWkb())

    def burn_polygons(self, layer, reference, name, context):
        """The polygons of ``layer`` burned onto ``reference``'s grid (1 inside, 0 outside; virtual, freed at the
        end of the run). Geometries are transformed to the grid's CRS; a layer without polygons is refused."""
        if layer.geometryType() != QgsWkbTypes.PolygonGeometry:
            raise self.error(f"{self.label(name)} must be a polygon layer; '{layer.name()}' has "
                             f"{QgsWkbTypes.geometryDisplayString(layer.geometryType()).lower()} geometries.")
        wkbs = [wkb for _, wkb in self.on_grid_crs(layer, reference, context)]
        if not wkbs:
            raise self.error(f"{self.label(name)} ('{layer.name()}') has no polygon to use.")
        path = _vector.rasterize(wkbs, reference)
        self._virtual.append(path)
        return path

    def processAlgorithm(self, parameters, context, feedback):
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
