"""Recipe of the bundled ``s1_despeckle_example``: a small CNN despeckling the real Camargue scene
(``python -m models.training.build s1_despeckle_example``)."""

import tempfile

import numpy as np

from sarsense.algorithms import onnx as rt
from sarsense.algorithms import sar
from sarsense.algorithms.onnx.receptive_field import chain_receptive_field
from sarsense.algorithms.sar import speckle

from .paths import MODELS, REPO

CAMARGUE = REPO / "resources" / "sample_data" / "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


# --------------------------------------------------------------------------------------------
# Recipe: s1_despeckle_example
# --------------------------------------------------------------------------------------------
DB_OFFSET, DB_SCALE = -12.0, 6.0     # network sees (dB - offset) / scale


def _camargue_pairs(seed, *, size=40, stride=8, realisations=4):
    """Simulated single-look speckle on the real Camargue GRDH scene: (noisy, reference) dB patches.

    Rows 0–159 train, rows 160–216 are held out (spatially separate). The
    reference is the GRDH scene itself (ENL ≈ 4.4), so the model learns to bring
    single-look intensity to that level, not to a speckle-free truth.
    """

    from osgeo import gdal
    ds = gdal.Open(str(CAMARGUE))
    band = ds.GetRasterBand(1)
    db = band.ReadAsArray().astype(np.float32)
    db[db == np.float32(band.GetNoDataValue())] = np.nan
    lin = sar.db_to_linear(db)[0]
    rng = np.random.default_rng(seed)
    out = {}
    for part, rows in (("train", slice(0, 160)), ("val", slice(160, None))):
        ref = lin[rows]
        xs, ys = [], []
        for _ in range(realisations):
            noisy = ref * rng.gamma(1.0, 1.0, ref.shape).astype(np.float32)
            for y in range(0, ref.shape[0] - size + 1, stride):
                for x in range(0, ref.shape[1] - size + 1, stride):
                    t, n = ref[y:y + size, x:x + size], noisy[y:y + size, x:x + size]
                    if np.isfinite(t).all():
                        xs.append(sar.linear_to_db(n)[0])
                        ys.append(sar.linear_to_db(t)[0])
        out[part] = (np.stack(xs)[:, None], np.stack(ys)[:, None])
    return out


