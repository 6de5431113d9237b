"""NDVI-based LST sharpening: TsHARP and ATPRK, coherent with Norm-L4.

Both model the fine LST as a trend from NDVI plus a residual (Nguyen et al. 2022, §III.A):

- **Trend** (Agam et al. 2007, RSE 107, eq. 1–2 of TsHARP, with NDVI itself as the predictor):
  the linear regression T_c = a + b·NDVI_c fitted by least squares on the coarse pixels, NDVI_c
  being the mean of the fine NDVI inside each coarse pixel; applied at the fine scale,
  t_f = a + b·NDVI_f.
- **Residual**. Agam et al. add the coarse residual ΔT_c = T_c − t_c to every fine pixel (eq. 4).
  Here the residual is taken in the radiance domain, where a sensor pixel averages (Stefan–Boltzmann,
  the Norm-L4 model of :func:`temperature.norm_l4`): R_c = T_c⁴ − mean_{f∈c}(t_f⁴), and
  T_f = (t_f⁴ + r_f)^(1/4). Then the fine result, Norm-L4-aggregated, is the input exactly
  (mean T_f⁴ = mean t_f⁴ + mean r_f = T_c⁴ whenever mean_{f∈c} r_f = R_c). For the few-kelvin
  residuals of LST the two residual forms differ by well under 0.1 K.
- **TsHARP**: r_f = R_c for every fine pixel of coarse pixel c.
- **ATPRK** (Wang, Shi & Atkinson 2016, ISPRS J. 114, eq. 1–8; after Kyriakidis 2004): r_f is the
  area-to-point kriging (ATPK) prediction of the residual at the fine pixel from the coarse
  residuals of a (2w+1)×(2w+1) window around it: r_f = Σ_i λ_i R_i (eq. 3), with ordinary kriging
  weights from Σ_j λ_j C_AA(V_i, V_j) + μ = C_AP(V_i, x), Σ λ_j = 1 (eq. 4), where C_AA is the
  block-to-block covariance (eq. 6) and C_AP the block-to-point covariance (eq. 5), both averages
  of the point covariance C_P over the fine pixels of the blocks (the PSF of a coarse pixel being
  its s×s fine pixels, averaged). C_P is found by deconvolution (eq. 7–8): an exponential point
  model c·exp(−h/a) whose regularised semivariogram γ_R(h) = C_AA(V, V) − C_AA(V, V_h) fits the
  experimental semivariogram of the coarse residuals (least squares over lags 1…L). Because the
  block-to-point covariances of the fine pixels of V_0 average to the block-to-block column of V_0,
  their kriging weights average to 1 on V_0 and 0 elsewhere: the residuals are reproduced exactly
  (ATPK's coherence, Kyriakidis 2004), hence the Norm-L4 coherence above.

The residuals are kriged scaled to kelvin-like units, ρ = R/(4·T_ref³) (T_ref the mean coarse LST),
which changes nothing in the weights and keeps the semivariogram fit well conditioned. Coarse
pixels next to NaN (clouds, image edge) are kriged from the valid pixels of their window only
(one system per pattern of missing neighbours).
"""

from __future__ import annotations

import math

import numpy as np

#: ATPK window half-width w in coarse pixels: a 5×5 window, as Wang et al. (2016) use.
ATPK_HALF_WINDOW = 2
#: Lags (coarse pixels) of the experimental semivariogram the point model is fitted to.
VARIOGRAM_LAGS = 8


# --------------------------------------------------------------------------------------------
# Trend and residuals
# --------------------------------------------------------------------------------------------
def ndvi_moments(ndvi, factor):
    """(5, rows//f, cols//f) float64: per coarse pixel, the count of valid fine NDVI and their mean n, n², n³, n⁴."""
    f = int(factor)
    v = np.asarray(ndvi, np.float64)
    r, c = v.shape[-2] // f, v.shape[-1] // f
    v = v[..., :r * f, :c * f].reshape(r, f, c, f)
    ok = np.isfinite(v)
    n = ok.sum(axis=(1, 3)).astype(np.float64)
    v0 = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = [np.where(n > 0, (v0 ** k).sum(axis=(1, 3)) / n, np.nan) for k in range(1, 5)]
    return np.stack([n] + means)


def fit_trend(lst_coarse, ndvi_coarse):
    """Least-squares T = a + b·NDVI over coarse pixels where both are valid: {a, b, r, n} (Agam et al. 2007, eq. 2)."""
    t = np.asarray(lst_coarse, np.float64).ravel()
    v = np.asarray(ndvi_coarse, np.float64).ravel()
    ok = np.isfinite(t) & np.isfinite(v)
    n = int(ok.sum())
    if n < 3:
        raise ValueError(f"only {n} coarse pixels have both LST and NDVI: at least 3 are needed for the "
                         "LST–NDVI regression. Give an NDVI with valid values where the LST has them, a larger or "
                         "less cloudy area, or choose bicubic, which needs no NDVI")
    t, v = t[ok], v[ok]
    vm, tm = v.mean(), t.mean()
    sxx = ((v - vm) ** 2).sum()
    if sxx <= 1e-12:
        raise ValueError(f"the NDVI is constant ({vm:.3g}) over the {n} valid coarse pixels: the LST–NDVI "
                         "regression has no slope. Give the NDVI of the LST's scene (one with vegetation contrast), "
                         "or choose bicubic, which needs no NDVI")
    b = ((v - vm) * (t - tm)).sum() / sxx
    a = tm - b * vm
    syy = ((t - tm) ** 2).sum()
    r = float(b * math.sqrt(sxx / syy)) if syy > 0 else float("nan")
    return {"a": float(a), "b": float(b), "r": r, "n": n}


