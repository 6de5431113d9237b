"""`make bench`: every section, one file per suite, each timing SARSense against a peer measured in the same run.

- ``sar_preparation.py``: 1. speckle filters against OTB's otbcli_Despeckle, file to file; 2. end to end through
  qgis_process; 3. peak RSS of every SAR-preparation algorithm and of applymodel through qgis_process;
- ``soil_moisture.py``: 4. changedetection against the copy of its stack; 8. annmoisture with the bundled hybrid;
- ``crop.py``: 5. svmapply against otbcli_ImageClassifier, waternormalized and ricethreshold against the copy;
- ``lst.py``: 6. every super-resolution method on the full MODIS tile, Keys bicubic against gdalwarp -r cubic;
- ``sea_ice.py``: 7. seaiceconcentration, tiled and full-scene, on one AI4Arctic-size scene;
- ``sentinel1.py``: 9. importsentinel1 of a full IW GRDH band against gdalwarp -tps, without and with a DEM, and
  against sarsen's terrain correction on an 80 km crop where ``make bench-sarsen`` made .venv-bench;
- ``dask_engine.py``: 10. the block engine on a Dask LocalCluster (SARSENSE_DASK_SCHEDULER=local:2) against the
  local engine, through qgis_process, and what a task costs;
- ``neural_networks.py`` (run after, in .venv-train): ONNX tiled inference against torch eager.

Each section's file says exactly what it measures. Not a test: timings vary between machines; only ratios
measured in the same run are quoted (docs/performance.md).
"""

import argparse
import importlib
import os
import tempfile

from common import QGIS_PROCESS

#: The sections, one file per suite, in the order they run (models: neural_networks.py, in .venv-train).
SUITES = ("sar_preparation", "soil_moisture", "crop", "lst", "sea_ice", "sentinel1", "dask_engine")


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
