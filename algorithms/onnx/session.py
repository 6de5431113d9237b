"""A model loaded for inference: contract, graph checks and an onnxruntime session (imported lazily, on first use,
so that the plugin loads, and its other algorithms run, in a QGIS whose Python lacks it)."""

from __future__ import annotations

import os

import numpy as np

from ..io import raster as _raster
from ..io.engine.counts import Counts
from .cards import read_card, verify_hash
from .contract import CONTRACT_KEY, UNITS_DB, UNITS_LINEAR, ModelError, _static, check_graph, parse_contract

DEVICES = ("auto", "cpu")
#: Pixels per network call in :meth:`Model.predict_pixels`. Measured on the bundled soil-moisture ensemble
#: (5 × three hidden layers of 20, 1 thread): 0.35 s per million pixels in calls of 4 096–65 536 pixels,
#: 0.59 s in one call of a million; a call's buffers grow with its pixels (calls of 131 072 pixels raised
#: annmoisture's peak memory by 80 MB).
PIXEL_CHUNK = 16384
#: Pixels per call of the feature-major graph (:meth:`Model.predict_features`): its hidden layers, (units, pixels),
#: stay in the core's cache. Measured on the bundled ensemble, 1 thread, CPU s per million pixels (best of 3):
#: 0.209 in calls of 2 048, 0.201 of 4 096, 0.196 of 8 192, 0.195 of 16 384, 0.208 of 32 768.
FEATURE_CHUNK = 8192
#: Share of a run's outputs at valid input pixels that may be NaN or ±inf before the model is refused as giving
#: nothing usable ("nearly all"); below it they are masked (NaN), counted, logged and recorded with the output.
NONFINITE_REFUSE = 0.99
#: Outputs a run must have made before that share is judged (one 64×64 tile); the engine's empty-result rule
#: refuses a smaller output that holds no valid pixel.
NONFINITE_MIN_OUTPUTS = 4096


# --------------------------------------------------------------------------------------------
# onnxruntime
# --------------------------------------------------------------------------------------------
def _session_setup(ort, threads, device):
    """onnxruntime's session options and providers for a run (``threads`` intra-op threads, 0: one per core)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # No per-shape memory plans: with the last batch of a tile row smaller than the others,
    # each batch size got its own plan (measured +3 MiB per shape on a small net). The arena
    # stays on: without it glibc's per-thread heaps fragmented (+70 MiB on the same run).
    options.enable_mem_pattern = False
    providers = ["CPUExecutionProvider"]
    if device == "auto" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return options, providers


def import_onnxruntime():
    """Import onnxruntime, or raise :class:`ModelError` saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ModelError("onnxruntime is not installed in QGIS's Python. Install it from the SARSense plugin "
                         "menu (Plugins ▸ SARSense ▸ Install missing Python packages…; no restart needed) or run "
                         "'make setup'") from None
    return onnxruntime


