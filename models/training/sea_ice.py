"""Training the sea-ice concentration U-Net (Stokholm et al. 2022, §III–IV): scenes, sampling, loss, R² selection.

Scenes come from three readers, all giving the network's 80 m input (HH, HV in dB clipped to
[−30, 10] and scaled to [−1, 1], NaN → 0) and the chart's classes (0–10, 11 = no chart):

- :func:`read_ai4arctic`: an AI4Arctic / AutoICE "ready-to-train" NetCDF scene (variables
  ``nersc_sar_primary`` = HH and ``nersc_sar_secondary`` = HV in dB, ``SIC`` classes 0–10 with
  255 masked; other names with ``variables=``), read through GDAL's netCDF driver;
- :func:`read_geotiff_pair`: an HH/HV GeoTIFF (2 bands, or two files) and a chart raster of SIC
  classes (e.g. from ``sarsense:icechartclasses``);
- :func:`simulated_scenes`: the documented simulator (``simulators/sea_ice_scenes.py``).

All of them downsample 40 m → 80 m as the plugin does (``algorithms.sea_ice.pipeline``: 2×2 mean in
linear power; the chart by a 2×2 maximum, §II.C, land and no-chart winning), so a model sees at
training what ``sarsense:seaiceconcentration`` gives it.

Training follows §III: median-frequency class weights from the training pixels (eq. 1–2), the
weighted cross-entropy summed over pixels and divided by the sum of the weights (eq. 3–4); scenes
drawn ∝ their valid pixels (eq. 5–6); random 512² or 768² crops, crops without valid pixels
discarded; per crop the dihedral group plus, with probability ½, 1–4 bounded affine transforms
(rotation ±45°, scale ±30 %, translation ±30 %, shear ±10°), identical for SAR and chart; Adam,
lr 1e-4; after each epoch the R² (eq. 7) on whole validation scenes (no patching), the epoch with
the best R² kept. CUDA is used when torch finds it.

Retrain on the real dataset (one command, a GPU where there is one)::

    .venv-train/bin/python -m models.training.sea_ice --train 'ai4arctic/train/*.nc' \\
        --validation 'ai4arctic/test/*.nc' --levels 8 --crop 768 --batch 32 --epochs 90 --out sic_unet8.onnx
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from sarsense.algorithms import metrics
from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io.engine import run_whole
from sarsense.algorithms.io.engine.tiles import fitting_tile
from sarsense.algorithms.onnx.receptive_field import unet_receptive_field
from sarsense.algorithms.sea_ice import classes as sic_classes
from sarsense.algorithms.sea_ice.pipeline import DB_MAX, DB_MIN, downsample_kernel

MASKED = sic_classes.MASKED_CLASS
N_OUT = sic_classes.N_SIC_CLASSES + 1          # 0–10 and the masked class 11 (weight 0)
AI4ARCTIC_VARIABLES = {"hh": "nersc_sar_primary", "hv": "nersc_sar_secondary", "sic": "SIC"}


# --------------------------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------------------------
class Scene:
    """One training scene at the network's pixel spacing: ``x`` (2, H, W) float32 in [−1, 1] (NaN → 0),
    ``y`` (H, W) uint8 classes 0–10 and 11 (no chart or no SAR), its ``name`` and ``source``."""

    def __init__(self, x, y, name, source):
        self.x, self.y, self.name, self.source = x, y, name, source

    @property
    def valid(self):
        return int(np.count_nonzero(self.y != MASKED))


def to_network(hh_db, hv_db, chart, *, factor=2, name="scene", source=""):
    """A :class:`Scene` from 40 m HH/HV (dB, NaN nodata) and a chart of classes (0–10; anything else masked).

    SAR: the plugin's own downsampling kernel (mean in linear power, dB, clipped), then scaled to
    [−1, 1]. Chart: 2×2 maximum (§II.C) with no-chart pixels winning, and masked where the SAR is NaN.
    """
    db = downsample_kernel(units="db", factor=factor)(np.stack([hh_db, hv_db]).astype(np.float32))
    x = (2 * (db - DB_MIN) / (DB_MAX - DB_MIN) - 1).astype(np.float32)
    ok = np.all(np.isfinite(x), axis=0)
    x[:, ~ok] = 0.0
    c = np.asarray(chart).astype(np.int64)
    c = np.where((c >= 0) & (c <= 10), c, 1000)
    h, w = x.shape[1:]
    c = c[:h * factor, :w * factor].reshape(h, factor, w, factor).max(axis=(1, 3))
    y = np.where((c <= 10) & ok, c, MASKED).astype(np.uint8)
    return Scene(x, y, name, source)


def _read_var(path, var):
    """A 2-D NetCDF variable as stored (first row = first line; GDAL's classic raster view may flip it), with its
    nodata as NaN and its scale and offset applied: GDAL's netCDF driver, multidimensional API."""
    from osgeo import gdal

    ds = gdal.OpenEx(str(path), gdal.OF_MULTIDIM_RASTER)
    if ds is None:
        raise ValueError(f"GDAL cannot open '{path}' as NetCDF")
    root = ds.GetRootGroup()
    if var not in (root.GetMDArrayNames() or []):
        raise ValueError(f"'{path}' has no variable '{var}' (it has {', '.join(root.GetMDArrayNames() or [])})")
    arr_obj = root.OpenMDArray(var)
    arr = arr_obj.ReadAsArray().astype(np.float64)
    nodata, scale, offset = arr_obj.GetNoDataValueAsDouble(), arr_obj.GetScale(), arr_obj.GetOffset()
    arr_obj = root = None      # arrays and groups before their dataset (GDAL's bindings crash otherwise)
    ds = None
    if nodata is not None and not math.isnan(nodata):
        arr[arr == nodata] = np.nan
    return arr * (scale if scale is not None else 1.0) + (offset if offset is not None else 0.0)


def read_ai4arctic(path, *, variables=None, factor=2):
    """An AI4Arctic / AutoICE ready-to-train NetCDF scene as a :class:`Scene` (HH/HV in dB, SIC classes)."""
    v = {**AI4ARCTIC_VARIABLES, **(variables or {})}
    hh, hv, sic = (_read_var(path, v[k]) for k in ("hh", "hv", "sic"))
    if not (hh.shape == hv.shape == sic.shape):
        raise ValueError(f"'{path}': HH {hh.shape}, HV {hv.shape} and SIC {sic.shape} differ in shape")
    return to_network(hh.astype(np.float32), hv.astype(np.float32), np.nan_to_num(sic, nan=255), factor=factor,
                      name=Path(path).stem, source=f"AI4Arctic NetCDF {Path(path).name}")


def read_geotiff_pair(sar, chart, *, hv=None, factor=2):
    """A :class:`Scene` from an HH/HV GeoTIFF (two bands, or ``sar`` = HH and ``hv``) in dB and a chart raster,
    read whole by the plugin's engine (nodata as NaN; HH and HV must share a grid)."""
    sar_bands = run_whole([str(sar)] + ([str(hv)] if hv else []), lambda block: block)
    if len(sar_bands) != 2:
        raise ValueError(f"need HH and HV (2 bands), got {len(sar_bands)}")
    chart_band = run_whole(str(chart), lambda block: block)[0]
    return to_network(sar_bands[0], sar_bands[1], np.nan_to_num(chart_band, nan=255), factor=factor,
                      name=Path(sar).stem, source=f"GeoTIFF {Path(sar).name}")


def simulated_scenes(n, *, seed, shape=(1280, 1280)):
    """``n`` scenes of the documented simulator (40 m, downsampled to 80 m as the plugin does)."""
    from sarsense.simulators import sea_ice_scenes

    out = []
    for i in range(n):
        s = sea_ice_scenes.simulate(shape, seed=seed + i)
        out.append(to_network(s["hh_db"], s["hv_db"], s["chart"], name=f"sim{seed + i}",
                              source="SARSense sea-ice scene simulator (simulators/sea_ice_scenes.py)"))
    return out


# --------------------------------------------------------------------------------------------
# Sampling, weights, augmentation
# --------------------------------------------------------------------------------------------
def scene_probabilities(valid_counts):
    """Probability of drawing each scene, ∝ its valid pixels: Stokholm et al. (2022), eq. (5)–(6).

    Eq. (5) writes ``p(s_i) = n(s_i) / Σ_j n(s_j)/n(s*)`` with ``n(s*)`` the smallest count (eq. 6):
    the relative sampling rate (the smallest scene drawn once, one ten times larger ten times). As
    probabilities that is ``n(s_i) / Σ_j n(s_j)``, returned here (they sum to one).
    """
    n = np.asarray(valid_counts, dtype=np.float64)
    if n.ndim != 1 or n.size == 0 or np.any(n < 0):
        raise ValueError("need one non-negative valid-pixel count per scene")
    if not np.any(n > 0):
        raise ValueError("no scene has a valid pixel")
    return n / n.sum()


def class_counts(scenes):
    """Pixels per class 0–11 over ``scenes``."""
    total = np.zeros(N_OUT, np.int64)
    for s in scenes:
        total += np.bincount(s.y.ravel(), minlength=N_OUT)[:N_OUT]
    return total


def dihedral(x, y, k):
    """The ``k``-th (0–7) symmetry of the square applied to SAR ``x`` (C, H, W) and chart ``y`` (H, W)."""
    if k & 4:
        x, y = np.swapaxes(x, -1, -2), np.swapaxes(y, -1, -2)
    x, y = np.rot90(x, k & 3, axes=(-2, -1)), np.rot90(y, k & 3, axes=(-2, -1))
    return x, y


def affine(x, y, rng, *, fill_x=0.0, fill_y=MASKED):
    """With probability ½, 1–4 of: rotation ±45°, scale ±30 %, translation ±30 %, shear ±10° (§III, imgaug's
    bounds), about the crop's centre; bilinear for SAR, nearest for the chart; outside → ``fill``."""
    from scipy import ndimage

    if rng.random() >= 0.5:
        return x, y
    h, w = y.shape
    kinds = rng.choice(4, size=rng.integers(1, 5), replace=False)
    m = np.eye(2)
    shift = np.zeros(2)
    for kind in kinds:
        if kind == 0:
            a = math.radians(rng.uniform(-45, 45))
            m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ m
        elif kind == 1:
            m = m * rng.uniform(0.7, 1.3)
        elif kind == 2:
            shift = shift + rng.uniform(-0.3, 0.3, 2) * (h, w)
        else:
            m = np.array([[1.0, 0.0], [math.tan(math.radians(rng.uniform(-10, 10))), 1.0]]) @ m
    inv = np.linalg.inv(m)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    offset = centre - inv @ (centre + shift)
    xs = np.stack([ndimage.affine_transform(c, inv, offset, order=1, mode="constant", cval=fill_x) for c in x])
    ys = ndimage.affine_transform(y, inv, offset, order=0, mode="constant", cval=fill_y)
    return xs.astype(np.float32), ys


def sample_batch(scenes, probs, *, crop, batch, rng, augment=True):
    """A batch of random ``crop``² crops (scenes drawn with ``probs``), each with at least one valid pixel,
    augmented; scenes smaller than the crop are padded with masked pixels. ``(x, y)``: float32, int64."""
    xs, ys = [], []
    while len(xs) < batch:
        s = scenes[rng.choice(len(scenes), p=probs)]
        h, w = s.y.shape
        ph, pw = max(0, crop - h), max(0, crop - w)
        x = np.pad(s.x, ((0, 0), (0, ph), (0, pw))) if ph or pw else s.x
        y = np.pad(s.y, ((0, ph), (0, pw)), constant_values=MASKED) if ph or pw else s.y
        r0, c0 = rng.integers(0, y.shape[0] - crop + 1), rng.integers(0, y.shape[1] - crop + 1)
        cx, cy = x[:, r0:r0 + crop, c0:c0 + crop], y[r0:r0 + crop, c0:c0 + crop]
        if not np.any(cy != MASKED):
            continue                                     # §III: crops without valid pixels are discarded
        if augment:
            cx, cy = dihedral(cx, cy, int(rng.integers(8)))
            cx, cy = affine(np.ascontiguousarray(cx), np.ascontiguousarray(cy), rng)
            if not np.any(cy != MASKED):
                continue
        xs.append(np.ascontiguousarray(cx, np.float32))
        ys.append(np.ascontiguousarray(cy).astype(np.int64))
    return np.stack(xs), np.stack(ys)


# --------------------------------------------------------------------------------------------
# Loss, prediction, R²
# --------------------------------------------------------------------------------------------
def weighted_loss(weights):
    """Eq. (3)–(4): per-pixel cross-entropy times its class weight, summed, divided by the sum of the weights."""
    import torch
    from torch.nn import functional as F  # noqa: N812 (torch's own alias, as its documentation writes it)

    w = torch.as_tensor(weights, dtype=torch.float32)

    def loss(logits, target):
        return F.cross_entropy(logits, target, weight=w.to(logits.device), reduction="sum") / w.sum()
    return loss


def predict_scene(net, scene, *, device="cpu"):
    """Class map (H, W) of a whole scene (no patching, §III), padded to the U-Net's size multiple; 11 excluded."""
    import torch

    multiple = 2 ** net.levels
    h, w = scene.y.shape
    ph, pw = -h % multiple, -w % multiple
    x = np.pad(scene.x, ((0, 0), (0, ph), (0, pw)), mode="edge")
    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(x[None]).to(device))[0, :sic_classes.N_SIC_CLASSES, :h, :w]
    return logits.argmax(0).cpu().numpy().astype(np.uint8)


