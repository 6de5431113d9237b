"""Small ONNX models built in the tests with onnx.helper (no torch), each carrying a SARSense contract.

Every builder returns the path of a ``.onnx`` file written with
``algorithms.onnx.attach_contract``: the same writer the training
toolchain uses, so the tests exercise the real contract path.
"""

from __future__ import annotations

import copy

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sarsense.algorithms.onnx import attach_contract
from sarsense.models.training.onnx_export import OPSET

BASE_CONTRACT = {
    "format": "sarsense-model", "format_version": 1,
    "name": "test-net", "version": "0.1.0", "licence": "CC0-1.0",
    "description": "random weights, built by tests/onnx_models.py",
    "task": "pixel_regression",
    "inputs": [{"name": "VV", "units": "dB"}, {"name": "VH", "units": "dB"}],
    "normalisation": {"method": "offset_scale", "offset": [0.0, 0.0], "scale": [1.0, 1.0]},
    "nodata_fill": 0.0,
    "output": {"names": ["y"], "units": "1", "scale": 1.0, "offset": 0.0},
    "tiling": {"tile_size": 64, "halo": 4, "receptive_field": 9, "size_multiple": 1},
    "training": {"data": "none: random weights for tests"},
}


def contract(**changes):
    """A copy of the base contract with top-level keys replaced (None removes a key)."""
    c = copy.deepcopy(BASE_CONTRACT)
    for key, value in changes.items():
        if value is None:
            c.pop(key, None)
        else:
            c[key] = value
    return c


def _save(graph, path, contract_dict, *, check=True):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sarsense-tests")
    model.ir_version = 8
    onnx.save(model, str(path))
    if contract_dict is not None:
        if check:
            attach_contract(path, contract_dict)
        else:  # write it unchecked, to test the runtime's own refusals
            import json
            model = onnx.load(str(path))
            entry = model.metadata_props.add()
            entry.key = "sarsense"
            entry.value = contract_dict if isinstance(contract_dict, str) else json.dumps(contract_dict)
            onnx.save(model, str(path))
    return str(path)


