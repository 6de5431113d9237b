"""What every demo section shares: a qgis_process step, plots, the repository's sample data."""

import json
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE_DATA = os.path.join(REPO, "resources", "sample_data")
QGIS_PROCESS = "/usr/bin/qgis_process.bin"  # Debian's qgis_process wrapper passes a flag 3.22 rejects


def step(alg, **params):
    cmd = [QGIS_PROCESS, "run", alg, "--json", *[f"--{k}={v}" for k, v in params.items()]]
    print("$ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    if res.returncode != 0:
        sys.exit(f"qgis_process failed:\n{res.stdout}\n{res.stderr}")
    return json.loads(res.stdout[res.stdout.index("{"):])["results"]


def read_db(path):
    """A band as float32 dB with the scene's nodata (−99) and NaN masked."""
    a = gdal.Open(path).ReadAsArray().astype(np.float32)
    a[a == -99] = np.nan  # the scene's nodata
    return a


def quicklook(panels, path, *, cmap="gray", label="σ⁰ VV (dB)", suptitle="", size=(4.2, 4.6)):
    """PNG of ``[(title, array), …]`` side by side on one colour scale (the 2–98 % stretch of the first
    panel), with titles and a colour bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = np.nanpercentile(panels[0][1], [2, 98])
    fig, axes = plt.subplots(1, len(panels), figsize=(size[0] * len(panels) + 1.2, size[1]), constrained_layout=True)
    for ax, (title, a) in zip(np.atleast_1d(axes), panels):
        im = ax.imshow(a, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.colorbar(im, ax=axes, shrink=0.85, label=f"{label}, 2–98 % stretch of the first panel")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_multi(alg, files, *, key="INPUTS", **params):
    """``step`` for an algorithm with a multiple-layer parameter ``key`` (repeated on the command line)."""
    cmd = [QGIS_PROCESS, "run", alg, "--json", *[f"--{key}={f}" for f in files],
           *[f"--{k}={v}" for k, v in params.items()]]
    res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    if res.returncode != 0:
        sys.exit(f"qgis_process failed:\n{res.stdout}\n{res.stderr}")
    return json.loads(res.stdout[res.stdout.index("{"):])["results"]
