"""Accuracy and skill of class maps, shared by the suites (no QGIS, no GDAL).

- Confusion matrix, overall accuracy, Cohen's kappa, producer's and user's accuracy and F1 from
  sample counts (Congalton & Green, *Assessing the Accuracy of Remotely Sensed Data*, 2nd ed., ch. 5).
- The class-weighted F1 (each class's F1 weighted by its reference count), which the AutoICE
  challenge scores sea-ice charts with and scikit-learn calls ``f1_score(average="weighted")``.
- The coefficient of determination R² of class values read as quantities (Stokholm et al. 2022,
  eq. 7: sea-ice concentration classes as percentages), computed exactly from the confusion matrix:
  every pixel of cell ``(map i, reference j)`` contributes ``(v_j − v_i)²`` to the residual sum.

- Held-out splits by sample or by group (polygon, station) for every suite's assessment
  (:func:`split_samples`), and the continuous scores of retrievals against in-situ references
  (:func:`continuous_scores`: bias, RMSE, ubRMSE, Pearson R with its confidence interval).

Everything for class maps works on a count matrix, so a scene of any size is scored block by block
(:func:`confusion_counts` per block, summed) at bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_counts(reference: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``m[i, j]`` of pixels mapped as class ``i`` whose reference is ``j``, for classes ``0..n_classes-1``.

    Integer arrays of any shape; pairs where either value is outside ``0..n_classes-1`` (nodata, 255)
    are left out. One ``np.bincount``: fast enough for a block of millions of pixels.
    """
    r = np.asarray(reference).ravel()
    p = np.asarray(predicted).ravel()
    if r.shape != p.shape:
        raise ValueError(f"reference and prediction differ in size ({r.size} and {p.size} values)")
    ok = (r >= 0) & (r < n_classes) & (p >= 0) & (p < n_classes)
    flat = p[ok].astype(np.int64) * n_classes + r[ok].astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_matrix(reference: Sequence, predicted: Sequence, classes: Sequence) -> np.ndarray:
    """Counts ``m[i, j]`` of samples mapped as ``classes[i]`` whose reference is ``classes[j]``.

    Rows are the map, columns the reference (Olofsson et al. 2014, table 4). Samples whose map or
    reference value is not in ``classes`` are left out.
    """
    classes = np.asarray(list(classes))
    order = np.argsort(classes)
    sorted_classes = classes[order]

    def index(values):
        v = np.asarray(values).ravel()
        pos = np.clip(np.searchsorted(sorted_classes, v), 0, len(classes) - 1)
        return np.where(sorted_classes[pos] == v, order[pos], -1)
    return confusion_counts(index(reference), index(predicted), len(classes))


def sample_accuracy(matrix: np.ndarray) -> dict:
    """OA, kappa and per-class PA, UA and F1 from a count matrix (rows map, columns reference).

    ``OA = Σ m_ii / n``; ``κ = (OA − p_e)/(1 − p_e)`` with ``p_e = Σ m_i· m_·i / n²``;
    ``UA_i = m_ii / m_i·``, ``PA_i = m_ii / m_·i``, ``F1 = 2 PA UA/(PA + UA)``; NaN where a
    denominator is 0.
    """
    m = np.asarray(matrix, dtype=np.float64)
    n = m.sum()
    if n == 0:
        raise ValueError("no sample falls on a mapped class")
    diag = np.diag(m)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    oa = diag.sum() / n
    pe = float((rows * cols).sum()) / n ** 2
    kappa = (oa - pe) / (1.0 - pe) if pe < 1.0 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = diag / rows
        pa = diag / cols
        f1 = 2 * pa * ua / (pa + ua)
    return {"n": int(n), "oa": float(oa), "kappa": float(kappa), "ua": ua, "pa": pa, "f1": f1}


def weighted_f1(matrix: np.ndarray) -> float:
    """Class-weighted F1: ``Σ_j n_·j F1_j / n`` with ``n_·j`` the reference count of class ``j``.

    A class with reference pixels but none mapped correctly scores F1 = 0 (scikit-learn's
    ``zero_division=0``); classes without reference pixels weigh nothing. This is
    ``sklearn.metrics.f1_score(y_true, y_pred, average="weighted")`` on the same pixels.
    """
    m = np.asarray(matrix, dtype=np.float64)
    support = m.sum(axis=0)
    if support.sum() == 0:
        raise ValueError("no pixel is valid in both the prediction and the reference")
    f1 = np.nan_to_num(sample_accuracy(m)["f1"], nan=0.0)
    return float((f1 * support).sum() / support.sum())


