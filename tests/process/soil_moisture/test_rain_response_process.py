"""Check soil moisture against rain (sarsense:rainresponse, issue #29) through qgis_process.bin --json, on the
simulated two-orbit site (simulators/soil_moisture_orbits.py): change detection one orbit at a time responds to
rain, the same series pooled over both orbits does not; what would be meaningless is refused by name."""

import csv

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal, ogr, osr
from process_helpers import digest, needs_qgis_process, ok, refused, run_json

from sarsense.simulators import soil_moisture_orbits as so

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rain")
    paths, data = so.write_site(tmp, stacks=True)
    return {"tmp": tmp, "paths": paths, "site": data}


def _orbit_stack(site, orbit, path):
    keep = [i for i, a in enumerate(site["acq"]) if a["orbit"] == orbit]
    return so.write_stack(path, {"VV": site["VV"][keep], "acq": [site["acq"][i] for i in keep]}, "VV")


def _per_orbit(env, site, name, *extra):
    """Change detection run on each relative orbit's stack through qgis_process, merged back in date order."""
    t, data = site["tmp"], site["site"]
    merged = np.empty_like(data["VV"])
    orbits = np.array([a["orbit"] for a in data["acq"]])
    for orbit in (88, 161):
        vv = _orbit_stack(data, orbit, t / f"vv_{orbit}.tif")
        res = ok(env, "changedetection", f"--INPUT={vv}", "--INPUT_UNITS=1", *extra,
                 f"--OUTPUT_INDEX={t / f'i_{name}_{orbit}.tif'}", f"--OUTPUT_SSM={t / f'ssm_{name}_{orbit}.tif'}")
        merged[orbits == orbit] = read_raster(res["OUTPUT_SSM"])
    return so.write_stack(t / f"ssm_{name}.tif", {"SSM": merged, "acq": data["acq"]}, "SSM", units="m3/m3")


@pytest.fixture(scope="module")
def per_orbit_ssm(env, site):
    return _per_orbit(env, site, "per_orbit")


