"""Shared fixtures: sample data and, for tests/qgis, a real QGIS with the SARSense provider."""

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


@pytest.fixture(scope="session")
def sarsense(qgis_app, qgis_processing):
    """The SARSense provider registered in the session's QgsApplication."""
    from qgis.core import QgsApplication

    from sarsense.sarsense_qgis.provider import SarsenseProvider

    reg = QgsApplication.processingRegistry()
    provider = reg.providerById("sarsense")
    if provider is None:
        provider = SarsenseProvider()
        assert reg.addProvider(provider)
    return provider
