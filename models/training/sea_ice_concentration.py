"""Recipe of the bundled ``sea_ice_concentration`` and its level study (``python -m models.training.build
sea_ice_concentration`` / ``sea_ice_levels``): a U-Net on simulated Sentinel-1 EW scenes."""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from sarsense.algorithms import metrics
from sarsense.algorithms import onnx as rt
from sarsense.algorithms.onnx.receptive_field import unet_receptive_field
from sarsense.algorithms.sea_ice import classes as sic_classes
from sarsense.algorithms.sea_ice import pipeline as sic_pipeline

from .paths import MODELS

FRESH_SEED, FRESH_SIDE, TOLERANCE = 4242, 1024, 0.002      # check_sea_ice_card's (imported there from here)

# --------------------------------------------------------------------------------------------
# Recipe: sea_ice_concentration (a demonstration model trained on simulated scenes)
# --------------------------------------------------------------------------------------------
#: Simulated scenes (40 m side; 80 m after the 2×2 downsampling): training, validation (picks the epoch and
#: the level count), held-out test (reported only). Seeds are disjoint, so no scene is in two parts.
SIC_SCENE_SIDE = 1280
SIC_SPLITS = {"train": (1000, 24), "validation": (2000, 4), "test": (3000, 6)}
#: CPU schedule: epochs × batches per epoch, batch of 512² crops. The paper: ~85 epochs × 500 batches of 64.
SIC_EPOCHS, SIC_STEPS, SIC_BATCH, SIC_CROP = 8, 20, 4, 512
#: The paper's Adam learning rate is 1e-4 over ~40 000 batches; ~160 CPU batches need 1e-3 to get anywhere.
SIC_LR = 1e-3
#: Level counts of the study (the paper's table I: 3–8) and the bundled one (what the study's rule picks).
SIC_LEVELS = (3, 4, 5, 6, 7, 8)
SIC_NET_LEVELS = 5
#: The rule: the fewest levels whose validation R² is within this of the best, among those whose tiles fit
#: seaiceconcentration's default 512 MiB budget with a halo of a fifth of their receptive field (7 levels: 358 px,
#: 8 levels: 716 px need tiles of 1024 and 2048 px, about 0.7 and 2.7 GiB each).
SIC_R2_TOLERANCE = 0.01
SIC_MAX_BUNDLED_LEVELS = 6
SIC_STUDY = Path(__file__).resolve().parent / "sea_ice_levels.json"


def _sic_scenes(log=print):
    from .sea_ice import simulated_scenes

    out = {}
    for part, (seed, n) in SIC_SPLITS.items():
        out[part] = simulated_scenes(n, seed=seed, shape=(SIC_SCENE_SIDE, SIC_SCENE_SIDE))
        log(f"simulated {n} {part} scenes")
    return out


def train_sic(levels, scenes, *, seed=20261121, workdir=None, log=print, epochs=SIC_EPOCHS):
    """Train one sea-ice U-Net of ``levels`` levels on the simulated scenes; score it on the test scenes."""
    from . import sea_ice
    from .loop import seed_everything
    from .nets import UNet

    seed_everything(seed)
    net = UNet(2, sea_ice.N_OUT, levels=levels)
    t0 = time.time()
    history, weights = sea_ice.train(net, scenes["train"], scenes["validation"], epochs=epochs, steps=SIC_STEPS,
                                     crop=SIC_CROP, batch=SIC_BATCH, lr=SIC_LR, seed=seed, workdir=workdir, log=log,
                                     device="cpu")
    seconds = time.time() - t0
    r2, per_scene, matrix = sea_ice.scenes_r2(net, scenes["test"])
    figures = sic_pipeline.skill(matrix)
    return net, {"levels": levels, "parameters": int(sum(p.numel() for p in net.parameters())),
                 "receptive_field": unet_receptive_field(levels, upsampling="bilinear"),
                 "best_val_r2": max(h["val_r2"] for h in history), "test_r2": r2, "test_r2_per_scene": per_scene,
                 "test_f1_weighted": figures["f1_weighted"], "test_accuracy": figures["accuracy"],
                 "train_seconds": round(seconds), "weights": [round(float(w), 4) for w in weights],
                 "history": history, "matrix": matrix.tolist()}


