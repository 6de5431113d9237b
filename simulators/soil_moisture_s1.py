"""Physically simulated Sentinel-1 VV and VH over real in-situ soil moisture and real NDVI.

No real Sentinel-1 series co-located with in-situ soil moisture is available here (MANIFEST.md), so the
soil-moisture hybrid is trained and demonstrated on backscatter computed from physics, driven by real series:

- **Soil moisture**: the Raam network's daily 5 cm means (14 stations, NL, 2016-04-05 … 2017-04-05;
  Benninga et al. 2018), ``resources/sample_data/soil_moisture_raam/``.
- **NDVI**: real MODIS MOD13A1 16-day NDVI of 2016 (``resources/sample_data/modis_ndvi_2016/``, northern
  Italy): each simulated field takes the series of one MODIS pixel, linearly interpolated to the
  acquisition's day of year (2017 dates take the 2016 value of the same day of year). The NDVI is real but
  transplanted: it was not measured where the soil moisture was.
- **Bare soil**: Oh (2004), "Quantitative retrieval of soil moisture content and surface roughness from
  multipolarized radar observations of bare soil surfaces", IEEE TGRS 42(3):596-601, the cross-polarised
  term and the cross-to-co-polarised ratio:

  ``σ°vh = 0.11·mv^0.7·cos^2.2 θ·(1 − exp(−0.32·(ks)^1.8))``,
  ``q = σ°vh/σ°vv = 0.095·(0.13 + sin 1.5θ)^1.4·(1 − exp(−1.3·(ks)^0.9))``,

  mv the volumetric moisture (m³/m³), k = 2π/λ (λ = 5.547 cm at Sentinel-1's 5.405 GHz), s the rms height.
  Oh fitted these for 0.04 ≤ mv ≤ 0.29, 0.13 ≤ ks ≤ 6.98 and 10° ≤ θ ≤ 70°; the Raam values (0.003–0.52) go
  beyond mv's range at both ends and the model is extrapolated there.
- **Vegetation**: the Water Cloud Model of "Soil moisture I" (``algorithms/soil_moisture/water_cloud.py``,
  Attema & Ulaby 1978 with LAI = 0.57·exp(2.33·NDVI), Rahimabadi & Jamali 2019, eq. 1, 4-6), forward:
  ``σ° = A·LAI·cos θ·(1 − τ²) + τ²·σ°_soil``, ``τ² = exp(−2·B·LAI/cos θ)``.
- **Speckle**: multiplicative, Gamma-distributed intensity of mean 1 and equivalent number of looks ENL.

What is *not* from a paper, and is stated as an assumption: the ranges of the Water Cloud coefficients
(:data:`RANGES`), drawn uniformly per field. No calibrated A, B for NDVI at C band was at hand to cite; the
ranges were chosen so that the simulated samples' VV spans about −20 … −5 dB (median −11) and VH about
−31 … −10 dB (median −19), the range Sentinel-1 shows over crops and grassland, with the canopy dominating VH and
damping the soil's moisture signal as NDVI rises (the effect the vegetation-corrected change detection models).
Roughness (ks) and incidence are drawn per field in the ranges the issue names (θ 29–46°, Sentinel-1 IW).

Everything trained or scored on this data is *simulated skill*.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from osgeo import gdal

from sarsense.algorithms.soil_moisture import water_cloud

from . import SAMPLE_DATA, station_scenes

NDVI_DIR = SAMPLE_DATA / "modis_ndvi_2016"
WAVELENGTH_M = 0.05547
K = 2 * np.pi / WAVELENGTH_M
#: Per-field parameter ranges (uniform): incidence (°), ks, Water Cloud A for VV and VH, B (both), per LAI.
RANGES = {"theta": (29.0, 46.0), "ks": (0.3, 1.5), "a_vv": (0.02, 0.06), "a_vh": (0.005, 0.02), "b": (0.06, 0.16)}
#: Looks of one simulated sample: a 500 m radius mean of 10 m Sentinel-1 GRD pixels holds thousands of
#: looks, but neighbouring fields differ; 30 looks (≈ 0.8 dB) stands for that unmodelled spatial noise.
ENL = 30.0
FIRST, LAST, REPEAT_DAYS = "2016-04-05", "2017-04-05", 6
SITE_FIELD = "site"


def oh2004(mv, theta_deg, ks):
    """Bare-soil ``(σ°vv, σ°vh)`` in linear power (Oh 2004, the q ratio and σ°vh; see the module note)."""
    th = np.radians(np.asarray(theta_deg, np.float64))
    mv = np.clip(np.asarray(mv, np.float64), 1e-3, None)
    ks = np.asarray(ks, np.float64)
    vh = 0.11 * mv ** 0.7 * np.cos(th) ** 2.2 * (1.0 - np.exp(-0.32 * ks ** 1.8))
    q = 0.095 * (0.13 + np.sin(1.5 * th)) ** 1.4 * (1.0 - np.exp(-1.3 * ks ** 0.9))
    return vh / q, vh


def backscatter_db(mv, ndvi, theta_deg, ks, a_vv, a_vh, b, *, enl=ENL, rng=None):
    """VV and VH (dB) of a vegetated field: Oh (2004) soil under the Water Cloud canopy, speckled with
    ``enl`` looks when ``rng`` is given (noise-free otherwise)."""
    soil_vv, soil_vh = oh2004(mv, theta_deg, ks)
    out = []
    for soil, a in ((soil_vv, a_vv), (soil_vh, a_vh)):
        s = water_cloud.backscatter(soil, ndvi, theta_deg, a=a, b=b)
        if rng is not None:
            s = s * rng.gamma(enl, 1.0 / enl, size=np.shape(s))
        out.append(10 * np.log10(s))
    return out[0], out[1]


def modis_ndvi():
    """``(doy, ndvi)``: the 23 composites' first days of year and their NDVI (23, rows, cols), NaN where invalid."""
    files = sorted(NDVI_DIR.glob("MOD13A1_NDVI_2016_*.tif"))
    doy = np.array([int(f.stem.rsplit("_", 1)[1]) for f in files], np.float64)
    stack = []
    for f in files:
        ds = gdal.Open(str(f))
        a = ds.ReadAsArray().astype(np.float64)
        nd = ds.GetRasterBand(1).GetNoDataValue()
        stack.append(np.where((a == nd) | (a < -2000) | (a > 10000), np.nan, a / 10000.0))
    return doy, np.stack(stack)


