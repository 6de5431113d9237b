"""Closed-form and reference checks of the speckle filters (algorithms/sar/speckle.py), and their file jobs."""

import numpy as np
import pytest
from helpers import read_raster, speckled, write_raster
from osgeo import gdal

from sarsense.algorithms import sar
from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.sar import speckle

FILTERS = speckle.FILTERS
MEAN_PRESERVING = ("boxcar", "lee", "refinedlee", "frost", "gammamap", "kuan")


@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("size", [5, 7])
def test_constant_image_stays_constant(name, size):
    img = np.full((40, 33), 0.123, dtype=np.float32)
    out = speckle.apply(name, img, size=size, looks=4.0)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_allclose(out, 0.123, rtol=1e-6)


@pytest.mark.parametrize("name", FILTERS)
def test_nan_stays_nan_and_does_not_spread(name):
    img = speckled((50, 50), seed=1)
    img[20:23, 30:33] = np.nan
    out = speckle.apply(name, img, size=5)
    assert np.isnan(out[20:23, 30:33]).all()
    finite = np.isfinite(img)
    assert np.isfinite(out[finite]).all(), "a NaN pixel must not poison its neighbours"


# Largest relative bias of the mean on homogeneous speckle, 7×7 window, by ENL
# (docs/sar_preparation.md, "Speckle filters").
# Gamma-MAP (OTB's definition) and refined Lee (edge-window choice) are biased low at ENL 1; that is the
# published behaviour of those estimators, kept for OTB parity, not a bug of ours.
MEAN_BIAS = {"gammamap": {1: 0.05, 4: 0.03}, "refinedlee": {1: 0.03, 4: 0.01}}


@pytest.mark.parametrize("name", MEAN_PRESERVING)
@pytest.mark.parametrize("looks", [1, 4])
def test_mean_preserved_on_homogeneous_speckle(name, looks):
    img = speckled((300, 300), looks=looks, seed=2, mean=np.full((300, 300), 0.05))
    out = speckle.apply(name, img, size=7, looks=float(looks))
    assert abs(out.mean() / img.mean() - 1) < MEAN_BIAS.get(name, {}).get(looks, 0.005)
    assert out.std() < 0.6 * img.std(), "speckle must be reduced"


def test_median_is_biased_low_on_exponential_speckle():
    # Documented in docs/sar_preparation.md: the median of single-look intensity estimates ln(2)·mean, not the mean.
    img = speckled((300, 300), seed=3, mean=np.ones((300, 300)))
    assert abs(speckle.median(img, size=7).mean() - np.log(2)) < 0.05


def test_local_stats_unbiased_variance():
    img = np.arange(9, dtype=np.float32).reshape(3, 3)
    mean, var, n = speckle.local_stats(img, 3)
    assert mean[1, 1] == pytest.approx(4.0)
    assert var[1, 1] == pytest.approx(np.var(np.arange(9), ddof=1))
    assert n[1, 1] == 9


@pytest.mark.parametrize("size", [3, 5, 7, 11])
def test_box_sum_equals_scipy_correlation(size):
    from scipy import ndimage

    x32 = np.random.default_rng(size).gamma(1.0, 1e3, (37, 53)).astype(np.float32)
    ones = np.ones(size)
    for x in (x32.astype(np.float64), np.random.default_rng(size).gamma(1.0, 1e3, (37, 53))):
        ref = ndimage.correlate1d(ndimage.correlate1d(x, ones, axis=0, mode="nearest"), ones, axis=1, mode="nearest")
        assert np.allclose(speckle._box_sum(x, size), ref, rtol=1e-15, atol=0)
    # float32 data (what the filters pass) sum exactly in float64, whatever the order
    assert np.array_equal(speckle._box_sum(x32.astype(np.float64), size), ndimage.correlate1d(
        ndimage.correlate1d(x32.astype(np.float64), ones, axis=0, mode="nearest"), ones, axis=1, mode="nearest"))


def test_lee_closed_form_centre_pixel():
    img = np.array([[1, 2, 3], [4, 50, 6], [7, 8, 9]], dtype=np.float32)
    e, v = img.mean(), img.var(ddof=1)
    ci2, cu2 = v / e**2, 1 / 2.0
    w = 1 - cu2 / ci2
    assert speckle.lee(img, size=3, looks=2.0)[1, 1] == pytest.approx(50 * w + e * (1 - w), rel=1e-6)
    wk = (1 - cu2 / ci2) / (1 + cu2)
    assert speckle.kuan(img, size=3, looks=2.0)[1, 1] == pytest.approx(50 * wk + e * (1 - wk), rel=1e-6)


