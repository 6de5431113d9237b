"""Issue #29: a NetCDF/Zarr cube variable read as a dated stack (algorithms/io/datacube.py), on small CF cubes in the
openEO and xarray layouts. Before, GDAL gave these files no geotransform (x/y without CF attributes) and no date per
band, and every dated-stack reader refused them ("band 1 has no acquisition date")."""

import numpy as np
import pytest
from cubes import cube_times, write_cube
from osgeo import gdal

from sarsense.algorithms.io import datacube, read_info, sample_values
from sarsense.algorithms.io.dates import band_dates, band_provenance, band_times, check_series
from sarsense.algorithms.io.engine import run_blockwise

NT, NY, NX = 4, 6, 5


def picture():
    """Physical dB values (t, y, x), every pixel distinct, one missing pixel (NaN) in the north-west corner of
    date 0: row 0 is the northern row."""
    v = -15.9679 + 0.01 * np.arange(NT * NY * NX, dtype=np.float64).reshape(NT, NY, NX)
    v[0, 0, 0] = np.nan
    return v


ENCODINGS = {"int32_scaled": dict(dtype=np.int32, scale=1e-4, fill=-2147483648),
             "float32_nan": dict(dtype=np.float32, fill=float("nan"))}


@pytest.mark.parametrize("ext", ["nc", "zarr"])
@pytest.mark.parametrize("layout", ["openeo", "xarray"])
@pytest.mark.parametrize("cf_xy", [False, True])
@pytest.mark.parametrize("y_up", [False, True])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_cube_reads_as_north_up_dated_stack(tmp_path, ext, layout, cf_xy, y_up, encoding):
    """Every layout gives the same stack: dates to the second, north-up rows whose pixel→coordinate mapping is
    the cube's own, physical values (scale applied), the fill as NaN, orbit metadata per band."""
    values = picture()
    path = write_cube(str(tmp_path / f"cube.{ext}"), {"VV": values}, cube_times(n=NT), layout=layout, cf_xy=cf_xy,
                      y_up=y_up, per_time={"relative_orbit": [88, 161, 88, 161]}, **ENCODINGS[encoding])
    stack = datacube.cube_stack(path)
    try:
        info = read_info(stack)
        # pixel (col i, row j) → cell centre x0 + (i + 0.5)·res, y0 − (j + 0.5)·res: the writer's coordinates
        gt = info.geotransform
        assert gt[0] + 0.5 * gt[1] == pytest.approx(500010.0) and gt[3] + 0.5 * gt[5] == pytest.approx(5599990.0)
        assert gt[1] == pytest.approx(20.0) and gt[5] == pytest.approx(-20.0)
        assert "32631" in info.projection
        assert band_dates(stack) == ["2018-08-02", "2018-08-08", "2018-08-14", "2018-08-20"]
        assert str(band_times(stack)[1][0]) == "2018-08-08T17:32:05"
        meta = band_provenance(stack)
        assert [m["RELATIVE_ORBIT"] for m in meta] == ["88", "161", "88", "161"]
        assert meta[0]["ACQUISITION_START_TIME"] == "2018-08-02T17:32:05"
        read = np.stack(sample_values(stack, band=range(1, NT + 1), max_side=64)).reshape(NT, NY, NX)
        np.testing.assert_allclose(read, values, atol=1e-4, equal_nan=True)   # north row first, NaN kept
        assert check_series(stack) == band_dates(stack)
    finally:
        datacube.release(stack)
    assert not gdal.ReadDir(stack.rsplit("/", 1)[0])


def test_engine_reads_cube_stack_blockwise(tmp_path):
    """The block engine (several threads, small blocks) reads the cube's stack as the whole array: scaled values."""
    values = picture()
    path = write_cube(str(tmp_path / "cube.nc"), {"VV": values}, cube_times(n=NT), **ENCODINGS["int32_scaled"])
    stack = datacube.cube_stack(path)
    out = str(tmp_path / "copy.tif")
    try:
        from sarsense.algorithms.io import RunOptions
        run_blockwise(stack, out, lambda block: block, out_bands=NT, options=RunOptions(workers=2, budget_mb=0.001))
    finally:
        datacube.release(stack)
    got = gdal.Open(out).ReadAsArray()
    np.testing.assert_allclose(got, values, atol=1e-4, equal_nan=True)
    assert gdal.Open(out).GetRasterBand(2).GetMetadataItem("DATE") == "2018-08-08T17:32:05"


