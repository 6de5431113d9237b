"""Speckle filters for linear SAR intensity.

Every filter takes a 2-D array of linear intensity (NaN = nodata) and returns
float32 of the same shape. NaN pixels stay NaN and are left out of the local
statistics of their neighbours. The image edge is extended by replicating the
border (ITK's ZeroFluxNeumann condition, as in OTB 8.1), so a filter looks at
most ``size // 2`` pixels away and the block engine reproduces the whole-array
result exactly with ``halo = size // 2``.

Lee, Kuan, Gamma-MAP and Frost follow the definitions in OTB 8.1
(``otb::LeeImageFilter`` etc.): local mean, *unbiased* local variance
(divisor n − 1), ``Cu² = 1 / looks``, the same branch rules. Where the input
has no NaN our result equals OTB's to float precision (tests/core/sar_preparation/test_otb_parity.py).
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from ..io import engine as _engine
from ..io import raster as _raster
from ..io import stack as _stack
from ..io.options import RunOptions
from . import units as sar

FILTERS = ("boxcar", "lee", "refinedlee", "frost", "gammamap", "kuan", "median")
_EPS = 1e-10  # OTB's epsilon for "mean or variance is zero"


def check_looks(looks):
    """Raise ``ValueError`` unless ``looks`` (ENL) is a finite number > 0 (NaN is refused too)."""
    if not (isinstance(looks, (int, float, np.floating, np.integer)) and np.isfinite(looks) and looks > 0):
        raise ValueError(f"the equivalent number of looks (ENL) must be a finite number > 0, got {looks!r}")


def check_damping(damping):
    """Raise ``ValueError`` unless Frost's ``damping`` is a finite number ≥ 0 (NaN is refused too)."""
    if not (isinstance(damping, (int, float, np.floating, np.integer)) and np.isfinite(damping) and damping >= 0):
        raise ValueError(f"Frost's damping factor must be a finite number >= 0, got {damping!r}")


def _check(intensity, size, *, min_size=3):
    if not isinstance(size, (int, np.integer)) or size < min_size or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= {min_size}, got {size!r}")
    img = np.asarray(intensity)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    return img.astype(np.float32, copy=False)


def _padded(img, r):
    """The image as float64 with its edges replicated ``r`` pixels (``np.pad`` mode "edge"), one allocation."""
    h, w = img.shape
    p = np.empty((h + 2 * r, w + 2 * r))
    p[r:r + h, r:r + w] = img
    p[:r, r:r + w] = p[r, r:r + w]
    p[r + h:, r:r + w] = p[r + h - 1, r:r + w]
    p[:, :r] = p[:, r:r + 1]
    p[:, r + w:] = p[:, r + w - 1:r + w]
    return p


def _box_sum_padded(p, size, rows=None):
    """Window sums of an edge-padded array (``r = size//2`` on every side); exact (no running sums).

    Shifted views added in window order, first down the rows, then along them: the sums of
    ``scipy.ndimage.correlate1d`` with a kernel of ones up to the order of addition (identical for
    float32 data, which sum exactly in float64; tested), about twice as fast, because correlate1d
    copies every column of a C-ordered array into a buffer for the pass down the rows. ``rows``
    (shape ``(h, w + 2r)``) is a scratch buffer a caller can reuse between sums: fresh memory costs
    page faults that are dearer than the additions.
    """
    r = size // 2
    h, w = p.shape[0] - 2 * r, p.shape[1] - 2 * r
    if rows is None:
        rows = np.empty((h, p.shape[1]))
    np.copyto(rows, p[0:h])
    for k in range(1, size):
        rows += p[k:k + h]
    out = rows[:, 0:w].copy()
    for k in range(1, size):
        out += rows[:, k:k + w]
    return out


