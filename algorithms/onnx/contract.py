"""The SARSense model contract: what a network expects and returns, parsed, checked and attached to the file.

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

import json
import math
import os
import re
from dataclasses import dataclass

from ..io import raster as _raster

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
#: Network working memory per tile pixel assumed when a contract does not give ``tiling.memory_per_pixel``
#: (bytes: 64 float32 feature maps alive at once).
DEFAULT_MEMORY_PER_PIXEL = 256
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


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
    #: (min, max) input pixel size in metres the model was validated on, () when the contract does not say
    validated_pixel_m: tuple = ()

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


def parse_contract(text: str, *, graph_channels: int | None = None) -> Contract:
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

    validated = raw.get("validated_input_pixel_m", ())
    if validated != ():
        if task not in SPATIAL_TASKS:
            problems.append(f"validated_input_pixel_m is only for image models (task is {task!r})")
        elif (not isinstance(validated, list) or len(validated) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                for v in validated) or validated[0] > validated[1]):
            problems.append(f"validated_input_pixel_m must be [min, max] in metres, 0 < min ≤ max, got {validated!r}")
        else:
            validated = (float(validated[0]), float(validated[1]))
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
        training_data=training.get("data", ""), description=str(raw.get("description", "")), expectation=expectation,
        validated_pixel_m=tuple(validated))


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
def attach_contract(onnx_path: str, contract: dict) -> Contract:
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


def halo_warnings(contract: Contract, halo: int) -> list[str]:
    """Warnings for a halo below half the receptive field (shared by export and run time)."""
    need = math.ceil((contract.receptive_field - 1) / 2)  # the receptive field's radius
    if contract.spatial and halo < need:
        return [f"the halo ({halo} px) is below half the network's receptive field ({contract.receptive_field} px): "
                f"pixels near tile edges lack context, so results there depend on the tiling (blended, not exact). "
                f"Use a halo of at least {need} px for a result that does not depend on the tiling"]
    return []
