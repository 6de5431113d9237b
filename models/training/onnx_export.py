"""Write a SARSense model: ONNX export from torch, the contract in ``metadata_props``, a parity check.

The contract is written by the runtime's :func:`algorithms.onnx.attach_contract` (the plugin's
own trainers use it too); :func:`export` and :func:`parity_check` import torch.
"""

from __future__ import annotations

import json

import numpy as np

from sarsense.algorithms import onnx as rt

#: ONNX opset of exported models; onnxruntime 1.31 runs it on every provider.
OPSET = 17


def export(net, onnx_path, contract, *, channels, tile=64):
    """Export a torch module to ONNX (dynamic batch, and rows/cols for image models) with its contract.

    Uses torch's TorchScript-based exporter (``dynamo=False``): it needs no
    onnxscript and gives plain Conv/BatchNorm graphs that onnxruntime fuses.
    An image model's ``tiling.memory_per_pixel`` is measured (:func:`measure_memory_per_pixel`)
    unless the contract gives it.
    """
    import torch

    net = net.eval()
    spatial = rt.TASK_ALIASES.get(contract["task"], contract["task"]) in rt.SPATIAL_TASKS
    example = torch.zeros((1, channels, tile, tile) if spatial else (1, channels))
    axes = {0: "batch", 2: "rows", 3: "cols"} if spatial else {0: "pixels"}
    with torch.no_grad():
        torch.onnx.export(net, (example,), str(onnx_path), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes}, opset_version=OPSET, dynamo=False)
    if spatial and "memory_per_pixel" not in contract.get("tiling", {}):
        contract = json.loads(json.dumps(contract))
        contract["tiling"]["memory_per_pixel"] = measure_memory_per_pixel(
            onnx_path, channels, contract["tiling"]["tile_size"])
    return rt.attach_contract(onnx_path, contract)


_MEASURE = """
import sys
import numpy as np
import onnxruntime

def kb(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

path, channels, tile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
opts = onnxruntime.SessionOptions()
opts.intra_op_num_threads = 1
opts.enable_mem_pattern = False
session = onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
x = np.zeros((1, channels, tile, tile), np.float32)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
before = kb("VmRSS")
session.run(None, {session.get_inputs()[0].name: x})
print((kb("VmHWM") - before) * 1024)
"""


def measure_memory_per_pixel(onnx_path, channels, tile):
    """Peak memory onnxruntime adds to run one ``tile``² tile, per tile pixel (bytes), measured on Linux.

    Measured in a fresh Python process, so that memory the exporting process freed earlier (another
    model's run) cannot hide the growth: the session is built as the runtime builds it, the peak RSS
    is reset (``/proc/self/clear_refs``) just before one run. Rounded up to an eighth of the power of two
    below it (at least 64: 4262 → 4608), so that the small noise of an RSS reading does not change the
    exported file (``make models`` stays byte-reproducible) while the figure stays within 12.5 % of
    what was measured (a U-Net ×4 whose maps live on the fine grid needs kilobytes per input pixel:
    a power of two would have nearly doubled it, and with it the overlap of the tiles that fit a budget).
    """
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _MEASURE, str(onnx_path), str(int(channels)), str(int(tile))],
                         capture_output=True, text=True, check=True).stdout
    grown = int(out.split()[-1])
    per_pixel = max(64, -(-max(grown, 0) // (tile * tile)))
    step = 1 << (per_pixel.bit_length() - 4)
    return -(-per_pixel // step) * step


def parity_check(net, onnx_path, inputs, *, tol=1e-4):
    """Max |onnxruntime − torch| over ``inputs`` (normalised network inputs); raises above ``tol``."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    net = net.eval()
    for x in inputs:
        x = np.ascontiguousarray(x, dtype=np.float32)
        with torch.no_grad():
            ref = net(torch.from_numpy(x)).numpy()
        got = session.run(None, {name: x})[0]
        worst = max(worst, float(np.max(np.abs(got - ref))))
    if worst > tol:
        raise AssertionError(f"onnxruntime and torch differ by {worst:.3g} (> {tol}) on held-out inputs")
    return worst
