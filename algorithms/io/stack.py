"""Dated time stacks: one band per date, the ISO date (YYYY-MM-DD) as band description.

Dates are found, in this order, in a band's description, a band's metadata
(``DATE``, ``ACQUISITION_DATE``, ``ACQUISITION_START_TIME``, ``TIFFTAG_DATETIME``),
the dataset's metadata (same keys; single-band files only) and finally the
file name (single-band files only). Accepted forms: ``2016-01-05``,
``2016_01_05``, ``20160105``, ``20160105T173017`` and MODIS ``A2016005``.
"""

from __future__ import annotations

import uuid

import numpy as np
from osgeo import gdal, osr

from . import engine as _engine
from . import raster as _raster
from .dates import (  # noqa: F401 (the stack's API)
    DATE_KEYS,
    SERIES_KEYS,
    band_dates,
    band_provenance,
    band_times,
    check_series,
    dataset_provenance,
    parse_date,
    parse_time,
    repeated_refusal,
    series_refusal,
)
from .options import RunOptions, resolve

RESAMPLINGS = ("nearest", "bilinear", "cubic", "average")


def _warped(path, ref, resampling):
    """A virtual raster of ``path`` on the grid of ``ref`` (RasterInfo), float32 with NaN nodata."""
    gt = ref.geotransform
    bounds = (gt[0], gt[3] + gt[5] * ref.ysize, gt[0] + gt[1] * ref.xsize, gt[3])
    vrt = f"/vsimem/sarsense_warp_{uuid.uuid4().hex}.vrt"
    gdal.Warp(vrt, path, format="VRT", dstSRS=ref.projection or None, outputBounds=bounds,
              width=ref.xsize, height=ref.ysize, resampleAlg=resampling,
              outputType=gdal.GDT_Float32, dstNodata=float("nan"))
    return vrt


def _check_georeferencing(path, info, ref, ref_label):
    """Refuse an input that cannot be put on the reference grid, saying what is missing."""
    if info.same_grid(ref) and info.georeferenced == ref.georeferenced:
        return
    if not ref.georeferenced or not ref.projection:
        what = "georeferencing (geotransform)" if not ref.georeferenced else "coordinate reference system (CRS)"
        raise ValueError(f"{ref_label} '{ref.path}' has no {what}, so '{path}' cannot be put on its grid. "
                         "Choose a georeferenced reference raster, or assign a CRS to it first "
                         "(Raster ▸ Projections ▸ Assign Projection, or gdal_edit.py -a_srs EPSG:…)")
    if not info.georeferenced:
        raise ValueError(f"'{path}' has no georeferencing (no geotransform), so it cannot be placed on the "
                         "reference grid. Georeference it first (e.g. the Georeferencer, or gdal_edit.py -a_ullr … "
                         "-a_srs …), or leave it out")
    if not info.projection:
        raise ValueError(f"'{path}' has no coordinate reference system (CRS), so it cannot be placed on the "
                         "reference grid. Assign its CRS first (Raster ▸ Projections ▸ Assign Projection, or "
                         "gdal_edit.py -a_srs EPSG:…)")


#: The Polarisation choices of :func:`build_stack`: "auto" is the one polarisation the inputs carry.
POLARISATIONS = ("auto", "VV", "VH", "HH", "HV")


def is_incidence(meta, description=""):
    """True for an incidence-angle band (the importer's ``QUANTITY``, or its description): never a date of a series."""
    return "incidence" in f"{meta.get('QUANTITY', '')} {description or ''}".lower()