def _frost_reference(img, size, damping):
    """OTB 8.1's Frost loop, pixel by pixel (replicated edges): the definition we match."""
    r = size // 2
    pad = np.pad(img.astype(np.float64), r, mode="edge")
    out = np.empty(img.shape)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    dist = np.sqrt(yy**2 + xx**2)
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            win = pad[y:y + size, x:x + size]
            m, v = win.mean(), win.var(ddof=1)
            w = np.exp(-damping * v / m**2 * dist)
            out[y, x] = (w * win).sum() / w.sum()
    return out


def test_frost_matches_pixelwise_definition():
    img = speckled((23, 19), seed=4)
    np.testing.assert_allclose(speckle.frost(img, size=5, damping=2.0), _frost_reference(img, 5, 2.0), rtol=2e-6)


def test_gamma_map_branches():
    rng = np.random.default_rng(5)
    img = rng.gamma(1.0, 1.0, (60, 60)).astype(np.float32)
    out = speckle.gamma_map(img, size=5, looks=1.0)
    mean, var, _ = speckle.local_stats(img, 5)
    ci2 = var / mean**2
    low = ci2 < 1.0
    np.testing.assert_allclose(out[low], mean[low], rtol=1e-6)
    high = ci2 >= 2.0
    np.testing.assert_allclose(out[high], img[high], rtol=1e-6)


def test_gamma_map_at_ci2_equal_cu2_is_the_mean_not_nan():
    # At Ci² = Cu² exactly, α = (1 + Cu²)/(Ci² − Cu²) is infinite; the MAP estimate's limit is the mean.
    # This happened on real-looking data (1 pixel in 1024×1028 gamma noise): it used to be NaN.
    img = np.array([[1.2185379, 1.1420382, 0.48857, 1.1493434, 1.2864465],
                    [0.05227645, 0.32469627, 0.08280079, 0.01135217, 0.09373964],
                    [0.5658801, 2.2935884, 0.6261649, 0.86144876, 0.10370984],
                    [1.0529858, 2.3635669, 0.2725417, 0.26083806, 0.37744904],
                    [0.08526042, 0.31431383, 0.31328744, 0.07538714, 0.8765112]], dtype=np.float32)
    mean, _, ci2 = speckle._stats32(img, 5)
    looks = 1.0 / float(ci2[2, 2])
    assert np.float32(1.0 / looks) == ci2[2, 2]
    out = speckle.gamma_map(img, size=5, looks=looks)
    assert np.isfinite(out).all()
    assert out[2, 2] == mean[2, 2]


def test_refined_lee_keeps_an_edge_sharper_than_boxcar():
    mean = np.where(np.arange(64)[None, :] < 32, 0.02, 0.5) * np.ones((64, 64))
    img = speckled((64, 64), looks=4, seed=6, mean=mean)
    rl = speckle.refined_lee(img, size=7, looks=4)
    bx = speckle.boxcar(img, size=7)
    # just left of the edge the dark side must stay dark
    err_rl = np.abs(rl[8:56, 30] - 0.02).mean()
    err_bx = np.abs(bx[8:56, 30] - 0.02).mean()
    assert err_rl < 0.5 * err_bx


def test_refined_lee_needs_size_5():
    with pytest.raises(ValueError, match="size"):
        speckle.refined_lee(np.ones((9, 9)), size=3)


@pytest.mark.parametrize("bad", [4, 1, 2.5])
def test_bad_size_is_refused(bad):
    with pytest.raises(ValueError, match="size must be an odd integer"):
        speckle.lee(np.ones((9, 9)), size=bad)


def test_bad_looks_and_filter_name_are_refused():
    with pytest.raises(ValueError, match="looks"):
        speckle.lee(np.ones((9, 9)), size=3, looks=0)
    with pytest.raises(ValueError, match="filter must be one of"):
        speckle.apply("wiener", np.ones((9, 9)))


def test_quegan_identical_dates_are_returned_unchanged():
    # J_k = E[I_k]/N Σ I_i/E[I_i]; with I_i = I for all i this is I exactly.
    img = speckled((30, 30), seed=7)
    out = speckle.quegan_yu(np.stack([img, img, img]), size=5)
    np.testing.assert_allclose(out, np.stack([img] * 3), rtol=1e-5)


def test_quegan_reduces_speckle_and_keeps_means():
    mean = np.full((120, 120), 0.1)
    stack = np.stack([speckled((120, 120), seed=s, mean=mean * (1 + 0.5 * s)) for s in range(6)])
    out = speckle.quegan_yu(stack, size=5)
    for k in range(6):
        assert abs(out[k].mean() / stack[k].mean() - 1) < 0.02
        assert out[k].std() / out[k].mean() < 0.75 * stack[k].std() / stack[k].mean()