def study_sic_levels(*, workdir=None, log=print, levels=SIC_LEVELS):
    """Train each level count of :data:`SIC_LEVELS` with the recipe; write :data:`SIC_STUDY` (the card's table)."""
    scenes = _sic_scenes(log)
    rows = []
    for n in levels:
        _, row = train_sic(n, scenes, log=lambda m, n=n: log(f"levels {n}: {m}"))
        rows.append({k: v for k, v in row.items() if k not in ("history", "matrix")})
        log(f"levels {n}: {rows[-1]}")
        SIC_STUDY.write_text(json.dumps({"machine_cores": os.cpu_count(), "levels": rows}, indent=1) + "\n",
                             encoding="utf-8")
    return rows


def sic_pick(rows):
    """The study's rule: among the level counts that fit the default budget (≤ :data:`SIC_MAX_BUNDLED_LEVELS`), the
    fewest whose best validation R² is within :data:`SIC_R2_TOLERANCE` of the best of them."""
    rows = [r for r in rows if r["levels"] <= SIC_MAX_BUNDLED_LEVELS]
    best = max(r["best_val_r2"] for r in rows)
    return min((r for r in rows if r["best_val_r2"] >= best - SIC_R2_TOLERANCE), key=lambda r: r["levels"])


# What models/training/check_sea_ice_card.py and the card share: the ONNX model run on a whole scene, and the
# figures of a fresh simulated scene.
def predict(model, x):
    """Class map (H, W) of one whole network-ready scene (2, H, W), padded to the model's size multiple."""
    multiple = model.contract.size_multiple
    h, w = x.shape[1:]
    padded = np.pad(x, ((0, 0), (0, -h % multiple), (0, -w % multiple)), mode="edge")
    logits = model._run(padded[np.newaxis].astype(np.float32))[0, :sic_classes.N_SIC_CLASSES, :h, :w]
    return logits.argmax(0).astype(np.uint8)


def fresh_scene_figures(model_path=MODELS / "sea_ice_concentration.onnx", *, seed=FRESH_SEED, side=FRESH_SIDE):
    """``{"r2", "f1_weighted", "accuracy"}`` of the model on one fresh simulated scene (whole scene)."""
    from .sea_ice import simulated_scenes

    model = rt.Model(model_path)
    scene = simulated_scenes(1, seed=seed, shape=(side, side))[0]
    s = sic_pipeline.skill(metrics.confusion_counts(scene.y, predict(model, scene.x), sic_classes.N_SIC_CLASSES))
    return {"r2": s["r2"], "f1_weighted": s["f1_weighted"], "accuracy": s["accuracy"]}


