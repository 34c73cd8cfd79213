"""stylecam-render end to end: real clips made with PyAV, real contract models run by onnxruntime."""

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from stylecam import render, stages
from stylecam.engine import cuda_usable
from stylecam.testing import make_audio_only, make_clip, test_frame, write_model
from render_cli import run, one_line, last_line

RATE = Fraction(30000, 1001)
TOL = 12  # mean |difference| allowed after H.264 (yuv420p alone costs ~8 on these frames)


def decode(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(f.to_ndarray(format="rgb24"), f.pts * s.time_base) for f in c.decode(s)]


def audio_seconds(path):
    with av.open(str(path)) as c:
        return [s.duration * s.time_base for s in c.streams.audio]


def listing(folder):
    """What a render may not change: everything but the engine's graph cache."""
    return sorted(p for p in os.listdir(folder) if p != "ort_cache")


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4", frames=30, width=98, height=66, rate=RATE)


@pytest.fixture
def models(tmp_path, isolated_catalog):
    """'wave' (invert) and 'swap' as built-ins, 'nn2' (x2 nearest) as a user model."""
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(builtin / "swap.onnx", "swap", name="swap")
    write_model(user / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    return builtin, user


def test_video_round_trip_keeps_count_rate_timestamps_and_audio(tmp_path, clip, models, capsys):
    code, out, err = run(capsys, clip, "--style", "wave", "--json")
    assert code == 0, err
    dst = tmp_path / "clip_wave.mp4"  # default name beside the input
    summary = json.loads(out)
    assert summary["output"] == str(dst) and summary["frames"] == 30
    assert summary["audio_streams_copied"] == 1 and summary["truncated"] is False
    assert summary["device"] == "CPU" and summary["model_ms_median"] > 0
    assert summary["workers"] * summary["threads"] == render.default_threads()  # the cores, shared out
    src_frames, out_frames = decode(clip), decode(dst)
    assert len(out_frames) == len(src_frames) == 30
    assert [t for _, t in out_frames] == [t for _, t in src_frames]
    with av.open(str(dst)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.average_rate, v.codec_context.name) == (98, 66, RATE, "h264")
    assert audio_seconds(dst) == audio_seconds(clip)
    # the model applied to the decoded input, up to H.264's loss; an inversion is far off that
    for (a, _), (b, _) in zip(src_frames, out_frames):
        assert mean_abs(b, 255 - a) < TOL
        assert mean_abs(b, a) > 5 * TOL


def test_stabilize_keeps_count_and_timestamps_and_steadies(tmp_path, clip, models, capsys):
    noisy = tmp_path / "noisy.mp4"  # a still, smooth picture with fresh sensor noise each frame
    rng = np.random.default_rng(0)
    still = cv2.GaussianBlur(test_frame(66, 98), (0, 0), 3).astype(np.int16)
    with av.open(str(noisy), "w") as c:
        s = c.add_stream("h264", rate=RATE)
        s.width, s.height, s.pix_fmt, s.options = 98, 66, "yuv420p", {"crf": "0", "preset": "ultrafast"}
        for _ in range(12):
            f = np.clip(still + rng.integers(-12, 13, still.shape), 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    plain, steady, default = tmp_path / "plain.mkv", tmp_path / "steady.mkv", tmp_path / "default.mkv"
    assert run(capsys, noisy, "--style", "wave", "-o", plain, "--crf", "0", "--stabilize", "0")[0] == 0
    assert run(capsys, noisy, "--style", "wave", "-o", steady, "--crf", "0", "--stabilize", "0.7")[0] == 0
    assert run(capsys, noisy, "--style", "wave", "-o", default, "--crf", "0")[0] == 0
    a, b, c = decode(plain), decode(steady), decode(default)
    assert [t for _, t in a] == [t for _, t in b] and len(b) == 12

    def change(frames):
        return np.mean([mean_abs(frames[i][0], frames[i - 1][0]) for i in range(1, len(frames))])
    assert change(b) < 0.7 * change(a)
    assert change(c) < 0.7 * change(a)  # on by default


def test_image_and_folder(tmp_path, models, capsys):
    photo = tmp_path / "photo.png"
    frame = test_frame(65, 97)  # odd sizes are fine for pictures
    cv2.imwrite(str(photo), frame[..., ::-1])
    style = write_model(tmp_path / "inv.onnx", "invert", name="inv")
    code, _, err = run(capsys, photo, "--style", style)
    assert code == 0, err
    got = cv2.imread(str(tmp_path / "photo_inv.png"))[..., ::-1]
    assert np.array_equal(got, 255 - frame)  # png: exact

    folder = tmp_path / "folder"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), frame[..., ::-1])
    cv2.imwrite(str(folder / "b.jpg"), test_frame(40, 60, seed=1)[..., ::-1])
    (folder / "notes.txt").write_text("skipped")
    code, out, err = run(capsys, folder, "--style", "swap", "--json")
    assert code == 0, err
    done = tmp_path / "folder_swap"
    assert sorted(p.name for p in done.iterdir()) == ["a.png", "b.jpg"]
    assert np.array_equal(cv2.imread(str(done / "a.png")), frame)  # swapped twice = BGR on disk
    assert json.loads(out)["frames"] == 2