def test_quegan_needs_two_dates_and_keeps_nan():
    with pytest.raises(ValueError, match="at least 2 dates"):
        speckle.quegan_yu(np.ones((1, 9, 9)))
    stack = np.stack([speckled((20, 20), seed=s) for s in range(3)])
    stack[1, 5, 5] = np.nan
    out = speckle.quegan_yu(stack, size=3)
    assert np.isnan(out[1, 5, 5]) and np.isfinite(out[0, 5, 5]) and np.isfinite(out[2, 5, 5])


# -- the jobs of sarsense:despeckle and sarsense:multitemporaldespeckle ---------------------------------------
BLOCKS = RunOptions(block_size=7, workers=2)


@pytest.mark.parametrize("name", FILTERS)
def test_despeckle_file_block_wise_equals_the_whole_array(tmp_path, name):
    """The job's block-wise run (7-pixel blocks, two threads) equals the filter on each whole band, in linear power
    and in dB (converted, filtered, converted back), NaN kept; band descriptions are kept."""
    img = np.stack([speckled((41, 37), seed=8), speckled((41, 37), seed=9, looks=4)])
    img[0, 10:12, 20:23] = np.nan
    src = write_raster(tmp_path / "lin.tif", img, descriptions=["2020-01-01", "2020-01-13"])
    out = str(tmp_path / "out.tif")
    res = speckle.despeckle_file(src, out, filter=name, size=5, looks=2.0, damping=1.5, options=BLOCKS)
    whole = np.stack([speckle.apply(name, band, size=5, looks=2.0, damping=1.5) for band in img])
    np.testing.assert_array_equal(read_raster(out), whole)
    assert res["infinite"] == 0 and res["looks"] == ([(2.0, "given")] * 2 if name in speckle.USES_LOOKS else [])
    ds = gdal.Open(out)
    assert [ds.GetRasterBand(b + 1).GetDescription() for b in range(2)] == ["2020-01-01", "2020-01-13"]
    db = sar.linear_to_db(img)[0]
    src_db = write_raster(tmp_path / "db.tif", db)
    speckle.despeckle_file(src_db, str(tmp_path / "out_db.tif"), filter=name, size=5, looks=2.0, damping=1.5,
                           in_db=True, options=BLOCKS)
    want = np.stack([sar.linear_to_db(speckle.apply(name, sar.db_to_linear(band)[0], size=5, looks=2.0,
                                                    damping=1.5))[0] for band in db])
    np.testing.assert_array_equal(read_raster(tmp_path / "out_db.tif"), want)


def test_despeckle_file_refuses_bad_options_before_writing(tmp_path):
    src = write_raster(tmp_path / "lin.tif", speckled((20, 20), seed=1))
    with pytest.raises(ValueError, match="filter must be one of"):
        speckle.despeckle_file(src, str(tmp_path / "o.tif"), filter="wiener")
    with pytest.raises(ValueError, match="looks"):
        speckle.despeckle_file(src, str(tmp_path / "o.tif"), filter="lee", looks=0)
    assert not list(tmp_path.glob("o.tif*"))


def test_multitemporal_despeckle_file_block_wise_equals_the_whole_stack(tmp_path):
    stack = np.stack([speckled((33, 29), seed=s, mean=np.full((33, 29), 0.1 * (s + 1))) for s in range(3)])
    stack[1, 4, 4] = np.nan
    src = write_raster(tmp_path / "stack.tif", stack, descriptions=["2020-01-01", "2020-01-13", "2020-01-25"])
    out = str(tmp_path / "q.tif")
    assert speckle.multitemporal_despeckle_file(src, out, size=5, options=BLOCKS) == {"infinite": 0}
    np.testing.assert_array_equal(read_raster(out), speckle.quegan_yu(stack, size=5))
    assert gdal.Open(out).GetRasterBand(3).GetDescription() == "2020-01-25"
    db = sar.linear_to_db(stack)[0]
    speckle.multitemporal_despeckle_file(write_raster(tmp_path / "db.tif", db), str(tmp_path / "qdb.tif"), size=5,
                                         in_db=True, options=BLOCKS)
    want = sar.linear_to_db(speckle.quegan_yu(sar.db_to_linear(db)[0], size=5))[0]
    np.testing.assert_array_equal(read_raster(tmp_path / "qdb.tif"), want)


def test_multitemporal_despeckle_file_needs_two_dates(tmp_path):
    one = write_raster(tmp_path / "one.tif", speckled((12, 12), seed=2))
    assert speckle.check_stack(write_raster(tmp_path / "two.tif", np.ones((2, 4, 4)))) == 2
    with pytest.raises(ValueError, match=r"single band \(one date\).*'Build dated stack'"):
        speckle.multitemporal_despeckle_file(one, str(tmp_path / "o.tif"))
    assert not list(tmp_path.glob("o.tif*"))


