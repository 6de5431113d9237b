"""sarsen's geometric terrain correction of one GRD band onto a DEM's grid: the peer of bench section 9.

Run by tests/bench/sentinel1.py with the bench venv's Python (``make bench-sarsen`` makes ``.venv-bench``, with
sarsen and its xarray stack; never QGIS's Python), as its own process under /usr/bin/time. It is ``sarsen gtc``
(``sarsen.terrain_correction``, no radiometric flattening: β0 on the DEM's grid, float32, ZSTD) with one change
so that both sides compute the same quantity: ``interp_method="linear"`` (bilinear in linear power, as
SARSense's importer) where the CLI's default is nearest neighbour.

    python sarsen_gtc.py PRODUCT.SAFE IW/VV DEM.tif OUT.tif
"""

import sys

import sarsen


def main(safe, group, dem, out):
    product = sarsen.Sentinel1SarProduct(safe, group)
    sarsen.terrain_correction(product, dem, output_urlpath=out, interp_method="linear")


if __name__ == "__main__":
    main(*sys.argv[1:5])
