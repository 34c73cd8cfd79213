"""Transform networks: the paper's style and super-resolution nets, and fast CPU variants.

Every net takes (B, 3, H, W) float RGB in [0, 1], H and W multiples of ``net_stride(cfg)``,
and returns (B, 3, H*s, W*s) RGB in about [0, 1], unclamped (the export wrapper pads to the
stride, clamps, rounds and crops). Imports only torch, ``trainer.blocks`` (the layers and the
fast style net, which it re-exports) and ``trainer.trunk`` (many styles on one fast net).

Tiers:
- ``quality``: Johnson et al. 2016 (style: 9x9 conv 32, stride-2 convs 64/128, five
  residual blocks of 128, two x2 upsample-then-conv stages, 9x9 conv to 3, instance norm;
  like the paper, mirrored padding only around the input (the export's and the trainer's
  frame margins), zero padding inside the convs, where onnxruntime folds it into the conv:
  a separate reflection ``Pad`` per layer was 8.6% of the time at 640x480; SR: 9x9 conv 64, four residual blocks of 64, log2(s)
  upsample-then-conv stages, 9x9 conv to 3, batch norm).
- ``fast``: built for real time on a 2-core CPU, chosen by measurement
  (``benchmarks/speed.py --only-candidates``): three 3x3 stride-2 convs (16/32/64) take the
  frame to 1/8 resolution, three residual blocks of 64 work there (instance norm only at
  that resolution, where it is cheap), two nearest-x2 + 3x3 conv stages (32, 16) and a 3x3
  conv to 12 + pixel shuffle return to full size. About 2.1 GMAC per 640x480 frame (the
  paper's net: 47), ~28 ms at 640x480 and ~7 ms at 320x240 through onnxruntime on 2 cores,
  contract wrapper included. v2 pads with zeros inside and runs on mirrored frame margins;
  v3 (the default) pads every conv by reflection and needs no margins: zero padding let the
  net find the frame border and paint a band along it (issue 13, ``benchmarks/band.py``).

The architectures are FINAL once built-in/base models are trained with them: a change
needs a new ``arch_name`` and retraining.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# the layers and the fast style net live in trainer.blocks; imported from here as before
from .blocks import ConvLayer, FastSpec, FastStyleNet, ResidualBlock, UpConv, frame_margin  # noqa: F401
from .trunk import TrunkNet

TIERS = ("fast", "quality")
KINDS = ("style", "sr")
SR_SCALES = (2, 4, 8)
FAST_SR_WIDTH, FAST_SR_BLOCKS = 32, 2  # sr4, the live one; wider/deeper nets: sr_width/sr_blocks


@dataclass
class NetConfig:
    """Which network: kind style|sr, tier fast|quality, scale 1 (style) or 2/4/8 (sr); the
    fast super-resolution net may be made wider or deeper."""

    kind: str = "style"
    tier: str = "fast"
    scale: int = 1
    sr_width: int = FAST_SR_WIDTH  # the fast super-resolution net's channels ...
    sr_blocks: int = FAST_SR_BLOCKS  # ... and residual blocks
    fast: str = "v3"  # the fast style net's version, a key of FAST_PRESETS
    styles: int = 0  # > 0: a shared trunk for this many styles (trainer.trunk), fast style nets only

    def __post_init__(self):
        if self.fast not in FAST_PRESETS:
            raise ValueError(f"unknown fast net '{self.fast}'; use one of {', '.join(FAST_PRESETS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown net kind '{self.kind}'; use one of {', '.join(KINDS)}")
        if self.tier not in TIERS:
            raise ValueError(f"unknown tier '{self.tier}'; use one of {', '.join(TIERS)}")
        if self.kind == "style" and self.scale != 1:
            raise ValueError(f"a style net has scale 1, not {self.scale}")
        if self.kind == "sr" and self.scale not in SR_SCALES:
            raise ValueError(f"super-resolution scale must be one of {', '.join(map(str, SR_SCALES))}, "
                             f"not {self.scale}")
        if self.styles and (self.kind, self.tier) != ("style", "fast"):
            raise ValueError("only the fast style net has a shared trunk for many styles")
        if (self.sr_width, self.sr_blocks) != (FAST_SR_WIDTH, FAST_SR_BLOCKS):
            if (self.kind, self.tier) != ("sr", "fast"):
                raise ValueError("only the fast super-resolution net is made wider or deeper")
            if self.sr_width < 1 or self.sr_blocks < 0:
                raise ValueError("the fast super-resolution net needs at least 1 channel and 0 blocks")


# ----------------------------------------------------------------------------- quality tier

class StyleNet(nn.Module):
    """The paper's style transfer network (about 1.68 M parameters).

    Reflection padding inside by default (as pytorch/examples' copy of it): with zeros the
    net finds the frame border and paints a band there (RESULTS section 7), and it needs the
    mirrored export margin; ``pad="zero"`` keeps the old graph for comparison."""

    stride = 4

    def __init__(self, pad: str = "reflect"):
        super().__init__()
        self.margin = 0 if pad == "reflect" else frame_margin("style", self.stride)  # as FastStyleNet's
        self.body = nn.Sequential(
            ConvLayer(3, 32, 9, pad=pad), ConvLayer(32, 64, 3, stride=2, pad=pad),
            ConvLayer(64, 128, 3, stride=2, pad=pad),
            *[ResidualBlock(128, pad=pad) for _ in range(5)],
            UpConv(128, 64, 3, pad=pad), UpConv(64, 32, 3, pad=pad),
            ConvLayer(32, 3, 9, norm=None, relu=False, pad=pad),
        )

    def forward(self, x):  # (B, 3, H, W) -> (B, 3, H, W)
        return self.body(x)


class SRNet(nn.Module):
    """The paper's super-resolution network for scale s (x4: about 0.6 M parameters)."""

    stride = 1

    def __init__(self, scale: int):
        super().__init__()
        ups = int(math.log2(scale))
        self.body = nn.Sequential(
            ConvLayer(3, 64, 9, norm="batch"),
            *[ResidualBlock(64, norm="batch") for _ in range(4)],
            *[UpConv(64, 64, 3, norm="batch") for _ in range(ups)],
            ConvLayer(64, 3, 9, norm=None, relu=False),
        )

    def forward(self, x):  # (B, 3, H, W) -> (B, 3, H*s, W*s)
        return self.body(x)


class FastSRNet(nn.Module):
    """Live super-resolution (ESPCN-like): all convs at low resolution, one pixel shuffle.

    Output = bilinear upscale of the input + a learned residual, so a fresh net already
    gives a sensible picture and training only has to add the detail.
    """

    stride = 1

    def __init__(self, scale: int, width: int = FAST_SR_WIDTH, blocks: int = FAST_SR_BLOCKS):
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True),
            *[ResidualBlock(width, norm=None, pad="zero") for _ in range(blocks)],
            nn.Conv2d(width, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale),
        )

    def forward(self, x):  # (B, 3, h, w) -> (B, 3, h*s, w*s)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.body(x)


