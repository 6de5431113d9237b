"""SAR preparation shared by every suite: units of backscatter (:mod:`.units`, whose functions this package
also exposes: ``sar.linear_to_db``, ``sar.guess_units``, …) and speckle filters (:mod:`.speckle`)."""

from .units import (
    CONVERSIONS,
    NOT_BACKSCATTER_BELOW,
    amplitude_to_intensity,
    convert,
    cross_ratio_db,
    db_to_linear,
    describe_range,
    guess_units,
    intensity_to_amplitude,
    linear_to_db,
    undeclared_nodata,
)

__all__ = ["CONVERSIONS", "NOT_BACKSCATTER_BELOW", "amplitude_to_intensity", "convert", "cross_ratio_db",
           "db_to_linear", "describe_range", "guess_units", "intensity_to_amplitude", "linear_to_db",
           "undeclared_nodata"]
