"""Issue #29, datacubes as dated stacks, through qgis_process as a user runs it: a NetCDF/Zarr variable of an
openEO/xarray cube (``t``/``time``, ``x``/``y`` without CF attributes, a ``crs``/``spatial_ref`` variable, Int32
dB × 10⁴
with scale_factor 1e-4 and _FillValue) is read wherever a dated stack is, with the same result as the GeoTIFF stack
of its values. Before: "band 1 has no acquisition date … name the file with its date" (changedetection) and
"Incorrect parameter value for INPUTS" (buildstack)."""

import numpy as np
import pytest
from cubes import cube_times, write_cube
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import digest, needs_qgis_process, ok, refusal, run

pytestmark = needs_qgis_process

NT, NY, NX = 8, 24, 20
SCALED = dict(dtype=np.int32, scale=1e-4, fill=-2147483648)


def backscatter():
    """VV in dB (t, y, x): a wetting and drying cycle on a field pattern, three missing pixels on date 2."""
    rng = np.random.default_rng(29)
    field = rng.normal(-14.0, 1.5, (NY, NX))
    wet = np.array([0.0, 2.5, 1.2, 0.4, 3.1, 0.8, 0.1, 1.9])[:, None, None]
    v = field[None] + wet + rng.normal(0, 0.3, (NT, NY, NX))
    v[2, 5, 5:8] = np.nan
    return v