def test_per_orbit_change_detection_responds_to_rain_pooled_does_not(env, site, per_orbit_ssm):
    t, rain = site["tmp"], site["paths"]["rain"]
    before = digest(rain)
    out = run_json(env, "rainresponse", f"--INPUT={per_orbit_ssm}", f"--RAIN={rain}",
                   f"--OUTPUT_TABLE={t / 'pairs.csv'}", f"--OUTPUT_HTML={t / 'rain.html'}")
    per = out["results"]
    n = len(site["site"]["acq"])
    assert per["RHO"] > 0.2 and per["WET_MINUS_DRY"] > 0.02 and per["P_VALUE"] < 0.05 and per["N_PAIRS"] == n - 1
    assert "SIMULATED data: ρ = " in str(out)
    with open(per["OUTPUT_TABLE"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n - 1 and rows[0]["from"].endswith(site["site"]["acq"][0]["time"].strftime("T%H:%M:%S"))
    assert float(rows[0]["rain_mm"]) >= 0 and "SIMULATED" in open(per["OUTPUT_HTML"], encoding="utf-8").read()
    assert digest(rain) == before
    # the one stack a user builds first: both orbits, one series (ORBITS=1 once the parameter exists)
    cd = ok(env, "changedetection", f"--INPUT={site['paths']['VV']}", "--INPUT_UNITS=1", "--ORBITS=1",
            f"--OUTPUT_INDEX={t / 'i_pooled.tif'}", f"--OUTPUT_SSM={t / 'ssm_pooled.tif'}")
    out = run_json(env, "rainresponse", f"--INPUT={cd['OUTPUT_SSM']}", f"--RAIN={rain}",
                   f"--OUTPUT_TABLE={t / 'pairs_pooled.csv'}", f"--OUTPUT_HTML={t / 'rain_pooled.html'}")
    pooled = out["results"]
    assert pooled["RHO"] < per["RHO"] - 0.2 and pooled["RHO"] < 0.1
    # the shifted rain says why: the steps follow the 5- and 1-day intervals (per orbit it says nothing)
    assert "follow the intervals between acquisitions" in str(out)
    assert "follow the intervals" in open(pooled["OUTPUT_HTML"], encoding="utf-8").read()
    assert "follow the intervals" not in open(per["OUTPUT_HTML"], encoding="utf-8").read()


def test_the_simulated_air_temperature_screens_the_frozen_dates(env, site, per_orbit_ssm):
    """The site's t2m.csv as TEMPERATURE: its frozen acquisitions (T < 0 °C, the radar sees dry soil) are left out
    of the references and the series, and the response to rain gets clearer (seed 0: ρ 0.32 → 0.39)."""
    t, rain = site["tmp"], site["paths"]["rain"]
    screened = _per_orbit(env, site, "screened", f"--TEMPERATURE={site['paths']['t2m']}")
    res = {name: ok(env, "rainresponse", f"--INPUT={path}", f"--RAIN={rain}", f"--OUTPUT_TABLE={t / f'{name}.csv'}",
                    f"--OUTPUT_HTML={t / f'{name}.html'}") for name, path in (("all", per_orbit_ssm),
                                                                             ("screened", screened))}
    frozen = int(site["site"]["frozen"].sum())
    assert frozen > 0 and res["screened"]["N_PAIRS"] == res["all"]["N_PAIRS"] - frozen
    assert res["screened"]["RHO"] > res["all"]["RHO"]


def test_an_area_polygons_or_a_mask_takes_the_median_of_its_pixels_only(env, site, per_orbit_ssm):
    t = site["tmp"]
    x0, y0 = so.ORIGIN
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(so.EPSG)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(t / "field.gpkg"))
    layer = ds.CreateLayer("field", srs, ogr.wkbPolygon)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt(
        f"POLYGON(({x0} {y0},{x0 + 240} {y0},{x0 + 240} {y0 - 240},{x0} {y0 - 240},{x0} {y0}))"))  # field 0
    layer.CreateFeature(feature)
    ds = None
    res = ok(env, "rainresponse", f"--INPUT={per_orbit_ssm}", f"--RAIN={site['paths']['rain']}",
             f"--AOI={t / 'field.gpkg'}", f"--OUTPUT_TABLE={t / 'pairs_f.csv'}", f"--OUTPUT_HTML={t / 'f.html'}")
    ssm = read_raster(per_orbit_ssm)
    with open(res["OUTPUT_TABLE"], newline="") as fh:
        first = next(csv.DictReader(fh))
    assert float(first["ssm_from"]) == pytest.approx(float(np.nanmedian(ssm[0, :12, :12])), abs=1e-5)
    # a mask raster (field 0 and the first 6 rows of field 1) with the polygons: the area is where both say so,
    # and a mask alone is its own area
    m = np.zeros(ssm.shape[1:], np.uint8)
    m[:6, :] = 1
    m[:12, :12] = 1
    mask = write_raster(t / "mask.tif", m, epsg=so.EPSG, gt=so.geotransform(), dtype=gdal.GDT_Byte)
    for extra, expect in (([f"--AOI={t / 'field.gpkg'}"], ssm[0, :12, :12]), ([], ssm[0][m > 0])):
        res = ok(env, "rainresponse", f"--INPUT={per_orbit_ssm}", f"--RAIN={site['paths']['rain']}", *extra,
                 f"--MASK={mask}", f"--OUTPUT_TABLE={t / f'pairs_m{len(extra)}.csv'}",
                 f"--OUTPUT_HTML={t / f'm{len(extra)}.html'}")
        with open(res["OUTPUT_TABLE"], newline="") as fh:
            first = next(csv.DictReader(fh))
        assert float(first["ssm_from"]) == pytest.approx(float(np.nanmedian(expect)), abs=1e-5)


