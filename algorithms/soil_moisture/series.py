"""How a soil-moisture job treats its time series (issue #29): the one options object the suite's jobs take.

Sentinel-1 series mix relative orbits (different incidence and look direction, 0.4-0.8 dB apart over one
field); the change-detection references (driest and wettest backscatter, eq. 2; the series minimum of ΔVV,
eq. 6, Fayad et al. 2022) are only meaningful within one orbit (the TU Wien practice: one reference per
relative orbit). Frozen soil and snow look like the driest dates and must be left out. Soil moisture is a
volumetric water content between 0 and the soil's porosity (its saturation).

Each field is filled by the part of the suite that owns it:

- ``groups``: 0-based band indices of each series (one relative orbit, or one time-of-day group), in band
  order; None is one series of every band (pooled);
- ``porosity``: every SSM output is clipped to [0, porosity] m³/m³ and the clipped pixel-dates counted;
- ``frozen``: the frozen-soil screen (dates or pixel-dates left out of the references and written as NaN),
  or None when no temperature was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io import quantities

#: Saturation of a mineral soil (m³/m³): the default upper bound of every SSM output (POROSITY).
DEFAULT_POROSITY = 0.5


@dataclass(frozen=True)
class SeriesOptions:
    """Orbit groups, physical bound and frozen-soil screen of one soil-moisture job (see the module docstring)."""

    groups: tuple[tuple[int, ...], ...] | None = None
    porosity: float = DEFAULT_POROSITY
    frozen: Any = None

    def series(self, n_bands):
        """The groups to process: ``groups``, or one group of all ``n_bands`` bands."""
        return self.groups if self.groups else (tuple(range(n_bands)),)


#: The porosities a POROSITY parameter accepts (m³/m³): below 0.05 no soil holds water, above 1 is no fraction.
POROSITY_RANGE = (0.05, 1.0)


def check_porosity(porosity: float) -> None:
    """Refuse a porosity that is no volumetric water content at saturation (:data:`POROSITY_RANGE`)."""
    lo, hi = POROSITY_RANGE
    if not np.isfinite(porosity) or not lo <= porosity <= hi:
        raise ValueError(f"the porosity must be a volumetric water content between {lo:g} and {hi:g} m³/m³ (the "
                         f"soil's saturation, about 0.35-0.55 for mineral soils), got {porosity!r}")


def clip_ssm(values: np.ndarray, porosity: float = DEFAULT_POROSITY, *, percent: bool = False) -> tuple[int, int]:
    """Clip soil moisture ``values`` in place to [0, ``porosity``] (m³/m³; in percent with ``percent``: [0,
    100·porosity]); NaN stays NaN. Returns ``(n_below, n_above)``: the pixel-dates set to 0 and to the porosity,
    for the job to count, the log to say and the output's metadata to keep (STYLE.md §9).

    Soil moisture is a volume fraction of water: it cannot be negative and cannot exceed the pore volume, the
    soil's saturated water content (porosity; ≈ 0.35-0.55 m³/m³ for mineral soils, Dobson et al. 1985). A method
    that gives more (change detection with a sensitivity too low for the site, a regression line beyond its
    samples, a network outside its training range) has extrapolated.
    """
    check_porosity(porosity)
    return quantities.clip_range(values, 0.0, porosity * (100.0 if percent else 1.0))


def clip_metadata(counts: dict, porosity: float) -> dict:
    """The dataset metadata that says how an SSM output was bounded: the porosity and the pixel-dates clipped
    (``counts``: ``below_range``/``above_range`` as :func:`clip_ssm` gave them)."""
    return {"SSM_POROSITY": f"{porosity:g}", "SSM_CLIPPED_BELOW_0": str(int(counts.get("below_range", 0))),
            "SSM_CLIPPED_ABOVE_POROSITY": str(int(counts.get("above_range", 0)))}


def write_clip_metadata(path: str, counts: dict, porosity: float) -> None:
    """Write :func:`clip_metadata` into the finished output ``path`` (its counts are known only after the run)."""
    from osgeo import gdal
    ds = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_UPDATE)
    if ds is None:
        raise ValueError(f"cannot open the output '{path}' to record its clipping")
    for key, value in clip_metadata(counts, porosity).items():
        ds.SetMetadataItem(key, value)
    ds = None


def clipped(counts: dict) -> int:
    """Pixel-dates clipped to [0, porosity] (the ``CLIPPED`` output number)."""
    return int(counts.get("below_range", 0)) + int(counts.get("above_range", 0))


def check_ssm_max(ssm_max: float, porosity: float) -> None:
    """Refuse a wettest soil moisture above the porosity: no soil holds more water than its pores."""
    check_porosity(porosity)
    if ssm_max > porosity:
        raise ValueError(f"SSM_max ({ssm_max:g} m³/m³) is above the porosity ({porosity:g} m³/m³), the most water "
                         "the soil can hold: lower SSM_max to the site's wettest soil moisture (at most the "
                         "porosity), or raise the porosity to the soil's saturated water content")


def check_ssm_min(ssm_min: float, porosity: float) -> None:
    """Refuse a driest soil moisture at or above the porosity (every SSM would be clipped to it)."""
    check_porosity(porosity)
    if ssm_min >= porosity:
        raise ValueError(f"SSM_min ({ssm_min:g} m³/m³) is not below the porosity ({porosity:g} m³/m³): every soil "
                         "moisture would be clipped to the porosity; lower SSM_min to the site's driest soil moisture, "
                         "or raise the porosity")
