"""The block engine: block-wise output equals whole-array output, metadata, cancel, bad paths."""

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from helpers import read_raster, speckled, write_raster
from onnx_models import contract, conv_net
from osgeo import gdal

from sarsense.algorithms import onnx as rt
from sarsense.algorithms import sar
from sarsense.algorithms.io import RunOptions, engine, raster
from sarsense.algorithms.sar import speckle


def _image(tmp_path, bands=1):
    arr = np.stack([speckled((101, 83), seed=b) for b in range(bands)])
    arr[:, 10:14, 40:45] = -999.0  # nodata patch across a block edge
    arr[:, 70, :] = -999.0
    return write_raster(tmp_path / "in.tif", arr, nodata=-999.0,
                        descriptions=[f"2020-01-{b + 1:02d}" for b in range(bands)])


KERNELS = {f"{name}-{size}": (speckle.band_kernel(name, size=size, looks=2), size // 2)
           for name in speckle.FILTERS for size in (5, 7)}
KERNELS["quegan-5"] = (lambda b: speckle.quegan_yu(b, size=5), 2)
KERNELS["todb"] = (lambda b: sar.linear_to_db(b)[0], 0)


@pytest.mark.parametrize("key", sorted(KERNELS))
@pytest.mark.parametrize("block_size", [16, 37])
def test_blockwise_equals_whole_array(tmp_path, key, block_size):
    kernel, halo = KERNELS[key]
    src = _image(tmp_path, bands=3)
    out = str(tmp_path / "out.tif")
    res = engine.run_blockwise(src, out, kernel, halo=halo, options=RunOptions(block_size=block_size))
    assert res["blocks"] > 4
    whole = engine.run_whole(src, kernel).astype(np.float32)
    got = read_raster(out)
    assert np.array_equal(got, whole, equal_nan=True), f"max diff {np.nanmax(np.abs(got - whole))}"


def test_threads_equal_single_thread(tmp_path):
    src = _image(tmp_path)
    k = KERNELS["gammamap-5"][0]
    engine.run_blockwise(src, str(tmp_path / "a.tif"), k, halo=2, options=RunOptions(block_size=32, workers=1))
    engine.run_blockwise(src, str(tmp_path / "b.tif"), k, halo=2, options=RunOptions(block_size=32, workers=3))
    assert np.array_equal(read_raster(tmp_path / "a.tif"), read_raster(tmp_path / "b.tif"), equal_nan=True)


@pytest.mark.parametrize("shape,halo,budget", [((5000, 3000), 2, 96), ((400, 40000), 10, 8), ((300, 300), 0, 1)])
def test_windows_tile_the_grid_once_within_budget(shape, halo, budget):
    ysize, xsize = shape
    bpp = 160
    wins = engine.plan_windows(xsize, ysize, halo=halo, bytes_per_pixel=bpp, budget_mb=budget)
    cover = np.zeros(shape, dtype=np.uint8)
    for w in wins:
        cover[w.y:w.y + w.h, w.x:w.x + w.w] += 1
        assert w.rx == max(0, w.x - halo) and w.rw == min(xsize, w.x + w.w + halo) - w.rx
        if budget >= 8:
            assert w.rw * w.rh * bpp <= budget * 2**20
    assert (cover == 1).all()


def test_float32_nodata_is_matched_in_float32(tmp_path):
    arr = np.ones((4, 4), dtype=np.float32)
    arr[0, 0] = np.float32(-3.4e38)
    src = write_raster(tmp_path / "f.tif", arr, nodata=-3.4e38)
    assert np.isnan(read_raster(engine.run_blockwise(src, str(tmp_path / "o.tif"), lambda b: b)["output"])[0, 0, 0])


def test_nodata_becomes_nan_and_metadata_is_kept(tmp_path):
    src = _image(tmp_path, bands=2)
    out = str(tmp_path / "o.tif")
    engine.run_blockwise(src, out, lambda b: b, options=RunOptions(compression="DEFLATE"))
    a, b = gdal.Open(src), gdal.Open(out)
    assert b.GetGeoTransform() == a.GetGeoTransform()
    assert b.GetSpatialRef().IsSame(a.GetSpatialRef())
    assert [b.GetRasterBand(i + 1).GetDescription() for i in range(2)] == ["2020-01-01", "2020-01-02"]
    band = b.GetRasterBand(1)
    assert np.isnan(band.GetNoDataValue()) and band.DataType == gdal.GDT_Float32
    assert band.GetBlockSize() == [256, 256]
    assert b.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "DEFLATE"
    assert np.isnan(read_raster(out)[:, 10:14, 40:45]).all()


def test_default_compression_and_uint8_class_maps(tmp_path):
    src = _image(tmp_path)
    out = str(tmp_path / "classes.tif")
    engine.run_blockwise(src, out, lambda b: np.where(np.isnan(b), 255, b > 0.05).astype(np.uint8),
                         out_dtype=np.uint8)
    ds = gdal.Open(out)
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Byte and ds.GetRasterBand(1).GetNoDataValue() == 255
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == raster.DEFAULT_COMPRESSION
    assert set(np.unique(ds.ReadAsArray())) <= {0, 1, 255}


def test_cancel_leaves_no_output(tmp_path):
    src = _image(tmp_path)
    out = tmp_path / "cancelled.tif"
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(engine.Cancelled):
        engine.run_blockwise(src, str(out), lambda b: b, options=RunOptions(block_size=16, is_canceled=cancel))
    assert len(calls) == 3, "cancel is checked before every block and stops at once"
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_error_in_kernel_leaves_no_output(tmp_path):
    src = _image(tmp_path)

    def boom(b):
        raise ValueError("bad block")

    with pytest.raises(ValueError, match="bad block"):
        engine.run_blockwise(src, str(tmp_path / "o.tif"), boom)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_progress_reaches_one(tmp_path):
    src = _image(tmp_path)
    seen = []
    engine.run_blockwise(src, str(tmp_path / "o.tif"), lambda b: b,
                         options=RunOptions(block_size=32, progress=seen.append))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4 * 3  # 101×83 in 32-px tiles


def test_bad_paths_are_refused(tmp_path):
    src = _image(tmp_path)
    before = open(src, "rb").read()
    with pytest.raises(ValueError, match="same file as an input"):
        engine.run_blockwise(src, src, lambda b: b)
    assert open(src, "rb").read() == before, "the input must never be modified"
    with pytest.raises(ValueError, match="does not exist"):
        engine.run_blockwise(str(tmp_path / "missing.tif"), str(tmp_path / "o.tif"), lambda b: b)
    with pytest.raises(ValueError, match="output folder"):
        engine.run_blockwise(src, str(tmp_path / "nowhere" / "o.tif"), lambda b: b)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): permission bits are not enforced")
        with pytest.raises(ValueError, match="not writable"):
            engine.run_blockwise(src, str(ro / "o.tif"), lambda b: b)
    finally:
        ro.chmod(0o700)