# The fast tier's versions (final once models are trained with them). v2: zero padding inside,
# run on mirrored frame margins (the band along the edges came from the zero padding: issue 13);
# v3: the same shape with reflect padding in every conv, no margins (benchmarks/style_lab.py).
FAST_PRESETS = {
    "v2": FastSpec(widths=(16, 32, 64), blocks=3, norm_low=True, depthwise=False, down="conv", up="nearest"),
    "v3": FastSpec(widths=(16, 32, 64), blocks=3, norm_low=True, pad="reflect"),
    "v3-deep": FastSpec(widths=(16, 32, 64), blocks=5, norm_low=True, pad="reflect"),
    # no input skip: every output pixel is painted through the 1/8 body, nothing is copied
    "v3-ns": FastSpec(widths=(16, 32, 64), blocks=3, norm_low=True, pad="reflect", skip=False),
    # v3-ns with two more blocks at 1/8 (+34% multiply-adds): what int8 leaves room for in 33 ms
    "v3-ns-deep": FastSpec(widths=(16, 32, 64), blocks=5, norm_low=True, pad="reflect", skip=False),
    # v3-ns whose up stages also see the encoder's features (U-Net, +17% multiply-adds; RESULTS 26: the
    # same picture as v3-ns at an equal budget); --init a v3-ns model starts it as that model
    "v3-ns-u": FastSpec(widths=(16, 32, 64), blocks=3, norm_low=True, pad="reflect", skip=False, unet=True),
}
FAST_DEFAULT = "v3"
FAST_STYLE = FAST_PRESETS[FAST_DEFAULT]


