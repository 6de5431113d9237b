"""Range-Doppler geometry of a Sentinel-1 GRD: from a point on the ground to its image line and pixel.

For a ground point X (Earth-fixed, from longitude, latitude and height):

1. the zero-Doppler time t, where the satellite's line of sight is perpendicular to its velocity,
   ``(P(t) − X)·V(t) = 0``, found by Newton's method on the orbit interpolated from the annotation's state
   vectors (cubic Hermite on positions and velocities, between the two vectors around t);
2. the slant range ``R = |P(t) − X|``;
3. the image line ``(t − t_first) / Δt`` (``productFirstLineUtcTime``, ``azimuthTimeInterval``), and the
   ground-range pixel from the annotation's slant-to-ground-range polynomial,
   ``gr = Σ sᵢ (R − R₀)ⁱ`` (``coordinateConversion``: ``srgrCoefficients``, ``sr0``) of the polynomial nearest
   in time, divided by ``rangePixelSpacing``. (Interpolating linearly between the two polynomials around t put
   the real IW GRDH grid points up to 1.5 pixels off; the nearest one puts them within 0.01: the IPF uses it.)

(ESA, *Sentinel-1 Level-1 Detailed Algorithm Definition*, S1-TN-MDA-52-7445, §9 "Geocoding" and the product
specification's ``orbit`` and ``coordinateConversion`` records.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .luts import LutError, parse_xml

#: Newton steps for the zero-Doppler time from the first line: the convergence is quadratic, so from a start up to
#: a scene length (25 s) away eight steps leave far less than a nanosecond (tested).
NEWTON_STEPS = 8


def _seconds(times):
    """ISO times → seconds since the first (float64) and that first time (numpy datetime64[us])."""
    t = np.array([np.datetime64(s, "us") for s in times])
    return (t - t[0]).astype("timedelta64[us]").astype(np.float64) * 1e-6, t[0]


@dataclass(frozen=True)
class Orbit:
    """State vectors: times (s since ``epoch``), positions and velocities (m, m/s; Earth-fixed)."""

    epoch: np.ndarray
    t: np.ndarray
    pos: np.ndarray
    vel: np.ndarray

    def seconds(self, iso):
        """Seconds since the orbit's epoch of an ISO time."""
        return float((np.datetime64(iso, "us") - self.epoch).astype("timedelta64[us]").astype(np.int64)) * 1e-6

    @functools.cached_property
    def _cubics(self):
        """Per interval between state vectors, the cubic Hermite as ``c0 + c1 s + c2 s² + c3 s³`` (s = 0…1 across
        the interval; (intervals, 4, 3)): position and velocity at both ends matched."""
        h = np.diff(self.t)[:, None]
        p0, p1, v0, v1 = self.pos[:-1], self.pos[1:], self.vel[:-1] * h, self.vel[1:] * h
        return np.stack([p0, v0, 3 * (p1 - p0) - 2 * v0 - v1, 2 * (p0 - p1) + v0 + v1], axis=1)

    def at(self, t, acceleration=False):
        """Position and velocity (and with ``acceleration`` the acceleration) at times ``t`` (s since epoch; any
        shape): cubic Hermite between the two state vectors around each t (exact at the vectors; position and
        velocity continuous)."""
        t = np.asarray(t, np.float64)
        k = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 2)
        parts = _few_groups(k)
        if parts is not None and len(parts) > 1:       # a few intervals (a block): each as one, no gather
            found = tuple(np.empty(t.shape + (3,)) for _ in range(3 if acceleration else 2))
            for _, part in parts:
                for out, got in zip(found, self.at(t[part], acceleration)):
                    out[part] = got
            return found
        t0, h = self.t[k], self.t[k + 1] - self.t[k]
        if k.size and k.min() == k.max():     # one interval (a block of a scene): no gather per point
            c, t0, h = self._cubics[int(k.flat[0])], t0.flat[0], h.flat[0]
            hv = h
        else:
            c, hv = np.moveaxis(self._cubics[k], -2, 0), h[..., None]      # (4, …, 3), (…, 1)
        s = ((t - t0) / h)[..., None]
        pos = ((c[3] * s + c[2]) * s + c[1]) * s + c[0]
        vel = ((3 * c[3] * s + 2 * c[2]) * s + c[1]) / hv
        if not acceleration:
            return pos, vel
        return pos, vel, (6 * c[3] * s + 2 * c[2]) / (hv * hv)


