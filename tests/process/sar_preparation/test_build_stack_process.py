"""sarsense:buildstack on what the Sentinel-1 import writes (issue 27): one polarisation per stack, never the
incidence angle, a user's own dated files kept, and no stack with a date nothing tells apart."""

import shutil

import numpy as np
import pytest
from helpers import write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, ok, refused, run

from sarsense.algorithms.io import stack
from sarsense.simulators import s1_safe

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def imported(env, tmp_path_factory):
    """A simulated GRD imported as the user does: VV, VH and the incidence angle of 2021-04-01T05:26:41."""
    d = tmp_path_factory.mktemp("imported")
    made = s1_safe.write_grd(d, zip_it=True)
    assert ok(env, "importsentinel1", INPUT=made["zip"], OUTPUT=d / "imp.tif")
    return str(d / "imp.tif")


def test_auto_refuses_several_polarisations_with_the_choices(env, imported, tmp_path):
    refused(env, "buildstack", INPUTS=imported, OUTPUT=tmp_path / "s.tif",
            match=("several polarisations: VV (1 band), VH (1 band)", "Choose one with Polarisation (POLARISATION): "
                   "VV, VH"))
    assert not (tmp_path / "s.tif").exists()


def test_one_polarisation_without_the_incidence_angle_and_own_files_kept(env, imported, tmp_path):
    info = gdal.Open(imported)
    own = write_raster(tmp_path / "my_vh_2021-04-13.tif", np.full((info.RasterYSize, info.RasterXSize), -17.0),
                       epsg=32632, gt=info.GetGeoTransform())
    info = None
    out = tmp_path / "vh.tif"
    res = run(env, "buildstack", f"--INPUTS={imported}", f"--INPUTS={own}", "--POLARISATION=2", f"--OUTPUT={out}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert "1 incidence-angle band(s) left out: 2021-04-01" in log and "1 VV band(s) left out" in log
    assert stack.band_dates(str(out)) == ["2021-04-01", "2021-04-13"]
    ds = gdal.Open(str(out))
    first, second = ds.GetRasterBand(1).GetMetadata(), ds.GetRasterBand(2).GetMetadata()
    assert (first["POLARISATION"], first["QUANTITY"], first["DATE"]) == ("VH", "sigma0", "2021-04-01T05:26:41")
    assert first["MISSION"] == "S1B" and first["PRODUCT"].startswith("S1B_IW_GRDH")
    assert "POLARISATION" not in second and second["DATE"] == "2021-04-13"      # the user's file, as it was
    src = gdal.Open(imported)
    vh = src.GetRasterBand(2).ReadAsArray()
    got = ds.GetRasterBand(1).ReadAsArray()
    both = np.isfinite(vh) & np.isfinite(got)
    np.testing.assert_array_equal(got[both], vh[both])                        # the VH band, not VV or the angle
    assert stack.check_series(str(out)) == ["2021-04-01", "2021-04-13"]


def test_two_files_of_one_acquisition_are_refused_naming_dates_and_files(env, imported, tmp_path):
    copy = tmp_path / "same_scene_again.tif"
    shutil.copy(imported, copy)
    refused(env, "buildstack", f"--INPUTS={imported}", f"--INPUTS={copy}", "--POLARISATION=1",
            f"--OUTPUT={tmp_path / 's.tif'}", match=("2021-04-01: bands 1, 2 (imp.tif, same_scene_again.tif)",
                                                     "no distinct time of day"))
    assert not (tmp_path / "s.tif").exists()