def ndvi():
    """NDVI (t, y, x) 0.2–0.7 rising over the season."""
    return np.clip(np.linspace(0.2, 0.7, NT)[:, None, None] + np.zeros((NT, NY, NX)), 0, 1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cube")
    values = backscatter()
    times = cube_times(n=NT)
    dates = [str(t)[:10] for t in times]
    paths = {
        "nc": write_cube(str(d / "openeo.nc"), {"VV": values}, times, per_time={"relative_orbit": [88, 161] * 4},
                         **SCALED),
        "zarr": write_cube(str(d / "xarray.zarr"), {"VV": values}, times, layout="xarray", y_up=True,
                           dtype=np.float32, fill=float("nan")),
        "static": write_cube(str(d / "with_mask.nc"), {"VV": values}, times, static={"mask": np.ones((NY, NX))},
                             **SCALED),
        "two": write_cube(str(d / "two.nc"), {"VV": values, "VH": values - 6}, times, **SCALED),
        "veg": write_cube(str(d / "veg.nc"), {"VV": values, "NDVI": ndvi()}, times, **SCALED),
        "ndvi_tif": write_raster(str(d / "ndvi.tif"), ndvi().astype(np.float32),
                                 gt=(500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0), descriptions=dates),
        "nocrs": write_cube(str(d / "nocrs.nc"), {"VV": values}, times, crs=False, **SCALED),
        "tif": write_raster(str(d / "stack.tif"), np.where(np.isfinite(values), values, np.nan).astype(np.float32),
                            gt=(500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0), nodata=float("nan"),
                            descriptions=dates),
        "scaled_tif": _scaled_tif(str(d / "scaled.tif"), values, dates),
        "later": write_raster(str(d / "S1_VV_2018-10-01.tif"), np.full((NY, NX), -11.0, np.float32),
                              gt=(500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0)),
    }
    return d, paths, dates


def _scaled_tif(path, values, dates):
    """The cube's Int32 values (dB × 10⁴, raw −159679 …) as a GeoTIFF whose bands declare scale 1e-4 and the fill."""
    raw = np.where(np.isfinite(values), np.round(values / 1e-4), -2147483648).astype(np.int32)
    write_raster(path, raw, gt=(500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0), nodata=-2147483648,
                 descriptions=dates, dtype=gdal.GDT_Int32)
    ds = gdal.Open(path, gdal.GA_Update)
    for b in range(ds.RasterCount):
        ds.GetRasterBand(b + 1).SetScale(1e-4)
    ds = None
    return path


def _cd(env, d, src, tag, orbits=1):
    """changedetection of ``src``; pooled by default (ORBITS=1), as the GeoTIFF stack dated by day is one series,
    so that the two read the same values into the same computation."""
    out = {"OUTPUT_INDEX": str(d / f"index_{tag}.tif"), "OUTPUT_SSM": str(d / f"ssm_{tag}.tif")}
    res = run(env, "changedetection", INPUT=src, INPUT_UNITS=1, MIN_DATES=4, ORBITS=orbits, **out)
    return res, out


@pytest.mark.parametrize("form", ["name", "file", "file_with_mask", "zarr", "scaled_tif"])
def test_changedetection_reads_cube(env, data, form):
    """changedetection on ``NETCDF:"cube.nc":VV``, on the .nc file itself (alone, or with a 2-D mask variable beside
    it) and on a Zarr store whose y runs south to north gives the SSM of the float GeoTIFF stack of the same values,
    each band dated to the second; the input is left as it was. The raw −159679 of an Int32 band (a cube's, or a
    GeoTIFF's declaring scale 1e-4) is read through its scale: no 'undeclared nodata' advice."""
    d, p, dates = data
    src = {"name": f'NETCDF:"{p["nc"]}":VV', "file": p["nc"], "file_with_mask": p["static"],
           "zarr": f'ZARR:"{p["zarr"]}":/VV', "scaled_tif": p["scaled_tif"]}[form]
    before = digest(p["nc"])
    res, out = _cd(env, d, src, form)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "nodata value" not in res.stdout + res.stderr
    ref, ref_out = _cd(env, d, p["tif"], f"tif_{form}")
    assert ref.returncode == 0, ref.stdout[-3000:] + ref.stderr[-3000:]
    got, want = read_raster(out["OUTPUT_SSM"]), read_raster(ref_out["OUTPUT_SSM"])
    assert np.isfinite(got).mean() > 0.9
    np.testing.assert_allclose(got, want, atol=2e-3, equal_nan=True)
    ds = gdal.Open(out["OUTPUT_SSM"])
    assert [ds.GetRasterBand(b + 1).GetDescription() for b in range(ds.RasterCount)] == dates
    assert ds.GetGeoTransform() == pytest.approx((500000.0, 20.0, 0.0, 5600000.0, 0.0, -20.0))
    if form in ("name", "file"):
        assert ds.GetRasterBand(2).GetMetadataItem("RELATIVE_ORBIT") == "161"
        # by default each of the cube's relative orbits is its own series (issue 29), read from its per-time variable
        per_orbit, _ = _cd(env, d, src, f"{form}_per_orbit", orbits=0)
        assert per_orbit.returncode == 0, per_orbit.stdout[-3000:] + per_orbit.stderr[-3000:]
        assert "relative orbit 88" in per_orbit.stdout + per_orbit.stderr
        assert "relative orbit 161" in per_orbit.stdout + per_orbit.stderr
    if form != "scaled_tif":
        assert ds.GetRasterBand(1).GetMetadataItem("DATE") == "2018-08-02T17:32:05"
    assert digest(p["nc"]) == before


def test_vegetationcd_reads_two_variables_of_one_cube(env, data):
    """vegetationcd with VV and V1 two variables of one cube gives the SSM of the GeoTIFF stacks (dates matched)."""
    d, p, _ = data
    outs = [str(d / "veg_cube.tif"), str(d / "veg_tif.tif")]
    ok(env, "vegetationcd", VV=f'NETCDF:"{p["veg"]}":VV', V1=f'NETCDF:"{p["veg"]}":NDVI', INPUT_UNITS=1,
       ALPHA=20, BETA=10, OUTPUT=outs[0])
    ok(env, "vegetationcd", VV=p["tif"], V1=p["ndvi_tif"], INPUT_UNITS=1, ALPHA=20, BETA=10, OUTPUT=outs[1])
    got, want = read_raster(outs[0]), read_raster(outs[1])
    assert np.isfinite(got).mean() > 0.9
    np.testing.assert_allclose(got, want, atol=2e-3, equal_nan=True)


def test_annmoisture_reads_predictors_from_a_cube(env, data, tmp_path):
    """annmoisture takes its dated predictor stacks as variables of a cube (named after the cube and variable,
    'veg_VV', 'veg_NDVI', which say which predictor each is) and maps what the GeoTIFF stacks give."""
    import sm_bad_data
    d, p, _ = data
    samples = sm_bad_data.make(tmp_path)["samples"]
    model = ok(env, "trainannmoisture", f"--SAMPLES={samples}", "--INPUTS=0", "--INPUTS=3", "--ENSEMBLE=1",
               f"--OUTPUT_MODEL={tmp_path / 'ann.onnx'}", f"--OUTPUT_HTML={tmp_path / 'ann.html'}")["OUTPUT_MODEL"]
    outs = [str(d / "ann_cube.tif"), str(d / "ann_tif.tif")]
    ok(env, "annmoisture", f'--INPUTS=NETCDF:"{p["veg"]}":VV', f'--INPUTS=NETCDF:"{p["veg"]}":NDVI',
       f"--MODEL={model}", f"--OUTPUT={outs[0]}")
    ok(env, "annmoisture", f"--INPUTS={p['tif']}", f"--INPUTS={p['ndvi_tif']}", f"--MODEL={model}",
       f"--OUTPUT={outs[1]}")
    got, want = read_raster(outs[0]), read_raster(outs[1])
    assert np.isfinite(got).mean() > 0.9
    np.testing.assert_allclose(got, want, atol=2e-3, equal_nan=True)


def test_multitemporal_despeckle_reads_cube(env, data):
    d, p, dates = data
    out = str(d / "mt.tif")
    ok(env, "multitemporaldespeckle", INPUT=f'NETCDF:"{p["nc"]}":VV', OUTPUT=out)
    ds = gdal.Open(out)
    assert ds.RasterCount == NT and ds.GetRasterBand(NT).GetDescription() == dates[-1]
    assert np.nanmedian(read_raster(out)) == pytest.approx(np.nanmedian(backscatter()), abs=1.5)   # dB, scaled


def test_interpolatetime_reads_cube(env, data):
    d, p, dates = data
    out = str(d / "interp.tif")
    ok(env, "interpolatetime", INPUT=f'NETCDF:"{p["nc"]}":VV', TARGET="2018-08-05,2018-08-11", OUTPUT=out)
    got = read_raster(out)
    v = backscatter()
    np.testing.assert_allclose(got[0], (v[0] + v[1]) / 2, atol=2e-3, equal_nan=True)


def test_buildstack_mixes_cube_and_geotiff(env, data):
    """buildstack takes a cube variable among its INPUTS (before: 'Incorrect parameter value for INPUTS'), beside a
    GeoTIFF, sorted by date, scaled values, times and orbits kept."""
    d, p, dates = data
    out = str(d / "built.tif")
    res = ok(env, "buildstack", f'--INPUTS={p["later"]}', f'--INPUTS=NETCDF:"{p["nc"]}":VV', OUTPUT=out)
    assert res["DATES"].split(",") == dates + ["2018-10-01"]
    got = read_raster(out)
    np.testing.assert_allclose(got[:NT], backscatter(), atol=2e-4, equal_nan=True)
    ds = gdal.Open(out)
    assert ds.GetRasterBand(3).GetMetadataItem("DATE") == "2018-08-14T17:32:05"
    assert ds.GetRasterBand(4).GetMetadataItem("RELATIVE_ORBIT") == "161"


def test_several_variables_refused_with_the_names(env, data):
    d, p, _ = data
    res, _ = _cd(env, d, p["two"], "two")
    refusal(res, "2 variables on a time dimension", f'NETCDF:"{p["two"]}":VV', f'NETCDF:"{p["two"]}":VH')
    res = run(env, "buildstack", f'--INPUTS={p["two"]}', OUTPUT=str(d / "two_stack.tif"))
    refusal(res, f'NETCDF:"{p["two"]}":VH')


def test_cube_without_crs_refused_with_how_to_assign(env, data):
    d, p, _ = data
    res, out = _cd(env, d, f'NETCDF:"{p["nocrs"]}":VV', "nocrs")
    refusal(res, "VV time stack (INPUT)", "no coordinate reference system", "crs_wkt or epsg_code")
    assert not any(__import__("os").path.exists(f) for f in out.values())
