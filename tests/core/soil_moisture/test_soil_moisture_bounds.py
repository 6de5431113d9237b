"""Soil moisture stays in [0, porosity] (#29): one clip function for every job, the clipped pixel-dates counted and
written in the output's metadata, NaN causes counted; the defaults from real data (NDVI above 0.8 kept,
interpolatetime's gap from Sentinel-2's revisit and clouds)."""

import datetime as dt

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.soil_moisture import calibration, hybrid, ndvi, regression, series, timeinterp
from sarsense.algorithms.soil_moisture import change_detection as cd

DATES = ["2018-04-01", "2018-04-07", "2018-04-13", "2018-04-19", "2018-04-25", "2018-05-01"]


def test_clip_ssm_bounds_to_zero_and_the_porosity_and_counts():
    v = np.array([-0.1, 0.0, 0.2, 0.45, 0.7, np.nan], np.float32)
    assert series.clip_ssm(v, 0.45) == (1, 1)
    np.testing.assert_array_equal(v, np.array([0.0, 0.0, 0.2, 0.45, 0.45, np.nan], np.float32))
    pct = np.array([-5.0, 30.0, 70.0], np.float32)          # a map in percent: bounded by 100·porosity
    assert series.clip_ssm(pct, 0.5, percent=True) == (1, 1)
    np.testing.assert_array_equal(pct, [0.0, 30.0, 50.0])
    for bad in (0.0, 1.2, np.nan):
        with pytest.raises(ValueError, match="porosity"):
            series.clip_ssm(np.zeros(2, np.float32), bad)
    assert series.clipped({"below_range": 2, "above_range": 3}) == 5


def test_ssm_max_above_the_porosity_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="lower SSM_max .* or raise the porosity"):
        series.check_ssm_max(0.6, 0.5)
    series.check_ssm_max(0.5, 0.5)
    with pytest.raises(ValueError, match="SSM_min"):
        series.check_ssm_min(0.5, 0.5)


def _vv(tmp_path, amplitude_db=8.0):
    rng = np.random.default_rng(1)
    t = np.arange(len(DATES))
    vv = -14.0 + amplitude_db * np.abs(np.sin(t / 2.0))[:, None, None] + rng.normal(0, 0.2, (len(DATES), 8, 9))
    return write_raster(tmp_path / "vv.tif", vv.astype(np.float32), descriptions=DATES), vv.astype(np.float32)


def _metadata(path):
    return gdal.Open(path).GetMetadata()


def test_change_detection_clips_a_wettest_raster_above_the_porosity(tmp_path):
    vv, _ = _vv(tmp_path)
    smax = np.full((8, 9), 0.40, np.float32)
    smax[:3] = 0.70                                       # a soil map wetter than saturation on 3 rows
    smax_p = write_raster(tmp_path / "smax.tif", smax)
    out_i, out_s = str(tmp_path / "i.tif"), str(tmp_path / "s.tif")
    c = cd.change_detection_file(vv, out_i, out_s, dates=DATES, ssm_max_raster=smax_p,
                                 series=series.SeriesOptions(porosity=0.45))
    index = read_raster(out_i)
    ssm = read_raster(out_s)
    raw = cd.ssm_from_index(index, 0.05, smax)
    above = int(np.count_nonzero(raw > 0.45))
    assert np.nanmax(ssm) <= 0.45 and np.nanmin(ssm) >= 0.0
    assert c["above_range"] == above > 0 and c["clipped"] == above and c["below_range"] == 0
    meta = _metadata(out_s)
    assert meta["SSM_POROSITY"] == "0.45" and meta["SSM_CLIPPED_ABOVE_POROSITY"] == str(above)
    with pytest.raises(ValueError, match="porosity"):
        cd.change_detection_file(vv, out_i, out_s, dates=DATES, ssm_max=0.6)   # default porosity 0.5


