"""Issue #28, readers of the soil-moisture suite through qgis_process: broken in-situ files (ISMN .stm, the Raam
CSVs) are named with file, line and reason and the rest imported; what cannot be imported is refused with what
to give; a table or stack the extraction cannot read unambiguously is refused. A case per class of defect."""

import json
import shutil

import numpy as np
import pytest
from helpers import REPO, write_raster
from osgeo import gdal, ogr
from process_helpers import needs_qgis_process, refusal, run, run_json

pytestmark = needs_qgis_process
RAAM = REPO / "resources" / "sample_data" / "soil_moisture_raam"


def _raam_copy(tmp_path, edit=None, *, locations=True):
    """The bundled Raam files in a folder of their own, ``edit(values text) -> text`` applied to the values."""
    dst = tmp_path / "raam"
    dst.mkdir()
    text = (RAAM / "raam_daily_5cm.csv").read_text(encoding="utf-8")
    (dst / "raam_daily_5cm.csv").write_text(edit(text) if edit else text, encoding="utf-8")
    if locations:
        shutil.copy(RAAM / "Raam_station_locations_WGS84.csv", dst)
    return dst


def _line(text, number, old, new):
    """``text`` with ``old`` replaced by ``new`` in its line ``number`` (1-based)."""
    lines = text.split("\n")
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "\n".join(lines)


def _stm(folder, station, rows, *, flag="G", sensor="5TM"):
    """An ISMN 'header + values' file of sensor ``sensor`` at 0-0.05 m: ``rows`` are (date, time, value) texts."""
    path = folder / "TestNet" / station / f"ISMN_TestNet_{station}_sm_0.000000_0.050000_{sensor}_20170810_20170812.stm"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"TestNet TestNet {station} 45.10 7.20 250.0 0.00 0.05 {sensor}"]
    lines += [f"{d} {t} {v} {flag} M" for d, t, v in rows]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return path


GOOD_ROWS = [("2017/08/10", f"{h:02d}:00", f"0.{20 + h}") for h in range(6)]


def _import(env, src, tmp_path, **extra):
    out_s, out_v = tmp_path / "st.gpkg", tmp_path / "vals.csv"
    return run(env, "importismn", f"--INPUT={src}", f"--OUTPUT_STATIONS={out_s}", f"--OUTPUT_VALUES={out_v}",
               *[f"--{k}={v}" for k, v in extra.items()]), out_s, out_v


def _doc(res):
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads(res.stdout[res.stdout.index("{"):])


# -- broken records: named with file, line and reason, the rest imported ---------------------------------------
RAAM_RECORDS = {
    # class: a value that is no number ('n/a'), a date that is no date, a record cut short
    "value": (lambda t: _line(t, 5, "0.3281", "n/a"), "line 5: value 'n/a' is not a number"),
    "date": (lambda t: _line(t, 7, "2016-04-10", "2016-13-45"), "line 7: date '2016-13-45' is not a date"),
    "short": (lambda t: _line(t, 9, ",0.3174,14.11,96", ""), "line 9: 2 field(s); the header names 3 or more"),
}


@pytest.mark.parametrize("case", sorted(RAAM_RECORDS))
def test_a_broken_raam_record_is_named_and_the_rest_imported(env, tmp_path, case):
    edit, needle = RAAM_RECORDS[case]
    src = _raam_copy(tmp_path, edit)
    before = (src / "raam_daily_5cm.csv").read_bytes()
    res, out_s, _ = _import(env, src, tmp_path)
    doc = _doc(res)
    text = res.stdout + res.stderr
    assert "Traceback" not in text and "could not convert" not in text
    assert f"raam_daily_5cm.csv: 1 record(s) skipped ({needle}" in text
    r = doc["results"]
    assert r["N_SKIPPED"] == 1 and r["N_STATIONS"] == 14 and r["N_VALUES"] == 4338 - 1
    layer = gdal.OpenEx(str(out_s))
    skipped = {f["station"]: f["n_skipped"] for f in layer.GetLayer()}
    assert sum(skipped.values()) == 1 and skipped["RM_SM_01"] == 1
    assert (src / "raam_daily_5cm.csv").read_bytes() == before


def test_a_broken_stm_record_is_named_and_the_rest_imported(env, tmp_path):
    src = tmp_path / "ismn"
    bad = _stm(src, "st1", GOOD_ROWS[:2] + [("2017/08/10", "02:00", "n/a"), ("2017/13/45", "03:00", "0.3")]
               + GOOD_ROWS[4:])
    _stm(src, "st2", GOOD_ROWS)
    res, _, _ = _import(env, src, tmp_path)
    doc = _doc(res)
    text = res.stdout + res.stderr
    name = f"TestNet/st1/{bad.name}"
    assert (f"{name}: 2 record(s) skipped (line 4: value 'n/a' is not a number; line 5: date and time "
            "'2017/13/45 03:00' are not YYYY/MM/DD HH:MM)") in text
    assert doc["results"]["N_SKIPPED"] == 2 and doc["results"]["N_VALUES"] == 4 + 6


