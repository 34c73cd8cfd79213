"""stylecam-render keeps what a video is: its exact size (odd ones too) and its orientation."""

import av
import numpy as np
import pytest

from stylecam import render
from stylecam.testing import moving_frame, write_model
from stylecam.videoio import VideoWriter

TOL = 12


@pytest.fixture
def wave(isolated_catalog):
    write_model(isolated_catalog[0] / "wave.onnx", "invert", name="wave")


def decode(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)], (s.width, s.height), s.codec_context.pix_fmt


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_an_odd_size_is_kept_exactly(tmp_path, wave, capsys):
    src = tmp_path / "odd.mp4"
    with VideoWriter(src, 321, 241, 30, crash_safe=False, crf=10) as vw:
        for i in range(8):
            vw.write(moving_frame(i, 241, 321))
    assert render.main([str(src), "--style", "wave"]) == 0, capsys.readouterr().err
    frames, size, pix_fmt = decode(tmp_path / "odd_wave.mp4")
    assert size == (321, 241) and pix_fmt == "yuv444p" and len(frames) == 8  # was 322x242
    for i, f in enumerate(frames):
        assert mean_abs(f, 255 - moving_frame(i, 241, 321)) < TOL


def test_a_phone_clip_comes_out_upright(tmp_path, wave, capsys):
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("h264", rate=30)
        s.width, s.height, s.pix_fmt, s.options = 96, 64, "yuv420p", {"preset": "ultrafast", "crf": "10"}
        s.set_display_rotation(-90)  # ffprobe: "rotate=90", a phone held upright
        for i in range(6):
            for p in s.encode(av.VideoFrame.from_ndarray(moving_frame(i, 64, 96), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert render.main([str(src), "--style", "wave"]) == 0, capsys.readouterr().err
    frames, size, _ = decode(tmp_path / "phone_wave.mp4")
    assert size == (64, 96) and len(frames) == 6  # upright: was written sideways, 96x64
    with av.open(str(tmp_path / "phone_wave.mp4")) as c:
        assert next(c.decode(video=0)).rotation == 0  # upright pixels, no matrix left to apply
    for i, f in enumerate(frames):
        upright = np.rot90(moving_frame(i, 64, 96), -1)  # turned clockwise, as a player shows it
        assert mean_abs(f, 255 - upright) < TOL
