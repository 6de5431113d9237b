"""What block kernels count while they run (pixels left NaN and why, values clipped), added up across threads and
across a cluster's workers."""

from __future__ import annotations

import contextlib
import threading
import uuid
import weakref

#: The counts a cluster task adds, per :class:`Counts` (its token), while :func:`recording` is active in the thread.
_task = threading.local()
#: The :class:`Counts` of this process by token: where the counts that come back from a worker are added.
_LIVE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Counts:
    """Thread-safe counters the block kernels add to (workers run blocks in threads).

    A job creates one with the names it counts, its kernels call :meth:`add`, and it returns
    :attr:`values` for the caller to report (the Processing layer logs each non-zero count).

    On a Dask cluster (:mod:`.cluster`) a kernel runs on a copy in another process: the copy keeps its
    token, what a task adds to it is recorded (:func:`recording`) and sent back with the task's result, and
    :func:`merge` adds it to the original here. The totals are the same as a local run's.
    """

    def __init__(self, *names):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(names, 0)
        self.token = uuid.uuid4().hex
        _LIVE[self.token] = self

    def __reduce__(self):
        return _copy, (self.token, tuple(self.values))

    def add(self, **counts):
        with self._lock:
            for k, v in counts.items():
                self.values[k] += int(v)
        record = getattr(_task, "added", None)
        if record is not None:
            mine = record.setdefault(self.token, {})
            for k, v in counts.items():
                mine[k] = mine.get(k, 0) + int(v)

    def reset(self):
        """Every count back to zero (a model reused for another run)."""
        with self._lock:
            self.values = dict.fromkeys(self.values, 0)

    def __getitem__(self, name):
        return self.values[name]


def _copy(token, names):
    """A worker's copy of a :class:`Counts` (starting at zero, the same token; not registered for :func:`merge`)."""
    copy = Counts.__new__(Counts)
    copy._lock = threading.Lock()
    copy.values = dict.fromkeys(names, 0)
    copy.token = token
    return copy


@contextlib.contextmanager
def recording():
    """Inside the ``with``, what this thread adds to any :class:`Counts` is also recorded: yields the
    ``{token: {name: n}}`` dict (what a cluster task returns for :func:`merge`)."""
    outer = getattr(_task, "added", None)
    _task.added = {}
    try:
        yield _task.added
    finally:
        _task.added = outer


def merge(added):
    """Add counts recorded in another process (:func:`recording`) to this process's :class:`Counts`."""
    for token, counts in added.items():
        live = _LIVE.get(token)
        if live is not None:
            live.add(**counts)
