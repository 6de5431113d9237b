"""Issue #31: per-pixel graphs evaluated feature-major (``(channels, n)``), rewritten at load time from the file as
it is; the same values as the graph as written, within float32 rounding, or the graph as written where the rewrite
does not apply or a probe disagrees."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_models import contract, mlp

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.onnx import feature_major as fm

BUNDLED = os.path.join(str(rt.BUNDLED_MODELS_DIR), "soil_moisture_hybrid.onnx")
#: Float32 rounding of a network's sums: a few units in the last place of values up to about 1.
ATOL = 1e-6


def _pixels(model, n, seed=0):
    c = model.contract
    rng = np.random.default_rng(seed)
    return (np.asarray(c.norm_offset) + np.asarray(c.norm_scale) * rng.normal(0, 2, (n, c.n_inputs))).astype(np.float32)


def _same(model, x):
    want = model.predict_pixels(x)
    got = model.predict_features(np.ascontiguousarray(x.T))
    assert got.shape == want.T.shape and got.dtype == np.float32
    np.testing.assert_allclose(got.T, want, rtol=0, atol=ATOL)
    return got


def test_the_bundled_ensemble_runs_feature_major_with_the_same_values():
    model = rt.Model(BUNDLED, threads=1)
    assert model.feature_major is not None and "evaluated feature-major" in model.describe()
    x = _pixels(model, 3 * rt.session.FEATURE_CHUNK + 17)      # several calls, the last one short
    got = _same(model, x)
    assert np.all(got[1] >= 0) and np.ptp(got[0]) > 0.1          # a spread, and maps that vary


def _bounded_ensemble(path, *, members=3, channels=4, hidden=6, porosity=0.45, opset=17, seed=0):
    """Members MatMul-Add-ReLU-MatMul-Add-Sigmoid × porosity, then their mean and spread: the shape of the
    retrained soil-moisture graph (issue #31, item 5), written with onnx.helper."""
    rng = np.random.default_rng(seed)
    inits, nodes, outs = [numpy_helper.from_array(np.array(porosity, np.float32), "porosity")], [], []
    for m in range(members):
        for name, shape in ((f"w{m}a", (channels, hidden)), (f"b{m}a", (1, hidden)), (f"w{m}b", (hidden, 1)),
                            (f"b{m}b", (1, 1))):
            inits.append(numpy_helper.from_array(rng.normal(0, 1, shape).astype(np.float32), name))
        chain = [("MatMul", ["x", f"w{m}a"], f"p{m}"), ("Add", [f"p{m}", f"b{m}a"], f"a{m}"),
                 ("Relu", [f"a{m}"], f"h{m}"), ("MatMul", [f"h{m}", f"w{m}b"], f"q{m}"),
                 ("Add", [f"q{m}", f"b{m}b"], f"z{m}"), ("Sigmoid", [f"z{m}"], f"s{m}"),
                 ("Mul", [f"s{m}", "porosity"], f"y{m}")]
        nodes += [helper.make_node(op, ins, [out]) for op, ins, out in chain]
        outs.append(f"y{m}")
    if opset >= 18:       # axes as an input
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
        mean = [helper.make_node("ReduceMean", ["members", "axes"], ["mean"], keepdims=1),
                helper.make_node("ReduceMean", ["dev2", "axes"], ["var"], keepdims=1)]
    else:
        mean = [helper.make_node("ReduceMean", ["members"], ["mean"], axes=[1], keepdims=1),
                helper.make_node("ReduceMean", ["dev2"], ["var"], axes=[1], keepdims=1)]
    nodes += [helper.make_node("Concat", outs, ["members"], axis=1), mean[0],
              helper.make_node("Sub", ["members", "mean"], ["dev"]), helper.make_node("Mul", ["dev", "dev"], ["dev2"]),
              mean[1], helper.make_node("Sqrt", ["var"], ["spread"]),
              helper.make_node("Concat", ["mean", "spread"], ["ssm"], axis=1)]
    graph = helper.make_graph(nodes, "bounded",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels])],
                              [helper.make_tensor_value_info("ssm", TensorProto.FLOAT, ["n", 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    names = [{"name": f"p{i}", "units": ""} for i in range(channels)]
    return rt.attach_contract(path, contract(
        task="per_pixel_regression", tiling=None, inputs=names,
        normalisation={"method": "offset_scale", "offset": list(rng.normal(0, 5, channels)),
                       "scale": list(rng.uniform(0.5, 3, channels))},
        output={"names": ["ssm", "spread"], "units": "m3/m3", "scale": [1.0, 1.0], "offset": [0.0, 0.0]})) and str(path)


@pytest.mark.parametrize("opset", [17, 18])
def test_a_bounded_ensemble_and_a_gemm_mlp_are_rewritten_with_the_same_values(tmp_path, opset):
    scaled = contract(task="per_pixel_regression", tiling=None,
                      output={"names": ["a", "b"], "units": "1", "scale": [2.0, 0.5], "offset": [1.0, -3.0]},
                      normalisation={"method": "offset_scale", "offset": [-12.0, -18.0], "scale": [3.0, 2.5]})
    for path in (_bounded_ensemble(tmp_path / "b.onnx", opset=opset),
                 mlp(tmp_path / "m.onnx", channels=2, hidden=5, outputs=2, contract_dict=scaled)):
        model = rt.Model(path, threads=1)
        assert model.feature_major is not None, path
        _same(model, _pixels(model, 1000))


def _with_transpose(path):
    """A per-pixel graph with an operator the rewrite does not know (Transpose twice: the identity)."""
    inits = [numpy_helper.from_array(np.full((2, 1), 0.5, np.float32), "w")]
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
             helper.make_node("Transpose", ["t"], ["u"], perm=[1, 0]), helper.make_node("MatMul", ["u", "w"], ["y"])]
    graph = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    rt.attach_contract(path, contract(task="per_pixel_regression", tiling=None))
    return str(path)


def test_a_graph_the_rewrite_does_not_know_runs_as_written(tmp_path):
    path = _with_transpose(tmp_path / "t.onnx")
    c = rt.Model(path).contract
    assert fm.feature_major(onnx.load(path), offset=c.norm_offset, scale=c.norm_scale, out_scale=c.output_scale,
                            out_offset=c.output_offset) is None
    model = rt.Model(path)
    assert model.feature_major is None and "feature-major" not in model.describe()
    x = _pixels(model, 50)
    np.testing.assert_array_equal(model.predict_features(x.T), model.predict_pixels(x).T)


def test_a_rewrite_that_changes_the_values_is_not_used(tmp_path, monkeypatch):
    real = fm.feature_major

    def off_by_a_little(model, **kw):       # a mistranslation: one weight 1 % off
        out = real(model, **kw)
        w = next(t for t in out.graph.initializer if t.name.endswith("_weights"))
        w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w) * np.float32(1.01), w.name))
        return out

    monkeypatch.setattr(fm, "feature_major", off_by_a_little)
    model = rt.Model(BUNDLED, threads=1)
    assert model.feature_major is None
    x = _pixels(model, 100)
    np.testing.assert_array_equal(model.predict_features(x.T), model.predict_pixels(x).T)


def test_the_probe_comparison_wants_float32_rounding_and_the_same_nan():
    y = np.array([[0.25, np.nan], [0.5, 0.01]], np.float32)
    assert fm.agrees(y, y + np.float32(1e-7) * np.isfinite(y))
    assert not fm.agrees(y, y * np.float32(1.001))
    assert not fm.agrees(y, np.nan_to_num(y))
