"""Live frame sources: webcam (OpenCV), video file (PyAV, loops), still image, the demo
pan across a picture, and a synthetic source for tests.

A source hands out (H, W, 3) uint8 RGB frames from ``read()``; ``None`` means it ended.
It raises ``SourceError`` when it fails (camera missing or unplugged, unreadable file).
``rate`` is the pace a capture loop should keep (frames per second), or ``None`` when the
device paces itself (a webcam blocks until its next frame).
"""

from __future__ import annotations

import math
import os
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError, SourceError
from .inputs import check_file, check_pixels, image_size
from .models import builtin_dir
from .testing import moving_frame, test_frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
DEFAULT_RATE = Fraction(30)
DEMO_PICTURE = "demo.jpg"


class Source:
    """Base of every source."""

    name = "source"
    rate: Fraction | None = DEFAULT_RATE
    live = False  # a live device: after a failure, retry instead of giving up

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def reopen(self) -> None:
        """Try to get going again after a failure (live sources)."""

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class SyntheticSource(Source):
    """A moving square on a gradient; ends after ``frames`` (if given), fails at ``fail_at``."""

    def __init__(self, width: int = 640, height: int = 480, rate=DEFAULT_RATE,
                 frames: int | None = None, fail_at: int | None = None):
        self.width, self.height = width, height
        self.rate = Fraction(rate) if rate else None
        self.frames, self.fail_at = frames, fail_at
        self.name = f"synthetic {width}x{height}"
        self._i = 0

    def read(self) -> np.ndarray | None:
        if self.fail_at is not None and self._i >= self.fail_at:
            raise SourceError(f"{self.name}: failed at frame {self._i} (as asked)")
        if self.frames is not None and self._i >= self.frames:
            return None
        frame = moving_frame(self._i, self.height, self.width)
        self._i += 1
        return frame


class ImageSource(Source):
    """One picture, shown again and again."""

    def __init__(self, path: str | os.PathLike, rate=DEFAULT_RATE):
        self.path = Path(path)
        self.name = self.path.name
        self.rate = Fraction(rate)
        self.frame = read_image(self.path)
        self.frame.flags.writeable = False  # handed out many times: nobody may paint on it

    def read(self) -> np.ndarray:
        return self.frame


