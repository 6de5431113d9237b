"""Demo, soil moisture: change detection on the real Bolivia series, the stations chain (Raam stations,
simulated Sentinel-1) with the CD + ANN hybrid, and a SIMULATED two-orbit series checked against rain."""

import os

import numpy as np
from common import QGIS_PROCESS, REPO, run_multi, step
from osgeo import gdal


def run(out):
    soil_moisture(out)
    soil_moisture_stations(out)
    soil_moisture_orbits(out)


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
    first_two = " ".join(f"--INPUTS={f}" for f in vv_files[:2])
    print(f"\n$ {QGIS_PROCESS} run sarsense:buildstack {first_two} … --DROP_EMPTY=true", flush=True)
    vv = run_multi("sarsense:buildstack", vv_files, DROP_EMPTY="true", OUTPUT=os.path.join(out, "sm_vv_stack.tif"))
    nd = run_multi("sarsense:buildstack", nd_files, DROP_EMPTY="true", OUTPUT=os.path.join(out, "sm_ndvi_stack.tif"))
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
    ext = run_multi("sarsense:extractstations", [p["VV"], p["VH"], p["NDVI"], p["theta"]], key="RASTERS", **where,
                     OUTPUT=os.path.join(d, "samples.gpkg"))
    keys = [0, 3, 2, 5, 6, 4, 7]   # the paper's set (i): VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t
    train = run_multi("sarsense:trainannmoisture", keys, key="INPUTS", SAMPLES=ext["OUTPUT"], SPLIT=0, SEED=0,
                       OUTPUT_MODEL=os.path.join(d, "hybrid.onnx"), OUTPUT_HTML=os.path.join(d, "training_report.html"))
    import csv
    with open(imp["OUTPUT_VALUES"], newline="") as fh:
        insitu = [float(r["soil_moisture"]) for r in csv.DictReader(fh) if r.get("soil_moisture")]
    cd = step("sarsense:changedetection", INPUT=p["VV"], INPUT_UNITS=1, SSM_MIN=round(min(insitu), 3),
              SSM_MAX=round(max(insitu), 3), POROSITY=max(0.5, round(max(insitu), 3)),  # saturation ≥ the wettest
              OUTPUT_INDEX=os.path.join(d, "i_ssm.tif"),
              OUTPUT_SSM=os.path.join(d, "ssm_cd.tif"), OUTPUT_DVV=os.path.join(d, "dvv.tif"))
    ratio = step("sarsense:polratio", CROSS=p["VH"], CO=p["VV"], INPUT_UNITS=1, OUTPUT=os.path.join(d, "vh_vv.tif"))
    ann = run_multi("sarsense:annmoisture", [p["VV"], p["NDVI"], p["theta"], cd["OUTPUT_DVV"], cd["OUTPUT_INDEX"],
                                              ratio["OUTPUT"], cd["OUTPUT_SSM"]], MODEL=train["OUTPUT_MODEL"],
                     OUTPUT=os.path.join(d, "ssm_hybrid.tif"), OUTPUT_SPREAD=os.path.join(d, "ssm_hybrid_spread.tif"))
    at = run_multi("sarsense:extractstations", [ann["OUTPUT"]], key="RASTERS", **where,
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


def soil_moisture_orbits(out):
    """A SIMULATED site seen by two ascending relative orbits (simulators/soil_moisture_orbits.py), its CF cube
    read directly → change detection one orbit at a time and pooled → each checked against the site's rain
    (sarsense:rainresponse)."""
    from sarsense.algorithms.soil_moisture import rain_response as rr
    from sarsense.simulators import soil_moisture_orbits as sim

    d = os.path.join(out, "soil_moisture_orbits_SIMULATED")
    print("\nSIMULATED Sentinel-1 over a 24 × 24 px site, orbits 88 (17:32 UTC) and 161 (17:40 UTC), S1A + S1B, "
          f"{sim.FIRST} … {sim.LAST}, with its daily rain (WGEN) and air temperature …", flush=True)
    paths, site = sim.write_site(d)
    rows, ssm, vv = [], {}, f'NETCDF:"{paths["cube"]}":VV'       # the cube's variable, read directly
    for label, orbits, screen in (("per orbit (ORBITS=0)", 0, {}), ("pooled (ORBITS=1)", 1, {}),
                                  ("per orbit, frozen screened", 0, {"TEMPERATURE": paths["t2m"]})):
        tag = f"orbits{orbits}" + ("_frozen_screened" if screen else "")
        cd = step("sarsense:changedetection", INPUT=vv, INPUT_UNITS=1, ORBITS=orbits, **screen,
                  OUTPUT_INDEX=os.path.join(d, f"i_ssm_{tag}.tif"), OUTPUT_SSM=os.path.join(d, f"ssm_{tag}.tif"))
        check = step("sarsense:rainresponse", INPUT=cd["OUTPUT_SSM"], RAIN=paths["rain"],
                     OUTPUT_TABLE=os.path.join(d, f"rain_pairs_{tag}.csv"),
                     OUTPUT_HTML=os.path.join(d, f"rain_check_{tag}_SIMULATED.html"))
        ssm.setdefault(orbits, gdal.Open(cd["OUTPUT_SSM"]).ReadAsArray())
        rows.append((label, check))
    t = np.array([(a["time"] - sim.dt.datetime(1970, 1, 1)).total_seconds() for a in site["acq"]])
    days = np.array([np.datetime64(x, "D") for x in site["days"]])
    truth = rr.response(site["ssm"].mean(axis=1), t, days, site["rain_mm"])
    print(f"\nRain check, SIMULATED data ({len(site['acq'])} acquisitions; the issue's real sites: ρ 0.31-0.45 and "
          "wet − dry 0.043-0.057 m³/m³ per orbit, ρ −0.07/−0.06 pooled):")
    print(f"  {'change detection':26} {'ρ ΔSSM-rain':>11} {'p':>6} {'wet − dry m³/m³':>16} {'pairs':>6}")
    for label, c in rows:
        print(f"  {label:26} {c['RHO']:+11.2f} {c['P_VALUE']:6.3f} {c['WET_MINUS_DRY']:+16.3f} {c['N_PAIRS']:6d}")
    print(f"  {'the simulated truth':26} {truth['rho']:+11.2f} {truth['p_value']:6.3f} {truth['wet_minus_dry']:+16.3f} "
          f"{truth['n_pairs']:6d}")
    if np.array_equal(ssm[0], ssm[1], equal_nan=True):
        print("  (this changedetection has no ORBITS parameter yet: every run pooled the orbits)")
    for f in (paths["cube"], paths["rain"], paths["t2m"], rows[0][1]["OUTPUT_HTML"]):
        print(f"  wrote {f}")
