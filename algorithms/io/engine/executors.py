"""Where a run's blocks are computed: this process's threads (the default) or a cluster's workers.

Every walker of the engine (:mod:`.walk`, :mod:`.tiles`) turns its plan into an ordered list of *items* (windows,
batches of tiles), a ``compute(item) -> result`` that reads and computes one item, and a ``consume(item, result)``
that writes it or adds it to a total. An executor runs ``compute`` over the items and hands the results to
``consume`` one at a time *in item order*: the output, or a reduction's total, is therefore the same whichever
executor ran and however many blocks were computed at once. :class:`LocalExecutor` (threads of this process) is
the default; :class:`~.cluster.DaskExecutor` runs ``compute`` on a Dask cluster (``RunOptions.executor``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class LocalExecutor:
    """Items computed in this process, ``threads`` at once (GDAL and numpy release the GIL), consumed in order."""

    name = "local"

    def map_ordered(self, items, compute, consume, *, options, threads=1, inputs=(), result_bytes=None):
        """``consume(item, compute(item))`` for every item in order; cancel (``options``) is checked before each
        item is started and after each is consumed, progress reported after each. ``inputs`` (the files
        ``compute`` reads) and ``result_bytes(item)`` (the size of an item's result) matter to executors whose
        workers are elsewhere."""
        items = list(items)
        total, progress = len(items), options.progress
        if threads <= 1:
            for i, item in enumerate(items):
                options.check_cancel()
                consume(item, compute(item))
                if progress:
                    progress((i + 1) / total)
            return
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending, nxt, done = [], 0, 0
            try:
                while done < total:
                    while nxt < total and len(pending) < threads:
                        options.check_cancel()
                        pending.append((items[nxt], pool.submit(compute, items[nxt])))
                        nxt += 1
                    item, fut = pending.pop(0)
                    consume(item, fut.result())
                    done += 1
                    if progress:
                        progress(done / total)
                    if done < total:
                        options.check_cancel()
            except BaseException:
                for _, f in pending:
                    f.cancel()
                raise


#: This process's threads.
LOCAL = LocalExecutor()
#: The executor of a run whose options name none: :data:`LOCAL` (the test suite's switch
#: ``SARSENSE_TEST_EXECUTOR=local:2`` sets a Dask one here to run every test's blocks on a cluster, tests/conftest.py).
DEFAULT = LOCAL


def executor_of(options):
    """The executor ``options`` name (``RunOptions.executor``), or :data:`DEFAULT`."""
    return getattr(options, "executor", None) or DEFAULT


__all__ = ["DEFAULT", "LOCAL", "LocalExecutor", "executor_of"]
