"""Issue 31: the CD + ANN hybrid's network bounds its output to [0, porosity] itself (porosity·sigmoid of the last
layer), for the plugin's trainer and the bundled model alike, whatever the predictors."""

import json

import numpy as np
import pytest

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.soil_moisture import hybrid, network, series

BUNDLED = rt.BUNDLED_MODELS_DIR / "soil_moisture_hybrid.onnx"


def _extremes(offset, scale, n=20000, seed=0):
    """Predictors from far beyond any training data: ±1e30, ±1e6, ±100 training SDs, mixed at random per channel."""
    rng = np.random.default_rng(seed)
    offset, scale = np.asarray(offset, np.float64), np.abs(np.asarray(scale, np.float64))
    levels = np.array([-1e30, -1e6, -100.0, -10.0, 0.0, 10.0, 100.0, 1e6, 1e30])
    pick = rng.integers(0, levels.size, (n, offset.size))
    sd = np.where(np.abs(levels[pick]) <= 100, scale * levels[pick], levels[pick])
    x = np.where(np.abs(levels[pick]) <= 100, offset + sd, levels[pick])
    return np.vstack([x, offset + scale * rng.normal(0, 30, (n, offset.size))]).astype(np.float32)


def _linear_samples(n=400, seed=0):
    """Soil moisture linear in three predictors, 0.02 … 0.28 m³/m³: a linear output extrapolates it below 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [3, 0.2, 5] + [-12, 0.5, 38]
    y = np.clip(0.15 + 0.03 * (x[:, 0] + 12) + 0.2 * (x[:, 1] - 0.5), 0.02, 0.28) + rng.normal(0, 0.005, n)
    return x, y


def test_a_trained_ensemble_stays_in_zero_to_porosity_for_extreme_predictors(tmp_path):
    x, y = _linear_samples()
    ens = hybrid.train_ensemble(x, y, members=3, seed=4, porosity=0.3)
    mean, _ = ens.predict(x)
    assert np.sqrt(np.mean((mean - y) ** 2)) < 0.3 * y.std()      # it learnt the relation
    c = hybrid.contract(ens, ["VV", "NDVI", "theta"], name="t", training_data="synthetic", summary="test")
    assert c["output"]["range"] == [0.0, 0.3] and c["training"]["porosity"] == 0.3
    hybrid.to_onnx(ens, tmp_path / "m.onnx", c)
    far = _extremes(ens.x_mean, ens.x_scale)
    every = ens.predict_all(far.astype(np.float64))
    assert every.min() >= 0.0 and every.max() <= 0.3
    assert every.min() < 0.01 and every.max() > 0.29           # the bound is reached, not a narrower range
    got = rt.Model(tmp_path / "m.onnx").predict_pixels(far)
    assert np.isfinite(got).all()
    assert got[:, 0].min() >= 0.0 and got[:, 0].max() <= np.float32(0.3)
    assert got[:, 1].min() >= 0.0 and got[:, 1].max() <= 0.15 + 1e-6


def test_the_same_seed_gives_the_same_network_and_another_seed_another():
    x, y = _linear_samples(200)
    a, b = (network.train_bounded(x, y, hidden=(5, 5), porosity=0.5, seed=1, max_iter=30)[0] for _ in range(2))
    c = network.train_bounded(x, y, hidden=(5, 5), porosity=0.5, seed=2, max_iter=30)[0]
    assert all(np.array_equal(u, v) for u, v in zip(a.weights + a.biases, b.weights + b.biases))
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_the_porosity_is_checked():
    x, y = _linear_samples(50)
    with pytest.raises(ValueError, match="porosity must be"):
        hybrid.train_ensemble(x, y, members=1, porosity=1.5)


def test_the_bundled_model_never_leaves_zero_to_porosity():
    model = rt.Model(BUNDLED)
    raw = json.loads(model.session.get_modelmeta().custom_metadata_map["sarsense"])
    porosity = series.DEFAULT_POROSITY
    assert raw["output"]["range"] == [0.0, porosity] and raw["training"]["porosity"] == porosity
    c = model.contract
    got = model.predict_pixels(_extremes(c.norm_offset, c.norm_scale, seed=1))
    assert np.isfinite(got).all()
    assert got[:, 0].min() >= 0.0 and got[:, 0].max() <= porosity
    assert got[:, 1].min() >= 0.0 and got[:, 1].max() <= porosity / 2 + 1e-6
