"""Crop mapping in real QGIS (processing.run): results equal the core, the water reference comes from
polygons, a mask or the threshold, and bad inputs are refused with a message and no output."""

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from qgis.core import QgsFeature, QgsGeometry, QgsProcessingException, QgsRectangle, QgsVectorLayer
from qgis_helpers import Log, run

from sarsense.algorithms.crop import water_index
from sarsense.algorithms.io import stack as _stack

DATES = ["2017-03-10", "2017-03-22", "2017-04-03"]
GT = (600000.0, 20.0, 0.0, 4800000.0, 0.0, -20.0)   # EPSG:32631, 20 m


@pytest.fixture()
def vh(tmp_path):
    """A VH dB stack, 60 × 80 px: water in columns 0-19 (about −25 dB), fields elsewhere (about −15 dB)."""
    rng = np.random.default_rng(11)
    db = rng.normal(-15, 1.0, (3, 60, 80))
    db[:, :, :20] = rng.normal(-25, 0.5, (3, 60, 20))
    db[1, 5, 50] = np.nan
    return write_raster(tmp_path / "vh_db.tif", db.astype(np.float32), descriptions=DATES, nodata=float("nan")), db


def _expected(db, water):
    lin = (10 ** (db / 10)).astype(np.float32)
    sums, counts = water_index.water_sums(lin, water)
    t = water_index.water_reference(sums, counts)
    return water_index.normalized_index(lin, t), t, counts


def _water_polygon(crs, rect):
    layer = QgsVectorLayer(f"Polygon?crs={crs}", "lake", "memory")
    f = QgsFeature()
    f.setGeometry(QgsGeometry.fromRect(rect))
    layer.dataProvider().addFeatures([f])
    return layer


def test_water_normalized_auto_equals_core_keeps_dates_and_logs_t(sarsense, vh, tmp_path):
    path, db = vh
    log = Log()
    res = run("waternormalized", {"INPUT": path, "INPUT_UNITS": 1, "OUTPUT": str(tmp_path / "n.tif")}, feedback=log)
    want, t, counts = _expected(db, np.all(db < -20, axis=0))
    got = read_raster(res["OUTPUT"])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isnan(got[1, 5, 50]) and np.nanmin(got) >= -1 and np.nanmax(got) <= 1
    assert _stack.band_dates(res["OUTPUT"]) == DATES
    ds = gdal.Open(res["OUTPUT"])   # keep the dataset alive while its band is used
    band = ds.GetRasterBand(2)
    assert float(band.GetMetadataItem("WATER_T_LINEAR")) == pytest.approx(t[1], rel=1e-5)
    assert float(band.GetMetadataItem("WATER_T_DB")) == pytest.approx(10 * np.log10(t[1]), abs=1e-3)
    assert int(band.GetMetadataItem("WATER_PIXELS")) == counts[1] == 1200
    assert any("2017-03-22: water T = " in line and "1200 pixels" in line for line in log.lines)


def test_water_from_polygons_in_another_crs_and_from_a_mask_agree(sarsense, vh, tmp_path):
    path, db = vh
    # columns 2..9 of the grid: x 600040..600200, all rows; given in WGS 84 to test the transform
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject
    utm = QgsRectangle(600041, 4798801, 600199, 4799999)
    tr = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:32631"), QgsCoordinateReferenceSystem("EPSG:4326"),
                                QgsProject.instance())
    lake = _water_polygon("EPSG:4326", tr.transformBoundingBox(utm))
    water = np.zeros((60, 80), dtype=bool)
    water[:, 2:10] = True
    want, t, counts = _expected(db, water)
    by_poly = run("waternormalized", {"INPUT": path, "WATER": lake, "OUTPUT": str(tmp_path / "p.tif")})
    got = read_raster(by_poly["OUTPUT"])
    # the reprojected rectangle's edges wobble by under a pixel: compare T, which averages 480 pixels
    ds = gdal.Open(by_poly["OUTPUT"])
    t_got = [float(ds.GetRasterBand(b).GetMetadataItem("WATER_T_LINEAR")) for b in (1, 2, 3)]
    np.testing.assert_allclose(t_got, t, rtol=0.02)
    assert abs(int(ds.GetRasterBand(1).GetMetadataItem("WATER_PIXELS")) - counts[0]) <= 60   # 8 columns × 60 rows
    mask = write_raster(tmp_path / "mask.tif", water.astype(np.float32), gt=GT)
    by_mask = run("waternormalized", {"INPUT": path, "WATER_MASK": mask, "OUTPUT": str(tmp_path / "m.tif")})
    np.testing.assert_allclose(read_raster(by_mask["OUTPUT"]), want, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.nanmax(np.abs(got - read_raster(by_mask["OUTPUT"]))) < 0.02


def test_water_normalized_refuses_no_water_wrong_units_and_points(sarsense, vh, tmp_path):
    path, db = vh
    out = tmp_path / "n.tif"
    with pytest.raises(QgsProcessingException, match="no water pixels were found.*Automatic water threshold"):
        run("waternormalized", {"INPUT": path, "AUTO_WATER_DB": -40, "OUTPUT": str(out)})
    assert not out.exists()
    with pytest.raises(QgsProcessingException, match="looks like dB"):
        run("waternormalized", {"INPUT": path, "INPUT_UNITS": 0, "OUTPUT": str(out)})
    assert not out.exists()
    far = _water_polygon("EPSG:32631", QgsRectangle(0, 0, 100, 100))
    with pytest.raises(QgsProcessingException, match="no water pixels"):
        run("waternormalized", {"INPUT": path, "WATER": far, "OUTPUT": str(out)})
    assert not out.exists()
    undated = write_raster(tmp_path / "undated.tif", db.astype(np.float32))
    with pytest.raises(QgsProcessingException, match="dated stack"):
        run("waternormalized", {"INPUT": undated, "OUTPUT": str(out)})
    assert not out.exists()
