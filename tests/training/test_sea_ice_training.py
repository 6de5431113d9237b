"""Sea-ice training pieces: the AI4Arctic NetCDF reader, scene sampling (eq. 5-6), augmentation, the loss (eq. 3-4),
and the exported model's contract (run with the training venv: torch)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training tests run in .venv-train (make test-training)")

from sarsense.models.training import sea_ice


def _write_ai4arctic(path, hh, hv, sic):
    """A small NetCDF scene in the AutoICE ready-to-train layout: 2-D variables on (sar_lines, sar_samples)."""
    from osgeo import gdal

    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(path))
    root = ds.GetRootGroup()
    lines = root.CreateDimension("sar_lines", None, None, hh.shape[0])
    samples = root.CreateDimension("sar_samples", None, None, hh.shape[1])
    for name, arr, dtype in (("nersc_sar_primary", hh, gdal.GDT_Float32), ("nersc_sar_secondary", hv, gdal.GDT_Float32),
                             ("SIC", sic, gdal.GDT_Byte)):
        var = root.CreateMDArray(name, [lines, samples], gdal.ExtendedDataType.Create(dtype))
        if name == "SIC":
            var.SetNoDataValueDouble(255)
        else:
            var.SetNoDataValueDouble(float("nan"))
        assert var.Write(np.ascontiguousarray(arr)) == gdal.CE_None
    ds = None
    return str(path)


def test_ai4arctic_netcdf_reader(tmp_path):
    rng = np.random.default_rng(1)
    hh = rng.normal(-18, 2, (64, 48)).astype(np.float32)
    hv = rng.normal(-27, 2, (64, 48)).astype(np.float32)
    hh[:4] = np.nan
    sic = np.repeat(np.arange(12, dtype=np.uint8) % 11, 4)[:, None].repeat(48, axis=1)[:64]
    sic[10:14, :] = 255
    path = _write_ai4arctic(tmp_path / "20190101T000000_dmi_prep.nc", hh, hv, sic)
    scene = sea_ice.read_ai4arctic(path)
    assert scene.x.shape == (2, 32, 24) and scene.y.shape == (32, 24)
    assert np.all(scene.x[:, :2] == 0) and np.all(scene.y[:2] == sea_ice.MASKED)        # NaN SAR: 0 and masked
    assert np.all(scene.y[5:7] == sea_ice.MASKED)                                       # 255 chart: masked
    assert scene.y[8, 0] == max(sic[16, 0], sic[17, 0])                                 # 2×2 maximum (§II.C)
    lin = (10 ** (hh[8:10, :2] / 10)).mean()
    want = 2 * (10 * math.log10(lin) + 30) / 40 - 1
    assert scene.x[0, 4, 0] == pytest.approx(want, abs=1e-5)                            # [-30, 10] dB → [-1, 1]
    assert scene.x.min() >= -1 and scene.x.max() <= 1
    with pytest.raises(ValueError, match="no variable"):
        sea_ice.read_ai4arctic(path, variables={"hh": "sar_primary"})


def test_scene_probabilities_follow_eq_5_and_6():
    p = sea_ice.scene_probabilities([100, 1000, 300])
    np.testing.assert_allclose(p, [100 / 1400, 1000 / 1400, 300 / 1400])
    assert p[1] / p[0] == pytest.approx(10)       # ten times the valid pixels: drawn ten times as often
    with pytest.raises(ValueError):
        sea_ice.scene_probabilities([0, 0])


def test_weighted_loss_is_eq_3_and_4():
    w = np.array([0.5, 2.0, 0.0])
    logits = torch.tensor([[[[1.0, 0.0]], [[0.0, 2.0]], [[3.0, 0.5]]]])       # (1, 3 classes, 1, 2)
    target = torch.tensor([[[1, 2]]])
    got = float(sea_ice.weighted_loss(w)(logits, target))
    x0, x1 = np.array([1.0, 0.0, 3.0]), np.array([0.0, 2.0, 0.5])
    per = [w[1] * (-x0[1] + np.log(np.exp(x0).sum())), w[2] * (-x1[2] + np.log(np.exp(x1).sum()))]
    assert got == pytest.approx(sum(per) / w.sum(), rel=1e-6)


def test_crops_have_valid_pixels_and_augmentation_moves_sar_and_chart_together():
    rng = np.random.default_rng(0)
    y = np.full((80, 80), sea_ice.MASKED, np.uint8)
    y[60:, 60:] = 7
    x = np.zeros((2, 80, 80), np.float32)
    x[:, 60:, 60:] = 0.5
    scene = sea_ice.Scene(x, y, "toy", "test")
    xs, ys = sea_ice.sample_batch([scene], np.array([1.0]), crop=32, batch=16, rng=rng)
    assert xs.shape == (16, 2, 32, 32) and ys.dtype == np.int64
    assert all(np.any(c != sea_ice.MASKED) for c in ys)                     # crops without valid pixels discarded
    # wherever the chart says 7, the SAR is the bright value, after dihedral and affine transforms alike
    for cx, cy in zip(xs, ys):
        inside = cy == 7
        assert np.all(cx[0][inside] > 0.2)
    for k in range(8):
        a, b = sea_ice.dihedral(x, y, k)
        assert np.array_equal(a[0] > 0.25, b == 7)


def test_export_contract_is_accepted_by_the_plugin(tmp_path):
    from sarsense.algorithms import onnx as rt
    from sarsense.algorithms.sea_ice import pipeline
    from sarsense.models.training.nets import UNet

    torch.manual_seed(0)
    net = UNet(2, sea_ice.N_OUT, levels=3)
    c = sea_ice.export_model(net, tmp_path / "sic3.onnx", name="sic3", training_data="none", summary="untrained")
    model = rt.Model(tmp_path / "sic3.onnx")
    pipeline.check_model(model)
    assert model.contract.n_outputs == 11 and c["tiling"]["size_multiple"] == 8
    assert c["tiling"]["halo"] == math.ceil(108 / 5) and 2.5 * c["tiling"]["halo"] >= 108 / 2


def test_simulated_scenes_and_the_training_loop_keep_the_best_validation_r2():
    from sarsense.models.training.nets import UNet

    scenes = sea_ice.simulated_scenes(3, seed=50, shape=(256, 256))
    for s in scenes:
        assert s.x.shape == (2, 128, 128) and s.x.min() >= -1 and s.x.max() <= 1
        assert set(np.unique(s.y)) <= set(range(12)) and s.valid > 0
    torch.manual_seed(0)
    net = UNet(2, sea_ice.N_OUT, levels=3)
    history, weights = sea_ice.train(net, scenes[:2], scenes[2:], epochs=3, steps=2, crop=64, batch=2, lr=1e-3,
                                     seed=0, log=lambda m: None, device="cpu")
    assert len(history) == 3 and weights[sea_ice.MASKED] == 0
    r2, per_scene, _ = sea_ice.scenes_r2(net, scenes[2:])
    assert r2 == pytest.approx(max(h["val_r2"] for h in history)) and len(per_scene) == 1


def test_geotiff_pair_reader_equals_the_arrays(tmp_path):
    from osgeo import gdal

    rng = np.random.default_rng(4)
    hh = rng.normal(-18, 2, (40, 36)).astype(np.float32)
    hv = rng.normal(-27, 2, (40, 36)).astype(np.float32)
    hv[:6] = np.nan
    chart = rng.integers(0, 11, (40, 36)).astype(np.uint8)
    chart[30:] = 255

    def write(path, arrays, dtype, nodata):
        ds = gdal.GetDriverByName("GTiff").Create(str(path), 36, 40, len(arrays), dtype)
        ds.SetGeoTransform((0, 40, 0, 0, 0, -40))
        for i, a in enumerate(arrays, start=1):
            ds.GetRasterBand(i).SetNoDataValue(nodata)
            ds.GetRasterBand(i).WriteArray(a)
        ds = None
        return str(path)
    sar = write(tmp_path / "s_sar.tif", [hh, hv], gdal.GDT_Float32, float("nan"))
    lab = write(tmp_path / "s_chart.tif", [chart], gdal.GDT_Byte, 255)
    got = sea_ice.read_geotiff_pair(sar, lab)
    want = sea_ice.to_network(hh, hv, chart)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.y, want.y)
    assert np.all(got.y[:3] == sea_ice.MASKED) and np.all(got.y[15:] == sea_ice.MASKED)
    two = sea_ice.read_geotiff_pair(write(tmp_path / "hh.tif", [hh], gdal.GDT_Float32, float("nan")), lab,
                                    hv=write(tmp_path / "hv.tif", [hv], gdal.GDT_Float32, float("nan")))
    np.testing.assert_array_equal(two.x, want.x)
