"""Soil moisture I core: every formula against hand values, NaN rules, block-wise = whole-array."""

import math

import numpy as np
import pytest
from helpers import read_raster, write_raster

from sarsense.algorithms.io import RunOptions, read_info
from sarsense.algorithms.soil_moisture import change_detection as cd
from sarsense.algorithms.soil_moisture import ndvi, regression, terrain, timeinterp, water_cloud

NAN = np.nan


# -- NDVI (000 eq. 1, §2.1.4) ---------------------------------------------------------------------------
def test_ndvi_hand_values_and_validity_range():
    red = np.array([[0.05, 0.10, 0.30]], np.float32)
    nir = np.array([[0.45, 0.10, 0.33]], np.float32)
    # (0.45-0.05)/(0.5) = 0.8 (kept: the range is closed), 0 → NaN (below 0.15), 0.03/0.63 = 0.0476 → NaN
    np.testing.assert_allclose(ndvi.ndvi(red, nir, mask_outside=False), [[0.8, 0.0, 0.03 / 0.63]], rtol=1e-6)
    got = ndvi.ndvi(red, nir, mask_outside=True)
    assert got[0, 0] == pytest.approx(0.8) and np.isnan(got[0, 1:]).all()


def test_ndvi_scale_alone_changes_nothing_offset_does():
    red, nir = np.array([[1000.0]]), np.array([[3000.0]])
    assert ndvi.ndvi(red, nir, scale=1e-4)[0, 0] == pytest.approx(0.5)
    # S2 L2A baseline 04.00: reflectance = DN·1e-4 − 0.1 → (0.2 − 0.0)/(0.2 + 0.0): red 0 is not positive → NaN
    assert np.isnan(ndvi.ndvi(red, nir, scale=1e-4, offset=-0.1)[0, 0])
    assert ndvi.ndvi([[1500.0]], nir, scale=1e-4, offset=-0.1, mask_outside=False)[0, 0] == pytest.approx(0.15 / 0.25)


def test_ndvi_refuses_bad_scale():
    with pytest.raises(ValueError, match="scale factor"):
        ndvi.ndvi([[1.0]], [[2.0]], scale=0)


# -- time interpolation ----------------------------------------------------------------------------------
def test_interpolation_equals_numpy_interp_per_pixel_with_nan_dates_and_gaps():
    rng = np.random.default_rng(3)
    dates = ["2016-01-01", "2016-01-11", "2016-01-21", "2016-03-15", "2016-03-25"]
    stack = rng.uniform(0.2, 0.8, (5, 4, 6)).astype(np.float32)
    stack[1, 0, 0] = NAN               # skipped: interpolated from 01-01 to 01-21
    stack[:, 1, 1] = NAN               # never valid
    stack[0, 2, 2] = NAN               # first valid date is 01-11
    targets = ["2015-12-31", "2016-01-01", "2016-01-06", "2016-01-16", "2016-02-10", "2016-03-20", "2016-03-26"]
    got = timeinterp.interpolate_time(stack, dates, targets, max_gap_days=32)
    d, t = timeinterp.day_numbers(dates), timeinterp.day_numbers(targets)
    for r in range(4):
        for c in range(6):
            ok = np.isfinite(stack[:, r, c])
            if not ok.any():
                assert np.isnan(got[:, r, c]).all()
                continue
            ref = np.interp(t, d[ok], stack[ok, r, c], left=NAN, right=NAN)
            dv = d[ok]
            for k, tk in enumerate(t):       # the gap rule: the valid dates around tk at most 32 days apart
                before, after = dv[dv <= tk], dv[dv >= tk]
                if before.size and after.size and after.min() - before.max() > 32:
                    ref[k] = NAN
            np.testing.assert_allclose(got[:, r, c], ref, rtol=1e-6, atol=1e-7)
    # 01-21 → 03-15 is 54 days: 02-10 is NaN everywhere; 01-06 at the pixel without 01-11 is the mean of 01-01 and
    # 01-11's neighbours
    assert np.isnan(got[4]).all()
    assert got[2, 0, 0] == pytest.approx(stack[0, 0, 0] + 0.25 * (stack[2, 0, 0] - stack[0, 0, 0]), rel=1e-6)


def test_interpolation_refuses_repeated_dates_and_bad_gap():
    with pytest.raises(ValueError, match="same date twice"):
        timeinterp.interpolate_time(np.zeros((2, 1, 1)), ["2016-01-01", "2016-01-01"], ["2016-01-01"])
    with pytest.raises(ValueError, match="gap"):
        timeinterp.interpolate_time(np.zeros((2, 1, 1)), ["2016-01-01", "2016-01-02"], ["2016-01-01"],
                                    max_gap_days=float("nan"))