class DemoSource(Source):
    """A slow pan and zoom across the demo picture in assets/ (the no-camera fallback)."""

    def __init__(self, width: int = 640, height: int = 480, rate=DEFAULT_RATE,
                 picture: str | os.PathLike | None = None):
        self.width, self.height = width, height
        self.rate = Fraction(rate)
        self.name = "demo"
        path = Path(picture) if picture else demo_picture()
        self.picture = read_image(path) if path else test_frame(720, 960)
        self._i = 0

    def read(self) -> np.ndarray:
        ph, pw = self.picture.shape[:2]
        t = self._i / float(self.rate)
        self._i += 1
        # The crop keeps the output's aspect; it breathes between 55% and 80% of the
        # picture and drifts on a slow Lissajous path, so the whole picture gets visited.
        k = 0.675 + 0.125 * math.cos(t * 2 * math.pi / 17)  # starts wide
        cw = min(pw, ph * self.width / self.height) * k
        ch = cw * self.height / self.width
        cx = (pw - cw) * (0.5 + 0.5 * math.sin(t * 2 * math.pi / 23))
        cy = (ph - ch) * (0.5 - 0.5 * math.cos(t * 2 * math.pi / 31))  # starts at the top
        sx, sy = self.width / cw, self.height / ch
        m = np.float32([[sx, 0, -cx * sx], [0, sy, -cy * sy]])
        return cv2.warpAffine(self.picture, m, (self.width, self.height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)


class VideoSource(Source):
    """A video file decoded with PyAV; loops at its end unless ``loop=False``."""

    def __init__(self, path: str | os.PathLike, loop: bool = True):
        import av

        self.path = Path(path)
        self.name = self.path.name
        self.loop = loop
        check_file(self.path)  # a folder, a pipe (av.open would wait for a writer), empty
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path}: cannot open it as video ({_first_line(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.rate = Fraction(rate) if rate else DEFAULT_RATE
        self._frames = self._container.decode(self._stream)
        self._decoded = 0

    def read(self) -> np.ndarray | None:
        import av

        for attempt in range(2):
            try:
                frame = next(self._frames)
                self._decoded += 1
                rgb = frame.to_ndarray(format="rgb24")
                turns = round(frame.rotation / 90) % 4  # a phone clip's display matrix: upright
                return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
            except StopIteration:
                if not self.loop or self._decoded == 0 or attempt:
                    return None
                self._container.seek(0)
                self._frames = self._container.decode(self._stream)
                self._decoded = 0
            except av.FFmpegError as exc:
                raise SourceError(f"{self.name}: cannot decode it ({_first_line(exc)})") from None
        return None

    def close(self) -> None:
        self._container.close()


class WebcamSource(Source):
    """A camera through OpenCV. Opening is lazy, so a missing camera fails in ``read()``
    (where the capture loop reports it and retries) rather than in the constructor."""

    rate = None
    live = True

    def __init__(self, index: int):
        self.index = index
        self.name = f"camera {index}"
        self._cap = None

    def _open(self) -> None:
        # OpenCV prints two [ WARN ] lines for every camera it cannot open, and the capture
        # loop retries every 3 s: on Linux an absent /dev/videoN is not asked about at all,
        # and OpenCV's own log is kept to errors while it tries.
        if sys.platform.startswith("linux") and not Path(f"/dev/video{self.index}").exists():
            raise SourceError(f"no camera at index {self.index}")
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            cap = cv2.VideoCapture(self.index, _backend())
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"no camera at index {self.index}")
        self._cap = cap

    def read(self) -> np.ndarray:
        if self._cap is None:
            self._open()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self.close()
            raise SourceError(f"{self.name} stopped sending frames (unplugged?)")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _backend() -> int:
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def probe_webcams(indices=range(4)) -> int | None:
    """The first camera index that opens and gives a frame, else None (quick, quiet)."""
    for i in indices:
        # On Linux a camera is a /dev/videoN node; asking OpenCV about absent ones is slow
        # and noisy, so skip them.
        if sys.platform.startswith("linux") and not Path(f"/dev/video{i}").exists():
            continue
        cam = WebcamSource(i)
        try:
            if cam.read() is not None:
                return i
        except SourceError:
            pass
        finally:
            cam.close()
    return None


def demo_picture() -> Path | None:
    """The demo picture: built-in assets first, then the repository's assets/."""
    for folder in (builtin_dir(), Path(__file__).resolve().parent.parent / "assets"):
        if (folder / DEMO_PICTURE).is_file():
            return folder / DEMO_PICTURE
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A picture file as (H, W, 3) uint8 RGB."""
    path = check_file(path)
    if (size := image_size(path)) is not None:
        check_pixels(path, *size)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: cannot read it as a picture")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def open_source(spec: str | int | None, loop: bool = True) -> tuple[Source, str]:
    """A source from what a user typed; returns (source, note for the status bar).

    ``None``: the first working webcam, else the demo. An integer (or digits): that camera.
    ``"demo"`` / ``"synthetic"``: the built-in ones. Otherwise a picture or video file.
    """
    if spec is None:
        index = probe_webcams()
        if index is None:
            return DemoSource(), "no camera found; showing the demo (open a video or picture with --source)"
        return WebcamSource(index), f"camera {index}"
    text = str(spec).strip()
    if text.isdigit():
        return WebcamSource(int(text)), f"camera {text}"
    if text == "demo":
        return DemoSource(), "demo"
    if text == "synthetic":
        return SyntheticSource(), "synthetic"
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path), path.name
    return VideoSource(path, loop=loop), path.name


def _first_line(exc: Exception) -> str:
    """FFmpeg's words without PyAV's "[Errno 1094995529]" and file name around them."""
    text = getattr(exc, "strerror", None) or str(exc).strip()
    return str(text).splitlines()[0] if text else type(exc).__name__