@dataclass(frozen=True)
class RangeGeometry:
    """What turns a zero-Doppler time and a slant range into a line and a pixel."""

    orbit: Orbit
    first_line_s: float
    line_interval_s: float
    range_spacing_m: float
    srgr_t: np.ndarray          # times (s since the orbit's epoch) of the polynomials
    sr0: np.ndarray
    srgr: np.ndarray            # (n, order+1)

    def srgr_index(self, t):
        """Index of the slant-to-ground-range polynomial nearest in time to each ``t``."""
        t = np.asarray(t, np.float64)
        k = np.clip(np.searchsorted(self.srgr_t, t), 1, max(1, len(self.srgr_t) - 1))
        if len(self.srgr_t) > 1:
            return np.where(np.abs(t - self.srgr_t[k - 1]) <= np.abs(self.srgr_t[k] - t), k - 1, k)
        return np.zeros_like(k)

    def ground_range(self, t, r):
        """Ground range (m) of slant range ``r`` at time ``t``, by the polynomial nearest in time."""
        t, r = np.broadcast_arrays(np.asarray(t, np.float64), np.asarray(r, np.float64))
        k = self.srgr_index(t)
        parts = _few_groups(k)
        if parts is None:
            return _polyval_rows(r - self.sr0[k], self.srgr[k])
        out = np.empty(t.shape)       # a block: a few polynomials, each over its points (no gather per point)
        for kk, part in parts:
            out[part] = _polyval_rows(r[part] - self.sr0[kk], self.srgr[kk])
        return out

    def zero_doppler(self, xyz, t_start=None, steps=NEWTON_STEPS):
        """Zero-Doppler time (s since epoch) and slant range (m) of Earth-fixed points ``xyz`` (…, 3)
        (:meth:`zero_doppler_position`)."""
        t, pos = self.zero_doppler_position(xyz, t_start, steps)
        return t, np.linalg.norm(pos - np.asarray(xyz, np.float64), axis=-1)

    def zero_doppler_position(self, xyz, t_start=None, steps=NEWTON_STEPS):
        """Zero-Doppler time (s since epoch) of Earth-fixed points ``xyz`` (…, 3) and the satellite's position
        then, by ``steps`` Newton steps on ``f(t) = (P(t) − X)·V(t)``, ``f'(t) = V·V + (P − X)·A``, from
        ``t_start`` (one time or one per point; default the first line)."""
        xyz = np.asarray(xyz, np.float64)
        t = np.broadcast_to(np.asarray(self.first_line_s if t_start is None else t_start, np.float64),
                            xyz.shape[:-1]).copy()
        if steps < 1:
            return t, self.orbit.at(t)[0]
        for _ in range(steps):
            pos, vel, acc = self.orbit.at(t, acceleration=True)
            d = pos - xyz
            dt = -np.einsum("...i,...i->...", d, vel) / (np.einsum("...i,...i->...", vel, vel)
                                                          + np.einsum("...i,...i->...", d, acc))
            t += dt
        # the position at the last step's t by Taylor from where it was evaluated: the last step is at most
        # microseconds, so the jerk term left out is below a nanometre (tested against the orbit itself)
        dt = dt[..., None]
        return t, pos + vel * dt + 0.5 * acc * dt * dt

    def line_of(self, t):
        """Image line (floating; sample centres at integers) of zero-Doppler time ``t``."""
        return (t - self.first_line_s) / self.line_interval_s

    def pixel_of(self, t, r):
        """Image pixel (floating; sample centres at integers) of slant range ``r`` at time ``t``."""
        return self.ground_range(t, r) / self.range_spacing_m

    def line_pixel(self, xyz):
        """Image line and pixel of Earth-fixed points."""
        t, r = self.zero_doppler(xyz)
        return self.line_of(t), self.pixel_of(t, r)


