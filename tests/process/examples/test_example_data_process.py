"""sarsense:exampledata through qgis_process: every suite writes what its README and the Getting-started pages say
(files that open, dates and CRS as documented, simulated data named so), a bad output folder is refused, the same
run writes the same data, and the plugin zip (git archive) holds all it needs and runs without tests/."""

import hashlib
import os
import shutil
import subprocess
import tarfile

import pytest
from helpers import PKG_ROOT
from osgeo import gdal, ogr, osr
from process_helpers import QGIS_PROCESS, needs_qgis_process, ok, refused, run

pytestmark = needs_qgis_process

#: SUITE index → (folder, {file: (EPSG, first date or None, bands)}, vector files, layers loaded).
SUITES = {
    0: ("sentinel1_grd_simulated", {}, [], 0),
    1: ("soil_moisture_simulated_s1_raam", {"S1_VV_db_simulated.tif": (32631, "2016-04-05T05:50:00", 31),
                                            "S1_VH_db_simulated.tif": (32631, "2016-04-05T05:50:00", 31),
                                            "NDVI_simulated.tif": (32631, "2016-04-05", 31),
                                            "incidence_simulated.tif": (32631, None, 1)}, [], 4),
    2: ("rice_simulated", {"S1_VH_2019-01-09_simulated.tif": (32649, "2019-01-09", 1),
                           "S1_VH_2019-07-20_simulated.tif": (32649, "2019-07-20", 1)},
        ["parcels_simulated.gpkg", "reference_points_simulated.gpkg", "water_simulated.gpkg"], 6),
    3: ("lst_modis_landsat_real", {"MOD11A1_2019-11-01_LST_Day_1km_window.tif": (None, "2019-11-01", 1),
                                   "L7_ETMs_olinda.tif": (31985, None, 6)}, [], 2),
    4: ("sea_ice_simulated", {"EW_simulated_hh.tif": (3413, None, 1), "EW_simulated_hv.tif": (3413, None, 1)},
        ["ice_chart_simulated.gpkg", "land_simulated.gpkg"], 4),
}


def _epsg(ds):
    srs = osr.SpatialReference(wkt=ds.GetProjection())
    srs.AutoIdentifyEPSG()
    return int(srs.GetAuthorityCode(None)) if srs.GetAuthorityCode(None) else None


