"""The ONNX runtime: contract checks, refusals, tiled inference == whole-image inference, masks, memory."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import read_raster, write_raster
from onnx_models import contract, conv_net, mlp, run_whole, unet
from osgeo import gdal

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io import Cancelled, RunOptions


@pytest.fixture
def two_band(tmp_path):
    """Two float32 bands, 173 × 290 (not a multiple of any tile), NaN in one band in places."""
    rng = np.random.default_rng(7)
    arr = rng.normal(-12, 4, (2, 173, 290)).astype(np.float32)
    arr[1, 0:12, 100:140] = np.nan      # top edge
    arr[0, 80:90, 280:] = np.nan        # right edge
    return write_raster(tmp_path / "in.tif", arr, descriptions=["VV", "VH"]), arr


def network_input(arr, c):
    """What the runtime feeds the network for a whole image: normalised, NaN filled."""
    off = np.asarray(c.norm_offset, np.float32)[:, None, None]
    sc = np.asarray(c.norm_scale, np.float32)[:, None, None]
    x = (arr - off) / sc
    x[~np.isfinite(x)] = c.nodata_fill
    return x


# --- tiled == whole ---------------------------------------------------------------------------------
@pytest.mark.parametrize("tile,budget", [(64, 96), (32, 1), (256, 96)])
def test_tiled_equals_whole_image_on_every_pixel(tmp_path, two_band, tile, budget):
    path, arr = two_band
    norm = {"method": "offset_scale", "offset": [-12.0, -15.0], "scale": [4.0, 5.0]}
    model_path = conv_net(tmp_path / "m.onnx", layers=4, filters=6, contract_dict=contract(
        normalisation=norm, output={"names": ["y"], "units": "m3/m3", "scale": 0.5, "offset": 0.2},
        tiling={"tile_size": tile, "halo": 4, "receptive_field": 9}))
    model = rt.Model(model_path, threads=1)
    out = tmp_path / "out.tif"
    res = rt.apply_model(model, path, str(out), batch=3, options=RunOptions(budget_mb=budget))
    got = read_raster(out)[0]
    whole = run_whole(model_path, network_input(arr, model.contract))[0] * 0.5 + 0.2
    invalid = ~np.all(np.isfinite(arr), axis=0)
    assert np.array_equal(np.isnan(got), invalid)           # nodata masked again, nothing else
    assert np.max(np.abs(got - whole)[~invalid]) <= 1e-4     # every pixel, edges included
    if budget < 2:
        assert res["panels"] > 1
    ds = gdal.Open(str(out))
    assert ds.GetRasterBand(1).GetDescription() == "y"
    assert ds.GetRasterBand(1).GetMetadata()["units"] == "m3/m3"
    assert ds.GetMetadata()["SARSENSE_MODEL_SHA256"] == rt.file_sha256(model_path)


def test_super_resolution_tiled_equals_whole(tmp_path, two_band):
    path, arr = two_band
    model_path = conv_net(tmp_path / "sr.onnx", layers=3, depth_to_space=4, contract_dict=contract(
        task="super_resolution", scale_factor=4, tiling={"tile_size": 48, "halo": 3, "receptive_field": 7}))
    out = tmp_path / "sr.tif"
    rt.apply_model(rt.Model(model_path), path, str(out), options=RunOptions(budget_mb=16))
    got = read_raster(out)[0]
    assert got.shape == (173 * 4, 290 * 4)
    whole = run_whole(model_path, network_input(arr, rt.Model(model_path).contract))[0]
    invalid = np.repeat(np.repeat(~np.all(np.isfinite(arr), axis=0), 4, 0), 4, 1)
    assert np.array_equal(np.isnan(got), invalid)
    assert np.max(np.abs(got - whole)[~invalid]) <= 1e-4


def test_segmentation_writes_class_values_with_255_nodata(tmp_path, two_band):
    path, arr = two_band
    classes = [{"value": v, "name": f"SIC {v} %", "color": f"#{v:02x}{v:02x}ff"} for v in (0, 50, 100)]
    model_path = conv_net(tmp_path / "seg.onnx", layers=3, outputs=3, contract_dict=contract(
        task="segmentation", output={"activation": "softmax"}, classes=classes,
        tiling={"tile_size": 64, "halo": 3, "receptive_field": 7}))
    out = tmp_path / "seg.tif"
    rt.apply_model(rt.Model(model_path), path, str(out))
    ds = gdal.Open(str(out))
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Byte
    got = ds.ReadAsArray()
    scores = run_whole(model_path, network_input(arr, rt.Model(model_path).contract))
    expected = np.array([0, 50, 100], np.uint8)[np.argmax(scores, axis=0)]
    invalid = ~np.all(np.isfinite(arr), axis=0)
    assert (got[invalid] == 255).all()
    assert np.mean(got[~invalid] == expected[~invalid]) > 0.999  # ties at float precision aside
    meta = json.loads(ds.GetRasterBand(1).GetMetadata()["classes"])
    assert [c["value"] for c in meta] == [0, 50, 100]


def _sic_like(tmp_path, name="seg.onnx", **output):
    classes = [{"value": v, "name": f"{10 * v} %", "color": "#0064ff", "quantity": 10.0 * v} for v in (0, 5, 10)]
    return conv_net(tmp_path / name, layers=3, outputs=3, contract_dict=contract(
        task="segmentation", output={"activation": "softmax", **output}, classes=classes,
        tiling={"tile_size": 64, "halo": 3, "receptive_field": 7}))


def test_segmentation_probabilities_and_expectation_beside_the_class_map(tmp_path, two_band):
    """Contract-driven extra outputs: per-class probabilities and their expectation Σ p_k q_k, tiled = whole."""
    path, arr = two_band
    model = rt.Model(_sic_like(tmp_path, expectation={"name": "SIC", "units": "%"}))
    assert model.contract.expectation == ("SIC", "%")
    out, prob, exp = (tmp_path / n for n in ("c.tif", "p.tif", "e.tif"))
    rt.apply_model(model, path, str(out), probabilities=str(prob), expectation=str(exp),
                   options=RunOptions(budget_mb=4))
    scores = run_whole(model.path, network_input(arr, model.contract))
    p = np.exp(scores - scores.max(axis=0))
    p /= p.sum(axis=0)
    invalid = ~np.all(np.isfinite(arr), axis=0)
    got_p, got_e, got_c = read_raster(prob), read_raster(exp)[0], gdal.Open(str(out)).ReadAsArray()
    assert got_p.shape == (3, 173, 290) and np.isnan(got_p[:, invalid]).all() and np.isnan(got_e[invalid]).all()
    np.testing.assert_allclose(got_p[:, ~invalid], p[:, ~invalid], atol=1e-5)
    np.testing.assert_allclose(got_e[~invalid], np.tensordot([0.0, 50.0, 100.0], p, 1)[~invalid], atol=1e-3)
    # the class map is the argmax of the same blended probabilities
    assert np.mean(got_c[~invalid] == np.array([0, 5, 10])[np.argmax(got_p[:, ~invalid], axis=0)]) > 0.999
    ds = gdal.Open(str(exp))
    assert ds.GetRasterBand(1).GetDescription() == "SIC" and ds.GetRasterBand(1).GetMetadataItem("units") == "%"
    assert gdal.Open(str(prob)).GetRasterBand(2).GetDescription() == "probability of 50 %"


def test_expectation_needs_class_quantities_and_probabilities(tmp_path, two_band):
    path, _ = two_band
    plain = conv_net(tmp_path / "plain.onnx", layers=2, outputs=3, contract_dict=contract(
        task="segmentation", output={"activation": "softmax"},
        classes=[{"value": v, "name": str(v), "color": "#000000"} for v in (0, 1, 2)],
        tiling={"tile_size": 64, "halo": 2, "receptive_field": 5}))
    with pytest.raises(rt.ModelError, match="gives its classes no quantities"):
        rt.apply_model(rt.Model(plain), path, str(tmp_path / "o.tif"), expectation=str(tmp_path / "e.tif"))
    assert not (tmp_path / "o.tif").exists() and not (tmp_path / "e.tif").exists()
    bad = contract(task="segmentation", output={"activation": "none", "expectation": {"name": "x", "units": "%"}},
                   classes=[{"value": v, "name": str(v), "color": "#000000"} for v in (0, 1)])
    with pytest.raises(rt.ModelError, match="quantity for every class.*softmax|softmax"):
        rt.parse_contract(json.dumps(bad))
    with pytest.raises(rt.ModelError, match="only for segmentation"):
        rt.parse_contract(json.dumps(contract(output={"names": ["y"], "expectation": {"name": "x"}})))


def test_cancelled_run_leaves_no_extra_output(tmp_path, two_band):
    path, _ = two_band
    model = rt.Model(_sic_like(tmp_path, expectation={"name": "SIC", "units": "%"}))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2
    with pytest.raises(Cancelled):
        rt.apply_model(model, path, str(tmp_path / "c.tif"), probabilities=str(tmp_path / "p.tif"),
                       expectation=str(tmp_path / "e.tif"), options=RunOptions(budget_mb=4, is_canceled=cancel))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "seg.onnx"]


def test_per_pixel_regression_model(tmp_path):
    rng = np.random.default_rng(1)
    arr = rng.random((3, 70, 90)).astype(np.float32)
    arr[2, 5, 5] = np.nan
    path = write_raster(tmp_path / "f.tif", arr)
    c = contract(task="regression", tiling=None, inputs=[{"name": n, "units": "1"} for n in "abc"],
                 normalisation={"method": "min_max", "min": [0, 0, 0], "max": [1, 1, 2], "range": [-1, 1]},
                 output={"names": ["p", "q"], "units": "1"})
    model_path = mlp(tmp_path / "mlp.onnx", channels=3, outputs=2, contract_dict=c)
    model = rt.Model(model_path)
    out = tmp_path / "r.tif"
    rt.apply_model(model, path, str(out), options=RunOptions(budget_mb=1))
    got = read_raster(out)
    import onnxruntime
    sess = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    x = arr.reshape(3, -1).T.copy()
    x = (x - 0) / np.array([0.5, 0.5, 1.0], np.float32) - 1      # min_max onto [-1, 1]
    ref = sess.run(None, {"input": np.nan_to_num(x, nan=0.0).astype(np.float32)})[0].T.reshape(2, 70, 90)
    assert np.isnan(got[:, 5, 5]).all()
    ok = np.isfinite(got[0])
    assert np.max(np.abs(got[:, ok] - ref[:, ok])) <= 1e-5


# --- refusals ---------------------------------------------------------------------------------------
def test_wrong_channel_count_is_refused(tmp_path, two_band):
    path, _ = two_band
    three = contract(inputs=[{"name": n, "units": "dB"} for n in ("HH", "HV", "angle")],
                     normalisation={"method": "offset_scale", "offset": 0, "scale": 1})
    model = rt.Model(conv_net(tmp_path / "m3.onnx", channels=3, contract_dict=three))
    with pytest.raises(rt.ModelError, match=r"needs 3 input band\(s\) in this order: HH \(dB\), HV \(dB\), angle"):
        rt.apply_model(model, path, str(tmp_path / "o.tif"))
    assert not list(tmp_path.glob("o.tif*"))


@pytest.mark.parametrize("bad,message", [
    ("not json {", "not valid JSON"),
    (json.dumps(contract(format="other")), "format must be 'sarsense-model'"),
    (json.dumps(contract(task="detection")), "task must be one of"),
    (json.dumps(contract(training=None)), "training.data must name"),
    (json.dumps(contract(licence=None)), "'licence' must be a non-empty text"),
    (json.dumps(contract(tiling={"tile_size": 64, "halo": 32, "receptive_field": 9})), "leaves nothing"),
    (json.dumps(contract(normalisation={"method": "offset_scale", "offset": [0, 0, 0], "scale": [1, 1]})),
     "normalisation.offset has 3 value\\(s\\) but there are 2 input"),
    (json.dumps(contract(normalisation={"method": "offset_scale", "offset": 0, "scale": [1, 0]})),
     "must not contain 0"),
    (json.dumps(contract(task="segmentation", output={"activation": "softmax"},
                         classes=[{"value": 1, "name": "a", "color": "red"}, {"value": 1, "name": "b",
                                                                              "color": "#00ff00"}])),
     "#rrggbb"),
    (json.dumps(contract(scale_factor=4)), "scale_factor is only for super_resolution"),
    (json.dumps(contract(output={"names": ["y"], "units": "1", "activation": "eval(open('x'))"})),
     "output.activation must be one of"),
])
def test_invalid_contracts_are_refused_with_the_reason(tmp_path, bad, message):
    model_path = conv_net(tmp_path / "bad.onnx", contract_dict=bad, check=False)
    with pytest.raises(rt.ModelError, match=message):
        rt.Model(model_path)


def test_contract_contradicting_the_graph_is_refused(tmp_path):
    with pytest.raises(rt.ModelError, match=r"the contract lists 2 inputs \(VV, VH\) but the graph takes 3 "
                                            r"channel\(s\)"):
        rt.Model(conv_net(tmp_path / "c.onnx", graph_channels=3, channels=3, contract_dict=contract(), check=False))
    fixed = conv_net(tmp_path / "f.onnx", fixed=32, contract_dict=contract(), check=False)
    with pytest.raises(rt.ModelError, match="takes 32×32 tiles but the contract's tile_size is 64"):
        rt.Model(fixed)


def test_model_without_contract_or_not_onnx_is_refused(tmp_path):
    with pytest.raises(rt.ModelError, match="has no SARSense contract"):
        rt.Model(conv_net(tmp_path / "plain.onnx", contract_dict=None))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model")
    with pytest.raises(rt.ModelError, match="not a model onnxruntime can load"):
        rt.Model(junk)
    with pytest.raises(rt.ModelError, match="does not exist"):
        rt.Model(tmp_path / "missing.onnx")


def test_sha256_is_checked_against_the_card(tmp_path, monkeypatch):
    model_path = conv_net(tmp_path / "net.onnx", contract_dict=contract())
    card = tmp_path / "net.md"
    card.write_text(f"# net\n\n- sha256: `{rt.file_sha256(model_path)}`\n")
    assert rt.Model(model_path).sha256 == rt.file_sha256(model_path)
    card.write_text("# net\n\nsha256: " + "0" * 64 + "\n")
    with pytest.raises(rt.ModelError, match="does not match its card"):
        rt.Model(model_path)
    # a bundled model must have a card with its hash
    monkeypatch.setattr(rt.cards, "BUNDLED_MODELS_DIR", tmp_path.resolve())
    card.unlink()
    with pytest.raises(rt.ModelError, match="bundled model 'net.onnx' has no sha256"):
        rt.Model(model_path)


def test_missing_onnxruntime_gives_install_instructions(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(rt.ModelError, match="onnxruntime is not installed.*make setup"):
        rt.import_onnxruntime()


def test_fixed_batch_graph_is_run_in_pieces(tmp_path, two_band):
    """A graph exported with batch 1 still runs; tiles go through one at a time."""
    import onnx
    path, arr = two_band
    model_path = conv_net(tmp_path / "b1.onnx", contract_dict=contract())
    m = onnx.load(model_path)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(m, model_path)
    model = rt.Model(model_path)
    assert model.fixed_batch == 1
    y = model.predict_tiles(np.stack([arr[:, :64, :64]] * 3))
    assert y.shape == (3, 1, 64, 64)


def test_cancel_stops_and_leaves_nothing(tmp_path, two_band):
    path, _ = two_band
    model = rt.Model(conv_net(tmp_path / "m.onnx", contract_dict=contract()))
    with pytest.raises(Cancelled):
        rt.apply_model(model, path, str(tmp_path / "c.tif"), options=RunOptions(is_canceled=lambda: True))
    assert not list(tmp_path.glob("c.tif*"))


# --- memory -----------------------------------------------------------------------------------------
MEMORY_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from sarsense.algorithms import onnx as rt
    from sarsense.algorithms.io import RunOptions

    def status(key):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

    model = rt.Model(sys.argv[1], threads=2)
    budget = float(sys.argv[3])
    # warm up with one full batch, so onnxruntime's own arena is already grown
    model.predict_tiles(np.zeros((4, 1, model.contract.tile_size, model.contract.tile_size), np.float32))
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current RSS
    base = status("VmRSS")
    res = rt.apply_model(model, sys.argv[2], sys.argv[2] + ".out.tif", batch=4, options=RunOptions(budget_mb=budget))
    print(base, status("VmHWM"), res["panels"])
""")


