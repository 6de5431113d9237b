"""Outputs a person can tell apart and read (issue #27 §4), loaded into a real QGIS project as the desktop loads
them (processing.runAndLoadResults): layer names carry the method, polarisation and date; dB legends carry the
unit; the soil-moisture index legend says 'dry' and 'wet' once, at its ends; a demonstration model's output says
so in its layer name and legend title whatever its file is called."""

import numpy as np
import pytest
from helpers import STACK_DIR, write_raster
from osgeo import gdal
from qgis.PyQt.QtCore import Qt

TEMP = "TEMPORARY_OUTPUT"


def _load(alg, params):
    """Run ``alg`` as the desktop does and return the raster layers it loaded, by name."""
    import processing
    from qgis.core import QgsProject, QgsRasterLayer
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults(f"sarsense:{alg}", params)
    return {lyr.name(): lyr for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)}


def _legend(layer):
    """What QGIS's legend shows for ``layer``: its title (band) line, then the entries; continuous ramps as their
    end labels."""
    from qgis.core import QgsLayerTreeLayer
    nodes = layer.legend().createLayerTreeModelLegendNodes(QgsLayerTreeLayer(layer))
    texts = [n.data(Qt.DisplayRole) for n in nodes]
    shader = getattr(layer.renderer(), "shader", lambda: None)()
    if shader is not None:
        settings = shader.rasterShaderFunction().legendSettings()
        texts += [settings.minimumLabel(), settings.maximumLabel()]
    return [t for t in texts if t]


@pytest.fixture
def vv_scene(tmp_path):
    """A dB VV scene as the Sentinel-1 import writes it: POLARISATION and the date in the band's metadata."""
    rng = np.random.default_rng(0)
    db = (10 * np.log10(rng.gamma(4.4, 0.1 / 4.4, (120, 120)))).astype(np.float32)
    path = write_raster(tmp_path / "s1.tif", db, descriptions=["VV sigma0"], epsg=32631)
    ds = gdal.Open(path, gdal.GA_Update)
    ds.GetRasterBand(1).SetMetadata({"POLARISATION": "VV", "ACQUISITION_START_TIME": "2021-04-01T05:46:12",
                                     "units": "dB"})
    ds = None
    return path


def test_despeckled_layer_names_its_filter_polarisation_and_date_and_its_legend_is_in_db(sarsense, qgis_iface,
                                                                                           vv_scene):
    layers = _load("despeckle", {"INPUT": vv_scene, "FILTER": 1, "LOOKS": 4.4, "OUTPUT": TEMP})
    assert list(layers) == ["Despeckled (Lee, VV, 2021-04-01)"]
    legend = _legend(layers["Despeckled (Lee, VV, 2021-04-01)"])
    ends = legend[-2:]
    assert all(t.endswith(" dB") for t in ends) and float(ends[0].split()[0]) < float(ends[1].split()[0]) < 0
    # another filter, another name
    assert list(_load("despeckle", {"INPUT": vv_scene, "FILTER": 4, "OUTPUT": TEMP})) == [
        "Despeckled (Gamma-MAP, VV, 2021-04-01)"]
    assert list(_load("convertunits", {"INPUT": vv_scene, "CONVERSION": 1, "OUTPUT": TEMP})) == [
        "Converted (linear power, VV, 2021-04-01)"]


def test_change_detection_names_its_method_and_the_index_legend_says_dry_and_wet_once(sarsense, qgis_iface,
                                                                                       tmp_path):
    from qgis.core import QgsProject
    vv = sarsense.algorithm("buildstack")  # noqa: F841 (the provider is loaded)
    import processing
    stack = processing.run("sarsense:buildstack", {"INPUTS": sorted(str(p) for p in STACK_DIR.glob("*.tif")),
                                                   "DROP_EMPTY": True, "OUTPUT": str(tmp_path / "vv.tif")})
    dates = stack["DATES"].split(",")
    layers = _load("changedetection", {"INPUT": stack["OUTPUT"], "OUTPUT_INDEX": TEMP, "OUTPUT_SSM": TEMP})
    when = f"{dates[0]}…{dates[-1]}, {len(dates)} dates"
    assert set(layers) == {f"Soil moisture index (change detection, {when})", f"Soil moisture (change detection, "
                                                                               f"{when})"}
    index = layers[f"Soil moisture index (change detection, {when})"]
    labels = [label for label, _ in index.renderer().legendSymbologyItems()]
    assert labels[0] == "0 (dry)" and labels[-1] == "1 (wet)"
    assert not any("dry" in t or "wet" in t for t in labels[1:-1]) and not any("0 dry, 1 wet" in t for t in labels)
    assert _legend(index)[-2:] == ["0 (dry)", "1 (wet)"]
    ssm = layers[f"Soil moisture (change detection, {when})"]
    assert _legend(ssm)[-2:] == ["0 m³/m³", "0.5 m³/m³"]
    QgsProject.instance().removeAllMapLayers()


def test_a_demonstration_models_chart_says_so_in_its_name_and_legend_title(sarsense, qgis_iface, tmp_path):
    from sarsense.simulators import sea_ice_scenes as sim
    paths = sim.write_scene(tmp_path, sim.simulate((256, 256), seed=3), name="s")
    # the user named the file: the name still says 'demonstration'
    layers = _load("seaiceconcentration", {"HH": paths["hh"], "HV": paths["hv"], "OUTPUT": str(tmp_path / "c.tif"),
                                           "OUTPUT_EXPECTED": TEMP})
    assert set(layers) == {"Sea-ice concentration chart (demonstration model)", "Expected SIC (%) (demonstration "
                                                                                 "model)"}
    for layer in layers.values():
        assert "demonstration model" in _legend(layer)[0]          # the legend's title line (band description)


