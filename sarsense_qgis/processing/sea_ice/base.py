"""What the Sea ice algorithms share: the group, the SIC class map's styling, and polygons put on a grid."""

from __future__ import annotations

from ....algorithms.sea_ice import classes as sic_classes
from ...styles import SIC_RAMP, style_on_load
from ..base import SarsenseAlgorithm


class SeaIceAlgorithm(SarsenseAlgorithm):
    _group = ("Sea ice", "seaice")

    @staticmethod
    def style_sic(context, path, name=None, force_name=False):
        """Style a SIC class map on load with the WMO total-concentration colours and a legend; ``name`` is its
        layer name (whatever the file is called with ``force_name``: a demonstration model's output)."""
        style_on_load(context, path, classes=sic_classes.class_table(), name=name, force_name=force_name)

    @staticmethod
    def style_expected(context, path, name=None, force_name=False):
        """Style an expected-SIC raster (%) on load with a 0–100 % ramp in WMO colours (``name`` as above)."""
        style_on_load(context, path, ramp=SIC_RAMP, name=name, force_name=force_name)
