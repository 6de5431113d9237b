"""The rice rule through qgis_process.bin --json (issue #29): it compares each date with the next, so the orbit
groups of its NDVH stack are logged and a mix of orbits is warned about."""

import numpy as np
from helpers import write_raster
from process_helpers import needs_qgis_process, run_json

pytestmark = needs_qgis_process


def test_rice_threshold_names_the_orbits_it_mixes(env, tmp_path):
    """The rice rule compares each date with the next: a stack of two orbits is logged by group and warned about;
    one orbit is logged without a warning."""
    times = [str(np.datetime64("2019-03-01T10:05:00") + np.timedelta64(6 * k, "D") + np.timedelta64(600 * (k % 2), "s"))
             for k in range(10)]
    ndvh = np.full((10, 8, 8), 0.8, np.float32)
    mixed = write_raster(tmp_path / "ndvh.tif", ndvh, descriptions=times)
    doc = run_json(env, "ricethreshold", NDVH=mixed, SEASON_START="2019-03-10", SEASON_END="2019-04-27",
                   OUTPUT=tmp_path / "rice.tif")
    assert any("mixes 2 orbits (acquisitions at 10:05 UTC ±3 min, acquisitions at 10:15 UTC ±3 min)" in w
               for w in doc["log"].get("warning", [])), doc["log"]
    one = write_raster(tmp_path / "one.tif", ndvh[::2], descriptions=times[::2])
    doc = run_json(env, "ricethreshold", NDVH=one, SEASON_START="2019-03-10", SEASON_END="2019-04-27",
                   OUTPUT=tmp_path / "rice1.tif")
    assert not any("orbits" in w for w in doc["log"].get("warning", [])), doc["log"]
    assert any("1 series by orbit: acquisitions at 10:05 UTC" in i for i in doc["log"]["info"]), doc["log"]
