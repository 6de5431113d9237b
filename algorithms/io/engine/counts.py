"""What block kernels count while they run (pixels left NaN and why, values clipped) and the float totals they
add up (a scene's mean reference, a geometric mean's log sum), across threads and across a cluster's workers."""

from __future__ import annotations

import contextlib
import threading
import uuid
import weakref

#: The counts a cluster task adds, per :class:`Counts` (its token), while :func:`recording` is active in the thread.
_task = threading.local()
#: The :class:`Counts` of this process by token: where the counts that come back from a worker are added.
_LIVE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class _Tally:
    """Named totals that kernels add to under a lock and that travel to a cluster's workers: a copy there keeps the
    original's token (:func:`_copy`), and what a task adds to it comes back to be merged here (:func:`merge`)."""

    _ZERO = 0

    def __init__(self, *names):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(names, self._ZERO)
        self.token = uuid.uuid4().hex
        _LIVE[self.token] = self

    def __reduce__(self):
        return _copy, (self.token, tuple(self.values), type(self))

    def __getitem__(self, name):
        return self.values[name]


class Counts(_Tally):
    """Thread-safe counters the block kernels add to (workers run blocks in threads).

    A job creates one with the names it counts, its kernels call :meth:`add`, and it returns
    :attr:`values` for the caller to report (the Processing layer logs each non-zero count).

    On a Dask cluster (:mod:`.cluster`) a kernel runs on a copy in another process: the copy keeps its
    token, what a task adds to it is recorded (:func:`recording`) and sent back with the task's result, and
    :func:`merge` adds it to the original here. The totals are the same as a local run's.
    """

    def add(self, **counts):
        with self._lock:
            for k, v in counts.items():
                self.values[k] += int(v)
        record = getattr(_task, "added", None)
        if record is not None:
            mine = record.setdefault(self.token, {})
            for k, v in counts.items():
                mine[k] = mine.get(k, 0) + int(v)

    def _merge(self, recorded):
        self.add(**recorded)

    def reset(self):
        """Every count back to zero (a model reused for another run)."""
        with self._lock:
            self.values = dict.fromkeys(self.values, 0)


def _copy(token, names, kind=Counts):
    """A worker's copy of a :class:`Counts` or :class:`Sums` (starting at zero, the same token; not registered for
    :func:`merge`)."""
    copy = kind.__new__(kind)
    copy._lock = threading.Lock()
    copy.values = dict.fromkeys(names, kind._ZERO)
    copy.token = token
    return copy


class Sums(_Tally):
    """Float64 totals the block kernels add to (a per-group sum of references, a sum of logarithms): the float
    counterpart of :class:`Counts`, for what a kernel accumulates besides its output block.

    A kernel adds numbers it has reduced from its block (``add(dry=lo.sum(dtype=np.float64), n=k)``). Float
    addition depends on its order, so on a Dask cluster a worker records each :meth:`add` of a task in turn and
    :func:`merge` replays them here in the order the client consumes the tasks (the plan's): the totals are bit
    for bit those of a local run on one thread (on several threads, blocks finish, and add, in any order).
    """

    _ZERO = 0.0

    def add(self, **values):
        values = {k: float(v) for k, v in values.items()}
        with self._lock:
            for k, v in values.items():
                self.values[k] += v
        record = getattr(_task, "added", None)
        if record is not None:
            record.setdefault(self.token, []).append(values)

    def _merge(self, recorded):
        for values in recorded:
            self.add(**values)


@contextlib.contextmanager
def recording():
    """Inside the ``with``, what this thread adds to any :class:`Counts` or :class:`Sums` is also recorded: yields
    the ``{token: {name: n}}`` (Counts) or ``{token: [{name: x}, …]}`` (Sums) dict a cluster task returns for
    :func:`merge`."""
    outer = getattr(_task, "added", None)
    _task.added = {}
    try:
        yield _task.added
    finally:
        _task.added = outer


def merge(added):
    """Add counts recorded in another process (:func:`recording`) to this process's :class:`Counts` and
    :class:`Sums` (a :class:`Sums`'s additions replayed in the order they were made)."""
    for token, recorded in added.items():
        live = _LIVE.get(token)
        if live is not None:
            live._merge(recorded)
