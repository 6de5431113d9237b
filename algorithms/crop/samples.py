"""Labelled samples of a raster: the pixels under training or reference geometries, their class codes, and the
names and colours a class map stores (no QGIS).

The QGIS side reads the features (transformed to the raster's CRS, as WKB) and their class values;
:func:`labelled_pixels` burns them onto the raster's grid and collects the pixels under them in one
block-wise pass; :func:`class_codes` turns the class values into a class map's codes (integers 0..254
as they are, text coded 1..K or by a map's own names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

from ..io import RunOptions
from ..io import stack as _stack
from ..io import vector as _vector

#: Colours of classes without their own, in order (ColorBrewer Set1/Dark2/Paired, distinguishable in print).
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#377eb8",
           "#e41a1c", "#984ea3", "#ff7f00", "#4daf4a", "#a65628", "#f781bf", "#999999", "#8dd3c7")
#: Colours of the classes whose name says what they are: (words, colour). A name matches by whole words (any
#: case; a plural 's' allowed): "early rice" and "rice_paddy" are rice, "licorice" is not.
NAMED_COLOURS = ((("rice", "paddy", "paddies"), "#33a02c"), (("water", "lake", "river"), "#1f78b4"),
                 (("forest",), "#0b5d1e"), (("rubber",), "#6a3d9a"), (("banana",), "#b2df8a"),
                 (("building", "built", "urban"), "#e31a1c"), (("dry",), "#fdbf6f"), (("other",), "#bdbdbd"))
#: A negated class ("not rice", "non-rice", "no water", "other than rice") is none of the named ones: it gets this
#: neutral grey, far from every named colour, never the colour of the class it negates.
NEGATED_COLOUR = "#bdbdbd"
NEGATIONS = ("not", "non", "no", "without", "except")
#: Geometries one burn can tell apart (uint16 burn values).
MAX_GEOMETRIES = 65535


def _words(name) -> list[str]:
    """The lower-case words of a class name ('Non-rice_paddy' → ['non', 'rice', 'paddy'])."""
    words = re.findall(r"[^\W_]+", str(name).lower())
    # 'nonrice', 'non-rice': a 'non' prefix is a negation word of its own
    return [w for word in words for w in (("non", word[3:]) if word.startswith("non") and len(word) > 5
                                         and _named(word[3:]) else (word,))]


def _named(word) -> str | None:
    """The colour of ``word`` when it names a class of :data:`NAMED_COLOURS` (whole word, plural 's' allowed)."""
    for words, colour in NAMED_COLOURS:
        if word in words or (word.endswith("s") and word[:-1] in words):
            return colour
    return None


def name_colour(name) -> str | None:
    """The colour a class name asks for (:data:`NAMED_COLOURS` by whole words), :data:`NEGATED_COLOUR` for a
    negated one ('not rice', 'non-rice', 'other than rice'), None when it names nothing known."""
    words = _words(name)
    if any(w in NEGATIONS for w in words) or any(a == "other" and b == "than" for a, b in zip(words, words[1:])):
        return NEGATED_COLOUR
    return next((c for c in map(_named, words) if c is not None), None)


def class_colours(names: dict) -> dict:
    """``{code: "#rrggbb"}`` for ``{code: name}``: a colour by name where it says what it is (:func:`name_colour`),
    else the palette; no two classes share a colour."""
    out, k = {}, 0
    for code in sorted(names):
        colour = name_colour(names[code])
        while colour is None or colour in out.values():
            colour = PALETTE[k % len(PALETTE)]
            k += 1
        out[code] = colour
    return out


def classes_json(names: dict) -> str:
    """The ``classes`` band metadata of a class map (value, name, colour), as :func:`set_class_table` reads it."""
    colours = class_colours(names)
    return json.dumps([{"value": int(c), "name": str(names[c]), "color": colours[c]} for c in sorted(names)])


@dataclass
class Samples:
    """Pixels under labelled geometries: values (n, bands), class codes, geometry id of each pixel."""

    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    names: dict = field(default_factory=dict)      # code → class name
    n_geometries: int = 0
    incomplete: int = 0                            # pixels dropped because a band is NaN
    empty: int = 0                                 # geometries that cover no pixel centre
    source: str = ""                               # the layer as its user knows it (name and file), for reports

    def label(self, code):
        return self.names.get(int(code), str(code))

    def by_class(self) -> dict:
        """``{class name: (n, bands) values}`` of every class present."""
        return {self.label(c): self.x[self.y == c] for c in np.unique(self.y)}


def class_codes(values, *, class_names: dict | None = None, match_names: bool = False, layer: str = "the layer",
                field_name: str = "class") -> tuple[list, dict]:
    """Codes (one per value) and ``{code: name}`` of the class values of labelled geometries.

    Integer classes 0..254 keep their values as codes (named by ``class_names`` where given); other
    values (text) are coded 1..K in sorted order, or by ``class_names`` (``{code: name}``, e.g. a class
    map's own names, matched case-insensitively) where given. With ``match_names`` text classes must
    match ``class_names``. ``layer`` and ``field_name`` name the input in the messages.

    Raises
    ------
    ValueError
        Text classes with nothing to match them to, classes not among ``class_names``, more than 254
        text classes.
    """
    numbers = [_vector.as_number(v) for v in values]
    ints = [int(f) if f is not None and f.is_integer() else None for f in numbers]
    if all(i is not None and 0 <= i <= 254 for i in ints):
        given = class_names or {}
        return ints, {i: given.get(i, str(i)) for i in sorted(set(ints))}
    text = [str(v).strip() for v in values]
    if match_names and not class_names:
        raise ValueError(f"'{field_name}' of {layer} holds text classes but the map stores no class "
                         "names to match them to: use a field with the map's integer codes.")
    if class_names:
        by_name = {str(n).strip().lower(): c for c, n in class_names.items()}
        unknown = sorted({t for t in text if t.lower() not in by_name})
        if unknown:
            raise ValueError(f"{layer}: class(es) {', '.join(repr(u) for u in unknown)} in "
                             f"'{field_name}' are not among the map's classes "
                             f"({', '.join(str(n) for n in class_names.values())}).")
        codes = [by_name[t.lower()] for t in text]
        return codes, {c: class_names[c] for c in sorted(set(codes))}
    order = sorted(set(text))
    if len(order) > 254:
        raise ValueError(f"'{field_name}' of {layer} has {len(order)} classes; a class map holds 254.")
    code = {t: i + 1 for i, t in enumerate(order)}
    return [code[t] for t in text], {code[t]: t for t in order}


def labelled_pixels(raster: str, geometries_wkb, values, *, class_names: dict | None = None,
                    match_names: bool = False, layer: str = "the layer", field_name: str = "class",
                    options: RunOptions | None = None) -> Samples:
    """The pixels of ``raster`` under labelled points or polygons, with their class codes.

    ``geometries_wkb`` are WKB geometries in the raster's CRS and ``values`` their classes
    (:func:`class_codes` turns them into codes; ``class_names``, ``match_names``, ``layer`` and
    ``field_name`` go to it). A polygon gives every pixel whose centre it contains, a point the pixel
    it falls in; where geometries overlap the later one wins. One block-wise pass over ``raster``
    (``options``: workers, progress, cancel). Pixels with NaN on some band are left out and counted
    (``incomplete``), as are the geometries that cover no pixel centre (``empty``).

    Raises
    ------
    ValueError
        More than :data:`MAX_GEOMETRIES` geometries, bad class values, no geometry covering a pixel, or no valid
        pixel (every one NaN on some band) under the geometries.
    """
    wkbs = list(geometries_wkb)
    if len(wkbs) > MAX_GEOMETRIES:
        raise ValueError(f"{layer} has {len(wkbs)} features; at most {MAX_GEOMETRIES} can be used at "
                         "once. Dissolve polygons by class or sample fewer points.")
    codes, names = class_codes(values, class_names=class_names, match_names=match_names, layer=layer,
                               field_name=field_name)
    labels = _vector.rasterize(wkbs, raster, burn=range(1, len(wkbs) + 1))
    try:
        x, lab = _vector.labelled_pixels(raster, labels, options=options)
    finally:
        _stack.release(labels)
    covered = np.unique(lab)
    if len(covered) == 0:
        raise ValueError(f"none of the {len(wkbs)} features of {layer} covers a pixel of the raster: "
                         "they lie outside it (check both layers' CRS and extent), or the polygons are smaller "
                         "than a pixel.")
    complete = np.isfinite(x).all(axis=1)
    if not complete.any():
        raise ValueError(f"every one of the {len(x)} pixels under the features of {layer} is NaN or nodata on some "
                         f"band of '{raster}': no valid pixel lies under the samples. The raster has no data there "
                         "(check its dates, extent and nodata value) or the samples lie on its edge or a mask.")
    codes = np.asarray(codes)
    return Samples(x=x[complete], y=codes[lab[complete] - 1], group=lab[complete], names=names,
                   n_geometries=len(wkbs), incomplete=int((~complete).sum()), empty=len(wkbs) - len(covered))
