"""SAR radiometric units: dB ↔ linear power, amplitude ↔ intensity, and a check of what units a raster holds."""

from __future__ import annotations

import numpy as np

CONVERSIONS = ("linear_to_db", "db_to_linear", "amplitude_to_intensity", "intensity_to_amplitude")


def linear_to_db(linear):
    """σ⁰ in dB from linear power: ``10·log10(x)`` (ESA Sentinel-1 Level-1 Product Spec., §7.6).

    Zero or negative values (no power) become NaN, never −inf.

    Returns
    -------
    out : float32 ndarray
    n_nonpositive : int
        How many finite values were ≤ 0 and became NaN.
    """
    x = np.asarray(linear, dtype=np.float32)
    bad = np.isfinite(x) & (x <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (10.0 * np.log10(np.where(bad, np.nan, x))).astype(np.float32)
    return out, int(bad.sum())


def cross_ratio_db(cross, co, *, in_db=True):
    """Cross- over co-polarised backscatter in dB: ``10·log10(σ⁰VH / σ⁰VV)`` (or HV/HH).

    The VH/VV ratio of Fayad et al. (2022, "000") §2.2.2 and §2.2.3 (a vegetation descriptor V1 of eq. 4-7 and a
    predictor of the hybrid network's set (i)), as SARSense carries it: in dB, where it is the difference
    ``σ⁰VH[dB] − σ⁰VV[dB]``. Linear power is converted with :func:`linear_to_db` first (zero or negative power:
    NaN). A NaN on either side gives NaN. float32 out, float64 for float64 dB in.
    """
    if not in_db:
        cross, co = linear_to_db(cross)[0], linear_to_db(co)[0]
    cross, co = np.asarray(cross), np.asarray(co)
    return np.subtract(cross, co, dtype=np.result_type(cross, co, np.float32))


#: Largest dB value whose linear power float32 holds (10^(385/10) ≈ 3e38); above it the power overflows.
MAX_DB_FLOAT32 = 385.0


def db_to_linear(db):
    """Linear power from dB: ``10^(x/10)``. NaN stays NaN.

    Values above :data:`MAX_DB_FLOAT32` have no float32 power (it would be +inf): they become NaN
    and are counted, as the second return value.
    """
    x = np.asarray(db, dtype=np.float32)
    with np.errstate(over="ignore"):
        out = np.power(np.float32(10.0), x / np.float32(10.0)).astype(np.float32)
    bad = np.isinf(out)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        out[bad] = np.nan
    return out, n_bad


def amplitude_to_intensity(amplitude):
    """Intensity from amplitude: ``|A|²`` (detected power). NaN stays NaN."""
    a = np.asarray(amplitude, dtype=np.float32)
    return (a * a).astype(np.float32), 0


def intensity_to_amplitude(intensity):
    """Amplitude from intensity: ``√I``. Negative intensities (not physical) become NaN and are counted."""
    x = np.asarray(intensity, dtype=np.float32)
    bad = np.isfinite(x) & (x < 0)
    with np.errstate(invalid="ignore"):
        out = np.sqrt(np.where(bad, np.nan, x)).astype(np.float32)
    return out, int(bad.sum())


def convert(name, values):
    """Apply conversion ``name`` (one of :data:`CONVERSIONS`); returns ``(float32 array, n_invalid)``."""
    funcs = {"linear_to_db": linear_to_db, "db_to_linear": db_to_linear,
             "amplitude_to_intensity": amplitude_to_intensity, "intensity_to_amplitude": intensity_to_amplitude}
    if name not in funcs:
        raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}, got '{name}'")
    return funcs[name](values)


#: Backscatter is never below −100 dB and linear power never negative: values at or below this are not data.
NOT_BACKSCATTER_BELOW = -100.0


def undeclared_nodata(sample):
    """``(value, count)`` of the most frequent value ≤ −100 in a sample (e.g. −9999, an undeclared nodata), or None.

    No backscatter, in dB or linear power, is ≤ −100: such values are fill values the file does
    not declare as nodata, and every result computed from them would be wrong.
    """
    s = np.asarray(sample, dtype=np.float64)
    s = s[np.isfinite(s) & (s <= NOT_BACKSCATTER_BELOW)]
    if s.size == 0:
        return None
    values, counts = np.unique(s, return_counts=True)
    k = int(np.argmax(counts))
    return float(values[k]), int(s.size)


def guess_units(sample):
    """Guess whether SAR backscatter values are dB or linear power from a sample.

    Rules (backscatter of land and sea spans roughly −35..+10 dB, i.e. 0.0003..10 linear):
    - more than 1 % of finite values negative → ``"db"`` (linear power is never negative);
    - no negative value, median below 2 and 99th percentile below 50 → ``"linear"``;
    - otherwise ``"unknown"``.
    """
    s = np.asarray(sample, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return "unknown"
    if np.mean(s < 0) > 0.01:
        return "db"
    if s.min() >= 0 and np.median(s) < 2.0 and np.percentile(s, 99) < 50.0:
        return "linear"
    return "unknown"


def describe_range(sample):
    """'lo..hi' of the 1st–99th percentile of a sample, for error messages."""
    s = np.asarray(sample, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return "no valid values"
    lo, hi = np.percentile(s, [1, 99])
    return f"{lo:.3g}..{hi:.3g}"
