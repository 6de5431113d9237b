"""`make demo`: the SAR preparation chain and the model chain on the bundled Sentinel-1 scene, headless.

dB → linear → Gamma-MAP 5×5 → dB, each step a `qgis_process.bin run sarsense:...` call against the
plugin that `make install-plugin` put into the default QGIS profile; then the bundled example model
(`sarsense:applymodel`) on the same scene with simulated single-look speckle; then soil moisture on
the bundled Bolivia series (VV dB stack + Landsat NDVI → NDVI on the radar dates → change detection →
SSM maps), and a SIMULATED two-orbit site (simulators/soil_moisture_orbits.py: change detection per orbit
and pooled, each checked against the site's rain with sarsense:rainresponse); then paddy rice on the
simulated landscape (the shipped chain rice_mapping.model3, accuracy and area with its confidence interval);
then land-surface temperature on the real MODIS h14v09 tile
(the paper's protocol on a held-out window: Norm-L4 to 4 km, U-Net and bicubic back to 1 km, scored;
and the four methods 1 km → 250 m over the Olinda Landsat footprint). Writes GeoTIFFs and PNG quicklooks
and prints where they are.
"""

import argparse
import importlib
import os

from common import REPO

#: The sections, one file per suite, in the order they run.
SUITES = ("sar_preparation", "soil_moisture", "crop", "lst", "sea_ice")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "demo_output"))
    ap.add_argument("--only", nargs="+", choices=SUITES, default=SUITES, help="run these sections only")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for suite in SUITES:
        if suite in args.only:
            importlib.import_module(suite).run(args.out)


if __name__ == "__main__":
    main()
