"""Bounded-memory block walker: windows with a halo, read → kernel → write, cancel and progress.

A kernel is a pure function ``f(block) -> out`` where ``block`` is float32
``(bands, rows, cols)`` with NaN for nodata, covering the output window plus
``halo`` pixels on every side that lies inside the image. It returns
``(out_bands, rows, cols)`` (or ``(rows, cols)`` for one band) over the same
read window; the walker crops the halo away and writes the core. A kernel that
only looks ``halo`` pixels away and treats the array edge as the image edge
gives exactly the whole-array result (tests/core/io/test_engine.py proves it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import numpy as np

from .. import raster as _raster
from ..options import RunOptions, resolve
from .executors import executor_of
from .inputs import RasterStack
from .memory import gdal_cache_limit, gdal_cache_share, reuse_freed_memory
from .outputs import OutputRaster
from .provenance import band_metadata as _band_metadata
from .provenance import dataset_metadata as _dataset_metadata
from .windows import DEFAULT_BYTES_PER_PIXEL, Position, Window, plan_windows

#: Columns a kernel sees at once (cache blocking): a strip read from the file is handed to the kernel in
#: pieces this wide (plus the halo), so its float64 temporaries stay in the CPU cache. Measured on Lee 5×5:
#: 1024-column pieces of a 256-row strip run 4× faster than the whole 8192-column strip (docs/performance.md).
KERNEL_COLUMNS = 1024


def run_blockwise(inputs, output, kernel, *, halo=0, out_bands=None, out_dtype=np.float32,
                  descriptions=None, band_metadata=None, metadata=None, inherit=True,
                  bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL, kernel_columns=KERNEL_COLUMNS, complex_as=None,
                  with_position=False, options: RunOptions | None = None):
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
        Band descriptions (default: the input's when the band count matches), per-band metadata (a dict per
        band, or one dict for every band) and dataset metadata: the keys the caller sets on top of what the
        output inherits from the inputs (:mod:`.provenance`; a None value removes a key).
    inherit : True, "common" or False
        What the output inherits from the inputs (:func:`.provenance.band_metadata`).
    bytes_per_pixel : int
        The kernel's working bytes per pixel and band, with the budget of ``options`` (GDAL's cache
        included, see :func:`gdal_cache_share`) sizing the blocks.
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
    options : RunOptions, optional
        Budget, workers (blocks computed at once: GDAL and numpy release the GIL), compression,
        block size, progress (the finished fraction after each block) and cancel (checked before
        each block; True raises :class:`Cancelled`). None: :class:`RunOptions`'s defaults.

    Returns
    -------
    dict
        ``{"output": path, "blocks": n, "infinite": n}``: ``infinite`` counts ±inf values the
        kernel returned, written as NaN (callers report them).
    """
    stack = RasterStack(inputs, complex_as=complex_as)
    info = stack.info
    several, outputs, counts, dtypes, descriptions, band_metadata = _output_layout(
        output, out_bands, out_dtype, descriptions, band_metadata, default_bands=stack.band_count)
    descriptions = [stack.descriptions if d is None and n == stack.band_count else d
                    for d, n in zip(descriptions, counts)]
    band_metadata = [_band_metadata(stack, n, t, m, inherit) for n, t, m in zip(counts, dtypes, band_metadata)]
    metadata = _dataset_metadata(stack, metadata, inherit)
    n_out = sum(counts)
    opts = resolve(options)
    cache_mb = gdal_cache_share(opts.budget_mb)
    # one tile side for every output (the deepest one's), and windows aligned to it: each window fills
    # whole tiles of every output
    side = min(_raster.tile_size(n, t) for n, t in zip(counts, dtypes))
    windows = plan_windows(info.xsize, info.ysize, halo=halo, bands=max(stack.band_count, n_out),
                           bytes_per_pixel=bytes_per_pixel, budget_mb=(opts.budget_mb - cache_mb) / opts.workers,
                           align=side, block_size=opts.block_size)
    def call(*args):
        return _joined(kernel(*args), several)

    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))   # entered first: still capped while outputs close
        opened.enter_context(reuse_freed_memory(opts.budget_mb))
        outs = [opened.enter_context(OutputRaster(
            path, stack.paths, xsize=info.xsize, ysize=info.ysize, bands=n, geotransform=info.geotransform,
            projection=info.projection, dtype=t, descriptions=d, band_metadata=m, metadata=metadata,
            compression=opts.compression, tile=side, options=opts))
            for path, n, t, d, m in zip(outputs, counts, dtypes, descriptions, band_metadata)]
        opened.enter_context(stack)

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

        write = _split_writer(outs, counts)

        _walk(windows, compute, write, options=opts, inputs=stack.paths, bytes_per_pixel=4 * n_out)
    return _written(output, windows, outs)