def test_cp1252_text_is_read_and_said(env, tmp_path):
    src = _raam_copy(tmp_path)
    loc = src / "Raam_station_locations_WGS84.csv"
    loc.write_bytes(loc.read_text(encoding="utf-8").replace("[Station ID]", "[Station ID é]").encode("cp1252"))
    res, _, _ = _import(env, src, tmp_path)
    doc = _doc(res)
    assert "Raam_station_locations_WGS84.csv is not UTF-8 text: read as cp1252." in doc["log"]["info"]
    assert doc["results"]["N_STATIONS"] == 14 and doc["results"]["N_VALUES"] == 4338


# -- what cannot be imported: refused with what to give ------------------------------------------------------
def test_refusals_say_what_the_folder_must_hold(env, tmp_path):
    only_values = _raam_copy(tmp_path, locations=False)
    res, out_s, out_v = _import(env, only_values, tmp_path)
    refusal(res, "but not their station list Raam_station_locations_WGS84.csv", "put that file beside the values")
    assert not out_s.exists() and not out_v.exists()
    (only_values / "Raam_station_locations_WGS84.csv").write_bytes(b"")
    res, out_s, _ = _import(env, only_values, tmp_path)
    refusal(res, "Raam_station_locations_WGS84.csv lists no station with coordinates (0 line(s))",
            "'station;longitude;latitude'")
    assert not out_s.exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "readme.txt").write_text("hello")
    res, out_s, _ = _import(env, other, tmp_path)
    refusal(res, "holds no ISMN data file (*.stm) and no Raam CSV pair (it holds 1 file(s): readme.txt)",
            "https://ismn.earth", "raam_daily_5cm.csv AND Raam_station_locations_WGS84.csv")
    assert not out_s.exists()


def test_a_flag_filter_that_keeps_nothing_is_refused_naming_the_flags(env, tmp_path):
    src = tmp_path / "ismn"
    _stm(src, "st1", GOOD_ROWS)
    _stm(src, "st2", GOOD_ROWS[:2], flag="D01")
    res, out_s, out_v = _import(env, src, tmp_path, FLAGS="C01")
    refusal(res, "no reading passed Accepted ISMN quality flags (FLAGS) = C01", "carry the flags G (6), D01 (2)",
            "List the flags you accept (e.g. G")
    assert not out_s.exists() and not out_v.exists()
    assert _doc(_import(env, src, tmp_path, FLAGS="G,D01")[0])["results"]["N_VALUES"] == 8



def test_files_without_a_single_value_are_refused(env, tmp_path):
    """No flags to blame (Raam): every value empty gave rc 0 and empty tables."""
    import re
    src = _raam_copy(tmp_path, lambda t: re.sub(r"^(RM_SM_\d+,[0-9-]+),[0-9.]+,", r"\1,,", t, flags=re.M))
    res, out_s, out_v = _import(env, src, tmp_path)
    refusal(res, "none of the 4338 readings of the 14 sensor(s) holds a soil-moisture value")
    assert not out_s.exists() and not out_v.exists()


# -- extraction at stations ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raam_tables(env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raam_tables")
    r = run_json(env, "importismn", f"--INPUT={RAAM}", f"--OUTPUT_STATIONS={tmp / 'st.gpkg'}",
                 f"--OUTPUT_VALUES={tmp / 'vals.csv'}")["results"]
    return r["OUTPUT_STATIONS"], r["OUTPUT_VALUES"]


def _vv(path, descriptions):
    """A VV raster (dB) over the Raam stations in EPSG:4326, one band per description."""
    data = np.stack([np.full((60, 60), -10.0 - 5 * i, np.float32) for i in range(len(descriptions))])
    return write_raster(path, data, descriptions=descriptions, nodata=float("nan"), epsg=4326,
                        gt=(5.6, 0.005, 0, 51.76, 0, -0.005))


def test_extraction_refuses_a_date_twice(env, tmp_path, raam_tables):
    """Two passes on one day in one raster: the samples are per station and date, so which band stands for the
    day is ambiguous (the acquisition time of one and the value of the other were written)."""
    stations, values = raam_tables
    vv = _vv(tmp_path / "VV.tif", ["2016-05-01T05:00:00", "2016-05-01T17:00:00"])
    out = tmp_path / "samples.csv"
    refusal(run(env, "extractstations", f"--STATIONS={stations}", f"--VALUES={values}", f"--RASTERS={vv}",
                f"--OUTPUT={out}"), "has the same date twice (2016-05-01) in bands 1, 2", "keep one band per date")
    assert not out.exists()