def test_stack_of_files_on_different_grids_is_refused(tmp_path):
    a = write_raster(tmp_path / "a.tif", np.ones((10, 10)))
    b = write_raster(tmp_path / "b.tif", np.ones((10, 10)), epsg=4326, gt=(0, 0.1, 0, 0, 0, -0.1))
    with pytest.raises(ValueError, match="not on the grid"):
        engine.run_blockwise([a, b], str(tmp_path / "o.tif"), lambda x: x)


def test_multi_file_stack_concatenates_bands(tmp_path):
    a = write_raster(tmp_path / "a.tif", np.full((2, 10, 10), 1.0))
    b = write_raster(tmp_path / "b.tif", np.full((10, 10), 2.0))
    engine.run_blockwise([a, b], str(tmp_path / "o.tif"), lambda x: x)
    np.testing.assert_array_equal(read_raster(tmp_path / "o.tif")[:, 0, 0], [1, 1, 2])


def test_small_budget_windows_fill_one_output_tile_at_a_time():
    """30 bands under the default budget: sub-tiles that never straddle a 256-pixel output tile, grouped
    by tile, so GDAL never flushes a half-written tile (measured: 7.5× → 2× the copy floor)."""
    from sarsense.algorithms.io.engine import plan_windows
    wins = plan_windows(1000, 700, bands=30, bytes_per_pixel=48, budget_mb=64)
    assert max(w.w for w in wins) < 256
    tiles = [(w.x // 256, w.y // 256) for w in wins]
    for w in wins:
        assert (w.x + w.w - 1) // 256 == w.x // 256 and (w.y + w.h - 1) // 256 == w.y // 256
    seen = []
    for t in tiles:
        if not seen or seen[-1] != t:
            assert t not in seen, "a tile's windows are consecutive"
            seen.append(t)
    covered = np.zeros((700, 1000), int)
    for w in wins:
        covered[w.y:w.y + w.h, w.x:w.x + w.w] += 1
    assert (covered == 1).all()


def test_deep_stacks_get_tiles_of_bounded_bytes_and_windows_that_fill_them(tmp_path):
    """A pixel-interleaved tile of every band stays within MAX_TILE_BYTES; a run writes tiles of its deepest
    output's side with windows that never straddle one (61 dates at 256² tiles: a 64² window decoded its 16 MB
    tile once per band, 252 s for a 199 × 237 map instead of 1.2 s)."""
    assert [raster.tile_size(n) for n in (1, 16, 17, 61, 64, 65, 365, 100000)] == [256, 256, 128, 128, 128, 64, 32, 16]
    assert raster.tile_size(61, np.uint8) == 256
    for n in (1, 30, 61, 365):
        assert raster.tile_size(n) ** 2 * n * 4 <= raster.MAX_TILE_BYTES or raster.tile_size(n) == raster.MIN_TILE_SIZE
    arr = np.random.default_rng(0).normal(size=(61, 300, 200)).astype(np.float32)
    src = write_raster(tmp_path / "deep.tif", arr)
    seen = engine.Counts("blocks", "larger")          # Counts: also added up from a cluster's workers

    def kernel(block):
        seen.add(blocks=1, larger=block.shape[1] > 128 or block.shape[2] > 128)
        return block * 2
    res = engine.run_blockwise(src, str(tmp_path / "o.tif"), kernel, kernel_columns=None,
                               options=RunOptions(budget_mb=24))
    ds = gdal.Open(str(tmp_path / "o.tif"))
    assert ds.GetRasterBand(1).GetBlockSize() == [128, 128]
    np.testing.assert_array_equal(ds.ReadAsArray(), arr * 2)
    assert res["blocks"] == seen["blocks"] > 1 and seen["larger"] == 0
    for w in engine.plan_windows(200, 300, bands=61, budget_mb=18, align=128):
        assert (w.x + w.w - 1) // 128 == w.x // 128 and (w.y + w.h - 1) // 128 == w.y // 128


def test_several_outputs_band_selection_and_positions(tmp_path):
    from sarsense.algorithms.io import run_blockwise
    arr = np.random.default_rng(0).normal(size=(3, 50, 70)).astype(np.float32)
    src = write_raster(tmp_path / "in.tif", arr, descriptions=["a", "b", "c"])
    counted = engine.Counts("core")                  # Counts: also added up from a cluster's workers

    def kernel(block, where):
        counted.add(core=np.isfinite(where.core_of(block[0])).sum())
        assert block.shape[1:] == (len(where.rows), len(where.cols))
        return block[0] + block[1], np.stack([block[1] * 2, where.rows[:, None] + 0 * block[0]])

    res = run_blockwise([(src, [3, 1])], [str(tmp_path / "o1.tif"), str(tmp_path / "o2.tif")], kernel, halo=2,
                        out_bands=[1, 2], descriptions=[["sum"], ["twice", "row"]], kernel_columns=8,
                        with_position=True, options=RunOptions(block_size=16))
    assert res["blocks"] > 4 and counted["core"] == 50 * 70, "each pixel counted once: halos are not cores"
    np.testing.assert_allclose(read_raster(tmp_path / "o1.tif")[0], arr[2] + arr[0], rtol=1e-6)
    o2 = read_raster(tmp_path / "o2.tif")
    np.testing.assert_allclose(o2[0], arr[0] * 2, rtol=1e-6)
    np.testing.assert_array_equal(o2[1], np.repeat(np.arange(50)[:, None], 70, 1))


@pytest.mark.skipif(engine.memory._glibc() is None, reason="the allocator settings exist in glibc only")
def test_reuse_freed_memory_keeps_pages_for_the_next_block_and_restores_after():
    def page_faults(rounds=20):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):  # what a kernel does block after block: arrays of a few MiB, touched, freed
            a = np.ones((3, 2**18))
            b = a * 2.0
            del a, b
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    # numpy asks for transparent huge pages on large arrays (madvise): then a round faults 2 MiB pages, and
    # whether the kernel has them free decides the count (1029 instead of > 2000 in one full run). Counted
    # on 4 KiB pages only.
    hugepages = np.core.multiarray._set_madvise_hugepage(False)
    try:
        with engine.reuse_freed_memory(64):
            pass
        outside = page_faults()          # glibc's default thresholds, as after every run
        with engine.reuse_freed_memory(64):
            with engine.reuse_freed_memory(64):  # nested: the outer one restores
                pass
            inside = page_faults()
        after = page_faults()
    finally:
        np.core.multiarray._set_madvise_hugepage(hugepages)
    assert outside > 20 * 100        # every round touches fresh pages
    assert inside < outside / 10
    assert after > outside / 2        # defaults again after the run


def test_run_blockwise_result_is_the_same_with_memory_reuse(tmp_path):
    img = speckled((300, 500), looks=1, seed=3)
    src = write_raster(tmp_path / "in.tif", img)
    out = str(tmp_path / "out.tif")
    engine.run_blockwise(src, out, speckle.band_kernel("gammamap", size=5), halo=2, options=RunOptions(block_size=64))
    np.testing.assert_array_equal(read_raster(out)[0], speckle.gamma_map(img, size=5))


def _band_sums(block):
    return np.nansum(block.astype(np.float64), axis=(1, 2)), np.isfinite(block).sum(axis=(1, 2))


def _add(total, part):
    return total[0] + part[0], total[1] + part[1]


def test_reduce_blockwise_equals_the_whole_array_and_does_not_depend_on_workers(tmp_path):
    rng = np.random.default_rng(8)
    arr = rng.gamma(1.0, 0.1, (3, 301, 257)).astype(np.float32)
    arr[1, 10:40, 5:90] = np.nan
    src = write_raster(tmp_path / "stack.tif", arr)
    zero = (np.zeros(3), np.zeros(3, dtype=np.int64))
    ticks = []
    one = engine.reduce_blockwise(src, _band_sums, initial=zero, combine=_add,
                                  options=RunOptions(block_size=64, progress=ticks.append))
    two = engine.reduce_blockwise(src, _band_sums, initial=zero, combine=_add,
                                  options=RunOptions(block_size=64, workers=2))
    np.testing.assert_allclose(one[0], np.nansum(arr.astype(np.float64), axis=(1, 2)), rtol=1e-12)
    np.testing.assert_array_equal(one[1], np.isfinite(arr).sum(axis=(1, 2)))
    assert one[0].tolist() == two[0].tolist()               # combined in window order: bit-identical
    assert len(ticks) == 25 and ticks[-1] == 1.0             # 5 × 5 windows of 64 px


def test_reduce_blockwise_gives_positions_and_cancels(tmp_path):
    arr = np.arange(2 * 70 * 90, dtype=np.float32).reshape(2, 70, 90)
    src = write_raster(tmp_path / "s.tif", arr)

    def where_max(block, where):  # the image row and column of each window's largest band-1 value
        r, c = np.unravel_index(np.argmax(block[0]), block[0].shape)
        return [(float(block[0, r, c]), int(where.rows[r]), int(where.cols[c]))]

    found = engine.reduce_blockwise(src, where_max, initial=[], combine=lambda t, p: t + p,
                                    with_position=True, options=RunOptions(block_size=32))
    assert max(found) == (float(arr[0].max()), 69, 89)
    for value, row, col in found:
        assert arr[0, row, col] == value
    with pytest.raises(engine.Cancelled):
        engine.reduce_blockwise(src, where_max, initial=[], combine=lambda t, p: t + p,
                                with_position=True, options=RunOptions(block_size=32, is_canceled=lambda: True))


def test_rasterize_burns_pixel_centres_with_values_and_frees(tmp_path):
    from osgeo import ogr

    from sarsense.algorithms.io import stack as _stack
    from sarsense.algorithms.io import vector
    ref = write_raster(tmp_path / "ref.tif", np.zeros((10, 12), np.float32), gt=(1000.0, 10.0, 0.0, 2000.0, 0.0, -10.0))
    # x 1021..1059 covers the centres of columns 2-5 (1025..1055); y 1979..1951 the centres of rows 2-4
    square = ogr.CreateGeometryFromWkt("POLYGON ((1021 1979, 1059 1979, 1059 1951, 1021 1951, 1021 1979))")
    other = ogr.CreateGeometryFromWkt("POLYGON ((1091 1909, 1119 1909, 1119 1901, 1091 1901, 1091 1909))")
    path = vector.rasterize([square.ExportToWkb(), other.ExportToWkb()], ref, burn=[1, 7])
    assert path.startswith("/vsimem/")
    got = gdal.Open(path).ReadAsArray()
    want = np.zeros((10, 12), np.uint16)
    want[2:5, 2:6] = 1
    want[9, 9:12] = 7
    np.testing.assert_array_equal(got, want)
    _stack.release(path)
    assert gdal.VSIStatL(path) is None
    with pytest.raises(ValueError, match="no geometry"):
        vector.rasterize([], ref)


def test_labelled_pixels_and_value_counts_equal_a_direct_read(tmp_path):
    from sarsense.algorithms.io import vector
    rng = np.random.default_rng(4)
    data = rng.normal(0, 1, (3, 70, 90)).astype(np.float32)
    data[1, 5, 5] = np.nan
    src = write_raster(tmp_path / "s.tif", data, nodata=float("nan"))
    labels = np.zeros((70, 90), np.float32)
    labels[2:9, 3:40] = 1
    labels[50:60, 60:90] = 2
    lab = write_raster(tmp_path / "l.tif", labels)
    x, got = vector.labelled_pixels(src, lab, options=RunOptions(workers=2, block_size=32))
    sel = labels > 0
    np.testing.assert_array_equal(np.sort(got), np.sort(labels[sel].astype(int)))
    order = np.lexsort((x[:, 2], x[:, 1], x[:, 0]))
    want = data[:, sel].T
    worder = np.lexsort((want[:, 2], want[:, 1], want[:, 0]))
    np.testing.assert_array_equal(x[order], want[worder])
    assert np.isnan(x).sum() == 1
    classes = rng.integers(0, 6, (70, 90)).astype(np.float32)
    classes[0, :10] = 255
    cmap = write_raster(tmp_path / "c.tif", classes, nodata=255, dtype=gdal.GDT_Byte)
    counts = vector.value_counts(cmap, options=RunOptions(block_size=32))
    np.testing.assert_array_equal(counts[:6], np.bincount(classes[classes < 255].astype(int), minlength=6))
    assert counts[255] == 0 and counts.sum() == 70 * 90 - 10


def test_run_blockwise_writes_several_outputs_each_in_its_own_type(tmp_path):
    from sarsense.algorithms.io import run_blockwise
    data = np.arange(2 * 40 * 50, dtype=np.float32).reshape(2, 40, 50) / 100
    src = write_raster(tmp_path / "s.tif", data)
    a, b = str(tmp_path / "a.tif"), str(tmp_path / "b.tif")
    run_blockwise(src, [a, b], lambda blk: ((blk[0] > 10).astype(np.uint8), blk[1] * 2), out_bands=[1, 1],
                  out_dtype=[np.uint8, np.float32], options=RunOptions(block_size=16))
    assert gdal.Open(a).GetRasterBand(1).DataType == gdal.GDT_Byte
    assert gdal.Open(b).GetRasterBand(1).DataType == gdal.GDT_Float32
    np.testing.assert_array_equal(read_raster(a)[0], (data[0] > 10))
    np.testing.assert_allclose(read_raster(b)[0], data[1] * 2)
    with pytest.raises(ValueError, match="one output dtype per output"):
        run_blockwise(src, [a, b], lambda blk: blk, out_bands=[1, 1], out_dtype=[np.uint8])


def test_read_class_table_reads_what_set_class_table_wrote_and_plain_category_names(tmp_path):
    from sarsense.algorithms.io import raster
    classes = [{"value": 0, "name": "not rice", "color": "#d9d9d9"}, {"value": 1, "name": "rice", "color": "#33a02c"}]
    ds = raster.create_geotiff(str(tmp_path / "c.tif"), xsize=4, ysize=4, bands=1, geotransform=(0, 1, 0, 0, 0, -1),
                               projection="", dtype=np.uint8,
                               band_metadata=[{"classes": __import__("json").dumps(classes)}])
    del ds
    assert raster.read_class_table(str(tmp_path / "c.tif")) == classes
    other = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "o.tif"), 4, 4, 1, gdal.GDT_Byte)
    band = other.GetRasterBand(1)
    band.SetRasterCategoryNames(["water", "", "forest"])
    band = None
    other = None
    assert raster.read_class_table(str(tmp_path / "o.tif")) == [{"value": 0, "name": "water", "color": "#808080"},
                                                                 {"value": 2, "name": "forest", "color": "#808080"}]
    assert raster.read_class_table(str(tmp_path / "missing.tif")) == []


