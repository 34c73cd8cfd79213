"""Video files in and out with PyAV: ``VideoWriter`` (H.264, crash-safe, audio copied) and
``VideoReader`` (threaded decode, RGB frames with their timestamps).

Errors of PyAV/FFmpeg are wrapped here into ``InputError``/``OutputError`` with one line.

Odd sizes: H.264 in 4:2:0 cannot carry an odd width or height (its crop is in steps of two
pixels), so padding came back one pixel bigger (321x241 -> 322x242) and cropping would lose a
row. A video of odd width or height is written in 4:4:4 instead (H.264 High 4:4:4 Predictive,
one chroma sample per pixel): the exact size is kept, at ~1.5x the bits of 4:2:0, and FFmpeg,
VLC and mpv play it, browsers and QuickTime do not. Even sizes stay 4:2:0, which plays anywhere.

Rotation: a phone clip carries a display matrix (``rotate=90``) instead of upright pixels;
``VideoReader`` turns the frames upright (``VideoInfo.rotation``) and its width and height are
those of the upright picture, so the render writes an upright video with no matrix.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from .errors import InputError, OutputError, TruncatedInputError

# Fragmented MP4: the moov header is written first and every fragment stands alone, so a
# writer killed with SIGKILL still leaves a file that plays up to its last fragment.
# frag_duration (µs) bounds what a kill can lose even when keyframes are far apart.
_CRASH_SAFE_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof",
                   "frag_duration": "1000000", "flush_packets": "1"}
# Matroska buffers a whole cluster (up to 5 s) in memory; cut them at 1 s so a kill loses
# little, and flush every packet to the file.
_CRASH_SAFE_MKV = {"cluster_time_limit": "1000", "flush_packets": "1"}
_MP4_LIKE = {".mp4", ".m4v", ".mov"}
_BT601, _LIMITED_RANGE = 6, 1  # AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG: what OpenCV's I420 is


def _av_message(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _is_disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


class VideoWriter:
    """Encode RGB frames to an H.264 file; optionally copy the audio of another file.

    ``rate`` is the nominal frame rate; ``time_base`` the unit of ``pts`` given to
    ``write`` (default ``1 / rate``, so pts are frame indices). With ``pts=None`` a frame
    gets the next frame index. A pts not after the previous one is moved one tick after it
    (encoders need strictly increasing pts). ``crash_safe`` writes MP4 as fragmented MP4
    and MKV in 1 s clusters, flushed as they go, so a killed writer leaves a playable file
    (fragmented MP4 starts at the encoder's B-frame delay, as it cannot carry an edit list). ``audio_from``: a path whose audio streams are copied
    packet by packet (no re-encode), interleaved as the video advances.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, rate: Fraction | int | float,
                 *, time_base: Fraction | None = None, codec: str = "h264", preset: str = "veryfast",
                 crf: int = 20, crash_safe: bool = True, audio_from: str | os.PathLike | None = None):
        self.path = Path(path)
        if width < 2 or height < 2:
            raise OutputError(f"{self.path}: cannot write a {width}x{height} video")
        self.width, self.height = int(width), int(height)
        self.rate = Fraction(rate).limit_denominator(1_000_000)
        self.time_base = Fraction(time_base) if time_base is not None else 1 / self.rate
        self.stream_size = (self.width, self.height)
        self.pix_fmt = "yuv444p" if self.width % 2 or self.height % 2 else "yuv420p"  # see the module docstring
        self.frames = 0
        self._last_pts: int | None = None
        self._closed = False
        self._failed: OutputError | None = None  # the error a write raised: the file cannot be finished
        self._audio: _AudioCopier | None = None
        options = {}
        if crash_safe and self.path.suffix.lower() in _MP4_LIKE:
            options = dict(_CRASH_SAFE_MP4)
        elif crash_safe and self.path.suffix.lower() in (".mkv", ".webm"):
            options = dict(_CRASH_SAFE_MKV)
        try:
            self._out = av.open(str(self.path), "w", container_options=options)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise OutputError(f"cannot write {self.path}: {_av_message(exc)}") from None
        try:
            self._stream = self._out.add_stream(codec, rate=self.rate)
            self._stream.width, self._stream.height = self.stream_size
            self._stream.pix_fmt = self.pix_fmt
            cc = self._stream.codec_context
            # say which matrix made the YUV, so players do not guess BT.709 for HD sizes
            cc.colorspace, cc.color_range = _BT601, _LIMITED_RANGE
            self._stream.time_base = self.time_base
            self._stream.codec_context.time_base = self.time_base
            if codec in ("h264", "libx264"):
                self._stream.options = {"preset": preset, "crf": str(crf)}
            if audio_from is not None:
                self._audio = _AudioCopier(audio_from, self._out)
        except BaseException as exc:
            self._abort()
            if isinstance(exc, (av.FFmpegError, ValueError)):
                raise OutputError(f"cannot write {self.path}: {_av_message(exc)}") from None
            raise

    @property
    def audio_streams(self) -> int:
        """How many audio streams are being copied."""
        return len(self._audio.pairs) if self._audio else 0

    def write(self, frame_rgb: np.ndarray, pts: int | None = None) -> None:
        """Encode one (height, width, 3) uint8 RGB frame at ``pts`` (time_base units)."""
        if self._closed:
            raise OutputError(f"{self.path}: the writer is closed")
        if frame_rgb.shape != (self.height, self.width, 3) or frame_rgb.dtype != np.uint8:
            raise OutputError(f"{self.path}: frame is {_size_text(frame_rgb)} but the video is "
                              f"{self.width}x{self.height} uint8 RGB")
        if pts is None:
            pts = round(self.frames / self.rate / self.time_base)
        pts = int(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        if self.pix_fmt == "yuv420p":
            # RGB -> YUV 4:2:0 (BT.601, limited range, as the stream is tagged) in OpenCV: about
            # 0.4 ms at 1280x720 against ~10 ms for FFmpeg's swscale doing it inside encode()
            yuv = cv2.cvtColor(np.ascontiguousarray(frame_rgb), cv2.COLOR_RGB2YUV_I420)
            vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:  # odd sizes, 4:4:4: swscale, told the same matrix and range
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24").reformat(
                format="yuv444p", dst_colorspace="ITU601", dst_color_range="MPEG")
        vf.pts, vf.time_base = pts, self.time_base
        try:
            for packet in self._stream.encode(vf):
                self._out.mux(packet)
            if self._audio is not None:
                # audio up to this frame's time, so the two stay interleaved in the file
                self._audio.copy_until(float((pts + 1 / self.rate / self.time_base) * self.time_base))
        except (av.FFmpegError, OSError) as exc:
            self._failed = self._write_error(exc)
            raise self._failed from None
        self._last_pts = pts
        self.frames += 1

    def close(self, *, rest_of_audio: bool = True) -> None:
        """Flush the encoder and finish the file (idempotent).

        ``rest_of_audio=False`` copies audio only up to the end of the last frame (for a
        render that was interrupted); by default the rest of the audio is copied too.
        """
        if self._closed:
            return
        if self._failed is not None:
            # a muxer that failed once is not asked to mux again: after a header that could
            # not be written, FFmpeg crashes (SIGSEGV) on the next packet
            self._abort()
            raise OutputError(str(self._failed))
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._out.mux(packet)
            if self._audio is not None:
                end = None if rest_of_audio else float(
                    ((self._last_pts or 0) + 1 / self.rate / self.time_base) * self.time_base)
                self._audio.copy_until(end)
            self._out.close()
        except (av.FFmpegError, OSError) as exc:
            err = self._write_error(exc)
            self._abort()
            raise err from None
        finally:
            if self._audio is not None:
                self._audio.close()

    def _write_error(self, exc: BaseException) -> OutputError:
        if _is_disk_full(exc):
            return OutputError(f"disk full writing {self.path}")  # what is kept, the caller checks
        return OutputError(f"cannot write {self.path}: {_av_message(exc)}")

    def _abort(self) -> None:
        self._closed = True
        try:
            self._out.close()
        except Exception:  # already failing; the first error is the one to report
            pass
        if self._audio is not None:
            self._audio.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        if self._failed is not None:  # already raised once, on its way out now
            self._abort()
        else:
            self.close()


