"""Unit conversions and the dB/linear check, on closed forms and the real Camargue scene; the conversion and
polarisation-ratio jobs."""

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms import sar
from sarsense.algorithms.io import RunOptions, sample_values


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


# -- the jobs of sarsense:convertunits and sarsense:polratio ----------------------------------------------------
BLOCKS = RunOptions(block_size=7, workers=2)


@pytest.mark.parametrize("name", sar.CONVERSIONS)
def test_convert_file_block_wise_equals_the_whole_array_and_counts(tmp_path, name):
    rng = np.random.default_rng(12)
    arr = rng.normal(-5, 10, (2, 23, 19)).astype(np.float32)
    arr[0, :2, :3] = [[0.0, -1.0, 400.0], [np.nan, 2.0, -0.5]]
    src = write_raster(tmp_path / "in.tif", arr, descriptions=["a", "b"])
    out = str(tmp_path / "out.tif")
    res = sar.convert_file(src, out, conversion=name, options=BLOCKS)
    want, n_bad = sar.convert(name, arr)
    np.testing.assert_array_equal(read_raster(out), want)
    assert res == {"invalid": n_bad, "infinite": 0, "complex_bands": []}
    assert n_bad > 0 or name == "amplitude_to_intensity"
    assert gdal.Open(out).GetRasterBand(2).GetDescription() == "b"
    with pytest.raises(ValueError, match="conversion must be one of"):
        sar.convert_file(src, out, conversion="db_to_amplitude")


def test_convert_file_reads_complex_as_amplitude_or_refuses(tmp_path):
    z = (np.arange(12, dtype=np.float32).reshape(3, 4) + 1j * 2).astype(np.complex64)
    src = write_raster(tmp_path / "slc.tif", z, dtype=gdal.GDT_CFloat32)
    out = str(tmp_path / "i.tif")
    res = sar.convert_file(src, out, conversion="amplitude_to_intensity")
    assert res["complex_bands"] == [1]
    np.testing.assert_allclose(read_raster(out)[0], np.abs(z) ** 2, rtol=1e-6)
    with pytest.raises(ValueError, match="complex"):
        sar.convertible_complex_bands(src, "linear_to_db")


def _dated(path, values, dates):
    return write_raster(path, np.stack([np.full((9, 11), v, np.float32) for v in values]), descriptions=dates)


def test_cross_ratio_file_pairs_by_date_and_counts_nonpositive_power(tmp_path):
    """Bands are paired by date in the co-polarised order (the cross stack's order differs); the ratio is
    σ⁰VH[dB] − σ⁰VV[dB] per date; zero power has no dB value and is counted; block-wise as whole."""
    co = _dated(tmp_path / "vv.tif", [0.1, 0.2, 0.4], ["2020-01-01", "2020-01-13T05:26:41", "2020-01-25"])
    cross = _dated(tmp_path / "vh.tif", [0.04, 0.0, 0.01], ["2020-01-25", "2020-01-13", "2020-01-01"])
    pairs = sar.pair_bands(co, cross, co_label="VV", cross_label="VH")
    assert pairs.pairs == [(1, 3), (2, 2), (3, 1)] and pairs.same_grid
    assert pairs.descriptions == ["2020-01-01", "2020-01-13T05:26:41", "2020-01-25"]
    out = str(tmp_path / "ratio.tif")
    res = sar.cross_ratio_file(co, cross, out, pairs=pairs, in_db=False, options=BLOCKS)
    got = read_raster(out)
    np.testing.assert_allclose(got[0], -10.0, atol=1e-5)
    assert np.isnan(got[1]).all() and np.allclose(got[2], -10.0, atol=1e-5)
    assert res == {"nonpositive": 99, "infinite": 0}
    ds = gdal.Open(out)
    assert [ds.GetRasterBand(b + 1).GetDescription() for b in range(3)] == pairs.descriptions
    assert ds.GetRasterBand(1).GetMetadata()["units"] == "dB"
    in_db = sar.cross_ratio_file(co, cross, str(tmp_path / "db.tif"), pairs=pairs, in_db=True)
    assert in_db["nonpositive"] == 0          # dB input is not counted (negative dB is ordinary)


def test_pair_bands_refusals_name_what_differs(tmp_path):
    co = _dated(tmp_path / "vv.tif", [0.1, 0.2], ["2020-01-01", "2020-01-13"])
    other = _dated(tmp_path / "vh.tif", [0.1, 0.2], ["2020-01-01", "2020-02-13"])
    with pytest.raises(ValueError, match="VV and VH must be on the same dates: VH lacks 2020-01-13; VV lacks "
                                         "2020-02-13"):
        sar.pair_bands(co, other, co_label="VV", cross_label="VH")
    plain = write_raster(tmp_path / "plain.tif", np.ones((2, 9, 11)))
    with pytest.raises(ValueError, match="VV is a dated stack but VH has no dates"):
        sar.pair_bands(co, plain, co_label="VV", cross_label="VH")
    one = write_raster(tmp_path / "one.tif", np.ones((9, 11)))
    with pytest.raises(ValueError, match=r"CO has 2 band\(s\) and CROSS 1, without dates"):
        sar.pair_bands(plain, one)
    undated = sar.pair_bands(plain, write_raster(tmp_path / "p2.tif", np.ones((2, 9, 11))))
    assert undated.pairs == [(1, 1), (2, 2)] and undated.descriptions is None


def test_undeclared_fill_values_are_found():
    s = np.concatenate([np.full(100, -9999.0), np.random.default_rng(0).normal(-12, 3, 10000)])
    assert sar.undeclared_nodata(s) == (-9999.0, 100)
    assert sar.undeclared_nodata(np.array([-35.0, -12.0, 0.4])) is None


@pytest.mark.parametrize("values,expected,bad", [
    (np.arange(46, 1180, dtype=np.float64), "db", True),       # Int16 amplitude DN taken as dB
    (np.arange(46, 1180, dtype=np.float64), "linear", True),   # … or as linear power
    (np.linspace(-25, 5, 500), "db", False),                    # σ⁰ in dB
    (np.r_[np.linspace(-25, 5, 500), 45.0], "db", False),       # a corner reflector
    (np.r_[np.linspace(-25, 5, 500), 500.0], "db", False),      # an isolated absurd value: converted to NaN, counted
    (np.r_[np.linspace(-25, 5, 450), [65.0] * 50], "db", True),  # 10 % above +60 dB, which no σ⁰ reaches
    (10 ** (np.linspace(-25, 5, 500) / 10), "linear", False),
    (np.full(500, 150.0), "linear", True),                     # a median of +21.8 dB
])
def test_implausible_backscatter(values, expected, bad):
    """Issue #28: values no σ⁰ in dB or linear power has (median > +20 dB, or over 5 % of them > +60 dB) are named."""
    why = sar.implausible_backscatter(values, expected)
    assert (why is not None) == bad
    if bad and values[0] == 46:
        assert "all whole numbers" in why and "median" in why
