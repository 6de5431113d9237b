"""Support vector machine classification of a dated stack (Liu et al. 2020, §3.2), with scikit-learn.

The paper classifies multi-temporal NDVH/NDVV with an RBF-kernel SVM, γ = 0.125, penalty C = 100,
training on 60 % of the samples and validating on the other 40 %. scikit-learn's ``SVC`` (libsvm,
one-against-one) does the fitting; this module adds what a map needs around it:

- :class:`Predictor`: the fitted SVM's own prediction (libsvm's vote over pairwise decision values
  from scikit-learn's public ``support_vectors_``, ``dual_coef_``, ``intercept_``) with the kernel
  values of a chunk of pixels computed as one matrix product. libsvm evaluates them pixel by pixel,
  which made SARSense slower than OTB's libsvm on a map (0.67×); the same predictions come out (tests
  compare every kernel, binary and multi-class, with ``model.predict``), and a model it cannot
  reproduce falls back to ``model.predict``;

- a **split by polygon** (default): all pixels of one training polygon go to the same side, so
  neighbouring pixels of one field cannot sit on both sides and inflate the accuracy; a split by
  pixel is available for comparison. Both are stratified by class and reproducible (``seed``).
- **standardisation** of every band (z-score from the training pixels), in the same pipeline;
- a **model file** that is safe to share: a NumPy ``.npz`` read with ``allow_pickle=False`` that
  holds the training samples, the parameters and the stack's dates, never pickled code. Loading
  it refits the SVM, which is deterministic (libsvm uses no randomness without probability
  estimates), so the reloaded model predicts exactly what the saved one did.

The jobs the algorithms run: :func:`svm_classify_file` (train with a held-out split, map, model file,
report) and :func:`classify_file` (a fitted or reloaded model over a stack, block by block).

scikit-learn is imported inside the functions: QGIS's Python may not have it until the plugin's
one-click install (the algorithms say so through ``requires``).
"""

from __future__ import annotations

import json

import numpy as np
from numpy.typing import ArrayLike

from .. import metrics
from .. import report as _report
from ..io import RunOptions, model_files, run_blockwise
from ..io.options import resolve
from .samples import Samples, classes_json

KERNELS = ("rbf", "linear", "poly")
#: How the samples are split into training and held-out parts (the SPLIT enum's order).
SPLITS = ("polygon", "pixel")
NODATA = 255
#: Format tag of the model file; bumped when its content changes.
MODEL_FORMAT = "sarsense-svm-1"


