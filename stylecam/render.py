"""stylecam-render: stylize (and/or upscale) videos, images and folders of images.

Videos are decoded, styled and encoded on their own threads joined by small bounded queues,
so the model sets the pace; on the CPU the style model works on one frame per core at once
(``plan_workers``) and the frames are put back in order before the stabiliser and the
encoder. Timestamps are copied and audio streams are remuxed untouched.
Every output is written to a hidden temporary name beside it and renamed at the end, so an
existing file is never half-overwritten. Ctrl-C finishes the file with the frames done
(a playable video) and exits 130. A truncated input is rendered as far as it decodes, the
file is kept, and the command says so and exits 2. A model that fails at run time, or a
write that fails (a full disk), stops the render with one line saying how many frames the
kept file really holds, or that nothing was kept (exit 2). A finished render says where its
file went. Pictures over ``inputs.MAX_PIXELS`` are refused from their header.
``--style "wave:0.6,starry_night:0.4"`` is a blend: each style's model runs on every frame
and the outputs are mixed (``blend``), written as ``clip_wave-starry_night.mp4``.
``--style`` with ``--upscale S`` keeps the input's size: the style runs at 1/S and the SR
model brings it back (HD output at low-resolution cost); ``--upscale`` alone makes S x the
input, and ``--out-scale K`` asks for K x the input either way (``frames.plan_sizes``).
``--tier`` picks a style's network (``engine.choose_tier``): auto runs its quality tier
(``NAME.quality.onnx``) on CUDA when it has one, else the fast one; a blend runs the fast tier.

The command (here) -> ``render_plan`` (each input's job and output, checked before anything
is written) -> ``render_run`` (one job; a video through ``stages.run_pipeline``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from . import mixing
from .blend import Blend, BlendedStyle, resolve_blend
from .cli import ArgumentParser, EXIT_INTERRUPTED, EXIT_USER_ERROR, fail, run_cli
from .engine import CPU, DEVICES, PRECISIONS, TIERS, Engine, _providers, default_threads
from .errors import OutputError, StylecamError, UnknownModelError, UsageError
from .frames import plan_sizes
from .models import Catalog, ModelInfo, list_styles
from .process import Processor, Settings
from .render_plan import Job, _tag, plan_job
from .render_run import DEFAULT_CRF, DEFAULT_PRESET, _Timed, render_folder, render_image, render_video

PROG = "stylecam-render"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_STABILIZE = 0.6  # on by default: 0.58x flicker on butterfly.mp4 for ~9% more model time (RESULTS.md, 6)

def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Turn videos and pictures into moving paintings.",
                       epilog="Exit status: 0 done; 2 a user error, or an input that ended early "
                              "(what decoded is rendered and kept); 130 interrupted (the frames "
                              "done are kept as a playable file).")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="video file, image (png/jpg) or folder of images")
    p.add_argument("--list-styles", action="store_true", help="print every model's name, title, tier and precision")
    p.add_argument("--style", metavar="NAME|FILE.onnx|BLEND",
                   help="style model (a name, a title or a path), or a blend of styles: "
                        "'wave:0.6,starry_night:0.4' (each style runs, outputs mixed)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file or folder (default: beside the input)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--strength", type=float, default=1.0, help="0 = original .. 1 = fully stylized (default 1)")
    p.add_argument("--preserve-color", action="store_true", help="keep the original colours, take the style's light")
    p.add_argument("--max-side", type=int, default=None, metavar="N",
                   help="run the style model at most N pixels a side (with --upscale too: the style "
                        "comes back to output/scale, then super-resolution to the output)")
    p.add_argument("--stabilize", type=float, default=DEFAULT_STABILIZE, metavar="K",
                   help="0 .. <1: keep this much of the previous output along the motion, "
                        f"against flicker (video only; default {DEFAULT_STABILIZE:g})")
    p.add_argument("--upscale", metavar="2|4|NAME",
                   help="super-resolution: with --style, the style runs at 1/scale and the SR model brings it "
                        "back to the input's size (HD at low-resolution cost); alone, the output is scale x the input")
    p.add_argument("--out-scale", type=float, default=None, metavar="K",
                   help="with --upscale: the output is K x the input (default 1 with --style, the model's "
                        "scale without); e.g. --style wave --upscale 4 --out-scale 4 styles at full size, then x4")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto (default): a model's int8 variant on the CPU when it has one; float: never; int8")
    p.add_argument("--tier", default="auto", choices=TIERS,
                   help="auto (default): a style's quality tier (NAME.quality.onnx) on CUDA when it has one, "
                        "else fast; fast: the shipped net; quality: the paper's bigger net, in float")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="onnxruntime threads per model run (default: all cores, or 1 when --workers share them)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="video frames the style model works on at once (default: one per core on the CPU, "
                        "each with 1 thread; 1 on CUDA or with --upscale)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"x264 preset (default {DEFAULT_PRESET})")
    p.add_argument("--crf", type=int, default=DEFAULT_CRF, help=f"x264 quality, 0 (lossless) .. 51 (default {DEFAULT_CRF})")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``stylecam-render``."""
    return run_cli(_main, argv, prog=PROG)


