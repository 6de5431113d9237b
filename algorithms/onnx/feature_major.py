"""A per-pixel graph rewritten at load time to run feature-major: ``(channels, n) → (outputs, n)``.

A per-pixel network as skl2onnx or the soil-moisture exporter write it (5 members × three hidden layers of 20)
multiplies ``(n, 20)`` activations by ``(20, 20)`` weights: onnxruntime's matrix kernel then works on a
20-column result, which fills its 16-lane AVX-512 rows badly. The same products written ``W·xᵀ`` give a
``(20, n)`` result, long rows the kernel fills: measured 1.4–1.7× faster on the bundled ensemble (one
thread, calls of 2 048–65 536 pixels; docs/performance.md, bench section 8). The file is left as it is:
:func:`feature_major` rewrites the graph in memory, node by node, for a whitelist of operators whose
transposed form is the same arithmetic (``MatMul``/``Gemm`` by constant weights, element-wise operators,
constant broadcasts, ``Concat`` and reductions along the channel axis, no-op ``Reshape``); any other
operator, or an activation that is not ``(pixels, channels)``, leaves the graph untouched (None). The
contract's normalisation (``(x − offset) / scale``) and output scaling (``y · scale + offset``) become the
graph's first and last nodes, the same float32 operations the runtime applies in numpy.

The runtime (:class:`~.session.Model`) uses the rewritten graph only after it has given the original's values,
within float32 rounding, on a probe of pixels around the training data (:func:`agrees`): a graph the rules
mistranslate is caught before it maps anything.
"""

from __future__ import annotations

import numpy as np

#: Operators applied element by element, whatever the layout (their extra inputs, if any, are constants).
ELEMENTWISE = frozenset((
    "Identity", "Cast", "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "Tanh", "Softplus", "Softsign",
    "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sign", "Clip"))
