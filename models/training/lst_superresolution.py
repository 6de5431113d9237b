"""Recipe of the bundled ``lst_superresolution`` (``python -m models.training.build lst_superresolution``): the
run the learning-curve study picked on validation (:mod:`.lst_study`), trained on real ECOSTRESS and MODIS LST
pairs (Norm-L4 degradation, a U-Net ×4), exported, scored once on the held-out scenes, blocks and patches."""

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io.engine.tiles import fitting_tile
from sarsense.algorithms.lst import quality, resample

from .lst_modis import SR_SCALE
from .paths import MODELS

#: Input pixel sizes (m) the bundled model is validated on: ECOSTRESS 70 m degraded ×4 (280 m) and MODIS
#: 926.6 m (the sinusoidal grid; about 1 km in UTM), each with a 10 % margin.
VALIDATED_PIXEL_M = [250.0, 1100.0]


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


def build_lst_superresolution(*, workdir=None, log=print, write=True, epochs=None, name="lst_superresolution",
                              ecostress_dir=None):
    """Train the recipe the study picked on validation (:func:`lst_study.pick_recipe` on ``lst_study.json``),
    export it with its contract, score it once on the held-out parts and write the card.

    The held-out parts: the ECOSTRESS test scenes × test blocks (day and night apart) and the MODIS test
    patches (:func:`lst_modis.lst_patches`). ``epochs`` overrides every stage's epochs (quick checks; never for the
    bundled file).
    """
    from . import lst_study as st
    from .onnx_export import export, parity_check

    study = st.load_study()
    pick = st.pick_recipe(study)
    workdir = Path(workdir or tempfile.mkdtemp(prefix=f"{name}-"))
    sources = st.Sources(workdir, ecostress_dir)
    t0, init, stages = time.time(), None, []
    for i, stage in enumerate(pick["chain"]):
        cfg = {**stage, "init": str(init) if init else None, **({"epochs": epochs} if epochs else {})}
        net, res = st.train_run(sources, cfg, workdir / f"stage{i}", log=log)
        stages.append(res)
        init = workdir / f"stage{i}" / "best.pt"
    # the epochs' own times (a build resumed from its workdir keeps those of the epochs it did not redo)
    seconds = sum(s["seconds"] for s in stages) if stages else time.time() - t0
    final = stages[-1]
    net_kwargs = final["config"]["net"]
    rf = _lst_receptive_field(net_kwargs, st.SEED)
    multiple = max(1, 2 ** net_kwargs["levels"] // SR_SCALE)
    offset, scale = st.NORM_OFFSET, st.NORM_SCALE
    data = " + ".join(dict.fromkeys(s["data"] for s in stages))
    contract = {
        "format": rt.CONTRACT_FORMAT, "format_version": rt.CONTRACT_VERSION,
        "name": name, "version": "2.0.0", "licence": "GPL-3.0-or-later",
        "description": "Multi-residual U-Net (Nguyen et al. 2022): LST ×4 super-resolution, the Keys-bicubic ILR "
                       f"plus a learnt residual; trained on real {_trained_on(stages)}; validated on ECOSTRESS "
                       "(280 m → 70 m) and MODIS (1 km) inputs.",
        "task": "super_resolution", "scale_factor": SR_SCALE,
        "inputs": [{"name": "LST", "units": "K"}],
        "normalisation": {"method": "offset_scale", "offset": [offset], "scale": [scale]},
        "nodata_fill": round((final["train_mean_k"] - offset) / scale, 6),
        "output": {"names": ["LST"], "units": "K", "scale": scale, "offset": offset},
        "tiling": {"tile_size": 128, "halo": -(-(rf - 1) // 2), "receptive_field": rf, "size_multiple": multiple},
        "validated_input_pixel_m": VALIDATED_PIXEL_M,
        "training": {"data": f"real LST: {data}",
                     "summary": f"recipe '{pick['label']}' of the study (picked on validation); "
                                f"{final['n_train']} training windows of 64×64, seed {st.SEED}"},
    }
    onnx_path = (MODELS if write else workdir) / f"{name}.onnx"
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
    (mc, mt) = sources.modis_pairs("test")
    parity = parity_check(net, onnx_path, [(mc[:8, None] - offset) / scale])
    result = {"pick": pick, "stages": stages, "seconds": round(seconds), "parity": parity,
              "parameters": int(sum(p.numel() for p in net.parameters())), "tiling": dict(contract["tiling"]),
              "screening": sources.eco["report"], "split": st.split_summary(sources), "scores": {}}
    if write:
        _write_lst_card(name, onnx_path, contract, result, study)   # the hash first: the runtime checks it
    for label, day in (("ECOSTRESS day", True), ("ECOSTRESS night", False)):
        (c, t), n_scenes = sources.eco_pairs("test", day=day)
        result["scores"][label] = {**score_lst(onnx_path, c, t), "scenes": n_scenes}
    for doy in sources.eco["test_doys"]:
        (c, t), _ = sources.eco_pairs("test", doys={doy})
        result["scores"][f"ECOSTRESS 2023-{doy:03d}"] = {**score_lst(onnx_path, c, t), "scenes": 1}
    result["scores"]["MODIS"] = {**score_lst(onnx_path, mc, mt), "scenes": 2}
    if write:       # the test scenes' crops around the test blocks, for make demo and the card's check
        from .lst_ecostress import write_heldout
        write_heldout(sources.eco, sources.eco_parts["test_blocks"])
        _write_lst_card(name, onnx_path, contract, result, study)
    log(f"{name}: {json.dumps({k: v for k, v in result.items() if k not in ('screening',)}, default=str)}")
    return result

def score_lst(onnx_path, coarse, truth):
    """Held-out figures per method, each the mean over patches of the per-patch figure (the paper's protocol).

    For every patch: PSNR with the patch's own dynamic range (eq. 2), SSIM eq. 3 over the patch,
    the windowed SSIM (Wang et al. 2004, 7×7 Gaussian), RMSE and bias in K. A model outside
    ``models/`` (an experiment's workdir) runs without a card; a bundled one is checked against its card.
    ``"gain"``: the U-Net's mean per-patch PSNR minus bicubic's (dB) and ``"gain_se"`` the standard error of
    that mean (the per-patch differences' standard deviation over √N).
    """
    net = rt.Model(onnx_path).predict_tiles(coarse[:, None])[:, 0]
    methods = {"bicubic (Keys)": np.stack([resample.upsample(c, SR_SCALE) for c in coarse]),
               "multi-residual U-Net": net}
    out, psnr = {}, {}
    for label, est in methods.items():
        rows = []
        for t, e in zip(truth, est):
            f = quality.figures(t, e)
            f["ssim_windowed"] = quality.ssim_windowed(t, e, f["dynamic_range"])
            rows.append(f)
        out[label] = {k: float(np.mean([r[k] for r in rows]))
                      for k in ("psnr", "ssim", "ssim_windowed", "rmse", "bias")}
        out[label]["n"] = len(rows)
        psnr[label] = np.array([r["psnr"] for r in rows])
    from .lst_study import gain_stats
    out["gain"], out["gain_se"] = gain_stats(psnr["multi-residual U-Net"], psnr["bicubic (Keys)"])
    return out


def _study_table(study, pick_label):
    """The learning-curve study (``lst_study.json``) as markdown: validation gains per run."""
    from .lst_study import recipe_score
    lines = ["| run | training scenes | training windows | ECOSTRESS day (N {d}) | ECOSTRESS night (N {n}) | "
             "MODIS (N {m}) | mean (the rule) | minutes |", "|---|---|---|---|---|---|---|---|"]
    first = study["runs"][0]["val"]
    lines[0] = lines[0].format(d=first["ecostress_day"]["n"], n=first["ecostress_night"]["n"], m=first["modis"]["n"])
    def cell(v, k):
        return f"{v[k]['gain_db']:+.2f} ± {v[k]['se_db']:.2f}"
    for r in study["runs"]:
        v = r["val"]
        mark = " **(picked)**" if r["label"] == pick_label else ""
        lines.append(f"| {r['label']}{mark} | {len(r['train_scenes'])} | {r['n_train']:,} | "
                     f"{cell(v, 'ecostress_day')} | {cell(v, 'ecostress_night')} | {cell(v, 'modis')} | "
                     f"{recipe_score(r):+.2f} | {r['seconds'] / 60:.1f} |")
    return "\n".join(lines)


def _screening_table(report):
    lines = ["| scene (2023, day of year) | part of day | split | valid land | cloud removed | cold threshold (K) |",
             "|---|---|---|---|---|---|"]
    for r in report:
        lines.append(f"| {r['doy']:03d} | {r['label'].split(' ', 1)[1]} | {r['split']} | "
                     f"{100 * r['valid_land']:.1f} % | {100 * r['clouds']:.2f} % | {r['threshold_k']:.1f} |")
    return "\n".join(lines)


def _score_rows(scores):
    rows = []
    for source, sc in scores.items():
        for m in ("bicubic (Keys)", "multi-residual U-Net"):
            v = sc[m]
            rows.append(f"| {source} | {m} | {v['n']} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['ssim_windowed']:.3f} | "
                        f"{v['rmse']:.3f} | {v['bias']:+.3f} |")
        rows.append(f"| {source} | **U-Net − bicubic** | | **{sc['gain']:+.2f} ± {sc['gain_se']:.2f}** | | | | |")
    return "\n".join(rows)


def _write_lst_card(name, onnx_path, contract, result, study):
    from . import lst_ecostress as eco
    from .lst_study import SEED
    c, t, sp = contract, contract["tiling"], result["split"]
    stages = result["stages"]
    final = stages[-1]["config"]
    chain = " → ".join(f"{s['data']}, {s['config']['loss'].upper()} loss, {s['config']['epochs']} epochs of "
                       f"{study['samples_per_epoch']} windows, lr {s['config']['lr']:g}"
                       + (" (from the previous stage's weights)" if i else "") for i, s in enumerate(stages))
    sc = result["scores"]
    day = sc.get("ECOSTRESS day")
    headline = (f"U-Net − bicubic on the held-out data: **{day['gain']:+.2f} dB** (± {day['gain_se']:.2f}, N "
                f"{day['multi-residual U-Net']['n']}) on ECOSTRESS day scenes, **{sc['ECOSTRESS night']['gain']:+.2f} "
                f"dB** (N {sc['ECOSTRESS night']['multi-residual U-Net']['n']}) at night, **{sc['MODIS']['gain']:+.2f} "
                f"dB** (N {sc['MODIS']['multi-residual U-Net']['n']}) on MODIS." if day else
                "(held-out figures: written once the model is scored)")
    norm = c["normalisation"]
    modis_use = ("" if any(st["config"]["modis"] for st in stages) else
                 " (validation and test of this model; the study's MODIS runs also trained on it)")
    text = f"""# {name} {c['version']}

Multi-residual U-Net ×{c['scale_factor']} for land-surface temperature (Nguyen et al. 2022, §III.B), run by
`sarsense:lstsuperresolution` (METHOD U-Net) through the shared runtime. {headline}

- **Status**: research (trained and tested on real data; the plugin reads this line)
- **Trained on**: real {_trained_on(stages)}
- **Where it is validated (scale)**: inputs of {VALIDATED_PIXEL_M[0]:g}–{VALIDATED_PIXEL_M[1]:g} m pixels: ECOSTRESS
  70 m degraded ×4 (280 m inputs → 70 m) and MODIS 1 km (926.6 m sinusoidal inputs → 232 m; the paper's
  protocol scores 4 km → 1 km). The contract's `validated_input_pixel_m` holds that range: `lstsuperresolution`
  logs the input's pixel size and warns outside it (e.g. Landsat's 100 m thermal band, a 30 m product, a 5 km
  climate grid): a network trained at one scale and applied at another gives results nobody has checked.
- **Architecture**: Keys bicubic ×4 inside the graph (the ILR image; a fixed 5×5 convolution and a pixel
  shuffle, the same weights as the plugin's bicubic), then a U-Net on the fine grid: input conv,
  {final['net']['levels']} encoder levels of a residual unit plus a conv block, stride-2 convolution downsampling, a
  one-residual-block bridge, 2×2 transposed-convolution upsampling with concatenated skips, a 1×1 output conv whose
  result is added to the ILR. {final['net']['base']} filters at the first level, doubling per level;
  {result['parameters']:,} parameters. No batch normalisation and a zero-initialised output layer: the untrained
  network is exactly bicubic. Receptive field {t['receptive_field']} coarse px, halo {t['halo']} px: tiled output
  equals whole-image output. Working memory {t['memory_per_pixel']} B per input pixel (measured at export), so
  tiles of {t['tile_size']} input px: the largest that fit the default 96 MiB budget.
- **Input contract**: one band, LST in K, normalised as (T − {norm['offset'][0]:g}) / {norm['scale'][0]:g}; output
  LST in K, {c['scale_factor']}× finer. Cloud gaps: `lstsuperresolution` fills them 8 px deep from their edges,
  then with `nodata_fill` ({c['nodata_fill']:g}, the training mean), and masks them again.
- **Training data** ({c['training']['data']}):
  - *ECOSTRESS*: {eco.ECOSTRESS_SOURCE}. Warped as a user would (scale applied, gdalwarp bilinear to UTM 11N,
    70 m, one common 1536 × 1024 px grid); day/night from the overpass's local solar time (day 06–18 h: 8 day and 7
    night scenes). Water (the sea, reservoirs: {100 * study['water_fraction']:.1f} % of the grid) is where the
    training scenes' median day − median night LST is below {eco.WATER_DIURNAL_K:g} K (median
    {study['diurnal_amplitude_k']['land']:.1f} K on land, {study['diurnal_amplitude_k']['water']:.1f} K on water);
    MODIS LST has no values there either. Clouds (the scenes are not cloud-masked): per scene, land colder than its
    median − {eco.CLOUD_MAD_Z:g} × 1.4826 MAD, by day also below {eco.CLOUD_DAY_K:g} K, grown by {eco.CLOUD_GROW} px:

{_indent(_screening_table(result['screening']))}

  - *MODIS*{modis_use}: MOD11A1 v006 daily LST (LST_Day_1km and LST_Night_1km, all produced pixels) of tiles
    h14v09 2019-11-01 and h11v05 2021-08-15 (resources/sample_data/modis_lst, NASA LP DAAC); the old recipe's
    spatial split (200 px blocks, seed 20261121), 64×64 windows at stride 4: {sp['modis_n']['train']} training,
    {sp['modis_n']['val']} validation, {sp['modis_n']['test']} non-overlapping test patches.
  - *Pairs*: the paper's protocol (§III.B.3): truth → Norm-L4 ×4 → the network (whose first step is bicubic back);
    64×64 land, cloud-free truth windows.
  - *Split by scene and space*: test scenes {', '.join(f'2023-{d:03d}' for d in sp['test_scenes'])} (two day,
    one night: a seeded draw, `lst_ecostress.TEST_SCENES`) never enter training or validation; the grid's 256 px
    blocks that are at least half land ({sum(sp['blocks'].values())}) are dealt {sp['blocks']['train']} training,
    {sp['blocks']['val']} validation, {sp['blocks']['test']} test; patches keep 8 px from a block's edge, so
    patches of different blocks never touch. Training: training scenes × training blocks ({sp['n']['train']:,}
    windows at stride 16); validation: training scenes × validation blocks ({sp['n']['val']} patches); test: test
    scenes × test blocks ({sp['n']['test']} patches). Nothing of the test part is used for any choice.
- **Learning-curve study** (`python -m models.training.build lst_study`, `models/training/lst_study.json`; each
  run changes one thing from the first, trains {study['samples_per_epoch']} windows per epoch in batches of
  {study['batch']}, keeps the epoch of lowest validation loss). Validation gains over bicubic (dB, mean per-patch
  PSNR difference ± its standard error), per source and part of day:

{_indent(_study_table(study, result['pick']['label']))}

  The rule, fixed before the study ran: the highest mean of the three validation gains (one model serves all
  three kinds of input). Picked: **{result['pick']['label']}**. Minutes: the run's epochs as timed on a shared
  2-core machine (the first three runs were slowed by other work and partly used two threads: the base run takes
  about 4 minutes alone). What the study says: the number of scenes is not the lever (3, 6 and 12 scenes score the
  same), nor specialising by part of day; ECOSTRESS-trained runs beat MODIS-trained ones on MODIS's own validation
  patches (two tiles are too little data); a loss matched to the score and a third level add about 0.02 dB.
- **Bundled recipe**: {chain}; dihedral augmentation, batch {study['batch']}, Adam, lr divided by 10 at 2/3 and
  5/6 of the epochs, seed {SEED}. Training took {result['seconds'] / 60:.0f} min on one CPU thread (`lst_study.THREADS`:
  the same bytes on any machine) of a {os.cpu_count()}-core machine.
- **Held-out metrics** (test scenes × test blocks for ECOSTRESS, test blocks for MODIS; per-patch figures, mean
  over N patches; PSNR with each patch's dynamic range, eq. 2; SSIM eq. 3 over the patch and windowed, 7×7
  Gaussian; RMSE and bias in K; ± the standard error of the mean gain). TsHARP and ATPRK need an NDVI co-located
  in time with the patches, which neither source has here: they are run in `make demo` on the Olinda window.

| held-out set | method | N | PSNR (dB) | SSIM eq. 3 | SSIM windowed | RMSE (K) | bias (K) |
|---|---|---|---|---|---|---|---|
{_score_rows(sc)}

  The paper (table I, 4083 validation patches of MODIS h18v04, 4 years of training data): U-Net 28.40 dB,
  bicubic 23.91 dB (+4.49 dB), ATPRK 21.59 dB; table II (against ASTER at 250 m): U-Net 19.68, ATPRK 19.66,
  bicubic 19.56 dB.
- Epoch picked on the validation blocks (lowest validation loss). onnxruntime vs torch: max |Δ| =
  {result['parity']:.1e} (normalised units).
- **Retrain**: `make models` (`python -m models.training.build lst_superresolution`; seeded, CPU). It needs the
  ECOSTRESS scenes (`$SARSENSE_ECOSTRESS`, default `../shared/data/ecostress_la_2023` beside the checkout) and
  `lst_study.json` (the study that picks the recipe; rerun it with `lst_study`, about
  {sum(r['seconds'] for r in study['runs']) / 60:.0f} min).
- **Licence**: {c['licence']}; ECOSTRESS and MODIS data: NASA LP DAAC (ECO_L2_LSTE v002, Hulley & Hook; MOD11A1
  v006, Wan, Hook & Hulley), free reuse.
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")


def _trained_on(stages):
    """What the stages trained on, in one line (the card's machine-read line and the contract's description)."""
    eco = any(s["config"]["eco_scenes"] != 0 for s in stages)
    modis = any(s["config"]["modis"] for s in stages)
    n = max(len(s["train_scenes"]) for s in stages)
    parts = ((([f"ECOSTRESS LST (Los Angeles, {n} scenes of 2023, 70 m)"]) if eco else [])
             + (["MODIS MOD11A1 LST (two tiles, 1 km)"] if modis else []))
    return " and ".join(parts)


def _indent(block):
    return "\n".join("  " + line for line in block.splitlines())