def test_seconds_since_epoch_with_time_of_day(tmp_path):
    """int64 'seconds since 1970-01-01 00:00:00' (xarray) and float days with a fraction (openEO) give the same
    times to the second."""
    times = cube_times("2019-03-05T05:41:59", n=3, every_days=12)
    a = datacube.open_cube(write_cube(str(tmp_path / "a.nc"), {"VV": picture()[:3]}, times, layout="xarray"))
    b = datacube.open_cube(write_cube(str(tmp_path / "b.nc"), {"VV": picture()[:3]}, times, layout="openeo"))
    assert [str(t) for t in a.times] == [str(t) for t in b.times] == \
        ["2019-03-05T05:41:59", "2019-03-17T05:41:59", "2019-03-29T05:41:59"]


@pytest.mark.parametrize("units,calendar,expected", [
    ("days since 1970-01-01", None, "2018-08-02T12:00:00"),
    ("hours since 2018-08-01 00:00:00", "gregorian", "2018-08-02T12:00:00"),
    ("minutes since 2018-08-02T00:00:00Z", "proleptic_gregorian", "2018-08-02T12:00:00"),
    ("seconds since 2018-08-02 12:00:00", "standard", "2018-08-02T12:00:00"),
])
def test_decode_times(units, calendar, expected):
    value = {"days": 17745.5, "hours": 36.0, "minutes": 720.0, "seconds": 0.0}[units.split()[0]]
    assert str(datacube.decode_times([value], units, calendar)[0]) == expected


@pytest.mark.parametrize("units,calendar,match", [
    ("days since 1970-01-01", "360_day", "calendar '360_day'"),
    ("months since 2000-01-01", None, "seconds, minutes, hours or days"),
    ("days", None, "<unit> since <date>"),
])
def test_decode_times_refusals(units, calendar, match):
    with pytest.raises(ValueError, match=match):
        datacube.decode_times([1.0], units, calendar)


def test_several_variables_name_the_choices(tmp_path):
    path = write_cube(str(tmp_path / "two.nc"), {"VV": picture(), "VH": picture() - 6}, cube_times(n=NT))
    with pytest.raises(ValueError) as err:
        datacube.open_cube(path)
    assert f'NETCDF:"{path}":VV' in str(err.value) and f'NETCDF:"{path}":VH' in str(err.value)
    cube = datacube.open_cube(f'NETCDF:"{path}":VH')
    assert cube.variable == "VH" and cube.dates[0] == "2018-08-02"
    assert datacube.cube_variables(path) == [f'NETCDF:"{path}":VV', f'NETCDF:"{path}":VH']


def test_bad_cubes_refused(tmp_path):
    times = cube_times(n=NT)
    irregular = write_cube(str(tmp_path / "irregular.nc"), {"VV": picture()}, times,
                           x_coords=[500010.0, 500030.0, 500050.0, 500090.0, 500110.0])
    with pytest.raises(ValueError, match="x .* not regularly spaced"):
        datacube.open_cube(irregular)
    no_crs = write_cube(str(tmp_path / "nocrs.nc"), {"VV": picture()}, times, crs=False)
    with pytest.raises(ValueError, match="no coordinate reference system.*crs_wkt or epsg_code"):
        datacube.open_cube(no_crs)
    calendar = write_cube(str(tmp_path / "noleap.nc"), {"VV": picture()}, times, calendar="noleap")
    with pytest.raises(ValueError, match="calendar 'noleap'"):
        datacube.open_cube(calendar)
    order = write_cube(str(tmp_path / "order.nc"), {"VV": picture()}, times, dims=("y", "x", "t"))
    with pytest.raises(ValueError, match=r"dimensions \(y, x, t\); SARSense reads \(time, y, x\)"):
        datacube.open_cube(f'NETCDF:"{order}":VV')


