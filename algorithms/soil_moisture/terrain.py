"""Local incidence angle from a DEM and terrain normalisation of σ° (Sadeghi et al., "004", eq. 3)."""

from __future__ import annotations

import numpy as np

#: WGS 84 semi-major axis (m) and first eccentricity squared, for metres per degree on geographic grids.
_A, _E2 = 6378137.0, 6.69437999014e-3


def metres_per_degree(lat_deg):
    """(east, north) metres per degree of longitude and latitude at ``lat_deg`` on the WGS 84 ellipsoid.

    From the radii of curvature: prime vertical N = a/√(1 − e² sin²φ) and meridian
    M = a(1 − e²)/(1 − e² sin²φ)^{3/2}; one degree is π/180 of N·cos φ and of M.
    """
    phi = np.radians(np.asarray(lat_deg, dtype=np.float64))
    w = 1.0 - _E2 * np.sin(phi) ** 2
    return np.pi / 180 * _A * np.cos(phi) / np.sqrt(w), np.pi / 180 * _A * (1 - _E2) / w ** 1.5


def gradient(dem, *, dx_m, dy_m):
    """(∂z/∂east, ∂z/∂north) by Horn's (1981) 3×3 weighted differences, edges replicated.

    Horn, B.K.P. (1981), Hill shading and the reflectance map, Proc. IEEE 69(1):14-47 (the
    slope estimator of GDAL's gdaldem): with the neighbourhood a b c / d e f / g h i (row 0 north),
    ∂z/∂x = ((c + 2f + i) − (a + 2d + g)) / (8·dx) and ∂z/∂y = ((a + 2b + c) − (g + 2h + i)) / (8·dy).
    ``dx_m`` may be a column of per-row pixel widths (geographic grids).
    """
    z = np.pad(np.asarray(dem, dtype=np.float64), 1, mode="edge")
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * np.asarray(dx_m, dtype=np.float64))
    dzdy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8.0 * np.asarray(dy_m, dtype=np.float64))
    return dzdx, dzdy


def local_incidence(dem, *, dx_m, dy_m, incidence_deg, heading_deg, look="right"):
    """Local incidence angle θ_DEM (degrees) between the radar look vector and the DEM's normal.

    The sensor flies along ``heading_deg`` (clockwise from north) and looks ``look`` of its track at
    ellipsoid incidence θ; the look direction's azimuth is φ = heading ± 90°. With g the rise of
    the terrain along φ (∂z/∂x·sin φ + ∂z/∂y·cos φ, > 0 on slopes facing the sensor),
    ``cos θ_DEM = (cos θ + g·sin θ) / √(1 + (∂z/∂x)² + (∂z/∂y)²)``.

    The angle is signed: negative where the slope facing the sensor is steeper than θ (atan g ≥ θ:
    layover), so that a plane tilted by s towards the sensor gives exactly θ − s. θ_DEM ≥ 90° is
    radar shadow. Flat terrain gives θ.
    """
    if look not in ("right", "left"):
        raise ValueError(f"look must be 'right' or 'left', got {look!r}")
    inc = np.radians(np.asarray(incidence_deg, dtype=np.float64))
    phi = np.radians(float(heading_deg) + (90.0 if look == "right" else -90.0))
    dzdx, dzdy = gradient(dem, dx_m=dx_m, dy_m=dy_m)
    rise = dzdx * np.sin(phi) + dzdy * np.cos(phi)
    cos_local = (np.cos(inc) + rise * np.sin(inc)) / np.sqrt(1.0 + dzdx * dzdx + dzdy * dzdy)
    theta = np.degrees(np.arccos(np.clip(cos_local, -1.0, 1.0)))
    layover = np.arctan(rise) >= inc
    return np.where(layover, -theta, theta).astype(np.float32)


def check_incidence(incidence_deg, what="the incidence angle"):
    """Refuse incidence angles outside (0°, 90°) (NaN is nodata and allowed)."""
    inc = np.asarray(incidence_deg, dtype=np.float64)
    bad = np.isfinite(inc) & ((inc <= 0) | (inc >= 90))
    if bad.any():
        raise ValueError(f"{what} must be in degrees between 0 and 90 (exclusive); found "
                         f"{inc[bad].min():g}..{inc[bad].max():g}. Give the incidence in degrees, not radians "
                         "or cosines")


def flatten(sigma, theta_dem_deg, incidence_deg, *, in_db=False):
    """Terrain-normalised σ° (004 eq. 3): ``σ°_norm = σ°_ell · sin θ_DEM / sin θ_ell``.

    In dB the same ratio is added: ``+ 10·log10(sin θ_DEM / sin θ_ell)``. Where θ_DEM ≥ 90°
    (shadow) or ≤ 0° (layover) the result is NaN. Returns ``(sigma_norm, n_shadow, n_layover)``.
    """
    s = np.asarray(sigma, dtype=np.float64)
    t = np.asarray(theta_dem_deg, dtype=np.float64)
    ratio = np.sin(np.radians(t)) / np.sin(np.radians(np.asarray(incidence_deg, dtype=np.float64)))
    shadow, layover = t >= 90.0, t <= 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s + 10.0 * np.log10(ratio) if in_db else s * ratio
    bad = shadow | layover
    out = np.where(bad, np.nan, out)
    valid = np.isfinite(s)
    return out.astype(np.float32), int((shadow & valid).sum()), int((layover & valid).sum())
