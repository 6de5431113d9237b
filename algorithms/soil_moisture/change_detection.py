"""Change-detection soil moisture (Fayad et al. 2022, §2.2.1-2.2.2)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .. import sar
from ..io import RunOptions
from ..io.engine import Counts, Sums, run_blockwise
from ..io.options import resolve
from ..io.raster import band_scaling, nodata_mask, open_dataset
from . import frozen
from . import series as _series
from .series import SeriesOptions

#: Smallest dB dynamic (σVV_max − σVV_min) for which the index means something: below it the
#: series is flat to within speckle and calibration noise and the index would amplify noise.
MIN_RANGE_DB = 0.5
#: α − β·V1 at or below this is no usable sensitivity (dB per m³/m³): the pixel is NaN.
MIN_SENSITIVITY = 0.01
REFERENCES = ("minmax", "percentile")


def _valid_count(stack):
    return np.isfinite(stack).sum(axis=0)


def nan_percentiles(stack: ArrayLike, percents: Sequence[float], n_valid: np.ndarray | None = None) -> list[np.ndarray]:
    """Per-pixel percentiles over axis 0 leaving NaN out: numpy's default ("linear") definition.

    Equal to ``np.nanpercentile(stack, percents, axis=0)`` (tested), which numpy computes pixel by
    pixel in Python when NaN is present; here one sort along the dates does every pixel at once.
    Returns one float32 array per percent; NaN where a pixel has no valid date.
    """
    ordered = np.sort(stack, axis=0)                      # NaN sort last
    n = _valid_count(stack) if n_valid is None else n_valid
    out = []
    for p in percents:
        h = (np.maximum(n, 1) - 1) * (p / 100.0)
        lo = np.floor(h).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(n, 1) - 1)
        a = np.take_along_axis(ordered, lo[np.newaxis], axis=0)[0].astype(np.float64)
        b = np.take_along_axis(ordered, hi[np.newaxis], axis=0)[0].astype(np.float64)
        v = a + (h - lo) * (b - a)
        v[n == 0] = np.nan
        out.append(v.astype(np.float32))
    return out


def change_index(stack_db: ArrayLike, *, reference: str = "minmax", low_pct: float = 5.0, high_pct: float = 95.0,
                 min_dates: int = 5, min_range_db: float = MIN_RANGE_DB) -> tuple[np.ndarray, int, int]:
    """Change-detection soil-moisture index (Fayad et al. 2022, eq. 2), per pixel over a dB time series.

    ``I_SSM = (σVV − σVV_min) / (σVV_max − σVV_min)`` with σ in dB and the minimum and maximum taken
    per pixel over the series (``reference="minmax"``, the paper), or the ``low_pct`` and
    ``high_pct`` percentiles (linear interpolation between order statistics, NaN dates left out),
    in which case the index is clipped to [0, 1].

    Pixels with fewer than ``min_dates`` valid dates, or whose σVV_max − σVV_min is below
    ``min_range_db``, are NaN on every date.

    Returns ``(index, n_few, n_flat)``: float32 (dates, rows, cols) and the counts of pixels that
    were NaN for too few dates and for too small a dynamic.
    """
    index, n_few, n_flat, _, _ = index_and_references(stack_db, reference=reference, low_pct=low_pct,
                                                      high_pct=high_pct, min_dates=min_dates, min_range_db=min_range_db)
    return index, n_few, n_flat


def index_and_references(stack_db: ArrayLike, *, reference: str = "minmax", low_pct: float = 5.0,
                         high_pct: float = 95.0, min_dates: int = 5, min_range_db: float = MIN_RANGE_DB) -> tuple:
    """:func:`change_index` with the dry and wet references it used (:func:`dry_wet`, dB per pixel, NaN where a
    pixel has no valid date): ``(index, n_few, n_flat, dry, wet)``; a job that reports its references takes them
    from here rather than computing them twice."""
    arr = np.asarray(stack_db, dtype=np.float32)
    if arr.ndim != 3:
        raise ValueError(f"expected a (dates, rows, cols) stack, got shape {arr.shape}")
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if min_dates < 2:
        raise ValueError(f"the minimum number of valid dates must be at least 2, got {min_dates}")
    if reference == "percentile" and not 0 <= low_pct < high_pct <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {low_pct} and {high_pct}")
    n = _valid_count(arr)
    few = n < min_dates
    with np.errstate(invalid="ignore", divide="ignore"), _all_nan_ok():
        lo, hi = dry_wet(arr, reference=reference, low_pct=low_pct, high_pct=high_pct, n_valid=n)
        dyn = hi - lo
        flat = ~few & ~(dyn >= min_range_db)
        index = (arr - lo) / dyn
        if reference == "percentile":
            np.clip(index, 0.0, 1.0, out=index)
    index[:, few | flat] = np.nan
    return index.astype(np.float32), int(few.sum()), int(flat.sum()), lo, hi


def dry_wet(stack_db: ArrayLike, *, reference: str = "minmax", low_pct: float = 5.0, high_pct: float = 95.0,
            n_valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The dry and wet references of eq. 2 per pixel over the series (dB): its minimum and maximum, or the
    ``low_pct`` and ``high_pct`` percentiles (:func:`nan_percentiles`); NaN where a pixel has no valid date."""
    arr = np.asarray(stack_db, dtype=np.float32)
    with np.errstate(invalid="ignore"), _all_nan_ok():
        if reference == "minmax":
            return np.nanmin(arr, axis=0), np.nanmax(arr, axis=0)
        lo, hi = nan_percentiles(arr, (low_pct, high_pct), n_valid)
    return lo, hi


