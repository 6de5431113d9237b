"""`make bench`, neural networks: SARSense's ONNX tiled inference against torch CPU eager, same weights, same
raster.

Two networks of the sizes the suites ship:

* LST: the multi-residual U-Net (Nguyen et al. 2022), 3 levels, 32 base filters, ×4 super-resolution
  with the bicubic upsampling inside the graph; tiles of 64 coarse pixels (256 fine), halo 8;
  a 512² coarse raster → 2048² output.
* sea ice: Stokholm et al.'s (2022) best U-Net, 8 levels, filters 16 then 7 × 32, 11 SIC classes,
  2 channels (HH, HV); tiles of 768 (their training patch), halo 128 with blending; a 1536² raster.
* shipped: the bundled models/s1_despeckle_example.onnx (its trained weights, loaded into the same
  torch module for the peer) on a 4096² dB raster.

Both sides run the same tile plan through the same engine (algorithms/io/engine/tiles.run_tiled): the
ONNX side is ``onnx.apply_model`` exactly as sarsense:applymodel calls it; the torch side
swaps in the torch module's forward (eval, no_grad). Same thread count. Each side is its own
process under /usr/bin/time (wall time, peak RSS). Outputs are compared, so the ratio is for the
same result. Weights are random: this measures speed, not skill. Needs .venv-train (torch).
"""

import argparse
import os
import sys
import tempfile

import numpy as np
from common import timed  # (seconds, peak RSS MB)
from osgeo import gdal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = 1.3

NETS = {
    "lst": dict(channels=1, size=512, tile=64, halo=8, batch=4, budget=512),
    "seaice": dict(channels=2, size=1536, tile=768, halo=128, batch=1, budget=1024),
    # the shipped model chain: the bundled example model, its own weights, a 4096² dB scene
    "shipped": dict(channels=1, size=4096, batch=4, budget=512),
}
SIC_CLASSES = [{"value": 10 * i, "name": f"SIC {10 * i} %", "color": f"#{20 * i:02x}{40 + 20 * i:02x}{255:02x}"}
               for i in range(11)]

SIDE = """
import sys
import numpy as np
from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io import RunOptions, run_tiled
side, onnx_path, weights, src, out, threads = sys.argv[1:7]
threads = int(threads)
model = rt.Model(onnx_path, threads=threads, device="cpu")
c = model.contract
kw = dict(tile=c.tile_size, halo=c.halo, batch=int(sys.argv[7]), options=RunOptions(budget_mb=int(sys.argv[8])))
if side == "onnx":
    rt.apply_model(model, src, out, **kw)
else:
    import torch  # only the torch side pays for importing it (peak RSS)
    torch.set_num_threads(threads)
    net = torch.load(weights, weights_only=False).eval()
    def predict(tiles):
        x = model.normalise(np.array(tiles, np.float32), 1)
        with torch.no_grad():
            y = net(torch.from_numpy(np.ascontiguousarray(x))).numpy()
        return model.to_values(y, 1)
    finish = rt.class_map_finish(c.classes) if c.task == "segmentation" else None
    layout = rt.output_layout(c)
    run_tiled(src, out, predict, tile=kw["tile"], margin=kw["halo"], out_bands=c.n_outputs, scale=c.scale_factor,
              multiple=c.size_multiple, batch=kw["batch"], options=kw["options"], finish=finish,
              final_bands=len(layout[0]), out_dtype=layout[2], predict_bytes_per_pixel=c.memory_per_pixel)
"""


