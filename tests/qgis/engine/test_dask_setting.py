"""The desktop's way to a cluster: the provider's *Dask scheduler* setting (Processing ▸ Options ▸ Providers ▸
SARSense), read by every run; the environment variable wins where it is set (issue #32)."""

import numpy as np
import pytest
from helpers import read_raster, write_raster

pytest.importorskip("distributed")


@pytest.fixture
def setting(sarsense, monkeypatch):
    from processing.core.ProcessingConfig import ProcessingConfig

    from sarsense.sarsense_qgis.processing.cluster import SCHEDULER_SETTING
    monkeypatch.delenv("SARSENSE_DASK_SCHEDULER", raising=False)
    old = ProcessingConfig.getSetting(SCHEDULER_SETTING)
    yield lambda value: ProcessingConfig.setSettingValue(SCHEDULER_SETTING, value)
    ProcessingConfig.setSettingValue(SCHEDULER_SETTING, old or "")


def test_the_setting_is_in_the_providers_options(sarsense):
    from processing.core.ProcessingConfig import ProcessingConfig

    from sarsense.sarsense_qgis.processing.cluster import SCHEDULER_SETTING
    s = ProcessingConfig.settings[SCHEDULER_SETTING]
    assert s.group == sarsense.name() == "SARSense"   # listed under Providers ▸ SARSense
    assert "Dask scheduler" in s.description and "local:N" in s.description and "tcp://" in s.description
    assert s.default == ""


def test_a_run_uses_the_cluster_the_setting_names_and_says_so(sarsense, setting, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, text):
            self.lines.append(text)

    rng = np.random.default_rng(1)
    src = write_raster(tmp_path / "s.tif", rng.gamma(4.0, 0.05, (1, 200, 150)).astype(np.float32), epsg=32631)
    local = processing.run("sarsense:despeckle", {"INPUT": src, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "l.tif")})
    setting("local:2")
    log = Log()
    dask = processing.run("sarsense:despeckle", {"INPUT": src, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "d.tif")},
                          context=QgsProcessingContext(), feedback=log)
    assert np.array_equal(read_raster(local["OUTPUT"]), read_raster(dask["OUTPUT"]), equal_nan=True)
    text = "\n".join(log.lines)
    assert "Executor: Dask on a LocalCluster of 2 worker processes" in text and "Dask: 1 task(s)" in text


def test_the_variable_wins_over_the_setting(sarsense, setting, monkeypatch):
    from sarsense.sarsense_qgis.processing.cluster import scheduler_address
    setting("tcp://10.1.2.3:8786")
    assert scheduler_address()[0] == "tcp://10.1.2.3:8786"
    monkeypatch.setenv("SARSENSE_DASK_SCHEDULER", "")
    assert scheduler_address() == ("", "the environment variable SARSENSE_DASK_SCHEDULER")
