"""Issue 28, soil moisture in a real QGIS project: a regression map whose dates lack a fitted line says so in its
layer name, not only in the log."""

import pytest
import sm_bad_data


@pytest.fixture
def data(tmp_path):
    return sm_bad_data.make(tmp_path)


def test_a_regression_map_with_dates_without_a_line_says_so_in_its_name(sarsense, qgis_iface, data, tmp_path):
    import processing
    from qgis.core import QgsProject, QgsRasterLayer
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:regressmoisture", {
        "SAMPLES": data["samples_few"], "RASTER": data["vv"], "OUTPUT_PARAMS": str(tmp_path / "p.json"),
        "OUTPUT_TABLE": str(tmp_path / "t.csv"), "OUTPUT": str(tmp_path / "m.tif")})
    names = [lyr.name() for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)]
    assert len(names) == 1 and "4 of 6 dates without a line" in names[0], names
    QgsProject.instance().removeAllMapLayers()
