"""Sentinel-1 image geometry from the product annotation: image size and timing, and the geolocation grid.

The geolocation grid (*Sentinel-1 Product Specification* S1-RS-MDA-52-7441, §6.2.9, ``geolocationGridPoint``)
gives, on a coarse rectilinear grid of lines × pixels, the latitude, longitude and height of the pixel and its
incidence and elevation angles. Between grid points they are interpolated bilinearly (:class:`.luts.VectorLut`):
the incidence angle of the import without a DEM, and the height at which :class:`.importer.GridLocator` places
each pixel by range-Doppler. Such a grid knows the terrain only at its own points: a pixel's position shifts by
about h / tan θ with its height h (foreshortening), which heights interpolated between points kilometres apart
cannot follow, so in relief give a DEM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from osgeo import gdal, osr

from .luts import LutError, VectorLut, parse_xml

gdal.UseExceptions()

_FIELDS = ("line", "pixel", "latitude", "longitude", "height", "incidenceAngle", "elevationAngle")


@dataclass(frozen=True)
class Image:
    """Size and timing of a product image (``imageAnnotation/imageInformation``)."""

    lines: int
    samples: int
    first_line_time: str
    line_interval_s: float
    range_spacing_m: float
    azimuth_spacing_m: float


@dataclass(frozen=True)
class GeolocationGrid:
    """The grid points, one array per field of :data:`_FIELDS` (line, pixel, latitude, …)."""

    points: dict

    def lut(self, field):
        """A field on the grid as a :class:`.luts.VectorLut` over (line, pixel), for block interpolation."""
        line, pixel, value = self.points["line"], self.points["pixel"], self.points[field]
        rows = np.unique(line)
        order = [np.flatnonzero(line == r) for r in rows]
        order = [o[np.argsort(pixel[o])] for o in order]
        return VectorLut(rows.astype(np.float64), tuple(pixel[o] for o in order), tuple(value[o] for o in order))

    def gcps(self):
        """The grid as GDAL ground control points (lon, lat, height; WGS 84). A grid point gives the position of
        the sample (line, pixel), whose centre is at (pixel + 0.5, line + 0.5) in GDAL's image coordinates
        (0, 0 the corner of the first sample); without the half pixel the image lands 5 m (IW) off."""
        p = self.points
        return [gdal.GCP(float(lo), float(la), float(h), float(px) + 0.5, float(ln) + 0.5)
                for lo, la, h, px, ln in zip(p["longitude"], p["latitude"], p["height"], p["pixel"], p["line"])]


def image_info(xml):
    """The :class:`Image` of a product annotation."""
    info = parse_xml(xml, "the product annotation").find("imageAnnotation/imageInformation")
    if info is None:
        raise LutError("no imageAnnotation/imageInformation: not a Sentinel-1 product annotation")
    try:
        return Image(int(info.findtext("numberOfLines")), int(info.findtext("numberOfSamples")),
                     info.findtext("productFirstLineUtcTime"), float(info.findtext("azimuthTimeInterval")),
                     float(info.findtext("rangePixelSpacing")), float(info.findtext("azimuthPixelSpacing")))
    except (TypeError, ValueError):
        raise LutError("the image information lacks its size, timing or pixel spacing") from None


def geolocation_grid(xml):
    """The :class:`GeolocationGrid` of a product annotation."""
    root = parse_xml(xml, "the product annotation")
    pts = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    if len(pts) < 4:
        raise LutError(f"the geolocation grid has {len(pts)} point(s); at least 4 are needed")
    try:
        return GeolocationGrid({f: np.array([float(p.findtext(f)) for p in pts]) for f in _FIELDS})
    except (TypeError, ValueError):
        raise LutError("a geolocation grid point lacks one of " + ", ".join(_FIELDS)) from None


def wgs84_wkt():
    """The CRS of the geolocation grid's GCPs (WGS 84 longitude/latitude), as WKT."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    return srs.ExportToWkt()
