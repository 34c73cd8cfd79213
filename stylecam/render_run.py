"""stylecam-render, second step: render one job (a video, an image or a folder of images).

A video goes decode -> style model (``workers`` threads) -> stabiliser, blend, upscale ->
encode through ``stages.run_pipeline``; see ``stylecam.render`` for what is kept when a
render stops early.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .engine import Engine
from .errors import InputError, ModelError, OutputError, StylecamError, TruncatedInputError
from .inputs import check_file, image_size
from .process import Processor
from .render_plan import IMAGE_EXTS, Job, _temp_beside, check_output_size
from .stages import run_pipeline
from .videoio import VideoReader, VideoWriter, count_frames

# Measured by benchmarks/encode_choice.py on butterfly.mp4's stylized frames (RESULTS.md, 2):
# superfast at CRF 20 keeps ultrafast CRF 18's picture (37.3 against 37.2 dB from the lossless
# render) in 0.55x the bits (8.6 against 15.8 Mbit/s, 6x the input's) for ~8 more CPU-ms a
# frame at 1280x720; veryfast saves 15% more for 4x that cost, medium nothing more.
DEFAULT_PRESET = "superfast"
DEFAULT_CRF = 20


class _Timed:
    """An Engine that remembers how long each run took (Processor only needs .info and .run)."""

    def __init__(self, engine: Engine):
        self.engine, self.info, self.ms = engine, engine.info, []  # Engine.run's log is off

    def run(self, frame: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        try:
            out = self.engine.run(frame)
        except Exception as exc:  # a model that passed the contract but fails at run time
            raise model_failure(self.engine, frame, exc) from None
        self.ms.append((time.perf_counter() - t) * 1e3)
        return out


def model_failure(engine: Engine, frame: np.ndarray, exc: BaseException) -> ModelError:
    """One line for an error onnxruntime raised while running a model on ``frame``: the
    node and onnxruntime's own words, without its source location."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    node = re.search(r"running (\w+) node", text)
    if "Status Message:" in text:
        text = text.split("Status Message:", 1)[1].strip()
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"^\S+:\d+ .*? was false\. ", "", text)  # file:line function condition
    if len(text) > 160:
        text = text[:160] + "…"
    path = getattr(engine, "path", None) or engine.info.path
    where = f" ({node.group(1)} node)" if node else ""
    return ModelError(f"{path}: the model failed on a {frame.shape[1]}x{frame.shape[0]} frame{where}: {text}")


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
                 crf: int = DEFAULT_CRF, progress: bool = True, workers: int = 1) -> Result:
    """Render one video; see the module docstring for what happens on Ctrl-C and truncation."""
    result = Result(str(job.src), str(job.dst), "video", workers=workers)
    reader = VideoReader(job.src)
    tmp = _temp_beside(job.dst)
    try:
        info = reader.info
        if min(info.width, info.height) < 32:
            raise InputError(f"{job.src}: {info.width}x{info.height} is too small; stylecam needs at least 32x32")
        out_h, out_w = check_output_size(job.src, info.width, info.height, processor.out_size)
        writer = VideoWriter(tmp, out_w, out_h, info.rate,
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
    result.seconds = time.perf_counter() - start
    result.model_ms = [sum(ms) for ms in zip(*(t.ms for t in timers))]
    complete = failure is None and not result.interrupted and not result.truncated
    kept, close_error = _finish(writer, tmp, job.dst, complete)
    result.frames = kept
    failure = failure or close_error
    if failure is not None:  # say in the one line what is kept
        if not isinstance(failure, StylecamError):
            raise failure  # a bug: keep its traceback (the frames done are kept all the same)
        msg = str(failure).replace(str(tmp), str(job.dst))
        if kept:
            msg = f"{msg}; kept {kept} frames in {job.dst}"
        elif writer.frames or isinstance(failure, OutputError):
            msg = f"{msg}; nothing was kept"
        raise type(failure)(msg) from None
    if not kept:
        if result.interrupted:
            raise KeyboardInterrupt
        raise InputError(f"{job.src}: no frame was rendered")
    return result


def _finish(writer: VideoWriter, tmp: Path, dst: Path, complete: bool) -> tuple[int, StylecamError | None]:
    """Close the encoder and move the file into place: (frames kept in ``dst``, the error
    closing raised). When closing fails (a full disk), the part already written is kept if
    it plays (its frames are counted), else removed: a message never claims a file that is gone."""
    close_error = None
    try:
        writer.close(rest_of_audio=complete)
        kept = writer.frames
    except StylecamError as exc:
        close_error = exc
        kept = count_frames(tmp) if writer.frames else 0
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if kept:
        try:
            os.replace(tmp, dst)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            return 0, close_error or OutputError(f"cannot write {dst}: {exc.strerror or exc}")
    else:
        tmp.unlink(missing_ok=True)
    return kept, close_error


def _read_image(path: Path, out_size=None) -> np.ndarray:
    """A picture as RGB, its size (and the output ``out_size`` makes of it) checked first
    from its header, then once decoded."""
    check_file(path)
    if (size := image_size(path)) is not None:
        check_output_size(path, *size, out_size)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    h, w = bgr.shape[:2]
    if min(h, w) < 32:
        raise InputError(f"{path}: {w}x{h} is too small; stylecam needs at least 32x32")
    check_output_size(path, w, h, out_size)
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
    _write_image(processor(_read_image(job.src, processor.out_size)), job.dst)
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
            _write_image(processor(_read_image(p, processor.out_size)), job.dst / p.name)
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