def r2_from_confusion(matrix: np.ndarray, values: Sequence[float]) -> float:
    """R² of the quantities ``values[k]`` of the classes (Stokholm et al. 2022, eq. 7), from counts.

    ``R² = 1 − Σ (y_true − y_pred)² / Σ (y_true − ȳ_true)²`` over the counted pixels, with
    ``y = values[class]``: ``sklearn.metrics.r2_score`` on the same pixels. NaN when the reference
    holds one value only (no variance to explain).
    """
    m = np.asarray(matrix, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if m.shape != (v.size, v.size):
        raise ValueError(f"need one value per class: a {m.shape} matrix and {v.size} values")
    support = m.sum(axis=0)
    n = support.sum()
    if n == 0:
        raise ValueError("no pixel is valid in both the prediction and the reference")
    residual = float((m * (v[None, :] - v[:, None]) ** 2).sum())
    mean = float((support * v).sum() / n)
    total = float((support * (v - mean) ** 2).sum())
    return 1.0 - residual / total if total > 0 else float("nan")


def split_samples(y: np.ndarray, groups: np.ndarray, *, fraction: float = 0.6, by: str = "polygon",
                  seed: int = 0) -> np.ndarray:
    """Boolean mask of the training samples; the rest is held out. Stratified by class.

    ``by="polygon"``: for each class, ``round(fraction × polygons)`` of its polygons (``groups``)
    go to training, at least one, and at least one stays out when the class has two or more. A
    class with a single polygon is all training (it cannot be validated; the caller reports it).
    ``by="pixel"``: the same per pixel. The draw uses ``numpy.random.default_rng(seed)``.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the training fraction must lie strictly between 0 and 1, got {fraction}")
    if by not in ("polygon", "pixel"):
        raise ValueError(f"split must be 'polygon' or 'pixel', got {by!r}")
    rng = np.random.default_rng(seed)
    train = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        units = np.unique(groups[idx]) if by == "polygon" else idx
        n = len(units)
        k = int(round(fraction * n))
        k = min(max(k, 1), n - 1) if n >= 2 else n
        chosen = rng.permutation(units)[:k]
        train[idx[np.isin(groups[idx], chosen)] if by == "polygon" else chosen] = True
    return train


def split_among(have: np.ndarray, groups: np.ndarray | None = None, *, fraction: float, seed: int = 0) -> np.ndarray:
    """Boolean mask of the training samples among those ``have`` marks (complete samples): a seeded random
    ``fraction`` of them, or with ``groups`` (e.g. stations) of their groups, each group whole on one side
    (:func:`split_samples`). The held-out samples are ``have & ~train``."""
    have = np.asarray(have, dtype=bool)
    idx = np.flatnonzero(have)
    train = np.zeros(have.size, dtype=bool)
    units = idx if groups is None else np.asarray(groups)[idx]
    train[idx[split_samples(np.zeros(idx.size), units, fraction=fraction, by="pixel" if groups is None else "polygon",
                            seed=seed)]] = True
    return train


def continuous_scores(estimate: np.ndarray, reference: np.ndarray, *, confidence: float = 0.95) -> dict:
    """Scores of estimates against a reference (soil moisture against in-situ values), NaN pairs left out.

    The definitions of pytesmo's ``pytesmo.metrics`` (Gruber et al. 2020, RSE 244:111806, which the
    soil-moisture community validates with), checked against it in the tests:

    - ``bias = mean(estimate) − mean(reference)`` (Fayad et al. 2022, eq. 8, averaged);
    - ``RMSE = √(mean((estimate − reference)²))`` (eq. 9);
    - ``ubRMSE = √(RMSE² − bias²)``, the RMSE left once the bias is removed (Entekhabi et al. 2010,
      J. Hydrometeorol. 11:832);
    - Pearson's ``R`` (eq. 10) with its two-sided p-value (Student's t with n − 2 degrees of freedom, as
      ``scipy.stats.pearsonr``) and its ``confidence`` interval by Fisher's z: ``tanh(atanh R ± z_c/√(n − 3))``.

    Returns a dict with ``n``, ``bias``, ``rmse``, ``ubrmse``, ``r``, ``r_low``, ``r_high``, ``p``; R and its
    interval are NaN below 3 pairs or when either side is constant.
    """
    from scipy import stats

    e = np.asarray(estimate, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if e.shape != r.shape:
        raise ValueError(f"estimate and reference differ in length ({e.size} and {r.size})")
    ok = np.isfinite(e) & np.isfinite(r)
    e, r = e[ok], r[ok]
    n = int(e.size)
    nan = float("nan")
    out = {"n": n, "bias": nan, "rmse": nan, "ubrmse": nan, "r": nan, "r_low": nan, "r_high": nan, "p": nan}
    if n == 0:
        return out
    d = e - r
    out["bias"] = float(e.mean() - r.mean())
    out["rmse"] = float(np.sqrt(np.mean(d * d)))
    out["ubrmse"] = float(np.sqrt(max(out["rmse"] ** 2 - out["bias"] ** 2, 0.0)))
    if n >= 3 and np.ptp(e) > 0 and np.ptp(r) > 0:
        res = stats.pearsonr(e, r)
        rr = float(np.clip(res[0], -1.0, 1.0))
        out["r"], out["p"] = rr, float(res[1])
        if n > 3 and abs(rr) < 1.0:
            half = stats.norm.ppf(0.5 + confidence / 2.0) / np.sqrt(n - 3)
            z = np.arctanh(rr)
            out["r_low"], out["r_high"] = float(np.tanh(z - half)), float(np.tanh(z + half))
    return out
