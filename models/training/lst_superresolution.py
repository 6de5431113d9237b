"""Recipe of the bundled ``lst_superresolution`` and its size study (``python -m models.training.build
lst_superresolution`` / ``lst_sizes``): real MODIS LST patches, Norm-L4 degradation, a U-Net ×4."""

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io.engine.tiles import fitting_tile
from sarsense.algorithms.lst import modis, pipeline, quality, resample, temperature

from .paths import MODELS, REPO

# --------------------------------------------------------------------------------------------
# Recipe: lst_superresolution
# --------------------------------------------------------------------------------------------
MODIS_DIR = REPO / "resources" / "sample_data" / "modis_lst"
LST_LAYERS = ("LST_Day_1km", "LST_Night_1km")
SR_SCALE = 4
PATCH, PATCH_STRIDE = 64, 16           # the paper's 64×64 1 km patches; overlapping windows for training
SPLIT_BLOCK, SPLIT_MARGIN = 200, 8     # spatial blocks of the split; patches keep 8 px from a block's edge
#: The bundled size: what the size study's rule picks (LST_VAL_TOLERANCE; the card writer checks it).
LST_NET = {"levels": 2, "base": 8}
#: The size study (``python -m models.training.build lst_sizes``): the first is the size `make bench` has timed
#: since the runtime landed (the paper gives no filter counts), the others leaner ones.
LST_SIZES = ({"levels": 3, "base": 32}, {"levels": 3, "base": 16}, {"levels": 4, "base": 8}, {"levels": 3, "base": 8},
             {"levels": 2, "base": 8})
LST_STUDY = Path(__file__).resolve().parent / "lst_sizes.json"
#: The bundled size is the fastest whose validation loss is within this fraction of the study's lowest.
LST_VAL_TOLERANCE = 0.02


def _modis_fields():
    """[(name, kelvin array)] of every LST layer of the bundled MOD11A1 tiles (no QC filter: all produced LST)."""
    fields = []
    for path in sorted(MODIS_DIR.glob("MOD11A1.*.hdf")):
        for layer in LST_LAYERS:
            sub = f'HDF4_EOS:EOS_GRID:"{path}":MODIS_Grid_Daily_1km_LST:{layer}'
            fields.append((f"{path.name.split('.')[1]}.{path.name.split('.')[2]} {layer}",
                           modis.read_kelvin(sub, qc_filter=False)))
    return fields


