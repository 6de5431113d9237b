"""LST core: Norm-L4, Keys bicubic, gap fill, quality figures, TsHARP/ATPRK, MODIS decoding, pipeline tiling."""

import math
import os

import numpy as np
import pytest
from helpers import MODIS_H14V09, modis_subdataset, read_raster, write_raster
from osgeo import gdal

from sarsense.algorithms.io import RunOptions, engine
from sarsense.algorithms.lst import modis, pipeline, quality, resample, sharpen, temperature

UTM_GT = (500000.0, 1000.0, 0.0, 9100000.0, 0.0, -1000.0)


# -- Norm-L4 (Nguyen et al. 2022, §III.B.3) ---------------------------------------------------------
def test_norm_l4_constant_and_two_valued_blocks_closed_form():
    assert np.all(temperature.norm_l4(np.full((8, 8), 300.0), 4) == np.float32(300.0))
    block = np.full((4, 4), 290.0)
    block[:, :2] = 310.0          # half at 310 K, half at 290 K
    expected = ((310.0 ** 4 + 290.0 ** 4) / 2) ** 0.25
    assert temperature.norm_l4(block, 4)[0, 0] == pytest.approx(expected, abs=1e-4)
    assert expected > 300.0       # warmer than the arithmetic mean (Stefan–Boltzmann)
    one = np.full((4, 4), 280.0)
    one[0, 0] = 320.0             # 1 of 16 pixels
    assert temperature.norm_l4(one, 4)[0, 0] == pytest.approx(((320 ** 4 + 15 * 280 ** 4) / 16) ** 0.25, abs=1e-4)


def test_norm_l4_nan_and_partial_blocks():
    t = np.full((9, 10), 300.0)
    t[5, 6] = np.nan
    out = temperature.norm_l4(t, 4)
    assert out.shape == (2, 2)                 # the last row and the last two columns are left out
    assert np.isnan(out[1, 1]) and np.isfinite(out[[0, 0, 1], [0, 1, 0]]).all()


def test_units_checks_refuse_celsius_declared_as_kelvin_and_back():
    with pytest.raises(ValueError, match="looks like °C"):
        temperature.check_plausible(np.full(10, 25.0), "kelvin")
    with pytest.raises(ValueError, match="looks like kelvin"):
        temperature.check_plausible(np.full(10, 300.0), "celsius")
    with pytest.raises(ValueError, match="no valid pixel"):
        temperature.check_plausible(np.full(10, np.nan), "kelvin")
    assert temperature.check_plausible(np.full(3, 20.0), "celsius")[0] == pytest.approx(293.15)


# -- Keys' cubic convolution ------------------------------------------------------------------------
def test_keys_kernel_values_and_phase_weights():
    assert resample.keys_kernel(0) == 1 and resample.keys_kernel(1) == 0 and resample.keys_kernel(2) == 0
    # a = −0.5 at x = 0.5: (1.5)(0.125) − (2.5)(0.25) + 1 = 0.5625; at x = 1.5: −0.0625
    assert resample.keys_kernel(0.5) == pytest.approx(0.5625)
    assert resample.keys_kernel(1.5) == pytest.approx(-0.0625)
    for s in (2, 3, 4, 5):
        np.testing.assert_allclose(resample.phase_weights(s).sum(axis=1), 1.0)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_equals_a_direct_evaluation_of_keys_kernel(scale):
    rng = np.random.default_rng(scale)
    x = rng.normal(300, 5, (7, 9)).astype(np.float32)
    up = resample.upsample(x, scale)
    pad = np.pad(x.astype(np.float64), 10, mode="edge")      # edges: the edge pixel repeated
    for i, j in [(0, 0), (5, 11), (7 * scale - 1, 9 * scale - 1), (3, 9 * scale - 2), (13, 1)]:
        u, v = (i + 0.5) / scale - 0.5, (j + 0.5) / scale - 0.5
        direct = sum(resample.keys_kernel(u - k) * resample.keys_kernel(v - m) * pad[k + 10, m + 10]
                     for k in range(-3, 12) for m in range(-3, 14))
        assert up[i, j] == pytest.approx(direct, abs=1e-3)