def delta_vv(stack_db: ArrayLike, *, min_dates: int = 2) -> np.ndarray:
    """``ΔVV = σVV − σVV_min`` (Fayad et al. 2022, eq. 6, dB), the minimum per pixel over the series; pixels with
    fewer than
    ``min_dates`` valid dates are NaN on every date. Float32 (dates, rows, cols)."""
    arr = np.asarray(stack_db, dtype=np.float32)
    with np.errstate(invalid="ignore"), _all_nan_ok():
        out = arr - np.nanmin(arr, axis=0)
    out[:, _valid_count(arr) < min_dates] = np.nan
    return out


def ssm_from_index(index: ArrayLike, ssm_min: ArrayLike, ssm_max: ArrayLike) -> np.ndarray:
    """Soil moisture from the index (Fayad et al. 2022, eq. 3): ``SSM_t = I_SSM·(SSM_max − SSM_min) + SSM_min`` (m³/m³).

    ``ssm_min`` and ``ssm_max`` are numbers or per-pixel arrays (broadcast); where
    ``ssm_min >= ssm_max`` (or either is NaN) the result is NaN.
    """
    lo = np.asarray(ssm_min, dtype=np.float32)
    hi = np.asarray(ssm_max, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        out = np.asarray(index, dtype=np.float32) * (hi - lo) + lo
        out = np.where(lo < hi, out, np.nan)
    return out.astype(np.float32)


def check_ssm_bounds(ssm_min: float, ssm_max: float) -> None:
    """Refuse SSM bounds that are not volumetric water contents with min < max."""
    for name, v in (("SSM_min", ssm_min), ("SSM_max", ssm_max)):
        if not np.isfinite(v) or not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be a volumetric water content in m³/m³ between 0 and 1, got {v!r}")
    if ssm_min >= ssm_max:
        raise ValueError(f"SSM_min ({ssm_min}) must be below SSM_max ({ssm_max})")


def bound_conflicts(ssm_min: float, ssm_max: float, *, ssm_min_raster: str | None = None,
                    ssm_max_raster: str | None = None, max_side: int = 256) -> tuple[int, int, tuple[float, float]]:
    """Where the driest soil moisture is not below the wettest (eq. 3 has no answer there): ``(n, of, example)``,
    the sampled pixels with ``SSM_min ≥ SSM_max`` among ``of`` pixels where both are known, and one such pair.

    ``ssm_min_raster`` and ``ssm_max_raster`` (one band, on one grid) override the numbers; both are read at the
    same ``max_side``² decimated positions, so the pairs are the same pixels.
    """
    shape = None
    values = []
    for path, number in ((ssm_min_raster, ssm_min), (ssm_max_raster, ssm_max)):
        if not path:
            values.append(number)
            continue
        ds = open_dataset(path)        # held while its band is read (GDAL frees a band with its dataset)
        band = ds.GetRasterBand(1)
        if shape is None:
            xs, ys = band.XSize, band.YSize
            f = max(1.0, max(xs, ys) / max_side)
            shape = (max(1, int(round(xs / f))), max(1, int(round(ys / f))))
        raw = band.ReadAsArray(buf_xsize=shape[0], buf_ysize=shape[1])
        arr = raw.astype(np.float64)
        mask = nodata_mask(raw, band.GetNoDataValue())       # compared in the band's own type, as reads do
        if mask is not None:
            arr[mask] = np.nan
        scale, offset = band_scaling(band) or (1.0, 0.0)      # the engine's reading of a declared scale
        values.append(arr * scale + offset)
    lo, hi = np.broadcast_arrays(np.asarray(values[0], np.float64), np.asarray(values[1], np.float64))
    both = np.isfinite(lo) & np.isfinite(hi)
    bad = both & (lo >= hi)
    example = (float(lo[bad].flat[0]), float(hi[bad].flat[0])) if bad.any() else (np.nan, np.nan)
    return int(bad.sum()), int(both.sum()), example


def vegetation_cd(vv_db: ArrayLike, v1: ArrayLike, *, alpha: float, beta: float, ssm_min: float,
                  min_sensitivity: float = MIN_SENSITIVITY) -> tuple[np.ndarray, int]:
    """Vegetation-corrected change detection (Fayad et al. 2022, eq. 4-7).

    ``ΔVV = σVV − σVV_min`` (eq. 6, dB, the minimum per pixel over the series) and
    ``ΔVV = (α − β·V1)·ΔSSM`` (eq. 7) with ``ΔSSM = SSM_t − SSM_min`` (eq. 5) give
    ``SSM_t = SSM_min + ΔVV / (α − β·V1)``. Where ``α − β·V1 <= min_sensitivity`` the pixel is NaN
    on that date, and counted. ``v1`` has the stack's shape (the vegetation variable on the same
    dates: NDVI or the VH/VV ratio).

    Returns ``(ssm, n_insensitive)``: float32 (dates, rows, cols) and the count of pixel-dates
    made NaN by the sensitivity rule (where VV and V1 were valid).
    """
    vv = np.asarray(vv_db, dtype=np.float32)
    v = np.asarray(v1, dtype=np.float32)
    if vv.ndim != 3 or vv.shape != v.shape:
        raise ValueError(f"VV and V1 must be stacks of the same shape, got {vv.shape} and {v.shape}")
    for name, x in (("alpha", alpha), ("beta", beta), ("SSM_min", ssm_min)):
        if not np.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x!r}")
    with np.errstate(invalid="ignore", divide="ignore"), _all_nan_ok():
        dvv = delta_vv(vv, min_dates=1)
        sens = np.float32(alpha) - np.float32(beta) * v
        weak = sens <= min_sensitivity
        out = np.float32(ssm_min) + dvv / sens
    n_weak = int((weak & np.isfinite(dvv)).sum())
    out[weak] = np.nan
    return out.astype(np.float32), n_weak


