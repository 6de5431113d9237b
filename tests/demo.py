"""`make demo`: the SAR preparation chain and the model chain on the bundled Sentinel-1 scene, headless.

dB → linear → Gamma-MAP 5×5 → dB, each step a `qgis_process.bin run sarsense:...` call against the
plugin that `make install-plugin` put into the default QGIS profile; then the bundled example model
(`sarsense:applymodel`) on the same scene with simulated single-look speckle; then soil moisture on
the bundled Bolivia series (VV dB stack + Landsat NDVI → NDVI on the radar dates → change detection →
SSM maps); then paddy rice on the simulated landscape (the shipped chain rice_mapping.model3, accuracy
and area with its confidence interval); then land-surface temperature on the real MODIS h14v09 tile
(the paper's protocol on a held-out window: Norm-L4 to 4 km, U-Net and bicubic back to 1 km, scored;
and the four methods 1 km → 250 m over the Olinda Landsat footprint). Writes GeoTIFFs and PNG quicklooks
and prints where they are.
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
    quicklook([("Sentinel-1A VV, 2015-03-09", read_db(SCENE)),
               ("Gamma-MAP 5×5 (sarsense:despeckle)", read_db(db["OUTPUT"]))], png,
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
    quicklook([("Reference scene", read_db(SCENE)), ("Simulated single-look speckle", read_db(noisy)),
               ("Example model output (sarsense:applymodel)", read_db(model["OUTPUT"]))], png2,
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
    soil_moisture(out)
    soil_moisture_stations(out)
    rice(out)
    lst(out)
    sea_ice(out)


def soil_moisture(out):
    """Bolivia: VV dB files + Landsat NDVI → dated stacks → NDVI on the radar dates → change detection."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap

    data = os.path.join(REPO, "resources", "sample_data")
    vv_files = sorted(os.path.join(data, "s1_vv_stack_bolivia", f) for f in os.listdir(
        os.path.join(data, "s1_vv_stack_bolivia")) if f.endswith(".tif"))
    nd_files = sorted(os.path.join(data, "landsat_ndvi_bolivia", f) for f in os.listdir(
        os.path.join(data, "landsat_ndvi_bolivia")) if f.endswith(".tif"))
    cmd_inputs = lambda files: " ".join(f"--INPUTS={f}" for f in files)  # noqa: E731
    print(f"\n$ {QGIS_PROCESS} run sarsense:buildstack {cmd_inputs(vv_files[:2])} … --DROP_EMPTY=true", flush=True)
    vv = _run_multi("sarsense:buildstack", vv_files, DROP_EMPTY="true", OUTPUT=os.path.join(out, "sm_vv_stack.tif"))
    nd = _run_multi("sarsense:buildstack", nd_files, DROP_EMPTY="true", OUTPUT=os.path.join(out, "sm_ndvi_stack.tif"))
    nd_on_vv = step("sarsense:interpolatetime", INPUT=nd["OUTPUT"], TARGET=vv["OUTPUT"], MAX_GAP_DAYS=60,
                    OUTPUT=os.path.join(out, "sm_ndvi_on_vv_dates.tif"))
    cd = step("sarsense:changedetection", INPUT=vv["OUTPUT"], INPUT_UNITS=1, SSM_MIN=0.05, SSM_MAX=0.40,
              OUTPUT_INDEX=os.path.join(out, "sm_index.tif"), OUTPUT_SSM=os.path.join(out, "sm_ssm.tif"))
    ssm_ds = gdal.Open(cd["OUTPUT_SSM"])
    ssm = ssm_ds.ReadAsArray().astype(np.float32)
    dates = [ssm_ds.GetRasterBand(i + 1).GetDescription() for i in range(ssm_ds.RasterCount)]
    ndvi = gdal.Open(nd_on_vv["OUTPUT"]).ReadAsArray()
    picks = [0, len(dates) // 2, len(dates) - 1]
    ramp = LinearSegmentedColormap.from_list("ssm", ["#8c510a", "#d8b365", "#f6e8c3", "#c7eae5", "#5ab4ac",
                                                     "#2166ac"])
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.6), constrained_layout=True)
    for ax, k in zip(axes, picks):
        im = ax.imshow(ssm[k], cmap=ramp, vmin=0, vmax=0.5, interpolation="nearest")
        ax.set_title(f"{dates[k]}: mean {np.nanmean(ssm[k]):.3f} m³/m³", fontsize=10)
        ax.set_axis_off()
    fig.colorbar(im, ax=axes, shrink=0.85, label="surface soil moisture (m³/m³), dry → wet")
    fig.suptitle("Change detection (Fayad et al. 2022, eq. 2-3) on Sentinel-1 VV, Santa Cruz, Bolivia — "
                 "SSM_min/max 0.05/0.40 are placeholders; no in situ truth here", fontsize=10)
    png = os.path.join(out, "quicklook_soil_moisture.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    print("\nSoil moisture by change detection, Bolivia (pybayts sample: Sentinel-1 VV 30 m, Landsat NDVI). "
          "There are no in situ measurements for this site: the maps show the method, not validated skill.")
    print(f"  {'date':10}  {'mean SSM m³/m³':>14}  {'valid px':>8}  {'mean NDVI':>9}")
    for k, d in enumerate(dates):
        nv = ndvi[k][np.isfinite(ndvi[k])]
        print(f"  {d:10}  {np.nanmean(ssm[k]) if np.isfinite(ssm[k]).any() else float('nan'):14.3f}  "
              f"{int(np.isfinite(ssm[k]).sum()):8d}  {nv.mean() if nv.size else float('nan'):9.2f}")
    for p in (vv["OUTPUT"], nd["OUTPUT"], nd_on_vv["OUTPUT"], cd["OUTPUT_INDEX"], cd["OUTPUT_SSM"], png):
        print(f"  wrote {p}")


