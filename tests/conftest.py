"""Shared fixtures: sample data (tests/qgis/conftest.py adds the provider, tests/process/conftest.py the
qgis_process environment)."""

import pytest
from helpers import SAMPLE_DB, STACK_DIR, read_raster, write_raster
from osgeo import gdal


@pytest.fixture
def sample_db():
    return str(SAMPLE_DB)


@pytest.fixture
def sample_linear(tmp_path):
    """The real Camargue scene converted to linear power."""
    db = read_raster(SAMPLE_DB)[0]
    ds = gdal.Open(str(SAMPLE_DB))
    return write_raster(tmp_path / "camargue_linear.tif", 10 ** (db / 10), gt=ds.GetGeoTransform(), epsg=32631)


@pytest.fixture
def stack_files():
    return sorted(str(p) for p in STACK_DIR.glob("*.tif"))
