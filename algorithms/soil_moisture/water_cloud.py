"""Water Cloud Model: vegetation and soil contributions to σ° (Sadeghi et al., "004", eq. 1, 4-6).

Reading of τ: the paper writes σ° = τ·σ°_s + σ°_dv + σ°_int (eq. 4) but defines τ² as the
transmitted portion (eq. 5). We follow the Water Cloud Model as published by Attema & Ulaby (1978,
Radio Science 13(2):357-364), where the soil term is attenuated twice, on the way in and out:
σ° = σ°_veg + τ²·σ°_soil, σ°_int neglected. The one-way reading (σ°_soil = (σ° − σ°_veg)/τ) would
give soil terms smaller by the factor τ (``10·log10 τ = −(10/ln 10)·B·LAI·sec θ`` dB); the README
gives what that means on the bundled data.
"""

from __future__ import annotations

import numpy as np

#: Defaults that reproduce 004's eq. 5-6 as printed (no A, B coefficients there, i.e. 1).
DEFAULT_A, DEFAULT_B = 1.0, 1.0


def lai_from_ndvi(ndvi):
    """Leaf area index from NDVI (004 eq. 1): ``LAI = 0.57·exp(2.33·NDVI)``."""
    return 0.57 * np.exp(2.33 * np.asarray(ndvi, dtype=np.float64))


def _canopy(ndvi, incidence_deg, a, b):
    """``(τ², σ°_veg)`` of the canopy (004 eq. 1, 5, 6), float64; ``a`` and ``b`` numbers or per-pixel arrays."""
    for name, v in (("A", a), ("B", b)):
        if not (np.all(np.isfinite(v)) and np.all(np.asarray(v) >= 0)):
            raise ValueError(f"the Water Cloud Model parameter {name} must be a number >= 0, got {v!r}")
    lai = lai_from_ndvi(ndvi)
    cos_t = np.cos(np.radians(np.asarray(incidence_deg, dtype=np.float64)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tau2 = np.exp(-2.0 * b * lai / cos_t)
        veg = a * lai * cos_t * (1.0 - tau2)
    return tau2, veg


def water_cloud(sigma_lin, ndvi, incidence_deg, *, a=DEFAULT_A, b=DEFAULT_B):
    """Soil and vegetation backscatter in linear power.

    - ``LAI = 0.57·exp(2.33·NDVI)`` (004 eq. 1);
    - ``τ² = exp(−2·B·LAI·sec θ)`` (eq. 5);
    - ``σ°_veg = A·LAI·cos θ·(1 − τ²)`` (eq. 6);
    - ``σ°_soil = (σ° − σ°_veg)/τ²`` (eq. 4 with the two-way τ², see the module note).

    Where σ° ≤ σ°_veg (the vegetation alone explains the signal) σ°_soil is NaN.
    Returns ``(soil, veg, n_nonpositive)``; float32, inputs broadcast.
    """
    tau2, veg = _canopy(ndvi, incidence_deg, a, b)
    sigma = np.asarray(sigma_lin, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        soil = (sigma - veg) / tau2
    none_left = sigma <= veg
    soil = np.where(none_left, np.nan, soil)
    return soil.astype(np.float32), veg.astype(np.float32), int(none_left.sum())


def backscatter(soil_lin, ndvi, incidence_deg, *, a=DEFAULT_A, b=DEFAULT_B):
    """The forward Water Cloud Model, the inverse of :func:`water_cloud`: ``σ° = σ°_veg + τ²·σ°_soil``
    (Attema & Ulaby 1978; 004 eq. 4-6 with the two-way τ²), linear power, float64, inputs broadcast."""
    tau2, veg = _canopy(ndvi, incidence_deg, a, b)
    return veg + tau2 * np.asarray(soil_lin, dtype=np.float64)