def soil_moisture_stations(out):
    """Raam stations, a Sentinel-1 stack simulated over them (simulators/soil_moisture_s1.py) → station
    samples → the CD + ANN hybrid trained with whole stations held out → maps → validated at the stations."""
    from sarsense.simulators import soil_moisture_s1 as sim

    d = os.path.join(out, "soil_moisture_stations")
    raam = os.path.join(REPO, "resources", "sample_data", "soil_moisture_raam")
    print(f"\nSimulating Sentinel-1 VV/VH over the Raam stations (Oh 2004 + Water Cloud Model, real Raam soil "
          f"moisture and MODIS NDVI, speckle ENL {sim.ENL:g}) …", flush=True)
    p = sim.scene(os.path.join(d, "scene"), step_days=12)["paths"]   # 31 acquisitions, 12-day repeat
    imp = step("sarsense:importismn", INPUT=raam, OUTPUT_STATIONS=os.path.join(d, "raam_stations.gpkg"),
               OUTPUT_VALUES=os.path.join(d, "raam_values.csv"))
    where = dict(STATIONS=imp["OUTPUT_STATIONS"], VALUES=imp["OUTPUT_VALUES"])
    ext = _run_multi("sarsense:extractstations", [p["VV"], p["VH"], p["NDVI"], p["theta"]], key="RASTERS", **where,
                     OUTPUT=os.path.join(d, "samples.gpkg"))
    keys = [0, 3, 2, 5, 6, 4, 7]   # the paper's set (i): VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t
    train = _run_multi("sarsense:trainannmoisture", keys, key="INPUTS", SAMPLES=ext["OUTPUT"], SPLIT=0, SEED=0,
                       OUTPUT_MODEL=os.path.join(d, "hybrid.onnx"), OUTPUT_HTML=os.path.join(d, "training_report.html"))
    import csv
    with open(imp["OUTPUT_VALUES"], newline="") as fh:
        insitu = [float(r["soil_moisture"]) for r in csv.DictReader(fh) if r.get("soil_moisture")]
    cd = step("sarsense:changedetection", INPUT=p["VV"], INPUT_UNITS=1, SSM_MIN=round(min(insitu), 3),
              SSM_MAX=round(max(insitu), 3), OUTPUT_INDEX=os.path.join(d, "i_ssm.tif"),
              OUTPUT_SSM=os.path.join(d, "ssm_cd.tif"), OUTPUT_DVV=os.path.join(d, "dvv.tif"))
    ratio = step("sarsense:polratio", CROSS=p["VH"], CO=p["VV"], INPUT_UNITS=1, OUTPUT=os.path.join(d, "vh_vv.tif"))
    ann = _run_multi("sarsense:annmoisture", [p["VV"], p["NDVI"], p["theta"], cd["OUTPUT_DVV"], cd["OUTPUT_INDEX"],
                                              ratio["OUTPUT"], cd["OUTPUT_SSM"]], MODEL=train["OUTPUT_MODEL"],
                     OUTPUT=os.path.join(d, "ssm_hybrid.tif"), OUTPUT_SPREAD=os.path.join(d, "ssm_hybrid_spread.tif"))
    at = _run_multi("sarsense:extractstations", [ann["OUTPUT"]], key="RASTERS", **where,
                    OUTPUT=os.path.join(d, "ssm_hybrid_at_stations.gpkg"))
    val = step("sarsense:validatemoisture", SAMPLES=at["OUTPUT"], ESTIMATE_FIELD="ssm_hybrid",
               REFERENCE_FIELD="ssm_insitu", GROUP_FIELD="station", OUTPUT_TABLE=os.path.join(d, "validation.csv"),
               OUTPUT_HTML=os.path.join(d, "validation_report.html"))
    print(f"\nSoil moisture at stations: {imp['N_STATIONS']} Raam stations, {ext['N_SAMPLES']} station-dates of "
          "SIMULATED Sentinel-1 (simulated skill, not real skill). Held-out stations (split by station, 70/30):")
    print(f"  {'method':34} {'RMSE m³/m³':>10} {'R':>6}   paper RMSE (real S1, random split)")
    for label, rmse, r, paper in (("classic change detection (eq. 2-3)", "RMSE_CLASSIC", "R_CLASSIC", 0.074),
                                  ("corrected change detection (eq. 7)", "RMSE_CORRECTED", "R_CORRECTED", 0.068),
                                  ("CD + ANN hybrid", "RMSE", "R", 0.062)):
        print(f"  {label:34} {train[rmse]:10.4f} {train[r]:6.3f}   {paper:.3f}")
    print(f"  maps of the hybrid at all {imp['N_STATIONS']} stations (training ones included): "
          f"RMSE {val['RMSE']:.4f} m³/m³, R {val['R']:.3f}, N {val['N']}")
    for f in (train["OUTPUT_HTML"], val["OUTPUT_HTML"], ann["OUTPUT"], ann["OUTPUT_SPREAD"]):
        print(f"  wrote {f}")


