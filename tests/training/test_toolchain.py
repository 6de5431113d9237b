"""The offline training toolchain (torch, CPU; tiny data only): loop, checkpoints, export, contract, parity."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training tests run in .venv-train (make test-training)")

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.onnx.receptive_field import unet_receptive_field
from sarsense.models.training import build
from sarsense.models.training.data import ArrayPatches, split
from sarsense.models.training.loop import train
from sarsense.models.training.nets import MLP, MultiResidualUNet, SmallCNN, UNet
from sarsense.models.training.onnx_export import export, parity_check


def tiny_data(n=24, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 1, size, size)).astype(np.float32)
    y = np.roll(x, 1, axis=3) * 0.5
    return ArrayPatches(x, y, source="random tiny test data")


def contract_for(task="pixel_regression", channels=1, rf=11, tile=64, multiple=1, **extra):
    c = {"format": "sarsense-model", "format_version": 1, "name": "t", "version": "0.0.1", "licence": "CC0-1.0",
         "task": task, "inputs": [{"name": f"c{i}", "units": "1"} for i in range(channels)],
         "normalisation": {"method": "offset_scale", "offset": 0.0, "scale": 1.0},
         "output": {"names": ["y"], "units": "1"},
         "tiling": {"tile_size": tile, "halo": rf // 2, "receptive_field": rf, "size_multiple": multiple},
         "training": {"data": "random tiny test data"}}
    c.update(extra)
    return c


def test_loop_logs_checkpoints_and_resumes(tmp_path):
    data = tiny_data()
    tr, va = split(len(data), val_fraction=0.25, seed=1)
    assert len(set(tr) & set(va)) == 0 and len(va) == 6
    net = SmallCNN(filters=4, layers=2)
    kw = dict(loss_fn=torch.nn.functional.mse_loss, batch_size=8, lr=1e-2, seed=3, workdir=str(tmp_path),
              log=lambda m: None)
    hist = train(net, data, tr, va, epochs=2, **kw)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in lines] == [1, 2] and all("val_loss" in h and "train_loss" in h for h in lines)
    assert (tmp_path / "last.pt").exists() and (tmp_path / "best.pt").exists()
    hist = train(SmallCNN(filters=4, layers=2), data, tr, va, epochs=3, **kw)   # resumes: one more epoch
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 3


def test_same_seed_same_weights(tmp_path):
    data = tiny_data()
    tr, va = split(len(data), val_fraction=0.25, seed=1)
    nets = []
    for run in ("a", "b"):
        torch.manual_seed(99)  # same initial weights
        net = SmallCNN(filters=4, layers=2)
        train(net, data, tr, va, loss_fn=torch.nn.functional.mse_loss, epochs=2, batch_size=8, lr=1e-2, seed=5,
              workdir=str(tmp_path / run), log=lambda m: None)
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(a, b)


def test_export_writes_the_contract_and_passes_parity(tmp_path):
    torch.manual_seed(0)
    net = SmallCNN(filters=4, layers=3)
    path = tmp_path / "cnn.onnx"
    export(net, path, contract_for(rf=7, tiling={"tile_size": 256, "halo": 3, "receptive_field": 7}), channels=1)
    model = rt.Model(path)
    mpp = model.contract.memory_per_pixel      # measured by export: 64 bytes or more, 3 significant bits
    assert model.contract.halo == 3 and mpp >= 64 and mpp % (1 << (mpp.bit_length() - 4)) == 0
    x = np.random.default_rng(0).normal(size=(2, 1, 40, 56)).astype(np.float32)
    assert parity_check(net, path, [x]) <= 1e-4
    with torch.no_grad():                      # the check can fail: change the weights after export
        net.body[0].weight.add_(0.1)
    with pytest.raises(AssertionError, match="differ"):
        parity_check(net, path, [x])


def test_export_refuses_a_contract_that_contradicts_the_graph(tmp_path):
    with pytest.raises(rt.ModelError, match=r"the contract lists 3 inputs \(c0, c1, c2\) but the graph takes 2 "
                                            r"channel\(s\)"):
        export(SmallCNN(in_channels=2, out_channels=2, filters=4, layers=2), tmp_path / "x.onnx",
               contract_for(channels=3, rf=5), channels=2)


@pytest.mark.parametrize("levels", [2, 3])
def test_unet_receptive_field_is_what_autograd_sees(levels):
    """The traced receptive field of our (bilinear) U-Net equals the span autograd finds, exactly."""
    torch.manual_seed(0)
    net = UNet(1, 1, levels=levels, filters=[4] * (levels + 1)).eval()
    x = torch.randn(1, 1, 256, 256, requires_grad=True)
    net(x)[0, 0, 128, 128].backward()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    extent = int(cols.max() - cols.min() + 1)
    assert extent == unet_receptive_field(levels, upsampling="bilinear")


def test_unet_and_multiresidual_unet_export_and_run_tiled(tmp_path):
    torch.manual_seed(0)
    unet = UNet(2, 3, levels=3)
    seg = contract_for("segmentation", channels=2, rf=92, tile=64, multiple=8,
                       output={"activation": "softmax"},
                       classes=[{"value": v, "name": str(v), "color": "#000000"} for v in (0, 50, 100)])
    seg["tiling"]["halo"] = 16
    export(unet, tmp_path / "unet.onnx", seg, channels=2)
    x = np.random.default_rng(1).normal(size=(1, 2, 64, 64)).astype(np.float32)
    assert parity_check(unet, tmp_path / "unet.onnx", [x]) <= 1e-4
    sr = MultiResidualUNet(levels=2, base=8, scale=4)
    sr_contract = contract_for("super_resolution", rf=45, tile=32, multiple=4, scale_factor=4)
    sr_contract["tiling"]["halo"] = 8           # below the receptive-field radius: blended, not exact
    export(sr, tmp_path / "sr.onnx", sr_contract, channels=1, tile=16)
    model = rt.Model(tmp_path / "sr.onnx")
    y = model.predict_tiles(np.ones((2, 1, 16, 16), np.float32))
    assert y.shape == (2, 1, 64, 64)
    assert parity_check(sr, tmp_path / "sr.onnx", [np.random.default_rng(2).normal(size=(1, 1, 16, 16))]) <= 1e-4


def test_mlp_exports_as_a_pixel_model(tmp_path):
    net = MLP(3, 2, hidden=(8,))
    c = contract_for("regression", channels=3, output={"names": ["a", "b"], "units": "1"})
    c.pop("tiling")
    export(net, tmp_path / "mlp.onnx", c, channels=3)
    assert rt.Model(tmp_path / "mlp.onnx").predict_pixels(np.zeros((5, 3), np.float32)).shape == (5, 2)


def test_every_bundled_model_has_a_recipe():
    bundled = {p.stem for p in rt.BUNDLED_MODELS_DIR.glob("*.onnx")}
    assert bundled == set(build.RECIPES), "make models must rebuild exactly the bundled models"
