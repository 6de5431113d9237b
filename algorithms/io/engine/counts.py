"""What block kernels count while they run (pixels left NaN and why, values clipped), added up across threads."""

from __future__ import annotations

import threading


class Counts:
    """Thread-safe counters the block kernels add to (workers run blocks in threads).

    A job creates one with the names it counts, its kernels call :meth:`add`, and it returns
    :attr:`values` for the caller to report (the Processing layer logs each non-zero count).
    """

    def __init__(self, *names):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(names, 0)

    def add(self, **counts):
        with self._lock:
            for k, v in counts.items():
                self.values[k] += int(v)

    def __getitem__(self, name):
        return self.values[name]
