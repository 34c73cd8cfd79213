"""A run's settings and what it ends with: ``TrainConfig`` (carried in every checkpoint, so
``--resume`` needs no flags repeated), ``TrainResult``, where run folders go and which device
and precision a run uses."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs
import torch

from stylecam.errors import DeviceError, UsageError

from . import data as D
from .losses import STYLE_LAYERS, LossConfig
from .nets import FAST_PRESETS, FAST_SR_BLOCKS, FAST_SR_WIDTH, NetConfig

MODES = ("style", "sr", "base")
SR_LOSSES = ("feature", "pixel", "mixed")
PRECISIONS = ("auto", "fp32", "bf16")


# the paper's net (quality tier) on a style: at 1e-3 its style term jumps within 10 steps and the
# net settles into flat colour fields; 3e-4 from the base network learns (RESULTS section 18)
QUALITY_LR = 3e-4


@dataclass
class TrainConfig:
    """Every setting of a run; saved in its checkpoints and (as ``stylecam.train``) in the model."""

    mode: str = "style"  # style | sr | base
    name: str = ""
    style: str = ""  # painting path (style mode)
    styles: tuple = ()  # style mode, a shared trunk: every painting (the first is ``style``); see trainer.trunk
    fit: str = "all"  # all | style: train every weight, or only a trunk style's own parameters
    source_sha256: str = ""
    content: str = ""  # folder of photos or a video
    tier: str = "fast"
    scale: int = 1
    sr_width: int = FAST_SR_WIDTH  # sr, fast tier: channels and residual blocks of the net
    sr_blocks: int = FAST_SR_BLOCKS
    steps: int = 1500
    minutes: float = 0.0  # > 0: ``steps`` is fitted to the measured speed so the run takes about this long
    size: int = 192  # training crop side
    batch: int = 4
    style_size: int = 0  # long side of the painting; 0 = 2 x size
    style_scales: tuple = (1.0,)  # style: the painting's Grams at these multiples of style_size, averaged
    fast: str = "v3"  # fast tier: the net's version (trainer.nets.FAST_PRESETS)
    content_weight: float = 1.0
    style_weight: float = 8.0  # the built-in fast styles' weight (1 left the fast net a faint print)
    tv_weight: float = 1.0
    pixel_weight: float = 0.0  # base and sr: weight of the mean squared pixel difference
    stability: float = 300.0  # style: weight of |f(T(x)) - T(f(x))|² for small random motions T
    # style: weight of |f(crop of x) - crop of f(x)|² along the crop's border: no band at the frame's
    # edges (the trunk's starry_night: own band 1.29x / 11.2 grey levels -> 1.06x / 1.7; RESULTS 16)
    edge: float = 500.0
    margins: bool = True  # style: train on the mirrored margins the exported model runs with
    teacher: str = ""  # style: a stronger style model whose picture of each crop is a target (trainer.teacher)
    broad: float = 0.0  # style: weight (x the style term) of the style term at 1/broad_factor (losses.broad_loss)
    broad_factor: float = 4.0
    tone: float = 0.0  # style: weight of losses.tone_loss at 1/broad_factor (the painting's tonal range)
    teacher_weight: float = 0.0  # style: weight of the teacher term (VGG relu1_2 + relu2_2 against its picture)
    loss: str = "feature"  # sr: feature | pixel | mixed
    degrade: str = "paper"  # sr: paper (blur + bicubic) | bicubic (the Set5/Set14 protocol)
    content_layer: str = "relu2_2"
    style_layers: tuple = STYLE_LAYERS
    layer_weights: tuple = ()  # style: multipliers of style_weight per style layer (relu1_2 ..); () = all 1
    lr: float = 1e-3
    lr_end: float = 0.1  # cosine decay to lr * lr_end at the last step
    seed: int = 0
    device: str = "cpu"  # resolved: cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 (resolved when the run starts)
    compile: bool = False  # torch.compile the net and VGG (CUDA: 1.4-1.5x the steps/s, benchmarks/gpu.py)
    init: str = "base"  # base | scratch | checkpoint path | earlier run name
    vgg_weights: str = ""
    checkpoint_every: int = 100
    preview_every: int = 100
    title: str = ""
    credit: str = ""

    def __post_init__(self):
        self.style_layers = tuple(self.style_layers)
        self.layer_weights = tuple(float(w) for w in self.layer_weights)
        if self.layer_weights and (len(self.layer_weights) != len(self.style_layers) or min(self.layer_weights) < 0):
            raise UsageError(f"--layer-weights needs {len(self.style_layers)} numbers of at least 0 "
                             f"(one per style layer: {', '.join(self.style_layers)}), not {self.layer_weights}")
        self.style_scales = tuple(float(k) for k in self.style_scales)
        if not self.style_scales or min(self.style_scales) <= 0:
            raise UsageError(f"--style-scales must be positive numbers, not {self.style_scales}")
        self.styles = tuple(str(p) for p in self.styles)
        if self.styles and (self.mode != "style" or self.tier != "fast"):
            raise UsageError("a shared trunk of several paintings is a fast-tier style run")
        if self.fit not in ("all", "style"):
            raise UsageError(f"fit must be all or style, not '{self.fit}'")
        if self.fit == "style" and not self.styles:
            raise UsageError("fitting only a style's parameters needs a shared trunk")
        if self.fast not in FAST_PRESETS:
            raise UsageError(f"--fast must be one of {', '.join(FAST_PRESETS)}, not '{self.fast}'")
        if self.mode not in MODES:
            raise UsageError(f"unknown mode '{self.mode}'")
        if self.loss not in SR_LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(SR_LOSSES)}, not '{self.loss}'")
        for key in ("steps", "batch", "checkpoint_every", "preview_every"):
            if getattr(self, key) < 1:
                raise UsageError(f"--{key.replace('_', '-')} must be at least 1, not {getattr(self, key)}")
        if self.degrade not in D.DEGRADATIONS:
            raise UsageError(f"--degrade must be one of {', '.join(D.DEGRADATIONS)}, not '{self.degrade}'")
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not '{self.precision}'")
        if self.minutes < 0:
            raise UsageError(f"--minutes must be positive (or 0: no time budget), not {self.minutes:g}")
        if self.stability < 0:
            raise UsageError(f"--stability must be at least 0, not {self.stability:g}")
        if self.edge < 0:
            raise UsageError(f"--edge must be at least 0, not {self.edge:g}")
        if self.teacher_weight < 0:
            raise UsageError(f"--teacher-weight must be at least 0, not {self.teacher_weight:g}")
        if min(self.broad, self.tone) < 0 or self.broad_factor < 1:
            raise UsageError("--broad W[,F] and --tone W need weights of at least 0 and a factor of at least 1")
        if (self.broad or self.tone) and (self.mode != "style" or self.styles):
            raise UsageError("--broad and --tone are for one style: not with --sr, --base, --with or --fit style")
        if self.teacher and (self.mode != "style" or self.styles):
            raise UsageError("--teacher distils one style: not with --sr, --base, --with or --fit style")
        if self.size < D.MIN_SIZE:
            raise UsageError(f"--size {self.size} is too small; use at least {D.MIN_SIZE}")
        if self.style_size and self.style_size < D.MIN_SIZE:
            raise UsageError(f"--style-size {self.style_size} is too small; use at least {D.MIN_SIZE}")
        if (self.sr_width, self.sr_blocks) != (FAST_SR_WIDTH, FAST_SR_BLOCKS):
            try:
                self.net_config()
            except ValueError as exc:
                raise UsageError(f"--sr-width {self.sr_width} --sr-blocks {self.sr_blocks}: {exc}") from None

    def net_config(self) -> NetConfig:
        kind = "sr" if self.mode == "sr" else "style"
        return NetConfig(kind=kind, tier=self.tier, scale=self.scale if kind == "sr" else 1,
                         sr_width=self.sr_width, sr_blocks=self.sr_blocks, fast=self.fast,
                         styles=len(self.styles))

    def loss_config(self) -> LossConfig:
        return LossConfig(self.content_weight, self.style_weight, self.tv_weight,
                          self.content_layer, self.style_layers, self.layer_weights)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        d = {"fast": "v2", **d}  # checkpoints from before v3 hold a v2 net
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainResult:
    """What a run ended with."""

    net: torch.nn.Module
    config: TrainConfig
    step: int
    wall_seconds: float
    run_dir: Path
    history: list = field(default_factory=list)
    interrupted: bool = False

    def metadata(self) -> dict:
        """The ``stylecam.train`` JSON: every weight, layer and size, and how long it took."""
        cfg = asdict(self.config)
        for private in ("name", "title", "credit", "vgg_weights", "checkpoint_every", "preview_every"):
            cfg.pop(private)
        cfg["style"] = Path(cfg["style"]).name if cfg["style"] else ""
        cfg["styles"] = [Path(p).name for p in cfg["styles"]]
        cfg["content"] = Path(cfg["content"]).name if cfg["content"] else ""
        cfg["teacher"] = Path(cfg["teacher"]).name if cfg["teacher"] else ""
        cfg["style_layers"] = list(cfg["style_layers"])
        cfg["layer_weights"] = list(cfg["layer_weights"])
        cfg["steps"] = self.step
        cfg["wall_seconds"] = round(self.wall_seconds, 1)
        if self.history:
            cfg["final_loss"] = round(self.history[-1]["total"], 6)
        return cfg


def runs_dir() -> Path:
    """Where run folders go: ``$STYLECAM_RUNS_DIR`` or the per-user data folder's ``runs``."""
    env = os.environ.get("STYLECAM_RUNS_DIR")
    return Path(env) if env else platformdirs.user_data_path("stylecam") / "runs"


def resolve_device(device: str) -> str:
    """auto | cpu | cuda -> cpu | cuda, or DeviceError when CUDA is asked for and absent."""
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device '{device}'; use one of auto, cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu or auto")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """bf16 autocast where the hardware does it natively (CUDA, or a CPU with AVX-512 BF16 /
    AMX: 1.7x faster steps on this project's CPU), else fp32. Grams stay fp32 either way."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16"
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


def broad_options(text: str) -> dict:
    """--broad "2,4" -> {"broad": 2.0, "broad_factor": 4.0}."""
    w = numbers(text, "--broad") if text else ()
    return {"broad": w[0], "broad_factor": w[1] if len(w) > 1 else 4.0} if w else {}


def numbers(text: str, option: str) -> tuple:
    """"8,4,1,1" -> (8.0, 4.0, 1.0, 1.0); a bad list is a one-line usage error naming ``option``."""
    try:
        return tuple(float(k) for k in text.split(",") if k.strip())
    except ValueError:
        raise UsageError(f"{option} must be comma-separated numbers, not '{text}'") from None