def test_no_time_dimension(tmp_path):
    """A 3-D variable without a time axis is refused; a file with no variable on one is no cube (a plain raster)."""
    path = write_cube(str(tmp_path / "band.nc"), {"VV": picture()}, cube_times(n=NT), time_units="metres")
    # the dimension is named t, a time name: a time coordinate without CF units is refused for its units
    with pytest.raises(ValueError, match="not CF's '<unit> since <date>'"):
        datacube.open_cube(path)
    band = str(tmp_path / "band_dim.nc")
    drv = gdal.GetDriverByName("netCDF").CreateMultiDimensional(band)
    rg = drv.GetRootGroup()
    dims = [rg.CreateDimension(n, None, None, s) for n, s in (("band", 2), ("y", 3), ("x", 3))]
    rg.CreateMDArray("VV", dims, gdal.ExtendedDataType.Create(gdal.GDT_Float32)).Write(np.zeros((2, 3, 3)))
    del rg, drv, dims
    with pytest.raises(ValueError, match="no time dimension"):
        datacube.open_cube(f'NETCDF:"{band}":VV')
    assert datacube.as_cube(band) is None       # a file with no time axis: read as any raster


def test_names():
    assert datacube.parse_name('NETCDF:"/d/c.nc":VV') == ("netCDF", "/d/c.nc", "VV")
    assert datacube.parse_name('ZARR:"/d/c.zarr":/VV') == ("Zarr", "/d/c.zarr", "VV")
    assert datacube.parse_name('ZARR:"/d/c.zarr":/VV:0') is None         # one 2-D slice
    assert datacube.parse_name("/nonexistent/c.nc") is None
    assert datacube.parse_name("/d/s1_2018-08-02.tif") is None


def test_per_time_metadata_and_static_variables(tmp_path):
    """Per-time platform and pass (STAC names, any case) become PLATFORM and ORBIT_PASS; a 2-D variable beside the
    cube (a mask) leaves the file one cube."""
    path = write_cube(str(tmp_path / "meta.nc"), {"VV": picture()}, cube_times(n=NT),
                      per_time={"platform": ["sentinel-1a", "Sentinel-1B", "S1A", "s1b"],
                                "sat:orbit_state": ["ascending", "ascending", "descending", "ascending"]},
                      static={"mask": np.ones((NY, NX))})
    cube = datacube.open_cube(path)
    assert cube.variable == "VV"
    assert [m["PLATFORM"] for m in cube.band_metadata] == ["S1A", "S1B", "S1A", "S1B"]
    assert [m["ORBIT_PASS"] for m in cube.band_metadata] == ["ASCENDING", "ASCENDING", "DESCENDING", "ASCENDING"]
    stack = datacube.cube_stack(cube)
    try:
        meta = band_provenance(stack)
        assert meta[2]["ORBIT_PASS"] == "DESCENDING" and meta[1]["PLATFORM"] == "S1B"
        assert meta[0]["POLARISATION"] == "VV"
    finally:
        datacube.release(stack)


def test_stack_in_a_folder_for_other_processes(tmp_path):
    """``folder``: the VRT is a real file that another process (gdalinfo, QGIS) opens."""
    path = write_cube(str(tmp_path / "c.nc"), {"VV": picture()}, cube_times(n=NT), **ENCODINGS["int32_scaled"])
    stack = datacube.cube_stack(path, folder=str(tmp_path / "vrt"))
    assert stack.startswith(str(tmp_path)) and band_dates(stack)[0] == "2018-08-02"
    assert gdal.Open(stack).GetRasterBand(1).GetScale() == pytest.approx(1e-4)


def test_georeferencing_from_gdal_without_coordinates(tmp_path):
    """A cube without x/y coordinate variables takes GDAL's geotransform (the CRS variable's GeoTransform)."""
    path = write_cube(str(tmp_path / "gt.nc"), {"VV": picture()}, cube_times(n=NT), coords=False)
    stack = datacube.cube_stack(path)
    try:
        assert read_info(stack).geotransform == pytest.approx((500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0))
        read = np.stack(sample_values(stack, band=range(1, NT + 1), max_side=64)).reshape(NT, NY, NX)
        np.testing.assert_allclose(read, picture(), atol=1e-4, equal_nan=True)
    finally:
        datacube.release(stack)
