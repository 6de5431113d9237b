"""Water Cloud Model: vegetation and soil contributions to σ° (Sadeghi et al., "004", eq. 1, 4-6).

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
from ..io.engine import Counts
from .terrain import check_incidence

#: Defaults that reproduce 004's eq. 5-6 as printed (no A, B coefficients there, i.e. 1).
DEFAULT_A, DEFAULT_B = 1.0, 1.0


def lai_from_ndvi(ndvi: ArrayLike) -> np.ndarray:
    """Leaf area index from NDVI (004 eq. 1): ``LAI = 0.57·exp(2.33·NDVI)``."""
    return 0.57 * np.exp(2.33 * np.asarray(ndvi, dtype=np.float64))


def _canopy(ndvi, incidence_deg, a, b):
    """``(τ², σ°_veg)`` of the canopy (004 eq. 1, 5, 6), float64; ``a`` and ``b`` numbers or per-pixel arrays."""
    for name, v in (("A", a), ("B", b)):
        if not (np.all(np.isfinite(v)) and np.all(np.asarray(v) >= 0)):
            raise ValueError(f"the Water Cloud Model parameter {name} must be a number >= 0, got {v!r}")
    lai = lai_from_ndvi(ndvi)
    cos_t = np.cos(np.radians(np.asarray(incidence_deg, dtype=np.float64)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tau2 = np.exp(-2.0 * b * lai / cos_t)
        veg = a * lai * cos_t * (1.0 - tau2)
    return tau2, veg


def water_cloud(sigma_lin: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, *, a: ArrayLike = DEFAULT_A,
                b: ArrayLike = DEFAULT_B) -> tuple[np.ndarray, np.ndarray, int]:
    """Soil and vegetation backscatter in linear power.

    - ``LAI = 0.57·exp(2.33·NDVI)`` (004 eq. 1);
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


def backscatter(soil_lin: ArrayLike, ndvi: ArrayLike, incidence_deg: ArrayLike, *, a: ArrayLike = DEFAULT_A,
                b: ArrayLike = DEFAULT_B) -> np.ndarray:
    """The forward Water Cloud Model, the inverse of :func:`water_cloud`: ``σ° = σ°_veg + τ²·σ°_soil``
    (Attema & Ulaby 1978; 004 eq. 4-6 with the two-way τ²), linear power, float64, inputs broadcast."""
    tau2, veg = _canopy(ndvi, incidence_deg, a, b)
    return veg + tau2 * np.asarray(soil_lin, dtype=np.float64)


def water_cloud_file(sigma: str, ndvi: str, output_soil: str, *, ndvi_bands: Sequence[int],
                     incidence: str | None = None, incidence_deg: float | None = None, a: float = DEFAULT_A,
                     b: float = DEFAULT_B, in_db: bool = False, output_veg: str | None = None,
                     incidence_name: str = "the incidence angle", options: RunOptions | None = None) -> dict:
    """Soil and vegetation terms of σ° by the Water Cloud Model (004 eq. 1, 4-6, :func:`water_cloud`), file to
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
        ``infinite`` (±inf written as NaN), ``no_soil`` (pixel-dates with σ° ≤ σ°_veg) and ``valid``
        (pixel-dates where σ° and σ°_veg are finite).
    """
    if (incidence is None) == (incidence_deg is None):
        raise ValueError("give the incidence angle as a raster or as a number, not both or neither")
    info = read_info(sigma)
    n = info.band_count
    if len(ndvi_bands) != n:
        raise ValueError(f"one NDVI band per band of the input is needed ({n}), got {len(ndvi_bands)}")
    sources = [sigma, (ndvi, list(ndvi_bands))] + ([(incidence, [1])] if incidence else [])
    counts = Counts("no_soil", "valid")

    def kernel(block):
        lin = sar.db_to_linear(block[:n])[0] if in_db else block[:n]
        inc = block[2 * n] if incidence else incidence_deg
        if incidence:
            check_incidence(inc, incidence_name)
        soil, veg, none_left = water_cloud(lin, block[n:2 * n], inc, a=a, b=b)
        counts.add(no_soil=none_left, valid=int((np.isfinite(lin) & np.isfinite(veg)).sum()))
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
                        bytes_per_pixel=96, options=options, **layout)
    return {"infinite": res["infinite"], **counts.values}