def test_bicubic_keeps_constants_and_linear_ramps():
    np.testing.assert_allclose(resample.upsample(np.full((5, 6), 301.5, np.float32), 4), 301.5, atol=1e-4)
    ramp = np.add.outer(np.arange(10.0), 2 * np.arange(10.0)).astype(np.float32)
    up = resample.upsample(ramp, 4)
    ii, jj = np.meshgrid(np.arange(40), np.arange(40), indexing="ij")
    exact = ((ii + 0.5) / 4 - 0.5) + 2 * ((jj + 0.5) / 4 - 0.5)
    inner = (slice(8, 32), slice(8, 32))       # away from the repeated edges
    np.testing.assert_allclose(up[inner], exact[inner], atol=1e-4)


def test_gaps_stay_gaps_and_never_spread():
    x = np.full((12, 12), 300.0, np.float32)
    x[4:7, 4:7] = np.nan
    filled = resample.fill_gaps(x, iterations=2, fallback=0.0)
    assert np.isfinite(filled).all() and filled[5, 5] == pytest.approx(300.0)
    up = resample.upsample(x, 4, fill=filled)
    gap = np.repeat(np.repeat(np.isnan(x), 4, 0), 4, 1)
    assert np.isnan(up[gap]).all() and np.isfinite(up[~gap]).all()
    np.testing.assert_allclose(up[~gap], 300.0, atol=1e-4)
    # the fill is local: a value depends only on pixels within `iterations`
    far = x.copy()
    far[0, 11] = 250.0
    assert resample.fill_gaps(far, iterations=2, fallback=0.0)[5, 5] == filled[5, 5]


# -- quality figures ----------------------------------------------------------------------------------
def test_rmse_bias_psnr_and_global_ssim_against_hand_values():
    rng = np.random.default_rng(0)
    ref = rng.normal(300, 4, (32, 32))
    est = ref + 0.5
    f = quality.figures(ref, est)
    dr = ref.max() - ref.min()
    assert f["rmse"] == pytest.approx(0.5, abs=1e-9) and f["bias"] == pytest.approx(0.5, abs=1e-9)
    assert f["psnr"] == pytest.approx(20 * math.log10(dr / 0.5), abs=1e-9)
    mr, me, vr = ref.mean(), est.mean(), ref.var()
    c1, c2 = (0.01 * dr) ** 2, (0.03 * dr) ** 2
    expected = (2 * mr * me + c1) * (2 * vr + c2) / ((mr ** 2 + me ** 2 + c1) * (2 * vr + c2))
    assert f["ssim"] == pytest.approx(expected, rel=1e-9)
    assert quality.figures(ref, ref)["ssim"] == pytest.approx(1.0) and quality.figures(ref, ref)["psnr"] == math.inf
    assert quality.ssim_windowed(ref, ref) == pytest.approx(1.0)
    with_nan = est.copy()
    with_nan[0, :] = np.nan
    assert quality.figures(ref, with_nan)["n"] == 32 * 31


def test_moments_add_up_over_blocks():
    rng = np.random.default_rng(1)
    ref, est = rng.normal(290, 3, (50, 40)), rng.normal(290, 3, (50, 40))
    parts = quality.Moments()
    for y in range(0, 50, 16):
        parts.add(quality.Moments().update(ref[y:y + 16], est[y:y + 16]))
    whole = quality.figures(ref, est)
    for k, v in parts.figures().items():
        assert v == pytest.approx(whole[k], rel=1e-9)


def _structural_similarity():
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return None
    return structural_similarity


