"""stylecam-render: stylize (and/or upscale) videos, images and folders of images.

Videos are decoded, styled and encoded on their own threads joined by small bounded queues,
so the model sets the pace; on the CPU the style model works on one frame per core at once
(``plan_workers``) and the frames are put back in order before the stabiliser and the
encoder. Timestamps are copied and audio streams are remuxed untouched.
Every output is written to a hidden temporary name beside it and renamed at the end, so an
existing file is never half-overwritten. Ctrl-C finishes the file with the frames done
(a playable video) and exits 130. A truncated input is rendered as far as it decodes, the
file is kept, and the command says so and exits 2.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from .cli import ArgumentParser, EXIT_INTERRUPTED, EXIT_USER_ERROR, fail, run_cli
from .engine import CPU, DEVICES, PRECISIONS, Engine, _providers, default_threads
from .errors import (InputError, OutputError, StylecamError, TruncatedInputError,
                     UnknownModelError, UsageError)
from .models import Catalog, ModelInfo
from .process import Processor, Settings
from .videoio import VideoReader, VideoWriter

PROG = "stylecam-render"
IMAGE_EXTS = (".png", ".jpg", ".jpeg")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".m4v")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# Measured by benchmarks/render_speed.py on 2 cores: at 1280x720 x264 ultrafast costs ~11 ms
# a frame, veryfast ~40, medium ~120; only ultrafast leaves the fast tier's render at >= 90%
# of model-only speed. Files are ~2x larger than veryfast; --preset medium makes them small.
DEFAULT_PRESET = "ultrafast"
DEFAULT_STABILIZE = 0.6  # on by default: 0.58x flicker on butterfly.mp4 for ~9% more model time (RESULTS.md, 6)
QUEUE_DEPTH = 4  # frames in flight between two stages; enough to smooth, small for memory


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Turn videos and pictures into moving paintings.",
                       epilog="Exit status: 0 done; 2 a user error, or an input that ended early "
                              "(what decoded is rendered and kept); 130 interrupted (the frames "
                              "done are kept as a playable file).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, image (png/jpg) or folder of images")
    p.add_argument("--style", metavar="NAME|FILE.onnx", help="style model (a name or a path)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file or folder (default: beside the input)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--strength", type=float, default=1.0, help="0 = original .. 1 = fully stylized (default 1)")
    p.add_argument("--preserve-color", action="store_true", help="keep the original colours, take the style's light")
    p.add_argument("--max-side", type=int, default=None, metavar="N", help="run the style model at most N pixels a side")
    p.add_argument("--stabilize", type=float, default=DEFAULT_STABILIZE, metavar="K",
                   help="0 .. <1: keep this much of the previous output along the motion, "
                        f"against flicker (video only; default {DEFAULT_STABILIZE:g})")
    p.add_argument("--upscale", metavar="2|4|NAME", help="super-resolution after the style (or alone)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto (default): a model's int8 variant on the CPU when it has one; float: never; int8")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="onnxruntime threads per model run (default: all cores, or 1 when --workers share them)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="video frames the style model works on at once (default: one per core on the CPU, "
                        "each with 1 thread; 1 on CUDA or with --upscale)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"x264 preset (default {DEFAULT_PRESET})")
    p.add_argument("--crf", type=int, default=18, help="x264 quality, 0 (lossless) .. 51 (default 18)")
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
    return Settings(strength=args.strength, preserve_color=args.preserve_color,
                    max_side=args.max_side, stabilize=args.stabilize).check()


def resolve_models(catalog: Catalog, style: str | None, upscale: str | None
                   ) -> tuple[ModelInfo | None, ModelInfo | None]:
    """The style and super-resolution models the options name (either may be None)."""
    style_info = sr_info = None
    if style is not None:
        style_info = catalog.resolve(style, kind="style")
        if style_info.kind != "style":
            raise UsageError(f"'{style_info.name}' is a super-resolution model; pass it with --upscale")
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
    return style_info, sr_info


# ----------------------------------------------------------------------------- jobs

@dataclass
class Job:
    """One input and where its result goes."""

    kind: str  # "video" | "image" | "folder"
    src: Path
    dst: Path


def _tag(style: ModelInfo | None, sr: ModelInfo | None) -> str:
    parts = ([style.name] if style else []) + ([f"x{sr.scale}"] if sr else [])
    return "_".join(parts)


def _kind_of(src: Path) -> str:
    if src.is_dir():
        return "folder"
    if src.suffix.lower() in IMAGE_EXTS:
        return "image"
    return "video"


def _default_name(src: Path, kind: str, tag: str) -> str:
    if kind == "folder":
        return f"{src.name}_{tag}"
    suffix = src.suffix if kind == "image" or src.suffix.lower() in VIDEO_EXTS else ".mkv"
    return f"{src.stem}_{tag}{suffix}"


def plan_job(src: Path, output: str | None, several: bool, tag: str, overwrite: bool) -> Job:
    """Check one input and work out its output; raises before anything is written."""
    if not src.exists():
        raise InputError(f"{src}: no such file or folder")
    kind = _kind_of(src)
    if kind != "folder" and src.stat().st_size == 0:
        raise InputError(f"{src}: the file is empty")
    if output is None:
        dst = src.parent / _default_name(src, kind, tag)
    else:
        out = Path(output)
        if out.is_dir() and (several or kind != "folder"):
            dst = out / _default_name(src, kind, tag)
        elif several:
            raise OutputError(f"{out}: with several inputs, -o must be an existing folder")
        else:
            dst = out
    if not dst.parent.is_dir():
        raise OutputError(f"{dst.parent}: output folder does not exist")
    want = {"video": VIDEO_EXTS, "image": IMAGE_EXTS}.get(kind)
    if want and dst.suffix.lower() not in want:
        raise UsageError(f"{dst}: {'an image' if kind == 'image' else 'a video'} output must end in {', '.join(want)}")
    if dst.exists() and dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: output would replace the input")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: already exists (use --overwrite to replace it)")
    if kind == "folder" and dst.exists() and not dst.is_dir():
        raise OutputError(f"{dst}: exists and is not a folder")
    return Job(kind, src, dst)


def _temp_beside(dst: Path) -> Path:
    """A hidden name in the output's folder (same file system, so the rename is atomic)."""
    return dst.with_name(f".{dst.stem}.partial-{os.getpid()}{dst.suffix}")


