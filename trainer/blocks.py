"""The building blocks of the transform networks, and the fast style net built from them.

Layers shared by every tier (``ConvLayer``, ``ResidualBlock``, ``UpConv``), the fast style net
(``FastSpec``, ``FastStyleNet``) and ``frame_margin``. ``trainer.nets`` (the tiers' other nets and
the factory) and ``trainer.trunk`` (many styles on one fast net) both build on this module, so
neither needs the other. Imports only torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# ----------------------------------------------------------------------------- blocks

class ConvLayer(nn.Module):
    """Padding (reflect|zero) + conv (+ norm) (+ ReLU)."""

    def __init__(self, cin, cout, k, stride=1, norm="instance", relu=True, pad="reflect", groups=1):
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2) if pad == "reflect" else None
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=0 if pad == "reflect" else k // 2,
                              groups=groups, bias=norm is None or norm == "batch")
        self.norm = _norm(norm, cout)
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x):
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.relu(x) if self.relu is not None else x


def _norm(norm, c):
    if norm is None:
        return None
    if norm == "instance":
        return nn.InstanceNorm2d(c, affine=True)
    if norm == "batch":
        return nn.BatchNorm2d(c)
    raise ValueError(f"unknown norm '{norm}'")


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a skip, no ReLU after the sum (Gross & Wilber, as in the paper)."""

    def __init__(self, c, norm="instance", pad="reflect"):
        super().__init__()
        self.a = ConvLayer(c, c, 3, norm=norm, pad=pad)
        self.b = ConvLayer(c, c, 3, norm=norm, relu=False, pad=pad)

    def forward(self, x):
        return x + self.b(self.a(x))


class UpConv(nn.Module):
    """Nearest x2 upsample then conv: the paper's fractionally strided conv without checkerboard."""

    def __init__(self, cin, cout, k, norm="instance", pad="reflect"):
        super().__init__()
        self.conv = ConvLayer(cin, cout, k, norm=norm, pad=pad)

    def forward(self, x, skip=None):  # skip: the encoder's features at the output's resolution (U-Net)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x if skip is None else torch.cat([x, skip], 1))


# ----------------------------------------------------------------------------- fast tier

@dataclass(frozen=True)
class FastSpec:
    """Shape of a fast style net; the preset in ``trainer.nets.FAST_STYLE`` is the shipped one.

    widths: channels after each stride-2 stage (len = number of x2 downsamplings);
    blocks: residual blocks at the lowest resolution; norm_low: instance norm at the lowest
    resolution only (cheap there); depthwise: residual blocks as depthwise-separable convs;
    down: "conv" (3x3 stride-2 convs) or "unshuffle" (pixel-unshuffle x2 then 3x3 conv);
    up: "nearest" (nearest x2 + 3x3 conv per stage) or "shuffle" (1x1 conv + pixel shuffle).
    The last stage back to full resolution is always a 3x3 conv to 12 + pixel shuffle x2;
    with ``skip`` that conv also gets the input frame as 12 channels (pixel-unshuffle x2):
    +5% multiply-adds, and the net no longer has to squeeze every photo detail through the
    1/8-resolution bottleneck (photo reconstruction after 300 pixel-loss steps: 17.9 dB
    without, 23.3 dB with; measured in the lead's commit message).
    """

    widths: tuple = (16, 32, 64)
    blocks: int = 3
    norm_low: bool = True
    depthwise: bool = False
    down: str = "conv"
    up: str = "nearest"
    skip: bool = True  # the last conv also sees the input, pixel-unshuffled to 1/2 resolution
    pad: str = "zero"  # zero | reflect: padding inside every conv (reflect: no frame border to find)
    # each up stage also sees the encoder's features at its resolution (U-Net): the photo's small
    # shapes reach the decoder without passing through the 1/8 body (needs up="nearest")
    unet: bool = False

    @property
    def stride(self) -> int:
        return 2 ** len(self.widths)

    @property
    def margin(self) -> int:
        """Mirrored frame margin the net runs on (``frame_margin``); none with reflect padding."""
        return 0 if self.pad == "reflect" else frame_margin("style", self.stride)