def _few_groups(k, most=4):
    """``[(index, mask), …]`` of the distinct values of the integer array ``k`` when they span fewer than ``most``
    (a block of a scene lies in one or two orbit intervals or SRGR polynomials: evaluating each group with one set
    of coefficients avoids gathering them per point, with the same values), else None."""
    if not k.size or k.max() - k.min() >= most:
        return None
    return [(kk, part) for kk in range(int(k.min()), int(k.max()) + 1) if (part := k == kk).any()]


def _polyval_rows(x, coeffs):
    """Σ cᵢ xⁱ with one coefficient row per element of ``x``."""
    out = np.zeros_like(x)
    for i in range(coeffs.shape[-1] - 1, -1, -1):
        out = out * x + coeffs[..., i]
    return out


@functools.lru_cache(maxsize=1)
def _geoid():
    from pyproj import Transformer  # thread-safe since pyproj 3.1 (Debian 12: 3.4)
    return Transformer.from_crs("EPSG:4326+5773", "EPSG:4979", always_xy=True)


def geoid_undulation(lon, lat):
    """Height (m) of the EGM96 geoid above the WGS 84 ellipsoid, from PROJ's ``egm96_15.gtx`` (Debian's
    proj-data, which libproj depends on): what turns heights above mean sea level into ellipsoidal ones."""
    return _geoid().transform(lon, lat, np.zeros_like(np.asarray(lon, np.float64)))[2]


#: WGS 84 semi-major axis (m) and first eccentricity squared.
WGS84_A, WGS84_E2 = 6378137.0, 6.69437999014e-3


def geodetic_to_ecef(lon, lat, h):
    """WGS 84 geodetic (degrees, metres above the ellipsoid) to Earth-fixed x, y, z (m), shape (…, 3): the
    closed form (*NIMA TR8350.2*, eq. 4-14), equal to PROJ's EPSG:4979 → 4978 to the micrometre (tested) and
    cheaper per pixel."""
    lon, lat = np.radians(lon), np.radians(lat)
    sl, cl = np.sin(lat), np.cos(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sl * sl)
    return np.stack([(n + h) * cl * np.cos(lon), (n + h) * cl * np.sin(lon), (n * (1.0 - WGS84_E2) + h) * sl],
                    axis=-1)


def orbit_of(xml):
    """The :class:`Orbit` of a product annotation (its ``generalAnnotation/orbitList`` state vectors)."""
    root = parse_xml(xml, "the product annotation")
    orbits = root.findall("generalAnnotation/orbitList/orbit")
    if len(orbits) < 2:
        raise LutError(f"the annotation has {len(orbits)} orbit state vector(s); at least 2 are needed")
    t, epoch = _seconds([o.findtext("time") for o in orbits])
    pos = np.array([[float(o.findtext(f"position/{a}")) for a in "xyz"] for o in orbits])
    vel = np.array([[float(o.findtext(f"velocity/{a}")) for a in "xyz"] for o in orbits])
    return Orbit(epoch, t, pos, vel)


def range_geometry(xml):
    """The :class:`RangeGeometry` of a GRD product annotation (orbit, timing, pixel spacing, SRGR)."""
    root = parse_xml(xml, "the product annotation")
    orbit = orbit_of(root)
    info = root.find("imageAnnotation/imageInformation")
    conv = root.findall("coordinateConversion/coordinateConversionList/coordinateConversion")
    if info is None or not conv:
        raise LutError("the annotation lacks its image information or slant/ground range conversion (a GRD's "
                       "coordinateConversion): it is not a GRD product annotation")
    coeffs = [np.array(c.findtext("srgrCoefficients").split(), np.float64) for c in conv]
    order = max(len(c) for c in coeffs)
    srgr = np.array([np.pad(c, (0, order - len(c))) for c in coeffs])
    return RangeGeometry(orbit, orbit.seconds(info.findtext("productFirstLineUtcTime")),
                         float(info.findtext("azimuthTimeInterval")), float(info.findtext("rangePixelSpacing")),
                         np.array([orbit.seconds(c.findtext("azimuthTime")) for c in conv]),
                         np.array([float(c.findtext("sr0")) for c in conv]), srgr)
