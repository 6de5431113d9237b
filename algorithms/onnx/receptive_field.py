"""Receptive fields of convolutional networks: what a model's contract declares and its halo is set from.

Stokholm et al. (2022), "AI4SeaIce: Toward solving ambiguous SAR textures in
convolutional neural networks for automatic sea ice concentration charting",
IEEE TGRS 60, Sec. IV, Eq. (8) (after Araujo et al. 2019):
``r_0 = sum_l (k_l - 1) * prod_{i<l} s_i + 1`` for a chain of layers with kernel
``k_l`` and stride ``s_l``. For their U-Net (levels of two 3×3 convolutions, 2×2
max-pooling, bilinear upsampling) the encoder gives 32, 68, 140, … pixels for 2, 3, 4, …
levels, and the decoder adds ``3 · 2^levels``: 44, 92, 188, 380, 764, 1532, 3068
for 2–8 levels (tests/core/onnx/test_receptive_field.py checks that series).
"""

from __future__ import annotations

import math


def chain_receptive_field(layers):
    """Receptive field (pixels) of a chain of ``(kernel, stride)`` layers: Stokholm et al. 2022, Eq. (8)."""
    rf, jump = 1, 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel and stride must be >= 1, got ({kernel}, {stride})")
        rf += (kernel - 1) * jump
        jump *= stride
    return rf


def unet_encoder_layers(levels, *, convs_per_block=2, kernel=3, pool=2):
    """The encoder of an N-level U-Net as ``(kernel, stride)`` pairs: blocks and pools, then the bridge block."""
    if levels < 1:
        raise ValueError(f"a U-Net needs at least one level, got {levels}")
    layers = []
    for _ in range(levels):
        layers += [(kernel, 1)] * convs_per_block + [(pool, pool)]
    return layers + [(kernel, 1)] * convs_per_block


def unet_encoder_receptive_field(levels, *, convs_per_block=2, kernel=3):
    """Receptive field of an N-level U-Net's encoder and bridge (Eq. 8 over :func:`unet_encoder_layers`):
    32, 68, 140, 284, 572, 1148, 2300 for 2–8 levels of two 3×3 convolutions (Stokholm et al. 2022, §IV)."""
    return chain_receptive_field(unet_encoder_layers(levels, convs_per_block=convs_per_block, kernel=kernel))


def unet_receptive_field(levels, *, upsampling="nearest", convs_per_block=2, kernel=3):
    """Receptive field of an N-level U-Net (2×2 pooling, ``convs_per_block`` k×k convolutions per block).

    Traced exactly: the span of input pixels an output pixel depends on, followed
    back from the output through the deepest path (decoder, bridge, encoder).
    With ``upsampling="nearest"`` this is Stokholm et al.'s closed form, encoder
    (Eq. 8) plus ``3 · 2^levels``: 44, 92, 188, … 3068 for 2–8 levels. Bilinear
    upsampling (``align_corners=False``, which their U-Net uses) reads two
    low-resolution pixels per output pixel and reaches further: 52, 108, 220, …
    3580. tests/training checks the bilinear value against autograd on a real U-Net.
    """
    if levels < 1:
        raise ValueError(f"a U-Net needs at least one level, got {levels}")
    if upsampling not in ("nearest", "bilinear"):
        raise ValueError(f"upsampling must be 'nearest' or 'bilinear', got {upsampling!r}")
    reach = convs_per_block * (kernel // 2)
    a = b = 0                                  # the output pixel, in output coordinates
    for _ in range(levels):                    # decoder block, then back through its upsampling
        a, b = a - reach, b + reach
        if upsampling == "nearest":
            a, b = a // 2, b // 2
        else:
            a, b = math.floor((a + 0.5) / 2 - 0.5), math.floor((b + 0.5) / 2 - 0.5) + 1
    a, b = a - reach, b + reach                # bridge
    for _ in range(levels):                    # back through each pooling, then the encoder block above it
        a, b = 2 * a - reach, 2 * b + 1 + reach
    return b - a + 1