# ----------------------------------------------------------------------------- factory

def build_net(cfg: NetConfig) -> nn.Module:
    """A fresh network for ``cfg`` (random weights)."""
    if cfg.kind == "style" and cfg.styles:
        return TrunkNet(FAST_PRESETS[cfg.fast], cfg.styles)
    if cfg.kind == "style":
        return StyleNet() if cfg.tier == "quality" else FastStyleNet(FAST_PRESETS[cfg.fast])
    return SRNet(cfg.scale) if cfg.tier == "quality" else FastSRNet(cfg.scale, cfg.sr_width, cfg.sr_blocks)


def net_stride(cfg: NetConfig) -> int:
    """H and W given to the net must be multiples of this."""
    if cfg.kind == "sr":
        return 1
    return StyleNet.stride if cfg.tier == "quality" else FAST_PRESETS[cfg.fast].stride


def net_margin(cfg: NetConfig) -> int:
    """Mirrored pixels around the frame that the net runs on (``frame_margin``)."""
    if cfg.kind == "sr":
        return 0
    return 0 if cfg.tier == "quality" else FAST_PRESETS[cfg.fast].margin  # both pad by reflection


def arch_name(cfg: NetConfig) -> str:
    """Stable architecture id written to ONNX ``stylecam.arch`` (changes when the net does)."""
    if cfg.kind == "style":
        if cfg.tier == "quality":
            return "johnson2016-style-rp"  # reflection padding inside (session 4's runs: "-zp", zeros)
        s = FAST_PRESETS[cfg.fast]
        version = 3 if s.pad == "reflect" else 2 if s.skip else 1
        return (f"stylecam-fast-v{version}-w{'-'.join(map(str, s.widths))}-b{s.blocks}"
                f"{'-dw' if s.depthwise else ''}{'-in' if s.norm_low else ''}-{s.down}-{s.up}"
                f"{'-skip' if s.skip else ''}{'-unet' if s.unet else ''}{'-rp' if s.pad == 'reflect' else ''}"
                f"{f'-trunk{cfg.styles}' if cfg.styles else ''}")
    if cfg.tier == "quality":
        return f"johnson2016-sr-x{cfg.scale}"
    shape = "" if (cfg.sr_width, cfg.sr_blocks) == (FAST_SR_WIDTH, FAST_SR_BLOCKS) else \
        f"-w{cfg.sr_width}-b{cfg.sr_blocks}"
    return f"stylecam-fastsr-v1{shape}-x{cfg.scale}"


def count_params(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def pad_to_multiple(x: torch.Tensor, k: int, margin: int = 0, top: int | None = None) -> torch.Tensor:
    """Pad (B, C, H, W) by ``margin`` mirrored pixels on every side (``top`` at the top, if
    given), then edge-replicate the bottom and right up to multiples of ``k``.

    Written as gathers with computed indices rather than ``F.pad``, because the pad amount
    depends on H and W, and a gather keeps it dynamic in the traced ONNX graph.
    """
    h, w = x.shape[2], x.shape[3]
    top = margin if top is None else top
    hp = (h + top + margin + k - 1) // k * k
    wp = (w + 2 * margin + k - 1) // k * k

    def index(n, total, first):
        j = torch.abs(torch.arange(total, device=x.device) - first)  # mirror the top/left
        # mirror the bottom/right margin, then repeat its last row/column up to the stride
        j = torch.where(j > n - 1, torch.clamp(2 * (n - 1) - j, min=n - 1 - margin), j)
        return torch.clamp(j, 0, n - 1)

    return x.index_select(2, index(h, hp, top)).index_select(3, index(w, wp, margin))