def run_on_grid(output, kernel, *, inputs=(), xsize, ysize, geotransform, projection, out_bands, out_dtype=np.float32,
                descriptions=None, band_metadata=None, metadata=None, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL,
                options: RunOptions | None = None):
    """Write ``output`` on a grid no input raster gives (a map grid data are resampled onto), block by block.

    ``kernel(window)`` gets each :class:`Window` of the new grid (``x, y, w, h``; no halo) and returns its
    ``(out_bands, h, w)`` values; it reads what it needs itself, within the memory budget it was planned
    with (``bytes_per_pixel`` per output pixel and band, its reads included). Temporary output, cancel,
    progress, workers and GDAL's cache as in :func:`run_blockwise`; ``inputs`` (the files the kernel reads) are
    only checked not to be the output (and, on a cluster, readable by its workers). A list of outputs is written in
    one pass as :func:`run_blockwise` writes several: ``out_bands``, ``out_dtype``, ``descriptions`` and
    ``band_metadata`` then give one entry per output, and the kernel returns one array per output.
    """
    opts = resolve(options)
    several, outputs, counts, dtypes, descriptions, band_metadata = _output_layout(
        output, out_bands, out_dtype, descriptions, band_metadata)
    n_out = sum(counts)
    cache_mb = gdal_cache_share(opts.budget_mb)
    side = min(_raster.tile_size(n, t) for n, t in zip(counts, dtypes))
    windows = plan_windows(int(xsize), int(ysize), bands=n_out, bytes_per_pixel=bytes_per_pixel,
                           budget_mb=(opts.budget_mb - cache_mb) / opts.workers, align=side, block_size=opts.block_size)

    def compute(win):
        return _window_result(_joined(kernel(win), several), n_out, win)

    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))
        opened.enter_context(reuse_freed_memory(opts.budget_mb))
        outs = [opened.enter_context(OutputRaster(
            path, [str(p) for p in inputs], xsize=int(xsize), ysize=int(ysize), bands=n, geotransform=geotransform,
            projection=projection, dtype=t, descriptions=d, band_metadata=m, metadata=metadata,
            compression=opts.compression, tile=side, options=opts))
            for path, n, t, d, m in zip(outputs, counts, dtypes, descriptions, band_metadata)]

        write = _split_writer(outs, counts)
        _walk(windows, compute, write, options=opts, inputs=[str(p) for p in inputs], bytes_per_pixel=4 * n_out)
    return _written(output, windows, outs)


def reduce_blockwise(inputs, kernel, *, initial, combine, halo=0, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL,
                     complex_as=None, with_position=False, options: RunOptions | None = None):
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
    opts = resolve(options)
    cache_mb = gdal_cache_share(opts.budget_mb)
    windows = plan_windows(info.xsize, info.ysize, halo=halo, bands=stack.band_count, bytes_per_pixel=bytes_per_pixel,
                           budget_mb=(opts.budget_mb - cache_mb) / opts.workers, block_size=opts.block_size)
    total = [initial]

    def compute(win):
        block = stack.read(win)
        if not with_position:
            return kernel(block)
        where = Position(np.arange(win.ry, win.ry + win.rh), np.arange(win.rx, win.rx + win.rw), win.core)
        return kernel(block, where)

    def add(win, partial):
        total[0] = combine(total[0], partial)

    with gdal_cache_limit(cache_mb), reuse_freed_memory(opts.budget_mb), stack:
        _walk(windows, compute, add, options=opts, inputs=stack.paths, bytes_per_pixel=0)
    return total[0]


