"""Receptive fields against Stokholm et al. (2022), Sec. IV and Table I."""

import pytest

from sarsense.algorithms.onnx.receptive_field import chain_receptive_field, unet_encoder_layers, unet_receptive_field


def test_unet_series_of_the_paper():
    # "The receptive field of the U-Net models is thus 44, 92, 188, 380, 764, 1532, and 3068 for 2–8 levels"
    assert [unet_receptive_field(n) for n in range(2, 9)] == [44, 92, 188, 380, 764, 1532, 3068]
    # ... and equals their closed form, encoder receptive field (Eq. 8) + 3 · 2^levels
    assert all(unet_receptive_field(n) == chain_receptive_field(unet_encoder_layers(n)) + 3 * 2 ** n
               for n in range(2, 9))


def test_bilinear_upsampling_reaches_further():
    assert [unet_receptive_field(n, upsampling="bilinear") for n in range(2, 5)] == [52, 108, 220]


def test_encoder_series_of_the_paper():
    # "The receptive field for the two-level U-Net encoder is 32 pixels. Additional levels raise this to
    #  68, 140, 284, 572, 1148, and 2300."
    got = [chain_receptive_field(unet_encoder_layers(n)) for n in range(2, 9)]
    assert got == [32, 68, 140, 284, 572, 1148, 2300]


def test_plain_convolutions_add_kernel_minus_one():
    assert chain_receptive_field([(3, 1)] * 4) == 9
    assert chain_receptive_field([]) == 1
    with pytest.raises(ValueError):
        chain_receptive_field([(0, 1)])
    with pytest.raises(ValueError):
        unet_receptive_field(0)
    with pytest.raises(ValueError):
        unet_receptive_field(3, upsampling="cubic")
