"""The LST training data: ECOSTRESS scenes read and warped as a user would, day/night, water, clouds, the split by
scene and space, the study's rule (synthetic scenes; the real ones are not in a clone)."""

import json

import numpy as np
import pytest
from osgeo import gdal, osr

torch = pytest.importorskip("torch", reason="the training tests run in .venv-train (make test-training)")

from sarsense.models.training import lst_ecostress as eco
from sarsense.models.training import lst_study as st

#: The 15 real scene names (MANIFEST.md of the shared data).
REAL = ["2023175112358", "2023179094538", "2023183080644", "2023184152551", "2023190054140", "2023194040614",
        "2023202005411", "2023205231732", "2023207063732", "2023209214058", "2023211050130", "2023217182715",
        "2023226223548", "2023230210126", "2023238175031"]


def _name(stamp):
    return f"ECO_L2_LSTE.002_LST_doy{stamp}_aid0001.tif"


def test_scenes_day_night_and_the_test_draw(tmp_path):
    for s in REAL:
        (tmp_path / _name(s)).write_bytes(b"")
    scenes = eco.scenes(tmp_path)
    assert [s.doy for s in scenes] == [int(s[4:7]) for s in REAL]
    day = {s.doy for s in scenes if s.day}
    # local solar time = UTC − 7.87 h at the basin's centre: 184 is 07:36, 202 is 17:01, 190 is 21:50
    assert day == {184, 202, 205, 209, 217, 226, 230, 238}
    assert eco.draw_test_scenes(scenes) == eco.TEST_SCENES
    assert sum(d in day for d in eco.TEST_SCENES) == 2
    with pytest.raises(FileNotFoundError, match="SARSENSE_ECOSTRESS"):
        eco.scenes(tmp_path / "empty")


def test_warp_applies_the_scale_and_keeps_nodata(tmp_path):
    # a geographic UInt16 scene as ECOSTRESS ships it: scale 0.02 K, nodata 0
    src = tmp_path / _name(REAL[0])
    ds = gdal.GetDriverByName("GTiff").Create(str(src), 400, 400, 1, gdal.GDT_UInt16)
    ds.SetGeoTransform((-118.3, 0.00063, 0, 34.1, 0, -0.00063))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    dn = np.full((400, 400), 15000, np.uint16)
    dn[100:150, 100:150] = 0
    band = ds.GetRasterBand(1)
    band.WriteArray(dn)
    band.SetNoDataValue(0)
    band.SetScale(0.02)
    del band, ds
    k = eco.read_kelvin(eco.warp(eco.scenes(tmp_path)[0], tmp_path / "w"))
    assert k.shape == (1024, 1536)
    finite = np.isfinite(k)
    assert 0.075 < finite.mean() < 0.095                    # the 23 × 28 km scene inside the 108 × 72 km grid
    assert np.all(k[finite] == pytest.approx(300.0, abs=1e-4))
    rows, cols = np.nonzero(finite)
    hole = k[rows.min() + 110:rows.min() + 140, cols.min() + 90:cols.min() + 120]   # the nodata square, warped
    assert np.isnan(hole).all()


def test_clouds_are_cold_outliers_grown_and_the_day_floor():
    rng = np.random.default_rng(0)
    land = np.ones((120, 120), bool)
    night = rng.normal(290, 2, (120, 120)).astype(np.float32)
    night[50:54, 50:54] = 270.0                                  # a cloud top, 10 sigma cold
    mask, stats = eco.cloud_mask(night, land, day=False)
    # 4 x 4 grown twice by the 4-neighbourhood: rows 50-53 span columns 48-55, rows 49/54 49-54, rows 48/55 50-53
    assert mask[50:54, 48:56].all() and mask[48:56, 50:54].all() and mask.sum() == 32 + 12 + 8
    assert stats["threshold_k"] == pytest.approx(stats["median_k"] - 5 * stats["sigma_k"], abs=0.05)   # rounded
    day = rng.normal(300, 12, (120, 120)).astype(np.float32)     # a wide day spread: median - 5 sigma < 240 K
    day[10:12, 10:12] = 265.0
    assert eco.cloud_mask(day, land, day=True)[0][10:12, 10:12].all()
    assert not eco.cloud_mask(day, land, day=False)[0][10:12, 10:12].any()
    # water is not part of the statistics: a cold sea does not hide a cloud over land
    sea = ~land
    sea[:, :60] = True
    field = night.copy()
    field[:, :60] = 250.0
    field[50:54, 80:84] = 278.0                                  # 6 sigma below the land's median
    mask = eco.cloud_mask(field, ~sea, day=False)[0]
    assert mask[50:54, 80:84].all() and not mask[:, 63:77].any()


def _screened(shape=(1024, 1536), seed=0):
    rng = np.random.default_rng(seed)
    water = np.zeros(shape, bool)
    water[700:, :300] = True
    fields = {}
    for doy in (175, 183, 184, 202, 205, 179, 226, 230):
        f = rng.normal(300, 3, shape).astype(np.float32)
        f[water] = np.nan
        f[rng.random(shape) < 1e-4] = np.nan                    # scattered cloud pixels
        fields[doy] = f
    return {"fields": fields, "water": water, "test_doys": [179, 226, 230]}


