"""Image-quality figures of an LST estimate against a reference, over valid pixels only.

Nguyen et al. (2022), §IV.A:

- RMSE, the root of eq. 1's mean squared error; bias = mean(estimate − reference);
- PSNR = 20·log10(DR / RMSE) (eq. 2), DR = max − min of the reference (its dynamic range);
- SSIM, eq. 3, computed once over the whole image ("global"):
  ((2·μr·μe + c1)(2·σre + c2)) / ((μr² + μe² + c1)(σr² + σe² + c2)), c1 = (0.01·DR)², c2 = (0.03·DR)²,
  with σr², σe² the variances and σre the covariance (population moments). The paper's text calls
  σ "the variance"; eq. 3 is Wang et al.'s SSIM, whose σ² are variances, and that is what is
  computed here.

The standard, windowed SSIM (Wang, Bovik, Sheikh & Simoncelli 2004, IEEE TIP 13(4), eq. 13 and
§III.C) is the mean of eq. 3 evaluated with Gaussian-weighted local moments (σ = 1.5 px, a 7×7
window here, normalised) at every pixel whose whole window is valid; c1, c2 as above. With
``window=7, sigma=1.5, truncate=None`` it is that; scikit-image's ``structural_similarity``
(``gaussian_weights=True, use_sample_covariance=False``) is the same formula with an 11×11 window
(its ``truncate`` 3.5), which the tests reproduce with ``window=11``.
"""

from __future__ import annotations

import math

import numpy as np

K1, K2 = 0.01, 0.03
SSIM_WINDOW, SSIM_SIGMA = 7, 1.5
SSIM_WINDOWED_TEXT = f"{SSIM_WINDOW}×{SSIM_WINDOW} Gaussian, σ {SSIM_SIGMA}"


class Moments:
    """Running sums over valid pixel pairs: N, Σr, Σe, Σr², Σe², Σre, min/max of r (float64).

    Several blocks' moments add up (:meth:`add`), so whole-image figures come from one block-wise pass.
    """

    def __init__(self):
        self.n = 0
        self.s = np.zeros(5)               # Σr, Σe, Σr², Σe², Σre
        self.lo, self.hi = math.inf, -math.inf

    def update(self, reference, estimate):
        r = np.asarray(reference, np.float64).ravel()
        e = np.asarray(estimate, np.float64).ravel()
        ok = np.isfinite(r) & np.isfinite(e)
        r, e = r[ok], e[ok]
        if r.size:
            self.n += r.size
            self.s += (r.sum(), e.sum(), (r * r).sum(), (e * e).sum(), (r * e).sum())
            self.lo, self.hi = min(self.lo, float(r.min())), max(self.hi, float(r.max()))
        return self

    def add(self, other):
        self.n += other.n
        self.s += other.s
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        return self

    def figures(self):
        """{n, rmse, bias, psnr, ssim, dynamic_range}; NaN where undefined (no pixels, zero error → PSNR inf)."""
        nan = float("nan")
        if self.n == 0:
            return {"n": 0, "rmse": nan, "bias": nan, "psnr": nan, "ssim": nan, "dynamic_range": nan}
        n = self.n
        mr, me = self.s[0] / n, self.s[1] / n
        vr = max(0.0, self.s[2] / n - mr * mr)
        ve = max(0.0, self.s[3] / n - me * me)
        cov = self.s[4] / n - mr * me
        mse = max(0.0, vr + ve - 2 * cov + (me - mr) ** 2)
        dr = self.hi - self.lo
        return {"n": n, "rmse": math.sqrt(mse), "bias": me - mr, "psnr": psnr(dr, mse),
                "ssim": ssim_from_moments(mr, me, vr, ve, cov, dr), "dynamic_range": dr}


def psnr(dynamic_range, mse):
    """Eq. 2: 20·log10(DR/√MSE); +inf for a perfect estimate, NaN when DR is 0."""
    if dynamic_range <= 0:
        return float("nan")
    if mse <= 0:
        return float("inf")
    return 20.0 * math.log10(dynamic_range / math.sqrt(mse))


def ssim_from_moments(mr, me, vr, ve, cov, dynamic_range):
    """Eq. 3 from means, variances and covariance, c1 = (0.01·DR)², c2 = (0.03·DR)²."""
    c1, c2 = (K1 * dynamic_range) ** 2, (K2 * dynamic_range) ** 2
    den = (mr * mr + me * me + c1) * (vr + ve + c2)
    return float("nan") if den == 0 else (2 * mr * me + c1) * (2 * cov + c2) / den


def figures(reference, estimate):
    """Whole-array figures of :class:`Moments` for two same-shape arrays (NaN pixels left out)."""
    return Moments().update(reference, estimate).figures()


def gaussian_window(window=SSIM_WINDOW, sigma=SSIM_SIGMA):
    """Normalised 1-D Gaussian weights of ``window`` taps (odd)."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the SSIM window must be an odd number of pixels, got {window}")
    r = window // 2
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return g / g.sum()


def _filter(a, g):
    """Separable 'valid' weighted sums of ``a`` with the 1-D weights ``g`` along both axes (float64)."""
    k = len(g)
    rows = sum(g[i] * a[i:a.shape[0] - k + 1 + i] for i in range(k))
    return sum(g[j] * rows[:, j:rows.shape[1] - k + 1 + j] for j in range(k))


def ssim_map_sums(reference, estimate, dynamic_range, *, window=SSIM_WINDOW, sigma=SSIM_SIGMA,
                  uniform=False):
    """(Σ SSIM, count) over the window centres of ``reference``/``estimate`` whose window is all valid.

    The arrays may carry a halo: only centres at least ``window // 2`` from the array edge are
    evaluated, so blocks overlapping by that halo give the whole-image sums. ``uniform`` uses equal
    weights (scikit-image's default) instead of the Gaussian.
    """
    r = np.asarray(reference, np.float64)
    e = np.asarray(estimate, np.float64)
    if r.shape[0] < window or r.shape[1] < window:
        return 0.0, 0
    ok = np.isfinite(r) & np.isfinite(e)
    g = np.full(window, 1.0 / window) if uniform else gaussian_window(window, sigma)
    r0, e0 = np.where(ok, r, 0.0), np.where(ok, e, 0.0)
    full = _filter(ok.astype(np.float64), np.ones(window)) >= window * window - 0.5
    if not full.any():
        return 0.0, 0
    mr, me = _filter(r0, g), _filter(e0, g)
    vr = _filter(r0 * r0, g) - mr * mr
    ve = _filter(e0 * e0, g) - me * me
    cov = _filter(r0 * e0, g) - mr * me
    c1, c2 = (K1 * dynamic_range) ** 2, (K2 * dynamic_range) ** 2
    s = ((2 * mr * me + c1) * (2 * cov + c2)) / ((mr * mr + me * me + c1) * (vr + ve + c2))
    return float(s[full].sum()), int(full.sum())


def ssim_windowed(reference, estimate, dynamic_range=None, **kw):
    """Mean windowed SSIM (Wang et al. 2004) of two arrays; DR defaults to the reference's valid range."""
    if dynamic_range is None:
        dynamic_range = figures(reference, estimate)["dynamic_range"]
    total, count = ssim_map_sums(reference, estimate, dynamic_range, **kw)
    return total / count if count else float("nan")