# ----------------------------------------------------------------------------- options

def _check_options(args) -> Settings:
    if args.device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got '{args.device}'")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, got '{args.preset}'")
    if not 0 <= args.crf <= 51:
        raise UsageError(f"--crf must be between 0 and 51, got {args.crf}")
    if args.style is None and args.upscale is None:
        raise UsageError("give --style NAME, --upscale 2|4|NAME, or both")
    if args.out_scale is not None and args.upscale is None:
        raise UsageError("--out-scale needs --upscale: the super-resolution model makes the output size")
    if args.tier == "quality" and args.precision == "int8":
        raise UsageError("--precision int8 is for the fast tier; --tier quality runs in float "
                         "(use --precision auto or float)")
    if args.tier == "quality" and args.style is None:
        raise UsageError("--tier quality picks the style model's network and needs --style")
    if args.max_side is not None and args.style is None:
        raise UsageError("--max-side sets the style model's size and needs --style; "
                         "with --upscale alone, --out-scale K sets the output size")
    return Settings(strength=args.strength, preserve_color=args.preserve_color,
                    max_side=args.max_side, stabilize=args.stabilize, out_scale=args.out_scale).check()


def resolve_models(catalog: Catalog, style: str | None, upscale: str | None
                   ) -> tuple[Blend | None, ModelInfo | None]:
    """The style (a plain style or a blend, ``blend.resolve_blend``) and the super-resolution
    model the options name (either may be None)."""
    blend = resolve_blend(style, catalog) if style is not None else None
    sr_info = None
    if upscale is not None:
        if upscale.isdigit():
            scale = int(upscale)
            srs = [m for m in catalog.models() if m.kind == "sr"]
            sr_info = next((m for m in srs if m.scale == scale), None)
            if sr_info is None:
                have = ", ".join(f"{m.name} (x{m.scale})" for m in srs) or "none installed"
                raise UnknownModelError(f"no x{scale} super-resolution model; known: {have}")
        else:
            sr_info = catalog.resolve(upscale, kind="sr")
            if sr_info.kind != "sr":
                raise UsageError(f"'{sr_info.name}' is a style, not a super-resolution model; pass it with --style")
    return blend, sr_info


def style_tier(tier: str, blend: Blend | None) -> str:
    """The tier the style's engines run: ``tier`` for one style; a blend runs the fast tier
    (``--tier quality`` with one is an error)."""
    if blend is None or blend.single:
        return tier
    if tier == "quality":
        raise UsageError(f"--tier quality runs one style; a blend ('{blend.spec}') runs the fast tier: "
                         "use --tier auto or fast")
    return "fast"


# ----------------------------------------------------------------------------- main

