"""Sentinel-1 GRD to calibrated, noise-removed backscatter with its incidence angle, geocoded (no SNAP).

Two block-wise passes, each at bounded memory:

1. :func:`to_image_geometry`: per polarisation ``(DN² − η)/A²`` (:mod:`.radiometry`) and the ellipsoid
   incidence angle from the geolocation grid (:mod:`.geometry`), in the product's own lines × samples, with
   the grid as ground control points;
2. :func:`geocode`: GDAL warps that image onto a map grid (default the UTM zone of the scene centre) through
   a thin-plate spline of the grid points (the best of GDAL's GCP transformers by leave-one-out on real IW
   and EW grids, :func:`.geometry.leave_one_out`), bilinear in linear power; a warped VRT is read block by
   block and written as the output, in dB if asked.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from osgeo import gdal

from .. import sar
from ..io import blocks as _blocks
from . import geometry, luts, radiometry

gdal.UseExceptions()

#: Default output pixel size (m) per acquisition mode (GRDH: IW 10 m, EW 40 m).
PIXEL_SIZE = {"IW": 10.0, "EW": 40.0, "SM": 10.0, "WV": 10.0}
QUANTITIES = ("sigma0", "gamma0", "beta0")


def utm_epsg(lon, lat):
    """EPSG code of the WGS 84 UTM zone of a point (north 326xx, south 327xx)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def needs_border_rule(ipf):
    """True for products of IPF before 2.90, whose border noise is not yet DN 0 (ESA changed it in 2.90)."""
    try:
        return tuple(int(x) for x in str(ipf).split(".")[:2]) < (2, 90)
    except ValueError:
        return True


def to_image_geometry(product, polarisations, output, *, calibration="sigma0", thermal_noise=True,
                      border_noise=True, compression="ZSTD", workers=1, budget_mb=_blocks.DEFAULT_BUDGET_MB,
                      progress=None,
                      is_canceled=None):
    """Write one band per polarisation (linear ``calibration``) and the incidence angle (°) in image geometry,
    with the geolocation grid as GCPs. DN 0 is no-data; with ``border_noise`` on a product of IPF < 2.90
    also gets :func:`.radiometry.border_noise` masked. Returns ``{"nodata": n, "below_noise": {pol: n},
    "border": {pol: n}, "border_rule": bool}`` (pixels)."""
    if calibration not in QUANTITIES:
        raise ValueError(f"calibration must be one of {', '.join(QUANTITIES)}, got {calibration!r}")
    pols = [p.upper() for p in polarisations]
    paths = [product.path(p, "measurement") for p in pols]
    cals = [luts.calibration_lut(product.read(p, "calibration"), calibration) for p in pols]
    noises = [luts.noise_luts(product.read(p, "noise")) if thermal_noise else None for p in pols]
    grid = geometry.geolocation_grid(product.read(pols[0], "annotation"))
    incidence = grid.lut("incidenceAngle")
    rule = border_noise and needs_border_rule(product.ipf)
    counts = {"nodata": 0, "below_noise": dict.fromkeys(pols, 0), "border": dict.fromkeys(pols, 0),
              "border_rule": rule}
    lock = threading.Lock()

    def kernel(block, where):
        rows, cols = where.rows, where.cols
        out = np.empty((len(pols) + 1,) + block.shape[1:], np.float32)
        nodata = np.ones(block.shape[1:], bool)
        for k, pol in enumerate(pols):
            out[k], below = radiometry.calibrate(block[k], rows, cols, cals[k], noises[k])
            border = radiometry.border_noise(block[k], out[k]) if rule else np.zeros_like(below)
            out[k][border] = np.nan
            nodata &= block[k] == 0
            with lock:   # counted on the block's core (its halo is another block's core)
                counts["below_noise"][pol] += int(where.core_of(below & ~border).sum())
                counts["border"][pol] += int(where.core_of(border).sum())
        out[-1] = incidence.block(rows, cols)
        out[-1][nodata] = np.nan                     # outside the image (every polarisation at DN 0)
        with lock:
            counts["nodata"] += int(where.core_of(nodata).sum())
        return out

    names = [f"{p} {calibration}" for p in pols] + ["incidence angle"]
    meta = [{"POLARISATION": p, "QUANTITY": calibration, "units": "linear"} for p in pols] + \
        [{"QUANTITY": "incidence angle (ellipsoid)", "units": "degrees"}]
    _blocks.run_blockwise(paths, output, kernel, out_bands=len(pols) + 1, descriptions=names, band_metadata=meta,
                          halo=radiometry.BORDER_LIMIT_PX if rule else 0, with_position=True, bytes_per_pixel=48,
                          compression=compression, workers=workers, budget_mb=budget_mb, progress=progress,
                          is_canceled=is_canceled)
    ds = gdal.Open(output, gdal.GA_Update)
    gdal.PushErrorHandler("CPLQuietErrorHandler")   # "the geotransform … cleared": the identity one, meant
    try:
        ds.SetGCPs(grid.gcps(), geometry.wgs84_wkt())
    finally:
        gdal.PopErrorHandler()
    ds = None
    return counts


def scene_centre(grid):
    """Mean lon/lat of the geolocation grid."""
    return float(np.mean(grid.points["longitude"])), float(np.mean(grid.points["latitude"]))


def image_path(output):
    """Where the image-geometry pass of ``output`` is written (beside it; removed by the caller)."""
    return f"{output}.image-{os.getpid()}.tif"


def geocode(image, output, *, crs, pixel_size, extent=None, db_bands=(), descriptions=None, band_metadata=None,
            metadata=None, compression="ZSTD", workers=1, budget_mb=_blocks.DEFAULT_BUDGET_MB, progress=None,
            is_canceled=None):
    """Warp an image-geometry raster with GCPs onto ``crs`` ("EPSG:32631" or WKT) at ``pixel_size`` (thin-plate
    spline, bilinear; ``extent`` (xmin, ymin, xmax, ymax) in that CRS, else the whole scene) and write it block
    by block, the bands of ``db_bands`` (0-based) converted to dB."""
    vrt = output + ".warp.vrt"
    try:
        gdal.Warp(vrt, image, format="VRT", dstSRS=crs, xRes=pixel_size, yRes=pixel_size,
                  targetAlignedPixels=True, outputBounds=extent, tps=True, resampleAlg="bilinear",
                  srcNodata="nan", dstNodata="nan", outputType=gdal.GDT_Float32)
        db = set(db_bands)

        def kernel(block):
            out = block.astype(np.float32, copy=True)
            for b in db:
                out[b] = sar.linear_to_db(block[b])[0]
            return out

        return _blocks.run_blockwise(vrt, output, kernel, descriptions=descriptions, band_metadata=band_metadata,
                                     metadata=metadata, compression=compression, workers=workers,
                                     bytes_per_pixel=32, budget_mb=budget_mb, progress=progress,
                                     is_canceled=is_canceled)
    finally:
        if os.path.exists(vrt):
            os.remove(vrt)
