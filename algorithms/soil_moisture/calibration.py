"""Change detection calibrated on station samples (Fayad et al. 2022, §2.2.1-2.2.2, §3.1).

The samples are station-dates (one per station and acquisition) with VV in dB, a vegetation variable V1
(NDVI or the VH/VV ratio) and the in-situ soil moisture. Per station:

- the classic change-detection index (eq. 2) ``I_SSM = (σVV − σVV_min)/(σVV_max − σVV_min)`` over the
  station's radar series, turned into soil moisture with the station's in-situ extremes (eq. 3);
- ``ΔSSM = SSM_t − SSM_min`` (eq. 5) and ``ΔVV = σVV − σVV_min`` (eq. 6);
- the corrected model ``ΔVV = (α − β·V1)·ΔSSM`` (eq. 7), linear in (α, β), fitted by least squares
  over the training samples of all stations, and inverted as ``SSM_t = SSM_min + ΔVV/(α − β·V1)``.

The radar extremes come from the station's whole series (no in-situ value needed); the in-situ extremes
only from its training samples, so the held-out figures never see the values they are scored on.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import metrics
from ..io import quantities
from .change_detection import MIN_RANGE_DB, MIN_SENSITIVITY, ssm_from_index

#: The NDVI the paper's samples span (Fayad et al. 2022, §2.1.4: NDVI outside 0.15-0.8 is left out): where eq. 7
#: must hold.
NDVI_DOMAIN = (0.15, 0.8)
#: The paper's held-out RMSE (Fayad et al. 2022, §3.1, m³/m³): classic CD, corrected with VH/VV, corrected with NDVI.
PAPER_RMSE = {"classic": 0.074, "VH/VV": 0.073, "NDVI": 0.068}


#: The VH/VV ratio in dB a vegetation variable V1 may take: cross-polarised backscatter is weaker than co-polarised
#: over soil and vegetation (Oh 2004: q = σ°vh/σ°vv ≤ 0.14 over bare soil, ≤ −8.5 dB; a canopy raises it towards
#: −3 dB); a few dB of margin for speckle.
VH_VV_DB_RANGE = (-40.0, 3.0)
#: The kinds of vegetation variable V1 (eq. 7): NDVI, or the VH/VV ratio in dB.
V1_KINDS = ("NDVI", "VH/VV")


def v1_problem(values: ArrayLike, kind: str | None = None) -> str | None:
    """A sentence when ``values`` (a sample) are no vegetation variable V1 of eq. 7 (Fayad et al. 2022), else None.

    ``kind`` "NDVI": more than 0.5 % of the finite values outside NDVI's −1..1
    (:func:`~sarsense.algorithms.io.quantities.range_problem`). "VH/VV" or None (not known): NDVI values, or a
    VH/VV ratio in dB within :data:`VH_VV_DB_RANGE`, are accepted; anything else (NDVI scaled by 10000, a
    wrong layer) is not.
    """
    problem = quantities.range_problem(values, "ndvi")
    if problem is None or kind == "NDVI":
        return problem
    s = np.asarray(values, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    lo, hi = VH_VV_DB_RANGE
    if np.count_nonzero((s < lo) | (s > hi)) <= quantities.TOLERANCE * s.size:
        return None     # a VH/VV ratio in dB
    return (f"{problem}; nor are they a VH/VV ratio in dB ({lo:g}..{hi:g} dB: VH is weaker than VV), the other "
            "vegetation variable eq. 7 takes")


def v1_is_ndvi(values: ArrayLike, kind: str | None = None) -> bool:
    """Whether a vegetation variable V1 (a sample of it) is NDVI rather than a VH/VV ratio in dB: its ``kind`` when
    known, else NDVI when its values lie in −1..1 with a median ≥ 0 (a VH/VV ratio in dB is below 0: VH is weaker
    than VV, Oh 2004)."""
    if kind in V1_KINDS:
        return kind == "NDVI"
    s = np.asarray(values, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    return bool(s.size) and quantities.range_problem(s, "ndvi") is None and float(np.median(s)) >= 0.0


def station_extremes(station: ArrayLike, values: ArrayLike, mask: ArrayLike | None = None) -> dict:
    """Per station id, ``(min, max)`` of ``values`` over the samples where ``mask`` is true (finite only)."""
    station = np.asarray(station)
    values = np.asarray(values, dtype=np.float64)
    use = np.isfinite(values) if mask is None else (np.asarray(mask) & np.isfinite(values))
    out = {}
    for s in np.unique(station):
        v = values[use & (station == s)]
        out[s] = (float(v.min()), float(v.max())) if v.size else (float("nan"), float("nan"))
    return out


def _per_sample(station, table, which):
    return np.array([table.get(s, (np.nan, np.nan))[which] for s in np.asarray(station)], dtype=np.float64)


def classic_cd(station: ArrayLike, vv_db: ArrayLike, ssm: ArrayLike, train: ArrayLike, *,
               min_range_db: float = MIN_RANGE_DB, pooled_fallback: bool = False,
               series: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Soil moisture by the classic change detection (Fayad et al. 2022, eq. 2-3), per sample.

    σVV extremes per station from all its samples, SSM extremes from its training samples. A station whose
    radar dynamic is below ``min_range_db`` dB, or without two distinct training values, gives NaN; with
    ``pooled_fallback`` such a station (one held out whole) takes the extremes of all training samples, as a
    map made with one SSM_min/SSM_max pair does. ``series`` (per sample: its station and orbit, issue #29) gives
    the radar extremes per series instead of per station; the in-situ extremes stay the station's (one soil).
    Returns ``(ssm_estimate, index)``.
    """
    series = station if series is None else series
    ext = station_extremes(series, vv_db)
    vv = _per_sample(series, ext, 0), _per_sample(series, ext, 1)
    sm = station_extremes(station, ssm, train)
    lo, hi = _per_sample(station, sm, 0), _per_sample(station, sm, 1)
    if pooled_fallback:
        pool = np.asarray(ssm, np.float64)[np.asarray(train) & np.isfinite(ssm)]
        none = ~(hi > lo)
        if pool.size and none.any():
            lo[none], hi[none] = pool.min(), pool.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        dyn = vv[1] - vv[0]
        index = np.where(dyn >= min_range_db, (np.asarray(vv_db, np.float64) - vv[0]) / dyn, np.nan)
    return ssm_from_index(index, lo, hi), index


