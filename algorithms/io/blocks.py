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

import contextlib
import ctypes
import glob
import os
import signal
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


#: Columns a kernel sees at once (cache blocking): a strip read from the file is handed to the kernel in
#: pieces this wide (plus the halo), so its float64 temporaries stay in the CPU cache. Measured on Lee 5×5:
#: 1024-column pieces of a 256-row strip run 4× faster than the whole 8192-column strip (README, "Performance").
KERNEL_COLUMNS = 1024
#: GDAL block cache (MiB) while a SARSense algorithm runs, from its first read to its last write.
RUN_CACHE_MB = 32


def gdal_cache_share(budget_mb):
    """MiB of a run's budget given to GDAL's block cache (a quarter, at most 32 MiB); the rest is for arrays."""
    return min(float(RUN_CACHE_MB), budget_mb / 4)


@contextlib.contextmanager
def gdal_cache_limit(mb):
    """Cap GDAL's block cache at ``mb`` MiB (never raise it) inside the ``with``; restore it after.

    GDAL's default cache is 5 % of RAM: without a cap, reading a large raster fills it and the process
    holds hundreds of MiB after the run (README, "Memory").
    """
    old = gdal.GetCacheMax()
    gdal.SetCacheMax(min(old, int(mb * 2**20)))
    try:
        yield
    finally:
        gdal.SetCacheMax(old)


#: glibc ``mallopt`` parameters (``malloc.h``) and glibc's documented defaults for them.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
#: Arrays below this size come from the heap during a run (glibc's largest allowed value on 64-bit).
_RUN_MMAP_THRESHOLD = 32 * 2**20
_reuse_lock = threading.Lock()
_reuse_depth = 0


def _glibc():
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version, libc.mallopt, libc.malloc_trim  # noqa: B018 (AttributeError elsewhere)
        return libc
    except (OSError, AttributeError, TypeError):
        return None


@contextlib.contextmanager
def reuse_freed_memory(keep_mb):
    """Keep memory a run frees for its next blocks (glibc only; elsewhere nothing changes); give it back after.

    A kernel allocates the same few arrays block after block. glibc returns freed blocks of more
    than 128 KiB to the system and the next allocation touches fresh pages, which costs more than
    the arithmetic: Gamma-MAP 5×5 on 8192², kernel time 3.6 s → 1.3 s when memory is reused
    (README, "Performance"). Inside the ``with``, arrays up to 32 MiB come from the heap and up to
    ``keep_mb`` MiB of freed memory stay in the process (its peak is unchanged: that memory was in
    use a block earlier). After the outermost ``with`` the thresholds are glibc's defaults again
    (fixed, no longer adaptive) and ``malloc_trim`` returns what is free.
    """
    global _reuse_depth
    libc = _glibc()
    with _reuse_lock:
        _reuse_depth += 1
        if libc is not None and _reuse_depth == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _RUN_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, int(keep_mb * 2**20))
    try:
        yield
    finally:
        with _reuse_lock:
            _reuse_depth -= 1
            if libc is not None and _reuse_depth == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.malloc_trim(0)


class Cancelled(Exception):  # noqa: N818 (public name used by every suite, the plugin and the tests; not renamed)
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


def _window(x, y, w, h, halo, xsize, ysize):
    rx, ry = max(0, x - halo), max(0, y - halo)
    return Window(x, y, w, h, rx, ry, min(xsize, x + w + halo) - rx, min(ysize, y + h + halo) - ry)


