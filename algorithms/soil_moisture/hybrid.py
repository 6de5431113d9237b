"""The change detection + neural network hybrid (Fayad et al. 2022, §2.2.3): predictors, an ensemble of
the paper's network with its output bounded to [0, porosity] (:mod:`.network`), and its export as a SARSense
ONNX model.

The network is the paper's: three hidden layers of 20 neurons with ReLU, mean squared error, Adam; its
output is bounded to [0, porosity] by construction (``porosity·σ(u)`` instead of the paper's linear output,
:mod:`.network`, issue #31). Inputs are standardised over the training samples (stored in the model's
contract, so that a map is made from values in their natural units). Several members, trained from
different random initialisations, are averaged; their standard deviation is a per-pixel spread (an
ensemble's disagreement: a lower bound of the uncertainty, not a calibrated error).

The ONNX graph holds every member and averages them itself: one ``(n, 2)`` output, the mean and the spread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import sar
from ..io import RunOptions
from ..io.engine import Counts
from . import network, terrain
from . import series as _series

#: Predictors of the paper (§2.2.3): key, display name, units, the field names they are found under.
PREDICTORS = (
    ("VV", "VV", "dB", ("vv", "sigma0_vv", "s0_vv")),
    ("VH", "VH", "dB", ("vh", "sigma0_vh", "s0_vh")),
    ("theta", "θ", "degrees", ("theta", "θ", "incidence", "inc", "angle", "incidence_angle")),
    ("NDVI", "NDVI", "", ("ndvi",)),
    ("VH/VV", "VH/VV", "dB", ("vh/vv", "vh_vv", "vhvv", "ratio", "cr")),
    ("dVV", "ΔVV", "dB", ("dvv", "δvv", "delta_vv", "Δvv")),
    ("I_SSM", "I_SSM", "", ("i_ssm", "issm", "index", "cd_index")),
    ("SSM_t", "SSM_t", "m³/m³", ("ssm_t", "ssmt", "ssm_cd")),
)
KEYS = tuple(p[0] for p in PREDICTORS)
#: The paper's best set (i): VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t (§3.2, RMSE 0.062 m³/m³).
BEST_SET = ("VV", "NDVI", "theta", "dVV", "I_SSM", "VH/VV", "SSM_t")
HIDDEN = (20, 20, 20)
#: A predictor further than this many training standard deviations from its training mean is beyond the
#: training data (4 SD: outside 99.99 % of a normal sample): the map is made, those pixel-dates are counted.
OUTSIDE_SD = 4.0
SSM_UNITS = "m³/m³"


def units_of(key: str) -> str:
    return next(p[2] for p in PREDICTORS if p[0] == key)


def _names(key):
    return next(p[3] for p in PREDICTORS if p[0] == key) + (key.lower(),)


def _token_keys(field):
    """The predictors a field name points at through its words ('S1_VV_db' → VV; 'VH_VV_2016' → VH/VV)."""
    tokens = set(re.split(r"[^0-9a-zθδ]+", field.lower())) - {""}
    keys = {k for k in KEYS if k not in ("VV", "VH", "VH/VV") and tokens & {n for n in _names(k) if "_" not in n}}
    pol = tokens & {"vv", "vh"}
    if pol == {"vv", "vh"} or tokens & {"ratio", "cr", "vhvv"}:
        keys.add("VH/VV")
    elif pol:
        keys.add(pol.pop().upper())
    return keys


def find_field(key: str, fields: Iterable[str]) -> str | None:
    """The field of ``fields`` that holds predictor ``key``, or None: a field named as one of its usual names
    (case-insensitive), else the only field whose words name it and nothing else ('S1_VV_db', 'NDVI_2016')."""
    names = _names(key)
    lower = {f.lower(): f for f in fields}
    exact = next((lower[n] for n in names if n in lower), None)
    if exact is not None:
        return exact
    hits = [f for f in fields if _token_keys(f) == {key}]
    return hits[0] if len(hits) == 1 else None


def predictor_key(name: str) -> str | None:
    """The predictor a raster or channel name stands for (VV, θ/theta/incidence, NDVI …), or None."""
    by_display = {p[1]: p[0] for p in PREDICTORS}
    if name in by_display:
        return by_display[name]
    return next((k for k in KEYS if find_field(k, [str(name)])), None)


@dataclass
class Ensemble:
    """Trained members and the standardisation of their inputs and target."""

    members: list
    x_mean: np.ndarray
    x_scale: np.ndarray
    porosity: float
    iterations: list

    def predict_all(self, x):
        """Every member's prediction (members, n) in m³/m³, each in [0, porosity]."""
        z = (np.asarray(x, np.float64) - self.x_mean) / self.x_scale
        return np.array([m.predict(z) for m in self.members])

    def predict(self, x):
        """``(mean, spread)`` over the members, in m³/m³."""
        p = self.predict_all(x)
        return p.mean(axis=0), p.std(axis=0)


