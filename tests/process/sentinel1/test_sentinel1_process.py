"""Sentinel-1 import headless: sarsense:importsentinel1 through qgis_process.bin --json on a synthetic GRD in the
real SAFE layout (simulators/s1_safe.py), zip and folder, with and without DEM, and the bad inputs."""

import json

import numpy as np
import pytest
from helpers import read_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, refusal, run

from sarsense.simulators import s1_safe

pytestmark = needs_qgis_process


def import_s1(env, *args):
    return run(env, "importsentinel1", *args)


def test_zip_to_geocoded_sigma0_db_with_incidence(env, tmp_path):
    made = s1_safe.write_grd(tmp_path, zip_it=True)
    out = tmp_path / "s1.tif"
    res = import_s1(env, f"--INPUT={made['zip']}", f"--OUTPUT={out}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert doc["results"]["OUTPUT"] == str(out)
    ds = gdal.Open(str(out))
    assert ds.RasterCount == 3 and "32632" in ds.GetSpatialRef().GetAuthorityCode(None)
    assert ds.GetGeoTransform()[1] == 10.0
    bands = [ds.GetRasterBand(i + 1) for i in range(3)]
    assert [b.GetDescription() for b in bands] == ["VV sigma0", "VH sigma0", "incidence angle"]
    assert bands[0].GetMetadata()["units"] == "dB" and bands[2].GetMetadata()["units"] == "degrees"
    assert ds.GetMetadata()["DATE"].startswith("2021-04-01T05:26:41")
    arr = read_raster(out)
    vv, vh, inc = arr
    ok = np.isfinite(vv) & np.isfinite(vh)
    assert ok.sum() > 0.5 * vv.size
    assert -14 < np.nanmedian(vv) < -5 and np.nanmedian(vv - vh) == pytest.approx(7.0, abs=1.0)
    assert 30 < np.nanmin(inc) < np.nanmax(inc) < 46.5
    # the folder, VH only, linear: the same VH values in linear power
    lin = tmp_path / "vh.tif"
    res = import_s1(env, f"--INPUT={made['safe']}", "--POLARISATIONS=1", "--OUTPUT_UNITS=0", f"--OUTPUT={lin}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    vh_lin = read_raster(lin)[0]
    both = np.isfinite(vh_lin) & np.isfinite(vh)
    np.testing.assert_allclose(10 * np.log10(vh_lin[both]), vh[both], atol=1e-4)


def test_terrain_corrected_with_a_dem(env, tmp_path):
    """With a flat DEM at sea level the terrain-corrected σ0 equals the grid-geocoded one (the synthetic grid is
    at sea level); the incidence band is the local one; an extent in another CRS cuts the output."""
    made = s1_safe.write_grd(tmp_path)
    plain, dem_out = tmp_path / "plain.tif", tmp_path / "dem.tif"
    dem = s1_safe.write_dem(tmp_path / "flat.tif")
    assert import_s1(env, f"--INPUT={made['safe']}", "--POLARISATIONS=0", f"--OUTPUT={plain}").returncode == 0
    res = import_s1(env, f"--INPUT={made['safe']}", "--POLARISATIONS=0", f"--DEM={dem}", f"--OUTPUT={dem_out}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "terrain-corrected with flat.tif" in res.stdout + res.stderr
    a, b = read_raster(plain), read_raster(dem_out)
    both = np.isfinite(a[0]) & np.isfinite(b[0])
    assert both.sum() > 0.99 * np.isfinite(a[0]).sum()
    # dB; the positions agree within 5 mm, which next to the simulated dark band's sharp edges moves a value by
    # up to a tenth of a dB (a handful of pixels)
    diff = np.abs(b[0][both] - a[0][both])
    assert np.quantile(diff, 0.999) < 0.01 and diff.max() < 0.1
    np.testing.assert_allclose(b[1][both], a[1][both], atol=0.01)
    ds = gdal.Open(str(dem_out))
    assert ds.GetRasterBand(2).GetMetadata()["QUANTITY"] == "local incidence angle (DEM)"
    assert ds.GetMetadata()["GEOCODING"] == "range-Doppler with DEM"
    cut = tmp_path / "cut.tif"
    res = import_s1(env, f"--INPUT={made['safe']}", "--POLARISATIONS=0", "--EXTENT=11.12,11.14,46.15,46.16 [EPSG:4326]",
              f"--OUTPUT={cut}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    small = gdal.Open(str(cut))
    assert small.RasterXSize < 0.6 * ds.RasterXSize and small.RasterYSize < 0.6 * ds.RasterYSize


def test_old_products_border_rule_tables_each_line_once(env, tmp_path):
    """Issue #30: an IPF 2.72 product's border noise is masked from a table of its DN 0 read once (each of its 240
    lines), said in the log with what the table cost, and the masked pixels counted."""
    made = s1_safe.write_grd(tmp_path, ipf="002.72", legacy_noise=True, border_strip=True, pols=("VV",))
    res = import_s1(env, f"--INPUT={made['safe']}", f"--OUTPUT={tmp_path / 'old.tif'}")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    assert "IPF 002.72: border noise rule on; the DN 0 of 240 image line(s) tabled once in " in text
    assert "each image window read without a halo" in text and "output pixel(s) of border noise masked" in text


def import_refused(env, tmp_path, *args, match):
    out = tmp_path / "x.tif"
    refusal(import_s1(env, *args, f"--OUTPUT={out}"), match)
    assert not out.exists() and not list(tmp_path.glob("x.tif*"))


def test_bad_products_are_refused_with_the_reason(env, tmp_path):
    made = s1_safe.write_grd(tmp_path / "ok", zip_it=True, rows=60, cols=80)
    cut = tmp_path / "cut.zip"
    data = open(made["zip"], "rb").read()
    cut.write_bytes(data[: len(data) // 2])
    import_refused(env, tmp_path, f"--INPUT={cut}", match="truncated or damaged")
    import_refused(env, tmp_path, f"--INPUT={made['safe']}", "--POLARISATIONS=2", match="HH not in")
    slc = s1_safe.write_grd(tmp_path / "slc", product_type="SLC", rows=20, cols=30)
    import_refused(env, tmp_path, f"--INPUT={slc['safe']}", match="single-look complex")
    other = s1_safe.write_grd(tmp_path / "s2", family="SENTINEL-2", rows=20, cols=30)
    import_refused(env, tmp_path, f"--INPUT={other['safe']}", match="not Sentinel-1")
    gone = s1_safe.write_grd(tmp_path / "gone", rows=60, cols=80)
    cal = next((tmp_path / "gone").glob("*.SAFE/annotation/calibration/calibration-*-vv-*.xml"))
    cal.unlink()
    import_refused(env, tmp_path, f"--INPUT={gone['safe']}", match="cannot read the calibration file of VV")
    ok = made["safe"]
    import_refused(env, tmp_path, f"--INPUT={ok}", "--EXTENT=0,1,0,1 [EPSG:4326]", match="does not overlap the scene")
    small_dem = s1_safe.write_dem(tmp_path / "small_dem.tif", bounds=(11.12, 46.17, 11.13, 46.18))
    import_refused(env, tmp_path, f"--INPUT={ok}", f"--DEM={small_dem}", match="the DEM covers")


def test_model3_import_despeckle_to_db(env, tmp_path):
    """resources/workflows/sentinel1_grd_db.model3: import (linear) → the polarisation's band → Gamma-MAP → dB, and
    the incidence band as a second output."""
    made = s1_safe.write_grd(tmp_path, zip_it=True)
    db, inc = tmp_path / "db.tif", tmp_path / "inc.tif"
    res = qp(env, "run", "sarsense:sentinel1_grd_db", "--json", f"--product={made['zip']}", "--polarisation=0",
             "--window=5", "--looks=4.4", f"--todb:Despeckled backscatter (dB)={db}",
             f"--incidence:Incidence angle (degrees)={inc}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    vv, angle = read_raster(db), read_raster(inc)
    assert vv.shape[0] == 1 and angle.shape == vv.shape
    plain = tmp_path / "plain.tif"
    assert import_s1(env, f"--INPUT={made['zip']}", "--POLARISATIONS=0", f"--OUTPUT={plain}").returncode == 0
    raw = read_raster(plain)[0]
    both = np.isfinite(vv[0]) & np.isfinite(raw)
    assert both.sum() > 0.5 * raw.size
    assert abs(np.nanmedian(vv[0][both]) - np.nanmedian(raw[both])) < 1.0     # same level, speckle smoothed
    assert np.nanstd(vv[0][both]) < np.nanstd(raw[both])
    assert 30 < np.nanmin(angle) < np.nanmax(angle) < 46.5


def test_the_products_enl_reaches_despeckle(env, tmp_path):
    """Issue #27: the import of an IW GRDH at its own 10 m writes ESA's ENL (4.4) and says so; Despeckle, its ENL
    left at 0, filters with it and says where it came from (it used 1, silently)."""
    made = s1_safe.write_grd(tmp_path, rows=120, cols=160)
    out = tmp_path / "s1.tif"
    res = import_s1(env, f"--INPUT={made['safe']}", "--POLARISATIONS=0", f"--OUTPUT={out}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert any(line.startswith("ENL 4.4 (Sentinel-1 product specification, IW GRDH) written")
               for line in doc["log"]["info"])
    res = run(env, "despeckle", f"--INPUT={out}", "--FILTER=1", f"--OUTPUT={tmp_path / 'd.tif'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    info = json.loads(res.stdout[res.stdout.index("{"):])["log"]["info"]
    assert "Band 1: ENL 4.4, the input's metadata (Sentinel-1 product specification, IW GRDH)." in info
