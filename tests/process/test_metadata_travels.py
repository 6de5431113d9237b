"""Metadata travels (STYLE §8, issue 27): every algorithm that takes a dated raster, run through qgis_process on
dated stacks that carry what the Sentinel-1 import writes, gives every output band its input band's date and time
and the import's metadata, with the keys it changes set (units of a conversion, a ratio's polarisation, the
quantity of a soil-moisture map); the shipped "Sentinel-1 GRD → dB" workflow keeps the product's date."""

import numpy as np
import pytest
from helpers import write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, qp, run_json

from sarsense.algorithms.io import stack
from sarsense.simulators import s1_safe

pytestmark = needs_qgis_process

#: Six acquisitions 12 days apart, at the time of day the import writes (UTC, to the second).
TIMES = [str(np.datetime64("2021-04-01T05:26:41") + np.timedelta64(12 * k, "D")) for k in range(6)]
DATES = [t[:10] for t in TIMES]
FILE_META = {"MISSION": "S1B", "MODE": "IW", "CALIBRATION": "sigma0"}
#: What tells the orbit apart per band (issue #29), as the import writes it.
ORBIT = {"PLATFORM": "S1B", "RELATIVE_ORBIT": "168", "ORBIT_PASS": "DESCENDING"}
GT, EPSG = (600000.0, 10.0, 0.0, 5100000.0, 0.0, -10.0), 32632


def _dated(path, arr, band_meta, file_meta=None):
    write_raster(path, arr, epsg=EPSG, gt=GT, descriptions=DATES)
    ds = gdal.Open(str(path), gdal.GA_Update)
    for i, meta in enumerate(band_meta):
        ds.GetRasterBand(i + 1).SetMetadata(meta)
    if file_meta:
        ds.SetMetadata(file_meta)
    ds = None
    return str(path)


def _importer_like(pol, time):
    return {"POLARISATION": pol, "QUANTITY": "sigma0", "units": "dB", "ACQUISITION_START_TIME": time,
            "PRODUCT": f"S1B_IW_GRDH_1SDV_{time.replace('-', '').replace(':', '')}_TEST.SAFE", **FILE_META, **ORBIT}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """VV and VH stacks as 'Build dated stack' writes them from imports (dB, a water patch), an NDVI stack on the
    same dates (dates only), a flat DEM, another date set and station samples."""
    d = tmp_path_factory.mktemp("travels")
    rng = np.random.default_rng(27)
    shape = (len(DATES), 48, 48)
    vv = (-10 + 1.5 * rng.standard_normal(shape) + np.linspace(-2, 2, len(DATES))[:, None, None]).astype(np.float32)
    vh = vv - 7
    vv[:, :8, :8], vh[:, :8, :8] = -24.0, -28.0
    ndvi = np.clip(0.45 + 0.05 * rng.standard_normal(shape), 0.2, 0.75).astype(np.float32)
    samples = d / "samples.csv"
    samples.write_text("station,date,vv,ssm\n" + "".join(
        f"s{k},{DATES[k % 6]},{-14 + k * 0.4:.2f},{0.08 + k * 0.015:.3f}\n" for k in range(16)))
    return {
        "vv": _dated(d / "vv.tif", vv, [_importer_like("VV", t) for t in TIMES], FILE_META),
        "vh": _dated(d / "vh.tif", vh, [_importer_like("VH", t) for t in TIMES], FILE_META),
        "ndvi": _dated(d / "ndvi.tif", ndvi, [{"DATE": day} for day in DATES]),
        "dem": write_raster(d / "dem.tif", np.full((48, 48), 300.0, np.float32), epsg=EPSG, gt=GT),
        "samples": str(samples), "dir": d,
    }


