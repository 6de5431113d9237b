"""Partial output files: written under a temporary name carrying the writer's process id, removed on failure.

A run writes ``<output>.partial-<pid>-<id>.tif`` and renames it when it succeeds. This module names those
files, removes the ones a killed process left (:func:`remove_stale_partials`), and, while a run writes,
removes its own on SIGTERM or SIGHUP (a signal handler installed from the main thread only, and restored
when the last partial file of the process is done).
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import tempfile
import threading
import uuid


def remove_dataset_files(path):
    """Delete a GeoTIFF and its .aux.xml and .ovr side files, where they exist."""
    for p in (path, path + ".aux.xml", path + ".ovr"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


@contextlib.contextmanager
def temporary_raster(beside, prefix):
    """A GeoTIFF path for an intermediate raster of a job, in the folder of ``beside`` (the job's output: the
    same disk, which must hold the output anyway), removed with its side files when the ``with`` ends, however
    it ends, and on SIGTERM or SIGHUP like a partial output."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".tif", dir=os.path.dirname(os.path.abspath(beside)))
    os.close(fd)
    _register_partial(path)
    try:
        yield path
    finally:
        remove_dataset_files(path)
        _unregister_partial(path)


_PARTIAL = ".partial-"


def _partial_name(output):
    """Temporary name of ``output`` while it is written: carries this process's id, so a later run can tell
    a partial file left by a killed process (removed) from one another live process is writing (kept)."""
    return f"{output}{_PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}.tif"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(output):
    """Remove partial files of ``output`` left by processes that no longer run (killed with SIGKILL, a crash)."""
    removed = []
    for path in glob.glob(glob.escape(str(output)) + _PARTIAL + "*.tif"):
        tail = path[len(str(output)) + len(_PARTIAL):]
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        if pid.isdigit() and int(pid) == os.getpid() and path in _ACTIVE:
            continue
        remove_dataset_files(path)
        removed.append(path)
    return removed


# Partial files being written by this process, removed if it is terminated (SIGTERM, SIGHUP), and callbacks
# that clean up what else a run wrote (the Processing layer's tables and reports).
_ACTIVE = set()
_CALLBACKS = []
_ACTIVE_LOCK = threading.Lock()
_OLD_HANDLERS = {}
_CLEANUP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


def _on_signal(signum, frame):
    for path in list(_ACTIVE):
        remove_dataset_files(path)
    _ACTIVE.clear()
    for callback in list(_CALLBACKS):
        try:
            callback()
        except Exception:
            pass
    _CALLBACKS.clear()
    old = _OLD_HANDLERS.get(signum, signal.SIG_DFL)
    if callable(old):
        old(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    # Python runs signal handlers in the main thread only; a run in QGIS's task threads (desktop)
    # cannot install one, and there a cancel, not a signal, stops it.
    if threading.current_thread() is threading.main_thread() and not _OLD_HANDLERS:
        for sig in _CLEANUP_SIGNALS:
            try:
                _OLD_HANDLERS[sig] = signal.signal(sig, _on_signal)
            except (ValueError, OSError):
                pass


def _restore_handlers():
    if not _ACTIVE and not _CALLBACKS and _OLD_HANDLERS and threading.current_thread() is threading.main_thread():
        for sig, old in _OLD_HANDLERS.items():
            try:
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        _OLD_HANDLERS.clear()


def _register_partial(path):
    with _ACTIVE_LOCK:
        _ACTIVE.add(path)
        _install_handlers()


def _unregister_partial(path):
    with _ACTIVE_LOCK:
        _ACTIVE.discard(path)
        _restore_handlers()


@contextlib.contextmanager
def cleanup_on_signal(callback):
    """While the ``with`` runs, call ``callback()`` if the process is terminated (SIGTERM, SIGHUP), with the
    partial files: for outputs written by others than the engine (QGIS's feature sinks, HTML reports)."""
    with _ACTIVE_LOCK:
        _CALLBACKS.append(callback)
        _install_handlers()
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            if callback in _CALLBACKS:
                _CALLBACKS.remove(callback)
            _restore_handlers()
