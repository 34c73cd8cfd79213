"""VideoWriter and VideoReader on real files written and read back with PyAV."""

import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction

import av
import numpy as np
import pytest

from stylecam.errors import InputError, OutputError, TruncatedInputError
from stylecam.testing import make_audio_only, make_clip, moving_frame
from stylecam.videoio import VideoReader, VideoWriter, count_frames

RATE = Fraction(30000, 1001)


def decode(path):
    """Every frame that decodes, as a player would show them (a cut-off tail is dropped)."""
    got = []
    with av.open(str(path)) as c:
        try:
            for f in c.decode(video=0):
                got.append((f.to_ndarray(format="rgb24"), f.pts))
        except (av.EOFError, av.InvalidDataError):
            assert got, "not one frame decoded"
    return got


# yuv420p alone costs ~8 on these noisy frames; a colour swap costs ~44, an inversion ~120
TOL = 12


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
@pytest.mark.parametrize("h, w, pix_fmt", [(65, 97, "yuv444p"), (241, 321, "yuv444p"), (66, 97, "yuv444p"),
                                           (66, 98, "yuv420p")])
def test_writer_round_trip_keeps_the_exact_size_pixels_rate_and_pts(tmp_path, suffix, h, w, pix_fmt):
    # odd sizes were padded to the next even one (321x241 came out 322x242); now 4:4:4
    path = tmp_path / f"out{suffix}"
    with VideoWriter(path, w, h, RATE, time_base=Fraction(1, 30000), crash_safe=False, crf=12) as vw:
        for i in range(12):
            vw.write(moving_frame(i, h, w), pts=i * 1001)
    assert vw.stream_size == (w, h)
    got = decode(path)
    assert len(got) == 12
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert (s.width, s.height, s.average_rate, s.codec_context.pix_fmt) == (w, h, RATE, pix_fmt)
        tb = s.time_base
    # timestamps survive, to the precision of the container's time base (MKV: 1 ms)
    for i, (_, pts) in enumerate(got):
        assert abs(pts * tb - Fraction(i * 1001, 30000)) <= tb / 2
    for i, (rgb, _) in enumerate(got):
        assert rgb.shape == (h, w, 3)
        assert mean_abs(rgb, moving_frame(i, h, w)) < TOL
        assert mean_abs(rgb, 255 - moving_frame(i, h, w)) > 5 * TOL  # the picture, not any picture


def test_writer_default_pts_are_frame_indices_and_close_is_idempotent(tmp_path):
    path = tmp_path / "idx.mp4"
    vw = VideoWriter(path, 64, 48, 25, crash_safe=False)
    for i in range(5):
        vw.write(moving_frame(i, 48, 64))
    vw.close()
    vw.close()
    with av.open(str(path)) as c:
        tb = c.streams.video[0].time_base
        assert [f.pts * tb for f in c.decode(video=0)] == [Fraction(i, 25) for i in range(5)]
    with pytest.raises(OutputError):
        vw.write(moving_frame(0, 48, 64))


def test_writer_refuses_a_frame_of_another_size(tmp_path):
    with VideoWriter(tmp_path / "x.mkv", 64, 48, 25) as vw:
        with pytest.raises(OutputError) as e:
            vw.write(moving_frame(0, 48, 66))
    assert str(e.value) == f"{tmp_path / 'x.mkv'}: frame is 66x48x3 uint8 but the video is 64x48 uint8 RGB"


def test_writer_copies_audio_untouched(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=30, width=96, height=64)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 96, 64, RATE, crash_safe=False, audio_from=src) as vw:
        assert vw.audio_streams == 1
        for i in range(30):
            vw.write(moving_frame(i, 64, 96))
    with av.open(str(src)) as a, av.open(str(out)) as b:
        sa, sb = a.streams.audio[0], b.streams.audio[0]
        assert sb.codec_context.name == "aac" and sb.sample_rate == sa.sample_rate
        assert sb.duration * sb.time_base == sa.duration * sa.time_base
        pa = [bytes(p) for p in a.demux(sa) if p.size]
        pb = [bytes(p) for p in b.demux(sb) if p.size]
    assert pa == pb  # same packets: remuxed, not re-encoded