def _io(name, channels, spatial=True, fixed=None):
    if spatial:
        dims = ["batch", channels, fixed or "rows", fixed or "cols"]
    else:
        dims = ["pixels", channels]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def conv_net(path, *, channels=2, outputs=1, filters=4, layers=3, kernel=3, seed=0, contract_dict=None,
             blur=False, depth_to_space=1, fixed=None, check=True, graph_channels=None):
    """A fully convolutional net: ``layers`` k×k convs with zero 'same' padding, ReLU between.

    ``blur=True`` gives non-negative averaging kernels without bias or ReLU (a
    repeated box blur: smooth, with a large receptive field for ``kernel`` > 3).
    ``depth_to_space`` = s appends a DepthToSpace(s) so the output is s times
    finer (super-resolution). Receptive field: 1 + layers·(kernel − 1).
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    c_in, x = channels, "input"
    for i in range(layers):
        last = i == layers - 1
        c_out = outputs * depth_to_space ** 2 if last else filters
        if blur:
            w = np.full((c_out, c_in, kernel, kernel), 1.0 / (c_in * kernel * kernel), np.float32)
            b = np.zeros(c_out, np.float32)
        else:
            w = (rng.standard_normal((c_out, c_in, kernel, kernel)) / np.sqrt(c_in * kernel * kernel)).astype(
                np.float32)
            b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        y = f"c{i}"
        p = kernel // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [y], pads=[p, p, p, p]))
        if not last and not blur:
            nodes.append(helper.make_node("Relu", [y], [f"r{i}"]))
            y = f"r{i}"
        x, c_in = y, c_out
    if depth_to_space > 1:
        nodes.append(helper.make_node("DepthToSpace", [x], ["d2s"], blocksize=depth_to_space, mode="CRD"))
        x = "d2s"
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(nodes, "conv_net", [_io("input", graph_channels or channels, fixed=fixed)],
                              [_io("output", outputs)], inits)
    return _save(graph, path, contract_dict, check=check)


def mlp(path, *, channels=3, hidden=8, outputs=1, seed=0, contract_dict=None):
    """A per-pixel MLP ``(pixels, channels) → (pixels, outputs)``: Gemm, ReLU, Gemm."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((channels, hidden)).astype(np.float32)
    w2 = rng.standard_normal((hidden, outputs)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(hidden, np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.ones(outputs, np.float32), "b2")]
    nodes = [helper.make_node("Gemm", ["input", "w1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["output"])]
    graph = helper.make_graph(nodes, "mlp", [_io("input", channels, spatial=False)],
                              [_io("output", outputs, spatial=False)], inits)
    return _save(graph, path, contract_dict)


def reciprocal_net(path, *, gain=1.0, at=0.0, spatial=True, contract_dict=None):
    """``y = 1 / (gain·x − at)`` on one input channel: +inf wherever ``gain·x`` equals ``at`` (with ``gain`` 0 and
    ``at`` 0, everywhere). A model that returns non-finite values, for the runtime's checks."""
    inits = [numpy_helper.from_array(np.array(gain, np.float32), "gain"),
             numpy_helper.from_array(np.array(at, np.float32), "at"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one")]
    nodes = [helper.make_node("Mul", ["input", "gain"], ["g"]), helper.make_node("Sub", ["g", "at"], ["d"]),
             helper.make_node("Div", ["one", "d"], ["output"])]
    graph = helper.make_graph(nodes, "reciprocal", [_io("input", 1, spatial=spatial)],
                              [_io("output", 1, spatial=spatial)], inits)
    c = contract_dict or contract(inputs=[{"name": "VV", "units": "dB"}],
                                  normalisation={"method": "offset_scale", "offset": [0.0], "scale": [1.0]},
                                  **({} if spatial else {"task": "regression", "tiling": None}))
    return _save(graph, path, c)


def run_whole(path, image):
    """The model run by onnxruntime on a whole (channels, rows, cols) network input, in one piece."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.ascontiguousarray(image[np.newaxis], np.float32)})[0][0]


def unet(path, *, channels=2, outputs=1, filters=4, levels=3, seed=0, contract_dict=None, upsampling="linear"):
    """A small U-Net: per level one 3×3 conv + ReLU and 2×2 max-pooling; Resize ×2 (bilinear, half-pixel,
    as torch's ``align_corners=False``), skip concatenation and one 3×3 conv per decoder level; 1×1 conv out.

    Its pooling makes it translation-equivariant only on a grid of ``2**levels`` pixels: the case
    that needs the canonical padded tiling (algorithms/io/engine/tiles.py). Receptive field (bilinear, 3 levels): 62.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    count = [0]

    def conv(x, c_in, c_out, k=3, relu=True):
        i = count[0]
        count[0] += 1
        w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
        b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")])
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[p, p, p, p]))
        if not relu:
            return f"c{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        return f"r{i}"

    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales"))
    skips, x, c = [], "input", channels
    for level in range(levels):
        x = conv(x, c, filters)
        c = filters
        skips.append(x)
        nodes.append(helper.make_node("MaxPool", [x], [f"pool{level}"], kernel_shape=[2, 2], strides=[2, 2]))
        x = f"pool{level}"
    x = conv(x, c, filters)
    for level in reversed(range(levels)):
        nodes.append(helper.make_node("Resize", [x, "", "up_scales"], [f"up{level}"], mode=upsampling,
                                      coordinate_transformation_mode="half_pixel"))
        nodes.append(helper.make_node("Concat", [f"up{level}", skips[level]], [f"cat{level}"], axis=1))
        x = conv(f"cat{level}", 2 * filters, filters)
    x = conv(x, filters, outputs, k=1, relu=False)
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(nodes, "unet", [_io("input", channels)], [_io("output", outputs)], inits)
    return _save(graph, path, contract_dict)