def test_run_on_grid_writes_each_window_once_and_cancels_cleanly(tmp_path):
    """A grid no input gives: every pixel written once by the window that holds it (any block size and threads),
    the georeferencing as given, a wrong kernel shape refused, a cancel leaving nothing."""
    gt, wkt = (500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0), raster.read_info(_image(tmp_path)).projection

    def kernel(win):
        rows, cols = np.mgrid[win.y:win.y + win.h, win.x:win.x + win.w]
        return np.stack([rows * 1000.0 + cols, np.full(rows.shape, win.w * win.h, float)])
    whole, small = tmp_path / "whole.tif", tmp_path / "small.tif"
    engine.run_on_grid(str(whole), kernel, xsize=77, ysize=53, geotransform=gt, projection=wkt, out_bands=2)
    res = engine.run_on_grid(str(small), kernel, xsize=77, ysize=53, geotransform=gt, projection=wkt, out_bands=2,
                             options=RunOptions(block_size=16, workers=2))
    a, b = read_raster(whole), read_raster(small)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], np.mgrid[0:53, 0:77][0] * 1000.0 + np.mgrid[0:53, 0:77][1])
    assert res["blocks"] == 20 and b[1].max() == 256 and gdal.Open(str(small)).GetGeoTransform() == gt
    with pytest.raises(ValueError, match="kernel returned shape"):
        engine.run_on_grid(str(tmp_path / "bad.tif"), lambda w: np.zeros((3, w.h, w.w)), xsize=9, ysize=9,
                           geotransform=gt, projection=wkt, out_bands=2)
    with pytest.raises(engine.Cancelled):
        engine.run_on_grid(str(tmp_path / "cancelled.tif"), kernel, xsize=77, ysize=53, geotransform=gt,
                           projection=wkt, out_bands=2, options=RunOptions(block_size=16, is_canceled=lambda: True))
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "small.tif", "whole.tif"]


