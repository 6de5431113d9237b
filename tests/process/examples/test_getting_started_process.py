"""The Getting-started pages, run as written: each page's `qgis_process` block (docs/getting_started_*.md) runs in
bash on exampledata's output, and what it writes is what the page says (dates, sizes, the figures it quotes)."""

import csv
import os
import re
import subprocess

import numpy as np
import pytest
from helpers import PKG_ROOT
from osgeo import gdal, ogr, osr
from process_helpers import needs_qgis_process

pytestmark = needs_qgis_process
DOCS = os.path.join(str(PKG_ROOT), "sarsense", "docs")


def page(name):
    with open(os.path.join(DOCS, f"getting_started_{name}.md"), encoding="utf-8") as fh:
        return fh.read()


def run_page(env, name):
    """Run the page's shell block as a user would paste it (fresh HOME: ``~`` is the test's own); return (page
    text, results folder)."""
    text = page(name)
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) == 1, f"{name}: one qgis_process block expected"
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", blocks[0]], env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return text, os.path.join(env["HOME"], "sarsense_results", name)


def bands(path):
    ds = gdal.Open(path)
    return ds, [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]


def test_soil_moisture_page(env):
    text, out = run_page(env, "soil_moisture")
    ds, dates = bands(os.path.join(out, "ssm.tif"))
    assert dates == ["2021-04-01", "2021-04-13", "2021-04-25", "2021-05-07", "2021-05-19", "2021-05-31"]
    ssm = ds.ReadAsArray()
    assert np.nanmin(ssm) >= 0.05 - 1e-6 and np.nanmax(ssm) <= 0.40 + 1e-6
    means = np.nanmean(ssm, axis=(1, 2))
    # the wettest and driest dates the page names
    assert dates[int(np.argmax(means))] == "2021-05-07" and dates[int(np.argmin(means))] == "2021-04-01"
    _, stack_dates = bands(os.path.join(out, "vv_stack.tif"))
    assert len(stack_dates) == 6                                # the incidence band did not become a date
    with open(os.path.join(out, "scores.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    overall = [r for r in rows if r.get("group", r.get("station", "")) in ("", "all", "overall")] or rows
    assert rows and os.path.getsize(os.path.join(out, "validation.html")) > 10_000
    src = ogr.Open(os.path.join(out, "ssm_at_stations.gpkg"))
    n = src.GetLayer(0).GetFeatureCount()
    assert n > 300 and f"{n} station-dates" in text and overall
    whole = next(r for r in rows if r["group"] == "all")            # the figures the page quotes
    assert f"RMSE ≈ {float(whole['rmse']):.3f} m³/m³, R ≈ {float(whole['r']):.2f}, bias ≈ " \
        f"{float(whole['bias']):+.3f} over {int(whole['n'])}" in " ".join(text.split())


def test_rice_page(env):
    text, out = run_page(env, "rice")
    with open(os.path.join(out, "accuracy.csv"), newline="") as fh:
        rice = next(r for r in csv.DictReader(fh) if r["class"] == "rice")
    est, ci = float(rice["estimated_ha"]), float(rice["ci95_ha"])
    assert f"estimated {est:.1f} ± {ci:.1f} ha" in text and f"mapped {float(rice['mapped_ha']):.1f} ha" in text
    truth = gdal.Open(os.path.join(env["HOME"], "sarsense_examples", "rice_simulated",
                                   "truth_class_simulated.tif")).ReadAsArray()
    true_ha = (truth == 1).sum() * 0.01                          # 10 m pixels
    assert abs(est - true_ha) <= ci                              # the interval holds the simulation's true area
    with open(os.path.join(out, "accuracy_parcels.csv"), newline="") as fh:
        parcels = next(r for r in csv.DictReader(fh) if r["class"] == "rice")
    assert f"{float(parcels['estimated_ha']):.1f} ± {float(parcels['ci95_ha']):.1f} ha" in text
    assert float(parcels["ci95_ha"]) < ci                        # narrower, as the page warns
    report = open(os.path.join(out, "accuracy_parcels.html"), encoding="utf-8").read()
    assert "with polygons the interval is too narrow" in report
    # the warning at the top of the report (and in the log), with the counts the page quotes
    counts = re.search(r"Warning: the (\d+) reference pixels come from (\d+) features", report)
    assert counts and f"the {counts.group(1)} reference pixels come from {counts.group(2)} features" in " ".join(
        text.split())
    doy = gdal.Open(os.path.join(out, "doy.tif")).ReadAsArray()
    assert f"{np.nanmin(doy):.0f}–{np.nanmax(doy):.0f}" in text


def test_lst_page(env):
    text, out = run_page(env, "lst")
    src = gdal.Open(os.path.join(env["HOME"], "sarsense_examples", "lst_modis_landsat_real",
                                 "MOD11A1_2019-11-01_LST_Day_1km_window.tif")).ReadAsArray()
    for name in ("lst_250m.tif", "lst_bicubic.tif"):
        ds = gdal.Open(os.path.join(out, name))
        assert (ds.RasterXSize, ds.RasterYSize) == (384, 384)
        fine = ds.ReadAsArray()
        blocks = fine.reshape(96, 4, 96, 4)
        n = np.isfinite(blocks).sum(axis=(1, 3))
        coarse = np.where(n > 0, np.nansum(blocks, axis=(1, 3)) / np.maximum(n, 1), np.nan)
        ok = np.isfinite(coarse) & np.isfinite(src)
        assert abs(np.mean(coarse[ok]) - np.mean(src[ok])) < 0.2      # the 1 km LST kept on average
    fine = gdal.Open(os.path.join(out, "lst_250m.tif")).ReadAsArray()
    assert f"{np.nanmin(fine):.1f}–{np.nanmax(fine):.1f} K" in text
    srs = osr.SpatialReference(wkt=gdal.Open(os.path.join(out, "lst_250m_utm.tif")).GetProjection())
    assert srs.GetUTMZone() == -25
    assert os.path.exists(os.path.join(out, "ndvi_olinda.tif"))


def test_sea_ice_page(env):
    text, out = run_page(env, "sea_ice")
    with open(os.path.join(out, "skill.csv"), newline="") as fh:
        assert list(csv.DictReader(fh))
    sic = gdal.Open(os.path.join(out, "sic.tif")).ReadAsArray()
    ref = gdal.Open(os.path.join(out, "chart_classes.tif")).ReadAsArray()
    both = (sic <= 10) & (ref <= 10)
    assert set(np.unique(sic)) <= set(range(11)) | {255}
    assert f"{int(both.sum()):,}".replace(",", " ") in text
    x, y = ref[both].astype(float) * 10, sic[both].astype(float) * 10
    r2 = 1 - ((x - y) ** 2).sum() / ((x - x.mean()) ** 2).sum()
    assert f"R² {r2:.2f}" in text                                 # the figure the page quotes
    assert "demonstration" in text.lower()


@pytest.mark.parametrize("name", ["soil_moisture", "rice", "lst", "sea_ice"])
def test_page_is_linked_and_is_a_help_page(name):
    """Linked from the Getting-started page (which the plugin's menu opens) and shipped whole as one help page."""
    assert f"getting_started_{name}.md" in open(os.path.join(DOCS, "getting_started.md"), encoding="utf-8").read()
    shipped = os.path.join(DOCS, os.pardir, "resources", "help", f"getting_started_{name}.html")
    assert page(name).splitlines()[0].lstrip("# ") in open(shipped, encoding="utf-8").read()