@pytest.fixture(scope="module")
def written(env, tmp_path_factory):
    """Every suite written once through qgis_process: {suite: results}."""
    out = tmp_path_factory.mktemp("examples")
    return out, {s: ok(env, "exampledata", SUITE=s, OUTPUT_FOLDER=out) for s in SUITES}


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_writes_documented_files(written, suite):
    out, results = written
    folder, rasters, vectors, n_layers = SUITES[suite]
    res = results[suite]
    assert res["FOLDER"] == str(out / folder)
    files = res["FILES"].split(";")
    assert res["N_FILES"] == len(files) and all(os.path.isfile(f) for f in files)
    assert len(res["LAYERS"]) == n_layers
    readme = (out / folder / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith("SARSense example data") and "What to run next" in readme
    for f in files:                                    # every file is described in the README, with its source
        rel = os.path.relpath(f, out / folder)
        if rel != "README.txt":
            assert rel in readme, rel
    for name in os.listdir(out / folder):              # simulated data says so in its name; real data is named real
        if name.endswith((".tif", ".gpkg", ".zip")) and "real" not in folder:
            assert "simulated" in name, name
    for name, (epsg, first, bands) in rasters.items():
        ds = gdal.Open(str(out / folder / name))
        assert ds is not None and ds.RasterCount == bands, name
        if epsg:
            assert _epsg(ds) == epsg, name
        if first:
            assert ds.GetRasterBand(1).GetDescription() == first, name
    for name in vectors:
        src = ogr.Open(str(out / folder / name))
        assert src is not None and src.GetLayer(0).GetFeatureCount() > 0, name
    assert sum(os.path.getsize(f) for f in files) < 5e6       # a few MB at most


def test_grd_series_dates_and_import(written, env, tmp_path):
    """Six zipped IW GRDH products 12 days apart, each importable, dated as its name says."""
    out, results = written
    zips = sorted(f for f in results[0]["FILES"].split(";") if f.endswith(".zip"))
    assert len(zips) == 6
    dates = [os.path.basename(z).split("_")[6][:8] for z in zips]
    assert dates == ["20210401", "20210413", "20210425", "20210507", "20210519", "20210531"]
    res = ok(env, "importsentinel1", INPUT=zips[3], POLARISATIONS=0, OUTPUT=tmp_path / "vv.tif")
    ds = gdal.Open(res["OUTPUT"])
    assert ds.GetMetadataItem("DATE").startswith("2021-05-07")
    assert ds.GetRasterBand(1).GetMetadataItem("POLARISATION") == "VV"


def test_lst_window_is_the_tile_in_kelvin(written):
    """The LST window is the real MOD11A1 tile's pixels (scale applied, QC filter), on the tile's own grid."""
    from sarsense.algorithms.lst import modis
    from sarsense.simulators import SAMPLE_DATA, examples
    out, _ = written
    ds = gdal.Open(str(out / "lst_modis_landsat_real" / "MOD11A1_2019-11-01_LST_Day_1km_window.tif"))
    win = ds.ReadAsArray()
    hdf = SAMPLE_DATA / "modis_lst" / examples.LST_FILE
    whole = modis.read_kelvin(f'HDF4_EOS:EOS_GRID:"{hdf}":MODIS_Grid_Daily_1km_LST:LST_Day_1km')
    r0, c0, n = examples.LST_WINDOW
    import numpy as np
    assert np.array_equal(win, whole[r0:r0 + n, c0:c0 + n], equal_nan=True)
    assert 0.5 < np.isfinite(win).mean() < 1.0        # partly cloudy, as documented
    assert "Sinusoidal" in ds.GetProjection() or "sinusoidal" in ds.GetProjection().lower()


def _digest(folder):
    h = hashlib.sha256()
    for base, _, names in sorted(os.walk(folder)):
        for n in sorted(names):
            if n.endswith((".tif", ".csv", ".txt")):
                h.update(n.encode())
                h.update(open(os.path.join(base, n), "rb").read())
    return h.hexdigest()


def test_same_run_same_data_and_rerun_replaces(written, env):
    """Seeds are fixed: writing the rice and sea-ice suites again into the same folder gives the same bytes."""
    out, _ = written
    before = {s: _digest(out / SUITES[s][0]) for s in (2, 4)}
    for s in (2, 4):
        ok(env, "exampledata", SUITE=s, OUTPUT_FOLDER=out)
        assert _digest(out / SUITES[s][0]) == before[s]
    assert not [n for n in os.listdir(out) if n.startswith(".")]       # no partial folder left behind


def test_bad_output_folder_is_refused(env, tmp_path):
    afile = tmp_path / "a_file.txt"
    afile.write_text("x")
    refused(env, "exampledata", SUITE=2, OUTPUT_FOLDER=afile, match=("Output folder (OUTPUT_FOLDER)", "is a file"))
    refused(env, "exampledata", SUITE=2, OUTPUT_FOLDER=afile / "sub", match="no folder can be made inside it")
    foreign = tmp_path / "mine" / "rice_simulated"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("my own work")
    refused(env, "exampledata", SUITE=2, OUTPUT_FOLDER=tmp_path / "mine", match="was not written by Example data")
    assert (foreign / "notes.txt").read_text() == "my own work"          # nothing of the user's is touched


def test_plugin_zip_holds_the_simulators_and_runs_without_tests(env, tmp_path):
    """``make package`` is git archive: the archive of the working tree has simulators/ and no tests/, and
    exampledata runs from it (plugin found only there: no PYTHONPATH to the checkout)."""
    repo = os.path.join(str(PKG_ROOT), "sarsense")
    if subprocess.run(["git", "-C", repo, "rev-parse", "--git-dir"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    # the working tree's tracked files as a commit object (nothing in the checkout changes), archived as make does
    tree = subprocess.run(["git", "-C", repo, "stash", "create"], capture_output=True, text=True).stdout.strip()
    archive = tmp_path / "sarsense.tar"
    subprocess.run(["git", "-C", repo, "archive", "--prefix=sarsense/", "-o", str(archive), tree or "HEAD"],
                   check=True)
    with tarfile.open(archive) as tf:
        names = tf.getnames()
        tf.extractall(tmp_path / "plugins")
    assert "sarsense/simulators/examples.py" in names and "sarsense/simulators/s1_safe.py" in names
    assert not [n for n in names if n.startswith("sarsense/tests")]
    for needed in ("resources/sample_data/s1_iw_annotation", "resources/sample_data/soil_moisture_raam",
                   "resources/sample_data/modis_lst", "resources/sample_data/landsat_olinda",
                   "resources/sample_data/sea_ice", "resources/sample_data/modis_ndvi_2016"):
        assert any(n.startswith(f"sarsense/{needed}/") for n in names), needed
    zenv = dict(env, QGIS_PLUGINPATH=str(tmp_path / "plugins"))
    zenv.pop("PYTHONPATH", None)
    out = tmp_path / "from_zip"
    for suite in SUITES:
        res = run(zenv, "exampledata", SUITE=suite, OUTPUT_FOLDER=out)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert sorted(os.listdir(out)) == sorted(v[0] for v in SUITES.values())
    shutil.rmtree(tmp_path / "plugins")


def test_exampledata_is_listed_in_its_group(env):
    import json
    res = subprocess.run([QGIS_PROCESS, "help", "sarsense:exampledata", "--json"], env=env, capture_output=True,
                         text=True, timeout=120)
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert doc["algorithm_details"]["group"] == "Examples"
    assert len(doc["parameters"]["SUITE"]["raw_definition"]["options"]) == 5