def _run_multi(alg, files, *, key="INPUTS", **params):
    """``step`` for an algorithm with a multiple-layer parameter ``key`` (repeated on the command line)."""
    cmd = [QGIS_PROCESS, "run", alg, "--json", *[f"--{key}={f}" for f in files],
           *[f"--{k}={v}" for k, v in params.items()]]
    res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    if res.returncode != 0:
        sys.exit(f"qgis_process failed:\n{res.stdout}\n{res.stderr}")
    return json.loads(res.stdout[res.stdout.index("{"):])["results"]


def rice(out):
    """Paddy rice on the simulated landscape: the shipped chain end to end, then accuracy and area."""
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from sarsense.simulators import rice_landscape as rl
    sim_dir = os.path.join(out, "rice_simulated")
    sc = rl.write_scene(sim_dir, rows=400, cols=400, seed=0, reference_points=800)
    true_ha = float((sc["classes"] == rl.RICE).sum() * rl.PIXEL ** 2 / 1e4)
    paths = {k: os.path.join(out, f"rice_{k}") for k in ("map.tif", "doy.tif", "accuracy.csv", "accuracy.html")}
    print(f"\n$ {QGIS_PROCESS} run sarsense:rice_mapping --vh_scenes=… (17 dates) --season_start=2019-03-10 …",
          flush=True)
    _run_multi("sarsense:rice_mapping", sc["paths"]["vh"], key="vh_scenes", water=sc["paths"]["water"],
               season_start="2019-03-10", season_end="2019-04-27", water_date="2019-01-21", min_field_px=10,
               reference=sc["paths"]["reference"], reference_field="rice", reported_ha=f"1={true_ha:.1f}",
               **{"sieve:Rice map": paths["map.tif"], "rule:Transplanting day of year": paths["doy.tif"],
                  "accuracy:Accuracy and area table": paths["accuracy.csv"],
                  "accuracy:Accuracy report": paths["accuracy.html"]})
    acc = step("sarsense:accuracyassessment", CLASSIFIED=paths["map.tif"], REFERENCE=sc["paths"]["reference"],
               CLASS_FIELD="rice", OUTPUT_TABLE="TEMPORARY_OUTPUT", OUTPUT_HTML=os.path.join(out, "rice_acc2.html"))
    with open(paths["accuracy.csv"], newline="") as f:
        row = {int(r["code"]): r for r in csv.DictReader(f)}[1]
    rice_map = gdal.Open(paths["map.tif"]).ReadAsArray()
    doy = gdal.Open(paths["doy.tif"]).ReadAsArray()
    doy[rice_map != 1] = np.nan            # the sieve may have removed a rice patch: no date there
    truth_doy = sc["doy"]
    both = (rice_map == 1) & (sc["classes"] == rl.RICE)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), constrained_layout=True)
    axes[0].imshow(sc["classes"] == rl.RICE, cmap=ListedColormap(["#e0e0e0", "#33a02c"]), interpolation="nearest")
    axes[0].set_title("simulated truth: early rice", fontsize=10)
    axes[1].imshow(np.where(rice_map == 255, np.nan, rice_map), cmap=ListedColormap(["#e0e0e0", "#33a02c"]),
                   interpolation="nearest")
    axes[1].set_title(f"mapped rice (threshold rule + sieve): OA {100 * acc['OA']:.1f} %", fontsize=10)
    im = axes[2].imshow(doy, cmap="viridis", vmin=69, vmax=105, interpolation="nearest")
    axes[2].set_title("transplanting (flooding) date, day of year", fontsize=10)
    for ax in axes:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[2], shrink=0.8, label="day of year 2019 (69 = 10 March)")
    fig.suptitle("Paddy rice after Liu et al. (2020) on a SIMULATED Sentinel-1 VH landscape "
                 "(simulators/rice_landscape.py) — simulated skill, not real skill", fontsize=10)
    png = os.path.join(out, "quicklook_rice.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    print("\nEarly paddy rice, simulated Lingao-like landscape (400 x 400 px at 10 m, 17 dates, gamma speckle "
          f"ENL {rl.ENL}). SIMULATED data: these figures show the method works as specified, not real-world skill.")
    print(f"  overall accuracy {100 * acc['OA']:.2f} %, kappa {acc['KAPPA']:.4f} "
          f"(rice PA {100 * float(row['PA']):.1f} %, UA {100 * float(row['UA']):.1f} %; 800 random reference points)")
    print(f"  rice area: mapped {float(row['mapped_ha']):.1f} ha, estimated {float(row['estimated_ha']):.1f} ± "
          f"{float(row['ci95_ha']):.1f} ha (95 %, Olofsson et al. 2014), simulated truth {true_ha:.1f} ha "
          f"(mapped {100 * float(row['rel_error_mapped']):+.1f} %)")
    print(f"  transplanting date: median |mapped − simulated| "
          f"{np.nanmedian(np.abs(doy[both] - truth_doy[both])):.1f} days (one revisit = 12 days)")
    for p in (paths["map.tif"], paths["doy.tif"], paths["accuracy.csv"], paths["accuracy.html"], png):
        print(f"  wrote {p}")


MODIS_HDF = os.path.join(REPO, "resources", "sample_data", "modis_lst", "MOD11A1.A2019305.h14v09.006.2019306084028.hdf")
LANDSAT = os.path.join(REPO, "resources", "sample_data", "landsat_olinda", "L7_ETMs_olinda.tif")
#: A test block of the bundled U-Net's split (models/training/lst_superresolution.py, lst_patches, seed 20261121): never
#: seen in training or validation. Rows 600–800, columns 200–400 of the tile; 97 % of its day LST produced.
HELD_OUT_WINDOW = (200, 600, 200, 200)          # x, y, width, height (1 km pixels)
#: The 1 km pixels of the tile wholly inside the Olinda Landsat footprint (its corners fall at columns
#: 650.3–661.9, rows 954.0–964.9 of the sinusoidal grid).
OLINDA_WINDOW = (652, 955, 9, 9)


def read_celsius(path):
    """Band 1 of an LST GeoTIFF in °C (kelvin outputs of SARSense; NaN nodata)."""
    return gdal.Open(path).ReadAsArray().astype(np.float32) - 273.15


def lst(out):
    """MODIS LST ×4: the paper's protocol on a held-out window, then the four methods over Olinda."""
    sub = f'HDF4_EOS:EOS_GRID:"{MODIS_HDF}":MODIS_Grid_Daily_1km_LST:LST_Day_1km'
    # windows cut as Raster ▸ Extraction ▸ Clip would: raw MODIS values, their 0.02 K scale and fill value kept
    truth = os.path.join(out, "lst_heldout_1km.tif")
    gdal.Translate(truth, sub, srcWin=list(HELD_OUT_WINDOW))
    olinda = os.path.join(out, "lst_olinda_1km.tif")
    gdal.Translate(olinda, sub, srcWin=list(OLINDA_WINDOW))
    print(f"\n(cut with GDAL from {sub}: {HELD_OUT_WINDOW[2]}x{HELD_OUT_WINDOW[3]} px at column {HELD_OUT_WINDOW[0]}, "
          f"row {HELD_OUT_WINDOW[1]}, and the 9x9 px over Olinda)")
    coarse = step("sarsense:degradelst", INPUT=truth, FACTOR=4, OUTPUT=os.path.join(out, "lst_heldout_4km.tif"))
    rows, estimates = [], {}
    for m, name in ((1, "bicubic"), (0, "U-Net")):
        tag = name.lower().replace("-", "")
        sr = step("sarsense:lstsuperresolution", INPUT=coarse["OUTPUT"], METHOD=m,
                  OUTPUT=os.path.join(out, f"lst_heldout_{tag}_1km.tif"))
        q = step("sarsense:imagequality", REFERENCE=truth, ESTIMATE=sr["OUTPUT"], PATCH=64,
                 OUTPUT_TABLE=os.path.join(out, f"lst_heldout_{tag}_quality.csv"))
        rows.append((name, q))
        estimates[name] = sr["OUTPUT"]
    png = os.path.join(out, "quicklook_lst_heldout.png")
    quicklook([("MODIS LST 1 km (truth)", read_celsius_modis(truth)),
               ("Norm-L4 4 km (input)", read_celsius(coarse["OUTPUT"])),
               ("bicubic ×4", read_celsius(estimates["bicubic"])),
               ("multi-residual U-Net ×4", read_celsius(estimates["U-Net"]))],
              png, cmap="inferno", label="LST (°C)", size=(3.3, 3.9),
              suptitle="MOD11A1 day LST 2019-11-01, h14v09 rows 600–800, cols 200–400 (a held-out block): "
                       "1 km → 4 km → 1 km, the paper's protocol")

    # Olinda: the application, 1 km → 250 m, every method; TsHARP/ATPRK with the Landsat NDVI
    ndvi = step("sarsense:ndvi", RED=LANDSAT, RED_BAND=3, NIR=LANDSAT, NIR_BAND=4, MASK_OUTSIDE="false",
                OUTPUT=os.path.join(out, "olinda_ndvi_dn.tif"))
    fine, coherence = {}, []
    for m, name in ((1, "bicubic"), (0, "U-Net"), (2, "TsHARP"), (3, "ATPRK")):
        extra = {"NDVI": ndvi["OUTPUT"]} if m >= 2 else {}
        tag = name.lower().replace("-", "")
        sr = step("sarsense:lstsuperresolution", INPUT=olinda, METHOD=m, **extra,
                  OUTPUT=os.path.join(out, f"lst_olinda_{tag}_250m.tif"))
        fine[name] = (sr["OUTPUT"], read_celsius(sr["OUTPUT"]))
        back = step("sarsense:degradelst", INPUT=sr["OUTPUT"], FACTOR=4,
                    OUTPUT=os.path.join(out, f"lst_olinda_{tag}_back_1km.tif"))
        q = step("sarsense:imagequality", REFERENCE=olinda, ESTIMATE=back["OUTPUT"], PATCH=0,
                 OUTPUT_TABLE=os.path.join(out, f"lst_olinda_{tag}_coherence.csv"))
        coherence.append((name, q, float(np.nanstd(fine[name][1]))))
    png2 = os.path.join(out, "quicklook_lst_olinda.png")
    quicklook([("MODIS LST 1 km (input)", read_celsius_modis(olinda))] +
              [(f"{n} ×4 (250 m)", a) for n, (_, a) in fine.items()], png2,
              cmap="inferno", label="LST (°C)", size=(3.3, 3.9),
              suptitle="Olinda (Brazil), MOD11A1 day LST 2019-11-01, all produced pixels → 250 m; NDVI: Landsat-7 "
                       "ETM+ DN, another date — no 250 m truth here")

    print("\nLand-surface temperature x4, real MODIS MOD11A1 (h14v09, 2019-11-01 day, all produced pixels; "
          "NASA LP DAAC)")
    print("  1) the paper's protocol on a held-out block (200x200 km): 1 km truth -> Norm-L4 4 km -> x4 -> scored "
          "against the truth (whole window; PSNR with its dynamic range, eq. 2)")
    print(f"  {'method':9} {'RMSE K':>7} {'bias K':>7} {'PSNR dB':>8} {'SSIM eq.3':>9} {'SSIM 7x7':>8}")
    for name, q in rows:
        print(f"  {name:9} {q['RMSE']:7.3f} {q['BIAS']:+7.3f} {q['PSNR']:8.2f} {q['SSIM']:9.3f} "
              f"{q['SSIM_WINDOWED']:8.3f}")
    print("  2) Olinda, 9x9 km: 1 km -> 250 m. No 250 m LST exists here, so no skill is scored: 'coherence' is the "
          "RMSE between the 250 m result aggregated back (Norm-L4) and the 1 km input (TsHARP and ATPRK keep it "
          "by construction); 'detail' is the spatial std of the 250 m result.")
    print(f"  {'method':9} {'coherence RMSE K':>16} {'detail std K':>12}")
    for name, q, std in coherence:
        print(f"  {name:9} {q['RMSE']:16.3f} {std:12.2f}")
    print("  The Landsat image (stars sample, DN, no calibration) is from another date than the LST: TsHARP/ATPRK "
          "here show the methods run, not their accuracy.")
    for p in (truth, coarse["OUTPUT"], *estimates.values(), png, olinda, ndvi["OUTPUT"],
              *(p for p, _ in fine.values()), png2):
        print(f"  wrote {p}")


def read_celsius_modis(path):
    """A raw MODIS LST window (0.02 K scale, fill 0) in °C."""
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)
    a = band.ReadAsArray().astype(np.float32)
    a[a == band.GetNoDataValue()] = np.nan
    return a * band.GetScale() + (band.GetOffset() or 0.0) - 273.15


