"""Soil moisture core, nothing silently wrong: the flags of a vegetation-corrected CD fit, the Water Cloud
Model's NaN counted by cause and its calibration, the report figures' legends off the plotted lines."""

import numpy as np
import pytest
from helpers import write_raster

from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.soil_moisture import calibration, validation, water_cloud


def test_plausibility_flags_what_eq7_does_not_admit():
    good = {"rmse": 0.07}, {"rmse": 0.06}
    assert calibration.plausibility(30.0, 20.0, v1=[0.2, 0.7], scores_classic=good[0], scores_corrected=good[1]) == []
    codes = [f["code"] for f in calibration.plausibility(6.1, -11.3, v1=[0.2, 0.7], scores_classic={"rmse": 0.097},
                                                         scores_corrected={"rmse": 0.120})]
    assert codes == ["beta_negative", "corrected_worse"]
    assert [f["code"] for f in calibration.plausibility(-1.0, 0.0, v1=[0.3])] == ["alpha_not_positive"]
    # α − β·V1 must stay > 0 up to NDVI 0.8 (the paper's samples), even when the samples stop at 0.5
    assert [f["code"] for f in calibration.plausibility(10.0, 14.0, v1=[0.2, 0.5])] == ["no_sensitivity"]
    # VH/VV in dB: the samples' own range
    assert calibration.plausibility(10.0, 0.5, v1=[-15.0, -5.0], v1_kind="VH/VV") == []


def test_water_cloud_counts_each_cause_of_nan(tmp_path):
    n, shape = 2, (4, 5)
    sigma = np.full((n, *shape), -10.0, np.float32)
    sigma[0, 0, 0] = np.nan                               # no σ°
    nd = np.full((n, *shape), 0.5, np.float32)
    nd[:, 1, :] = np.nan                                  # no NDVI: 2 × 5
    sig = write_raster(tmp_path / "s.tif", sigma, descriptions=["2016-01-01", "2016-01-13"])
    ndv = write_raster(tmp_path / "n.tif", nd, descriptions=["2016-01-01", "2016-01-13"])
    out = str(tmp_path / "o.tif")
    c = water_cloud.water_cloud_file(sig, ndv, out, ndvi_bands=[1, 2], incidence_deg=39.0, a=1.0, b=1.0, in_db=True,
                                     options=RunOptions(allow_empty=True))   # counted, not refused: see below
    assert (c["no_sigma"], c["no_ndvi"], c["valid"]) == (1, 10, 29) and c["no_soil"] == 29 and c["opaque"] == 0
    lai = water_cloud.lai_from_ndvi(0.5)
    cos_t = np.cos(np.radians(39.0))
    a_max = 0.1 / (lai * cos_t * (1 - np.exp(-2 * lai / cos_t)))    # σ° = 0.1: the largest A leaving a soil term
    assert c["a_max"] == pytest.approx(a_max, rel=1e-4)
    c = water_cloud.water_cloud_file(sig, ndv, out, ndvi_bands=[1, 2], incidence_deg=39.0, a=0.01, b=400.0,
                                     in_db=True, options=RunOptions(allow_empty=True))
    assert c["opaque"] == 29 and c["no_soil"] == 0 and c["infinite"] == 0


def test_water_cloud_fit_recovers_known_coefficients():
    rng = np.random.default_rng(1)
    k = 300
    nd, th, mv = rng.uniform(0.2, 0.8, k), rng.uniform(30, 45, k), rng.uniform(0.05, 0.4, k)
    sigma = water_cloud.forward_db((0.04, 0.12, -14.0, 25.0), nd, th, mv) + rng.normal(0, 0.2, k)
    r = water_cloud.fit(sigma, nd, th, mv, seed=0)
    assert r["a"] == pytest.approx(0.04, rel=0.15) and r["b"] == pytest.approx(0.12, rel=0.3)
    assert r["d"] == pytest.approx(25.0, rel=0.15) and r["flags"] == [] and r["scores_db"]["rmse"] < 0.3
    with pytest.raises(ValueError, match="at least 8"):
        water_cloud.fit(sigma[:5], nd[:5], th[:5], mv[:5])


def test_time_series_legend_is_outside_the_axes_and_explains_ndvi():
    t = np.arange("2016-04-01", "2016-06-01", dtype="datetime64[D]")[::6]
    m = len(t)
    fig = validation.timeseries_figure("Raam/RM_SM_01", t, np.linspace(0.1, 0.3, m), np.linspace(0.12, 0.28, m),
                                       np.linspace(-12, -8, m), np.linspace(0.3, 0.8, m))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [lg for ax in fig.axes for lg in [ax.get_legend()] if lg is not None] + list(fig.legends)
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), "the legend covers the plotted lines"
    labels = [t.get_text() for t in legends[0].get_texts()]
    assert "NDVI (unitless, right axis)" in labels and not any("− 20" in lab for lab in labels)
    assert "NDVI (unitless)" in [ax.get_ylabel() for ax in fig.axes]