# -- change detection (000 eq. 2-3) ---------------------------------------------------------------------
def _series():
    """3×3 pixels × 6 dates, dB."""
    s = np.empty((6, 3, 3), np.float32)
    s[:] = np.array([-14.0, -12.0, -10.0, -11.0, -13.0, -9.0])[:, None, None]
    s[:, 0, 1] = [-10.0, -10.1, -10.2, -10.3, -10.0, -10.1]    # dynamic 0.3 dB < 0.5 → NaN (flat)
    s[:, 0, 2] = [-10.0, NAN, NAN, NAN, -12.0, -11.0]           # 3 valid dates < 5 → NaN (few)
    s[2, 1, 1] = NAN                                            # one NaN date: still 5 valid
    return s


def test_change_index_minmax_hand_values_and_nan_rules():
    idx, few, flat = cd.change_index(_series(), min_dates=5)
    # (σ − (−14)) / (−9 − (−14)) = (σ + 14)/5
    np.testing.assert_allclose(idx[:, 0, 0], [0.0, 0.4, 0.8, 0.6, 0.2, 1.0], rtol=1e-6)
    assert np.isnan(idx[:, 0, 1]).all() and np.isnan(idx[:, 0, 2]).all()
    assert np.isnan(idx[2, 1, 1]) and idx[5, 1, 1] == pytest.approx(1.0)
    assert (few, flat) == (1, 1)
    ssm = cd.ssm_from_index(idx, 0.05, 0.40)
    np.testing.assert_allclose(ssm[:, 0, 0], 0.05 + np.array([0, 0.4, 0.8, 0.6, 0.2, 1.0]) * 0.35, rtol=1e-6)


def test_change_index_percentile_is_clipped_and_matches_numpy():
    s = _series()
    idx, _, _ = cd.change_index(s, reference="percentile", low_pct=10, high_pct=90, min_dates=5)
    p10, p90 = np.percentile(s[:, 0, 0], [10, 90])          # -13.5 and -9.5
    assert (p10, p90) == (-13.5, -9.5)
    expected = np.clip((s[:, 0, 0] - p10) / (p90 - p10), 0, 1)
    np.testing.assert_allclose(idx[:, 0, 0], expected, rtol=1e-6)
    assert idx[0, 0, 0] == 0.0 and idx[5, 0, 0] == 1.0      # clipped ends


