"""The desktop app (packaging/): a freedesktop entry and AppStream metainfo that validate, and a
frozen app (PyInstaller) that renders a clip and opens its window."""

import importlib.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from ctypes.util import find_library
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESKTOP = ROOT / "packaging" / "desktop"
APP_ID = "io.github.stylecam.stylecam"


def test_desktop_entry_icon_and_metainfo_agree_and_validate():
    entry = (DESKTOP / f"{APP_ID}.desktop").read_text().splitlines()
    keys = dict(line.split("=", 1) for line in entry[1:] if "=" in line)
    assert entry[0] == "[Desktop Entry]" and keys["Exec"].split()[0] == "stylecam"
    assert keys["Icon"] == APP_ID and (DESKTOP / f"{APP_ID}.svg").is_file()
    meta = ET.parse(DESKTOP / f"{APP_ID}.metainfo.xml").getroot()
    assert meta.findtext("id") == APP_ID and meta.find("launchable").text == f"{APP_ID}.desktop"
    assert sorted(b.text for b in meta.find("provides")) == ["stylecam", "stylecam-render"]
    ET.parse(DESKTOP / f"{APP_ID}.svg")  # well-formed
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(DESKTOP / f"{APP_ID}.desktop")],
                              capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout == "", done.stdout
    if shutil.which("appstreamcli"):
        done = subprocess.run(["appstreamcli", "validate", "--no-net", str(DESKTOP / f"{APP_ID}.metainfo.xml")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
        assert not [line for line in done.stdout.splitlines() if line.startswith(("E:", "W:"))], done.stdout


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None, reason='needs pip install "pyinstaller>=6"')
def test_the_frozen_app_renders_and_opens_its_window(tmp_path):
    import av
    import numpy as np

    from stylecam.testing import make_clip

    dist = tmp_path / "dist"
    try:
        done = subprocess.run(["bash", str(ROOT / "packaging" / "build_app.sh"), str(dist), str(tmp_path / "work")],
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        app = dist / "stylecam"
        assert (app / "share" / "applications" / f"{APP_ID}.desktop").is_file()
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        clip = make_clip(elsewhere / "clip.mp4", frames=12, width=96, height=64, audio=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STYLECAM_ASSETS")}
        env.update(STYLECAM_SETTINGS=str(tmp_path / "s.ini"), PYTHONPATH="")
        done = subprocess.run([str(app / "stylecam-render"), "clip.mp4", "--style", "wave"], cwd=elsewhere,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert (elsewhere / "clip_wave.mp4").is_file()
        # the window: under Xvfb when there is one, else Qt's offscreen platform; a new user's
        # first picture is the built-in wave, recorded to show it really ran
        rec = tmp_path / "rec.mkv"
        cmd = [str(app / "stylecam"), "--source", str(clip), "--record", str(rec), "--quit-after", "4"]
        if shutil.which("xvfb-run") and all(find_library(lib) for lib in ("xcb-icccm", "xcb-cursor", "xkbcommon-x11")):
            cmd, env["QT_QPA_PLATFORM"] = ["xvfb-run", "-a"] + cmd, "xcb"
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "style=wave" in (tmp_path / "s.ini").read_text()
        with av.open(str(rec)) as c:
            shown = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(c.streams.video[0])]
        with av.open(str(clip)) as c:
            source = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(c.streams.video[0])]
        assert len(shown) > 5
        assert min(np.abs(shown[-1] - f).mean() for f in source) > 10  # stylized, not the clip
    finally:
        shutil.rmtree(dist, ignore_errors=True)  # ~800 MB (onnxruntime's CUDA libraries)
        shutil.rmtree(tmp_path / "work", ignore_errors=True)
