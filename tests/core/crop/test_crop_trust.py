"""Crop maps a person can tell apart and read: class colours by whole words, the class-map sieve (GDAL's sieve
with the names and colours kept), and the separability report's legend beside, not over, the lines."""

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.crop import samples, separability, sieve, threshold
from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.io.engine import Cancelled
from sarsense.algorithms.io.raster import create_geotiff, read_class_table


def _distance(a, b):
    rgb = [np.array([int(c[k:k + 2], 16) for k in (1, 3, 5)], float) for c in (a, b)]
    return float(np.linalg.norm(rgb[0] - rgb[1]))


@pytest.mark.parametrize("name, colour", [
    ("rice", "#33a02c"), ("Early rice", "#33a02c"), ("rice_paddy", "#33a02c"), ("paddies", "#33a02c"),
    ("water", "#1f78b4"), ("lakes", "#1f78b4"), ("buildings", "#e31a1c"), ("built-up", "#e31a1c"),
    ("dry crops", "#fdbf6f"), ("licorice", None), ("hydrology", None), ("otherwise", None)])
def test_class_names_match_whole_words(name, colour):
    assert samples.name_colour(name) == colour


@pytest.mark.parametrize("name", ["not rice", "Non-rice", "nonrice", "non rice", "no water", "other than rice",
                                  "NOT_RICE"])
def test_negated_classes_are_grey_never_the_class_they_negate(name):
    assert samples.name_colour(name) == samples.NEGATED_COLOUR


def test_rice_map_classes_are_clearly_different_colours():
    colours = samples.class_colours(threshold.CLASSES)
    assert colours == {threshold.NOT_RICE: samples.NEGATED_COLOUR, threshold.RICE: "#33a02c"}
    assert _distance(colours[0], colours[1]) > 100
    # every class of a map gets its own colour, named or not
    names = {1: "rice", 2: "not rice", 3: "other", 4: "paddy", 5: "x", 6: "y"}
    got = samples.class_colours(names)
    assert len(set(got.values())) == len(names) and got[1] == "#33a02c" and got[2] == samples.NEGATED_COLOUR


def _class_map(path, arr, *, classes=threshold.CLASSES, meta=None):
    ds = create_geotiff(str(path), xsize=arr.shape[1], ysize=arr.shape[0], bands=1,
                        geotransform=(500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), projection="", dtype=np.uint8,
                        descriptions=["rice"], band_metadata=[{"classes": samples.classes_json(classes),
                                                               **(meta or {})}])
    ds.GetRasterBand(1).WriteArray(arr)
    ds = None
    return str(path)


def _gdal_sieve(arr, min_pixels, connectedness):
    """GDAL's sieve on an in-memory copy of the whole array (255 nodata masked): the reference."""
    mem = gdal.GetDriverByName("MEM").Create("", arr.shape[1], arr.shape[0], 1, gdal.GDT_Byte)
    band = mem.GetRasterBand(1)
    band.WriteArray(arr)
    band.SetNoDataValue(255)
    gdal.SieveFilter(band, band.GetMaskBand(), band, min_pixels, connectedness)
    return band.ReadAsArray()


@pytest.mark.parametrize("eight", [False, True])
def test_sieve_equals_gdal_keeps_classes_and_never_touches_nodata(tmp_path, eight):
    rng = np.random.default_rng(4)
    arr = np.kron(rng.integers(0, 2, (12, 15)), np.ones((6, 6), int)).astype(np.uint8)   # fields of 6 × 6
    noise = rng.random(arr.shape) < 0.05
    arr[noise] = 1 - arr[noise]                                                         # salt and pepper
    arr[:5, :7] = 255                                                                   # nodata corner
    arr[40, 40] = 255
    src = _class_map(tmp_path / "rice.tif", arr, meta={"SEASON": "2019-03-10/2019-04-27"})
    out = str(tmp_path / "sieved.tif")
    res = sieve.sieve_classes_file(src, out, min_pixels=5, eight_connected=eight,
                                   options=RunOptions(compression="NONE"))
    got = read_raster(out)[0]
    want = _gdal_sieve(arr, 5, 8 if eight else 4)
    assert (got == want).all() and (got != arr).any()
    assert ((got == 255) == (arr == 255)).all()
    assert read_class_table(out) == read_class_table(src)
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    assert band.GetMetadataItem("SEASON") == "2019-03-10/2019-04-27" and band.GetDescription() == "rice"
    assert band.GetMetadataItem("SIEVE_MIN_PIXELS") == "5" and band.GetColorTable() is not None
    band = None
    ds = None
    for c in (0, 1):
        assert res["before"][c] == (arr == c).sum() and res["after"][c] == (got == c).sum()
        assert res["changed"][c] == ((arr == c) & (got != c)).sum()


def test_sieve_keeps_a_foreign_maps_category_names_and_nodata(tmp_path):
    arr = np.zeros((30, 30), np.uint8)
    arr[10:20, 10:20] = 2
    arr[5, 5] = 2
    path = str(tmp_path / "foreign.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, 30, 30, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((0, 1, 0, 30, 0, -1))
    band = ds.GetRasterBand(1)
    band.WriteArray(arr)
    band.SetNoDataValue(0)                                  # another program's nodata: 0
    band.SetRasterCategoryNames(["", "", "maize"])
    band = None
    ds = None
    out = str(tmp_path / "s.tif")
    sieve.sieve_classes_file(path, out, min_pixels=3)
    got = read_raster(out)[0]
    assert got[5, 5] == 2 and (got[arr == 0] == 0).all()     # isolated in nodata: stays; nodata stays nodata
    assert [c["name"] for c in read_class_table(out)] == ["maize"]
    assert gdal.Open(out).GetRasterBand(1).GetNoDataValue() == 0


def test_sieve_refuses_what_is_no_class_map_and_leaves_nothing_when_cancelled(tmp_path):
    f = write_raster(tmp_path / "float.tif", np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="one byte band.*Translate"):
        sieve.sieve_classes_file(f, str(tmp_path / "o.tif"))
    src = _class_map(tmp_path / "rice.tif", np.zeros((50, 50), np.uint8))
    with pytest.raises(ValueError, match="at least 2 pixels"):
        sieve.sieve_classes_file(src, str(tmp_path / "o.tif"), min_pixels=1)
    with pytest.raises(Cancelled):
        sieve.sieve_classes_file(src, str(tmp_path / "o.tif"), options=RunOptions(is_canceled=lambda: True))
    assert not list(tmp_path.glob("o.tif*"))


def test_separability_profile_legend_is_beside_the_lines_and_titled():
    rng = np.random.default_rng(0)
    by_class = {f"class {k}": rng.normal(k, 0.1, (30, 6)) for k in range(8)}
    fig = separability.profile_figure(by_class, [f"2019-0{m}-01" for m in range(1, 7)], units="sigma_A (-1 to 1)")
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend()
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1   # right of the plot area
    assert legend.get_title().get_text() == "Training class (n = pixels)"
    assert "sigma_A" in ax.get_ylabel()
