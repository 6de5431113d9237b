"""sarsense:exampledata in QGIS: Cancel leaves nothing behind; the layers load under readable names."""

import os

import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsProject


class CancelAfterFirstFile(QgsProcessingFeedback):
    def setProgress(self, progress):
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_cancel_leaves_nothing(sarsense, tmp_path):
    alg = sarsense.algorithm("exampledata").create()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run({"SUITE": 0, "OUTPUT_FOLDER": str(tmp_path)}, QgsProcessingContext(), CancelAfterFirstFile(),
                catchExceptions=False)
    assert os.listdir(tmp_path) == []          # no suite folder, no hidden partial folder


def test_layers_load_with_readable_names(sarsense, tmp_path):
    alg = sarsense.algorithm("exampledata").create()
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    res, ok = alg.run({"SUITE": 4, "OUTPUT_FOLDER": str(tmp_path)}, context, QgsProcessingFeedback())
    assert ok
    names = {context.layerToLoadOnCompletionDetails(p).name for p in context.layersToLoadOnCompletion()}
    assert names == {"HH (dB, simulated)", "HV (dB, simulated)", "Ice chart (SIGRID-3, simulated)",
                     "Land (simulated)"}
    assert sorted(context.layersToLoadOnCompletion()) == sorted(res["LAYERS"])


@pytest.mark.parametrize("suite", [1, 2, 4])
def test_every_db_example_layer_has_db_in_its_legend(sarsense, tmp_path, qgis_iface, suite):
    """The dB example layers (soil moisture, rice, sea ice) drew a plain grey stretch with a unitless legend."""
    import processing
    from qgis.core import QgsLayerTreeLayer
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:exampledata", {"SUITE": suite, "OUTPUT_FOLDER": str(tmp_path)})
    db = [lyr for lyr in QgsProject.instance().mapLayers().values() if "(dB" in lyr.name()]
    assert db
    for layer in db:
        nodes = layer.legend().createLayerTreeModelLegendNodes(QgsLayerTreeLayer(layer))
        settings = layer.renderer().shader().rasterShaderFunction().legendSettings()
        assert nodes and settings.minimumLabel().endswith(" dB") and settings.maximumLabel().endswith(" dB"), \
            layer.name()
    QgsProject.instance().removeAllMapLayers()


def test_run_and_load_adds_named_styled_layers(sarsense, tmp_path, qgis_iface):
    """As the toolbox runs it: the layers are in the project under their names, dB layers grey-stretched with
    'dB' in the legend (the two-stop ramp despeckled and imported layers get)."""
    import processing
    from qgis.core import QgsRasterLayer, QgsSingleBandPseudoColorRenderer
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:exampledata", {"SUITE": 1, "OUTPUT_FOLDER": str(tmp_path)})
    layers = {lyr.name(): lyr for lyr in QgsProject.instance().mapLayers().values()}
    assert set(layers) == {"VV (dB, simulated)", "VH (dB, simulated)", "NDVI (simulated)",
                           "Incidence angle (degrees, simulated)"}
    assert all(isinstance(lyr, QgsRasterLayer) and lyr.isValid() for lyr in layers.values())
    for name in ("VV (dB, simulated)", "VH (dB, simulated)"):
        shader = layers[name].renderer().shader().rasterShaderFunction()
        ends = [shader.legendSettings().minimumLabel(), shader.legendSettings().maximumLabel()]
        assert all(t.endswith(" dB") for t in ends) and float(ends[0].split()[0]) < float(ends[1].split()[0]) < 0
        assert [i.color.name() for i in shader.colorRampItemList()] == ["#000000", "#ffffff"], "black to white"
    assert isinstance(layers["NDVI (simulated)"].renderer(), QgsSingleBandPseudoColorRenderer)
    QgsProject.instance().removeAllMapLayers()