def build_sea_ice_concentration(*, epochs=SIC_EPOCHS, seed=20261121, workdir=None, log=print):
    """Train the bundled sea-ice U-Net (:data:`SIC_NET_LEVELS` levels) on simulated scenes; export; card."""
    from . import sea_ice
    from .onnx_export import parity_check

    name = "sea_ice_concentration"
    scenes = _sic_scenes(log)
    net, result = train_sic(SIC_NET_LEVELS, scenes, seed=seed, workdir=workdir, log=log, epochs=epochs)
    source = (f"simulated Sentinel-1 EW scenes only (simulators/sea_ice_scenes.py): {SIC_SPLITS['train'][1]} "
              f"training, {SIC_SPLITS['validation'][1]} validation and {SIC_SPLITS['test'][1]} held-out test scenes of "
              f"{SIC_SCENE_SIDE // 2}² px at 80 m; no real SAR")
    summary = (f"{epochs} epochs × {SIC_STEPS} batches of {SIC_BATCH} {SIC_CROP}² crops (scenes ∝ valid pixels, "
               f"dihedral + affine augmentation), median-frequency weighted cross-entropy, Adam lr {SIC_LR:g}, epoch "
               f"picked by validation R², seed {seed}")
    onnx_path = MODELS / f"{name}.onnx"
    contract = sea_ice.export_model(net, onnx_path, name=name, training_data=source, summary=summary,
                                    description="Demonstration model: a U-Net (Stokholm et al. 2022) trained on "
                                                "SIMULATED Sentinel-1 EW scenes; not validated on real SAR.")
    side = 2 ** SIC_NET_LEVELS * max(1, 256 // 2 ** SIC_NET_LEVELS)
    result["parity"] = parity_check(sea_ice.export_module(net), onnx_path,
                                    [scenes["test"][0].x[None, :, :side, :side]], tol=1e-3)
    with tempfile.TemporaryDirectory() as tmp:  # the new file has no card yet (the card written next holds its sha256)
        probe = Path(tmp) / onnx_path.name
        shutil.copyfile(onnx_path, probe)
        result["fresh"] = fresh_scene_figures(probe)
    _write_sic_card(name, onnx_path, contract, result)
    log(f"{name}: test R² {result['test_r2']:.4f}, F1 {result['test_f1_weighted']:.4f}")
    return result


def _sic_level_table():
    if not SIC_STUDY.exists():
        return "(The level study has not been run: `python -m models.training.build sea_ice_levels`.)"
    rows = json.loads(SIC_STUDY.read_text(encoding="utf-8"))["levels"]
    pick = sic_pick(rows)
    if pick["levels"] != SIC_NET_LEVELS:
        raise RuntimeError(f"the level study picks {pick['levels']} levels, SIC_NET_LEVELS is {SIC_NET_LEVELS}: "
                           "update one")
    lines = ["| levels | parameters | receptive field (px, bilinear) | best validation R² | held-out test R² | "
             "test weighted F1 | test accuracy | training (s, 2 CPU cores) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['levels']} | {r['parameters']:,} | {r['receptive_field']} | {r['best_val_r2']:.4f} | "
                     f"{r['test_r2']:.4f} | {r['test_f1_weighted']:.4f} | {r['test_accuracy']:.4f} | "
                     f"{r['train_seconds']} |")
    return "\n".join(lines)


def _write_sic_card(name, onnx_path, contract, result):
    c, t = contract, contract["tiling"]
    w = ", ".join(f"{v:.3f}" for v in result["weights"])
    text = f"""# {name} {c['version']}

**A demonstration model trained on simulated scenes.** It shows the method of Stokholm et al. (2022) end to end;
it has never seen real Sentinel-1 pixels and must not be used for ice charting. Its skill below is
*simulated skill*, and it does not hold even there: R² {result['test_r2']:.3f} pooled over the \
{len(result['test_r2_per_scene'])} held-out simulated scenes, but
per scene {min(result['test_r2_per_scene']):.2f} to {max(result['test_r2_per_scene']):.2f}, and \
{result['fresh']['r2']:.3f} (class-weighted F1 {result['fresh']['f1_weighted']:.3f}) on a fresh simulated scene \
(seed {FRESH_SEED}). Retrain it
on the AI4Arctic data (below) before any real use.

- **Status**: demonstration (the plugin reads it: its outputs say so in layer name, legend and report)
- **Trained on**: simulated Sentinel-1 EW scenes only (simulators/sea_ice_scenes.py), no real SAR
- **Architecture**: U-Net of Stokholm et al. (2022, §IV, table I), {SIC_NET_LEVELS} levels: blocks of two 3×3
  convolutions + batch norm + ReLU, 2×2 max-pooling, bilinear upsampling before each decoder block, concatenated
  skips; 16 filters at the first and last level, 32 elsewhere; {result['parameters']:,} parameters. Trained with
  12 outputs (classes 0–10 and the masked class 11, weight 0); the exported graph returns the 11 SIC classes'
  logits, which the contract's softmax turns into probabilities.
- **Receptive field**: {t['receptive_field']} px with bilinear upsampling
  (`algorithms/onnx/receptive_field.py`; the paper's eq. 8 with nearest upsampling gives
  {unet_receptive_field(SIC_NET_LEVELS)} px).
  Tiles of {t['tile_size']} px with a halo of {t['halo']} px (neighbouring tiles overlap by
  {2 * t['halo'] + t['halo'] // 2} px ≥ half the receptive field), measured working memory {t['memory_per_pixel']} B/px:
  the largest tile that fits `seaiceconcentration`'s default 512 MiB budget.
- **Input contract**: HH and HV in dB at 80 m (`seaiceconcentration` downsamples 40 m by 2×2 mean in linear power),
  clipped to [−30, 10] dB and scaled to [−1, 1] (`min_max`); NaN → 0. Output: SIC classes 0–10 (0–100 % in 10 %
  steps) with WMO colours; each class's quantity (its %) gives the expected SIC.
- **Training data**: {c['training']['data']}. {c['training']['summary']}. Median-frequency class weights from the
  training pixels (eq. 1–2): [{w}].
- **Level study** (the paper's table I on simulated scenes; `python -m models.training.build sea_ice_levels`, same
  recipe and seed per level; R² on whole scenes, eq. 7). The bundled level count is the fewest whose validation R²
  is within {SIC_R2_TOLERANCE} of the best among those up to {SIC_MAX_BUNDLED_LEVELS} levels (7 and 8 levels need \
tiles of
  1024 and 2048 px, 0.7 and 2.7 GiB each, beyond the default 512 MiB budget); the held-out test figures are shown,
  never used to choose.

{_sic_level_table()}

  The paper, on 23 real test scenes: R² 76.7 % (3 levels) to 86.3 % (8 levels), rising with the levels. Here no
  trend shows: each net saw {SIC_EPOCHS * SIC_STEPS} batches of {SIC_BATCH} crops \
({SIC_EPOCHS * SIC_STEPS * SIC_BATCH} crops
  in all, on 2 CPU cores, against the paper's ~3 million), so the differences between level counts are mostly
  training noise (validation R² moves by ±0.3 from one epoch to the next), and the simulated scenes are small
  ({SIC_SCENE_SIDE // 2}² px at 80 m) with the simulator's ambiguity scale. Whole-scene R² pools every scene's pixels;
  per scene it can be far below 0 where a scene's chart barely varies (nearly all 100 %), so that any error
  outweighs its variance.
- **Held-out metrics** (simulated skill: {SIC_SPLITS['test'][1]} simulated test scenes never used in training or \
selection, each charted
  whole): pooled over the {SIC_SPLITS['test'][1]} scenes R² {result['test_r2']:.4f}, class-weighted F1 \
{result['test_f1_weighted']:.4f}, accuracy {result['test_accuracy']:.4f}; per scene R²
  {', '.join(f'{v:.3f}' for v in result['test_r2_per_scene'])}. The pooled R² is high because the scenes' mean \
concentrations differ
  and the model follows them; within a scene it charts poorly. A fresh simulated scene (seed {FRESH_SEED}, \
{FRESH_SIDE}² px at
  40 m, never used in training, validation or test): R² {result['fresh']['r2']:.4f}, class-weighted F1 \
{result['fresh']['f1_weighted']:.4f}, accuracy {result['fresh']['accuracy']:.4f}.
  **Recompute** every figure of this item from the shipped file (onnxruntime only, about 20 s):
  `.venv/bin/python -m models.training.check_sea_ice_card` (exits 1 when one differs from this card by more than
  {TOLERANCE}). The level study's table above cannot be recomputed from the shipped file (only the \
{SIC_NET_LEVELS}-level net is
  shipped; its training times are from the machine that ran the study): `python -m models.training.build
  sea_ice_levels` retrains every level count.
- onnxruntime vs torch: max |Δ| = {result['parity']:.1e} (logits).
- **Retrain**: `make models` (`python -m models.training.build sea_ice_concentration`; seeded, CPU; the level
  study's training times above are this recipe's). On the AI4Arctic / AutoICE ready-to-train NetCDF scenes, \
on a GPU where
  there is one: `.venv-train/bin/python -m models.training.sea_ice --train 'train/*.nc' --validation 'test/*.nc'
  --levels 8 --crop 768 --batch 32 --epochs 90 --out sic_unet8.onnx`.
- **Licence**: {c['licence']}. Simulator inputs: nansat test SIC map (GPL-3.0) and the S1A EW1 annotation
  (xarray-sentinel test data, Apache-2.0), see resources/sample_data/ATTRIBUTION.md.
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")
