"""The `stylecam` command: user errors as one line, recording survives SIGKILL."""

import os
import signal
import subprocess
import sys
import time

import av
import pytest

from stylecam.gui.app import main
from stylecam.models import user_dir
from stylecam.testing import make_clip, write_model


@pytest.mark.parametrize("argv, message", [
    (["--style", "nope"], "stylecam: unknown model 'nope'; known: invert"),
    (["--source", "/no/such.mp4"], "stylecam: /no/such.mp4: no such file"),
    (["--record", "/no/such/folder/x.mkv"], "stylecam: --record /no/such/folder/x.mkv: folder /no/such/folder does not exist"),
    (["--size", "999"], "stylecam: argument --size: invalid choice: '999' (choose from "),  # quoting differs by Python version
    (["--quit-after", "0"], "stylecam: --quit-after must be more than 0, got 0"),
])
def test_user_errors_are_one_line(argv, message, capsys):
    write_model(user_dir() / "invert.onnx", "invert")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and err.endswith("\n")
    assert err == message + "\n" or "choose from" in message


def test_recording_survives_sigkill(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=60, width=160, height=96, audio=False)
    write_model(user_dir() / "invert.onnx", "invert")
    out = tmp_path / "x.mkv"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STYLECAM_SETTINGS=str(tmp_path / "s.ini"))
    proc = subprocess.Popen([sys.executable, "-m", "stylecam.gui.app", "--source", str(clip),
                             "--style", "invert", "--record", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # wait for the file to hold encoded frames (well past the Matroska header)
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.stat().st_size > 20_000:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert out.exists() and out.stat().st_size > 20_000
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    assert len(frames) > 0
    assert frames[0].shape == (96, 160, 3)
    with av.open(str(clip)) as c:
        source = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(c.streams.video[0])]
    # what was recorded is the stylized (inverted) clip, not the clip itself
    near_inverted = min(abs(frames[0] - (255 - f)).mean() for f in source)
    near_source = min(abs(frames[0] - f).mean() for f in source)
    assert near_inverted < 12 < near_source


def test_quit_after_closes_cleanly_and_finishes_the_recording(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=30, width=128, height=80, audio=False)
    write_model(user_dir() / "invert.onnx", "invert")
    out, ini = tmp_path / "x.mkv", tmp_path / "s.ini"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STYLECAM_SETTINGS=str(ini))
    done = subprocess.run([sys.executable, "-m", "stylecam.gui.app", "--source", str(clip), "--style",
                           "invert", "--size", "240", "--record", str(out), "--quit-after", "3"],
                          env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(c.streams.video[0]))
    assert n > 10
    settings = ini.read_text()
    assert f"source={clip}" in settings and "style=invert" in settings and "size=240" in settings