def deltas(station: ArrayLike, vv_db: ArrayLike, ssm: ArrayLike, train: ArrayLike, *,
           pooled_fallback: bool = False, series: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ΔVV, ΔSSM, SSM_min)`` per sample (Fayad et al. 2022, eq. 5-6): radar minimum over the station's series,
    in-situ
    minimum over its training samples (with ``pooled_fallback``, a station without any: the minimum of all
    training samples, as in :func:`classic_cd`). ``series``: the radar minimum per series (station and orbit)."""
    series = station if series is None else series
    vv_min = _per_sample(series, station_extremes(series, vv_db), 0)
    ssm_min = _per_sample(station, station_extremes(station, ssm, train), 0)
    if pooled_fallback:
        pool = np.asarray(ssm, np.float64)[np.asarray(train) & np.isfinite(ssm)]
        if pool.size:
            ssm_min = np.where(np.isfinite(ssm_min), ssm_min, pool.min())
    return np.asarray(vv_db, np.float64) - vv_min, np.asarray(ssm, np.float64) - ssm_min, ssm_min


def fit_alpha_beta(dvv: ArrayLike, dssm: ArrayLike, v1: ArrayLike) -> tuple[float, float, float]:
    """Least-squares ``(α, β)`` of ``ΔVV = (α − β·V1)·ΔSSM`` (Fayad et al. 2022, eq. 7), and the residual RMSE (dB).

    The model is linear in its parameters: ``ΔVV = α·ΔSSM + β·(−V1·ΔSSM)``, no intercept; samples with a
    NaN are left out. Raises ``ValueError`` when fewer than 3 samples remain, or when ΔSSM and V1·ΔSSM are
    collinear (V1 constant, or every ΔSSM zero).
    """
    dvv, dssm, v1 = (np.asarray(a, np.float64).ravel() for a in (dvv, dssm, v1))
    ok = np.isfinite(dvv) & np.isfinite(dssm) & np.isfinite(v1)
    if ok.sum() < 3:
        raise ValueError(f"only {int(ok.sum())} training samples have VV, V1 and in-situ values: at least 3 are "
                         "needed to fit α and β")
    a = np.column_stack([dssm[ok], -v1[ok] * dssm[ok]])
    coef, _, rank, _ = np.linalg.lstsq(a, dvv[ok], rcond=None)
    if rank < 2:
        raise ValueError("α and β cannot be told apart: V1 is constant or every in-situ value equals its station's "
                         "minimum. Use samples with varying vegetation and moisture")
    resid = dvv[ok] - a @ coef
    return float(coef[0]), float(coef[1]), float(np.sqrt(np.mean(resid ** 2)))


def corrected_cd(dvv: ArrayLike, v1: ArrayLike, ssm_min: ArrayLike, alpha: float, beta: float, *,
                 min_sensitivity: float = MIN_SENSITIVITY) -> np.ndarray:
    """``SSM_t = SSM_min + ΔVV/(α − β·V1)`` (Fayad et al. 2022, eq. 7 inverted); NaN where ``α − β·V1 ≤
    min_sensitivity``."""
    sens = alpha - beta * np.asarray(v1, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(ssm_min, np.float64) + np.asarray(dvv, np.float64) / sens
    return np.where(sens > min_sensitivity, out, np.nan)


def plausibility(alpha: float, beta: float, *, v1: ArrayLike, v1_kind: str = "NDVI",
                 scores_classic: dict | None = None, scores_corrected: dict | None = None) -> list[dict]:
    """What makes a fit of eq. 7 (Fayad et al. 2022) physically implausible or useless: a list of flags, each a dict
    with ``code`` and ``message`` (empty when nothing is wrong).

    The paper publishes no fitted α or β (§3.1 gives only RMSE and R), so the range checked is the one its model
    admits: ``alpha_not_positive`` (α ≤ 0: eq. 4, ΔVV = α·ΔSSM, needs the radar brighter when the soil is
    wetter, the premise of eq. 2); ``beta_negative`` (β < 0: eq. 7 models the vegetation *lowering* the radar's
    sensitivity, §2.2.2 and §4, "C-band potential limited in dense canopies"); ``no_sensitivity`` (α − β·V1 ≤
    :data:`~.change_detection.MIN_SENSITIVITY` somewhere in V1's domain: the range of ``v1``, for NDVI widened to
    the paper's samples' 0.15-0.8 (§2.1.4); the map would be NaN there); ``corrected_worse`` (the corrected
    method's held-out RMSE above the classic one's: the paper's correction lowers it, 0.074 → 0.068 m³/m³
    with NDVI, §3.1).
    """
    flags = []
    if not alpha > 0:
        flags.append({"code": "alpha_not_positive", "message": (
            f"α = {alpha:.4g} ≤ 0: the fit has the radar darker as the soil wets, the opposite of the change "
            "detection's premise (Fayad et al. 2022, eq. 2 and 4); the samples carry no usable moisture signal")})
    if beta < 0:
        flags.append({"code": "beta_negative", "message": (
            f"β = {beta:.4g} < 0: the sensitivity α − β·V1 would rise with vegetation, while eq. 7 (Fayad et al. "
            "2022, §2.2.2, §4) models vegetation lowering it; physically implausible")})
    v = np.asarray(v1, np.float64)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (np.inf, -np.inf)
    if v1_kind == "NDVI":
        lo, hi = min(lo, NDVI_DOMAIN[0]), max(hi, NDVI_DOMAIN[1])
    worst = min(alpha - beta * lo, alpha - beta * hi) if lo <= hi else np.inf
    if alpha > 0 and worst <= MIN_SENSITIVITY:
        where = (f"NDVI {lo:.3g}…{hi:.3g} (the paper's samples span 0.15-0.8, §2.1.4)" if v1_kind == "NDVI"
                 else f"the samples' V1 {lo:.3g}…{hi:.3g}")
        flags.append({"code": "no_sensitivity", "message": (
            f"α − β·V1 falls to {worst:.3g} dB per m³/m³ within {where}: the corrected model has no sensitivity to "
            "moisture there and maps NaN")})
    rc = (scores_classic or {}).get("rmse", np.nan)
    rv = (scores_corrected or {}).get("rmse", np.nan)
    if np.isfinite(rc) and not rv <= rc:
        flags.append({"code": "corrected_worse", "message": (
            f"on the held-out samples the corrected change detection does worse than the classic one (RMSE "
            f"{rv:.4f} against {rc:.4f} m³/m³), while the paper's correction improves it (0.074 → "
            f"{PAPER_RMSE.get(v1_kind, 0.068):.3f}, §3.1): prefer 'Soil moisture by change detection' here")})
    return flags


def index_and_ssm_t(station: ArrayLike, vv_db: ArrayLike, ssm: ArrayLike, train: ArrayLike, *,
                    min_range_db: float = MIN_RANGE_DB,
                    series: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The change-detection predictors of the hybrid (Fayad et al. 2022, §2.2.3): ``ΔVV``, ``I_SSM`` and ``SSM_t``
    (eq. 2-3,
    5-6) per sample, in-situ extremes from the station's training samples, else from all training samples."""
    ssm_t, index = classic_cd(station, vv_db, ssm, train, min_range_db=min_range_db, pooled_fallback=True,
                              series=series)
    dvv, _, _ = deltas(station, vv_db, ssm, train, series=series)
    return dvv, index, ssm_t


