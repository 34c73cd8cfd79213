"""Input paths named for what they are, in the window's sources as in the render: a folder,
a pipe, a device, an empty file, a huge picture (refused from its header)."""

import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from stylecam.errors import InputError, SourceError
from stylecam.inputs import check_file, image_size
from stylecam.sources import WebcamSource, open_source, read_image


def blank_png(path, width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(1)
    rows = b"\0" * (1 + 3 * width) * 100
    body = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def bad_sources(tmp_path):
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    empty = tmp_path / "empty.mp4"
    empty.touch()
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video\n" * 50)
    huge = blank_png(tmp_path / "huge.png", 10_000, 6_000)
    return [
        (folder, f"{folder}: is a folder, not a file"),
        (empty, f"{empty}: the file is empty"),  # PyAV said "[Errno 1094995529] Invalid data ..."
        (pipe, f"{pipe}: is not a regular file (a pipe); give a file"),  # av.open waited for ever
        ("/dev/urandom", "/dev/urandom: is not a regular file (a device); give a file"),
        (junk, f"{junk}: cannot open it as video (Invalid data found when processing input)"),
        (huge, f"{huge}: 10000x6000 is 60 megapixels; stylecam takes at most 50 (about 110 bytes a pixel "
               "in the model): scale it down first"),
        (tmp_path / "gone.mp4", f"{tmp_path / 'gone.mp4'}: no such file"),
    ]


def test_the_window_names_each_bad_source_for_what_it_is(tmp_path):
    for spec, message in bad_sources(tmp_path):
        before = sorted(os.listdir(tmp_path))
        with pytest.raises(InputError) as e:
            open_source(str(spec))
        assert str(e.value) == message
        assert sorted(os.listdir(tmp_path)) == before


def test_check_file_labels_and_passes_a_good_file(tmp_path):
    good = tmp_path / "p.png"
    cv2.imwrite(str(good), np.zeros((40, 50, 3), np.uint8))
    assert check_file(good) == good and read_image(good).shape == (40, 50, 3)
    with pytest.raises(InputError, match=rf"^painting {tmp_path}: is a folder, not a file$"):
        check_file(tmp_path, "painting ")


def test_image_size_reads_png_and_jpeg_headers(tmp_path):
    png, jpg, text = tmp_path / "a.png", tmp_path / "b.jpg", tmp_path / "c.jpg"
    cv2.imwrite(str(png), np.zeros((61, 97, 3), np.uint8))
    cv2.imwrite(str(jpg), np.zeros((123, 457, 3), np.uint8))
    text.write_text("hello")
    assert image_size(png) == (97, 61)
    assert image_size(jpg) == (457, 123)
    assert image_size(text) is None
    jpg.write_bytes(jpg.read_bytes()[:20])  # cut before its frame header
    assert image_size(jpg) is None


def test_an_absent_camera_fails_quietly(capfd):
    cam = WebcamSource(9)  # retried every 3 s by the capture loop: OpenCV's [ WARN ] lines each time
    for _ in range(2):
        with pytest.raises(SourceError, match="^no camera at index 9$"):
            cam.read()
    assert capfd.readouterr().err == ""


def test_the_window_shows_a_phone_clip_upright(tmp_path):
    import av

    from stylecam.testing import moving_frame

    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("h264", rate=30)
        s.width, s.height, s.pix_fmt, s.options = 96, 64, "yuv420p", {"preset": "ultrafast", "crf": "10"}
        s.set_display_rotation(-90)  # ffprobe's "rotate=90"
        for i in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(moving_frame(i, 64, 96), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    src, _ = open_source(str(path), loop=False)
    try:
        frame = src.read()
    finally:
        src.close()
    assert frame.shape == (96, 64, 3)  # upright, not sideways
    upright = np.rot90(moving_frame(0, 64, 96), -1)
    assert np.abs(frame.astype(int) - upright).mean() < 12
