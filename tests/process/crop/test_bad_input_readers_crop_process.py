"""Issue #28, model files through qgis_process: a truncated, empty or foreign SVM model file is refused naming the
file, the reason and the fix (it was a zipfile.BadZipFile or TypeError traceback). A case per class of defect."""

import numpy as np
import pytest
from helpers import write_raster
from process_helpers import needs_qgis_process, refusal, run

from sarsense.algorithms.crop import svm

pytestmark = needs_qgis_process
DATES = ["2017-01-21", "2017-03-10"]


def _model(path):
    rng = np.random.default_rng(3)
    svm.save_model(str(path), rng.normal(size=(20, 2)), np.arange(20) % 2 + 1,
                   {"kernel": "rbf", "gamma": 0.5, "c": 1.0, "degree": 3, "standardise": True},
                   {"dates": DATES, "names": {"1": "rice", "2": "other"}})
    return path.read_bytes()


def _npy(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


MODELS = {
    # class: the file as a broken download or a wrong choice leaves it, and the reason the refusal gives
    "empty": (lambda p, good: p.write_bytes(b""), "truncated or damaged: the file is empty (0 bytes)"),
    "truncated": (lambda p, good: p.write_bytes(good[: len(good) // 2]), "truncated or damaged: not a complete zip"),
    "end cut": (lambda p, good: p.write_bytes(good[:-30]), "truncated or damaged: not a complete zip"),
    "text": (lambda p, good: p.write_text("model"), "not an .npz archive"),
    "npy": (lambda p, good: _npy(p), "a single numpy array (.npy), not an .npz archive"),
    "other archive": (lambda p, good: np.savez(p, a=np.zeros(3)), "it lacks header, x, y; it holds a"),
}


@pytest.mark.parametrize("case", sorted(MODELS))
def test_a_damaged_svm_model_is_named_with_the_fix(env, tmp_path, case):
    good = _model(tmp_path / "good.npz")
    make, reason = MODELS[case]
    model = tmp_path / "model.npz"
    make(model, good)
    before = model.read_bytes()
    stack = write_raster(tmp_path / "stack.tif", np.zeros((2, 10, 10), np.float32), descriptions=DATES)
    out = tmp_path / "classes.tif"
    refusal(run(env, "svmapply", f"--INPUT={stack}", f"--MODEL={model}", f"--OUTPUT={out}"),
            f"'{model}' is not a SARSense SVM model file", reason,
            "retrain it with 'SVM classification' or choose the file it wrote")
    assert not out.exists() and model.read_bytes() == before
