"""The engine's shared rules for bad values (issue #28): band scale and offset applied on every read, the physical
range of each quantity, class maps, and the empty-result rule (no output with no valid pixel)."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.io import RunOptions, engine, quantities, raster
from sarsense.algorithms.io.engine import partials


def _scaled(tmp_path, name, dn, scale, offset=0.0, nodata=None):
    path = write_raster(tmp_path / name, dn, nodata=nodata)
    ds = gdal.Open(path, gdal.GA_Update)
    ds.GetRasterBand(1).SetScale(scale)
    ds.GetRasterBand(1).SetOffset(offset)
    ds = None
    return path


def test_reads_and_samples_apply_the_declared_scale_and_offset_after_nodata(tmp_path):
    dn = np.array([[15000, 0], [14000, 16000]], np.uint16)
    path = _scaled(tmp_path, "lst.tif", dn, 0.02, 1.0, nodata=0)
    want = np.array([[301.0, np.nan], [281.0, 321.0]], np.float32)
    ds = raster.open_dataset(path)
    np.testing.assert_allclose(raster.read_window(ds, [1], 0, 0, 2, 2)[0], want, rtol=1e-6)
    np.testing.assert_allclose(np.sort(raster.sample_values(path)[0]), [281.0, 301.0, 321.0, np.nan], rtol=1e-6)
    out = str(tmp_path / "copy.tif")
    engine.run_blockwise([path], out, lambda b: b)
    np.testing.assert_allclose(read_raster(out)[0], want, rtol=1e-6)


def test_a_band_that_declares_no_scale_is_read_raw():
    class Band:      # GDAL's HDF4 driver reports uninitialised numbers for a MODIS subdataset
        def __init__(self, scale, offset):
            self._s, self._o = scale, offset

        def GetScale(self):  # noqa: N802 (GDAL's name)
            return self._s

        def GetOffset(self):  # noqa: N802
            return self._o
    assert raster.band_scaling(Band(2.1e-316, 5.4e-317)) is None
    assert raster.band_scaling(Band(None, None)) is None and raster.band_scaling(Band(1.0, 0.0)) is None
    assert raster.band_scaling(Band(0.02, 0.0)) == (0.02, 0.0)
    assert raster.band_scaling(Band(float("nan"), 0.0)) is None


@pytest.mark.parametrize("name, values, fits", [
    ("ndvi", [0.1, 0.5, 0.9, -0.2], True),
    ("ndvi", [2.5, 3.0, 5.0, 4.0], False),
    ("ndvi", [1200, 5000, 8000, 9000], False),            # MODIS NDVI without its scale 0.0001
    ("lst_kelvin", [280.0, 300.0, 320.0], True),
    ("lst_kelvin", [14000.0, 15000.0, 15500.0], False),   # MODIS DN without the 0.02 scale
    ("lst_kelvin", [10.0, 25.0, 30.0], False),            # °C given as kelvin
    ("lst_celsius", [280.0, 300.0, 310.0], False),        # kelvin given as °C
    ("sigma0_db", [-25.0, -10.0, 5.0], True),
    ("sigma0_db", [46.0, 300.0, 1179.0], False),          # Int16 amplitude DN
    ("sic_percent", [0.0, 50.0, 100.0], True),
    ("sic_percent", [120.0, 120.0, 50.0], False),
    ("reflectance", [0.02, 0.3, 0.5], True),
    ("reflectance", [-0.3, -0.2, 0.1], False),
])
def test_a_quantity_outside_its_physical_range_is_named_with_its_cause(name, values, fits):
    problem = quantities.range_problem(np.array(values * 100, np.float32), name)
    if fits:
        assert problem is None
    else:
        q = quantities.QUANTITIES[name]
        assert problem and q.describe() in problem and (q.above in problem or q.below in problem)


def test_a_few_outliers_and_an_empty_sample_pass_the_range_test():
    values = np.r_[np.full(999, 0.4), 7.0]           # 0.1 % outside
    assert quantities.range_problem(values, "ndvi") is None
    assert quantities.range_problem(np.full(10, np.nan), "ndvi") is None
    with pytest.raises(ValueError, match="unknown quantity"):
        quantities.range_problem(values, "nope")


def test_a_continuous_raster_is_no_class_map():
    assert quantities.class_problem(np.array([0.0, 1.0, 2.0, 255.0, np.nan])) is None
    problem = quantities.class_problem(np.array([0.13, 0.5, 0.87, 1.0]))
    assert "not a class map" in problem and "3 of 4" in problem


def test_an_output_with_no_valid_pixel_is_refused_and_not_written(tmp_path):
    src = write_raster(tmp_path / "in.tif", np.ones((2, 40, 40), np.float32))
    out = tmp_path / "out.tif"
    with pytest.raises(ValueError, match="would be NaN or nodata.*the red band is zero"):
        engine.run_blockwise([src], str(out), lambda b: np.full_like(b, np.nan),
                             options=RunOptions(block_size=16, empty_hint="the red band is zero"))
    assert os.listdir(tmp_path) == ["in.tif"]
    with pytest.raises(ValueError, match="would be NaN or nodata"):     # a class map all 255 (nodata)
        engine.run_blockwise([src], str(out), lambda b: np.full(b.shape, 255, np.uint8), out_dtype=np.uint8,
                             options=RunOptions(block_size=16))
    assert os.listdir(tmp_path) == ["in.tif"]


def test_an_empty_answer_the_job_allows_is_written_and_empty_bands_are_listed(tmp_path):
    src = write_raster(tmp_path / "in.tif", np.ones((3, 40, 40), np.float32))
    out = str(tmp_path / "out.tif")
    res = engine.run_blockwise([src], out, lambda b: np.full_like(b, np.nan),
                               options=RunOptions(block_size=16, allow_empty=True))
    assert np.isnan(read_raster(out)).all() and res["empty_bands"] == [1, 2, 3]

    def some_empty(b):
        b = b.copy()
        b[1] = np.nan
        return b
    res = engine.run_blockwise([src], out, some_empty, options=RunOptions(block_size=16))
    assert res["empty_bands"] == [2]
    assert RunOptions(empty_hint="mine").with_empty_hint("job's").empty_hint == "mine"
    assert RunOptions().with_empty_hint("job's").empty_hint == "job's"


def test_a_temporary_raster_is_removed_on_sigterm(tmp_path):
    """A job's intermediate file (e.g. the U-Net's gap-filled LST) is registered like a partial output."""
    with partials.temporary_raster(str(tmp_path / "out.tif"), "sarsense_x_") as tmp:
        assert tmp in partials._ACTIVE
    assert tmp not in partials._ACTIVE and not os.path.exists(tmp)


def test_a_terminated_run_calls_the_cleanup_of_outputs_others_write(tmp_path):
    """SIGTERM during a run removes the tables and reports QGIS writes too (the base class registers them)."""
    script = tmp_path / "run.py"
    table = tmp_path / "table.csv"
    script.write_text(textwrap.dedent(f"""
        import os, time
        from sarsense.algorithms.io.engine import partials
        with partials.cleanup_on_signal(lambda: os.remove({str(table)!r})):
            open({str(table)!r}, "w").write("half a table")
            print("ready", flush=True)
            time.sleep(30)
    """))
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(partials.__file__))))))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=package_parent))
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM
    assert not table.exists()


def test_a_quantity_is_clipped_to_its_range_and_counted():
    sm = np.array([-0.06, 0.0, 0.3, 1.2, np.nan], np.float32)
    assert quantities.clip(sm, "soil_moisture") == (1, 1)
    np.testing.assert_array_equal(sm, np.array([0.0, 0.0, 0.3, 1.0, np.nan], np.float32))