def _bands_of(inputs):
    """Every band of ``inputs`` as a dict: file, band number, date, time, description and what it carries
    (the file's metadata under the band's own, DATE the time to the second where known)."""
    out = []
    for path in inputs:
        info = _raster.read_info(path)
        if info.complex_bands:
            raise ValueError(_raster.complex_refusal(path, info.complex_bands))
        file_meta = {k: v for k, v in dataset_provenance(path).items() if k not in DATE_KEYS}
        for b, (day, (start, end), meta) in enumerate(zip(band_dates(path), band_times(path),
                                                          band_provenance(path)), start=1):
            when = str(start) if start == end else day
            out.append({"path": path, "band": b, "date": day, "time": (start, end),
                        "description": info.descriptions[b - 1],
                        "meta": {**file_meta, **meta, "DATE": when}})
    return out


def _choose(bands, polarisation, label):
    """The bands a stack of ``polarisation`` keeps: no incidence angle; bands of another polarisation left out;
    bands without ``POLARISATION`` (a user's own single-band files) kept as they are. Returns
    ``(kept, incidence, other)``: the kept bands, the incidence-angle bands and ``{polarisation: n}`` left out."""
    if polarisation not in POLARISATIONS:
        raise ValueError(f"{label} must be one of {', '.join(POLARISATIONS)}, got {polarisation!r}")
    incidence = [b for b in bands if is_incidence(b["meta"], b["description"])]
    rest = [b for b in bands if not is_incidence(b["meta"], b["description"])]
    carried = {}
    for b in rest:
        if b["meta"].get("POLARISATION"):
            carried[b["meta"]["POLARISATION"]] = carried.get(b["meta"]["POLARISATION"], 0) + 1
    if polarisation == "auto":
        if len(carried) > 1:
            found = ", ".join(f"{p} ({n} band{'s' if n > 1 else ''})" for p, n in carried.items())
            raise ValueError(f"the inputs carry several polarisations: {found}, and a dated stack holds one. "
                             f"Choose one with {label}: {', '.join(carried)}")
        polarisation = next(iter(carried), None)
    elif carried and polarisation not in carried:
        raise ValueError(f"no input band is {polarisation} ({label}): the inputs carry "
                         f"{', '.join(carried)}; choose one of them")
    kept = [b for b in rest if b["meta"].get("POLARISATION") in (None, polarisation)]
    other = {p: n for p, n in carried.items() if p != polarisation}
    if not kept:
        raise ValueError("no band left to stack: the inputs hold only incidence-angle bands")
    return kept, incidence, other