def make_svm(*, kernel: str = "rbf", gamma: float = 0.125, c: float = 100.0, degree: int = 3,
             standardise: bool = True):
    """An unfitted scikit-learn pipeline: optional ``StandardScaler`` then ``SVC``."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    if not gamma > 0 or not c > 0:
        raise ValueError(f"gamma and C must be positive, got gamma={gamma}, C={c}")
    svc = SVC(kernel=kernel, gamma=gamma, C=c, degree=degree, cache_size=200)
    return make_pipeline(StandardScaler(), svc) if standardise else make_pipeline(svc)


def check_samples(x: ArrayLike, y: ArrayLike, names: dict | None = None) -> None:
    """Refuse training samples an SVM cannot learn from: one class, or a class with fewer complete
    samples than bands (its spread over the dates is undetermined)."""
    x = np.asarray(x)
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    label = (lambda c: names.get(int(c), str(c))) if names else str
    if len(classes) < 2:
        raise ValueError(f"the training data hold one class only ({', '.join(label(c) for c in classes) or 'none'}): "
                         "a classifier needs at least two; add training areas of the other classes")
    few = [f"'{label(c)}' ({n})" for c, n in zip(classes, counts) if n < x.shape[1]]
    if few:
        raise ValueError(f"class(es) {', '.join(few)} have fewer valid training pixels than the stack has bands "
                         f"({x.shape[1]}): draw larger or more training areas for them")


def fit(x: ArrayLike, y: ArrayLike, **params):
    """Fit :func:`make_svm` on samples ``x`` (n, bands) with labels ``y``; returns the fitted pipeline."""
    check_samples(x, y)
    model = make_svm(**params)
    model.fit(np.asarray(x, dtype=np.float64), np.asarray(y))
    return model


def evaluate(model, x: ArrayLike, y: ArrayLike, classes) -> dict | None:
    """Confusion matrix (rows = prediction, columns = reference) and :func:`algorithms.metrics.sample_accuracy` of
    ``model`` on held-out samples; None when there are none."""
    if len(y) == 0:
        return None
    m = metrics.confusion_matrix(y, model.predict(np.asarray(x, dtype=np.float64)), classes)
    return {"matrix": m, **metrics.sample_accuracy(m)}


class Predictor:
    """libsvm's one-against-one prediction of a fitted pipeline, with the kernel values from BLAS.

    libsvm (inside scikit-learn and OTB alike) evaluates the kernel one pixel and one support vector
    at a time. A map needs it for millions of pixels, so here a chunk of pixels meets all support
    vectors in one matrix product: for the RBF kernel ``K = exp(−γ(‖x‖² + ‖s‖² − 2 x·s))``, then
    every pairwise decision value ``d_ij = Σ_{s∈i} α_s^{(j)} K_s + Σ_{s∈j} α_s^{(i)} K_s + b_ij`` from
    one product per class (its vectors' kernel values times their coefficients), and libsvm's vote:
    ``d_ij > 0`` votes for class i, else j, the first class
    with most votes wins (libsvm's ``svm_predict_values``; scikit-learn's ``dual_coef_`` and
    ``intercept_`` hold the α and b in libsvm's layout). This is scikit-learn's prediction, only
    faster; it is checked against ``model.predict`` on the training samples when built, and where
    they would differ (a model this code does not know) ``model.predict`` is used instead.
    """

    def __init__(self, model, check_x=None):
        self.model = model
        steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
        svc = steps[-1]
        self.scaler = steps[0] if len(steps) == 2 else None
        self.fast = svc.kernel in KERNELS and isinstance(svc.gamma, float) and len(svc.classes_) >= 2
        if not self.fast:
            return
        self.kernel, self.gamma, self.degree, self.coef0 = svc.kernel, svc.gamma, svc.degree, svc.coef0
        self.sv = np.ascontiguousarray(svc.support_vectors_, dtype=np.float64)
        self.sv_sq = (self.sv ** 2).sum(axis=1)
        self.classes = svc.classes_
        n_class = len(self.classes)
        self.start = np.concatenate([[0], np.cumsum(svc.n_support_)]).astype(int)
        sign = -1.0 if n_class == 2 else 1.0  # scikit-learn flips the signs of a binary model
        # class k's support vectors enter its n_class − 1 pairs with the coefficients in dual_coef_'s
        # columns of those vectors (row j − 1 for the pair with a later class j, row j for an earlier one)
        self.coef = [sign * np.ascontiguousarray(svc.dual_coef_[:, a:b].T)
                     for a, b in zip(self.start[:-1], self.start[1:])]
        self.b = sign * np.asarray(svc.intercept_, dtype=np.float64)
        self.pairs = [(i, j) for i in range(n_class) for j in range(i + 1, n_class)]
        if check_x is not None and len(check_x):
            x = np.asarray(check_x, dtype=np.float64)
            self.fast = bool((self._predict(x) == model.predict(x)).all())

    def _kernel(self, x):
        dot = x @ self.sv.T
        if self.kernel == "linear":
            return dot
        if self.kernel == "poly":
            return (self.gamma * dot + self.coef0) ** self.degree
        dot *= -2.0
        dot += (x ** 2).sum(axis=1)[:, None]
        dot += self.sv_sq[None, :]
        dot *= -self.gamma
        return np.exp(dot, out=dot)

    def _predict(self, x):
        if self.scaler is not None:
            x = self.scaler.transform(x)
        k = self._kernel(x)
        # per class: its support vectors' kernel values times their coefficients for every pair
        part = [k[:, a:b] @ c for a, b, c in zip(self.start[:-1], self.start[1:], self.coef)]
        n_class = len(self.classes)
        votes = np.zeros((n_class, len(x)), dtype=np.int16)
        for p, (i, j) in enumerate(self.pairs):
            positive = part[i][:, j - 1] + part[j][:, i] + self.b[p] > 0
            votes[i] += positive
            votes[j] += ~positive
        return self.classes[np.argmax(votes, axis=0)]     # argmax: the first of equal maxima, as libsvm

    def predict(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self._predict(x) if self.fast else self.model.predict(x)

    def chunk(self, budget_bytes=8 << 20):
        """Pixels per matrix product: the kernel values of one chunk stay within ``budget_bytes``."""
        n_sv = len(self.sv) if self.fast else 1
        return int(max(256, budget_bytes // (8 * n_sv)))


def predict_block(model, block: np.ndarray, *, chunk: int | None = None) -> np.ndarray:
    """Class of every pixel of a ``(bands, rows, cols)`` block: uint8, :data:`NODATA` where a band is NaN.

    ``model`` is a fitted pipeline or a :class:`Predictor`; pixels are predicted in chunks (``chunk``,
    default :meth:`Predictor.chunk`) so the kernel-value buffers stay small.
    """
    predictor = model if isinstance(model, Predictor) else Predictor(model)
    chunk = chunk or predictor.chunk()
    bands, rows, cols = block.shape
    x = block.reshape(bands, -1).T
    valid = np.isfinite(x).all(axis=1)
    out = np.full(rows * cols, NODATA, dtype=np.uint8)
    idx = np.flatnonzero(valid)
    for start in range(0, len(idx), chunk):
        sel = idx[start:start + chunk]
        out[sel] = predictor.predict(x[sel])
    return out.reshape(rows, cols)


def save_model(path: str, x: ArrayLike, y: ArrayLike, params: dict, meta: dict) -> str:
    """Write the model file: training samples, parameters and metadata (dates, classes …); no pickle.

    ``params`` are :func:`make_svm`'s keyword arguments; ``meta`` any JSON-serialisable dict.
    """
    header = {"format": MODEL_FORMAT, "params": params, "meta": meta}
    with open(path, "wb") as f:
        np.savez_compressed(f, x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.int64),
                            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8))
    return path


def load_model(path: str) -> tuple:
    """Read a :func:`save_model` file and refit it: returns ``(fitted pipeline, params, meta)``.

    Refuses a file that is not a SARSense SVM model, naming what it found.
    """
    what = {"kind": "SVM model file", "algorithm": "SVM classification"}
    arrays = model_files.load_npz(path, ("header", "x", "y"), **what)
    header = model_files.json_bytes(arrays["header"], path, **what)
    x, y = arrays["x"], arrays["y"]
    if not isinstance(header, dict) or not {"params", "meta"} <= set(header):
        raise model_files.refusal(path, "SVM model file", "its header lacks the SVM parameters or the dates",
                                  what["algorithm"])
    if header.get("format") != MODEL_FORMAT:
        raise ValueError(f"'{path}' has format {header.get('format')!r}, not {MODEL_FORMAT!r}: retrain it with this "
                         "version of SARSense")
    if x.ndim != 2 or len(x) != len(y) or not len(y):
        raise model_files.refusal(path, "SVM model file", f"truncated or damaged: {x.shape} samples for "
                                  f"{y.shape} classes", what["algorithm"])
    return fit(x, y, **header["params"]), header["params"], header["meta"]


def check_model_dates(dates, model_dates, *, what: str = "the stack") -> None:
    """Refuse a stack whose dates are not the model's (``what`` names the stack in the message)."""
    dates, want = list(dates), list(model_dates)
    if len(dates) != len(want):
        raise ValueError(f"{what} has {len(dates)} bands but the model was trained on "
                         f"{len(want)} ({', '.join(want)}): apply it to a stack of the same dates.")
    if dates != want:
        diff = [f"band {i + 1}: {a} ≠ {b}" for i, (a, b) in enumerate(zip(dates, want)) if a != b]
        raise ValueError(f"{what} has other dates than the model ({'; '.join(diff[:5])}"
                         f"{' …' if len(diff) > 5 else ''}; stack ≠ model): build a stack of the model's dates.")


def classify_file(model, stack: str, output: str, *, names: dict, metadata: dict | None = None, check_x=None,
                  options: RunOptions | None = None) -> str:
    """The class map of ``stack`` by ``model``, block by block (:func:`predict_block`): uint8, :data:`NODATA`
    where a band is NaN, band "class" with the classes ``names`` (``{code: name}``) and their colours.

    ``check_x`` are samples on which the fast :class:`Predictor` is checked against scikit-learn's
    prediction; ``metadata`` goes into the dataset's metadata. Returns ``output``.
    """
    predictor = Predictor(model, check_x)

    def kernel(block):
        return predict_block(predictor, block)

    run_blockwise(stack, output, kernel, out_bands=1, out_dtype=np.uint8, descriptions=["class"],
                  band_metadata=[{"classes": classes_json(names)}], metadata=metadata, bytes_per_pixel=24,
                  options=options)
    return output


def subsample(train, y, cap: int, seed: int) -> np.ndarray:
    """At most ``cap`` training pixels per class (0: all), drawn with ``seed``."""
    if cap <= 0:
        return train
    rng = np.random.default_rng(seed + 1)
    out = train.copy()
    for c in np.unique(y):
        idx = np.flatnonzero(train & (y == c))
        if len(idx) > cap:
            out[rng.choice(idx, len(idx) - cap, replace=False)] = False
    return out


def _other(split):
    return "pixel" if split == "polygon" else "polygon"


def train_and_evaluate(samples: Samples, *, params: dict, fraction: float = 0.6, split: str = "polygon",
                       seed: int = 0, max_training: int = 0, options: RunOptions | None = None) -> dict:
    """Fit on a training part and assess on the held-out rest, for ``split`` and, for comparison, the other split.

    Returns ``{split: {"train", "held" (masks), "model", "eval" (:func:`evaluate`)}}`` for both
    splits (:func:`algorithms.metrics.split_samples`, training capped by :func:`subsample`).
    Cancel (``options``) is checked before each fit.
    """
    options = resolve(options)
    classes = sorted(samples.names)
    runs = {}
    for how in (split, _other(split)):
        split_train = metrics.split_samples(samples.y, samples.group, fraction=fraction, by=how, seed=seed)
        held = ~split_train
        train = subsample(split_train, samples.y, max_training, seed)
        options.check_cancel()
        model = fit(samples.x[train], samples.y[train], **params)
        runs[how] = {"train": train, "held": held, "model": model,
                     "eval": evaluate(model, samples.x[held], samples.y[held], classes)}
    return runs


def svm_classify_file(stack: str, output: str, samples: Samples, *, dates, params: dict, fraction: float = 0.6,
                      split: str = "polygon", seed: int = 0, max_training: int = 0, model_path: str | None = None,
                      report_path: str | None = None, options: RunOptions | None = None) -> dict:
    """Train an SVM on labelled samples with a held-out split (Liu et al. 2020, §3.2) and map a stack with it.

    Parameters
    ----------
    stack : str
        Dated stack, one band per date (``dates``, ISO).
    output : str
        The class map (:func:`classify_file`), made by the model of ``split``'s training part; its
        metadata holds the SVM parameters, the training pixels and the held-out OA and kappa.
    samples : Samples
        Training pixels (:func:`.samples.labelled_pixels`) on the stack's bands.
    params : dict
        :func:`make_svm`'s keyword arguments.
    fraction, split, seed, max_training
        Training share, split by ``"polygon"`` or ``"pixel"`` (:data:`SPLITS`), seed of split and
        subsample, training pixels per class (0: all).
    model_path : str, optional
        Model file written (:func:`save_model`: the training part's samples, ``params``, dates and names).
    report_path : str, optional
        HTML report written (:func:`write_report`).
    options : RunOptions, optional
        Workers, budget, compression, cancel, and progress: training up to 30 %, the map 30-100 %.

    Returns
    -------
    dict
        ``oa``, ``kappa`` (held out, NaN without held-out pixels), ``training`` (``{split: pixels}``),
        ``other`` (the comparison split's evaluation or None), ``unassessed`` (names of classes without a
        held-out pixel), ``model`` (the model file or None).

    Raises
    ------
    ValueError
        Samples an SVM cannot learn from (:func:`check_samples`), bad parameters (:func:`make_svm`).
    """
    options = resolve(options)
    check_samples(samples.x, samples.y, samples.names)
    classes = sorted(samples.names)
    runs = train_and_evaluate(samples, params=params, fraction=fraction, split=split, seed=seed,
                              max_training=max_training, options=options)
    main = runs[split]
    unassessed = [samples.label(c) for c in classes if not (main["held"] & (samples.y == c)).any()]
    ev = main["eval"]
    oa, kappa = (ev["oa"], ev["kappa"]) if ev else (float("nan"), float("nan"))
    options.report(0.3)
    train = main["train"]
    classify_file(main["model"], stack, output, names=samples.names, check_x=samples.x[train],
                  metadata={"SVM": f"{params}", "TRAINING_PIXELS": int(train.sum()),
                            "HELD_OUT_OA": f"{oa:.4f}", "HELD_OUT_KAPPA": f"{kappa:.4f}"},
                  options=options.part(0.3, 1.0))
    if model_path:
        meta = {"dates": list(dates), "bands": len(dates), "names": {str(k): v for k, v in samples.names.items()},
                "split": split, "seed": seed, "held_out_oa": oa, "held_out_kappa": kappa, "source": stack}
        save_model(model_path, samples.x[train], samples.y[train], params, meta)
    if report_path:
        write_report(report_path, samples, runs, split=split, params=params, fraction=fraction, seed=seed,
                     source=stack, dates=dates)
    return {"oa": oa, "kappa": kappa, "training": {how: int(r["train"].sum()) for how, r in runs.items()},
            "other": runs[_other(split)]["eval"], "unassessed": unassessed, "model": model_path or None}


def write_report(path: str, samples: Samples, runs: dict, *, split: str, params: dict, fraction: float, seed: int,
                 source: str, dates) -> str:
    """The HTML report of :func:`svm_classify_file`: samples per class, and per split the held-out confusion
    matrix, OA, kappa, PA, UA and F1."""
    s = samples
    rep = _report.Report("SVM classification: accuracy on held-out samples",
                         source=f"Stack: {source} ({len(dates)} dates). Training data: "
                                f"{s.source or 'training samples'}, {s.n_geometries} features, "
                                f"{len(s.y)} complete pixels.")
    classes = sorted(s.names)
    names = [s.label(c) for c in classes]
    rep.paragraph(f"SVC kernel {params['kernel']}, γ = {params['gamma']:g}, C = {params['c']:g}"
                  f"{', degree ' + str(params['degree']) if params['kernel'] == 'poly' else ''}, bands "
                  f"{'standardised' if params['standardise'] else 'not standardised'}; training fraction "
                  f"{fraction:g}, seed {seed}.")
    rows = []
    for c, n in zip(classes, names):
        sel = s.y == c
        rows.append([n, c, len(np.unique(s.group[sel])), int(sel.sum()), int((runs[split]["train"] & sel).sum()),
                     int((runs[split]["held"] & sel).sum())])
    rep.table(["class", "code", "features", "pixels", "training", "held out"], rows,
              caption=f"Samples (split by {split})")
    for how in (split, _other(split)):
        ev = runs[how]["eval"]
        rep.heading(f"Split by {how}" + (" (this map)" if how == split else " (for comparison)"))
        if how == "pixel":
            rep.paragraph("Pixels of one field fall into both training and validation: these figures are "
                          "optimistic and only show how much a pixel split inflates accuracy.", note=True)
        if ev is None:
            rep.paragraph("No held-out sample: nothing to assess.", note=True)
            continue
        rep.paragraph(f"Overall accuracy {100 * ev['oa']:.2f} %, kappa {ev['kappa']:.4f}, "
                      f"{ev['n']} held-out pixels.")
        m = ev["matrix"]
        rep.confusion_table(m, names, ev)
        rep.table(["class", "PA", "UA", "F1"],
                  [[n, ev["pa"][i], ev["ua"][i], ev["f1"][i]] for i, n in enumerate(names)], digits=3)
        if how == split:
            rep.image(_report.confusion_figure(m, names), "Held-out confusion matrix (counts)")
    return rep.write(path)