def ndvi_series(doy, series, dates):
    """The NDVI of ``series`` (composites at ``doy``) on ``dates``, linear in day of year, wrapping the year."""
    q = np.array([dt.date.fromisoformat(d).timetuple().tm_yday for d in dates], np.float64)
    ok = np.isfinite(series)
    x, y = doy[ok] + 8.0, series[ok]       # a 16-day composite stands for its middle day
    return np.interp(q, np.r_[x - 365, x, x + 365], np.r_[y, y, y])


def acquisition_dates(first=FIRST, last=LAST, repeat_days=REPEAT_DAYS):
    d0, d1 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(d0 + dt.timedelta(days=k)).isoformat() for k in range(0, (d1 - d0).days + 1, repeat_days)]


def vegetated_pixels(ndvi, min_peak=0.6):
    """Flat indices of MODIS pixels with at least 20 valid composites and a seasonal NDVI peak ≥ ``min_peak``."""
    flat = ndvi.reshape(ndvi.shape[0], -1)
    valid = np.isfinite(flat).sum(axis=0) >= 20
    with np.errstate(all="ignore"):
        peak = np.nanmax(flat, axis=0)
    return np.flatnonzero(valid & (peak >= min_peak))


def draw_fields(n, rng):
    """``n`` fields' parameters, each uniform in :data:`RANGES`."""
    return {k: rng.uniform(lo, hi, n) for k, (lo, hi) in RANGES.items()}


def station_samples(*, variants=12, seed=0, dates=None, enl=ENL):
    """Station-date samples: every Raam station seen through ``variants`` simulated fields.

    Each field (one virtual station ``RM_SM_xx#k``) has its own MODIS NDVI pixel, incidence, roughness and
    Water Cloud coefficients; its soil moisture is the Raam station's daily mean on the acquisition day
    (dates without a value are left out). Returns a dict of equal-length arrays: ``station`` (virtual
    station), ``site`` (the Raam station, for splits that hold whole real stations out), ``date``, ``VV``,
    ``VH`` (dB), ``NDVI``, ``theta`` (°), ``ssm_insitu`` (m³/m³), and the fields' ``ks``.
    """
    rng = np.random.default_rng(seed)
    series, _ = station_scenes.raam_series()
    doy, ndvi = modis_ndvi()
    flat = ndvi.reshape(ndvi.shape[0], -1)
    pool = vegetated_pixels(ndvi)
    dates = list(dates or acquisition_dates())
    cols = {k: [] for k in ("station", "site", "date", "VV", "VH", "NDVI", "theta", "ssm_insitu", "ks")}
    for site in sorted(series):
        p = draw_fields(variants, rng)
        pixels = rng.choice(pool, size=variants, replace=False)
        mv = np.array([series[site].get(d, np.nan) for d in dates])
        have = np.isfinite(mv)
        for k in range(variants):
            nd = ndvi_series(doy, flat[:, pixels[k]], dates)[have]
            vv, vh = backscatter_db(mv[have], nd, p["theta"][k], p["ks"][k], p["a_vv"][k], p["a_vh"][k], p["b"][k],
                                    enl=enl, rng=rng)
            n = int(have.sum())
            cols["station"] += [f"{site}#{k:02d}"] * n
            cols["site"] += [site] * n
            cols["date"] += [d for d, h in zip(dates, have) if h]
            for key, v in (("VV", vv), ("VH", vh), ("NDVI", nd), ("ssm_insitu", mv[have])):
                cols[key].append(v)
            cols["theta"].append(np.full(n, p["theta"][k]))
            cols["ks"].append(np.full(n, p["ks"][k]))
    out = {k: (np.concatenate(v) if k in ("VV", "VH", "NDVI", "theta", "ssm_insitu", "ks") else np.array(v))
           for k, v in cols.items()}
    return out


