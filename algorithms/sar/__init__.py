"""SAR preparation shared by every suite: units of backscatter (:mod:`.units`, whose functions this package
also exposes: ``sar.linear_to_db``, ``sar.guess_units``, …) and speckle filters (:mod:`.speckle`), each with
the file-to-file jobs of the SAR preparation algorithms (``sar.convert_file``, ``sar.cross_ratio_file``,
``speckle.despeckle_file``, ``speckle.multitemporal_despeckle_file``; the dated stack is
:func:`sarsense.algorithms.io.stack.build_stack`)."""

from .units import (
    CONVERSIONS,
    NOT_BACKSCATTER_BELOW,
    BandPairs,
    amplitude_to_intensity,
    convert,
    convert_file,
    convertible_complex_bands,
    cross_ratio_db,
    cross_ratio_file,
    db_to_linear,
    describe_range,
    guess_units,
    implausible_backscatter,
    intensity_to_amplitude,
    linear_to_db,
    pair_bands,
    undeclared_nodata,
)

__all__ = ["CONVERSIONS", "NOT_BACKSCATTER_BELOW", "BandPairs", "amplitude_to_intensity", "convert", "convert_file",
           "convertible_complex_bands", "cross_ratio_db", "cross_ratio_file", "db_to_linear", "describe_range",
           "guess_units", "implausible_backscatter", "intensity_to_amplitude", "linear_to_db", "pair_bands",
           "undeclared_nodata"]
