"""SIGRID-3 total-concentration (CT) codes → SIC classes 0–10 (Stokholm et al. 2022, §II.B).

SIGRID-3 (JCOMM, *SIGRID-3: a vector archive format for sea ice georeferenced information and
data*, WMO/TD-No. 1214, 2004/2014), table of concentration codes:

======================  ==========================================  =======================
CT code                 meaning                                     class
======================  ==========================================  =======================
00                      ice free                                    0
01                      less than 1/10 (open water)                 0
02                      bergy water                                 0
10, 20, … 90            1/10 … 9/10                                 1 … 9
91                      9+/10 (more than 9/10, less than 10/10)     10
92                      10/10                                       10
XY (X < Y, 1 ≤ X ≤ 9)   range X/10 to Y/10 (e.g. 35, 46, 79)        the midpoint (X+Y)/2,
                                                                    halves rounded up
98                      glacier / ice shelf (not sea ice)           255 (masked)
99, −9 or empty         unknown / not determined                    255 (masked)
======================  ==========================================  =======================

Range codes with a 10/10 upper end are written with the 91/92 codes in SIGRID-3 and need no rule;
a range XY's midpoint with a half (12 → 1.5) goes up (to 2): in a chart a range means "between",
and for navigation the heavier class is the safer one. The whole table is :data:`CT_CLASSES`.

Polygons whose type marks land (``POLY_TYPE`` 'L') or no data ('N') are masked (255); water
('W') is class 0; fast ice (form of ice code 08 in ``FA``/``FB``/``FC``/``FP``) is class 10, as in the paper.

A concentration field in percent (not a SIGRID code) maps to the nearest 10 % class, with
everything below 10 % as open water: ``0`` for ``p < 10``, else ``round_half_up(p / 10)``.

:func:`chart_file` is the job of ``sarsense:icechartclasses``: the classes of a chart's polygons
(:func:`polygon_classes`) drawn on a raster grid.
"""

from __future__ import annotations

import json
import math

import numpy as np
from osgeo import ogr, osr

from ..io import engine as _engine
from ..io import raster as _raster
from ..io import stack as _stack
from ..io import vector as _vector
from ..io.options import RunOptions, resolve
from .classes import N_SIC_CLASSES, NODATA, class_table

FAST_ICE_FORM = 8
#: Form-of-ice fields that may carry the fast-ice code (08).
FORM_FIELDS = ("FA", "FB", "FC", "FP")


def _table():
    t = {0: 0, 1: 0, 2: 0, 91: 10, 92: 10, 98: NODATA, 99: NODATA}
    for tenth in range(1, 10):
        t[10 * tenth] = tenth
    for lo in range(1, 10):
        for hi in range(lo + 1, 10):
            t[10 * lo + hi] = math.floor((lo + hi) / 2 + 0.5)
    return dict(sorted(t.items()))


#: Every SIGRID-3 CT code SARSense knows, with its SIC class (255: masked).
CT_CLASSES = _table()


def ct_class(code) -> int:
    """SIC class (0–10) of a SIGRID-3 CT code, or 255 for glacier, unknown or an empty value.

    Accepts ints and texts ('35', '02', ' 91 '); raises ``ValueError`` for a code that is not
    in the table (so a chart in another coding is not silently misread).
    """
    if code is None:
        return NODATA
    if isinstance(code, float):
        if math.isnan(code):
            return NODATA
        if code != int(code):
            raise ValueError(f"CT code {code!r} is not an integer SIGRID-3 code")
        code = int(code)
    if isinstance(code, str):
        text = code.strip()
        if text in ("", "-9", "-99"):
            return NODATA
        if not text.lstrip("-").isdigit():
            raise ValueError(f"CT code {code!r} is not a SIGRID-3 code (two digits, e.g. 35 or 92)")
        code = int(text)
    if code in (-9, -99):
        return NODATA
    if code not in CT_CLASSES:
        raise ValueError(f"CT code {code} is not a SIGRID-3 total-concentration code (00, 01, 02, 10–92, ranges "
                         "such as 35, 98, 99)")
    return CT_CLASSES[code]


def percent_class(percent) -> int:
    """SIC class of a concentration in percent: 0 below 10 %, else the nearest 10 % step (halves up).

    Raises ``ValueError`` outside 0–100; NaN and None give 255.
    """
    if percent is None:
        return NODATA
    p = float(percent)
    if math.isnan(p):
        return NODATA
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"a concentration of {p:g} % is outside 0–100 %")
    return 0 if p < 10 else min(10, math.floor(p / 10 + 0.5))


def polygon_class(ct, *, poly_type: str | None = None, forms=(), percent: bool = False) -> int:
    """The class of one chart polygon: its CT (a SIGRID-3 code, or percent with ``percent=True``),
    refined by its polygon type (L land / N no data → 255, W water → 0) and fast ice (→ 10)."""
    kind = (poly_type or "").strip().upper() if isinstance(poly_type, str) else ""
    if kind in ("L", "N"):
        return NODATA
    if kind == "W":
        return 0
    for form in forms:
        try:
            if form is not None and str(form).strip() != "" and int(float(form)) == FAST_ICE_FORM:
                return 10
        except ValueError:
            continue
    return percent_class(ct) if percent else ct_class(ct)


