"""Frame sources: files made in code, read back; errors word for word."""

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecam.errors import InputError, SourceError
from stylecam.sources import (DemoSource, ImageSource, SyntheticSource, VideoSource, WebcamSource,
                              open_source, probe_webcams)
from stylecam.testing import make_clip, test_frame


def test_video_loops_at_the_file_rate(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", frames=5, width=96, height=64)
    src, note = open_source(str(clip))
    assert isinstance(src, VideoSource) and note == "c.mp4"
    assert src.rate == Fraction(30000, 1001)
    frames = [src.read() for _ in range(12)]
    assert all(f is not None and f.shape == (64, 96, 3) for f in frames)
    assert np.array_equal(frames[0], frames[5])  # the loop starts again at the first frame
    src.close()


def test_video_without_loop_ends(tmp_path):
    src = VideoSource(make_clip(tmp_path / "c.mp4", frames=5), loop=False)
    assert [src.read() is None for _ in range(6)] == [False] * 5 + [True]


def test_bad_files_are_input_errors(tmp_path):
    with pytest.raises(InputError) as e:
        open_source(str(tmp_path / "nope.mp4"))
    assert str(e.value) == f"{tmp_path / 'nope.mp4'}: no such file"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError, match=r"junk\.mp4: cannot open it as video"):
        open_source(str(junk))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with pytest.raises(InputError) as e:
        open_source(str(bad))
    assert str(e.value) == f"{bad}: cannot read it as a picture"


def test_image_source_gives_the_picture_in_rgb(tmp_path):
    frame = test_frame(50, 70)
    cv2.imwrite(str(tmp_path / "p.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    src, _ = open_source(str(tmp_path / "p.png"))
    assert isinstance(src, ImageSource)
    assert np.array_equal(src.read(), frame) and src.read() is src.read()


def test_demo_pans_across_the_picture():
    src = DemoSource(160, 120)
    first = src.read()
    for _ in range(60):
        later = src.read()
    assert first.shape == later.shape == (120, 160, 3)
    assert np.abs(first.astype(int) - later).mean() > 5  # it moves
    assert first.std() > 20  # a picture, not a flat fill


def test_missing_camera_fails_on_read_not_on_open():
    cam = WebcamSource(63)
    with pytest.raises(SourceError) as e:
        cam.read()
    assert str(e.value) == "no camera at index 63"
    assert cam.live


def test_no_camera_means_the_demo():
    if probe_webcams() is not None:
        pytest.skip("this machine has a camera")
    src, note = open_source(None)
    assert isinstance(src, DemoSource)
    assert note == "no camera found; showing the demo (open a video or picture with --source)"


def test_synthetic_ends_and_fails():
    src = SyntheticSource(64, 40, frames=2)
    assert src.read() is not None and src.read() is not None and src.read() is None
    with pytest.raises(SourceError, match=r"^synthetic 64x40: failed at frame 0 \(as asked\)$"):
        SyntheticSource(64, 40, fail_at=0).read()


def test_demo_picture_ships_small():
    pic = Path(__file__).resolve().parent.parent / "stylecam" / "assets" / "demo.jpg"
    assert pic.is_file() and pic.stat().st_size < 100_000