def train_ensemble(x: ArrayLike, y: ArrayLike, *, members: int = 5, seed: int = 0, max_iter: int = 2000,
                   porosity: float = _series.DEFAULT_POROSITY) -> Ensemble:
    """Train ``members`` networks of the paper's architecture on ``(x, y)`` (samples with NaN refused), their
    output bounded to [0, ``porosity``] (:mod:`.network`).

    Member ``k`` starts from seed ``seed + k``: the same seed gives the same networks.
    """
    _series.check_porosity(porosity)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).ravel()
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError(f"need one target per sample: {x.shape} predictors and {y.size} targets")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("training samples must be complete (no NaN)")
    if y.size <= x.shape[1]:
        raise ValueError(f"{y.size} training samples for {x.shape[1]} predictors: a network needs many more samples "
                         "than predictors. Add stations or dates, or choose fewer predictors")
    if members < 1:
        raise ValueError(f"the ensemble needs at least one member, got {members}")
    x_mean, x_scale = x.mean(axis=0), x.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    z = (x - x_mean) / x_scale
    nets, iters = [], []
    for k in range(members):
        net, epochs = network.train_bounded(z, y, hidden=HIDDEN, porosity=porosity, seed=seed + k, max_iter=max_iter)
        nets.append(net)
        iters.append(epochs)
    return Ensemble(nets, x_mean, x_scale, float(porosity), iters)


def contract(ens: Ensemble, keys: Sequence[str], *, name: str, training_data: str, summary: str, description: str = "",
             version: str = "1.0.0") -> dict:
    """The SARSense contract of an ensemble: per-pixel regression, inputs = the predictors in order."""
    from .. import onnx as rt

    names = {p[0]: p[1] for p in PREDICTORS}
    return {
        "format": rt.CONTRACT_FORMAT, "format_version": rt.CONTRACT_VERSION,
        "name": name, "version": version, "licence": "GPL-3.0-or-later",
        "description": description or ("Surface soil moisture by the change detection + neural network hybrid of "
                                        "Fayad et al. (2022): an ensemble of 3×20 ReLU networks."),
        "task": "per_pixel_regression",
        "inputs": [{"name": names[k], "units": units_of(k)} for k in keys],
        "normalisation": {"method": "offset_scale", "offset": [float(v) for v in ens.x_mean],
                          "scale": [float(v) for v in ens.x_scale]},
        "nodata_fill": 0.0,
        "output": {"names": ["soil moisture", "soil moisture spread"], "units": SSM_UNITS,
                   "range": [0.0, ens.porosity]},
        "training": {"data": training_data, "summary": summary, "members": len(ens.members),
                     "hidden_layers": list(HIDDEN), "output_layer": f"{ens.porosity:g}·sigmoid",
                     "porosity": ens.porosity},
    }


