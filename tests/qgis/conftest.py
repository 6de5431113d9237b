"""The processing.run tests: a real QGIS (pytest-qgis, one QgsApplication per session) with the SARSense provider."""

import pytest


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
