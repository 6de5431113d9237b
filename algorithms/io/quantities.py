"""The physical range of each quantity SARSense reads, and the test a sample of an input must pass.

One table for every suite (STYLE.md §9: physical quantities stay in their physical range). A raster whose
values fall outside its quantity's range is no such quantity: most often raw digital numbers without their
scale, another unit (°C for K, percent for a fraction), or another layer picked by mistake. The
Processing layer refuses it with :func:`range_problem`'s sentence and the suite's own hint.

Values are compared after the band's declared scale and offset (:func:`..raster.band_scaling`), as the engine
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quantity:
    """A physical quantity: what it is called, its unit, the range every value must lie in, and the likely
    causes of values outside it (``above``: too large; ``below``: too small)."""

    label: str
    unit: str
    lo: float
    hi: float
    above: str = ""
    below: str = ""
    source: str = ""

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.label} ({self.lo:g}..{self.hi:g}{unit})"


#: The quantities and their ranges. ``source`` says where a range comes from.
QUANTITIES = {
    "sigma0_db": Quantity(
        "backscatter σ° in dB", "dB", -60.0, 40.0,
        above="values above +40 dB are no backscatter: it looks like digital numbers or amplitude; calibrate to "
              "σ° first (sarsense:importsentinel1, or your processor's calibration)",
        below="values below −60 dB are below any sensor's noise floor: it looks like an undeclared nodata value",
        source="Sentinel-1 IW noise floor ≈ −22..−25 dB; bright urban and corner reflectors reach +20..+30 dB "
               "(ESA Sentinel-1 User Handbook, 2013)"),
    "sigma0_linear": Quantity(
        "backscatter σ° in linear power", "", 0.0, 10000.0,
        above="values above 10000 (+40 dB) are no backscatter: it looks like digital numbers; calibrate first",
        below="linear power is never negative: it looks like dB; set the input units to dB",
        source="the dB range −60..+40 dB in linear power"),
    "ndvi": Quantity(
        "NDVI", "", -1.0, 1.0,
        above="an NDVI is a normalised difference and lies in −1..1: it looks scaled (e.g. ×10000 as MODIS "
              "stores it): apply the scale (0.0001 for MODIS NDVI) or set the band's scale",
        below="an NDVI lies in −1..1: it looks scaled or like another layer",
        source="NDVI = (NIR − red)/(NIR + red) (Rouse et al. 1974), bounded by construction"),
    "reflectance": Quantity(
        "surface reflectance", "", -0.05, 1.6,
        above="reflectance is a fraction (0..1, up to ≈1.6 over snow and specular glint): it looks like digital "
              "numbers; scale it (Landsat Collection 2 L2: ·0.0000275 − 0.2; Sentinel-2 L2A: /10000) or set the "
              "band's scale",
        below="reflectance cannot be negative beyond small atmospheric-correction residuals (−0.05): it looks "
              "like a wrong offset or another layer",
        source="USGS Landsat Collection 2 Level-2 valid range; Sentinel-2 L2A product specification"),
    "lst_kelvin": Quantity(
        "land surface temperature in kelvin", "K", 150.0, 380.0,
        above="no land surface is this hot: it looks like raw digital numbers (MODIS LST stores DN with a scale "
              "of 0.02 K: 15000 DN = 300 K) or a wrong scale; load the HDF subdataset (GDAL applies its scale) "
              "or set the band's scale",
        below="no land surface is this cold in kelvin: it looks like °C; set the units to Celsius",
        source="coldest and hottest land surfaces measured from space: ≈ 180 K (Antarctic plateau) to ≈ 350 K "
               "(Lut desert) (Wan 2014, MOD11 valid range 7500..65535 DN · 0.02 = 150..1310 K)"),
    "lst_celsius": Quantity(
        "land surface temperature in °C", "°C", -123.0, 107.0,
        above="no land surface is this hot in °C: it looks like kelvin (set the units to kelvin) or raw numbers",
        below="no land surface is this cold: it looks like a fill value or a wrong offset",
        source="the kelvin range 150..380 K in °C"),
    "water_normalized": Quantity(
        "water-normalised index σA (NDVH, NDVV)", "", -1.0, 1.0,
        above="σA = (P − T)/(P + T) of linear backscatter lies in −1..1 by construction: it looks scaled (e.g. "
              "multiplied by 40 or 100 in a raster calculator) or like another layer",
        below="σA lies in −1..1 by construction: it looks like backscatter in dB, not the index",
        source="Liu et al. (2020), eq. 1: σA = (P − T)/(P + T) with P, T ≥ 0 (linear power), 'normalised to [−1, 1]'"),
    "sic_percent": Quantity(
        "sea-ice concentration in percent", "%", 0.0, 100.0,
        above="a concentration cannot exceed 100 %: it looks like a class code or a fill value (e.g. 120 = land "
              "in OSI SAF products); mask it first",
        below="a concentration cannot be negative: it looks like a fill value",
        source="SIC is a fraction of area, 0..100 % (WMO Sea-Ice Nomenclature)"),
    "soil_moisture": Quantity(
        "volumetric soil moisture", "m³/m³", 0.0, 1.0,
        above="volumetric soil moisture is a fraction (0..≈0.6): it looks like percent; divide by 100",
        below="soil moisture cannot be negative: it looks like a fill value",
        source="a volume fraction; porosity of mineral soils ≤ 0.6 (Dobson et al. 1985)"),
    "fraction": Quantity(
        "fraction", "", 0.0, 1.0,
        above="a fraction lies in 0..1: it looks like percent; divide by 100",
        below="a fraction cannot be negative"),
    "elevation_m": Quantity(
        "terrain elevation in metres", "m", -500.0, 9000.0,
        above="no terrain is higher than Mount Everest (8849 m): it looks like feet or centimetres, or a fill value",
        below="no land lies below the Dead Sea shore (≈ −430 m): it looks like a nodata value the file does not "
              "declare (−32768, −9999); declare it (gdal_edit.py -a_nodata)",
        source="Mount Everest 8848.86 m (China-Nepal survey, 2020); Dead Sea shore ≈ −430 m"),
}

#: The share of a sample allowed outside the range (isolated outliers of real products), above which the
#: raster is refused.
TOLERANCE = 0.005


def _finite(sample, dtype=np.float64) -> np.ndarray:
    """The finite values of a sample, flat."""
    s = np.asarray(sample, dtype=dtype).ravel()
    return s[np.isfinite(s)]


def quantity(name: str) -> Quantity:
    try:
        return QUANTITIES[name]
    except KeyError:
        raise ValueError(f"unknown quantity {name!r}; one of {', '.join(QUANTITIES)}") from None


def range_problem(sample, name: str, *, tolerance: float = TOLERANCE) -> str | None:
    """A sentence saying how a sample contradicts quantity ``name``'s range, or None when it fits.

    More than ``tolerance`` of the finite values outside ``[lo, hi]`` is a problem; the sentence gives the
    1st–99th percentile range seen, the range expected, the share outside and the likely cause. A sample
    with no finite value is no range problem (the empty-input check says that).
    """
    q = quantity(name)
    s = _finite(sample)
    if s.size == 0:
        return None
    above = np.count_nonzero(s > q.hi)
    below = np.count_nonzero(s < q.lo)
    if above + below <= tolerance * s.size:
        return None
    lo, hi = np.percentile(s, [1, 99])
    share = 100.0 * (above + below) / s.size
    cause = q.above if above >= below else q.below
    return (f"values {lo:.4g}..{hi:.4g} (1st–99th percentile; {share:.0f} % of a sample outside the range) are no "
            f"{q.describe()}: {cause}")


def class_problem(sample) -> str | None:
    """A sentence when a sample is no class map (integer class codes), else None."""
    s = _finite(sample)
    if s.size == 0:
        return None
    frac = np.count_nonzero(s != np.round(s))
    if frac == 0:
        return None
    lo, hi = np.percentile(s, [1, 99])
    return (f"holds fractional values ({frac} of {s.size} sampled, {lo:.4g}..{hi:.4g}): it is a continuous raster "
            "(a probability, a concentration, backscatter), not a class map of integer class codes; choose the "
            "classified raster")


#: Fill values products write where they have no data (GDAL, ENVI, SNAP, NetCDF defaults, int16 minimum):
#: no physical quantity SARSense reads takes them, so found undeclared they are refused, never computed with.
FILL_VALUES = (-9999.0, -99999.0, -32768.0, -32767.0, -3.4028234663852886e38, -1e20, 9.969209968386869e36)


def fill_problem(sample) -> tuple[float, int] | None:
    """``(value, count)`` of the most frequent fill value (:data:`FILL_VALUES`, compared in float32) in a
    sample, or None. A band that declares it as nodata never shows it (its reads give NaN)."""
    s = _finite(sample, np.float32)
    found = [(float(v), int(np.count_nonzero(s == np.float32(v)))) for v in FILL_VALUES]
    found = [f for f in found if f[1]]
    return max(found, key=lambda f: f[1]) if found else None


def clip(values: np.ndarray, name: str) -> tuple[int, int]:
    """Clip ``values`` in place to quantity ``name``'s range (NaN stays NaN); returns how many were below and
    above it, for the job to count and the log to say (STYLE.md §9: a physical quantity stays in its range)."""
    q = quantity(name)
    return clip_range(values, q.lo, q.hi)


def clip_range(values: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """Clip ``values`` in place to [``lo``, ``hi``] (NaN stays NaN); returns how many were below and above."""
    with np.errstate(invalid="ignore"):
        below, above = values < lo, values > hi
    n_below, n_above = int(np.count_nonzero(below)), int(np.count_nonzero(above))
    if n_below:
        values[below] = lo
    if n_above:
        values[above] = hi
    return n_below, n_above