def _sub_tiles(xsize, ysize, side, align, halo):
    """Windows of ``side`` pixels, grouped by the ``align``-sized output tile they fill."""
    windows = []
    for ty in range(0, ysize, align):
        for tx in range(0, xsize, align):
            for y in range(ty, min(ty + align, ysize), side):
                for x in range(tx, min(tx + align, xsize), side):
                    windows.append(_window(x, y, min(side, xsize - x, tx + align - x),
                                           min(side, ysize - y, ty + align - y), halo, xsize, ysize))
    return windows


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
        else:
            # Budget below one aligned tile (many bands): square sub-tiles align/2, align/4, …, taken tile by
            # tile, so each output tile is completed before the next one is started (GDAL never has to
            # flush a half-written tile and read it back).
            side = align
            while side > 16 and (side + 2 * halo) ** 2 > max_pixels:
                side //= 2
            return _sub_tiles(xsize, ysize, side, align, halo)
    return [_window(x, y, min(tw, xsize - x), min(th, ysize - y), halo, xsize, ysize)
            for y in range(0, ysize, th) for x in range(0, xsize, tw)]


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

    def __exit__(self, *exc):
        self._datasets = None

    def read(self, window):
        """Read the read window (core plus halo) of every band, float32 with NaN nodata."""
        if self._datasets is None:
            raise RuntimeError("RasterStack.read() outside 'with'")
        xo, yo, xs, ys = window.rx, window.ry, window.rw, window.rh
        with self._lock:
            parts = [_raster.read_window(ds, bands, xo, yo, xs, ys, complex_as=self.complex_as)
                     for ds, bands in zip(self._datasets, self.bands)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


#: File name endings SARSense writes (GeoTIFF only).
OUTPUT_EXTENSIONS = (".tif", ".tiff")


def _check_output_path(output, inputs):
    if not output:
        raise ValueError("no output path given")
    if os.path.isdir(output):
        raise ValueError(f"output '{output}' is an existing folder; give a file name such as "
                         f"'{os.path.join(output, 'result.tif')}'")
    if not str(output).lower().endswith(OUTPUT_EXTENSIONS):
        ext = os.path.splitext(str(output))[1]
        what = f"the extension '{ext}'" if ext else "no extension"
        raise ValueError(f"output '{output}' has {what}; SARSense writes GeoTIFF: name it "
                         f"'{os.path.splitext(str(output))[0]}.tif' (gdal_translate converts GeoTIFF to other formats)")
    out_real = os.path.realpath(output)
    for p in inputs:
        if os.path.realpath(p) == out_real:
            raise ValueError(f"output '{output}' is the same file as an input; choose another output path "
                             "(inputs are never overwritten)")
    parent = os.path.dirname(out_real) or "."
    probe = parent
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise ValueError(f"output folder '{parent}' is not a folder: '{probe}' is a file; choose another output path")
    if not os.path.isdir(parent):
        raise ValueError(f"output folder '{parent}' does not exist; create it or choose another output path")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"output folder '{parent}' is not writable; choose another output path")


