"""Overlap-add tiled inference: a fully convolutional predictor streamed over a raster at bounded memory.

The predictor sees fixed-size tiles laid on one *global* grid (positions
``0, S, 2S, …`` and a last tile flush with the *padded* image edge), so a pixel's
value never depends on how the raster was split into blocks or panels.

The canonical result, which every tiling reproduces: the image padded once at
its bottom and right edges to a multiple of the network's ``size_multiple`` (and
at least one tile, for a fixed-size network) by repeating its last row and
column, run through the network in one piece, and cropped back. Tiles therefore
start on multiples of ``size_multiple`` (a U-Net's pooling grid stays that of
the whole image) and the last tile ends at the padded edge; reads past the
image edge repeat the edge pixels, as the padding does. Each tile's
output is weighted by a separable taper: zero within ``margin`` pixels of an
edge that lies inside the image (the context the network lacks there), then a
sin² ramp over ``blend`` pixels up to one. Overlapping tiles are summed with
these weights and divided by the summed weights.

Consequences, both tested (tests/core/io/test_tiles.py):

* when ``margin`` covers the network's receptive-field radius, every tile that
  contributes to a pixel computes it exactly as a whole-image run would, and
  the blend returns that value: tiled equals whole-image, edges included;
* when the receptive field is larger than the margin (deep U-Nets), tiles
  disagree slightly near their edges, and the ramp turns what would be a step
  (a seam) into a smooth transition.

Memory: the image is processed in vertical panels as wide as the budget
allows; within a panel, tile rows are streamed top to bottom through a
rolling accumulator, and finished rows are written in 256-row chunks (whole
GeoTIFF tiles). The predictor's own working memory (network activations) is not
counted in the budget; batches are kept small for that reason.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import raster as _raster
from ..options import DEFAULT_BUDGET_MB, RunOptions, resolve
from .executors import executor_of
from .inputs import RasterStack
from .memory import gdal_cache_limit, gdal_cache_share, reuse_freed_memory
from .outputs import OutputRaster
from .provenance import band_metadata as inherited_band_metadata
from .provenance import dataset_metadata
from .windows import Window

#: Output rows are written in chunks of whole GeoTIFF tiles.
_ROW_CHUNK = _raster.TILE_SIZE


def taper(n, *, margin, blend, start, end):
    """1-D tile weights of length ``n``: 0 within ``margin`` of a tapered edge, sin² ramp over ``blend``, then 1.

    ``start``/``end`` say whether that edge is tapered (False where the tile edge
    is the image edge: those pixels have no better tile to come from). The ramp
    ``sin²(π/2 · (d − margin + ½) / blend)`` of one tile and the ``cos²`` of its
    neighbour sum to one when tiles are ``n − 2·margin − blend`` apart.
    """
    d = np.arange(n, dtype=np.float64)

    def ramp(dist):
        if blend <= 0:
            return (dist >= margin).astype(np.float64)
        r = np.clip((dist - margin + 0.5) / blend, 0.0, 1.0)
        return np.where(dist < margin, 0.0, np.sin(0.5 * np.pi * r) ** 2)

    w = np.ones(n, dtype=np.float64)
    if start:
        w *= ramp(d)
    if end:
        w *= ramp(n - 1 - d)
    return w.astype(np.float32)


def tile_positions(size, tile, stride):
    """Tile origins along one axis: ``0, stride, 2·stride, …`` and a last tile flush with the end."""
    if size <= tile:
        return [0]
    pos = list(range(0, size - tile + 1, stride))
    if pos[-1] != size - tile:
        pos.append(size - tile)
    return pos


@dataclass(frozen=True)
class TilePlan:
    """How a raster is cut into tiles, panels and batches (all sizes in input pixels)."""

    xsize: int
    ysize: int
    tile_x: int
    tile_y: int
    margin: int
    blend: int
    stride: int
    scale: int
    xs: tuple
    ys: tuple
    panels: tuple
    batch: int
    xpad: int = 0
    ypad: int = 0

    @property
    def tiles(self):
        """Tiles computed in all, counting those computed again at a panel edge."""
        return sum(len(self.panel_tiles(c0, c1)) for c0, c1 in self.panels) * len(self.ys)

    def _lo_hi(self, p, size, tile):
        return (self.margin if p > 0 else 0), (self.margin if p + tile < size else 0)

    def panel_tiles(self, c0, c1):
        """Column origins of the tiles with non-zero weight inside input columns [c0, c1)."""
        out = []
        for p in self.xs:
            lo, hi = self._lo_hi(p, self.xpad, self.tile_x)
            if p + lo < c1 and p + self.tile_x - hi > c0:
                out.append(p)
        return out


def accumulator_rows(tile_y, stride, scale):
    """Output rows a panel's accumulator holds at most: a tile row, the next stride, one written chunk."""
    return (tile_y + stride) * scale + _ROW_CHUNK