def test_several_inputs_go_to_a_folder(tmp_path, clip, models, capsys):
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), test_frame(48, 64)[..., ::-1])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(capsys, clip, photo, "--style", "wave", "-o", out_dir, "--json")
    assert code == 0, err
    assert [s["output"] for s in json.loads(out)] == [str(out_dir / "clip_wave.mp4"), str(out_dir / "photo_wave.jpg")]


def bad_cases(tmp_path, clip):
    """(argv, expected stderr line or a prefix ending in '…') for every user error."""
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n" * 100)
    sound = make_audio_only(tmp_path / "sound.m4a")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01not onnx at all" * 10)
    broken = write_model(tmp_path / "broken.onnx", "invert", output_name="out")
    missing = tmp_path / "missing.mp4"
    nodir = tmp_path / "nodir"
    return [
        ([missing, "--style", "wave"], f"{missing}: no such file or folder"),
        ([empty, "--style", "wave"], f"{empty}: the file is empty"),
        ([text, "--style", "wave"], f"{text}: not a video file FFmpeg can read (Invalid data found when processing input)"),
        ([sound, "--style", "wave"], f"{sound}: has no video stream (audio only)"),
        ([clip, "--style", "wavy"], "unknown style 'wavy'; did you mean 'wave'? known: swap, wave"),
        ([clip, "--style", junk], f"{junk}: not a stylecam model: it is not an ONNX file …"),
        ([clip, "--style", broken], f"{broken}: not a stylecam model: it must have one output named 'image', has ['out']"),
        ([clip, "--style", "wave", "-o", nodir / "x.mp4"], f"{nodir}: output folder does not exist"),
        ([clip, "--style", "wave", "-o", tmp_path / "x.avi"], f"{tmp_path / 'x.avi'}: a video output must end in .mp4, .mkv, .mov, .m4v"),
        ([clip, "--style", "wave", "-o", tmp_path / "x.mp4.png"], f"{tmp_path / 'x.mp4.png'}: a video output must end in .mp4, .mkv, .mov, .m4v"),
        ([clip, clip, "--style", "wave", "-o", tmp_path / "two.mp4"], f"{tmp_path / 'two.mp4'}: with several inputs, -o must be an existing folder"),
        ([clip, "--style", "wave", "--strength", "1.5"], "--strength must be between 0 and 1, got 1.5"),
        ([clip, "--style", "wave", "--max-side", "10"], "--max-side must be at least 32, got 10"),
        ([clip, "--style", "wave", "--threads", "0"], "--threads must be at least 1, got 0"),
        ([clip, "--style", "wave", "--stabilize", "1"], "--stabilize must be at least 0 and below 1, got 1"),
        ([clip, "--style", "wave", "--preset", "warp"], "--preset must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, got 'warp'"),
        ([clip], "give --style NAME, --upscale 2|4|NAME, or both"),
        ([clip, "--upscale", "4"], "no x4 super-resolution model; known: nn2 (x2)"),
        ([clip, "--style", "nn2"], "unknown style 'nn2'; known: swap, wave"),
        ([clip, "--style", "wave", "--bogus"], "unrecognized arguments: --bogus"),
    ]


