"""Class separability: Bhattacharyya distance and Jeffries-Matusita distance (Liu et al. 2020, §3.1).

The paper rates training classes by the J-M distance, 0..2, with "above 1.8" meaning the classes
separate well (its tables 1-2: per date and over 10 Mar - 27 Apr together). For two Gaussian
classes with means μ1, μ2 and covariances Σ1, Σ2 (Richards & Jia, *Remote Sensing Digital Image
Analysis*, 4th ed., §10.9, eq. 10.8-10.9; Bhattacharyya 1943):

``B = ⅛ (μ1 − μ2)ᵀ Σ⁻¹ (μ1 − μ2) + ½ ln( |Σ| / √(|Σ1| |Σ2|) )``, ``Σ = (Σ1 + Σ2)/2``

``JM = 2 (1 − e^(−B))``

In one dimension ``B = (μ1 − μ2)² / (4(σ1² + σ2²)) + ½ ln((σ1² + σ2²) / (2 σ1 σ2))``.

:func:`class_separability` is the job the algorithm runs: the table of labelled samples and its report.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike

from .. import report as _report
from .samples import Samples

#: J-M above this separates two classes well (the paper, §3.1).
SEPARABLE_JM = 1.8
#: Ridge added to every covariance, relative to its mean variance (trace / p): keeps the inverse and
#: the log-determinants finite when dates are collinear or a class has few samples.
DEFAULT_REGULARISATION = 1e-6


def jeffries_matusita(b: ArrayLike) -> np.ndarray:
    """JM = 2 (1 − e^(−B)) for a Bhattacharyya distance ``B`` (0 for identical classes, → 2 far apart)."""
    return 2.0 * (1.0 - np.exp(-np.asarray(b, dtype=np.float64)))


def class_model(samples: ArrayLike,
                regularisation: float = DEFAULT_REGULARISATION) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, covariance (divisor n − 1) and the ridge added, of ``samples`` (n, p) — one row per pixel.

    The ridge is ``regularisation × trace(Σ)/p`` on the diagonal (absolute ``regularisation`` when
    every variance is 0), so a class whose dates are collinear still has an inverse.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, np.newaxis]
    n, p = x.shape
    if n < 2:
        raise ValueError(f"a class needs at least 2 samples, got {n}")
    mean = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    scale = np.trace(cov) / p
    ridge = regularisation * (scale if scale > 0 else 1.0)
    return mean, cov + ridge * np.eye(p), ridge


def bhattacharyya(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike) -> float:
    """Bhattacharyya distance between two Gaussians (module docstring), with log-determinants.

    Covariances must be positive definite (use :func:`class_model`'s regularised ones).
    """
    m = np.atleast_1d(np.asarray(mean1, dtype=np.float64) - np.asarray(mean2, dtype=np.float64))
    c1, c2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    c = 0.5 * (c1 + c2)
    sign, logdet = np.linalg.slogdet(c)
    s1, logdet1 = np.linalg.slogdet(c1)
    s2, logdet2 = np.linalg.slogdet(c2)
    if min(sign, s1, s2) <= 0:
        raise ValueError("a class covariance is not positive definite: add regularisation")
    term1 = 0.125 * float(m @ np.linalg.solve(c, m))
    term2 = 0.5 * (logdet - 0.5 * (logdet1 + logdet2))
    return term1 + term2


def separability_table(samples: dict, dates, *, target=None,
                       regularisation: float = DEFAULT_REGULARISATION) -> list[dict]:
    """B and JM for class pairs, per date (1-D) and over all dates together (full covariance).

    ``samples`` maps a class name to an (n, dates) array of its pixels' values (rows with NaN are
    left out). ``target`` given: that class against each other one (the paper's tables 1-2); else
    every pair. Returns a list of dicts ``{class_a, class_b, date, n_a, n_b, B, JM, separable,
    ridge}`` with ``date`` an ISO date or ``"all dates"``, ``ridge`` the largest ridge added to
    the two covariances.
    """
    dates = list(dates)
    clean = {}
    for name, x in samples.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(dates):
            raise ValueError(f"class '{name}': expected (pixels, {len(dates)}) samples, got {x.shape}")
        x = x[np.isfinite(x).all(axis=1)]
        if len(x) <= len(dates):
            raise ValueError(f"class '{name}' has {len(x)} complete samples for {len(dates)} dates: a covariance over "
                             "all dates needs more samples than dates; add training areas")
        clean[name] = x
    if len(clean) < 2:
        found = ", ".join(f"'{n}'" for n in clean) or "none"
        raise ValueError(f"separability compares at least 2 classes; the samples hold {len(clean)} ({found}): add "
                         "training areas of another class, or choose the field that holds the classes")
    names = sorted(clean, key=str)
    if target is not None:
        if target not in clean:
            raise ValueError(f"target class '{target}' is not among the classes ({', '.join(map(str, names))})")
        pairs = [(target, other) for other in names if other != target]
    else:
        pairs = list(itertools.combinations(names, 2))
    rows = []
    for a, b in pairs:
        xa, xb = clean[a], clean[b]
        for j, date in enumerate(dates + ["all dates"]):
            cols = slice(None) if j == len(dates) else slice(j, j + 1)
            ma, ca, ra = class_model(xa[:, cols], regularisation)
            mb, cb, rb = class_model(xb[:, cols], regularisation)
            dist = bhattacharyya(ma, ca, mb, cb)
            jm = float(jeffries_matusita(dist))
            rows.append({"class_a": a, "class_b": b, "date": date, "n_a": len(xa), "n_b": len(xb),
                         "B": dist, "JM": jm, "separable": jm > SEPARABLE_JM, "ridge": max(ra, rb)})
    return rows


def match_class(target: str, names, *, what: str = "the target class") -> str:
    """The name among ``names`` equal to ``target`` ignoring case; refuses another (``what`` names the input)."""
    match = [n for n in names if n.lower() == target.lower()]
    if not match:
        raise ValueError(f"{what} '{target}' is not a class of the training data ({', '.join(sorted(names))}).")
    return match[0]


def class_separability(samples: Samples, dates, *, target: str | None = None,
                       regularisation: float = DEFAULT_REGULARISATION, report_path: str | None = None,
                       source: str = "", target_label: str = "the target class") -> list[dict]:
    """:func:`separability_table` of labelled samples (classes by name), and its HTML report.

    ``target`` (any case; ``target_label`` names it in the refusal) compares that class with each other
    one. The report (``report_path``) has a date × class-pair heat map of JM and each class's mean
    profile with ±1σ bands; ``source`` names the stack in it. Returns the table's rows.
    """
    dates = list(dates)
    by_class = samples.by_class()
    if target is not None:
        target = match_class(target, by_class, what=target_label)
    rows = separability_table(by_class, dates, target=target, regularisation=regularisation)
    if report_path:
        write_report(report_path, rows, by_class, dates, source=source, samples=samples, ridge=regularisation)
    return rows


#: Class pairs per table of the report (columns), so a table fits a 1280 px window whatever the class count.
PAIRS_PER_TABLE = 6


def _units(path: str) -> str:
    """What the stack's first band holds (its units metadata or GDAL unit type), '' when it says nothing."""
    from osgeo import gdal

    try:
        ds = gdal.Open(str(path))
        band = ds.GetRasterBand(1)
        units = band.GetMetadataItem("units") or band.GetUnitType() or ""
        band = None
        ds = None
    except (RuntimeError, AttributeError):
        return ""
    return units


def profile_figure(by_class: dict, dates, *, units: str = ""):
    """Each class's mean per date (line) with ±1 standard deviation (shaded), the legend outside the axes."""
    fig = _report.figure(10, 4.5)
    ax = fig.add_subplot()
    t = np.arange(len(dates))
    for name, x in sorted(by_class.items()):
        x = x[np.isfinite(x).all(axis=1)]
        m, s = x.mean(axis=0), x.std(axis=0, ddof=1)
        line, = ax.plot(t, m, marker="o", ms=3, label=f"{name} (n = {len(x)})")
        ax.fill_between(t, m - s, m + s, color=line.get_color(), alpha=0.15)
    ax.set_xticks(t, labels=dates, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"class mean ± 1 s.d. ({units})" if units else "class mean ± 1 s.d. (stack value)")
    ax.legend(fontsize=8, title="Training class (n = pixels)", title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.subplots_adjust(right=0.75)
    return fig


def write_report(path: str, rows, by_class: dict, dates, *, source: str, samples: Samples, ridge: float) -> str:
    """The HTML report of :func:`class_separability` (``samples.source`` names the training layer)."""
    rep = _report.Report("Class separability (Jeffries-Matusita)",
                         source=f"Stack: {source} ({len(dates)} dates). Training: "
                                f"{samples.source or 'training samples'}, {samples.n_geometries} features, "
                                f"{len(samples.y)} complete pixels.")
    pairs = list(dict.fromkeys((r["class_a"], r["class_b"]) for r in rows))
    columns = dates + ["all dates"]
    jm = np.array([[next(r["JM"] for r in rows if (r["class_a"], r["class_b"]) == p and r["date"] == d)
                    for d in columns] for p in pairs])
    rep.heading("Jeffries-Matusita distance")
    rep.paragraph(f"JM = 2(1 − e^−B), 0 to 2; above {SEPARABLE_JM} the classes separate well (Liu et al. "
                  f"2020, §3.1). Covariance ridge: {ridge:g} × mean variance (largest added: "
                  f"{max(r['ridge'] for r in rows):.3g}).")
    fig = _report.figure(min(11.0, max(6.0, 0.55 * len(columns) + 3)), max(2.5, 0.4 * len(pairs) + 1.5))
    ax = fig.add_subplot()
    im = ax.imshow(jm, cmap="RdYlGn", vmin=0, vmax=2, aspect="auto")
    ax.set_xticks(range(len(columns)), labels=columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(pairs)), labels=[f"{a} / {b}" for a, b in pairs], fontsize=8)
    for (i, j), v in np.ndenumerate(jm):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                fontweight="bold" if v > SEPARABLE_JM else "normal")
    fig.colorbar(im, ax=ax, label="JM")
    rep.image(fig, "JM per date and over all dates (bold: separable)")
    for k in range(0, len(pairs), PAIRS_PER_TABLE):
        part = slice(k, k + PAIRS_PER_TABLE)
        rep.table(["date"] + [f"{a} / {b}" for a, b in pairs[part]], [[d] + list(jm[part, j])
                                                                       for j, d in enumerate(columns)], digits=3)
    rep.heading("Class profiles")
    rep.image(profile_figure(by_class, dates, units=_units(source)),
              "Class mean per date with ±1 standard deviation bands")
    rep.paragraph("Legend: each training class, with n its complete training pixels (a value on every date); the "
                  "line is the class's mean on each date, the shaded band ± 1 standard deviation of its pixels.")
    return rep.write(path)