def padded_size(size, tile, multiple, fixed):
    """Side of the canonical padded image along an axis: ``size`` rounded up to ``multiple`` (at least
    ``tile`` for a fixed-size network)."""
    padded = -(-size // multiple) * multiple
    return max(padded, tile) if fixed else padded


def _effective_tile(size, tile, multiple, fixed):
    """The tile side used along an axis of ``size`` pixels (smaller images use a smaller tile if allowed)."""
    return min(tile, padded_size(size, tile, multiple, fixed))


def tile_bytes(tx, ty, scale, in_bands, out_bands, predict_bytes_per_pixel):
    """Bytes one tile holds in a batch: input and output with the runtime's normalisation temporaries,
    and the predictor's working memory."""
    tile_in = tx * ty
    return 4 * 3 * (in_bands * tile_in + out_bands * tile_in * scale * scale) + predict_bytes_per_pixel * tile_in


def fitting_tile(tile, *, margin, blend=None, scale=1, multiple=1, in_bands=1, out_bands=1, predict_bytes_per_pixel=0,
                 budget_mb=DEFAULT_BUDGET_MB):
    """The largest tile side ≤ ``tile`` (a multiple of ``multiple``) that :func:`plan_tiles` accepts within
    ``budget_mb`` (GDAL's share, :func:`gdal_cache_share`, set aside), or None when even the smallest
    tile that leaves a stride does not fit.

    For a network whose working memory is large per pixel (a super-resolution U-Net's feature maps live
    on the fine grid), the tile its contract suggests may not fit a small budget; a smaller tile does,
    at the cost of more overlap.
    """
    multiple = max(1, int(multiple))
    blend = max(0, int(margin) // 2) if blend is None else int(blend)
    budget = (budget_mb - gdal_cache_share(budget_mb)) * 2**20
    t = int(tile) // multiple * multiple
    while t - 2 * int(margin) - blend >= multiple:
        if tile_bytes(t, t, scale, in_bands, out_bands, predict_bytes_per_pixel) <= budget / 2:
            return t
        t -= multiple
    return None


def plan_tiles(xsize, ysize, *, tile, margin, blend=None, scale=1, multiple=1, fixed_size=False,
               in_bands=1, out_bands=1, batch=4, budget_mb=DEFAULT_BUDGET_MB, predict_bytes_per_pixel=0,
               reserved_mb=0.0):
    """Plan a tiled run: tile sides, stride, global tile grid, panels within ``budget_mb``, batch size.

    ``budget_mb`` is the whole run's budget, of which ``reserved_mb`` (GDAL's block
    cache) is not for arrays. ``predict_bytes_per_pixel`` is the predictor's own
    working memory per tile pixel (a network's activations); it is charged to the
    batch, so a heavy network gets smaller batches and narrower panels, not more memory.

    Raises ``ValueError`` when the tile cannot hold the margin and blend with a
    stride of at least ``multiple`` pixels.
    """
    tile, margin, scale, multiple = int(tile), int(margin), int(scale), max(1, int(multiple))
    blend = max(0, margin // 2) if blend is None else int(blend)
    if tile < 1 or margin < 0 or blend < 0 or scale < 1:
        raise ValueError(f"tile size ({tile}), halo ({margin}), blend ({blend}) and scale ({scale}) must be "
                         "positive")
    if tile % multiple:
        raise ValueError(f"tile size {tile} must be a multiple of {multiple} (the model's size multiple)")
    stride = (tile - 2 * margin - blend) // multiple * multiple
    if stride < multiple:
        raise ValueError(f"tile size {tile} is too small for a halo of {margin} pixels on each side plus a "
                         f"blend of {blend}: use a tile of at least {2 * margin + blend + multiple} pixels or "
                         "a smaller halo")
    tx = _effective_tile(xsize, tile, multiple, fixed_size)
    ty = _effective_tile(ysize, tile, multiple, fixed_size)
    xpad = padded_size(xsize, tile, multiple, fixed_size)
    ypad = padded_size(ysize, tile, multiple, fixed_size)
    xs = tuple(tile_positions(xpad, tx, stride))
    ys = tuple(tile_positions(ypad, ty, stride))

    # Bytes held at once (docs/conventions.md, "Budget and memory"): a batch of tiles in and out with the runtime's
    # normalisation temporaries; the input strip; the accumulator (values, weights, mask) of a
    # panel, preallocated at its largest height; and the temporaries of one written chunk.
    f32 = 4

    def batch_bytes(n):
        return n * tile_bytes(tx, ty, scale, in_bands, out_bands, predict_bytes_per_pixel)

    budget = (budget_mb - reserved_mb) * 2**20
    batch = max(1, int(batch))
    while batch > 1 and batch_bytes(batch) > budget / 3:
        batch -= 1
    if batch_bytes(1) > budget / 2:
        one = batch_bytes(1) / 2**20
        net = predict_bytes_per_pixel * tx * ty / 2**20
        # smallest budget B with one tile ≤ half of what is left after GDAL's cache (min(32, B/4))
        need = max(2 * one + min(reserved_mb, 32.0), 8.0 / 3.0 * one) if reserved_mb else 2 * one
        raise ValueError(f"one {tx}×{ty} tile needs about {one:.0f} MiB with this model ({net:.0f} MiB of network "
                         f"working memory, the rest the tile's input and output); the memory budget of "
                         f"{budget_mb:.0f} MiB must hold two such tiles besides GDAL's block cache "
                         f"({reserved_mb:.0f} MiB) and the tile accumulator. Raise the memory budget to at least "
                         f"{math.ceil(need) + 8} MiB, or use a smaller tile")
    rows = accumulator_rows(ty, stride, scale)
    per_out_col = rows * (f32 * (out_bands + 1) + 1) + f32 * 2 * (out_bands + 2) * _ROW_CHUNK
    per_col = f32 * in_bands * ty * 2 + per_out_col * scale
    free = budget - batch_bytes(batch) - f32 * in_bands * ty * 2 * 2 * tx   # strip overhang: a tile each side
    cols = int(free // per_col) // _ROW_CHUNK * _ROW_CHUNK
    if cols >= xsize:
        panels = ((0, xsize),)
    else:
        cols = max(_ROW_CHUNK, cols)
        panels = tuple((c, min(xsize, c + cols)) for c in range(0, xsize, cols))
    return TilePlan(xsize, ysize, tx, ty, margin, blend, stride, scale, xs, ys, panels, batch, xpad, ypad)


def _read_padded(stack, x, y, w, h):
    """Read input pixels [x, x+w) × [y, y+h), repeating edge pixels where the window passes the image edge."""
    info = stack.info
    rx, ry = max(0, x), max(0, y)
    rw, rh = min(info.xsize, x + w) - rx, min(info.ysize, y + h) - ry
    block = stack.read(Window(rx, ry, rw, rh, rx, ry, rw, rh))
    pad = ((0, 0), (ry - y, y + h - ry - rh), (rx - x, x + w - rx - rw))
    if any(p for pair in pad for p in pair):
        block = np.pad(block, pad, mode="edge")
    return block


def mask_invalid(values, valid):
    """``values`` (bands, rows, cols) with NaN where ``valid`` is False, in place (the default ``finish``)."""
    np.copyto(values, np.float32(np.nan), where=~valid)   # 4× faster than boolean-index assignment
    return values


@dataclass(frozen=True)
class ExtraOutput:
    """A further raster :func:`run_tiled` writes from the same blended values (e.g. class probabilities or
    their expectation beside a class map): ``finish(values, valid) -> (bands, h, w)``, which must not change
    ``values`` in place (the main output's ``finish`` runs after it)."""

    path: str
    finish: object
    bands: int
    dtype: object = np.float32
    descriptions: tuple = ()
    band_metadata: tuple = ()


def run_tiled(inputs, output, predict, *, tile, margin, out_bands, blend=None, scale=1, multiple=1,
              fixed_size=False, batch=4, predict_bytes_per_pixel=0, finish=None, final_bands=None,
              out_dtype=np.float32, extra_outputs=(),
              descriptions=None, band_metadata=None, metadata=None, inherit=True,
              options: RunOptions | None = None):
    """Run ``predict`` over ``inputs`` in overlapping tiles and write the blended result to ``output``.

    Parameters
    ----------
    inputs : str or list of str
        Raster(s) on one grid; bands are concatenated in order (the predictor's channels).
    output : str
        GeoTIFF written block by block under a temporary name, renamed on success.
    predict : callable
        ``predict(tiles) -> scores``: float32 ``(n, bands, tile_y, tile_x)`` with NaN
        nodata in, ``(n, out_bands, tile_y·scale, tile_x·scale)`` out. It must cope
        with NaN (fill it) itself; the engine masks those pixels again afterwards.
    tile, margin, blend : int
        Tile side, pixels discarded at inner tile edges (≥ the receptive-field
        radius for an exact result) and width of the blending ramp (default
        ``margin // 2``), in input pixels.
    out_bands : int
        Channels ``predict`` returns (blended as numbers: scores, probabilities).
    scale : int
        Output pixels per input pixel along each axis (super-resolution); the
        output grid keeps the input's origin and CRS with pixels ``scale`` times smaller.
    multiple, fixed_size : int, bool
        Tile sides and the stride are multiples of ``multiple`` (a U-Net's
        2^levels); a ``fixed_size`` predictor always gets ``tile``-sized tiles
        (edge-padded where the image is smaller).
    batch, predict_bytes_per_pixel : int
        Tiles per ``predict`` call, reduced to fit the budget given the
        predictor's working memory per tile pixel.
    finish : callable, optional
        ``finish(values, valid) -> array`` turns blended ``(out_bands, h, w)``
        values and the valid mask into the written ``(final_bands, h, w)`` block
        (e.g. argmax to class values). Default: values with NaN where invalid.
    extra_outputs : sequence of ExtraOutput
        Further rasters on the output grid written from the same blended values (same
        metadata, compression and all-or-nothing rule: a failed or cancelled run leaves none).
    descriptions, band_metadata, metadata, inherit
        As for :func:`run_blockwise`: the caller's keys on top of what the outputs inherit (:mod:`.provenance`).
    options : RunOptions, optional
        As for :func:`run_blockwise`. The budget is the memory of the run: GDAL's cache
        (:func:`gdal_cache_share`) and the engine's arrays (strip, accumulator, batch), which set
        the panel width; cancel is checked before every batch.

    Returns
    -------
    dict
        ``{"output": path, "tiles": n, "panels": n, "batch": n}``.
    """
    stack = RasterStack(inputs)
    info = stack.info
    scale = int(scale)
    opts = resolve(options)
    budget_mb, progress = opts.budget_mb, opts.progress
    cache_mb = gdal_cache_share(budget_mb)
    plan = plan_tiles(info.xsize, info.ysize, tile=tile, margin=margin, blend=blend, scale=scale,
                      multiple=multiple, fixed_size=fixed_size, in_bands=stack.band_count,
                      out_bands=out_bands, batch=batch, budget_mb=budget_mb, reserved_mb=cache_mb,
                      predict_bytes_per_pixel=predict_bytes_per_pixel)
    finish = finish or mask_invalid
    final_bands = final_bands or out_bands
    gt = info.geotransform
    out_gt = (gt[0], gt[1] / scale, gt[2] / scale, gt[3], gt[4] / scale, gt[5] / scale)
    total = max(1, plan.tiles)
    done = [0]

    def tick(n):
        done[0] += n
        if progress:
            progress(min(1.0, done[0] / total))

    grid = dict(xsize=info.xsize * scale, ysize=info.ysize * scale, geotransform=out_gt, projection=info.projection,
                metadata=dataset_metadata(stack, metadata, inherit), compression=opts.compression)
    with contextlib.ExitStack() as opened:
        opened.enter_context(gdal_cache_limit(cache_mb))
        out = opened.enter_context(OutputRaster(
            output, stack.paths, bands=final_bands, dtype=out_dtype, descriptions=descriptions,
            band_metadata=inherited_band_metadata(stack, final_bands, out_dtype, band_metadata, inherit), options=opts,
            **grid))
        writers = [(opened.enter_context(OutputRaster(
            extra.path, stack.paths + [output], bands=extra.bands, dtype=extra.dtype,
            descriptions=list(extra.descriptions) or None,
            band_metadata=inherited_band_metadata(stack, extra.bands, extra.dtype, list(extra.band_metadata) or None,
                                                  inherit), options=opts, **grid)),
            extra.finish) for extra in extra_outputs]
        writers.append((out, finish))
        opened.enter_context(stack)
        opened.enter_context(reuse_freed_memory(budget_mb))
        _run_tiles(stack, plan, predict, writers, out_bands, tick, opts)
    return {"output": output, "tiles": plan.tiles, "panels": len(plan.panels), "batch": plan.batch,
            "tile": (plan.tile_x, plan.tile_y), "halo": plan.margin, "blend": plan.blend,
            "infinite": out.n_infinite, "empty_bands": out.empty_bands}


def _tile_items(plan):
    """The tiled run's work in the order it is blended: ``(panel, tile row, batch of tile columns)`` tuples, each
    ``(c0, c1, row_index, py, group)``: a panel's input columns [c0, c1), the tile row's origin ``py``, and the
    column origins of the tiles computed together (one ``predict`` call)."""
    items = []
    for c0, c1 in plan.panels:
        xs = plan.panel_tiles(c0, c1)
        for i, py in enumerate(plan.ys):
            items.extend((c0, c1, i, py, tuple(xs[b:b + plan.batch])) for b in range(0, len(xs), plan.batch))
    return items


def _predict_item(stack, plan, predict, n_out, item):
    """One batch of tiles read and predicted: ``(scores, valid, lo)``, with ``valid`` the input pixels of the tile
    row ([py, py + rows) inside the image) whose every channel is finite, over input columns [lo, lo + width) of the
    panel. Reads only its own tiles (edge pixels repeated past the image edge, as the canonical padding does)."""
    c0, c1, _, py, group = item
    info = stack.info
    tx, ty = plan.tile_x, plan.tile_y
    g0, g1 = group[0], group[-1] + tx
    strip = _read_padded(stack, g0, py, g1 - g0, ty)
    tiles = np.stack([strip[:, :, p - g0:p - g0 + tx] for p in group])
    pred = np.asarray(predict(tiles), dtype=np.float32)
    expected = (len(group), n_out, ty * plan.scale, tx * plan.scale)
    if pred.shape != expected:
        raise ValueError(f"the model returned tiles of shape {pred.shape}, expected {expected}")
    lo, hi = max(c0, g0), min(c1, g1, info.xsize)
    rows_in = min(info.ysize, py + ty) - py
    valid = np.all(np.isfinite(strip[:, :rows_in, lo - g0:hi - g0]), axis=0)
    return pred, valid, lo


class _Panel:
    """A panel's rolling accumulator: tile rows of input columns [c0, c1) blended into it, finished rows written."""

    def __init__(self, info, plan, c0, c1, writers, n_out):
        s, tx = plan.scale, plan.tile_x
        self.plan, self.c0, self.c1, self.writers = plan, c0, c1, writers
        self.xs = plan.panel_tiles(c0, c1)
        self.ox0, self.ox1 = c0 * s, c1 * s                  # panel columns, output pixels
        self.height_out = info.ysize * s
        self.wx = {p: taper(tx * s, margin=plan.margin * s, blend=plan.blend * s, start=p > 0,
                            end=p + tx < plan.xpad) for p in self.xs}
        # The accumulator holds output rows [acc_y0, acc_y0 + held), allocated once at its largest height.
        self.cap = accumulator_rows(plan.tile_y, plan.stride, s)
        width = self.ox1 - self.ox0
        self.acc = np.zeros((n_out, self.cap, width), np.float32)
        self.wsum = np.zeros((self.cap, width), np.float32)
        self.valid = np.zeros((self.cap, width), bool)
        self.acc_y0, self.held = 0, 0

    def start_row(self, py):
        """Make room for tile row ``py``: the rows it reaches below those held, zeroed."""
        plan, s, ty = self.plan, self.plan.scale, self.plan.tile_y
        bottom = min(self.height_out, (py + ty) * s)   # this tile row reaches down to here (inside the image)
        grow = bottom - (self.acc_y0 + self.held)
        if grow > 0:
            if self.held + grow > self.cap:
                raise RuntimeError("tile accumulator overflow")  # a bug, never an input problem
            self.acc[:, self.held:self.held + grow] = 0
            self.wsum[self.held:self.held + grow] = 0
            self.held += grow
        # Rows above acc_y0 are written already; this tile row has zero weight there (they lie
        # within its top margin), so its first `skip` output rows are left out.
        self.skip = max(0, self.acc_y0 - py * s)
        self.r0 = py * s + self.skip - self.acc_y0       # first accumulator row this tile row touches
        self.nrows = bottom - py * s - self.skip         # rows it adds to
        self.wy = taper(ty * s, margin=plan.margin * s, blend=plan.blend * s, start=py > 0,
                        end=py + ty < plan.ypad)[self.skip:]

    def add(self, group, pred, valid, lo):
        """Blend one batch's scores into the accumulator, and record its valid input pixels."""
        s, tx = self.plan.scale, self.plan.tile_x
        skip, r0, nrows, ox0 = self.skip, self.r0, self.nrows, self.ox0
        if s > 1:   # each input pixel's flag over its s×s output pixels, in one copy
            valid = np.broadcast_to(valid[:, None, :, None], (valid.shape[0], s, valid.shape[1], s)).reshape(
                valid.shape[0] * s, -1)
        a = lo * s - ox0
        self.valid[r0:r0 + nrows, a:a + valid.shape[1]] = valid[skip:skip + nrows]
        for j, p in enumerate(group):
            a, z = max(ox0, p * s), min(self.ox1, (p + tx) * s)   # tile columns inside the panel
            if a >= z:
                continue
            w = self.wy[:nrows, None] * self.wx[p][None, a - p * s:z - p * s]
            self.acc[:, r0:r0 + nrows, a - ox0:z - ox0] += pred[j, :, skip:skip + nrows, a - p * s:z - p * s] * w
            self.wsum[r0:r0 + nrows, a - ox0:z - ox0] += w

    def end_row(self, i):
        """Write the rows that tile row ``i`` finished (above the next tile row's first weighted row)."""
        plan, s = self.plan, self.plan.scale
        if i + 1 < len(plan.ys):
            final = (plan.ys[i + 1] + plan.margin) * s // _ROW_CHUNK * _ROW_CHUNK
        else:
            final = self.height_out
        k = final - self.acc_y0
        if k <= 0:
            return
        acc, wsum, valid = self.acc, self.wsum, self.valid
        if np.any(wsum[:k] <= 0):
            raise RuntimeError("tile plan left pixels without weight")  # a bug, never an input problem
        for r in range(0, k, _ROW_CHUNK):      # write in whole GeoTIFF tile rows
            e = min(k, r + _ROW_CHUNK)
            values = acc[:, r:e] / wsum[None, r:e]
            for out, finish in self.writers:   # the main output last: its finish may change values in place
                out.write(finish(values, valid[r:e]), self.ox0, self.acc_y0 + r)
        # move the rows still open to the top, in pieces that never overlap (no temporary copy)
        rest = self.held - k
        for r in range(0, rest, k):
            e = min(rest, r + k)
            acc[:, r:e] = acc[:, k + r:k + e]
            wsum[r:e] = wsum[k + r:k + e]
            valid[r:e] = valid[k + r:k + e]
        self.acc_y0, self.held = final, rest


def _run_tiles(stack, plan, predict, writers, n_out, tick, options):
    """Every batch of tiles predicted (on the run's executor) and blended in plan order, panel by panel: one
    panel's accumulator is held at a time."""
    state = {"panel": None}

    def consume(item, result):
        c0, c1, i, py, group = item
        panel = state["panel"]
        if panel is None or (panel.c0, panel.c1) != (c0, c1):
            state["panel"] = panel = None      # the previous panel's accumulator is freed first
            panel = state["panel"] = _Panel(stack.info, plan, c0, c1, writers, n_out)
        if group[0] == panel.xs[0]:
            panel.start_row(py)
        pred, valid, lo = result
        panel.add(group, pred, valid, lo)
        del pred, result
        tick(len(group))
        if group[-1] == panel.xs[-1]:
            panel.end_row(i)

    tile_out = n_out * plan.tile_y * plan.tile_x * plan.scale ** 2 * 4 + plan.tile_y * plan.tile_x
    executor_of(options).map_ordered(
        _tile_items(plan), partial(_predict_item, stack, plan, predict, n_out), consume,
        options=options.replace(progress=None), threads=1, inputs=stack.paths,
        result_bytes=lambda item: len(item[4]) * tile_out)