def test_nan_percentiles_equal_numpy():
    x = np.random.default_rng(1).normal(size=(11, 7, 9)).astype(np.float32)
    x[x > 1.0] = NAN
    x[:, 0, 0] = NAN
    lo, hi = cd.nan_percentiles(x, (5, 95))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.nanpercentile(x.astype(np.float64), [5, 95], axis=0)
    np.testing.assert_allclose(lo, ref[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hi, ref[1], rtol=1e-6, atol=1e-6)


def test_ssm_rasters_and_bounds():
    assert np.isnan(cd.ssm_from_index(np.float32(0.5), 0.3, 0.2))          # min ≥ max per pixel → NaN
    assert cd.ssm_from_index(np.float32(0.5), np.float32(0.1), np.float32(0.3)) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="below"):
        cd.check_ssm_bounds(0.4, 0.4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        cd.check_ssm_bounds(0.05, 40)


def test_vegetation_cd_hand_values_and_sensitivity_rule():
    vv = np.array([-12.0, -10.0, -9.0], np.float32)[:, None, None] * np.ones((3, 1, 2), np.float32)
    v1 = np.array([0.2, 0.5, 0.9], np.float32)[:, None, None] * np.ones((3, 1, 2), np.float32)
    ssm, weak = cd.vegetation_cd(vv, v1, alpha=20.0, beta=22.0, ssm_min=0.05)
    # ΔVV = 0, 2, 3 dB; α − β·V1 = 15.6, 9, 0.2 → 0.05, 0.05 + 2/9, 0.05 + 3/0.2
    np.testing.assert_allclose(ssm[:, 0, 0], [0.05, 0.05 + 2 / 9, 0.05 + 3 / 0.2], rtol=1e-5)
    v1[2] = 20.0 / 22.0                                      # α − β·V1 = 0 → NaN, counted
    ssm, weak = cd.vegetation_cd(vv, v1, alpha=20.0, beta=22.0, ssm_min=0.05)
    assert np.isnan(ssm[2]).all() and weak == 2


# -- terrain (004 eq. 3) ---------------------------------------------------------------------------------
def test_flat_dem_leaves_sigma_unchanged_exactly():
    dem = np.full((5, 6), 120.0)
    theta = terrain.local_incidence(dem, dx_m=10, dy_m=10, incidence_deg=37.0, heading_deg=348.0)
    np.testing.assert_allclose(theta, 37.0, atol=1e-5)
    sigma = np.random.default_rng(0).uniform(0.01, 0.2, (5, 6))
    out, ns, nl = terrain.flatten(sigma, np.full((5, 6), 37.0), 37.0)
    assert np.array_equal(out, sigma.astype(np.float32)) and (ns, nl) == (0, 0)


@pytest.mark.parametrize("slope_deg", [5.0, 20.0, -15.0, 45.0, -60.0])
def test_tilted_plane_gives_closed_form_local_incidence(slope_deg):
    """Heading north, right-looking: the radar looks east. A plane rising to the east by s faces the
    radar: θ_DEM = θ − s (negative = layover); rising to the west: θ + s (≥ 90 = shadow)."""
    x = np.arange(8) * 30.0
    dem = np.tile(x * math.tan(math.radians(slope_deg)), (6, 1))
    theta = terrain.local_incidence(dem, dx_m=30.0, dy_m=30.0, incidence_deg=40.0, heading_deg=0.0)
    assert theta[3, 3] == pytest.approx(40.0 - slope_deg, abs=1e-4)
    out, ns, nl = terrain.flatten(np.ones((6, 8)), theta, 40.0)
    if 40.0 - slope_deg <= 0 or 40.0 - slope_deg >= 90:
        # the edge columns see half the slope (Horn, edges replicated): the 6 inner columns are masked
        assert np.isnan(out[3, 3]) and (ns if slope_deg < 0 else nl) == 36
    else:
        expect = math.sin(math.radians(40.0 - slope_deg)) / math.sin(math.radians(40.0))
        assert out[3, 3] == pytest.approx(expect, rel=1e-5)


def test_left_looking_and_north_facing_slope():
    # heading 90° (flying east), right-looking → looks south; a plane rising to the south faces the radar
    y = np.arange(7)[:, None] * 10.0
    dem = np.tile(y * math.tan(math.radians(10.0)), (1, 5))    # rows go south: height rises southwards
    t_right = terrain.local_incidence(dem, dx_m=10, dy_m=10, incidence_deg=35.0, heading_deg=90.0)
    t_left = terrain.local_incidence(dem, dx_m=10, dy_m=10, incidence_deg=35.0, heading_deg=90.0, look="left")
    assert t_right[3, 2] == pytest.approx(25.0, abs=1e-4) and t_left[3, 2] == pytest.approx(45.0, abs=1e-4)


def test_flatten_in_db_adds_the_ratio_and_metres_per_degree():
    out, _, _ = terrain.flatten(np.array([-10.0]), np.array([30.0]), 40.0, in_db=True)
    assert out[0] == pytest.approx(-10.0 + 10 * math.log10(math.sin(math.radians(30)) / math.sin(math.radians(40))))
    east, north = terrain.metres_per_degree(0.0)
    assert east == pytest.approx(111319.49, abs=0.1) and north == pytest.approx(110574.39, abs=0.5)
    east60, _ = terrain.metres_per_degree(60.0)
    assert east60 == pytest.approx(55799.98, abs=1.0)


def test_incidence_outside_0_90_is_refused():
    with pytest.raises(ValueError, match="between 0 and 90"):
        terrain.check_incidence(np.array([0.7, 35.0]) * 0 + 95.0)
    terrain.check_incidence(np.array([30.0, NAN]))


# -- Water Cloud Model (004 eq. 1, 4-6) ------------------------------------------------------------------
def test_water_cloud_hand_values():
    ndvi_v, theta = 0.5, 40.0
    lai = 0.57 * math.exp(2.33 * 0.5)                     # 0.57·e^1.165 = 1.82738
    tau2 = math.exp(-2 * lai / math.cos(math.radians(theta)))
    veg = lai * math.cos(math.radians(theta)) * (1 - tau2)
    sigma = veg + 0.05 * tau2
    soil, v, n = water_cloud.water_cloud(np.array([sigma]), np.array([ndvi_v]), theta,
                                         a=water_cloud.PRINTED_A, b=water_cloud.PRINTED_B)
    assert water_cloud.lai_from_ndvi(0.5) == pytest.approx(1.82738, rel=1e-5)
    assert v[0] == pytest.approx(veg, rel=1e-5) and soil[0] == pytest.approx(0.05, rel=1e-4) and n == 0
    soil, _, n = water_cloud.water_cloud(np.array([veg * 0.9]), np.array([ndvi_v]), theta, a=1.0, b=1.0)
    assert np.isnan(soil[0]) and n == 1


def test_water_cloud_a_b_and_bare_soil():
    soil, veg, _ = water_cloud.water_cloud(np.array([0.1]), np.array([0.5]), 30.0, a=0.0, b=0.0)
    assert soil[0] == pytest.approx(0.1) and veg[0] == 0.0      # no vegetation effect at all
    with pytest.raises(ValueError, match="parameter B"):
        water_cloud.water_cloud(np.array([0.1]), np.array([0.5]), 30.0, a=1.0, b=-1)


# -- the jobs: block-wise = whole-array, and the whole-array run = the kernels on the arrays ---------------
GEOGRAPHIC = dict(epsg=4326, gt=(-60.0, 0.0002, 0.0, -17.0, 0.0, -0.0002))


def _scene(tmp_path, **grid):
    rng = np.random.default_rng(5)
    n, h, w = 7, 70, 90
    vv = rng.normal(-12, 2, (n, h, w)).astype(np.float32)
    vv[rng.random(vv.shape) < 0.1] = NAN
    v1 = rng.uniform(0.2, 0.8, (n, h, w)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    dem = (200 + 30 * np.sin(xx / 7.0) + 20 * np.cos(yy / 5.0)).astype(np.float32)
    dates = [f"2016-01-{d:02d}" for d in range(1, 15, 2)]
    paths = {"vv": write_raster(tmp_path / "vv.tif", vv, descriptions=dates, **grid),
             "v1": write_raster(tmp_path / "v1.tif", v1, descriptions=dates, **grid),
             "dem": write_raster(tmp_path / "dem.tif", dem, **grid),
             "ssm_min": write_raster(tmp_path / "smin.tif", np.full((h, w), 0.1, np.float32), **grid)}
    return paths, dates, {"vv": vv, "v1": v1, "dem": dem}


def _jobs(p, dates):
    """name → (job(outputs, options) writing the outputs, number of outputs)."""
    n = len(dates)
    lines = [{"slope": 0.01 * (k + 1), "intercept": 0.3} if k % 3 else None for k in range(n)]
    return {
        "cd": (lambda o, opts: cd.change_detection_file(p["vv"], o[0], o[1], output_dvv=o[2], dates=dates,
                                                        min_dates=4, ssm_min_raster=p["ssm_min"], options=opts), 3),
        "pct": (lambda o, opts: cd.change_detection_file(p["vv"], o[0], o[1], dates=dates, reference="percentile",
                                                         min_dates=4, options=opts), 2),
        "veg": (lambda o, opts: cd.vegetation_cd_file(p["vv"], p["v1"], o[0], dates=dates, v1_bands=range(1, n + 1),
                                                      alpha=20, beta=15, ssm_min=0.05, options=opts), 1),
        "interp": (lambda o, opts: timeinterp.interpolate_time_file(p["v1"], o[0], dates=dates,
                                                                    targets=["2016-01-04", "2016-01-12"],
                                                                    options=opts), 1),
        "terrain": (lambda o, opts: terrain.terrain_flatten_file(p["vv"], p["dem"], o[0], heading_deg=190,
                                                                 incidence_deg=38, in_db=True,
                                                                 output_local_incidence=o[1], options=opts), 2),
        "wcm": (lambda o, opts: water_cloud.water_cloud_file(p["vv"], p["v1"], o[0], ndvi_bands=range(1, n + 1),
                                                             incidence_deg=35.0, a=0.05, b=0.1, in_db=True,
                                                             output_veg=o[1], options=opts), 2),
        "ndvi": (lambda o, opts: ndvi.ndvi_file(p["v1"], p["v1"], o[0], red_bands=[1, 2], nir_bands=[3, 4],
                                                options=opts), 1),
        "regress": (lambda o, opts: regression.regression_map_file(p["vv"], o[0], lines, dates=dates, options=opts),
                    1),
    }


@pytest.mark.parametrize("grid", [{}, GEOGRAPHIC], ids=["projected", "geographic"])
def test_every_job_blockwise_equals_whole_array(tmp_path, grid):
    p, dates, _ = _scene(tmp_path, **grid)
    for name, (job, n_out) in _jobs(p, dates).items():
        whole = [str(tmp_path / f"{name}_whole_{k}.tif") for k in range(n_out)]
        blocks = [str(tmp_path / f"{name}_blocks_{k}.tif") for k in range(n_out)]
        counted_whole = job(whole, RunOptions())
        counted_blocks = job(blocks, RunOptions(block_size=32, workers=2))
        assert counted_whole == counted_blocks, name
        for a, b in zip(whole, blocks):
            np.testing.assert_array_equal(read_raster(b), read_raster(a), err_msg=name)


def test_the_jobs_write_what_the_kernels_give_with_dates_and_counts(tmp_path):
    p, dates, arr = _scene(tmp_path)
    n = len(dates)
    out = [str(tmp_path / f"o{k}.tif") for k in range(3)]
    counted = cd.change_detection_file(p["vv"], out[0], out[1], output_dvv=out[2], dates=dates, min_dates=4,
                                       ssm_min_raster=p["ssm_min"], options=RunOptions(block_size=32))
    index, few, flat = cd.change_index(arr["vv"], min_dates=4)
    np.testing.assert_array_equal(read_raster(out[0]), index)
    np.testing.assert_array_equal(read_raster(out[1]), cd.ssm_from_index(index, np.float32(0.1), 0.40))
    np.testing.assert_array_equal(read_raster(out[2]), cd.delta_vv(arr["vv"], min_dates=4))
    counted.pop("references")
    assert counted == {"infinite": 0, "few": few, "flat": flat, "below_range": 0, "above_range": 0,
                       "clipped": 0} and few > 0
    assert list(read_info(out[1]).descriptions) == dates
    veg, weak = cd.vegetation_cd(arr["vv"], arr["v1"], alpha=20, beta=30, ssm_min=0.05)
    counted = cd.vegetation_cd_file(p["vv"], p["v1"], out[0], dates=dates, v1_bands=range(1, n + 1), alpha=20,
                                    beta=30, ssm_min=0.05, options=RunOptions(block_size=32))
    high = int(np.count_nonzero(veg > 0.5))       # the map stays in 0..porosity (0.5 m³/m³), what it clipped counted
    np.testing.assert_array_equal(read_raster(out[0]), np.where(veg > 0.5, np.float32(0.5), veg))
    assert counted["weak"] == weak > 0 and counted["above_range"] == high > 0 and counted["below_range"] == 0
    assert counted["clipped"] == high and counted["no_v1"] == int((np.isfinite(arr["vv"]) & np.isnan(arr["v1"])).sum())
    soil, _, none_left = water_cloud.water_cloud(10 ** (arr["vv"] / 10), arr["v1"], 35.0, a=1.0, b=1.0)
    counted = water_cloud.water_cloud_file(p["vv"], p["v1"], out[0], ndvi_bands=range(1, n + 1), incidence_deg=35.0,
                                           a=1.0, b=1.0, in_db=True,
                                           options=RunOptions(block_size=32, allow_empty=True))  # A = B = 1: all NaN
    np.testing.assert_allclose(read_raster(out[0]), 10 * np.log10(soil), rtol=1e-5)
    assert counted["no_soil"] == none_left
    theta = terrain.local_incidence(arr["dem"], dx_m=20, dy_m=20, incidence_deg=38, heading_deg=190)
    counted = terrain.terrain_flatten_file(p["vv"], p["dem"], out[0], heading_deg=190, incidence_deg=38, in_db=True,
                                           output_local_incidence=out[1], options=RunOptions(block_size=32))
    np.testing.assert_array_equal(read_raster(out[1])[0], theta)
    np.testing.assert_array_equal(read_raster(out[0]), terrain.flatten(arr["vv"], theta, 38, in_db=True)[0])
    assert read_raster(out[0]).shape == (n, 70, 90) and counted["shadow"] + counted["layover"] == 0
    ndvi.ndvi_file(p["v1"], p["v1"], out[0], red_bands=[1], nir_bands=[2], dates=dates[:1])
    np.testing.assert_array_equal(read_raster(out[0])[0], ndvi.ndvi(arr["v1"][0], arr["v1"][1]))
    assert list(read_info(out[0]).descriptions) == dates[:1]
    timeinterp.interpolate_time_file(p["v1"], out[0], dates=dates, targets=["2016-01-04"])
    np.testing.assert_array_equal(read_raster(out[0]), timeinterp.interpolate_time(arr["v1"], dates, ["2016-01-04"]))