#: (algorithm, parameters ({name} from the fixture), output, keys every output band must carry,
#: dates: "same" (the input's, with their times) or "target" (the other date set, days only)).
SSM = {"QUANTITY": "surface soil moisture", "units": "m3/m3", "POLARISATION": "VV"}
CASES = [
    ("despeckle", {"INPUT": "{vv}", "FILTER": 4, "SIZE": 5, "LOOKS": 4.4, "INPUT_UNITS": 1}, "OUTPUT",
     {"POLARISATION": "VV", "QUANTITY": "sigma0", "units": "dB"}, "same"),
    ("convertunits", {"INPUT": "{vv}", "CONVERSION": 1}, "OUTPUT",
     {"POLARISATION": "VV", "QUANTITY": "sigma0", "units": "linear"}, "same"),
    ("multitemporaldespeckle", {"INPUT": "{vv}", "INPUT_UNITS": 1, "SIZE": 5}, "OUTPUT",
     {"POLARISATION": "VV", "units": "dB"}, "same"),
    ("polratio", {"CO": "{vv}", "CROSS": "{vh}", "INPUT_UNITS": 1}, "OUTPUT",
     {"POLARISATION": "VH/VV", "units": "dB"}, "same"),
    ("buildstack", {"INPUTS": "{vv}"}, "OUTPUT", {"POLARISATION": "VV", "QUANTITY": "sigma0", "units": "dB"}, "same"),
    ("changedetection", {"INPUT": "{vv}", "INPUT_UNITS": 1, "SSM_MIN": 0.05, "SSM_MAX": 0.45,
                         "OUTPUT_INDEX": "{dir}/cd_index.tif"}, "OUTPUT_SSM", SSM, "same"),
    ("changedetection", {"INPUT": "{vv}", "INPUT_UNITS": 1, "SSM_MIN": 0.05, "SSM_MAX": 0.45,
                         "OUTPUT_SSM": "{dir}/cd_ssm.tif"}, "OUTPUT_INDEX",
     {"QUANTITY": "soil moisture index", "POLARISATION": "VV"}, "same"),
    ("vegetationcd", {"VV": "{vv}", "V1": "{ndvi}", "ALPHA": 18, "BETA": 12}, "OUTPUT", SSM, "same"),
    ("watercloud", {"INPUT": "{vv}", "NDVI": "{ndvi}", "INCIDENCE": 39, "A": 0.05, "B": 0.1}, "OUTPUT_SOIL",
     {"POLARISATION": "VV", "units": "dB"}, "same"),
    ("terrainflatten", {"INPUT": "{vv}", "INPUT_UNITS": 1, "DEM": "{dem}", "INCIDENCE_ANGLE": 39, "HEADING": 348},
     "OUTPUT", {"POLARISATION": "VV", "units": "dB"}, "same"),
    ("regressmoisture", {"SAMPLES": "{samples}", "PREDICTOR_FIELD": "vv", "SSM_FIELD": "ssm", "RASTER": "{vv}",
                         "OUTPUT_PARAMS": "{dir}/r.json", "OUTPUT_TABLE": "{dir}/r.csv"}, "OUTPUT", SSM, "same"),
    ("waternormalized", {"INPUT": "{vh}", "INPUT_UNITS": 1, "AUTO_WATER_DB": -20}, "OUTPUT",
     {"POLARISATION": "VH", "QUANTITY": "water-normalised index sigma_A"}, "same"),
    ("interpolatetime", {"INPUT": "{vv}", "TARGET": "2021-04-07,2021-04-19"}, "OUTPUT",
     {"POLARISATION": "VV", "QUANTITY": "sigma0", "units": "dB"}, "target"),
]


