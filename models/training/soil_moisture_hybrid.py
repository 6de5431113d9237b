"""Recipe of the bundled ``soil_moisture_hybrid`` (``python -m models.training.build soil_moisture_hybrid``): the
CD + ANN ensemble on simulated backscatter over the real Raam stations."""

import tempfile
import time
from pathlib import Path

import numpy as np

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.soil_moisture import hybrid
from sarsense.algorithms.soil_moisture import series as ssm_series

from .paths import MODELS, REPO

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
#: The network's output bound (m³/m³): the suite's porosity, the upper bound every SSM output of the plugin takes
#: by default (algorithms/soil_moisture/series.py, DEFAULT_POROSITY; mineral soils 0.35-0.55, Dobson et al. 1985).
SSM_POROSITY = ssm_series.DEFAULT_POROSITY
#: The real Sentinel-1 VV series the card's plausibility section compares the simulated backscatter with (shipped
#: in resources/sample_data, see its ATTRIBUTION.md): the Bolivian 22-date stack and the Camargue scene.
REAL_VV = {"Bolivia (22 dates, 30 m, forest and clearings)": "s1_vv_stack_bolivia/*-s1vv.tif",
           "Camargue (1 date, 20 m, Rhône delta)": "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"}


def _ssm_simulator():
    from sarsense.simulators import soil_moisture_s1

    return soil_moisture_s1


SSM_SEED = 20261121


def simulated_samples(seed=SSM_SEED):
    """The simulated station samples of the recipe and its training mask for a split ``by`` station or at random:
    ``(samples, {by: mask})``."""
    s = _ssm_simulator().station_samples(variants=SSM_VARIANTS, seed=seed)
    have = np.isfinite(s["ssm_insitu"])
    return s, {by: hybrid.split_training(s["site"] if by == "station" else s["station"], have, by=by,
                                         fraction=SSM_TRAIN_FRACTION, seed=seed) for by in ("station", "random")}


def build_soil_moisture_hybrid(*, seed=SSM_SEED, workdir=None, log=print, **_):
    """Train the bundled CD + ANN hybrid on simulated backscatter over the real Raam series; score it on whole
    Raam stations held out, beside classic and corrected change detection; export; card."""
    sim = _ssm_simulator()
    name = "soil_moisture_hybrid"
    started = time.perf_counter()
    s, splits = simulated_samples(seed)
    columns = {k: s[k] for k in ("VV", "VH", "NDVI", "theta")}
    keys = list(hybrid.BEST_SET)
    runs = {}
    for by, train in splits.items():
        runs[by] = hybrid.fit_and_score(keys, columns, s["station"], s["ssm_insitu"], train, members=SSM_MEMBERS,
                                        seed=seed, porosity=SSM_POROSITY)
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
            raise RuntimeError(f"onnxruntime differs from the numpy network by {parity:.2e} m³/m³")
        onnx_path.write_bytes(staged.read_bytes())
    seconds = time.perf_counter() - started
    rows = plausibility_rows(s, splits["station"])
    main["y_train"] = s["ssm_insitu"][main["train"]]
    _write_ssm_card(name, onnx_path, contract, runs, held, trained, parity, sim, seed, seconds, rows)
    return {by: {m: r[m] for m in SSM_PAPER} for by, r in runs.items()}


# --------------------------------------------------------------------------------------------
# Plausibility: the simulated backscatter against real Sentinel-1 VV series
# --------------------------------------------------------------------------------------------
def _read_db(path):
    """A dB raster's first band as float64, NaN where nodata or not finite."""
    from osgeo import gdal

    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    a = band.ReadAsArray().astype(np.float64)
    nd = band.GetNoDataValue()
    bad = ~np.isfinite(a) | (np.abs(a) > 1e30) | ((a == nd) if nd is not None else False)
    a[bad] = np.nan
    return a.ravel()


def real_series():
    """``{label: (dates, pixels) VV in dB}`` of the shipped real series (:data:`REAL_VV`), NaN where nodata."""
    root = REPO / "resources" / "sample_data"
    return {label: np.stack([_read_db(f) for f in sorted(root.glob(pattern))]) for label, pattern in REAL_VV.items()}


def _simulated_series(s, mask):
    """The simulated VV (dB) of the ``mask`` samples as (dates, fields), NaN where a field has no sample."""
    fields, f_idx = np.unique(s["station"][mask], return_inverse=True)
    dates, d_idx = np.unique(s["date"][mask], return_inverse=True)
    out = np.full((dates.size, fields.size), np.nan)
    out[d_idx, f_idx] = s["VV"][mask]
    return out


