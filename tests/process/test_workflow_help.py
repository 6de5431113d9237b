"""The workflows as a qgis_process user meets them: `qgis_process help` shows each workflow's summary as text
(not QGIS's HTML page of it), its inputs in the dialog's order, and the sea-ice workflow takes the land mask
that 'Sea-ice concentration chart' has."""

import json
import re
from xml.etree import ElementTree

import numpy as np
import pytest
from helpers import REPO
from osgeo import gdal
from process_helpers import needs_qgis_process, qp

from sarsense.simulators import sea_ice_scenes as sim

pytestmark = needs_qgis_process

WORKFLOWS = sorted(p.stem for p in (REPO / "resources" / "workflows").glob("*.model3"))


@pytest.mark.parametrize("name", WORKFLOWS)
def test_qgis_process_help_shows_the_workflow_summary(env, name):
    res = qp(env, "help", f"sarsense:{name}")
    assert res.returncode == 0, res.stderr[-2000:]
    description = res.stdout.split("Description\n----------------\n", 1)[1].split("\n-------", 1)[0]
    assert "<html>" not in description and "<p>" not in description, "the summary as text, not as HTML tags"
    assert len(description.split()) > 25, description
    root = ElementTree.parse(REPO / "resources" / "workflows" / f"{name}.model3").getroot()
    ids = [o.get("value") for o in root.find("Option[@name='parameterOrder']")]
    assert ids, f"{name}: the dialog's order is not set (QGIS 3.22 then sorts the inputs by id)"
    arguments = res.stdout.split("Arguments\n----------------\n", 1)[1]
    listed = [line.split(":")[0] for line in arguments.splitlines() if re.match(r"^[a-z_]+: ", line)]
    assert listed[:len(ids)] == ids, "qgis_process lists the inputs in the dialog's order"


def test_qgis_process_help_prints_the_text_itself(env):
    """qgis_process prints help as it is (QGIS 3.22): the rule reads with its signs, not as HTML entities, while the
    desktop's panel gets it escaped (tests/qgis/test_help_text.py)."""
    res = qp(env, "help", "sarsense:ricethreshold")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rice where NDVH < Flooding threshold" in res.stdout and "&lt;" not in res.stdout


def test_sea_ice_workflow_takes_the_land_mask(env, tmp_path):
    s = sim.simulate((512, 512), seed=10)
    paths = sim.write_scene(tmp_path, s, name="s")
    chart = sim.chart_polygons(tmp_path / "chart.gpkg", s)
    src = gdal.Open(str(paths["hv"]))
    land = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "land.tif"), src.RasterXSize, src.RasterYSize, 1,
                                                gdal.GDT_Byte)
    land.SetGeoTransform(src.GetGeoTransform())
    land.SetProjection(src.GetProjection())
    land.GetRasterBand(1).WriteArray(s["land"].astype(np.uint8))
    land = None
    res = qp(env, "run", "sarsense:sea_ice_chart", "--json", f"--hh={paths['hh']}", f"--hv={paths['hv']}",
             f"--ice_chart={chart}", f"--land={tmp_path / 'land.tif'}", "--mode=1",
             f"--chart:SIC chart (U-Net)={tmp_path / 'sic.tif'}",
             f"--reference:SIC chart (analyst)={tmp_path / 'r.tif'}",
             f"--skill:Skill per class={tmp_path / 's.csv'}", f"--skill:Skill report={tmp_path / 's.html'}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert json.loads(res.stdout[res.stdout.index("{"):])["results"]["chart:SIC chart (U-Net)"]
    sic = gdal.Open(str(tmp_path / "sic.tif")).ReadAsArray()
    coarse = s["land"].reshape(sic.shape[0], 2, sic.shape[1], 2).any(axis=(1, 3))  # a block touching land is land
    assert coarse.sum() > 100, "the simulated scene has land"
    assert (sic[coarse] == 255).all(), "the land mask reached the chart step: land is charted 255"