def build_stack(inputs: list, output: str, *, reference: str | None = None, resampling: str = "bilinear",
                drop_empty: bool = False, polarisation: str = "auto", polarisation_label: str = "POLARISATION",
                options: RunOptions | None = None) -> dict:
    """Stack the bands of ``inputs`` of one polarisation onto one grid, sorted by date, each described by its ISO date.

    Parameters
    ----------
    inputs : list of str
        Rasters; each band must carry a date (see :mod:`.dates`).
    reference : str, optional
        Raster whose grid (CRS, extent, pixel size) the stack takes; default the first input.
        Inputs on another grid or CRS are warped with ``resampling``.
    resampling : {"nearest", "bilinear", "cubic", "average"}
    drop_empty : bool
        Leave out dates without a single valid pixel on the reference grid (they are always
        reported in ``empty``).
    polarisation : {"auto", "VV", "VH", "HH", "HV"}
        The bands stacked, read from their ``POLARISATION`` metadata (the importer's): "auto" is the one
        polarisation the inputs carry (several are refused with the choices). Incidence-angle bands are
        never stacked; bands without ``POLARISATION`` are kept. ``polarisation_label`` names the choice in
        messages.
    options : RunOptions, optional
        Budget, compression, progress and cancel of the run; the stack is written on one thread
        (``workers`` is not used). With ``drop_empty`` the two passes share the progress.

    Each band keeps what its file and band carry (polarisation, quantity, units, mission, product …) with
    ``DATE`` its acquisition time to the second where one is known (else the day); the stack's own metadata
    is what every input agrees on. A stack that would not be one time series (:func:`series_refusal`: a date
    twice with no distinct time of day, mixed quantities or units) is refused, naming the dates and files.

    Returns
    -------
    dict
        ``output``, ``dates`` (sorted, as written), ``warped`` (inputs that were resampled),
        ``empty`` (dates without a valid pixel, with their file), ``dropped`` (dates left out),
        ``incidence`` (incidence-angle bands left out, with their file), ``other_polarisations``
        (``{polarisation: bands left out}``), ``polarisation`` (the one stacked, or None) and ``warnings``.
    """
    inputs = [str(p) for p in inputs]
    if len(inputs) == 0:
        raise ValueError("no input rasters given")
    if resampling not in RESAMPLINGS:
        raise ValueError(f"resampling must be one of {', '.join(RESAMPLINGS)}, got '{resampling}'")
    ref = _raster.read_info(reference or inputs[0])
    ref_label = "REFERENCE" if reference else "the first input (the reference grid)"
    for path in inputs:
        _check_georeferencing(path, _raster.read_info(path), ref, ref_label)
    kept, incidence, other = _choose(_bands_of(inputs), polarisation, polarisation_label)
    kept.sort(key=lambda b: (b["date"], b["time"][0]))  # stable: equal dates keep input order
    reason = series_refusal([b["date"] for b in kept], [b["time"] for b in kept], [b["meta"] for b in kept],
                            label="the stack would be no time series: it", names=[b["path"] for b in kept],
                            fix=f"choose one {polarisation_label}, or leave out all but one file of each date")
    if reason:
        raise ValueError(reason)
    chosen = next((b["meta"]["POLARISATION"] for b in kept if b["meta"].get("POLARISATION")), None)
    files = [p for p in inputs if any(b["path"] == p for b in kept)]
    metas = [dataset_provenance(p) for p in files]
    common = {k: v for k, v in metas[0].items()
              if k not in DATE_KEYS and k != "PRODUCT" and all(m.get(k) == v for m in metas[1:])}
    sources, warped, warnings = [], [], []
    try:
        for path in files:
            info = _raster.read_info(path)
            numbers = [b["band"] for b in kept if b["path"] == path]
            if info.same_grid(ref):
                sources.append((path, numbers))
            else:
                if covered_fraction(info, ref) <= 0.0:
                    warnings.append(f"'{path}' does not overlap the reference grid: its date(s) will be empty")
                sources.append((_warped(path, ref, resampling), numbers))
                warped.append(path)
        read = [(b["path"], b["band"]) for p in files for b in kept if b["path"] == p]
        order = [read.index((b["path"], b["band"])) for b in kept]
        dates = [b["date"] for b in kept]
        band_meta = [b["meta"] for b in kept]
        valid = _engine.Counts(*map(str, range(len(order))))    # valid pixels per date (travels from workers)

        def kernel(block):
            out = block[order]
            valid.add(**{str(i): n for i, n in enumerate(np.isfinite(out).sum(axis=(1, 2)))})
            return out

        opts = resolve(options).replace(workers=1)
        empty_idx = []
        first = output
        if drop_empty:
            first = f"{output}.all-dates-{uuid.uuid4().hex[:8]}.tif"
        try:
            _engine.run_blockwise(sources, first, kernel, out_bands=len(order), descriptions=dates,
                                  band_metadata=band_meta, metadata=common, inherit=False, bytes_per_pixel=16,
                                  options=opts.part(0.0, 0.5) if drop_empty else opts)
            empty_idx = [i for i in range(len(order)) if valid[str(i)] == 0]
            empty = [(dates[i], kept[i]["path"]) for i in empty_idx]
            dropped = []
            if drop_empty:
                keep = [i for i in range(len(order)) if i not in empty_idx]
                if not keep:
                    raise ValueError("no date has a single valid pixel on the reference grid: check that the "
                                     "inputs overlap the reference and that their nodata is declared correctly")
                dropped = [dates[i] for i in empty_idx]
                _engine.run_blockwise(first, output, lambda block: block[keep], out_bands=len(keep),
                                      descriptions=[dates[i] for i in keep],
                                      band_metadata=[band_meta[i] for i in keep], metadata=common, inherit=False,
                                      bytes_per_pixel=16, options=opts.part(0.5, 1.0))
                dates = [dates[i] for i in keep]
        finally:
            if drop_empty:
                _engine.remove_dataset_files(first)
    finally:
        for s, _ in sources:
            release(s)
    return {"output": output, "dates": dates, "warped": warped, "warnings": warnings, "empty": empty,
            "dropped": dropped, "incidence": [(b["date"], b["path"]) for b in incidence],
            "other_polarisations": other, "polarisation": chosen}


