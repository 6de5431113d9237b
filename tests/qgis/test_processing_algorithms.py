"""SARSense algorithms through processing.run in real QGIS: compliance, results, styling, errors, cancel, model."""

import os

import numpy as np
import pytest
from helpers import REPO, read_raster, speckled, write_raster
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProject,
    QgsRasterLayer,
    QgsSingleBandGrayRenderer,
)
from qgis_helpers import run

from sarsense.algorithms import sar
from sarsense.algorithms.sar import speckle

EXPECTED = {"convertunits", "despeckle", "multitemporaldespeckle", "buildstack", "polratio",
            "importsentinel1"}  # SAR preparation


def test_provider_lists_the_algorithms(sarsense):
    assert sarsense.name() == "SARSense" and not sarsense.icon().isNull()
    assert {a.name() for a in sarsense.algorithms()} >= EXPECTED


def test_compliance_every_algorithm(sarsense):
    for alg in sarsense.algorithms():
        if isinstance(alg, QgsProcessingModelAlgorithm):
            continue  # the shipped workflows: test_workflows_are_in_the_toolbox
        assert alg.group() and alg.groupId(), alg.id()
        assert alg.tags() and all(t.strip() for t in alg.tags()), alg.id()
        assert len(alg.shortHelpString()) > 80, alg.id()
        assert alg.displayName() and alg.id() == f"sarsense:{alg.name()}"
        assert alg.name() == alg.name().lower()
        assert alg.createInstance().name() == alg.name()
        for p in alg.parameterDefinitions():
            assert p.description(), f"{alg.id()}:{p.name()} has no label"
            assert len(p.help()) > 10, f"{alg.id()}:{p.name()} has no help"
            assert p.name() == p.name().upper()


def test_algorithms_are_shallow_and_independent(sarsense):
    """At most three levels below QgsProcessingAlgorithm (SarsenseAlgorithm, the suite's base, the algorithm),
    each algorithm in its suite's package, and none inherits from another concrete algorithm."""
    from qgis.core import QgsProcessingAlgorithm

    from sarsense.sarsense_qgis.processing.registry import ALGORITHMS
    concrete = set(ALGORITHMS)
    for cls in ALGORITHMS:
        mro = cls.__mro__
        assert mro.index(QgsProcessingAlgorithm) <= 3, f"{cls.__name__}: {[c.__name__ for c in mro]}"
        assert not concrete & set(mro[1:]), f"{cls.__name__} inherits from {concrete & set(mro[1:])}"
        suite = cls.__module__.split(".")[-2]
        assert suite in ("sar_preparation", "sentinel1", "neural_networks", "soil_moisture", "crop", "lst",
                         "sea_ice"), cls.__module__
    assert {type(a) for a in sarsense.algorithms() if not isinstance(a, QgsProcessingModelAlgorithm)} == concrete


def test_sar_preparation_group(sarsense):
    for name in EXPECTED:
        assert sarsense.algorithm(name).group() == "SAR preparation"


def test_enum_orders_are_fixed(sarsense):
    assert sarsense.algorithm("convertunits").parameterDefinition("CONVERSION").options()[1].startswith("dB")
    opts = sarsense.algorithm("despeckle").parameterDefinition("FILTER").options()
    assert [o.split()[0] for o in opts] == ["Boxcar", "Lee", "Refined", "Frost", "Gamma-MAP", "Kuan", "Median"]


def test_chain_equals_core(sarsense, sample_db, tmp_path):
    lin = run("convertunits", {"INPUT": sample_db, "CONVERSION": 1, "OUTPUT": str(tmp_path / "lin.tif")})["OUTPUT"]
    gm = run("despeckle", {"INPUT": lin, "FILTER": 4, "SIZE": 5, "INPUT_UNITS": 0,
                           "OUTPUT": str(tmp_path / "gm.tif")})["OUTPUT"]
    db = run("convertunits", {"INPUT": gm, "CONVERSION": 0, "OUTPUT": str(tmp_path / "db.tif")})["OUTPUT"]
    expected = sar.linear_to_db(speckle.gamma_map(sar.db_to_linear(read_raster(sample_db)[0])[0], size=5))[0]
    np.testing.assert_allclose(read_raster(db)[0], expected, rtol=1e-5, atol=1e-4)
    # the dB shortcut of despeckle gives the same result
    direct = run("despeckle", {"INPUT": sample_db, "FILTER": 4, "INPUT_UNITS": 1, "OUTPUT": str(tmp_path / "d.tif")})
    np.testing.assert_allclose(read_raster(direct["OUTPUT"])[0], expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("filt", range(7))
def test_every_filter_runs(sarsense, sample_linear, tmp_path, filt):
    out = run("despeckle", {"INPUT": sample_linear, "FILTER": filt, "SIZE": 7, "LOOKS": 4.4, "INPUT_UNITS": 0,
                            "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"]
    got = read_raster(out)[0]
    assert np.isfinite(got).all() and got.std() < read_raster(sample_linear)[0].std()


def test_outputs_load_styled_grey_2_98(sarsense, sample_db, tmp_path, qgis_iface):
    import processing
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:despeckle", {"INPUT": sample_db, "INPUT_UNITS": 1,
                                                        "OUTPUT": str(tmp_path / "styled.tif")})
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)]
    assert len(layers) == 1
    r = layers[0].renderer()
    assert isinstance(r, QgsSingleBandGrayRenderer)
    ce = r.contrastEnhancement()
    vals = read_raster(tmp_path / "styled.tif")[0]
    lo, hi = np.percentile(vals[np.isfinite(vals)], [2, 98])
    assert ce.minimumValue() == pytest.approx(lo, abs=0.3) and ce.maximumValue() == pytest.approx(hi, abs=0.3)
    QgsProject.instance().removeAllMapLayers()


