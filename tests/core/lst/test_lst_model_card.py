"""The bundled LST U-Net's card against what its shipped held-out data give (issue #31): the ECOSTRESS test scenes
cropped around the test blocks (resources/sample_data/ecostress_la_heldout), warped and screened as the recipe
did, scored with the shipped model: the card's figures, to the digit it prints."""

import pytest
from helpers import REPO

from sarsense.algorithms import onnx as rt
from sarsense.models.training import lst_ecostress as eco
from sarsense.models.training.lst_superresolution import score_lst

MODEL = REPO / "models" / "lst_superresolution.onnx"
CARD = REPO / "models" / "lst_superresolution.md"


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    return eco.read_heldout(workdir=tmp_path_factory.mktemp("eco_heldout"))


@pytest.mark.parametrize("part,label", [("day", "ECOSTRESS day"), ("night", "ECOSTRESS night")])
def test_card_figures_are_what_the_shipped_heldout_crops_give(heldout, part, label):
    card = CARD.read_text(encoding="utf-8")
    s = score_lst(MODEL, *heldout[part])
    for method in ("bicubic (Keys)", "multi-residual U-Net"):
        v = s[method]
        row = (f"| {label} | {method} | {v['n']} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['ssim_windowed']:.3f} | "
               f"{v['rmse']:.3f} | {v['bias']:+.3f} |")
        assert row in card, row
    assert f"| {label} | **U-Net − bicubic** | | **{s['gain']:+.2f} ± {s['gain_se']:.2f}** |" in card


def test_heldout_crops_are_the_test_scenes_and_the_model_is_validated_at_their_scale(heldout):
    model = rt.Model(MODEL)
    lo, hi = model.contract.validated_pixel_m
    assert lo <= 4 * eco.GRID_RES <= hi                      # the 280 m inputs of the ECOSTRESS pairs
    assert lo <= 926.6 <= hi                                  # MODIS's sinusoidal 1 km
    assert heldout["day"][1].shape[1:] == (64, 64) and len(heldout["day"][0]) == 2 * len(heldout["night"][0])
