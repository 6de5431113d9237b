"""Dated stacks: date parsing, sorting, warping, clear errors (algorithms/io/stack.py)."""

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.io import Cancelled, RunOptions, stack


@pytest.mark.parametrize("text,iso", [
    ("2016-01-05-s1vv.tif", "2016-01-05"),
    ("S1A_IW_GRDH_1SDV_20210401T052623_20210401T052648_037261.tif", "2021-04-01"),
    ("VV_2019_11_01.tif", "2019-11-01"),
    ("MOD11A1.A2019305.h14v09.hdf", "2019-11-01"),
    ("2020:02:29 12:00:00", "2020-02-29"),
    ("scene_20211345.tif", None),  # month 13: not a date
    ("no date here", None),
])
def test_parse_date(text, iso):
    assert stack.parse_date(text) == iso


def test_real_stack_sorted_and_described(tmp_path, stack_files):
    shuffled = stack_files[::-1]
    out = str(tmp_path / "stack.tif")
    res = stack.build_stack(shuffled, out)
    assert res["dates"] == sorted(res["dates"]) and len(res["dates"]) == 22
    assert res["dates"][0] == "2015-12-30" and res["dates"][-1] == "2016-05-17"
    ds = gdal.Open(out)
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(22)] == res["dates"]
    got = read_raster(out)
    first = read_raster(stack_files[0])[0]
    np.testing.assert_array_equal(got[0][np.isfinite(got[0])], first[np.isfinite(got[0])])
    assert stack.stack_dates(out) == res["dates"]


def test_other_crs_is_warped_onto_reference(tmp_path, stack_files):
    moved = str(tmp_path / "2016-06-01_wgs84.tif")
    gdal.Warp(moved, stack_files[0], dstSRS="EPSG:4326")
    out = str(tmp_path / "s.tif")
    res = stack.build_stack([stack_files[1], moved], out)
    assert res["warped"] == [moved]
    ref, o = gdal.Open(stack_files[1]), gdal.Open(out)
    assert o.GetGeoTransform() == ref.GetGeoTransform() and (o.RasterXSize, o.RasterYSize) == (100, 100)
    a, b = read_raster(out)
    from sarsense.algorithms.io import run_whole
    orig = run_whole(stack_files[0], lambda b: b)[0]  # nodata as NaN; this date is 47 % valid
    ok = np.isfinite(b) & np.isfinite(orig)
    assert ok.sum() > 0.9 * np.isfinite(orig).sum()
    # warped there and back, the values still track the original closely
    assert np.corrcoef(orig[ok], b[ok])[0, 1] > 0.8


def test_file_without_date_is_refused(tmp_path, stack_files):
    nodate = write_raster(tmp_path / "scene.tif", np.ones((100, 100)))
    with pytest.raises(ValueError, match="has no acquisition date"):
        stack.build_stack([stack_files[0], nodate], str(tmp_path / "s.tif"))


def test_multiband_input_dates_from_descriptions(tmp_path):
    a = write_raster(tmp_path / "a.tif", np.stack([np.full((8, 8), 2.0), np.full((8, 8), 1.0)]),
                     descriptions=["2020-03-02", "2020-03-01"])
    res = stack.build_stack([a], str(tmp_path / "s.tif"))
    assert res["dates"] == ["2020-03-01", "2020-03-02"]
    np.testing.assert_array_equal(read_raster(tmp_path / "s.tif")[:, 0, 0], [1.0, 2.0])


def test_duplicate_dates_are_refused_naming_the_files(tmp_path):
    """Two files of one day and no time of day: no way to tell the bands apart, so no stack (issue 27)."""
    a = write_raster(tmp_path / "x_2020-01-01.tif", np.ones((8, 8)))
    b = write_raster(tmp_path / "y_2020-01-01.tif", np.ones((8, 8)))
    with pytest.raises(ValueError, match=r"2020-01-01: bands 1, 2 \(x_2020-01-01.tif, y_2020-01-01.tif\)"):
        stack.build_stack([a, b], str(tmp_path / "s.tif"))
    assert not (tmp_path / "s.tif").exists()


