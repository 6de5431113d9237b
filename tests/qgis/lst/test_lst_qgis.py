"""The LST suite in real QGIS (processing.run): a MODIS HDF layer as input, the thermal ramp and its legend,
°C in = °C out, and a cancelled U-Net run leaving nothing behind."""

import numpy as np
import pytest
from helpers import modis_subdataset, read_raster, write_raster
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

from sarsense.algorithms.lst import modis, temperature
from sarsense.sarsense_qgis.styles import THERMAL_COLOURS

UTM_GT = (500000.0, 1000.0, 0.0, 9100000.0, 0.0, -1000.0)


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    """A real, partly cloudy 80×88 window of the h14v09 day LST in kelvin (all produced pixels)."""
    t = modis.read_kelvin(modis_subdataset("LST_Day_1km"), qc_filter=False)[480:560, 176:264]
    return write_raster(tmp_path_factory.mktemp("lst") / "k.tif", t, gt=UTM_GT, epsg=32725), t


def test_hdf_subdataset_layer_is_an_input_with_its_qc(sarsense, qgis_iface, tmp_path):
    import processing
    from qgis.core import QgsProject, QgsRasterLayer
    layer = QgsRasterLayer(modis_subdataset("LST_Night_1km"), "LST night", "gdal")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    try:
        res = processing.run("sarsense:degradelst",
                             {"INPUT": layer.id(), "FACTOR": 4, "OUTPUT": str(tmp_path / "d.tif")})
    finally:
        QgsProject.instance().removeAllMapLayers()
    expected = temperature.norm_l4(modis.read_kelvin(modis_subdataset("LST_Night_1km"), qc_filter=True), 4)
    np.testing.assert_allclose(read_raster(res["OUTPUT"])[0], expected, rtol=1e-6)


def test_output_loads_with_the_thermal_ramp_and_a_legend(sarsense, qgis_iface, window, tmp_path):
    import processing
    from qgis.core import QgsProject, QgsRasterLayer, QgsSingleBandPseudoColorRenderer
    path, t = window
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:lstsuperresolution", {"INPUT": path, "METHOD": 1,
                                                                 "OUTPUT": str(tmp_path / "b.tif")})
    layers = [lyr for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)]
    assert len(layers) == 1
    r = layers[0].renderer()
    assert isinstance(r, QgsSingleBandPseudoColorRenderer)
    lo, hi = r.classificationMin(), r.classificationMax()
    assert np.nanmin(t) - 1 <= lo < hi <= np.nanmax(t) + 1          # the ramp spans the LST, in K
    items = r.shader().rasterShaderFunction().colorRampItemList()
    assert items[0].color.name() == THERMAL_COLOURS[0] and items[-1].color.name() == THERMAL_COLOURS[-1]
    legend = r.legendSymbologyItems()
    assert len(legend) >= 5 and "K" in legend[0][0] + legend[-1][0]
    QgsProject.instance().removeAllMapLayers()


def test_celsius_in_celsius_out(sarsense, window, tmp_path):
    import processing
    path, t = window
    c = write_raster(tmp_path / "c.tif", t - 273.15, gt=UTM_GT, epsg=32725)
    k_out = processing.run("sarsense:lstsuperresolution", {"INPUT": path, "METHOD": 1,
                                                           "OUTPUT": str(tmp_path / "k.tif")})
    c_out = processing.run("sarsense:lstsuperresolution", {"INPUT": c, "INPUT_UNITS": 1, "METHOD": 1,
                                                           "OUTPUT": str(tmp_path / "co.tif")})
    np.testing.assert_allclose(read_raster(c_out["OUTPUT"]), read_raster(k_out["OUTPUT"]) - 273.15, atol=2e-3)


def test_cancelled_unet_leaves_no_output(sarsense, tmp_path):
    t = modis.read_kelvin(modis_subdataset("LST_Day_1km"), qc_filter=False)[400:800, 400:800]
    path = write_raster(tmp_path / "k.tif", t, gt=UTM_GT, epsg=32725)   # many tiles: cancel lands mid-run

    class CancelEarly(QgsProcessingFeedback):
        def setProgress(self, progress):
            super().setProgress(progress)
            if progress > 10:
                self.cancel()

    alg = sarsense.algorithm("lstsuperresolution").create()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run({"INPUT": path, "METHOD": 0, "OUTPUT": str(out / "u.tif")}, QgsProcessingContext(), CancelEarly(),
                catchExceptions=False)
    assert list(out.iterdir()) == [], "no output, no gap-filled temporary and no partial file is left"
