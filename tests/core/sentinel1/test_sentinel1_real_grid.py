"""Sentinel-1 import on REAL product metadata (issue #30): where bright targets land on the real S1B IW GRDH
geolocation grid (heights 25–2 818 m), on grid nodes and between them, with and without a DEM, for IPF 2.36 (the
``noiseVector`` layout) and 3.31.

The product (:func:`sarsense.simulators.s1_safe.write_real_grd`) carries the real product annotation unchanged and
a sparse full-size measurement: a known σ0 background around each 7 × 7 target. Each target's true position is
the ground point imaged at its centre sample, by two definitions (:func:`~sarsense.simulators.s1_safe.real_truth`):

(a) ESA's geolocation grid interpolated bilinearly in line × pixel (lon/lat);
(b) range-Doppler (orbit, slant/ground range conversion) at the grid's bilinearly interpolated height.

At the grid nodes both agree within 1.4 m. Between nodes on this grid they do not: the annotation's slant/ground
range polynomials, one every 667 lines, move a slant range's ground range by up to 15 samples from one to the next, and
the grid, one line every 2 003, cannot follow that (nor the terrain): (b) lies 1.7–45 m from (a) at the targets
below (docs/sentinel1.md). No locator can be within one pixel of both there, so (a) is held to one pixel only
where the two agree within half a pixel, and (b), which the importer's terrain correction uses and the issue's
checklist names, everywhere. Each import covers 1 km around one target (``EXTENT``), so each takes a tenth of a
second.
"""

import numpy as np
import pytest
from helpers import blob_centroid
from osgeo import gdal
from pyproj import Transformer

from sarsense.algorithms.sentinel1 import importer
from sarsense.algorithms.sentinel1 import product as s1p
from sarsense.algorithms.sentinel1 import rangedoppler as rd
from sarsense.simulators import s1_safe