def _rss_growth(model_path, raster, budget):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGIS_")}
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, model_path, raster, str(budget)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    base_kb, peak_kb, panels = (int(v) for v in out.stdout.split())
    return (peak_kb - base_kb) / 1024, panels


def test_peak_memory_stays_under_budget_on_a_raster_larger_than_it(tmp_path):
    """A 128 MiB float32 raster with a 24 MiB budget: peak RSS grows by less than the budget."""
    rows, cols = 4096, 8192
    path = str(tmp_path / "big.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Float32,
                                              options=["TILED=YES", "COMPRESS=ZSTD"])
    ds.SetGeoTransform((0, 10, 0, 0, 0, -10))
    rng = np.random.default_rng(0)
    for y in range(0, rows, 512):
        ds.GetRasterBand(1).WriteArray(rng.normal(0, 1, (512, cols)).astype(np.float32), 0, y)
    ds = None
    c = contract(inputs=[{"name": "x", "units": "1"}], normalisation={"method": "offset_scale", "offset": 0,
                                                                      "scale": 1},
                 tiling={"tile_size": 256, "halo": 3, "receptive_field": 7,
                         # input, 2 × (conv + ReLU) of 4 maps, output: float32 per pixel
                         "memory_per_pixel": 4 * (1 + 2 * 2 * 4 + 1)})
    model_path = conv_net(tmp_path / "m.onnx", channels=1, layers=3, contract_dict=c)
    budget = 24
    growth, panels = _rss_growth(model_path, path, budget)
    print(f"RSS grew by {growth:.1f} MiB with a {budget} MiB budget ({panels} panels)")
    assert rows * cols * 4 > 4 * budget * 2**20                   # the raster is far larger than the budget
    assert panels > 1
    assert growth < budget
    got = gdal.Open(path + ".out.tif")
    assert (got.RasterXSize, got.RasterYSize) == (cols, rows)
    # the measurement can fail: a generous budget makes the same run hold far more
    generous, panels = _rss_growth(model_path, path, 400)
    print(f"RSS grew by {generous:.1f} MiB with a 400 MiB budget ({panels} panels)")
    assert panels == 1 and generous > budget


