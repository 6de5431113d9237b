"""Normalised difference vegetation index."""

from __future__ import annotations

import numpy as np

#: NDVI range the change-detection paper keeps (Fayad et al. 2022 §2.1.4): below it water and
#: built-up surfaces, above it dense forest.
VALID_RANGE = (0.15, 0.8)


def ndvi(red, nir, *, scale=1.0, offset=0.0, mask_outside=True, valid_range=VALID_RANGE):
    """NDVI = (R_NIR − R_red) / (R_NIR + R_red) (Fayad et al. 2022, eq. 1).

    ``red`` and ``nir`` are digital numbers or reflectances; reflectance = DN·scale + offset
    (e.g. Sentinel-2 L2A: scale 1e-4 with offset −0.1 from processing baseline 04.00; Landsat
    Collection 2 Level 2: scale 2.75e-5, offset −0.2). A multiplicative scale alone leaves NDVI
    unchanged; the offset does not. Where either reflectance is NaN or not positive, or
    the sum is 0, NDVI is NaN; with ``mask_outside`` values outside ``valid_range`` are NaN too.

    Returns float32 NDVI with the shape of the inputs.
    """
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"the reflectance scale factor must be a positive number, got {scale!r}")
    lo, hi = valid_range
    if not -1.0 <= lo < hi <= 1.0:
        raise ValueError(f"the NDVI validity range must satisfy -1 <= low < high <= 1, got {valid_range}")
    r = np.asarray(red, dtype=np.float64) * scale + offset
    n = np.asarray(nir, dtype=np.float64) * scale + offset
    if r.shape != n.shape:
        raise ValueError(f"red and near-infrared have different shapes {r.shape} and {n.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (n - r) / (n + r)
        out[(r <= 0) | (n <= 0)] = np.nan
        if mask_outside:
            out[(out < lo) | (out > hi)] = np.nan
    return out.astype(np.float32)