class Model:
    """An ONNX model with a checked contract and one onnxruntime session (reused for a whole run).

    Parameters
    ----------
    path : str
        The ``.onnx`` file.
    threads : int
        onnxruntime intra-op threads; 0 lets onnxruntime choose (one per core).
    device : {'auto', 'cpu'}
        'auto' uses the CUDA provider when onnxruntime-gpu provides it, else the CPU.
    """

    def __init__(self, path, *, threads=0, device="auto"):
        path = str(path)
        if not os.path.isfile(path):
            raise ModelError(f"model file '{path}' does not exist")
        if device not in DEVICES:
            raise ModelError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        if threads < 0:
            raise ModelError(f"threads must be >= 0 (0: one per core), got {threads}")
        self.path = path
        self.sha256 = verify_hash(path)
        #: The card's machine-readable fields (:class:`~.cards.Card`: status, what it was trained on).
        self.card = read_card(path)
        self.threads, self.device = int(threads), device
        ort = import_onnxruntime()
        options, providers = _session_setup(ort, self.threads, device)
        try:
            self.session = ort.InferenceSession(path, options, providers=providers)
        except Exception as err:  # onnxruntime raises its own exception types for unreadable graphs
            raise ModelError(f"'{os.path.basename(path)}' is not a model onnxruntime can load: "
                             f"{str(err).strip()[:300]}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONTRACT_KEY not in meta:
            raise ModelError(f"'{os.path.basename(path)}' has no SARSense contract (metadata_props key "
                             f"'{CONTRACT_KEY}'); add one as models/README.md explains")
        ins, outs = self.session.get_inputs(), self.session.get_outputs()
        graph_channels = _static(ins[0].shape[1]) if len(ins) == 1 and len(ins[0].shape) >= 2 else None
        self.contract = parse_contract(meta[CONTRACT_KEY], graph_channels=graph_channels)
        self.provider = self.session.get_providers()[0]
        self.input_name = ins[0].name
        self.fixed_batch, self.fixed_size = check_graph(
            self.contract, [(i.type, i.shape) for i in ins], [(o.type, o.shape) for o in outs],
            name=os.path.basename(path))
        self._tally = Counts("outputs", "nonfinite")
        self._fm_graph = None
        #: The per-pixel graph rewritten feature-major (:mod:`.feature_major`), or None: :meth:`predict_features`
        #: then transposes and runs the graph as it is.
        self.feature_major = None if self.contract.spatial or self.fixed_batch else \
            self._feature_major_session(ort, options, providers)

    def _feature_major_session(self, ort, options, providers):
        """A session of the graph rewritten feature-major, kept only where it gives the original's values (within
        float32 rounding) on a probe of pixels around the training data; None where the rewrite does not apply,
        or ``onnx`` (which skl2onnx brings) is missing."""
        try:
            import onnx
        except ImportError:
            return None
        from . import feature_major as fm

        c = self.contract
        graph = fm.feature_major(onnx.load(self.path), offset=c.norm_offset, scale=c.norm_scale,
                                 out_scale=c.output_scale, out_offset=c.output_offset)
        if graph is None:
            return None
        x = fm.probe(c.norm_offset, c.norm_scale)
        try:
            session = ort.InferenceSession(graph.SerializeToString(), options, providers=providers)
            got = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(x.T)})[0].T
            want = self.to_values(np.asarray(self._run(self.normalise(x.copy(), 1)), np.float32), 1)
        except Exception:  # onnxruntime's own exception types: the original graph then runs
            return None
        if not fm.agrees(want, got):
            return None
        self._fm_graph = graph.SerializeToString()
        return session

    # A model travels to a cluster's workers (:mod:`..io.engine.cluster`) as its file's bytes (the worker needs no
    # access to the model file) and its contract; the worker makes its own sessions (and needs onnxruntime). Its
    # counts of non-finite outputs come back with each task (:class:`~..io.engine.counts.Counts`).
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("session", "feature_major")}
        with open(self.path, "rb") as fh:
            state["_onnx"] = fh.read()
        return state

    def __setstate__(self, state):
        graph = state.pop("_onnx")
        self.__dict__.update(state)
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError(f"the Dask worker that runs model '{self.contract.name}' has no onnxruntime: install it "
                             "there (pip install onnxruntime==1.31.1; docs/distributed.md)") from None
        options, providers = _session_setup(ort, self.threads, self.device)
        self.session = ort.InferenceSession(graph, options, providers=providers)
        self.feature_major = None if self._fm_graph is None else \
            ort.InferenceSession(self._fm_graph, options, providers=providers)

    # -- non-finite outputs --------------------------------------------------------------------
    def reset_counts(self):
        """Start counting outputs afresh (:attr:`outputs`, :attr:`nonfinite`): at the start of each run."""
        self._tally.reset()

    @property
    def outputs(self):
        """Output values made at valid input pixels since :meth:`reset_counts`."""
        return self._tally["outputs"]

    @property
    def nonfinite(self):
        """How many of :attr:`outputs` were NaN or ±inf (masked to NaN)."""
        return self._tally["nonfinite"]

    def _screen(self, y, valid):
        """Mask the non-finite values of ``y`` (NaN), count those at ``valid`` input pixels (a mask that
        broadcasts to ``y``), and refuse the model when nearly all its outputs so far are non-finite."""
        bad = ~np.isfinite(y)
        n_bad = int(np.count_nonzero(bad & valid))
        n = int(np.count_nonzero(np.broadcast_to(valid, y.shape)))
        if n_bad:
            y[bad] = np.nan
        self._tally.add(outputs=n, nonfinite=n_bad)
        if self.outputs >= NONFINITE_MIN_OUTPUTS and self.nonfinite >= NONFINITE_REFUSE * self.outputs:
            c = self.contract
            raise ModelError(
                f"model '{c.name}' ({os.path.basename(self.path)}) returned NaN or ±inf for {self.nonfinite} of "
                f"{self.outputs} output values at valid input pixels: it gives nothing usable, and nothing was "
                "written. The model is broken, or the input is far from what it was made for: check the input's "
                f"units and the contract's normalisation (offset {list(c.norm_offset)}, scale {list(c.norm_scale)})")
        return y

    def nonfinite_text(self):
        """What the log and the output's metadata say of the masked non-finite outputs, or '' when none."""
        if not self.nonfinite:
            return ""
        return (f"model '{self.contract.name}' returned NaN or ±inf for {self.nonfinite} of {self.outputs} output "
                "values at valid input pixels; they are written as NaN (nodata)")

    def check_units(self, path, label="INPUT"):
        """Refuse input bands whose values contradict the units the contract gives them (dB vs linear).

        Only channels whose units are dB or linear power are checked (:data:`UNITS_DB`,
        :data:`UNITS_LINEAR`), also for values no σ⁰ in those units has (:func:`sar.implausible_backscatter`),
        each on a decimated sample of its own band (the bands sampled together, each block read once).
        """
        from .. import sar

        checks = []
        for band, (name, units) in enumerate(self.contract.channels, start=1):
            expected = "db" if units.lower() in UNITS_DB else "linear" if units.lower() in UNITS_LINEAR else None
            if expected is not None:
                checks.append((band, name, units, expected))
        if not checks:
            return
        samples = _raster.sample_values(path, band=[c[0] for c in checks], max_side=256)
        for (band, name, units, expected), sample in zip(checks, samples):
            why = sar.implausible_backscatter(sample, expected)
            if why:
                raise ModelError(f"{label} band {band} ({name}) holds values no σ⁰ in {units} has ({why}): it looks "
                                 f"like digital numbers (DN) or amplitude, not what model '{self.contract.name}' "
                                 "expects. Calibrate it first with 'Import Sentinel-1' or your processor's σ⁰ "
                                 "calibration")
            found = sar.guess_units(sample)
            if found in ("unknown", expected):
                continue
            have = "dB" if found == "db" else "linear power"
            raise ModelError(f"{label} band {band} ({name}) looks like {have} (values {sar.describe_range(sample)}) "
                             f"but model '{self.contract.name}' expects {units}: convert it with 'Convert SAR units' "
                             "first, or choose a model made for these units")

    def check_input(self, band_count, label="INPUT"):
        """Refuse an input whose band count is not the model's channel count."""
        c = self.contract
        if band_count != c.n_inputs:
            wanted = ", ".join(f"{n} ({u})" if u else n for n, u in c.channels)
            raise ModelError(f"model '{c.name}' needs {c.n_inputs} input band(s) in this order: {wanted}; "
                             f"{label} has {band_count}. Build a stack with the right bands first "
                             "(sarsense:buildstack)")

    # -- running -----------------------------------------------------------------------------
    def normalise(self, x, axis):
        """Network input from values in the contract's units: ``(x - offset) / scale``, nodata filled."""
        c = self.contract
        shape = [1] * x.ndim
        shape[axis] = c.n_inputs
        off = np.asarray(c.norm_offset, np.float32).reshape(shape)
        sc = np.asarray(c.norm_scale, np.float32).reshape(shape)
        x = (x - off) / sc
        x[~np.isfinite(x)] = c.nodata_fill
        return x.astype(np.float32, copy=False)

    def to_values(self, y, axis):
        """Turn raw network outputs into the contract's values (scaled units, or class probabilities)."""
        c = self.contract
        if c.task == "segmentation":
            if c.activation == "softmax":
                y = y - y.max(axis=axis, keepdims=True)
                np.exp(y, out=y)
                y /= y.sum(axis=axis, keepdims=True)
            return y
        shape = [1] * y.ndim
        shape[axis] = c.n_outputs
        return y * np.asarray(c.output_scale, np.float32).reshape(shape) + \
            np.asarray(c.output_offset, np.float32).reshape(shape)

    def _run(self, x):
        """Run the session on a batch, one piece at a time if the graph has a fixed batch size."""
        n = x.shape[0]
        step = self.fixed_batch or n
        parts = []
        for i in range(0, n, step):
            part = x[i:i + step]
            if self.fixed_batch and part.shape[0] < step:  # pad the last piece to the fixed batch
                part = np.concatenate([part, np.repeat(part[-1:], step - part.shape[0], axis=0)])
            try:
                y = self.session.run(None, {self.input_name: np.ascontiguousarray(part)})[0]
            except Exception as err:  # onnxruntime's own exception types (Fail, InvalidArgument, …)
                raise ModelError(f"model '{self.contract.name}' failed on a batch of shape {part.shape}: "
                                 f"{str(err).strip()[:300]}. Check its tile size and size multiple "
                                 "against the contract") from None
            parts.append(y[:min(step, n - i)])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def predict_tiles(self, tiles):
        """``(n, channels, rows, cols)`` float32 with NaN nodata → contract values ``(n, outputs, R, C)``; values
        that come out NaN or ±inf are NaN and counted where the input was valid (:meth:`_screen`)."""
        tiles = np.array(tiles, np.float32)
        valid = np.all(np.isfinite(tiles), axis=1)
        y = self.to_values(np.asarray(self._run(self.normalise(tiles, 1)), np.float32), 1)
        fy, fx = y.shape[2] // max(1, valid.shape[1]), y.shape[3] // max(1, valid.shape[2])
        if (fy, fx) != (1, 1):      # a super-resolution model: each input pixel's flag over its output pixels
            valid = valid.repeat(fy, axis=1).repeat(fx, axis=2)
        return self._screen(y, valid[:, np.newaxis])

    def predict_pixels(self, features):
        """``(n, channels)`` float32 with NaN nodata → contract values ``(n, outputs)`` (NaN or ±inf: NaN, counted,
        :meth:`_screen`).

        The pixels go to the network :data:`PIXEL_CHUNK` at a time: onnxruntime's buffers (every hidden
        layer of every pixel of a call) stay small, and the calls are no slower.
        """
        features = np.asarray(features)
        parts = [self.to_values(np.asarray(self._run(self.normalise(np.array(features[i:i + PIXEL_CHUNK], np.float32),
                                                                    1)), np.float32), 1)
                 for i in range(0, max(1, len(features)), PIXEL_CHUNK)]
        y = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self._screen(y, np.all(np.isfinite(features), axis=1)[:, np.newaxis])

    def predict_features(self, features):
        """``(channels, n)`` float32, every value finite → contract values ``(outputs, n)`` (NaN or ±inf: NaN,
        counted, :meth:`_screen`): :meth:`predict_pixels` feature-major.

        With the graph rewritten feature-major (:attr:`feature_major`), the normalisation, the network and the
        output scaling run in it, :data:`FEATURE_CHUNK` pixels per call (the same values within float32
        rounding, 1.4–1.7× faster on the bundled soil-moisture ensemble, bench section 8); otherwise the pixels
        are transposed for :meth:`predict_pixels`. The caller leaves out pixels with a non-finite value (the
        network's nodata fill is not applied here).
        """
        features = np.asarray(features, np.float32)
        if self.feature_major is None:
            return self.predict_pixels(features.T).T
        n = features.shape[1]
        out = np.empty((self.contract.n_outputs, n), np.float32)
        name = self.feature_major.get_inputs()[0].name
        for i in range(0, n, FEATURE_CHUNK):
            part = np.ascontiguousarray(features[:, i:i + FEATURE_CHUNK])
            try:
                out[:, i:i + part.shape[1]] = self.feature_major.run(None, {name: part})[0]
            except Exception as err:  # onnxruntime's own exception types
                raise ModelError(f"model '{self.contract.name}' failed on {part.shape[1]} pixels: "
                                 f"{str(err).strip()[:300]}") from None
        return self._screen(out, np.True_)

    def describe(self):
        """A short text for logs: name, version, task, status, what it was trained on, channels, tiling,
        provider, sha256."""
        c = self.contract
        chans = ", ".join(f"{n} [{u}]" if u else n for n, u in c.channels)
        status = f"{self.card.status} model, " if self.card.status else ""
        trained = self.card.trained_on or c.training_data
        text = (f"{c.name} {c.version} ({status}{c.task}); trained on: {trained or 'not stated'}; inputs: {chans}; "
                f"provider {self.provider}{', evaluated feature-major' if self.feature_major is not None else ''}; "
                f"sha256 {self.sha256}")
        if c.spatial:
            text += f"; contract tiling: tile {c.tile_size}, halo {c.halo}, receptive field {c.receptive_field}"
        return text

    def scale_notice(self, info):
        """(log line, warning) on the input grid ``info``'s pixel size against the contract's validated range.

        The line gives the pixel size in metres (:func:`io.raster.pixel_size_text`) and the range; the warning
        ('' inside the range, or when the contract gives none) says that a network trained at one scale and
        applied at another gives results nobody has checked."""
        line = _raster.pixel_size_text(info)
        lo_hi = self.contract.validated_pixel_m
        if not lo_hi:
            return line, ""
        line += f" (the model was validated on inputs of {lo_hi[0]:g}–{lo_hi[1]:g} m)"
        size = _raster.pixel_size_m(info)
        if size is None:
            return line, f"the input has no CRS, so whether {self.contract.name} suits its scale cannot be checked."
        mean = (size[0] * size[1]) ** 0.5
        if lo_hi[0] <= mean <= lo_hi[1]:
            return line, ""
        return line, (f"the input's pixels ({mean:.0f} m) are outside the {lo_hi[0]:g}–{lo_hi[1]:g} m on which "
                      f"{self.contract.name} was validated (its card says where): a network trained at one scale and "
                      "applied at another gives results nobody has checked; compare it with bicubic, or with TsHARP "
                      "or ATPRK from a fine NDVI, before relying on it.")

    def demonstration_notice(self):
        """What a run of a demonstration model must say (log and report), or '' for any other model."""
        if not self.card.demonstration:
            return ""
        return (f"{self.contract.name} is a DEMONSTRATION model (its card, {os.path.basename(self.card.path)}, says "
                f"so): trained on {self.card.trained_on}. Its outputs show the method, not a map to rely on, and are "
                "labelled 'demonstration' (layer name, legend title, report); for real use give a model trained on "
                "real data.")


# --------------------------------------------------------------------------------------------
# Applying a model to a raster
# --------------------------------------------------------------------------------------------
