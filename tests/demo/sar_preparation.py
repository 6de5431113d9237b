"""Demo, SAR preparation: the Camargue scene (pyroSAR sample, MIT) through convertunits, despeckle and the
bundled example model (applymodel)."""

import os

import numpy as np
from common import REPO, quicklook, read_db, step
from osgeo import gdal

SCENE = os.path.join(REPO, "resources", "sample_data", "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif")


def run(out):
    """dB → linear → Gamma-MAP 5×5 → dB on the Camargue scene, then the bundled example network on simulated
    single-look speckle."""
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
