"""Small dated stacks over the Raam stations for the station algorithms' tests (not a physical simulator).

VV follows the vegetation-corrected change-detection model itself (Fayad et al. 2022, eq. 5-7):
``σVV = σVV_dry + (α − β·NDVI)·(SSM − SSM_min) + ε``, driven by the real Raam daily series (each pixel takes its
nearest station's series) and a smooth seasonal NDVI; incidence grows eastwards from 31° to 44°. With known α,
β and noise, the tests can check that calibration recovers them and that extraction returns hand values.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from . import SAMPLE_DATA

RAAM = SAMPLE_DATA / "soil_moisture_raam"
EPSG = 32631
ALPHA, BETA = 30.0, 20.0


def raam_series():
    """{station: {date: vwc}} and {station: (lon, lat)} from the bundled Raam files."""
    series = {}
    with open(RAAM / "raam_daily_5cm.csv") as fh:
        for r in csv.DictReader(fh):
            series.setdefault(r["station"], {})[r["date"]] = float(r["vwc_5cm_m3m3"])
    locs = {}
    with open(RAAM / "Raam_station_locations_WGS84.csv") as fh:
        for row in csv.reader(fh, delimiter=";"):
            if row and row[0].startswith("RM"):
                locs[row[0]] = (float(row[1].replace(",", ".")), float(row[2].replace(",", ".")))
    return series, locs


def to_utm(lon, lat):
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(4326)
    dst.ImportFromEPSG(EPSG)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(src, dst).TransformPoint(lon, lat)
    return x, y


def write_stack(path, arr, dates, gt, times=None):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[2], arr.shape[1], arr.shape[0], gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds.SetProjection(srs.ExportToWkt())
    for i, d in enumerate(dates):
        b = ds.GetRasterBand(i + 1)
        b.WriteArray(arr[i])
        b.SetNoDataValue(float("nan"))
        b.SetDescription(d if times is None else f"{d}T{times[i]}")
    ds = None
    return str(path)


def scene(out_dir, *, pixel=100.0, n_dates=20, first="2016-05-02", step_days=12, noise_db=0.3, seed=0):
    """Write VV (dB), NDVI and incidence stacks over the Raam stations; returns paths, dates and truth."""
    out_dir = Path(out_dir)
    series, locs = raam_series()
    xy = {s: to_utm(*locs[s]) for s in locs if s in series}
    xs, ys = [p[0] for p in xy.values()], [p[1] for p in xy.values()]
    x0, y1 = min(xs) - 2000, max(ys) + 2000
    cols, rows = int((max(xs) + 2000 - x0) / pixel), int((y1 - (min(ys) - 2000)) / pixel)
    gt = (x0, pixel, 0.0, y1, 0.0, -pixel)
    day0 = dt.date.fromisoformat(first)
    dates = [(day0 + dt.timedelta(days=step_days * k)).isoformat() for k in range(n_dates)]
    cx = x0 + (np.arange(cols) + 0.5) * pixel
    cy = y1 - (np.arange(rows) + 0.5) * pixel
    names = sorted(xy)
    d2 = np.stack([(cx[None, :] - xy[s][0]) ** 2 + (cy[:, None] - xy[s][1]) ** 2 for s in names])
    nearest = np.argmin(d2, axis=0)
    rng = np.random.default_rng(seed)
    ssm = np.full((n_dates, rows, cols), np.nan, np.float32)
    for k, s in enumerate(names):
        vals = np.array([series[s].get(d, np.nan) for d in dates])
        ssm[:, nearest == k] = vals[:, None]
    doy = np.array([dt.date.fromisoformat(d).timetuple().tm_yday for d in dates])
    ndvi_t = 0.45 + 0.3 * np.sin(2 * np.pi * (doy - 100) / 365.0)
    ndvi = (ndvi_t[:, None, None] + 0.05 * np.sin(cx / 3000.0)[None, None, :]).repeat(rows, axis=1).astype(np.float32)
    ssm_min = np.nanmin(ssm, axis=0)
    vv = -14.0 + (ALPHA - BETA * ndvi) * (ssm - ssm_min) + rng.normal(0, noise_db, ssm.shape)
    theta = np.broadcast_to(31.0 + 13.0 * (np.arange(cols) / max(cols - 1, 1)), (1, rows, cols)).astype(np.float32)
    paths = {"VV": write_stack(out_dir / "VV.tif", vv.astype(np.float32), dates, gt, ["06:00:00"] * n_dates),
             "NDVI": write_stack(out_dir / "NDVI.tif", ndvi, dates, gt),
             "theta": str(out_dir / "theta.tif")}
    ds = gdal.GetDriverByName("GTiff").Create(paths["theta"], cols, rows, 1, gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(theta[0])
    ds = None
    return {"paths": paths, "dates": dates, "gt": gt, "stations": names, "xy": xy}
