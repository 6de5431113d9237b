"""Issue 29, datacubes in a real QGIS project: a NetCDF variable loaded as a layer (QGIS's own NETCDF:"…":VV layer)
is read by change detection as the dated stack of its time steps, and the virtual stack is freed after the run."""

import numpy as np
from cubes import cube_times, write_cube
from osgeo import gdal


def test_a_netcdf_layer_of_the_project_is_a_dated_stack(sarsense, qgis_iface, tmp_path):
    import processing
    from qgis.core import QgsProject, QgsRasterLayer
    rng = np.random.default_rng(3)
    values = rng.normal(-14, 2, (6, 12, 10))
    path = write_cube(str(tmp_path / "cube.nc"), {"VV": values}, cube_times(n=6), dtype=np.int32, scale=1e-4,
                      fill=-2147483648)
    layer = QgsRasterLayer(f'NETCDF:"{path}":VV', "cube VV", "gdal")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    try:
        res = processing.run("sarsense:changedetection", {
            "INPUT": layer.id(), "INPUT_UNITS": 1, "MIN_DATES": 4, "OUTPUT_INDEX": str(tmp_path / "i.tif"),
            "OUTPUT_SSM": str(tmp_path / "s.tif")})
    finally:
        QgsProject.instance().removeAllMapLayers()
    ds = gdal.Open(res["OUTPUT_SSM"])
    assert ds.RasterCount == 6 and ds.GetRasterBand(6).GetMetadataItem("DATE") == "2018-09-01T17:32:05"
    assert np.isfinite(ds.ReadAsArray()).mean() > 0.9
    assert not [f for f in (gdal.ReadDirRecursive("/vsimem") or []) if "sarsense-cube" in f]
