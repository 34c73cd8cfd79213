"""benchmarks/ort_cuda.py end to end on the CPU provider, and the wheel-sending helper."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stylecam.testing import make_clip, write_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import ort_cuda_send as send  # noqa: E402


@pytest.mark.slow
def test_ort_cuda_cpu_mode_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "STYLECAM_ASSETS_DIR"}  # the real wave and sr4
    clip = make_clip(tmp_path / "clip.mp4", frames=8, width=160, height=120, audio=False)
    quality = write_model(tmp_path / "q.onnx", "conv", name="q")  # the export is what prepare uses
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ort_cuda.py"), "--cpu", "--out", str(out),
                        "--video", str(clip), "--quality-model", str(quality)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    models = {"fast", "quality", "sr4"}
    assert set(res["providers"]) == set(res["parity"]) == set(res["ms"]) == models
    assert all(p == ["CPUExecutionProvider"] for p in res["providers"].values())
    assert res["parity_frames"] == 4  # three frames spread over the clip, and the demo photo
    for key in models:
        for how in ("io_binding", "plain"):
            p = res["parity"][key][how]
            assert p["ok"] and p["max_abs_diff"] <= 1 and p["within_1"] >= 0.999
    assert set(res["ms"]["fast"]) == {"64x48", "96x64"} and res["ms"]["sr4"]["64x48"]["out"] == "256x192"
    assert all(r["io_binding"] > 0 and r["plain"] > 0 for rows in res["ms"].values() for r in rows.values())
    assert res["render"]["device"] == "CPU" and res["render"]["frames"] == 12 and res["render"]["fps"] > 0
    assert [x["steady"] for x in res["live"]] == [True, False]
    assert all(x["displayed_fps"] > 0 and not x["errors"] for x in res["live"])
    assert "| fast | CPUExecutionProvider |" in r.stdout


def test_ort_cuda_without_cuda_is_one_line_exit_2(tmp_path):
    from stylecam.engine import cuda_usable

    if cuda_usable():
        pytest.skip("CUDA works here")
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ort_cuda.py"), "--out", str(tmp_path / "r.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and not (tmp_path / "r.json").exists()
    assert r.stderr.startswith("ort_cuda.py: CUDA is not usable here: ") and r.stderr.count("\n") == 1


def test_parts_join_back_and_the_calls_carry_one_each(tmp_path, monkeypatch):
    monkeypatch.setattr(send, "HERE", tmp_path / ".ortgpu")
    payload = tmp_path / "payload.tar"
    payload.write_bytes(os.urandom(10_000))
    parts = send.split(payload, 4096)
    assert [p.parent.name for p in parts] == ["p00", "p01", "p02"]
    assert b"".join(p.read_bytes() for p in parts) == payload.read_bytes()
    assert max(p.stat().st_size for p in parts) == 4096
    calls = send.calls(len(parts), "abc")
    assert [c["carry"] for c in calls] == [[".ortgpu/p00"], [".ortgpu/p01"], [".ortgpu/p02"]]
    assert all(len(c["command"]) <= 2000 for c in calls)  # the run tool's limit
    assert calls[-1]["command"].endswith("bash benchmarks/ort_cuda_remote.sh 3 abc")
    assert "ort_cuda_remote" not in calls[0]["command"]
    send.split(payload, 8192)  # again, fewer parts: none of the old ones left
    assert sorted(p.name for p in (tmp_path / ".ortgpu").iterdir()) == ["p00", "p01"]


def test_the_tree_leaves_room_for_parts():
    """The tree (six 3.4 MB quality tiers since session 18) must leave prepare's smallest part."""
    assert send.LIMIT - send.tree_bytes() - send.MARGIN >= send.MIN_PART


@pytest.mark.parametrize("case", ["missing part", "bad sha", "no wheels"])
def test_remote_script_checks_the_parts(tmp_path, case):
    here = tmp_path / "ortgpu"
    here.mkdir()
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("butterfly.mp4")
        info.size = 3
        t.addfile(info, io.BytesIO(b"abc"))
    data = buf.getvalue()
    half = len(data) // 2
    (here / "part00").write_bytes(data[:half])
    if case != "missing part":
        (here / "part01").write_bytes(data[half:])
    sha = hashlib.sha256(data).hexdigest() if case != "bad sha" else "0" * 64
    env = os.environ | {"ORTGPU_DIR": str(here), "OUT": str(tmp_path)}
    r = subprocess.run(["bash", str(ROOT / "benchmarks" / "ort_cuda_remote.sh"), "2", sha],
                       capture_output=True, text=True, env=env, timeout=120)
    if case == "missing part":
        assert r.returncode == 3 and "1 of 2 parts here (part00 )" in r.stdout
    elif case == "bad sha":
        assert r.returncode == 3 and "sha256 differs" in r.stdout
    else:  # joined, checked and unpacked; pip finds no wheel to install
        assert r.returncode == 4 and (here / "x" / "butterfly.mp4").read_bytes() == b"abc"
