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

scikit-learn is imported inside the functions: QGIS's Python may not have it until the plugin's
one-click install (the algorithms say so through ``requires``).
"""

from __future__ import annotations

import json

import numpy as np

from .. import metrics

KERNELS = ("rbf", "linear", "poly")
NODATA = 255
#: Format tag of the model file; bumped when its content changes.
MODEL_FORMAT = "sarsense-svm-1"


def make_svm(*, kernel="rbf", gamma=0.125, c=100.0, degree=3, standardise=True):
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


def check_samples(x, y, names=None):
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


def fit(x, y, **params):
    """Fit :func:`make_svm` on samples ``x`` (n, bands) with labels ``y``; returns the fitted pipeline."""
    check_samples(x, y)
    model = make_svm(**params)
    model.fit(np.asarray(x, dtype=np.float64), np.asarray(y))
    return model


def evaluate(model, x, y, classes):
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


def predict_block(model, block, *, chunk=None):
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


def save_model(path, x, y, params, meta):
    """Write the model file: training samples, parameters and metadata (dates, classes …); no pickle.

    ``params`` are :func:`make_svm`'s keyword arguments; ``meta`` any JSON-serialisable dict.
    """
    header = {"format": MODEL_FORMAT, "params": params, "meta": meta}
    with open(path, "wb") as f:
        np.savez_compressed(f, x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.int64),
                            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8))
    return path


def load_model(path):
    """Read a :func:`save_model` file and refit it: returns ``(fitted pipeline, params, meta)``.

    Refuses a file that is not a SARSense SVM model, naming what it found.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode("utf-8"))
            x, y = z["x"], z["y"]
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"'{path}' is not a SARSense SVM model file ({err}); train one with 'SVM classification'") \
            from None
    if header.get("format") != MODEL_FORMAT:
        raise ValueError(f"'{path}' has format {header.get('format')!r}, not {MODEL_FORMAT!r}: retrain it with this "
                         "version of SARSense")
    return fit(x, y, **header["params"]), header["params"], header["meta"]
