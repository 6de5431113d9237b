"""Issue 28, soil moisture's core checks: what is no reflectance, V1, incidence in degrees, or a pair of SSM bounds."""

import numpy as np
import pytest
from helpers import write_raster

from sarsense.algorithms.soil_moisture import calibration, change_detection, ndvi, terrain


@pytest.mark.parametrize("values, kind, refused", [
    ([0.2, 0.5, 0.8], None, False),            # NDVI
    ([-14.0, -9.5, -6.0], None, False),        # a VH/VV ratio in dB
    ([-14.0, -9.5, -6.0], "VH/VV", False),
    ([-14.0, -9.5, -6.0], "NDVI", True),       # said to be NDVI: held to −1..1
    ([2.5, 3.7, 5.0], None, True),             # neither
    ([2000.0, 5000.0, 8000.0], "NDVI", True),  # NDVI × 10000
])
def test_v1_is_ndvi_or_a_vh_vv_ratio_in_db(values, kind, refused):
    assert (calibration.v1_problem(np.array(values * 100), kind) is not None) is refused


@pytest.mark.parametrize("values, needle", [([39.0, 41.0], None), ([0.6, 0.8], "radians"), ([95.0], "0 and 90"),
                                            ([np.nan], None)])
def test_incidence_in_degrees(values, needle):
    problem = terrain.incidence_problem(values)
    assert (problem is None) if needle is None else (needle in problem)


def test_reflectance_scale_and_positivity(tmp_path):
    rng = np.random.default_rng(0)
    dn = write_raster(tmp_path / "dn.tif", rng.integers(300, 5000, (2, 30, 30)).astype(np.float32))
    assert "digital numbers" in ndvi.reflectance_problem(dn, [1, 2])
    assert ndvi.reflectance_problem(dn, [1, 2], scale=1e-4) is None
    zero = write_raster(tmp_path / "zero.tif", np.zeros((1, 30, 30), np.float32))
    assert "no positive reflectance" in ndvi.reflectance_problem(zero, [1])


def test_ssm_bound_conflicts_pixel_by_pixel(tmp_path):
    lo = np.full((20, 20), 0.1, np.float32)
    lo[:5] = 0.5
    lo_path = write_raster(tmp_path / "lo.tif", lo)
    hi_path = write_raster(tmp_path / "hi.tif", np.full((20, 20), 0.4, np.float32))
    n, of, (a, b) = change_detection.bound_conflicts(0.05, 0.4, ssm_min_raster=lo_path, ssm_max_raster=hi_path)
    assert (n, of) == (100, 400) and (a, b) == pytest.approx((0.5, 0.4))
    n, of, _ = change_detection.bound_conflicts(0.05, 0.3, ssm_min_raster=lo_path)   # against the number
    assert (n, of) == (100, 400)
    n, of, _ = change_detection.bound_conflicts(0.45, 0.9, ssm_max_raster=hi_path)
    assert (n, of) == (400, 400)
