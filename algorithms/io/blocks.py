"""Bounded-memory block walker: windows with a halo, read → kernel → write, cancel and progress.

A kernel is a pure function ``f(block) -> out`` where ``block`` is float32
``(bands, rows, cols)`` with NaN for nodata, covering the output window plus
``halo`` pixels on every side that lies inside the image. It returns
``(out_bands, rows, cols)`` (or ``(rows, cols)`` for one band) over the same
read window; the walker crops the halo away and writes the core. A kernel that
only looks ``halo`` pixels away and treats the array edge as the image edge
gives exactly the whole-array result (tests/core/test_blocks.py proves it).
"""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from . import raster as _raster

#: Default working-memory budget of one run, in MiB (arrays the kernel holds at once).
DEFAULT_BUDGET_MB = 96
#: Default estimate of kernel working memory per input pixel and band, in bytes.
DEFAULT_BYTES_PER_PIXEL = 64


def gdal_cache_share(budget_mb):
    """MiB of a run's budget given to GDAL's block cache (a quarter, at most 32 MiB); the rest is for arrays."""
    return min(32.0, budget_mb / 4)


class Cancelled(Exception):
    """Raised when the caller's cancel callback returns True; no output is left behind."""


@dataclass(frozen=True)
class Window:
    """An output window (x, y, w, h) and the read window with halo (rx, ry, rw, rh)."""

    x: int
    y: int
    w: int
    h: int
    rx: int
    ry: int
    rw: int
    rh: int

    @property
    def core(self):
        """Slices of the core inside an array read over the read window."""
        return (slice(self.y - self.ry, self.y - self.ry + self.h),
                slice(self.x - self.rx, self.x - self.rx + self.w))


