"""A small site's Sentinel-1 VV/VH series from two ascending relative orbits, with the daily weather that drives it.

No real Sentinel-1 series co-located with a rain record is available here (``shared/data/MANIFEST.md``: "No
Sentinel-1 series co-located with in-situ soil moisture"), so the multi-orbit chain of the soil-moisture suite
(issue #29: change detection one relative orbit at a time, checked against the rain between acquisitions) is
tested and demonstrated on this simulation. Everything measured on it is *simulated*: it shows that the chain
recovers what the simulation put in, not skill on real data.

The site: :data:`SIZE` × :data:`SIZE` pixels of :data:`PIXEL_M` m (EPSG:32631, central Belgium), four fields
(quadrants) that each draw their own soil and crop parameters (:data:`FIELD_RANGES`). One day is one step.

**Rain** (mm/day): a first-order two-state Markov chain for wet/dry days with gamma-distributed amounts on wet
days, the WGEN generator (Richardson 1981, "Stochastic simulation of daily precipitation, temperature, and solar
radiation", Water Resour. Res. 17(1):182-190; Wilks & Wilby 1999, Prog. Phys. Geogr. 23(3):329-357, who give
gamma shapes of 0.6-0.9 for daily amounts). Parameters :data:`RAIN`: P(wet | dry) 0.25, P(wet | wet) 0.62, so
about 40 % of days are wet (145 a year); shape 0.75, scale 7 mm, a mean of 5.25 mm per wet day: about 760 mm a year,
near Brussels-Uccle's 850 mm (assumption: a temperate maritime climate, no seasonality of rain). Each wet day's
rain falls at one moment drawn uniformly in the day (UTC): whether an acquisition at 17:32 sees it depends on it.

**Air temperature** (daily mean, °C): ``T = 10.5 + 7.5·cos(2π(doy − 200)/365) + e``, ``e`` an AR(1) series
(lag-one correlation 0.75, innovations of 2.2 °C standard deviation, so 3.3 °C around the seasonal cycle):
Uccle's monthly means run from about 3 °C (January) to 18 °C (July); with this noise about one January day in
five has a daily mean below 0 °C (assumption: the cycle and noise chosen to match those climate normals).

**Snow**: precipitation on a day with T ≤ 0.5 °C falls as snow and is stored as snow water equivalent (SWE);
snow melts at a degree-day factor of 3 mm/°C/day above 0 °C (Hock 2003, "Temperature index melt modelling in
mountain areas", J. Hydrol. 282:104-115: 2.5-6 mm/°C/day for snow); meltwater enters the soil as rain does.

**Surface soil moisture** θ (m³/m³) of the top 5 cm (the layer C band senses and the depth of the in-situ
probes of Fayad et al. 2022) from a daily bucket water balance (a single-layer "leaky bucket", e.g. Laio et al.
2001, Adv. Water Resour. 24:707-723; the terms below are assumptions of this simulator, not calibrated):

- infiltration: rain and melt, up to the free pore space ``(porosity − θ)·Z``, ``Z`` = 50 mm; the rest runs off;
- drainage: 40 % a day of the water above field capacity;
- evapotranspiration from the layer: ``0.5·PET·min(1, (θ − θ_r)/(θ_fc − θ_r))`` with
  ``PET = max(0, 0.16·T + 0.3)`` mm/day (a linear temperature index: 0.8 mm/day at 3 °C, 3.2 mm/day at 18 °C,
  about 700 mm a year, near Belgium's reference evapotranspiration) and the linear soil-moisture stress of
  Laio et al. 2001; half of it drawn from the top 5 cm;
- θ stays within [θ_r, porosity]. At an acquisition at hour h of day D, θ is the start-of-day state plus the
  day's rain if it fell before h, minus h/24 of the day's losses.

**Frozen soil and snow** (the radar side; the truth keeps θ): on a day with T < 0 °C the soil water is ice,
whose permittivity (about 3.2) is that of dry soil rather than water (about 80; Ulaby, Moore & Fung 1986,
Microwave Remote Sensing vol. III): the radar sees a liquid content of :data:`UNFROZEN` m³/m³. Dry
snow (T < 0 °C) is transparent at C band, the frozen soil under it is what is seen. Wet snow (SWE > 0 and
T ≥ 0 °C) absorbs: VV and VH drop by 3 dB (Nagler & Rott 2000, IEEE TGRS 38(2):754-765, the −3 dB wet-snow
threshold).

**Backscatter** (dB), per field ``f``, acquisition ``t`` (orbit ``o``) and pixel:

``VV = c_f + S_f·(1 − 0.5·V_f(t))·θ_liquid + g_f·V_f(t) + d_o,f + n_f(t) + speckle``

- ``S_f``: the linear dB-SSM sensitivity of change detection (Wagner, Lemoine & Rott 1999, "A method for
  estimating soil moisture from ERS scatterometer and soil data", Remote Sens. Environ. 70:191-207; the premise
  of Fayad et al. 2022 eq. 4, ΔVV = α·ΔSSM). C-band VV over bare agricultural soils changes by roughly
  0.15-0.3 dB per vol. % of moisture, less under vegetation (e.g. Baghdadi et al. 2008, Hydrol. Process.
  22:9-20). ``S_f`` is drawn in 8-16 dB per m³/m³ (0.08-0.16 dB per vol. %, the vegetated end). **Tuned**: with
  12-24 dB per m³/m³ the series pooled over both orbits kept ρ ≈ +0.06 against the issue's −0.07/−0.06 on
  real tiles; the orbits' offset must be large against the soil's dB dynamic for the sawtooth to win;
- ``V_f(t)`` ∈ [0, 1]: the crop's canopy development, a Gaussian bump around a field's peak day of year;
  a full canopy halves the soil's contribution (two-way attenuation τ² ≈ 0.5, the Water Cloud Model's
  exp(−2·B·LAI/cos θ) for B = 0.1, LAI = 3, θ = 38°; Attema & Ulaby 1978) and adds ``g_f`` dB of its own
  (−1.5 … +1.5 dB: vertical cereal stems lower VV, broad-leaved crops raise it);
- ``d_o,f``: the orbit's offset. The two ascending orbits see the site at different incidence angles (about
  35° and 42°); σ°VV over crops falls by about 0.1 dB per degree there, so orbit 161's mean VV is 0.4-0.8 dB
  below orbit 88's (the issue's real tiles: 0.4-0.8 dB apart), drawn per field;
- ``n_f(t)``: date-to-date variability the model does not resolve (dew and interception, roughness changed by
  tillage, wind over canopies), Gaussian with :data:`DATE_NOISE_DB` standard deviation per field and date
  (an assumption; 0.2-0.45 dB change the mean per-orbit ρ of seeds 0-7 by about 0.02: the area median of the
  change-detection SSM is limited by how well the *true* ΔSSM follows the rain, ρ 0.29-0.45 over seeds 0-7
  with this schedule, not by this noise);
- speckle: Gamma-distributed intensity of mean 1 and :data:`ENL` looks (an IW GRDH pixel has about 4.4 looks at
  10 m; 2 × 2 of them make a 20 m pixel of about 17).

VH uses the same terms with its own parameters (:data:`VH`): a lower intercept, 0.6 times the soil sensitivity
and a canopy term that always raises it (volume scattering).

**Acquisitions**: two ascending relative orbits of Sentinel-1 over the site (:data:`ORBITS`), 88 at 17:32 UTC
and 161 at 17:40 UTC. Relative orbit numbers advance by one per orbit, 175 in the 12-day cycle, so orbit 161
comes 73 orbits (5.0 days and 8 minutes) after orbit 88 on the same satellite; Sentinel-1B flies 6 days behind
Sentinel-1A. With both platforms (the default) each orbit is seen every 6 days and the merged series has
intervals of 5 and 1 days alternating: the orbit changes at every step, so a series pooled over both orbits
is a sawtooth whose long steps (more rain) always go from the brighter orbit to the darker one, and its rank
correlation with rain collapses (seed 0: +0.32 per orbit, −0.03 pooled). With one platform (intervals 5 and 7
days, ``platforms=("S1A",)``) or orbits 6 days apart the sawtooth is only noise and pooling costs little
(seed 0: 0.31 → 0.38 and 0.37 → 0.29): the collapse the issue found needs the 5/1-day alternation.
Start times jitter by a few seconds, as real ones do. The cube carries no orbit variable (openEO cubes have
none): the time of day is all that tells the orbits apart there; the GeoTIFF stack carries RELATIVE_ORBIT,
ORBIT_PASS and PLATFORM.

Outputs (:func:`write_site`): a CF NetCDF cube in the openEO layout (written with GDAL's multidimensional
API), daily rain and air-temperature CSVs, and optionally the same VV/VH series as dated GeoTIFF stacks.
Deterministic given the seed; two years take about a second and under 1 MB.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

EPSG = 32631
PIXEL_M = 20.0
SIZE = 24
#: Upper-left corner of the site (EPSG:32631, m): farmland south-east of Brussels.
ORIGIN = (620000.0, 5620000.0)
#: The WGEN parameters (see the module note): Markov-chain transition probabilities and gamma amounts.
RAIN = {"p_wet_after_dry": 0.25, "p_wet_after_wet": 0.62, "gamma_shape": 0.75, "gamma_scale_mm": 7.0}
#: Daily mean air temperature: annual mean, amplitude, warmest day of year, AR(1) lag-one correlation and
#: innovation standard deviation (°C).
TEMPERATURE = {"mean_c": 10.5, "amplitude_c": 7.5, "warmest_doy": 200, "ar1": 0.75, "innovation_sd_c": 2.2}
SNOW_BELOW_C, MELT_MM_PER_C_DAY = 0.5, 3.0
#: Bucket model: layer depth (mm), drainage fraction per day above field capacity, share of PET from the layer.
BUCKET = {"depth_mm": 50.0, "drainage_per_day": 0.4, "et_share": 0.5}
#: Liquid water the radar sees in frozen soil (m³/m³): unfrozen water films of a frozen mineral soil.
UNFROZEN = 0.03
#: Per-field ranges, drawn uniformly: porosity, field capacity and residual moisture (m³/m³); VV intercept (dB),
#: sensitivity (dB per m³/m³), canopy term (dB), peak day of year and half-width (days) of the canopy; offset
#: of orbit 161 below orbit 88 (dB).
FIELD_RANGES = {"porosity": (0.42, 0.48), "field_capacity": (0.27, 0.33), "residual": (0.04, 0.08),
                "c_vv": (-16.0, -12.5), "s_vv": (8.0, 16.0), "g_vv": (-1.5, 1.5),
                "peak_doy": (150.0, 230.0), "width_days": (25.0, 45.0), "orbit_offset_db": (0.4, 0.8)}
#: VH relative to VV: intercept shift (dB), share of VV's soil sensitivity, canopy term (dB, always positive).
VH = {"c_shift_db": -7.0, "s_share": 0.6, "g_vh": (1.0, 3.0)}
#: The wet-snow drop of both polarisations (dB; Nagler & Rott 2000).
WET_SNOW_DB = -3.0
#: Date-to-date variability per field and date (dB), see the module note: tuned, not from a paper.
DATE_NOISE_DB = 0.3
#: Looks of a 20 m Sentinel-1 IW GRDH pixel.
ENL = 17.0
#: The relative orbits: number, UTC start time of the site's acquisition, days after orbit 88 on one platform,
#: incidence angle over the site (°, for the record).
ORBITS = ({"orbit": 88, "time": "17:32:05", "offset_days": 0, "incidence": 35.0},
          {"orbit": 161, "time": "17:40:13", "offset_days": 5, "incidence": 42.0})
#: Platforms and their delay (days) behind Sentinel-1A in the 12-day cycle.
PLATFORMS = {"S1A": 0, "S1B": 6}
REPEAT_DAYS = 12
FIRST, LAST = "2018-01-01", "2019-12-31"
#: Days of weather (and soil water balance) before the first acquisition: the bucket's spin-up, and the rain
#: record a rain check needs before the first acquisition.
SPINUP_DAYS = 60
#: Int32 encoding of the cube's backscatter (dB × 10⁴, as openEO back-ends write it) and its fill value.
SCALE, FILL = 1e-4, -2147483647


def days(first=FIRST, last=LAST):
    """Every day from ``first`` to ``last`` (ISO dates, inclusive) as ``datetime.date``."""
    d0, d1 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [d0 + dt.timedelta(days=k) for k in range((d1 - d0).days + 1)]


def weather(n_days, doy, rng):
    """``(rain_mm, rain_hour, t2m_c)``: daily rain (WGEN), the hour (UTC) it fell and daily mean air temperature."""
    wet = np.zeros(n_days, bool)
    u = rng.random(n_days)
    for k in range(1, n_days):
        wet[k] = u[k] < (RAIN["p_wet_after_wet"] if wet[k - 1] else RAIN["p_wet_after_dry"])
    amount = rng.gamma(RAIN["gamma_shape"], RAIN["gamma_scale_mm"], n_days)
    rain = np.where(wet, np.round(amount, 1), 0.0)
    hour = rng.uniform(0.0, 24.0, n_days)
    e = np.zeros(n_days)
    shocks = rng.normal(0.0, TEMPERATURE["innovation_sd_c"], n_days)
    e[0] = shocks[0] / np.sqrt(1 - TEMPERATURE["ar1"] ** 2)
    for k in range(1, n_days):
        e[k] = TEMPERATURE["ar1"] * e[k - 1] + shocks[k]
    t2m = TEMPERATURE["mean_c"] + TEMPERATURE["amplitude_c"] * np.cos(
        2 * np.pi * (doy - TEMPERATURE["warmest_doy"]) / 365.25) + e
    return rain, hour, np.round(t2m, 1)


def water_balance(rain, t2m, soil):
    """Daily bucket model (module note) of one field: ``(theta_start, gain, loss, swe)`` per day, m³/m³ and mm.

    ``theta_start`` is the state at 00:00 UTC, ``gain`` the day's infiltration and ``loss`` its drainage and
    evapotranspiration (both m³/m³); ``swe`` the snow water equivalent at the end of the day (mm).
    """
    z = BUCKET["depth_mm"]
    phi, fc, res = soil["porosity"], soil["field_capacity"], soil["residual"]
    n = len(rain)
    theta0, gain, loss, swe_out = (np.zeros(n) for _ in range(4))
    theta, swe = fc, 0.0
    for k in range(n):
        theta0[k] = theta
        snow = rain[k] if t2m[k] <= SNOW_BELOW_C else 0.0
        melt = min(swe + snow, MELT_MM_PER_C_DAY * max(t2m[k], 0.0))
        swe = swe + snow - melt
        water = rain[k] - snow + melt
        inf = min(water / z, phi - theta)
        wet = theta + inf
        drain = BUCKET["drainage_per_day"] * max(wet - fc, 0.0)
        pet = max(0.0, 0.16 * t2m[k] + 0.3)
        et = BUCKET["et_share"] * pet / z * min(1.0, max(wet - res, 0.0) / (fc - res))
        out = min(drain + et, wet - res)
        theta = wet - out
        gain[k], loss[k], swe_out[k] = inf, out, swe
    return theta0, gain, loss, swe_out


def acquisitions(first=FIRST, last=LAST, *, platforms=tuple(PLATFORMS), rng=None):
    """The acquisitions over the site in time order: dicts with ``time`` (datetime, UTC, to the second),
    ``orbit``, ``platform`` and ``incidence``. Start times jitter by up to ±4 s when ``rng`` is given."""
    d0, d1 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    out = []
    for o in ORBITS:
        clock = dt.time.fromisoformat(o["time"])
        for p in platforms:
            k = 0
            while True:
                day = d0 + dt.timedelta(days=PLATFORMS[p] + o["offset_days"] + REPEAT_DAYS * k)
                if day > d1:
                    break
                t = dt.datetime.combine(day, clock)
                if rng is not None:
                    t += dt.timedelta(seconds=int(rng.integers(-4, 5)))
                out.append({"time": t, "orbit": o["orbit"], "platform": p, "incidence": o["incidence"]})
                k += 1
    return sorted(out, key=lambda a: a["time"])


def fields(rng, n=4):
    """``n`` fields' parameters, each uniform in :data:`FIELD_RANGES` (and :data:`VH`'s canopy term)."""
    p = {k: rng.uniform(lo, hi, n) for k, (lo, hi) in FIELD_RANGES.items()}
    p["g_vh"] = rng.uniform(*VH["g_vh"], n)
    return p


def simulate(*, first=FIRST, last=LAST, platforms=tuple(PLATFORMS), size=SIZE, date_noise_db=DATE_NOISE_DB,
             enl=ENL, seed=0):
    """The site, in memory: a dict with ``days`` (dates, from :data:`SPINUP_DAYS` before ``first``),
    ``rain_mm``, ``t2m_c`` (daily), ``acq`` (see
    :func:`acquisitions`), ``field`` (rows, cols: field number), ``params`` (per field), ``ssm`` (true θ per
    acquisition and field, m³/m³), ``frozen`` and ``wet_snow`` (per acquisition), ``VV`` and ``VH`` (dB,
    acquisitions × rows × cols, float32)."""
    rng = np.random.default_rng(seed)
    day_list = days((dt.date.fromisoformat(first) - dt.timedelta(days=SPINUP_DAYS)).isoformat(), last)
    doy = np.array([d.timetuple().tm_yday for d in day_list], np.float64)
    rain, hour, t2m = weather(len(day_list), doy, rng)
    acq = acquisitions(first, last, platforms=platforms, rng=rng)
    p = fields(rng)
    n_fields = len(p["porosity"])
    half = size // 2
    field = (np.arange(size)[:, None] // half) * 2 + np.arange(size)[None, :] // half
    index = {d: k for k, d in enumerate(day_list)}
    k_day = np.array([index[a["time"].date()] for a in acq])
    h = np.array([a["time"].hour + a["time"].minute / 60 for a in acq])
    seen = hour[k_day] < h
    frozen = t2m[k_day] < 0.0
    ssm = np.zeros((len(acq), n_fields))
    swe = np.zeros((len(acq), n_fields))
    for f in range(n_fields):
        soil = {k: p[k][f] for k in ("porosity", "field_capacity", "residual")}
        theta0, gain, loss, swe_f = water_balance(rain, t2m, soil)
        ssm[:, f] = np.clip(theta0[k_day] + np.where(seen, gain[k_day], 0.0) - loss[k_day] * h / 24,
                            soil["residual"], soil["porosity"])
        swe[:, f] = swe_f[k_day]
    wet_snow = (swe.max(axis=1) > 0) & ~frozen
    liquid = np.where(frozen[:, None], np.minimum(ssm, UNFROZEN), ssm)
    acq_doy = doy[k_day]
    canopy = np.exp(-0.5 * ((acq_doy[:, None] - p["peak_doy"][None]) / p["width_days"][None]) ** 2)
    orbit_161 = np.array([a["orbit"] == ORBITS[1]["orbit"] for a in acq])
    offset = np.where(orbit_161[:, None], -p["orbit_offset_db"][None], 0.0)
    snow_db = np.where(wet_snow, WET_SNOW_DB, 0.0)[:, None]
    soil_term = p["s_vv"][None] * (1 - 0.5 * canopy) * liquid
    vv_f = p["c_vv"][None] + soil_term + p["g_vv"][None] * canopy + offset + snow_db
    vh_f = p["c_vv"][None] + VH["c_shift_db"] + VH["s_share"] * soil_term + p["g_vh"][None] * canopy + offset \
        + snow_db
    out = {}
    for name, mean in (("VV", vv_f), ("VH", vh_f)):
        noisy = mean + rng.normal(0.0, date_noise_db, mean.shape)
        linear = 10 ** (noisy[:, field] / 10) * rng.gamma(enl, 1.0 / enl, (len(acq), size, size))
        out[name] = (10 * np.log10(linear)).astype(np.float32)
    return {"days": day_list, "rain_mm": rain, "t2m_c": t2m, "acq": acq, "field": field, "params": p, "ssm": ssm,
            "frozen": frozen, "wet_snow": wet_snow, **out}


def geotransform(size=SIZE):
    """The site's GDAL geotransform (north up, :data:`PIXEL_M` pixels from :data:`ORIGIN`)."""
    return (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M)