CRS = "EPSG:32632"          # the scene's UTM zone (the import's default)
PIXEL_M = 10.0
HALF_M = 500.0              # each import covers the target ± this (map units)
BACKGROUND_DB, TARGET_DB = -6.0, 14.0
IPFS = {"002.36": True, "003.31": False}      # IPF → the noiseVector layout of IPF < 2.9
N_ON, N_BETWEEN = 3, 6


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Both products (written once per module), the targets, their truths, a DEM around each."""
    return write_products(tmp_path_factory.mktemp("real_grd"))


def write_products(root):
    """Both products in ``root``, the targets, their truths on the map (CRS) and a DEM around each."""
    on, between = s1_safe.real_targets(N_ON, N_BETWEEN)
    targets = on + between
    lines, pixels = np.array(targets, float).T
    products = {ipf: s1p.open_product(s1_safe.write_real_grd(root / ipf, targets, ipf=ipf, legacy_noise=legacy,
                                                              background_db=BACKGROUND_DB,
                                                              target_db=TARGET_DB)["safe"])
                for ipf, legacy in IPFS.items()}
    truth = s1_safe.real_truth(lines, pixels)
    to_map = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    xy = {k: np.column_stack(to_map.transform(*truth[k])) for k in ("grid", "range_doppler")}
    dems = []
    for k, (lon, lat) in enumerate(zip(*truth["range_doppler"])):
        d_lat = 1.6 * HALF_M / 111_000.0
        d_lon = d_lat / np.cos(np.radians(lat))
        dems.append(s1_safe.write_real_dem(root / f"dem{k}.tif", (lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat),
                                            size=160))
    return {"products": products, "targets": targets, "on": len(on), "truth": truth, "xy": xy, "dems": dems,
            "imports": {}}


def imported(real, tmp_path_factory, ipf, with_dem):
    """Import 1 km around every target (σ0, linear); per target: the blob's centroid (map x, y), the number of
    its pixels, the background's median σ0, the incidence band at the pixel nearest truth (b). Cached."""
    key = (ipf, with_dem)
    if key not in real["imports"]:
        out_dir = tmp_path_factory.mktemp(f"out_{ipf}_{'dem' if with_dem else 'grid'}")
        found = []
        for k, (x, y) in enumerate(real["xy"]["range_doppler"]):
            out = str(out_dir / f"t{k}.tif")
            importer.import_grd(real["products"][ipf], ["VV"], out, crs=CRS,
                                extent=(x - HALF_M, y - HALF_M, x + HALF_M, y + HALF_M),
                                dem=real["dems"][k] if with_dem else None)
            ds = gdal.Open(out)
            sigma0, inc = ds.ReadAsArray()
            gt = ds.GetGeoTransform()
            rows, cols = np.mgrid[0:sigma0.shape[0], 0:sigma0.shape[1]]
            far = np.hypot(gt[0] + (cols + 0.5) * gt[1] - x, gt[3] + (rows + 0.5) * gt[5] - y) > 200.0
            background = float(np.nanmedian(sigma0[far]))
            centre, n = blob_centroid(sigma0, gt, background)
            r, c = int((y - gt[3]) // gt[5]), int((x - gt[0]) // gt[1])
            found.append({"centre": centre, "n": n, "background": background, "incidence": float(inc[r, c]),
                          "finite": float(np.isfinite(sigma0).mean())})
        real["imports"][key] = found
    return real["imports"][key]


def _offsets(real, found, which):
    return np.array([np.hypot(*(f["centre"] - real["xy"][which][k])) for k, f in enumerate(found)])


def _table(real, found):
    a, b = _offsets(real, found, "grid"), _offsets(real, found, "range_doppler")
    return "; ".join(f"{t} {'node' if k < real['on'] else 'between'}: {b[k]:.1f} m from (b), {a[k]:.1f} m from (a)"
                     for k, t in enumerate(real["targets"]))


CASES = [pytest.param(ipf, dem, id=f"ipf{ipf}-{'dem' if dem else 'nodem'}") for ipf in IPFS for dem in (False, True)]


def test_the_sparse_product_holds_the_real_annotation_and_reads_dn_0_elsewhere(real):
    """The product annotation is the shipped real one byte for byte; the measurement is full size, small on disk
    (sparse tiles), DN 0 (no-data) away from the targets and DN = round(√(σ0·A² + η)) at a target."""
    import gzip
    import os
    prod = real["products"]["003.31"]
    shipped = gzip.decompress(next(s1_safe.REAL_IW.glob("s1b-iw-grd-vv-*.xml.gz")).read_bytes())
    assert prod.read("VV", "annotation") == shipped
    path = prod.path("VV", "measurement")
    ds = gdal.Open(path)
    assert (ds.RasterXSize, ds.RasterYSize) == (25788, 16685) and os.path.getsize(path) < 10_000_000
    band = ds.GetRasterBand(1)
    assert not band.ReadAsArray(0, 0, 256, 256).any()                    # no target near the first tile
    line, pixel = real["targets"][0]
    dn = int(band.ReadAsArray(pixel, line, 1, 1)[0, 0])
    want = np.sqrt(10 ** (TARGET_DB / 10) * s1_safe.calib("sigma0", line, pixel) ** 2
                   + s1_safe.noise(line, pixel, ds.RasterXSize, False, ds.RasterYSize))
    assert dn == round(float(want)) and int(band.ReadAsArray(pixel + 4, line, 1, 1)[0, 0]) < dn / 5


def test_the_two_truths_on_nodes_and_between_them(real):
    """(b) is imaged exactly at its target by range-Doppler; on grid nodes (a) and (b) agree within 2 m (the
    grid's own points are within 0.3 line and 0.01 pixel of range-Doppler); between them they differ by more
    than a pixel somewhere (the figures: docs/sentinel1.md). The DEM around each target gives it its grid
    height (within 1 m, 0.15 pixel of ground range: its 10 m bilinear sampling of the grid's surface, which
    bends at the nodes; 0.55 m at the worst node)."""
    truth, on = real["truth"], real["on"]
    lines, pixels = np.array(real["targets"], float).T
    rg = s1_safe.window_geometry(0, 0)
    lon, lat = truth["range_doppler"]
    line, pixel = rg.line_pixel(rd.geodetic_to_ecef(lon, lat, truth["height"]))
    assert np.abs(line - lines).max() < 1e-3 and np.abs(pixel - pixels).max() < 1e-3
    apart = np.hypot(*(real["xy"]["grid"] - real["xy"]["range_doppler"]).T)
    assert apart[:on].max() < 2.0 and apart[on:].max() > PIXEL_M
    for k, dem in enumerate(real["dems"]):
        ds = gdal.Open(dem)
        gt = ds.GetGeoTransform()
        u, v = (lon[k] - gt[0]) / gt[1] - 0.5, (lat[k] - gt[3]) / gt[5] - 0.5
        arr = ds.ReadAsArray().astype(float)
        i, j = int(v), int(u)
        fv, fu = v - i, u - j
        h = (arr[i, j] * (1 - fv) * (1 - fu) + arr[i, j + 1] * (1 - fv) * fu + arr[i + 1, j] * fv * (1 - fu)
             + arr[i + 1, j + 1] * fv * fu) + rd.geoid_undulation(lon[k], lat[k])
        assert abs(h - truth["height"][k]) < 1.0


@pytest.mark.parametrize("where", ["on nodes", "between nodes"])
@pytest.mark.parametrize("ipf, with_dem", CASES)
def test_targets_land_within_one_pixel_of_their_true_position(real, tmp_path_factory, ipf, with_dem, where):
    """Every target's centroid within one output pixel of truth (b), range-Doppler at the grid's height; and of
    truth (a), the grid's bilinear lon/lat, wherever (a) and (b) are within half a pixel of each other (on the
    nodes, and some targets between them). Failed between nodes without a DEM while the import inverted the
    grid by GDAL's thin-plate spline (41–259 m from (b) here, issue #30)."""
    found = imported(real, tmp_path_factory, ipf, with_dem)
    chosen = slice(0, real["on"]) if where == "on nodes" else slice(real["on"], None)
    assert all(f["n"] >= 25 for f in found), _table(real, found)         # each target found whole
    b = _offsets(real, found, "range_doppler")[chosen]
    a = _offsets(real, found, "grid")[chosen]
    agree = np.hypot(*(real["xy"]["grid"] - real["xy"]["range_doppler"]).T)[chosen] <= PIXEL_M / 2
    assert agree.any()
    assert b.max() <= PIXEL_M and a[agree].max() <= PIXEL_M, _table(real, found)


@pytest.mark.parametrize("ipf, with_dem", CASES)
def test_background_sigma0_within_one_percent(real, tmp_path_factory, ipf, with_dem):
    """The background's median σ0 around every target within 1 % of the simulated one (both noise layouts, with
    the border-noise rule of IPF < 2.9 on: the background is far above its −30 dB), and the output around each
    target fully covered."""
    found = imported(real, tmp_path_factory, ipf, with_dem)
    want = 10 ** (BACKGROUND_DB / 10)
    ratios = np.array([f["background"] / want for f in found])
    assert np.abs(ratios - 1).max() < 0.01, ratios
    assert min(f["finite"] for f in found) == 1.0


@pytest.mark.parametrize("ipf", list(IPFS))
def test_incidence_within_005_degrees_of_the_annotation(real, tmp_path_factory, ipf):
    """Without DEM, the incidence band at each target's true position is the annotation's incidence interpolated
    at the target's line and pixel, within 0.05°."""
    found = imported(real, tmp_path_factory, ipf, False)
    got = np.array([f["incidence"] for f in found])
    np.testing.assert_allclose(got, real["truth"]["incidence"], atol=0.05)