@pytest.mark.parametrize("looks,damping", [(float("nan"), 2.0), (0.0, 2.0), (1.0, float("nan")), (1.0, -1.0),
                                           (float("inf"), 2.0)])
def test_nan_or_out_of_range_options_are_refused_before_reading(looks, damping):
    with pytest.raises(ValueError, match="finite number"):
        speckle.band_kernel("frost", looks=looks, damping=damping)


def test_multitemporal_filter_of_zeros_is_zeros_like_the_single_image_filters():
    zeros = np.zeros((3, 20, 20), np.float32)
    assert np.array_equal(speckle.quegan_yu(zeros, size=5), zeros)
    assert np.array_equal(speckle.lee(zeros[0], size=5), zeros[0])
    part = speckled((3, 20, 20)[1:], seed=1)[np.newaxis].repeat(3, 0)
    part[1] = 0.0  # one date without power
    out = speckle.quegan_yu(part, size=5)
    assert np.array_equal(out[1], part[1]) and np.isfinite(out).all()


# -- the ENL: from the input's metadata, else estimated from the image (issue #27) ----------------------------
@pytest.mark.parametrize("looks", [1.0, 4.4, 10.0])
def test_the_enl_estimate_finds_the_looks_of_homogeneous_areas_among_texture(looks):
    """Flat fields under L-look gamma speckle, 40 % of the scene textured at field scale (log-normal, correlated
    over ~6 px): the moment estimate's peak is within 10 % of L."""
    from scipy import ndimage
    rng = np.random.default_rng(4)
    texture = np.exp(8 * ndimage.gaussian_filter(rng.normal(size=(1024, 1024)), 6))
    scene = np.where(np.arange(1024)[None, :] < 614, 1.0, texture)
    img = (scene * rng.gamma(looks, 1.0 / looks, scene.shape)).astype(np.float32)
    assert speckle.estimate_enl(img) == pytest.approx(looks, rel=0.1)
    with pytest.raises(ValueError, match="too few usable 9×9 windows"):
        speckle.estimate_enl(img[:40, :40])


def test_band_looks_read_the_importers_enl_before_estimating(tmp_path):
    rng = np.random.default_rng(5)
    img = rng.gamma(4.4, 1 / 4.4, (2, 300, 300)).astype(np.float32)
    src = write_raster(tmp_path / "s.tif", img)
    got = speckle.band_looks(src)
    assert [s.startswith("estimated from the image") for _, s in got] == [True, True]
    assert all(v == pytest.approx(4.4, rel=0.1) for v, _ in got)
    ds = gdal.Open(src, gdal.GA_Update)
    ds.SetMetadata({"ENL": "4.4", "ENL_SOURCE": "Sentinel-1 product specification, IW GRDH"})
    ds.GetRasterBand(2).SetMetadataItem("ENL", "2.5")
    ds = None
    assert speckle.band_looks(src) == [(4.4, "the input's metadata (Sentinel-1 product specification, IW GRDH)"),
                                       (2.5, "the input's metadata (ENL)")]


def test_a_filtered_output_no_longer_carries_the_inputs_enl(tmp_path):
    """Metadata travels (the engine's provenance), but the ENL does not hold after filtering: a second filter
    would otherwise read the product's 4.4 off a despeckled image."""
    img = np.random.default_rng(6).gamma(4.4, 1 / 4.4, (3, 120, 120)).astype(np.float32)
    src = write_raster(tmp_path / "s.tif", img, descriptions=["2021-04-01", "2021-04-13", "2021-04-25"])
    ds = gdal.Open(src, gdal.GA_Update)
    ds.SetMetadata({"ENL": "4.4", "ENL_SOURCE": "Sentinel-1 product specification, IW GRDH", "MISSION": "S1A"})
    for b in range(3):
        ds.GetRasterBand(b + 1).SetMetadata({"ENL": "4.4", "POLARISATION": "VV"})
    ds = None
    speckle.despeckle_file(src, str(tmp_path / "a.tif"), filter="lee", looks=0)
    speckle.multitemporal_despeckle_file(src, str(tmp_path / "b.tif"), size=5)
    for out, how in (("a.tif", "lee 5×5, ENL 4.4, 4.4, 4.4"), ("b.tif", "quegan-yu 5×5")):
        ds = gdal.Open(str(tmp_path / out))
        meta, band = ds.GetMetadata(), ds.GetRasterBand(1).GetMetadata()
        assert "ENL" not in meta and "ENL" not in band and meta["MISSION"] == "S1A" and band["POLARISATION"] == "VV"
        assert meta["DESPECKLE"] == how
