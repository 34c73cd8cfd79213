"""stylecam-render, first step: what each input is and where its result goes.

``plan_job`` checks one input and works out its output before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .blend import Blend
from .errors import InputError, OutputError, UsageError
from .inputs import MAX_PIXELS, check_file, check_pixels, image_size
from .models import ModelInfo

IMAGE_EXTS = (".png", ".jpg", ".jpeg")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".m4v")


@dataclass
class Job:
    """One input and where its result goes."""

    kind: str  # "video" | "image" | "folder"
    src: Path
    dst: Path


def _tag(style: ModelInfo | Blend | None, sr: ModelInfo | None) -> str:
    """What a default output name carries: ``wave``, ``wave-starry_night`` (a blend), ``x4``."""
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


OutSize = Callable[[int, int], tuple[int, int]]  # (height, width) in -> out, e.g. Processor.out_size


def check_output_size(path, width: int, height: int, out_size: OutSize | None) -> tuple[int, int]:
    """(height, width) of the output for a ``width`` x ``height`` input, checked before any
    decoding: ``InputError`` past ``inputs.MAX_PIXELS`` (the input, or the output an upscale
    makes), ``UsageError`` for a size that cannot be made (``frames.plan_sizes``)."""
    check_pixels(path, width, height)
    if out_size is None:
        return height, width
    try:
        oh, ow = out_size(height, width)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if oh * ow > MAX_PIXELS and oh * ow > width * height:
        k = ow / width
        raise InputError(f"{path}: {width}x{height} x{k:g} would be {ow}x{oh}, {ow * oh / 1e6:.0f} megapixels; "
                         f"stylecam makes at most {MAX_PIXELS / 1e6:.0f}: scale it down first")
    return oh, ow


def plan_job(src: Path, output: str | None, several: bool, tag: str, overwrite: bool,
             out_size: OutSize | None = None) -> Job:
    """Check one input and work out its output; raises before anything is written.

    A picture over ``inputs.MAX_PIXELS`` (or whose output ``out_size`` would be) is refused
    from its header, before it is decoded.
    """
    if not src.exists():
        raise InputError(f"{src}: no such file or folder")
    kind = _kind_of(src)
    if kind != "folder":
        check_file(src)  # a pipe, a device or an empty file
    if kind == "image" and (size := image_size(src)) is not None:
        check_output_size(src, *size, out_size)
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
