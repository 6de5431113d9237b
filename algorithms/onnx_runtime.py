"""SARSense model runtime: the model contract, its checks, and tiled inference with onnxruntime.

A SARSense model is one ``.onnx`` file. Its ``metadata_props`` hold, under the
key ``sarsense``, a JSON *contract* (models/README.md documents every field)
that says what the network expects and returns: task, input channels with
units, normalisation, output meaning and units, class names and colours,
tile size and halo, training data, version and licence. The runtime reads
that contract, checks it against itself and against the graph, refuses
anything missing or contradictory, and never executes anything taken from
metadata: the contract only selects among fixed, enumerated behaviours.

onnxruntime is imported lazily, on first use, so that the plugin loads (and
its other algorithms run) in a QGIS whose Python lacks it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import blocks as _blocks
from .io import raster as _raster
from .io import tiles as _tiles

#: Key of the contract in the ONNX model's ``metadata_props``.
CONTRACT_KEY = "sarsense"
CONTRACT_FORMAT = "sarsense-model"
CONTRACT_VERSION = 1
#: Tasks the runtime knows. ``per_pixel_regression``: one pixel's channels → values (an MLP, no spatial
#: context); ``image_regression``: image → image of values; ``segmentation``: image → class scores,
#: written as class values; ``super_resolution``: image → image ``scale_factor`` times finer.
TASKS = ("per_pixel_regression", "image_regression", "segmentation", "super_resolution")
#: Names of format version 1 contracts written before the clearer names; still read, as these tasks.
TASK_ALIASES = {"regression": "per_pixel_regression", "pixel_regression": "image_regression"}
SPATIAL_TASKS = ("image_regression", "segmentation", "super_resolution")
#: Input units the runtime can check against the data (lower case): the rest are not checked.
UNITS_DB = ("db", "decibel", "decibels")
UNITS_LINEAR = ("linear", "linear power", "power", "intensity", "m2/m2", "m²/m²")
ACTIVATIONS = ("none", "softmax")
NORMALISATIONS = ("offset_scale", "min_max")
#: Bundled models live here, each with its card ``<name>.md`` giving its sha256.
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEVICES = ("auto", "cpu")
#: Pixels per network call in :meth:`Model.predict_pixels`. Measured on the bundled soil-moisture ensemble
#: (5 × three hidden layers of 20, 1 thread): 0.35 s per million pixels in calls of 4 096–65 536 pixels,
#: 0.59 s in one call of a million; a call's buffers grow with its pixels (calls of 131 072 pixels raised
#: annmoisture's peak memory by 80 MB).
PIXEL_CHUNK = 16384
#: Network working memory per tile pixel assumed when a contract does not give ``tiling.memory_per_pixel``
#: (bytes: 64 float32 feature maps alive at once).
DEFAULT_MEMORY_PER_PIXEL = 256
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHA_LINE = re.compile(r"sha256\W{0,6}([0-9a-f]{64})", re.IGNORECASE)


class ModelError(ValueError):
    """A model that cannot be used as given; the message says what is wrong and what to do."""


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelClass:
    """One class of a segmentation model: the pixel value written, its name and colour (#rrggbb), and
    optionally the quantity it stands for (a sea-ice class's concentration in %), which makes the
    probability-weighted expectation over the classes meaningful."""

    value: int
    name: str
    color: str
    quantity: float = None


@dataclass(frozen=True)
class Contract:
    """The validated description of a SARSense model (see models/README.md for the JSON)."""

    name: str
    version: str
    licence: str
    task: str
    channels: tuple            # (name, units) per input channel
    norm_offset: tuple         # x_net = (x - offset) / scale, per channel
    norm_scale: tuple
    nodata_fill: float         # value the network sees at nodata pixels (after normalisation)
    output_names: tuple
    output_units: str
    output_scale: tuple        # value = raw * scale + offset, per output band
    output_offset: tuple
    activation: str
    classes: tuple = ()
    tile_size: int = 0
    halo: int = 0
    memory_per_pixel: int = DEFAULT_MEMORY_PER_PIXEL
    receptive_field: int = 1
    size_multiple: int = 1
    scale_factor: int = 1
    training_data: str = ""
    description: str = ""
    expectation: tuple = ()    # (name, units) of Σ p_k · quantity_k, when every class has a quantity

    @property
    def n_inputs(self):
        return len(self.channels)

    @property
    def n_outputs(self):
        """Channels the network returns: one per class for segmentation, else one per output band."""
        return len(self.classes) if self.task == "segmentation" else len(self.output_names)

    @property
    def spatial(self):
        return self.task in SPATIAL_TASKS


def _num_list(value, n, what, problems, *, nonzero=False, per="input"):
    """A tuple of ``n`` finite numbers from a number or a list, or None; problems are appended, not raised."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * n
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        problems.append(f"{what} must be a finite number or a list of finite numbers, got {value!r}")
        return None
    if len(value) != n:
        problems.append(f"{what} has {len(value)} value(s) but there {'is' if n == 1 else 'are'} {n} {per}(s): "
                        f"give one per {per}, or a single number for all")
        return None
    if nonzero and any(v == 0 for v in value):
        problems.append(f"{what} must not contain 0, got {value!r}")
        return None
    return tuple(float(v) for v in value)


def _int(obj, key, problems, *, minimum, default=None, where="tiling"):
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        problems.append(f"{where}.{key} must be an integer >= {minimum}, got {value!r}")
        return minimum
    return value


def parse_contract(text, *, graph_channels=None):
    """Parse and validate a contract JSON text; raise :class:`ModelError` listing every problem found.

    ``graph_channels`` (the graph's fixed input channel count, when known) lets a contract that
    lists another number of inputs be reported as that, first, rather than through its consequences.
    Old task names (:data:`TASK_ALIASES`) are read as the tasks they stand for.
    """
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ModelError(f"the model's '{CONTRACT_KEY}' metadata is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise ModelError(f"the model's '{CONTRACT_KEY}' metadata must be a JSON object")
    problems = []
    if raw.get("format") != CONTRACT_FORMAT or raw.get("format_version") != CONTRACT_VERSION:
        problems.append(f"format must be '{CONTRACT_FORMAT}' version {CONTRACT_VERSION}, got "
                        f"{raw.get('format')!r} version {raw.get('format_version')!r}")
    for key in ("name", "version", "licence"):
        if not isinstance(raw.get(key), str) or not raw.get(key).strip():
            problems.append(f"'{key}' must be a non-empty text")
    task = raw.get("task")
    task = TASK_ALIASES.get(task, task) if isinstance(task, str) else task
    if task not in TASKS:
        problems.append(f"task must be one of {', '.join(TASKS)}, got {raw.get('task')!r}")

    inputs = raw.get("inputs")
    channels = ()
    if not isinstance(inputs, list) or not inputs or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"] and isinstance(c.get("units"), str)
            for c in inputs):
        problems.append("inputs must be a non-empty list of {\"name\": ..., \"units\": ...} (one per channel)")
    else:
        channels = tuple((c["name"], c["units"]) for c in inputs)
        if graph_channels and len(channels) != graph_channels:
            problems.insert(0, f"the contract lists {len(channels)} inputs ({', '.join(n for n, _ in channels)}) but "
                               f"the graph takes {graph_channels} channel(s): list exactly one input per channel")
    n_in = max(1, len(channels))

    norm = raw.get("normalisation")
    offset, scale = (0.0,) * n_in, (1.0,) * n_in
    if not isinstance(norm, dict) or norm.get("method") not in NORMALISATIONS:
        problems.append(f"normalisation.method must be one of {', '.join(NORMALISATIONS)}")
    elif norm["method"] == "offset_scale":
        offset = _num_list(norm.get("offset"), n_in, "normalisation.offset", problems) or offset
        scale = _num_list(norm.get("scale"), n_in, "normalisation.scale", problems, nonzero=True) or scale
    else:
        lo = _num_list(norm.get("min"), n_in, "normalisation.min", problems)
        hi = _num_list(norm.get("max"), n_in, "normalisation.max", problems)
        rng = _num_list(norm.get("range", [0.0, 1.0]), 2, "normalisation.range", problems, per="bound")
        bad = [i for i, (a, b) in enumerate(zip(lo, hi)) if a >= b] if lo and hi else []
        if bad:
            problems.append("normalisation: min must be below max for every input; not for "
                            + ", ".join(f"input {i + 1} ({lo[i]:g} ≥ {hi[i]:g})" for i in bad))
        if rng and rng[0] >= rng[1]:
            problems.append(f"normalisation.range[0] must be below range[1], got {list(rng)}")
        if lo and hi and rng and not bad and rng[0] < rng[1]:
            # x_net = r0 + (x - min) / (max - min) * (r1 - r0)  ==  (x - offset) / scale
            scale = tuple((b - a) / (rng[1] - rng[0]) for a, b in zip(lo, hi))
            offset = tuple(a - rng[0] * s for a, s in zip(lo, scale))
    fill = raw.get("nodata_fill", 0.0)
    if not isinstance(fill, (int, float)) or isinstance(fill, bool) or not math.isfinite(fill):
        problems.append(f"nodata_fill must be a finite number, got {fill!r}")
        fill = 0.0

    out = raw.get("output")
    names, units, oscale, ooffset, activation, classes, expectation = (), "", (1.0,), (0.0,), "none", (), ()
    if not isinstance(out, dict):
        problems.append("output must be an object describing what the model returns")
    else:
        activation = out.get("activation", "none")
        if activation not in ACTIVATIONS:
            problems.append(f"output.activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        units = out.get("units", "")
        if not isinstance(units, str):
            problems.append("output.units must be a text")
            units = ""
        if task == "segmentation":
            classes = _parse_classes(raw.get("classes"), problems)
            names = ("class",)
            expectation = _parse_expectation(out.get("expectation"), classes, activation, problems)
        else:
            names = out.get("names")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                problems.append("output.names must be a non-empty list of band names")
                names = ("output",)
            names = tuple(names)
            oscale = _num_list(out.get("scale", 1.0), len(names), "output.scale", problems, nonzero=True,
                               per="output name") or (1.0,) * len(names)
            ooffset = _num_list(out.get("offset", 0.0), len(names), "output.offset", problems,
                                per="output name") or (0.0,) * len(names)
            if activation != "none":
                problems.append(f"output.activation '{activation}' is only for segmentation models")
            if raw.get("classes"):
                problems.append(f"classes are given but the task is {task!r}, not segmentation")
            if out.get("expectation") is not None:
                problems.append(f"output.expectation is only for segmentation models (task is {task!r})")

    tiling = raw.get("tiling") if isinstance(raw.get("tiling"), dict) else {}
    tile = halo = 0
    rf, multiple, factor, memory = 1, 1, 1, DEFAULT_MEMORY_PER_PIXEL
    if task in SPATIAL_TASKS:
        if not tiling:
            problems.append("tiling must give tile_size, halo and receptive_field for an image model")
        tile = _int(tiling, "tile_size", problems, minimum=8)
        halo = _int(tiling, "halo", problems, minimum=0)
        rf = _int(tiling, "receptive_field", problems, minimum=1)
        multiple = _int(tiling, "size_multiple", problems, minimum=1, default=1)
        memory = _int(tiling, "memory_per_pixel", problems, minimum=0, default=DEFAULT_MEMORY_PER_PIXEL)
        if tile % multiple:
            problems.append(f"tiling.tile_size {tile} is not a multiple of tiling.size_multiple {multiple}")
        if 2 * halo >= tile:
            problems.append(f"tiling.halo {halo} leaves nothing of a {tile}-pixel tile (2 × halo must be "
                            "below tile_size)")
    elif tiling and task in TASKS:
        problems.append(f"a {task!r} model works pixel by pixel: remove 'tiling'")
    if task == "super_resolution":
        factor = _int(raw, "scale_factor", problems, minimum=2, where="contract")
    elif raw.get("scale_factor", 1) != 1 and task in TASKS:
        problems.append(f"scale_factor is only for super_resolution models (task is {task!r})")

    training = raw.get("training")
    if not isinstance(training, dict) or not isinstance(training.get("data"), str) or not training["data"].strip():
        problems.append("training.data must name the data the model was trained on")
        training = {}
    if problems:
        raise ModelError("the model contract is invalid: " + "; ".join(problems))
    return Contract(
        name=raw["name"], version=raw["version"], licence=raw["licence"], task=task, channels=channels,
        norm_offset=offset, norm_scale=scale, nodata_fill=float(fill), output_names=names, output_units=units,
        output_scale=oscale, output_offset=ooffset, activation=activation, classes=classes, tile_size=tile,
        halo=halo, receptive_field=rf, size_multiple=multiple, memory_per_pixel=memory, scale_factor=factor,
        training_data=training.get("data", ""), description=str(raw.get("description", "")), expectation=expectation)


def _parse_classes(classes, problems):
    if not isinstance(classes, list) or len(classes) < 2:
        problems.append("a segmentation model needs 'classes': a list of at least two "
                        "{\"value\", \"name\", \"color\"}")
        return ()
    out = []
    for c in classes:
        ok = (isinstance(c, dict) and isinstance(c.get("value"), int) and not isinstance(c.get("value"), bool)
              and 0 <= c["value"] < _raster.CLASS_NODATA and isinstance(c.get("name"), str) and c["name"]
              and isinstance(c.get("color"), str) and _COLOR.match(c["color"]))
        if not ok:
            problems.append(f"class {c!r} needs an integer value 0–254, a name and a #rrggbb colour")
            continue
        quantity = c.get("quantity")
        if quantity is not None and (not isinstance(quantity, (int, float)) or isinstance(quantity, bool)
                                     or not math.isfinite(quantity)):
            problems.append(f"class {c['name']!r}: quantity must be a finite number, got {quantity!r}")
            quantity = None
        out.append(ModelClass(c["value"], c["name"], c["color"], None if quantity is None else float(quantity)))
    if len({c.value for c in out}) != len(out):
        problems.append("class values must be unique")
    return tuple(out)


def _parse_expectation(value, classes, activation, problems):
    """``output.expectation`` ``{"name", "units"}`` of a segmentation model, as ``(name, units)``, or ()."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"].strip() \
            or not isinstance(value.get("units", ""), str):
        problems.append("output.expectation must be {\"name\": ..., \"units\": ...}")
        return ()
    missing = [c.name for c in classes if c.quantity is None]
    if missing:
        problems.append(f"output.expectation needs a quantity for every class; missing for {', '.join(missing)}")
    if activation != "softmax":
        problems.append("output.expectation needs output.activation 'softmax' (probabilities to weight with)")
    return (value["name"], value.get("units", ""))


# --------------------------------------------------------------------------------------------
# Files, hashes, cards
# --------------------------------------------------------------------------------------------
def attach_contract(onnx_path, contract):
    """Validate ``contract`` (a dict) and store it in the model's ``metadata_props`` under ``sarsense``.

    The graph is checked with ``onnx.checker`` and with the runtime's own
    :func:`check_graph` before the file is rewritten. A halo below half the
    receptive field is warned about (``UserWarning``), as at run time. Returns the
    parsed :class:`Contract`.
    """
    import warnings

    import onnx

    text = json.dumps(contract, sort_keys=True)
    model = onnx.load(str(onnx_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim if len(model.graph.input) == 1 else []
    parsed = parse_contract(text, graph_channels=dims[1].dim_value or None if len(dims) >= 2 else None)
    for message in halo_warnings(parsed, parsed.halo):
        warnings.warn(f"{os.path.basename(str(onnx_path))}: {message}", UserWarning, stacklevel=2)
    onnx.checker.check_model(model)
    def io(values):
        float_type = onnx.TensorProto.FLOAT
        return [("tensor(float)" if v.type.tensor_type.elem_type == float_type else "other",
                 [d.dim_value or None for d in v.type.tensor_type.shape.dim]) for v in values]

    check_graph(parsed, io(model.graph.input), io(model.graph.output), name=os.path.basename(str(onnx_path)))
    kept = [p for p in model.metadata_props if p.key != CONTRACT_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key, entry.value = CONTRACT_KEY, text
    onnx.save(model, str(onnx_path))
    return parsed


def file_sha256(path):
    """Hex sha256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.read(2**20), b""):
            h.update(piece)
    return h.hexdigest()


def card_path(model_path):
    """The model card that goes with a model: ``<name>.md`` beside ``<name>.onnx``."""
    return Path(model_path).with_suffix(".md")


def card_sha256(card):
    """The sha256 a model card gives (a line such as ``sha256: <64 hex>``), or None."""
    try:
        match = _SHA_LINE.search(Path(card).read_text(encoding="utf-8"))
    except OSError:
        return None
    return match.group(1).lower() if match else None


def is_bundled(model_path):
    """True for a model shipped in the plugin's ``models/`` folder."""
    try:
        return Path(model_path).resolve().parent == MODELS_DIR
    except OSError:
        return False


def verify_hash(model_path):
    """Check the model file against its card; return its sha256.

    A bundled model must have a card with a sha256 and match it. A user model is
    checked only when a card with a sha256 sits beside it.
    """
    digest = file_sha256(model_path)
    card = card_path(model_path)
    expected = card_sha256(card)
    if expected is None:
        if is_bundled(model_path):
            raise ModelError(f"bundled model '{Path(model_path).name}' has no sha256 in its card '{card.name}'; "
                             "the plugin installation is incomplete: reinstall it")
        return digest
    if digest != expected:
        raise ModelError(f"'{Path(model_path).name}' does not match its card '{card.name}' (sha256 {digest[:12]}… "
                         f"instead of {expected[:12]}…): the file was changed or damaged. Reinstall the plugin, "
                         "or rebuild the model (make models) and update the card")
    return digest


# --------------------------------------------------------------------------------------------
# onnxruntime
# --------------------------------------------------------------------------------------------
def import_onnxruntime():
    """Import onnxruntime, or raise :class:`ModelError` saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ModelError("onnxruntime is not installed in QGIS's Python. Install it from the SARSense plugin "
                         "menu (Plugins ▸ SARSense ▸ Install missing Python packages…; no restart needed) or run "
                         "'make setup'") from None
    return onnxruntime


def _static(dim):
    return dim if isinstance(dim, int) and dim > 0 else None


def check_graph(contract, inputs, outputs, *, name="the model"):
    """Check a graph's inputs and outputs, ``[(type, shape), …]``, against ``contract``.

    Types are onnxruntime's (``"tensor(float)"``); a shape's dimensions are ints
    where fixed, anything else where dynamic. The runtime calls this on every
    model it opens, the exporter before it writes a contract. Returns
    ``(fixed_batch or None, fixed_size)``; raises :class:`ModelError`.
    """
    c = contract
    if len(inputs) != 1:
        raise ModelError(f"'{name}' has {len(inputs)} inputs; a SARSense model has exactly one")
    (in_type, in_shape), (out_type, out_shape) = inputs[0], outputs[0]
    if in_type != "tensor(float)" or out_type != "tensor(float)":
        raise ModelError(f"'{name}' must take and return float32 tensors (has {in_type} → {out_type})")
    rank = 4 if c.spatial else 2
    if len(in_shape) != rank or len(out_shape) != rank:
        layout = "(batch, channels, rows, cols)" if c.spatial else "(pixels, channels)"
        raise ModelError(f"a {c.task} model takes and returns {layout} tensors; '{name}' has input "
                         f"{list(in_shape)} and output {list(out_shape)}")
    if _static(in_shape[1]) not in (None, c.n_inputs):
        raise ModelError(f"contradictory model: the contract lists {c.n_inputs} input channels but the "
                         f"graph takes {in_shape[1]}")
    if _static(out_shape[1]) not in (None, c.n_outputs):
        what = "classes" if c.task == "segmentation" else "output bands"
        raise ModelError(f"contradictory model: the contract lists {c.n_outputs} {what} but the graph "
                         f"returns {out_shape[1]} channels")
    fixed_size = False
    if c.spatial:
        rows, cols = _static(in_shape[2]), _static(in_shape[3])
        if (rows, cols) != (None, None):
            if (rows, cols) != (c.tile_size, c.tile_size):
                raise ModelError(f"contradictory model: the graph takes {rows}×{cols} tiles but the "
                                 f"contract's tile_size is {c.tile_size}")
            fixed_size = True
    return _static(in_shape[0]), fixed_size


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
        ort = import_onnxruntime()
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

    def check_units(self, path, label="INPUT"):
        """Refuse input bands whose values contradict the units the contract gives them (dB vs linear).

        Only channels whose units are dB or linear power are checked (:data:`UNITS_DB`,
        :data:`UNITS_LINEAR`), each on a decimated sample of its own band (the bands sampled together,
        each block read once).
        """
        from . import sar

        checks = []
        for band, (name, units) in enumerate(self.contract.channels, start=1):
            expected = "db" if units.lower() in UNITS_DB else "linear" if units.lower() in UNITS_LINEAR else None
            if expected is not None:
                checks.append((band, name, units, expected))
        if not checks:
            return
        samples = _raster.sample_values(path, band=[c[0] for c in checks], max_side=256)
        for (band, name, units, expected), sample in zip(checks, samples):
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
        """``(n, channels, rows, cols)`` float32 with NaN nodata → contract values ``(n, outputs, R, C)``."""
        return self.to_values(np.asarray(self._run(self.normalise(np.array(tiles, np.float32), 1)),
                                           np.float32), 1)

    def predict_pixels(self, features):
        """``(n, channels)`` float32 with NaN nodata → contract values ``(n, outputs)``.

        The pixels go to the network :data:`PIXEL_CHUNK` at a time: onnxruntime's buffers (every hidden
        layer of every pixel of a call) stay small, and the calls are no slower.
        """
        features = np.asarray(features)
        parts = [self.to_values(np.asarray(self._run(self.normalise(np.array(features[i:i + PIXEL_CHUNK], np.float32),
                                                                    1)), np.float32), 1)
                 for i in range(0, max(1, len(features)), PIXEL_CHUNK)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def describe(self):
        """A short text for logs: name, version, task, channels, tiling, provider, sha256."""
        c = self.contract
        chans = ", ".join(f"{n} [{u}]" if u else n for n, u in c.channels)
        text = f"{c.name} {c.version} ({c.task}); inputs: {chans}; provider {self.provider}; sha256 {self.sha256}"
        if c.spatial:
            text += f"; contract tiling: tile {c.tile_size}, halo {c.halo}, receptive field {c.receptive_field}"
        return text


# --------------------------------------------------------------------------------------------
# Applying a model to a raster
# --------------------------------------------------------------------------------------------
def _classify(classes):
    values = np.asarray([c.value for c in classes], np.uint8)

    def finish(probabilities, valid):
        out = values[np.argmax(probabilities, axis=0)]
        out[~valid] = _raster.CLASS_NODATA
        return out[np.newaxis]
    return finish


def halo_warnings(contract, halo):
    """Warnings for a halo below half the receptive field (shared by export and run time)."""
    need = math.ceil((contract.receptive_field - 1) / 2)  # the receptive field's radius
    if contract.spatial and halo < need:
        return [f"the halo ({halo} px) is below half the network's receptive field ({contract.receptive_field} px): "
                f"pixels near tile edges lack context, so results there depend on the tiling (blended, not exact). "
                f"Use a halo of at least {need} px for a result that does not depend on the tiling"]
    return []


def output_layout(contract):
    """Band descriptions, per-band metadata and data type of a model's output raster."""
    c = contract
    if c.task == "segmentation":
        meta = {"classes": json.dumps([{"value": k.value, "name": k.name, "color": k.color} for k in c.classes])}
        return [f"{c.name} class"], [meta], np.uint8
    return list(c.output_names), [{"units": c.output_units}] * len(c.output_names), np.float32


def _probabilities(values, valid):
    return np.where(valid[np.newaxis], values, np.float32(np.nan)).astype(np.float32, copy=False)


def _expectation(classes):
    quantities = np.asarray([c.quantity for c in classes], np.float32)

    def finish(probabilities, valid):
        out = np.tensordot(quantities, probabilities, axes=(0, 0)).astype(np.float32)
        out /= probabilities.sum(axis=0)        # blended probabilities sum to one; exactly so after this
        out[~valid] = np.nan
        return out[np.newaxis]
    return finish


def extra_outputs(contract, *, probabilities=None, expectation=None):
    """The optional outputs of a segmentation model beside its class map (:class:`io.tiles.ExtraOutput`):
    one float32 band per class with its probability, and/or the probability-weighted mean of the classes'
    quantities (``Σ p_k q_k``; the contract's ``output.expectation`` names it and its units)."""
    c = contract
    extras = []
    if (probabilities or expectation) and c.task != "segmentation":
        raise ModelError(f"model '{c.name}' is a {c.task} model: class probabilities and their expectation "
                         "exist only for segmentation models")
    if (probabilities or expectation) and c.activation != "softmax":
        raise ModelError(f"model '{c.name}' returns class scores, not probabilities (output.activation is "
                         f"'{c.activation}'): probabilities and their expectation need 'softmax'")
    if probabilities:
        extras.append(_tiles.ExtraOutput(
            probabilities, _probabilities, len(c.classes), np.float32,
            tuple(f"probability of {k.name}" for k in c.classes), tuple({"units": "probability"} for _ in c.classes)))
    if expectation:
        if not c.expectation:
            raise ModelError(f"model '{c.name}' gives its classes no quantities (contract output.expectation), "
                             "so no expected value can be computed; write the class map only")
        extras.append(_tiles.ExtraOutput(expectation, _expectation(c.classes), 1, np.float32,
                                         (c.expectation[0],), ({"units": c.expectation[1]},)))
    return extras


def apply_model(model, inputs, output, *, tile=None, halo=None, blend=None, batch=4,
                budget_mb=_blocks.DEFAULT_BUDGET_MB, compression=_raster.DEFAULT_COMPRESSION,
                probabilities=None, expectation=None, progress=None, is_canceled=None):
    """Run ``model`` (a :class:`Model`) over ``inputs`` and write ``output``, block by block.

    Image models run in overlapping tiles blended by :func:`io.tiles.run_tiled`
    (tile and halo default to the contract's); pixel models (``regression``) run
    on blocks of pixels. NaN/nodata inputs are filled for the network
    (``nodata_fill``) and masked again in the output: NaN for values, 255 for classes.

    A segmentation model can also write, beside its class map, its class ``probabilities`` (one
    float32 band per class) and their ``expectation`` (:func:`extra_outputs`), both from the same
    blended probabilities as the class map.

    Returns the engine's summary dict plus ``model`` (name, version, sha256) and, for image
    models, the tiling actually used (``tile``, ``halo``, ``blend``) and ``warnings``.
    """
    c = model.contract
    extras = extra_outputs(c, probabilities=probabilities, expectation=expectation)
    stack = _blocks.RasterStack(inputs)
    model.check_input(stack.band_count)
    if len(stack.paths) == 1:
        model.check_units(stack.paths[0])
    descriptions, band_meta, dtype = output_layout(c)
    metadata = {"SARSENSE_MODEL": c.name, "SARSENSE_MODEL_VERSION": c.version, "SARSENSE_MODEL_SHA256": model.sha256,
                "SARSENSE_MODEL_TASK": c.task}
    common = dict(descriptions=descriptions, band_metadata=band_meta, metadata=metadata, compression=compression,
                  budget_mb=budget_mb, progress=progress, is_canceled=is_canceled)
    if not c.spatial:
        def kernel(block):
            bands, rows, cols = block.shape
            pixels = block.reshape(bands, -1).T
            valid = np.all(np.isfinite(pixels), axis=1)
            out = np.full((rows * cols, c.n_outputs), np.nan, np.float32)
            step = max(1, int(batch) * 65536)
            idx = np.flatnonzero(valid)
            for i in range(0, idx.size, step):
                sel = idx[i:i + step]
                out[sel] = model.predict_pixels(pixels[sel])
            return out.T.reshape(c.n_outputs, rows, cols)
        res = _blocks.run_blockwise(stack.paths, output, kernel, out_bands=c.n_outputs, out_dtype=dtype,
                                    bytes_per_pixel=16 + 8 * c.n_outputs, **common)
    else:
        tile = c.tile_size if tile is None else int(tile)
        if model.fixed_size and tile != c.tile_size:
            raise ModelError(f"model '{c.name}' only takes {c.tile_size}×{c.tile_size} tiles; tile size {tile} "
                             "cannot be used")
        halo = c.halo if halo is None else int(halo)
        warnings = halo_warnings(c, halo)
        finish = _classify(c.classes) if c.task == "segmentation" else None
        res = _tiles.run_tiled(stack.paths, output, model.predict_tiles, tile=tile, margin=halo, blend=blend,
                               out_bands=c.n_outputs, scale=c.scale_factor, multiple=c.size_multiple,
                               fixed_size=model.fixed_size, batch=batch, finish=finish,
                               predict_bytes_per_pixel=c.memory_per_pixel, extra_outputs=extras,
                               final_bands=len(descriptions), out_dtype=dtype, **common)
        res["warnings"] = warnings
    res["model"] = {"name": c.name, "version": c.version, "sha256": model.sha256}
    return res
