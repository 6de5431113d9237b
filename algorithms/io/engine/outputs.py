"""The output side of a run: a GeoTIFF written under a temporary name and renamed only when the run succeeds."""

from __future__ import annotations

import os

import numpy as np

from .. import raster as _raster
from .partials import _partial_name, _register_partial, _unregister_partial, remove_dataset_files, remove_stale_partials

#: File name endings SARSense writes (GeoTIFF only).
OUTPUT_EXTENSIONS = (".tif", ".tiff")


def _check_output_path(output, inputs):
    if not output:
        raise ValueError("no output path given")
    if os.path.isdir(output):
        raise ValueError(f"output '{output}' is an existing folder; give a file name such as "
                         f"'{os.path.join(output, 'result.tif')}'")
    if not str(output).lower().endswith(OUTPUT_EXTENSIONS):
        ext = os.path.splitext(str(output))[1]
        what = f"the extension '{ext}'" if ext else "no extension"
        raise ValueError(f"output '{output}' has {what}; SARSense writes GeoTIFF: name it "
                         f"'{os.path.splitext(str(output))[0]}.tif' (gdal_translate converts GeoTIFF to other formats)")
    out_real = os.path.realpath(output)
    for p in inputs:
        if os.path.realpath(p) == out_real:
            raise ValueError(f"output '{output}' is the same file as an input; choose another output path "
                             "(inputs are never overwritten)")
    parent = os.path.dirname(out_real) or "."
    probe = parent
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise ValueError(f"output folder '{parent}' is not a folder: '{probe}' is a file; choose another output path")
    if not os.path.isdir(parent):
        raise ValueError(f"output folder '{parent}' does not exist; create it or choose another output path")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"output folder '{parent}' is not writable; choose another output path")


#: What an empty output most often means, when the job gives no cause of its own.
EMPTY_CAUSE = ("check that the inputs hold valid values where they overlap and that the parameters suit the data "
               "(the log says what was left NaN and why)")


class OutputRaster:
    """A GeoTIFF written under a temporary name and renamed to ``output`` only when the run succeeds.

    Use as a context manager: leaving the ``with`` by an exception (an error or a
    :class:`Cancelled`) removes the temporary file, so no output is left behind
    to be taken for a result. The caller caps GDAL's block cache for the run
    (:func:`gdal_cache_limit`, :func:`gdal_cache_share`).

    The empty-result rule (docs/conventions.md, "Empty results"): the valid pixels written are counted per
    band (finite for float, not the class nodata 255 for integers); an output with none in any band is refused
    when the ``with`` ends (``ValueError`` with ``options.empty_hint``, the job's likely cause and fix; nothing
    is written) unless ``options.allow_empty`` says an empty answer is valid there. :attr:`empty_bands` lists
    the bands with no valid pixel, for the caller to report.
    """

    def __init__(self, output, inputs, *, xsize, ysize, bands, geotransform, projection, dtype=np.float32,
                 descriptions=None, band_metadata=None, metadata=None, compression=_raster.DEFAULT_COMPRESSION,
                 tile=None, options=None):
        _check_output_path(output, inputs)
        self.output = output
        self.bands = bands
        self.dtype = np.dtype(dtype)
        #: Non-finite values other than NaN (±inf) that were written as NaN, for the caller to report.
        self.n_infinite = 0
        #: Valid pixels written per band (None until :meth:`write` is called: a GDAL algorithm writing
        #: :meth:`band` itself is not counted).
        self.valid = None
        self._empty_hint = getattr(options, "empty_hint", "") or ""
        allowed = getattr(options, "allow_empty", False)    # True, or the outputs that may be empty
        self._allow_empty = allowed is True or (isinstance(allowed, (tuple, list, set, frozenset))
                                                and str(output) in {str(p) for p in allowed})
        remove_stale_partials(output)
        self._tmp = _partial_name(output)
        self._args = dict(xsize=xsize, ysize=ysize, bands=bands, geotransform=geotransform, projection=projection,
                          dtype=self.dtype, descriptions=descriptions, band_metadata=band_metadata,
                          metadata=metadata, compression=compression, tile=tile)
        self._ds = None

    def __enter__(self):
        _register_partial(self._tmp)
        try:
            self._ds = _raster.create_geotiff(self._tmp, **self._args)
        except ValueError as err:
            self._release()
            raise ValueError(str(err).replace(self._tmp, self.output)) from None
        except BaseException:
            self._release()
            raise
        return self

    def _release(self):
        self._ds = None
        remove_dataset_files(self._tmp)
        _unregister_partial(self._tmp)

    def band(self, number=1):
        """GDAL band ``number`` (1-based) of the output being written, for a GDAL algorithm that writes it itself
        (the class-map sieve); it is renamed to the output with the rest when the ``with`` succeeds."""
        return self._ds.GetRasterBand(int(number))

    def write(self, array, x, y):
        """Write ``array`` (bands, rows, cols), cast to the output type, with its top-left corner at (x, y)."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        array = array.astype(self.dtype, copy=False)
        if self.dtype.kind == "f":
            inf = np.isinf(array)
            n = int(np.count_nonzero(inf))
            if n:  # no algorithm writes ±inf: it becomes nodata and is counted for the caller to report
                array = np.where(inf, np.float32(np.nan), array).astype(self.dtype, copy=False)
                self.n_infinite += n
            valid = np.count_nonzero(np.isfinite(array), axis=(1, 2))
        else:
            valid = np.count_nonzero(array != _raster.CLASS_NODATA, axis=(1, 2))
        if self.valid is None:
            self.valid = np.zeros(self.bands, dtype=np.int64)
        self.valid[:len(valid)] += valid
        try:
            # every band in one call: GDAL fills whole pixel-interleaved tiles instead of re-reading them per band
            self._ds.WriteArray(np.ascontiguousarray(array), int(x), int(y))
        except RuntimeError as err:
            raise ValueError(f"cannot write '{self.output}': {str(err).strip()} (disk full?)") from None

    @property
    def empty_bands(self):
        """1-based numbers of the bands written with no valid pixel (empty when nothing was counted)."""
        return [] if self.valid is None else [i + 1 for i, n in enumerate(self.valid) if n == 0]

    def _refuse_empty(self):
        if self._allow_empty or self.valid is None or self.valid.any():
            return
        raise ValueError(f"every pixel of the output '{os.path.basename(str(self.output))}' would be NaN or nodata "
                         f"(no valid value in any band), so nothing was written: {self._empty_hint or EMPTY_CAUSE}")

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._refuse_empty()
                self._ds.FlushCache()
                self._ds = None  # closes the file: GDAL writes the last tiles and the header now
                os.replace(self._tmp, self.output)
                if os.path.exists(self._tmp + ".aux.xml"):
                    os.replace(self._tmp + ".aux.xml", self.output + ".aux.xml")
                elif os.path.exists(self.output + ".aux.xml"):
                    os.remove(self.output + ".aux.xml")  # stale statistics of an earlier run
            else:
                self._ds = None
                remove_dataset_files(self._tmp)
        except BaseException:
            self._ds = None
            remove_dataset_files(self._tmp)
            raise
        finally:
            _unregister_partial(self._tmp)
        return False
