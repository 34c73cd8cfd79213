"""Checks on an input path before anything reads it, shared by the render, the window's
sources and the trainer: each problem is one true line (``InputError``).

``check_file`` tells a missing path, a folder, a pipe or device (which would block a reader,
or never end) and an empty file apart. ``image_size`` reads a PNG's or JPEG's size from its
header, so a picture too big to process is refused before it is decoded (``check_pixels``).
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

from .errors import InputError

# The fast style net needs about 110 bytes a pixel at full size (1.4 GB for a 4000x3000
# picture, measured with /usr/bin/time on stylecam-render); 50 megapixels is then ~5.5 GB,
# about what a desktop can give. Pillow refuses 179 MP pictures as decompression bombs.
MAX_PIXELS = 50_000_000


def check_file(path: str | os.PathLike, label: str = "") -> Path:
    """``path`` if it is a regular, non-empty file; else ``InputError`` saying what it is.

    ``label`` goes before the path in the message (e.g. ``"painting "``).
    """
    p = Path(path)
    where = f"{label}{p}"
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{where}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{where}: is not a regular file ({_kind(st.st_mode)}); give a file")
    if st.st_size == 0:
        raise InputError(f"{where}: the file is empty")
    if not os.access(p, os.R_OK):
        raise InputError(f"{where}: cannot read it (Permission denied)")
    return p


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, or None when it is neither (or cut short)."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:2] != b"\xff\xd8":
                return None
            f.seek(2)
            while True:  # JPEG: walk the marker segments to the frame header (SOFn)
                marker = f.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    return None
                while marker[1] == 0xFF:  # fill bytes
                    marker = marker[1:] + f.read(1)
                code = marker[1]
                if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:  # markers without a length
                    continue
                size = f.read(2)
                if len(size) < 2:
                    return None
                length = struct.unpack(">H", size)[0]
                if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
                    sof = f.read(5)
                    if len(sof) < 5:
                        return None
                    height, width = struct.unpack(">HH", sof[1:5])
                    return width, height
                f.seek(length - 2, os.SEEK_CUR)
    except OSError:
        return None


def check_pixels(path: str | os.PathLike, width: int, height: int, scale: int = 1) -> None:
    """``InputError`` when a ``width`` x ``height`` input (times ``scale``, an upscale) is
    more than ``MAX_PIXELS``: refused before it is decoded, not after minutes and gigabytes."""
    mp = MAX_PIXELS / 1e6
    if width * height > MAX_PIXELS:
        raise InputError(f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels; stylecam takes "
                         f"at most {mp:.0f} (about 110 bytes a pixel in the model): scale it down first")
    if scale > 1 and width * height * scale * scale > MAX_PIXELS:
        raise InputError(f"{path}: {width}x{height} x{scale} would be {width * scale}x{height * scale}, "
                         f"{width * height * scale * scale / 1e6:.0f} megapixels; stylecam makes at most "
                         f"{mp:.0f}: scale it down first")
