"""Soil moisture in a real QGIS, as a desktop user meets it: the change-detection dialog shows the percentile
fields only for the percentile reference (and the batch and modeler dialogs still build); a map made from a
flagged calibration loads under a name that says so."""

import json

import numpy as np
import pytest
from helpers import REPO, STACK_DIR, read_raster
from qgis.core import QgsProcessingModelAlgorithm, QgsProject, QgsRasterLayer
from qgis_helpers import Log, run

SAMPLE_DB = REPO / "resources" / "sample_data" / "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


def _dialog_wrappers(dialog):
    return dialog.mainWidget().wrappers


@pytest.fixture
def desktop(qgis_iface, monkeypatch):
    """pytest-qgis's iface, with the browser model the algorithm dialog asks it for (a mock otherwise)."""
    from qgis.gui import QgsBrowserGuiModel
    model = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: model, raising=False)
    return qgis_iface


def test_change_detection_dialog_shows_percentiles_only_with_the_percentile_reference(sarsense, desktop):
    import processing

    from sarsense.sarsense_qgis.processing.widgets import ChoiceTogglesWrapper
    dialog = processing.createAlgorithmDialog("sarsense:changedetection", {"INPUT": str(SAMPLE_DB)})
    wrappers = _dialog_wrappers(dialog)
    reference, low, high = wrappers["REFERENCE"], wrappers["LOW_PCT"], wrappers["HIGH_PCT"]
    assert isinstance(reference, ChoiceTogglesWrapper)
    assert low.wrappedLabel().text().startswith("Low percentile in % (percentile reference only)")
    parts = [low.wrappedWidget(), low.wrappedLabel(), high.wrappedWidget(), high.wrappedLabel()]
    assert reference.value() == 0 and all(p.isHidden() for p in parts)      # min/max (the default): hidden
    reference.widget.setCurrentIndex(reference.widget.findData(1))        # Percentiles: shown
    assert not any(p.isHidden() for p in parts)
    params = dialog.createProcessingParameters()
    assert params["REFERENCE"] == 1 and params["LOW_PCT"] == 5.0 and params["HIGH_PCT"] == 95.0
    reference.setValue(0)
    assert all(p.isHidden() for p in parts) and dialog.createProcessingParameters()["REFERENCE"] == 0
    dialog.close()


def test_change_detection_batch_and_modeler_dialogs_still_build(sarsense, desktop):
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.modeler.ModelerParametersDialog import ModelerParametersDialog

    from sarsense.sarsense_qgis.processing.widgets import ChoiceTogglesWrapper
    alg = sarsense.algorithm("changedetection").create()
    batch = BatchAlgorithmDialog(alg, parent=desktop.mainWindow())
    batch.close()
    model = QgsProcessingModelAlgorithm("m", "g")
    dialog = ModelerParametersDialog(sarsense.algorithm("changedetection").create(), model)
    widget = dialog.widget.widget
    assert not isinstance(widget.wrappers["REFERENCE"], ChoiceTogglesWrapper)   # QGIS's own enum widget there
    dialog.close()


def test_a_map_from_a_flagged_calibration_says_so_in_its_layer_name(sarsense, tmp_path, qgis_iface):
    import processing
    vv = run("buildstack", {"INPUTS": sorted(str(p) for p in STACK_DIR.glob("*.tif")), "DROP_EMPTY": True,
                            "OUTPUT": str(tmp_path / "vv.tif")})["OUTPUT"]
    v1 = tmp_path / "v1.tif"
    from osgeo import gdal
    gdal.Translate(str(v1), vv)
    ds = gdal.Open(str(v1), gdal.GA_Update)
    for i in range(ds.RasterCount):
        ds.GetRasterBand(i + 1).WriteArray(np.full((ds.RasterYSize, ds.RasterXSize), 0.5, np.float32))
    ds = None
    flagged = tmp_path / "flagged.json"
    flagged.write_text(json.dumps({"alpha": 6.1, "beta": -11.3, "flags": [
        {"code": "beta_negative", "message": "β = -11.3 < 0: physically implausible"}]}))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"alpha": 20.0, "beta": 10.0, "flags": []}))
    QgsProject.instance().removeAllMapLayers()
    log = Log()
    for name, params in (("f.tif", flagged), ("p.tif", plain)):
        processing.runAndLoadResults("sarsense:vegetationcd", {"VV": vv, "V1": str(v1), "PARAMS": str(params),
                                                               "OUTPUT": str(tmp_path / name)}, feedback=log)
    names = {lyr.source(): lyr.name() for lyr in QgsProject.instance().mapLayers().values()
             if isinstance(lyr, QgsRasterLayer)}
    # the layer names (processing/names.py): the method and the dates, and the flag where there is one
    assert names[str(tmp_path / "f.tif")].startswith("Soil moisture (vegetation-corrected change detection, ")
    assert names[str(tmp_path / "f.tif")].endswith(" dates, calibration flagged)")
    assert "flagged" not in names[str(tmp_path / "p.tif")]
    assert sum("Calibration flagged: β = -11.3 < 0" in line for line in log.lines) == 1
    assert np.isfinite(read_raster(str(tmp_path / "f.tif"))).any()
    QgsProject.instance().removeAllMapLayers()
