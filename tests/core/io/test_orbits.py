"""Orbit groups of a dated stack (algorithms/io/orbits.py, issue #29): by relative orbit, else by time of day
(circular, no chaining beyond the tolerance), date-only bands in one group; and the per-orbit change detection
(algorithms/soil_moisture/change_detection.py) equals each orbit run alone, merged back in band order."""

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.io import orbits
from sarsense.algorithms.soil_moisture import change_detection as cd
from sarsense.algorithms.soil_moisture.series import SeriesOptions


def _acq(when, orbit=None, orbit_pass=None):
    start = np.datetime64(when, "s")
    end = start if "T" in when else start + np.timedelta64(86400, "s")
    return orbits.Acquisition(when[:10], start, end, orbit, orbit_pass, None)


def _stack(path, arr, descriptions, metas=None):
    write_raster(path, arr, descriptions=descriptions)
    ds = gdal.Open(str(path), gdal.GA_Update)
    for i, meta in enumerate(metas or []):
        ds.GetRasterBand(i + 1).SetMetadata(meta)
    ds = None
    return str(path)


def test_band_acquisitions_read_time_orbit_pass_and_platform(tmp_path):
    path = _stack(tmp_path / "s.tif", np.ones((3, 4, 4), np.float32), ["2018-08-02", "2018-08-08", "2018-08-14"],
                  [{"ACQUISITION_START_TIME": "2018-08-02T17:32:05", "RELATIVE_ORBIT": "088", "ORBIT_PASS": "ascending",
                    "PLATFORM": "S1A"}, {"DATE": "2018-08-08T17:40:01"}, {}])
    a = orbits.band_acquisitions(path)
    assert [x.date for x in a] == ["2018-08-02", "2018-08-08", "2018-08-14"]
    assert (a[0].relative_orbit, a[0].orbit_pass, a[0].platform) == ("88", "ASCENDING", "S1A")
    assert str(a[0].start) == "2018-08-02T17:32:05" and a[0].timed and a[0].time_of_day_s == 17 * 3600 + 32 * 60 + 5
    assert a[1].relative_orbit is None and a[1].timed and not a[2].timed and a[2].time_of_day_s is None


def test_groups_by_relative_orbit_with_pass_in_the_label():
    acqs = [_acq(f"2018-08-{2 + k:02d}T17:3{2 if k % 2 else 9}:00", "88" if k % 2 else "161", "ASCENDING")
            for k in range(6)]
    groups = orbits.orbit_groups(acqs)
    assert [(g.label, g.bands, g.basis) for g in groups] == [
        ("relative orbit 161, ascending", (0, 2, 4), "relative orbit"),
        ("relative orbit 88, ascending", (1, 3, 5), "relative orbit")]


def test_groups_by_time_of_day_within_the_tolerance_circular_and_not_chained():
    times = ["17:32:00", "17:40:10", "17:32:40", "17:39:30", "17:31:50", "17:40:00"]
    groups = orbits.orbit_groups([_acq(f"2018-08-{2 + k:02d}T{t}") for k, t in enumerate(times)])
    assert [(g.label, g.bands) for g in groups] == [("acquisitions at 17:32 UTC ±3 min", (0, 2, 4)),
                                                    ("acquisitions at 17:40 UTC ±3 min", (1, 3, 5))]
    midnight = orbits.orbit_groups([_acq("2018-08-02T23:59:00"), _acq("2018-08-03T00:01:00"),
                                    _acq("2018-08-04T12:00:00")])
    assert [g.bands for g in midnight] == [(0, 1), (2,)]         # 23:59 and 00:01 are one orbit
    chain = orbits.orbit_groups([_acq(f"2018-08-{2 + k:02d}T17:{30 + 2 * k:02d}:00") for k in range(5)])
    assert [g.bands for g in chain] == [(0, 1), (2, 3), (4,)]    # 2-min steps never chain past 3 min
    assert [g.bands for g in orbits.orbit_groups([_acq(f"2018-08-0{k + 1}T05:00:00") for k in range(3)])] == [
        (0, 1, 2)]


def test_untimed_bands_are_one_group_and_loose_timed_bands_join_their_orbit():
    acqs = [_acq("2018-08-02T17:32:00", "88"), _acq("2018-08-08T17:32:30"), _acq("2018-08-14T17:40:00"),
            _acq("2018-08-20"), _acq("2018-08-26")]
    groups = orbits.orbit_groups(acqs)
    assert [(g.basis, g.bands) for g in groups] == [("relative orbit", (0, 1)), ("time of day", (2,)),
                                                    ("date only", (3, 4))]
    assert "date only" in groups[2].label
    with pytest.raises(ValueError, match="tolerance"):
        orbits.orbit_groups(acqs, tolerance_s=0)