def test_every_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path, clip, models, capsys):
    for argv, message in bad_cases(tmp_path, clip):
        before = listing(tmp_path)
        code, out, err = run(capsys, *argv)
        line = one_line(err)
        assert code == 2, (argv, err)
        if message.endswith("…"):
            assert line.startswith(f"stylecam-render: {message[:-1]}"), line
        else:
            assert line == f"stylecam-render: {message}"
        assert listing(tmp_path) == before, argv  # nothing written, no temp left


def test_existing_output_is_refused_and_untouched_then_overwritten(tmp_path, clip, models, capsys):
    dst = tmp_path / "clip_wave.mp4"
    dst.write_bytes(b"precious")
    code, _, err = run(capsys, clip, "--style", "wave")
    assert code == 2
    assert one_line(err) == f"stylecam-render: {dst}: already exists (use --overwrite to replace it)"
    assert dst.read_bytes() == b"precious"
    # with --overwrite, a render that fails still leaves it untouched
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 20)
    code, _, err = run(capsys, text, "--style", "wave", "--overwrite", "-o", dst)
    assert code == 2 and one_line(err).startswith(f"stylecam-render: {text}: not a video file")
    assert dst.read_bytes() == b"precious"
    code, _, err = run(capsys, clip, "--style", "wave", "--overwrite")
    assert code == 0 and len(decode(dst)) == 30, err
    assert not [p for p in os.listdir(tmp_path) if ".partial" in p]


def test_truncated_input_renders_what_decodes_and_says_so(tmp_path, models, capsys):
    src = make_clip(tmp_path / "long.mkv", frames=60, width=96, height=64)
    cut = tmp_path / "cut.mkv"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    code, _, err = run(capsys, cut, "--style", "wave")
    assert code == 2
    dst = tmp_path / "cut_wave.mkv"
    n = len(decode(dst))
    assert 10 < n < 60
    assert last_line(err) == f"stylecam-render: {cut}: input ended early at frame {n}; kept {n} frames in {dst}"


@pytest.mark.skipif(cuda_usable(), reason="CUDA works here")
def test_device_cuda_without_cuda_is_one_line(clip, models, capsys):
    code, _, err = run(capsys, clip, "--style", "wave", "--device", "cuda")
    assert code == 2
    assert one_line(err).startswith("stylecam-render: --device cuda: CUDA is not usable here")


