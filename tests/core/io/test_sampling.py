"""The sample every input check takes (``raster.sample_values``): GDAL's block cache stays capped while its blocks
are read (a 30-date stack's 64 sampled blocks held 450 MB of it through a run), and one run's checks read an
input's blocks once (the sample is remembered while the file is unchanged; each caller gets its own copy)."""

import os

import numpy as np
from osgeo import gdal

from sarsense.algorithms.io import raster
from sarsense.algorithms.io.engine import RUN_CACHE_MB


def _stack(path, n=1024, bands=30, value=0.0):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), n, n, bands, gdal.GDT_Float32,
                                              options=["TILED=YES", "INTERLEAVE=PIXEL"])
    ds.SetGeoTransform((0, 10, 0, 0, 0, -10))
    rng = np.random.default_rng(3)
    for b in range(bands):
        ds.GetRasterBand(b + 1).WriteArray(rng.normal(value, 1.0, (n, n)).astype(np.float32))
    ds = None
    return str(path)


def test_sampling_a_stack_leaves_gdal_cache_capped(tmp_path):
    path = _stack(tmp_path / "stack.tif")
    gdal.SetCacheMax(1024 * 2**20)          # as QGIS's default (5 % of RAM) could be
    try:
        peak = []
        real = gdal.Dataset.ReadAsArray

        def spy(self, *a, **k):
            out = real(self, *a, **k)
            peak.append(gdal.GetCacheUsed())
            return out

        gdal.Dataset.ReadAsArray = spy
        try:
            sample = raster.sample_values(path, band=range(1, 31))
        finally:
            gdal.Dataset.ReadAsArray = real
        assert sample.shape[0] == 30 and len(peak) > 4          # several 30-band blocks (8 MB each) were read
        assert max(peak) <= RUN_CACHE_MB * 2**20, max(peak) / 2**20
        assert gdal.GetCacheMax() == 1024 * 2**20               # the cap is lifted after the sample
    finally:
        gdal.SetCacheMax(64 * 2**20)


def test_a_sample_is_read_once_per_unchanged_file(tmp_path, monkeypatch):
    path = _stack(tmp_path / "s.tif", n=256, bands=6)
    reads = []
    real = raster._read_sample
    monkeypatch.setattr(raster, "_read_sample", lambda *a: reads.append(a) or real(*a))
    first = raster.sample_values(path, band=range(1, 7))
    first[:] = -1.0                                             # a caller's copy: the next caller is not affected
    second = raster.sample_values(path, band=range(1, 7))
    assert len(reads) == 1 and np.isfinite(second).all() and abs(float(np.mean(second))) < 0.1
    raster.sample_values(path, band=range(1, 7), max_side=64)  # another sample: read
    assert len(reads) == 2
    _stack(path, n=256, bands=6, value=5.0)                     # the file changes: read again, the new values
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = raster.sample_values(path, band=range(1, 7))
    assert len(reads) == 3 and abs(float(np.mean(third)) - 5.0) < 0.1
