"""The change detection + neural network hybrid (Fayad et al. 2022, "000", §2.2.3): predictors, an
ensemble of the paper's network trained with scikit-learn, and its export as a SARSense ONNX model.

The network is the paper's: three hidden layers of 20 neurons with ReLU, one linear output, mean
squared error, Adam. Inputs and target are standardised over the training samples (stored in the
model's contract, so that a map is made from values in their natural units). Several members, trained
from different random initialisations, are averaged; their standard deviation is a per-pixel spread
(an ensemble's disagreement: a lower bound of the uncertainty, not a calibrated error).

The ONNX graph holds every member, converted by skl2onnx, and averages them itself: one ``(n, 2)``
output, the mean and the spread.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

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
SSM_UNITS = "m³/m³"


def units_of(key):
    return next(p[2] for p in PREDICTORS if p[0] == key)


def find_field(key, fields):
    """The field of ``fields`` that holds predictor ``key`` (case-insensitive, its usual names), or None."""
    names = next(p[3] for p in PREDICTORS if p[0] == key) + (key.lower(),)
    lower = {f.lower(): f for f in fields}
    return next((lower[n] for n in names if n in lower), None)


@dataclass
class Ensemble:
    """Trained members and the standardisation of their inputs and target."""

    members: list
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float
    iterations: list

    def predict_all(self, x):
        """Every member's prediction (members, n) in m³/m³."""
        z = (np.asarray(x, np.float64) - self.x_mean) / self.x_scale
        return np.array([m.predict(z) for m in self.members]) * self.y_scale + self.y_mean

    def predict(self, x):
        """``(mean, spread)`` over the members, in m³/m³."""
        p = self.predict_all(x)
        return p.mean(axis=0), p.std(axis=0)


def train_ensemble(x, y, *, members=5, seed=0, max_iter=2000):
    """Train ``members`` networks of the paper's architecture on ``(x, y)`` (samples with NaN refused).

    Member ``k`` starts from ``random_state = seed + k``: the same seed gives the same networks.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

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
    y_mean, y_scale = float(y.mean()), float(y.std()) or 1.0
    z, t = (x - x_mean) / x_scale, (y - y_mean) / y_scale
    nets, iters = [], []
    for k in range(members):
        net = MLPRegressor(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=1e-4,
                           learning_rate_init=1e-3, max_iter=max_iter, random_state=seed + k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(z, t)
        nets.append(net)
        iters.append(int(net.n_iter_))
    return Ensemble(nets, x_mean, x_scale, y_mean, y_scale, iters)


def contract(ens, keys, *, name, training_data, summary, description="", version="1.0.0"):
    """The SARSense contract of an ensemble: per-pixel regression, inputs = the predictors in order."""
    from .. import onnx_runtime as rt

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
                   "scale": [ens.y_scale, ens.y_scale], "offset": [ens.y_mean, 0.0]},
        "training": {"data": training_data, "summary": summary,
                     "members": len(ens.members), "hidden_layers": list(HIDDEN)},
    }


def to_onnx(ens, path, contract_dict):
    """Write the ensemble as one ONNX graph (skl2onnx converts each member; the graph averages them) and
    attach ``contract_dict``. Returns the parsed contract."""
    import onnx
    from onnx import compose, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from .. import onnx_runtime as rt

    k = len(ens.x_mean)
    nodes, inits, outs = [], [], []
    opset = None
    for i, net in enumerate(ens.members):
        m = convert_sklearn(net, initial_types=[("x", FloatTensorType([None, k]))], target_opset=17)
        m = compose.add_prefix(m, f"m{i}_")
        opset = m.opset_import
        nodes.append(helper.make_node("Identity", ["x"], [m.graph.input[0].name]))
        nodes.extend(m.graph.node)
        inits.extend(m.graph.initializer)
        outs.append(m.graph.output[0].name)
    nodes += [helper.make_node("Concat", outs, ["members"], axis=1),
              helper.make_node("ReduceMean", ["members"], ["mean"], axes=[1], keepdims=1),
              helper.make_node("Sub", ["members", "mean"], ["dev"]),
              helper.make_node("Mul", ["dev", "dev"], ["dev2"]),
              helper.make_node("ReduceMean", ["dev2"], ["var"], axes=[1], keepdims=1),
              helper.make_node("Sqrt", ["var"], ["spread"]),
              helper.make_node("Concat", ["mean", "spread"], ["ssm"], axis=1)]
    graph = helper.make_graph(nodes, "sarsense_ssm_ensemble", [
        helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, k])], [
        helper.make_tensor_value_info("ssm", onnx.TensorProto.FLOAT, [None, 2])], initializer=inits)
    model = helper.make_model(graph, opset_imports=list(opset), producer_name="sarsense")
    model.ir_version = 8
    onnx.save(model, str(path))
    return rt.attach_contract(path, contract_dict)


def assemble(keys, columns, station, ssm, train):
    """The predictor matrix (samples, len(keys)) from sample ``columns`` (field name → array).

    A predictor is read from its field (:func:`find_field`) or, when the samples lack it, derived as the
    paper does: ``VH/VV = VH − VV`` (dB); ``ΔVV``, ``I_SSM`` and ``SSM_t`` from the station's VV series
    (000 eq. 2-3, 5-6; in-situ extremes from training samples only, see
    :func:`.calibration.index_and_ssm_t`). Returns ``(x, how)``: ``how[key]`` says where each came from.
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
            x.append(np.asarray(columns[find_field("VH", fields)], np.float64) - np.asarray(columns[vv], np.float64))
            how[key] = "VH − VV (dB)"
        elif key in ("dVV", "I_SSM", "SSM_t") and vv:
            if derived is None:
                derived = dict(zip(("dVV", "I_SSM", "SSM_t"),
                                   calibration.index_and_ssm_t(station, columns[vv], ssm, train)))
            x.append(derived[key])
            how[key] = f"from the station's VV series ('{vv}', eq. {'6' if key == 'dVV' else '2' if key == 'I_SSM' else '3'})"
        else:
            name = next(p[1] for p in PREDICTORS if p[0] == key)
            raise ValueError(f"the samples have no field for predictor {name} (tried "
                             f"{', '.join(next(p[3] for p in PREDICTORS if p[0] == key))})"
                             f"{' and no VH and VV fields to derive it' if key == 'VH/VV' else ''}"
                             f"{' and no VV field to derive it' if key in ('dVV', 'I_SSM', 'SSM_t') else ''}")
    return np.column_stack(x), how