def calibrate(station: ArrayLike, vv_db: ArrayLike, v1: ArrayLike, ssm: ArrayLike, *, fraction: float = 0.7,
              seed: int = 0, v1_kind: str = "NDVI", series: ArrayLike | None = None) -> dict:
    """α and β of the corrected change detection (Fayad et al. 2022, eq. 7) fitted on a random, seeded ``fraction``
    of the complete samples (VV, V1 and in-situ values all finite: the paper's 70/30 split), and the classic (eq. 2-3)
    and corrected estimates of every sample, scored on the held-out ones (Fayad et al. 2022, §3.1).

    Returns a dict: ``train`` and ``held`` (boolean masks), ``alpha``, ``beta``, ``residual_db`` (of the fit),
    ``classic`` and ``corrected`` (estimates, m³/m³, per sample), ``scores_classic`` and ``scores_corrected``
    (:func:`~sarsense.algorithms.metrics.continuous_scores` on the held-out samples) and ``extremes`` (each
    station's in-situ minimum and maximum over its training samples) and ``flags`` (:func:`plausibility`, with
    ``v1_kind`` "NDVI" or "VH/VV"). ``series`` (per sample: station and orbit, issue #29): the radar minimum and
    maximum per series (:func:`classic_cd`, :func:`deltas`). Fewer than 6 complete samples: ValueError.
    """
    station = np.asarray(station)
    vv_db, v1, ssm = (np.asarray(x, np.float64) for x in (vv_db, v1, ssm))
    complete = np.isfinite(vv_db) & np.isfinite(v1) & np.isfinite(ssm)
    if complete.sum() < 6:
        raise ValueError(f"{int(complete.sum())} samples have VV, V1 and an in-situ value: at least 6 are needed "
                         "(half for fitting, the rest for validation).")
    train = metrics.split_among(complete, fraction=fraction, seed=seed)
    held = complete & ~train
    dvv, dssm, ssm_min = deltas(station, vv_db, ssm, train, series=series)
    alpha, beta, resid = fit_alpha_beta(dvv[train], dssm[train], v1[train])
    corrected = corrected_cd(dvv, v1, ssm_min, alpha, beta)
    classic, _ = classic_cd(station, vv_db, ssm, train, series=series)
    sc_classic = metrics.continuous_scores(classic[held], ssm[held])
    sc_corrected = metrics.continuous_scores(corrected[held], ssm[held])
    return {"train": train, "held": held, "alpha": alpha, "beta": beta, "residual_db": resid, "classic": classic,
            "corrected": corrected, "scores_classic": sc_classic, "scores_corrected": sc_corrected,
            "extremes": station_extremes(station, ssm, train),
            "flags": plausibility(alpha, beta, v1=v1[complete], v1_kind=v1_kind, scores_classic=sc_classic,
                                  scores_corrected=sc_corrected)}
