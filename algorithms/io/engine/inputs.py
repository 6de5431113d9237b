"""The input side of a run: several rasters on one grid read as one block, each window with its halo."""

from __future__ import annotations

import os
import threading

import numpy as np

from .. import memfiles
from .. import raster as _raster


class RasterStack:
    """Several rasters on one grid read as one (bands, rows, cols) block: a time stack or a single file.

    An item may be ``(path, [band numbers])`` to read only those bands (1-based, in that order).
    """

    def __init__(self, paths, *, complex_as=None):
        if isinstance(paths, (str, os.PathLike, tuple)):
            paths = [paths]
        selected = [list(p[1]) if isinstance(p, tuple) else None for p in paths]
        paths = [str(p[0]) if isinstance(p, tuple) else str(p) for p in paths]
        if not paths:
            raise ValueError("no input rasters given")
        if complex_as not in _raster.COMPLEX_MODES:
            raise ValueError(f"complex_as must be one of {_raster.COMPLEX_MODES}, got {complex_as!r}")
        self.paths = paths
        self.complex_as = complex_as
        self.infos = [_raster.read_info(p) for p in paths]
        self.bands = [sel or list(range(1, info.band_count + 1)) for sel, info in zip(selected, self.infos)]
        for info, bands in zip(self.infos, self.bands):
            if not all(1 <= b <= info.band_count for b in bands):
                raise ValueError(f"'{info.path}' has {info.band_count} band(s); bands {bands} were asked for")
        for info in self.infos:
            if info.complex_bands and complex_as is None:
                raise ValueError(_raster.complex_refusal(info.path, info.complex_bands))
        first = self.infos[0]
        for info in self.infos[1:]:
            if not first.same_grid(info):
                raise ValueError(
                    f"'{info.path}' is not on the grid of '{first.path}' (size, geotransform or CRS differ); "
                    "build an aligned stack first (sarsense:buildstack)")
        self.info = first
        self._datasets = None
        self._lazy = False
        self._lock = threading.Lock()  # a GDAL dataset must not be read from two threads at once

    @property
    def band_count(self):
        return sum(len(b) for b in self.bands)

    @property
    def descriptions(self):
        return [i.descriptions[b - 1] for i, bands in zip(self.infos, self.bands) for b in bands]

    def __enter__(self):
        self._datasets = [_raster.open_dataset(p) for p in self.paths]
        return self

    # A stack travels to a cluster's workers (:mod:`.cluster`) as its paths, bands and grid, with the in-memory
    # (/vsimem/) rasters it reads (the Processing layer's virtual rasters) copied along; a worker opens the files
    # when it first reads, and frees its copies of the in-memory rasters when it drops the stack.
    def __getstate__(self):
        return memfiles.pack(self, self.paths, "_datasets", "_lock")

    def __setstate__(self, state):
        memfiles.unpack(self, state)
        self._lock, self._datasets, self._lazy = threading.Lock(), None, True

    def __exit__(self, *exc):
        self._datasets = None

    def read(self, window):
        """Read the read window (core plus halo) of every band, float32 with NaN nodata."""
        if self._datasets is None:
            if not getattr(self, "_lazy", False):
                raise RuntimeError("RasterStack.read() outside 'with'")
            with self._lock:     # a copy on a worker: opened at its first read, kept while the worker holds it
                if self._datasets is None:
                    self._datasets = [_raster.open_dataset(p) for p in self.paths]
        xo, yo, xs, ys = window.rx, window.ry, window.rw, window.rh
        with self._lock:
            parts = [_raster.read_window(ds, bands, xo, yo, xs, ys, complex_as=self.complex_as)
                     for ds, bands in zip(self._datasets, self.bands)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