# ----------------------------------------------------------------------------- pipeline

_END = object()


class _Timed:
    """An Engine that remembers how long each run took (Processor only needs .info and .run)."""

    def __init__(self, engine: Engine):
        self.engine, self.info, self.ms = engine, engine.info, []

    def run(self, frame: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = self.engine.run(frame)
        self.ms.append((time.perf_counter() - t) * 1e3)
        return out


def run_pipeline(source: Iterable, process: Callable, sink: Callable, depth: int = QUEUE_DEPTH,
                 workers: int = 1) -> None:
    """``sink(process(item))`` for every item of ``source``, in order, each stage on its own
    thread(s): one reader, ``workers`` threads running ``process`` (which must then be safe to
    call concurrently; results are put back in order), one writer.

    Stages are joined by queues of ``depth`` items. The first error of any stage stops all of
    them and is raised here; Ctrl-C in the calling thread stops them too and is re-raised.
    Items still queued when a stage fails are dropped, and ``source`` is closed (if it has a
    ``close``) before this returns or raises.
    """
    stop = threading.Event()
    errors: list[BaseException] = []
    q_in: queue.Queue = queue.Queue(depth)
    q_out: queue.Queue = queue.Queue(depth + workers - 1)

    def put(q, item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def get(q):
        while not stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                pass
        return _END

    def read():
        items = iter(source)
        try:
            for i, item in enumerate(items):
                if not put(q_in, (i, item)):
                    return
        finally:
            # a source stopped early (a generator over a PyAV container) is closed here, on
            # its own thread, not whenever the garbage collector gets to it, which may be
            # after the caller has closed the container
            close = getattr(items, "close", None)
            if close is not None:
                close()
        for _ in range(workers):
            put(q_in, _END)

    def work():
        while (job := get(q_in)) is not _END:
            if not put(q_out, (job[0], process(job[1]))):
                return
        put(q_out, _END)

    def write():
        pending, want, ended = {}, 0, 0  # results that came early wait for their turn
        while ended < workers:
            got = get(q_out)
            if got is _END:
                if stop.is_set():
                    return
                ended += 1
                continue
            pending[got[0]] = got[1]
            while want in pending:
                sink(pending.pop(want))
                want += 1

    def guarded(fn, done: threading.Event):
        def body():
            try:
                fn()
            except BaseException as exc:  # handed to the calling thread below
                errors.append(exc)
                stop.set()
            finally:
                done.set()
        return body

    stages = (read, *[work] * workers, write)
    done = [threading.Event() for _ in stages]
    for fn, ended in zip(stages, done):
        threading.Thread(target=guarded(fn, ended), name=f"render-{fn.__name__}", daemon=True).start()
    try:
        while not _tick(done[-1]):  # the writer ends last: the source ran out, or a stage failed
            pass
    finally:
        stop.set()  # on Ctrl-C, wake the other stages up; after success, a no-op
        _wait_all(done)
    if errors:
        raise errors[0]


def _wait_all(events: list[threading.Event]) -> None:
    """Wait until every event is set, through Ctrl-C too (raised once they all are).

    Stages are waited for with events, not ``Thread.join``: in Python 3.11, a join that
    Ctrl-C interrupts can mark a thread that is still running as finished, and the render
    then closed the encoder while the writer stage was still encoding (a segfault).
    """
    ctrl_c: KeyboardInterrupt | None = None
    for event in events:
        while True:
            try:
                if _tick(event):
                    break
            except KeyboardInterrupt as exc:
                ctrl_c = exc
    if ctrl_c is not None:
        raise ctrl_c


def _tick(event: threading.Event) -> bool:
    """``event.wait`` for a moment: a Ctrl-C that the kernel handed to another thread (one of
    FFmpeg's or onnxruntime's) does not wake a wait without a timeout, only the next tick."""
    return event.wait(0.1)


@dataclass
class Result:
    """What one render did (the --json summary of one input)."""

    input: str
    output: str
    kind: str
    frames: int = 0
    seconds: float = 0.0
    audio_streams_copied: int = 0
    truncated: bool = False
    interrupted: bool = False
    model_ms: list = field(default_factory=list, repr=False)
    workers: int = 1

    def summary(self, engines: list[Engine]) -> dict:
        e = engines[0] if engines else None
        return {"input": self.input, "output": self.output, "kind": self.kind, "frames": self.frames,
                "seconds": round(self.seconds, 3),
                "fps": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
                "model_ms_median": round(statistics.median(self.model_ms), 2) if self.model_ms else None,
                "device": e.device if e else None, "provider": e.providers[0] if e else None,
                "precision": e.precision if e else None,
                "threads": e.threads if e else None, "workers": self.workers,
                "audio_streams_copied": self.audio_streams_copied, "truncated": self.truncated,
                "interrupted": self.interrupted}


def _progress(total: int | None, desc: str, unit: str = "frame"):
    from tqdm import tqdm

    return tqdm(total=total or None, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5,
                dynamic_ncols=True, leave=True)


def render_video(job: Job, processor: Processor, timers: list[_Timed], preset: str = DEFAULT_PRESET,
                 crf: int = 18, progress: bool = True, workers: int = 1) -> Result:
    """Render one video; see the module docstring for what happens on Ctrl-C and truncation."""
    result = Result(str(job.src), str(job.dst), "video", workers=workers)
    reader = VideoReader(job.src)
    tmp = _temp_beside(job.dst)
    try:
        info = reader.info
        if min(info.width, info.height) < 32:
            raise InputError(f"{job.src}: {info.width}x{info.height} is too small; stylecam needs at least 32x32")
        writer = VideoWriter(tmp, info.width * processor.scale, info.height * processor.scale, info.rate,
                             time_base=info.time_base, preset=preset, crf=crf, crash_safe=False,
                             audio_from=job.src if info.audio_streams else None)
    except BaseException:
        reader.close()
        if tmp.exists():  # the muxer may have created it before failing
            tmp.unlink()
        raise
    result.audio_streams_copied = writer.audio_streams
    processor.reset()  # stabilisation never carries a frame from one clip into the next
    bar = _progress(info.frames, job.src.name) if progress else None

    def frames():
        try:
            yield from reader
        except TruncatedInputError:
            result.truncated = True  # render what decoded; said after the file is done

    def process(item):  # on ``workers`` threads: the style model, frames in any order
        rgb, pts, _ = item
        return processor.prepare(rgb), pts

    def sink(item):  # in frame order: stabiliser, blend, upscale, encode
        writer.write(processor.finish(item[0]), item[1])
        if bar is not None:
            bar.update(1)

    for t in timers:
        t.ms.clear()
    start = time.perf_counter()
    failure: BaseException | None = None
    try:
        run_pipeline(frames(), process, sink, workers=workers)
    except KeyboardInterrupt:
        result.interrupted = True
    except BaseException as exc:
        failure = exc
    finally:
        if bar is not None:
            bar.close()
        reader.close()
    result.frames = writer.frames
    result.seconds = time.perf_counter() - start
    result.model_ms = [sum(ms) for ms in zip(*(t.ms for t in timers))]
    complete = failure is None and not result.interrupted and not result.truncated
    try:
        if writer.frames == 0:
            writer.close()
            if result.interrupted:
                raise KeyboardInterrupt
            raise failure or InputError(f"{job.src}: no frame was rendered")
        writer.close(rest_of_audio=complete)
        os.replace(tmp, job.dst)
    except BaseException as exc:
        if tmp.exists():
            tmp.unlink()
        raise (failure or exc) from None
    if failure is not None:  # the frames done are kept; say so in the one line
        if isinstance(failure, StylecamError):
            raise type(failure)(f"{failure}; kept {writer.frames} frames in {job.dst}") from None
        raise failure
    return result


def _read_image(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    h, w = bgr.shape[:2]
    if min(h, w) < 32:
        raise InputError(f"{path}: {w}x{h} is too small; stylecam needs at least 32x32")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _write_image(rgb: np.ndarray, dst: Path) -> None:
    tmp = _temp_beside(dst)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if dst.suffix.lower() in (".jpg", ".jpeg") else []
    try:
        ok = cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise OutputError(f"cannot write {dst}")
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def render_image(job: Job, processor: Processor, timers: list[_Timed]) -> Result:
    start = time.perf_counter()
    processor.reset()
    _write_image(processor(_read_image(job.src)), job.dst)
    return Result(str(job.src), str(job.dst), "image", frames=1, seconds=time.perf_counter() - start,
                  model_ms=[sum(ms) for ms in zip(*(t.ms for t in timers))])


def render_folder(job: Job, processor: Processor, timers: list[_Timed], progress: bool = True) -> Result:
    """Every png/jpg of a folder (not its subfolders) to the same names in the output folder."""
    images = sorted(p for p in job.src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not images:
        raise InputError(f"{job.src}: no .png or .jpg images in this folder")
    job.dst.mkdir(exist_ok=True)
    result = Result(str(job.src), str(job.dst), "folder")
    bar = _progress(len(images), job.src.name, unit="image") if progress else None
    start = time.perf_counter()
    try:
        for t in timers:
            t.ms.clear()
        for p in images:
            processor.reset()  # separate pictures, not frames of one clip
            _write_image(processor(_read_image(p)), job.dst / p.name)
            result.frames += 1
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    result.seconds = time.perf_counter() - start
    result.model_ms = [sum(ms) for ms in zip(*(t.ms for t in timers))]
    return result


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
    settings = _check_options(args)
    style_info, sr_info = resolve_models(Catalog(), args.style, args.upscale)
    tag = _tag(style_info, sr_info)
    several = len(args.inputs) > 1
    if several and args.output is not None and not Path(args.output).is_dir():
        raise OutputError(f"{args.output}: with several inputs, -o must be an existing folder")
    jobs: list[Job | StylecamError] = []
    for text in args.inputs:
        try:
            jobs.append(plan_job(Path(text), args.output, several, tag, args.overwrite))
        except StylecamError as exc:
            if not several:
                raise
            jobs.append(exc)
    any_video = any(isinstance(j, Job) and j.kind == "video" for j in jobs)
    workers, threads = plan_workers(args.workers, args.threads, any_video and style_info is not None,
                                    sr_info is None and _providers(args.device) == [CPU])
    # spin=False: onnxruntime's idle threads sleep instead of busy-waiting, so the decode and
    # encode threads get the cores between model runs (render_speed.py measures the gain)
    engines = [Engine(m, device=args.device, threads=threads, spin=False, precision=args.precision)
               for m in (style_info, sr_info) if m]
    timers = [_Timed(e) for e in engines]
    by_kind = {t.info.kind: t for t in timers}
    processor = Processor(by_kind.get("style"), by_kind.get("sr"), settings)

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
        summaries.append(result.summary(engines))
        if result.interrupted:
            _emit(args.json, summaries, several)
            fail(PROG, f"interrupted: kept {result.frames} {'frames' if job.kind == 'video' else 'images'} "
                       f"in {result.output}")
            return EXIT_INTERRUPTED
        if result.truncated:
            fail(PROG, f"{job.src}: input ended early at frame {result.frames}; "
                       f"kept {result.frames} frames in {result.output}")
            status = EXIT_USER_ERROR
    _emit(args.json, summaries, several)
    return status


def _emit(as_json: bool, summaries: list[dict], several: bool) -> None:
    if as_json:
        print(json.dumps(summaries if several else summaries[0]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
