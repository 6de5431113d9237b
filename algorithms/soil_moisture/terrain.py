"""Local incidence angle from a DEM and terrain normalisation of σ° (Rahimabadi & Jamali 2019, eq. 3)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..io import RasterInfo, RunOptions, read_info, run_blockwise
from ..io.engine import Counts
from ..io.raster import open_dataset

#: Metadata keys read for the satellite heading when none is given.
HEADING_KEYS = ("HEADING", "PLATFORM_HEADING", "platformHeading", "SATELLITE_HEADING", "heading")
#: WGS 84 semi-major axis (m) and first eccentricity squared, for metres per degree on geographic grids.
_A, _E2 = 6378137.0, 6.69437999014e-3


def metres_per_degree(lat_deg: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) metres per degree of longitude and latitude at ``lat_deg`` on the WGS 84 ellipsoid.

    From the radii of curvature: prime vertical N = a/√(1 − e² sin²φ) and meridian
    M = a(1 − e²)/(1 − e² sin²φ)^{3/2}; one degree is π/180 of N·cos φ and of M.
    """
    phi = np.radians(np.asarray(lat_deg, dtype=np.float64))
    w = 1.0 - _E2 * np.sin(phi) ** 2
    return np.pi / 180 * _A * np.cos(phi) / np.sqrt(w), np.pi / 180 * _A * (1 - _E2) / w ** 1.5


