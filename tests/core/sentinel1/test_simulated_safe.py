"""The simulated SAFE (simulators/s1_safe.py) carries what other Sentinel-1 readers need, as a real product does.

Bench section 9 runs sarsen's terrain correction on it (tests/bench/sentinel1.py, ``compare_sarsen``), and sarsen
reads a product through xarray-sentinel, which asks the manifest and the annotation for elements SARSense itself
does not read. Each query below is one xarray-sentinel 0.9.6 makes (``esa_safe.parse_manifest_sentinel1``,
``sentinel1.open_pol_dataset``, ``open_calibration_dataset``); each is answered by the real S1B IW GRDH files in
resources/sample_data/s1_iw_annotation and must be answered, with consistent values, by the simulated ones.
"""

import datetime as dt
import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sarsense.algorithms.sentinel1 import rangedoppler as rd
from sarsense.simulators import s1_safe

NS = {"safe": "http://www.esa.int/safe/sentinel-1.0", "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
      "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1"}
MANIFEST_QUERIES = (".//safe:platform/safe:familyName", ".//safe:platform/safe:number",
                    ".//s1sarl1:instrumentMode/s1sarl1:mode", ".//s1sarl1:instrumentMode/s1sarl1:swath",
                    ".//safe:orbitNumber", ".//safe:relativeOrbitNumber", ".//s1:pass", ".//s1:ascendingNodeTime",
                    ".//s1sarl1:missionDataTakeID", ".//s1sarl1:transmitterReceiverPolarisation",
                    ".//s1sarl1:productType", ".//safe:startTime", ".//safe:stopTime")
ANNOTATION_QUERIES = (
    tuple(f".//productInformation/{t}" for t in ("projection", "rangeSamplingRate", "radarFrequency"))
    + tuple(f".//imageInformation/{t}" for t in (
        "ascendingNodeTime", "azimuthPixelSpacing", "rangePixelSpacing", "productFirstLineUtcTime",
        "productLastLineUtcTime", "azimuthTimeInterval", "slantRangeTime", "incidenceAngleMidSwath",
        "numberOfSamples", "numberOfLines"))
    + (".//swathTiming/burstList", ".//adsHeader/missionDataTakeId"))
CAL_QUERIES = (".//adsHeader/startTime", ".//adsHeader/stopTime", ".//adsHeader/absoluteOrbitNumber",
               ".//calibrationVector/sigmaNought", ".//calibrationVector/betaNought")
C = 299792458.0


def _real(pattern):
    return ET.fromstring(gzip.decompress(next(s1_safe.REAL_IW.glob(pattern)).read_bytes()))


def _made(safe, pattern):
    return ET.parse(next(Path(safe).glob(pattern))).getroot()


def _missing(root, queries):
    return [q for q in queries if root.find(q, NS) is None]


@pytest.mark.parametrize("cycles", [0, 1])
def test_the_simulated_manifest_answers_what_the_real_one_does(tmp_path, cycles):
    """Ascending node time and mission data take as in the real manifest, moved by 12 days per repeat cycle."""
    real = _real("*.manifest.safe.gz")
    assert _missing(real, MANIFEST_QUERIES) == []
    made = _made(s1_safe.write_grd(tmp_path, rows=40, cols=60, pols=("VV",), cycles=cycles)["safe"], "manifest.safe")
    assert _missing(made, MANIFEST_QUERIES) == []
    anx = dt.datetime.fromisoformat(made.findtext(".//s1:ascendingNodeTime", namespaces=NS))
    assert anx - dt.datetime.fromisoformat(real.findtext(".//s1:ascendingNodeTime", namespaces=NS)) == \
        dt.timedelta(days=12 * cycles)
    assert made.findtext(".//s1sarl1:missionDataTakeID", namespaces=NS) == \
        real.findtext(".//s1sarl1:missionDataTakeID", namespaces=NS) == "205463"


