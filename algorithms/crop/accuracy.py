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

:func:`accuracy_assessment` is the job the algorithm runs: a class map against labelled reference
samples, one row per class (:data:`COLUMNS`) and an HTML report.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import ArrayLike

from .. import metrics
from .. import report as _report
from ..io import RunOptions
from ..io import vector as _vector
from .samples import Samples

Z95 = 1.96
#: The per-class table of :func:`accuracy_assessment`: ``(column, type)`` (field names of the table output).
COLUMNS = [("code", int), ("class", str), ("mapped_px", int), ("mapped_ha", float), ("reference_n", int),
           ("PA", float), ("UA", float), ("F1", float), ("estimated_ha", float), ("se_ha", float),
           ("ci95_ha", float), ("ci95_low_ha", float), ("ci95_high_ha", float), ("reported_ha", float),
           ("rel_error_mapped", float), ("rel_error_estimated", float)]
#: The report's two tables (accuracy, area): (header, field of :data:`COLUMNS`, format) each. Short headers in
#: words (the table output has every column under its field name) so they fit a 1280 px window.
REPORT_ACCURACY = [("Class", "class", "{}"), ("Reference pixels", "reference_n", "{}"),
                   ("Producer's accuracy", "PA", "{:.1%}"), ("User's accuracy", "UA", "{:.1%}"), ("F1", "F1", "{:.3f}")]
REPORT_AREA = [("Class", "class", "{}"), ("Mapped (ha)", "mapped_ha", "{:.1f}"),
               ("Estimated (ha)", "estimated_ha", "{:.1f}"), ("Std. error (ha)", "se_ha", "{:.2f}"),
               ("95 % CI low (ha)", "ci95_low_ha", "{:.1f}"), ("95 % CI high (ha)", "ci95_high_ha", "{:.1f}"),
               ("Reported (ha)", "reported_ha", "{:.1f}"), ("Mapped vs reported", "rel_error_mapped", "{:+.1%}"),
               ("Estimated vs reported", "rel_error_estimated", "{:+.1%}")]


