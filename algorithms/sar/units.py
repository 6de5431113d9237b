"""SAR radiometric units: dB ↔ linear power, amplitude ↔ intensity, the cross-polarisation ratio, and a check of
what units a raster holds; with the file-to-file jobs of ``sarsense:convertunits`` (:func:`convert_file`) and
``sarsense:polratio`` (:func:`cross_ratio_file`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io import dates as _dates
from ..io import engine as _engine
from ..io import raster as _raster
from ..io import stack as _stack
from ..io.options import RunOptions

CONVERSIONS = ("linear_to_db", "db_to_linear", "amplitude_to_intensity", "intensity_to_amplitude")
#: The ``units`` metadata each conversion writes (the importer's words: "linear" is linear power).
CONVERTED_UNITS = {"linear_to_db": "dB", "db_to_linear": "linear", "amplitude_to_intensity": "linear",
                   "intensity_to_amplitude": "amplitude"}


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

    The VH/VV ratio of Fayad et al. (2022) §2.2.2 and §2.2.3 (a vegetation descriptor V1 of eq. 4-7 and a
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


def convertible_complex_bands(src: str, conversion: str) -> list:
    """The complex (SLC) bands of raster ``src`` (1-based), which conversion ``conversion`` reads as their
    amplitude |z|; ``ValueError`` (naming the bands) when the conversion is not ``amplitude_to_intensity``,
    the only one that takes complex input."""
    complex_bands = list(_raster.read_info(src).complex_bands)
    if complex_bands and conversion != "amplitude_to_intensity":
        raise ValueError(_raster.complex_refusal(src, complex_bands))
    return complex_bands


def convert_file(src: str, output: str, *, conversion: str, options: RunOptions | None = None) -> dict:
    """Apply conversion ``conversion`` (one of :data:`CONVERSIONS`, :func:`convert`) to every band of raster
    ``src`` and write ``output`` (float32, NaN nodata, the input's grid and band descriptions), block by block.

    Complex bands are read as their amplitude |z| (``amplitude_to_intensity`` only: the others refuse them,
    :func:`convertible_complex_bands`).

    Returns
    -------
    dict
        ``{"invalid": n, "infinite": n, "complex_bands": [...]}``: values without a result (:func:`convert`'s
        count, NaN in the output), ±inf results written as NaN, and the bands read as |z|.
    """
    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}, got '{conversion}'")
    complex_bands = convertible_complex_bands(src, conversion)
    counts = _engine.Counts("invalid")

    def kernel(block):
        res, n_bad = convert(conversion, block)
        counts.add(invalid=n_bad)
        return res

    res = _engine.run_blockwise(src, output, kernel, bytes_per_pixel=16,
                                band_metadata={"units": CONVERTED_UNITS[conversion]},
                                complex_as="amplitude" if complex_bands else None, options=options)
    return {**counts.values, "infinite": res["infinite"], "complex_bands": complex_bands}


def _band_dates(path):
    try:
        return _stack.band_dates(path)
    except ValueError:
        return None


@dataclass(frozen=True)
class BandPairs:
    """Which bands of a cross- and a co-polarised raster make each band of their ratio (:func:`pair_bands`)."""

    #: 1-based ``(co band, cross band)``, one per output band, in the co-polarised raster's order.
    pairs: list
    #: The output's band descriptions, the date (and time) as the co-polarised raster gives it; None without dates.
    descriptions: list | None
    #: The two rasters are on one grid (else the cross-polarised one must be put on the other's first).
    same_grid: bool


def pair_bands(co: str, cross: str, *, co_label: str = "CO", cross_label: str = "CROSS") -> BandPairs:
    """Pair the bands of ``co`` and ``cross`` for their ratio (:func:`cross_ratio_file`).

    Two dated stacks are paired by date, in ``co``'s band order; dates one of them lacks are refused with
    the dates named (STYLE §8: the VH and VV of the same acquisitions). Two rasters without dates are
    paired band by band and need as many bands. ``co_label`` and ``cross_label`` name them in messages.

    Raises
    ------
    ValueError
        One dated and one undated input, band counts that differ without dates, or dates that differ.
    """
    co_dates, cross_dates = _band_dates(co), _band_dates(cross)
    co_info, cross_info = _raster.read_info(co), _raster.read_info(cross)
    n_co, n_cross = co_info.band_count, cross_info.band_count
    same_grid = cross_info.same_grid(co_info)
    if (co_dates is None) != (cross_dates is None):
        dated, undated = (co_label, cross_label) if co_dates is not None else (cross_label, co_label)
        raise ValueError(f"{dated} is a dated stack but {undated} has no dates in its band descriptions: give both "
                         "as dated stacks ('Build dated stack'), or both as single rasters.")
    if co_dates is None:
        if n_co != n_cross:
            raise ValueError(f"{co_label} has {n_co} band(s) and {cross_label} {n_cross}, without dates to pair "
                             "them: give dated stacks, or rasters with as many bands.")
        return BandPairs([(b, b) for b in range(1, n_co + 1)], None, same_grid)
    _stack.match_dates(co_dates, cross_dates, co_label, cross_label)
    pairs = [(i + 1, cross_dates.index(d) + 1) for i, d in enumerate(co_dates)]
    return BandPairs(pairs, [co_info.descriptions[c - 1] or co_dates[c - 1] for c, _ in pairs], same_grid)


def _polarisation(path, default):
    """The one polarisation the bands of ``path`` carry (``POLARISATION`` metadata), or ``default``."""
    found = {m.get("POLARISATION") for m in _dates.band_provenance(path)} - {None}
    return found.pop() if len(found) == 1 else default


def cross_ratio_file(co: str, cross: str, output: str, *, pairs: BandPairs, in_db: bool = True,
                     options: RunOptions | None = None) -> dict:
    """The cross- over co-polarised ratio in dB (:func:`cross_ratio_db`) of the band ``pairs`` of ``co`` and
    ``cross`` (:func:`pair_bands`; ``cross`` on ``co``'s grid), written to ``output`` block by block: float32,
    one band per pair, ``units`` dB, NaN nodata, the pairs' descriptions (dates) as band descriptions.

    Returns
    -------
    dict
        ``{"nonpositive": n, "infinite": n}``: zero or negative linear power values (no dB value, NaN; counted
        with ``in_db`` False only) and ±inf results written as NaN.
    """
    n = len(pairs.pairs)
    counts = _engine.Counts("nonpositive")
    ratio_polarisation = f"{_polarisation(cross, 'cross')}/{_polarisation(co, 'co')}"

    def kernel(block):
        if not in_db:
            counts.add(nonpositive=(block[:n] <= 0).sum() + (block[n:] <= 0).sum())
        return cross_ratio_db(block[n:], block[:n], in_db=in_db)

    res = _engine.run_blockwise([(co, [c for c, _ in pairs.pairs]), (cross, [x for _, x in pairs.pairs])], output,
                                kernel, out_bands=n, descriptions=pairs.descriptions,
                                band_metadata={"POLARISATION": ratio_polarisation, "units": "dB",
                                               "QUANTITY": "cross-polarisation ratio"},
                                bytes_per_pixel=16, options=options)
    return {**counts.values, "infinite": res["infinite"]}


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


#: Highest median σ⁰ of a scene in dB (+20 dB, 100 in linear power) and highest value (+60 dB, 10⁶) more than
#: :data:`MAX_SHARE_ABOVE` of a scene may hold: no land or sea backscatter reaches them (land and sea span about
#: −35..+10 dB; even a city's median stays below +5 dB, its brightest corner reflectors near +40 dB). Sentinel-1
#: Level-1 digital numbers are amplitudes in the hundreds (σ⁰ = DN²/A², Miranda & Meadows 2015,
#: ESA-EOPG-CSCOP-TN-0002, eq. 1): far above either limit. A few isolated absurd values are left to the
#: conversions, which write them as NaN and count them.
MAX_MEDIAN_DB, MAX_VALUE_DB, MAX_SHARE_ABOVE = 20.0, 60.0, 0.05


def implausible_backscatter(sample, expected):
    """Why no σ⁰ in ``expected`` units ('db' or 'linear') has the values of ``sample``, or None when it may.

    Refused: a median above :data:`MAX_MEDIAN_DB` (+20 dB; 100 in linear power), or more than
    :data:`MAX_SHARE_ABOVE` of the values above :data:`MAX_VALUE_DB` (+60 dB; 10⁶ linear): digital numbers
    (amplitude or intensity, uncalibrated), which a dB reading turns into powers of 10^(DN/10) that overflow.
    Returns a text such as ``'median 612, 99 % above +60 dB, all whole numbers; …'`` for the message.
    """
    s = np.asarray(sample, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return None
    median = float(np.median(s))
    if expected == "db":
        max_median, max_value = MAX_MEDIAN_DB, MAX_VALUE_DB
        rule = f"σ⁰ in dB stays below +{MAX_MEDIAN_DB:g} dB (median) and +{MAX_VALUE_DB:g} dB (nearly every pixel)"
    else:
        max_median, max_value = 10 ** (MAX_MEDIAN_DB / 10), 10 ** (MAX_VALUE_DB / 10)
        rule = (f"σ⁰ in linear power stays below {max_median:g} (median, +{MAX_MEDIAN_DB:g} dB) and {max_value:g} "
                f"(nearly every pixel, +{MAX_VALUE_DB:g} dB)")
    above = float(np.mean(s > max_value))
    if median <= max_median and above <= MAX_SHARE_ABOVE:
        return None
    integer = bool(np.all(s == np.round(s)))
    return (f"median {median:.4g}, up to {float(s.max()):.4g}, {100 * above:.0f} % above {max_value:g}"
            f"{', all whole numbers' if integer else ''}; {rule}")


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