def test_vegetation_cd_clips_to_the_porosity_and_counts_no_v1(tmp_path):
    vv, arr = _vv(tmp_path)
    v1 = np.full(arr.shape, 0.7, np.float32)
    v1[2, :2] = np.nan                                    # no NDVI on one date of two rows
    v1_p = write_raster(tmp_path / "v1.tif", v1, descriptions=DATES)
    out = str(tmp_path / "o.tif")
    c = cd.vegetation_cd_file(vv, v1_p, out, dates=DATES, v1_bands=range(1, 7), alpha=20, beta=20, ssm_min=0.05)
    raw, _ = cd.vegetation_cd(arr, v1, alpha=20, beta=20, ssm_min=0.05)  # sensitivity 6 dB per m³/m³: up to 1.4
    got = read_raster(out)
    assert np.nanmax(raw) > 0.5 and np.nanmax(got) == pytest.approx(0.5)
    assert c["above_range"] == int(np.count_nonzero(raw > 0.5)) == c["clipped"]
    assert c["no_v1"] == 2 * 9
    assert _metadata(out)["SSM_CLIPPED_ABOVE_POROSITY"] == str(c["above_range"])


def test_regression_map_clips_in_its_units(tmp_path):
    vv, arr = _vv(tmp_path)
    line = {"slope": 0.1, "intercept": 1.7}               # −14 dB → 0.3, −6 dB → 1.1: above the porosity
    out = str(tmp_path / "r.tif")
    c = regression.regression_map_file(vv, out, [line] * len(DATES), dates=DATES,
                                       series=series.SeriesOptions(porosity=0.4))
    raw = arr * 0.1 + 1.7
    assert np.nanmax(read_raster(out)) == pytest.approx(0.4)
    assert c["above_range"] == int(np.count_nonzero(raw > 0.4)) and c["below_range"] == 0
    pct = {"slope": 10.0, "intercept": 170.0}             # the same line in percent
    c = regression.regression_map_file(vv, out, [pct] * len(DATES), dates=DATES, percent=True)
    assert np.nanmax(read_raster(out)) == pytest.approx(50.0) and c["above_range"] > 0


class _Contract:
    name, n_inputs, norm_offset, norm_scale = "toy", 2, (0.0, 0.0), (1.0, 1.0)


class _Card:
    def label(self, d):
        return d

    def metadata(self):
        return {}


class _Model:
    """A per-pixel 'network' returning 0.2·x0 (mean) and 0.01 (spread): what map_soil_moisture needs of a model."""
    contract, card, sha256 = _Contract(), _Card(), "0"

    def predict_features(self, x):
        return np.stack([0.2 * x[0], np.full(x.shape[1], 0.01)]).astype(np.float32)


def test_the_network_map_is_clipped_and_its_nan_causes_counted(tmp_path):
    x0 = np.linspace(-2.0, 6.0, 8 * 9, dtype=np.float32).reshape(1, 8, 9)   # 0.2·x0: −0.4 … 1.2 m³/m³
    x1 = np.zeros((1, 8, 9), np.float32)
    x1[0, 0, :3] = np.nan                                 # one predictor missing on 3 pixels
    p0, p1 = write_raster(tmp_path / "x0.tif", x0, descriptions=DATES[:1]), write_raster(tmp_path / "x1.tif", x1)
    out = str(tmp_path / "a.tif")
    c = hybrid.map_soil_moisture(_Model(), [[(p0, 1), (p1, 1)]], DATES[:1], out,
                                 series=series.SeriesOptions(porosity=0.45))
    raw = 0.2 * x0[0]
    raw[0, :3] = np.nan
    got = read_raster(out)
    assert np.nanmin(got) == 0.0 and np.nanmax(got) == pytest.approx(0.45)
    assert c["below_range"] == int(np.count_nonzero(raw < 0)) and c["above_range"] == int(np.count_nonzero(raw > 0.45))
    assert c["no_input"] == 3
    # x0 beyond 4 training SD (offset 0, scale 1): the pixels the network extrapolates on
    assert c["outside"] == int(np.count_nonzero(np.isfinite(raw) & (np.abs(x0[0]) > hybrid.OUTSIDE_SD)))