#: A simulated EW scene outside the bundled model's training, validation and test seeds
#: (models/training/sea_ice_concentration.py).
SEA_ICE_SEED, SEA_ICE_SIDE = 4242, 1536


def sea_ice(out):
    """A simulated EW scene charted by the bundled U-Net, its ice chart drawn on the same grid, the skill scored."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from sarsense.algorithms.sea_ice import classes as sic
    from sarsense.simulators import sea_ice_scenes as sim

    d = os.path.join(out, "sea_ice_simulated")
    scene = sim.simulate((SEA_ICE_SIDE, SEA_ICE_SIDE), seed=SEA_ICE_SEED)
    paths = sim.write_scene(d, scene, name="ew")
    polygons = sim.chart_polygons(os.path.join(d, "ice_chart_sigrid3.gpkg"), scene)
    land = os.path.join(d, "land.gpkg")        # the chart's land polygons as the land mask, as an analyst would
    gdal.VectorTranslate(land, polygons, where="POLY_TYPE = 'L'")
    chart = step("sarsense:seaiceconcentration", HH=paths["hh"], HV=paths["hv"], LAND=land, MODE=0, BUDGET_MB=2048,
                 OUTPUT=os.path.join(out, "sea_ice_sic.tif"),
                 OUTPUT_EXPECTED=os.path.join(out, "sea_ice_sic_expected.tif"))
    ref = step("sarsense:icechartclasses", CHART=polygons, REFERENCE=chart["OUTPUT"],
               OUTPUT=os.path.join(out, "sea_ice_chart_classes.tif"))
    skill = step("sarsense:seaiceskill", PREDICTED=chart["OUTPUT"], REFERENCE=ref["OUTPUT"],
                 OUTPUT_TABLE=os.path.join(out, "sea_ice_skill.csv"),
                 OUTPUT_HTML=os.path.join(out, "sea_ice_skill.html"))
    pred = gdal.Open(chart["OUTPUT"]).ReadAsArray().astype(np.float32)
    truth = gdal.Open(ref["OUTPUT"]).ReadAsArray().astype(np.float32)
    cmap = ListedColormap(sic.WMO_COLOURS)
    norm = BoundaryNorm(np.arange(-0.5, 11), cmap.N)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.8), constrained_layout=True)
    for ax, (title, arr, kw) in zip(axes, (
            ("HH (dB), 40 m", scene["hh_db"], dict(cmap="gray", vmin=-30, vmax=-5)),
            ("HV (dB), 40 m", scene["hv_db"], dict(cmap="gray", vmin=-35, vmax=-15)),
            ("ice chart (SIGRID-3 → classes), 80 m", np.where(truth == 255, np.nan, truth), dict(cmap=cmap, norm=norm)),
            (f"U-Net: R² {skill['R2']:.3f}, weighted F1 {skill['F1_WEIGHTED']:.3f}",
             np.where(pred == 255, np.nan, pred), dict(cmap=cmap, norm=norm)))):
        im = ax.imshow(arr, interpolation="nearest", **kw)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    bar = fig.colorbar(im, ax=axes[2:], shrink=0.8, ticks=range(11))
    bar.set_ticklabels([f"{10 * k} %" for k in range(11)])
    bar.set_label("sea-ice concentration (WMO colours); land: blank")
    fig.suptitle("Sea-ice concentration (Stokholm et al. 2022) on a SIMULATED Sentinel-1 EW scene "
                 "(simulators/sea_ice_scenes.py) with the demonstration model — simulated skill, not real skill",
                 fontsize=10)
    png = os.path.join(out, "quicklook_sea_ice.png")
    fig.savefig(png, dpi=100)
    plt.close(fig)
    print(f"\nSea-ice concentration, SIMULATED Sentinel-1 EW scene ({SEA_ICE_SIDE}x{SEA_ICE_SIDE} px at 40 m, seed "
          f"{SEA_ICE_SEED}, never seen in training): bundled demonstration U-Net, full scene at 80 m")
    print(f"  R² of SIC (eq. 7) {skill['R2']:.3f}, class-weighted F1 {skill['F1_WEIGHTED']:.3f}, accuracy "
          f"{skill['ACCURACY']:.3f} against the scene's own chart. Simulated skill: the model never saw real SAR.")
    for p in (paths["hh"], paths["hv"], polygons, chart["OUTPUT"], chart["OUTPUT_EXPECTED"], ref["OUTPUT"],
              skill["OUTPUT_HTML"], png):
        print(f"  wrote {p}")


if __name__ == "__main__":
    main()
