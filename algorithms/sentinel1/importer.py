"""Sentinel-1 GRD to calibrated, noise-removed backscatter with its incidence angle, on a map grid (no SNAP).

One pass over the map grid, block by block (:func:`import_grd`), at bounded memory and with no intermediate
file. For each block of map pixels:

1. **where each pixel lies in the image** (line, pixel), by one of two locators:

   - :class:`GridLocator` (no DEM): range-Doppler of each pixel at the height the product's geolocation grid
     gives there (interpolated bilinearly in line × pixel), the two solved together;
   - :class:`RangeDopplerLocator` (DEM): each pixel's DEM height (above the EGM96 geoid, made ellipsoidal with
     PROJ's ``egm96_15.gtx``), its Earth-fixed position, its zero-Doppler time on the orbit and its slant range
     (:mod:`.rangedoppler`), and the local incidence angle between the DEM's surface normal and the line of
     sight (terrain correction as in ESA SNAP's *Range-Doppler Terrain Correction*; Small & Schubert 2008,
     *Guide to ASAR Geocoding*, §4).

   Longitude and latitude, the position in the DEM, the geoid height and the start of the zero-Doppler search
   (without DEM: longitude, latitude, zero-Doppler time and slant range) are computed exactly every
   :data:`NODE_STEP` map pixels and interpolated bilinearly between, where they change smoothly (without DEM,
   the pixels whose nodes straddle a seam of the grid's heights or of the SRGR polynomials are computed
   themselves). With a DEM, the DEM height and the range-Doppler solution are computed at every pixel; line and
   pixel always are.
2. **the image window** those positions need is read (the DN of each polarisation), calibrated with thermal
   noise removed (:mod:`.radiometry`), border noise masked, and averaged over ``looks`` × ``looks`` samples when
   the map pixel is at least twice the image's (multilooking: decimating 10 m samples to 40 m would keep one
   sample in sixteen and its speckle);
3. **bilinear interpolation** of linear power at the positions (weights of NaN neighbours left out and the rest
   renormalised, as GDAL's warper does); outside the image, NaN.

Every map pixel is computed from its own position, and each image window is read whole whatever the block
(aligned to the looks; the border-noise rule takes its context, DN 0 along each whole line, from a table read
once, :class:`_NodataReach`), so the block-wise result equals the whole-grid
one (tested).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, osr

from .. import sar
from ..io import engine as _engine
from ..io import memfiles
from ..io.options import RunOptions
from . import geometry, luts, radiometry
from . import rangedoppler as rd
from .product import Product

gdal.UseExceptions()

#: Default output pixel size (m) per acquisition mode (GRDH: IW 10 m, EW 40 m).
PIXEL_SIZE = {"IW": 10.0, "EW": 40.0, "SM": 10.0, "WV": 10.0}
QUANTITIES = ("sigma0", "gamma0", "beta0")
#: Map pixels between the nodes where map coordinates, geoid heights and the start of the zero-Doppler search
#: are computed exactly; bilinear in between.
NODE_STEP = 16
#: Newton steps of the zero-Doppler search per pixel, from the time interpolated between the nodes at sea level
#: (the zero-Doppler time of a point hardly changes with its height: microseconds per kilometre). The convergence
#: is quadratic: one step leaves far less than a nanosecond (tested against eight from the first line).
PIXEL_NEWTON_STEPS = 1
#: Without a DEM: evaluations of the height equation per map node (the grid's height at the position a height gives
#: there, from the grid's median height: one fixed-point step, then the secant method). A height error δh moves the
#: point by about δh/tan θ, so the fixed-point step alone shrinks it only about eightfold where the real IW grid is
#: steepest (850 m over 13 km at 30°); five leave under 2 cm of position (tested on the real grid).
GRID_HEIGHT_SOLUTIONS = 5
#: … and from the values interpolated between the nodes, where a pixel is computed itself (height within metres).
GRID_SEAM_SOLUTIONS = 3
#: Memory the no-DEM import may hold for the nodes of the whole map grid (:meth:`GridLocator.prepare`): a whole IW
#: scene at 10 m needs 64 MB; finer grids compute their nodes block by block.
NODE_CACHE_BYTES = 96 * 2 ** 20
#: The file's GEOCODING without a DEM.
GEOCODING_WITHOUT_DEM = "range-Doppler at the geolocation grid's heights"
#: Newton steps of the first zero-Doppler search, from the first line: three leave 2·10⁻¹³ s on the real IW grid
#: (from up to 25 s away; quadratic convergence), one more for margin.
GRID_FIRST_NEWTON_STEPS = 4
#: Newton steps of the zero-Doppler search after the first iteration, from the previous one's time (a height
#: change moves the zero-Doppler time by microseconds).
GRID_NEWTON_STEPS = 1
#: Kernel working memory per image sample and polarisation (DN, float64 power and LUTs).
_BYTES_PER_SAMPLE = 48
#: … and per map pixel (positions, weights, Earth-fixed coordinates, the bands written).
_BYTES_PER_MAP_PIXEL = 400
#: Samples read at once, in whole lines, for the border-noise rule's table of DN 0 (:class:`_NodataReach`): 4 MiB
#: of uint16, 10 MiB with the table's temporaries (81 lines of an IW GRDH product's 25 788 samples; measured: 8 MiB
#: for 64 lines, 32 MiB for 256, at the same speed).
REACH_READ_SAMPLES = 2 ** 21


#: Pixels the output grid needs along its shorter side at least: a coarser pixel averages the scene away.
MIN_GRID_SIDE = 2


class SceneError(ValueError):
    """An extent or a DEM that does not fit the scene."""


def utm_epsg(lon, lat):
    """EPSG code of the WGS 84 UTM zone of a point (north 326xx, south 327xx)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def needs_border_rule(ipf):
    """True for products of IPF before 2.90, whose border noise is not yet DN 0 (ESA changed it in 2.90)."""
    try:
        return tuple(int(x) for x in str(ipf).split(".")[:2]) < (2, 90)
    except ValueError:
        return True


def scene_centre(grid):
    """Mean lon/lat of the geolocation grid."""
    return float(np.mean(grid.points["longitude"])), float(np.mean(grid.points["latitude"]))