def test_multitemporal_keeps_bands_and_dates(sarsense, stack_files, tmp_path):
    st = run("buildstack", {"INPUTS": stack_files[:6], "OUTPUT": str(tmp_path / "st.tif")})
    assert st["DATES"].split(",")[0] == "2015-12-30"
    out = run("multitemporaldespeckle", {"INPUT": st["OUTPUT"], "SIZE": 5, "INPUT_UNITS": 1,
                                         "OUTPUT": str(tmp_path / "mt.tif")})["OUTPUT"]
    from osgeo import gdal
    ds = gdal.Open(out)
    assert ds.RasterCount == 6
    assert [ds.GetRasterBand(i + 1).GetDescription() for i in range(6)] == st["DATES"].split(",")


# --- bad input: a clear QgsProcessingException, no output, inputs untouched ------------------------------
def test_db_given_as_linear_is_refused(sarsense, sample_db, tmp_path):
    with pytest.raises(QgsProcessingException, match="looks like dB"):
        run("despeckle", {"INPUT": sample_db, "FILTER": 1, "INPUT_UNITS": 0, "OUTPUT": str(tmp_path / "o.tif")})
    with pytest.raises(QgsProcessingException, match="looks like dB"):
        run("convertunits", {"INPUT": sample_db, "CONVERSION": 0, "OUTPUT": str(tmp_path / "o.tif")})
    assert not (tmp_path / "o.tif").exists()


def test_linear_given_as_db_is_refused(sarsense, sample_linear, tmp_path):
    with pytest.raises(QgsProcessingException, match="looks like linear"):
        run("convertunits", {"INPUT": sample_linear, "CONVERSION": 1, "OUTPUT": str(tmp_path / "o.tif")})


def test_missing_file_is_refused(sarsense, tmp_path):
    with pytest.raises(QgsProcessingException):
        run("despeckle", {"INPUT": str(tmp_path / "missing.tif"), "OUTPUT": str(tmp_path / "o.tif")})


def test_unwritable_output_is_refused(sarsense, sample_linear):
    with pytest.raises(QgsProcessingException, match="output"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": "/proc/sarsense_cannot_write_here.tif"})
    with pytest.raises(QgsProcessingException, match="does not exist"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": "/nonexistent_dir/o.tif"})


def test_output_equal_to_input_is_refused(sarsense, sample_linear):
    before = open(sample_linear, "rb").read()
    with pytest.raises(QgsProcessingException, match="same file as an input"):
        run("despeckle", {"INPUT": sample_linear, "INPUT_UNITS": 0, "OUTPUT": sample_linear})
    assert open(sample_linear, "rb").read() == before


def test_even_window_and_single_date_are_refused(sarsense, sample_linear, tmp_path):
    with pytest.raises(QgsProcessingException, match="odd"):
        run("despeckle", {"INPUT": sample_linear, "SIZE": 4, "OUTPUT": str(tmp_path / "o.tif")})
    with pytest.raises(QgsProcessingException, match="single band"):
        run("multitemporaldespeckle", {"INPUT": sample_linear, "OUTPUT": str(tmp_path / "o.tif")})


def test_undated_file_is_refused_by_buildstack(sarsense, tmp_path, stack_files):
    undated = write_raster(tmp_path / "scene.tif", np.ones((100, 100)), epsg=32720)
    with pytest.raises(QgsProcessingException, match="no acquisition date"):
        run("buildstack", {"INPUTS": [stack_files[0], undated], "OUTPUT": str(tmp_path / "s.tif")})


def test_nodata_stays_nan(sarsense, tmp_path):
    arr = speckled((64, 64))
    arr[10:20, 10:20] = -1.0
    src = write_raster(tmp_path / "nd.tif", arr, nodata=-1.0)
    got = read_raster(run("despeckle", {"INPUT": src, "FILTER": 1, "INPUT_UNITS": 0,
                                        "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"])[0]
    assert np.isnan(got[10:20, 10:20]).all() and np.isfinite(got[30:, 30:]).all()


class CancelAfterFirstBlock(QgsProcessingFeedback):
    def setProgress(self, progress):
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_cancel_reports_no_output(sarsense, tmp_path):
    big = write_raster(tmp_path / "big.tif", speckled((1200, 1100)))
    out = tmp_path / "cancelled.tif"
    alg = sarsense.algorithm("despeckle").create()
    context = QgsProcessingContext()
    feedback = CancelAfterFirstBlock()
    params = {"INPUT": big, "FILTER": 1, "INPUT_UNITS": 0, "OUTPUT": str(out)}
    # budget small enough for several blocks
    old = speckle.WORKING_BYTES.copy()
    speckle.WORKING_BYTES["lee"] = 4000
    try:
        with pytest.raises(QgsProcessingException, match="Cancelled"):
            alg.run(params, context, feedback, catchExceptions=False)
    finally:
        speckle.WORKING_BYTES.clear()
        speckle.WORKING_BYTES.update(old)
    assert feedback.isCanceled()
    assert sorted(os.listdir(tmp_path)) == ["big.tif"], "no output (and no partial file) is left"


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
    expected = sar.linear_to_db(speckle.gamma_map(sar.db_to_linear(read_raster(sample_db)[0])[0], size=5))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
