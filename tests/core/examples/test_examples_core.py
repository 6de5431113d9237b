"""The example-data core (simulators/examples.py) and what it asks of the simulators: the GRD series a repeat
cycle apart, cancel and refusals leaving nothing behind."""

import os
import re
import zipfile

import pytest

from sarsense.algorithms.io import Cancelled
from sarsense.simulators import examples, s1_safe


def _annotation(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        name = next(n for n in zf.namelist() if re.search(r"/annotation/s1b-iw-grd-vv-.*\.xml$", n))
        return zf.read(name).decode(), zf.read(next(n for n in zf.namelist() if n.endswith("manifest.safe"))).decode()


def test_grd_cycles_move_times_and_orbit_not_geometry(tmp_path):
    a = s1_safe.write_grd(tmp_path / "a", rows=40, cols=60, pols=("VV",), zip_it=True, keep_arrays=False)
    b = s1_safe.write_grd(tmp_path / "b", rows=40, cols=60, pols=("VV",), zip_it=True, keep_arrays=False, cycles=2)
    ann_a, man_a = _annotation(a["zip"])
    ann_b, man_b = _annotation(b["zip"])
    assert "_026269_" in os.path.basename(a["zip"]) and "_026619_" in os.path.basename(b["zip"])   # +175 orbits
    assert ">26619<" in man_b and "2021-04-25T05:26" in man_b
    times_a = re.findall(r"<orbit><time>([^<]+)</time>", ann_a.replace("\n", "").replace(" ", ""))
    times_b = re.findall(r"<orbit><time>([^<]+)</time>", ann_b.replace("\n", "").replace(" ", ""))
    assert times_a and [t.replace("2021-04-01", "2021-04-25") for t in times_a] == times_b
    grid = r"<latitude>([^<]+)</latitude><longitude>([^<]+)</longitude>"
    assert re.findall(grid, ann_a) == re.findall(grid, ann_b)                # same track, same footprint


def test_grd_wetting_raises_land_not_water():
    dry = s1_safe.sigma0_truth(20, 60, "VV", seed=1)
    wet = s1_safe.sigma0_truth(20, 60, "VV", seed=1, extra_db=lambda y, x: 3.0 + 0 * x)
    ratio = wet / dry
    assert ratio[:, :10] == pytest.approx(10 ** 0.3)                        # +3 dB on land
    assert ratio[:, 60 // 2] == pytest.approx(1.0)                         # the dark band stays −24 dB


def test_cancel_and_error_leave_nothing(tmp_path):
    calls = []

    def cancel_on_second():
        calls.append(1)
        return len(calls) > 1
    with pytest.raises(Cancelled):
        examples.write_example("grd", tmp_path, is_canceled=cancel_on_second)
    assert os.listdir(tmp_path) == []


def test_refusals(tmp_path):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        examples.check_output_folder(afile, "rice")
    with pytest.raises(ValueError, match="no folder can be made inside it"):
        examples.check_output_folder(afile / "sub", "rice")
    with pytest.raises(ValueError, match="no output folder given"):
        examples.check_output_folder("", "rice")
    (tmp_path / "rice_simulated").mkdir()
    with pytest.raises(ValueError, match="was not written by Example data"):
        examples.write_example("rice", tmp_path)
    with pytest.raises(ValueError, match="unknown example suite"):
        examples.write_example("wheat", tmp_path)


def test_every_suite_has_label_folder_writer():
    assert set(examples.SUITES) == set(examples.LABELS) == set(examples.FOLDERS) == set(examples._WRITERS)
    for suite, folder in examples.FOLDERS.items():
        assert ("simulated" in folder) != ("real" in folder), suite               # the folder says which