def test_the_example_despecklers_output_says_demonstration_and_db(sarsense, qgis_iface, sample_db, tmp_path):
    from sarsense.algorithms import onnx as rt
    layers = _load("applymodel", {"INPUT": sample_db, "MODEL": str(rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx"),
                                  "OUTPUT": str(tmp_path / "y.tif")})
    assert list(layers) == ["Model output (s1_despeckle_example, demonstration model)"]
    legend = _legend(layers["Model output (s1_despeckle_example, demonstration model)"])
    assert "demonstration model" in legend[0] and all(t.endswith(" dB") for t in legend[-2:])


def test_a_dated_stack_names_its_polarisation_and_dates_and_its_legend_is_in_db(sarsense, qgis_iface, tmp_path):
    """'Dated stack' alone, with a unitless grey legend, said nothing of what was stacked."""
    rng = np.random.default_rng(1)
    paths = []
    for day in ("2021-04-01", "2021-04-13", "2021-05-31"):
        db = (10 * np.log10(rng.gamma(4.4, 0.1 / 4.4, (60, 60)))).astype(np.float32)
        path = write_raster(tmp_path / f"s1_{day}.tif", db, descriptions=[day], epsg=32631)
        ds = gdal.Open(path, gdal.GA_Update)
        ds.GetRasterBand(1).SetMetadata({"POLARISATION": "VV", "units": "dB"})
        ds = None
        paths.append(path)
    layers = _load("buildstack", {"INPUTS": paths, "OUTPUT": TEMP})
    assert list(layers) == ["Dated stack (VV, 2021-04-01…2021-05-31, 3 dates)"]
    ends = _legend(layers["Dated stack (VV, 2021-04-01…2021-05-31, 3 dates)"])[-2:]
    assert all(t.endswith(" dB") for t in ends) and float(ends[0].split()[0]) < float(ends[1].split()[0]) < 0
    # files without polarisation or units metadata: the dates only, a plain grey stretch
    layers = _load("buildstack", {"INPUTS": sorted(str(p) for p in STACK_DIR.glob("*.tif"))[:3], "OUTPUT": TEMP})
    (name, layer), = layers.items()
    assert name.startswith("Dated stack (20") and name.endswith(", 3 dates)") and "dB" not in " ".join(
        _legend(layer))


def test_super_resolved_lst_names_its_method_scale_and_date(sarsense, qgis_iface, tmp_path):
    """U-Net and bicubic runs both loaded as 'Super-resolved LST'."""
    from helpers import modis_subdataset
    lst = modis_subdataset()
    unet = _load("lstsuperresolution", {"INPUT": lst, "METHOD": 0, "OUTPUT": TEMP})
    bicubic = _load("lstsuperresolution", {"INPUT": lst, "METHOD": 1, "SCALE": 2, "OUTPUT": TEMP})
    assert list(unet) == ["Super-resolved LST (U-Net ×4, 2019-11-01)"]
    assert list(bicubic) == ["Super-resolved LST (bicubic ×2, 2019-11-01)"]


def test_accuracy_tables_are_named_after_their_reference_layer(sarsense, qgis_iface, tmp_path):
    """Every run's table loaded as 'Accuracy and area table': a points run and a parcels run looked the same."""
    import processing
    from osgeo import ogr, osr
    from qgis.core import QgsProject, QgsVectorLayer
    classes = np.zeros((40, 40), np.uint8)
    classes[:, 20:] = 1
    cmap = write_raster(tmp_path / "map.tif", classes, epsg=32631)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    x0, y0 = gdal.Open(cmap).GetGeoTransform()[0], gdal.Open(cmap).GetGeoTransform()[3]
    px = gdal.Open(cmap).GetGeoTransform()[1]
    refs = {}
    for stem, kind in (("points", ogr.wkbPoint), ("parcels", ogr.wkbPolygon)):
        ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / f"{stem}.gpkg"))
        layer = ds.CreateLayer(stem, srs, kind)
        layer.CreateField(ogr.FieldDefn("code", ogr.OFTInteger))
        for r, c in [(5, 3), (12, 8), (30, 15), (7, 25), (20, 33), (35, 28)]:
            f = ogr.Feature(layer.GetLayerDefn())
            x, y = x0 + (c + 0.5) * px, y0 - (r + 0.5) * px
            wkt = (f"POINT ({x} {y})" if kind == ogr.wkbPoint else
                   f"POLYGON (({x - px} {y - px}, {x + px} {y - px}, {x + px} {y + px}, {x - px} {y + px}, "
                   f"{x - px} {y - px}))")
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            f.SetField("code", int(c >= 20))
            layer.CreateFeature(f)
        ds = None
        refs[stem] = str(tmp_path / f"{stem}.gpkg")
    names = []
    for stem, path in refs.items():
        QgsProject.instance().removeAllMapLayers()
        processing.runAndLoadResults("sarsense:accuracyassessment", {
            "CLASSIFIED": cmap, "REFERENCE": path, "CLASS_FIELD": "code", "OUTPUT_TABLE": TEMP,
            "OUTPUT_HTML": str(tmp_path / f"{stem}.html")})
        names += [lyr.name() for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsVectorLayer)]
    assert names == ["Accuracy and area (reference: points)", "Accuracy and area (reference: parcels)"]
    QgsProject.instance().removeAllMapLayers()
