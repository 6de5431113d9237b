"""Every engine pass of an algorithm's run goes through the run's executor (issue #32): the options reach the core
through ``SarsenseAlgorithm.run_options``, none built elsewhere or left out (a pass with no options would run on
this machine's threads whatever the Dask scheduler setting, and ignore cancel)."""

import pytest
from helpers import modis_subdataset
from qgis_helpers import Log, run

from sarsense.algorithms.io.engine import executors
from sarsense.sarsense_qgis.processing import cluster


class _Spy(executors.LocalExecutor):
    """The run's executor: this process's threads, counting the passes it runs."""

    def __init__(self):
        self.passes = 0

    def map_ordered(self, *args, **kwargs):
        self.passes += 1
        return super().map_ordered(*args, **kwargs)

    def describe(self):
        return "spy executor"

    def summary(self):
        return f"spy executor: {self.passes} pass(es)"

    def close(self):
        pass


class _Nowhere:
    def map_ordered(self, *args, **kwargs):
        raise AssertionError("an engine pass ran without the run's executor (options not from run_options)")


@pytest.mark.parametrize("alg, params, passes", [
    ("degradelst", {"INPUT": modis_subdataset("LST_Night_1km"), "FACTOR": 4}, 2),   # the QC counts, the aggregate
    ("despeckle", {"FILTER": 1, "INPUT_UNITS": 1}, 1),
], ids=["degradelst-modis", "despeckle"])
def test_every_pass_runs_on_the_runs_executor(sarsense, sample_db, tmp_path, monkeypatch, alg, params, passes):
    spy = _Spy()
    monkeypatch.setattr(cluster, "open_executor", lambda feedback: spy)
    monkeypatch.setattr(executors, "DEFAULT", _Nowhere())
    log = Log()
    run(alg, {"INPUT": sample_db, **params, "OUTPUT": str(tmp_path / "o.tif")}, feedback=log)
    assert spy.passes >= passes and f"spy executor: {spy.passes} pass(es)" in log.lines