def _size_text(a: np.ndarray) -> str:
    if a.ndim == 3:
        return f"{a.shape[1]}x{a.shape[0]}x{a.shape[2]} {a.dtype}"
    return f"{a.shape} {a.dtype}"


class _AudioCopier:
    """Remux the audio packets of a file into an output container, without re-encoding."""

    def __init__(self, path: str | os.PathLike, out) -> None:
        try:
            self._in = av.open(str(path))
        except (av.FFmpegError, OSError) as exc:
            raise InputError(f"{path}: cannot read its audio: {_av_message(exc)}") from None
        self.pairs = {}
        for s in self._in.streams.audio:
            try:
                self.pairs[s.index] = out.add_stream_from_template(s)
            except (av.FFmpegError, ValueError) as exc:
                self._in.close()
                raise OutputError(f"cannot copy audio stream #{s.index} ({s.codec_context.name}) "
                                  f"into {Path(out.name).suffix or 'this file'}: {_av_message(exc)}") from None
        self._out = out
        self._packets = self._in.demux(*self._in.streams.audio) if self.pairs else iter(())
        self._held = None  # a packet read ahead of the video, muxed later
        self._done = not self.pairs

    def copy_until(self, seconds: float | None) -> None:
        """Mux audio packets that start before ``seconds`` (None: all that are left)."""
        while not self._done:
            packet = self._held
            self._held = None
            if packet is None:
                try:
                    packet = next(self._packets)
                except StopIteration:
                    self._done = True
                    return
                except av.FFmpegError:  # a truncated input: keep what was read
                    self._done = True
                    return
            if packet.dts is None or packet.size == 0:
                continue  # the demuxer's flush packet
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base >= seconds:
                self._held = packet
                return
            packet.stream = self.pairs[packet.stream.index]
            self._out.mux(packet)

    def close(self) -> None:
        self._in.close()