def test_sigint_mid_render_keeps_a_playable_file_and_exits_130(tmp_path, models):
    frames = 1000  # long enough that the interrupt always lands mid-render, even on a fast machine
    src = make_clip(tmp_path / "long.mp4", frames=frames, width=160, height=120)
    dst = tmp_path / "long_out.mp4"
    # x2 upscale and a slow preset make the render take seconds, so there is time to interrupt
    cmd = [sys.executable, "-m", "stylecam.render", str(src), "--style", "wave", "--upscale", "2",
           "--out-scale", "2", "--preset", "veryslow", "-o", str(dst)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")  # a crash prints its stacks
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait until the progress bar shows frames done
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                err += chunk
                done = [int(m) for m in re.findall(rb"\b(\d+)/%d\b" % frames, err)]
                if done and max(done) >= 10:
                    break
        proc.send_signal(signal.SIGINT)
        rest_out, rest_err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err += rest_err
    text = err.decode()
    assert proc.returncode == 130, text
    kept = decode(dst)
    assert 0 < len(kept) < frames
    assert last_line(text) == f"stylecam-render: interrupted: kept {len(kept)} frames in {dst}"
    assert not [p for p in os.listdir(tmp_path) if ".partial" in p]
    assert audio_seconds(dst)[0] <= kept[-1][1] + Fraction(1, 10)  # audio cut with the video


@pytest.mark.parametrize("stage", ["source", "process", "sink"])
def test_pipeline_error_in_any_stage_propagates_without_hanging(stage):
    def source():
        for i in range(1000):
            if stage == "source" and i == 7:
                raise ValueError("source broke at 7")
            yield i

    def process(i):
        if stage == "process" and i == 7:
            raise ValueError("process broke at 7")
        return i

    got = []

    def sink(i):
        if stage == "sink" and i == 7:
            raise ValueError("sink broke at 7")
        got.append(i)

    start = time.monotonic()
    with pytest.raises(ValueError, match=f"{stage} broke at 7"):
        stages.run_pipeline(source(), process, sink, depth=2)
    assert time.monotonic() - start < 5
    assert got == list(range(len(got))) and len(got) <= 7  # in order, nothing after the error


@pytest.mark.parametrize("how", ["sink error", "ctrl-c"])
def test_pipeline_stopped_early_returns_only_when_every_stage_has_stopped(how):
    # What the caller closes next (the input container, the encoder) must be idle: no
    # stage may still run, and the source (a decode generator) is closed on its own thread.
    # Python 3.11's Thread.join, interrupted by Ctrl-C, marks a running thread as finished:
    # the render once closed the encoder under a writer stage still encoding (a segfault).
    state = {"closed_on": None, "sinks": 0, "in_sink": False}

    def source():
        try:
            yield from range(10_000)
        finally:
            state["closed_on"] = threading.current_thread().name

    def sink(i):
        state["sinks"] += 1
        if i == 20:
            if how == "sink error":
                raise ValueError("encoder fell over")
            state["in_sink"] = True
            # Ctrl-C, delivered to this thread (the kernel may hand it to any thread, e.g. one
            # of FFmpeg's): Python raises it in the calling thread, which must notice it
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            time.sleep(0.5)  # while this frame is still encoding
            state["in_sink"] = False

    with pytest.raises(ValueError if how == "sink error" else KeyboardInterrupt):
        stages.run_pipeline(source(), lambda i: i, sink, depth=2)
    assert state == {"closed_on": "render-read", "sinks": 21, "in_sink": False}
    time.sleep(0.2)
    assert state["sinks"] == 21  # and nothing ran after


def test_parallel_workers_keep_frame_order_and_stop_on_an_error():
    rng = random.Random(0)
    delays = [rng.random() * 0.004 for _ in range(120)]  # finish out of order

    def slow(i):
        time.sleep(delays[i])
        return i * 3

    seen, names = [], set()
    stages.run_pipeline(iter(range(120)), lambda i: (names.add(threading.current_thread().ident), slow(i))[1],
                        seen.append, depth=2, workers=3)
    assert seen == [i * 3 for i in range(120)] and len(names) == 3

    def broken(i):
        if i == 40:
            raise ValueError("model fell over")
        return slow(i)

    got = []
    with pytest.raises(ValueError, match="model fell over"):
        stages.run_pipeline(iter(range(120)), broken, got.append, depth=2, workers=3)
    assert got == [i * 3 for i in range(len(got))] and len(got) <= 40  # in order, nothing past the error


def test_plan_workers_one_per_core_on_the_cpu_for_videos(monkeypatch):
    monkeypatch.setattr(render, "default_threads", lambda: 4)
    assert render.plan_workers(None, None, video=True, parallel_ok=True) == (4, 1)
    assert render.plan_workers(None, 2, video=True, parallel_ok=True) == (2, 2)
    assert render.plan_workers(2, None, video=True, parallel_ok=True) == (2, 2)
    assert render.plan_workers(None, None, video=False, parallel_ok=True) == (1, None)  # pictures only
    assert render.plan_workers(3, None, video=True, parallel_ok=False) == (1, None)  # CUDA or --upscale


def test_pipeline_keeps_order_and_bounds_what_is_in_flight():
    seen = []
    stages.run_pipeline(iter(range(200)), lambda i: i * 2, seen.append, depth=3)
    assert seen == [i * 2 for i in range(200)]

    produced, release = [], threading.Event()

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    def sink(i):
        release.wait(10)  # the encoder is stuck: decode must stop, not fill memory

    t = threading.Thread(target=stages.run_pipeline, args=(source(), lambda i: i, sink, 3))
    t.start()
    time.sleep(0.5)
    in_flight = len(produced)
    release.set()
    t.join(10)
    # 1 in the sink + 3 queued + 1 in process + 3 queued + 1 waiting to be queued
    assert in_flight <= 2 * 3 + 3