def mean_trend4(moments, a, b):
    """Mean over each coarse pixel of t_f⁴ = (a + b·n)⁴, from the NDVI moments (binomial expansion)."""
    m = [np.ones_like(moments[1])] + [moments[k] for k in range(1, 5)]
    return sum(math.comb(4, k) * a ** (4 - k) * b ** k * m[k] for k in range(5))


def coarse_residuals(lst_coarse, moments, a, b, t_ref):
    """ρ_c = (T_c⁴ − mean t_f⁴) / (4·T_ref³): the coarse residual in the radiance domain, in K-like units."""
    t = np.asarray(lst_coarse, np.float64)
    return (t ** 4 - mean_trend4(moments, a, b)) / (4.0 * t_ref ** 3)


def fine_lst(ndvi_fine, rho_fine, a, b, t_ref):
    """T_f = ((a + b·NDVI_f)⁴ + 4·T_ref³·ρ_f)^(1/4), float32, NaN where either input is NaN."""
    trend = a + b * np.asarray(ndvi_fine, np.float64)
    u = trend ** 4 + 4.0 * t_ref ** 3 * np.asarray(rho_fine, np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(u > 0, np.power(np.abs(u), 0.25), np.nan).astype(np.float32)


def repeat_coarse(coarse, factor):
    """Each coarse pixel repeated factor×factor (TsHARP's fine residual)."""
    return np.repeat(np.repeat(np.asarray(coarse), factor, axis=-2), factor, axis=-1)


# --------------------------------------------------------------------------------------------
# Area-to-point kriging
# --------------------------------------------------------------------------------------------
def _pair_offsets(scale):
    """Offsets d = j − i between the fine pixels of two blocks along one axis, and how often each occurs."""
    d = np.arange(-(scale - 1), scale)
    return d, (scale - np.abs(d)).astype(np.float64)


def experimental_semivariogram(rho, lags=VARIOGRAM_LAGS):
    """γ(k) = ½·mean (ρ(x) − ρ(x + h))² over valid pairs at h = (k, 0) and (0, k), k = 1…lags; and the pair counts."""
    rho = np.asarray(rho, np.float64)
    gam, cnt = [], []
    for k in range(1, lags + 1):
        d1 = rho[k:, :] - rho[:-k, :] if k < rho.shape[0] else np.empty(0)
        d2 = rho[:, k:] - rho[:, :-k] if k < rho.shape[1] else np.empty(0)
        d = np.concatenate([np.ravel(d1), np.ravel(d2)])
        d = d[np.isfinite(d)]
        gam.append(0.5 * float(np.mean(d * d)) if d.size else np.nan)
        cnt.append(d.size)
    return np.arange(1, lags + 1), np.array(gam), np.array(cnt)


class ATPK:
    """Area-to-point kriging of coarse residuals onto a grid ``scale`` times finer (Wang et al. 2016, eq. 3–8).

    :meth:`fit` deconvolves the exponential point covariance from the coarse residuals;
    :meth:`downscale` predicts every fine pixel of a coarse array (with its halo of
    ``half_window`` coarse pixels on each side, NaN outside the image).
    """

    def __init__(self, scale, *, half_window=ATPK_HALF_WINDOW):
        self.scale, self.w = int(scale), int(half_window)
        self.sill = self.range_ = None
        self._cache = {}

    # point and block covariances, distances in fine pixels
    def point_cov(self, h):
        return self.sill * np.exp(-np.asarray(h, np.float64) / self.range_)

    def block_block(self, dy, dx, sill=None, range_=None):
        """C_AA between block (0, 0) and block (dy, dx) (eq. 6): the mean of C_P over their fine pixel pairs."""
        s = self.scale
        d, wgt = _pair_offsets(s)
        hy = (dy * s + d)[:, None]
        hx = (dx * s + d)[None, :]
        c = (sill or self.sill) * np.exp(-np.hypot(hy, hx) / (range_ or self.range_))
        return float((wgt[:, None] * wgt[None, :] * c).sum() / s ** 4)

    def regularised_semivariogram(self, lags, sill, range_):
        """γ_R(k) = C_AA(V, V) − C_AA(V, V_k), k along one axis (eq. 7)."""
        c0 = self.block_block(0, 0, sill, range_)
        return np.array([c0 - self.block_block(int(k), 0, sill, range_) for k in lags])

    def fit(self, rho_coarse):
        """Fit the point covariance to the coarse residuals' semivariogram; returns {sill, range_px, lags, gamma}."""
        from scipy.optimize import least_squares

        lags, gam, cnt = experimental_semivariogram(rho_coarse)
        ok = np.isfinite(gam) & (cnt > 0)
        if ok.sum() < 2 or not np.any(gam[ok] > 0):
            raise ValueError("the coarse residuals have too few valid neighbouring pixels (or no variance) to fit "
                             "a semivariogram for ATPRK; use TsHARP, or a larger, less cloudy area")
        lags, gam, wts = lags[ok], gam[ok], np.sqrt(cnt[ok] / cnt[ok].max())
        s = self.scale

        def resid(p):
            return wts * (self.regularised_semivariogram(lags, math.exp(p[0]), math.exp(p[1])) - gam) / gam.max()

        start = [math.log(max(gam.max(), 1e-12) * 1.2),
                 math.log(s * max(1.0, lags[np.argmax(gam >= 0.63 * gam.max())]))]
        fit = least_squares(resid, start, bounds=([start[0] - 12, math.log(0.1)], [start[0] + 6, math.log(s * 1e3)]))
        self.sill, self.range_ = math.exp(fit.x[0]), math.exp(fit.x[1])
        self._cache = {}
        return {"sill": self.sill, "range_px": self.range_, "lags": lags.tolist(), "gamma": gam.tolist(),
                "fitted": self.regularised_semivariogram(lags, self.sill, self.range_).tolist()}

    def _offsets(self):
        w = self.w
        return [(dy, dx) for dy in range(-w, w + 1) for dx in range(-w, w + 1)]

    def _tables(self):
        """C_AA for every block offset within the window's reach and C_AP of every window block (once per fit)."""
        if "tables" not in self._cache:
            s, w = self.scale, self.w
            offs = self._offsets()
            bb = {(dy, dx): self.block_block(dy, dx)
                  for dy in range(-2 * w, 2 * w + 1) for dx in range(-2 * w, 2 * w + 1)}
            aa = np.array([[bb[(y2 - y1, x2 - x1)] for (y2, x2) in offs] for (y1, x1) in offs])
            # block-to-point covariances (eq. 5): fine pixel (p, q) of block (0, 0) against each window block
            fine = np.arange(s)
            ap = np.empty((len(offs), s * s))
            for i, (by, bx) in enumerate(offs):
                hy = (by * s + fine)[:, None, None, None] - fine[None, None, :, None]
                hx = (bx * s + fine)[None, :, None, None] - fine[None, None, None, :]
                ap[i] = self.point_cov(np.hypot(hy, hx)).mean(axis=(0, 1)).ravel()
            self._cache["tables"] = (aa, ap)
        return self._cache["tables"]

    def weights(self, valid=None):
        """(scale², K) ordinary-kriging weights (eq. 4) of the K window blocks (``valid`` selects them) per
        sub-pixel."""
        key = b"all" if valid is None else np.packbits(valid).tobytes()
        if key in self._cache:
            return self._cache[key]
        aa, ap = self._tables()
        sel = np.arange(len(aa)) if valid is None else np.flatnonzero(valid)
        k = len(sel)
        a = np.ones((k + 1, k + 1))
        a[:k, :k] = aa[np.ix_(sel, sel)]
        a[k, k] = 0.0
        rhs = np.ones((k + 1, ap.shape[1]))
        rhs[:k] = ap[sel]
        lam = np.linalg.solve(a, rhs)[:k].T               # (s², k)
        full = np.zeros((ap.shape[1], len(aa)))
        full[:, sel] = lam
        self._cache[key] = full
        return full

    def downscale(self, rho):
        """Fine residuals (rows−2w)·s × (cols−2w)·s for the core of ``rho`` (coarse, with a w-pixel halo, NaN outside).

        Fine pixels of a NaN coarse pixel are NaN. float64.
        """
        if self.sill is None:
            raise RuntimeError("fit() the semivariogram first")
        w, s = self.w, self.scale
        rho = np.asarray(rho, np.float64)
        rows, cols = rho.shape[0] - 2 * w, rho.shape[1] - 2 * w
        offs = self._offsets()
        stack = np.stack([rho[w + dy:w + dy + rows, w + dx:w + dx + cols] for dy, dx in offs])   # (K, rows, cols)
        valid = np.isfinite(stack)
        out = np.full((s * s, rows, cols), np.nan)
        centre = valid[len(offs) // 2]
        complete = valid.all(axis=0)
        if complete.any():
            lam = self.weights()
            out[:, complete] = lam @ stack[:, complete]
        partial = centre & ~complete
        if partial.any():
            idx = np.flatnonzero(partial.ravel())
            masks = valid.reshape(len(offs), -1)[:, idx].T
            flat = stack.reshape(len(offs), -1)[:, idx]
            res = out.reshape(s * s, -1)
            for j, i in enumerate(idx):
                lam = self.weights(masks[j])
                res[:, i] = lam @ np.where(masks[j], flat[:, j], 0.0)
        # (s·s, rows, cols) → (rows·s, cols·s)
        return out.reshape(s, s, rows, cols).transpose(2, 0, 3, 1).reshape(rows * s, cols * s)
