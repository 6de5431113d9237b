"""`make bench`: SARSense speckle filters against OTB 8.1's otbcli_Despeckle, file to file, same run.

1. Engine: Lee, Gamma-MAP, Frost and Kuan at 5×5 on float32 GeoTIFFs of 4096² and 8192² pixels, wall
   time and peak RSS of each side, the throughput ratio (OTB time / SARSense time) and, as the floor,
   the time gdal_translate needs to copy the same file.
2. End to end, as users run it: `qgis_process.bin run sarsense:despeckle` (start-up included, median
   of 3) against otbcli_Despeckle (median of 3) at 8192².
3. Memory through qgis_process: peak RSS of every SAR-preparation algorithm at 8192², and of
   applymodel on 8000×8000×2 with its default 512 MiB budget, above `qgis_process.bin list`
   (QGIS's start-up), with QGIS's and GDAL's own caches counted.
4. Soil moisture: `sarsense:changedetection` through qgis_process on a 4096² × 30-date stack
   against gdal_translate copying the same stack (the I/O floor), and its peak RSS.
5. Rice: on a 4096² × 20-date VH stack of the simulated landscape (simulators/rice_landscape.py),
   `sarsense:svmapply` through qgis_process against otbcli_ImageClassifier, both with an RBF SVM
   (γ 0.125, C 100) trained on the same 480 samples (ours: the model file; OTB:
   otbcli_TrainVectorClassifier on those samples as vector features), throughput ratio, agreement
   and peak RSS; then waternormalized and ricethreshold through qgis_process against the
   gdal_translate copy of the stack.
6. LST: the full real MOD11A1 tile h14v09 (1200², LST_Day_1km, QC filter on) ×4 through qgis_process with
   each method of `sarsense:lstsuperresolution` (TsHARP and ATPRK with a synthetic 250 m NDVI: only the time
   counts), time, output Mpx/s and peak RSS; then Keys bicubic ×4 of the same tile, file to file, against
   `gdalwarp -r cubic` (GDAL's Keys kernel) to the same grid.
7. Sea ice: a 5000 × 5200 scene at 80 m (one AI4Arctic scene's size after downsampling; simulated HH/HV,
   simulators/sea_ice_scenes.py, tiled from a 1250 × 1300 simulated scene) charted by
   `sarsense:seaiceconcentration` through qgis_process (DOWNSAMPLE 1) in tiled mode at its default 512 MiB
   budget and in full-scene mode with the budget a whole scene needs (or, where this machine's memory cannot
   hold that, the largest square part of the scene that fits, said so), time and peak RSS; and the
   agreement of full-scene and tiled charts of the same raster.
8. Soil moisture II: `sarsense:annmoisture` with the bundled CD + ANN ensemble through qgis_process on seven
   4096² predictor rasters of one date (VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t), output Mpx/s with QGIS's start-up
   included and without it, and peak RSS above start-up; then the same number of output pixels as a 512² ×
   61-date series (predictor stacks written as changedetection writes them), which must not be slower per pixel.
9. Sentinel-1 import: a full-size IW GRDH product (25 788 × 16 685 samples, VV; simulators/s1_safe.py in the
   real product's geometry) through `qgis_process run sarsense:importsentinel1` (start-up included) against
   `gdalwarp -tps -r bilinear` of the same measurement TIFF to the same grid (the floor: GDAL's warp of the raw
   DN, no calibration), and its peak RSS above start-up; then the same with a 3" DEM (range-Doppler).
Each side runs as its own process under /usr/bin/time so peak RSS is the whole process's. Not a
test: timings vary between machines; only ratios measured in the same run are quoted (docs/performance.md).
"""

import argparse
import importlib
import os
import tempfile

from common import QGIS_PROCESS

#: The sections, one file per suite, in the order they run (models: neural_networks.py, in .venv-train).
SUITES = ("sar_preparation", "soil_moisture", "crop", "lst", "sea_ice", "sentinel1")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=SUITES, default=SUITES, help="run these sections only")
    ap.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192], help="SAR preparation: raster sides")
    ap.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--compression", default="NONE", help="SARSense output compression (OTB writes uncompressed)")
    args = ap.parse_args()
    failed = []
    for suite in SUITES:
        if suite not in args.only or (suite != "sar_preparation" and not os.path.exists(QGIS_PROCESS)):
            continue
        with tempfile.TemporaryDirectory(prefix="sarsense-bench-") as tmp:
            module = importlib.import_module(suite)
            if suite == "sar_preparation":
                failed += module.run(tmp, sizes=args.sizes, workers=args.workers, compression=args.compression)
            else:
                failed += module.run(tmp)
    print("\nmodels (the shipped model chain, LST- and sea-ice-size U-Nets): tests/bench/neural_networks.py, next")
    print("targets missed: " + (", ".join(failed) if failed else "none"))


if __name__ == "__main__":
    main()