def test_the_simulated_annotation_answers_what_the_real_one_does(tmp_path):
    """The image's first slant range time is the real product's (the simulated grid's first point, solved by
    range-Doppler at mean sea level, lies on the real image's first sample: within 0.15 m of range), the
    incidence at mid-swath is the grid's, the pass and frequencies the real ones'; calibration and noise
    annotation have the real header and count attributes."""
    real = _real("s1b-iw-grd-vv-*.xml.gz")
    assert _missing(real, ANNOTATION_QUERIES) == []
    made = s1_safe.write_grd(tmp_path, rows=40, cols=60, pols=("VV",), line0=0, pixel0=0)
    ann = _made(made["safe"], "annotation/s1b-*.xml")
    assert _missing(ann, ANNOTATION_QUERIES) == []
    srt = float(ann.findtext(".//imageInformation/slantRangeTime"))
    assert srt == pytest.approx(float(real.findtext(".//imageInformation/slantRangeTime")), abs=2 * 0.15 / C)
    inc = made["grid"][2][3]
    assert float(ann.findtext(".//imageInformation/incidenceAngleMidSwath")) == pytest.approx(inc.mean(), abs=1e-9)
    for tag in ("projection", "radarFrequency", "rangeSamplingRate"):
        assert ann.findtext(f".//productInformation/{tag}") == real.findtext(f".//productInformation/{tag}")
    assert ann.find(".//swathTiming/burstList").get("count") == "0"
    cal_real = _real("calibration-*.xml.gz")
    assert _missing(cal_real, CAL_QUERIES) == []
    for pattern in ("annotation/calibration/calibration-*.xml", "annotation/calibration/noise-*.xml"):
        root = _made(made["safe"], pattern)
        assert root.findtext(".//adsHeader/missionDataTakeId") == "205463"
        assert root.findtext(".//adsHeader/absoluteOrbitNumber") == "26269"
        assert root.findtext(".//adsHeader/stopTime") == ann.findtext(".//imageInformation/productLastLineUtcTime")
    cal = _made(made["safe"], "annotation/calibration/calibration-*.xml")
    assert _missing(cal, CAL_QUERIES) == []
    for vec in cal.iter("calibrationVector"):
        n = len(vec.findtext("pixel").split())
        assert [vec.find(t).get("count") for t in ("sigmaNought", "betaNought", "gamma", "dn")] == [str(n)] * 4


def test_the_real_grid_follows_the_nearest_srgr_polynomial_not_their_interpolation():
    """Why bench section 9's per-pixel ratio to sarsen spreads (docs/performance.md): xarray-sentinel (sarsen)
    interpolates the SRGR coefficients linearly in time, the importer takes the polynomial nearest in time. On the
    real IW GRDH annotation (polynomials one a second, jumping by up to 186 m at far range with the terrain height)
    the nearest one puts the geolocation grid's points on their pixels within 0.01, the interpolated one up to
    1.5 pixels off."""
    _, rg, grid = s1_safe._real()
    p = grid.points
    xyz = rd.geodetic_to_ecef(np.asarray(p["longitude"]), np.asarray(p["latitude"]), np.asarray(p["height"]))
    t, r = rg.zero_doppler(xyz)
    near = rg.pixel_of(t, r) - np.asarray(p["pixel"], float)
    k = np.clip(np.searchsorted(rg.srgr_t, t), 1, len(rg.srgr_t) - 1)
    w = ((t - rg.srgr_t[k - 1]) / (rg.srgr_t[k] - rg.srgr_t[k - 1]))[:, None]
    coeffs = rg.srgr[k - 1] * (1 - w) + rg.srgr[k] * w
    x = r - (rg.sr0[k - 1] * (1 - w[:, 0]) + rg.sr0[k] * w[:, 0])
    interp = (coeffs * x[:, None] ** np.arange(coeffs.shape[1])).sum(axis=1) / rg.range_spacing_m \
        - np.asarray(p["pixel"], float)
    assert np.abs(near).max() < 0.01
    assert np.abs(interp).max() > 1.0
