"""Sentinel-1 import: LUT parsing and interpolation on real calibration, noise and annotation XML."""

import gzip
import re

import numpy as np
import pytest
from helpers import REPO

from sarsense.algorithms.io import RunOptions
from sarsense.algorithms.sentinel1 import luts

IW = REPO / "resources" / "sample_data" / "s1_iw_annotation"


def _xml(prefix):
    return gzip.decompress(next(IW.glob(prefix + "*.xml.gz")).read_bytes()).decode()


def _vectors(text, vector, *tags):
    """The k-th vector's numbers under each tag, read with a regular expression (independent of luts)."""
    blocks = re.findall(rf"<{vector}>(.*?)</{vector}>", text, re.S)
    return [[np.array(re.search(rf"<{t}[^>]*>([^<]*)</{t}>", b).group(1).split(), float) for t in tags]
            for b in blocks]


def test_calibration_lut_at_nodes_between_them_and_beyond():
    text = _xml("calibration-s1b-iw1-slc-vv")
    vec = _vectors(text, "calibrationVector", "line", "pixel", "sigmaNought", "gamma")
    lut = luts.calibration_lut(text, "sigma0")
    (l2, p2, s2, _), (l3, _, s3, _) = vec[2], vec[3]
    assert l2[0] == 91 and l3[0] == 577 and p2[1] == 40 and p2[2] == 80
    # at a node: the vector's own value
    assert lut.block([91], [80])[0, 0] == s2[2]
    # half way between two vectors and two pixels: the mean of the four nodes (bilinear)
    mid = lut.block([(91 + 577) / 2], [60])[0, 0]
    assert mid == pytest.approx((s2[1] + s2[2] + s3[1] + s3[2]) / 4, rel=1e-12)
    # a quarter of the way in line, exactly at a pixel node
    q = lut.block([91 + (577 - 91) / 4], [40])[0, 0]
    assert q == pytest.approx(0.75 * s2[1] + 0.25 * s3[1], rel=1e-12)
    # before the first vector and after the last pixel: edge values
    first = vec[0]
    assert lut.block([-5000], [1e9])[0, 0] == first[2][-1]
    gamma = luts.calibration_lut(text, "gamma0").block([91], [0])[0, 0]
    assert gamma == vec[2][3][0] and gamma != s2[0]
    with pytest.raises(ValueError, match="calibration must be one of"):
        luts.calibration_lut(text, "sigma")


def test_noise_range_times_azimuth_in_the_ipf_3_layout():
    text = _xml("noise-s1b-iw1-slc-vv")
    rng = _vectors(text, "noiseRangeVector", "line", "pixel", "noiseRangeLut")
    az = _vectors(text, "noiseAzimuthVector", "line", "noiseAzimuthLut")[0]
    noise = luts.noise_luts(text)
    assert len(noise.azimuth) == 1 and noise.azimuth[0].swath == "IW1" and noise.azimuth[0].last_sample == 21631
    (l1, p1, r1) = rng[1]
    assert l1[0] == 0 and p1[1] == 40
    assert noise.block([0], [40])[0, 0] == pytest.approx(r1[1] * az[1][0], rel=1e-12)
    # line 5: the range LUT a third of the way from line 0 to 1501; the azimuth LUT half way from 0 to 10
    (l2, _, r2) = rng[2]
    want_range = r1[0] + (r2[0] - r1[0]) * 5 / (l2[0] - l1[0])
    want_az = (az[1][0] + az[1][1]) / 2
    assert noise.block([5], [0])[0, 0] == pytest.approx(want_range * want_az, rel=1e-12)
    # outside the azimuth block (beyond its last sample): the range LUT alone
    assert noise.block([0], [30000])[0, 0] == pytest.approx(r1[-1], rel=1e-12)


def test_legacy_noise_layout_and_bad_files():
    legacy = ("<noise><noiseVectorList count='2'>"
              "<noiseVector><line>0</line><pixel count='2'>0 100</pixel>"
              "<noiseLut count='2'>10 20</noiseLut></noiseVector>"
              "<noiseVector><line>10</line><pixel count='2'>0 100</pixel>"
              "<noiseLut count='2'>30 40</noiseLut></noiseVector>"
              "</noiseVectorList></noise>")
    noise = luts.noise_luts(legacy)
    assert noise.azimuth == () and noise.block([5], [50])[0, 0] == pytest.approx(25.0)
    with pytest.raises(luts.LutError, match="not a Sentinel-1 noise annotation"):
        luts.noise_luts("<noise/>")
    with pytest.raises(luts.LutError, match="not a Sentinel-1 calibration annotation"):
        luts.calibration_lut("<calibration/>")
    with pytest.raises(luts.LutError, match="not readable XML"):
        luts.calibration_lut("<calibration><calibrationVectorList>")
    broken = legacy.replace("30 40", "30")
    with pytest.raises(luts.LutError, match="2 pixels and 1 values"):
        luts.noise_luts(broken)


# -- a synthetic GRD product in the SAFE layout -----------------------------------------------------------
def _calibrated(product, pol, kind="sigma0", remove_noise=True):
    from osgeo import gdal

    from sarsense.algorithms.sentinel1 import radiometry
    ds = gdal.Open(product.path(pol, "measurement"))
    dn = ds.ReadAsArray()
    rows, cols = np.arange(dn.shape[0]), np.arange(dn.shape[1])
    cal = luts.calibration_lut(product.read(pol, "calibration"), kind)
    noise = luts.noise_luts(product.read(pol, "noise")) if remove_noise else None
    values = radiometry.power(dn, rows, cols, cal, noise)
    below = radiometry.mask_below_noise(values)
    return dn, (values.astype(np.float32), below)


