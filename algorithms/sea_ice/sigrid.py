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
"""

from __future__ import annotations

import math

from .classes import NODATA

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


def ct_class(code):
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


def percent_class(percent):
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


def polygon_class(ct, *, poly_type=None, forms=(), percent=False):
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
