"""Issue #28, the Sentinel-1 import's readers through qgis_process: a damaged file of the SAFE product (measurement
TIFF empty, cut short or of another size than the annotation's image; annotation, calibration or noise XML cut
short or without its vectors) is refused naming the file inside the product, what is wrong and the fix (download
it again) — it was a RuntimeError traceback for the TIFFs; a pixel size that leaves no image of the scene is
refused naming the scene's extent and the largest sensible size. A case per class of defect."""

import json

import pytest
from osgeo import gdal
from process_helpers import needs_qgis_process, refusal, run

from sarsense.simulators import s1_safe

pytestmark = needs_qgis_process


def _empty(path):
    path.write_bytes(b"")


def _cut(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _smaller(path):
    gdal.GetDriverByName("GTiff").Create(str(path), 100, 100, 1, gdal.GDT_UInt16)


def _no_vectors(path):
    path.write_text(path.read_text().replace("calibrationVector", "vector"))


DAMAGES = {
    # class: (file of VV in the SAFE, damage, what the refusal says of it)
    "measurement empty": ("measurement/*-vv-*.tiff", _empty, "it is empty (0 bytes)"),
    "measurement smaller": ("measurement/*-vv-*.tiff", _smaller,
                            "its image is 100 × 100 (samples × lines), the annotation's 330 × 240"),
    "measurement cut short": ("measurement/*-vv-*.tiff", _cut, "its last line cannot be read"),
    "annotation cut short": ("annotation/s1b-*-vv-*.xml", _cut, "the product annotation is not readable XML"),
    "calibration without vectors": ("annotation/calibration/calibration-*-vv-*.xml", _no_vectors,
                                    "no calibrationVector"),
    "noise cut short": ("annotation/calibration/noise-*-vv-*.xml", _cut, "the noise annotation is not readable XML"),
}


@pytest.mark.parametrize("case", sorted(DAMAGES))
def test_a_damaged_product_file_is_named_with_the_fix(env, tmp_path, case):
    pattern, damage, reason = DAMAGES[case]
    made = s1_safe.write_grd(tmp_path, keep_arrays=False)
    safe = tmp_path / made["safe"]
    bad = next(safe.glob(pattern))
    damage(bad)
    before = bad.read_bytes()
    out = tmp_path / "s1.tif"
    member = bad.relative_to(safe).as_posix()
    refusal(run(env, "importsentinel1", f"--INPUT={safe}", "--POLARISATIONS=0", f"--OUTPUT={out}"),
            f"{safe.name}: {member} (the {case.split()[0]} file of VV) cannot be used: {reason}",
            "Download the product again")
    assert not out.exists() and not list(tmp_path.glob("s1.tif*")) and bad.read_bytes() == before


def test_a_pixel_size_larger_than_the_scene_is_refused(env, tmp_path):
    made = s1_safe.write_grd(tmp_path, keep_arrays=False)
    out = tmp_path / "s1.tif"
    text = refusal(run(env, "importsentinel1", f"--INPUT={made['safe']}", "--POLARISATIONS=0", "--PIXEL_SIZE=100000",
                       f"--OUTPUT={out}"), "the pixel size (PIXEL_SIZE) 100000 is larger than 1/2 of the scene",
                   "fewer than 2 × 2 pixels", "Give at most 1450")
    assert "covers 3638 × 2900" in text and not out.exists()
    res = run(env, "importsentinel1", f"--INPUT={made['safe']}", "--POLARISATIONS=0", "--PIXEL_SIZE=1000",
              f"--OUTPUT={out}")           # coarse but within the scene: written
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert json.loads(res.stdout[res.stdout.index("{"):])["results"]["OUTPUT"] == str(out)
    ds = gdal.Open(str(out))
    assert ds.RasterXSize >= 2 and ds.RasterYSize >= 2