def scenes_r2(net, scenes, *, device="cpu"):
    """R² (eq. 7) of SIC % over the valid pixels of all ``scenes`` together, and per scene."""
    total = np.zeros((sic_classes.N_SIC_CLASSES,) * 2, np.int64)
    per = []
    for s in scenes:
        m = metrics.confusion_counts(s.y, predict_scene(net, s, device=device), sic_classes.N_SIC_CLASSES)
        total += m
        per.append(metrics.r2_from_confusion(m, sic_classes.SIC_PERCENT))
    return metrics.r2_from_confusion(total, sic_classes.SIC_PERCENT), per, total


def device_name():
    """'cuda' when torch finds a GPU, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def train(net, train_scenes, val_scenes, *, epochs, steps, crop, batch, lr=1e-4, seed=0, workdir=None,
          log=print, device=None):
    """Train ``net`` (a :class:`nets.UNet` with 12 outputs) as §III describes; keep the epoch with the best
    validation R². Returns the history (one dict per epoch) and the class weights used."""
    import torch

    from .loop import seed_everything

    device = device or device_name()
    seed_everything(seed)
    net.to(device)
    weights = sic_classes.median_frequency_weights(class_counts(train_scenes))
    loss_fn = weighted_loss(weights)
    probs = scene_probabilities([s.valid for s in train_scenes])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    best, best_state, history = -math.inf, None, []
    for epoch in range(epochs):
        t0 = time.time()
        net.train()
        total = 0.0
        for _ in range(steps):
            x, y = sample_batch(train_scenes, probs, crop=crop, batch=batch, rng=rng)
            opt.zero_grad()
            loss = loss_fn(net(torch.from_numpy(x).to(device)), torch.from_numpy(y).to(device))
            loss.backward()
            opt.step()
            total += float(loss.detach())
        r2, _, _ = scenes_r2(net, val_scenes, device=device)
        row = {"epoch": epoch + 1, "train_loss": total / steps, "val_r2": r2, "seconds": round(time.time() - t0, 1)}
        history.append(row)
        log(json.dumps(row))
        if workdir:
            with open(os.path.join(workdir, "log.jsonl"), "a") as fh:
                fh.write(json.dumps(row) + "\n")
        if r2 > best:
            best, best_state = r2, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    net.to("cpu")
    return history, weights


def export_module(net):
    """The module exported to ONNX: ``net``'s logits without the masked class 11."""
    import torch

    class _Head(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.levels = inner.levels

        def forward(self, x):
            return self.inner(x)[:, :sic_classes.N_SIC_CLASSES]
    return _Head(net).eval()


def contract(*, name, levels, tile, halo, training_data, summary, version="1.0.0", description=""):
    """The SARSense contract of a sea-ice U-Net (``algorithms.sea_ice.pipeline.check_model`` accepts it)."""
    rf = unet_receptive_field(levels, upsampling="bilinear")
    return {
        "format": rt.CONTRACT_FORMAT, "format_version": rt.CONTRACT_VERSION,
        "name": name, "version": version, "licence": "GPL-3.0-or-later",
        "description": description or f"{levels}-level U-Net (Stokholm et al. 2022) for sea-ice concentration "
                                      "from Sentinel-1 EW HH/HV at 80 m.",
        "task": "segmentation",
        "inputs": [{"name": "HH", "units": "dB"}, {"name": "HV", "units": "dB"}],
        "normalisation": {"method": "min_max", "min": [DB_MIN, DB_MIN], "max": [DB_MAX, DB_MAX], "range": [-1.0, 1.0]},
        "nodata_fill": 0.0,
        "output": {"activation": "softmax", "units": "SIC class",
                   "expectation": {"name": "sea ice concentration (expected)", "units": "%"}},
        "classes": sic_classes.class_table(),
        "tiling": {"tile_size": tile, "halo": halo, "receptive_field": rf, "size_multiple": 2 ** levels},
        "training": {"data": training_data, "summary": summary},
    }


def halo_for(levels):
    """The tiling halo of an N-level U-Net: a fifth of its (bilinear) receptive field, so that neighbouring tiles
    overlap by 2·halo + blend (halo/2) ≥ half the receptive field, as ``algorithms.sea_ice.pipeline.chart``
    requires of every model."""
    return math.ceil(unet_receptive_field(levels, upsampling="bilinear") / 5)


#: Largest tile side the contract suggests; the export takes the largest that fits the default budget below it.
MAX_TILE = 1024
#: Memory budget (MiB) the contract's tile must fit: sarsense:seaiceconcentration's default.
DEFAULT_BUDGET_MB = 512


def export_model(net, onnx_path, *, name, training_data, summary, description=""):
    """Export a trained 12-output U-Net as a SARSense sea-ice model: classes 0–10, contract, memory measured,
    tile = the largest (≤ :data:`MAX_TILE`) that fits :data:`DEFAULT_BUDGET_MB` with the halo. Returns the
    contract dict written."""
    from .onnx_export import export

    head = export_module(net)
    levels = net.levels
    multiple = 2 ** levels
    halo = halo_for(levels)
    c = contract(name=name, levels=levels, tile=max(multiple, 256 // multiple * multiple), halo=halo,
                 training_data=training_data, summary=summary, description=description)
    measured = export(head, onnx_path, c, channels=2, tile=multiple)
    c["tiling"]["memory_per_pixel"] = measured.memory_per_pixel
    tile = fitting_tile(MAX_TILE, margin=halo, multiple=multiple, in_bands=2, out_bands=sic_classes.N_SIC_CLASSES,
                        predict_bytes_per_pixel=measured.memory_per_pixel, budget_mb=DEFAULT_BUDGET_MB)
    if tile is None:
        raise RuntimeError(f"{name}: no tile holds a {halo}-px halo within {DEFAULT_BUDGET_MB} MiB; use fewer levels")
    c["tiling"]["tile_size"] = tile
    export(head, onnx_path, c, channels=2, tile=multiple)
    return c


# --------------------------------------------------------------------------------------------
# Command line: retrain on AI4Arctic NetCDF scenes or GeoTIFF pairs
# --------------------------------------------------------------------------------------------
def _load(pattern, factor):
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"no file matches '{pattern}'")
    out = []
    for f in files:
        if f.lower().endswith(".nc"):
            out.append(read_ai4arctic(f, factor=factor))
        else:
            chart = f.replace("_sar", "_chart")
            if chart == f or not os.path.exists(chart):
                raise SystemExit(f"GeoTIFF pairs are '<name>_sar.tif' (HH, HV in dB) and '<name>_chart.tif'; "
                                 f"no chart for {f}")
            out.append(read_geotiff_pair(f, chart, factor=factor))
    return out


def main(argv=None):
    import torch

    from .nets import UNet
    from .onnx_export import parity_check

    p = argparse.ArgumentParser(description="Train the sea-ice concentration U-Net on AI4Arctic NetCDF scenes or "
                                            "GeoTIFF pairs and export it as a SARSense ONNX model")
    p.add_argument("--train", required=True, help="glob of training scenes (*.nc, or *_sar.tif with *_chart.tif)")
    p.add_argument("--validation", required=True, help="glob of validation scenes (R² picks the epoch)")
    p.add_argument("--levels", type=int, default=8, choices=range(3, 9))
    p.add_argument("--crop", type=int, default=768, choices=(512, 768))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--steps", type=int, default=500, help="batches per epoch (the paper: 500)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--downsample", type=int, default=2, help="40 m → 80 m (the paper); 1 if already at 80 m")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the .onnx to write")
    a = p.parse_args(argv)
    train_scenes, val_scenes = _load(a.train, a.downsample), _load(a.validation, a.downsample)
    torch.manual_seed(a.seed)
    net = UNet(2, N_OUT, levels=a.levels)
    history, weights = train(net, train_scenes, val_scenes, epochs=a.epochs, steps=a.steps, crop=a.crop, batch=a.batch,
                             lr=a.lr, seed=a.seed)
    export_model(net, a.out, name=Path(a.out).stem, training_data=f"{len(train_scenes)} scenes from {a.train}",
                 summary=f"{a.epochs} epochs × {a.steps} batches of {a.batch} {a.crop}² crops, Adam lr {a.lr:g}; "
                         f"best validation R² {max(h['val_r2'] for h in history):.4f} on {a.validation}")
    side = 2 ** a.levels * max(1, 256 // 2 ** a.levels)
    parity_check(export_module(net), a.out, [val_scenes[0].x[None, :, :side, :side]], tol=1e-3)
    print(f"wrote {a.out}; class weights {np.round(weights, 3).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