def gradient(dem: ArrayLike, *, dx_m: ArrayLike, dy_m: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
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


def local_incidence(dem: ArrayLike, *, dx_m: ArrayLike, dy_m: ArrayLike, incidence_deg: ArrayLike, heading_deg: float,
                    look: str = "right") -> np.ndarray:
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


def check_incidence(incidence_deg: ArrayLike, what: str = "the incidence angle") -> None:
    """Refuse incidence angles outside (0°, 90°) (NaN is nodata and allowed)."""
    inc = np.asarray(incidence_deg, dtype=np.float64)
    bad = np.isfinite(inc) & ((inc <= 0) | (inc >= 90))
    if bad.any():
        raise ValueError(f"{what} must be in degrees between 0 and 90 (exclusive); found "
                         f"{inc[bad].min():g}..{inc[bad].max():g}. Give the incidence in degrees, not radians "
                         "or cosines")


#: How to give θ where the data carry none (issue #29: datacubes from openEO, Sentinel Hub or CDSE hold σ° without
#: the incidence angle). Within one relative orbit a pixel is always seen at nearly the same angle, and across the
#: Sentinel-1 IW swath (about 250 km, 29-46°) it changes by about 0.07° per km: one angle serves a site of a few km.
NO_INCIDENCE_HINT = ("No incidence angle in the data (a datacube)? Take the incidence band 'Import Sentinel-1' "
                     "writes beside σ° (or the product's incidence-angle band), or, for a site a few km wide seen "
                     "from one relative orbit, one angle for the whole site: Sentinel-1 IW spans about 29-46°, "
                     "changing by about 0.07° per km across the swath")


def incidence_problem(values: ArrayLike) -> str | None:
    """A sentence when ``values`` (a sample of incidence angles) are no incidence in degrees, else None: outside
    (0°, 90°), or all at most π/2, which is radians (no SAR images soil at incidences below 1.6°: Sentinel-1
    spans 19-47°, and the backscatter models used here are fitted for 10-70°, Oh 2004)."""
    s = np.asarray(values, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    if not s.size:
        return None
    if ((s <= 0) | (s >= 90)).any():
        return (f"values {s.min():g}..{s.max():g} are no incidence angle in degrees (between 0 and 90, exclusive): "
                "give the incidence in degrees, not radians or cosines")
    if s.max() <= np.pi / 2:
        return (f"values {s.min():.4g}..{s.max():.4g}, all at most π/2, look like radians: give the incidence in "
                "degrees (× 180/π)")
    return None


def flatten(sigma: ArrayLike, theta_dem_deg: ArrayLike, incidence_deg: ArrayLike, *,
            in_db: bool = False) -> tuple[np.ndarray, int, int]:
    """Terrain-normalised σ° (Rahimabadi & Jamali 2019, eq. 3): ``σ°_norm = σ°_ell · sin θ_DEM / sin θ_ell``.

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


def _number(value):
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def heading_from_metadata(path: str) -> float | None:
    """The satellite heading (degrees from north) in the dataset's or its first band's metadata
    (:data:`HEADING_KEYS`, in that order), or None."""
    ds = open_dataset(path)
    metas = [ds.GetMetadata() or {}] + [ds.GetRasterBand(1).GetMetadata() or {}]
    for meta in metas:
        for key in HEADING_KEYS:
            value = _number(meta.get(key))
            if value is not None:
                return value
    return None


def north_up_info(path: str) -> RasterInfo:
    """The raster's :class:`~sarsense.algorithms.io.RasterInfo`; a rotated grid is refused."""
    info = read_info(path)
    gt = info.geotransform
    if gt[2] or gt[4]:
        raise ValueError("the input grid is rotated; warp it to a north-up grid first (gdalwarp).")
    return info


def terrain_flatten_file(sigma: str, dem: str, output: str, *, heading_deg: float, incidence: str | None = None,
                         incidence_deg: float | None = None, look: str = "right", in_db: bool = False,
                         output_local_incidence: str | None = None, incidence_name: str = "the incidence angle",
                         options: RunOptions | None = None) -> dict:
    """Terrain-normalised σ° (Rahimabadi & Jamali 2019, eq. 3, :func:`flatten`) with the local incidence angle from a
    DEM
    (:func:`local_incidence`), file to file, block by block with a one-pixel halo (Horn's 3×3 slope).

    Parameters
    ----------
    sigma : str
        σ° on a north-up map grid (any number of bands, all normalised), linear power or dB (``in_db``).
    dem : str
        Heights in metres on ``sigma``'s grid. On a geographic grid the pixel sizes are turned into metres
        per row (:func:`metres_per_degree`).
    output : str
        Float32 GeoTIFF, ``sigma``'s bands and units, NaN in shadow and layover.
    heading_deg, look
        Satellite heading (degrees clockwise from north) and look side, as :func:`local_incidence`.
    incidence, incidence_deg
        Ellipsoid incidence angle: a one-band raster on ``sigma``'s grid, or one number (degrees).
        Raster values are checked by :func:`check_incidence`, whose message names ``incidence_name``.
    output_local_incidence : str, optional
        Also write θ_DEM (degrees; ≥ 90 shadow, ≤ 0 layover).
    options : RunOptions, optional
        Budget, workers, compression, progress and cancel.

    Returns
    -------
    dict
        ``infinite`` (±inf written as NaN), ``shadow`` and ``layover`` (valid pixels made NaN).
    """
    if (incidence is None) == (incidence_deg is None):
        raise ValueError("give the incidence angle as a raster or as a number, not both or neither")
    info = north_up_info(sigma)
    gt, geographic, n = info.geotransform, info.geographic, info.band_count
    sources = [sigma, (dem, [1])] + ([(incidence, [1])] if incidence else [])
    counts = Counts("shadow", "layover")

    def kernel(block, where):
        if geographic:
            lat = gt[3] + gt[5] * (where.rows + 0.5)
            mx, my = metres_per_degree(lat)
            dx, dy = (abs(gt[1]) * mx)[:, None], abs(gt[5]) * my[:, None]
        else:
            dx, dy = abs(gt[1]), abs(gt[5])
        inc = block[n + 1] if incidence else incidence_deg
        if incidence:
            check_incidence(inc, incidence_name)
        theta = local_incidence(block[n], dx_m=dx, dy_m=dy, incidence_deg=inc, heading_deg=heading_deg, look=look)
        flat, _, _ = flatten(block[:n], theta, inc, in_db=in_db)
        t, valid = where.core_of(theta), where.core_of(np.isfinite(block[0]))
        counts.add(shadow=int(((t >= 90) & valid).sum()), layover=int(((t <= 0) & valid).sum()))
        return (flat, theta) if output_local_incidence else flat

    results = [output, output_local_incidence] if output_local_incidence else output
    flat_meta = {"QUANTITY": "terrain-normalised backscatter", "units": "dB" if in_db else "linear"}
    layout = dict(out_bands=[n, 1], descriptions=[info.descriptions, ["local incidence angle (degrees)"]],
                  band_metadata=[flat_meta, {"QUANTITY": "local incidence angle (DEM)", "units": "degrees",
                                             "POLARISATION": None}]) \
        if output_local_incidence else dict(out_bands=n, band_metadata=flat_meta)
    res = run_blockwise(sources, results, kernel, halo=1, with_position=True, bytes_per_pixel=96, options=options,
                        **layout)
    return {"infinite": res["infinite"], **counts.values}