def map_soil_moisture(model, date_inputs, dates, output, spread_output=None, *, compression=None, workers=1,
                      progress=None, is_canceled=None, budget_mb=None):
    """Soil moisture (and the ensemble spread) for every date, block by block, through the SARSense runtime.

    ``model`` is an :class:`algorithms.onnx_runtime.Model` of task ``per_pixel_regression`` returning the
    mean and the spread (:func:`to_onnx`); ``date_inputs[d]`` lists, for date ``d``, one ``(path, band)`` per
    model input, all on one grid. A pixel with a NaN predictor is NaN. ``output`` gets one band per date
    (ISO date as description, m³/m³); ``spread_output``, when given, the members' standard deviation.
    """
    from ..io import blocks as _blocks
    from ..io import raster as _raster

    c = model.contract
    n_in, n_dates = c.n_inputs, len(dates)
    if any(len(d) != n_in for d in date_inputs):
        raise ValueError(f"model '{c.name}' takes {n_in} inputs per date")
    paths = [(p, [b]) for d in date_inputs for p, b in d]

    def kernel(block):
        _, rows, cols = block.shape
        x = block.reshape(n_dates, n_in, rows * cols)
        mean = np.full((n_dates, rows * cols), np.nan, np.float32)
        spread = np.full_like(mean, np.nan)
        for k in range(n_dates):
            pix = x[k].T
            ok = np.flatnonzero(np.all(np.isfinite(pix), axis=1))
            if ok.size:
                y = model.predict_pixels(pix[ok])
                mean[k, ok] = y[:, 0]
                if y.shape[1] > 1:
                    spread[k, ok] = y[:, 1]
        mean, spread = mean.reshape(n_dates, rows, cols), spread.reshape(n_dates, rows, cols)
        return [mean, spread] if spread_output else mean

    units = [{"units": SSM_UNITS}] * n_dates
    outs = [output, spread_output] if spread_output else output
    kwargs = {} if budget_mb is None else {"budget_mb": budget_mb}
    return _blocks.run_blockwise(
        paths, outs, kernel, out_bands=[n_dates, n_dates] if spread_output else n_dates,
        descriptions=[list(dates), list(dates)] if spread_output else list(dates),
        band_metadata=[units, units] if spread_output else units,
        metadata={"SARSENSE_MODEL": c.name, "SARSENSE_MODEL_SHA256": model.sha256},
        compression=compression or _raster.DEFAULT_COMPRESSION, bytes_per_pixel=4 * (n_dates * n_in + 4 * n_dates) + 64,
        workers=workers, progress=progress, is_canceled=is_canceled, **kwargs)
