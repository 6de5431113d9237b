"""Many Sentinel-1 products → dated stacks on one grid in one pass (algorithms/sentinel1/series.py, issue #32)."""

import numpy as np
import pytest
from helpers import read_raster
from osgeo import gdal

from sarsense.algorithms.sentinel1 import importer, series
from sarsense.algorithms.sentinel1 import product as s1p
from sarsense.simulators import s1_safe


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Three products of one track: 2021-04-01, and two overlapping slices of the pass of 2021-04-13."""
    d = tmp_path_factory.mktemp("s1_series")
    made = [s1_safe.write_grd(d / "a", cycles=0, seed=1), s1_safe.write_grd(d / "b", cycles=1, seed=2),
            s1_safe.write_grd(d / "c", cycles=1, seed=3, line0=s1_safe.LINE0 + 200)]
    return [s1p.open_product(m["safe"]) for m in made]


def _on(grid_path, path):
    """``path``'s bands cut from the grid of ``grid_path`` (both aligned): (the stack's window, the file)."""
    g, s = gdal.Open(str(grid_path)).GetGeoTransform(), gdal.Open(str(path)).GetGeoTransform()
    ox, oy = round((s[0] - g[0]) / g[1]), round((s[3] - g[3]) / g[5])
    a = read_raster(path)
    return (slice(oy, oy + a.shape[1]), slice(ox, ox + a.shape[2])), a


def test_passes_are_dates_and_slices_are_mosaicked(tmp_path, products):
    res = series.import_series(products, {"VV": str(tmp_path / "vv.tif"), "VH": str(tmp_path / "vh.tif")},
                               incidence=str(tmp_path / "inc.tif"), db=True)
    assert res["dates"] == ["2021-04-01", "2021-04-13"]
    assert res["passes"] == [[products[0].name], [products[1].name, products[2].name]]
    vv, vh, inc = (read_raster(tmp_path / n) for n in ("vv.tif", "vh.tif", "inc.tif"))
    assert vv.shape == vh.shape == inc.shape == (2, res["grid"].ysize, res["grid"].xsize)
    ds = gdal.Open(str(tmp_path / "vv.tif"))
    band = ds.GetRasterBand(2)
    assert band.GetDescription() == "2021-04-13"
    meta = band.GetMetadata()
    assert meta["POLARISATION"] == "VV" and meta["RELATIVE_ORBIT"] == "168" and meta["ORBIT_PASS"] == "DESCENDING"
    assert meta["DATE"] == products[1].start[:19] and meta["PRODUCT"] == f"{products[1].name} + {products[2].name}"
    inc_ds = gdal.Open(str(tmp_path / "inc.tif"))
    assert inc_ds.GetRasterBand(1).GetMetadata()["units"] == "degrees"
    # each pass is what its product's own import writes there (the node lattice of the shared grid differs from
    # the product's own grid: positions interpolated between other nodes, ≤ 0.005 dB)
    for i, p in enumerate(products):
        own = tmp_path / f"own{i}.tif"
        importer.import_grd(p, ["VV", "VH"], str(own), db=True)
        where, a = _on(tmp_path / "vv.tif", own)
        date = 0 if i == 0 else 1
        got = vv[date][where]
        mine = np.isfinite(a[0])
        if i == 2:        # the later slice fills only what the earlier one left NaN
            first = _on(tmp_path / "vv.tif", tmp_path / "own1.tif")
            covered = np.zeros(vv.shape[1:], bool)
            covered[first[0]] = np.isfinite(first[1][0])
            mine &= ~covered[where]
        assert mine.sum() > 1000
        assert np.nanmax(np.abs(got[mine] - a[0][mine])) < 0.005
        assert np.isfinite(inc[date][where][mine]).all()
    # the second date covers the union of its two slices
    assert np.isfinite(vv[1]).sum() > np.isfinite(read_raster(tmp_path / "own1.tif")[0]).sum()


def test_the_series_is_the_same_in_blocks(tmp_path, products):
    from sarsense.algorithms.io import RunOptions
    whole = series.import_series(products[:2], {"VV": str(tmp_path / "a.tif")})
    blocks = series.import_series(products[:2], {"VV": str(tmp_path / "b.tif")}, options=RunOptions(block_size=37))
    assert blocks["blocks"] > 20 * whole["blocks"]
    assert np.array_equal(read_raster(tmp_path / "a.tif"), read_raster(tmp_path / "b.tif"), equal_nan=True)


def test_refusals_name_the_product_and_the_fix(tmp_path, products):
    with pytest.raises(ValueError, match="is given twice"):
        series.import_series([products[0], products[0]], {"VV": str(tmp_path / "x.tif")})
    with pytest.raises(ValueError, match="HH"):
        series.import_series(products[:1], {"HH": str(tmp_path / "x.tif")})
    with pytest.raises(ValueError, match="no Sentinel-1 product"):
        series.import_series([], {"VV": str(tmp_path / "x.tif")})
    with pytest.raises(importer.SceneError, match=products[0].name):
        series.import_series(products[:1], {"VV": str(tmp_path / "x.tif")}, extent=(0, 0, 10, 10))
    assert not list(tmp_path.glob("x*"))
