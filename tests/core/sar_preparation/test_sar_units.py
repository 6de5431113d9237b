"""Unit conversions and the dB/linear check, on closed forms and the real Camargue scene."""

import numpy as np
import pytest
from helpers import read_raster

from sarsense.algorithms import sar
from sarsense.algorithms.io import sample_values


def test_db_linear_round_trip():
    db = np.array([-25.0, -10.0, 0.0, 3.0, np.nan], dtype=np.float32)
    lin, _ = sar.db_to_linear(db)
    np.testing.assert_allclose(lin[:4], [10**-2.5, 0.1, 1.0, 10**0.3], rtol=1e-6)
    back, bad = sar.linear_to_db(lin)
    np.testing.assert_allclose(back[:4], db[:4], atol=1e-5)
    assert np.isnan(back[4]) and bad == 0


def test_nonpositive_linear_becomes_nan_not_inf():
    out, bad = sar.linear_to_db(np.array([0.0, -1.0, 0.01, np.nan], dtype=np.float32))
    assert bad == 2
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == pytest.approx(-20.0)
    assert not np.isinf(out).any()


def test_cross_polarisation_ratio_by_hand():
    """VH/VV in dB: σ⁰VH[dB] − σ⁰VV[dB] = 10·log10(σ⁰VH/σ⁰VV); linear power converted first, ≤ 0 and NaN give NaN."""
    vh, vv = np.array([-20.0, -18.0, np.nan], np.float32), np.array([-12.0, -8.0, -10.0], np.float32)
    got = sar.cross_ratio_db(vh, vv)
    assert got.dtype == np.float32 and np.allclose(got[:2], [-8.0, -10.0]) and np.isnan(got[2])
    lin = sar.cross_ratio_db(np.array([0.01, 0.02, 0.0]), np.array([0.1, 0.02, 0.1]), in_db=False)
    assert np.allclose(lin[:2], [-10.0, 0.0], atol=1e-5) and np.isnan(lin[2])
    assert sar.cross_ratio_db(np.array([-20.0]), np.array([-12.5])).dtype == np.float64


def test_amplitude_intensity():
    inten, _ = sar.amplitude_to_intensity(np.array([2.0, 0.5], dtype=np.float32))
    np.testing.assert_allclose(inten, [4.0, 0.25])
    amp, bad = sar.intensity_to_amplitude(np.array([4.0, -1.0], dtype=np.float32))
    assert amp[0] == 2.0 and np.isnan(amp[1]) and bad == 1


def test_guess_units_on_real_scene(sample_db):
    sample = sample_values(sample_db)
    assert sar.guess_units(sample) == "db"
    assert sar.guess_units(10 ** (sample / 10)) == "linear"
    assert sar.guess_units(np.array([np.nan])) == "unknown"
    assert sar.guess_units(np.array([120.0, 300.0, 800.0])) == "unknown"  # e.g. DN counts


def test_sample_turns_nodata_into_nan(tmp_path, sample_db):
    from helpers import write_raster
    arr = read_raster(sample_db)[0]
    arr[:5] = -99.0
    p = write_raster(tmp_path / "nd.tif", arr, nodata=-99.0)
    s = sample_values(p)
    assert abs(np.isnan(s).mean() - 5 / arr.shape[0]) < 0.02 and not (s == -99.0).any()


def test_sample_reads_a_few_blocks_not_the_whole_file(tmp_path):
    from helpers import write_raster
    from osgeo import gdal
    arr = np.arange(2048 * 2048, dtype=np.float32).reshape(2048, 2048)
    p = str(tmp_path / "tiled.tif")
    ds = gdal.GetDriverByName("GTiff").Create(p, 2048, 2048, 1, gdal.GDT_Float32, options=["TILED=YES"])
    ds.GetRasterBand(1).WriteArray(arr)
    ds = None
    s = sample_values(p, max_side=256, max_blocks=16)
    rows = np.unique((s[np.isfinite(s)] // 2048).astype(int))
    assert 200 <= s.size <= 256 * 256 + 16 and rows.min() == 0 and rows.max() >= 1792  # spread over the image
    assert len(rows) <= 4 * 256, "only the rows of 16 tiles are read"
    striped = write_raster(tmp_path / "striped.tif", arr)
    assert sample_values(striped).size <= 512 * 512 + 64


def test_sampling_several_bands_reads_each_block_once_and_equals_band_by_band(tmp_path):
    from osgeo import gdal
    rng = np.random.default_rng(4)
    arr = rng.normal(-12, 3, (6, 600, 700)).astype(np.float32)
    arr[2, :50] = -9999.0
    p = str(tmp_path / "stack.tif")
    ds = gdal.GetDriverByName("GTiff").Create(p, 700, 600, 6, gdal.GDT_Float32,
                                              options=["TILED=YES", "INTERLEAVE=PIXEL"])
    for b in range(6):
        ds.GetRasterBand(b + 1).WriteArray(arr[b])
        ds.GetRasterBand(b + 1).SetNoDataValue(-9999.0)   # GeoTIFF keeps one nodata value for all bands
    ds = None
    together = sample_values(p, band=range(1, 7), max_side=128)
    assert together.shape[0] == 6
    for b in range(6):
        np.testing.assert_array_equal(together[b], sample_values(p, band=b + 1, max_side=128)[0])
    assert np.isnan(together[2]).any() and not (together == -9999.0).any()