def test_kernel_pieces_equal_the_whole_block(tmp_path):
    src = write_raster(tmp_path / "in.tif", np.stack([speckled((70, 333), seed=s) for s in range(2)]))
    for name in ("lee", "refinedlee", "frost", "median"):
        k = speckle.band_kernel(name, size=7, looks=2)
        a = engine.run_blockwise(src, str(tmp_path / "a.tif"), k, halo=3, kernel_columns=None)
        b = engine.run_blockwise(src, str(tmp_path / "b.tif"), k, halo=3, kernel_columns=10)
        assert a["blocks"] == b["blocks"] == 1
        assert np.array_equal(read_raster(a["output"]), read_raster(b["output"]), equal_nan=True), name


def _complex(tmp_path):
    z = (np.arange(12, dtype=np.float32).reshape(3, 4) + 1j * np.ones((3, 4), np.float32)).astype(np.complex64)
    ds = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "slc.tif"), 4, 3, 1, gdal.GDT_CFloat32)
    ds.SetGeoTransform((0, 1, 0, 0, 0, -1))
    ds.GetRasterBand(1).WriteArray(z)
    ds = None
    return str(tmp_path / "slc.tif"), z


def test_complex_input_is_refused_or_read_as_amplitude(tmp_path):
    path, z = _complex(tmp_path)
    with pytest.raises(ValueError, match=r"complex \(SLC\) values in band\(s\) 1.*Amplitude → intensity"):
        engine.run_blockwise(path, str(tmp_path / "o.tif"), lambda b: b)
    out = engine.run_blockwise(path, str(tmp_path / "i.tif"), lambda b: sar.amplitude_to_intensity(b)[0],
                               complex_as="amplitude")["output"]
    np.testing.assert_allclose(read_raster(out)[0], np.abs(z) ** 2, rtol=1e-6)