def to_onnx(ens: Ensemble, path: str, contract_dict: dict):
    """Write the ensemble as one ONNX graph (every member, :func:`.network.onnx_nodes`; the graph averages them and
    scales the mean and spread of σ(u) by the porosity) and attach ``contract_dict``. Returns the parsed contract."""
    import onnx
    from onnx import helper, numpy_helper

    from .. import onnx as rt

    k = len(ens.x_mean)
    nodes, inits, outs = [], [], []
    for i, net in enumerate(ens.members):
        n, w, out = network.onnx_nodes(net, "x", f"m{i}_")
        nodes += n
        inits += w
        outs.append(out)
    nodes += [helper.make_node("Concat", outs, ["members"], axis=1),
              helper.make_node("ReduceMean", ["members"], ["mean"], axes=[1], keepdims=1),
              helper.make_node("Sub", ["members", "mean"], ["dev"]),
              helper.make_node("Mul", ["dev", "dev"], ["dev2"]),
              helper.make_node("ReduceMean", ["dev2"], ["var"], axes=[1], keepdims=1),
              helper.make_node("Sqrt", ["var"], ["spread"]),
              helper.make_node("Concat", ["mean", "spread"], ["share"], axis=1),
              helper.make_node("Mul", ["share", "porosity"], ["ssm"])]
    inits.append(numpy_helper.from_array(np.array(ens.porosity, np.float32), "porosity"))
    graph = helper.make_graph(nodes, "sarsense_ssm_ensemble", [
        helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, k])], [
        helper.make_tensor_value_info("ssm", onnx.TensorProto.FLOAT, [None, 2])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sarsense")
    model.ir_version = 8
    onnx.save(model, str(path))
    return rt.attach_contract(path, contract_dict)


def assemble(keys: Sequence[str], columns: dict, station: ArrayLike, ssm: ArrayLike,
             train: ArrayLike, series: ArrayLike | None = None) -> tuple[np.ndarray, dict]:
    """The predictor matrix (samples, len(keys)) from sample ``columns`` (field name → array).

    A predictor is read from its field (:func:`find_field`) or, when the samples lack it, derived as the
    paper does: ``VH/VV = VH − VV`` (dB); ``ΔVV``, ``I_SSM`` and ``SSM_t`` from the station's VV series
    (Fayad et al. 2022, eq. 2-3, 5-6; in-situ extremes from training samples only, see
    :func:`.calibration.index_and_ssm_t`; radar references per ``series``, station and orbit, where given).
    Returns ``(x, how)``: ``how[key]`` says where each came from.
    Raises ``ValueError`` naming a predictor that can be neither read nor derived.
    """
    from . import calibration

    fields = list(columns)
    x, how = [], {}
    derived = None
    for key in keys:
        f = find_field(key, fields)
        if f is not None:
            x.append(np.asarray(columns[f], np.float64))
            how[key] = f"field '{f}'"
            continue
        vv = find_field("VV", fields)
        if key == "VH/VV" and vv and find_field("VH", fields):
            x.append(sar.cross_ratio_db(np.asarray(columns[find_field("VH", fields)], np.float64),
                                        np.asarray(columns[vv], np.float64)))
            how[key] = "VH − VV (dB)"
        elif key in ("dVV", "I_SSM", "SSM_t") and vv:
            if derived is None:
                derived = dict(zip(("dVV", "I_SSM", "SSM_t"),
                                   calibration.index_and_ssm_t(station, columns[vv], ssm, train,
                                                               series=series)))
            x.append(derived[key])
            how[key] = (f"from the station's VV series ('{vv}', "
                        f"eq. {'6' if key == 'dVV' else '2' if key == 'I_SSM' else '3'})")
        else:
            name = next(p[1] for p in PREDICTORS if p[0] == key)
            raise ValueError(f"the samples have no field for predictor {name} (tried "
                             f"{', '.join(next(p[3] for p in PREDICTORS if p[0] == key))})"
                             f"{' and no VH and VV fields to derive it' if key == 'VH/VV' else ''}"
                             f"{' and no VV field to derive it' if key in ('dVV', 'I_SSM', 'SSM_t') else ''}"
                             f"{f'. {THETA_FIELD_HINT}; or leave θ out of the predictors' if key == 'theta' else ''}")
    return np.column_stack(x), how


#: What to do when the samples (or the predictor rasters) have no incidence angle θ (issue #29, datacubes).
THETA_FIELD_HINT = (f"{terrain.NO_INCIDENCE_HINT}. Extract that band at the stations ('Extract raster values at "
                    "stations'), or add a field 'theta' holding the site's angle")


SPLITS = ("station", "random")


def split_training(groups: ArrayLike, have: ArrayLike, *, by: str = "station", fraction: float = 0.7,
                   seed: int = 0) -> np.ndarray:
    """Boolean mask of the training samples among those with a target (``have``); the rest is held out.

    ``by="station"`` keeps each group of ``groups`` (a station, or the real station behind simulated ones)
    whole on one side; ``"random"`` draws samples (the paper's split, which lets a station's own series leak
    into its test set).
    """
    from .. import metrics

    return metrics.split_among(have, groups if by == "station" else None, fraction=fraction, seed=seed)


def fit_and_score(keys: Sequence[str], columns: dict, station: ArrayLike, ssm: ArrayLike, train: ArrayLike, *,
                  members: int = 5, seed: int = 0, max_iter: int = 2000, series: ArrayLike | None = None,
                  porosity: float = _series.DEFAULT_POROSITY) -> dict:
    """Train the hybrid on the ``train`` samples and score it on the rest, beside both change detections.

    All three methods see the same information: in-situ values of training samples only (a station held out
    whole takes the training samples' extremes). Returns a dict: ``ens`` (the :class:`Ensemble`), ``train``
    and ``test`` (masks of the complete samples used), ``est``/``spread`` per sample, ``how`` (where each
    predictor came from), and held-out :func:`metrics.continuous_scores` under ``hybrid``, ``classic``
    (eq. 2-3) and, where VV and NDVI are at hand and α, β can be fitted, ``corrected`` (eq. 7 fitted on the
    training samples, with its ``alpha`` and ``beta``). Raises ``ValueError`` when there are too few complete
    training samples. The network's output is bounded to [0, ``porosity``] (:func:`train_ensemble`).
    """
    from .. import metrics
    from . import calibration

    ssm = np.asarray(ssm, np.float64)
    have = np.isfinite(ssm)
    x, how = assemble(keys, columns, station, ssm, train, series)
    ok = np.all(np.isfinite(x), axis=1) & have
    tr, te = ok & train, ok & ~train
    if tr.sum() <= len(keys):
        raise ValueError(f"{int(tr.sum())} complete training samples for {len(keys)} predictors: the network needs "
                         "many more samples than predictors. Add stations or dates, or choose fewer predictors")
    ens = train_ensemble(x[tr], ssm[tr], members=members, seed=seed, max_iter=max_iter, porosity=porosity)
    est, spread = np.full(ssm.size, np.nan), np.full(ssm.size, np.nan)
    est[ok], spread[ok] = ens.predict(x[ok])
    classic = (x[:, keys.index("SSM_t")] if "SSM_t" in keys
               else assemble(["SSM_t"], columns, station, ssm, train, series)[0][:, 0])
    out = {"ens": ens, "train": tr, "test": te, "est": est, "spread": spread, "how": how, "x": x,
           "hybrid": metrics.continuous_scores(est[te], ssm[te]),
           "classic": metrics.continuous_scores(classic[te], ssm[te])}
    vv, nd = find_field("VV", columns), find_field("NDVI", columns)
    if vv and nd:
        v1 = np.asarray(columns[nd], np.float64)
        dvv, dssm, ssm_min = calibration.deltas(station, columns[vv], ssm, train, pooled_fallback=True,
                                                series=series)
        try:
            alpha, beta, _ = calibration.fit_alpha_beta(dvv[tr], dssm[tr], v1[tr])
        except ValueError:      # NDVI constant or no moisture change: the comparison is left out, not the training
            return out
        corr = calibration.corrected_cd(dvv, v1, ssm_min, alpha, beta)
        out.update(corrected=metrics.continuous_scores(corr[te], ssm[te]), alpha=alpha, beta=beta)
    return out


def _masks(x, low, high):
    """Per pixel of ``x`` (predictors, pixels): every predictor finite, some finite, some outside
    ``[low, high]`` (one bound per predictor); row by row, without a (predictors, pixels) temporary."""
    ok = np.isfinite(x[0])
    some, far = ok.copy(), (x[0] < low[0]) | (x[0] > high[0])
    for i in range(1, x.shape[0]):
        finite = np.isfinite(x[i])
        ok &= finite
        some |= finite
        far |= x[i] < low[i]
        far |= x[i] > high[i]
    return ok, some, far


def map_soil_moisture(model, date_inputs: Sequence[Sequence[tuple[str, int]]], dates: Sequence[str], output: str,
                      spread_output: str | None = None, *, series: _series.SeriesOptions | None = None,
                      options: RunOptions | None = None) -> dict:
    """Soil moisture (and the ensemble spread) for every date, block by block, through the SARSense runtime.

    ``model`` is an :class:`algorithms.onnx.Model` of task ``per_pixel_regression`` returning the
    mean and the spread (:func:`to_onnx`); ``date_inputs[d]`` lists, for date ``d``, one ``(path, band)`` per
    model input, all on one grid. A pixel with a NaN predictor is NaN. ``output`` gets one band per date
    (ISO date as description, m³/m³); ``spread_output``, when given, the members' standard deviation.
    ``series``: a :class:`~.series.SeriesOptions` whose ``frozen`` screen (:mod:`.frozen`) makes frozen pixel-dates
    NaN (counted as ``frozen``, flagged in its flag stack) and whose ``porosity`` bounds the map.
    ``options``: budget, workers (blocks at once), compression, progress and cancel. Returns the engine's
    dict (``blocks``, ``infinite``) with ``below_range``/``above_range``: means the network put below 0 or
    above ``series.porosity`` (:func:`~.series.clip_ssm`), clipped to it (the spread is left as the members gave
    it); ``clipped`` (their sum); ``no_input`` (pixel-dates NaN because some, not all, predictors are NaN: no NDVI,
    no ΔVV …) and ``outside`` (pixel-dates mapped with a predictor more than :data:`OUTSIDE_SD` standard deviations
    from its training mean, the contract's normalisation: beyond the training data, kept but flagged).
    """
    porosity = (series or _series.SeriesOptions()).porosity
    _series.check_porosity(porosity)
    from ..io import engine as _engine
    from . import frozen

    c = model.contract
    n_in, n_dates = c.n_inputs, len(dates)
    if any(len(d) != n_in for d in date_inputs):
        raise ValueError(f"model '{c.name}' takes {n_in} inputs per date")
    # one read per file with all its bands (a pixel-interleaved stack's tiles decoded once per block), then
    # the bands put back in (date, input) order
    files, where = {}, []
    for d in date_inputs:
        for p, b in d:
            bands = files.setdefault(p, [])
            if b not in bands:
                bands.append(b)
            where.append((list(files).index(p), bands.index(b)))
    paths = list(files.items())
    offsets = np.cumsum([0] + [len(b) for b in files.values()])
    order = np.array([offsets[f] + k for f, k in where])

    fz = series.frozen if series is not None else None
    counts = Counts("below_range", "above_range", "no_input", "outside", *(("frozen",) if fz is not None else ()))
    n_fz = fz.n_extra if fz is not None else 0
    off = np.asarray(c.norm_offset, np.float32)
    sd = np.abs(np.asarray(c.norm_scale, np.float32))
    low, high = off - OUTSIDE_SD * sd, off + OUTSIDE_SD * sd      # the training data's range, per predictor
    in_order = np.array_equal(order, np.arange(order.size))     # one file per input, read in order: no copy

    def kernel(block):
        # feature-major throughout: each predictor a row of the block's pixels, as read; the network takes them so
        # (Model.predict_features), without a transpose
        _, rows, cols = block.shape
        x = (block[:order.size] if in_order else block[order]).reshape(n_dates, n_in, rows * cols)
        mean = np.full((n_dates, rows * cols), np.nan, np.float32)
        spread = np.full_like(mean, np.nan)
        for k in range(n_dates):
            xk = x[k]
            ok, some, far = _masks(xk, low, high)
            n_ok = int(np.count_nonzero(ok))
            counts.add(no_input=int(np.count_nonzero(some)) - n_ok, outside=int(np.count_nonzero(far & ok)))
            if n_ok == ok.size:
                y = model.predict_features(xk)
                mean[k] = y[0]
                if y.shape[0] > 1:
                    spread[k] = y[1]
            elif n_ok:
                idx = np.flatnonzero(ok)
                y = model.predict_features(xk[:, idx])      # the complete pixels only
                mean[k, idx] = y[0]
                if y.shape[0] > 1:
                    spread[k, idx] = y[1]
        mean, spread = mean.reshape(n_dates, rows, cols), spread.reshape(n_dates, rows, cols)
        flags = fz.block_flags(block[block.shape[0] - n_fz:], mean.shape) if fz is not None else None
        if flags is not None:
            counts.add(frozen=frozen.screen(mean, flags))
            spread[flags == frozen.FROZEN] = np.nan
        below, above = _series.clip_ssm(mean, porosity)
        counts.add(below_range=below, above_range=above)
        return [mean] + ([spread] if spread_output else []) + ([flags] if fz is not None and fz.output else [])

    units = [{"QUANTITY": "surface soil moisture", "units": SSM_UNITS}] * n_dates
    labels = [model.card.label(d) for d in dates]
    outs = [output] + ([spread_output] if spread_output else [])
    f_outs, f_types, f_desc, f_meta = frozen.job_outputs(fz, dates)
    # working bytes per pixel: the block read (all bands of every file), the (date, input) copy, the
    # pixels handed to the network with their standardised copy, and the two results; the engine wants
    # them per pixel and band of max(bands read, bands written)
    n_read, n_out = int(offsets[-1]), n_dates * (2 if spread_output else 1)
    per_pixel = 4 * (n_read + 3 * n_dates * n_in + 2 * n_dates) + 16 * n_in
    bands = max(n_read, n_out)
    res = _engine.run_blockwise(
        paths + (fz.inputs() if fz is not None else []), outs + f_outs, kernel,
        out_bands=[n_dates] * (len(outs) + len(f_outs)), out_dtype=[np.float32] * len(outs) + f_types,
        # each band's date, followed by "(demonstration model)" where the model card says so (QGIS's legend title)
        descriptions=[labels] * len(outs) + f_desc, band_metadata=[units] * len(outs) + f_meta,
        metadata={"SARSENSE_MODEL": c.name, "SARSENSE_MODEL_SHA256": model.sha256, **model.card.metadata(),
                  **frozen.job_metadata(fz)},
        bytes_per_pixel=-(-per_pixel // bands), options=options)
    _series.write_clip_metadata(output, counts.values, porosity)
    return {**res, **counts.values, "clipped": _series.clipped(counts.values)}