def remove_dataset_files(path):
    """Delete a GeoTIFF and its .aux.xml and .ovr side files, where they exist."""
    for p in (path, path + ".aux.xml", path + ".ovr"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


_PARTIAL = ".partial-"


def _partial_name(output):
    """Temporary name of ``output`` while it is written: carries this process's id, so a later run can tell
    a partial file left by a killed process (removed) from one another live process is writing (kept)."""
    return f"{output}{_PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}.tif"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(output):
    """Remove partial files of ``output`` left by processes that no longer run (killed with SIGKILL, a crash)."""
    removed = []
    for path in glob.glob(glob.escape(str(output)) + _PARTIAL + "*.tif"):
        tail = path[len(str(output)) + len(_PARTIAL):]
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        if pid.isdigit() and int(pid) == os.getpid() and path in _ACTIVE:
            continue
        remove_dataset_files(path)
        removed.append(path)
    return removed


# Partial files being written by this process, removed if it is terminated (SIGTERM, SIGHUP).
_ACTIVE = set()
_ACTIVE_LOCK = threading.Lock()
_OLD_HANDLERS = {}
_CLEANUP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


def _on_signal(signum, frame):
    for path in list(_ACTIVE):
        remove_dataset_files(path)
    _ACTIVE.clear()
    old = _OLD_HANDLERS.get(signum, signal.SIG_DFL)
    if callable(old):
        old(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _register_partial(path):
    with _ACTIVE_LOCK:
        _ACTIVE.add(path)
        # Python runs signal handlers in the main thread only; a run in QGIS's task threads (desktop)
        # cannot install one, and there a cancel, not a signal, stops it.
        if threading.current_thread() is threading.main_thread() and not _OLD_HANDLERS:
            for sig in _CLEANUP_SIGNALS:
                try:
                    _OLD_HANDLERS[sig] = signal.signal(sig, _on_signal)
                except (ValueError, OSError):
                    pass


def _unregister_partial(path):
    with _ACTIVE_LOCK:
        _ACTIVE.discard(path)
        if not _ACTIVE and _OLD_HANDLERS and threading.current_thread() is threading.main_thread():
            for sig, old in _OLD_HANDLERS.items():
                try:
                    signal.signal(sig, old if old is not None else signal.SIG_DFL)
                except (ValueError, OSError):
                    pass
            _OLD_HANDLERS.clear()


class OutputRaster:
    """A GeoTIFF written under a temporary name and renamed to ``output`` only when the run succeeds.

    Use as a context manager: leaving the ``with`` by an exception (an error or a
    :class:`Cancelled`) removes the temporary file, so no output is left behind
    to be taken for a result. The caller caps GDAL's block cache for the run
    (:func:`gdal_cache_limit`, :func:`gdal_cache_share`).
    """

    def __init__(self, output, inputs, *, xsize, ysize, bands, geotransform, projection, dtype=np.float32,
                 descriptions=None, band_metadata=None, metadata=None, compression=_raster.DEFAULT_COMPRESSION,
                 tile=None):
        _check_output_path(output, inputs)
        self.output = output
        self.bands = bands
        self.dtype = np.dtype(dtype)
        #: Non-finite values other than NaN (±inf) that were written as NaN, for the caller to report.
        self.n_infinite = 0
        remove_stale_partials(output)
        self._tmp = _partial_name(output)
        self._args = dict(xsize=xsize, ysize=ysize, bands=bands, geotransform=geotransform, projection=projection,
                          dtype=self.dtype, descriptions=descriptions, band_metadata=band_metadata,
                          metadata=metadata, compression=compression, tile=tile)
        self._ds = None

    def __enter__(self):
        _register_partial(self._tmp)
        try:
            self._ds = _raster.create_geotiff(self._tmp, **self._args)
        except ValueError as err:
            self._release()
            raise ValueError(str(err).replace(self._tmp, self.output)) from None
        except BaseException:
            self._release()
            raise
        return self

    def _release(self):
        self._ds = None
        remove_dataset_files(self._tmp)
        _unregister_partial(self._tmp)

    def write(self, array, x, y):
        """Write ``array`` (bands, rows, cols), cast to the output type, with its top-left corner at (x, y)."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        array = array.astype(self.dtype, copy=False)
        if self.dtype.kind == "f":
            inf = np.isinf(array)
            n = int(np.count_nonzero(inf))
            if n:  # no algorithm writes ±inf: it becomes nodata and is counted for the caller to report
                array = np.where(inf, np.float32(np.nan), array).astype(self.dtype, copy=False)
                self.n_infinite += n
        try:
            # every band in one call: GDAL fills whole pixel-interleaved tiles instead of re-reading them per band
            self._ds.WriteArray(np.ascontiguousarray(array), int(x), int(y))
        except RuntimeError as err:
            raise ValueError(f"cannot write '{self.output}': {str(err).strip()} (disk full?)") from None

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
                remove_dataset_files(self._tmp)
        except BaseException:
            self._ds = None
            remove_dataset_files(self._tmp)
            raise
        finally:
            _unregister_partial(self._tmp)
        return False


def run_blockwise(inputs, output, kernel, *, halo=0, out_bands=None, out_dtype=np.float32,
                  descriptions=None, band_metadata=None, metadata=None,
                  compression=_raster.DEFAULT_COMPRESSION, budget_mb=DEFAULT_BUDGET_MB,
                  bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, block_size=None, workers=1,
                  kernel_columns=KERNEL_COLUMNS, complex_as=None, with_position=False, progress=None,
                  is_canceled=None):
    """Apply ``kernel`` block by block from ``inputs`` (one path or a list on one grid) to ``output``.

    Parameters
    ----------
    inputs : str or list of str
        Raster(s) on one grid; bands are concatenated in order.
    output : str or list of str
        GeoTIFF to write. Written to a temporary name and renamed at the end, so
        an error or a cancel leaves no output behind. A list writes several outputs in one pass:
        then ``out_bands`` gives each one's band count, ``descriptions`` and ``band_metadata``
        (optional) are lists with one entry per output, and the kernel returns one array per output.
    kernel : callable
        ``kernel(block) -> array`` as described in the module docstring.
    halo : int
        Pixels of context the kernel needs on each side.
    out_bands : int, optional
        Output band count (default: input band count).
    out_dtype : numpy dtype, or a list of them with several outputs
        float32 (NaN nodata) or uint8 (255 nodata); a list gives each output its own.
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
    kernel_columns : int or None
        The kernel gets each block in pieces of this many columns plus the halo (cache blocking,
        see :data:`KERNEL_COLUMNS`); the result is the same, only faster. None: whole blocks.
    complex_as : {None, "amplitude"}
        Complex (SLC) bands are refused (None) or read as their modulus |z|.
    with_position : bool
        Call ``kernel(block, where)`` with ``where`` a :class:`Position`: the image rows and columns
        of the array the kernel gets (halo included) and the slices of its core, for kernels whose
        result depends on where the pixels are (latitude on a geographic grid) or that count what
        they do (count the core only: halos are read twice).
    progress : callable(float), optional
        Called with the finished fraction 0..1 after each block.
    is_canceled : callable() -> bool, optional
        Checked before each block; True raises :class:`Cancelled`.

    Returns
    -------
    dict
        ``{"output": path, "blocks": n, "infinite": n}``: ``infinite`` counts ±inf values the
        kernel returned, written as NaN (callers report them).
    """
    stack = RasterStack(inputs, complex_as=complex_as)
    info = stack.info
    several = not isinstance(output, (str, os.PathLike))
    outputs = list(output) if several else [output]
    if several:
        if out_bands is None or len(out_bands) != len(outputs):
            raise ValueError("several outputs need one band count each (out_bands)")
        counts = [int(n) for n in out_bands]
        descriptions = descriptions or [None] * len(outputs)
        band_metadata = band_metadata or [None] * len(outputs)
    else:
        counts = [out_bands if out_bands is not None else stack.band_count]
        descriptions, band_metadata = [descriptions], [band_metadata]
    descriptions = [stack.descriptions if d is None and n == stack.band_count else d
                    for d, n in zip(descriptions, counts)]
    dtypes = list(out_dtype) if isinstance(out_dtype, (list, tuple)) else [out_dtype] * len(outputs)
    if len(dtypes) != len(outputs):
        raise ValueError("give one output dtype per output")
    n_out = sum(counts)
    cache_mb = gdal_cache_share(budget_mb)
    # one tile side for every output (the deepest one's), and windows aligned to it: each window fills
    # whole tiles of every output
    side = min(_raster.tile_size(n, t) for n, t in zip(counts, dtypes))
    windows = plan_windows(info.xsize, info.ysize, halo=halo, bands=max(stack.band_count, n_out),
                           bytes_per_pixel=bytes_per_pixel, budget_mb=(budget_mb - cache_mb) / max(1, workers),
                           align=side, block_size=block_size)
    call = kernel
    if several:
        call = lambda *a: np.concatenate([r[np.newaxis] if np.ndim(r) == 2 else r for r in kernel(*a)])  # noqa: E731
    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))   # entered first: still capped while outputs close
        opened.enter_context(reuse_freed_memory(budget_mb))
        outs = [opened.enter_context(OutputRaster(
            path, stack.paths, xsize=info.xsize, ysize=info.ysize, bands=n, geotransform=info.geotransform,
            projection=info.projection, dtype=t, descriptions=d, band_metadata=m, metadata=metadata,
            compression=compression, tile=side))
            for path, n, t, d, m in zip(outputs, counts, dtypes, descriptions, band_metadata)]
        opened.enter_context(stack)
        splits = np.cumsum(counts)[:-1]

        def compute(win):
            rows = np.arange(win.ry, win.ry + win.rh)
            core_r, core_c = win.core

            def piece_kernel(piece, a, lo, hi):
                if not with_position:
                    return call(piece)
                c0, c1 = max(core_c.start, lo) - a, min(core_c.stop, hi) - a
                core = (core_r, slice(max(c0, 0), max(c0, c1, 0)))
                return call(piece, Position(rows, np.arange(win.rx + a, win.rx + a + piece.shape[2]), core))
            return _apply_in_columns(piece_kernel, stack.read(win), halo, kernel_columns, n_out)[
                (slice(None),) + win.core]

        def write(win, core):
            for out, part in zip(outs, np.split(core, splits)):
                out.write(part, win.x, win.y)

        _walk(windows, compute, write, workers=workers, progress=progress, is_canceled=is_canceled)
    return {"output": output, "blocks": len(windows), "infinite": sum(o.n_infinite for o in outs)}


def run_on_grid(output, kernel, *, inputs=(), xsize, ysize, geotransform, projection, out_bands, out_dtype=np.float32,
                descriptions=None, band_metadata=None, metadata=None, compression=_raster.DEFAULT_COMPRESSION,
                budget_mb=DEFAULT_BUDGET_MB, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, block_size=None, workers=1,
                progress=None, is_canceled=None):
    """Write ``output`` on a grid no input raster gives (a map grid data are resampled onto), block by block.

    ``kernel(window)`` gets each :class:`Window` of the new grid (``x, y, w, h``; no halo) and returns its
    ``(out_bands, h, w)`` values; it reads what it needs itself, within the memory budget it was planned
    with (``bytes_per_pixel`` per output pixel and band, its reads included). Temporary output, cancel,
    progress, workers and GDAL's cache as in :func:`run_blockwise`; ``inputs`` (the files the kernel reads) are
    only checked not to be the output.
    """
    cache_mb = gdal_cache_share(budget_mb)
    side = _raster.tile_size(out_bands, out_dtype)
    windows = plan_windows(int(xsize), int(ysize), bands=out_bands, bytes_per_pixel=bytes_per_pixel,
                           budget_mb=(budget_mb - cache_mb) / max(1, workers), align=side, block_size=block_size)

    def compute(win):
        return _window_result(kernel(win), out_bands, win)

    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))
        opened.enter_context(reuse_freed_memory(budget_mb))
        out = opened.enter_context(OutputRaster(
            output, [str(p) for p in inputs], xsize=int(xsize), ysize=int(ysize), bands=out_bands,
            geotransform=geotransform, projection=projection, dtype=out_dtype, descriptions=descriptions,
            band_metadata=band_metadata, metadata=metadata, compression=compression, tile=side))
        _walk(windows, compute, lambda win, res: out.write(res, win.x, win.y), workers=workers, progress=progress,
              is_canceled=is_canceled)
    return {"output": output, "blocks": len(windows), "infinite": out.n_infinite}


def reduce_blockwise(inputs, kernel, *, initial, combine, halo=0, budget_mb=DEFAULT_BUDGET_MB,
                     bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, block_size=None, workers=1, complex_as=None,
                     with_position=False, progress=None, is_canceled=None):
    """Fold ``kernel(block)`` over the windows of ``inputs`` and write nothing: a statistics pass.

    The scene-wide figures a map needs before its per-pixel pass (the water mean of each date, the
    pixels under training polygons, mapped areas) come from this, at the same bounded memory as
    :func:`run_blockwise`: ``kernel`` gets each window's float32 ``(bands, rows, cols)`` block, with
    ``halo`` pixels of context on every side inside the image (``kernel(block, where)`` with
    ``with_position``, ``where`` a :class:`Position` whose ``core`` is the window without its halo) and
    returns a partial result, and ``combine(total, partial)`` adds it to the running total, which
    starts at ``initial``. Partials are combined in window order whatever ``workers`` is, so the
    result does not depend on the number of threads. Cancel and progress as in :func:`run_blockwise`.
    """
    stack = RasterStack(inputs, complex_as=complex_as)
    info = stack.info
    cache_mb = gdal_cache_share(budget_mb)
    windows = plan_windows(info.xsize, info.ysize, halo=halo, bands=stack.band_count, bytes_per_pixel=bytes_per_pixel,
                           budget_mb=(budget_mb - cache_mb) / max(1, workers), block_size=block_size)
    total = [initial]

    def compute(win):
        block = stack.read(win)
        if not with_position:
            return kernel(block)
        where = Position(np.arange(win.ry, win.ry + win.rh), np.arange(win.rx, win.rx + win.rw), win.core)
        return kernel(block, where)

    def add(win, partial):
        total[0] = combine(total[0], partial)

    with gdal_cache_limit(cache_mb), reuse_freed_memory(budget_mb), stack:
        _walk(windows, compute, add, workers=workers, progress=progress, is_canceled=is_canceled)
    return total[0]


def run_aggregate(inputs, output, kernel, *, factor, out_bands, out_dtype=np.float32, descriptions=None,
                  band_metadata=None, metadata=None, compression=_raster.DEFAULT_COMPRESSION,
                  budget_mb=DEFAULT_BUDGET_MB, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, block_size=None,
                  progress=None, is_canceled=None):
    """Reduce ``inputs`` to a grid ``factor`` times coarser, block by block: ``kernel(block) -> coarse``.

    The kernel gets float32 ``(bands, h·factor, w·factor)`` blocks (NaN nodata) whose sides are
    whole coarse pixels, and returns ``(out_bands, h, w)``. The coarse grid keeps the input's
    origin and CRS, with pixels ``factor`` times larger; input rows and columns at the bottom and
    right that do not fill a whole coarse pixel are left out (``rows // factor`` × ``cols // factor``).
    ``output`` None returns the coarse result as an array instead of writing a GeoTIFF (for
    callers that hold the coarse grid anyway). Budget, progress and cancel as in :func:`run_blockwise`.

    Returns ``{"output": path or None, "blocks": n, "xsize": w, "ysize": h, "array": array or None}``.
    """
    f = int(factor)
    if f < 1:
        raise ValueError(f"the aggregation factor must be at least 1, got {factor}")
    stack = RasterStack(inputs)
    info = stack.info
    ox, oy = info.xsize // f, info.ysize // f
    if ox == 0 or oy == 0:
        raise ValueError(f"'{info.path}' ({info.xsize}×{info.ysize} px) is smaller than one {f}×{f} block")
    cache_mb = gdal_cache_share(budget_mb)
    windows = plan_windows(ox, oy, bands=max(stack.band_count, out_bands), bytes_per_pixel=bytes_per_pixel * f * f,
                           budget_mb=budget_mb - cache_mb, align=_raster.tile_size(out_bands, out_dtype),
                           block_size=block_size)
    gt = info.geotransform
    coarse_gt = (gt[0], gt[1] * f, gt[2] * f, gt[3], gt[4] * f, gt[5] * f)
    held = None if output is not None else np.empty((out_bands, oy, ox), out_dtype)

    def compute(win):
        block = stack.read(Window(win.x * f, win.y * f, win.w * f, win.h * f,
                                  win.x * f, win.y * f, win.w * f, win.h * f))
        return _window_result(kernel(block), out_bands, win)

    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))
        opened.enter_context(reuse_freed_memory(budget_mb))
        if output is not None:
            out = opened.enter_context(OutputRaster(
                output, stack.paths, xsize=ox, ysize=oy, bands=out_bands, geotransform=coarse_gt,
                projection=info.projection, dtype=out_dtype, descriptions=descriptions, band_metadata=band_metadata,
                metadata=metadata, compression=compression))
            write = lambda win, res: out.write(res, win.x, win.y)  # noqa: E731
        else:
            def write(win, res):
                held[:, win.y:win.y + win.h, win.x:win.x + win.w] = res
        opened.enter_context(stack)
        _walk(windows, compute, write, workers=1, progress=progress, is_canceled=is_canceled)
    return {"output": output, "blocks": len(windows), "xsize": ox, "ysize": oy, "array": held,
            "infinite": out.n_infinite if output is not None else 0}


def _window_result(res, n_out, win):
    """A kernel's result for window ``win`` as ``(n_out, win.h, win.w)``; any other shape is an error."""
    res = np.asarray(res)
    res = res[np.newaxis] if res.ndim == 2 else res
    if res.shape != (n_out, win.h, win.w):
        raise ValueError(f"kernel returned shape {res.shape}, expected {(n_out, win.h, win.w)}")
    return res


def _kernel_result(kernel, block, n_out):
    res = np.asarray(kernel(block))
    if res.ndim == 2:
        res = res[np.newaxis]
    if res.shape != (n_out,) + block.shape[1:]:
        raise ValueError(f"kernel returned shape {res.shape}, expected {(n_out,) + block.shape[1:]}")
    return res


@dataclass(frozen=True)
class Position:
    """Where a kernel's array lies in the image: row and column numbers (halo included) and its core."""

    rows: np.ndarray
    cols: np.ndarray
    core: tuple

    def core_of(self, arr):
        """The core part of a (rows, cols) or (bands, rows, cols) array shaped like the kernel's input."""
        return arr[(Ellipsis,) + self.core]


def _apply_in_columns(kernel, block, halo, columns, n_out):
    """``kernel(piece, a, lo, hi)`` computed on pieces of ``columns`` columns with ``halo`` context on each side.

    ``a`` is the piece's first column in the block and ``[lo, hi)`` the block columns its result is
    kept for. Each piece's core equals the whole block's result there (the kernel looks at most
    ``halo`` pixels away and treats the array edge as the image edge, as the block engine already
    requires), so this only keeps the kernel's temporaries small enough for the CPU cache.
    """
    width = block.shape[2]
    if not columns or width <= columns + 2 * halo:
        return _kernel_result(lambda b: kernel(b, 0, 0, width), block, n_out)
    out = None
    for c0 in range(0, width, columns):
        c1 = min(width, c0 + columns)
        a, z = max(0, c0 - halo), min(width, c1 + halo)
        piece = block[:, :, a:z]
        res = _kernel_result(lambda b, a=a, lo=c0, hi=c1: kernel(b, a, lo, hi), piece, n_out)
        if out is None:
            out = np.empty((n_out,) + block.shape[1:], dtype=res.dtype)
        out[:, :, c0:c1] = res[:, :, c0 - a:c0 - a + (c1 - c0)]
    return out


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