def test_damaged_file_is_a_message_naming_it(tmp_path):
    src = write_raster(tmp_path / "full.tif", speckled((600, 600)))
    data = open(src, "rb").read()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read '.*cut.tif'.*damaged or incomplete"):
        engine.run_blockwise(str(cut), str(tmp_path / "o.tif"), lambda b: b)
    assert not list(tmp_path.glob("o.tif*"))


@pytest.mark.parametrize("name,message", [("out.png", "has the extension '.png'.*name it '.*out.tif'"),
                                          ("out.asc", "extension '.asc'"), ("out", "has no extension")])
def test_output_formats_other_than_geotiff_are_refused(tmp_path, name, message):
    src = write_raster(tmp_path / "in.tif", speckled((20, 20)))
    with pytest.raises(ValueError, match=message):
        engine.run_blockwise(src, str(tmp_path / name), lambda b: b)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_output_folder_problems_are_named(tmp_path):
    src = write_raster(tmp_path / "in.tif", speckled((20, 20)))
    (tmp_path / "dir.tif").mkdir()
    with pytest.raises(ValueError, match="is an existing folder"):
        engine.run_blockwise(src, str(tmp_path / "dir.tif"), lambda b: b)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is not a folder: '.*afile' is a file"):
        engine.run_blockwise(src, str(tmp_path / "afile" / "o.tif"), lambda b: b)
    with pytest.raises(ValueError, match="does not exist"):
        engine.run_blockwise(src, str(tmp_path / "missing" / "o.tif"), lambda b: b)