class DWResidualBlock(nn.Module):
    """Residual block of two depthwise-3x3 + pointwise-1x1 convs."""

    def __init__(self, c, norm, pad="zero"):
        super().__init__()
        mode = "reflect" if pad == "reflect" else "zeros"
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, groups=c, padding_mode=mode), nn.Conv2d(c, c, 1, bias=norm is None),
            *([_norm(norm, c)] if norm else []), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1, groups=c, padding_mode=mode), nn.Conv2d(c, c, 1, bias=norm is None),
            *([_norm(norm, c)] if norm else []),
        )

    def forward(self, x):
        return x + self.body(x)


class FastStyleNet(nn.Module):
    """Encoder of stride-2 convs down to 1/stride, residual blocks there, decoder back up."""

    def __init__(self, spec: FastSpec):
        super().__init__()
        if spec.unet and (spec.down, spec.up) != ("conv", "nearest"):
            raise ValueError("a U-Net fast net needs down='conv' and up='nearest'")
        self.spec = spec
        self.stride = spec.stride
        self.margin = spec.margin
        w, pad = spec.widths, spec.pad
        norm = "instance" if spec.norm_low else None
        down, cin = [], 3
        for i, c in enumerate(w):
            last = i == len(w) - 1
            if spec.down == "unshuffle":
                down += [nn.PixelUnshuffle(2), ConvLayer(cin * 4, c, 3, norm=norm if last else None, pad=pad)]
            else:
                down += [ConvLayer(cin, c, 3, stride=2, norm=norm if last else None, pad=pad)]
            cin = c
        block = DWResidualBlock if spec.depthwise else ResidualBlock
        mid = [block(w[-1], norm, pad=pad) for _ in range(spec.blocks)]
        up = []
        for cin, cout in zip(w[::-1][:-1], w[::-1][1:]):  # e.g. 64->32, 32->16
            if spec.up == "shuffle":
                up += [nn.Conv2d(cin, cout * 4, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True)]
            else:
                up += [UpConv(cin + (cout if spec.unet else 0), cout, 3, norm=None, pad=pad)]
        self.body = nn.Sequential(*down, *mid, *up)
        self.n_down, self.n_up = len(down), len(up)
        # last x2 back to full resolution: 3x3 conv to 3*4 channels, then pixel shuffle
        self.skip = nn.PixelUnshuffle(2) if spec.skip else None
        self.last = nn.Conv2d(w[0] + (12 if spec.skip else 0), 12, 3, padding=1,
                              padding_mode="reflect" if pad == "reflect" else "zeros")
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):  # (B, 3, H, W) -> (B, 3, H, W)
        f = self._body_unet(x) if self.spec.unet else self.body(x)  # (B, w0, H/2, W/2)
        if self.skip is not None:
            f = torch.cat([f, self.skip(x)], 1)  # + (B, 12, H/2, W/2): the input's pixels
        return self.shuffle(self.last(f))

    def _body_unet(self, x):
        """``body`` with each up stage given the encoder's output at its resolution."""
        layers, found = list(self.body), []
        first_up = len(layers) - self.n_up
        for layer in layers[:self.n_down]:
            x = layer(x)
            found.append(x)
        for layer in layers[self.n_down:first_up]:
            x = layer(x)
        for layer, skip in zip(layers[first_up:], found[-2::-1]):  # 1/4's features into the 1/4 stage, then 1/2's
            x = layer(x, skip)
        return x


# ----------------------------------------------------------------------------- frame margins

def frame_margin(kind: str, stride: int) -> int:
    """Mirrored pixels around a frame (twice that at the top) that a style net runs on and
    that are cut off again: its zero padding paints a band along the edges, and the margin
    moves the band off the picture. Used alike by the trainer and the exported model, so a
    net never learns to put its texture where the picture will not show it."""
    return 2 * stride if kind == "style" else 0