@pytest.mark.parametrize("alg,params,output,keys,dates", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_outputs_keep_dates_times_and_the_imports_metadata(env, data, tmp_path, alg, params, output, keys, dates):
    args = {k: str(v).format(**data) for k, v in params.items()}
    args[output] = str(tmp_path / "out.tif")
    out = run_json(env, alg, **args)["results"][output]
    got = stack.band_dates(out)
    ds = gdal.Open(out)
    metas = [ds.GetRasterBand(i + 1).GetMetadata() for i in range(ds.RasterCount)]
    file_meta = ds.GetMetadata()
    if dates == "same":
        assert got == DATES
        assert [str(t) for t, _ in stack.band_times(out)] == TIMES          # the time of day, to the second
        assert [m.get("ACQUISITION_START_TIME") for m in metas] == TIMES
        assert all({k: m.get(k) for k in ORBIT} == ORBIT for m in metas), metas      # the orbit, per band
    else:
        assert got == ["2021-04-07", "2021-04-19"]
        assert all("ACQUISITION_START_TIME" not in m for m in metas)         # no other date's time
    for m in metas:
        assert {k: m.get(k) for k in keys} == keys, m
        assert {k: m.get(k, file_meta.get(k)) for k in FILE_META} == FILE_META, (m, file_meta)


def test_a_time_in_the_band_description_is_kept_beside_a_stack_of_days(env, tmp_path):
    """Issue #29: a VV stack dated 2018-08-02T17:32:00 in its descriptions (no metadata) and an NDVI stack of days:
    vegetation-corrected change detection kept only the day (the two inputs' DATE differed); now the time."""
    times = [str(np.datetime64("2018-08-02T17:32:00") + np.timedelta64(6 * k, "D")) for k in range(6)]
    rng = np.random.default_rng(1)
    vv = write_raster(tmp_path / "vv.tif", rng.normal(-12, 1.5, (6, 16, 16)).astype(np.float32), epsg=EPSG, gt=GT,
                      descriptions=times)
    ndvi = write_raster(tmp_path / "ndvi.tif", np.full((6, 16, 16), 0.4, np.float32), epsg=EPSG, gt=GT,
                        descriptions=[t[:10] for t in times])
    out = run_json(env, "vegetationcd", VV=vv, V1=ndvi, ALPHA=18, BETA=12,
                   OUTPUT=tmp_path / "ssm.tif")["results"]["OUTPUT"]
    assert [str(t) for t, _ in stack.band_times(out)] == times
    assert stack.band_dates(out) == [t[:10] for t in times]


def test_workflow_sentinel1_grd_db_keeps_the_date(env, tmp_path):
    """resources/workflows/sentinel1_grd_db.model3 on a simulated product: both outputs carry the acquisition
    time and the import's metadata (the despeckled dB band lost them: its temporary outputs are all OUTPUT.tif)."""
    made = s1_safe.write_grd(tmp_path, zip_it=True)
    db, inc = tmp_path / "db.tif", tmp_path / "inc.tif"
    res = qp(env, "run", "sarsense:sentinel1_grd_db", "--json", f"--product={made['zip']}", "--polarisation=1",
             "--window=5", "--looks=4.4", f"--todb:Despeckled backscatter (dB)={db}",
             f"--incidence:Incidence angle (degrees)={inc}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for path in (db, inc):
        assert stack.band_dates(str(path)) == ["2021-04-01"]
        assert [str(t) for t, _ in stack.band_times(str(path))] == ["2021-04-01T05:26:41"]
        ds = gdal.Open(str(path))
        assert ds.GetMetadata()["MISSION"] == "S1B" and ds.GetMetadata()["MODE"] == "IW"
    db_ds, inc_ds = gdal.Open(str(db)), gdal.Open(str(inc))
    band = db_ds.GetRasterBand(1).GetMetadata()
    assert (band["POLARISATION"], band["QUANTITY"], band["units"]) == ("VH", "sigma0", "dB")
    assert {k: band.get(k) for k in ORBIT} == ORBIT                       # the import's orbit, per band (#29)
    assert inc_ds.GetRasterBand(1).GetMetadata()["units"] == "degrees"


def test_a_networks_outputs_keep_what_its_input_channels_share(env, tmp_path):
    """sarsense:applymodel on one acquisition's VV and VH: the output is not a channel of the input, so it keeps
    the acquisition (date, time, mission) but neither band's polarisation; its units are the model card's."""
    from onnx_models import contract, conv_net
    arr = np.random.default_rng(2).normal(-13, 3, (2, 40, 40)).astype(np.float32)
    src = tmp_path / "import.tif"
    write_raster(src, arr, epsg=EPSG, gt=GT, descriptions=["VV sigma0", "VH sigma0"])
    ds = gdal.Open(str(src), gdal.GA_Update)
    for b, pol in ((1, "VV"), (2, "VH")):
        ds.GetRasterBand(b).SetMetadata(_importer_like(pol, TIMES[0]))
    ds.SetMetadata({**FILE_META, "DATE": TIMES[0]})
    ds = None
    model = conv_net(tmp_path / "m.onnx", layers=3, contract_dict=contract())
    out = run_json(env, "applymodel", INPUT=src, MODEL=model, OUTPUT=tmp_path / "y.tif")["results"]["OUTPUT"]
    assert [str(t) for t, _ in stack.band_times(out)] == [TIMES[0]]
    res = gdal.Open(out)
    band = res.GetRasterBand(1).GetMetadata()
    assert band["ACQUISITION_START_TIME"] == TIMES[0] and band["units"] == "1" and band["QUANTITY"] == "y"
    assert "POLARISATION" not in band and res.GetMetadata()["MISSION"] == "S1B"
