"""How a run holds memory: GDAL's block cache capped for the run, and glibc told to keep freed blocks.

Both change process-wide state, so both are context managers that restore it: :func:`gdal_cache_limit`
caps GDAL's cache (never raises it) and :func:`reuse_freed_memory` sets glibc's ``mallopt`` thresholds
(nested runs share one setting; the outermost restores glibc's defaults and trims). docs/conventions.md ("Budget and
memory") and docs/performance.md give the measurements behind them.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

from osgeo import gdal

#: GDAL block cache (MiB) while a SARSense algorithm runs, from its first read to its last write.
RUN_CACHE_MB = 32


def gdal_cache_share(budget_mb):
    """MiB of a run's budget given to GDAL's block cache (a quarter, at most 32 MiB); the rest is for arrays."""
    return min(float(RUN_CACHE_MB), budget_mb / 4)


@contextlib.contextmanager
def gdal_cache_limit(mb):
    """Cap GDAL's block cache at ``mb`` MiB (never raise it) inside the ``with``; restore it after.

    GDAL's default cache is 5 % of RAM: without a cap, reading a large raster fills it and the process
    holds hundreds of MiB after the run (docs/conventions.md, "Budget and memory").
    """
    old = gdal.GetCacheMax()
    gdal.SetCacheMax(min(old, int(mb * 2**20)))
    try:
        yield
    finally:
        gdal.SetCacheMax(old)


#: glibc ``mallopt`` parameters (``malloc.h``) and glibc's documented defaults for them.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
#: Arrays below this size come from the heap during a run (glibc's largest allowed value on 64-bit).
_RUN_MMAP_THRESHOLD = 32 * 2**20
_reuse_lock = threading.Lock()
_reuse_depth = 0


def _glibc():
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version, libc.mallopt, libc.malloc_trim  # noqa: B018 (AttributeError elsewhere)
        return libc
    except (OSError, AttributeError, TypeError):
        return None


@contextlib.contextmanager
def reuse_freed_memory(keep_mb):
    """Keep memory a run frees for its next blocks (glibc only; elsewhere nothing changes); give it back after.

    A kernel allocates the same few arrays block after block. glibc returns freed blocks of more
    than 128 KiB to the system and the next allocation touches fresh pages, which costs more than
    the arithmetic: Gamma-MAP 5×5 on 8192², kernel time 3.6 s → 1.3 s when memory is reused
    (docs/performance.md). Inside the ``with``, arrays up to 32 MiB come from the heap and up to
    ``keep_mb`` MiB of freed memory stay in the process (its peak is unchanged: that memory was in
    use a block earlier). After the outermost ``with`` the thresholds are glibc's defaults again
    (fixed, no longer adaptive) and ``malloc_trim`` returns what is free.
    """
    global _reuse_depth
    libc = _glibc()
    with _reuse_lock:
        _reuse_depth += 1
        if libc is not None and _reuse_depth == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _RUN_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, int(keep_mb * 2**20))
    try:
        yield
    finally:
        with _reuse_lock:
            _reuse_depth -= 1
            if libc is not None and _reuse_depth == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.malloc_trim(0)
