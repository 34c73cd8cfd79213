"""The training loop: Adam on the perceptual objective, with checkpoints, resume, previews and logs.

Three modes share the loop:

- ``style``: the paper's style transfer (feature + Gram style + TV loss against one painting);
- ``sr``: super-resolution (feature, pixel or mixed loss against the high-resolution crop);
- ``base``: reproduce photos (feature + pixel loss, no style): the warm start every style
  begins from, shipped as ``trainer/base/<tier>.pt``.

Everything a run needs is in ``TrainConfig``, which the checkpoint carries, so ``--resume``
needs no flags repeated. A run folder holds ``checkpoint.pt`` (written atomically),
``preview_<step>.png`` grids, ``loss.csv``, ``loss.png`` and, with TensorBoard installed, ``tb/``.

The trainer is split by job, as nanoGPT's is: ``config.py`` (the settings, devices),
``checkpoint.py`` (checkpoints, starting weights, base networks), ``schedule.py`` (learning
rate, ``--minutes``), ``logs.py`` (previews, CSV, plot, TensorBoard) and this file, the loop.
Their names stay importable from here (a test that patches one patches it where it lives,
e.g. ``trainer.checkpoint.BASE_DIR``).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from stylecam.errors import TrainError, UsageError

from . import data as D
from .checkpoint import (BASE_DIR, CHECKPOINT, _init_from_model, _loads_into, _shift_blocks,  # noqa: F401
                         base_path, load_checkpoint, save_base, save_checkpoint)
from .config import (MODES, PRECISIONS, SR_LOSSES, TrainConfig, TrainResult, resolve_device,  # noqa: F401
                     resolve_precision, runs_dir)
from .consistency import edge_loss, motion_loss
from .logs import Board, _write_png, loss_plot, preview_grid, write_csv  # noqa: F401
from .losses import broad_loss, feature_loss, objective, shrink, style_targets, tone, tone_loss, tv_loss
from .nets import arch_name, build_net, net_margin, net_stride, pad_to_multiple
from .schedule import MinutesFit, cosine_lr
from .teacher import TEACHER_LAYERS, Teacher, teacher_loss
from .trunk_fit import freeze_shared, start_weights
from .vgg import load_vgg

JUMP = 2.0  # a checkpoint window whose mean loss is this many times the best window's is a collapse
MAX_ROLLBACKS = 3
MIN_WINDOW = 20  # steps: a shorter window is too noisy to judge (nor to set the best)


class Trainer:
    """One run: builds everything from a ``TrainConfig`` (or a checkpoint) and steps it."""

    def __init__(self, cfg: TrainConfig | None, run_dir: Path, *, resume: bool = False,
                 steps: int | None = None, edge: float | None = None, log=print, quiet: bool = False):
        self.log, self.quiet = log, quiet
        self.run_dir = Path(run_dir)
        ckpt = None
        if resume:
            ckpt_path = self.run_dir / CHECKPOINT
            if not ckpt_path.is_file():
                raise TrainError(f"--resume: no checkpoint in {self.run_dir}; start without --resume")
            ckpt = load_checkpoint(ckpt_path)
            cfg = TrainConfig.from_dict(ckpt["config"])
            # only the length of the run and the edge term may change on resume; the rest comes from the checkpoint
            if steps is not None:
                cfg.steps = max(steps, int(ckpt["step"]))
            if edge is not None:
                cfg.edge = edge
                cfg.__post_init__()
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
            self.styles = [self.style if k == 1 else D.load_style(cfg.style, round(cfg.style_size * k))
                           for k in cfg.style_scales]
            # a shared trunk: every painting (the first is cfg.style), at the first scale
            self.trunk_paintings = [self.style] + [D.load_style(p, cfg.style_size) for p in cfg.styles[1:]]
        torch.manual_seed(cfg.seed)
        self.content = D.load_content(cfg.content, cfg.size)
        if self.content.skipped:
            log(f"skipped {len(self.content.skipped)} unreadable file(s) in {cfg.content}, "
                f"e.g. {self.content.skipped[0]}")
        self.vgg = load_vgg(cfg.vgg_weights or None, self.device)
        self.net = build_net(ncfg)
        self.init_used = "checkpoint" if ckpt else start_weights(self.net, cfg, log)
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
        if cfg.fit == "style":  # only a trunk style's own parameters (trainer.trunk_fit)
            freeze_shared(self.net)
        trained = self.net.style_parameters() if cfg.fit == "style" else self.net.parameters()
        self.opt = torch.optim.Adam(trained, lr=cfg.lr)
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
        # --minutes: a run stopped before its steps were fitted measures again when resumed
        self.minutes_fit = MinutesFit(cfg.minutes, cfg.minutes > 0 and bool(not ckpt or ckpt.get("fits_left", 0)))
        self.stop_requested = False  # set by a signal handler; honoured between steps
        self.board = Board(self.run_dir / "tb")  # TensorBoard, when installed
        self.plot_note = False  # the note that matplotlib is missing was given
        self.lcfg = cfg.loss_config()
        if cfg.mode == "style":
            with torch.no_grad():
                # once; Grams at several scales are averaged: matching the mean is matching
                # each scale equally (Σ‖G - A_k‖² = K‖G - mean A‖² + a constant)
                per_scale = [style_targets(self.vgg, s.to(self.device), self.lcfg) for s in self.styles]
                self.grams = {l: sum(g[l] for g in per_scale) / len(per_scale) for l in per_scale[0]}
                small = shrink(self.style.to(self.device), cfg.broad_factor)
                self.broad_grams = style_targets(self.vgg, small, self.lcfg) if cfg.broad else None
                self.tone_target = tone(small)
                if cfg.styles:  # (n, C, C) per layer; a step picks one row per picture
                    per_style = [self.grams] + [style_targets(self.vgg, s.to(self.device), self.lcfg)
                                                for s in self.trunk_paintings[1:]]
                    self.trunk_grams = {l: torch.cat([g[l] for g in per_style]) for l in self.grams}
        self.preview_in = self.content.fixed(4).to(self.device)
        # --teacher: a stronger model's picture of each crop, a target beside the objective
        self.teacher = Teacher(cfg.teacher, torch.get_num_threads()) if cfg.teacher and cfg.teacher_weight else None

    # -- one step
    def lr_at(self, step: int) -> float:
        return cosine_lr(step, self.cfg.steps, self.cfg.lr, self.cfg.lr_end)

    @property
    def fits_left(self) -> int:
        """--minutes: 2 = no reference point yet, 1 = measuring since it, 0 = fitted (or no --minutes)."""
        return self.minutes_fit.left

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
            grams = self.step_grams if c.styles else self.grams
            if self.teacher is None:
                total, parts = objective(self.loss_vgg, y, target, grams, self.lcfg)
            else:
                feats = self.loss_vgg(y, tuple(dict.fromkeys(self.lcfg.layers() + TEACHER_LAYERS)))
                total, parts = objective(self.loss_vgg, y, target, grams, self.lcfg, feats=feats)
                with torch.no_grad():
                    want = self.loss_vgg(self.step_teacher, TEACHER_LAYERS)
                parts["teacher"] = c.teacher_weight * teacher_loss(feats, want)
            if c.broad:
                parts["broad"] = c.broad * broad_loss(self.loss_vgg, y, self.broad_grams, self.lcfg, c.broad_factor)
            if c.tone:
                parts["tone"] = c.tone * tone_loss(shrink(y, c.broad_factor), self.tone_target)
            return total + sum(v for k, v in parts.items() if k in ("teacher", "broad", "tone")), parts
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
        m = net_margin(self.cfg.net_config()) if self.cfg.mode == "style" and self.cfg.margins else 0
        if not m:
            return self.run_net(x)
        h, w = x.shape[-2:]
        y = self.run_net(pad_to_multiple(x, self.stride, m, 2 * m))
        return y[..., 2 * m: 2 * m + h, m: m + w]

    def stability_loss(self, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        """``--stability``: the output must follow small motions of the input (trainer.consistency)."""
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        return motion_loss(self.forward, x, y, g)

    def edge_loss(self, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        """``--edge``: a pixel comes out the same at the frame's border as inside (trainer.consistency)."""
        g = torch.Generator().manual_seed(self.cfg.seed * 999_983 + step)
        return edge_loss(self.forward, x, y, self.stride, g)

    def train_step(self, step: int) -> dict:
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(step)
        x, target = self.inputs(step)
        if self.teacher is not None:
            self.step_teacher = self.teacher(x)
        if self.cfg.styles:  # a shared trunk: each picture of the batch gets a style drawn from (seed, step)
            g = torch.Generator().manual_seed(self.cfg.seed * 7_919 + step)
            which = torch.randint(len(self.cfg.styles), (x.shape[0],), generator=g)
            self.net.select(which)
            self.step_grams = {l: t[which.to(t.device)] for l, t in self.trunk_grams.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            y = self.forward(x)
            total, parts = self.loss(y.float() if self.amp else y, target)
            if self.cfg.mode == "style" and self.cfg.stability > 0:
                parts["stability"] = self.cfg.stability * self.stability_loss(x, y.float(), step)
                total = total + parts["stability"]
            if self.cfg.mode == "style" and self.cfg.edge > 0:
                parts["edge"] = self.cfg.edge * self.edge_loss(x, y, step)
                total = total + parts["edge"]
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
                if self.cfg.styles:  # four styles of the trunk, a different four each preview
                    k = self.step // self.cfg.preview_every
                    self.net.select([(k + i) % len(self.cfg.styles) for i in range(hr.shape[0])])
                rows = [D.to_uint8(hr), D.to_uint8(self.forward(hr))]
        self.net.train()
        style = D.to_uint8(self.style)[0] if self.cfg.mode == "style" else None
        path = self.run_dir / f"preview_{self.step:06d}.png"
        self.board.image(self.step, preview_grid(rows, path, style))
        return path

    def write_logs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_csv(self.history, self.run_dir / "loss.csv")
        if not loss_plot(self.history, self.run_dir / "loss.png") and not self.plot_note:
            self.plot_note = True
            self.log("note: no loss.png: matplotlib is not installed (pip install matplotlib)")
        self.board.flush()

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
            self.board.close()  # reopened at the next step, dropping the steps undone
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
        """--minutes: set ``cfg.steps`` so the cosine schedule ends when the time is up
        (``schedule.MinutesFit``); ``elapsed``: seconds since the run started."""
        fitted = self.minutes_fit.update(self.step, elapsed, cap)
        if fitted is None:
            return
        c = self.cfg
        c.steps, rate = fitted
        self.log(f"--minutes {c.minutes:g}: {rate:.2f} steps/s, so {c.steps} steps"
                 + (f" (capped by --steps {cap})" if c.steps == cap else ""))

    def run(self, on_step=None) -> TrainResult:
        """Train to ``cfg.steps``. Ctrl-C saves and returns (``interrupted``); NaN raises TrainError.

        ``on_step(row)`` is called after every step (progress for a GUI, or a test's hook).
        """
        c = self.cfg
        self.net.train()
        # --minutes: no total (so no absurd ETA) until the steps are fitted to the measured speed
        bar = tqdm(total=None if self.fits_left else c.steps, initial=self.step, desc=c.name or c.mode, unit="step",
                   disable=self.quiet, dynamic_ncols=True, mininterval=0.5)
        interrupted = False
        started, cap = time.perf_counter(), c.steps
        self.minutes_fit.start(self.step)
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
                self.board.scalars(row)
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k not in ("step", "seconds", "lr")},
                                refresh=False)
                bar.update(1)
                if self.fits_left:
                    self.fit_steps(time.perf_counter() - started, cap)
                    if not self.fits_left:
                        bar.total = c.steps
                        bar.refresh()
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
            self.board.close()
        self.write_logs()  # also after an interrupt
        return TrainResult(self.net, self.cfg, self.step, self.wall, self.run_dir, self.history, interrupted)