def _srs(wkt):
    srs = osr.SpatialReference()
    srs.SetFromUserInput(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _transformer(src, dst):
    """A pyproj transformer between two CRS given as WKT, EPSG codes or "EPSG:n" (x/lon first)."""
    from pyproj import CRS, Transformer
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def _raster_coords(geotransform, x, y):
    """GDAL pixel and line coordinates ((0, 0) the corner of the first sample) of CRS coordinates ``x``, ``y``."""
    inv = gdal.InvGeoTransform(geotransform)
    return inv[0] + inv[1] * x + inv[2] * y, inv[3] + inv[4] * x + inv[5] * y


# -- the map grid ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapGrid:
    """The output grid: size, north-up geotransform and CRS (WKT)."""

    xsize: int
    ysize: int
    geotransform: tuple
    wkt: str

    def centres(self, cols, rows):
        """Map x, y of the centres of pixels ``cols`` × ``rows`` (1-D index arrays), as (rows, cols) arrays."""
        gt = self.geotransform
        x = gt[0] + (np.asarray(cols, np.float64) + 0.5) * gt[1]
        y = gt[3] + (np.asarray(rows, np.float64) + 0.5) * gt[5]
        return np.meshgrid(x, y)

    @property
    def bounds(self):
        gt = self.geotransform
        return gt[0], gt[3] + self.ysize * gt[5], gt[0] + self.xsize * gt[1], gt[3]


def footprint(grid, wkt):
    """Bounds (xmin, ymin, xmax, ymax) in ``wkt`` of the geolocation grid's points."""
    x, y = _transformer("EPSG:4326", wkt).transform(grid.points["longitude"], grid.points["latitude"])
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def map_grid(grid, wkt, pixel_size, extent=None, margin_m=0.0):
    """The :class:`MapGrid` covering the scene (its grid points, ``margin_m`` around) in ``wkt`` at
    ``pixel_size``, aligned on multiples of the pixel size (gdalwarp's ``-tap``), cut to ``extent``
    (xmin, ymin, xmax, ymax in that CRS) when given. An extent that misses the scene raises :class:`SceneError`."""
    ps = float(pixel_size)
    if not ps > 0:
        raise SceneError(f"the pixel size must be > 0, got {pixel_size}")
    xmin, ymin, xmax, ymax = footprint(grid, wkt)
    xmin, ymin, xmax, ymax = xmin - margin_m, ymin - margin_m, xmax + margin_m, ymax + margin_m
    if extent is not None:
        exmin, eymin, exmax, eymax = (float(v) for v in extent)
        ixmin, iymin, ixmax, iymax = max(xmin, exmin), max(ymin, eymin), min(xmax, exmax), min(ymax, eymax)
        if ixmin >= ixmax or iymin >= iymax:
            raise SceneError(f"the extent ({exmin:.0f}, {eymin:.0f}) – ({exmax:.0f}, {eymax:.0f}) does not overlap "
                             f"the scene, which covers ({xmin:.0f}, {ymin:.0f}) – ({xmax:.0f}, {ymax:.0f}) in the "
                             "target CRS: draw the extent over the scene, or leave it empty for the whole scene")
        xmin, ymin, xmax, ymax = ixmin, iymin, ixmax, iymax
    largest = min(xmax - xmin, ymax - ymin) / MIN_GRID_SIDE
    if ps > largest:
        raise SceneError(f"the pixel size (PIXEL_SIZE) {ps:g} is larger than 1/{MIN_GRID_SIDE} of the "
                         f"{'extent' if extent is not None else 'scene'}, which covers {xmax - xmin:.0f} × "
                         f"{ymax - ymin:.0f} (x × y, target CRS units): the output would hold fewer than "
                         f"{MIN_GRID_SIDE} × {MIN_GRID_SIDE} pixels, each an average of the whole scene. Give at most "
                         f"{largest:.0f} (0: the mode's own, 10 m for IW, 40 m for EW)")
    x0, x1 = math.floor(xmin / ps) * ps, math.ceil(xmax / ps) * ps
    y0, y1 = math.floor(ymin / ps) * ps, math.ceil(ymax / ps) * ps
    return MapGrid(max(1, round((x1 - x0) / ps)), max(1, round((y1 - y0) / ps)), (x0, ps, 0.0, y1, 0.0, -ps),
                   _srs(wkt).ExportToWkt())


@dataclass(frozen=True)
class NodeLattice:
    """The nodes around a window: the pixels of the whole map grid whose row and column are multiples of ``step``
    (``rows`` × ``cols``, map pixel numbers), and for each of the window's rows and columns the node before it
    (``ky``, ``kx``) and its fraction of the way to the next (``fy``, ``fx``). The nodes belong to the grid, not
    the window, so any block gives the same values."""

    rows: np.ndarray
    cols: np.ndarray
    ky: np.ndarray
    kx: np.ndarray
    fy: np.ndarray
    fx: np.ndarray

    @classmethod
    def of(cls, win, step=NODE_STEP):
        def axis(start, size):
            first = start // step
            last = max(first + 1, -(-(start + size - 1) // step))
            nodes = np.arange(first, last + 1) * step
            where = (np.arange(start, start + size) - nodes[0]) / step
            k = np.minimum(np.floor(where).astype(int), len(nodes) - 2)
            return nodes, k, where - k
        cols, kx, fx = axis(win.x, win.w)
        rows, ky, fy = axis(win.y, win.h)
        return cls(rows, cols, ky, kx, fy, fx)

    def spread(self, v):
        """Node values ``v`` (rows × cols) interpolated bilinearly onto the window's pixels."""
        along = v[:, self.kx] * (1 - self.fx) + v[:, self.kx + 1] * self.fx       # (node rows, window columns)
        return along[self.ky] * (1 - self.fy)[:, None] + along[self.ky + 1] * self.fy[:, None]

    def points(self, where):
        """The nodes before and the fractions of the window's pixels where ``where`` (a mask) is True, for
        :meth:`at`."""
        r, c = np.nonzero(where)
        return self.ky[r], self.kx[c], self.fy[r], self.fx[c]

    def at(self, v, points):
        """Node values ``v`` interpolated bilinearly at :meth:`points`."""
        i, j, a, b = points
        return (v[i, j] * (1 - b) + v[i, j + 1] * b) * (1 - a) + (v[i + 1, j] * (1 - b) + v[i + 1, j + 1] * b) * a

    def straddling(self, label):
        """Where the four nodes around a pixel do not share one ``label`` (node rows × cols of integers)."""
        cell = (label[:-1, :-1] != label[:-1, 1:]) | (label[:-1, :-1] != label[1:, :-1]) | \
            (label[:-1, :-1] != label[1:, 1:])
        return cell[self.ky][:, self.kx]


def on_nodes(mgrid, win, fn, step=NODE_STEP):
    """``fn(x, y)`` (map coordinates, (rows, cols) arrays → a tuple of arrays) computed at the nodes around
    window ``win`` (:class:`NodeLattice`) and interpolated bilinearly onto the window's pixels."""
    lattice = NodeLattice.of(win, step)
    return tuple(lattice.spread(v) for v in fn(*mgrid.centres(lattice.cols, lattice.rows)))


# -- where map pixels lie in the image ------------------------------------------------------------------------
class GridLocator:
    """Image line and pixel of map pixels without a DEM: range-Doppler (:mod:`.rangedoppler`: zero-Doppler time
    on the orbit, slant range, the SRGR polynomial) of each point at the height the geolocation grid gives where
    it images, the grid's heights interpolated bilinearly in line × pixel (ESA's interpolation of the grid,
    *Sentinel-1 Product Specification* §6.2.9). The height depends on the position it decides, so the two are
    solved together (:meth:`timing`). Computed on the nodes (:class:`NodeLattice`) and interpolated between,
    except along seams (:meth:`locate`).

    Why not the grid's lon/lat themselves, inverted: between grid points, interpolating lon/lat (bilinearly, or
    by GDAL's thin-plate spline, which this replaced) does not follow the heights the grid gives there nor the
    slant-to-ground-range conversion of the lines between (issue #30; docs/sentinel1.md gives the measured
    differences per method); range-Doppler places the grid's own points on their lines within 0.3 and pixels
    within 0.01 (tested), and every point between them by the same physics."""

    incidence_kind = "incidence angle (ellipsoid)"

    def __init__(self, grid, image, rgeom, mgrid):
        self.mgrid, self.image, self.rg = mgrid, image, rgeom
        self._height = grid.lut("height")
        self._rows, self._cols = np.unique(grid.points["line"]), np.unique(grid.points["pixel"])
        self._start = float(np.median(grid.points["height"]))
        self._to_ll = _transformer(mgrid.wkt, "EPSG:4326")
        self._all = None

    # On a Dask worker the nodes are computed block by block (the same values): the whole grid's (:meth:`prepare`,
    # up to NODE_CACHE_BYTES) would be sent to every worker for each run.
    def __getstate__(self):
        return {**self.__dict__, "_all": None}

    def image_coords(self, x, y):
        """(line, pixel) of map coordinates ``x``, ``y`` (arrays), each computed exactly."""
        t, slant = self.timing(*self._to_ll.transform(x, y))
        return self.rg.line_of(t), self.rg.pixel_of(t, slant)

    def timing(self, lon, lat, t=None, h=None, solutions=GRID_HEIGHT_SOLUTIONS, refine=True):
        """(zero-Doppler time, slant range) of longitudes and latitudes (arrays) at the grid's height there.

        The height solves h = H(line, pixel at h), H the grid's height: the secant method on r(h) = H(…) − h
        after one fixed-point step, from ``h`` (default the grid's median height), ``solutions`` evaluations of
        r. The zero-Doppler search (from ``t``, default the first line) is made at the first height; r is then
        evaluated with that time and the satellite's position then (a point's zero-Doppler time moves by
        microseconds per kilometre of height, and its slant range by the square of that), and with ``refine`` one
        more Newton step is made at the height found."""
        ground = rd.geodetic_to_ecef(lon, lat, 0.0)         # on the ellipsoid; a height h adds h along the normal
        up = rd.geodetic_to_ecef(lon, lat, 1.0) - ground
        h0 = np.full(np.shape(lon), self._start) if h is None else h
        t, pos = self.rg.zero_doppler_position(ground + h0[..., None] * up, t_start=t,
                                               steps=GRID_FIRST_NEWTON_STEPS if t is None else GRID_NEWTON_STEPS)
        line = self.rg.line_of(t)

        def residual(height):
            slant = np.linalg.norm(pos - ground - height[..., None] * up, axis=-1)
            return self._height.at(line, self.rg.pixel_of(t, slant)) - height

        r0 = residual(h0)
        h1 = h0 + r0
        if refine:          # the time again at the first step's height, within a tenth of the final one
            t, pos = self.rg.zero_doppler_position(ground + h1[..., None] * up, t_start=t, steps=GRID_NEWTON_STEPS)
            line = self.rg.line_of(t)
        for _ in range(solutions - 1):
            r1 = residual(h1)
            slope = r1 - r0
            with np.errstate(invalid="ignore", divide="ignore"):
                h2 = np.where(np.abs(slope) > 1e-9, h1 - r1 * (h1 - h0) / slope, h1 + r1)
            h0, r0, h1 = h1, r1, h2
        xyz = ground + h1[..., None] * up
        if refine:
            t, pos = self.rg.zero_doppler_position(xyz, t_start=t, steps=GRID_NEWTON_STEPS)
        return t, np.linalg.norm(pos - xyz, axis=-1)

    def prepare(self, batch=1 << 16):
        """Compute the nodes of the whole map grid at once (``batch`` nodes at a time), before the engine's
        threads ask for them block by block: the same values, in large arrays (numpy then runs without Python's
        lock most of the time, where a block's few hundred nodes kept the threads waiting on each other). 28 bytes
        a node: 64 MB for a whole IW scene at 10 m (2.3 M nodes); a grid that needs more than
        :data:`NODE_CACHE_BYTES` keeps computing its nodes block by block (the same values). Returns whether it
        computed them."""
        xsize, ysize = self.mgrid.xsize, self.mgrid.ysize
        whole = NodeLattice.of(_engine.Window(0, 0, xsize, ysize, 0, 0, xsize, ysize))
        rows, cols = whole.rows, whole.cols
        if len(rows) * len(cols) * (3 * 8 + 4) > NODE_CACHE_BYTES:     # line, pixel, time (float64), piece (int32)
            return False
        out = [np.empty((len(rows), len(cols))) for _ in range(3)] + [np.empty((len(rows), len(cols)), np.int32)]
        step = max(1, batch // len(cols))
        for r0 in range(0, len(rows), step):
            for a, v in zip(out, self._nodes(*self._to_ll.transform(*self.mgrid.centres(cols, rows[r0:r0 + step])))):
                a[r0:r0 + step] = v
        self._all = out
        return True

    def _nodes(self, lon, lat):
        """At the nodes: line, pixel, zero-Doppler time, and their piece (an integer): the slant-to-ground-range
        polynomial (it changes every second of azimuth, by up to 13 pixels at far range on the real IW product)
        and the cell of the geolocation grid (the grid's heights bend at its lines) they are in."""
        t, slant = self.timing(lon, lat)
        line, pixel = self.rg.line_of(t), self.rg.pixel_of(t, slant)
        with np.errstate(invalid="ignore"):
            cell = (np.searchsorted(self._rows, line) * (len(self._cols) + 1) + np.searchsorted(self._cols, pixel))
        return line, pixel, t, self.rg.srgr_index(t) * (len(self._rows) + 1) * (len(self._cols) + 1) + cell

    def locate(self, win):
        """(line, pixel, None, None) of the window's pixels: no local incidence or nodata of a DEM. Line and pixel
        are interpolated from the nodes (:class:`NodeLattice`) where a pixel's four nodes lie in one smooth piece
        (:meth:`_nodes`), and computed at the pixel itself elsewhere (a few per cent of the pixels, along the
        seams), from the time interpolated there and the grid's height at the interpolated position."""
        lattice = NodeLattice.of(win)
        if self._all is None:
            n_line, n_pixel, n_t, piece = self._nodes(*self._to_ll.transform(*self.mgrid.centres(lattice.cols,
                                                                                                  lattice.rows)))
        else:               # the nodes of the whole grid, computed once (:meth:`prepare`)
            rows = slice(lattice.rows[0] // NODE_STEP, lattice.rows[0] // NODE_STEP + len(lattice.rows))
            cols = slice(lattice.cols[0] // NODE_STEP, lattice.cols[0] // NODE_STEP + len(lattice.cols))
            n_line, n_pixel, n_t, piece = (a[rows, cols] for a in self._all)
        line, pixel = lattice.spread(n_line), lattice.spread(n_pixel)
        seam = lattice.straddling(piece)
        if seam.any():      # from the time and the grid's height at the interpolated position
            at = lattice.points(seam)
            x, y = self.mgrid.centres(np.arange(win.x, win.x + win.w), np.arange(win.y, win.y + win.h))
            t, slant = self.timing(*self._to_ll.transform(x[seam], y[seam]), t=lattice.at(n_t, at),
                                   h=self._height.at(lattice.at(n_line, at), lattice.at(n_pixel, at)),
                                   solutions=GRID_SEAM_SOLUTIONS, refine=False)
            line[seam], pixel[seam] = self.rg.line_of(t), self.rg.pixel_of(t, slant)
        return line, pixel, None, None


class RangeDopplerLocator:
    """Image line and pixel of map pixels from their DEM heights and the orbit (:mod:`.rangedoppler`), with the
    local incidence angle.

    ``dem`` is a raster of heights above mean sea level (the EGM96 geoid, as SRTM's; Copernicus DEM's EGM2008
    differs from it by about a metre), in any CRS. Each map pixel's position in the DEM is computed exactly at the
    nodes and interpolated between; the DEM is interpolated bilinearly there (its nodata left out), over the
    window and one pixel of context around it for the surface normal."""

    incidence_kind = "local incidence angle (DEM)"

    def __init__(self, rgeom, image, mgrid, dem):
        self.rg, self.image, self.mgrid, self.dem = rgeom, image, mgrid, dem
        ds = gdal.Open(dem)
        self._dem_size = (ds.RasterYSize, ds.RasterXSize)
        self._dem_gt = ds.GetGeoTransform()
        self._dem_nodata = ds.GetRasterBand(1).GetNoDataValue()
        gt, srs = ds.GetGeoTransform(), _srs(ds.GetProjection())
        metres = abs(gt[1]) * (111320.0 * math.cos(math.radians(float(np.mean(self._lat_range(mgrid)))))
                               if srs.IsGeographic() else srs.GetLinearUnits())
        #: DEM samples per map pixel (area), for the memory plan: a DEM finer than the map is read in larger windows
        self.samples_per_pixel = max(1.0, (mgrid.geotransform[1] / metres) ** 2)
        self._to_ll = _transformer(mgrid.wkt, "EPSG:4326")
        self._to_dem = _transformer(mgrid.wkt, ds.GetProjection())
        self._local = threading.local()

    # On a Dask worker (:mod:`~sarsense.algorithms.io.engine.cluster`) the locator opens the DEM itself, per
    # thread as here; an in-memory (/vsimem/) DEM travels with it.
    def __getstate__(self):
        return memfiles.pack(self, [self.dem], "_local")

    def __setstate__(self, state):
        memfiles.unpack(self, state)
        self._local = threading.local()

    @staticmethod
    def _lat_range(mgrid):
        xmin, ymin, xmax, ymax = mgrid.bounds
        return _transformer(mgrid.wkt, "EPSG:4326").transform([xmin, xmax], [ymin, ymax])[1]

    def _dem_band(self):
        band = getattr(self._local, "band", None)
        if band is None:       # one GDAL dataset per thread
            self._local.ds = gdal.Open(self.dem)
            band = self._local.band = self._local.ds.GetRasterBand(1)
        return band

    def _heights(self, v, u):
        """DEM heights (geoid) at DEM sample positions (row ``v``, column ``u``; centres at integers), NaN
        outside the DEM and where its nodata is."""
        out = np.full(np.shape(v), np.nan)
        found = window_of(v, u, self._dem_size)
        if found is None:
            return out
        inside, (r0, r1, c0, c1), stencil = found
        arr = self._dem_band().ReadAsArray(c0, r0, c1 - c0, r1 - r0).astype(np.float64)
        if self._dem_nodata is not None and not math.isnan(self._dem_nodata):
            arr[arr == self._dem_nodata] = np.nan
        out[inside] = stencil(arr)
        return out

    def _nodes(self, x, y):
        lon, lat = self._to_ll.transform(x, y)
        undulation = rd.geoid_undulation(lon, lat)
        dx, dy = self._to_dem.transform(x, y)
        u, v = _raster_coords(self._dem_gt, dx, dy)
        u, v = u - 0.5, v - 0.5                               # DEM sample centres at integers
        t, slant = self.rg.zero_doppler(rd.geodetic_to_ecef(lon, lat, undulation))
        return lon, lat, undulation, v, u, t, self.rg.pixel_of(t, slant)

    def locate(self, win):
        """(line, pixel, local incidence (°), DEM nodata mask) of the window's pixels; the mask holds the pixels
        without a DEM height within the scene (at sea level)."""
        with np.errstate(invalid="ignore"):
            return self._locate(win)

    def _locate(self, win):
        # one pixel of context around the window for the surface normal (edge pixels: one-sided differences)
        x0, y0 = max(0, win.x - 1), max(0, win.y - 1)
        x1, y1 = min(self.mgrid.xsize, win.x + win.w + 1), min(self.mgrid.ysize, win.y + win.h + 1)
        ctx = _engine.Window(x0, y0, x1 - x0, y1 - y0, x0, y0, x1 - x0, y1 - y0)
        core = (slice(win.y - y0, win.y - y0 + win.h), slice(win.x - x0, win.x - x0 + win.w))
        lon, lat, undulation, dem_v, dem_u, t0, pixel0 = on_nodes(self.mgrid, ctx, self._nodes)
        t0, pixel0 = t0[core], pixel0[core]
        heights = self._heights(dem_v, dem_u)
        nodata = ~np.isfinite(heights[core])
        line0 = self.rg.line_of(t0)
        img = self.image
        in_scene = (line0 >= -0.5) & (line0 < img.lines - 0.5) & (pixel0 >= -0.5) & (pixel0 < img.samples - 0.5)
        xyz = rd.geodetic_to_ecef(lon, lat, heights + undulation)
        normal = _surface_normal(xyz)[core]
        xyz = xyz[core]
        t, pos = self.rg.zero_doppler_position(xyz, t_start=t0, steps=PIXEL_NEWTON_STEPS)
        look = pos - xyz
        slant = np.linalg.norm(look, axis=-1)
        cos = np.einsum("...i,...i->...", normal, look) / slant
        incidence = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        line, pixel = self.rg.line_of(t), self.rg.pixel_of(t, slant)
        for a in (line, pixel, incidence):
            a[nodata] = np.nan
        return line, pixel, incidence, nodata & in_scene


def _surface_normal(xyz):
    """Unit outward normals of a surface sampled on a north-up map grid (rows, cols, 3 Earth-fixed metres): the
    cross product of the east and north tangents, by central differences (one-sided at the array edge)."""
    if min(xyz.shape[:2]) < 2:      # a one-pixel-wide grid has no slope: the normal of the ellipsoid
        lon = np.arctan2(xyz[..., 1], xyz[..., 0])
        lat = np.arctan2(xyz[..., 2], (1 - rd.WGS84_E2) * np.hypot(xyz[..., 0], xyz[..., 1]))
        return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    east = np.gradient(xyz, axis=1)
    north = -np.gradient(xyz, axis=0)            # rows run south
    n = np.cross(east, north)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


# -- the image ------------------------------------------------------------------------------------------------
class ImageSampler:
    """Calibrated, noise-removed linear power of each polarisation at floating image positions.

    ``looks`` × ``looks`` samples are averaged first (noise-removed power, negative values included so that the
    average stays unbiased; a cell whose average is ≤ 0 is below the noise floor and NaN); positions are then
    interpolated bilinearly between the cell centres."""

    def __init__(self, product, pols, image, *, calibration="sigma0", thermal_noise=True, border_rule=False,
                 looks=1, incidence=None):
        self.image, self.looks, self.border_rule, self.incidence = image, int(looks), border_rule, incidence
        self.pols = list(pols)
        self.paths = [product.path(p, "measurement") for p in self.pols]
        self.cals, self.noises = [], []
        for p in self.pols:
            with product.reading(p, "calibration") as xml:
                self.cals.append(luts.calibration_lut(xml, calibration))
            if thermal_noise:
                with product.reading(p, "noise") as xml:
                    self.noises.append(luts.noise_luts(xml))
            else:
                self.noises.append(None)
        self._local = threading.local()
        self.reach = [_NodataReach(image, radiometry.BORDER_LIMIT_PX) for _ in self.pols] if border_rule else None

    # On a Dask worker the sampler opens the measurements itself, per thread as here (their paths are the run's
    # inputs, checked readable by every worker); in-memory (/vsimem/) ones travel with it.
    def __getstate__(self):
        return memfiles.pack(self, self.paths, "_local")

    def __setstate__(self, state):
        memfiles.unpack(self, state)
        self._local = threading.local()

    def _bands(self):
        bands = getattr(self._local, "bands", None)
        if bands is None:      # one GDAL dataset per thread and polarisation
            self._local.ds = [gdal.Open(p) for p in self.paths]
            bands = self._local.bands = [d.GetRasterBand(1) for d in self._local.ds]
        return bands

    def _cells(self, n):
        return -(-n // self.looks)

    def sample(self, line, pixel):
        """``(values (pols, …) float32, incidence or None, below (pols, …), border (pols, …))`` at the image
        positions (sample centres at integers): ``below``/``border`` mark where the nearest cell is NaN from the
        noise floor or from border noise, for the caller's counts."""
        k, img = self.looks, self.image
        n_pol = len(self.pols)
        shape = np.shape(line)
        values = np.full((n_pol,) + shape, np.nan, np.float32)
        below = np.zeros((n_pol,) + shape, bool)
        border = np.zeros((n_pol,) + shape, bool)
        inc_out = np.full(shape, np.nan, np.float32) if self.incidence is not None else None
        # positions in cells of k × k samples (the image covers [-0.5, n - 0.5) of them)
        v = (np.asarray(line, np.float64) - (k - 1) / 2) / k
        u = (np.asarray(pixel, np.float64) - (k - 1) / 2) / k
        found = window_of(v, u, (self._cells(img.lines), self._cells(img.samples)))
        if found is None:
            return values, inc_out, below, border
        inside, (i0, i1, j0, j1), stencil = found
        r0, r1 = i0 * k, min(img.lines, i1 * k)
        c0, c1 = j0 * k, min(img.samples, j1 * k)
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        nearest = (np.clip(np.rint(v[inside]).astype(np.int64) - i0, 0, i1 - i0 - 1),
                   np.clip(np.rint(u[inside]).astype(np.int64) - j0, 0, j1 - j0 - 1))
        valid_any = None
        for b, band in enumerate(self._bands()):
            dn = band.ReadAsArray(int(c0), int(r0), int(c1 - c0), int(r1 - r0))
            raw = radiometry.power(dn, rows, cols, self.cals[b], self.noises[b])
            masked = None
            if self.border_rule:
                near = self.reach[b].near(band, r0, r1, c0, c1)
                with np.errstate(invalid="ignore"):
                    masked = radiometry.border_noise(dn, np.where(raw > 0, raw, np.nan), near=near)
                raw[masked] = np.nan
            cells, counts = _multilook(raw, k)
            valid = counts > 0
            valid_any = valid if valid_any is None else valid_any | valid
            low = radiometry.mask_below_noise(cells)
            values[b][inside] = stencil(cells)
            below[b][inside] = low[nearest]
            if masked is not None:
                border[b][inside] = (_multilook(masked.astype(np.float64), k)[0] > 0)[nearest] & ~valid[nearest]
        if inc_out is not None:
            centres_r = np.minimum(np.arange(i0, i1) * k + (k - 1) / 2, img.lines - 1)
            centres_c = np.minimum(np.arange(j0, j1) * k + (k - 1) / 2, img.samples - 1)
            inc = self.incidence.block(centres_r, centres_c)
            inc[~valid_any] = np.nan
            inc_out[inside] = stencil(inc)
        return values, inc_out, below, border


class _NodataReach:
    """Per image line of one polarisation, where its samples lie within ``limit_px`` in range of a DN 0
    (:func:`.radiometry.nodata_reach`): what the border-noise rule needs of a line beyond a window, so that each
    window is read without a halo. Whole lines are read :data:`REACH_READ_SAMPLES` at a time, when a window first
    needs them, once for the engine's threads (under a lock); a line keeps at most ``samples`` // (2·``limit_px`` + 2)
    + 2 intervals of 12 bytes whatever its DN 0 (324 bytes for an IW GRDH line of 25 788 samples: 5.4 MB for its
    16 685 lines at worst; two intervals, the fill at either side, in a usual line), so the table's memory is
    bounded by the image's size.

    On a Dask cluster each worker process keeps its own table (the groups of lines its windows need); what the
    groups cost comes back to the client (:class:`~sarsense.algorithms.io.engine.Counts`, ``Sums``), so :attr:`cost`
    counts the lines and intervals of the table once, as a local run does, and the seconds of every worker."""

    #: what :attr:`cost` counts: seconds spent reading and tabling lines, lines tabled, intervals held
    COST = ("seconds", "lines", "intervals")

    def __init__(self, image, limit_px):
        self.lines, self.samples, self.limit_px = image.lines, image.samples, int(limit_px)
        self.step = max(1, REACH_READ_SAMPLES // self.samples)     # lines read at once
        self._parts = {}                    # first line of a group of `step` → (line, start, stop) int32
        self._lock = threading.Lock()
        groups = [str(f) for f in range(0, self.lines, self.step)]
        self._tabled = _engine.Counts(*groups)                           # times each group was tabled
        self._intervals = _engine.Counts(*groups)                        # and its intervals, each time
        self._seconds = _engine.Sums("seconds")

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_parts")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._parts, self._lock = {}, threading.Lock()

    @property
    def cost(self):
        """``{"seconds": s, "lines": n, "intervals": n}``: the time spent tabling (on every worker), and the lines
        and intervals of the table (each group of lines counted once, however many processes tabled it)."""
        done = [(int(f), n) for f, n in self._tabled.values.items() if n]
        return {"seconds": self._seconds["seconds"],
                "lines": sum(min(self.step, self.lines - f) for f, _ in done),
                "intervals": sum(self._intervals[str(f)] // n for f, n in done)}

    def _part(self, band, first):
        n = min(self.step, self.lines - first)
        start = time.perf_counter()
        row, lo, hi = radiometry.nodata_reach(band.ReadAsArray(0, first, self.samples, n), limit_px=self.limit_px)
        part = ((row + first).astype(np.int32), lo.astype(np.int32), hi.astype(np.int32))
        self._seconds.add(seconds=time.perf_counter() - start)
        self._tabled.add(**{str(first): 1})
        self._intervals.add(**{str(first): len(row)})
        return part

    def near(self, band, r0, r1, c0, c1):
        """The :func:`.radiometry.reach_mask` of lines ``r0`` … ``r1 − 1`` × samples ``c0`` … ``c1 − 1``, the lines
        read first (through ``band``, the calling thread's) where no window needed them yet."""
        firsts = range(r0 - r0 % self.step, r1, self.step)
        if any(f not in self._parts for f in firsts):
            with self._lock:
                for f in firsts:
                    if f not in self._parts:
                        self._parts[f] = self._part(band, f)
        row, lo, hi = (np.concatenate(a) for a in zip(*(self._parts[f] for f in firsts)))
        return radiometry.reach_mask(row - r0, lo, hi, (r1 - r0, c1 - c0), col0=c0)


def _multilook(arr, k):
    """Means over k × k cells of the finite values of ``arr`` (partial cells at the far edges), and their counts."""
    if k == 1:
        fin = np.isfinite(arr)
        return arr.copy(), fin.astype(np.int64)
    r, c = arr.shape
    pr, pc = -(-r // k) * k, -(-c // k) * k
    padded = np.full((pr, pc), np.nan)
    padded[:r, :c] = arr
    cells = padded.reshape(pr // k, k, pc // k, k)
    fin = np.isfinite(cells)
    counts = fin.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(fin, cells, 0.0).sum(axis=(1, 3)) / counts
    return means, counts


class _Stencil:
    """Bilinear interpolation at (iv + fv, iu + fu) of arrays of one shape (the image window's cells): the four
    neighbours' indices and weights, computed once for every band. NaN neighbours and those beyond the array
    are left out and the other weights renormalised (as GDAL's warper does); NaN where no neighbour with weight
    is left."""

    def __init__(self, shape, iv, iu, fv, fu):
        rows, cols = shape[0] + 2, shape[1] + 2               # arrays padded by one NaN cell on each side
        iv = np.clip(iv + 1, 0, rows - 2)
        iu = np.clip(iu + 1, 0, cols - 2)
        base = iv * cols + iu
        self.shape = shape
        self.index = np.stack([base, base + 1, base + cols, base + cols + 1])
        self.weight = np.stack([(1 - fv) * (1 - fu), (1 - fv) * fu, fv * (1 - fu), fv * fu])

    def __call__(self, arr):
        padded = np.full((self.shape[0] + 2, self.shape[1] + 2), np.nan)
        padded[1:-1, 1:-1] = arr
        x = padded.ravel()[self.index]
        ok = np.isfinite(x) & (self.weight > 0)
        w = np.where(ok, self.weight, 0.0)
        wsum = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(wsum > 0, (np.where(ok, x, 0.0) * w).sum(axis=0) / wsum, np.nan)


def window_of(v, u, shape):
    """What bilinear interpolation at positions (row ``v``, column ``u``; sample centres at integers) of an
    array of ``shape`` needs: ``(inside, (r0, r1, c0, c1), stencil)``, the positions on the array
    ([−0.5, n − 0.5) on both axes), the rows and columns to read (each inside position's four neighbours,
    within the array) and the :class:`_Stencil` of the inside positions over them; None when no position is
    inside."""
    with np.errstate(invalid="ignore"):
        inside = (v >= -0.5) & (v < shape[0] - 0.5) & (u >= -0.5) & (u < shape[1] - 0.5)
    if not inside.any():
        return None
    vi, ui = v[inside], u[inside]
    v0, u0 = np.floor(vi).astype(np.int64), np.floor(ui).astype(np.int64)
    r0, r1 = max(0, int(v0.min())), min(shape[0], int(v0.max()) + 2)
    c0, c1 = max(0, int(u0.min())), min(shape[1], int(u0.max()) + 2)
    return inside, (r0, r1, c0, c1), _Stencil((r1 - r0, c1 - c0), v0 - r0, u0 - c0, vi - v0, ui - u0)


# -- the import -----------------------------------------------------------------------------------------------
def looks_for(pixel_size, image):
    """Samples averaged per side before interpolation: the whole number of image pixels in a map pixel (1 below
    twice the image's pixel spacing)."""
    return max(1, int(float(pixel_size) // max(image.range_spacing_m, image.azimuth_spacing_m)))


def dem_margin_m(grid, dem, side=512):
    """How far (m) terrain above the grid's heights can move the scene's edge outwards (foreshortening, h/tan θ):
    the DEM's highest point over the scene (read decimated to at most ``side``² samples; nothing is written
    beside the DEM; made ellipsoidal with the geoid at the scene centre) above the lowest grid point, over the
    tangent of the smallest incidence angle."""
    ds = gdal.Open(dem)
    if not ds.GetProjection():
        return 0.0          # refused with its reason by check_dem_covers
    x, y = _transformer("EPSG:4326", ds.GetProjection()).transform(grid.points["longitude"], grid.points["latitude"])
    px, py = _raster_coords(ds.GetGeoTransform(), x, y)
    c0, c1 = max(0, int(np.floor(np.min(px)))), min(ds.RasterXSize, int(np.ceil(np.max(px))))
    r0, r1 = max(0, int(np.floor(np.min(py)))), min(ds.RasterYSize, int(np.ceil(np.max(py))))
    if c1 <= c0 or r1 <= r0:
        return 0.0
    band = ds.GetRasterBand(1)
    arr = band.ReadAsArray(c0, r0, c1 - c0, r1 - r0, buf_xsize=min(side, c1 - c0),
                           buf_ysize=min(side, r1 - r0)).astype(np.float64)
    if band.GetNoDataValue() is not None:
        arr[arr == band.GetNoDataValue()] = np.nan
    if not np.isfinite(arr).any():
        return 0.0
    lon, lat = scene_centre(grid)
    rise = float(np.nanmax(arr)) + float(rd.geoid_undulation(lon, lat)) - float(np.min(grid.points["height"]))
    theta = np.radians(float(np.min(grid.points["incidenceAngle"])))
    return max(0.0, rise) / math.tan(theta)


def check_dem_covers(located, dem, samples=48):
    """Refuse (:class:`SceneError`) a DEM that does not cover the part of the scene on the map grid: a lattice of
    ``samples`` × ``samples`` map pixels, those inside the image (by the :class:`GridLocator` ``located``) kept,
    must all lie inside the DEM's bounds."""
    mgrid = located.mgrid
    cols = np.unique(np.linspace(0, mgrid.xsize - 1, samples).round().astype(int))
    rows = np.unique(np.linspace(0, mgrid.ysize - 1, samples).round().astype(int))
    x, y = mgrid.centres(cols, rows)
    line, pixel = located.image_coords(x, y)
    with np.errstate(invalid="ignore"):
        inside = (line >= 0) & (line <= located.image.lines - 1) & (pixel >= 0) & (pixel <= located.image.samples - 1)
    if not inside.any():
        return
    ds = gdal.Open(dem)
    dem_wkt = ds.GetProjection()
    if not dem_wkt:
        raise SceneError(f"the DEM '{dem}' has no CRS: give it one (gdal_edit.py -a_srs) so it can be placed")
    dx, dy = _transformer(mgrid.wkt, dem_wkt).transform(x[inside], y[inside])
    px, py = _raster_coords(ds.GetGeoTransform(), dx, dy)
    covered = (px >= 0) & (px <= ds.RasterXSize) & (py >= 0) & (py <= ds.RasterYSize)
    if not covered.all():
        lon, lat = _transformer(mgrid.wkt, "EPSG:4326").transform(x[inside], y[inside])
        raise SceneError(
            f"the DEM covers {np.floor(1000 * covered.mean()) / 10:.1f} % of the scene (or of the extent): give a DEM "
            "covering "
            f"longitude {np.min(lon):.3f}–{np.max(lon):.3f}, latitude {np.min(lat):.3f}–{np.max(lat):.3f}, or "
            "narrow the extent to what the DEM covers")


def check_measurements(product: Product, pols: list, image) -> None:
    """Refuse a measurement TIFF GDAL cannot open (empty, cut short) or whose size is not the annotation's image
    size (``image``: :func:`.geometry.image_info`), naming the file in the product: reading it would fail half
    way, or put the samples in the wrong places."""
    want = (image.samples, image.lines)
    for pol in pols:
        path = product.path(pol, "measurement")
        stat = gdal.VSIStatL(path)
        if stat is None:
            raise product.damaged(pol, "measurement", "the manifest lists it but the product does not hold it")
        if stat.size == 0:
            raise product.damaged(pol, "measurement", "it is empty (0 bytes)")
        short = os.path.basename(path)
        try:
            ds = gdal.Open(path)
        except RuntimeError as err:
            raise product.damaged(pol, "measurement", f"GDAL cannot read it as a TIFF "
                                  f"({str(err).replace(path, short).strip()[:160]}; {stat.size} bytes)") from None
        found = (ds.RasterXSize, ds.RasterYSize)
        if found != want or ds.RasterCount < 1:
            raise product.damaged(pol, "measurement", f"its image is {found[0]} × {found[1]} (samples × lines), "
                                  f"the annotation's {want[0]} × {want[1]}")
        try:            # the last strip: a file cut short ends before it (GDAL reads the first ones)
            ds.GetRasterBand(1).ReadAsArray(0, found[1] - 1, found[0], 1)
        except RuntimeError as err:
            raise product.damaged(pol, "measurement", f"its last line cannot be read "
                                  f"({str(err).replace(path, short).strip()[:160]})") from None


def select_polarisations(product: Product, wanted: list | None = None, *, label: str = "POLARISATIONS") -> list:
    """The polarisations to import: ``wanted`` (upper case), or all the product has when it is empty; a
    polarisation the product lacks raises ``ValueError`` naming it (``label`` names the parameter)."""
    if not wanted:
        return list(product.polarisations)
    wanted = [p.upper() for p in wanted]
    missing = [p for p in wanted if p not in product.polarisations]
    if missing:
        raise ValueError(f"{label}: {', '.join(missing)} not in {product.name}, which has "
                         f"{', '.join(product.polarisations)}.")
    return wanted


def scene_crs(product: Product, polarisation: str) -> str:
    """The default map CRS of the import: ``"EPSG:n"`` of the WGS 84 UTM zone of the scene centre (from the
    geolocation grid of ``polarisation``'s annotation)."""
    with product.reading(polarisation, "annotation") as xml:
        grid = geometry.geolocation_grid(xml)
    return f"EPSG:{utm_epsg(*scene_centre(grid))}"


def product_metadata(product: Product, calibration: str, dem: str | None = None) -> tuple:
    """``(dataset metadata, metadata of every band)`` the import writes: the acquisition start (UTC, to the
    second; the file's DATE and each band's ACQUISITION_START_TIME), the acquisition (:func:`acquisition`:
    platform, relative orbit, pass; on the file and on every band, so that a stack of imports keeps them per
    band), mission, mode, product name, IPF, calibration and the geocoding used."""
    start = product.start.split(".")[0]
    acq = acquisition(product)
    return ({"DATE": start, "MISSION": product.mission, "MODE": product.mode, "PRODUCT": product.name,
             "IPF": product.ipf, "CALIBRATION": calibration,
             "GEOCODING": "range-Doppler with DEM" if dem else GEOCODING_WITHOUT_DEM, **acq},
            {"ACQUISITION_START_TIME": start, **acq})


def acquisition(product: Product) -> dict:
    """What tells a product's orbit (issue #29): ``PLATFORM`` (S1A, S1B …), ``RELATIVE_ORBIT`` (the manifest's
    relativeOrbitNumber at the start) and ``ORBIT_PASS`` (ASCENDING or DESCENDING), those the manifest gives."""
    found = {"PLATFORM": product.mission, "RELATIVE_ORBIT": product.relative_orbit,
             "ORBIT_PASS": product.orbit_pass.upper()}
    return {k: v for k, v in found.items() if v and v != "S1"}


#: The equivalent number of looks of Sentinel-1 Level-1 GRD products, as ESA's product specification gives it
#: (Sentinel-1 Product Definition S1-RS-MDA-52-7440, GRD product characteristics; an average over the swaths):
#: (mode, product class in the name) → ENL. Products not listed get none, and ``sarsense:despeckle`` estimates
#: it from the image instead.
GRD_ENL = {("IW", "GRDH"): 4.4}


def enl_metadata(product: Product, looks: int = 1) -> dict:
    """``{"ENL": …, "ENL_SOURCE": …}`` for the file's metadata when the product's ENL is known (:data:`GRD_ENL`)
    and the import averaged no further samples (``looks`` 1; averaging raises the ENL by an amount the samples'
    correlation decides), else ``{}``."""
    kind = next((part for part in product.name.upper().split("_") if part.startswith("GRD")), "")
    enl = GRD_ENL.get((product.mode.upper(), kind))
    if enl is None or int(looks) != 1:
        return {}
    return {"ENL": f"{enl:g}", "ENL_SOURCE": f"Sentinel-1 product specification, {product.mode.upper()} {kind}"}


@dataclass
class Scene:
    """One product prepared for a map grid (:func:`prepare`): :meth:`values` gives a window's backscatter and
    incidence, counting what it masks in :attr:`tally` (a :class:`~..io.engine.Counts`, which a Dask worker's copy
    sends back)."""

    product: Product
    pols: list
    grid: MapGrid
    own: tuple                  # the scene's own bounds on the grid (xmin, ymin, xmax, ymax): it is NaN outside
    locator: object
    sampler: ImageSampler
    tally: object
    calibration: str
    db: bool
    dem: str | None
    looks: int
    rule: bool
    bytes_per_pixel: float      # the working memory of :meth:`values` per map pixel and output band

    def values(self, win):
        """``(pols + 1, h, w)`` float32 of map window ``win``: each polarisation (linear or dB), then the incidence
        angle (°); NaN outside the scene."""
        pols = self.pols
        out = np.full((len(pols) + 1, win.h, win.w), np.nan, np.float32)
        gt = self.grid.geotransform
        x0, x1 = gt[0] + win.x * gt[1], gt[0] + (win.x + win.w) * gt[1]
        y1, y0 = gt[3] + win.y * gt[5], gt[3] + (win.y + win.h) * gt[5]
        xmin, ymin, xmax, ymax = self.own
        if x1 <= xmin or x0 >= xmax or y1 <= ymin or y0 >= ymax:
            return out          # the window misses the scene (a grid shared by several products)
        line, pixel, incidence, dem_nodata = self.locator.locate(win)
        values, inc, below, border = self.sampler.sample(line, pixel)
        for b in range(len(pols)):
            out[b] = sar.linear_to_db(values[b])[0] if self.db else values[b]
        out[-1] = inc if incidence is None else np.where(np.isfinite(values).any(axis=0), incidence, np.nan)
        found = {}
        for b, pol in enumerate(pols):
            found[f"below_noise {pol}"] = (below[b] & np.isnan(values[b])).sum()
            found[f"border {pol}"] = (border[b] & np.isnan(values[b])).sum()
        self.tally.add(**found, dem_nodata=0 if dem_nodata is None else dem_nodata.sum())
        return out

    @property
    def inputs(self):
        """The files :meth:`values` reads: the measurements and the DEM (a cluster's workers must read them too)."""
        return self.sampler.paths + ([self.dem] if self.dem else [])

    def band_layout(self):
        """``(descriptions, band metadata, dataset metadata)`` of the import's bands."""
        names = [f"{p} {self.calibration}" for p in self.pols] + ["incidence angle"]
        units = "dB" if self.db else "linear"
        metadata, extra = product_metadata(self.product, self.calibration, self.dem)
        metadata.update(enl_metadata(self.product, self.looks))  # the speckle filters read it (sar/speckle.py)
        meta = [{"POLARISATION": p, "QUANTITY": self.calibration, "units": units, **extra} for p in self.pols] + \
            [{"QUANTITY": self.locator.incidence_kind, "units": "degrees", **extra}]
        return names, meta, metadata

    def summary(self):
        """What the import counted (:func:`import_grd`'s result, less the engine's)."""
        pols, tally = self.pols, self.tally
        return {"grid": self.grid, "looks": self.looks, "below_noise": {p: tally[f"below_noise {p}"] for p in pols},
                "border": {p: tally[f"border {p}"] for p in pols}, "border_rule": self.rule,
                "dem_nodata": tally["dem_nodata"],
                "border_table": {k: sum(r.cost[k] for r in self.sampler.reach) for k in _NodataReach.COST}
                if self.rule else None}


def scene_geometry(product: Product, polarisation: str):
    """``(geolocation grid, image info, range geometry)`` of ``polarisation``'s annotation, parsed once."""
    with product.reading(polarisation, "annotation") as xml:
        annotation = luts.parse_xml(xml, "the product annotation")
        return (geometry.geolocation_grid(annotation), geometry.image_info(annotation),
                rd.range_geometry(annotation))


def scene_grid(product: Product, polarisation: str, crs: str, pixel_size: float | None = None,
               extent: tuple | None = None, dem: str | None = None) -> MapGrid:
    """The map grid :func:`import_grd` writes ``product`` on (:func:`map_grid` of its geolocation grid in ``crs``,
    ``pixel_size`` default the mode's, cut to ``extent``, with the DEM's margin)."""
    grid = scene_geometry(product, polarisation)[0]
    size = float(pixel_size or PIXEL_SIZE.get(product.mode, 10.0))
    return map_grid(grid, crs, size, extent, dem_margin_m(grid, dem) if dem else 0.0)


def prepare(product: Product, polarisations: list, *, calibration: str = "sigma0", thermal_noise: bool = True,
            border_noise: bool = True, crs: str | None = None, pixel_size: float | None = None,
            extent: tuple | None = None, dem: str | None = None, db: bool = False, looks: int | None = None,
            grid: MapGrid | None = None) -> Scene:
    """``product`` ready to be sampled on a map grid (:func:`import_grd`'s parameters): its own grid, or ``grid``
    (one grid for several products, :mod:`.series`; the scene is NaN outside its own part of it)."""
    if calibration not in QUANTITIES:
        raise ValueError(f"calibration must be one of {', '.join(QUANTITIES)}, got {calibration!r}")
    pols = [p.upper() for p in polarisations]
    ggrid, image, rgeom = scene_geometry(product, pols[0])      # parsed once for the three readers of it
    check_measurements(product, pols, image)
    if crs is None:
        crs = f"EPSG:{utm_epsg(*scene_centre(ggrid))}"
    size = float(pixel_size or PIXEL_SIZE.get(product.mode, 10.0))
    own = map_grid(ggrid, crs, size, extent, dem_margin_m(ggrid, dem) if dem else 0.0)
    mgrid = grid or own
    locator = GridLocator(ggrid, image, rgeom, mgrid)
    if dem:
        check_dem_covers(locator, dem)
        locator = RangeDopplerLocator(rgeom, image, mgrid, dem)
    else:
        locator.prepare()
    looks = looks_for(size, image) if looks is None else int(looks)
    rule = border_noise and needs_border_rule(product.ipf)
    sampler = ImageSampler(product, pols, image, calibration=calibration, thermal_noise=thermal_noise,
                           border_rule=rule, looks=looks, incidence=None if dem else ggrid.lut("incidenceAngle"))
    tally = _engine.Counts(*(f"below_noise {p}" for p in pols), *(f"border {p}" for p in pols), "dem_nodata")
    # working memory per map pixel: the image samples it needs (its area in samples, twice for the rotation of
    # the window), the DEM samples, the positions
    ratio = max(1.0, (size / min(image.range_spacing_m, image.azimuth_spacing_m)) ** 2) * 2
    dem_bytes = 16 * locator.samples_per_pixel if dem else 0.0
    per_pixel = (_BYTES_PER_SAMPLE * len(pols) * ratio + dem_bytes + _BYTES_PER_MAP_PIXEL) / (len(pols) + 1)
    return Scene(product, pols, mgrid, own.bounds, locator, sampler, tally, calibration, db, dem, looks, rule,
                 per_pixel)


def import_grd(product: Product, polarisations: list, output: str, *, calibration: str = "sigma0",
               thermal_noise: bool = True, border_noise: bool = True, crs: str | None = None,
               pixel_size: float | None = None, extent: tuple | None = None, dem: str | None = None, db: bool = False,
               looks: int | None = None, options: RunOptions | None = None) -> dict:
    """Write ``output``: one band per polarisation (``calibration`` in linear power, or dB with ``db``) and the
    incidence angle (°; the local one with a ``dem``), on a map grid of ``crs`` (WKT or "EPSG:n"; default the
    UTM zone of the scene centre) at ``pixel_size`` (default :data:`PIXEL_SIZE` of the mode), cut to ``extent``
    (in that CRS) if given. ``looks``: samples averaged per side before interpolation (default
    :func:`looks_for` the pixel size; 1 interpolates the samples themselves). The file and its bands carry
    :func:`product_metadata`. ``options`` (:class:`RunOptions`: budget, workers, compression, block size,
    progress, cancel, executor) go to the engine.

    Returns ``{"grid": MapGrid, "looks": k, "below_noise": {pol: n}, "border": {pol: n}, "border_rule": bool,
    "border_table": {"seconds": s, "lines": n, "intervals": n} or None, "dem_nodata": n, "blocks": n}`` (counts in
    output pixels; ``border_table``: what the border-noise rule's table of DN 0 cost, summed over the
    polarisations, :class:`_NodataReach`)."""
    scene = prepare(product, polarisations, calibration=calibration, thermal_noise=thermal_noise,
                    border_noise=border_noise, crs=crs, pixel_size=pixel_size, extent=extent, dem=dem, db=db,
                    looks=looks)
    mgrid = scene.grid
    names, meta, metadata = scene.band_layout()
    res = _engine.run_on_grid(output, scene.values, inputs=scene.inputs, xsize=mgrid.xsize,
                              ysize=mgrid.ysize, geotransform=mgrid.geotransform, projection=mgrid.wkt,
                              out_bands=len(scene.pols) + 1, descriptions=names, band_metadata=meta, metadata=metadata,
                              bytes_per_pixel=scene.bytes_per_pixel, options=options)
    return {**scene.summary(), "blocks": res["blocks"]}