def test_stations_with_no_position_in_the_rasters_crs_are_outside_not_a_traceback(env, tmp_path, raam_tables):
    """Stations moved 5e6 degrees east cannot be transformed into UTM (QgsCsException before): they are
    counted outside the rasters and the run refused saying so."""
    stations, values = raam_tables
    far = str(tmp_path / "far.gpkg")
    ds = ogr.GetDriverByName("GPKG").CopyDataSource(ogr.Open(stations), far)
    layer = ds.GetLayer(0)
    for f in layer:
        g = f.GetGeometryRef()
        g.SetPoint_2D(0, g.GetX() + 5e6, g.GetY())
        f.SetGeometry(g)
        layer.SetFeature(f)
    ds = layer = None
    vv = write_raster(tmp_path / "VV.tif", np.full((1, 60, 60), -10.0, np.float32), descriptions=["2016-05-01"],
                      nodata=float("nan"))        # in UTM 31N (the simulators' default grid)
    out = tmp_path / "samples.csv"
    refusal(run(env, "extractstations", f"--STATIONS={far}", f"--VALUES={values}", f"--RASTERS={vv}",
                f"--OUTPUT={out}"), "every station lies outside the rasters")
    assert not out.exists()


@pytest.mark.parametrize("case", ["empty", "header only", "no reading"])
def test_extraction_refuses_an_unreadable_values_table(env, tmp_path, raam_tables, case):
    stations, _ = raam_tables
    table = tmp_path / "vals.csv"
    table.write_text({"empty": "", "header only": "station,time_utc,soil_moisture\n",
                      "no reading": "station,time_utc,soil_moisture\nRaam/RM_SM_01,yesterday,wet\n"}[case])
    vv = _vv(tmp_path / "VV.tif", ["2016-05-01T05:00:00", "2016-05-02T05:00:00"])
    out = tmp_path / "samples.csv"
    res = run(env, "extractstations", f"--STATIONS={stations}", f"--VALUES={table}", f"--RASTERS={vv}",
              f"--OUTPUT={out}")
    if case == "empty":
        refusal(res, "In-situ values (VALUES)", "is empty (0 bytes)")
    else:
        refusal(res, "In-situ values (VALUES)", "has no readable reading")
    assert "not found" not in res.stdout + res.stderr and not out.exists()


# -- parameter files (JSON) of the calibrations ----------------------------------------------------------------
PARAMS_FILES = {
    # class: empty, cut short, valid JSON of another shape, an object without the numbers
    "empty": (b"", "truncated or damaged: the file is empty (0 bytes)"),
    "truncated": (b'{"alpha": 18.0, "be', "truncated or damaged: not JSON (Unterminated string"),
    "a list": (b"[18.0, 12.0]", "it holds a JSON list, not an object of named values"),
    "no numbers": (b'{"alpha": "high"}', "its 'alpha' is 'high', not a number"),
}
FIT = {"vegetationcd": ("change-detection parameters file", "Calibrate vegetation-corrected change detection"),
       "watercloud": ("Water Cloud Model parameters file", "Calibrate Water Cloud Model")}