def test_infinite_values_are_written_as_nan_and_counted(tmp_path):
    src = write_raster(tmp_path / "in.tif", np.array([[1.0, 500.0], [-20.0, np.nan]], np.float32))
    lin, bad = sar.db_to_linear(np.array([500.0, 10.0], np.float32))
    assert bad == 1 and np.isnan(lin[0]) and lin[1] == pytest.approx(10.0)
    res = engine.run_blockwise(src, str(tmp_path / "o.tif"), lambda b: np.where(b > 100, np.inf, b))
    assert res["infinite"] == 1
    got = read_raster(res["output"])[0]
    assert np.isnan(got[0, 1]) and not np.isinf(got).any()


def test_stale_partials_of_dead_processes_are_removed(tmp_path):
    src = write_raster(tmp_path / "in.tif", speckled((20, 20)))
    out = tmp_path / "o.tif"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"o.tif.partial-{dead.stdout.strip()}-deadbeef.tif"
    stale.write_text("left by a killed run")
    alive = tmp_path / f"o.tif.partial-{os.getppid()}-0badcafe.tif"  # a live process: not ours to remove
    alive.write_text("being written")
    engine.run_blockwise(src, str(out), lambda b: b)
    assert out.exists() and not stale.exists() and alive.exists()


def test_sigterm_mid_run_leaves_no_partial_file(tmp_path):
    src = write_raster(tmp_path / "in.tif", speckled((400, 300)))
    script = textwrap.dedent(f"""
        import time
        from sarsense.algorithms.io import engine
        def slow(b):
            print("block", flush=True)
            time.sleep(0.3)
            return b
        engine.run_blockwise({src!r}, {str(tmp_path / 'o.tif')!r}, slow, options=engine.RunOptions(block_size=64))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "block"
    time.sleep(0.5)
    assert list(tmp_path.glob("o.tif.partial-*")), "the run writes under a partial name"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_class_maps_carry_a_colour_table_and_class_names(tmp_path):
    classes = [{"value": 0, "name": "water", "color": "#0064ff"}, {"value": 7, "name": "ice", "color": "#ffffff"}]
    seg = contract(task="segmentation", output={"activation": "softmax"}, classes=classes)
    rng = np.random.default_rng(3)
    src = write_raster(tmp_path / "in.tif", rng.normal(-15, 3, (2, 50, 60)).astype(np.float32))
    model = rt.Model(conv_net(tmp_path / "s.onnx", outputs=2, contract_dict=seg))
    out = rt.apply_model(model, src, str(tmp_path / "c.tif"))["output"]
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    table = band.GetRasterColorTable()
    assert (table is not None and table.GetColorEntry(0)[:3] == (0, 100, 255)
            and table.GetColorEntry(7)[:3] == (255,) * 3)
    names = band.GetRasterCategoryNames()
    assert names[0] == "water" and names[7] == "ice" and names[255] == "nodata"


def test_a_temporary_raster_lies_beside_the_output_and_goes_whatever_happens(tmp_path):
    out = tmp_path / "sub" / "result.tif"
    out.parent.mkdir()
    with engine.temporary_raster(out, "tmp_") as path:
        assert os.path.dirname(path) == str(out.parent) and os.path.basename(path).startswith("tmp_")
        open(path + ".aux.xml", "w").close()
    assert list(out.parent.iterdir()) == []
    with pytest.raises(RuntimeError), engine.temporary_raster(out, "tmp_") as path:
        raise RuntimeError("a failed job")
    assert list(out.parent.iterdir()) == []
