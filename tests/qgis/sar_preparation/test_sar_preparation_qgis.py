"""SAR preparation in real QGIS (processing.run): the group, its enums, results equal to the core, refusals, the
shipped chain."""

import os

import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster, write_raster
from qgis.core import QgsProcessingException, QgsProcessingModelAlgorithm
from qgis_helpers import run

from sarsense.algorithms import sar
from sarsense.algorithms.sar import speckle

EXPECTED = {"convertunits", "despeckle", "multitemporaldespeckle", "buildstack", "polratio",
            "importsentinel1"}  # SAR preparation


def test_sar_preparation_group(sarsense):
    for name in EXPECTED:
        assert sarsense.algorithm(name).group() == "SAR preparation"


def test_enum_orders_are_fixed(sarsense):
    assert sarsense.algorithm("convertunits").parameterDefinition("CONVERSION").options()[1].startswith("dB")
    opts = sarsense.algorithm("despeckle").parameterDefinition("FILTER").options()
    assert [o.split()[0] for o in opts] == ["Boxcar", "Lee", "Refined", "Frost", "Gamma-MAP", "Kuan", "Median"]


def test_chain_equals_core(sarsense, sample_db, tmp_path):
    lin = run("convertunits", {"INPUT": sample_db, "CONVERSION": 1, "OUTPUT": str(tmp_path / "lin.tif")})["OUTPUT"]
    gm = run("despeckle", {"INPUT": lin, "FILTER": 4, "SIZE": 5, "INPUT_UNITS": 0, "LOOKS": 1,
                           "OUTPUT": str(tmp_path / "gm.tif")})["OUTPUT"]
    db = run("convertunits", {"INPUT": gm, "CONVERSION": 0, "OUTPUT": str(tmp_path / "db.tif")})["OUTPUT"]
    expected = sar.linear_to_db(speckle.gamma_map(sar.db_to_linear(read_raster(sample_db)[0])[0], size=5))[0]
    np.testing.assert_allclose(read_raster(db)[0], expected, rtol=1e-5, atol=1e-4)
    # the dB shortcut of despeckle gives the same result
    direct = run("despeckle", {"INPUT": sample_db, "FILTER": 4, "INPUT_UNITS": 1, "LOOKS": 1,
                               "OUTPUT": str(tmp_path / "d.tif")})
    np.testing.assert_allclose(read_raster(direct["OUTPUT"])[0], expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("filt", range(7))
def test_every_filter_runs(sarsense, sample_linear, tmp_path, filt):
    out = run("despeckle", {"INPUT": sample_linear, "FILTER": filt, "SIZE": 7, "LOOKS": 4.4, "INPUT_UNITS": 0,
                            "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"]
    got = read_raster(out)[0]
    assert np.isfinite(got).all() and got.std() < read_raster(sample_linear)[0].std()


def test_multitemporal_keeps_bands_and_dates(sarsense, stack_files, tmp_path):
    st = run("buildstack", {"INPUTS": stack_files[:6], "OUTPUT": str(tmp_path / "st.tif")})
    assert st["DATES"].split(",")[0] == "2015-12-30"
    out = run("multitemporaldespeckle", {"INPUT": st["OUTPUT"], "SIZE": 5, "INPUT_UNITS": 1,
                                         "OUTPUT": str(tmp_path / "mt.tif")})["OUTPUT"]
    from osgeo import gdal
    ds = gdal.Open(out)
    assert ds.RasterCount == 6
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(6)] == st["DATES"].split(",")


def test_even_window_and_single_date_are_refused(sarsense, sample_linear, tmp_path):
    with pytest.raises(QgsProcessingException, match="odd"):
        run("despeckle", {"INPUT": sample_linear, "SIZE": 4, "OUTPUT": str(tmp_path / "o.tif")})
    with pytest.raises(QgsProcessingException, match="single band"):
        run("multitemporaldespeckle", {"INPUT": sample_linear, "OUTPUT": str(tmp_path / "o.tif")})


def test_undated_file_is_refused_by_buildstack(sarsense, tmp_path, stack_files):
    undated = write_raster(tmp_path / "scene.tif", np.ones((100, 100)), epsg=32720)
    with pytest.raises(QgsProcessingException, match="no acquisition date"):
        run("buildstack", {"INPUTS": [stack_files[0], undated], "OUTPUT": str(tmp_path / "s.tif")})


def test_model3_chain_runs(sarsense, sample_db, tmp_path):
    import processing
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(REPO / "resources" / "workflows" / "sar_chain_db_gammamap.model3"))
    ok, errors = model.validate()
    assert ok, errors
    out = str(tmp_path / "model_out.tif")
    # as the toolbox runs it: by its provider id
    res = processing.run("sarsense:sar_chain_db_gammamap", {"input_db": sample_db, "window": 5,
                                                            "to_db:Despeckled backscatter (dB)": out})
    got = read_raster(res["to_db:Despeckled backscatter (dB)"])[0]
    # the chain's ENL is 0: estimated from the (linear) image, as the log says (issue #27: it was 1, silently)
    lin = sar.db_to_linear(read_raster(sample_db)[0])[0]
    looks = round(speckle.estimate_enl(lin), 2)
    assert 3 < looks < 8
    expected = sar.linear_to_db(speckle.gamma_map(lin, size=5, looks=looks))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_despeckle_defaults_run_on_the_bundled_db_scene(sarsense, sample_db, tmp_path):
    alg = sarsense.algorithm("despeckle")
    assert alg.parameterDefinition("INPUT_UNITS").defaultValue() == 1
    assert "not dB" not in alg.shortHelpString()
    out = run("despeckle", {"INPUT": sample_db, "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"]
    assert np.nanmedian(read_raster(out)) < 0  # still dB


def test_buildstack_names_the_empty_bolivia_dates_and_can_drop_them(sarsense, tmp_path):
    files = sorted(str(p) for p in STACK_DIR.glob("*.tif"))
    from osgeo import gdal
    empty = []
    for f in files:
        ds = gdal.Open(f)
        a = ds.ReadAsArray().astype(np.float32)
        nd = ds.GetRasterBand(1).GetNoDataValue()
        if not np.isfinite(np.where(a == np.float32(nd), np.nan, a) if nd is not None else a).any():
            empty.append(os.path.basename(f)[:10])
    assert len(empty) >= 1
    res = run("buildstack", {"INPUTS": files, "OUTPUT": str(tmp_path / "s.tif")})
    assert res["EMPTY_DATES"].split(",") == empty
    res = run("buildstack", {"INPUTS": files, "DROP_EMPTY": True, "OUTPUT": str(tmp_path / "d.tif")})
    assert not set(res["DATES"].split(",")) & set(empty)
    assert len(res["DATES"].split(",")) == len(files) - len(empty)
