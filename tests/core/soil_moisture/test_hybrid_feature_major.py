"""Issue #31: annmoisture's map made feature-major (predictor rows straight from the block, the graph rewritten at
load time) equals the pixel-major path it replaced, pixels gathered and run through ``predict_pixels``, within
float32 rounding, nodata pixels and counts included."""

import os

import numpy as np
import pytest
from helpers import read_raster, write_raster

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.soil_moisture import hybrid, series

BUNDLED = os.path.join(str(rt.BUNDLED_MODELS_DIR), "soil_moisture_hybrid.onnx")
DATES = ["2021-05-01", "2021-05-13", "2021-05-25"]
POROSITY = 0.3      # below the bundled network's own bound (0.5): the map is clipped somewhere


def _predictors(model, dates, shape=(45, 52), seed=3):
    """(dates, inputs, rows, cols) around the training data, 3 % of the values NaN and a corner with none."""
    c = model.contract
    rng = np.random.default_rng(seed)
    x = (np.asarray(c.norm_offset)[None, :, None, None]
         + np.asarray(c.norm_scale)[None, :, None, None] * rng.normal(0, 1.7, (len(dates), c.n_inputs) + shape))
    x = x.astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[:, :, :4, :5] = np.nan
    return x


def _pixel_major(model, x):
    """The path annmoisture took before: per date the complete pixels gathered, ``predict_pixels``, scattered."""
    d, n_in, rows, cols = x.shape
    mean, spread = np.full((2, d, rows * cols), np.nan, np.float32)
    for k in range(d):
        pix = x[k].reshape(n_in, -1).T
        ok = np.all(np.isfinite(pix), axis=1)
        y = model.predict_pixels(pix[ok])
        mean[k, ok], spread[k, ok] = y[:, 0], y[:, 1]
    return mean.reshape(d, rows, cols), spread.reshape(d, rows, cols)


@pytest.mark.parametrize("layout", ["one date, one raster per input", "three dates, one incidence map for all"])
def test_the_map_equals_the_pixel_major_path_within_float32_rounding(tmp_path, layout):
    model = rt.Model(BUNDLED, threads=1)
    assert model.feature_major is not None
    dates = DATES[:1] if layout.startswith("one") else DATES
    x = _predictors(model, dates)
    theta = hybrid.BEST_SET.index("theta")
    if len(dates) > 1:
        x[:, theta] = x[:1, theta]                  # one incidence map, read once, serves every date
    paths = [write_raster(tmp_path / f"p{i}.tif", x[:1, i] if i == theta else x[:, i], descriptions=dates
                          if i != theta or len(dates) == 1 else None) for i in range(x.shape[1])]
    date_inputs = [[(p, 1 if i == theta else k + 1) for i, p in enumerate(paths)] for k in range(len(dates))]
    res = hybrid.map_soil_moisture(model, date_inputs, dates, str(tmp_path / "ssm.tif"), str(tmp_path / "sd.tif"),
                                   series=series.SeriesOptions(porosity=POROSITY),
                                   options=RunOptions(block_size=32, workers=2))
    mean, spread = _pixel_major(model, x)
    raw = mean.copy()
    below, above = series.clip_ssm(mean, POROSITY)
    got_mean, got_spread = read_raster(tmp_path / "ssm.tif"), read_raster(tmp_path / "sd.tif")
    assert np.array_equal(np.isnan(got_mean), np.isnan(mean)) and np.isnan(mean).sum() > 20 * len(dates)
    np.testing.assert_allclose(got_mean, mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got_spread, spread, rtol=0, atol=1e-6)
    # the clip counts may differ only by pixels the rounding puts on the other side of a bound
    near = lambda bound: int(np.count_nonzero(np.abs(raw - bound) <= 1e-6))   # noqa: E731
    assert abs(res["below_range"] - below) <= near(0.0) and abs(res["above_range"] - above) <= near(POROSITY)
    assert below + above > 0
    finite = np.isfinite(x)
    complete, some = finite.all(axis=1), finite.any(axis=1)
    c = model.contract
    low = (np.asarray(c.norm_offset, np.float32) - hybrid.OUTSIDE_SD * np.abs(np.asarray(c.norm_scale, np.float32)))
    high = (np.asarray(c.norm_offset, np.float32) + hybrid.OUTSIDE_SD * np.abs(np.asarray(c.norm_scale, np.float32)))
    far = ((x < low[None, :, None, None]) | (x > high[None, :, None, None])).any(axis=1)
    assert res["no_input"] == int(np.count_nonzero(some & ~complete)) > 0
    assert res["outside"] == int(np.count_nonzero(far & complete)) > 0
