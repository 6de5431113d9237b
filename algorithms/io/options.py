"""One run's options: memory budget, threads, compression, progress and cancel, passed as one object.

An algorithm builds one :class:`RunOptions` per run (the Processing base class does it from the user's
choices and QGIS's feedback) and hands it down: job → kernels' engine calls → engine, instead of a list
of keyword parameters threaded through every level.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from .raster import DEFAULT_COMPRESSION

#: Default working-memory budget of one run, in MiB (arrays the kernel holds at once).
DEFAULT_BUDGET_MB = 96


class Cancelled(Exception):  # noqa: N818 (public name every suite and the plugin catch: a cancel is no error)
    """Raised when the caller's cancel callback returns True; no output is left behind."""


@dataclass(frozen=True)
class RunOptions:
    """How one run uses the machine and talks to its caller.

    Attributes
    ----------
    budget_mb : float
        Working memory of the run's arrays, MiB (GDAL's block cache takes a share of it).
    workers : int
        Blocks computed at once (threads).
    compression : str
        GeoTIFF compression of the outputs, one of ``raster.COMPRESSIONS``.
    block_size : int or None
        Square blocks of this side instead of the budget's (tests use it to put block edges anywhere).
    progress : callable or None
        ``progress(fraction)`` with fraction in [0, 1], after each block.
    is_canceled : callable or None
        ``is_canceled() -> bool``, asked between blocks; True stops the run with :class:`Cancelled`.
    empty_hint : str
        The job's likely cause and fix of an output with no valid pixel, said when the engine refuses one
        (:class:`~.engine.outputs.OutputRaster`, the empty-result rule).
    allow_empty : bool or tuple of str
        True where an output with no valid pixel is a valid answer (the job says so in its log), or the paths of
        the outputs of a run for which it is (a rice map's day-of-transplanting raster where no rice was found).
    executor : object or None
        Where the blocks are computed (:mod:`.engine.executors`): None, this process's threads (``workers`` of
        them); a :class:`~.engine.cluster.DaskExecutor`, the workers of a Dask cluster. The results are the same.
    """

    budget_mb: float = DEFAULT_BUDGET_MB
    workers: int = 1
    compression: str = DEFAULT_COMPRESSION
    block_size: int | None = None
    progress: Callable[[float], None] | None = None
    is_canceled: Callable[[], bool] | None = None
    empty_hint: str = ""
    allow_empty: bool | tuple = False
    executor: object | None = None

    def __post_init__(self):
        if not self.budget_mb > 0:
            raise ValueError(f"memory budget must be > 0 MiB, got {self.budget_mb}")
        object.__setattr__(self, "workers", max(1, int(self.workers)))

    def replace(self, **changes) -> RunOptions:
        """A copy with ``changes`` (e.g. ``workers=1`` for a pass that must run on one thread)."""
        return dataclasses.replace(self, **changes)

    def with_empty_hint(self, hint: str) -> RunOptions:
        """These options with ``hint`` as the cause of an empty output, unless the caller already gave one
        (the Processing layer knows the user's parameters and says it better)."""
        return self if self.empty_hint else self.replace(empty_hint=hint)

    def part(self, start: float, end: float) -> RunOptions:
        """The same options for one pass of a run that walks the data several times: the pass's progress
        from 0 to 1 fills ``[start, end]`` of the run's."""
        if self.progress is None:
            return self
        outer = self.progress
        return self.replace(progress=lambda f: outer(start + (end - start) * f))

    def canceled(self) -> bool:
        return self.is_canceled is not None and bool(self.is_canceled())

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` when the caller asked to stop."""
        if self.canceled():
            raise Cancelled("cancelled by the user; no output was written")

    def report(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(fraction)


def resolve(options: RunOptions | None = None) -> RunOptions:
    """``options``, or the default options when None (what every job and engine call does with its argument)."""
    return options if options is not None else RunOptions()