def test_a_failing_network_is_a_model_error_not_a_traceback(tmp_path):
    """A graph that cannot take the tile it is given (DepthToSpace needs channels divisible by 4)."""
    import onnx
    path = conv_net(tmp_path / "d.onnx", contract_dict=contract(), check=True)
    m = onnx.load(path)
    node = onnx.helper.make_node("DepthToSpace", ["output_pre"], ["output"], blocksize=2, mode="CRD")
    m.graph.node[-1].output[0] = "output_pre"
    m.graph.node.append(node)
    onnx.save(m, path)
    model = rt.Model(path)
    with pytest.raises(rt.ModelError, match="failed on a batch of shape"):
        model.predict_tiles(np.zeros((1, 2, 16, 16), np.float32))


def test_cuda_provider_is_asked_for_when_present_and_threads_are_passed(tmp_path, monkeypatch):
    """No GPU here: a fake onnxruntime-gpu listing CUDA; the session must ask for it first, then the CPU."""
    import onnxruntime
    path = conv_net(tmp_path / "m.onnx", contract_dict=contract())
    seen = {}
    real = onnxruntime.InferenceSession

    def session(p, options, providers):
        seen["providers"], seen["threads"] = providers, options.intra_op_num_threads
        return real(p, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    rt.Model(path, threads=3)
    assert seen == {"providers": ["CUDAExecutionProvider", "CPUExecutionProvider"], "threads": 3}
    rt.Model(path, device="cpu")
    assert seen["providers"] == ["CPUExecutionProvider"]


UNET = contract(tiling={"tile_size": 128, "halo": 32, "receptive_field": 62, "size_multiple": 8})


def test_a_pixel_does_not_depend_on_the_tiling(tmp_path):
    """A 3-level U-Net on an image that is not a multiple of 8: every tiling equals the canonical result."""
    rng = np.random.default_rng(5)
    arr = rng.normal(0, 1, (2, 301, 285)).astype(np.float32)
    src = write_raster(tmp_path / "in.tif", arr)
    path = unet(tmp_path / "u.onnx", contract_dict=UNET)
    model = rt.Model(path)
    padded = np.pad(arr, ((0, 0), (0, 304 - 301), (0, 288 - 285)), mode="edge")
    canonical = run_whole(path, padded)[0, :301, :285]
    panels = []
    runs = {"default": {}, "tile 96, blend 0": dict(tile=96, halo=32, blend=0),
            "tile 256": dict(tile=256, halo=40, blend=8), "tile 64": dict(tile=64, halo=24, blend=4)}
    for label, kw in runs.items():
        out = str(tmp_path / f"{label.replace(' ', '_').replace(',', '')}.tif")
        res = rt.apply_model(model, src, out, **kw, options=RunOptions(budget_mb=6 if label == "tile 64" else 96))
        panels.append(res["panels"])
        diff = np.abs(read_raster(out)[0] - canonical)
        limit = 1e-5 if kw.get("halo", 32) >= 31 else 1e-2
        assert diff.max() <= limit, f"{label}: max difference {diff.max():.2e}"
    assert max(panels) > 1, "one run streams several panels"


def test_halo_below_half_the_receptive_field_is_warned(tmp_path):
    rng = np.random.default_rng(1)
    src = write_raster(tmp_path / "in.tif", rng.normal(0, 1, (2, 80, 90)).astype(np.float32))
    model = rt.Model(unet(tmp_path / "u.onnx", contract_dict=UNET))
    res = rt.apply_model(model, src, str(tmp_path / "o.tif"), halo=8)
    assert res["halo"] == 8 and res["tile"] == (96, 80) and res["blend"] == 4
    assert any("below half the network's receptive field (62 px)" in w and "at least 31 px" in w
               for w in res["warnings"])
    with pytest.warns(UserWarning, match="below half the network's receptive field"):
        unet(tmp_path / "w.onnx", contract_dict=contract(tiling={"tile_size": 64, "halo": 4, "receptive_field": 62,
                                                                 "size_multiple": 8}))


def test_memory_refusal_reports_the_budget_given(tmp_path):
    rng = np.random.default_rng(1)
    src = write_raster(tmp_path / "in.tif", rng.normal(0, 1, (2, 600, 600)).astype(np.float32))
    heavy = contract(tiling={"tile_size": 512, "halo": 16, "receptive_field": 9, "memory_per_pixel": 200})
    model = rt.Model(conv_net(tmp_path / "m.onnx", contract_dict=heavy))
    with pytest.raises(ValueError, match=r"one 512×512 tile needs about 5\d MiB .*memory budget of 64 MiB.*GDAL's "
                                         r"block cache \(16 MiB\).*at least 1\d\d MiB") as err:
        rt.apply_model(model, src, str(tmp_path / "o.tif"), options=RunOptions(budget_mb=64))
    need = int(str(err.value).split("at least ")[1].split(" MiB")[0])
    rt.apply_model(model, src, str(tmp_path / "o.tif"), options=RunOptions(budget_mb=need))  # the advice works


def test_contract_errors_name_the_real_problem(tmp_path):
    three = contract(inputs=[{"name": n, "units": "dB"} for n in ("HH", "HV", "angle")],
                     normalisation={"method": "min_max", "min": [-30, -35], "max": [0, -5]})
    with pytest.raises(rt.ModelError) as err:
        rt.Model(conv_net(tmp_path / "a.onnx", contract_dict=three, check=False))
    text = str(err.value)
    assert text.startswith("the model contract is invalid: the contract lists 3 inputs (HH, HV, angle) but the graph "
                           "takes 2 channel(s)")
    assert "min must be below" not in text
    with pytest.raises(rt.ModelError) as err:
        rt.Model(conv_net(tmp_path / "b.onnx", contract_dict=contract(task="denoise"), check=False))
    assert "task must be one of" in str(err.value) and "pixel by pixel" not in str(err.value)


def test_old_and_new_task_names_are_read():
    for old, new in rt.TASK_ALIASES.items():
        c = contract(task=old) if old != "regression" else contract(task=old, tiling=None)
        assert rt.parse_contract(json.dumps(c)).task == new
        assert rt.parse_contract(json.dumps(dict(c, task=new))).task == new


def test_input_units_are_checked_against_the_contract(tmp_path):
    rng = np.random.default_rng(2)
    linear = write_raster(tmp_path / "lin.tif", rng.gamma(1.0, 0.05, (2, 40, 40)).astype(np.float32))
    model = rt.Model(conv_net(tmp_path / "m.onnx", contract_dict=contract()))  # inputs VV, VH in dB
    with pytest.raises(rt.ModelError, match=r"band 1 \(VV\) looks like linear power .* expects dB"):
        rt.apply_model(model, linear, str(tmp_path / "o.tif"))
    assert not (tmp_path / "o.tif").exists()
