"""Training runs of the LST U-Net on real ECOSTRESS and MODIS pairs, and the learning-curve study that picks
the bundled recipe (``python -m models.training.build lst_study``).

Every run trains the multi-residual U-Net (:class:`nets.MultiResidualUNet`, no batch norm, zero-initialised
output: it starts as bicubic) on 64×64 truth windows (Norm-L4 ×4 → 16×16 input) with dihedral augmentation,
Adam, in epochs of :data:`SAMPLES_PER_EPOCH` windows drawn from the training windows, and keeps the epoch
with the lowest validation loss. Validation patches come from the validation blocks of the training scenes
(ECOSTRESS) and the validation blocks of the MODIS tiles; the test parts are never read here.

The study (:func:`study_lst`) varies one thing at a time from the base run and scores every run on the
validation patches, per source and day/night (mean per-patch PSNR gain over bicubic, eq. 2). Its rule picks
the bundled recipe (:func:`pick_recipe`), which :func:`models.training.lst_superresolution.build_lst_superresolution`
then trains and scores once on the test parts.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from . import lst_ecostress as eco
from . import lst_modis

STUDY_JSON = Path(__file__).resolve().parent / "lst_study.json"
SEED = 20261206
SAMPLES_PER_EPOCH = 1600
BATCH = 16
MODIS_STRIDE = 4
#: torch threads of every run: one, so that a run gives the same bytes on any machine (and a shared machine's
#: other work does not stall the threads' synchronisation: measured here 6 s → 70 s per epoch with two threads).
THREADS = 1
#: In a joint run the MODIS windows are repeated to make about this share of the windows an epoch draws from.
MODIS_SHARE = 0.25
#: Normalisation of every run: (T − 300) / 15 K (the middle and about the half-range of the summer LST here;
#: fixed, so runs on different data stay comparable and exportable alike).
NORM_OFFSET, NORM_SCALE = 300.0, 15.0
#: The base run; the study's runs each change one key.
BASE = {"eco_scenes": "all", "eco_parts": "day+night", "modis": False, "loss": "mse", "net": {"levels": 2, "base": 8},
        "epochs": 24, "lr": 1e-3, "init": None}


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
class Sources:
    """The screened ECOSTRESS fields and their split, and the MODIS patches, loaded once."""

    def __init__(self, workdir, ecostress_dir=None):
        self.eco = eco.screen(ecostress_dir, Path(workdir) / "ecostress_utm70")
        self.eco_parts = eco.parts(self.eco)
        self.day = {s.doy: s.day for s in self.eco["scenes"]}
        self.modis_fields = lst_modis.modis_fields()
        # the bundled tiles' split (seed of the old recipe); 64² training windows at stride 4: the ground of the
        # old recipe's 923 32² windows at stride 8
        self.modis_parts = lst_modis.lst_patches(self.modis_fields, seed=20261121, train_size=eco.PATCH,
                                       train_stride=MODIS_STRIDE)

    def train_doys(self, spec, parts):
        """Training scenes of a run: ``spec`` "all" or a number n (the first n of a seeded, day/night-alternating
        order of the training scenes); ``parts`` "day+night", "day" or "night"."""
        doys = sorted({d for d, _, _ in self.eco_parts["train"]})
        if parts != "day+night":
            doys = [d for d in doys if self.day[d] == (parts == "day")]
        if spec == "all":
            return doys
        rng = np.random.default_rng(SEED)
        day = list(rng.permutation([d for d in doys if self.day[d]]))
        night = list(rng.permutation([d for d in doys if not self.day[d]]))
        order = [x for pair in zip(day, night) for x in pair] + day[len(night):] + night[len(day):]
        return sorted(int(d) for d in order[:int(spec)])

    def eco_pairs(self, part, doys=None, day=None):
        entries = [e for e in self.eco_parts[part] if (doys is None or e[0] in doys)
                   and (day is None or self.day[e[0]] == day)]
        return eco.pairs(self.eco["fields"], entries), len({e[0] for e in entries})

    def modis_pairs(self, part):
        return lst_modis.lst_pairs(self.modis_parts[part])


def _normalise(a):
    return (np.asarray(a, np.float32) - NORM_OFFSET) / NORM_SCALE


# --------------------------------------------------------------------------------------------
# Losses and scores
# --------------------------------------------------------------------------------------------
def psnr_loss(pred, target):
    """Mean over patches of log(MSE_patch): minimising it maximises the mean per-patch PSNR the cards report
    (eq. 2: PSNR_p = 10 log10(R_p² / MSE_p); R_p does not depend on the network). ε = (0.01 K)² keeps a
    perfect patch finite."""
    import torch
    mse = torch.mean((pred - target) ** 2, dim=(1, 2, 3))
    return torch.mean(torch.log(mse + (0.01 / NORM_SCALE) ** 2))


def mse_loss(pred, target):
    import torch
    return torch.nn.functional.mse_loss(pred, target)


LOSSES = {"mse": mse_loss, "psnr": psnr_loss}


def patch_psnr(truth, est):
    """Per-patch PSNR (dB) with each patch's own dynamic range (Nguyen et al. 2022, eq. 2:
    :func:`algorithms.lst.quality.psnr`), kelvin arrays (n, r, c)."""
    from sarsense.algorithms.lst import quality
    t, e = np.asarray(truth, np.float64), np.asarray(est, np.float64)
    return np.array([quality.psnr(float(a.max() - a.min()), float(np.mean((a - b) ** 2))) for a, b in zip(t, e)])


def gain_stats(psnr_net, psnr_bicubic):
    """(mean, standard error) of the per-patch PSNR differences net − bicubic (dB)."""
    d = np.asarray(psnr_net) - np.asarray(psnr_bicubic)
    return float(d.mean()), (float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"))


def gain_db(net, coarse, truth):
    """Mean per-patch PSNR of the net minus that of bicubic (dB), with the standard error of the mean of the
    per-patch differences, and N."""
    import torch

    from sarsense.algorithms.lst import resample
    net.eval()
    with torch.no_grad():
        est = np.concatenate([net(torch.from_numpy(_normalise(coarse[i:i + 64])[:, None])).numpy()[:, 0]
                              for i in range(0, len(coarse), 64)]) * NORM_SCALE + NORM_OFFSET
    bic = np.stack([resample.upsample(c, eco.SCALE) for c in coarse])
    bicubic = patch_psnr(truth, bic)
    gain, se = gain_stats(patch_psnr(truth, est), bicubic)
    return {"gain_db": round(gain, 3), "se_db": round(se, 3), "bicubic_db": round(float(bicubic.mean()), 2),
            "n": int(len(bicubic))}


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------
def train_run(sources, config, workdir, *, seed=SEED, log=print):
    """Train one configuration (keys of :data:`BASE`); returns ``(net, result)`` with the validation scores
    per source and day/night (``result["val"]``) and the seconds it took."""
    import torch

    from .data import ArrayPatches
    from .loop import seed_everything, train
    from .nets import MultiResidualUNet

    cfg = {**BASE, **config}
    xs, ys, val_x, val_y, names = [], [], [], [], []
    doys = []
    if cfg["eco_scenes"] != 0:
        doys = sources.train_doys(cfg["eco_scenes"], cfg["eco_parts"])
        (c, t), _ = sources.eco_pairs("train", set(doys))
        xs.append(c), ys.append(t)
        day = None if cfg["eco_parts"] == "day+night" else cfg["eco_parts"] == "day"
        (c, t), _ = sources.eco_pairs("val", day=day)
        val_x.append(c), val_y.append(t)
        names.append(f"ECOSTRESS ({len(doys)} scenes, {cfg['eco_parts']})")
    if cfg["modis"]:
        for part, (c, t) in (("train", sources.modis_pairs("train")), ("val", sources.modis_pairs("val"))):
            (xs if part == "train" else val_x).append(c)
            (ys if part == "train" else val_y).append(t)
        names.append("MODIS MOD11A1 (2 tiles)")
    ct, tt, cv, tv = (np.concatenate(a) for a in (xs, ys, val_x, val_y))
    data = ArrayPatches(_normalise(np.concatenate([ct, cv]))[:, None], _normalise(np.concatenate([tt, tv]))[:, None],
                        source=" + ".join(names))
    train_idx, val_idx = np.arange(len(ct)), np.arange(len(ct), len(ct) + len(cv))
    if cfg["modis"] and len(xs) == 2:       # joint: MODIS windows repeated up to MODIS_SHARE of the draw
        n_eco, n_mod = len(xs[0]), len(xs[1])
        repeat = max(1, int(round(MODIS_SHARE / (1 - MODIS_SHARE) * n_eco / n_mod)))
        train_idx = np.concatenate([np.arange(n_eco), np.tile(np.arange(n_eco, n_eco + n_mod), repeat)])
    torch.set_num_threads(THREADS)
    seed_everything(seed)
    net = MultiResidualUNet(scale=eco.SCALE, batch_norm=False, zero_init=True, **cfg["net"])
    if cfg["init"]:
        net.load_state_dict(torch.load(Path(cfg["init"]), weights_only=True))
    t0 = time.time()
    epochs = cfg["epochs"]
    history = train(net, data, train_idx, val_idx, loss_fn=LOSSES[cfg["loss"]], epochs=epochs, batch_size=BATCH,
                    lr=cfg["lr"], lr_steps=(epochs * 2 // 3, epochs * 5 // 6), seed=seed, workdir=str(workdir),
                    augment="dihedral", keep="best", samples_per_epoch=SAMPLES_PER_EPOCH, log=log)
    # the epochs' own times (a resumed run keeps those of its earlier epochs)
    seconds = sum(h["seconds"] for h in history) if history else time.time() - t0
    result = {"config": cfg, "train_scenes": doys, "train_mean_k": round(float(np.mean(tt)), 3), "n_train": len(ct),
              "n_val": len(cv), "seconds": round(seconds),
              "best_epoch": int(np.argmin([h["val_loss"] for h in history]) + 1), "data": data.source,
              "val": validation_scores(sources, net)}
    log(f"run {json.dumps(config)}: {json.dumps(result['val'])} in {seconds:.0f} s")
    return net, result


def validation_scores(sources, net):
    """Validation gain over bicubic per source and day/night (all validation scenes, whatever was trained)."""
    out = {}
    for label, day in (("ecostress_day", True), ("ecostress_night", False)):
        (c, t), _ = sources.eco_pairs("val", day=day)
        out[label] = gain_db(net, c, t)
    out["modis"] = gain_db(net, *sources.modis_pairs("val"))
    return out


# --------------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------------
#: (label, change from BASE). The learning curve (3, 6, all 12 training scenes), day and night models, the
#: loss matched to the score, and MODIS: joint, and ECOSTRESS pre-training fine-tuned on both.
STUDY_RUNS = (
    ("base: 12 scenes, day+night, MSE", {}),
    ("3 scenes", {"eco_scenes": 3}),
    ("6 scenes", {"eco_scenes": 6}),
    ("day scenes only", {"eco_parts": "day"}),
    ("night scenes only", {"eco_parts": "night"}),
    ("PSNR loss", {"loss": "psnr"}),
    ("MODIS only", {"eco_scenes": 0, "modis": True}),
    ("joint ECOSTRESS + MODIS", {"modis": True}),
    ("joint, PSNR loss", {"modis": True, "loss": "psnr"}),
    ("3 levels x 8 filters", {"net": {"levels": 3, "base": 8}}),
    ("base, then fine-tuned jointly (lr 1e-4, 12 epochs)", {"modis": True, "init": "run00", "lr": 1e-4, "epochs": 12}),
    ("base, then fine-tuned on MODIS only (lr 1e-4, 12 epochs)",
     {"eco_scenes": 0, "modis": True, "init": "run00", "lr": 1e-4, "epochs": 12}),
    ("3 levels x 8 filters, PSNR loss", {"net": {"levels": 3, "base": 8}, "loss": "psnr"}),
)


def study_lst(*, workdir=None, log=print, runs=STUDY_RUNS, ecostress_dir=None):
    """Train every run of :data:`STUDY_RUNS` and write their validation scores to :data:`STUDY_JSON`."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="lst_study-"))
    sources = Sources(workdir, ecostress_dir)
    rows = []
    for i, (label, change) in enumerate(runs):
        if change.get("init"):      # "runNN": that run's kept weights
            change = {**change, "init": str(workdir / change["init"] / "best.pt")}
        _, res = train_run(sources, change, workdir / f"run{i:02d}", log=lambda *a: None)
        res["config"]["init"] = runs[i][1].get("init")
        rows.append({"label": label, "change": change, **res})
        log(f"{label}: {json.dumps(res['val'])} ({res['seconds']} s)")
        STUDY_JSON.write_text(json.dumps(_study_doc(sources, rows), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return rows


def _study_doc(sources, rows):
    return {"screening": sources.eco["report"], "water_fraction": round(sources.eco["water_fraction"], 4),
            "diurnal_amplitude_k": {k: round(v, 2) for k, v in sources.eco["amplitude_median_k"].items()},
            "split": split_summary(sources),
            "samples_per_epoch": SAMPLES_PER_EPOCH, "batch": BATCH, "runs": rows}


def load_study():
    if not STUDY_JSON.exists():
        raise FileNotFoundError(f"{STUDY_JSON.name} is missing: run `python -m models.training.build lst_study` "
                                "first (it picks the recipe)")
    return json.loads(STUDY_JSON.read_text(encoding="utf-8"))


def recipe_score(row):
    """What the study's rule maximises: the mean of the validation gains over ECOSTRESS day, ECOSTRESS night
    and MODIS, equal weights (the three kinds of input the one bundled model serves). Fixed before the study
    ran; validation only."""
    return float(np.mean([row["val"][k]["gain_db"] for k in ("ecostress_day", "ecostress_night", "modis")]))


def pick_recipe(study):
    """The study's best run by :func:`recipe_score` (ties: the earlier run): ``{"label", "score", "chain"}``,
    ``chain`` the configurations to train in turn (a fine-tuned run: its parent run, then itself)."""
    rows = study["runs"]
    best = max(range(len(rows)), key=lambda i: (recipe_score(rows[i]), -i))
    chain, row = [], rows[best]
    while True:
        chain.insert(0, {k: v for k, v in row["config"].items() if k != "init"})
        parent = row["config"].get("init")
        if not parent:
            break
        row = rows[int(parent[3:])]
    return {"label": rows[best]["label"], "score": round(recipe_score(rows[best]), 3), "chain": chain}


def split_summary(sources):
    return {"test_scenes": sources.eco["test_doys"], "blocks": sources.eco_parts["blocks"],
            "n": {k: len(sources.eco_parts[k]) for k in ("train", "val", "test")},
            "modis_n": {k: len(v) for k, v in sources.modis_parts.items() if isinstance(v, list)}}