@pytest.mark.skipif(_structural_similarity() is None, reason="scikit-image is not installed")
def test_windowed_ssim_matches_scikit_image():
    ssim = _structural_similarity()
    rng = np.random.default_rng(2)
    ref = rng.normal(300, 4, (60, 70))
    est = ref + rng.normal(0, 1, ref.shape)
    dr = ref.max() - ref.min()
    # scikit-image's Gaussian SSIM: σ 1.5 truncated at 3.5 σ, an 11×11 window; population moments
    sk = ssim(ref, est, data_range=dr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert quality.ssim_windowed(ref, est, dr, window=11) == pytest.approx(sk, abs=1e-6)
    sk7 = ssim(ref, est, data_range=dr, win_size=7, use_sample_covariance=False)
    assert quality.ssim_windowed(ref, est, dr, window=7, uniform=True) == pytest.approx(sk7, abs=1e-6)


def test_windowed_ssim_uses_only_wholly_valid_windows():
    rng = np.random.default_rng(3)
    ref = rng.normal(300, 4, (30, 30))
    est = ref + rng.normal(0, 1, ref.shape)
    total, count = quality.ssim_map_sums(ref, est, 20.0)
    assert count == 24 * 24
    est2 = est.copy()
    est2[15, 15] = np.nan
    assert quality.ssim_map_sums(ref, est2, 20.0)[1] == 24 * 24 - 49


# -- TsHARP and ATPRK ---------------------------------------------------------------------------------
def _scene(scale=4, size=16, seed=1):
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(seed)
    ndvi = np.clip(rng.normal(0.5, 0.2, (size * scale, size * scale)), -0.1, 0.95)
    truth = 310 - 15 * ndvi + gaussian_filter(rng.normal(0, 3, ndvi.shape), 4)
    return ndvi, truth, temperature.norm_l4(truth, scale)


def test_trend_regression_recovers_a_known_line():
    v = np.linspace(0, 0.9, 50)
    t = 312.0 - 14.0 * v
    tr = sharpen.fit_trend(t, v)
    assert tr["a"] == pytest.approx(312.0) and tr["b"] == pytest.approx(-14.0) and tr["r"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 3"):
        sharpen.fit_trend(t[:2], v[:2])


@pytest.mark.parametrize("method", ["tsharp", "atprk"])
def test_sharpening_is_coherent_under_norm_l4(method):
    scale = 4
    ndvi, truth, coarse = _scene(scale)
    coarse[3, 4] = np.nan
    coarse[10:12, 0:3] = np.nan
    mom = sharpen.ndvi_moments(ndvi, scale)
    tr = sharpen.fit_trend(coarse, mom[1])
    t_ref = float(np.nanmean(coarse))
    rho = sharpen.coarse_residuals(coarse, mom, tr["a"], tr["b"], t_ref)
    if method == "atprk":
        k = sharpen.ATPK(scale)
        k.fit(rho)
        fine_rho = k.downscale(np.pad(rho, k.w, constant_values=np.nan))
    else:
        fine_rho = sharpen.repeat_coarse(rho, scale)
    fine = sharpen.fine_lst(ndvi, fine_rho, tr["a"], tr["b"], t_ref)
    back = temperature.norm_l4(fine, scale)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(coarse))
    assert np.nanmax(np.abs(back - coarse)) < 0.01        # the 0.01 K
    assert quality.figures(truth, fine)["rmse"] < 0.5 * quality.figures(truth, resample.upsample(
        coarse, scale, fill=resample.fill_gaps(coarse, iterations=2, fallback=300)))["rmse"]


def test_atpk_weights_reproduce_the_block_and_sum_to_one():
    k = sharpen.ATPK(4)
    k.sill, k.range_ = 2.0, 9.0
    lam = k.weights()
    np.testing.assert_allclose(lam.sum(axis=1), 1.0, atol=1e-9)          # ordinary kriging (eq. 4)
    centre = np.zeros(lam.shape[1])
    centre[lam.shape[1] // 2] = 1.0
    np.testing.assert_allclose(lam.mean(axis=0), centre, atol=1e-9)      # coherence: the block is reproduced


def test_deconvolution_recovers_a_point_covariance():
    # coarse residuals regularised from a known exponential point model: the fit finds its range again
    k = sharpen.ATPK(4)
    lags = np.arange(1, 9)
    target = k.regularised_semivariogram(lags, 1.5, 10.0)
    fitted = sharpen.ATPK(4)
    fitted.regularised_semivariogram = k.regularised_semivariogram
    rng = np.random.default_rng(0)
    assert target[-1] > target[0] > 0
    # a field with that covariance is not needed: the fit only sees the semivariogram
    orig = sharpen.experimental_semivariogram
    sharpen.experimental_semivariogram = lambda rho, lags=8: (np.arange(1, 9), target, np.full(8, 100))
    try:
        res = fitted.fit(rng.normal(size=(10, 10)))
    finally:
        sharpen.experimental_semivariogram = orig
    assert res["range_px"] == pytest.approx(10.0, rel=0.02) and res["sill"] == pytest.approx(1.5, rel=0.02)


# -- MODIS ----------------------------------------------------------------------------------------------
def test_modis_decode_applies_scale_fill_range_and_qc():
    raw = np.array([[0, 7499, 15000], [15000, 15000, 65535]], np.uint16)
    qc = np.array([[0, 0, 0], [1, 2, 0b01000100]], np.uint8)   # 00 good; 01 other; 10 cloud; 00 with high bits
    k = modis.decode(raw, qc, scale=0.02, offset=0.0, fill=0, valid_min=7500, valid_max=65535)
    assert np.isnan(k[0, 0]) and np.isnan(k[0, 1])             # fill; below the valid range
    assert k[0, 2] == pytest.approx(300.0)
    assert np.isnan(k[1, 0]) and np.isnan(k[1, 1])             # other quality and cloud: filtered
    assert k[1, 2] == pytest.approx(1310.7)                    # mandatory bits 00: good, whatever the rest
    k2 = modis.decode(raw, qc, scale=0.02, offset=0.0, fill=0, valid_min=7500, valid_max=65535, qc_filter=False)
    assert k2[1, 0] == pytest.approx(300.0) and k2[1, 1] == pytest.approx(300.0)


def test_modis_subdataset_names_and_reading_the_real_tile():
    sub = modis_subdataset()
    assert modis.parse_subdataset(sub) == (str(MODIS_H14V09), "MODIS_Grid_Daily_1km_LST", "LST_Day_1km")
    assert modis.qc_subdataset(sub).endswith(":QC_Day")
    assert modis.parse_subdataset("/data/lst.tif") is None
    raw = gdal.Open(sub).ReadAsArray()
    qc = gdal.Open(modis.qc_subdataset(sub)).ReadAsArray()
    good = (raw > 0) & ((qc & 3) == 0)
    k = modis.read_kelvin(sub)
    np.testing.assert_array_equal(np.isfinite(k), good)
    np.testing.assert_allclose(k[good], raw[good] * 0.02, rtol=1e-6)
    assert np.isfinite(modis.read_kelvin(sub, qc_filter=False)).sum() == (raw > 0).sum()


def test_lst_source_reads_modis_blockwise_like_the_whole_tile(tmp_path):
    src = pipeline.LstSource(modis_subdataset("LST_Night_1km"))
    assert src.modis and src.units == "kelvin"
    out = str(tmp_path / "k.tif")
    src.write_kelvin(out, options=RunOptions(block_size=300))
    np.testing.assert_array_equal(read_raster(out)[0], modis.read_kelvin(modis_subdataset("LST_Night_1km")))


# -- block engine and pipeline: block-wise equals whole --------------------------------------------------
def test_degrade_blockwise_equals_whole(tmp_path):
    rng = np.random.default_rng(4)
    t = rng.normal(300, 5, (103, 98)).astype(np.float32)
    t[10:20, 30:35] = np.nan
    src_path = write_raster(tmp_path / "t.tif", t, gt=UTM_GT, epsg=32725)
    out = str(tmp_path / "d.tif")
    res = pipeline.degrade_file(pipeline.LstSource(src_path), out, 4, options=RunOptions(block_size=8))
    assert res["blocks"] > 4 and res["dropped"] == (2, 3)     # 98 % 4 columns, 103 % 4 rows left out
    np.testing.assert_array_equal(read_raster(out)[0], temperature.norm_l4(t, 4))
    assert gdal.Open(out).GetGeoTransform()[1] == 4000.0


def test_bicubic_tiles_equal_the_whole_array(tmp_path):
    rng = np.random.default_rng(5)
    t = rng.normal(300, 5, (150, 140)).astype(np.float32)
    t[40:60, 20:50] = np.nan
    t[100:103, 100:102] = np.nan
    path = write_raster(tmp_path / "c.tif", t, gt=UTM_GT, epsg=32725)
    out = str(tmp_path / "b.tif")
    pipeline.bicubic(path, out, 4)
    expected = resample.upsample(t, 4, fill=resample.fill_gaps(t, iterations=pipeline.BICUBIC_FILL, fallback=0.0))
    got = read_raster(out)[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_gap_fill_in_blocks_with_its_depth_as_halo_equals_the_whole_array():
    t = modis.read_kelvin(modis_subdataset("LST_Day_1km"), qc_filter=False)[560:660, 180:300]
    whole = resample.fill_gaps(t, iterations=pipeline.UNET_FILL, fallback=300.0)
    h, got = pipeline.UNET_FILL, np.empty_like(whole)
    for y in range(0, t.shape[0], 32):
        for x in range(0, t.shape[1], 40):
            y0, x0 = max(0, y - h), max(0, x - h)
            block = resample.fill_gaps(t[y0:y + 32 + h, x0:x + 40 + h], iterations=h, fallback=300.0)
            got[y:y + 32, x:x + 40] = block[y - y0:y - y0 + 32, x - x0:x - x0 + 40]
    np.testing.assert_array_equal(got, whole)


@pytest.mark.parametrize("stride", [8, 24])
def test_unet_tiles_equal_the_whole_array_and_gaps_stay_gaps(tmp_path, stride):
    """The bundled U-Net on a real cloudy window: two tile sizes give the one-piece result, masked."""
    from sarsense.algorithms import onnx as rt
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "lst_superresolution.onnx", threads=1)
    c = model.contract
    tile = -(-(2 * c.halo + c.halo // 2 + stride) // c.size_multiple) * c.size_multiple
    t = modis.read_kelvin(modis_subdataset("LST_Day_1km"), qc_filter=False)[480:560, 176:264]
    assert 0.02 < np.isnan(t).mean() < 0.5           # real cloud gaps inside the window
    path = write_raster(tmp_path / "k.tif", t, gt=UTM_GT, epsg=32725)
    out = str(tmp_path / "u.tif")
    res = pipeline.unet(path, out, model, tile=tile)
    assert res["tile"] == (tile, tile) and res["tiles"] >= 4 and res["halo"] == c.halo
    fallback = c.nodata_fill * c.norm_scale[0] + c.norm_offset[0]
    filled = resample.fill_gaps(t, iterations=pipeline.UNET_FILL, fallback=fallback)
    expected = model.predict_tiles(filled[None, None])[0, 0]
    expected[np.isnan(t).repeat(4, 0).repeat(4, 1)] = np.nan
    got = read_raster(out)[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, atol=2e-3)


@pytest.mark.parametrize("method", ["tsharp", "atprk"])
def test_sharpen_raster_blockwise_equals_in_memory(tmp_path, method):
    scale = 4
    ndvi, truth, coarse = _scene(scale, size=24, seed=7)
    coarse[5:8, 5:9] = np.nan
    fine_gt = (UTM_GT[0], UTM_GT[1] / scale, 0.0, UTM_GT[3], 0.0, UTM_GT[5] / scale)
    cpath = write_raster(tmp_path / "c.tif", coarse, gt=UTM_GT, epsg=32725)
    npath = write_raster(tmp_path / "n.tif", ndvi.astype(np.float32), gt=fine_gt, epsg=32725)
    out1, out2 = str(tmp_path / "a.tif"), str(tmp_path / "b.tif")
    r1 = pipeline.sharpen_raster(cpath, npath, out1, scale, method, options=RunOptions(block_size=24))
    r2 = pipeline.sharpen_raster(cpath, npath, out2, scale, method)
    a, b = read_raster(out1)[0], read_raster(out2)[0]
    np.testing.assert_array_equal(a, b)
    assert r1["trend"] == r2["trend"]
    back = temperature.norm_l4(a, scale)
    assert np.nanmax(np.abs(back - coarse)) < 0.01


def test_fine_ndvi_must_cover_the_lst(tmp_path):
    coarse = write_raster(tmp_path / "c.tif", np.full((10, 10), 300, np.float32), gt=UTM_GT, epsg=32725)
    half = (UTM_GT[0], 250.0, 0.0, UTM_GT[3], 0.0, -250.0)
    ndvi = write_raster(tmp_path / "n.tif", np.full((20, 40), 0.5, np.float32), gt=half, epsg=32725)
    from sarsense.algorithms.io import read_info
    with pytest.raises(ValueError, match="covers 50.0 %"):
        pipeline.fine_ndvi(ndvi, read_info(coarse), 4)


def test_run_aggregate_in_memory_equals_written(tmp_path):
    rng = np.random.default_rng(6)
    t = rng.normal(300, 5, (64, 72)).astype(np.float32)
    path = write_raster(tmp_path / "t.tif", t, gt=UTM_GT, epsg=32725)

    def k(b):
        return temperature.norm_l4(b[0], 8)[None]

    held = engine.run_aggregate(path, None, k, factor=8, out_bands=1, options=RunOptions(block_size=3))["array"]
    np.testing.assert_array_equal(held[0], temperature.norm_l4(t, 8))


def test_quality_figures_blockwise_equal_the_whole_array(tmp_path):
    rng = np.random.default_rng(8)
    ref = rng.normal(300, 4, (70, 90)).astype(np.float32)
    est = (ref + rng.normal(0, 1, ref.shape)).astype(np.float32)
    est[30:34, 40:47] = np.nan
    r = pipeline.LstSource(write_raster(tmp_path / "r.tif", ref, gt=UTM_GT, epsg=32725, nodata=float("nan")))
    e = pipeline.LstSource(write_raster(tmp_path / "e.tif", est, gt=UTM_GT, epsg=32725, nodata=float("nan")))
    blockwise = pipeline.quality_file(r, e, patch=32, options=RunOptions(block_size=16))   # SSIM halo windows
    whole = quality.figures(ref, est)
    for k, v in whole.items():
        assert blockwise["whole"][k] == pytest.approx(v, rel=1e-9)
    assert blockwise["whole"]["ssim_windowed"] == pytest.approx(quality.ssim_windowed(ref, est), rel=1e-9)
    assert len(blockwise["patches"]) == 2 and blockwise["skipped"] == 2    # 2×2 patches, the gap spans two
    rows = blockwise["rows"]
    assert [r[0] for r in rows] == ["whole", "patch", "patch", "patch mean"]
    assert [c for c, _ in pipeline.QUALITY_COLUMNS] == ["scope", "row", "col", *pipeline.QUALITY_FIGURES]
    assert rows[0][3:] == tuple(blockwise["whole"][k] for k in pipeline.QUALITY_FIGURES)
    for i in range(len(pipeline.QUALITY_FIGURES)):
        assert rows[3][3 + i] == pytest.approx((rows[1][3 + i] + rows[2][3 + i]) / 2, rel=1e-12)
    disjoint = est.copy()
    disjoint[np.isfinite(ref)] = np.nan
    none = pipeline.LstSource(write_raster(tmp_path / "n.tif", disjoint, gt=UTM_GT, epsg=32725, nodata=float("nan")))
    with pytest.raises(ValueError, match="no valid pixel in common"):
        pipeline.quality_file(r, none)


@pytest.mark.parametrize("units", ["kelvin", "celsius"])
def test_super_resolution_job_writes_the_method_in_the_source_units_and_leaves_no_temporary(tmp_path, units):
    rng = np.random.default_rng(9)
    t = rng.normal(300, 5, (60, 50)).astype(np.float32)
    t[20:26, 10:14] = np.nan
    values = t if units == "kelvin" else t - np.float32(temperature.KELVIN_OFFSET)
    src = pipeline.LstSource(write_raster(tmp_path / "t.tif", values, gt=UTM_GT, epsg=32725), units)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen = []
    res = pipeline.super_resolution_file(src, str(out_dir / "b.tif"), "bicubic", 3,
                                         options=RunOptions(block_size=16, workers=2, progress=seen.append))
    assert res["tiles"] >= 1 and sorted(os.listdir(out_dir)) == ["b.tif"]
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and min(seen) <= 0.05
    expected = resample.upsample(t, 3, fill=resample.fill_gaps(t, iterations=pipeline.BICUBIC_FILL, fallback=0.0))
    if units == "celsius":
        expected = expected - np.float32(temperature.KELVIN_OFFSET)
    got = read_raster(out_dir / "b.tif")[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, atol=2e-3)
    assert gdal.Open(str(out_dir / "b.tif")).GetRasterBand(1).GetDescription() == \
        f"LST ({'K' if units == 'kelvin' else '°C'}), bicubic ×3"
    for method, missing in (("unet", "needs a model"), ("tsharp", "needs the NDVI"), ("nearest", "must be one of")):
        with pytest.raises(ValueError, match=missing):
            pipeline.super_resolution_file(src, str(out_dir / "x.tif"), method, 3)
    assert sorted(os.listdir(out_dir)) == ["b.tif"]