@pytest.mark.parametrize("legacy", [False, True])
def test_synthetic_grd_calibrated_against_the_closed_form(tmp_path, legacy):
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    made = s1_safe.write_grd(tmp_path, legacy_noise=legacy, ipf="002.72" if legacy else "003.31")
    prod = s1p.open_product(made["safe"])
    assert prod.polarisations == ("VV", "VH") and prod.mode == "IW" and prod.product_type == "GRD"
    assert prod.ipf == ("002.72" if legacy else "003.31") and prod.start.startswith("2021-04-01T05:26:41")
    rows, cols = made["rows"], made["cols"]
    line, pixel = np.mgrid[0:rows, 0:cols].astype(float)
    for pol in ("VV", "VH"):
        dn, (sigma0, below) = _calibrated(prod, pol)
        eta = s1_safe.noise(line, pixel, cols, legacy)
        want = (dn.astype(float) ** 2 - eta) / s1_safe.calib("sigma0", line, pixel) ** 2
        want[(dn == 0) | (want <= 0)] = np.nan
        np.testing.assert_allclose(sigma0, want, rtol=2e-6, equal_nan=True)
        assert np.isnan(sigma0[dn == 0]).all() and int((dn == 0).sum()) == 5 * (rows - 3) + 3 * cols
        assert int(below.sum()) == int(((dn > 0) & (dn.astype(float) ** 2 <= eta)).sum())
        # against the truth the DN were made from: within uint16 rounding where the signal is above the noise
        truth = made["truth"][pol]
        strong = np.isfinite(sigma0) & (truth > 0.01)
        assert np.median(np.abs(sigma0[strong] / truth[strong] - 1)) < 0.01
    # gamma0 uses its own LUT
    _, (gamma0, _) = _calibrated(prod, "VV", "gamma0")
    ok = np.isfinite(gamma0) & np.isfinite(sigma0)
    assert not np.allclose(gamma0[ok], sigma0[ok])


def test_zip_folder_and_manifest_give_the_same_product(tmp_path):
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    made = s1_safe.write_grd(tmp_path, zip_it=True)
    results = []
    for where in (made["safe"], made["safe"] + "/manifest.safe", made["zip"]):
        prod = s1p.open_product(where)
        results.append(_calibrated(prod, "VH")[1][0])
    assert s1p.open_product(made["zip"]).root.startswith("/vsizip/")
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_products_that_are_not_imported_say_why(tmp_path):
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    slc = s1_safe.write_grd(tmp_path / "slc", product_type="SLC", rows=20, cols=30)
    with pytest.raises(s1p.ProductError, match="single-look complex"):
        s1p.open_product(slc["safe"])
    other = s1_safe.write_grd(tmp_path / "s2", family="SENTINEL-2", rows=20, cols=30)
    with pytest.raises(s1p.ProductError, match="not Sentinel-1"):
        s1p.open_product(other["safe"])
    with pytest.raises(s1p.ProductError, match="without manifest.safe"):
        s1p.open_product(tmp_path)
    made = s1_safe.write_grd(tmp_path / "zip", zip_it=True, rows=60, cols=80)
    data = open(made["zip"], "rb").read()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(s1p.ProductError, match="truncated or damaged"):
        prod = s1p.open_product(cut)
        prod.read("VV", "noise")
    import os
    os.remove(s1p.open_product(made["safe"]).path("VH", "noise"))
    with pytest.raises(s1p.ProductError, match="cannot read the noise file of VH"):
        s1p.open_product(made["safe"]).read("VH", "noise")
    prod = s1p.open_product(made["safe"])
    with pytest.raises(s1p.ProductError, match="has no calibration file for HH"):
        prod.path("HH", "calibration")


# -- geometry: the geolocation grid of real IW GRDH and EW annotations ----------------------------------
def _annotation(path):
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


EW = REPO / "resources" / "sample_data" / "sea_ice"