def plan_windows(xsize, ysize, *, halo=0, bands=1, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL,
                 budget_mb=DEFAULT_BUDGET_MB, align=_raster.TILE_SIZE, block_size=None):
    """Split a grid into windows whose read area (with halo) fits the memory budget.

    Full-width strips, a multiple of ``align`` rows high, are used when a strip of
    at least ``align`` rows fits; otherwise square tiles. ``block_size`` forces
    square tiles of that side (tests use it to put block edges anywhere).
    """
    if halo < 0:
        raise ValueError(f"halo must be >= 0, got {halo}")
    if budget_mb <= 0:
        raise ValueError(f"memory budget must be > 0 MiB, got {budget_mb}")
    if block_size is not None:
        tw = th = int(block_size)
    else:
        max_pixels = max(1, int(budget_mb * 2**20 // (bytes_per_pixel * max(1, bands))))
        # Windows are `align` rows high and a multiple of `align` wide, so writes fill whole
        # output tiles; a window as wide as the image becomes a strip of several tile rows.
        cols = (max_pixels // (align + 2 * halo) - 2 * halo) // align * align
        if cols >= xsize:
            tw = xsize
            rows = (max_pixels // (xsize + 2 * halo) - 2 * halo) // align * align
            th = min(ysize, max(align, rows))
        elif cols >= align:
            tw, th = cols, align
        else:  # budget below one aligned tile: smaller square tiles
            side = max(16, int(np.sqrt(max_pixels)) - 2 * halo)
            tw = th = side
    windows = []
    for y in range(0, ysize, th):
        h = min(th, ysize - y)
        for x in range(0, xsize, tw):
            w = min(tw, xsize - x)
            rx, ry = max(0, x - halo), max(0, y - halo)
            rw = min(xsize, x + w + halo) - rx
            rh = min(ysize, y + h + halo) - ry
            windows.append(Window(x, y, w, h, rx, ry, rw, rh))
    return windows


class RasterStack:
    """Several rasters on one grid read as one (bands, rows, cols) block: a time stack or a single file."""

    def __init__(self, paths):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [str(p) for p in paths]
        if not paths:
            raise ValueError("no input rasters given")
        self.paths = paths
        self.infos = [_raster.read_info(p) for p in paths]
        first = self.infos[0]
        for info in self.infos[1:]:
            if not first.same_grid(info):
                raise ValueError(
                    f"'{info.path}' is not on the grid of '{first.path}' (size, geotransform or CRS differ); "
                    "build an aligned stack first (sarsense:buildstack)")
        self.info = first
        self._datasets = None
        self._lock = threading.Lock()  # a GDAL dataset must not be read from two threads at once

    @property
    def band_count(self):
        return sum(i.band_count for i in self.infos)

    @property
    def descriptions(self):
        return [d for i in self.infos for d in i.descriptions]

    def __enter__(self):
        self._datasets = [_raster.open_dataset(p) for p in self.paths]
        return self

    def __exit__(self, *exc):
        self._datasets = None

    def read(self, window):
        """Read the read window (core plus halo) of every band, float32 with NaN nodata."""
        if self._datasets is None:
            raise RuntimeError("RasterStack.read() outside 'with'")
        xo, yo, xs, ys = window.rx, window.ry, window.rw, window.rh
        with self._lock:
            parts = [_raster.read_window(ds, list(range(1, ds.RasterCount + 1)), xo, yo, xs, ys)
                     for ds in self._datasets]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def _check_output_path(output, inputs):
    if not output:
        raise ValueError("no output path given")
    out_real = os.path.realpath(output)
    for p in inputs:
        if os.path.realpath(p) == out_real:
            raise ValueError(f"output '{output}' is the same file as an input; choose another output path "
                             "(inputs are never overwritten)")
    parent = os.path.dirname(out_real) or "."
    if not os.path.isdir(parent):
        raise ValueError(f"output folder '{parent}' does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"output folder '{parent}' is not writable; choose another output path")


def _remove_dataset_files(path):
    for p in (path, path + ".aux.xml", path + ".ovr"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


class OutputRaster:
    """A GeoTIFF written under a temporary name and renamed to ``output`` only when the run succeeds.

    Use as a context manager: leaving the ``with`` by an exception (an error or a
    :class:`Cancelled`) removes the temporary file, so no output is left behind
    to be taken for a result. GDAL's block cache is capped to ``cache_mb``
    meanwhile (see :func:`gdal_cache_share`), so memory stays within the run's budget.
    """

    def __init__(self, output, inputs, *, xsize, ysize, bands, geotransform, projection, dtype=np.float32,
                 descriptions=None, band_metadata=None, metadata=None, compression=_raster.DEFAULT_COMPRESSION,
                 cache_mb=32):
        _check_output_path(output, inputs)
        self.output = output
        self.bands = bands
        self.dtype = np.dtype(dtype)
        self._tmp = f"{output}.partial-{uuid.uuid4().hex[:8]}.tif"
        self._args = dict(xsize=xsize, ysize=ysize, bands=bands, geotransform=geotransform, projection=projection,
                          dtype=self.dtype, descriptions=descriptions, band_metadata=band_metadata,
                          metadata=metadata, compression=compression)
        self._ds = None
        self._old_cache = None
        self._cache = int(cache_mb * 2**20)

    def __enter__(self):
        self._old_cache = gdal.GetCacheMax()
        gdal.SetCacheMax(min(self._old_cache, self._cache))
        try:
            self._ds = _raster.create_geotiff(self._tmp, **self._args)
        except BaseException:
            gdal.SetCacheMax(self._old_cache)
            raise
        return self

    def write(self, array, x, y):
        """Write ``array`` (bands, rows, cols), cast to the output type, with its top-left corner at (x, y)."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        for b in range(self.bands):
            self._ds.GetRasterBand(b + 1).WriteArray(array[b].astype(self.dtype, copy=False), int(x), int(y))

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._ds.FlushCache()
                self._ds = None  # closes the file: GDAL writes the last tiles and the header now
                os.replace(self._tmp, self.output)
                if os.path.exists(self._tmp + ".aux.xml"):
                    os.replace(self._tmp + ".aux.xml", self.output + ".aux.xml")
                elif os.path.exists(self.output + ".aux.xml"):
                    os.remove(self.output + ".aux.xml")  # stale statistics of an earlier run
            else:
                self._ds = None
                _remove_dataset_files(self._tmp)
        except BaseException:
            self._ds = None
            _remove_dataset_files(self._tmp)
            raise
        finally:
            gdal.SetCacheMax(self._old_cache)
        return False


def run_blockwise(inputs, output, kernel, *, halo=0, out_bands=None, out_dtype=np.float32,
                  descriptions=None, band_metadata=None, metadata=None,
                  compression=_raster.DEFAULT_COMPRESSION, budget_mb=DEFAULT_BUDGET_MB,
                  bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, block_size=None, workers=1,
                  progress=None, is_canceled=None):
    """Apply ``kernel`` block by block from ``inputs`` (one path or a list on one grid) to ``output``.

    Parameters
    ----------
    inputs : str or list of str
        Raster(s) on one grid; bands are concatenated in order.
    output : str
        GeoTIFF to write. Written to a temporary name and renamed at the end, so
        an error or a cancel leaves no output behind.
    kernel : callable
        ``kernel(block) -> array`` as described in the module docstring.
    halo : int
        Pixels of context the kernel needs on each side.
    out_bands : int, optional
        Output band count (default: input band count).
    descriptions, band_metadata, metadata
        Band descriptions (default: the input's when the band count matches),
        per-band and dataset metadata for the output.
    compression : str
        One of ``raster.COMPRESSIONS``.
    budget_mb, bytes_per_pixel, block_size
        Memory budget of the run (GDAL's cache included, see
        :func:`gdal_cache_share`) and the kernel's working bytes per pixel and
        band; ``block_size`` forces square tiles (tests).
    workers : int
        Blocks computed at once (threads; GDAL and numpy release the GIL).
    progress : callable(float), optional
        Called with the finished fraction 0..1 after each block.
    is_canceled : callable() -> bool, optional
        Checked before each block; True raises :class:`Cancelled`.

    Returns
    -------
    dict
        ``{"output": path, "blocks": n}``.
    """
    stack = RasterStack(inputs)
    info = stack.info
    n_out = out_bands if out_bands is not None else stack.band_count
    if descriptions is None and n_out == stack.band_count:
        descriptions = stack.descriptions
    cache_mb = gdal_cache_share(budget_mb)
    windows = plan_windows(info.xsize, info.ysize, halo=halo, bands=max(stack.band_count, n_out),
                           bytes_per_pixel=bytes_per_pixel, budget_mb=(budget_mb - cache_mb) / max(1, workers),
                           block_size=block_size)
    with OutputRaster(output, stack.paths, xsize=info.xsize, ysize=info.ysize, bands=n_out,
                      geotransform=info.geotransform, projection=info.projection, dtype=out_dtype,
                      descriptions=descriptions, band_metadata=band_metadata, metadata=metadata,
                      compression=compression, cache_mb=cache_mb) as out, stack:
        def compute(win):
            block = stack.read(win)
            res = np.asarray(kernel(block))
            if res.ndim == 2:
                res = res[np.newaxis]
            if res.shape != (n_out, win.rh, win.rw):
                raise ValueError(f"kernel returned shape {res.shape}, expected {(n_out, win.rh, win.rw)}")
            return res[(slice(None),) + win.core]

        _walk(windows, compute, lambda win, core: out.write(core, win.x, win.y), workers=workers,
              progress=progress, is_canceled=is_canceled)
    return {"output": output, "blocks": len(windows)}


def raise_if_canceled(is_canceled):
    """Raise :class:`Cancelled` when the caller's ``is_canceled()`` says so (checked between blocks)."""
    if is_canceled is not None and is_canceled():
        raise Cancelled("cancelled by the user; no output was written")


def _walk(windows, compute, write, *, workers, progress, is_canceled):
    """Run compute over windows (``workers`` at once), write results in order, cancel between blocks."""
    total = len(windows)

    def check_cancel():
        raise_if_canceled(is_canceled)

    if workers <= 1:
        for i, win in enumerate(windows):
            check_cancel()
            write(win, compute(win))
            if progress:
                progress((i + 1) / total)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        nxt = 0
        done = 0
        while done < total:
            while nxt < total and len(pending) < workers:
                check_cancel()
                pending.append((windows[nxt], pool.submit(compute, windows[nxt])))
                nxt += 1
            win, fut = pending.pop(0)
            try:
                core = fut.result()
            except BaseException:
                for _, f in pending:
                    f.cancel()
                raise
            write(win, core)
            done += 1
            if progress:
                progress(done / total)
            if done < total:
                try:
                    check_cancel()
                except Cancelled:
                    for _, f in pending:
                        f.cancel()
                    raise


def run_whole(inputs, kernel):
    """Read every band of ``inputs`` at once and apply ``kernel``: the reference the block run must equal.

    For tests and small rasters only: it holds the whole scene in memory.
    """
    stack = RasterStack(inputs)
    info = stack.info
    win = Window(0, 0, info.xsize, info.ysize, 0, 0, info.xsize, info.ysize)
    with stack:
        res = np.asarray(kernel(stack.read(win)))
    return res[np.newaxis] if res.ndim == 2 else res
