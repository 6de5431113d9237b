"""Accuracy and skill of class maps, shared by the suites (no QGIS, no GDAL).

- Confusion matrix, overall accuracy, Cohen's kappa, producer's and user's accuracy and F1 from
  sample counts (Congalton & Green, *Assessing the Accuracy of Remotely Sensed Data*, 2nd ed., ch. 5).
- The class-weighted F1 (each class's F1 weighted by its reference count), which the AutoICE
  challenge scores sea-ice charts with and scikit-learn calls ``f1_score(average="weighted")``.
- The coefficient of determination R² of class values read as quantities (Stokholm et al. 2022,
  eq. 7: sea-ice concentration classes as percentages), computed exactly from the confusion matrix:
  every pixel of cell ``(map i, reference j)`` contributes ``(v_j − v_i)²`` to the residual sum.

Everything works on a count matrix, so a scene of any size is scored block by block
(:func:`confusion_counts` per block, summed) at bounded memory.
"""

from __future__ import annotations

import numpy as np


def confusion_counts(reference, predicted, n_classes):
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


def confusion_matrix(reference, predicted, classes):
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


def sample_accuracy(matrix):
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


def weighted_f1(matrix):
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


def r2_from_confusion(matrix, values):
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
