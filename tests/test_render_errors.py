"""stylecam-render under bad input: each case is one line on stderr, exit status 2, and no
file touched (or, where frames were done, exactly the frames the kept file holds)."""

import os
import re
import resource
import signal
import struct
import subprocess
import sys
import time
import zlib

import av
import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from stylecam.testing import contract_graph, make_clip, moving_frame, test_frame, write_model
from render_cli import run, one_line, last_line


def listing(folder):
    return sorted(p for p in os.listdir(folder) if p != "ort_cache")


def frames_in(path):
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(c.streams.video[0]))


def blank_png(path, width, height):
    """A real (all-black) PNG of any size, streamed: no width x height array in memory."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(1)
    rows = b"\0" * (1 + 3 * width) * 100
    body = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def failing_model(path, bright=128):
    """A model that passes the contract but fails at run time on a frame whose top-left red
    is over ``bright``: it then reshapes the frame to (H + 1, W, 3)."""
    m = contract_graph("identity", name="fragile")
    g = m.graph
    del g.node[:]
    i64 = TensorProto.INT64
    g.initializer.extend([helper.make_tensor("z3", i64, [3], [0, 0, 0]), helper.make_tensor("o3", i64, [3], [1, 1, 1]),
                          helper.make_tensor("one", i64, [1], [1]), helper.make_tensor("lim", i64, [1], [bright]),
                          helper.make_tensor("z2", i64, [2], [0, 0])])
    g.node.extend([
        helper.make_node("Shape", ["frame"], ["shp"]),
        helper.make_node("Slice", ["frame", "z3", "o3"], ["px"]),
        helper.make_node("Reshape", ["px", "one"], ["px1"]),
        helper.make_node("Cast", ["px1"], ["pxi"], to=i64),
        helper.make_node("Greater", ["pxi", "lim"], ["gt"]),
        helper.make_node("Cast", ["gt"], ["k"], to=i64),
        helper.make_node("Concat", ["k", "z2"], ["kk"], axis=0),
        helper.make_node("Add", ["shp", "kk"], ["newshape"]),
        helper.make_node("Reshape", ["frame", "newshape"], ["image"]),
    ])
    onnx.save(m, str(path))
    return path


def corner_clip(path, frames=40, bright_from=20, width=96, height=64):
    """A clip whose top-left corner turns white at frame ``bright_from``."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("h264", rate=30)
        s.width, s.height, s.pix_fmt, s.options = width, height, "yuv420p", {"preset": "ultrafast"}
        for i in range(frames):
            f = moving_frame(i, height, width)
            f[:16, :16] = 255 if i >= bright_from else 0
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture
def wave(isolated_catalog):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(user / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")


def test_a_huge_picture_is_refused_from_its_header_at_once(tmp_path, wave, capsys):
    big = blank_png(tmp_path / "big.png", 10_000, 6_000)  # 60 megapixels; the limit is 50
    before = listing(tmp_path)
    start = time.monotonic()
    code, _, err = run(capsys, big, "--style", "wave")
    assert code == 2 and time.monotonic() - start < 5  # not decoded first
    assert one_line(err) == (f"stylecam-render: {big}: 10000x6000 is 60 megapixels; stylecam takes at most 50 "
                             "(about 110 bytes a pixel in the model): scale it down first")
    assert listing(tmp_path) == before


def test_an_upscale_past_the_pixel_limit_is_refused(tmp_path, wave, capsys):
    pic = blank_png(tmp_path / "pic.png", 4_000, 4_000)
    before = listing(tmp_path)
    code, _, err = run(capsys, pic, "--upscale", "2")
    assert code == 2
    assert one_line(err) == (f"stylecam-render: {pic}: 4000x4000 x2 would be 8000x8000, 64 megapixels; "
                             "stylecam makes at most 50: scale it down first")
    assert listing(tmp_path) == before


def test_a_model_failing_at_run_time_is_one_line_and_leaves_no_file(tmp_path, wave):
    model = failing_model(tmp_path / "fragile.onnx")
    white = tmp_path / "white.png"
    cv2.imwrite(str(white), np.full((40, 50, 3), 255, np.uint8))
    before = listing(tmp_path)
    # a real process: onnxruntime's own log of the failing node goes to fd 2, past capsys
    r = subprocess.run([sys.executable, "-m", "stylecam.render", str(white), "--style", str(model)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr == (f"stylecam-render: {model}: the model failed on a 50x40 frame (Reshape node): The input "
                        "tensor cannot be reshaped to the requested shape. Input shape:{40,50,3}, requested "
                        "shape:{41,50,3}\n")
    assert listing(tmp_path) == before


def test_a_model_failing_mid_video_keeps_the_frames_done(tmp_path, wave, capsys):
    model = failing_model(tmp_path / "fragile.onnx")
    clip = corner_clip(tmp_path / "corner.mp4", frames=40, bright_from=20)
    dst = tmp_path / "out.mkv"
    code, _, err = run(capsys, clip, "--style", model, "-o", dst)
    assert code == 2
    kept = frames_in(dst)
    assert 10 <= kept <= 20  # frames still queued between the stages when it failed are dropped
    assert last_line(err) == (f"stylecam-render: {model}: the model failed on a 96x64 frame (Reshape node): The "
                              "input tensor cannot be reshaped to the requested shape. Input shape:{64,96,3}, "
                              f"requested shape:{{65,96,3}}; kept {kept} frames in {dst}")
    assert not [p for p in os.listdir(tmp_path) if ".partial" in p]


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_pipe_or_a_device_is_named_for_what_it_is(tmp_path, wave, capsys, kind):
    if kind == "pipe":
        src = tmp_path / "stream.mp4"
        os.mkfifo(src)  # opening it to read would wait for a writer for ever
    else:
        src = "/dev/urandom"  # size 0, never ends
    before = listing(tmp_path)
    code, _, err = run(capsys, src, "--style", "wave")
    assert code == 2
    assert one_line(err) == f"stylecam-render: {src}: is not a regular file (a {kind}); give a file"
    assert listing(tmp_path) == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_says_nothing_was_kept_when_nothing_was(tmp_path, wave, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=30)
    dst = tmp_path / "clip_wave.mp4"
    full = tmp_path / f".clip_wave.partial-{os.getpid()}.mp4"  # where the render writes first
    full.symlink_to("/dev/full")  # every write fails with ENOSPC
    before = listing(tmp_path)
    code, _, err = run(capsys, clip, "--style", "wave")
    assert code == 2
    assert last_line(err) == f"stylecam-render: disk full writing {dst}; nothing was kept"
    assert listing(tmp_path) == [p for p in before if p != full.name]  # and its temporary is gone


def _small_file_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_write_failing_midway_keeps_what_plays_and_says_how_much(tmp_path, wave, suffix):
    clip = make_clip(tmp_path / "long.mp4", frames=120, width=160, height=120)
    dst = tmp_path / f"out{suffix}"
    r = subprocess.run([sys.executable, "-m", "stylecam.render", str(clip), "--style", "wave", "-o", str(dst),
                        "--crf", "0"], preexec_fn=_small_file_limit, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    if suffix == ".mkv":  # Matroska plays without its index: the clusters written are kept
        kept = frames_in(dst)
        assert 0 < kept < 120
        assert last_line(r.stderr) == f"stylecam-render: cannot write {dst}: File too large; kept {kept} frames in {dst}"
    else:  # an MP4 is nothing without the index written at its end
        assert not dst.exists()
        assert last_line(r.stderr) == f"stylecam-render: cannot write {dst}: File too large; nothing was kept"
    assert not [p for p in os.listdir(tmp_path) if ".partial" in p]


def test_a_finished_render_says_where_it_went(tmp_path, wave, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=12)
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), test_frame(48, 64)[..., ::-1])
    code, out, err = run(capsys, clip, "--style", "wave")
    assert code == 0 and out == ""
    assert re.fullmatch(rf"stylecam-render: wrote {re.escape(str(tmp_path / 'clip_wave.mp4'))} \(12 frames in "
                        r"\d+\.\d s\)", last_line(err)), err
    code, out, err = run(capsys, photo, "--style", "wave")
    assert code == 0
    assert re.fullmatch(rf"stylecam-render: wrote {re.escape(str(tmp_path / 'photo_wave.jpg'))} \(1 picture in "
                        r"\d+\.\d s\)", one_line(err))


def test_list_styles_prints_the_catalog_and_no_input_is_one_line(tmp_path):
    import subprocess
    import sys

    from stylecam.models import list_styles

    tmp_path = tmp_path / "work"  # an empty folder of its own: nothing may appear in it
    tmp_path.mkdir()

    out = subprocess.run([sys.executable, "-m", "stylecam.render", "--list-styles"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == list_styles().strip()
    bad = subprocess.run([sys.executable, "-m", "stylecam.render"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "stylecam-render: give a video, an image or a folder to render (or --list-styles)"
    assert list(tmp_path.iterdir()) == []