def plan_workers(workers: int | None, threads: int | None, video: bool, parallel_ok: bool) -> tuple[int, int | None]:
    """(style-model workers, onnxruntime threads each) for a render.

    On the CPU, frames through the style model one per core, each run on 1 thread, beat one
    frame at a time on every core: no thread waits for another inside a run, and decode,
    stabiliser and encode slot in between (benchmarks/render_speed.py measures both). Not
    with ``--upscale`` (the super-resolution model runs after the stabiliser, in frame order)
    nor on CUDA (one GPU), nor for pictures only.
    """
    if not video or not parallel_ok:
        return 1, threads
    cores = default_threads()
    if workers is None:
        threads = threads or 1
        return max(1, cores // threads), threads
    return workers, threads or max(1, cores // workers)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_styles:
        print(list_styles())
        return 0
    if not args.inputs:
        raise UsageError("give a video, an image or a folder to render (or --list-styles)")
    settings = _check_options(args)
    blend, sr_info = resolve_models(Catalog(), args.style, args.upscale)
    tier = style_tier(args.tier, blend)
    tag = _tag(blend, sr_info)

    def out_size(height: int, width: int) -> tuple[int, int]:  # Processor.out_size, before any model loads
        return plan_sizes(height, width, style=blend is not None, sr_scale=sr_info.scale if sr_info else 1,
                          max_side=settings.max_side, out_scale=settings.out_scale).out

    several = len(args.inputs) > 1
    if several and args.output is not None and not Path(args.output).is_dir():
        raise OutputError(f"{args.output}: with several inputs, -o must be an existing folder")
    jobs: list[Job | StylecamError] = []
    for text in args.inputs:
        try:
            jobs.append(plan_job(Path(text), args.output, several, tag, args.overwrite, out_size=out_size))
        except StylecamError as exc:
            if not several:
                raise
            jobs.append(exc)
    any_video = any(isinstance(j, Job) and j.kind == "video" for j in jobs)
    workers, threads = plan_workers(args.workers, args.threads, any_video and blend is not None,
                                    sr_info is None and _providers(args.device) == [CPU])
    # spin=False: onnxruntime's idle threads sleep instead of busy-waiting, so the decode and
    # encode threads get the cores between model runs (render_speed.py measures the gain)
    # A blend of styles of one trunk is one model, their weights mixed (mixing.py); any other
    # blend is one Engine per style, each run on every frame, outputs mixed (blend.py).
    one_pass = blend is not None and not blend.single and mixing.one_pass(blend.models)
    style_models = [mixing.mixed_model(blend.models, blend.weights)] if one_pass else (blend.models if blend else [])
    engines = [Engine(m, device=args.device, threads=threads, spin=False, precision=args.precision,
                      tier=tier if m.kind == "style" else "fast")
               for m in style_models + ([sr_info] if sr_info else [])]
    timers = [_Timed(e) for e in engines]
    styles = [t for t in timers if t.info.kind == "style"]
    style = None
    if blend is not None:
        style = styles[0] if len(styles) == 1 else BlendedStyle(styles, blend.weights, name=blend.name)
    upscale = next((t for t in timers if t.info.kind == "sr"), None)
    processor = Processor(style, upscale, settings)

    summaries, status = [], 0
    for text, job in zip(args.inputs, jobs):
        try:
            if isinstance(job, StylecamError):
                raise job
            if job.kind == "video":
                result = render_video(job, processor, timers, args.preset, args.crf, workers=workers)
            elif job.kind == "image":
                result = render_image(job, processor, timers)
            else:
                result = render_folder(job, processor, timers)
        except StylecamError as exc:
            if not several and not args.json:
                raise
            fail(PROG, str(exc))
            summaries.append({"input": text, "error": str(exc)})
            status = EXIT_USER_ERROR
            continue
        summaries.append({**result.summary(engines), "style": blend.spec if blend else None,
                          "tier": styles[0].engine.tier if styles else None,
                          "blend": blend.summary() if blend else None,
                          "blend_passes": None if blend is None or blend.single else 1 if one_pass else len(styles)})
        if result.interrupted:
            _emit(args.json, summaries, several)
            fail(PROG, f"interrupted: kept {result.frames} {'frames' if job.kind == 'video' else 'images'} "
                       f"in {result.output}")
            return EXIT_INTERRUPTED
        if result.truncated:
            fail(PROG, f"{job.src}: input ended early at frame {result.frames}; "
                       f"kept {result.frames} frames in {result.output}")
            status = EXIT_USER_ERROR
        else:
            print(f"{PROG}: {_done_line(result)}", file=sys.stderr, flush=True)
    _emit(args.json, summaries, several)
    return status


def _done_line(result) -> str:
    """Where a finished render went, e.g. ``wrote clip_wave.mp4 (30 frames in 1.2 s)``."""
    what = {"video": f"{result.frames} frames", "image": "1 picture"}.get(result.kind, f"{result.frames} pictures")
    return f"wrote {result.output} ({what} in {result.seconds:.1f} s)"


def _emit(as_json: bool, summaries: list[dict], several: bool) -> None:
    if as_json:
        print(json.dumps(summaries if several else summaries[0]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
