"""Accuracy of a class map and the area of each class with its confidence interval.

- Confusion matrix, overall accuracy, Cohen's kappa, producer's and user's accuracy and F1 from
  sample counts: the definitions every suite shares, in :mod:`algorithms.metrics` (Congalton &
  Green, *Assessing the Accuracy of Remotely Sensed Data*, 2nd ed., ch. 5; the paper's table 4
  reports OA, kappa, PA and UA).
- Area by the stratified estimator of Olofsson et al. (2014), *Remote Sens. Environ.* 148:42-57,
  with the map classes as strata: ``W_i`` the mapped share of class ``i``, ``n_ij`` the sample
  counts (row = map class, column = reference class), ``p̂_ij = W_i n_ij / n_i·`` (eq. 4);
  area share ``p̂_·k = Σ_i p̂_ik`` (eq. 9) with standard error
  ``S(p̂_·k) = √(Σ_i W_i² (n_ik/n_i·)(1 − n_ik/n_i·)/(n_i· − 1))`` (eq. 10); the 95 % interval is
  ``±1.96 S`` (eq. 11). Area-weighted OA, UA and PA follow eq. 1-3 on the ``p̂_ij``.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.96


def stratified_area(matrix, mapped_area, z=Z95):
    """Olofsson et al. (2014) area estimate per class with its standard error and confidence interval.

    ``matrix`` are sample counts (rows = map strata, columns = reference), ``mapped_area`` the
    mapped area of each class (any unit; results are in that unit). Returns a dict of arrays:
    ``area``, ``se``, ``ci`` (half-width, ``z·se``), ``share`` (p̂_·k), and the area-weighted
    ``oa``, ``ua``, ``pa``. A map class without samples makes its stratum's errors unknown and
    is refused.
    """
    m = np.asarray(matrix, dtype=np.float64)
    a = np.asarray(mapped_area, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or a.shape != (m.shape[0],):
        raise ValueError(f"need a square count matrix and one mapped area per class: {m.shape}, {a.shape}")
    total = a.sum()
    if not total > 0:
        raise ValueError("the mapped areas sum to 0")
    n_i = m.sum(axis=1)
    missing = np.flatnonzero((n_i == 0) & (a > 0))
    if len(missing):
        raise ValueError(f"map class(es) {', '.join(str(i) for i in missing)} have mapped area but no reference "
                         "sample: their errors cannot be estimated; add samples in every mapped class")
    w = a / total
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_i[:, None] > 0, m / n_i[:, None], 0.0)      # n_ij / n_i·
        p = w[:, None] * frac                                          # eq. 4
        share = p.sum(axis=0)                                          # eq. 9
        var_terms = np.where(n_i[:, None] > 1, w[:, None] ** 2 * frac * (1 - frac) / (n_i[:, None] - 1), 0.0)
        se = np.sqrt(var_terms.sum(axis=0))                            # eq. 10
        ua = np.diag(p) / p.sum(axis=1)
        pa = np.diag(p) / share
    return {"area": share * total, "se": se * total, "ci": z * se * total, "share": share,
            "oa": float(np.trace(p)), "ua": ua, "pa": pa}
