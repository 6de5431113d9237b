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


@pytest.fixture(scope="session", autouse=True)
def test_executor():
    """``SARSENSE_TEST_EXECUTOR=local:2`` (or a scheduler's address) runs every engine call of the session whose
    options name no executor on a Dask cluster: the whole suite then checks that the blocks give the local engine's
    results there (docs/distributed.md). Unset: this process's threads, as a user's run."""
    import os

    address = os.environ.get("SARSENSE_TEST_EXECUTOR", "")
    if not address:
        yield None
        return
    from sarsense.algorithms.io.engine import executors
    from sarsense.algorithms.io.engine.cluster import DaskExecutor

    _tests_travel_by_value()
    with DaskExecutor(address) as executor:
        executors.DEFAULT = executor
        try:
            yield executor
        finally:
            executors.DEFAULT = executors.LOCAL


def _tests_travel_by_value():
    """The test modules' kernels and test doubles (a toy model, a kernel that counts) sent to the workers by value:
    a worker has the core only (what a user's cluster gets), so it cannot import them from tests/."""
    import pathlib
    import sys

    import cloudpickle

    tests = pathlib.Path(__file__).resolve().parent
    done = cloudpickle.list_registry_pickle_by_value()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and tests in pathlib.Path(path).resolve().parents and name not in done:
            cloudpickle.register_pickle_by_value(module)