def stratified_area(matrix: ArrayLike, mapped_area: ArrayLike, z: float = Z95) -> dict:
    """Olofsson et al. (2014) area estimate per class with its standard error and confidence interval.

    ``matrix`` are sample counts (rows = map strata, columns = reference), ``mapped_area`` the
    mapped area of each class (any unit; results are in that unit). Returns a dict of arrays:
    ``area``, ``se``, ``ci`` (half-width, ``z·se``), ``share`` (p̂_·k), and the area-weighted
    ``oa``, ``ua``, ``pa``. A map class without samples makes its stratum's errors unknown and
    is refused; a map class with one sample leaves every ``se`` and ``ci`` NaN (eq. 10 divides by
    ``n_i· − 1``).
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
        # a stratum of one sample has no variance estimate (n_i· − 1 = 0): the standard errors are undefined
        var_terms = np.where(n_i[:, None] > 1, w[:, None] ** 2 * frac * (1 - frac) / (n_i[:, None] - 1),
                             np.where(n_i[:, None] == 1, np.nan, 0.0))
        se = np.sqrt(var_terms.sum(axis=0))                            # eq. 10
        ua = np.diag(p) / p.sum(axis=1)
        pa = np.diag(p) / share
    return {"area": share * total, "se": se * total, "ci": z * se * total, "share": share,
            "oa": float(np.trace(p)), "ua": ua, "pa": pa}


def percent(v) -> str:
    """A fraction as '12.34 %', 'n/a' when not finite."""
    return f"{100 * v:.2f} %" if np.isfinite(v) else "n/a"


def parse_reported(text: str, label: dict, *, what: str = "reported areas") -> dict:
    """``{code: ha}`` from 'class=ha, …' (class by code or by a name of ``label``, ``{code: name}``).

    Refuses a malformed entry, a class not in ``label`` and an area that is not positive (``what`` names
    the input in the message).
    """
    out = {}
    text = text.strip()
    if not text:
        return out
    by_name = {str(n).lower(): c for c, n in label.items()}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"(.+?)\s*=\s*([0-9.eE+]+)", part)
        if not m:
            raise ValueError(f"{what}: '{part}' is not 'class=hectares' (e.g. rice=11500).")
        key, value = m.group(1).strip(), float(m.group(2))
        code = int(key) if key.isdigit() else by_name.get(key.lower())
        if code not in label:
            raise ValueError(f"{what}: '{key}' is not a class of the map "
                             f"({', '.join(f'{c}={n}' for c, n in label.items())}).")
        if not value > 0:
            raise ValueError(f"{what}: the area of '{key}' must be positive.")
        out[code] = value
    return out


def _names(codes, label) -> str:
    return ", ".join(f"'{label[c]}' (code {c})" if str(label[c]) != str(c) else f"code {c}" for c in codes)


def check_reference(matrix, mapped_ha, classes, label, *, reference: str = "the reference samples",
                    field_name: str = "class") -> list[str]:
    """Refuse reference samples that leave the accuracy and the area estimate meaningless; return warnings.

    ``matrix`` are sample counts (rows = map class, columns = reference class) of ``classes``,
    ``mapped_ha`` the mapped area of each, ``label`` ``{code: name}``; ``reference`` and ``field_name``
    name the input in the messages.

    Raises
    ------
    ValueError
        A mapped class that no reference sample has as its true class (reference samples of one class
        only: kappa is 0, the user's accuracy of the other classes is 0 and the stratified estimate moves
        every sampled pixel into the sampled class), or a mapped class on which no reference sample falls
        (the stratified estimator of Olofsson et al. 2014, eq. 9-10, is undefined for that stratum).

    Returns
    -------
    list of str
        A sentence per map class with a single reference pixel: its stratum has no variance
        (eq. 10 divides by ``n_i· − 1``), so the standard errors and intervals are not given.
    """
    m = np.asarray(matrix)
    mapped = [c for i, c in enumerate(classes) if mapped_ha[i] > 0]
    index = {c: i for i, c in enumerate(classes)}
    no_truth = [c for c in mapped if m[:, index[c]].sum() == 0]
    if no_truth:
        have = [c for c in classes if m[:, index[c]].sum() > 0]
        add = " and ".join(f"'{label[c]}' (the value {c} or '{label[c]}' in '{field_name}')" for c in no_truth)
        raise ValueError(
            f"{reference} hold only {_names(have, label)} in '{field_name}', no sample of {_names(no_truth, label)}, "
            f"which the map shows, so the accuracies, kappa and the area estimate would be meaningless (they cannot "
            f"see what the map wrongly calls {_names(have, label)}). Add reference samples of {add}, ideally a "
            f"random sample of every map class (Olofsson et al. 2014).")
    unsampled = [c for c in mapped if m[index[c]].sum() == 0]
    if unsampled:
        raise ValueError(
            f"no sample of {reference} falls where the map shows {_names(unsampled, label)}: the stratified area "
            f"estimate (Olofsson et al. 2014, eq. 9-10) needs reference samples inside every mapped class. Add "
            f"reference samples where the map shows {_names(unsampled, label)}.")
    single = [c for c in mapped if m[index[c]].sum() == 1]
    return [f"only one reference pixel falls where the map shows {_names([c], label)}: one sample has no "
            f"variance (Olofsson et al. 2014, eq. 10 divides by n − 1), so no standard error or confidence "
            f"interval is given; add reference samples there" for c in single]


def clustered_samples(samples: Samples, reference: str = "the reference samples") -> list:
    """A warning (a one-sentence list) when reference features gave several pixels each (polygons): the pixels
    of one feature are spatially clustered, not the random sample stratified by map class that the interval of
    Olofsson et al. (2014, eq. 10-11) assumes, so it is too narrow; [] for one pixel per feature (points)."""
    n, features = len(samples.y), len(np.unique(samples.group))
    if n <= features:
        return []
    return [f"the {n} reference pixels come from {features} features of {reference} (polygons: every pixel "
            f"whose centre they hold): pixels of one polygon are spatially clustered, not a random sample, so the "
            f"95 % confidence intervals of the estimated areas are too narrow (Olofsson et al. 2014 assume a "
            f"random sample stratified by map class); for honest intervals use randomly placed points"]


def accuracy_assessment(classified: str, samples: Samples, *, pixel_area_m2: float, class_names: dict | None = None,
                        reported: str = "", reported_label: str = "reported areas", report_path: str | None = None,
                        reference_label: str = "the reference samples", field_name: str = "class",
                        options: RunOptions | None = None) -> dict:
    """Accuracy of a class map against reference samples, and each class's area (:func:`stratified_area`).

    Parameters
    ----------
    classified : str
        Integer class map (one band, values 0..255), in a projected CRS of ``pixel_area_m2`` m² pixels.
    samples : Samples
        Reference pixels of the map (:func:`.samples.labelled_pixels` on ``classified``): ``x[:, 0]`` the
        mapped class, ``y`` the reference class; ``samples.source`` names the layer in the report.
    class_names : dict, optional
        ``{code: name}`` the map stores.
    reported : str
        Official areas 'class=ha, …' (:func:`parse_reported`; ``reported_label`` names them in refusals).
    report_path : str, optional
        HTML report written: confusion matrix, accuracies and areas.
    reference_label, field_name : str
        The reference input and its class field, as the refusals name them (:func:`check_reference`).
    options : RunOptions, optional
        Workers, progress and cancel of the pass counting the mapped pixels.

    Returns
    -------
    dict
        ``rows`` (one per class, :data:`COLUMNS`), ``oa``, ``kappa``, ``n`` (reference pixels),
        ``warnings`` (sentences for the log; the report has them too).

    Raises
    ------
    ValueError
        Reference samples that make the assessment meaningless (:func:`check_reference`), bad reported areas.
    """
    names = class_names or {}
    counts = _vector.value_counts(classified, options=options)
    s = samples
    mapped = s.x[:, 0].astype(np.int64)
    classes = sorted(set(np.flatnonzero(counts).tolist()) | set(np.unique(s.y).tolist()))
    label = {c: names.get(c, s.names.get(c, str(c))) for c in classes}
    m = metrics.confusion_matrix(s.y, mapped, classes)
    acc = metrics.sample_accuracy(m)
    ha = counts[classes] * pixel_area_m2 / 1e4
    warnings = check_reference(m, ha, classes, label, reference=reference_label, field_name=field_name)
    warnings += clustered_samples(s, reference_label)
    est = stratified_area(m, ha)
    areas = parse_reported(reported, label, what=reported_label)
    rows = []
    for i, c in enumerate(classes):
        rep = areas.get(c, float("nan"))
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append([c, label[c], int(counts[c]), ha[i], int(m[:, i].sum()), acc["pa"][i], acc["ua"][i],
                         acc["f1"][i], est["area"][i], est["se"][i], est["ci"][i], est["area"][i] - est["ci"][i],
                         est["area"][i] + est["ci"][i], rep, (ha[i] - rep) / rep, (est["area"][i] - rep) / rep])
    if report_path:
        write_report(report_path, classified, s, m, acc, est, rows, [label[c] for c in classes], warnings)
    return {"rows": rows, "oa": acc["oa"], "kappa": acc["kappa"], "n": acc["n"], "warnings": warnings}


def _formatted(value, fmt: str) -> str:
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return "–"
    return fmt.format(value).replace("%", " %")


def _report_table(columns, rows):
    """Headers and formatted cells of one of the report's tables (:data:`REPORT_ACCURACY`, :data:`REPORT_AREA`)
    from the rows of :data:`COLUMNS`."""
    field = {name: i for i, (name, _) in enumerate(COLUMNS)}
    return [h for h, _, _ in columns], [[_formatted(r[field[name]], f) for _, name, f in columns] for r in rows]


def write_report(path: str, source: str, s: Samples, m, acc: dict, est: dict, rows, names, warnings=()) -> str:
    """The HTML report of :func:`accuracy_assessment` (``warnings`` as notes at the top)."""
    layer = s.source or "reference samples"
    rep = _report.Report("Accuracy assessment and area estimate",
                         source=f"Map: {source}. Reference: {layer}, {s.n_geometries} features, {acc['n']} pixels.")
    for text in warnings:
        rep.paragraph(f"Warning: {text}.", note=True)
    rep.paragraph(f"Overall accuracy {100 * acc['oa']:.2f} %, kappa {acc['kappa']:.4f}. Area-weighted overall "
                  f"accuracy (Olofsson et al. 2014, eq. 1) {percent(est['oa'])}.")
    rep.heading("Confusion matrix")
    rep.confusion_table(m, names, acc)
    rep.image(_report.confusion_figure(m, names), "Confusion matrix (reference pixels)")
    rep.heading("Accuracy per class")
    rep.table(*_report_table(REPORT_ACCURACY, rows))
    rep.paragraph("Producer's accuracy: the share of a class's reference pixels the map gives that class; user's "
                  "accuracy: the share of the reference pixels mapped as a class that truly are; F1 their harmonic "
                  "mean.")
    rep.heading("Area per class")
    rep.table(*_report_table(REPORT_AREA, rows))
    rep.paragraph("Estimated area: stratified estimator of Olofsson et al. (2014, eq. 9-11) with the map classes "
                  "as strata; the 95 % confidence interval is ± 1.96 standard errors. It assumes the reference is a "
                  "random sample stratified by map class: pixels of one reference polygon are correlated, so with "
                  "polygons the interval is too narrow. Mapped or estimated vs reported = (area − reported) / "
                  "reported. The table output holds the same numbers under short field names (mapped_ha, se_ha, "
                  "ci95_low_ha …).", note=True)
    return rep.write(path)
