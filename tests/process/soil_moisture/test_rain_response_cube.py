"""Issue #29's "Done when", through qgis_process.bin: on a mixed-orbit CF cube read directly (no conversion script),
change detection's SSM responds to rain as per-orbit runs do (ρ > 0.2 and wet − dry > 0.02 m³/m³), the pooled run
(ORBITS=1) is clearly worse, and no SSM leaves [0, porosity].

The cube is the simulated two-orbit site (simulators/soil_moisture_orbits.py: openEO layout, Int32 dB × 10⁴ with
scale_factor, orbits 88 and 161 told apart by their time of day only). SIMULATED data: the real sites' numbers
were ρ 0.31-0.45 per orbit and −0.07/−0.06 pooled; this site gives 0.32 and −0.03 (core, by hand)."""

import numpy as np
import pytest
from helpers import read_raster
from process_helpers import needs_qgis_process, ok

from sarsense.algorithms.io import dates as io_dates
from sarsense.simulators import soil_moisture_orbits as so

pytestmark = needs_qgis_process
#: The default POROSITY of every SSM output (m³/m³).
POROSITY = 0.5


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cube")
    paths, site = so.write_site(tmp)
    return {"tmp": tmp, "paths": paths, "site": site, "vv": f'NETCDF:"{paths["cube"]}":VV'}


def _chain(env, cube, name, *orbits):
    t = cube["tmp"]
    cd = ok(env, "changedetection", f"--INPUT={cube['vv']}", "--INPUT_UNITS=1", *orbits,
            f"--OUTPUT_INDEX={t / f'i_{name}.tif'}", f"--OUTPUT_SSM={t / f'ssm_{name}.tif'}")
    check = ok(env, "rainresponse", f"--INPUT={cd['OUTPUT_SSM']}", f"--RAIN={cube['paths']['rain']}",
               f"--OUTPUT_TABLE={t / f'pairs_{name}.csv'}", f"--OUTPUT_HTML={t / f'rain_{name}.html'}")
    return cd["OUTPUT_SSM"], check


def test_change_detection_on_a_mixed_orbit_cube_responds_to_rain_per_orbit(env, cube):
    ssm_per, per = _chain(env, cube, "per_orbit")                     # ORBITS default: per orbit
    ssm_pooled, pooled = _chain(env, cube, "pooled", "--ORBITS=1")
    assert per["RHO"] > 0.2 and per["WET_MINUS_DRY"] > 0.02
    assert per["N_PAIRS"] == len(cube["site"]["acq"]) - 1
    assert pooled["RHO"] < per["RHO"] - 0.2                           # the sawtooth of the pooled series
    for path in (ssm_per, ssm_pooled):
        ssm = read_raster(path)
        assert np.isfinite(ssm).any() and np.nanmin(ssm) >= 0.0 and np.nanmax(ssm) <= POROSITY
    # the time of day (from the cube's time coordinate) travels to the SSM, so the rain is split at 17:32/17:40
    times = io_dates.band_times(ssm_per)
    assert [s for s, _ in times] == [np.datetime64(a["time"], "s") for a in cube["site"]["acq"]]