@contextlib.contextmanager
def _all_nan_ok():
    """nanmin warns on all-NaN pixels: those are NaN by design (and counted)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice", category=RuntimeWarning)
        yield


def change_detection_file(stack: str, output_index: str, output_ssm: str, *, dates: Sequence[str],
                          output_dvv: str | None = None, in_db: bool = True, reference: str = "minmax",
                          low_pct: float = 5.0, high_pct: float = 95.0, min_dates: int = 5, ssm_min: float = 0.05,
                          ssm_max: float = 0.40, ssm_min_raster: str | None = None, ssm_max_raster: str | None = None,
                          series: SeriesOptions | None = None, options: RunOptions | None = None) -> dict:
    """Change-detection index and soil moisture (Fayad et al. 2022, eq. 2-3) of a dated VV stack, file to file, block
    by block.

    Parameters
    ----------
    stack : str
        Dated VV stack, one band per date (``dates``), linear power or dB (``in_db``).
    output_index, output_ssm : str
        GeoTIFFs written: I_SSM (0-1, :func:`change_index`) and SSM_t in m³/m³ (:func:`ssm_from_index`), one
        band per date, described by its date.
    dates : sequence of str
        The stack's ISO dates, in band order.
    output_dvv : str, optional
        Also write ΔVV = σVV − σVV_min (eq. 6, dB, :func:`delta_vv`).
    in_db : bool
        The stack is in dB (else linear power, converted to dB first).
    reference, low_pct, high_pct, min_dates
        As :func:`change_index`.
    ssm_min, ssm_max : float
        Driest and wettest soil moisture of the site (m³/m³), checked by :func:`check_ssm_bounds`.
    ssm_min_raster, ssm_max_raster : str, optional
        One-band rasters on the stack's grid overriding ``ssm_min`` and ``ssm_max`` per pixel.
    series : SeriesOptions, optional
        ``frozen``: the frozen-soil screen (:class:`~.frozen.FrozenScreen`): frozen pixel-dates are missing before
        the references are formed, NaN in every output, and flagged in the screen's flag stack when it has one.
    options : RunOptions, optional
        Budget, compression, progress and cancel; the pass runs on one thread (it is I/O-bound: a second
        worker only adds memory).
    series : SeriesOptions, optional
        Its ``groups`` (relative orbits, :mod:`~sarsense.algorithms.io.orbits`) are separate series: references,
        ``min_dates`` and ΔVV per group, the outputs merged back in band order (None: one series).

    Returns
    -------
    dict
        ``infinite`` (±inf written as NaN), ``few`` and ``flat`` (pixels NaN for too few valid dates and for
        too small a dynamic, as :func:`change_index` counts them), ``below_range``/``above_range`` (SSM_t
        pixel-dates clipped to 0 and to the porosity: SSM_min/SSM_max rasters beyond it), ``clipped`` (their sum),
        ``frozen`` (valid pixel-dates screened; with a screen only), ``references``: per group ``(dry, wet,
        pixels)``, the mean dry and wet references (dB) over the pixels the index is computed on.
    """
    check_ssm_bounds(ssm_min, ssm_max)
    porosity = (series or SeriesOptions()).porosity
    _series.check_ssm_max(ssm_max, porosity)
    n = len(dates)
    extra = [p for p in (ssm_min_raster, ssm_max_raster) if p]
    slot_min = n if ssm_min_raster else None
    slot_max = n + (1 if ssm_min_raster else 0) if ssm_max_raster else None
    fz = series.frozen if series is not None else None
    counts = Counts("few", "flat", "below_range", "above_range", *(("frozen",) if fz is not None else ()))
    n_fz = fz.n_extra if fz is not None else 0
    groups = (series or SeriesOptions()).series(n)
    refs = Sums(*(f"{what}{g}" for g in range(len(groups)) for what in ("dry", "wet", "pixels")))  # per group

    def kernel(block):
        vv = sar.linear_to_db(block[:n])[0] if not in_db else block[:n]
        flags = fz.block_flags(block[block.shape[0] - n_fz:], vv.shape) if fz is not None else None
        if flags is not None:     # frozen pixel-dates are missing before the references are formed
            counts.add(frozen=frozen.screen(vv, flags))
        index, dvv = np.empty_like(vv), np.empty_like(vv) if output_dvv else None
        for g, idx in enumerate(groups):
            sel = slice(None) if len(idx) == n else list(idx)     # one series: views, no copy of the block
            index[sel], few, flat, lo, hi = index_and_references(vv[sel], reference=reference, low_pct=low_pct,
                                                                 high_pct=high_pct, min_dates=min_dates)
            counts.add(few=few, flat=flat)
            used = np.isfinite(index[sel]).any(axis=0)
            refs.add(**{f"dry{g}": lo[used].sum(dtype=np.float64), f"wet{g}": hi[used].sum(dtype=np.float64),
                        f"pixels{g}": used.sum()})
            if output_dvv:
                dvv[sel] = delta_vv(vv[sel], min_dates=min_dates)
        smin = block[slot_min] if slot_min is not None else ssm_min
        smax = block[slot_max] if slot_max is not None else ssm_max
        ssm = ssm_from_index(index, smin, smax)
        below, above = _series.clip_ssm(ssm, porosity)
        counts.add(below_range=below, above_range=above)
        out = [index, ssm] + ([dvv] if output_dvv else [])
        return out + [flags] if fz is not None and fz.output else out

    outs = [output_index, output_ssm] + ([output_dvv] if output_dvv else [])
    meta = [{"QUANTITY": "soil moisture index", "units": "index 0-1"},
            {"QUANTITY": "surface soil moisture", "units": "m3/m3"},
            {"QUANTITY": "VV change above the series minimum (delta VV)", "units": "dB"}][:len(outs)]
    f_outs, f_types, f_desc, f_meta = frozen.job_outputs(fz, dates)
    opts = resolve(options).replace(workers=1)   # I/O-bound: a 2nd worker only adds memory
    res = run_blockwise([stack] + [(p, [1]) for p in extra] + (fz.inputs() if fz is not None else []), outs + f_outs,
                        kernel, out_bands=[n] * (len(outs) + len(f_outs)), out_dtype=[np.float32] * len(outs) + f_types,
                        descriptions=[list(dates)] * len(outs) + f_desc, band_metadata=meta + f_meta,
                        metadata=frozen.job_metadata(fz), bytes_per_pixel=48 + (16 if output_dvv else 0), options=opts)
    _series.write_clip_metadata(output_ssm, counts.values, porosity)
    sums = [np.float64([refs[f"{what}{g}"] for what in ("dry", "wet", "pixels")]) for g in range(len(groups))]
    references = [(dry / k, wet / k, int(k)) if k else (np.nan, np.nan, 0) for dry, wet, k in sums]
    return {"infinite": res["infinite"], **counts.values, "clipped": _series.clipped(counts.values),
            "references": references}


def read_params(path: str) -> tuple[float, float, dict]:
    """α and β from a parameters JSON (``{"alpha": …, "beta": …}``, what 'Soil moisture II' fits)."""
    from ..io import model_files
    what = {"kind": "change-detection parameters file (JSON with numbers 'alpha' and 'beta')",
            "algorithm": "Calibrate vegetation-corrected change detection"}
    data = model_files.load_json(path, **what)
    return model_files.number(data, "alpha", path, **what), model_files.number(data, "beta", path, **what), data


def vegetation_cd_file(vv: str, v1: str, output: str, *, dates: Sequence[str], v1_bands: Sequence[int],
                       alpha: float, beta: float, ssm_min: float, in_db: bool = True,
                       series: SeriesOptions | None = None, v1_min: float | None = None,
                       options: RunOptions | None = None) -> dict:
    """Vegetation-corrected change detection (Fayad et al. 2022, eq. 4-7, :func:`vegetation_cd`), file to file, block
    by block.

    Parameters
    ----------
    vv : str
        Dated VV stack, one band per date (``dates``), linear power or dB (``in_db``).
    v1 : str
        The vegetation variable (NDVI or VH/VV) on ``vv``'s grid; ``v1_bands`` are its bands (1-based) on
        ``dates``, in order.
    output : str
        GeoTIFF of SSM_t (m³/m³), one band per date, described by its date, with α and β in its metadata.
    alpha, beta, ssm_min : float
        α (dB per m³/m³), β and SSM_min (m³/m³) of eq. 7.
    series : SeriesOptions, optional
        ``frozen``: the frozen-soil screen, as in :func:`change_detection_file` (σVV_min of eq. 6 without them);
        ``porosity`` bounds SSM_t (:func:`~.series.clip_ssm`; SSM_min at or above it is refused); its ``groups``
        (relative orbits) are separate series: σVV_min of eq. 6 per group (None: one series).
    v1_min : float, optional
        V1 below it is no soil (NDVI below 0.15: water, built-up land, Fayad et al. 2022 §2.1.4): NaN, counted.
    options : RunOptions, optional
        Budget, workers, compression, progress and cancel.
    series : SeriesOptions, optional
        Its ``groups`` (relative orbits) are separate series: σVV_min of eq. 6 per group (None: one series).

    Returns
    -------
    dict
        ``infinite`` (±inf written as NaN), ``weak`` (pixel-dates NaN because α − β·V1 ≤
        :data:`MIN_SENSITIVITY`), ``no_v1`` (pixel-dates with VV but no V1, e.g. no NDVI date near enough:
        NaN), ``low_v1`` (pixel-dates with VV and V1 < ``v1_min``: NaN), ``below_range``/``above_range`` (SSM
        below 0 or above the porosity, clipped to it), ``clipped`` (their sum) and ``frozen`` (valid pixel-dates
        screened; with a screen only).
    """
    n = len(dates)
    porosity = (series or SeriesOptions()).porosity
    _series.check_ssm_min(ssm_min, porosity)
    fz = series.frozen if series is not None else None
    counts = Counts("weak", "no_v1", "low_v1", "below_range", "above_range", *(("frozen",) if fz is not None else ()))
    n_fz = fz.n_extra if fz is not None else 0
    groups = (series or SeriesOptions()).series(n)

    def kernel(block):
        sigma = block[:n] if in_db else sar.linear_to_db(block[:n])[0]
        flags = fz.block_flags(block[block.shape[0] - n_fz:], sigma.shape) if fz is not None else None
        if flags is not None:     # frozen pixel-dates are missing before σVV_min is taken
            counts.add(frozen=frozen.screen(sigma, flags))
        v1 = block[n:2 * n]
        ssm, weak = np.empty_like(sigma), 0
        for idx in groups:
            sel = slice(None) if len(idx) == n else list(idx)     # one series: views, no copy of the block
            ssm[sel], w = vegetation_cd(sigma[sel], v1[sel], alpha=alpha, beta=beta, ssm_min=ssm_min)
            weak += w
        with np.errstate(invalid="ignore"):
            low = np.isfinite(sigma) & (v1 < v1_min) if v1_min is not None else np.zeros(ssm.shape, bool)
        ssm[low] = np.nan
        below, above = _series.clip_ssm(ssm, porosity)
        counts.add(weak=weak, no_v1=int((np.isfinite(sigma) & ~np.isfinite(v1)).sum()), low_v1=int(low.sum()),
                   below_range=below, above_range=above)
        return [ssm, flags] if fz is not None and fz.output else [ssm]

    f_outs, f_types, f_desc, f_meta = frozen.job_outputs(fz, dates)
    res = run_blockwise([vv, (v1, list(v1_bands))] + (fz.inputs() if fz is not None else []), [output] + f_outs,
                        kernel, out_bands=[n] * (1 + len(f_outs)), out_dtype=[np.float32] + f_types,
                        descriptions=[list(dates)] + f_desc,
                        band_metadata=[{"QUANTITY": "surface soil moisture", "units": "m3/m3", "ALPHA": alpha,
                                        "BETA": beta}] + f_meta,
                        metadata=frozen.job_metadata(fz), bytes_per_pixel=40, options=options)
    _series.write_clip_metadata(output, counts.values, porosity)
    return {"infinite": res["infinite"], **counts.values, "clipped": _series.clipped(counts.values)}