def lst_patches(fields, *, seed, test_fraction=0.25, val_fraction=0.15, train_size=PATCH):
    """The paper's patches (§II.A: cloud-free 64×64 windows of 1 km LST), split by spatial blocks.

    Each field is cut into 200×200 blocks; a patch lies wholly inside one block, at least 8 px
    from its edges, so training and test patches are at least 16 px apart and never touch. Day and
    night layers of a tile share the blocks (the same ground). Whole blocks go to the test part,
    in a seeded order, until it holds ``test_fraction`` of the patches, then to the validation part
    (which picks the epoch) until it holds ``val_fraction``. Training and validation patches overlap
    (stride 16); test patches do not (a greedy pick on the same grid), so every test pixel counts once.

    ``train_size`` < 64 cuts the training and validation blocks into smaller cloud-free windows
    (stride a quarter of the size) instead, in the same blocks: more of them survive the clouds.

    Returns ``{"train", "val", "test": [...], "blocks": (n_test, n_val, n_blocks_with_patches)}`` with
    entries ``(field, row, col, patch)``.
    """
    def windows(size, stride):
        found = {}
        for name, kelvin in fields:
            c = np.pad(np.isfinite(kelvin), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
            tile = name.split(" ")[0]
            for by in range(0, kelvin.shape[0] - SPLIT_BLOCK + 1, SPLIT_BLOCK):
                for bx in range(0, kelvin.shape[1] - SPLIT_BLOCK + 1, SPLIT_BLOCK):
                    lo, hi = SPLIT_MARGIN, SPLIT_BLOCK - SPLIT_MARGIN - size
                    for y in range(by + lo, by + hi + 1, stride):
                        for x in range(bx + lo, bx + hi + 1, stride):
                            n = c[y + size, x + size] - c[y, x + size] - c[y + size, x] + c[y, x]
                            if n == size * size:
                                found.setdefault((tile, by, bx), []).append((name, y, x,
                                                                             kelvin[y:y + size, x:x + size]))
        return found
    per_block = windows(PATCH, PATCH_STRIDE)
    per_block_train = per_block if train_size == PATCH else windows(train_size, train_size // 4)
    keys = sorted(per_block)
    order = np.random.default_rng(seed).permutation(len(keys))
    total = sum(len(v) for v in per_block.values())
    test_keys, val_keys, held = set(), set(), 0
    for i in order:
        if held < test_fraction * total:
            test_keys.add(keys[i])
        elif held < (test_fraction + val_fraction) * total:
            val_keys.add(keys[i])
        else:
            break
        held += len(per_block[keys[i]])
    train, val, test = [], [], []
    for key in keys:
        if key not in test_keys:
            (val if key in val_keys else train).extend(per_block_train.get(key, []))
            continue
        taken = []
        for p in sorted(per_block[key], key=lambda e: (e[0], e[1], e[2])):
            if all(p[0] != q[0] or abs(p[1] - q[1]) >= PATCH or abs(p[2] - q[2]) >= PATCH for q in taken):
                taken.append(p)
        test += taken
    return {"train": train, "val": val, "test": test, "blocks": (len(test_keys), len(val_keys), len(keys))}


def lst_pairs(patches):
    """(coarse, truth) kelvin arrays: truth 64×64, coarse its Norm-L4 ×4 aggregate (16×16) (§III.B.3)."""
    truth = np.stack([p[3] for p in patches]).astype(np.float32)
    coarse = np.stack([temperature.norm_l4(t, SR_SCALE) for t in truth])
    return coarse, truth


def _lst_receptive_field(net_kwargs, seed):
    """Receptive field of the network in coarse input pixels, traced with autograd on random weights."""
    import torch

    from .nets import MultiResidualUNet
    torch.manual_seed(seed)
    net = MultiResidualUNet(scale=SR_SCALE, batch_norm=False, **net_kwargs).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    size = 64
    x = torch.rand(1, 1, size, size, requires_grad=True)
    y = net(x)
    c = size * SR_SCALE // 2
    y[0, 0, c, c].backward()
    hit = np.nonzero(np.abs(x.grad[0, 0].numpy()).sum(axis=0) > 0)[0]
    return int(hit.max() - hit.min() + 1)


def build_lst_superresolution(*, epochs=60, seed=20261121, workdir=None, log=print, net_kwargs=None,
                              name="lst_superresolution", write=True, lr=1e-3, norm="standard", train_size=32):
    """Train the multi-residual U-Net ×4 on the real MOD11A1 tiles; export, score, write the card."""
    import torch

    from .data import ArrayPatches
    from .loop import seed_everything, train
    from .nets import MultiResidualUNet
    from .onnx_export import export, parity_check

    net_kwargs = dict(net_kwargs or LST_NET)
    fields = _modis_fields()
    parts = lst_patches(fields, seed=seed, train_size=train_size)
    (ct, tt), (cw, tw), (cv, tv) = lst_pairs(parts["train"]), lst_pairs(parts["val"]), lst_pairs(parts["test"])
    t_max = float(np.ceil(tt.max()))       # the paper divides by the training set's maximum
    t_mean = float(np.mean(tt))
    if norm == "max":        # the paper: x / max (measured here: no progress in 50 epochs, see the card)
        offset, scale = 0.0, t_max
    else:
        offset, scale = float(np.round(t_mean)), float(np.ceil(np.std(tt)))
    data = ArrayPatches((np.concatenate([ct, cw])[:, None] - offset) / scale,
                        (np.concatenate([tt, tw])[:, None] - offset) / scale,
                        source="MODIS Terra MOD11A1 v006 daily LST (LST_Day_1km and LST_Night_1km, all produced "
                               "pixels) of tiles h14v09 2019-11-01 and h11v05 2021-08-15 "
                               "(resources/sample_data/modis_lst, NASA LP DAAC)")
    train_idx, val_idx = np.arange(len(ct)), np.arange(len(ct), len(ct) + len(cw))
    seed_everything(seed)
    net = MultiResidualUNet(scale=SR_SCALE, batch_norm=False, zero_init=True, **net_kwargs)
    workdir = workdir or tempfile.mkdtemp(prefix=f"{name}-")

    def rmse_k(p, t):
        return torch.sqrt(torch.mean((p - t) ** 2)) * scale

    # §III.B.3 trains with Adam, MSE (eq. 1), batch 32, lr 1e-4 divided by 100 after 50 of 300 epochs: about
    # 200 000 steps on 21 650 patches. Here ~5 steps per epoch: that schedule moved the held-out RMSE by
    # 0.001 K in 50 epochs, so lr 1e-3, divided by 10 at 2/3 and 5/6 of the epochs.
    history = train(net, data, train_idx, val_idx, loss_fn=torch.nn.functional.mse_loss, epochs=epochs,
                    batch_size=32, lr=lr, lr_steps=(epochs * 2 // 3, epochs * 5 // 6), seed=seed, workdir=workdir,
                    augment="dihedral", keep="best", metrics={"rmse_k": rmse_k}, log=log)
    rf = _lst_receptive_field(net_kwargs, seed)
    multiple = max(1, 2 ** net_kwargs["levels"] // SR_SCALE)
    contract = {
        "format": rt.CONTRACT_FORMAT, "format_version": rt.CONTRACT_VERSION,
        "name": name, "version": "1.0.0", "licence": "GPL-3.0-or-later",
        "description": "Multi-residual U-Net (Nguyen et al. 2022): MODIS LST ×4 super-resolution, the "
                       "Keys-bicubic ILR plus a learnt residual.",
        "task": "super_resolution", "scale_factor": SR_SCALE,
        "inputs": [{"name": "LST", "units": "K"}],
        "normalisation": {"method": "offset_scale", "offset": [offset], "scale": [scale]},
        "nodata_fill": round((t_mean - offset) / scale, 6),
        "output": {"names": ["LST"], "units": "K", "scale": scale, "offset": offset},
        "tiling": {"tile_size": 128, "halo": -(-(rf - 1) // 2), "receptive_field": rf, "size_multiple": multiple},
        "training": {"data": data.source,
                     "summary": f"{len(train_idx)} training and {len(val_idx)} validation {train_size}×{train_size} "
                                f"cloud-free windows (overlapping, stride {max(1, train_size // 4)}), {len(cv)} "
                                f"held-out cloud-free 64×64 test patches (no overlap); test, validation and training "
                                f"in separate spatial blocks ({parts['blocks'][0]}, {parts['blocks'][1]} and the "
                                f"rest of {parts['blocks'][2]}); {epochs} epochs, Adam lr {lr:g} divided by 10 at "
                                f"2/3 and 5/6 of them, MSE, batch 32, dihedral augmentation, seed {seed}; normalised "
                                f"as (T − {offset:g}) / {scale:g}"},
    }
    onnx_path = (MODELS if write else Path(workdir)) / f"{name}.onnx"
    # memory_per_pixel is measured on a first export; the tile is then the largest that fits the default
    # budget with it (lstsuperresolution's two input bands counted), so sarsense:applymodel and
    # lstsuperresolution both run at their default budgets.
    measured = export(net, onnx_path, contract, channels=1, tile=32)
    contract["tiling"]["memory_per_pixel"] = measured.memory_per_pixel
    tile = fitting_tile(measured.tile_size, margin=measured.halo, scale=SR_SCALE, multiple=multiple, in_bands=2,
                        predict_bytes_per_pixel=measured.memory_per_pixel)
    if tile is None:
        raise RuntimeError(f"{name}: no tile fits the default memory budget; choose a leaner network")
    contract["tiling"]["tile_size"] = tile
    export(net, onnx_path, contract, channels=1, tile=32)
    parity = parity_check(net, onnx_path, [(cv[:8, None] - offset) / scale])
    result = {"net": net_kwargs, "parameters": int(sum(p.numel() for p in net.parameters())), "scores": {},
              "n_train": len(train_idx), "n_val": len(val_idx), "n_test": len(cv), "blocks": parts["blocks"],
              "t_max": t_max, "parity": parity, "history": history[-1] if history else {}, "epochs": epochs,
              "best_val_loss": min((h["val_loss"] for h in history), default=float("nan")),
              "tiling": dict(contract["tiling"])}
    if write:
        _write_lst_card(name, onnx_path, contract, result, {})   # the hash first: the runtime checks it
    result["scores"] = score_lst(onnx_path, cv, tv)
    if write:
        _write_lst_card(name, onnx_path, contract, result, result["scores"])
    log(f"{name}: {result}")
    return result


def study_lst_sizes(*, workdir=None, log=print, sizes=LST_SIZES):
    """Train each network size of :data:`LST_SIZES` as the recipe does, then time them all.

    For each: parameters, receptive field, tiling, best validation loss, held-out scores (training),
    and the time :func:`time_lst_size` measures. Written to :data:`LST_STUDY`, which the card quotes;
    the bundled size is picked on validation loss and speed, never on the held-out scores.
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="lst_sizes-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for net in sizes:
        tag = f"{net['levels']}x{net['base']}"
        res = build_lst_superresolution(net_kwargs=net, write=False, workdir=str(workdir / tag), log=lambda *a: None,
                                        name=f"lst_{tag}")
        rows.append({"levels": net["levels"], "base": net["base"], "parameters": res["parameters"],
                     "tiling": res["tiling"], "best_val_loss": res["best_val_loss"], "scores": res["scores"]})
        log(f"{tag}: {rows[-1]}")
    for row in rows:        # timed after all the training, one after the other
        tag = f"{row['levels']}x{row['base']}"
        row["window_s"] = time_lst_size(workdir / tag / f"lst_{tag}.onnx", workdir)
        log(f"{tag}: {row['window_s']} s for the window")
    study = {"machine_cores": os.cpu_count(), "window": LST_TIMING_WINDOW_TEXT, "sizes": rows}
    LST_STUDY.write_text(json.dumps(study, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return study


#: The timing window of the size study: (x, y, size) in the h14v09 day tile, QC filter on.
LST_TIMING_WINDOW = (400, 400, 400)
LST_TIMING_WINDOW_TEXT = ("MOD11A1.A2019305.h14v09 LST_Day_1km (QC filter on), columns and rows 400–800: "
                          "400² → 1600², 1/9 of a tile")


def time_lst_size(onnx_path, workdir):
    """Seconds :func:`algorithms.lst.pipeline.unet` takes on :data:`LST_TIMING_WINDOW` at the default memory
    budget on this machine (onnxruntime, one thread per core). A window, not the full tile: the paper-size
    network needs 48-px tiles at the default budget, and a full tile would take it about half an hour."""

    from osgeo import gdal

    x, y, n = LST_TIMING_WINDOW
    kelvin = Path(workdir) / "timing_window_kelvin.tif"
    if not kelvin.exists():
        hdf = sorted(MODIS_DIR.glob("MOD11A1.*h14v09*.hdf"))[0]
        tile = Path(workdir) / "timing_tile_kelvin.tif"
        pipeline.LstSource(f'HDF4_EOS:EOS_GRID:"{hdf}":MODIS_Grid_Daily_1km_LST:LST_Day_1km').write_kelvin(str(tile))
        gdal.Translate(str(kelvin), str(tile), srcWin=[x, y, n, n])
    model = rt.Model(onnx_path)
    t0 = time.perf_counter()
    pipeline.unet(str(kelvin), str(Path(workdir) / "timing_sr.tif"), model)
    return round(time.perf_counter() - t0, 1)


def score_lst(onnx_path, coarse, truth):
    """Held-out figures per method, each the mean over patches of the per-patch figure (the paper's protocol).

    For every patch: PSNR with the patch's own dynamic range (eq. 2), SSIM eq. 3 over the patch,
    the windowed SSIM (Wang et al. 2004, 7×7 Gaussian), RMSE and bias in K. A model outside
    ``models/`` (an experiment's workdir) runs without a card; a bundled one is checked against its card.
    """
    net = rt.Model(onnx_path).predict_tiles(coarse[:, None])[:, 0]
    methods = {"bicubic (Keys)": np.stack([resample.upsample(c, SR_SCALE) for c in coarse]),
               "multi-residual U-Net": net}
    out = {}
    for label, est in methods.items():
        rows = []
        for t, e in zip(truth, est):
            f = quality.figures(t, e)
            f["ssim_windowed"] = quality.ssim_windowed(t, e, f["dynamic_range"])
            rows.append(f)
        out[label] = {k: float(np.mean([r[k] for r in rows]))
                      for k in ("psnr", "ssim", "ssim_windowed", "rmse", "bias")}
        out[label]["n"] = len(rows)
    return out


def _lst_size_table():
    """The size study (:data:`LST_STUDY`) as a markdown table, or a note when it has not been run."""
    if not LST_STUDY.exists():
        return "(The size study has not been run: `python -m models.training.build lst_sizes`.)"
    study = json.loads(LST_STUDY.read_text(encoding="utf-8"))
    lines = [f"Timed on {study['window']}, `pipeline.unet` at the default budget, {study['machine_cores']} cores; "
             "a full tile is about 9× that (`make bench` measures the bundled one on the full tile through "
             "qgis_process). Study: `python -m models.training.build lst_sizes` (trains them all, ~40 min on 2 "
             "cores).", "",
             "| levels × base filters | parameters | receptive field (px) | tile / halo (px) | memory (B/px) | "
             "best validation loss | held-out U-Net PSNR (dB) | − bicubic (dB) | RMSE (K) | 400² window ×4 (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    best = min(r["best_val_loss"] for r in study["sizes"])
    eligible = [r for r in study["sizes"] if r["best_val_loss"] <= best * (1 + LST_VAL_TOLERANCE)]
    pick = min(eligible, key=lambda r: r["window_s"])
    if (pick["levels"], pick["base"]) != (LST_NET["levels"], LST_NET["base"]):
        raise RuntimeError(f"the size study picks {pick['levels']} x {pick['base']}, LST_NET is {LST_NET}: update one")
    lowest = min(study["sizes"], key=lambda r: r["best_val_loss"])
    ref = study["sizes"][0]
    lines[0:0] = [
        f"Lowest validation loss: {lowest['levels']} × {lowest['base']}; bundled: {pick['levels']} × "
        f"{pick['base']} ({100 * (pick['best_val_loss'] / best - 1):.1f} % above it, "
        f"{pick['scores']['multi-residual U-Net']['psnr'] - lowest['scores']['multi-residual U-Net']['psnr']:+.2f} dB "
        f"on the held-out patches, {ref['window_s'] / pick['window_s']:.0f}× faster than "
        f"{ref['levels']} × {ref['base']}).", ""]
    for r in study["sizes"]:
        t, u, b = r["tiling"], r["scores"]["multi-residual U-Net"], r["scores"]["bicubic (Keys)"]
        lines.append(f"| {r['levels']} × {r['base']} | {r['parameters']:,} | {t['receptive_field']} | "
                     f"{t['tile_size']} / {t['halo']} | {t['memory_per_pixel']} | {r['best_val_loss']:.5f} | "
                     f"{u['psnr']:.2f} | {u['psnr'] - b['psnr']:+.2f} | {u['rmse']:.3f} | {r['window_s']:.1f} |")
    return "\n\n" + "\n".join("  " + line if line else "" for line in lines) + "\n"


def _write_lst_card(name, onnx_path, contract, result, scores):
    c, t = contract, contract["tiling"]
    rows = "\n".join(f"| {m} | {v['n']} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['ssim_windowed']:.3f} | "
                     f"{v['rmse']:.3f} | {v['bias']:+.3f} |" for m, v in scores.items())
    gain = (scores["multi-residual U-Net"]["psnr"] - scores["bicubic (Keys)"]["psnr"]) if scores else float("nan")
    norm = c["normalisation"]
    text = f"""# {name} {c['version']}

Multi-residual U-Net ×{c['scale_factor']} for MODIS land-surface temperature (Nguyen et al. 2022, §III.B),
run by `sarsense:lstsuperresolution` (METHOD U-Net) through the shared runtime.

- **Status**: research (trained and tested on real data; the plugin reads this line)
- **Trained on**: real MODIS MOD11A1 LST of two tiles (h14v09 2019-11-01, h11v05 2021-08-15)
- **Architecture**: Keys bicubic ×4 inside the graph (the ILR image; a fixed 5×5 convolution and a pixel
  shuffle, the same weights as the plugin's bicubic), then a U-Net on the fine grid: input conv, \
{result['net']['levels']}
  encoder levels of a residual unit plus a conv block, stride-2 convolution downsampling, a one-residual-block
  bridge, 2×2 transposed-convolution upsampling with concatenated skips, a 1×1 output conv whose result is
  added to the ILR. {result['net']['base']} filters at the first level, doubling per level; {result['parameters']:,}
  parameters. No batch normalisation and a zero-initialised output layer: the untrained network is exactly
  bicubic (MANIFEST.md, "Measured on this data": with few real patches only such a net trained).
  Receptive field {t['receptive_field']} coarse px, halo {t['halo']} px: tiled output equals whole-image output.
  Working memory {t['memory_per_pixel']} B per input pixel (measured at export; the feature maps live on the
  ×4 grid), so tiles of {t['tile_size']} input px: the largest that fit the default 96 MiB budget.
- **Size**: the paper gives no filter counts. The sizes below were trained with this recipe and the
  same seed. The rule: the fastest size whose best validation loss is within {100 * LST_VAL_TOLERANCE:.0f} % of
  the lowest (validation and speed pick it, never the held-out figures, which are shown for all). {_lst_size_table()}
- **Input contract**: one band, LST in K (`inputs`), normalised as (T − {norm['offset'][0]:g}) / {norm['scale'][0]:g}
  (the paper divides by the training maximum, {result['t_max']:.0f} K: with that, 50 epochs moved the held-out
  RMSE by 0.001 K here, so the mean and the standard deviation of the training LST are used); output LST in K,
  {c['scale_factor']}× finer. Cloud gaps: `lstsuperresolution` fills them 8 px deep from their edges, then with
  `nodata_fill` ({c['nodata_fill']:g}, the training mean), and masks them again.
- **Training data**: {c['training']['data']}. {c['training']['summary']}. Pairs follow the paper: 1 km truth →
  Norm-L4 ×4 → the network (whose first step is the bicubic ILR). Training windows are 32×32 cloud-free windows
  (stride 8) of the training blocks; held-out test patches are the paper's cloud-free 64×64. The paper trains on
  21 650 patches of 4 years; these two tiles give {result['n_test']} test patches: the figures below carry that
  uncertainty. Pre-training on the bundled DEMs (Rome 360², Olinda 111², Luxembourg 95×90 px) was judged not
  useful and not done: together they hold about 36 non-overlapping 64×64 windows, against the LST's
  {result['n_train']} training windows, and they are terrain, not temperature.
- **Held-out metrics** (real MODIS LST, test blocks never seen in training or validation; per-patch figures,
  mean over N patches; PSNR with each patch's dynamic range, eq. 2; SSIM eq. 3 over the patch and windowed,
  7×7 Gaussian; RMSE and bias in K). TsHARP and ATPRK need an NDVI co-located with the patches, which this data
  does not have: they are scored in `make demo` on the Olinda window instead.

| method | N | PSNR (dB) | SSIM eq. 3 | SSIM windowed | RMSE (K) | bias (K) |
|---|---|---|---|---|---|---|
{rows}

  U-Net − bicubic: **{gain:+.2f} dB**. The paper (table I, 4083 validation patches of h18v04): U-Net 28.40 dB,
  bicubic 23.91 dB (+4.49 dB), ATPRK 21.59 dB; table II (against ASTER at 250 m): U-Net 19.68, ATPRK 19.66,
  bicubic 19.56 dB. The margin reached here is far smaller than the paper's; it is what two real tiles give.
- Epoch picked on the validation blocks (lowest validation loss). onnxruntime vs torch: max |Δ| = {result['parity']:.1e}
  (normalised units).
- **Retrain**: `make models` (`python -m models.training.build lst_superresolution`; seeded, CPU, a few minutes).
- **Licence**: {c['licence']}; MODIS data: NASA LP DAAC, MOD11A1 v006/v061 (Wan, Hook & Hulley), free reuse.
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")