def test_image_info_and_incidence_between_grid_points_real_iw_and_ew():
    from sarsense.algorithms.sentinel1 import geometry
    iw = _annotation(next(IW.glob("s1b-iw-grd-vv-*.xml.gz")))
    info = geometry.image_info(iw)
    assert (info.lines, info.samples) == (16685, 25788) and info.range_spacing_m == 10.0
    text = iw.decode()
    pts = re.findall(r"<line>(\d+)</line>\s*<pixel>(\d+)</pixel>.*?<incidenceAngle>([^<]+)</incidenceAngle>",
                     text, re.S)
    grid = {(int(a), int(b)): float(c) for a, b, c in pts}
    lines, pixels = sorted({k[0] for k in grid}), sorted({k[1] for k in grid})
    assert len(grid) == 210 and len(lines) == 10 and len(pixels) == 21
    inc = geometry.geolocation_grid(iw).lut("incidenceAngle")
    l0, l1, p0, p1 = lines[3], lines[4], pixels[7], pixels[8]
    assert inc.block([l0], [p0])[0, 0] == grid[(l0, p0)]
    mid = inc.block([(l0 + l1) / 2], [(p0 + p1) / 2])[0, 0]
    assert mid == pytest.approx((grid[(l0, p0)] + grid[(l0, p1)] + grid[(l1, p0)] + grid[(l1, p1)]) / 4, rel=1e-12)
    across = inc.block([8000], np.linspace(0, info.samples - 1, 50))[0]
    assert 30 < across[0] < across[-1] < 47 and np.all(np.diff(across) > 0)   # IW: 30°-46° near to far range
    ew = _annotation(next(EW.glob("s1a-ew1-slc-hh-*.xml")))
    ew_inc = geometry.geolocation_grid(ew).lut("incidenceAngle")
    ew_info = geometry.image_info(ew)
    ends = ew_inc.block([ew_info.lines // 2], [0, ew_info.samples - 1])[0]
    assert 19 < ends[0] < ends[1] < 29                                            # EW1 sub-swath: 19.6°-28.6°


# -- the import onto a map grid ---------------------------------------------------------------------------
def _calibrated_image(prod, pol, path):
    """The product's calibrated σ0 in image geometry, with the grid's GCPs: what gdalwarp is given as peer."""
    from osgeo import gdal

    from sarsense.algorithms.sentinel1 import geometry
    _, (sigma0, _) = _calibrated(prod, pol)
    grid = geometry.geolocation_grid(prod.read(pol, "annotation"))
    ds = gdal.GetDriverByName("GTiff").Create(str(path), sigma0.shape[1], sigma0.shape[0], 1, gdal.GDT_Float32)
    ds.GetRasterBand(1).WriteArray(sigma0)
    ds.GetRasterBand(1).SetNoDataValue(float("nan"))
    ds.SetGCPs(grid.gcps(), geometry.wgs84_wkt())
    ds = None
    return str(path)


def _at_band_edges(prod, mgrid, cols):
    """Map pixels of ``mgrid`` whose image pixel is within 1.5 samples of the simulated dark band's edges
    (:func:`simulators.s1_safe.sigma0_truth`: 15 dB darker from column cols/2 − 8 to cols/2 + 8), where a
    centimetre of position moves the interpolated value by percents."""
    from sarsense.algorithms.io import engine
    from sarsense.algorithms.sentinel1 import geometry, importer
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    ann = prod.read("VV", "annotation")
    _, pixel, _, _ = importer.GridLocator(geometry.geolocation_grid(ann), geometry.image_info(ann),
                                          rd.range_geometry(ann), mgrid).locate(
        engine.Window(0, 0, mgrid.xsize, mgrid.ysize, 0, 0, mgrid.xsize, mgrid.ysize))
    with np.errstate(invalid="ignore"):
        return (np.abs(pixel - (cols // 2 - 8.5)) < 1.5) | (np.abs(pixel - (cols // 2 + 7.5)) < 1.5)


def test_import_onto_utm_equals_gdalwarp_and_is_the_same_block_wise(tmp_path):
    """Without DEM: σ0 on UTM 32N at 10 m equals gdalwarp -tps -r bilinear of the calibrated image (the grid is
    at sea level here, where the spline and range-Doppler agree within centimetres; same resampling); the
    incidence of each output pixel is the ellipsoid incidence of the ground
    point there, found independently by range-Doppler at sea level; tiny blocks on two threads give the same
    file as the default run."""
    from osgeo import gdal
    from pyproj import Transformer

    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    from sarsense.simulators import s1_safe
    made = s1_safe.write_grd(tmp_path)
    prod = s1p.open_product(made["safe"])
    out, small = str(tmp_path / "geo.tif"), str(tmp_path / "geo_small.tif")
    counts = importer.import_grd(prod, ["VV", "VH"], out)
    importer.import_grd(prod, ["VV", "VH"], small, options=RunOptions(block_size=37, workers=2))
    ds = gdal.Open(out)
    geo = ds.ReadAsArray()
    np.testing.assert_array_equal(geo, gdal.Open(small).ReadAsArray())
    gt = ds.GetGeoTransform()
    assert counts["grid"].wkt and "32632" in ds.GetProjection() and counts["looks"] == 1
    assert gt[1] == 10.0 and gt[0] % 10 == 0 and gt[3] % 10 == 0
    assert [ds.GetRasterBand(b).GetDescription() for b in (1, 2, 3)] == ["VV sigma0", "VH sigma0", "incidence angle"]
    # the product's metadata travels (STYLE §8): start time in the file's DATE and every band's metadata
    meta = ds.GetMetadata()
    assert meta["DATE"] == prod.start.split(".")[0] and meta["DATE"].startswith("2021-04-01T05:26:41")
    assert meta["GEOCODING"] == importer.GEOCODING_WITHOUT_DEM and meta["CALIBRATION"] == "sigma0"
    assert ds.GetRasterBand(2).GetMetadata() == {"POLARISATION": "VH", "QUANTITY": "sigma0", "units": "linear",
                                                 "ACQUISITION_START_TIME": meta["DATE"], "PLATFORM": "S1B",
                                                 "RELATIVE_ORBIT": "168", "ORBIT_PASS": "DESCENDING"}
    # the peer: gdalwarp of the calibrated image onto the same grid, exact transformer
    peer = str(tmp_path / "warp.tif")
    xmin, ymin, xmax, ymax = counts["grid"].bounds
    gdal.Warp(peer, _calibrated_image(prod, "VV", tmp_path / "image.tif"), dstSRS="EPSG:32632",
              outputBounds=(xmin, ymin, xmax, ymax), xRes=10, yRes=10, tps=True, resampleAlg="bilinear",
              errorThreshold=0)
    warped = gdal.Open(peer).ReadAsArray()
    both = np.isfinite(warped) & np.isfinite(geo[0])
    # a position a centimetre apart changes the value by up to 2 % next to the dark band's sharp edges: those
    # map pixels are left out of the comparison (their positions are checked against range-Doppler below)
    both &= ~_at_band_edges(prod, counts["grid"], made["cols"])
    assert both.sum() > 0.7 * np.isfinite(geo[0]).sum() > 50000
    np.testing.assert_allclose(geo[0][both], warped[both], rtol=1e-3)
    assert np.median(np.abs(geo[0][both] / warped[both] - 1)) < 1e-4
    # incidence: back from map to image by range-Doppler at sea level (the grid is at sea level here)
    rg = s1_safe.window_geometry()
    to_ll = Transformer.from_crs(32632, 4326, always_xy=True)
    rows, cols = np.mgrid[5:geo.shape[1] - 5:13, 5:geo.shape[2] - 5:11]
    x, y = gt[0] + (cols + 0.5) * gt[1], gt[3] + (rows + 0.5) * gt[5]
    lon, lat = to_ll.transform(x, y)
    line, pixel = rg.line_pixel(rd.geodetic_to_ecef(lon, lat, rd.geoid_undulation(lon, lat)))
    keep = (line > 2) & (line < made["rows"] - 5) & (pixel > 7) & (pixel < made["cols"] - 3)
    assert keep.sum() > 300
    _, _, _, inc, _, _ = s1_safe.geolocation(line[keep], pixel[keep])
    np.testing.assert_allclose(geo[2][rows[keep], cols[keep]], inc, atol=0.01)
    assert np.nanmax(np.abs(np.diff(geo[2], axis=1))) < 0.01                  # smooth, 36° → 36.1° across


def test_polarisations_default_crs_and_metadata_of_a_product(tmp_path):
    """All polarisations when none is asked, a missing one refused with what the product has; the scene's UTM
    zone; the metadata the import writes."""
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    prod = s1p.open_product(s1_safe.write_grd(tmp_path)["safe"])
    assert importer.select_polarisations(prod) == ["VV", "VH"] == importer.select_polarisations(prod, [])
    assert importer.select_polarisations(prod, ["vh"]) == ["VH"]
    with pytest.raises(ValueError, match=r"^Polarisations \(POLARISATIONS\): HH not in .*, which has VV, VH\.$"):
        importer.select_polarisations(prod, ["VV", "HH"], label="Polarisations (POLARISATIONS)")
    assert importer.scene_crs(prod, "VV") == "EPSG:32632"
    meta, band = importer.product_metadata(prod, "gamma0", dem="dem.tif")
    assert meta["CALIBRATION"] == "gamma0" and meta["GEOCODING"] == "range-Doppler with DEM"
    assert meta["MODE"] == prod.mode and meta["IPF"] == prod.ipf
    assert band == {"ACQUISITION_START_TIME": meta["DATE"], "PLATFORM": "S1B", "RELATIVE_ORBIT": "168",
                    "ORBIT_PASS": "DESCENDING"}


def test_the_real_manifest_gives_platform_relative_orbit_and_pass(tmp_path):
    """Issue #29: the real S1B IW GRDH manifest (relative orbit 168, descending, 05:26:23 UTC) read by the import;
    every band and the file carry them, the time to the second."""
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    manifest = next(IW.glob("*.manifest.safe.gz"))
    safe = tmp_path / manifest.name.replace(".manifest.safe.gz", ".SAFE")
    safe.mkdir()
    text = gzip.decompress(manifest.read_bytes())
    (safe / "manifest.safe").write_bytes(text)
    want = {"PLATFORM": "S1B", "RELATIVE_ORBIT": "168", "ORBIT_PASS": "DESCENDING"}
    assert re.search(rb'relativeOrbitNumber type="start">168<', text) and b"<s1:pass>DESCENDING<" in text
    prod = s1p.open_product(safe)
    assert (prod.relative_orbit, prod.orbit_pass) == ("168", "DESCENDING")
    meta, band = importer.product_metadata(prod, "sigma0")
    assert band == {"ACQUISITION_START_TIME": "2021-04-01T05:26:23", **want}
    assert {k: meta[k] for k in want} == want


def test_import_in_db_multilooked_and_refusals(tmp_path):
    """dB bands are 10·log10 of the linear ones; at 40 m, 4 × 4 samples are averaged before interpolation
    (block-wise the same); progress per block, and a cancel leaves nothing; an extent off the scene and a DEM
    that does not cover it are refused."""
    from osgeo import gdal

    from sarsense.algorithms.io import engine
    from sarsense.algorithms.sentinel1 import geometry, importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    prod = s1p.open_product(s1_safe.write_grd(tmp_path)["safe"])
    lin, db = str(tmp_path / "lin.tif"), str(tmp_path / "db.tif")
    importer.import_grd(prod, ["VV"], lin)
    importer.import_grd(prod, ["VV"], db, db=True)
    a, b = gdal.Open(lin).ReadAsArray(), gdal.Open(db).ReadAsArray()
    np.testing.assert_allclose(b[0], 10 * np.log10(a[0]), atol=1e-4)
    np.testing.assert_array_equal(a[1], b[1])
    coarse, coarse_small, decimated = (str(tmp_path / n) for n in ("c40.tif", "c40s.tif", "d40.tif"))
    counts = importer.import_grd(prod, ["VV"], coarse, pixel_size=40)
    importer.import_grd(prod, ["VV"], coarse_small, pixel_size=40, options=RunOptions(block_size=16, workers=2))
    importer.import_grd(prod, ["VV"], decimated, pixel_size=40, looks=1)
    c, d = gdal.Open(coarse).ReadAsArray(), gdal.Open(decimated).ReadAsArray()
    np.testing.assert_array_equal(c, gdal.Open(coarse_small).ReadAsArray())
    assert counts["looks"] == 4 and gdal.Open(coarse).GetGeoTransform()[1] == 40.0
    # averaging 16 samples cuts the simulator's 0.5 dB per-sample noise, which bilinear decimation keeps
    # (measured as the difference from a 3 × 3 median of the same 40 m image)
    from scipy.ndimage import median_filter
    rough = [np.nanstd(10 * np.log10(v) - median_filter(10 * np.log10(v), 3)) for v in (c[0], d[0])]
    assert rough[0] < 0.6 * rough[1]       # 0.25 against 0.47 dB: what is left is the smooth field itself
    assert importer.looks_for(15, geometry.image_info(prod.read("VV", "annotation"))) == 1
    calls = []
    with pytest.raises(engine.Cancelled):
        importer.import_grd(prod, ["VV"], str(tmp_path / "cancel.tif"), options=RunOptions(
            block_size=32, progress=calls.append, is_canceled=lambda: len(calls) >= 2))
    assert len(calls) == 2 and calls[0] < calls[1] < 1 and not list(tmp_path.glob("cancel.tif*"))
    with pytest.raises(importer.SceneError, match="does not overlap the scene"):
        importer.import_grd(prod, ["VV"], str(tmp_path / "off.tif"), extent=(0, 0, 1000, 1000))
    assert not (tmp_path / "off.tif").exists()
    # the scene's eastern part only
    dem = s1_safe.write_dem(tmp_path / "dem_small.tif", bounds=(11.12, 46.17, 11.13, 46.18), size=10)
    with pytest.raises(importer.SceneError, match=r"the DEM covers \d+\.\d % of the scene.*longitude 11\.10"):
        importer.import_grd(prod, ["VV"], str(tmp_path / "nodem.tif"), dem=dem)
    assert not (tmp_path / "nodem.tif").exists()


def _dem(path, height=0.0, east_slope=0.0, size=400):
    """A DEM over the synthetic scene: ``height`` m above the geoid plus ``east_slope`` (m per m) eastwards."""
    from sarsense.simulators import s1_safe
    bounds = s1_safe.SCENE_BOUNDS
    metres_east = (np.arange(size) + 0.5) * (bounds[2] - bounds[0]) / size * 111320.0 * np.cos(np.radians(46.15))
    return s1_safe.write_dem(path, np.broadcast_to(height + east_slope * metres_east, (size, size)), bounds)


def test_terrain_correction_on_a_flat_dem_agrees_with_the_grid_solution(tmp_path):
    """The synthetic product's grid is at sea level, so on a flat DEM at 0 m range-Doppler at the DEM's heights
    and at the grid's heights must put every map pixel on the same line and pixel: they agree within a centimetre
    (docs/sentinel1.md: the figure reported). The output values agree likewise, the local incidence equals the ellipsoid
    one within 0.01°, and block-wise equals whole."""
    from osgeo import gdal

    from sarsense.algorithms.io import engine
    from sarsense.algorithms.sentinel1 import geometry, importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    from sarsense.simulators import s1_safe
    prod = s1p.open_product(s1_safe.write_grd(tmp_path)["safe"])
    dem = _dem(tmp_path / "flat.tif")
    gcp_out, rd_out, rd_small = (str(tmp_path / n) for n in ("gcp.tif", "rd.tif", "rd_small.tif"))
    c_gcp = importer.import_grd(prod, ["VV", "VH"], gcp_out)
    c_rd = importer.import_grd(prod, ["VV", "VH"], rd_out, dem=dem)
    importer.import_grd(prod, ["VV", "VH"], rd_small, dem=dem, options=RunOptions(block_size=33, workers=2))
    a, b = gdal.Open(gcp_out).ReadAsArray(), gdal.Open(rd_out).ReadAsArray()
    np.testing.assert_array_equal(b, gdal.Open(rd_small).ReadAsArray())
    assert c_gcp["grid"] == c_rd["grid"] and c_rd["dem_nodata"] == 0
    assert sorted(p.name for p in tmp_path.glob("flat.tif*")) == ["flat.tif"]      # nothing written beside the DEM
    # a DEM 1 000 m up widens the grid by the foreshortening of its highest point (1 000 m / tan 35.9° ≈ 1.4 km)
    grid = geometry.geolocation_grid(prod.read("VV", "annotation"))
    margin = importer.dem_margin_m(grid, _dem(tmp_path / "high.tif", height=1000.0))
    assert 1000 / np.tan(np.radians(36.2)) < margin < 1000 / np.tan(np.radians(35.8))
    rd_ds = gdal.Open(rd_out)
    assert rd_ds.GetRasterBand(3).GetMetadata()["QUANTITY"] == "local incidence angle (DEM)"
    both = np.isfinite(a[0]) & np.isfinite(b[0])
    assert both.sum() > 0.99 * np.isfinite(a[0]).sum()
    both &= ~_at_band_edges(prod, c_gcp["grid"], 330)
    np.testing.assert_allclose(b[:2][:, both], a[:2][:, both], rtol=2e-3)
    np.testing.assert_allclose(b[2][both], a[2][both], atol=0.01)
    # the positions themselves, in metres (10 m lines and pixels)
    ann = prod.read("VV", "annotation")
    grid, image, mgrid = geometry.geolocation_grid(ann), geometry.image_info(ann), c_gcp["grid"]
    win = engine.Window(0, 0, mgrid.xsize, mgrid.ysize, 0, 0, mgrid.xsize, mgrid.ysize)
    l1, p1, _, _ = importer.GridLocator(grid, image, rd.range_geometry(ann), mgrid).locate(win)
    l2, p2, _, _ = importer.RangeDopplerLocator(rd.range_geometry(ann), image, mgrid, dem).locate(win)
    inside = (l1 > 0) & (l1 < image.lines - 1) & (p1 > 0) & (p1 < image.samples - 1)
    metres = 10.0 * np.hypot(l2 - l1, p2 - p1)[inside]
    assert np.sqrt(np.mean(metres ** 2)) < 0.01 and metres.max() < 0.05


def test_terrain_shifts_pixels_by_h_over_tan_theta_and_tilts_the_incidence(tmp_path):
    """A flat DEM 1 000 m up moves every pixel towards the sensor by 1 000 / tan θ of ground range (flat-Earth
    foreshortening; within 2 %). A slope of 10 % rising eastwards or westwards changes the local incidence by
    ± atan(0.1)·cos φ (φ the angle between the look and the east-west line; this descending pass's sensor is
    east of the scene, looking west, so ground rising eastwards faces away from it), and their mean is the
    ellipsoid incidence."""
    from sarsense.algorithms.io import engine
    from sarsense.algorithms.sentinel1 import geometry, importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    from sarsense.simulators import s1_safe
    prod = s1p.open_product(s1_safe.write_grd(tmp_path)["safe"])
    ann = prod.read("VV", "annotation")
    grid, image = geometry.geolocation_grid(ann), geometry.image_info(ann)
    mgrid = importer.map_grid(grid, "EPSG:32632", 10.0)
    win = engine.Window(0, 0, mgrid.xsize, mgrid.ysize, 0, 0, mgrid.xsize, mgrid.ysize)
    rg = rd.range_geometry(ann)
    located = {}
    for name, kw in (("sea", {}), ("up", {"height": 1000.0}), ("east", {"east_slope": 0.1}),
                     ("west", {"east_slope": -0.1})):
        located[name] = importer.RangeDopplerLocator(rg, image, mgrid, _dem(tmp_path / f"{name}.tif", **kw)).locate(win)
    l0, p0, inc0, _ = located["sea"]
    inside = (l0 > 10) & (l0 < image.lines - 10) & (p0 > 10) & (p0 < image.samples - 10)
    shift_m = (located["up"][1] - p0)[inside] * 10.0
    want = -1000.0 / np.tan(np.radians(inc0[inside]))
    np.testing.assert_allclose(shift_m, want, rtol=0.02)
    # the line hardly moves: 0.19 line (1.9 m) per km, the zero-Doppler plane being a little off the vertical
    assert np.abs(located["up"][0] - l0)[inside].max() < 0.3
    east, west = located["east"][2][inside], located["west"][2][inside]
    np.testing.assert_allclose((east + west) / 2, inc0[inside], atol=0.05)
    half = np.degrees(np.arctan(0.1))
    # the look azimuth is about 13° off due west: cos φ ≈ 0.97
    assert np.all(np.abs(east - west) / 2 > 0.93 * half) and np.all(np.abs(east - west) / 2 < 1.0 * half)
    assert np.all(east > west)      # ground rising eastwards faces away from a sensor east of the scene


def test_ew_grdm_product_imported_at_40_m(tmp_path):
    """An EW GRDM product (HH + HV, 40 m pixels; the simulator keeps the IW orbit's geometry): mode read from the
    manifest, 40 m by default with no averaging (its own pixels are 40 m), σ0 at the simulated level."""
    from osgeo import gdal

    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    made = s1_safe.write_grd(tmp_path, mode="EW", pols=("HH", "HV"), rows=120, cols=150, pixel0=1000)
    prod = s1p.open_product(made["safe"])
    assert prod.mode == "EW" and prod.polarisations == ("HH", "HV") and "_EW_GRDM_1SDH_" in prod.name
    out = str(tmp_path / "ew.tif")
    counts = importer.import_grd(prod, ["HH", "HV"], out, db=True)
    ds = gdal.Open(out)
    assert ds.GetGeoTransform()[1] == 40.0 and counts["looks"] == 1
    hh, hv, inc = ds.ReadAsArray()
    assert -13 < np.nanmedian(hh) < -7 and np.nanmedian(hh - hv) == pytest.approx(7.0, abs=1.0)
    assert 30 < np.nanmin(inc) < np.nanmax(inc) < 46.5 and np.isfinite(hh).sum() > 0.5 * 120 * 150


def test_border_noise_rule_by_hand():
    from sarsense.algorithms.sentinel1 import radiometry as rad
    dn = np.array([[0, 0, 5, 6, 7, 8, 9, 0],
                   [1, 2, 3, 4, 5, 6, 7, 8]])
    d = rad.distance_to_nodata(dn)
    assert d[0].tolist() == [0, 0, 1, 2, 3, 2, 1, 0] and (d[1] > 1000).all()
    values = np.array([[np.nan, np.nan, 1e-4, 1e-4, 0.1, 1e-4, 0.1, np.nan],
                       [1e-4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 1e-4]])   # -40 dB and -10 dB
    mask = rad.border_noise(dn, values, limit_px=2, threshold_db=-30.0)
    # row 0: within 2 samples of the zeros and below -30 dB: columns 2, 3 and 5; column 4 is 3 away
    assert mask[0].tolist() == [False, False, True, True, False, True, False, False]
    assert not mask[1].any()                                            # no no-data edge in that row


def test_border_noise_masked_for_old_products_only(tmp_path):
    """The −45 dB strip after the no-data edge (image columns 5-14) of an IPF 2.72 product is masked with
    BORDER_NOISE and kept without; products of IPF ≥ 2.90 need no rule."""
    from osgeo import gdal

    from sarsense.algorithms.io import engine
    from sarsense.algorithms.sentinel1 import geometry, importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    from sarsense.simulators import s1_safe
    old = s1p.open_product(s1_safe.write_grd(tmp_path / "old", ipf="002.72", legacy_noise=True,
                                             border_strip=True)["safe"])
    ann = old.read("VV", "annotation")
    image = geometry.image_info(ann)
    strip = scene = None
    for border, masked in ((True, True), (False, False)):
        out = str(tmp_path / f"old_{border}.tif")
        counts = importer.import_grd(old, ["VV"], out, border_noise=border, options=RunOptions(block_size=64))
        vv = gdal.Open(out).ReadAsArray()[0]
        if strip is None:       # map pixels whose nearest image sample is in the strip, or well inside
            mgrid = counts["grid"]
            whole = engine.Window(0, 0, mgrid.xsize, mgrid.ysize, 0, 0, mgrid.xsize, mgrid.ysize)
            line, pixel, _, _ = importer.GridLocator(geometry.geolocation_grid(ann), image, rd.range_geometry(ann),
                                                     mgrid).locate(whole)
            rows_ok = (line > 1) & (line < image.lines - 5)
            strip = rows_ok & (np.rint(pixel) >= 6) & (np.rint(pixel) <= 13)
            scene = rows_ok & (pixel > 25) & (pixel < 60)
        assert counts["border_rule"] is border
        if masked:
            assert np.isnan(vv[strip]).all() and counts["border"]["VV"] >= strip.sum()
            assert np.isfinite(vv[scene]).all()                        # the scene beyond is kept
        else:
            assert np.isfinite(vv[strip]).mean() > 0.5 and counts["border"]["VV"] == 0
    new = s1p.open_product(s1_safe.write_grd(tmp_path / "new", border_strip=True)["safe"])
    counts = importer.import_grd(new, ["VV"], str(tmp_path / "new.tif"))
    assert counts["border_rule"] is False and importer.needs_border_rule("002.72") and \
        not importer.needs_border_rule("003.31")


def _halo_rule(dn, values, r0, r1, c0, c1, limit_px):
    """The border-noise mask of window [r0:r1, c0:c1] as the importer computed it before issue #30: the window
    read with a halo of ``limit_px`` columns on both sides (within the image), the rule on that, the halo cut."""
    from sarsense.algorithms.sentinel1 import radiometry as rad
    a, b = max(0, c0 - limit_px), min(dn.shape[1], c1 + limit_px)
    return rad.border_noise(dn[r0:r1, a:b], values[r0:r1, a:b], limit_px=limit_px)[:, c0 - a:c1 - a]


def test_border_noise_from_the_line_table_equals_the_halo_rule():
    """Issue #30: each window's border-noise mask from the per-line table of DN 0 (nodata_reach → reach_mask, no
    halo read) is the one the rule gave on the window read with a halo of limit_px columns, sample for sample:
    fill at both sides, interior DN 0, rows without any DN 0, a row of scattered DN 0, windows at both image
    edges and one sample wide. A row's intervals stay within n // (2·limit + 2) + 2 however its DN 0 lie."""
    from sarsense.algorithms.sentinel1 import radiometry as rad
    rng = np.random.default_rng(30)
    limit, h, n = 6, 40, 90
    dn = rng.integers(1, 60, (h, n)).astype(np.uint16)
    dn[:, :4] = 0
    dn[:, -3:] = 0
    dn[20:25, :4] = dn[20:25, -3:] = 7                  # rows without any DN 0
    dn[5, 40:43] = 0                                    # interior DN 0
    dn[30, 50] = dn[31, 10] = 0
    dn[35] = 9
    dn[35, ::2 * limit + 2] = 0                         # scattered: intervals one sample apart, none merging
    values = 10.0 ** (rng.uniform(-40.0, -20.0, (h, n)) / 10.0)
    values[rng.random((h, n)) < 0.05] = np.nan
    row, lo, hi = rad.nodata_reach(dn, limit_px=limit)
    per_row = np.bincount(row, minlength=h)
    assert per_row[35] == -(-n // (2 * limit + 2)) <= n // (2 * limit + 2) + 2 and per_row[20:25].sum() == 0
    assert per_row.max() == per_row[35] and per_row[0] == 2 and per_row[5] == 3
    whole = rad.distance_to_nodata(dn) <= limit
    assert np.array_equal(rad.reach_mask(row, lo, hi, (h, n)), whole)
    windows = [(0, h, 0, n), (0, 17, 0, 9), (3, 40, 80, 90), (10, 33, 30, 60), (0, 40, 45, 46), (34, 36, 0, 90),
               (18, 27, 7, 85), (28, 32, 11, 12)]
    context = 0
    for r0, r1, c0, c1 in windows:
        old = _halo_rule(dn, values, r0, r1, c0, c1, limit)
        near = rad.reach_mask(row - r0, lo, hi, (r1 - r0, c1 - c0), col0=c0)
        new = rad.border_noise(dn[r0:r1, c0:c1], values[r0:r1, c0:c1], near=near, limit_px=limit)
        assert np.array_equal(new, old), (r0, r1, c0, c1)
        # the window alone (no halo, no table) would miss DN 0 beyond it: the context matters here
        context += (rad.border_noise(dn[r0:r1, c0:c1], values[r0:r1, c0:c1], limit_px=limit) != old).sum()
    assert context > 10 and _halo_rule(dn, values, 0, h, 0, n, limit).sum() > 200


def _legacy_with_interior_nodata(tmp_path, limit):
    """An IPF 2.72 product (border strip at −45 dB) whose DN has, besides the fill, a DN-0 hole inside the scene
    ringed by −45 dB samples out to beyond ``limit``, and lines without any DN 0 (the fill put back)."""
    from osgeo import gdal

    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    made = s1_safe.write_grd(tmp_path, ipf="002.72", legacy_noise=True, border_strip=True, pols=("VV",),
                             keep_arrays=False)
    prod = s1p.open_product(made["safe"])
    ds = gdal.Open(prod.path("VV", "measurement"), gdal.GA_Update)
    dn = ds.ReadAsArray()
    dark = dn[:-3, 5:15].min()                          # a −45 dB sample's DN (below −30 dB with noise removed)
    assert dark > 0
    dn[90:130, 150 - limit - 20:150 + limit + 20] = dark
    dn[100:120, 140:160] = 0
    dn[40:60, :5] = dn[40:60, 20:25]
    ds.GetRasterBand(1).WriteArray(dn)
    ds = None
    return prod


def test_the_import_with_the_line_table_equals_the_halo_rule_and_reads_no_halo(tmp_path, monkeypatch):
    """Issue #30: an IPF < 2.90 product imported with the border-noise rule's per-line table of DN 0, in tiny
    blocks on two threads (and in one block), is byte for byte the import made with the rule's old halo (each
    window read ``limit`` columns wider on both sides, the rule applied there), same counts; its windows read no
    more samples than the same import without the rule, and the table reads each image line once."""
    from osgeo import gdal

    from sarsense.algorithms.io.engine import executors
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import radiometry as rad
    limit = 40                                          # the rule's reach, narrower than the 330-sample image
    monkeypatch.setattr(rad, "BORDER_LIMIT_PX", limit)
    monkeypatch.setattr(importer, "REACH_READ_SAMPLES", 7 * 330)   # the table read 7 lines at a time: windows
    prod = _legacy_with_interior_nodata(tmp_path, limit)          # straddle its reads
    read = []
    power = rad.power

    def counted(dn, *args):
        read.append(np.asarray(dn).size)
        return power(dn, *args)

    def halo_near(self, band, r0, r1, c0, c1):         # the old rule's context: a halo of limit columns
        a, b = max(0, c0 - limit), min(self.samples, c1 + limit)
        return (rad.distance_to_nodata(band.ReadAsArray(a, r0, b - a, r1 - r0)) <= limit)[:, c0 - a:c1 - a]

    monkeypatch.setattr(rad, "power", counted)
    # on this process's threads whatever the session's executor: the patched reader and rule are this process's
    # (test_executor_parity.py compares the import with the table on a Dask cluster)
    here = executors.LOCAL
    runs = {}
    for name, rule, opts in (("table", True, RunOptions(block_size=37, workers=2, executor=here)),
                             ("none", False, RunOptions(executor=here)),
                             ("table whole", True, RunOptions(executor=here))):
        read.clear()
        runs[name] = importer.import_grd(prod, ["VV"], str(tmp_path / f"{name}.tif"), border_noise=rule,
                                         options=opts), sum(read)
    with monkeypatch.context() as m:
        m.setattr(importer._NodataReach, "near", halo_near)
        runs["halo"] = importer.import_grd(prod, ["VV"], str(tmp_path / "halo.tif"),
                                           options=RunOptions(block_size=37, workers=2, executor=here)), None
    arrays = {k: gdal.Open(str(tmp_path / f"{k}.tif")).ReadAsArray() for k in runs}
    assert arrays["table"].tobytes() == arrays["halo"].tobytes() == arrays["table whole"].tobytes()
    table, halo, none = runs["table"][0], runs["halo"][0], runs["none"][0]
    assert table["border"] == halo["border"] and table["below_noise"] == halo["below_noise"]
    hole = np.isnan(arrays["table"][0]) & ~np.isnan(arrays["none"][0])
    assert table["border"]["VV"] > 1000 and hole.sum() > 1000     # the strip and the ring around the hole
    assert runs["table whole"][1] <= runs["none"][1] and table["border_table"]["lines"] == 240
    # one interval a line (the fill at the left), none in the 20 lines put back, one more in the hole's 20
    assert table["border_table"]["intervals"] == 240 - 20 + 20 and none["border_table"] is None


# -- range-Doppler on the real IW GRDH annotation ------------------------------------------------------------
def _iw_grd():
    return _annotation(next(IW.glob("s1b-iw-grd-vv-*.xml.gz")))


def test_orbit_interpolation_against_the_state_vectors_themselves():
    """Each inner state vector left out, the cubic Hermite of its neighbours 20 s apart gives it back within
    5 cm and 5 cm/s; at the vectors themselves it is exact."""
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    orbit = rd.range_geometry(_iw_grd()).orbit
    assert len(orbit.t) == 16 and np.all(np.diff(orbit.t) == 10.0)
    pos, vel = orbit.at(orbit.t)
    np.testing.assert_allclose(pos, orbit.pos, atol=1e-6)
    np.testing.assert_allclose(vel, orbit.vel, atol=1e-9)
    for k in range(1, len(orbit.t) - 1):
        sub = rd.Orbit(orbit.epoch, np.delete(orbit.t, k), np.delete(orbit.pos, k, 0), np.delete(orbit.vel, k, 0))
        p, v = sub.at(orbit.t[k])
        assert np.linalg.norm(p - orbit.pos[k]) < 0.05 and np.linalg.norm(v - orbit.vel[k]) < 0.05


def test_newton_from_the_nodes_and_the_closed_form_earth_fixed_coordinates():
    """One Newton step from a start 5 ms off gives the zero-Doppler time of eight from the first line (within a
    nanosecond), and the satellite position returned with it is the orbit's at that time (within a micrometre);
    the closed-form geodetic → Earth-fixed conversion equals PROJ's."""
    from pyproj import Transformer

    from sarsense.algorithms.sentinel1 import geometry
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    text = _iw_grd()
    g = rd.range_geometry(text)
    grid = geometry.geolocation_grid(text).points
    lon, lat, h = grid["longitude"], grid["latitude"], grid["height"]
    xyz = rd.geodetic_to_ecef(lon, lat, h)
    x, y, z = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon, lat, h)
    np.testing.assert_allclose(xyz, np.stack([x, y, z], axis=-1), rtol=0, atol=1e-6)
    t8, pos8 = g.zero_doppler_position(xyz)
    t1, pos1 = g.zero_doppler_position(xyz, t_start=t8 + 5e-3, steps=1)
    assert np.abs(t1 - t8).max() < 1e-9
    np.testing.assert_allclose(pos8, g.orbit.at(t8)[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(pos1, g.orbit.at(t1)[0], rtol=0, atol=1e-6)


def test_range_doppler_puts_the_real_grid_points_on_their_lines_and_pixels():
    """Every point of the real IW GRDH grid (lon, lat, height) geocoded back to the image: zero-Doppler time
    within 0.1 ms of its azimuthTime, slant range within 1 cm of c·τ/2, pixel within 0.05, line within 0.3
    (the grid's own times and line numbers differ by up to 0.18 of a line)."""
    import xml.etree.ElementTree as ET

    from sarsense.algorithms.sentinel1 import geometry
    from sarsense.algorithms.sentinel1 import rangedoppler as rd
    text = _iw_grd()
    g = rd.range_geometry(text)
    grid = geometry.geolocation_grid(text).points
    xyz = rd.geodetic_to_ecef(grid["longitude"], grid["latitude"], grid["height"])
    t, r = g.zero_doppler(xyz)
    pts = ET.fromstring(text).findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    azt = np.array([g.orbit.seconds(p.findtext("azimuthTime")) for p in pts])
    tau = np.array([float(p.findtext("slantRangeTime")) for p in pts])
    assert np.abs(t - azt).max() < 1e-4
    assert np.abs(r - tau * 299792458.0 / 2).max() < 0.01
    line, pixel = g.line_pixel(xyz)
    assert np.abs(pixel - grid["pixel"]).max() < 0.05
    assert np.abs(line - grid["line"]).max() < 0.3


def test_the_import_writes_the_products_enl_for_the_speckle_filters(tmp_path):
    """Issue #27: an IW GRDH imported at its own 10 m (no further averaging) carries ESA's ENL, 4.4, which
    sarsense:despeckle reads; a multi-looked import or an EW GRDM (not in the table) carries none."""
    from osgeo import gdal

    from sarsense.algorithms.sar import speckle
    from sarsense.algorithms.sentinel1 import importer
    from sarsense.algorithms.sentinel1 import product as s1p
    from sarsense.simulators import s1_safe
    prod = s1p.open_product(s1_safe.write_grd(tmp_path / "iw", rows=120, cols=160)["safe"])
    out = str(tmp_path / "iw.tif")
    importer.import_grd(prod, ["VV"], out)
    ds = gdal.Open(out)
    assert ds.GetMetadataItem("ENL") == "4.4" and "IW GRDH" in ds.GetMetadataItem("ENL_SOURCE")
    ds = None
    assert speckle.band_looks(out)[0] == (4.4, "the input's metadata (Sentinel-1 product specification, IW GRDH)")
    assert importer.enl_metadata(prod, looks=4) == {}
    ew = s1p.open_product(s1_safe.write_grd(tmp_path / "ew", rows=60, cols=80, mode="EW")["safe"])
    assert importer.enl_metadata(ew) == {}
