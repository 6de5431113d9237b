"""Test helpers: the repo imported as the plugin package ``sarsense``, sample data paths, small raster I/O."""

import os
import pathlib

import numpy as np
from osgeo import gdal

import sarsense
from sarsense.simulators import write_raster  # noqa: F401 (the tests' raster writer, shared with the simulators)

REPO = pathlib.Path(__file__).resolve().parents[1]
# The repo root *is* the plugin folder, imported as `sarsense`: `make setup` links the checkout into the venv as
# .venv/sarsense-src/sarsense (a .pth names that folder), as QGIS does from its plugin folder.
PKG_ROOT = pathlib.Path(sarsense.__file__).parent.parent
if pathlib.Path(sarsense.__file__).resolve().parent != REPO:
    raise ImportError(f"the package 'sarsense' is {pathlib.Path(sarsense.__file__).resolve().parent}, not this "
                      f"checkout ({REPO}): run 'make setup' here, or put a folder holding a link 'sarsense' to it "
                      "on PYTHONPATH")
SAMPLE_DB = REPO / "resources" / "sample_data" / "S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"
STACK_DIR = REPO / "resources" / "sample_data" / "s1_vv_stack_bolivia"
MODIS_H14V09 = REPO / "resources" / "sample_data" / "modis_lst" / "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"


def modis_subdataset(layer="LST_Day_1km", path=MODIS_H14V09):
    """GDAL's name of a layer of the bundled MOD11A1 tile."""
    return f'HDF4_EOS:EOS_GRID:"{path}":MODIS_Grid_Daily_1km_LST:{layer}'

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
gdal.UseExceptions()


def read_raster(path):
    """All bands as float32 (bands, rows, cols)."""
    ds = gdal.Open(str(path))
    arr = ds.ReadAsArray().astype(np.float32)
    return arr[np.newaxis] if arr.ndim == 2 else arr


def speckled(shape, *, looks=1, seed=0, mean=None):
    """Gamma-distributed speckle (ENL = looks) on a piecewise-constant scene, linear power."""
    rng = np.random.default_rng(seed)
    if mean is None:
        mean = np.exp(rng.normal(-3.0, 1.0, (shape[0] // 8 + 1, shape[1] // 8 + 1))).repeat(8, 0).repeat(8, 1)
        mean = mean[: shape[0], : shape[1]]
    return (mean * rng.gamma(looks, 1.0 / looks, shape)).astype(np.float32)


#: Downloads the tests fetch at run time (never committed), cached between runs.
CACHE = pathlib.Path(os.environ.get("SARSENSE_TEST_CACHE", pathlib.Path.home() / ".cache" / "sarsense-tests"))
ISMN_VERSION = "1.5.4"


def ismn_test_data():
    """The real ISMN sample files inside the ismn source distribution, downloaded from PyPI at test time (ISMN
    forbids redistributing them); None when they cannot be had (offline)."""
    import shutil
    import subprocess
    import sys
    import tarfile

    root = CACHE / f"ismn-{ISMN_VERSION}" / "test_data"
    if root.is_dir():
        return root
    dl = CACHE / "download"
    dl.mkdir(parents=True, exist_ok=True)
    res = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                          f"ismn=={ISMN_VERSION}", "-d", str(dl), "--disable-pip-version-check", "-q"],
                         capture_output=True, text=True, timeout=300)
    tars = list(dl.glob(f"ismn-{ISMN_VERSION}.tar.gz"))
    if res.returncode != 0 or not tars:
        return None
    with tarfile.open(tars[0]) as tf:
        tf.extractall(CACHE / "extract", members=[m for m in tf.getmembers() if "/tests/test_data/" in m.name])
    src = next((CACHE / "extract").glob("ismn-*/tests/test_data"))
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(root))
    return root


def blob_centroid(arr, gt, background, factor=5.0):
    """Map x, y of the power-weighted centroid (power above ``background``) of the pixels of ``arr`` (linear
    power, geotransform ``gt``) brighter than ``factor`` × ``background``: where a bright target landed; and how
    many pixels it covers (NaN, 0 when none)."""
    with np.errstate(invalid="ignore"):
        rows, cols = np.nonzero(np.isfinite(arr) & (arr > factor * background))
    if not len(rows):
        return np.array([np.nan, np.nan]), 0
    w = arr[rows, cols] - background
    return np.array([gt[0] + np.sum(w * (cols + 0.5)) / w.sum() * gt[1],
                     gt[3] + np.sum(w * (rows + 0.5)) / w.sum() * gt[5]]), len(rows)
