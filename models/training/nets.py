"""Network architectures trained offline and shipped as ONNX (PyTorch; never imported by the plugin)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (torch's own alias, as its documentation writes it)

from sarsense.algorithms.lst import resample


def _block(c_in, c_out, convs=2):
    """``convs`` × (3×3 convolution, batch norm, ReLU): a U-Net block (Stokholm et al. 2022, Sec. IV)."""
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """N-level U-Net of Stokholm et al. (2022): blocks of two 3×3 conv+BN+ReLU, 2×2 max-pooling,
    bilinear upsampling, skip connections; ``filters[l]`` per level and the bridge (default 16, then 32).

    Receptive field: ``algorithms.receptive_field.unet_receptive_field(levels)``; input sides must be
    multiples of ``2**levels``.
    """

    def __init__(self, in_channels, out_channels, levels=4, filters=None):
        super().__init__()
        filters = list(filters or [16] + [32] * levels)
        if len(filters) != levels + 1:
            raise ValueError(f"need {levels + 1} filter counts (levels and bridge), got {len(filters)}")
        self.levels = levels
        self.down = nn.ModuleList()
        c = in_channels
        for f in filters[:levels]:
            self.down.append(_block(c, f))
            c = f
        self.bridge = _block(c, filters[levels])
        c = filters[levels]
        self.up = nn.ModuleList()
        for f in reversed(filters[:levels]):
            self.up.append(_block(c + f, f))
            c = f
        self.head = nn.Conv2d(c, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bridge(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


class _ResidualUnit(nn.Module):
    """Two conv(+BN)+ReLU blocks with an identity shortcut (He et al. 2016), as in the multi-residual U-Net."""

    def __init__(self, c, batch_norm=True):
        super().__init__()
        self.body = nn.Sequential(*_conv(c, c, batch_norm), nn.ReLU(inplace=True), *_conv(c, c, batch_norm))

    def forward(self, x):
        return F.relu(x + self.body(x))


def _conv(c_in, c_out, batch_norm, stride=1):
    """A 3×3 convolution, followed by batch norm when asked (then without a bias of its own)."""
    conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not batch_norm)
    return [conv, nn.BatchNorm2d(c_out)] if batch_norm else [conv]


class KeysUpsample(nn.Module):
    """Keys' cubic convolution (a = −0.5) ×``scale``, fixed weights: the ILR image of the LST U-Net.

    The same 5-tap phase filters as ``algorithms.lst.resample.upsample`` (edge pixels repeated,
    pixel centres aligned), as a 5×5 convolution with ``scale²`` outputs and a pixel shuffle; in
    ONNX a Pad (edge), a Conv and a DepthToSpace. Not trained.
    """

    def __init__(self, scale):
        super().__init__()
        w = torch.from_numpy(resample.phase_weights(scale)).float()
        kernel = (w[:, None, :, None] * w[None, :, None, :]).reshape(scale * scale, 1, 5, 5)
        self.register_buffer("kernel", kernel)
        self.scale = scale

    def forward(self, x):
        n, c, h, w = x.shape
        y = F.conv2d(F.pad(x.reshape(n * c, 1, h, w), (2, 2, 2, 2), mode="replicate"), self.kernel)
        return F.pixel_shuffle(y, self.scale).reshape(n, c, h * self.scale, w * self.scale)


class MultiResidualUNet(nn.Module):
    """Multi-residual U-Net for ×``scale`` LST super-resolution (Nguyen et al. 2022, Sec. III-B, Fig. 2).

    The coarse input is upsampled inside the network with Keys' cubic convolution
    (:class:`KeysUpsample`: the ILR image); the U-Net predicts the residual HR − ILR and adds it
    back (end-to-end residual). Encoder levels are a residual unit then a conv block;
    downsampling is a stride-2 convolution, not max-pooling; the bridge is one residual block;
    the decoder upsamples with a 2×2 transposed convolution and concatenates the skip. The paper
    gives no filter counts: ``base`` doubling per level is our choice.

    ``batch_norm=False`` and ``zero_init=True`` (the last layer starts at zero, so the untrained
    network *is* bicubic) are what trained on few real patches (MANIFEST.md, "Measured on this
    data"); the paper's layout has batch norm.
    """

    def __init__(self, in_channels=1, out_channels=1, levels=3, base=32, scale=4, batch_norm=True, zero_init=False):
        super().__init__()
        self.scale, self.levels = scale, levels
        self.ilr = KeysUpsample(scale)
        bn = batch_norm
        self.inp = nn.Sequential(*_conv(in_channels, base, bn), nn.ReLU(inplace=True))
        self.enc, self.downs = nn.ModuleList(), nn.ModuleList()
        c = base
        for _ in range(levels):
            self.enc.append(nn.Sequential(_ResidualUnit(c, bn), *_conv(c, c, bn), nn.ReLU(inplace=True)))
            self.downs.append(nn.Sequential(*_conv(c, 2 * c, bn, stride=2), nn.ReLU(inplace=True)))
            c *= 2
        self.bridge = _ResidualUnit(c, bn)
        self.ups, self.dec = nn.ModuleList(), nn.ModuleList()
        for _ in range(levels):
            self.ups.append(nn.ConvTranspose2d(c, c // 2, 2, stride=2))
            self.dec.append(nn.Sequential(*_conv(c, c // 2, bn), nn.ReLU(inplace=True),
                                          *_conv(c // 2, c // 2, bn), nn.ReLU(inplace=True)))
            c //= 2
        self.out = nn.Conv2d(c, out_channels, 1)
        if zero_init:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x):
        ilr = self.ilr(x)
        y = self.inp(ilr)
        skips = []
        for enc, down in zip(self.enc, self.downs):
            y = enc(y)
            skips.append(y)
            y = down(y)
        y = self.bridge(y)
        for up, dec, skip in zip(self.ups, self.dec, reversed(skips)):
            y = dec(torch.cat([up(y), skip], dim=1))
        return ilr + self.out(y)


class SmallCNN(nn.Module):
    """A plain fully convolutional net: ``layers`` 3×3 conv+ReLU, residual output (DnCNN-like, Zhang et al. 2017)."""

    def __init__(self, in_channels=1, out_channels=1, filters=16, layers=5, residual=True):
        super().__init__()
        mods, c = [], in_channels
        for _ in range(layers - 1):
            mods += [nn.Conv2d(c, filters, 3, padding=1), nn.ReLU(inplace=True)]
            c = filters
        mods.append(nn.Conv2d(c, out_channels, 3, padding=1))
        self.body = nn.Sequential(*mods)
        self.residual = residual and in_channels == out_channels
        self.receptive_field = 1 + 2 * layers

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MLP(nn.Module):
    """Per-pixel multilayer perceptron ``(pixels, channels) → (pixels, outputs)``."""

    def __init__(self, in_channels, out_channels, hidden=(32, 32)):
        super().__init__()
        mods, c = [], in_channels
        for h in hidden:
            mods += [nn.Linear(c, h), nn.ReLU(inplace=True)]
            c = h
        mods.append(nn.Linear(c, out_channels))
        self.body = nn.Sequential(*mods)

    def forward(self, x):
        return self.body(x)
