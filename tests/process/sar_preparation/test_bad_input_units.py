"""Issue #28, SAR preparation: values no σ⁰ in dB or linear power has (Int16 amplitude DN 46–1179) are refused by
every algorithm that checks its input's units, with the likely cause (DN or amplitude: calibrate first); nothing
is written and the input is untouched. Before, despeckle took them as dB: 10^(117.9/10) overflowed float32 and
82 % of the output was NaN, rc 0."""

import os

import numpy as np
import pytest
from helpers import read_raster, write_raster
from osgeo import gdal
from process_helpers import digest, needs_qgis_process, refusal, run, run_json

pytestmark = needs_qgis_process


@pytest.fixture(scope="module")
def dn(tmp_path_factory):
    """Int16 amplitude digital numbers 46–1179, three dated bands (a stack), and one band alone."""
    d = tmp_path_factory.mktemp("dn")
    values = np.random.default_rng(1).integers(46, 1180, (3, 120, 120)).astype(np.int16)
    paths = {}
    for name, arr in (("stack", values), ("one", values[:1])):
        path = str(d / f"dn_{name}.tif")
        ds = gdal.GetDriverByName("GTiff").Create(path, 120, 120, len(arr), gdal.GDT_Int16)
        ds.SetGeoTransform((500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
        ds.SetProjection('EPSG:32633')
        for b, a in enumerate(arr, start=1):
            ds.GetRasterBand(b).WriteArray(a)
            ds.GetRasterBand(b).SetDescription(f"2021-06-{b:02d}")
        ds = None
        paths[name] = path
    return paths


@pytest.mark.parametrize("alg,params,label,units", [
    ("despeckle", {"INPUT": "one", "INPUT_UNITS": 1}, "Input SAR raster (INPUT)", "dB"),
    ("despeckle", {"INPUT": "one", "INPUT_UNITS": 1, "LOOKS": 4.4}, "Input SAR raster (INPUT)", "dB"),
    ("despeckle", {"INPUT": "one", "INPUT_UNITS": 0}, "Input SAR raster (INPUT)", "linear power"),
    ("multitemporaldespeckle", {"INPUT": "stack"}, "Time stack (one band per date)", "dB"),
    ("polratio", {"CROSS": "stack", "CO": "stack"}, "stack", "dB"),
    ("convertunits", {"INPUT": "one", "CONVERSION": 0}, "(INPUT)", "linear power"),
    ("convertunits", {"INPUT": "one", "CONVERSION": 1}, "(INPUT)", "dB"),
])
def test_digital_numbers_are_refused_with_the_cause(env, dn, tmp_path, alg, params, label, units):
    params = {k: dn.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    before = {p: digest(p) for p in dn.values()}
    out = tmp_path / "o.tif"
    refusal(run(env, alg, **params, OUTPUT=out), label, f"holds values no σ⁰ in {units} has", "all whole numbers",
            "digital numbers (DN) or amplitude", "Calibrate it first with 'Import Sentinel-1'")
    assert not os.listdir(tmp_path)
    assert {p: digest(p) for p in dn.values()} == before


def test_amplitude_to_intensity_still_takes_digital_numbers(env, dn, tmp_path):
    """Squaring amplitude DN is what a calibration starts from: convertunits' amplitude → intensity runs on them."""
    doc = run_json(env, "convertunits", INPUT=dn["one"], CONVERSION=2, OUTPUT=tmp_path / "i.tif")
    np.testing.assert_array_equal(read_raster(doc["results"]["OUTPUT"])[0],
                                  read_raster(dn["one"])[0].astype(np.float32) ** 2)


def test_calibrated_backscatter_still_runs(env, tmp_path):
    """The same scene calibrated (σ⁰ = DN²/A², A = 500: −14..+7 dB) is no longer refused."""
    amp = np.random.default_rng(1).integers(46, 1180, (120, 120)).astype(np.float32)
    src = write_raster(tmp_path / "cal.tif", 10 * np.log10(amp ** 2 / 500.0 ** 2))
    run_json(env, "despeckle", INPUT=src, INPUT_UNITS=1, LOOKS=4.4, OUTPUT=tmp_path / "o.tif")