def build(name, tmp):
    """Random-weight network, its ONNX export with a contract, the pickled torch module, an input raster."""
    import torch

    from sarsense.algorithms.onnx.receptive_field import unet_receptive_field
    from sarsense.models.training.nets import MultiResidualUNet, UNet
    from sarsense.models.training.onnx_export import export

    cfg = NETS[name]
    torch.manual_seed(0)
    n = cfg["size"]
    src = os.path.join(tmp, f"{name}_in.tif")
    ds = gdal.GetDriverByName("GTiff").Create(src, n, n, cfg["channels"], gdal.GDT_Float32, options=["TILED=YES"])
    ds.SetGeoTransform((0, 1000 if name == "lst" else 80, 0, 0, 0, -(1000 if name == "lst" else 80)))
    rng = np.random.default_rng(1)
    for b in range(cfg["channels"]):
        for y in range(0, n, 512):
            block = rng.normal(0, 1, (min(512, n - y), n)).astype(np.float32)
            if name == "shipped":  # single-look speckle in dB on a blocky scene
                scene = np.exp(rng.normal(-3, 1, (block.shape[0] // 64 + 1, n // 64))).repeat(64, 0).repeat(64, 1)
                block = 10 * np.log10(scene[:block.shape[0]] * rng.gamma(1.0, 1.0, block.shape)).astype(np.float32)
            ds.GetRasterBand(b + 1).WriteArray(block, 0, y)
    ds = None
    weights = os.path.join(tmp, f"{name}.pt")
    if name == "shipped":
        import onnx
        from onnx import numpy_helper

        from sarsense.algorithms import onnx as rt
        from sarsense.models.training.nets import SmallCNN
        onnx_path = str(rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx")
        net = SmallCNN(1, 1, filters=16, layers=5)
        state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                 for i in onnx.load(onnx_path).graph.initializer}
        net.load_state_dict(state)
        torch.save(net.eval(), weights)
        return onnx_path, weights, src
    base = {"format": "sarsense-model", "format_version": 1, "name": f"bench-{name}", "version": "0",
            "licence": "CC0-1.0", "normalisation": {"method": "offset_scale", "offset": 0.0, "scale": 1.0},
            "training": {"data": "none: random weights (benchmark)"}}
    if name == "lst":
        net = MultiResidualUNet(levels=3, base=32, scale=4)
        contract = dict(base, task="super_resolution", scale_factor=4, inputs=[{"name": "LST", "units": "K"}],
                        output={"names": ["LST"], "units": "K"})
        rf, multiple = 2 * 4 * 3 * 8, 8    # fine-grid reach of 3 stride-2 levels, in coarse pixels: generous
    else:
        net = UNet(2, 11, levels=8)
        contract = dict(base, task="segmentation", inputs=[{"name": "HH", "units": "1"}, {"name": "HV", "units": "1"}],
                        output={"activation": "softmax"}, classes=SIC_CLASSES)
        rf, multiple = unet_receptive_field(8, upsampling="bilinear"), 256
    contract["tiling"] = {"tile_size": cfg["tile"], "halo": cfg["halo"], "receptive_field": rf,
                          "size_multiple": multiple}
    net.eval()
    onnx_path = os.path.join(tmp, f"{name}.onnx")
    export(net, onnx_path, contract, channels=cfg["channels"], tile=cfg["tile"])
    torch.save(net, weights)
    return onnx_path, weights, src


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    import torch  # noqa: F401 (fail early without .venv-train)
    print(f"\nONNX (onnxruntime) vs torch {__import__('torch').__version__} CPU eager, {args.threads} threads, "
          "same weights, raster and tile plan")
    print(f"{'network':8} {'raster':>10} {'torch s':>8} {'torch MB':>9} {'onnx s':>7} {'onnx MB':>8} {'ratio':>6}  "
          f"target >= {TARGET}x")
    missed = []
    with tempfile.TemporaryDirectory(prefix="sarsense-bench-onnx-") as tmp:
        for name in args.nets:
            onnx_path, weights, src = build(name, tmp)
            outs, res = {}, {}
            for side in ("torch", "onnx"):
                outs[side] = os.path.join(tmp, f"{name}_{side}.tif")
                res[side] = timed([sys.executable, "-c", SIDE, side, onnx_path, weights, src, outs[side],
                                   str(args.threads), str(NETS[name]["batch"]), str(NETS[name]["budget"])])
            a, b = (gdal.Open(outs[s]).ReadAsArray() for s in ("torch", "onnx"))
            same = np.mean(a == b) if a.dtype == np.uint8 else float(np.max(np.abs(a - b)))
            ratio = res["torch"][0] / res["onnx"][0]
            if ratio < TARGET:
                missed.append(name)
            n = NETS[name]["size"]
            print(f"{name:8} {f'{n}x{n}':>10} {res['torch'][0]:8.2f} {res['torch'][1]:9.0f} {res['onnx'][0]:7.2f} "
                  f"{res['onnx'][1]:8.0f} {ratio:6.2f}x  {'met' if ratio >= TARGET else 'MISSED'}; outputs "
                  + (f"agree on {100 * same:.3f} % of pixels" if a.dtype == np.uint8 else f"differ by <= {same:.1e}"))
    print("model targets missed: " + (", ".join(missed) if missed else "none"))


if __name__ == "__main__":
    main()
