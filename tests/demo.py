"""`make demo`: the SAR preparation chain and the model chain on the bundled Sentinel-1 scene, headless.

dB → linear → Gamma-MAP 5×5 → dB, each step a `qgis_process.bin run sarsense:...` call against the
plugin that `make install-plugin` put into the default QGIS profile; then the bundled example model
(`sarsense:applymodel`) on the same scene with simulated single-look speckle. Writes GeoTIFFs and
PNG quicklooks (grey 2–98 % stretch) and prints where they are.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from osgeo import gdal

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENE = os.path.join(REPO, "resources", "sample_data", "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif")
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


def quicklook(panels, path, *, units="σ⁰ VV (dB)", suptitle=""):
    """PNG of ``[(title, path), …]`` side by side, one shared grey 2–98 % stretch, titles and a colour bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arrays = [read_db(p) for _, p in panels]
    lo, hi = np.nanpercentile(arrays[0], [2, 98])
    fig, axes = plt.subplots(1, len(arrays), figsize=(4.2 * len(arrays) + 1.2, 4.6), constrained_layout=True)
    for ax, (title, _), a in zip(np.atleast_1d(axes), panels, arrays):
        im = ax.imshow(a, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.colorbar(im, ax=axes, shrink=0.85, label=f"{units}, 2–98 % stretch of the first panel")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "demo_output"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    lin = step("sarsense:convertunits", INPUT=SCENE, CONVERSION=1, OUTPUT=os.path.join(out, "camargue_vv_linear.tif"))
    gm = step("sarsense:despeckle", INPUT=lin["OUTPUT"], INPUT_UNITS=0, FILTER=4, SIZE=5, LOOKS=1,
              OUTPUT=os.path.join(out, "camargue_vv_gammamap5_linear.tif"))
    db = step("sarsense:convertunits", INPUT=gm["OUTPUT"], CONVERSION=0,
              OUTPUT=os.path.join(out, "camargue_vv_gammamap5_db.tif"))
    png = os.path.join(out, "quicklook_before_after.png")
    quicklook([("Sentinel-1A VV, 2015-03-09", SCENE), ("Gamma-MAP 5×5 (sarsense:despeckle)", db["OUTPUT"])], png,
              suptitle="Camargue: before and after speckle filtering")

    # The model chain: single-look speckle simulated on the scene, then the bundled example network.
    ds = gdal.Open(SCENE)
    ref = ds.ReadAsArray().astype(np.float32)
    ref[ref == -99] = np.nan
    noisy_db = 10 * np.log10(10 ** (ref / 10) * np.random.default_rng(0).gamma(1.0, 1.0, ref.shape))
    noisy = os.path.join(out, "camargue_vv_simulated_single_look_db.tif")
    nds = gdal.GetDriverByName("GTiff").Create(noisy, ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Float32)
    nds.SetGeoTransform(ds.GetGeoTransform())
    nds.SetProjection(ds.GetProjection())
    nds.GetRasterBand(1).SetNoDataValue(float("nan"))
    nds.GetRasterBand(1).WriteArray(noisy_db.astype(np.float32))
    nds = None
    model = step("sarsense:applymodel", INPUT=noisy, MODEL=os.path.join(REPO, "models", "s1_despeckle_example.onnx"),
                 OUTPUT=os.path.join(out, "camargue_vv_example_model_db.tif"))
    png2 = os.path.join(out, "quicklook_model_reference_noisy_output.png")
    quicklook([("Reference scene", SCENE), ("Simulated single-look speckle", noisy),
               ("Example model output (sarsense:applymodel)", model["OUTPUT"])], png2,
              suptitle="Bundled example network on simulated speckle (not a real single-look product)")
    cnn = gdal.Open(model["OUTPUT"]).ReadAsArray()

    before = gdal.Open(SCENE).ReadAsArray()
    after = gdal.Open(db["OUTPUT"]).ReadAsArray()
    ok = np.isfinite(ref)
    print("\nSARSense demo: Sentinel-1A VV, Camargue, 2015-03-09 (pyroSAR sample, MIT)")
    print(f"  std of dB values: {before.std():.2f} dB before, {np.nanstd(after):.2f} dB after Gamma-MAP 5x5")
    print(f"  example model on simulated single-look speckle: mean |error| against the scene "
          f"{np.mean(np.abs(noisy_db - ref)[ok]):.2f} dB before, {np.mean(np.abs(cnn - ref)[ok]):.2f} dB after "
          "(simulated speckle, not a real single-look product; the top 160 rows were seen in training)")
    for p in (lin["OUTPUT"], gm["OUTPUT"], db["OUTPUT"], png, noisy, model["OUTPUT"], png2):
        print(f"  wrote {p}")


if __name__ == "__main__":
    main()
