"""Metadata travels (STYLE §8): what an output inherits from its inputs, with the caller's keys on top.

Every walker that reads rasters and writes one (:func:`~.walk.run_blockwise`, :func:`~.walk.run_aggregate`,
:func:`~.tiles.run_tiled`) gives its output

- the dataset metadata of the first input (mission, mode, product, DATE of an import …), less the keys another
  input gives another value;
- per band, where the output has a band for each input band, that band's metadata (polarisation, quantity,
  units, acquisition time; its date as ``DATE`` where only a description, the file's metadata or its name
  gave it: :func:`~sarsense.algorithms.io.dates.band_provenance`); where it has a band for each band of some
  inputs (a ratio of VH over VV stacks, soil moisture from VV and NDVI stacks), the keys those bands agree on;
  a reduction (a season's class map) inherits nothing per band. Class maps (integer outputs) never inherit
  ``units`` or ``QUANTITY``;
- then the caller's ``metadata`` and ``band_metadata`` on top: the keys it changes (a conversion's units, a
  ratio's polarisation, a soil-moisture map's quantity); a key given as None is removed.
"""

from __future__ import annotations

import numpy as np

from .. import dates as _dates

#: Per-band keys a class map does not inherit: it measures neither.
MEASURE_KEYS = ("units", "QUANTITY")


def merged(base, over):
    """``base`` updated by ``over`` (a None value removes the key)."""
    out = dict(base or {})
    for key, value in (over or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _same_day_finer(key, mine, theirs):
    """The value of date key ``key`` two inputs agree on when one gives a day and the other a time on that day
    (a VV stack's 2018-08-02T17:32:00 and an NDVI stack's 2018-08-02): the time; None where they disagree."""
    if key not in _dates.DATE_KEYS or _dates.parse_date(mine) != _dates.parse_date(theirs) or mine is None:
        return None
    times = {str(t) for t in map(_dates.parse_time, (mine, theirs)) if t is not None}
    return None if len(times) != 1 else (mine if _dates.parse_time(mine) is not None else theirs)


def _agreed(metas, *, dates_in_all=False):
    """The keys of the first dict that no other one gives another value; with ``dates_in_all``, dates
    (:data:`~sarsense.algorithms.io.dates.DATE_KEYS`) only where every one gives the same. A date and a time on
    that day agree on the time (:func:`_same_day_finer`)."""
    out = dict(metas[0])
    for other in metas[1:]:
        for key in list(out):
            if key in other and other[key] != out[key]:
                finer = _same_day_finer(key, out[key], other[key])
                if finer is None:
                    del out[key]
                else:
                    out[key] = finer
            elif dates_in_all and key not in other and key in _dates.DATE_KEYS:
                del out[key]
    return out


def dataset_metadata(stack, metadata=None, inherit=True):
    """The dataset metadata of an output of ``stack`` (a :class:`RasterStack`), the caller's ``metadata`` on top
    (only the caller's with ``inherit`` False)."""
    if not inherit:
        return merged({}, metadata)
    return merged(_agreed([_dates.dataset_provenance(p) for p in stack.paths]), metadata)


def band_metadata(stack, n_out, dtype, given=None, inherit=True):
    """The metadata of each of the ``n_out`` bands of an output of ``stack`` (see the module docstring).

    ``given``: the caller's, one dict per band, one dict for every band, or None. ``inherit``: True (the rule
    above), ``"common"`` (every band gets the keys all input bands agree on: outputs whose bands are not the
    input's, e.g. interpolated onto other dates, or a network's outputs from its input channels; the date and
    time only where every band has the same) or False (only ``given``).
    """
    if given is None or isinstance(given, dict):
        given = [given] * n_out
    given = list(given) + [None] * (n_out - len(given))
    if not inherit:
        return [merged({}, g) for g in given]
    per_input = []
    for path, bands in zip(stack.paths, stack.bands):
        prov = _dates.band_provenance(path)
        per_input.append([prov[b - 1] for b in bands])
    flat = [m for metas in per_input for m in metas]
    if inherit == "common":
        base = [_agreed(flat, dates_in_all=True)] * n_out
    elif n_out == len(flat):
        base = flat
    else:
        parallel = [metas for metas in per_input if len(metas) == n_out]
        base = [_agreed([metas[i] for metas in parallel]) for i in range(n_out)] if parallel else [{}] * n_out
    if np.dtype(dtype).kind in "iu":
        base = [{k: v for k, v in b.items() if k not in MEASURE_KEYS} for b in base]
    return [merged(b, g) for b, g in zip(base, given)]