def test_split_by_scene_and_space():
    scr = _screened()
    parts = eco.parts(scr)
    blocks = eco.blocks(~scr["water"])
    assert all(v != "x" for v in blocks.values()) and (768, 0) not in blocks       # a sea block is not dealt
    assert {d for d, _, _ in parts["test"]} == {179, 226, 230}
    assert not {d for d, _, _ in parts["train"] + parts["val"]} & {179, 226, 230}
    for part, size in (("train", eco.PATCH), ("val", eco.PATCH), ("test", eco.PATCH)):
        for d, y, x in parts[part]:
            by, bx = (y // eco.BLOCK) * eco.BLOCK, (x // eco.BLOCK) * eco.BLOCK
            assert blocks[(by, bx)] == part
            # inside the block, BLOCK_MARGIN from its edges: windows of different blocks are >= 16 px apart
            assert by + eco.BLOCK_MARGIN <= y and y + size <= by + eco.BLOCK - eco.BLOCK_MARGIN
            assert bx + eco.BLOCK_MARGIN <= x and x + size <= bx + eco.BLOCK - eco.BLOCK_MARGIN
            assert np.isfinite(scr["fields"][d][y:y + size, x:x + size]).all()
    for doy in (179, 226):                                                       # test patches do not overlap
        own = [(y, x) for d, y, x in parts["test"] if d == doy]
        assert all(abs(a[0] - b[0]) >= eco.PATCH or abs(a[1] - b[1]) >= eco.PATCH
                   for i, a in enumerate(own) for b in own[i + 1:])
    coarse, truth = eco.pairs(scr["fields"], parts["test"][:3])
    assert coarse.shape == (3, 16, 16) and truth.shape == (3, 64, 64)
    # Norm-L4: the fourth-power mean of each 4 x 4 block
    t = truth[0, :4, :4].astype(np.float64)
    assert coarse[0, 0, 0] == pytest.approx(np.mean(t ** 4) ** 0.25, rel=1e-6)


def test_water_is_the_small_diurnal_amplitude_of_training_scenes_only():
    from sarsense.models.training.lst_ecostress import Scene
    shape = (20, 20)
    land_day, land_night = np.full(shape, 315.0), np.full(shape, 292.0)
    land_day[:, :5] = 295.0                                        # the sea: 3 K between day and night
    fields = [(Scene(None, 1, 20.0, 13.0), land_day), (Scene(None, 2, 8.0, 1.0), land_night),
              (Scene(None, 3, 20.0, 13.0), np.full(shape, 250.0))]   # a test scene, cold: must not count
    water, amp = eco.water_mask(fields, {1, 2})
    assert water[:, :5].all() and not water[:, 5:].any()
    assert amp[0, 10] == pytest.approx(23.0)


def test_psnr_loss_is_the_mean_per_patch_psnr_up_to_a_constant():
    rng = np.random.default_rng(1)
    t = torch.from_numpy(rng.normal(0, 1, (5, 1, 16, 16)).astype(np.float32))
    p = t + torch.from_numpy(rng.normal(0, 0.1, (5, 1, 16, 16)).astype(np.float32)) * torch.arange(1, 6).reshape(
        5, 1, 1, 1)
    tk, pk = t.numpy()[:, 0] * st.NORM_SCALE + st.NORM_OFFSET, p.numpy()[:, 0] * st.NORM_SCALE + st.NORM_OFFSET
    psnr = st.patch_psnr(tk, pk)
    rng_k = tk.max(axis=(1, 2)) - tk.min(axis=(1, 2))
    expected = np.mean(20 * np.log10(rng_k) - 10 * np.log10(st.NORM_SCALE ** 2)) - psnr.mean()
    assert float(st.psnr_loss(p, t)) * 10 / np.log(10) == pytest.approx(expected, abs=1e-3)


def _row(label, day, night, modis, init=None):
    val = {k: {"gain_db": g, "se_db": 0.01, "n": 10} for k, g in
           (("ecostress_day", day), ("ecostress_night", night), ("modis", modis))}
    return {"label": label, "config": {**st.BASE, "init": init}, "val": val}


def test_the_rule_picks_the_best_mean_validation_gain_and_its_chain():
    study = {"runs": [_row("base", 0.5, 0.1, 0.2), _row("day", 0.9, -0.2, 0.1),
                      _row("tuned", 0.6, 0.15, 0.4, init="run00")]}
    pick = st.pick_recipe(study)
    assert pick["label"] == "tuned" and pick["score"] == pytest.approx(0.3833, abs=1e-3)
    assert len(pick["chain"]) == 2 and all("init" not in c for c in pick["chain"])
    study["runs"][1]["val"]["ecostress_night"]["gain_db"] = 0.5
    assert st.pick_recipe(study)["label"] == "day" and len(st.pick_recipe(study)["chain"]) == 1


def test_the_card_and_the_model_say_the_same_as_the_study():
    from sarsense.algorithms import onnx as rt
    from sarsense.models.training.lst_superresolution import VALIDATED_PIXEL_M
    from sarsense.models.training.paths import MODELS
    study = json.loads(st.STUDY_JSON.read_text(encoding="utf-8"))
    card = (MODELS / "lst_superresolution.md").read_text(encoding="utf-8")
    assert f"Picked: **{st.pick_recipe(study)['label']}**" in card
    model = rt.Model(MODELS / "lst_superresolution.onnx")
    assert model.contract.validated_pixel_m == tuple(VALIDATED_PIXEL_M)
    assert model.card.status == "research"