def _box_sum(x, size):
    """Sum over a size×size window, edges replicated (see :func:`_box_sum_padded`)."""
    return _box_sum_padded(_padded(np.asarray(x), size // 2), size)


def _count(p, size, rows):
    """Valid (finite) pixels per window of a padded array, whose non-finite values become 0 here.

    Returns the number of window pixels (a float) when every value is finite.
    """
    valid = np.isfinite(p)
    if valid.all():
        return float(size * size)
    p[~valid] = 0.0
    return np.rint(_box_sum_padded(valid.astype(np.float64), size, rows))


def local_mean(intensity, size):
    """NaN-aware local mean over a size×size window (float64; NaN where no pixel is valid)."""
    p = _padded(np.asarray(intensity), size // 2)
    rows = np.empty((p.shape[0] - 2 * (size // 2), p.shape[1]))
    n = _count(p, size, rows)
    s1 = _box_sum_padded(p, size, rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 /= n
    return s1


def local_stats(intensity, size):
    """NaN-aware local mean, unbiased variance and valid count over a size×size window.

    Sums are taken in float64 (no cancellation in ``Σx² − (Σx)²/n``). Returns float64 arrays
    ``(mean, var, n)``; ``var`` uses the divisor ``n − 1`` (OTB 8.1) and is NaN where ``n < 2``;
    ``mean`` is NaN where ``n == 0``. One padded copy of the image is squared in place for ``Σx²``
    and one row-sum buffer serves every sum: four image-sized float64 arrays in all.
    """
    img = np.asarray(intensity)
    r = size // 2
    p = _padded(img, r)
    rows = np.empty((img.shape[0], p.shape[1]))
    n = _count(p, size, rows)
    s1 = _box_sum_padded(p, size, rows)
    np.multiply(p, p, out=p)
    s2 = _box_sum_padded(p, size, rows)
    del p
    mean = rows[:, :img.shape[1]]                      # the scratch buffer, free again
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(s1, n, out=mean)
        s1 *= mean
        s2 -= s1
        np.maximum(s2, 0.0, out=s2)
        s2 /= n - 1
        np.copyto(s1, mean)
    mean, var = s1, s2
    if np.ndim(n):
        var[n < 2] = np.nan
    return mean, var, np.broadcast_to(n, img.shape)


def _finish(out, img):
    """The filter's own result array as float32 (converted in place of a copy when it already is), NaN where the
    input was."""
    out = out.astype(np.float32, copy=False)
    out[~np.isfinite(img)] = np.nan
    return out


def boxcar(intensity, *, size=5):
    """Boxcar (moving-average) filter: the local mean of valid pixels."""
    img = _check(intensity, size)
    return _finish(local_mean(img, size), img)


def _stats32(img, size):
    """Local mean, unbiased variance and Ci² = var/mean² as float32 (sums taken in float64)."""
    mean, var, _ = local_stats(img, size)
    mean = mean.astype(np.float32)
    var = var.astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ci2 = mean * mean
        np.divide(var, ci2, out=ci2)
    return mean, var, ci2


def _mmse(img, size, looks, weight):
    """Shared body of Lee and Kuan in OTB 8.1's form: ``out = E + w·(I − E)``.

    ``weight(ci2, cu2)`` is negative exactly where ``Ci² < Cu²``, so clipping it at 0 gives OTB's
    "mean where Ci² < Cu²" branch; ``w = 0`` where the variance or (``out = 0``) the mean is ~0.
    """
    check_looks(looks)
    cu2 = np.float32(1.0 / looks)
    mean, var, ci2 = _stats32(img, size)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        w = weight(ci2, cu2)
        np.maximum(w, 0.0, out=w)
        w[np.abs(var) < _EPS] = 0.0
        out = img - mean
        out *= w
        out += mean
    out[np.abs(mean) < _EPS] = 0.0
    return _finish(out, img)


def lee(intensity, *, size=5, looks=1.0):
    """Lee MMSE filter (Lee 1980, IEEE TPAMI 2(2):165-168, Eq. 18), in OTB 8.1's form.

    ``w = 1 − Cu²/Ci²`` with ``Ci² = var/mean²`` and ``Cu² = 1/looks``;
    ``out = I·w + mean·(1 − w)``; ``out = mean`` where ``Ci² < Cu²``.
    """
    img = _check(intensity, size)
    return _mmse(img, size, looks, lambda ci2, cu2: 1.0 - cu2 / ci2)


def kuan(intensity, *, size=5, looks=1.0):
    """Kuan filter (Kuan et al. 1985, IEEE TPAMI 7(2):165-177, Eq. 8), in OTB 8.1's form.

    ``w = (1 − Cu²/Ci²) / (1 + Cu²)``; otherwise as :func:`lee`.
    """
    img = _check(intensity, size)
    return _mmse(img, size, looks, lambda ci2, cu2: (1.0 - cu2 / ci2) / (1.0 + cu2))


def gamma_map(intensity, *, size=5, looks=1.0):
    """Gamma-MAP filter (Lopes, Touzi & Nezry 1990, IEEE TGRS 28(6):992-1000, Eq. 11), in OTB 8.1's form.

    With ``Ci² = var/mean²``, ``Cu² = 1/L`` and ``Cmax = √2·Cu``:
    ``Ci² ≤ Cu²`` → mean (at equality α is infinite and the MAP estimate's limit is the mean); ``Ci ≥ Cmax`` → the
    pixel itself; otherwise
    ``α = (1 + Cu²)/(Ci² − Cu²)``, ``b = α − L − 1``,
    ``out = (b·E + √(E²b² + 4αL·E·I)) / (2α)``.
    """
    img = _check(intensity, size)
    check_looks(looks)
    cu2 = np.float32(1.0 / looks)
    mean, var, ci2 = _stats32(img, size)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # In the MAP branch (Cu² ≤ Ci² < 2Cu²) α ≥ L + 1, so b ≥ 0: no cancellation in b·E + √d.
        # Written with 2α (one division) and in place: the fewest full-array passes.
        two_alpha = ci2 - cu2
        np.divide(np.float32(2.0 * (1.0 + cu2)), two_alpha, out=two_alpha)
        b_mean = two_alpha * np.float32(0.5)
        b_mean -= np.float32(looks + 1.0)
        b_mean *= mean                                     # b·E
        out = two_alpha * mean
        out *= img
        out *= np.float32(2.0 * looks)                     # 4αL·E·I
        out += b_mean * b_mean
        np.sqrt(out, out=out)
        out += b_mean
        out /= two_alpha
        np.copyto(out, mean, where=ci2 <= cu2)             # Ci² = Cu²: α = ∞, whose limit is the mean
        np.copyto(out, img, where=~(ci2 < 2.0 * cu2))      # Ci ≥ Cmax, and NaN Ci²: the pixel itself
        np.copyto(out, mean, where=var < _EPS)             # var ≥ 0 or NaN (local_stats)
        np.copyto(out, np.float32(0.0), where=np.abs(mean) < _EPS)
    return _finish(out, img)


def _rings(size):
    """Offsets of a size×size window grouped by distance from the centre: [(distance, kernel)]."""
    r = size // 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = yy * yy + xx * xx
    return [(float(np.sqrt(v)), (d2 == v).astype(np.float64)) for v in np.unique(d2)]


def frost(intensity, *, size=5, damping=2.0):
    """Frost filter (Frost et al. 1982, IEEE TPAMI 4(2):157-166, Eq. 17), in OTB 8.1's form.

    ``α = D·var/mean²`` (D = damping, OTB's "deramp"), weights ``exp(−α·d)`` with
    ``d`` the Euclidean pixel distance, ``out = Σ w·I / Σ w`` over valid pixels.
    Offsets are grouped by distance so each distinct distance costs one ``exp``.
    """
    img = _check(intensity, size)
    check_damping(damping)
    mean, var, _ = local_stats(img, size)
    valid = np.isfinite(img)
    x = np.where(valid, img, 0.0).astype(np.float64)
    vm = None if valid.all() else valid.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = damping * var / (mean * mean)
        num = np.zeros(img.shape)
        den = np.zeros(img.shape)
        for dist, kern in _rings(size):
            w = np.exp(-alpha * dist)
            num += w * ndimage.correlate(x, kern, mode="nearest")
            den += w * (kern.sum() if vm is None else ndimage.correlate(vm, kern, mode="nearest"))
        out = num / den
        out = np.where(np.abs(var) < _EPS, mean, out)
    out = np.where(np.abs(mean) < _EPS, 0.0, out)
    return _finish(out, img)


def _refined_geometry(size):
    """Sub-window size and stride of the 3×3 grid of sub-windows inside a size×size window.

    Lee (1981) uses 3×3 sub-windows at a stride of 2 in a 7×7 window; other sizes
    keep three sub-windows per side: stride ``max(1, (size − 1)//3)``, sub-window
    ``size − 2·stride``.
    """
    stride = max(1, (size - 1) // 3)
    return size - 2 * stride, stride


def _edge_masks(size):
    """The 8 edge-aligned windows of Lee (1981), Fig. 2: half-planes of a size×size window.

    Index ``k`` (0..7) is the half on the side of direction ``k·45°`` (0 = +x, 2 = +y
    downwards), the centre line included.
    """
    r = size // 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    masks = []
    for k in range(8):
        ang = np.deg2rad(45.0 * k)
        dx, dy = np.cos(ang), np.sin(ang)
        masks.append(((xx * dx + yy * dy) >= -1e-9).astype(np.float64))
    return masks


def refined_lee(intensity, *, size=7, looks=1.0):
    """Refined Lee filter (Lee 1981, CGIP 15:380-389) with edge-aligned windows.

    1. Means of the 3×3 grid of sub-windows (:func:`_refined_geometry`).
    2. Gradients of those means in four directions (0°, 45°, 90°, 135°); the
       largest gives the edge direction.
    3. Of the two half-windows across that edge, the one whose outer sub-window
       mean is closer to the centre sub-window mean is used (Lee 1981, Fig. 2).
    4. Lee's MMSE estimate (Lee 1981, Eq. 4 with the multiplicative model:
       ``var_x = (var_z − mean²·Cu²)/(1 + Cu²)``, ``k = var_x/var_z``) is computed
       from that half-window's statistics.
    Needs ``size >= 5``.
    """
    img = _check(intensity, size, min_size=5)
    check_looks(looks)
    cu2 = 1.0 / looks
    sub, stride = _refined_geometry(size)
    valid = np.isfinite(img)
    x = np.where(valid, img, 0.0).astype(np.float64)
    v = valid.astype(np.float64)
    sub_mean_full, _, _ = local_stats(img, sub)

    def shifted(a, dy, dx):
        # value at (y + dy, x + dx), edges replicated
        return ndimage.shift(a, (-dy, -dx), order=0, mode="nearest", prefilter=False)

    m = {(j, i): shifted(sub_mean_full, j * stride, i * stride) for j in (-1, 0, 1) for i in (-1, 0, 1)}
    # gradient magnitudes (Lee 1981, Fig. 1): horizontal, diagonal, vertical, anti-diagonal
    grads = np.stack([
        np.abs(m[(0, 1)] - m[(0, -1)]),
        np.abs(m[(1, 1)] - m[(-1, -1)]),
        np.abs(m[(1, 0)] - m[(-1, 0)]),
        np.abs(m[(1, -1)] - m[(-1, 1)]),
    ])
    grads = np.nan_to_num(grads, nan=-1.0)
    direction = np.argmax(grads, axis=0)
    c = m[(0, 0)]
    # each direction d: the pair of opposite neighbours (positive side, negative side) and mask indices
    pairs = [((0, 1), (0, -1), 0, 4), ((1, 1), (-1, -1), 1, 5), ((1, 0), (-1, 0), 2, 6), ((1, -1), (-1, 1), 3, 7)]
    choice = np.zeros(img.shape, dtype=np.int8)
    for d, (pos, neg, kpos, kneg) in enumerate(pairs):
        closer_pos = np.abs(m[pos] - c) <= np.abs(m[neg] - c)
        sel = direction == d
        choice[sel] = np.where(closer_pos[sel], kpos, kneg)
    masks = _edge_masks(size)
    mean = np.full(img.shape, np.nan)
    var = np.full(img.shape, np.nan)
    for k, mk in enumerate(masks):
        sel = choice == k
        if not sel.any():
            continue
        n = ndimage.correlate(v, mk, mode="nearest")[sel]
        s1 = ndimage.correlate(x, mk, mode="nearest")[sel]
        s2 = ndimage.correlate(x * x, mk, mode="nearest")[sel]
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = s1 / n
            mean[sel] = mu
            var[sel] = np.maximum(s2 - s1 * mu, 0.0) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_x = (var - mean * mean * cu2) / (1.0 + cu2)
        k = np.clip(var_x / var, 0.0, 1.0)
        k = np.where(var < _EPS, 0.0, k)
        out = mean + k * (img - mean)
    return _finish(out, img)


def median(intensity, *, size=5):
    """Median filter over the valid pixels of a size×size window, edges replicated."""
    img = _check(intensity, size)
    valid = np.isfinite(img)
    if valid.all():
        return ndimage.median_filter(img, size=size, mode="nearest").astype(np.float32)
    r = size // 2
    padded = np.pad(img, r, mode="edge")
    out = np.empty(img.shape, dtype=np.float32)
    rows_per_chunk = max(1, 4_000_000 // max(1, img.shape[1] * size * size))
    for y0 in range(0, img.shape[0], rows_per_chunk):
        y1 = min(img.shape[0], y0 + rows_per_chunk)
        view = sliding_window_view(padded[y0:y1 + 2 * r], (size, size))
        with warnings.catch_warnings():  # all-NaN windows warn; they are NaN pixels and stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            out[y0:y1] = np.nanmedian(view.reshape(view.shape[0], view.shape[1], -1), axis=-1)
    return _finish(out, img)


def apply(name, intensity, *, size=5, looks=1.0, damping=2.0):
    """Run filter ``name`` (one of :data:`FILTERS`) with the options it takes."""
    if name == "boxcar":
        return boxcar(intensity, size=size)
    if name == "lee":
        return lee(intensity, size=size, looks=looks)
    if name == "refinedlee":
        return refined_lee(intensity, size=size, looks=looks)
    if name == "frost":
        return frost(intensity, size=size, damping=damping)
    if name == "gammamap":
        return gamma_map(intensity, size=size, looks=looks)
    if name == "kuan":
        return kuan(intensity, size=size, looks=looks)
    if name == "median":
        return median(intensity, size=size)
    raise ValueError(f"filter must be one of {', '.join(FILTERS)}, got '{name}'")


#: Working memory of each filter in bytes per pixel (float64 temporaries), for block sizing.
WORKING_BYTES = {"refinedlee": 400, "median": 64, "frost": 200}


def working_bytes(name):
    """Bytes per pixel a filter needs while it runs (the engine's ``bytes_per_pixel``)."""
    return WORKING_BYTES.get(name, 160)


def band_kernel(name, *, size=5, looks=1.0, damping=2.0, in_db=False):
    """Block kernel for the engine: filter every band of a (bands, rows, cols) block on its own.

    With ``in_db`` the block is converted to linear power, filtered, and converted back to dB.
    ``looks``: one ENL for every band, or a sequence with one per band. Options are checked here, before any
    block is read.
    """
    if name not in FILTERS:
        raise ValueError(f"filter must be one of {', '.join(FILTERS)}, got '{name}'")
    per_band = list(looks) if isinstance(looks, (list, tuple)) else None
    for value in per_band or [looks]:
        check_looks(value)
    check_damping(damping)

    def kernel(block):
        out = np.empty(block.shape, dtype=np.float32)
        for i, band in enumerate(block):
            lin = sar.db_to_linear(band)[0] if in_db else band
            filtered = apply(name, lin, size=size, looks=per_band[i] if per_band else looks, damping=damping)
            out[i] = sar.linear_to_db(filtered)[0] if in_db else filtered
        return out
    return kernel


#: The image estimate of the ENL: side of its non-overlapping windows, the part of a band it reads (the centre,
#: at most this side), and the fewest windows it accepts.
ENL_WINDOW, ENL_SAMPLE_SIDE, ENL_MIN_WINDOWS = 9, 1024, 50
#: Filters that use the ENL.
USES_LOOKS = ("lee", "refinedlee", "gammamap", "kuan")


class EnlEstimateError(ValueError):
    """The image is too small (or too empty) for :func:`estimate_enl`: the ENL must be given."""


def estimate_enl(intensity, *, window=ENL_WINDOW):
    """The equivalent number of looks of linear intensity, estimated from its homogeneous areas.

    In each non-overlapping ``window``×``window`` block the moment estimate ``ENL = μ² / σ²`` (the
    "conventional" estimator of Anfinsen, Doulgeris & Eltoft 2009, IEEE TGRS 47(11), §III-A; Oliver & Quegan
    1998, §4.6: intensity of an L-look homogeneous area has mean² / variance = L). Texture and edges only add
    variance, so they lower a block's estimate; the homogeneous blocks form the peak of the estimates'
    distribution, which is returned (the mode of their histogram in log ENL, bins of 0.05, smoothed over 5
    bins). Blocks with a NaN or a mean ≤ 0 are left out.

    Raises :class:`EnlEstimateError` (a ``ValueError``) when fewer than :data:`ENL_MIN_WINDOWS` blocks are usable.
    """
    img = np.asarray(intensity, dtype=np.float64)
    rows, cols = (img.shape[0] // window) * window, (img.shape[1] // window) * window
    blocks = img[:rows, :cols].reshape(rows // window, window, cols // window, window).swapaxes(1, 2)
    blocks = blocks.reshape(-1, window * window)
    mean = blocks.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        enl = mean ** 2 / blocks.var(axis=1, ddof=1)
    enl = enl[np.isfinite(enl) & (mean > 0) & (enl > 0)]
    if enl.size < ENL_MIN_WINDOWS:
        raise EnlEstimateError(f"too few usable {window}×{window} windows ({enl.size}, at least {ENL_MIN_WINDOWS}) "
                               f"in {img.shape[1]}×{img.shape[0]} px to estimate the equivalent number of looks "
                               "(ENL) from the image")
    logs = np.log(enl)
    edges = np.arange(logs.min(), logs.max() + 0.1, 0.05)
    counts = np.convolve(np.histogram(logs, bins=edges)[0], np.ones(5) / 5, mode="same")
    k = int(np.argmax(counts))
    return float(np.exp(0.5 * (edges[k] + edges[k + 1])))


def band_looks(src: str, *, in_db: bool = False) -> list:
    """The ENL of every band of ``src`` and where it comes from: ``[(enl, source), …]``.

    The band's ``ENL`` metadata, else the file's (the Sentinel-1 import writes the product's, from ESA's
    product specification), else :func:`estimate_enl` on the centre of the band (at most
    :data:`ENL_SAMPLE_SIDE` pixels a side, converted from dB with ``in_db``).
    """
    ds = _raster.open_dataset(src)
    file_enl, file_source = ds.GetMetadataItem("ENL"), ds.GetMetadataItem("ENL_SOURCE")
    w, h = min(ds.RasterXSize, ENL_SAMPLE_SIDE), min(ds.RasterYSize, ENL_SAMPLE_SIDE)
    x0, y0 = (ds.RasterXSize - w) // 2, (ds.RasterYSize - h) // 2
    found = []
    for b in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(b)
        band_enl = band.GetMetadataItem("ENL")
        meta_enl = band_enl or file_enl
        meta_source = band.GetMetadataItem("ENL_SOURCE") or (None if band_enl else file_source)
        try:
            value = float(meta_enl) if meta_enl else None
        except ValueError:
            value = None
        if value is not None and np.isfinite(value) and value > 0:
            found.append((value, f"the input's metadata ({meta_source or 'ENL'})"))
            continue
        block = _raster.read_window(ds, [b], x0, y0, w, h)[0]
        lin = sar.db_to_linear(block)[0] if in_db else block
        try:
            found.append((round(estimate_enl(lin), 2), f"estimated from the image (homogeneous {ENL_WINDOW}×"
                                                       f"{ENL_WINDOW} windows of its central {w}×{h} px)"))
        except EnlEstimateError as err:
            raise EnlEstimateError(f"band {b}: {err}") from None
    return found


#: Removes the ENL an output would inherit from its input (the engine's metadata travel: a None key is removed).
NO_ENL = {"ENL": None, "ENL_SOURCE": None}


def _filtered_metadata(filter_text, used):
    """A filtered output's file metadata: what filtered it, and no ``ENL``: the input's (the product's) no longer
    holds, so a later filter must not read it."""
    looks = ", ".join(f"{v:g}" for v, _ in used)
    return {**NO_ENL, "DESPECKLE": filter_text + (f", ENL {looks}" if looks else "")}


def despeckle_file(src: str, output: str, *, filter: str = "gammamap", size: int = 5, looks: float | None = 1.0,
                   damping: float = 2.0, in_db: bool = False, options: RunOptions | None = None) -> dict:
    """Filter every band of raster ``src`` with speckle filter ``filter`` and write ``output``, block by block.

    The job of ``sarsense:despeckle``: :func:`band_kernel` through the block engine with a halo of
    ``size // 2`` (so the block-wise result equals :func:`apply` on the whole band), blocks sized by
    :func:`working_bytes`.

    Parameters
    ----------
    src, output : str
        Input raster (linear power, or dB with ``in_db``) and the float32 GeoTIFF to write (NaN nodata,
        the input's units, grid and band descriptions).
    filter : str
        One of :data:`FILTERS`; ``size``, ``looks`` and ``damping`` as :func:`apply` takes them.
    looks : float or None
        The ENL; None (or 0) takes each band's from the input (:func:`band_looks`: its metadata, else an
        estimate from the image), for the filters that use it (:data:`USES_LOOKS`).
    in_db : bool
        The input is dB: each block is converted to linear power, filtered and converted back.
    options : RunOptions, optional
        Budget, workers, compression, progress and cancel of the run.

    Returns
    -------
    dict
        ``{"infinite": n, "looks": [(enl, source), …]}``: the filtered values that came out ±inf, written as
        NaN, and the ENL each band was filtered with and where it came from (empty for the filters that use none).

    Raises
    ------
    ValueError
        An unknown filter, or looks or damping out of range (before anything is written).
    """
    if filter in USES_LOOKS and not looks:
        used = band_looks(src, in_db=in_db)
    elif filter in USES_LOOKS:
        used = [(float(looks), "given")] * _raster.read_info(src).band_count
    else:
        used = []
    kernel = band_kernel(filter, size=size, looks=[v for v, _ in used] if used else (looks or 1.0), damping=damping,
                         in_db=in_db)
    res = _engine.run_blockwise(src, output, kernel, halo=size // 2, bytes_per_pixel=working_bytes(filter),
                                metadata=_filtered_metadata(f"{filter} {size}×{size}", used), band_metadata=NO_ENL,
                                options=options)
    return {"infinite": res["infinite"], "looks": used}


#: Bytes per pixel and date the block engine plans for the multi-temporal filter: the block read and
#: written (float32), the float64 local means of every date, and the ratio sums (measured through
#: qgis_process at 8192² × 3 dates: 48 gave 110 and 133 MiB above start-up in two runs, 96 gave 110 in one).
QUEGAN_BYTES = 96


def quegan_yu(stack, *, size=7):
    """Multi-temporal speckle filter (Quegan & Yu 2001, IEEE TGRS 39(11):2373-2379).

    For date ``k`` of N co-registered intensity images ``I_i``:
    ``J_k = E[I_k]/N · Σ_i I_i / E[I_i]`` with ``E[·]`` the local mean over a
    size×size window. NaN dates are left out of the sum at that pixel (N counts
    the valid dates); a pixel that is NaN on date k stays NaN on date k. Where a
    date's local mean is 0 (no power around the pixel) the result is 0 on that
    date, as the single-image filters give, and that date's ratio (0/0) is left
    out of the sum.

    Parameters
    ----------
    stack : ndarray (dates, rows, cols)
        Linear intensity, one band per date.
    """
    arr = np.asarray(stack, dtype=np.float32)
    if arr.ndim != 3:
        raise ValueError(f"expected a (dates, rows, cols) stack, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"the multi-temporal filter needs at least 2 dates, got {arr.shape[0]}")
    _check(arr[0], size)
    means = np.empty(arr.shape, dtype=np.float64)
    ratio_sum = np.zeros(arr.shape[1:])
    count = np.zeros(arr.shape[1:], dtype=np.uint16)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(arr.shape[0]):
            means[i] = local_mean(arr[i], size)
            r = arr[i] / means[i]
            ok = np.isfinite(r)
            np.add(ratio_sum, r, out=ratio_sum, where=ok)
            count += ok
        ratio_sum /= count                              # the temporal mean of the ratios
        out = np.empty(arr.shape, dtype=np.float32)
        for k in range(arr.shape[0]):
            est = means[k] * ratio_sum
            est[np.abs(means[k]) < _EPS] = 0.0
            out[k] = _finish(est, arr[k])
    return out


def check_stack(src: str) -> int:
    """The band count (dates) of raster ``src``; ``ValueError`` when it has a single band, which the
    multi-temporal filter cannot use, or is no time series (:func:`~sarsense.algorithms.io.stack.check_series`:
    VV, VH and incidence angle of one import are not three dates)."""
    n = _raster.read_info(src).band_count
    if n < 2:
        raise ValueError("the input has a single band (one date); the multi-temporal filter needs at least 2 "
                         "dates. Build a stack with 'Build dated stack', or use 'Despeckle SAR image'.")
    _stack.check_series(src, label="the input", dated=False)
    return n


def _quegan_kernel(size, in_db):
    def kernel(block):
        lin = sar.db_to_linear(block)[0] if in_db else block
        res = quegan_yu(lin, size=size)
        return sar.linear_to_db(res)[0] if in_db else res
    return kernel


def multitemporal_despeckle_file(src: str, output: str, *, size: int = 7, in_db: bool = False,
                                 options: RunOptions | None = None) -> dict:
    """Quegan & Yu (2001) multi-temporal filter (:func:`quegan_yu`) of the dated stack ``src``, written to
    ``output`` block by block.

    The job of ``sarsense:multitemporaldespeckle``: a halo of ``size // 2`` makes the block-wise result
    equal to :func:`quegan_yu` on the whole stack. With ``in_db`` the stack is dB: converted to linear power,
    filtered and converted back. Band descriptions (dates) are kept.

    Returns
    -------
    dict
        ``{"infinite": n}``: ±inf results written as NaN.

    Raises
    ------
    ValueError
        A single-band input (:func:`check_stack`), or a bad window size.
    """
    check_stack(src)
    _check(np.zeros((1, 1), np.float32), size)
    res = _engine.run_blockwise(src, output, _quegan_kernel(size, in_db), halo=size // 2,
                                bytes_per_pixel=QUEGAN_BYTES,
                                metadata=_filtered_metadata(f"quegan-yu {size}×{size}", []), band_metadata=NO_ENL,
                                options=options)
    return {"infinite": res["infinite"]}
