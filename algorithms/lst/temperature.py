"""LST units and the Norm-L4 aggregation.

Norm-L4 (Nguyen et al. 2022, §III.B.3): a sensor pixel sees the radiant exitance of the surface
below it, which by the Stefan–Boltzmann law grows as T⁴; the temperature of a coarse pixel made of
fine pixels T_i is therefore T_c = (mean T_i⁴)^(1/4), in kelvin, not the arithmetic mean. The paper
builds its 4 km training inputs from 1 km MODIS LST this way.
"""

from __future__ import annotations

import numpy as np

from ..io import quantities

KELVIN_OFFSET = 273.15
UNITS = ("kelvin", "celsius")
#: Coldest plausible LST in kelvin (MOD11A1's valid range starts at 150 K = 7500 × 0.02).
MIN_KELVIN = 150.0
#: Hottest plausible LST in °C; a "celsius" input above it is kelvin.
MAX_CELSIUS = 150.0


def to_kelvin(values, units):
    """Values in ``units`` ('kelvin' or 'celsius') as kelvin (float32, a new array)."""
    values = np.asarray(values, np.float32)
    return values + np.float32(KELVIN_OFFSET) if units == "celsius" else values.copy()


def from_kelvin(kelvin, units):
    """Kelvin values in ``units`` (in place when ``kelvin`` is a float32 array)."""
    if units == "celsius":
        kelvin -= np.float32(KELVIN_OFFSET)
    return kelvin


