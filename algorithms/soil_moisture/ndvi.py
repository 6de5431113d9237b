"""Normalised difference vegetation index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..io import RunOptions, quantities, run_blockwise, sample_values
from ..io.engine import Counts

#: NDVI range the change-detection paper keeps (Fayad et al. 2022 §2.1.4): below it water and
#: built-up surfaces, above it dense forest. The paper applies it to select the optical pixels it averages around
#: each station (land cover), not as NDVI's validity: NDVI above 0.8 is valid NDVI of dense crops (21-41 % of
#: the valid summer NDVI over crops on real series, #29), so the filter is off by default (MASK_OUTSIDE).
VALID_RANGE = (0.15, 0.8)
#: Whether :func:`ndvi` masks NDVI outside :data:`VALID_RANGE` by default (True before #29).
MASK_OUTSIDE_DEFAULT = False


def ndvi(red: ArrayLike, nir: ArrayLike, *, scale: float = 1.0, offset: float = 0.0,
         mask_outside: bool = MASK_OUTSIDE_DEFAULT,
         valid_range: tuple[float, float] = VALID_RANGE) -> np.ndarray:
    """NDVI = (R_NIR − R_red) / (R_NIR + R_red) (Fayad et al. 2022, eq. 1).

    ``red`` and ``nir`` are digital numbers or reflectances; reflectance = DN·scale + offset
    (e.g. Sentinel-2 L2A: scale 1e-4 with offset −0.1 from processing baseline 04.00; Landsat
    Collection 2 Level 2: scale 2.75e-5, offset −0.2). A multiplicative scale alone leaves NDVI
    unchanged; the offset does not. Where either reflectance is NaN or not positive, or
    the sum is 0, NDVI is NaN; with ``mask_outside`` values outside ``valid_range`` are NaN too.

    Returns float32 NDVI with the shape of the inputs.
    """
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"the reflectance scale factor must be a positive number, got {scale!r}")
    lo, hi = valid_range
    if not -1.0 <= lo < hi <= 1.0:
        raise ValueError(f"the NDVI validity range must satisfy -1 <= low < high <= 1, got {valid_range}")
    r = np.asarray(red, dtype=np.float64) * scale + offset
    n = np.asarray(nir, dtype=np.float64) * scale + offset
    if r.shape != n.shape:
        raise ValueError(f"red and near-infrared have different shapes {r.shape} and {n.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (n - r) / (n + r)
        out[(r <= 0) | (n <= 0)] = np.nan
        if mask_outside:
            out[(out < lo) | (out > hi)] = np.nan
    return out.astype(np.float32)


def reflectance_problem(path: str, bands: Sequence[int], *, scale: float = 1.0, offset: float = 0.0) -> str | None:
    """A sentence when ``bands`` of ``path`` (read on a sample grid, band scale/offset applied, then ``scale`` and
    ``offset``) are no surface reflectance, else None.

    Refused: more than 0.5 % of the values outside reflectance's physical range
    (:data:`~sarsense.algorithms.io.quantities.QUANTITIES` "reflectance": digital numbers without their scale, a
    wrong offset), or no positive value at all (zeros or negative numbers, where eq. 1 has no NDVI). A band
    with no finite value is left to the empty-input check.
    """
    samples = sample_values(path, band=list(bands))
    for band, sample in zip(bands, samples):
        values = sample.astype(np.float64) * scale + offset
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        where = f"band {band}"
        problem = quantities.range_problem(values, "reflectance")
        if problem:
            return f"{where}, after the reflectance scale {scale:g} and offset {offset:g}: {problem}"
        if not (values > 0).any():
            return (f"{where} holds no positive reflectance (values {values.min():.4g}..{values.max():.4g} after the "
                    f"scale {scale:g} and offset {offset:g}): NDVI (eq. 1) needs red and near-infrared reflectance "
                    "above 0, so every pixel would be NaN; it looks like an empty or fill-value band, a wrong offset "
                    "or another layer")
    return None


def ndvi_file(red: str, nir: str, output: str, *, red_bands: Sequence[int], nir_bands: Sequence[int],
              dates: Sequence[str] | None = None, scale: float = 1.0, offset: float = 0.0,
              mask_outside: bool = MASK_OUTSIDE_DEFAULT, options: RunOptions | None = None) -> dict:
    """NDVI (Fayad et al. 2022, eq. 1, :func:`ndvi`) of bands of two rasters on one grid, file to file.

    Parameters
    ----------
    red, nir : str
        Rasters on one grid (may be the same file); ``red_bands`` and ``nir_bands`` (1-based, as many of
        each) are paired in order, one output band per pair.
    output : str
        Float32 GeoTIFF, NaN nodata, band unit ``NDVI``.
    dates : sequence of str, optional
        Band descriptions of the output (the pairs' dates).
    scale, offset, mask_outside
        As :func:`ndvi`.
    options : RunOptions, optional
        The run's budget, workers, compression, progress and cancel.

    Returns
    -------
    dict
        ``infinite``: NDVI values that came out ±inf (NIR + red = 0 after scaling), written as NaN;
        ``below_valid``/``above_valid``: pixel-dates with NDVI below/above :data:`VALID_RANGE` (NaN with
        ``mask_outside``, kept otherwise); ``negative``: those below 0 (water, or red and NIR swapped);
        ``valid``: pixel-dates with an NDVI before that filter.
    """
    n = len(red_bands)
    if len(nir_bands) != n:
        raise ValueError(f"{n} red band(s) and {len(nir_bands)} near-infrared band(s): give as many of each")
    lo, hi = VALID_RANGE
    counts = Counts("below_valid", "above_valid", "negative", "valid")

    def kernel(block):
        out = ndvi(block[:n], block[n:], scale=scale, offset=offset, mask_outside=False)
        with np.errstate(invalid="ignore"):
            below, above = out < lo, out > hi
            negative = int((out < 0).sum())
        counts.add(below_valid=int(below.sum()), above_valid=int(above.sum()), negative=negative,
                   valid=int(np.isfinite(out).sum()))
        if mask_outside:
            out[below | above] = np.nan
        return out

    res = run_blockwise([(red, list(red_bands)), (nir, list(nir_bands))], output, kernel, out_bands=n,
                        descriptions=list(dates) if dates is not None else None,
                        band_metadata={"QUANTITY": "NDVI", "units": "1"}, options=options)
    return {"infinite": res["infinite"], **counts.values}
