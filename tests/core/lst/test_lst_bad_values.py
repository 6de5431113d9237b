"""Issue #28: the likely cause of LST values no land surface has (temperature.scale_hint, undeclared_fill)."""

import numpy as np
import pytest

from sarsense.algorithms.lst import temperature

K = np.random.default_rng(0).uniform(290.0, 320.0, 2000)


@pytest.mark.parametrize("values,units,scaling,needle", [
    (K / 0.02, "kelvin", None, "look like raw MODIS DN"),                    # 15 000 "K"
    (K / 0.02, "celsius", None, "look like raw MODIS DN"),
    (K / 0.02 * 0.2, "kelvin", (0.2, 0.0), "gdal_edit.py -scale 0.02 -offset 0"),   # a wrong scale: ≈ 3 000 K
    (K * 0.02, "kelvin", (0.02, 0.0), "are already LST: remove them"),       # a scale set on kelvin values
    ((K - 149.0) / 0.00341802, "kelvin", None, "look like raw Landsat Collection 2 surface temperature (ST_B10)"),
    (K * 1e3, "kelvin", None, "check that this is an LST layer"),
    (np.linspace(0.1, 0.8, 500), "kelvin", None, "as an NDVI or a reflectance does"),   # an NDVI given as LST
])
def test_scale_hint_names_the_cause(values, units, scaling, needle):
    assert needle in temperature.scale_hint(values, units, scaling)


@pytest.mark.parametrize("values,units", [(K, "kelvin"), (K - 273.15, "celsius"),
                                          (K - 273.15, "kelvin"), (K, "celsius")])   # the unit swap: the range says
def test_scale_hint_is_silent_where_a_unit_fits(values, units):
    assert temperature.scale_hint(values, units) == ""


def test_undeclared_fill():
    assert "-a_nodata -9999" in temperature.undeclared_fill(np.r_[K, [-9999.0] * 30], "kelvin")
    assert temperature.undeclared_fill(np.r_[K, [-9999.0]], "kelvin") == ""          # one odd value: no pattern
    assert temperature.undeclared_fill(K / 0.02, "kelvin") == ""                      # DN: not a fill
    assert temperature.undeclared_fill(np.r_[K - 273.15, [-9999.0] * 30], "celsius") != ""
