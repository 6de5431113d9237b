"""Water Cloud Model: vegetation and soil contributions to σ° (Rahimabadi & Jamali 2019, eq. 1, 4-6).

Reading of τ: the paper writes σ° = τ·σ°_s + σ°_dv + σ°_int (eq. 4) but defines τ² as the
transmitted portion (eq. 5). We follow the Water Cloud Model as published by Attema & Ulaby (1978,
Radio Science 13(2):357-364), where the soil term is attenuated twice, on the way in and out:
σ° = σ°_veg + τ²·σ°_soil, σ°_int neglected. The one-way reading (σ°_soil = (σ° − σ°_veg)/τ) would
give soil terms smaller by the factor τ (``10·log10 τ = −(10/ln 10)·B·LAI·sec θ`` dB); docs/soil_moisture.md
gives what that means on the bundled data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .. import sar
from ..io import RunOptions, read_info, run_blockwise
from ..io.engine import Counts, Sums
from .terrain import check_incidence

#: The coefficients of Rahimabadi & Jamali (2019)'s eq. 5-6 as printed (none there, i.e. 1): NOT a calibration. On
#: C-band data they leave no soil term (σ°_veg above every σ° of the bundled Bolivia series), so they are not the
#: default (the literature's calibration below is).
PRINTED_A, PRINTED_B = 1.0, 1.0
#: Literature defaults of A and B with LAI as both vegetation descriptors, the form used here: Prévot, Champion &
#: Guyot (1993), "Estimating surface soil moisture and leaf area index of a wheat canopy using a dual-frequency (C
#: and X bands) scatterometer", Remote Sens. Environ. 46(3):331-339, fitted on a wheat field over a season at C band
#: (5.3 GHz, HH, 20°): the canopy's own backscatter term was not significant at C band (A = 0) and the attenuation
#: B = 0.089 per unit LAI (as Mandal, Bhattacharya & Rao 2021, "Radar Remote Sensing for Crop Biophysical Parameter
#: Estimation", Springer, ch. 4, tabulate them). The nearest published crop calibration of this form at Sentinel-1's
#: frequency; VV at
#: 30-45° over other crops differs, so a run on these defaults says so and points to 'Calibrate Water Cloud Model'.
LITERATURE_A, LITERATURE_B = 0.0, 0.089
LITERATURE_SOURCE = "Prévot et al. 1993 (wheat, C band HH 20°)"


def lai_from_ndvi(ndvi: ArrayLike) -> np.ndarray:
    """Leaf area index from NDVI (Rahimabadi & Jamali 2019, eq. 1): ``LAI = 0.57·exp(2.33·NDVI)``."""
    return 0.57 * np.exp(2.33 * np.asarray(ndvi, dtype=np.float64))


def _canopy(ndvi, incidence_deg, a, b):
    """``(τ², σ°_veg)`` of the canopy (Rahimabadi & Jamali 2019, eq. 1, 5, 6), float64; ``a`` and ``b`` numbers or
    per-pixel arrays."""
    for name, v in (("A", a), ("B", b)):
        if not (np.all(np.isfinite(v)) and np.all(np.asarray(v) >= 0)):
            raise ValueError(f"the Water Cloud Model parameter {name} must be a number >= 0, got {v!r}")
    lai = lai_from_ndvi(ndvi)
    cos_t = np.cos(np.radians(np.asarray(incidence_deg, dtype=np.float64)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tau2 = np.exp(-2.0 * b * lai / cos_t)
        veg = a * lai * cos_t * (1.0 - tau2)
    return tau2, veg


def water_cloud(sigma_lin: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, *, a: ArrayLike,
                b: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """Soil and vegetation backscatter in linear power.

    - ``LAI = 0.57·exp(2.33·NDVI)`` (Rahimabadi & Jamali 2019, eq. 1);
    - ``τ² = exp(−2·B·LAI·sec θ)`` (eq. 5);
    - ``σ°_veg = A·LAI·cos θ·(1 − τ²)`` (eq. 6);
    - ``σ°_soil = (σ° − σ°_veg)/τ²`` (eq. 4 with the two-way τ², see the module note).

    Where σ° ≤ σ°_veg (the vegetation alone explains the signal) σ°_soil is NaN.
    Returns ``(soil, veg, n_nonpositive)``; float32, inputs broadcast.
    """
    tau2, veg = _canopy(ndvi, incidence_deg, a, b)
    sigma = np.asarray(sigma_lin, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        soil = (sigma - veg) / tau2
    none_left = sigma <= veg
    soil = np.where(none_left, np.nan, soil)
    return soil.astype(np.float32), veg.astype(np.float32), int(none_left.sum())


def backscatter(soil_lin: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, *, a: ArrayLike,
                b: ArrayLike) -> np.ndarray:
    """The forward Water Cloud Model, the inverse of :func:`water_cloud`: ``σ° = σ°_veg + τ²·σ°_soil``
    (Attema & Ulaby 1978; Rahimabadi & Jamali (2019), eq. 4-6 with the two-way τ²), linear power, float64, inputs
    broadcast."""
    tau2, veg = _canopy(ndvi, incidence_deg, a, b)
    return veg + tau2 * np.asarray(soil_lin, dtype=np.float64)


def water_cloud_file(sigma: str, ndvi: str, output_soil: str, *, ndvi_bands: Sequence[int],
                     incidence: str | None = None, incidence_deg: float | None = None, a: float,
                     b: float, in_db: bool = False, output_veg: str | None = None,
                     incidence_name: str = "the incidence angle", options: RunOptions | None = None) -> dict:
    """Soil and vegetation terms of σ° by the Water Cloud Model (Rahimabadi & Jamali 2019, eq. 1, 4-6,
    :func:`water_cloud`), file to
    file, block by block.

    Parameters
    ----------
    sigma : str
        σ° (one band or a dated stack), linear power or dB (``in_db``; computed in linear power, written back in
        the input's units).
    ndvi : str
        NDVI on ``sigma``'s grid; ``ndvi_bands`` (1-based) gives its band for each band of ``sigma``.
    output_soil : str
        Float32 GeoTIFF of σ°_soil, ``sigma``'s band descriptions, NaN where σ° ≤ σ°_veg.
    incidence, incidence_deg
        Incidence angle: a one-band raster on ``sigma``'s grid, or one number (degrees). Raster values are
        checked by :func:`~.terrain.check_incidence`, whose message names ``incidence_name``.
    a, b : float
        The model's A and B (:func:`water_cloud`).
    output_veg : str, optional
        Also write σ°_veg.
    options : RunOptions, optional
        Budget, workers, compression, progress and cancel.

    Returns
    -------
    dict
        Why σ°_soil is NaN, in pixel-dates: ``no_sigma`` (σ° NaN), ``no_ndvi`` (σ° but no NDVI or angle),
        ``no_soil`` (σ° ≤ σ°_veg: the vegetation term A·LAI·cos θ·(1 − τ²) explains all the signal) and
        ``opaque`` (τ² = exp(−2·B·LAI·sec θ) is 0 in float precision: B makes the canopy opaque); ``valid``
        (σ° and σ°_veg finite), ``soil`` (σ°_soil finite: none means an empty map),
        ``infinite`` (any other ±inf, written as NaN); ``a_max`` (geometric mean over
        the ``no_soil`` pixel-dates of the largest A that leaves σ°_veg below σ°, NaN when none) and ``tau2``
        (geometric mean of τ² over the valid pixel-dates).
    """
    if (incidence is None) == (incidence_deg is None):
        raise ValueError("give the incidence angle as a raster or as a number, not both or neither")
    info = read_info(sigma)
    n = info.band_count
    if len(ndvi_bands) != n:
        raise ValueError(f"one NDVI band per band of the input is needed ({n}), got {len(ndvi_bands)}")
    sources = [sigma, (ndvi, list(ndvi_bands))] + ([(incidence, [1])] if incidence else [])
    counts = Counts("no_sigma", "no_ndvi", "no_soil", "opaque", "valid", "soil")
    logs = _LogSums("a_max", "tau2")

    def kernel(block):
        lin = sar.db_to_linear(block[:n])[0] if in_db else block[:n]
        inc = block[2 * n] if incidence else incidence_deg
        if incidence:
            check_incidence(inc, incidence_name)
        soil, veg, none_left = water_cloud(lin, block[n:2 * n], inc, a=a, b=b)
        has_sigma = np.isfinite(lin)
        valid = has_sigma & np.isfinite(veg)
        tau2, _ = _canopy(block[n:2 * n], inc, a, b)
        opaque = valid & (lin > veg) & ~np.isfinite(soil)
        soil[opaque] = np.nan
        counts.add(no_sigma=int((~has_sigma).sum()), no_ndvi=int((has_sigma & ~valid).sum()), no_soil=none_left,
                   opaque=int(opaque.sum()), valid=int(valid.sum()), soil=int(np.isfinite(soil).sum()))
        with np.errstate(divide="ignore", invalid="ignore"):
            gone = valid & (lin <= veg) & (lin > 0)
            logs.add(a_max=np.log(a * lin[gone] / veg[gone]) if a > 0 else np.array([]),
                     tau2=np.log(np.broadcast_to(tau2, valid.shape)[valid & (tau2 > 0)]))
        if in_db:
            soil, veg = sar.linear_to_db(soil)[0], sar.linear_to_db(veg)[0]
        return (soil, veg) if output_veg else soil

    units = "dB" if in_db else "linear power"
    soil_meta = {"QUANTITY": "soil backscatter (Water Cloud Model)", "units": units, "TERM": "soil"}
    veg_meta = {"QUANTITY": "vegetation backscatter (Water Cloud Model)", "units": units, "TERM": "vegetation"}
    if output_veg:
        layout = dict(out_bands=[n, n], descriptions=[info.descriptions, info.descriptions],
                      band_metadata=[soil_meta, veg_meta])
    else:
        layout = dict(out_bands=n, descriptions=info.descriptions, band_metadata=soil_meta)
    res = run_blockwise(sources, [output_soil, output_veg] if output_veg else output_soil, kernel,
                        bytes_per_pixel=112, options=options, **layout)
    return {"infinite": res["infinite"], **counts.values, **logs.geometric_means()}


class _LogSums:
    """Sums of logarithms the block kernels add to: geometric means over the whole raster. The totals are a
    :class:`~sarsense.algorithms.io.engine.Sums` (and a :class:`Counts`), so they come back from a Dask cluster's
    workers too."""

    def __init__(self, *names):
        self.names = names
        self.sums = Sums(*names)
        self.counts = Counts(*names)

    def add(self, **values):
        finite = {}
        for k, v in values.items():
            v = np.asarray(v, np.float64)
            finite[k] = v[np.isfinite(v)]
        self.sums.add(**{k: float(v.sum()) for k, v in finite.items()})
        self.counts.add(**{k: int(v.size) for k, v in finite.items()})

    def geometric_means(self):
        return {k: float(np.exp(self.sums[k] / self.counts[k])) if self.counts[k] else float("nan")
                for k in self.names}


# -- calibration on station samples --------------------------------------------------------------------------
#: Bounds of the fit (A, B, C dB, D dB per m³/m³): wide, only to keep the optimiser in a physical region.
FIT_BOUNDS = ((0.0, 0.0, -40.0, -100.0), (5.0, 5.0, 10.0, 200.0))


def forward_db(params: Sequence[float], ndvi: ArrayLike, incidence_deg: ArrayLike, ssm: ArrayLike) -> np.ndarray:
    """σ° in dB of the Water Cloud Model with the soil term linear in moisture in dB (Attema & Ulaby 1978):
    ``σ° = A·LAI·cos θ·(1 − τ²) + τ²·10^((C + D·mv)/10)``, LAI from NDVI (Rahimabadi & Jamali 2019,
    eq. 1), ``params = (A, B, C, D)``."""
    a, b, c, d = (float(x) for x in params)
    soil = 10.0 ** ((c + d * np.asarray(ssm, np.float64)) / 10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(backscatter(soil, ndvi, incidence_deg, a=a, b=b))


def invert_ssm(sigma_db: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, params: Sequence[float]) -> np.ndarray:
    """Soil moisture (m³/m³) from σ° (dB) with fitted ``(A, B, C, D)``: σ°_soil by :func:`water_cloud`, then
    ``mv = (σ°_soil[dB] − C)/D``; NaN where the vegetation explains all the signal."""
    a, b, c, d = (float(x) for x in params)
    soil, _, _ = water_cloud(10.0 ** (np.asarray(sigma_db, np.float64) / 10.0), ndvi, incidence_deg, a=a, b=b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (10.0 * np.log10(soil.astype(np.float64)) - c) / d


def fit(sigma_db: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, ssm: ArrayLike, *, fraction: float = 0.7,
        seed: int = 0) -> dict:
    """A, B (and the soil line C, D) of the Water Cloud Model fitted to station samples.

    Least squares in dB of :func:`forward_db` (A, B, C, D) on a random, seeded ``fraction`` of the complete
    samples (σ°, NDVI, θ and the in-situ moisture finite), from several starts (the fit is not convex); scored on
    the rest: σ° in dB (forward) and the moisture retrieved by :func:`invert_ssm` against in situ.

    Returns a dict: ``a``, ``b``, ``c``, ``d``, ``train``/``held`` (masks), ``residual_db`` (training RMSE),
    ``scores_db`` and ``scores_ssm`` (:func:`~sarsense.algorithms.metrics.continuous_scores`, held out),
    ``nan_share`` (held-out samples the inversion leaves NaN) and ``flags`` (list of ``{code, message}``: A or B
    at 0, the fit finding no vegetation term or attenuation; D ≤ 0, the radar darker as the soil wets; most
    held-out samples NaN). Fewer than 8 complete samples: ValueError.
    """
    from scipy.optimize import least_squares

    from .. import metrics
    sig, nd, th, mv = (np.asarray(x, np.float64).ravel() for x in (sigma_db, ndvi, incidence_deg, ssm))
    th = np.broadcast_to(th, sig.shape) if th.size == 1 else th
    complete = np.isfinite(sig) & np.isfinite(nd) & np.isfinite(th) & np.isfinite(mv)
    if complete.sum() < 8:
        raise ValueError(f"{int(complete.sum())} samples have σ°, NDVI, the incidence angle and an in-situ value: "
                         "at least 8 are needed (to fit 4 coefficients and keep some for validation)")
    train = metrics.split_among(complete, fraction=fraction, seed=seed)
    held = complete & ~train

    def residual(p):
        r = forward_db(p, nd[train], th[train], mv[train]) - sig[train]
        return np.where(np.isfinite(r), r, 50.0)

    best = None
    for a0 in (0.01, 0.1, 1.0):
        for b0 in (0.05, 0.5):
            res = least_squares(residual, (a0, b0, -15.0, 20.0), bounds=FIT_BOUNDS)
            if best is None or res.cost < best.cost:
                best = res
    p = best.x
    est = invert_ssm(sig[held], nd[held], th[held], p)
    sc_db = metrics.continuous_scores(forward_db(p, nd[held], th[held], mv[held]), sig[held])
    sc_ssm = metrics.continuous_scores(est, mv[held])
    nan_share = float(np.mean(~np.isfinite(est))) if est.size else float("nan")
    flags = []
    if p[0] <= 1e-6 or p[1] <= 1e-6:
        what = "scattering" if p[0] <= 1e-6 else "attenuation"
        flags.append({"code": "at_bound", "message": (
            f"A = {p[0]:.3g}, B = {p[1]:.3g}: the fit finds no vegetation {what}; the samples do not constrain the "
            "vegetation term (too little NDVI range?)")})
    if p[3] <= 0:
        flags.append({"code": "d_not_positive", "message": (
            f"D = {p[3]:.3g} dB per m³/m³ ≤ 0: the fitted soil term darkens as the soil wets; the samples carry no "
            "usable moisture signal")})
    if nan_share > 0.5:
        flags.append({"code": "mostly_nan", "message": (
            f"the inversion leaves {100 * nan_share:.0f} % of the held-out samples NaN (σ° ≤ σ°_veg)")})
    return {"a": float(p[0]), "b": float(p[1]), "c": float(p[2]), "d": float(p[3]), "train": train, "held": held,
            "residual_db": float(np.sqrt(np.mean(best.fun ** 2))), "scores_db": sc_db, "scores_ssm": sc_ssm,
            "estimate": est, "nan_share": nan_share, "flags": flags}


def read_params(path: str) -> tuple[float, float]:
    """``(A, B)`` from a parameters JSON (``{"a": …, "b": …}``, what 'Calibrate Water Cloud Model' writes)."""
    from ..io import model_files
    what = {"kind": "Water Cloud Model parameters file (JSON with numbers 'a' and 'b')",
            "algorithm": "Calibrate Water Cloud Model"}
    data = model_files.load_json(path, **what)
    a, b = (model_files.number(data, key, path, **what) for key in ("a", "b"))
    if not (np.isfinite(a) and np.isfinite(b) and a >= 0 and b >= 0):
        raise ValueError(f"the parameters file '{path}' has A = {a}, B = {b}: both must be numbers >= 0")
    return a, b