def _srs():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    return srs


def write_cube(path, site, *, variables=("VV", "VH")):
    """Write ``site``'s backscatter as a CF-1.8 NetCDF cube in the openEO layout, with GDAL's multidimensional API.

    Dimensions ``t``, ``y``, ``x``; ``t`` in seconds since 1970-01-01 00:00:00 (UTC, the acquisition's start to
    the second), ``x``/``y`` pixel-centre coordinates (m), a scalar ``crs`` variable (``crs_wkt``,
    ``spatial_ref``, ``grid_mapping_name``) named by every data variable's ``grid_mapping``; VV and VH as Int32
    dB × 10⁴ with ``scale_factor`` 1e-4 and ``_FillValue`` :data:`FILL` (NaN is written as the fill).
    """
    n, rows, cols = site["VV"].shape
    gt = geotransform(rows)
    drv = gdal.GetDriverByName("netCDF")
    ds = drv.CreateMultiDimensional(str(path), [], ["FORMAT=NC4"])
    root = ds.GetRootGroup()
    root.CreateAttribute("Conventions", [], gdal.ExtendedDataType.CreateString()).Write("CF-1.8")
    root.CreateAttribute("title", [], gdal.ExtendedDataType.CreateString()).Write(
        "SIMULATED Sentinel-1 VV/VH, two ascending relative orbits (sarsense.simulators.soil_moisture_orbits)")
    dim_t = root.CreateDimension("t", "TEMPORAL", None, n)
    dim_y = root.CreateDimension("y", "HORIZONTAL_Y", None, rows)
    dim_x = root.CreateDimension("x", "HORIZONTAL_X", None, cols)
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    text = gdal.ExtendedDataType.CreateString()

    def attrs(array, **values):
        for key, value in values.items():
            if isinstance(value, str):
                array.CreateAttribute(key, [], text).Write(value)
            else:
                array.CreateAttribute(key, [], f64).Write(float(value))

    epoch = dt.datetime(1970, 1, 1)
    seconds = np.array([(a["time"] - epoch).total_seconds() for a in site["acq"]], np.float64)
    t = root.CreateMDArray("t", [dim_t], f64)
    attrs(t, standard_name="time", long_name="time", units="seconds since 1970-01-01 00:00:00", calendar="standard",
          axis="T")
    t.Write(seconds)
    x = root.CreateMDArray("x", [dim_x], f64)
    attrs(x, standard_name="projection_x_coordinate", long_name="x coordinate of projection", units="m", axis="X")
    x.Write(gt[0] + (np.arange(cols) + 0.5) * gt[1])
    y = root.CreateMDArray("y", [dim_y], f64)
    attrs(y, standard_name="projection_y_coordinate", long_name="y coordinate of projection", units="m", axis="Y")
    y.Write(gt[3] + (np.arange(rows) + 0.5) * gt[5])
    srs = _srs()
    crs = root.CreateMDArray("crs", [], gdal.ExtendedDataType.Create(gdal.GDT_Int32))
    wkt = srs.ExportToWkt()
    attrs(crs, grid_mapping_name="transverse_mercator", crs_wkt=wkt, spatial_ref=wkt, epsg_code=f"EPSG:{EPSG}",
          longitude_of_central_meridian=3.0, latitude_of_projection_origin=0.0, scale_factor_at_central_meridian=0.9996,
          false_easting=500000.0, false_northing=0.0)
    crs.Write(np.array(0, np.int32))
    i32 = gdal.ExtendedDataType.Create(gdal.GDT_Int32)
    for name in variables:
        arr = root.CreateMDArray(name, [dim_t, dim_y, dim_x], i32, ["COMPRESS=DEFLATE", "ZLEVEL=6"])
        arr.SetNoDataValueDouble(FILL)
        arr.SetScale(SCALE)
        arr.SetOffset(0.0)
        attrs(arr, long_name=f"Sentinel-1 {name} backscatter (SIMULATED)", units="dB", grid_mapping="crs",
              SIMULATED="yes")
        data = site[name]
        coded = np.where(np.isfinite(data), np.round(np.nan_to_num(data) / SCALE), FILL).astype(np.int32)
        arr.Write(coded)
    ds = None
    return str(path)


