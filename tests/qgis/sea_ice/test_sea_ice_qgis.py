"""The sea-ice suite in real QGIS (processing.run): WMO styling, land masks, a 2-band input, cancel, and every
refusal the issue lists (one band, two grids, an all-NaN scene, a model of the wrong kind, a chart without CT)."""

import glob
import os

import numpy as np
import pytest
from helpers import REPO, write_raster
from onnx_models import contract, conv_net
from osgeo import gdal
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsProcessingUtils
from qgis_helpers import run

from sarsense.algorithms.sea_ice import classes
from sarsense.simulators import sea_ice_scenes as sim


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A simulated 512² EW scene at 40 m with land and ice (seed 10), written as HH, HV, chart raster and SIGRID-3
    polygons."""
    d = tmp_path_factory.mktemp("sic")
    s = sim.simulate((512, 512), seed=10)
    assert s["land"].any() and (~s["land"]).any()
    paths = sim.write_scene(d, s, name="s")
    paths["polygons"] = sim.chart_polygons(d / "chart.gpkg", s)
    paths["land"] = str(d / "land.gpkg")
    gdal.VectorTranslate(paths["land"], paths["polygons"], where="POLY_TYPE = 'L'")
    paths["dir"] = d
    return s, paths


def test_chart_loads_in_wmo_colours_with_a_legend(sarsense, qgis_iface, scene, tmp_path):
    import processing
    from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer, QgsSingleBandPseudoColorRenderer
    _, p = scene
    QgsProject.instance().removeAllMapLayers()
    processing.runAndLoadResults("sarsense:seaiceconcentration", {
        "HH": p["hh"], "HV": p["hv"], "OUTPUT": str(tmp_path / "sic.tif"), "OUTPUT_EXPECTED": str(tmp_path / "e.tif")})
    layers = {lyr.source(): lyr for lyr in QgsProject.instance().mapLayers().values()
              if isinstance(lyr, QgsRasterLayer)}
    r = layers[str(tmp_path / "sic.tif")].renderer()
    assert isinstance(r, QgsPalettedRasterRenderer)
    got = {c.value: (c.color.name(), c.label) for c in r.classes()}
    assert got[0] == (classes.WMO_COLOURS[0], classes.class_name(0)) and got[10][0] == "#ff0000"
    assert [got[k][1] for k in (3, 7)] == ["30 %", "70 %"]
    e = layers[str(tmp_path / "e.tif")].renderer()
    assert (isinstance(e, QgsSingleBandPseudoColorRenderer)
            and (e.classificationMin(), e.classificationMax()) == (0, 100))
    assert "%" in e.legendSymbologyItems()[0][0]
    QgsProject.instance().removeAllMapLayers()


def test_land_from_polygons_or_raster_and_a_two_band_input(sarsense, scene, tmp_path):
    s, p = scene
    two = write_raster(tmp_path / "hhhv.tif", np.stack([s["hh_db"], s["hv_db"]]), epsg=sim.EPSG,
                       gt=sim.geotransform(s["hh_db"].shape), nodata=float("nan"))
    land = write_raster(tmp_path / "land.tif", s["land"].astype(np.float32), epsg=sim.EPSG,
                        gt=sim.geotransform(s["hh_db"].shape))
    a = run("seaiceconcentration", {"HH": p["hh"], "HV": p["hv"], "LAND": p["land"],
                                    "OUTPUT": str(tmp_path / "a.tif")})["OUTPUT"]
    b = run("seaiceconcentration", {"HV": two, "LAND": land, "OUTPUT": str(tmp_path / "b.tif")})["OUTPUT"]
    ga, gb = gdal.Open(a).ReadAsArray(), gdal.Open(b).ReadAsArray()
    land80 = s["land"].reshape(256, 2, 256, 2).any(axis=(1, 3))
    assert np.all(ga[land80] == 255) and np.all(gb[land80] == 255)      # a coarse pixel touching land is land
    assert np.mean(ga[~land80] <= 10) > 0.99
    assert np.array_equal(ga, gb)                                      # polygons = raster mask; 2-band = two files


def test_cancel_leaves_no_output_and_no_temporary(sarsense, scene, tmp_path):
    _, p = scene

    class CancelEarly(QgsProcessingFeedback):
        def setProgress(self, progress):
            super().setProgress(progress)
            if progress > 5:
                self.cancel()

    alg = sarsense.algorithm("seaiceconcentration").create()
    before = set(glob.glob(os.path.join(QgsProcessingUtils.tempFolder(), "**", "sic_input*"), recursive=True))
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.run({"HH": p["hh"], "HV": p["hv"], "MODE": 1, "OUTPUT": str(tmp_path / "c.tif"),
                 "OUTPUT_EXPECTED": str(tmp_path / "ce.tif")}, QgsProcessingContext(), CancelEarly(),
                catchExceptions=False)
    assert list(tmp_path.iterdir()) == []
    after = set(glob.glob(os.path.join(QgsProcessingUtils.tempFolder(), "**", "sic_input*"), recursive=True))
    assert after == before


def _refused(alg, params, *words):
    with pytest.raises(QgsProcessingException) as err:
        run(alg, params)
    text = str(err.value)
    assert all(w in text for w in words), text
    return text


def test_bad_inputs_are_refused_with_a_message_and_no_output(sarsense, scene, tmp_path):
    s, p = scene
    out = str(tmp_path / "o.tif")
    _refused("seaiceconcentration", {"HV": p["hv"], "OUTPUT": out}, "1 band(s)", "Give HH as well")
    other = write_raster(tmp_path / "hv_other.tif", s["hv_db"][:300, :300], epsg=sim.EPSG,
                         gt=sim.geotransform((300, 300)))
    _refused("seaiceconcentration", {"HH": p["hh"], "HV": other, "OUTPUT": out}, "not on the same grid", "Warp HV")
    nan = write_raster(tmp_path / "nan.tif", np.full((2, 64, 64), np.nan, np.float32), epsg=sim.EPSG,
                       gt=sim.geotransform((64, 64)), nodata=float("nan"))
    _refused("seaiceconcentration", {"HV": nan, "OUTPUT": out}, "no valid pixel")
    seg = dict(task="segmentation", output={"activation": "softmax"},
               tiling={"tile_size": 64, "halo": 2, "receptive_field": 5})
    three = conv_net(tmp_path / "three.onnx", outputs=3, layers=2, contract_dict=contract(
        **seg, classes=[{"value": v, "name": str(v), "color": "#000000"} for v in (0, 5, 10)]))
    _refused("seaiceconcentration", {"HH": p["hh"], "HV": p["hv"], "MODEL": three, "OUTPUT": out},
             "not a sea-ice concentration model", "are not the 11 SIC classes")
    eleven = [{"value": v, "name": str(v), "color": "#000000"} for v in range(11)]
    one_in = conv_net(tmp_path / "onein.onnx", channels=3, outputs=11, layers=2, contract_dict=contract(
        **seg, classes=eleven, inputs=[{"name": n, "units": "dB"} for n in ("HH", "HV", "x")],
        normalisation={"method": "offset_scale", "offset": 0.0, "scale": 1.0}))
    _refused("seaiceconcentration", {"HH": p["hh"], "HV": p["hv"], "MODEL": one_in, "OUTPUT": out},
             "3 input band(s), not 2")
    linear = write_raster(tmp_path / "lin.tif", 10 ** (np.stack([s["hh_db"], s["hv_db"]]) / 10), epsg=sim.EPSG,
                          gt=sim.geotransform(s["hh_db"].shape))
    _refused("seaiceconcentration", {"HV": linear, "OUTPUT": out}, "looks like linear power", "Input units")
    assert not os.path.exists(out)
    # a chart without CT, or without the chosen field
    from osgeo import ogr
    src = ogr.Open(p["polygons"])
    drv = ogr.GetDriverByName("GPKG")
    copy = drv.CopyDataSource(src, str(tmp_path / "noct.gpkg"))
    copy.ExecuteSQL("ALTER TABLE icechart RENAME COLUMN CT TO TOTAL")
    copy = src = None
    _refused("icechartclasses", {"CHART": str(tmp_path / "noct.gpkg"), "REFERENCE": p["hh"], "OUTPUT": out},
             "has no field 'CT'", "TOTAL")
    _refused("icechartclasses", {"CHART": p["polygons"], "CT_FIELD": "POLY_TYPE", "CODING": 2, "REFERENCE": p["hh"],
                                 "OUTPUT": out}, "cannot be read")
    assert not os.path.exists(out)


def test_ice_chart_classes_match_the_simulated_chart(sarsense, scene, tmp_path):
    s, p = scene
    got = gdal.Open(run("icechartclasses", {"CHART": p["polygons"], "REFERENCE": p["hh"],
                                            "OUTPUT": str(tmp_path / "c.tif")})["OUTPUT"]).ReadAsArray()
    assert np.array_equal(got, s["chart"])          # range codes 35/46/79 come back as 4/5/8


def test_shipped_sigrid3_test_chart(sarsense, tmp_path):
    """resources/sample_data/sea_ice/test_chart_sigrid3.geojson: 4 × 3 polygons of 2 km, one per rule of §II.B."""
    chart = REPO / "resources" / "sample_data" / "sea_ice" / "test_chart_sigrid3.geojson"
    grid = write_raster(tmp_path / "grid.tif", np.zeros((75, 100), np.float32), epsg=3413,
                        gt=(-500000.0, 80.0, 0.0, -1488000.0, 0.0, -80.0))
    got = gdal.Open(run("icechartclasses", {"CHART": str(chart), "REFERENCE": grid,
                                            "OUTPUT": str(tmp_path / "c.tif")})["OUTPUT"]).ReadAsArray()
    centres = got[12::25, 12::25]                                    # the centre pixel of each 25 × 25 px polygon
    want = [[0, 0, 1, 4],          # 01 open water, 02 bergy water, 10, 35 → midpoint 4
            [5, 8, 10, 10],        # 46 → 5, 79 → 8, 91, 92
            [10, 255, 255, 255]]   # 60 with fast ice (FA 08) → 10, 98 glacier, 99 unknown, land
    assert centres.tolist() == want
    assert np.all(got[(got != 255)] <= 10) and (got == 255).sum() == 3 * 625
