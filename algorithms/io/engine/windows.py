"""The windows a run walks: output windows with their halo, sized by the memory budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import raster as _raster
from ..options import DEFAULT_BUDGET_MB

#: Default estimate of kernel working memory per input pixel and band, in bytes.
DEFAULT_BYTES_PER_PIXEL = 64


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


@dataclass(frozen=True)
class Position:
    """Where a kernel's array lies in the image: row and column numbers (halo included) and its core."""

    rows: np.ndarray
    cols: np.ndarray
    core: tuple

    def core_of(self, arr):
        """The core part of a (rows, cols) or (bands, rows, cols) array shaped like the kernel's input."""
        return arr[(Ellipsis,) + self.core]
