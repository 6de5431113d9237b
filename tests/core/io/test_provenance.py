"""Metadata travels (algorithms/io/engine/provenance.py): what an output inherits from its inputs, and the one
time-series check (algorithms/io/dates.py)."""

import numpy as np
import pytest
from helpers import write_raster
from osgeo import gdal

from sarsense.algorithms.io import engine, stack

DATES = ["2021-04-01", "2021-04-13"]


def _with_meta(path, bands, file_meta=None, descriptions=None):
    write_raster(path, np.ones((len(bands), 4, 4), np.float32), descriptions=descriptions)
    ds = gdal.Open(str(path), gdal.GA_Update)
    for i, meta in enumerate(bands):
        ds.GetRasterBand(i + 1).SetMetadata(meta)
    if file_meta:
        ds.SetMetadata(file_meta)
    ds = None
    return str(path)


def _meta(path):
    ds = gdal.Open(str(path))
    return ds.GetMetadata(), [ds.GetRasterBand(i + 1).GetMetadata() for i in range(ds.RasterCount)]


@pytest.fixture
def pair(tmp_path):
    def band(pol, d):
        return {"POLARISATION": pol, "units": "dB", "ACQUISITION_START_TIME": f"{d}T05:26:41"}
    vv = _with_meta(tmp_path / "vv.tif", [{**band("VV", d), "STATISTICS_MEAN": "1"} for d in DATES],
                    {"MISSION": "S1B", "PRODUCT": "A"}, DATES)
    vh = _with_meta(tmp_path / "vh.tif", [band("VH", d) for d in DATES], {"MISSION": "S1B", "PRODUCT": "B"}, DATES)
    return vv, vh


def test_band_for_band_the_caller_on_top(pair, tmp_path):
    vv, _ = pair
    out = tmp_path / "o.tif"
    engine.run_blockwise(vv, str(out), lambda b: b, band_metadata={"units": "linear", "POLARISATION": None})
    file_meta, bands = _meta(out)
    assert file_meta["MISSION"] == "S1B" and file_meta["PRODUCT"] == "A"
    assert bands == [{"units": "linear", "ACQUISITION_START_TIME": f"{d}T05:26:41"} for d in DATES]  # no statistics


def test_parallel_inputs_keep_what_they_agree_on_and_a_reduction_nothing(pair, tmp_path):
    vv, vh = pair
    out = tmp_path / "ratio.tif"
    engine.run_blockwise([vv, vh], str(out), lambda b: b[2:] - b[:2], out_bands=2)
    file_meta, bands = _meta(out)
    assert "PRODUCT" not in file_meta and file_meta["MISSION"] == "S1B"   # the products differ
    assert bands == [{"units": "dB", "ACQUISITION_START_TIME": f"{d}T05:26:41"} for d in DATES]  # not VV, not VH
    classes = tmp_path / "classes.tif"
    engine.run_blockwise(vv, str(classes), lambda b: b[:1] * 0, out_bands=1, out_dtype=np.uint8)
    assert _meta(classes)[1] == [{}]
    one = tmp_path / "one.tif"
    engine.run_blockwise((vv, [2]), str(one), lambda b: b, out_dtype=np.uint8)
    assert _meta(one)[1] == [{"POLARISATION": "VV", "ACQUISITION_START_TIME": "2021-04-13T05:26:41"}]  # no units


def test_a_time_in_a_description_survives_a_date_only_second_input(tmp_path):
    """Issue #29: a VV stack dated 2018-08-02T17:32:00 in its band descriptions and an NDVI stack of days: the
    output (vegetation-corrected soil moisture) keeps the time; two different times of one day keep neither."""
    times = ["2018-08-02T17:32:00", "2018-08-08T17:40:00"]
    vv = _with_meta(tmp_path / "vv.tif", [{}, {}], descriptions=times)
    ndvi = _with_meta(tmp_path / "ndvi.tif", [{}, {}], descriptions=[t[:10] for t in times])
    out = tmp_path / "ssm.tif"
    engine.run_blockwise([vv, ndvi], str(out), lambda b: b[:2], out_bands=2)
    assert [m.get("DATE") for m in _meta(out)[1]] == times
    assert [str(t) for t, _ in stack.band_times(str(out))] == times
    other = _with_meta(tmp_path / "other.tif", [{}, {}], descriptions=["2018-08-02T05:00:00", times[1]])
    engine.run_blockwise([vv, other], str(out), lambda b: b[:2], out_bands=2)
    assert [m.get("DATE") for m in _meta(out)[1]] == [None, times[1]]


def test_common_inheritance_for_other_dates_and_dates_from_file_names(pair, tmp_path):
    vv, _ = pair
    out = tmp_path / "t.tif"
    engine.run_blockwise(vv, str(out), lambda b: b, band_metadata=[{"DATE": "2021-04-07"}, {"DATE": "2021-04-09"}],
                         inherit="common")
    assert _meta(out)[1] == [{"POLARISATION": "VV", "units": "dB", "DATE": d} for d in ("2021-04-07", "2021-04-09")]
    named = write_raster(tmp_path / "S1_VV_2016-01-05.tif", np.ones((4, 4), np.float32))
    out2 = tmp_path / "OUTPUT.tif"
    engine.run_blockwise(named, str(out2), lambda b: b)
    assert stack.band_dates(str(out2)) == ["2016-01-05"]     # the name's date travels as DATE


def test_check_series_refuses_mixtures_and_days_twice_but_not_two_timed_passes(pair, tmp_path):
    vv, vh = pair
    assert stack.check_series(vv) == DATES
    mixed = _with_meta(tmp_path / "m.tif", [{"QUANTITY": "sigma0"}, {"QUANTITY": "incidence angle (ellipsoid)"}],
                       descriptions=DATES)
    with pytest.raises(ValueError, match="mixes quantities .*sigma0: band 1; incidence angle"):
        stack.check_series(mixed)
    twice = _with_meta(tmp_path / "d.tif", [{}, {}], descriptions=[DATES[0]] * 2)
    with pytest.raises(ValueError, match="2021-04-01: bands 1, 2.*Build dated stack"):
        stack.check_series(twice)
    passes = _with_meta(tmp_path / "p.tif", [{"ACQUISITION_START_TIME": f"{DATES[0]}T{t}"}
                                             for t in ("05:26:41", "17:40:02")], descriptions=[DATES[0]] * 2)
    assert stack.check_series(passes) == [DATES[0]] * 2
    assert stack.check_series(write_raster(tmp_path / "u.tif", np.ones((2, 4, 4))), dated=False) is None