def vv_statistics(vv, *, window):
    """Statistics of VV series ``vv`` (dates, series) in dB, NaN missing: ``n`` pixel-dates, ``series`` (those with
    at least ``window`` valid dates, for the temporal figures), ``dates`` (median valid dates per series), the
    level (5th, 50th, 95th percentile of every value), ``sd`` (standard deviation of every value: spatial and
    temporal), ``t_sd`` (median over series of each series' temporal standard deviation) and ``dyn``/``dyn90`` (the
    median and 90th percentile over series of max − min over ``window`` consecutive valid dates, averaged over a
    series' windows: the same length of record for every source). Temporal figures are NaN for a single date."""
    v = vv[np.isfinite(vv)]
    ok = np.isfinite(vv)
    count = ok.sum(axis=0)
    use = count >= max(window, 2)
    dyn, t_sd = [], []
    for j in np.flatnonzero(use):
        x = vv[ok[:, j], j]
        t_sd.append(x.std())
        w = np.lib.stride_tricks.sliding_window_view(x, window)
        dyn.append(float(np.mean(w.max(axis=1) - w.min(axis=1))))
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    nan = float("nan")
    return {"n": int(v.size), "series": int(use.sum()), "dates": float(np.median(count[count > 0])),
            "p5": p5, "p50": p50, "p95": p95, "sd": float(v.std()),
            "t_sd": float(np.median(t_sd)) if t_sd else nan, "dyn": float(np.median(dyn)) if dyn else nan,
            "dyn90": float(np.percentile(dyn, 90)) if dyn else nan}


def plausibility_rows(s, train):
    """``(rows, window, gaps)``: ``rows`` = ``[(label, statistics, VH/VV percentiles or None)]`` of the simulated
    training backscatter and the real series, the temporal figures over ``window`` consecutive dates (as many as
    the real time series has); ``gaps`` says what of the Bolivian stack holds no data."""
    real = real_series()
    window = int(min(np.median(np.isfinite(v).sum(axis=0)[np.isfinite(v).sum(axis=0) > 0]) for v in real.values()
                     if v.shape[0] > 1))
    ratio = (s["VH"] - s["VV"])[train]
    rows = [("simulated training samples (this model)", vv_statistics(_simulated_series(s, train), window=window),
             tuple(np.percentile(ratio, [5, 50, 95])))]
    rows += [(label, vv_statistics(v, window=window), None) for label, v in real.items()]
    bolivia = next(v for v in real.values() if v.shape[0] > 1)
    have = np.isfinite(bolivia)
    import datetime as dt

    from sarsense.simulators import soil_moisture_s1 as sim

    names = sorted((REPO / "resources" / "sample_data").glob(next(p for p in REAL_VV.values() if "*" in p)))
    days = [dt.date.fromisoformat(f.name[:10]) for f, ok in zip(names, have.any(axis=1)) if ok]
    gaps = (f"{int((~have.any(axis=1)).sum())} of its {bolivia.shape[0]} dates and {(~have.any(axis=0)).mean():.0%} "
            f"of its pixels without data; its {len(days)} valid dates span {(days[-1] - days[0]).days} days against a "
            f"simulated field's {window} dates over {(window - 1) * sim.REPEAT_DAYS} days")
    return rows, window, gaps


def _fmt(v, spec="+.1f"):
    return "—" if not np.isfinite(v) else format(v, spec)


def plausibility_table(rows):
    """The card's table of :func:`plausibility_rows` (the test compares it with the shipped data)."""
    lines = ["| backscatter | pixel-dates | series | dates per series | VV median (5–95 %), dB | VV SD, dB | "
             "temporal SD per whole series (median), dB | dynamic range over the window (median; 90 %), dB | "
             "VH/VV median (5–95 %), dB |", "|---|---|---|---|---|---|---|---|---|"]
    for label, st, ratio in rows:
        vhvv = (f"{ratio[1]:+.1f} ({ratio[0]:+.1f} … {ratio[2]:+.1f})" if ratio is not None
                else "— (VV only)")
        lines.append(f"| {label} | {st['n']} | {st['series']} | {st['dates']:.0f} | {st['p50']:+.1f} "
                     f"({st['p5']:+.1f} … {st['p95']:+.1f}) | {st['sd']:.1f} | {_fmt(st['t_sd'], '.2f')} | "
                     f"{_fmt(st['dyn'], '.1f')}; {_fmt(st['dyn90'], '.1f')} | {vhvv} |")
    return "\n".join(lines)


