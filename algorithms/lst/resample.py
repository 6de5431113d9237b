"""Keys' cubic convolution ×s upsampling and the gap fill shared by the LST methods.

Bicubic here is Keys (1981), "Cubic convolution interpolation for digital image processing",
IEEE TASSP 29(6), eq. 15 with a = −0.5 (the value that makes the interpolant third-order
accurate; GDAL's ``cubic`` uses the same). Pixel centres are aligned: fine pixel i of a ×s grid
sits at coarse coordinate u = (i + 0.5)/s − 0.5, and its value is Σ_k W(u − k)·x_k over the four
coarse pixels k around u. Past the image edge the edge pixel is repeated.

Because s is an integer, every fine pixel falls on one of s phases, and each phase is one fixed
5-tap filter over the coarse pixels m−2..m+2 (m = i // s): :func:`phase_weights`. The U-Net's ILR
input uses the very same weights inside the ONNX graph (a 5×5 convolution with s² outputs and a
pixel shuffle), so :func:`upsample` reproduces it.

NaN (cloud gaps): :func:`fill_gaps` first fills NaN coarse pixels from their valid neighbours
(an iterated 3×3 mean, ``iterations`` rings deep; anything further from valid data gets
``fallback``); the fine pixels of a NaN coarse pixel are masked again afterwards. A gap thus never
spreads NaN into valid pixels, and no value is invented inside a gap.
"""

from __future__ import annotations

import math

import numpy as np

KEYS_A = -0.5
#: Coarse pixels on each side that a fine pixel's value depends on (the 5-tap window's radius).
RADIUS = 2


def keys_kernel(x, a=KEYS_A):
    """Keys' cubic convolution kernel W(x) (Keys 1981, eq. 15)."""
    x = np.abs(np.asarray(x, np.float64))
    near = (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    far = a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def phase_weights(scale, a=KEYS_A):
    """(scale, 5) weights: fine pixel ``i = m·scale + p`` is Σ_j w[p, j]·x[m − 2 + j] (float64)."""
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"the scale must be at least 1, got {scale}")
    w = np.zeros((scale, 2 * RADIUS + 1))
    for p in range(scale):
        u = (p + 0.5) / scale - 0.5          # position relative to coarse pixel m
        k0 = math.floor(u)
        for k in range(k0 - 1, k0 + 3):
            w[p, k + RADIUS] += keys_kernel(u - k, a)
    return w


def upsample(coarse, scale, *, a=KEYS_A, fill=None):
    """Keys cubic ×``scale`` of a 2-D array; NaN coarse pixels give NaN fine pixels.

    ``fill`` (an array like ``coarse`` without NaN, e.g. from :func:`fill_gaps`) gives the values the
    kernel uses at NaN pixels; without it a NaN spreads to the fine pixels within the kernel's
    reach, as plain convolution would. Returns float32 (rows·scale, cols·scale).
    """
    coarse = np.asarray(coarse, np.float32)
    src = coarse if fill is None else np.where(np.isfinite(coarse), coarse, fill)
    w = phase_weights(scale, a)
    rows, cols = src.shape
    # float32 arithmetic (≤ 1e-4 K from float64 at 300 K: four taps of weights summing to 1), zero taps skipped
    pad = np.pad(src.astype(np.float32), RADIUS, mode="edge")
    taps = [[(np.float32(w[p, j]), j) for j in range(2 * RADIUS + 1) if w[p, j] != 0.0] for p in range(scale)]
    # along rows: (scale, rows, cols + 2R) then along columns
    by_rows = np.stack([sum(wj * pad[j:j + rows] for wj, j in taps[p]) for p in range(scale)])
    out = np.empty((rows, scale, cols, scale), np.float32)
    for q in range(scale):
        out[:, :, :, q] = np.moveaxis(sum(wj * by_rows[:, :, j:j + cols] for wj, j in taps[q]), 0, 1)
    out = out.reshape(rows * scale, cols * scale)
    if fill is not None:
        gap = ~np.isfinite(coarse)
        if gap.any():
            out[np.repeat(np.repeat(gap, scale, axis=0), scale, axis=1)] = np.nan
    return out


def fill_gaps(coarse, *, iterations, fallback):
    """NaN pixels filled from valid neighbours: ``iterations`` rounds of the 3×3 mean of filled neighbours.

    Round k fills the NaN pixels touching a pixel valid or filled in round k−1 (8-connected) with
    the mean of those neighbours, so a gap is filled from its edge inwards, ``iterations`` pixels
    deep; what remains gets ``fallback``. The value at a pixel depends only on pixels within
    ``iterations`` of it, so blocks with that much halo give the whole-array result.
    """
    out = np.array(coarse, np.float32)
    known = np.isfinite(out)
    if known.all():
        return out
    for _ in range(int(iterations)):
        if known.all():
            break
        vals = np.pad(np.where(known, out, 0).astype(np.float64), 1)
        cnt = np.pad(known.astype(np.float64), 1)
        r, c = out.shape
        s = sum(vals[i:i + r, j:j + c] for i in range(3) for j in range(3))
        n = sum(cnt[i:i + r, j:j + c] for i in range(3) for j in range(3))
        new = ~known & (n > 0)
        out[new] = (s[new] / n[new]).astype(np.float32)
        known |= new
    out[~known] = np.float32(fallback)
    return out
