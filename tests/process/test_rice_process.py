"""Crop mapping headless: the algorithms through qgis_process.bin --json."""

import json

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from test_qgis_process import QGIS_PROCESS, env, qp  # noqa: F401  (env is a fixture)

from sarsense.algorithms.io import stack as _stack

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(QGIS_PROCESS), reason="qgis_process.bin missing")
DATES = ["2017-01-21", "2017-03-10", "2017-03-22"]


def test_water_normalized_headless_and_its_refusal(env, tmp_path):  # noqa: F811
    rng = np.random.default_rng(12)
    db = rng.normal(-15, 1.0, (3, 40, 50)).astype(np.float32)
    db[:, 30:, :] = rng.normal(-26, 0.5, (3, 10, 50))
    src = write_raster(tmp_path / "vh.tif", db, descriptions=DATES, nodata=float("nan"))
    res = qp(env, "run", "sarsense:waternormalized", "--json", f"--INPUT={src}", "--INPUT_UNITS=1",
             f"--OUTPUT={tmp_path / 'n.tif'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads(res.stdout[res.stdout.index("{"):])["results"]["OUTPUT"]
    got = read_raster(out)
    assert _stack.band_dates(out) == DATES
    lin = 10 ** (db / 10)
    t = lin[:, 30:, :].mean(axis=(1, 2))
    np.testing.assert_allclose(got, (lin - t[:, None, None]) / (lin + t[:, None, None]), rtol=1e-4, atol=1e-5)
    ds = gdal.Open(out)
    assert int(ds.GetRasterBand(3).GetMetadataItem("WATER_PIXELS")) == 500
    bad = qp(env, "run", "sarsense:waternormalized", f"--INPUT={src}", "--AUTO_WATER_DB=-35",
             f"--OUTPUT={tmp_path / 'none.tif'}")
    assert bad.returncode != 0 and "no water pixels were found" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr and not (tmp_path / "none.tif").exists()