def count_frames(path: str | os.PathLike) -> int:
    """Video frames a file really holds (packets of its first video stream, not decoded);
    0 when it is missing, unreadable or has none. What a writer that failed left behind."""
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return 0
        with av.open(str(p)) as c:
            if not c.streams.video:
                return 0
            n = 0
            try:
                for packet in c.demux(c.streams.video[0]):
                    n += packet.size > 0
            except (av.FFmpegError, OSError):  # cut off mid-packet: what came before counts
                pass
            return n
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return 0


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself before decoding."""

    path: Path
    width: int
    height: int
    rate: Fraction  # average frame rate
    time_base: Fraction  # unit of the frames' pts
    frames: int  # frame count from the header; 0 when the container does not say
    duration: float | None  # seconds of the video stream, when the container says
    audio_streams: int
    rotation: int = 0  # degrees counter-clockwise the stored frames are turned to stand upright


class VideoReader:
    """Decode the first video stream of a file to RGB frames, on FFmpeg's own threads.

    Iterating yields ``(rgb, pts, time_base)``; ``rgb`` is (H, W, 3) uint8, upright (the
    display matrix applied; ``info`` gives the upright size). When the file
    ends before its header says (or breaks off with a decode error), the frames that
    decoded are yielded and then ``TruncatedInputError`` is raised ("ended early at frame
    N"); ``truncated`` and ``decoded`` say the same afterwards.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        p = self.path
        if not p.exists():
            raise InputError(f"{p}: no such file")
        if p.is_dir():
            raise InputError(f"{p}: is a folder, not a video")
        if p.stat().st_size == 0:
            raise InputError(f"{p}: the file is empty")
        try:
            self._in = av.open(str(p))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: not a video file FFmpeg can read ({_av_message(exc)})") from None
        if not self._in.streams.video:
            audio = bool(self._in.streams.audio)
            self._in.close()
            raise InputError(f"{p}: has no video stream" + (" (audio only)" if audio else ""))
        self._stream = s = self._in.streams.video[0]
        s.thread_type = "AUTO"  # frame + slice threads inside FFmpeg
        rate = s.average_rate or s.guessed_rate or Fraction(30)
        tb = s.time_base or 1 / Fraction(rate)
        # the display matrix comes with the decoded frames: the first one is decoded now
        self._frames = self._in.decode(s)
        self._first, self._first_error = None, None
        try:
            self._first = next(self._frames)
        except StopIteration:
            pass
        except (av.FFmpegError, OSError) as exc:
            self._first_error = exc
        self._turns = round((self._first.rotation if self._first is not None else 0) / 90) % 4
        w, h = s.codec_context.width, s.codec_context.height
        self.info = VideoInfo(path=p, width=h if self._turns % 2 else w, height=w if self._turns % 2 else h,
                              rate=Fraction(rate), time_base=Fraction(tb), frames=int(s.frames or 0),
                              duration=_stream_seconds(s), audio_streams=len(self._in.streams.audio),
                              rotation=90 * self._turns)
        self.decoded = 0
        self.truncated = False

    def _decoded_frames(self):
        if self._first_error is not None:
            raise self._first_error
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        yield from self._frames

    def __iter__(self) -> Iterator[tuple[np.ndarray, int, Fraction]]:
        info = self.info
        step = 1 / info.rate / info.time_base  # one frame in pts units
        last_end = 0.0
        broke = False
        try:
            for frame in self._decoded_frames():
                pts = frame.pts if frame.pts is not None else round(self.decoded * step)
                rgb = frame.to_ndarray(format="rgb24")
                if self._turns:  # upright, as a player shows it
                    rgb = np.ascontiguousarray(np.rot90(rgb, self._turns))
                self.decoded += 1
                last_end = float((pts + step) * info.time_base)
                yield rgb, int(pts), info.time_base
        except (av.FFmpegError, OSError) as exc:
            if self.decoded == 0:
                raise InputError(f"{self.path}: no frame could be decoded ({_av_message(exc)})") from None
            broke = True
        if self.decoded == 0:
            raise InputError(f"{self.path}: no frame could be decoded")
        short = info.frames and self.decoded < info.frames
        early = info.duration is not None and last_end < info.duration - 1.5 / float(info.rate)
        if broke or short or early:
            self.truncated = True
            raise TruncatedInputError(f"{self.path}: input ended early at frame {self.decoded}"
                                      + (f" of {info.frames}" if info.frames else ""))

    def close(self) -> None:
        self._in.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stream_seconds(stream) -> float | None:
    """The video stream's own duration: the header's, or Matroska's per-track DURATION tag."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            return None
    return None
