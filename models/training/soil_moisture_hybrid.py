"""Recipe of the bundled ``soil_moisture_hybrid`` (``python -m models.training.build soil_moisture_hybrid``): the
CD + ANN ensemble on simulated backscatter over the real Raam stations."""

import tempfile
from pathlib import Path

import numpy as np

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.soil_moisture import hybrid

from .paths import MODELS

# --------------------------------------------------------------------------------------------
# Recipe: soil_moisture_hybrid
# --------------------------------------------------------------------------------------------
SSM_VARIANTS = 12          # simulated fields per Raam station
SSM_MEMBERS = 5
SSM_TRAIN_FRACTION = 0.7
#: The paper's held-out RMSE (Fayad et al. 2022, §3.1-3.2, ISMN stations, random 70/30 split), m³/m³.
SSM_PAPER = {"classic": 0.074, "corrected": 0.068, "hybrid": 0.062}
SSM_LABELS = {"classic": "classic CD (eq. 2-3)", "corrected": "corrected CD (eq. 7, NDVI)",
              "hybrid": "CD + ANN hybrid, set (i)"}


def _ssm_simulator():
    from sarsense.simulators import soil_moisture_s1

    return soil_moisture_s1


def build_soil_moisture_hybrid(*, seed=20261121, workdir=None, log=print, **_):
    """Train the bundled CD + ANN hybrid on simulated backscatter over the real Raam series; score it on whole
    Raam stations held out, beside classic and corrected change detection; export; card."""
    sim = _ssm_simulator()
    name = "soil_moisture_hybrid"
    s = sim.station_samples(variants=SSM_VARIANTS, seed=seed)
    columns = {k: s[k] for k in ("VV", "VH", "NDVI", "theta")}
    keys = list(hybrid.BEST_SET)
    have = np.isfinite(s["ssm_insitu"])
    runs = {}
    for by in ("station", "random"):
        groups = s["site"] if by == "station" else s["station"]
        train = hybrid.split_training(groups, have, by=by, fraction=SSM_TRAIN_FRACTION, seed=seed)
        runs[by] = hybrid.fit_and_score(keys, columns, s["station"], s["ssm_insitu"], train, members=SSM_MEMBERS,
                                        seed=seed)
        log(f"{name}, split by {by}: " + ", ".join(f"{m} RMSE {runs[by][m]['rmse']:.4f}" for m in SSM_PAPER))
    main = runs["station"]
    held = sorted(set(s["site"][main["test"]]))
    trained = sorted(set(s["site"][main["train"]]))
    data = (f"simulated Sentinel-1 VV/VH only (simulators/soil_moisture_s1.py: Oh 2004 soil under the Water "
            f"Cloud Model, speckle ENL {sim.ENL:g}), driven by the real Raam in-situ daily series (Benninga et al. "
            f"2018) and real MODIS MOD13A1 NDVI of 2016; {SSM_VARIANTS} simulated fields per Raam station, "
            f"acquisitions every {sim.REPEAT_DAYS} days {sim.FIRST} … {sim.LAST}")
    summary = (f"{int(main['train'].sum())} samples of {len(trained)} Raam stations; {len(held)} whole stations held "
               f"out ({', '.join(held)}); seed {seed}")
    contract = hybrid.contract(main["ens"], keys, name=name, training_data=data, summary=summary,
                               description="Surface soil moisture by the change detection + neural network hybrid of "
                                           "Fayad et al. (2022), trained on SIMULATED backscatter; retrain on real "
                                           "station samples with sarsense:trainannmoisture.")
    onnx_path = MODELS / f"{name}.onnx"
    with tempfile.TemporaryDirectory() as tmp:     # checked as a user model (no card yet), then bundled
        staged = Path(tmp) / onnx_path.name
        hybrid.to_onnx(main["ens"], staged, contract)
        x = main["x"][main["test"]]
        got = rt.Model(staged).predict_pixels(x.astype(np.float32))
        mean, spread = main["ens"].predict(x)
        parity = float(max(np.abs(got[:, 0] - mean).max(), np.abs(got[:, 1] - spread).max()))
        if parity > 1e-5:
            raise RuntimeError(f"onnxruntime differs from scikit-learn by {parity:.2e} m³/m³")
        onnx_path.write_bytes(staged.read_bytes())
    _write_ssm_card(name, onnx_path, contract, runs, held, trained, parity, sim, seed)
    return {by: {m: r[m] for m in SSM_PAPER} for by, r in runs.items()}