#: Operators broadcasting their inputs against each other (numpy rules).
BROADCAST = frozenset(("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu"))
#: Reductions: along the channel axis only (one per pixel), with the reduced axis kept.
REDUCTIONS = frozenset(("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                        "ReduceLogSumExp", "ReduceSumSquare"))
#: Outputs and relative tolerance the rewritten graph must reproduce on the probe (:func:`agrees`).
PROBE_PIXELS, PROBE_RTOL = 257, 1e-4


class _UnsupportedError(Exception):
    """A node the rewrite does not know: the graph is left as it is."""


def feature_major(model, *, offset, scale, out_scale, out_offset):
    """The per-pixel ``model`` (an ``onnx.ModelProto`` taking ``(n, channels)``) rewritten to take raw values
    ``(channels, n)`` and return contract values ``(outputs, n)``; None where a node is not one the rewrite
    knows (the caller then runs the original graph).

    ``offset``, ``scale``: the contract's normalisation, applied first (``(x − offset) / scale``);
    ``out_scale``, ``out_offset``: its output scaling, applied last (``y · out_scale + out_offset``).
    """
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    if len(g.input) != 1 or len(g.output) != 1:
        return None
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # onnx raises its own types for graphs it cannot infer
        return None
    dims = {v.name: [d.dim_value or None for d in v.type.tensor_type.shape.dim]
            for v in list(inferred.value_info) + list(inferred.output) + list(inferred.input)
            if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")}
    ranks = {name: len(d) for name, d in dims.items()}
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    name_in, name_out = g.input[0].name, g.output[0].name
    acts = {name_in}
    new_inits, counter = [], [0]

    def const(array, hint):
        counter[0] += 1
        name = f"fm{counter[0]}_{hint}"
        new_inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def transposed_const(name):
        """A constant that broadcast against ``(n, m)`` activations, made to broadcast against ``(m, n)``."""
        if name not in consts:
            raise _UnsupportedError(name)
        a = consts[name]
        if a.ndim == 0 or a.size == 1:
            return name
        if a.ndim == 1:
            return const(a.reshape(-1, 1), "col")
        if a.ndim == 2 and a.shape[0] == 1:
            return const(a.T, "col")
        raise _UnsupportedError(name)

    def act_2d(name):
        if name not in acts or ranks.get(name) != 2:
            raise _UnsupportedError(name)
        return name

    def attr(node, key, default=None):
        for a in node.attribute:
            if a.name == key:
                return helper.get_attribute_value(a)
        return default

    nodes = []
    try:
        for node in g.node:
            if node.domain not in ("", "ai.onnx"):
                raise _UnsupportedError(node.op_type)
            if not any(i in acts for i in node.input):
                if any(o in (name_out,) for o in node.output):
                    raise _UnsupportedError(node.op_type)
                nodes.append(node)              # a constant computation (shapes): kept as it is
                continue
            op, ins = node.op_type, list(node.input)
            new = onnx.NodeProto()
            new.CopyFrom(node)
            if op in ELEMENTWISE:
                act_2d(ins[0])
                if any(i in acts for i in ins[1:]):
                    raise _UnsupportedError(op)
            elif op in BROADCAST:
                new.ClearField("input")
                new.input.extend([act_2d(i) if i in acts else transposed_const(i) for i in ins])
            elif op == "MatMul":
                act_2d(ins[0])
                w = consts.get(ins[1])
                if ins[1] in acts or w is None or w.ndim != 2:
                    raise _UnsupportedError(op)
                new.ClearField("input")
                new.input.extend([const(w.T, "weights"), ins[0]])
            elif op == "Gemm":
                act_2d(ins[0])
                b = consts.get(ins[1])
                if attr(node, "transA", 0) or b is None or b.ndim != 2:
                    raise _UnsupportedError(op)
                b = b.T if attr(node, "transB", 0) else b
                new.ClearField("input")
                new.input.extend([const(b.T, "weights"), ins[0]] + [transposed_const(c) for c in ins[2:3] if c])
                new.ClearField("attribute")
                new.attribute.extend([helper.make_attribute("alpha", float(attr(node, "alpha", 1.0))),
                                      helper.make_attribute("beta", float(attr(node, "beta", 1.0)))])
            elif op == "Concat":
                for i in ins:
                    act_2d(i)
                axis = attr(node, "axis")
                if axis not in (0, 1, -1, -2):
                    raise _UnsupportedError(op)
                new.ClearField("attribute")
                new.attribute.extend([helper.make_attribute("axis", 0 if axis in (1, -1) else 1)])
            elif op in ("Reshape", "Flatten"):
                # only the no-op of skl2onnx's last node: (n, k) → (n, k)
                shape = dims.get(act_2d(ins[0]))
                k = shape[1] if shape else None
                target = consts.get(ins[1]) if op == "Reshape" else None
                noop = (op == "Flatten" and attr(node, "axis", 1) == 1) or (
                    target is not None and target.ndim == 1 and len(target) == 2 and target[0] in (-1, 0)
                    and k is not None and target[1] == k)
                if not noop:
                    raise _UnsupportedError(op)
                new = helper.make_node("Identity", [ins[0]], [node.output[0]], name=node.name)
            elif op in REDUCTIONS:
                act_2d(ins[0])
                axes = attr(node, "axes")
                if axes is None and len(ins) > 1 and ins[1]:
                    axes = consts.get(ins[1])
                if axes is None or list(np.ravel(axes)) not in ([1], [-1]) or attr(node, "keepdims", 1) != 1:
                    raise _UnsupportedError(op)
                if attr(node, "axes") is not None:
                    new.ClearField("attribute")
                    new.attribute.extend([a for a in node.attribute if a.name != "axes"]
                                         + [helper.make_attribute("axes", [0])])
                else:
                    new.input[1] = const(np.array([0], np.int64), "axes")
            else:
                raise _UnsupportedError(op)
            nodes.append(new)
            acts.update(o for o in node.output if o)
        if ranks.get(name_out) != 2 or name_out not in acts:
            raise _UnsupportedError(name_out)
    except _UnsupportedError:
        return None
    n_in = len(offset)
    raw, net_out = name_in + "__raw", name_out + "__net"
    for n in nodes:         # the network's result gets a name of its own, the scaled values the output's
        for i, o in enumerate(n.output):
            if o == name_out:
                n.output[i] = net_out
        for i, o in enumerate(n.input):
            if o == name_out:
                n.input[i] = net_out
    f32 = np.float32
    head = [helper.make_node("Sub", [raw, const(np.asarray(offset, f32).reshape(n_in, 1), "offset")], [raw + "_c"]),
            helper.make_node("Div", [raw + "_c", const(np.asarray(scale, f32).reshape(n_in, 1), "scale")], [name_in])]
    k = len(out_scale)
    tail = [helper.make_node("Mul", [net_out, const(np.asarray(out_scale, f32).reshape(k, 1), "out_scale")],
                             [net_out + "_s"]),
            helper.make_node("Add", [net_out + "_s", const(np.asarray(out_offset, f32).reshape(k, 1), "out_offset")],
                             [name_out])]
    used = {i for n in head + nodes + tail for i in n.input}
    graph = helper.make_graph(
        head + nodes + tail, g.name + "_feature_major",
        [helper.make_tensor_value_info(raw, onnx.TensorProto.FLOAT, [n_in, "n"])],
        [helper.make_tensor_value_info(name_out, onnx.TensorProto.FLOAT, [k, "n"])],
        initializer=[t for t in list(g.initializer) + new_inits if t.name in used])
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="sarsense-feature-major")
    out.ir_version = model.ir_version
    return out


def probe(offset, scale, *, seed=0):
    """Pixels ``(PROBE_PIXELS, channels)`` around the training data (offset ± 3 scale) to compare graphs on."""
    rng = np.random.default_rng(seed)
    off, sc = np.asarray(offset, np.float32), np.asarray(scale, np.float32)
    return (off + sc * rng.uniform(-3, 3, (PROBE_PIXELS, off.size))).astype(np.float32)


def agrees(reference, candidate):
    """Whether ``candidate`` equals ``reference`` (contract values of the same pixels) within float32 rounding
    of a network's sums: NaN at the same places, the rest within :data:`PROBE_RTOL` of the largest value."""
    reference, candidate = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    if reference.shape != candidate.shape or not np.array_equal(np.isnan(reference), np.isnan(candidate)):
        return False
    ok = ~np.isnan(reference)
    size = float(np.abs(reference[ok]).max()) if ok.any() else 0.0
    return bool(np.all(np.abs(reference[ok] - candidate[ok]) <= PROBE_RTOL * max(size, 1e-30)))
