"""Which executor computes a run's blocks: the provider's *Dask scheduler* setting or ``SARSENSE_DASK_SCHEDULER``.

The Processing base class opens the run's executor before :meth:`~.base.SarsenseAlgorithm.process` and closes it
after, whatever happened (docs/distributed.md).
"""

from __future__ import annotations

import os

from ...algorithms.io.engine.cluster import SCHEDULER_ENV, ClusterError, DaskExecutor

#: The provider's setting (Processing ▸ Options ▸ Providers ▸ SARSense) naming the Dask scheduler that computes the
#: blocks: empty, this machine; ``local:N``; ``tcp://host:port``. The environment variable of the same name
#: (``SCHEDULER_ENV``) wins where it is set, for ``qgis_process`` and batch jobs.
SCHEDULER_SETTING = SCHEDULER_ENV


def scheduler_address():
    """``(address, where it was set)`` of the Dask scheduler a run uses: ``$SARSENSE_DASK_SCHEDULER`` where set
    (empty: this machine), else the provider's setting, else '' (this machine's threads)."""
    if SCHEDULER_ENV in os.environ:
        return os.environ[SCHEDULER_ENV].strip(), f"the environment variable {SCHEDULER_ENV}"
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:     # QGIS without its Processing plugin's Python: only the variable applies
        return "", ""
    where = "the Dask scheduler setting (Processing ▸ Options ▸ Providers ▸ SARSense)"
    return str(ProcessingConfig.getSetting(SCHEDULER_SETTING) or "").strip(), where


def open_executor(feedback):
    """The run's Dask executor where a scheduler is set (:func:`scheduler_address`), said in the log; None (this
    machine's threads) otherwise. An address that does not work is refused before anything is read."""
    address, where = scheduler_address()
    if not address:
        return None
    try:
        executor = DaskExecutor(address)
    except ClusterError as err:
        raise ClusterError(f"{err} (the address comes from {where})") from None
    if feedback is not None:
        feedback.pushInfo(executor.describe())
    return executor


def close_executor(executor, feedback):
    """Say what the run's executor cost (tasks, bytes moved) and close it (a ``local:N`` cluster stops)."""
    if executor is None:
        return
    if feedback is not None:
        feedback.pushInfo(executor.summary())
    executor.close()
