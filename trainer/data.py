"""Training pictures: a folder of photos (recursive) or frames sampled from a video.

Every picture is read once, scaled so its short side is ``size`` (what a crop of the
training size needs) and kept in memory as uint8. Unreadable files are skipped and
counted. A batch for step ``i`` depends only on (seed, i), so a resumed run sees exactly
the batches an uninterrupted one would have seen.

Super-resolution inputs are made as in the paper: Gaussian blur (sigma 1.0), then bicubic
downscaling by the scale factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from stylecam.errors import InputError, UsageError
from stylecam.frames import imresize
from stylecam.inputs import MAX_PIXELS, image_size

DEGRADATIONS = ("paper", "bicubic")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
MIN_SIZE = 32
MAX_VIDEO_FRAMES = 400
MAX_PICTURES = 1000  # a bigger folder (a whole Pictures library) is sampled evenly
MIN_DEFAULT_PICTURES = 8  # the Pictures folder is the default content only with at least this many


def read_image(path: str | Path) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB, or None when the file is not a readable picture (or one over
    ``stylecam.inputs.MAX_PIXELS``, refused from its header before it is decoded)."""
    size = image_size(path) if Path(path).is_file() else None
    if size and size[0] * size[1] > MAX_PIXELS:
        return None
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    if data is None or data.size == 0:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None or img.ndim != 3 or min(img.shape[:2]) < 1:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def fit_short_side(img: np.ndarray, short: int) -> np.ndarray:
    """Scale so the short side is ``short`` pixels (area filter down, bicubic up)."""
    h, w = img.shape[:2]
    k = short / min(h, w)
    if k == 1:
        return img
    size = (max(short, round(w * k)), max(short, round(h * k)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)


@dataclass
class ContentSet:
    """The content pictures in memory, each with short side ``size``."""

    images: list[np.ndarray]
    size: int
    source: str
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, step: int, batch: int, seed: int) -> torch.Tensor:
        """(B, 3, size, size) float RGB in [0, 1]: random pictures, crops and flips for ``step``."""
        rng = np.random.default_rng([seed, step])
        out = np.empty((batch, self.size, self.size, 3), np.uint8)
        for b in range(batch):
            img = self.images[rng.integers(len(self.images))]
            h, w = img.shape[:2]
            y = rng.integers(h - self.size + 1)
            x = rng.integers(w - self.size + 1)
            crop = img[y:y + self.size, x:x + self.size]
            out[b] = crop[:, ::-1] if rng.random() < 0.5 else crop
        return to_tensor(out)

    def fixed(self, count: int, seed: int = 1234) -> torch.Tensor:
        """Centre crops of ``count`` pictures picked once: the same ones for every preview."""
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(self.images), size=min(count, len(self.images)), replace=False)
        crops = []
        for i in sorted(pick):
            img = self.images[i]
            h, w = img.shape[:2]
            y, x = (h - self.size) // 2, (w - self.size) // 2
            crops.append(img[y:y + self.size, x:x + self.size])
        return to_tensor(np.stack(crops))


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float -> (B, H, W, 3) uint8, clamped and rounded."""
    return x.detach().float().clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def pictures_in(folder: Path, limit: int | None = None) -> list[Path]:
    """Picture files under ``folder`` (recursive), sorted; the first ``limit`` found when given."""
    found = []
    for p in folder.rglob("*"):
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            found.append(p)
            if limit is not None and len(found) >= limit:
                break
    return sorted(found)


def default_content(pictures: Path | None = None) -> tuple[Path, str]:
    """(content source, what it is) for a style run given no ``--content``: the user's Pictures
    folder when it holds at least ``MIN_DEFAULT_PICTURES`` pictures, else the demo photo that
    ships with stylecam (its crops; enough for a short run from another style's weights)."""
    import platformdirs

    folder = Path(pictures) if pictures is not None else Path(platformdirs.user_pictures_path())
    if folder.is_dir() and len(pictures_in(folder, MIN_DEFAULT_PICTURES)) >= MIN_DEFAULT_PICTURES:
        return folder, f"the pictures in {folder}"
    demo = Path(__file__).resolve().parent.parent / "stylecam" / "assets" / "demo.jpg"
    return demo, f"the demo photo only ({folder} has fewer than {MIN_DEFAULT_PICTURES} pictures)"


def load_content(source: str | Path, size: int) -> ContentSet:
    """Pictures from a folder (recursive) or a video file; short side scaled to ``size``."""
    if size < MIN_SIZE:
        raise UsageError(f"--size {size} is too small; use at least {MIN_SIZE}")
    source = Path(source)
    if source.is_dir():
        files = pictures_in(source)
        if not files:
            raise InputError(f"content folder {source} has no pictures ({', '.join(sorted(IMAGE_SUFFIXES))})")
        if len(files) > MAX_PICTURES:
            step = len(files) / MAX_PICTURES
            files = [files[int(i * step)] for i in range(MAX_PICTURES)]
        images, skipped = [], []
        for f in files:
            img = read_image(f)
            if img is None:
                skipped.append(str(f))
            else:
                images.append(fit_short_side(img, size))
        if not images:
            raise InputError(f"content folder {source}: none of its {len(files)} pictures could be read")
        return ContentSet(images, size, str(source), skipped)
    if source.is_file():
        if source.suffix.lower() in IMAGE_SUFFIXES:
            img = read_image(source)
            if img is None:
                raise InputError(f"content {source}: cannot read this picture")
            return ContentSet([fit_short_side(img, size)], size, str(source))
        return ContentSet(video_frames(source, size), size, str(source))
    raise InputError(f"content {source}: no such folder or file")


def video_frames(path: Path, size: int, limit: int = MAX_VIDEO_FRAMES) -> list[np.ndarray]:
    """Up to ``limit`` frames spread evenly over a video, short side scaled to ``size``."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"content {path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            total = stream.frames or 0
            every = max(1, total // limit) if total else 5  # unknown length: every 5th frame
            frames = []
            for i, frame in enumerate(container.decode(stream)):
                if i % every == 0:
                    frames.append(fit_short_side(frame.to_ndarray(format="rgb24"), size))
                    if len(frames) >= limit:
                        break
    except InputError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"content {path}: not a picture folder or a readable video ({exc.__class__.__name__})") from None
    if not frames:
        raise InputError(f"content {path}: the video has no frames that decode")
    return frames


def load_style(path: str | Path, style_size: int | None) -> torch.Tensor:
    """The painting as (1, 3, H, W) in [0, 1], long side ``style_size`` (None: as it is)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"painting {path}: no such file")
    img = read_image(path)
    if img is None:
        raise InputError(f"painting {path}: cannot read this picture")
    if min(img.shape[:2]) < MIN_SIZE:
        raise InputError(f"painting {path} is {img.shape[1]}x{img.shape[0]}; it needs at least "
                         f"{MIN_SIZE} pixels on each side")
    if style_size:
        h, w = img.shape[:2]
        k = style_size / max(h, w)
        size = (max(MIN_SIZE, round(w * k)), max(MIN_SIZE, round(h * k)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    return to_tensor(img[None])


def degrade(hr: torch.Tensor, scale: int, kind: str = "paper") -> torch.Tensor:
    """Low-resolution inputs for super-resolution.

    ``paper``: Gaussian blur sigma 1.0, then bicubic /scale (Johnson et al.).
    ``bicubic``: MATLAB-style antialiased bicubic /scale only, the Set5/Set14 benchmark
    protocol: a model for fidelity (PSNR) should learn the degradation it is measured on.
    """
    if kind not in DEGRADATIONS:
        raise UsageError(f"--degrade must be one of {', '.join(DEGRADATIONS)}, not '{kind}'")
    frames = to_uint8(hr)
    b, h, w, _ = frames.shape
    if h % scale or w % scale:
        raise UsageError(f"crop {w}x{h} is not a multiple of the scale {scale}")
    out = np.empty((b, h // scale, w // scale, 3), np.uint8)
    for i in range(b):
        if kind == "bicubic":
            out[i] = imresize(frames[i], 1.0 / scale)
        else:
            blurred = cv2.GaussianBlur(frames[i], (0, 0), sigmaX=1.0, sigmaY=1.0, borderType=cv2.BORDER_REFLECT)
            out[i] = cv2.resize(blurred, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC)
    return to_tensor(out)