def match_dates(dates_a, dates_b, label_a, label_b):
    """Refuse two stacks that are not on the same dates, naming the dates each lacks (STYLE §8).

    Returns the common dates in the order of ``dates_a``; the band order of ``b`` may differ
    (``[dates_b.index(d) for d in dates_a]`` reorders it).
    """
    if len(set(dates_a)) != len(dates_a) or len(set(dates_b)) != len(dates_b):
        raise ValueError(f"{label_a if len(set(dates_a)) != len(dates_a) else label_b} has the same date twice")
    only_a = [d for d in dates_a if d not in dates_b]
    only_b = [d for d in dates_b if d not in dates_a]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{label_b} lacks {', '.join(only_a)}")
        if only_b:
            parts.append(f"{label_a} lacks {', '.join(only_b)}")
        raise ValueError(f"{label_a} and {label_b} must be on the same dates: {'; '.join(parts)}. "
                         "Put one on the other's dates first, e.g. with 'Interpolate stack in time'")
    return list(dates_a)


def covered_fraction(info, ref):
    """Fraction (0..1) of the reference grid's extent inside ``info``'s footprint (bounding boxes)."""
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromWkt(info.projection)
    dst.ImportFromWkt(ref.projection)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    try:
        xmin, ymin, xmax, ymax = osr.CoordinateTransformation(src, dst).TransformBounds(*info.bounds, 21)
    except RuntimeError:
        return 1.0  # cannot tell; the empty-date count will say if nothing landed on the grid
    rx0, ry0, rx1, ry1 = ref.bounds
    w = max(0.0, min(xmax, rx1) - max(xmin, rx0))
    h = max(0.0, min(ymax, ry1) - max(ymin, ry0))
    return (w * h) / ((rx1 - rx0) * (ry1 - ry0))


def on_grid(path, reference, *, resampling="bilinear", label="the raster", ref_label="the input"):
    """``path`` on the grid of the raster ``reference``: itself when the grids match, else a virtual warp.

    ``reference`` is a raster's path, or the :class:`RasterInfo` of a grid no file has yet (an
    output grid). Any CRS is accepted; a raster without georeferencing or CRS, or one that does not overlap the
    reference at all, is refused with what to do. Returns ``(path_on_grid, covered)`` with
    ``covered`` the fraction of the reference's extent the raster covers (pixels outside it read
    as NaN). A returned ``/vsimem/`` path is released with :func:`release`.
    """
    ref = reference if isinstance(reference, _raster.RasterInfo) else _raster.read_info(reference)
    info = _raster.read_info(path)
    if info.same_grid(ref):
        return path, 1.0
    _check_georeferencing(path, info, ref, ref_label)
    covered = covered_fraction(info, ref)
    if covered <= 0.0:
        raise ValueError(f"{label} '{path}' does not cover {ref_label} '{ref.path}' (no overlap of their "
                         "extents): choose a raster that covers the same area")
    return _warped(path, ref, resampling), covered


def release(path):
    """Free a virtual raster made by :func:`on_grid` (no-op for files)."""
    if str(path).startswith("/vsimem/"):
        gdal.Unlink(path)


def stack_dates(path):
    """Dates of a stack built by :func:`build_stack` (or any raster with dated bands)."""
    return band_dates(path)