def run_aggregate(inputs, output, kernel, *, factor, out_bands, out_dtype=np.float32, descriptions=None,
                  band_metadata=None, metadata=None, inherit=True, bytes_per_pixel=DEFAULT_BYTES_PER_PIXEL,
                  options: RunOptions | None = None):
    """Reduce ``inputs`` to a grid ``factor`` times coarser, block by block: ``kernel(block) -> coarse``.

    The kernel gets float32 ``(bands, h·factor, w·factor)`` blocks (NaN nodata) whose sides are
    whole coarse pixels, and returns ``(out_bands, h, w)``. The coarse grid keeps the input's
    origin and CRS, with pixels ``factor`` times larger; input rows and columns at the bottom and
    right that do not fill a whole coarse pixel are left out (``rows // factor`` × ``cols // factor``).
    ``output`` None returns the coarse result as an array instead of writing a GeoTIFF (for
    callers that hold the coarse grid anyway). Budget, progress and cancel, and the metadata the output
    inherits (``inherit``), as in :func:`run_blockwise`.

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
    opts = resolve(options)
    cache_mb = gdal_cache_share(opts.budget_mb)
    windows = plan_windows(ox, oy, bands=max(stack.band_count, out_bands), bytes_per_pixel=bytes_per_pixel * f * f,
                           budget_mb=opts.budget_mb - cache_mb, align=_raster.tile_size(out_bands, out_dtype),
                           block_size=opts.block_size)
    gt = info.geotransform
    coarse_gt = (gt[0], gt[1] * f, gt[2] * f, gt[3], gt[4] * f, gt[5] * f)
    held = None if output is not None else np.empty((out_bands, oy, ox), out_dtype)

    def compute(win):
        block = stack.read(Window(win.x * f, win.y * f, win.w * f, win.h * f,
                                  win.x * f, win.y * f, win.w * f, win.h * f))
        return _window_result(kernel(block), out_bands, win)

    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))
        opened.enter_context(reuse_freed_memory(opts.budget_mb))
        if output is not None:
            out = opened.enter_context(OutputRaster(
                output, stack.paths, xsize=ox, ysize=oy, bands=out_bands, geotransform=coarse_gt,
                projection=info.projection, dtype=out_dtype, descriptions=descriptions,
                band_metadata=_band_metadata(stack, out_bands, out_dtype, band_metadata, inherit),
                metadata=_dataset_metadata(stack, metadata, inherit), compression=opts.compression, options=opts))
            def write(win, res):
                out.write(res, win.x, win.y)
        else:
            def write(win, res):
                held[:, win.y:win.y + win.h, win.x:win.x + win.w] = res
        opened.enter_context(stack)
        _walk(windows, compute, write, options=opts.replace(workers=1), inputs=stack.paths,
              bytes_per_pixel=4 * out_bands)
    return {"output": output, "blocks": len(windows), "xsize": ox, "ysize": oy, "array": held,
            "infinite": out.n_infinite if output is not None else 0,
            "empty_bands": out.empty_bands if output is not None else []}


def _output_layout(output, out_bands, out_dtype, descriptions, band_metadata, default_bands=None):
    """One output path or several (a list): ``(several, paths, band counts, dtypes, descriptions, band metadata)``,
    one entry per output (with several, ``out_bands`` gives each one's count, ``descriptions`` and ``band_metadata``
    are lists of one entry per output or None, ``out_dtype`` one dtype or a list; one output without ``out_bands``
    has ``default_bands``)."""
    several = not isinstance(output, (str, os.PathLike))
    outputs = list(output) if several else [output]
    if several:
        if out_bands is None or len(out_bands) != len(outputs):
            raise ValueError("several outputs need one band count each (out_bands)")
        counts = [int(n) for n in out_bands]
        descriptions = descriptions or [None] * len(outputs)
        band_metadata = band_metadata or [None] * len(outputs)
    else:
        counts = [int(out_bands if out_bands is not None else default_bands)]
        descriptions, band_metadata = [descriptions], [band_metadata]
    dtypes = list(out_dtype) if isinstance(out_dtype, (list, tuple)) else [out_dtype] * len(outputs)
    if len(dtypes) != len(outputs):
        raise ValueError("give one output dtype per output")
    return several, outputs, counts, dtypes, descriptions, band_metadata


def _split_writer(outs, counts):
    """``write(win, array)``: the stacked bands of a window (:func:`_joined`) written, ``counts[i]`` to ``outs[i]``."""
    splits = np.cumsum(counts)[:-1]

    def write(win, array):
        for out, part in zip(outs, np.split(array, splits)):
            out.write(part, win.x, win.y)
    return write


def _written(output, windows, outs):
    """What a walk that wrote ``outs`` returns: the output(s), the windows walked, the ±inf values written as NaN,
    the bands left without a valid pixel (the first output's, and each output's)."""
    return {"output": output, "blocks": len(windows), "infinite": sum(o.n_infinite for o in outs),
            "empty_bands": outs[0].empty_bands, "empty_bands_by_output": {o.output: o.empty_bands for o in outs}}


def _joined(result, several):
    """A kernel's result as one ``(bands, rows, cols)`` array: with several outputs, their arrays stacked in order."""
    if not several:
        return result
    return np.concatenate([r[np.newaxis] if np.ndim(r) == 2 else r for r in result])


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


def _walk(windows, compute, write, *, options, inputs=(), bytes_per_pixel=4):
    """Run compute over windows (``options.workers`` at once, on the run's executor), write results in window
    order, cancel between blocks (:meth:`.executors.LocalExecutor.map_ordered`); a window's result holds
    ``bytes_per_pixel`` per pixel of its core (all bands)."""
    executor_of(options).map_ordered(windows, compute, write, options=options, threads=options.workers,
                                     inputs=inputs, result_bytes=lambda win: win.w * win.h * bytes_per_pixel)


def run_whole(inputs, kernel: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Read every band of ``inputs`` at once and apply ``kernel``: the reference the block run must equal.

    For tests and small rasters only: it holds the whole scene in memory.
    """
    stack = RasterStack(inputs)
    info = stack.info
    win = Window(0, 0, info.xsize, info.ysize, 0, 0, info.xsize, info.ysize)
    with stack:
        res = np.asarray(kernel(stack.read(win)))
    return res[np.newaxis] if res.ndim == 2 else res