def _write_ssm_card(name, onnx_path, contract, runs, held, trained, parity, sim, seed):
    main = runs["station"]
    rows = "\n".join(f"| {SSM_LABELS[m]} | {main[m]['n']} | {main[m]['rmse']:.4f} | {main[m]['ubrmse']:.4f} | "
                     f"{main[m]['r']:.3f} | {main[m]['bias']:+.4f} | {runs['random'][m]['rmse']:.4f} | "
                     f"{SSM_PAPER[m]:.3f} |"
                     for m in SSM_PAPER)
    names = ", ".join(f"{i['name']} ({i['units'] or 'unitless'})" for i in contract["inputs"])
    ranges = ", ".join(f"{k} {lo:g}–{hi:g}" for k, (lo, hi) in sim.RANGES.items())
    text = f"""# {name} {contract['version']}

**Trained on simulated backscatter.** The figures below are simulation-based: they measure how well the method
recovers soil moisture from backscatter computed by a physical model driven by real in-situ and NDVI series,
not its skill on real Sentinel-1 data. No real Sentinel-1 series co-located with in-situ soil moisture was at
hand. Retrain on your own station samples with `sarsense:trainannmoisture` (extract them with
`sarsense:extractstations`) before relying on the maps.

- **Status**: demonstration (the plugin reads it: its outputs say so in layer name, legend and report)
- **Trained on**: simulated Sentinel-1 backscatter (simulators/soil_moisture_s1.py), no real Sentinel-1
- **Architecture**: the change detection + neural network hybrid of Fayad et al. (2022, §2.2.3): three hidden layers of
  20 ReLU neurons, one linear output, mean squared error, Adam (scikit-learn `MLPRegressor`), an ensemble of
  {contract['training']['members']} members (random states {seed}…{seed + contract['training']['members'] - 1}); \
the graph (skl2onnx per member, merged) returns the members' mean and standard deviation (the spread
  `sarsense:annmoisture` writes as OUTPUT_SPREAD).
- **Input contract** (the paper's best set (i), in this order): {names}; standardised with the training mean and
  standard deviation stored in the contract. ΔVV, I_SSM and SSM_t as `sarsense:changedetection` maps them (ΔVV =
  σVV − min σVV over the series, eq. 6; I_SSM eq. 2; SSM_t eq. 3 with the SSM bounds). Output: soil moisture and
  its spread, m³/m³.
- **Training data**: {contract['training']['data']}. Per field, uniform: {ranges} (A, B per unit LAI; the Water
  Cloud ranges are assumptions stated in the simulator, not fitted values). {contract['training']['summary']}.
- **Held-out metrics** (simulation-based): whole Raam stations held out ({', '.join(held)}; all their simulated
  fields), trained on {', '.join(trained)}. In-situ extremes (classic CD, SSM_t, corrected CD's SSM_min) come from
  training samples only, so a held-out station takes the training stations' pooled extremes. α and β of the
  corrected CD (eq. 7) are fitted on the training samples: α = {main['alpha']:.3g}, β = {main['beta']:.3g}.
  {'β < 0 here: the sensitivity fitted by eq. 7 grows with NDVI although the simulated soil term is damped by the '
   'canopy, because the canopy term itself rises with NDVI and ΔVV folds that rise into ΔSSM (the Raam soils are '
   'driest when the canopy peaks).' if main['beta'] < 0 else ''}

| method | N held out | RMSE | ubRMSE | R | bias | RMSE, random split | paper RMSE |
|---|---|---|---|---|---|---|---|
{rows}

  The paper's figures (ISMN stations worldwide, real Sentinel-1, random 70/30 split) are given for scale, not as
  a like-for-like comparison. The random split (samples drawn at random, the paper's protocol) lets days of a
  test field's own series into training and flatters every method.
- onnxruntime vs scikit-learn on the held-out samples: max |Δ| = {parity:.1e} m³/m³.
- **Retrain**: `make models` (`python -m models.training.build soil_moisture_hybrid`; seeded, CPU, about a minute).
  On real data: `sarsense:extractstations` (station samples with VV, VH, NDVI, incidence, in situ) →
  `sarsense:trainannmoisture`.
- **Licence**: {contract['licence']}. Simulator inputs: Raam network data (Benninga et al. 2018, ESSD 10:61-79) and
  MODIS MOD13A1 NDVI (MODIStsp test data, GPL-3.0; NASA LP DAAC), see resources/sample_data/ATTRIBUTION.md.
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")
