"""A stack that is no time series is refused by every algorithm that reads band dates (issue 27): VV, VH and the
incidence angle of one import stacked as three "dates" of one day (what 'Build dated stack' wrote before it read
the import's metadata), and a stack that mixes polarisations. The message says how to rebuild it."""

import json

import numpy as np
import pytest
from helpers import write_raster
from osgeo import gdal
from process_helpers import needs_qgis_process, refused

pytestmark = needs_qgis_process

GT, EPSG = (600000.0, 10.0, 0.0, 5100000.0, 0.0, -10.0), 32632
DATES = ["2021-04-01", "2021-04-13", "2021-04-25", "2021-05-07", "2021-05-19", "2021-05-31"]


def _stack(path, arr, descriptions, metas):
    write_raster(path, arr, epsg=EPSG, gt=GT, descriptions=descriptions)
    ds = gdal.Open(str(path), gdal.GA_Update)
    for i, meta in enumerate(metas):
        ds.GetRasterBand(i + 1).SetMetadata(meta)
    ds = None
    return str(path)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp("refusals")
    rng = np.random.default_rng(3)
    six = (-12 + rng.standard_normal((6, 32, 32))).astype(np.float32)
    six[:, :6, :6] = -25.0
    one_day = np.stack([six[0], six[0] - 7, np.full((32, 32), 38.0, np.float32)])
    polygons = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32632"}},
                "features": [{"type": "Feature", "properties": {"class": c}, "geometry": {
                    "type": "Polygon", "coordinates": [[[x0, 5099900], [x0 + 100, 5099900], [x0 + 100, 5099800],
                                                         [x0, 5099800], [x0, 5099900]]]}}
                    for c, x0 in (("rice", 600020), ("other", 600180))]}
    training = d / "training.geojson"
    training.write_text(json.dumps(polygons))
    stations = d / "stations.geojson"
    stations.write_text(json.dumps({**polygons, "features": [
        {"type": "Feature", "properties": {"id": "s1"},
         "geometry": {"type": "Point", "coordinates": [600100, 5099850]}}]}))
    samples = d / "samples.csv"
    samples.write_text("station,date,vv,ssm\n" + "".join(f"s{k},{DATES[k % 6]},{-14 + k * 0.4:.2f},"
                                                          f"{0.08 + k * 0.015:.3f}\n" for k in range(16)))
    return {
        # the old 'Build dated stack' of one import: three bands of 2021-04-01, no time, no polarisation left
        "one_day": _stack(d / "one_day.tif", one_day, ["2021-04-01"] * 3, [{"DATE": "2021-04-01"}] * 3),
        # six dates whose bands alternate VV and VH
        "mixed": _stack(d / "mixed.tif", six, DATES,
                        [{"POLARISATION": "VV" if i % 2 == 0 else "VH", "QUANTITY": "sigma0", "units": "dB"}
                         for i in range(6)]),
        "ndvi": write_raster(d / "ndvi.tif", np.full((6, 32, 32), 0.4, np.float32), epsg=EPSG, gt=GT,
                             descriptions=DATES),
        "training": str(training), "samples": str(samples), "stations": str(stations), "dir": d,
    }


#: Every algorithm that reads the band dates of a stack, with the parameter the bad stack goes to.
CASES = [
    ("changedetection", {"INPUT": "{stack}", "INPUT_UNITS": 1, "SSM_MIN": 0.05, "SSM_MAX": 0.45, "MIN_DATES": 2,
                         "OUTPUT_SSM": "{out}", "OUTPUT_INDEX": "{out2}"}),
    ("vegetationcd", {"VV": "{stack}", "V1": "{ndvi}", "ALPHA": 18, "BETA": 12, "OUTPUT": "{out}"}),
    ("interpolatetime", {"INPUT": "{stack}", "TARGET": "2021-04-07", "OUTPUT": "{out}"}),
    ("regressmoisture", {"SAMPLES": "{samples}", "PREDICTOR_FIELD": "vv", "SSM_FIELD": "ssm", "RASTER": "{stack}",
                         "OUTPUT_PARAMS": "{dir}/r.json", "OUTPUT_TABLE": "{dir}/r.csv", "OUTPUT": "{out}"}),
    ("multitemporaldespeckle", {"INPUT": "{stack}", "INPUT_UNITS": 1, "OUTPUT": "{out}"}),
    ("waternormalized", {"INPUT": "{stack}", "INPUT_UNITS": 1, "OUTPUT": "{out}"}),
    ("watercloud", {"INPUT": "{stack}", "NDVI": "{ndvi}", "INCIDENCE": 39, "A": 0.05, "B": 0.1,
                    "OUTPUT_SOIL": "{out}"}),
    ("ricethreshold", {"NDVH": "{stack}", "SEASON_START": "2021-04-01", "SEASON_END": "2021-06-01",
                       "OUTPUT": "{out}"}),
    ("svmclassify", {"INPUT": "{stack}", "TRAINING": "{training}", "CLASS_FIELD": "class", "OUTPUT": "{out}",
                     "OUTPUT_MODEL": "{dir}/m.npz", "OUTPUT_REPORT": "{dir}/m.html"}),
    ("extractstations", {"STATIONS": "{stations}", "RASTERS": "{stack}", "OUTPUT": "{dir}/samples.gpkg"}),
    # the bundled model's seven predictors: the first (VV) is the bad stack
    ("annmoisture", {"INPUTS": ["{stack}"] * 7, "OUTPUT": "{out}"}),
    ("separability", {"INPUT": "{stack}", "TRAINING": "{training}", "CLASS_FIELD": "class", "TARGET_CLASS": "rice",
                      "OUTPUT_TABLE": "{dir}/jm.csv", "OUTPUT_HTML": "{dir}/jm.html"}),
]
WHY = {"one_day": "2021-04-01: bands 1, 2, 3", "mixed": "mixes polarisations (POLARISATION metadata: VV: bands 1, 3, 5;"
       " VH: bands 2, 4, 6)"}


@pytest.mark.parametrize("kind", ["one_day", "mixed"])
@pytest.mark.parametrize("alg,params", CASES, ids=[c[0] for c in CASES])
def test_every_time_series_algorithm_refuses_a_stack_that_is_no_series(env, bad, tmp_path, alg, params, kind):
    out = tmp_path / "out.tif"
    names = dict(stack=bad[kind], out=out, out2=tmp_path / "out2.tif", **bad)
    args = [f"--{k}={str(v).format(**names)}" for k, vs in params.items()
            for v in (vs if isinstance(vs, list) else [vs])]
    refused(env, alg, *args, match=(WHY[kind], "Build dated stack", "Polarisation (POLARISATION)"))
    assert not out.exists()