def scene(out_dir, *, pixel=100.0, field_px=5, step_days=REPEAT_DAYS, first="2016-04-05", n_dates=None,
          enl=ENL, seed=0):
    """Dated GeoTIFF stacks over the Raam stations: VV and VH (dB, acquisitions at 05:50 UTC), NDVI, and a
    single-band incidence (°) rising west to east across the range of :data:`RANGES`.

    Soil moisture: each pixel the series of its nearest station. Fields of ``field_px`` × ``field_px`` pixels
    each draw roughness and Water Cloud coefficients; NDVI: the MODIS tile laid over the scene at its own
    463 m spacing (each pixel the series of the MODIS pixel under it). Returns paths, dates and the truth.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    series, locs = station_scenes.raam_series()
    xy = {s: station_scenes.to_utm(*locs[s]) for s in locs if s in series}
    xs, ys = [p[0] for p in xy.values()], [p[1] for p in xy.values()]
    x0, y1 = min(xs) - 2000, max(ys) + 2000
    cols, rows = int((max(xs) + 2000 - x0) / pixel), int((y1 - (min(ys) - 2000)) / pixel)
    gt = (x0, pixel, 0.0, y1, 0.0, -pixel)
    dates = acquisition_dates(first, LAST, step_days)[:n_dates]
    cx = x0 + (np.arange(cols) + 0.5) * pixel
    cy = y1 - (np.arange(rows) + 0.5) * pixel
    names = sorted(xy)
    d2 = np.stack([(cx[None, :] - xy[s][0]) ** 2 + (cy[:, None] - xy[s][1]) ** 2 for s in names])
    nearest = np.argmin(d2, axis=0)
    mv = np.stack([np.array([series[s].get(d, np.nan) for d in dates]) for s in names])[:, :, None]
    mv = np.moveaxis(mv[nearest, :, 0], -1, 0)                                   # (dates, rows, cols)
    doy, nd = modis_ndvi()
    mr = np.minimum((np.arange(rows) * pixel / 463.3127).astype(int), nd.shape[1] - 1)
    mc = np.minimum((np.arange(cols) * pixel / 463.3127).astype(int), nd.shape[2] - 1)
    modis = nd[:, mr][:, :, mc]                                                   # (23, rows, cols)
    flat = modis.reshape(modis.shape[0], -1)
    ndvi = np.stack([ndvi_series(doy, flat[:, i], dates) if np.isfinite(flat[:, i]).sum() >= 2
                     else np.full(len(dates), np.nan) for i in range(flat.shape[1])], axis=1)
    ndvi = ndvi.reshape(len(dates), rows, cols)
    fr, fc = -(-rows // field_px), -(-cols // field_px)
    p = draw_fields(fr * fc, rng)
    field = (np.arange(rows)[:, None] // field_px) * fc + np.arange(cols)[None, :] // field_px
    theta = np.broadcast_to(RANGES["theta"][0] + (RANGES["theta"][1] - RANGES["theta"][0])
                            * (np.arange(cols) + 0.5) / cols, (rows, cols))
    vv, vh = backscatter_db(mv, ndvi, theta, p["ks"][field], p["a_vv"][field], p["a_vh"][field], p["b"][field],
                            enl=enl, rng=rng)
    times = ["05:50:00"] * len(dates)
    paths = {"VV": station_scenes.write_stack(out_dir / "VV.tif", vv.astype(np.float32), dates, gt, times),
             "VH": station_scenes.write_stack(out_dir / "VH.tif", vh.astype(np.float32), dates, gt, times),
             "NDVI": station_scenes.write_stack(out_dir / "NDVI.tif", ndvi.astype(np.float32), dates, gt),
             "theta": station_scenes.write_stack(out_dir / "theta.tif", theta[None].astype(np.float32), ["incidence"],
                                                 gt)}
    return {"paths": paths, "dates": dates, "gt": gt, "stations": names, "xy": xy, "ssm": mv}