@pytest.fixture(scope="module")
def vv_ndvi(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vv_ndvi")
    dates = ["2016-05-01", "2016-05-13"]
    vv = write_raster(tmp / "VV.tif", np.full((2, 20, 20), -11.0, np.float32), descriptions=dates, nodata=float("nan"))
    nd = write_raster(tmp / "NDVI.tif", np.full((2, 20, 20), 0.4, np.float32), descriptions=dates, nodata=float("nan"))
    return vv, nd


@pytest.mark.parametrize("alg", sorted(FIT))
@pytest.mark.parametrize("case", sorted(PARAMS_FILES))
def test_a_damaged_parameters_file_is_named_with_the_fix(env, tmp_path, vv_ndvi, alg, case):
    data, reason = PARAMS_FILES[case]
    if alg == "watercloud" and case == "no numbers":
        data, reason = b'{"a": 0.1, "b": "x"}', "its 'b' is 'x', not a number"
    params = tmp_path / "fit.json"
    params.write_bytes(data)
    vv, nd = vv_ndvi
    if alg == "vegetationcd":
        outs = [tmp_path / "ssm.tif"]
        res = run(env, alg, f"--VV={vv}", f"--V1={nd}", f"--PARAMS={params}", "--SSM_MIN=0.05", f"--OUTPUT={outs[0]}")
    else:
        outs = [tmp_path / "soil.tif", tmp_path / "veg.tif"]
        res = run(env, alg, f"--INPUT={vv}", "--INPUT_UNITS=1", f"--NDVI={nd}", "--INCIDENCE_ANGLE=39",
                  f"--PARAMS={params}", f"--OUTPUT_SOIL={outs[0]}", f"--OUTPUT_VEG={outs[1]}")
    kind, maker = FIT[alg]
    refusal(res, f"'{params}' is not a SARSense {kind}", reason, f"it with '{maker}' or choose the file it wrote")
    assert not any(o.exists() for o in outs) and params.read_bytes() == data


def _corrupt_zip(folder, zip_path, member_text, replacement):
    """``folder`` zipped (stored, no compression) with ``member_text`` replaced in the archive's bytes: the member
    that held it fails its CRC check on reading."""
    import zipfile
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as z:
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            z.write(f, f.relative_to(folder).as_posix())
    data = zip_path.read_bytes()
    assert data.count(member_text) == 1 and len(member_text) == len(replacement)
    zip_path.write_bytes(data.replace(member_text, replacement))
    return zip_path


def test_a_damaged_zip_member_is_named_and_the_rest_imported(env, tmp_path):
    src = tmp_path / "ismn"
    bad = _stm(src, "st1", [("2017/08/10", "00:00", "0.333"), ("2017/08/10", "01:00", "0.334")])
    _stm(src, "st2", GOOD_ROWS, sensor="TDR")
    archive = _corrupt_zip(src, tmp_path / "ismn.zip", b"0.333", b"0.933")
    res, _, _ = _import(env, archive, tmp_path)
    doc = _doc(res)
    assert f"Not imported: TestNet/st1/{bad.name}: it cannot be read from the zip (Bad CRC-32" in \
        res.stdout + res.stderr
    assert doc["results"]["N_STATIONS"] == 1 and doc["results"]["N_VALUES"] == 6
    (tmp_path / "r").mkdir()
    raam = _corrupt_zip(_raam_copy(tmp_path / "r"), tmp_path / "raam.zip", b"RM_SM_01,2016-04-08,0.3281",
                        b"RM_SM_01,2016-04-08,0.9281")
    res, out_s, _ = _import(env, raam, tmp_path / "r")
    refusal(res, "raam_daily_5cm.csv: it cannot be read from the zip (Bad CRC-32", "Download it again")
    assert not out_s.exists()


def test_attribution_counts_the_stations_importismn_finds(env, raam_tables):
    """ATTRIBUTION.md said 15 stations; the daily series hold 14 (RM_SM_06 is only in the station list)."""
    import re
    text = (REPO / "resources" / "sample_data" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    said = int(re.search(r"temperature at (\d+) stations of the Raam network", text).group(1))
    ds = gdal.OpenEx(raam_tables[0])
    found = ds.GetLayer().GetFeatureCount()
    assert said == found == 14


def _samples_csv(path, insitu):
    rows = ["station,date,SSM,ssm_insitu"]
    rows += [f"Raam/RM_SM_0{i % 3 + 1},2016-05-{i + 1:02d},{0.20 + 0.01 * i:.2f},{v}" for i, v in enumerate(insitu)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_text_in_a_numeric_samples_field_is_counted_or_refused(env, tmp_path):
    """validatemoisture (as the calibrations and the ANN training, one reader): a value 'n/a' was read as missing
    without a word; a field of text only gave 'needs at least 2' samples."""
    some = _samples_csv(tmp_path / "some.csv", ["0.21", "n/a", "0.24", "0.22", "0.27", "0.25"])
    doc = _doc(run(env, "validatemoisture", f"--SAMPLES={some}", f"--OUTPUT_TABLE={tmp_path / 's.csv'}",
                   f"--OUTPUT_HTML={tmp_path / 's.html'}"))
    assert doc["results"]["N"] == 5
    assert any("1 value(s) of field 'ssm_insitu' are not numbers and are left out as missing (row 2: 'n/a')" in w
               for w in doc["log"]["warning"]), doc["log"]
    none = _samples_csv(tmp_path / "none.csv", ["wet", "dry", "n/a"])
    out = tmp_path / "n.csv"
    refusal(run(env, "validatemoisture", f"--SAMPLES={none}", f"--OUTPUT_TABLE={out}",
                f"--OUTPUT_HTML={tmp_path / 'n.html'}"),
            "Samples (SAMPLES): field 'ssm_insitu' holds no number (row 1: 'wet'; row 2: 'dry'; row 3: 'n/a')")
    assert not out.exists()


def test_a_flag_filter_on_files_without_flags_is_said_not_applied(env, tmp_path):
    """The Raam daily CSVs carry no ISMN flags: a filter the user set is not silently ignored."""
    res = run(env, "importismn", f"--INPUT={RAAM}", f"--OUTPUT_STATIONS={tmp_path / 'st.gpkg'}",
              f"--OUTPUT_VALUES={tmp_path / 'v.csv'}", "--FLAGS=Z")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "(FLAGS) = Z was not applied" in res.stdout + res.stderr
