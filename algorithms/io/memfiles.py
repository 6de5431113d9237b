"""In-memory rasters (GDAL's ``/vsimem/``) carried to another process: the virtual rasters a run reads.

The Processing layer reads many inputs through rasters it builds in this process's memory (a VRT that warps an
input onto the reference grid, a datacube variable's dated VRT, polygons burned onto a grid). Another process (a
Dask worker) cannot see them, so what reads them there takes their bytes along: :func:`collect` gathers every
``/vsimem/`` file that ``paths`` name or that the VRTs among them reference, and :func:`restore` writes them into
the receiving process's ``/vsimem/`` (the names carry a unique id) and removes them when their owner is freed.
"""

from __future__ import annotations

import re
import threading
import weakref

from osgeo import gdal

_PREFIX = "/vsimem/"
#: A /vsimem/ path inside a VRT's XML (a source file name), up to the next quote or tag.
_REFERENCE = re.compile(rb"/vsimem/[^<>\"']+")
#: A VRT's source file (a plain VRT's SourceFilename, a warped VRT's SourceDataset).
_SOURCE = re.compile(rb"<(?:SourceFilename|SourceDataset)[^>]*>([^<]+)</")


def _read(path):
    stat = gdal.VSIStatL(path)
    if stat is None:
        return None
    f = gdal.VSIFOpenL(path, "rb")
    if f is None:
        return None
    try:
        return bytes(gdal.VSIFReadL(1, stat.size, f))
    finally:
        gdal.VSIFCloseL(f)


def sources(files):
    """The files outside ``/vsimem/`` that the VRTs among ``files`` (:func:`collect`) read: what a process reading the
    in-memory rasters must reach itself."""
    found = set()
    for path, data in files.items():
        if path.lower().endswith(".vrt"):
            found.update(m.decode().strip() for m in _SOURCE.findall(data))
    return sorted(f for f in found if not f.startswith("/vsimem/"))


def collect(paths):
    """``{path: bytes}`` of the ``/vsimem/`` files among ``paths`` and of those their VRTs name (recursively), with
    their ``.aux.xml`` side files where present; empty when none is in memory."""
    found, todo = {}, [str(p) for p in paths if str(p).startswith(_PREFIX)]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        data = _read(path)
        if data is None:
            continue
        found[path] = data
        side = _read(path + ".aux.xml")
        if side is not None:
            found[path + ".aux.xml"] = side
        if path.lower().endswith(".vrt"):
            todo.extend(m.decode().strip() for m in _REFERENCE.findall(data))
    return found


#: Files :func:`restore` wrote, and how many living owners use each (removed when the last one is freed).
_USERS: dict = {}
_LOCK = threading.Lock()


def restore(files, owner=None):
    """Write ``files`` (:func:`collect`) into this process's ``/vsimem/`` where not there yet. Those written here are
    removed when the last ``owner`` that needs them is garbage-collected (kept when ``owner`` is None)."""
    mine = []
    with _LOCK:
        for path, data in files.items():
            if path in _USERS:
                _USERS[path] += 1
            elif gdal.VSIStatL(path) is None:
                gdal.FileFromMemBuffer(path, data)
                _USERS[path] = 1
            else:
                continue             # this process's own file (the client's): never removed from here
            mine.append(path)
    if mine and owner is not None:
        weakref.finalize(owner, _release, tuple(mine))
    return mine


def _release(paths):
    with _LOCK:
        for path in paths:
            _USERS[path] -= 1
            if not _USERS[path]:
                del _USERS[path]
                gdal.Unlink(path)


def pack(obj, paths, *leave_out):
    """``obj``'s state for another process (its ``__getstate__``): its attributes but ``leave_out`` (open datasets,
    locks, thread-locals), and the in-memory files among ``paths`` (:func:`collect`)."""
    state = {k: v for k, v in obj.__dict__.items() if k not in leave_out}
    state["_vsimem"] = collect(paths)
    return state


def unpack(obj, state):
    """Set ``obj``'s attributes from a state :func:`pack` made (its ``__setstate__``, which then recreates what was
    left out), its in-memory files restored here for as long as ``obj`` lives."""
    files = state.pop("_vsimem", {})
    obj.__dict__.update(state)
    restore(files, owner=obj)