def _sawtooth(n=16, shape=(6, 7), seed=3):
    """A VV series (dB) of two orbits 0.8 dB apart, alternating, over a slow wetting signal."""
    rng = np.random.default_rng(seed)
    signal = np.sin(np.linspace(0, 3, n))[:, None, None] * 2.0
    offset = np.where(np.arange(n) % 2 == 1, 0.8, 0.0)[:, None, None]
    return (-12 + signal + offset + 0.05 * rng.standard_normal((n, *shape))).astype(np.float32)


def test_per_orbit_change_detection_equals_each_orbit_alone_merged(tmp_path):
    vv = _sawtooth()
    n = len(vv)
    dates = [str(np.datetime64("2018-08-02") + np.timedelta64(6 * k, "D")) for k in range(n)]
    src = write_raster(tmp_path / "vv.tif", vv, descriptions=dates)
    groups = ((tuple(range(0, n, 2))), tuple(range(1, n, 2)))
    out = [str(tmp_path / f"{k}.tif") for k in ("i", "s", "d")]
    res = cd.change_detection_file(src, *out[:2], output_dvv=out[2], dates=dates, min_dates=4,
                                   series=SeriesOptions(groups=groups))
    want_index, want_dvv = np.empty_like(vv), np.empty_like(vv)
    for idx in map(list, groups):
        want_index[idx] = cd.change_index(vv[idx], min_dates=4)[0]
        want_dvv[idx] = cd.delta_vv(vv[idx], min_dates=4)
    np.testing.assert_allclose(read_raster(out[0]), want_index, atol=1e-6)
    np.testing.assert_allclose(read_raster(out[2]), want_dvv, atol=1e-6)
    pooled = cd.change_index(vv, min_dates=4)[0]
    assert np.abs(read_raster(out[0]) - pooled).max() > 0.1       # pooling keeps the sawtooth
    # the references per orbit: each orbit's own mean minimum and maximum, every pixel used
    for (dry, wet, k), idx in zip(res["references"], map(list, groups)):
        assert k == vv[0].size
        assert (dry, wet) == pytest.approx((vv[idx].min(axis=0).mean(), vv[idx].max(axis=0).mean()), abs=1e-5)
    assert cd.change_detection_file(src, *out[:2], dates=dates, min_dates=4)["references"][0][2] == vv[0].size


def test_per_orbit_vegetation_cd_takes_each_orbits_minimum(tmp_path):
    vv = _sawtooth()
    n = len(vv)
    dates = [str(np.datetime64("2018-08-02") + np.timedelta64(6 * k, "D")) for k in range(n)]
    src = write_raster(tmp_path / "vv.tif", vv, descriptions=dates)
    v1 = write_raster(tmp_path / "v1.tif", np.full_like(vv, 0.3), descriptions=dates)
    groups = (tuple(range(0, n, 2)), tuple(range(1, n, 2)))
    out = str(tmp_path / "ssm.tif")
    cd.vegetation_cd_file(src, v1, out, dates=dates, v1_bands=range(1, n + 1), alpha=20, beta=10, ssm_min=0.05,
                          series=SeriesOptions(groups=groups))
    want = np.empty_like(vv)
    for idx in map(list, groups):
        want[idx] = cd.vegetation_cd(vv[idx], np.full_like(vv[idx], 0.3), alpha=20, beta=10, ssm_min=0.05)[0]
    np.testing.assert_allclose(read_raster(out), want, atol=1e-6)
    assert np.nanmin(read_raster(out)[1::2], axis=0) == pytest.approx(0.05)   # each orbit reaches SSM_min


def test_station_series_per_orbit_radar_references_per_series_in_situ_per_station():
    """calibration.classic_cd and deltas with ``series`` (station and orbit): σVV's minimum and maximum per series,
    the in-situ extremes still the station's (one soil)."""
    from sarsense.algorithms.soil_moisture import calibration
    station = np.array(["a"] * 6)
    series = np.array(["a · 1", "a · 2"] * 3)
    vv = np.array([-15.0, -14.2, -12.0, -11.2, -13.0, -12.2])          # orbit 2 is 0.8 dB above orbit 1
    ssm = np.array([0.05, 0.05, 0.35, 0.35, 0.2, 0.2])
    train = np.ones(6, bool)
    est, index = calibration.classic_cd(station, vv, ssm, train, series=series)
    np.testing.assert_allclose(index, [0, 0, 1, 1, 2 / 3, 2 / 3])
    np.testing.assert_allclose(est, 0.05 + index * 0.30, rtol=1e-6)         # the station's in-situ extremes
    dvv, dssm, ssm_min = calibration.deltas(station, vv, ssm, train, series=series)
    np.testing.assert_allclose(dvv, [0, 0, 3, 3, 2, 2])
    np.testing.assert_allclose(ssm_min, 0.05)
    pooled = calibration.deltas(station, vv, ssm, train)[0]
    np.testing.assert_allclose(pooled, [0, 0.8, 3, 3.8, 2, 2.8])