def test_ndvi_keeps_dense_crops_by_default_and_counts_outside_the_papers_range(tmp_path):
    red = np.full((2, 4, 4), 0.03, np.float32)
    nir = np.full((2, 4, 4), 0.57, np.float32)            # NDVI 0.9: a dense crop
    nir[:, :, :2] = 0.033                                 # NDVI 0.0476: water or bare soil
    r, n = write_raster(tmp_path / "r.tif", red), write_raster(tmp_path / "n.tif", nir)
    out = str(tmp_path / "nd.tif")
    c = ndvi.ndvi_file(r, n, out, red_bands=[1, 2], nir_bands=[1, 2])
    got = read_raster(out)
    assert np.nanmax(got) == pytest.approx(0.9) and np.isfinite(got).all()
    assert (c["above_valid"], c["below_valid"], c["valid"]) == (16, 16, 32)
    with pytest.raises(ValueError, match="every pixel"):          # the paper's selection drops both
        ndvi.ndvi_file(r, n, str(tmp_path / "nd2.tif"), red_bands=[1, 2], nir_bands=[1, 2], mask_outside=True)


def test_unbridged_share_is_what_clouds_on_a_5_day_revisit_leave():
    rng = np.random.default_rng(0)
    days = np.arange(0.0, 200000.0, timeinterp.S2_REVISIT_DAYS)
    for p in (0.5, 0.7, 0.8):
        clear = days[rng.random(days.size) > p]
        t = rng.uniform(clear[0], clear[-1], 100000)
        i = np.searchsorted(clear, t)
        gap = clear[i] - clear[i - 1]
        for g in (32.0, 60.0):
            assert timeinterp.unbridged_share(g, cloud_probability=p) == pytest.approx(np.mean(gap > g), abs=0.02)
    # the default bridges what 32 days did not (the 46-74 % of radar dates without NDVI seen on real series)
    assert timeinterp.unbridged_share(timeinterp.DEFAULT_MAX_GAP_DAYS) < 0.1 < timeinterp.unbridged_share(32.0)


def _series_10_days(tmp_path):
    """NDVI every 10 days, each pixel clear only every 4th-5th acquisition (clouds): valid dates 40-50 days apart."""
    d0 = dt.date(2019, 4, 1)
    dates = [(d0 + dt.timedelta(days=10 * k)).isoformat() for k in range(19)]
    arr = np.full((19, 4, 5), np.nan, np.float32)
    for col in range(5):
        step = 4 if col % 2 else 5
        arr[col % 2::step, :, col] = 0.3 + 0.02 * np.arange(19)[col % 2::step, None]
    radar = [(d0 + dt.timedelta(days=6 * k)).isoformat() for k in range(1, 28)]
    return write_raster(tmp_path / "nd.tif", arr, descriptions=dates), dates, radar


def test_the_default_gap_fills_a_cloudy_10_day_ndvi_series_and_says_how_much(tmp_path):
    nd, dates, radar = _series_10_days(tmp_path)
    out = str(tmp_path / "o.tif")
    c = timeinterp.interpolate_time_file(nd, out, dates=dates, targets=radar)
    got = read_raster(out)
    assert c["filled"] == int(np.isfinite(got).sum()) and c["possible"] == len(radar) * 20
    assert c["filled_share"] == pytest.approx(c["filled"] / c["possible"]) and c["filled_share"] > 0.85
    c32 = timeinterp.interpolate_time_file(nd, out, dates=dates, targets=radar, max_gap_days=32.0)
    assert c32["filled_share"] < 0.2 and c32["dates_filled"] < c["dates_filled"]


def test_the_papers_lower_ndvi_limit_applies_to_the_soil_moisture_use(tmp_path):
    vv, arr = _vv(tmp_path)
    v1 = np.full(arr.shape, 0.5, np.float32)
    v1[:, 0, :4] = 0.1                                    # water or built-up land on 4 pixels, every date
    v1_p = write_raster(tmp_path / "v1.tif", v1, descriptions=DATES)
    out = str(tmp_path / "o.tif")
    c = cd.vegetation_cd_file(vv, v1_p, out, dates=DATES, v1_bands=range(1, 7), alpha=30, beta=10, ssm_min=0.05,
                              v1_min=ndvi.VALID_RANGE[0])
    got = read_raster(out)
    assert np.isnan(got[:, 0, :4]).all() and np.isfinite(got[:, 1:]).all()
    assert c["low_v1"] == 6 * 4
    assert calibration.v1_is_ndvi([0.05, 0.1, 0.6]) and not calibration.v1_is_ndvi([-14.0, -9.0, -6.0])
    assert not calibration.v1_is_ndvi([0.1, 0.3], "VH/VV") and calibration.v1_is_ndvi([-0.2, -0.1], "NDVI")