def polygon_classes(polygons, *, percent: bool = False) -> tuple[list[int], list[str]]:
    """The class of each chart polygon (:func:`polygon_class`) and what could not be read.

    ``polygons`` yields ``(fid, ct, poly_type, forms)``. Returns ``(classes, problems)``: one class
    per polygon that could be read, and ``"feature <fid>: <why>"`` for each one that could not.
    """
    classes, problems = [], []
    for fid, ct, poly_type, forms in polygons:
        try:
            classes.append(polygon_class(ct, poly_type=poly_type, forms=forms, percent=percent))
        except (ValueError, TypeError) as err:
            problems.append(f"feature {fid}: {err}")
    return classes, problems


def _class_kernel(block):
    """Burned values (class + 1; 256 masked; 0 no polygon) → SIC class 0–10, or 255."""
    v = np.nan_to_num(block[0], nan=0).astype(np.int64)
    return np.where((v >= 1) & (v <= N_SIC_CLASSES), v - 1, NODATA).astype(np.uint8)[np.newaxis]


def _crs_name(wkt: str) -> str:
    """A CRS as a person reads it: 'EPSG:3413 (WGS 84 / NSIDC Sea Ice Polar Stereographic North)', or its name."""
    if not wkt:
        return "no CRS"
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.AutoIdentifyEPSG()
    code, name = srs.GetAuthorityCode(None), srs.GetName()
    return f"EPSG:{code} ({name})" if code else (name or "an unnamed CRS")


def check_overlap(geometries_wkb, reference: str, *, chart_label: str = "the chart",
                  grid_label: str = "the reference grid") -> None:
    """Refuse a chart whose polygons (WKB in ``reference``'s CRS) all lie outside ``reference``'s extent: every
    pixel would be 255. The message gives both extents in the grid's CRS."""
    boxes = [ogr.CreateGeometryFromWkb(bytes(w)).GetEnvelope() for w in geometries_wkb]
    boxes = [b for b in boxes if all(math.isfinite(v) for v in b)]
    info = _raster.read_info(reference)
    gx0, gy0, gx1, gy1 = info.bounds
    if any(b[0] <= gx1 and b[1] >= gx0 and b[2] <= gy1 and b[3] >= gy0 for b in boxes):
        return
    crs = _crs_name(info.projection)
    if boxes:
        cx0, cx1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
        cy0, cy1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
        chart = f"x {cx0:.10g}…{cx1:.10g}, y {cy0:.10g}…{cy1:.10g}"
    else:
        chart = "no extent (its polygons could not be put in this CRS)"
    raise ValueError(f"{chart_label} and {grid_label} do not overlap: in {crs} the chart spans {chart} and the "
                     f"grid x {gx0:.10g}…{gx1:.10g}, y {gy0:.10g}…{gy1:.10g}, so every pixel would be 255 (outside "
                     "the chart). Choose the grid of the scene the chart covers (e.g. the SIC chart to score), or the "
                     "chart of that scene and date; check both layers' CRS.")


def chart_file(geometries_wkb, classes, reference: str, output: str, *, field: str = "CT", percent: bool = False,
               chart_label: str = "the chart", grid_label: str = "the reference grid",
               options: RunOptions | None = None) -> dict:
    """An ice chart's polygons as a SIC class raster on ``reference``'s grid (Stokholm et al. 2022, §II.B): the
    job of ``sarsense:icechartclasses``.

    A pixel takes the class of the polygon containing its centre (the later one where polygons
    overlap); pixels in no polygon, and polygons of class 255, are 255.

    Parameters
    ----------
    geometries_wkb : sequence of bytes
        The polygons, in the reference's CRS.
    classes : sequence of int
        One SIC class (0–10, or 255 masked) per polygon (:func:`polygon_classes`).
    reference : str
        The raster whose grid the chart is drawn on.
    output : str
        uint8 GeoTIFF: SIC class 0–10, 255 = land, no data or outside the chart; the class table
        in the band's metadata, ``field`` and the coding in the dataset's.
    field, percent : str, bool
        The concentration field and whether it holds percent (else SIGRID-3 CT codes), as metadata.
    chart_label, grid_label : str
        How messages name the chart and the grid (:func:`check_overlap`: refused when they do not overlap).
    options : RunOptions, optional
        Compression, budget, progress and cancel (one thread).

    Returns
    -------
    dict
        The engine's summary plus ``polygons``: how many polygons fell in each class 0–10, then
        how many were masked (12 numbers).
    """
    check_overlap(geometries_wkb, reference, chart_label=chart_label, grid_label=grid_label)
    burn = [c + 1 if c != NODATA else 256 for c in classes]
    burned = _vector.rasterize(geometries_wkb, reference, burn=burn)
    table = class_table()
    meta = {"classes": json.dumps([{k: c[k] for k in ("value", "name", "color")} for c in table])}
    try:
        res = _engine.run_blockwise(burned, output, _class_kernel, out_bands=1, out_dtype=np.uint8,
                                    descriptions=["SIC class (ice chart)"], band_metadata=[meta],
                                    metadata={"SARSENSE_CHART_FIELD": field,
                                              "SARSENSE_CHART_CODING": "percent" if percent else "SIGRID-3 CT"},
                                    options=resolve(options).replace(workers=1))
    finally:
        _stack.release(burned)
    counts = np.bincount(np.asarray(burn), minlength=257)
    res["polygons"] = [int(n) for n in counts[1:N_SIC_CLASSES + 1]] + [int(counts[256])]
    return res