def _rain_csv(path, site, *, column="rain_mm", drop_first=0, zero=False):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", column])
        for d, r in list(zip(site["days"], site["rain_mm"]))[drop_first:]:
            w.writerow([d.isoformat(), 0.0 if zero else r])
    return path


@pytest.mark.parametrize("case, match", [
    ("column", ("Rain column (mm/day) (RAIN_COLUMN)", "no column 'rain_mm'; its columns are date, tp")),
    ("late", ("the rain series covers 2017-12-29", "but the acquisitions need rain from 2017-12-25")),
    ("dry", ("no rain fell between any two acquisitions",)),
    ("percent", ("Soil moisture stack (m³/m³) (INPUT)",)),
    ("short", ("has 5 date(s)", "at least 11")),
    ("wet", ("0 acquisition(s) with at least 200 mm of rain", "Lower Rain that makes a wet acquisition (mm) (WET_MM)")),
])
def test_what_would_be_meaningless_is_refused_by_name(env, site, per_orbit_ssm, case, match):
    t, data = site["tmp"], site["site"]
    ssm, rain = per_orbit_ssm, site["paths"]["rain"]
    if case == "column":
        rain = _rain_csv(t / "tp.csv", data, column="tp")
    elif case == "late":
        rain = _rain_csv(t / "late.csv", data, drop_first=so.SPINUP_DAYS - 3)
    elif case == "dry":
        rain = _rain_csv(t / "zero.csv", data, zero=True)
    elif case == "percent":
        arr = read_raster(per_orbit_ssm) * 100
        ssm = so.write_stack(t / "ssm_pct.tif", {"SSM": arr, "acq": data["acq"]}, "SSM", units="m3/m3")
    elif case == "short":
        arr = read_raster(per_orbit_ssm)[:5]
        ssm = so.write_stack(t / "ssm_short.tif", {"SSM": arr, "acq": data["acq"][:5]}, "SSM", units="m3/m3")
    table = t / f"refused_{case}.csv"
    extra = ["--WET_MM=200"] if case == "wet" else []
    refused(env, "rainresponse", f"--INPUT={ssm}", f"--RAIN={rain}", *extra, f"--OUTPUT_TABLE={table}",
            f"--OUTPUT_HTML={t / f'refused_{case}.html'}", match=match)
    assert not table.exists()
    assert gdal.Open(str(ssm)) is not None


def test_the_cube_read_directly_keeps_the_times_and_says_simulated(env, site):
    """The simulated CF cube as INPUT (NETCDF:"cube.nc":VV), pooled: the rain check finds the acquisition times
    in the SSM (split at 17:32/17:40), the pooled sawtooth (warned) and the SIMULATED origin (report and log)."""
    t = site["tmp"]
    cd = ok(env, "changedetection", f'--INPUT=NETCDF:"{site["paths"]["cube"]}":VV', "--INPUT_UNITS=1", "--ORBITS=1",
            f"--OUTPUT_INDEX={t / 'i_cube.tif'}", f"--OUTPUT_SSM={t / 'ssm_cube.tif'}")
    out = run_json(env, "rainresponse", f"--INPUT={cd['OUTPUT_SSM']}", f"--RAIN={site['paths']['rain']}",
                   f"--OUTPUT_TABLE={t / 'pairs_cube.csv'}", f"--OUTPUT_HTML={t / 'rain_cube.html'}")
    log, res = str(out), out["results"]
    assert "SIMULATED data: ρ = " in log and "follow the intervals between acquisitions" in log
    assert res["RHO"] < 0.1 and res["N_PAIRS"] == len(site["site"]["acq"]) - 1
    with open(res["OUTPUT_TABLE"], newline="") as fh:
        first = next(csv.DictReader(fh))
    assert first["from"] == site["site"]["acq"][0]["time"].isoformat(timespec="seconds")
    assert "SIMULATED" in open(res["OUTPUT_HTML"], encoding="utf-8").read()