def check_plausible(sample, units, *, label="INPUT"):
    """Refuse LST whose values contradict the declared units; return the kelvin sample.

    A sample (finite values of the raster) declared as kelvin whose median is below
    :data:`MIN_KELVIN` is Celsius; one declared as Celsius above :data:`MAX_CELSIUS` is kelvin.
    An empty sample (all NaN/nodata) is refused too.
    """
    sample = np.asarray(sample, np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        raise ValueError(f"{label} has no valid pixel (all nodata or NaN): nothing to do. With a MODIS "
                         "product, a fully cloudy tile, or QC_FILTER keeping nothing, gives this")
    median = float(np.median(sample))
    if units == "kelvin" and median < MIN_KELVIN:
        raise ValueError(f"{label} is declared in kelvin but its values (median {median:.1f}) are below "
                         f"{MIN_KELVIN:.0f} K, colder than any land surface: it looks like °C. Set INPUT_UNITS "
                         "to celsius")
    if units == "celsius" and median > MAX_CELSIUS:
        raise ValueError(f"{label} is declared in °C but its values (median {median:.1f}) are above "
                         f"{MAX_CELSIUS:.0f} °C: it looks like kelvin. Set INPUT_UNITS to kelvin")
    return sample + KELVIN_OFFSET if units == "celsius" else sample


#: MODIS MOD11/MYD11 LST: stored as uint16 DN, LST = DN × 0.02 K, valid DN 7500..65535 (Wan 2013, MOD11 User's
#: Guide, Table 11).
MODIS_LST_SCALE, MODIS_DN_RANGE = 0.02, (7500.0, 65535.0)
#: Landsat Collection 2 Level-2 surface temperature (ST_B10): LST = DN × 0.00341802 + 149.0 K (USGS, Landsat 8-9
#: Collection 2 Level 2 Science Product Guide, LSDS-1619, Table 6-1).
LANDSAT_ST_SCALE = (0.00341802, 149.0)
#: Where most land-surface temperatures lie (K): a raw value that a product's scale puts here is likely that product.
TYPICAL_KELVIN = (230.0, 340.0)
#: Widest plausible land-surface temperature in kelvin: the ``lst_kelvin`` quantity's range (one table,
#: :mod:`..io.quantities`).
LST_KELVIN_RANGE = (quantities.QUANTITIES["lst_kelvin"].lo, quantities.QUANTITIES["lst_kelvin"].hi)


def undeclared_fill(sample, units):
    """A sentence when the LST values outside any land surface's temperature in ``units`` are mostly one repeated
    value among plausible ones (−9999, 0, 65535: a nodata value the file does not declare), else ''."""
    sample = np.asarray(sample, np.float64)
    sample = sample[np.isfinite(sample)]
    lo, hi = LST_KELVIN_RANGE
    shift = KELVIN_OFFSET if units == "celsius" else 0.0
    outside = sample[(sample + shift < lo) | (sample + shift > hi)]
    if outside.size == 0 or not lo <= float(np.median(sample)) + shift <= hi:
        return ""
    values, counts = np.unique(outside, return_counts=True)
    fill, n = float(values[np.argmax(counts)]), int(counts.max())
    if n < 2 or n < 0.5 * outside.size:
        return ""
    return (f"{n} of {sample.size} sampled values are {fill:g}, one value repeated among plausible temperatures: it "
            f"looks like a nodata value the file does not declare. Declare it (layer Properties ▸ Transparency, or "
            f"gdal_edit.py -a_nodata {fill:g} <file>) and run again")


def scale_hint(sample, units, scaling=None):
    """The likely cause, and its fix, of LST values (a ``sample`` as read, the band's declared ``scaling``
    ``(scale, offset)`` applied, or None) outside any land surface's temperature in ``units``: raw MODIS or Landsat
    DN without their scale, or a wrong (or needless) scale declared on the band. '' when none fits."""
    sample = np.asarray(sample, np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return ""
    median = float(np.median(sample))
    lo, hi = LST_KELVIN_RANGE
    shift = KELVIN_OFFSET if units == "celsius" else 0.0
    if lo <= median + shift <= hi:
        return ""
    if scaling is not None and lo <= (median - scaling[1]) / scaling[0] + shift <= hi:
        return (f"The band declares scale {scaling[0]:g} and offset {scaling[1]:g}, but its stored values (median "
                f"{(median - scaling[1]) / scaling[0]:.1f}) are already LST: remove them (gdal_edit.py -scale 1 "
                "-offset 0 <file>).")
    p1, p99 = (float(v) for v in np.percentile(sample, [1, 99]))
    if -1.0 <= p1 and p99 <= 1.2:
        return (f"The values ({p1:.3g}..{p99:.3g}) lie within −1..1.2, as an NDVI or a reflectance does: choose the "
                "LST layer.")
    other = median if units == "celsius" else median + KELVIN_OFFSET     # read in the other unit
    if lo <= other <= hi:       # the other unit: the range check says which
        return ""
    if scaling is None and MODIS_DN_RANGE[0] <= median <= MODIS_DN_RANGE[1] and \
            TYPICAL_KELVIN[0] <= median * MODIS_LST_SCALE <= TYPICAL_KELVIN[1]:
        return (f"The values (median {median:.0f}) look like raw MODIS DN: the LST_Day_1km/LST_Night_1km scale is "
                f"{MODIS_LST_SCALE:g} K ({median:.0f} DN = {median * MODIS_LST_SCALE:.1f} K). Load the HDF "
                f"subdataset, whose scale GDAL applies, or scale it (gdal_translate -a_scale {MODIS_LST_SCALE:g}, or "
                f"the Raster calculator: value × {MODIS_LST_SCALE:g}).")
    landsat = median * LANDSAT_ST_SCALE[0] + LANDSAT_ST_SCALE[1]
    if scaling is None and TYPICAL_KELVIN[0] <= landsat <= TYPICAL_KELVIN[1]:
        return (f"The values (median {median:.0f}) look like raw Landsat Collection 2 surface temperature (ST_B10) "
                f"DN: LST = DN × {LANDSAT_ST_SCALE[0]:g} + {LANDSAT_ST_SCALE[1]:g} K ({median:.0f} DN = {landsat:.1f} "
                f"K). Apply them (gdal_edit.py -scale {LANDSAT_ST_SCALE[0]:g} -offset {LANDSAT_ST_SCALE[1]:g} <file>, "
                "or the Raster calculator).")
    if scaling is not None:
        scale, offset = scaling
        raw = (median - offset) / scale
        fits = MODIS_DN_RANGE[0] <= raw <= MODIS_DN_RANGE[1]
        return (f"The band declares scale {scale:g} and offset {offset:g}, which make its values (median "
                f"{median:.1f}) no LST: " + (f"its stored values (median {raw:.0f}) look like MODIS DN, whose scale is "
                                              f"{MODIS_LST_SCALE:g} K: fix it with gdal_edit.py -scale "
                                              f"{MODIS_LST_SCALE:g} -offset 0 <file>." if fits else
                                              "check the scale and offset the file declares (gdalinfo) and fix them "
                                              "with gdal_edit.py -scale <s> -offset <o> <file>."))
    return ("LST must be in kelvin or °C: check that this is an LST layer (not emissivity, QC or view angle) and "
            "its scale.")


def norm_l4(kelvin, factor):
    """Norm-L4 aggregation of ``kelvin`` (rows, cols) by ``factor`` (Nguyen et al. 2022, §III.B.3).

    T_c = (mean over the factor×factor block of T⁴)^(1/4). A block with any NaN is NaN. Rows and
    columns that do not fill a whole block at the bottom/right edge are left out (the output is
    ``rows // factor`` × ``cols // factor``). Computed in float64 (T⁴ ≈ 8e9 K⁴ loses digits in float32).
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"the factor must be at least 1, got {factor}")
    t = np.asarray(kelvin, np.float64)
    rows, cols = t.shape[0] // factor, t.shape[1] // factor
    t = t[:rows * factor, :cols * factor].reshape(rows, factor, cols, factor)
    # NaN propagates through the mean: a block with any NaN input is NaN
    return np.power(np.mean(t ** 4, axis=(1, 3)), 0.25).astype(np.float32)