def write_stack(path, site, name="VV", *, units="dB"):
    """``site``'s ``name`` as a dated GeoTIFF stack: band descriptions the ISO date, band metadata
    ``DATE``/``ACQUISITION_START_TIME`` (UTC to the second), ``RELATIVE_ORBIT``, ``ORBIT_PASS``, ``PLATFORM``,
    ``units``, ``SIMULATED`` yes and, for VV and VH, ``POLARISATION``."""
    data = site[name]
    n, rows, cols = data.shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, n, gdal.GDT_Float32,
                                              ["COMPRESS=DEFLATE", "PREDICTOR=3"])
    ds.SetGeoTransform(geotransform(rows))
    ds.SetProjection(_srs().ExportToWkt())
    for i, a in enumerate(site["acq"]):
        band = ds.GetRasterBand(i + 1)
        band.WriteArray(data[i])
        band.SetNoDataValue(float("nan"))
        stamp = a["time"].isoformat(timespec="seconds")
        band.SetDescription(stamp[:10])
        meta = {"DATE": stamp, "ACQUISITION_START_TIME": stamp, "RELATIVE_ORBIT": str(a["orbit"]),
                "ORBIT_PASS": "ASCENDING", "PLATFORM": a["platform"], "units": units, "SIMULATED": "yes"}
        if name in ("VV", "VH"):
            meta["POLARISATION"] = name
        band.SetMetadata(meta)
    ds = None
    return str(path)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def write_site(out_dir, *, stacks=False, **options):
    """Simulate the site (:func:`simulate`, ``options`` passed on) and write it to ``out_dir``.

    Writes ``cube.nc`` (:func:`write_cube`), ``rain.csv`` (``date,rain_mm``), ``t2m.csv`` (``date,t2m_c``)
    and, with ``stacks``, ``VV.tif`` and ``VH.tif`` (:func:`write_stack`). Returns ``(paths, site)``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    site = simulate(**options)
    iso = [d.isoformat() for d in site["days"]]
    paths = {"cube": write_cube(out_dir / "cube.nc", site),
             "rain": write_csv(out_dir / "rain.csv", ("date", "rain_mm"),
                               [(d, f"{r:.1f}") for d, r in zip(iso, site["rain_mm"])]),
             "t2m": write_csv(out_dir / "t2m.csv", ("date", "t2m_c"),
                              [(d, f"{t:.1f}") for d, t in zip(iso, site["t2m_c"])])}
    if stacks:
        paths["VV"] = write_stack(out_dir / "VV.tif", site, "VV")
        paths["VH"] = write_stack(out_dir / "VH.tif", site, "VH")
    return paths, site