def _plausibility_text(rows, window):
    """What matches and what does not, worded from the numbers."""
    sim = rows[0][1]
    out = []
    for label, st, _ in rows[1:]:
        place = label.split(" (")[0]
        inside = sim["p5"] <= st["p50"] <= sim["p95"]
        words = [f"{place}: the median VV ({st['p50']:+.1f} dB) is {'inside' if inside else 'outside'} the "
                 f"simulated 5–95 % range ({sim['p5']:+.1f} … {sim['p95']:+.1f} dB), "
                 f"{abs(st['p50'] - sim['p50']):.1f} dB {'above' if st['p50'] > sim['p50'] else 'below'} the "
                 f"simulated median; the spread of all values is {st['sd'] / sim['sd']:.2f}× the simulated one"]
        real_lo, real_hi = st["p5"], st["p95"]
        beyond = " and ".join(w for w, b in (("below", real_lo < sim["p5"]), ("above", real_hi > sim["p95"])) if b)
        if beyond:
            words.append(f"its 5–95 % range ({real_lo:+.1f} … {real_hi:+.1f} dB) reaches {beyond} the simulated one")
        if np.isfinite(st["dyn"]):
            words.append(f"over {window} consecutive dates a pixel's VV moves by {st['dyn']:.1f} dB (median) against "
                         f"{sim['dyn']:.1f} dB for a simulated field ({st['dyn'] / sim['dyn']:.2f}×), its temporal SD "
                         f"is {st['t_sd']:.2f} against {sim['t_sd']:.2f} dB")
        else:
            words.append("one date: no temporal figure")
        out.append("  - " + "; ".join(words) + ".")
    return "\n".join(out)


def _write_ssm_card(name, onnx_path, contract, runs, held, trained, parity, sim, seed, seconds, plaus):
    main = runs["station"]
    rows_p, window, gaps = plaus
    y = main["ens"].porosity
    n_above = int(np.count_nonzero(main["y_train"] > y))
    above = (f"{n_above} of the {main['y_train'].size} training targets lie above it (Raam readings up to "
             f"{main['y_train'].max():.3f} m³/m³): the network stays below the bound there." if n_above else
             f"no training target lies above it (the largest: {main['y_train'].max():.3f} m³/m³).")
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
  20 ReLU neurons, mean squared error, Adam, an ensemble of {contract['training']['members']} members (seeds \
{seed}…{seed + contract['training']['members'] - 1}). **Output bounded in the network**: the
  paper's linear output is replaced by porosity·σ(u) (a scaled logistic function of the last layer), so every
  member and their mean stay in [0, {SSM_POROSITY:g}] m³/m³ whatever the predictors (their standard deviation in
  [0, {SSM_POROSITY / 2:g}])
  (`algorithms/soil_moisture/network.py`, numpy, the same code `sarsense:trainannmoisture` trains with). The
  porosity is the suite's default bound of every soil-moisture output, {SSM_POROSITY:g} m³/m³
  (`algorithms/soil_moisture/series.py`, DEFAULT_POROSITY; mineral soils 0.35–0.55, Dobson et al. 1985), recorded
  in the contract (`output.range` [0, {SSM_POROSITY:g}], `training.porosity`); \
{above} The graph returns the members' mean and standard deviation (the spread
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
- onnxruntime vs the numpy network on the held-out samples: max |Δ| = {parity:.1e} m³/m³.
- **Plausibility of the simulated backscatter** (`python -m models.training.build soil_moisture_hybrid` computes it;
  `tests/training/test_soil_moisture_card.py` checks this table against the shipped data). The simulated training
  samples against the real Sentinel-1 VV in `resources/sample_data` (ATTRIBUTION.md: the pybayts Bolivian stack,
  {gaps}, and the pyroSAR Camargue scene). Temporal figures
  over {window} consecutive valid dates (the Bolivian series' length), averaged over a simulated field's windows.

{plausibility_table(rows_p)}

{_plausibility_text(rows_p, window)}
  - Not comparable here: VH/VV (both real series are VV only), incidence (no angle raster ships with them) and
    NDVI. Neither real site is a field on the mineral soils of the Raam catchment the simulator stands for
    (forest and clearings in the wet season; a delta of wetlands, lagoons and fields): the comparison bounds the
    simulator's level and dynamics, it does not validate the model on real data.
- **Retrain**: `make models` (`python -m models.training.build soil_moisture_hybrid`; seeded, numpy on the CPU: both
  splits' ensembles and the card took {5 * round(seconds / 5):.0f} s on two cores).
  On real data: `sarsense:extractstations` (station samples with VV, VH, NDVI, incidence, in situ) →
  `sarsense:trainannmoisture`.
- **Licence**: {contract['licence']}. Simulator inputs: Raam network data (Benninga et al. 2018, ESSD 10:61-79) and
  MODIS MOD13A1 NDVI (MODIStsp test data, GPL-3.0; NASA LP DAAC), see resources/sample_data/ATTRIBUTION.md.
- **sha256**: `{rt.file_sha256(onnx_path)}`
"""
    (MODELS / f"{name}.md").write_text(text, encoding="utf-8")

