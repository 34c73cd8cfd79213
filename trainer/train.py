"""The training loop: Adam on the perceptual objective, with checkpoints, resume, previews and logs.

Three modes share the loop:

- ``style``: the paper's style transfer (feature + Gram style + TV loss against one painting);
- ``sr``: super-resolution (feature, pixel or mixed loss against the high-resolution crop);
- ``base``: reproduce photos (feature + pixel loss, no style): the warm start every style
  begins from, shipped as ``trainer/base/<tier>.pt``.

Everything a run needs is in ``TrainConfig``, which the checkpoint carries, so ``--resume``
needs no flags repeated. A run folder holds ``checkpoint.pt`` (written atomically),
``preview_<step>.png`` grids, ``loss.csv`` and ``loss.png``.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np
import platformdirs
import torch
import torch.nn.functional as F
from tqdm import tqdm

from stylecam.errors import DeviceError, TrainError, UsageError

from . import data as D
from .losses import STYLE_LAYERS, LossConfig, feature_loss, objective, style_targets, tv_loss
from .nets import (FAST_SR_BLOCKS, FAST_SR_WIDTH, NetConfig, arch_name, build_net, frame_margin, net_stride,
                   pad_to_multiple)
from .vgg import load_vgg

MODES = ("style", "sr", "base")
SR_LOSSES = ("feature", "pixel", "mixed")
PRECISIONS = ("auto", "fp32", "bf16")
BASE_DIR = Path(__file__).resolve().parent / "base"
CHECKPOINT = "checkpoint.pt"
JUMP = 2.0  # a checkpoint window whose mean loss is this many times the best window's is a collapse
MAX_ROLLBACKS = 3
MIN_WINDOW = 20  # steps: a shorter window is too noisy to judge (nor to set the best)


@dataclass
class TrainConfig:
    """Every setting of a run; saved in its checkpoints and (as ``stylecam.train``) in the model."""

    mode: str = "style"  # style | sr | base
    name: str = ""
    style: str = ""  # painting path (style mode)
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
    content_weight: float = 1.0
    style_weight: float = 8.0  # the built-in fast styles' weight (1 left the fast net a faint print)
    tv_weight: float = 1.0
    pixel_weight: float = 0.0  # base and sr: weight of the mean squared pixel difference
    stability: float = 300.0  # style: weight of |f(T(x)) - T(f(x))|² for small random motions T
    margins: bool = True  # style: train on the mirrored margins the exported model runs with
    loss: str = "feature"  # sr: feature | pixel | mixed
    degrade: str = "paper"  # sr: paper (blur + bicubic) | bicubic (the Set5/Set14 protocol)
    content_layer: str = "relu2_2"
    style_layers: tuple = STYLE_LAYERS
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
                         sr_width=self.sr_width, sr_blocks=self.sr_blocks)

    def loss_config(self) -> LossConfig:
        return LossConfig(self.content_weight, self.style_weight, self.tv_weight,
                          self.content_layer, self.style_layers)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
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
        cfg["content"] = Path(cfg["content"]).name if cfg["content"] else ""
        cfg["style_layers"] = list(cfg["style_layers"])
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


# ----------------------------------------------------------------------------- checkpoints

def resolve_precision(precision: str, device: torch.device) -> str:
    """bf16 autocast where the hardware does it natively (CUDA, or a CPU with AVX-512 BF16 /
    AMX: 1.7x faster steps on this project's CPU), else fp32. Grams stay fp32 either way."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16"
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainError(f"checkpoint {path} cannot be read ({type(exc).__name__})") from None


def base_path(tier: str) -> Path:
    return BASE_DIR / f"{tier}.pt"


def init_weights(net: torch.nn.Module, cfg: TrainConfig, log) -> str:
    """Load the starting weights named by ``cfg.init``; returns what was used, for the log."""
    init = cfg.init
    ncfg = cfg.net_config()
    if init == "scratch" or (init == "base" and cfg.mode != "style"):
        return "random weights"
    if init == "base":
        path = base_path(cfg.tier)
        if not path.is_file():
            log(f"note: no base network for tier {cfg.tier} ({path}); starting from random weights")
            return "random weights (no base network)"
    else:
        path = Path(init)
        if not path.is_file():
            path = runs_dir() / init / CHECKPOINT
        if not path.is_file():
            raise UsageError(f"--init {init}: not 'base', 'scratch', a checkpoint file or an earlier run's name")
    ckpt = load_checkpoint(path)
    want = arch_name(ncfg)
    have = ckpt.get("arch", "")
    if have != want:
        if init == "base":
            log(f"note: base network {path.name} is for {have}, this net is {want}; starting from random weights")
            return "random weights (base network out of date)"
        raise UsageError(f"--init {init}: it holds a {have} network, this run trains {want}")
    net.load_state_dict({k: v.float() for k, v in ckpt["net"].items()})
    return str(path)


# ----------------------------------------------------------------------------- pictures and logs

def preview_grid(rows: list[np.ndarray], path: Path, style: np.ndarray | None = None) -> None:
    """Rows of (B, H, W, 3) uint8 pictures side by side, the painting's thumbnail on the left."""
    lines = [np.concatenate(list(r), axis=1) for r in rows]
    grid = np.concatenate(lines, axis=0)
    if style is not None:
        h = grid.shape[0]
        k = h / style.shape[0]
        thumb = cv2.resize(style, (max(1, round(style.shape[1] * k)), h), interpolation=cv2.INTER_AREA)
        grid = np.concatenate([thumb, np.full((h, 4, 3), 255, np.uint8), grid], axis=1)
    _write_png(path, grid)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    tmp = path.with_name(path.stem + ".part.png")
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise TrainError(f"cannot write {path}")
    os.replace(tmp, path)


CURVE_COLOURS = {"total": (0, 0, 0), "content": (200, 60, 30), "style": (30, 120, 200),
                 "tv": (40, 160, 40), "pixel": (160, 40, 160)}


def loss_curve(history: list[dict], path: Path, width: int = 800, height: int = 450) -> None:
    """A log-scale plot of the loss parts against the step, drawn with OpenCV."""
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, 20, 20, 40
    keys = [k for k in CURVE_COLOURS if history and k in history[0]]
    vals = [max(r[k], 1e-12) for r in history for k in keys]
    if not vals:
        _write_png(path, img)
        return
    lo, hi = math.log10(min(vals)), math.log10(max(vals))
    hi = hi if hi > lo else lo + 1
    s0, s1 = history[0]["step"], max(history[-1]["step"], history[0]["step"] + 1)

    def xy(step, v):
        x = left + (step - s0) / (s1 - s0) * (width - left - right)
        y = top + (hi - math.log10(max(v, 1e-12))) / (hi - lo) * (height - top - bottom)
        return int(round(x)), int(round(y))

    cv2.rectangle(img, (left, top), (width - right, height - bottom), (180, 180, 180), 1)
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        _, y = xy(s0, 10.0 ** e)
        if top <= y <= height - bottom:
            cv2.line(img, (left, y), (width - right, y), (230, 230, 230), 1)
            cv2.putText(img, f"1e{e}", (5, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1)
    cv2.putText(img, f"step {s0}", (left, height - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1)
    cv2.putText(img, f"step {s1}", (width - right - 70, height - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1)
    for i, k in enumerate(keys):
        pts = np.array([xy(r["step"], r[k]) for r in history], np.int32)
        colour = CURVE_COLOURS[k][::-1]  # drawn in BGR
        cv2.polylines(img[:, :, :], [pts], False, colour, 1, cv2.LINE_AA)
        cv2.putText(img, k, (left + 10 + 80 * i, top + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    _write_png(path, img[:, :, ::-1])


def write_csv(history: list[dict], path: Path) -> None:
    if not history:
        return
    keys = list(history[0])
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- the loop

class Trainer:
    """One run: builds everything from a ``TrainConfig`` (or a checkpoint) and steps it."""

    def __init__(self, cfg: TrainConfig | None, run_dir: Path, *, resume: bool = False,
                 steps: int | None = None, log=print, quiet: bool = False):
        self.log, self.quiet = log, quiet
        self.run_dir = Path(run_dir)
        ckpt = None
        if resume:
            ckpt_path = self.run_dir / CHECKPOINT
            if not ckpt_path.is_file():
                raise TrainError(f"--resume: no checkpoint in {self.run_dir}; start without --resume")
            ckpt = load_checkpoint(ckpt_path)
            cfg = TrainConfig.from_dict(ckpt["config"])
            # only the length of the run may change on resume; everything else comes from the checkpoint
            if steps is not None:
                cfg.steps = max(steps, int(ckpt["step"]))
        self.cfg = cfg
        self.device = torch.device(resolve_device(cfg.device))
        cfg.device = self.device.type
        ncfg = cfg.net_config()
        self.stride = net_stride(ncfg) if cfg.mode != "sr" else cfg.scale
        if cfg.size % self.stride:
            size = cfg.size - cfg.size % self.stride
            log(f"note: --size {cfg.size} rounded down to {size}, a multiple of the net's stride {self.stride}")
            cfg.size = size
            if size < D.MIN_SIZE:
                raise UsageError(f"--size is too small; use at least {D.MIN_SIZE}")
        if cfg.mode == "style":
            cfg.style_size = cfg.style_size or 2 * cfg.size
            self.style = D.load_style(cfg.style, cfg.style_size)
        torch.manual_seed(cfg.seed)
        self.content = D.load_content(cfg.content, cfg.size)
        if self.content.skipped:
            log(f"skipped {len(self.content.skipped)} unreadable file(s) in {cfg.content}, "
                f"e.g. {self.content.skipped[0]}")
        self.vgg = load_vgg(cfg.vgg_weights or None, self.device)
        self.net = build_net(ncfg)
        self.init_used = "checkpoint" if ckpt else init_weights(self.net, cfg, log)
        self.net.to(self.device)
        cfg.precision = resolve_precision(cfg.precision, self.device)
        self.amp = cfg.precision == "bf16"
        if self.amp:  # channels_last + bf16 autocast (no loss scaling needed, no fp16 overflow in Grams)
            self.net.to(memory_format=torch.channels_last)
            self.vgg.to(memory_format=torch.channels_last)
        # what the training steps call; previews and the style targets use the plain modules
        self.run_net, self.loss_vgg = self.net, self.vgg
        if cfg.compile:
            self.run_net, self.loss_vgg = torch.compile(self.net), torch.compile(self.vgg)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.step = 0
        self.wall = 0.0
        self.history: list[dict] = []
        if ckpt:
            self.net.load_state_dict(ckpt["net"])
            self.opt.load_state_dict(ckpt["opt"])
            self.step = int(ckpt["step"])
            self.wall = float(ckpt["wall_seconds"])
            self.history = list(ckpt["history"])
        self.last_good = self.step
        # lowest mean loss of a checkpoint window so far
        self.best_window = float(ckpt.get("best_window", math.inf)) if ckpt else math.inf
        self.good = None  # (step, net state, optimiser state): where a collapse rolls back to
        self.rollbacks = 0
        # --minutes: 2 = no reference point yet, 1 = measuring since it, 0 = fitted (or no --minutes);
        # a run stopped before its steps were fitted measures again when resumed
        self.fits_left = 2 if cfg.minutes > 0 and (not ckpt or ckpt.get("fits_left", 0)) else 0
        self.stop_requested = False  # set by a signal handler; honoured between steps
        self.lcfg = cfg.loss_config()
        if cfg.mode == "style":
            with torch.no_grad():
                self.grams = style_targets(self.vgg, self.style.to(self.device), self.lcfg)  # once
        self.preview_in = self.content.fixed(4).to(self.device)

    # -- one step
    def lr_at(self, step: int) -> float:
        c = self.cfg
        t = step / max(1, c.steps - 1)
        return c.lr * (c.lr_end + (1 - c.lr_end) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))

    def inputs(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(net input, target) for a step: photos for style/base, (low-res, high-res) for sr."""
        hr = self.content.batch(step, self.cfg.batch, self.cfg.seed)
        x = D.degrade(hr, self.cfg.scale, self.cfg.degrade) if self.cfg.mode == "sr" else hr
        x, hr = x.to(self.device), hr.to(self.device)
        if self.amp:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, hr

    def loss(self, y: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict]:
        c = self.cfg
        if c.mode == "style":
            return objective(self.loss_vgg, y, target, self.grams, self.lcfg)
        parts = {}
        if c.mode == "base" or c.loss in ("feature", "mixed"):
            feats = self.loss_vgg(y, (c.content_layer,))[c.content_layer]
            with torch.no_grad():
                want = self.loss_vgg(target, (c.content_layer,))[c.content_layer]
            parts["content"] = c.content_weight * feature_loss(feats, want)
        if c.mode == "base" or c.loss in ("pixel", "mixed"):
            parts["pixel"] = (c.pixel_weight or 1.0) * F.mse_loss(y.float(), target.float())
        if c.mode == "sr":
            parts["tv"] = c.tv_weight * tv_loss(y)
        return sum(parts.values()), parts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The net as the exported model runs it: a style net sees the frame with mirrored
        margins (``frame_margin``) and only the frame is scored. Trained without them, the
        fast net learnt to paint strong texture into its zero-padded border band, which
        lowers the style loss but is cut off in the app (benchmarks/RESULTS.md, section 4)."""
        m = frame_margin("style", self.stride) if self.cfg.mode == "style" and self.cfg.margins else 0
        if not m:
            return self.run_net(x)
        h, w = x.shape[-2:]
        y = self.run_net(pad_to_multiple(x, self.stride, m, 2 * m))
        return y[..., 2 * m: 2 * m + h, m: m + w]

    def stability_loss(self, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        """Mean squared |f(T(x)+n) - T(f(x))|: the output must follow small motions of the
        input (a shift of up to 3 px, a 1.5° turn, a 3% zoom) and ignore sensor-like noise
        (σ = 2 grey levels), instead of turning them into new texture (flicker).

        T is drawn from (seed, step), so a resumed run draws the same ones; no optical-flow
        data set is needed. Compared away from the borders, where T pads.
        """
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        b, _, h, w = x.shape
        u = torch.rand(b, 4, generator=g) * 2 - 1  # (B, 4) in [-1, 1]
        angle, zoom = u[:, 0] * math.radians(1.5), 1 + 0.03 * u[:, 1]
        tx, ty = u[:, 2] * 3 * 2 / w, u[:, 3] * 3 * 2 / h  # pixels -> normalised coordinates
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)

        def move(img):
            return F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="border",
                                 align_corners=False)

        noise = torch.randn(x.shape, generator=g).to(x.device, x.dtype) * (2 / 255)
        y_moved_input = self.forward(move(x) + noise).float()
        m = max(4, min(h, w) // 16)
        return F.mse_loss(y_moved_input[..., m:-m, m:-m], move(y)[..., m:-m, m:-m])

    def train_step(self, step: int) -> dict:
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(step)
        x, target = self.inputs(step)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            y = self.forward(x)
            total, parts = self.loss(y.float() if self.amp else y, target)
            if self.cfg.mode == "style" and self.cfg.stability > 0:
                parts["stability"] = self.cfg.stability * self.stability_loss(x, y.float(), step)
                total = total + parts["stability"]
        if not torch.isfinite(total):
            raise FloatingPointError(step)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        row = {"step": step + 1, "total": total.item()}
        row.update({k: v.item() for k, v in parts.items()})
        return row

    # -- saving
    def checkpoint(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / CHECKPOINT
        save_checkpoint(path, {
            "version": 1, "config": asdict(self.cfg), "arch": arch_name(self.cfg.net_config()),
            "step": self.step, "wall_seconds": self.wall, "net": self.net.state_dict(),
            "opt": self.opt.state_dict(), "history": self.history, "fits_left": self.fits_left,
            "best_window": self.best_window,
        })
        self.last_good = self.step
        return path

    def preview(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.net.eval()
        with torch.no_grad():
            hr = self.preview_in
            if self.cfg.mode == "sr":
                x = D.degrade(hr.cpu(), self.cfg.scale, self.cfg.degrade).to(self.device)
                y = self.net(x)
                rows = [D.to_uint8(F.interpolate(x, scale_factor=self.cfg.scale, mode="bicubic")),
                        D.to_uint8(y), D.to_uint8(hr)]
            else:
                rows = [D.to_uint8(hr), D.to_uint8(self.forward(hr))]
        self.net.train()
        style = D.to_uint8(self.style)[0] if self.cfg.mode == "style" else None
        path = self.run_dir / f"preview_{self.step:06d}.png"
        preview_grid(rows, path, style)
        return path

    def write_logs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_csv(self.history, self.run_dir / "loss.csv")
        loss_curve(self.history, self.run_dir / "loss.png")

    # -- collapses
    def collapsed(self) -> bool:
        """At a checkpoint: True (after rolling back) when the mean loss since the last good
        checkpoint (at least ``MIN_WINDOW`` steps) is over ``JUMP`` times the best such window
        so far, else remember this point as good. A run can jump to a bad state and stay there (a continued style run on
        the GPU went from a style loss of 2.7 to 38 and never came back, RESULTS section 7):
        it goes back to the last good checkpoint's weights and optimiser and halves the
        learning rate, so the collapse costs steps, not the run. Its steps are then redone
        (the same batches: they depend only on (seed, step))."""
        start = self.good[0] if self.good else self.step - min(self.step, self.cfg.checkpoint_every)
        rows = [r["total"] for r in self.history if r["step"] > start]
        window = sum(rows) / max(1, len(rows))
        judged = len(rows) >= MIN_WINDOW
        if judged and self.good and window > JUMP * self.best_window:
            if self.rollbacks >= MAX_ROLLBACKS:
                raise TrainError(f"the loss jumped {MAX_ROLLBACKS + 1} times (now {window:.3g}, best {self.best_window:.3g}); "
                                 f"stopped. The last good checkpoint (step {self.last_good}) is in {self.run_dir}; "
                                 "try a lower --lr")
            step, net, opt = self.good
            self.net.load_state_dict(net)
            self.opt.load_state_dict(opt)
            self.log(f"the loss jumped from {self.best_window:.3g} to {window:.3g} (mean of steps {start + 1}-{self.step}): "
                     f"back to step {step}, learning rate halved to {self.cfg.lr / 2:.3g}")
            self.step, self.cfg.lr = step, self.cfg.lr / 2
            self.history = [r for r in self.history if r["step"] <= step]
            self.rollbacks += 1
            self.good = (step, net, opt)  # kept: a second jump goes back here too
            return True
        if judged:
            self.best_window = min(self.best_window, window)
        self.good = (self.step, {k: v.detach().clone() for k, v in self.net.state_dict().items()},
                     copy.deepcopy(self.opt.state_dict()))
        return False

    # -- the loop
    def fit_steps(self, elapsed: float, cap: int) -> None:
        """--minutes: set ``cfg.steps`` so the cosine schedule ends when the time is up.

        The speed is measured from a reference point taken after 30 s and 20 steps (so
        compiling and warm-up do not count) to a quarter of the time, then the steps are
        fitted once. Checkpoints and previews count in the speed.
        """
        c = self.cfg
        budget = c.minutes * 60
        ref_step, ref_t = self.fit_ref
        if self.fits_left == 2:
            if elapsed >= min(30.0, budget / 4) and self.step - ref_step >= 20:
                self.fit_ref, self.fits_left = (self.step, elapsed), 1
            return
        if elapsed < budget / 4 or (self.step - ref_step < 20 and elapsed < budget / 2):
            return
        self.fits_left = 0
        rate = (self.step - ref_step) / max(elapsed - ref_t, 1e-6)
        c.steps = max(self.step + 1, min(cap, self.step + int(rate * max(0.0, budget - elapsed))))
        self.log(f"--minutes {c.minutes:g}: {rate:.2f} steps/s, so {c.steps} steps"
                 + (f" (capped by --steps {cap})" if c.steps == cap else ""))

    def run(self, on_step=None) -> TrainResult:
        """Train to ``cfg.steps``. Ctrl-C saves and returns (``interrupted``); NaN raises TrainError.

        ``on_step(row)`` is called after every step (progress for a GUI, or a test's hook).
        """
        c = self.cfg
        self.net.train()
        bar = tqdm(total=c.steps, initial=self.step, desc=c.name or c.mode, unit="step",
                   disable=self.quiet, dynamic_ncols=True, mininterval=0.5)
        interrupted = False
        started, cap = time.perf_counter(), c.steps
        self.fit_ref = (self.step, 0.0)
        try:
            while self.step < c.steps:
                t0 = time.perf_counter()
                try:
                    row = self.train_step(self.step)
                except FloatingPointError:
                    bar.close()
                    raise TrainError(
                        f"the loss became NaN or infinite at step {self.step + 1}; stopped. The last good "
                        f"checkpoint (step {self.last_good}) is in {self.run_dir}; try a lower "
                        "--style-weight or learning rate") from None
                self.wall += time.perf_counter() - t0
                self.step += 1
                row["seconds"] = round(self.wall, 3)
                row["lr"] = self.lr_at(self.step - 1)
                self.history.append(row)
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k not in ("step", "seconds", "lr")},
                                refresh=False)
                bar.update(1)
                if self.fits_left:
                    self.fit_steps(time.perf_counter() - started, cap)
                    bar.total = c.steps
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    if self.collapsed():
                        bar.n = self.step
                        bar.refresh()
                        continue
                    self.checkpoint()
                    self.write_logs()
                if self.step % c.preview_every == 0 or self.step == c.steps:
                    self.preview()
                if on_step is not None:
                    on_step(row)
                if self.stop_requested:  # Ctrl-C / SIGTERM arrived during the step: stop at its end
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted = True
            self.checkpoint()
            self.preview()
        finally:
            bar.close()
        self.write_logs()  # also after an interrupt
        return TrainResult(self.net, self.cfg, self.step, self.wall, self.run_dir, self.history, interrupted)


def save_base(result: TrainResult, path: Path) -> Path:
    """Ship a base network: state dict (fp16 when over 4 MB of fp32) + its config."""
    state = result.net.state_dict()
    nbytes = sum(v.numel() * 4 for v in state.values() if v.is_floating_point())
    half = nbytes > 4 << 20
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu().clone() for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"version": 1, "arch": arch_name(result.config.net_config()),
                           "net_config": asdict(result.config.net_config()), "net": state,
                           "train": result.metadata()})
    return path