def test_disk_full_is_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    path = tmp_path / "full.mkv"
    path.symlink_to("/dev/full")
    with pytest.raises(OutputError) as e:
        with VideoWriter(path, 64, 48, 25) as vw:
            for i in range(200):
                vw.write(moving_frame(i, 48, 64))
    # the writer cannot know what reached the disk: it says what happened, the caller
    # counts what the file holds (count_frames: nothing, here)
    assert str(e.value) == f"disk full writing {path}"
    assert count_frames(path) == 0


KILLED_WRITER = textwrap.dedent("""
    import sys
    from stylecam.testing import moving_frame
    from stylecam.videoio import VideoWriter
    vw = VideoWriter(sys.argv[1], 96, 64, 30)
    i = 0
    while True:
        vw.write(moving_frame(i, 64, 96))
        i += 1
        print(i, flush=True)
""")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_crash_safe_file_survives_sigkill(tmp_path, suffix):
    path = tmp_path / f"killed{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait for progress, not for a guessed time
            if int(line) >= 75:  # 2.5 s of video: at least two 1 s fragments are out
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    frames = decode(path)
    assert len(frames) >= 30
    assert mean_abs(frames[0][0], moving_frame(0, 64, 96)) < TOL


def test_reader_yields_rgb_pts_and_info(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=20, width=98, height=66)
    with VideoReader(src) as r:
        info = r.info
        got = list(r)
    assert (info.width, info.height, info.rate, info.frames, info.audio_streams) == (98, 66, RATE, 20, 1)
    assert len(got) == 20 and not r.truncated
    rgb, pts, tb = got[7]
    assert rgb.shape == (66, 98, 3) and rgb.dtype == np.uint8
    assert pts * tb == Fraction(7 * 1001, 30000)
    assert mean_abs(rgb, moving_frame(7, 66, 98)) < TOL


def test_reader_bad_inputs(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    audio = make_audio_only(tmp_path / "sound.m4a")
    cases = {
        tmp_path / "missing.mp4": f"{tmp_path / 'missing.mp4'}: no such file",
        empty: f"{empty}: the file is empty",
        audio: f"{audio}: has no video stream (audio only)",
    }
    for path, message in cases.items():
        with pytest.raises(InputError) as e:
            VideoReader(path)
        assert str(e.value) == message
    with pytest.raises(InputError) as e:
        VideoReader(text)
    assert str(e.value).startswith(f"{text}: not a video file FFmpeg can read (")


def test_truncated_input_yields_what_decodes_then_says_so(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=60, width=96, height=64)
    cut = tmp_path / "cut.mkv"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    r = VideoReader(cut)
    got = []
    with pytest.raises(TruncatedInputError) as e:
        for item in r:
            got.append(item)
    r.close()
    assert 10 < len(got) < 60 and r.truncated and r.decoded == len(got)
    assert str(e.value) == f"{cut}: input ended early at frame {len(got)}"


def _turned_clip(path, degrees, frames=6, h=64, w=96):
    """A clip stored sideways with a display matrix, as a phone writes it; its top-left
    corner red, so where it lands shows the turn."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("h264", rate=30)
        s.width, s.height, s.pix_fmt, s.options = w, h, "yuv420p", {"preset": "ultrafast", "crf": "10"}
        s.set_display_rotation(degrees)  # counter-clockwise, as VideoFrame.rotation reads it back
        for i in range(frames):
            f = moving_frame(i, h, w)
            f[:16, :16] = (255, 0, 0)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.mark.parametrize("degrees, size, red_corner", [
    (0, (96, 64), (0, 0)), (90, (64, 96), (95, 0)), (-90, (64, 96), (0, 63)), (180, (96, 64), (63, 95))])
def test_reader_turns_a_phone_clip_upright(tmp_path, degrees, size, red_corner):
    # (the display matrix turns the stored picture counter-clockwise: 90 puts its top-left
    # corner at the bottom-left, -90 (a phone's "rotate=90") at the top-right)
    path = _turned_clip(tmp_path / "phone.mp4", degrees)
    with VideoReader(path) as r:
        assert (r.info.width, r.info.height, r.info.rotation) == (*size, degrees % 360)
        frames = [rgb for rgb, _, _ in r]
    assert len(frames) == 6
    want = np.rot90(moving_frame(0, 64, 96), round(degrees / 90) % 4)
    assert frames[0].shape == (size[1], size[0], 3) and mean_abs(frames[0][16:-16, 16:-16], want[16:-16, 16:-16]) < TOL
    y, x = red_corner
    assert tuple(frames[0][y, x]) > (200, 0, 0) and frames[0][y, x, 1] < 60  # red where the turn puts it
