"""Support vector machine classification of a dated stack (Liu et al. 2020, §3.2), with scikit-learn.

The paper classifies multi-temporal NDVH/NDVV with an RBF-kernel SVM, γ = 0.125, penalty C = 100,
training on 60 % of the samples and validating on the other 40 %. scikit-learn's ``SVC`` (libsvm,
one-against-one) does the fitting and the prediction; this module adds what a map needs around it:

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

from . import accuracy

KERNELS = ("rbf", "linear", "poly")
NODATA = 255
#: Format tag of the model file; bumped when its content changes.
MODEL_FORMAT = "sarsense-svm-1"


def split_samples(y, groups, *, fraction=0.6, by="polygon", seed=0):
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
    """Confusion matrix (rows = prediction, columns = reference) and :func:`.accuracy.sample_accuracy` of
    ``model`` on held-out samples; None when there are none."""
    if len(y) == 0:
        return None
    m = accuracy.confusion_matrix(y, model.predict(np.asarray(x, dtype=np.float64)), classes)
    return {"matrix": m, **accuracy.sample_accuracy(m)}


def predict_block(model, block, *, chunk=65536):
    """Class of every pixel of a ``(bands, rows, cols)`` block: uint8, :data:`NODATA` where a band is NaN.

    Pixels are predicted in chunks of ``chunk`` so the kernel-value buffers stay small.
    """
    bands, rows, cols = block.shape
    x = block.reshape(bands, -1).T
    valid = np.isfinite(x).all(axis=1)
    out = np.full(rows * cols, NODATA, dtype=np.uint8)
    idx = np.flatnonzero(valid)
    for start in range(0, len(idx), chunk):
        sel = idx[start:start + chunk]
        out[sel] = model.predict(x[sel].astype(np.float64))
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
