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
