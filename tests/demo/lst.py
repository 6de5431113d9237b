"""Demo, land-surface temperature: real ECOSTRESS and MODIS LST ×4 (the paper's protocol on held-out scenes and
blocks the bundled U-Net never saw; the four methods over Olinda)."""

import json
import os

import numpy as np
from common import REPO, quicklook, step
from osgeo import gdal


def run(out):
    ecostress(out)
    lst(out)


HELDOUT = os.path.join(REPO, "resources", "sample_data", "ecostress_la_heldout")
#: The test block the demo scores (rows 256–512, columns 512–768 of the recipe's UTM 11N 70 m grid: all land,
#: no cloud in the three test scenes).
DEMO_BLOCK = (256, 512)


def ecostress(out):
    """ECOSTRESS 70 m ×4 on the held-out scenes (dates) and block (ground) of the bundled U-Net's split."""
    from sarsense.models.training import lst_ecostress as eco  # the recipe's own warp: the card's test data

    doc = json.loads(open(os.path.join(HELDOUT, "heldout.json"), encoding="utf-8").read())
    rows, looks = [], {}
    by, bx = DEMO_BLOCK
    for name, scene in sorted(doc["scenes"].items(), key=lambda kv: not kv[1]["day"]):
        crop = os.path.join(HELDOUT, eco.crop_name(name, by, bx))
        tag = f"eco_{scene['doy']:03d}"
        truth = os.path.join(out, f"{tag}_70m.tif")
        te = " ".join(f"{v:.0f}" for v in eco.block_bounds(by, bx))
        print(f"\n$ gdalwarp -t_srs EPSG:32611 -tr 70 70 -r bilinear -te {te} -et 0 -wo XSCALE=0.832 -wo YSCALE=1 "
              f"-ot Float32 (scale applied) {os.path.basename(crop)} {truth}")
        eco.warp_kelvin(crop, truth, eco.block_bounds(by, bx))
        coarse = step("sarsense:degradelst", INPUT=truth, FACTOR=4, OUTPUT=os.path.join(out, f"{tag}_280m.tif"))
        res = {}
        for m, method in ((1, "bicubic"), (0, "U-Net")):
            sr = step("sarsense:lstsuperresolution", INPUT=coarse["OUTPUT"], METHOD=m,
                      OUTPUT=os.path.join(out, f"{tag}_{method.lower().replace('-', '')}_70m.tif"))
            table = os.path.join(out, f"{tag}_{method.lower().replace('-', '')}_quality.csv")
            res[method] = (sr["OUTPUT"], step("sarsense:imagequality", REFERENCE=truth, ESTIMATE=sr["OUTPUT"], PATCH=64,
                                              OUTPUT_TABLE=table))
        rows.append((scene["label"], res))
        looks[scene["label"]] = (truth, coarse["OUTPUT"], res)
    label = next(lb for lb in looks if "day" in lb)
    truth, coarse, res = looks[label]
    png = os.path.join(out, "quicklook_lst_ecostress.png")
    quicklook([("ECOSTRESS 70 m (truth)", read_celsius(truth)), ("Norm-L4 280 m (input)", read_celsius(coarse)),
               ("bicubic ×4", read_celsius(res["bicubic"][0])),
               ("multi-residual U-Net ×4", read_celsius(res["U-Net"][0]))],
              png, cmap="inferno", label="LST (°C)", size=(3.3, 3.9),
              suptitle=f"ECOSTRESS LST {label}, Los Angeles basin, a held-out 18 km block: 70 m → 280 m → 70 m")
    print("\nLand-surface temperature x4, real ECOSTRESS L2 LST (Los Angeles basin, 2023; NASA LP DAAC): scenes and "
          "ground the bundled U-Net never saw (its card: test scenes x test blocks)")
    print("  70 m truth -> Norm-L4 280 m -> x4 -> scored against the truth over the whole 256x256 block (PSNR with the "
          "block's dynamic range, eq. 2; the 64x64 patches' figures in the CSV tables)")
    print(f"  {'scene':34} {'method':9} {'RMSE K':>7} {'PSNR dB':>8} {'SSIM 7x7':>8} {'U-Net - bicubic':>16}")
    for label, res in rows:
        b, u = res["bicubic"][1], res["U-Net"][1]
        print(f"  {label:34} {'bicubic':9} {b['RMSE']:7.3f} {b['PSNR']:8.2f} {b['SSIM_WINDOWED']:8.3f}")
        print(f"  {'':34} {'U-Net':9} {u['RMSE']:7.3f} {u['PSNR']:8.2f} {u['SSIM_WINDOWED']:8.3f} "
              f"{u['PSNR'] - b['PSNR']:+15.2f} dB")
    print("  All test blocks and patches, per part of day, with N and the paper's figures: "
          "models/lst_superresolution.md")
    print(f"  wrote {png}")


MODIS_HDF = os.path.join(REPO, "resources", "sample_data", "modis_lst", "MOD11A1.A2019305.h14v09.006.2019306084028.hdf")
LANDSAT = os.path.join(REPO, "resources", "sample_data", "landsat_olinda", "L7_ETMs_olinda.tif")
#: A test block of the bundled U-Net's split (models/training/lst_modis.py, lst_patches, seed 20261121): never
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
    # 8-bit DN with no known reflectance scale: 1/255 makes them fractions (NDVI unchanged by a scale alone)
    ndvi = step("sarsense:ndvi", RED=LANDSAT, RED_BAND=3, NIR=LANDSAT, NIR_BAND=4, SCALE=0.004, MASK_OUTSIDE="false",
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