def test_two_passes_of_one_day_with_distinct_times_are_two_dates(tmp_path):
    """Not duplicates (per-orbit series, issue 29, need them): each band keeps its time in DATE."""
    a = write_raster(tmp_path / "a_20200101T053000.tif", np.ones((8, 8)))
    b = write_raster(tmp_path / "b_20200101T171500.tif", np.full((8, 8), 2.0))
    for p, t in ((a, "2020-01-01T05:30:00"), (b, "2020-01-01T17:15:00")):
        ds = gdal.Open(str(p), gdal.GA_Update)
        ds.GetRasterBand(1).SetMetadata({"ACQUISITION_START_TIME": t})
        ds = None
    out = str(tmp_path / "s.tif")
    res = stack.build_stack([b, a], out)
    assert res["dates"] == ["2020-01-01", "2020-01-01"]
    assert [t for t, _ in stack.band_times(out)] == [np.datetime64("2020-01-01T05:30:00"),
                                                       np.datetime64("2020-01-01T17:15:00")]
    np.testing.assert_array_equal(read_raster(out)[:, 0, 0], [1.0, 2.0])
    assert stack.check_series(out) == res["dates"]


def test_options_drop_empty_splits_progress_and_cancel_leaves_nothing(tmp_path):
    """With drop_empty the two passes fill the progress in halves (one block each at block size 8); a cancel
    stops the run and leaves no file."""
    a = write_raster(tmp_path / "a_2020-01-01.tif", np.ones((8, 8)))
    b = write_raster(tmp_path / "b_2020-01-02.tif", np.full((8, 8), np.nan))
    calls = []
    res = stack.build_stack([a, b], str(tmp_path / "s.tif"), drop_empty=True,
                            options=RunOptions(block_size=8, workers=2, progress=calls.append))
    assert res["dropped"] == ["2020-01-02"] and res["dates"] == ["2020-01-01"]
    assert calls == [0.5, 1.0]
    with pytest.raises(Cancelled):
        stack.build_stack([a, b], str(tmp_path / "c.tif"), options=RunOptions(is_canceled=lambda: True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_2020-01-01.tif", "b_2020-01-02.tif", "s.tif"]


def _dated(tmp_path, name, arr, *, gt=(600000.0, 20.0, 0.0, 4800000.0, 0.0, -20.0), epsg=32631):
    return write_raster(tmp_path / name, arr, gt=gt, epsg=epsg)


def test_reference_without_crs_is_refused(tmp_path):
    a = _dated(tmp_path, "2020-01-01.tif", np.ones((10, 10)))
    ref = tmp_path / "ref.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(ref), 10, 10, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((0, 1, 0, 0, 0, -1))
    ds = None
    with pytest.raises(ValueError, match="REFERENCE '.*ref.tif' has no coordinate reference system"):
        stack.build_stack([a], str(tmp_path / "s.tif"), reference=str(ref))
    assert not (tmp_path / "s.tif").exists()


def test_input_without_georeferencing_is_refused(tmp_path):
    a = _dated(tmp_path, "2020-01-01.tif", np.ones((10, 10)))
    bare = tmp_path / "2020-01-02.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(bare), 12, 12, 1, gdal.GDT_Float32)
    del ds
    with pytest.raises(ValueError, match="has no georeferencing"):
        stack.build_stack([a, str(bare)], str(tmp_path / "s.tif"))


def test_empty_dates_are_named_and_can_be_left_out(tmp_path):
    a = _dated(tmp_path, "2020-01-01.tif", np.ones((10, 10)))
    far = _dated(tmp_path, "2020-01-02.tif", np.ones((10, 10)), gt=(900000.0, 20.0, 0.0, 4800000.0, 0.0, -20.0))
    nod = write_raster(tmp_path / "2020-01-03.tif", np.full((10, 10), -1.0), nodata=-1.0)
    res = stack.build_stack([a, far, nod], str(tmp_path / "s.tif"))
    assert [d for d, _ in res["empty"]] == ["2020-01-02", "2020-01-03"]
    assert any("does not overlap" in w and "2020-01-02.tif" in w for w in res["warnings"])
    assert gdal.Open(res["output"]).RasterCount == 3
    res = stack.build_stack([a, far, nod], str(tmp_path / "d.tif"), drop_empty=True)
    assert res["dates"] == ["2020-01-01"] and res["dropped"] == ["2020-01-02", "2020-01-03"]
    ds = gdal.Open(res["output"])
    assert ds.RasterCount == 1 and ds.GetRasterBand(1).GetDescription() == "2020-01-01"
    assert sorted(p.name for p in tmp_path.glob("*.tif*")) == sorted(
        ["2020-01-01.tif", "2020-01-02.tif", "2020-01-03.tif", "s.tif", "d.tif"])