def build_despeckle_example(*, epochs=40, seed=20261121, workdir=None, log=print):
    import torch

    from .data import ArrayPatches
    from .loop import seed_everything, train
    from .nets import SmallCNN
    from .onnx_export import export, parity_check

    name = "s1_despeckle_example"
    pairs = _camargue_pairs(seed)

    def norm(a):
        return (a - DB_OFFSET) / DB_SCALE

    (xt, yt), (xv, yv) = pairs["train"], pairs["val"]
    data = ArrayPatches(np.concatenate([norm(xt), norm(xv)]), np.concatenate([norm(yt), norm(yv)]),
                        source="Camargue S1A IW GRDH VV 2015-03-09 (resources/sample_data) with simulated "
                               "single-look gamma speckle")
    train_idx, val_idx = np.arange(len(xt)), np.arange(len(xt), len(xt) + len(xv))
    seed_everything(seed)  # the initial weights too: make models gives the same file twice
    net = SmallCNN(1, 1, filters=16, layers=5)

    def mae_db(p, t):
        return torch.mean(torch.abs(p - t)) * DB_SCALE

    workdir = workdir or tempfile.mkdtemp(prefix=f"{name}-")
    history = train(net, data, train_idx, val_idx, loss_fn=torch.nn.functional.mse_loss, epochs=epochs,
                    batch_size=32, lr=1e-3, lr_steps=(int(epochs * 0.75),), seed=seed, workdir=workdir,
                    metrics={"mae_db": mae_db}, log=log)
    rf = chain_receptive_field([(3, 1)] * 5)
    contract = {
        "format": rt.CONTRACT_FORMAT, "format_version": rt.CONTRACT_VERSION,
        "name": name, "version": "1.0.0", "licence": "GPL-3.0-or-later",
        "description": "Example model: reduces single-look speckle in Sentinel-1 backscatter (dB). A small "
                       "residual CNN; shows the SARSense model contract end to end.",
        "task": "pixel_regression",
        "inputs": [{"name": "backscatter", "units": "dB"}],
        "normalisation": {"method": "offset_scale", "offset": [DB_OFFSET], "scale": [DB_SCALE]},
        "nodata_fill": 0.0,
        "output": {"names": ["backscatter despeckled"], "units": "dB", "scale": DB_SCALE, "offset": DB_OFFSET},
        "tiling": {"tile_size": 256, "halo": rf // 2, "receptive_field": rf, "size_multiple": 1},
        "training": {"data": data.source, "summary": f"{len(train_idx)} training / {len(val_idx)} held-out 40×40 "
                     f"patches; rows 160–216 held out; {epochs} epochs, Adam, seed {seed}"},
    }
    onnx_path = MODELS / f"{name}.onnx"
    export(net, onnx_path, contract, channels=1)
    held_out = [data.pair(int(i))[0][None] for i in val_idx[:16]] + [norm(np.stack([xv[i] for i in range(4)]))]
    parity = parity_check(net, onnx_path, held_out)
    _write_card(name, onnx_path, contract, history, parity, {})  # the hash first: the runtime checks it
    scores = _score_despeckle(onnx_path, xv, yv)
    _write_card(name, onnx_path, contract, history, parity, scores)
    log(f"{name}: parity {parity:.2g}, held-out scores {scores}")
    return onnx_path


def _score_despeckle(onnx_path, xv, yv):
    """Held-out MAE (dB) against the reference: input, CNN, Lee 5×5 and Gamma-MAP 5×5 (ENL 1)."""
    model = rt.Model(onnx_path)
    pred = model.predict_tiles(xv)[:, 0]
    noisy, ref = xv[:, 0], yv[:, 0]
    lin = sar.db_to_linear(noisy)[0]
    lee = np.stack([sar.linear_to_db(speckle.lee(p, size=5, looks=1.0))[0] for p in lin])
    gm = np.stack([sar.linear_to_db(speckle.gamma_map(p, size=5, looks=1.0))[0] for p in lin])
    core = (slice(None), slice(5, -5), slice(5, -5))  # away from patch edges, where filters lack context

    def mae(a):
        return float(np.nanmean(np.abs(a[core] - ref[core])))

    return {"single-look input": mae(noisy), "this model": mae(pred), "Lee 5×5": mae(lee), "Gamma-MAP 5×5": mae(gm)}


def _write_card(name, onnx_path, contract, history, parity, scores):
    last = history[-1] if history else {}
    rows = "\n".join(f"| {k} | {v:.2f} |" for k, v in scores.items())
    text = f"""# {name} {contract['version']}

An **example** model: it shows the SARSense model contract end to end (export, card, hash,
`sarsense:applymodel`) and reduces single-look speckle in Sentinel-1 backscatter given in dB.
It is trained on one small scene; do not use it as a production despeckler.

- **Status**: demonstration (the plugin reads it: its outputs say so in layer name, legend and report)
- **Trained on**: one Sentinel-1A IW GRDH VV scene (Camargue, 2015-03-09) with simulated single-look speckle
- **Architecture**: residual CNN, 5 × (3×3 conv), 16 filters, ReLU (DnCNN-like, Zhang et al. 2017);
  receptive field {contract['tiling']['receptive_field']} px, halo {contract['tiling']['halo']} px, so tiled
  output equals whole-image output.
- **Input contract**: 1 band, backscatter in dB (any polarisation), normalised as
  (dB − ({DB_OFFSET})) / {DB_SCALE}; nodata filled with 0 and masked again. Output: despeckled dB.
- **Training data**: {contract['training']['data']}. {contract['training']['summary']}.
  The reference is the GRDH scene itself (ENL ≈ 4.4), not a speckle-free truth. All numbers below are
  on **simulated** speckle, not on real single-look data.
- **Held-out metrics** (rows 160–216 of the scene, never trained on, 4 speckle realisations; MAE in dB
  against the reference, 5-pixel patch borders left out). The same rows picked the best epoch, so the
  model's figure is slightly optimistic; the filters' are not tuned at all:

| method | MAE (dB) |
|---|---|
{rows}

- Final epoch: train loss {last.get('train_loss', float('nan')):.4g}, validation loss
  {last.get('val_loss', float('nan')):.4g}. onnxruntime vs torch on held-out inputs: max |Δ| = {parity:.1e}.
- **Retrain**: `make models` (runs `python -m models.training.build`, seeded; CPU, about two minutes on two cores).
- **Licence**: {contract['licence']}; the scene is Copernicus Sentinel data 2015 (see
  resources/sample_data/ATTRIBUTION.md).
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")
