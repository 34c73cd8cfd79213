"""stylecam-train: no silent surprises. Each bad case is one line, exit status 2 and no file
touched; a run that is too short says so; --resume delivers where the first run said."""

import hashlib
import os

import pytest
import torch

from stylecam.models import check_model
from stylecam.testing import write_model
from trainer.cli import main

TINY = ["--steps", "3", "--size", "40", "--batch", "1", "--init", "scratch", "--quiet", "--threads", "1"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder):
    """Every file under ``folder`` with its content's hash: what a refused run may not change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*")) if not p.is_fifo()}


def test_out_never_replaces_a_file_it_did_not_make(capsys, photos, painting, tmp_path, runs_in_tmp):
    foreign = write_model(tmp_path / "theirs.onnx", "invert")  # a model, but not stylecam-train's
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    cases = [
        (["--out", painting], f"--out {painting} is the painting; it would be overwritten"),
        (["--out", foreign], f"--out {foreign}: already exists and stylecam-train did not make it; "
                             "pass --force to replace it"),
        (["--out", notes], f"--out {notes}: a model file must end in .onnx"),
        (["--out", photos], f"--out {photos}: is a folder; give a file name"),
    ]
    for extra, message in cases:
        before = snapshot(tmp_path)
        code, out, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, *extra)
        assert (code, out, err) == (2, "", f"stylecam-train: {message}\n")
        assert snapshot(tmp_path) == before
    code, _, err = run(capsys, "--base", "--content", photos, *TINY, "--out", tmp_path / "base.onnx")
    assert err == f"stylecam-train: --out {tmp_path / 'base.onnx'}: a base network file must end in .pt\n"
    # --force replaces the foreign file; a file stylecam-train made is replaced without it
    code, _, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--no-int8", "--out", foreign, "--force")
    assert code == 0, err
    assert check_model(foreign).name == "x"
    code, _, err = run(capsys, painting, "--name", "y", "--content", photos, *TINY, "--no-int8", "--out", foreign)
    assert code == 0, err
    assert check_model(foreign).name == "y"


def test_steps_zero_or_less_is_an_error_not_the_default(capsys, photos, painting, tmp_path, runs_in_tmp):
    for steps in ("0", "-5"):
        before = snapshot(tmp_path)
        code, out, err = run(capsys, painting, "--name", "x", "--content", photos, "--steps", steps)
        assert (code, out, err) == (2, "", f"stylecam-train: --steps must be at least 1, not {steps}\n")
        assert snapshot(tmp_path) == before and not runs_in_tmp.exists()


def test_bad_layer_weights_are_one_line(capsys, photos, painting, tmp_path, runs_in_tmp):
    cases = [("8,4,x,1", "--layer-weights must be comma-separated numbers, not '8,4,x,1'"),
             ("8,4", "--layer-weights needs 4 numbers of at least 0 (one per style layer: relu1_2, relu2_2, "
                     "relu3_3, relu4_3), not (8.0, 4.0)")]
    for text, message in cases:
        code, out, err = run(capsys, painting, "--name", "x", "--content", photos, "--layer-weights", text)
        assert (code, out, err) == (2, "", f"stylecam-train: {message}\n")
        assert not runs_in_tmp.exists()


def test_bad_broad_terms_are_one_line(capsys, photos, painting, tmp_path, runs_in_tmp):
    cases = [("2,x", "--broad must be comma-separated numbers, not '2,x'"),
             ("2,0.5", "--broad W[,F] and --tone W need weights of at least 0 and a factor of at least 1"),
             ("-1", "--broad W[,F] and --tone W need weights of at least 0 and a factor of at least 1")]
    for text, message in cases:
        code, out, err = run(capsys, painting, "--name", "x", "--content", photos, "--broad", text)
        assert (code, out, err) == (2, "", f"stylecam-train: {message}\n")
        assert not runs_in_tmp.exists()


def test_inputs_are_named_for_what_they_are(capsys, photos, painting, tmp_path, runs_in_tmp):
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    empty = tmp_path / "empty.mp4"
    empty.touch()
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    huge = tmp_path / "huge.png"  # a real PNG whose header says 10000x6000 (60 MP; the limit is 50)
    _blank_png(huge, 10_000, 6_000)
    cases = [
        ([huge, "--content", photos], f"painting {huge}: 10000x6000 is 60 megapixels; stylecam takes at most 50 "
                                      "(about 110 bytes a pixel in the model): scale it down first"),
        ([folder, "--content", photos], f"painting {folder}: is a folder, not a file"),  # was "no such file"
        ([pipe, "--content", photos], f"painting {pipe}: is not a regular file (a pipe); give a file"),
        ([painting, "--content", empty], f"content {empty}: the file is empty"),
        ([painting, "--content", pipe], f"content {pipe}: is not a regular file (a pipe); give a file"),
        ([painting, "--content", "/dev/urandom"], "content /dev/urandom: is not a regular file (a device); give a file"),
    ]
    for argv, message in cases:
        before = snapshot(tmp_path)
        code, out, err = run(capsys, *argv, "--name", "x", *TINY)
        assert (code, out, err) == (2, "", f"stylecam-train: {message}\n")
        assert snapshot(tmp_path) == before and not runs_in_tmp.exists()


def _blank_png(path, width, height):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(1)
    rows = b"\0" * (1 + 3 * width) * 100
    body = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def test_a_run_folder_that_cannot_be_written_is_one_line(capsys, photos, painting, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--run-dir", blocker / "run")
    assert (code, out) == (2, "")
    assert err == f"stylecam-train: --run-dir {blocker / 'run'}: cannot write there (Not a directory)\n"
    assert blocker.read_text() == "x"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_at_a_checkpoint_is_one_line_and_leaves_no_part_file(capsys, photos, painting, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt.part").symlink_to("/dev/full")  # torch.save's writes fail there
    code, out, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--run-dir", run_dir,
                         "--checkpoint-every", "1", "--no-install")
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        f"stylecam-train: cannot write to the run folder {run_dir} (torch.save could not write the checkpoint): "
        "stopped at step 1; no checkpoint was saved")
    assert not [p for p in os.listdir(run_dir) if ".part" in p]  # was left filling the disk


def test_resume_delivers_where_the_first_run_said(capsys, photos, painting, runs_in_tmp, isolated_catalog):
    code, _, err = run(capsys, painting, "--name", "kept", "--content", photos, *TINY, "--no-install", "--no-int8")
    assert code == 0, err
    assert list(isolated_catalog[1].iterdir()) == []
    code, _, err = run(capsys, "--resume", "--name", "kept", "--steps", "5", "--quiet")
    assert code == 0, err
    run_dir = runs_in_tmp / "kept"
    assert err.strip().splitlines()[-1] == f"model written to {run_dir / 'kept.onnx'}"
    assert list(isolated_catalog[1].iterdir()) == []  # --resume once installed it anyway
    assert check_model(run_dir / "kept.onnx").train["steps"] == 5
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 5


def test_a_run_too_short_for_a_style_says_so(capsys, photos, painting, tmp_path):
    code, _, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY, "--no-int8",
                       "--out", tmp_path / "x.onnx")
    assert code == 0, err
    assert ("warning: 3 steps is far too short to learn more than a tint of the painting; the built-in styles "
            "took 700-7,000 steps") in err.splitlines()
    # --minutes: said once the step count is fitted to the measured speed
    code, _, err = run(capsys, painting, "--name", "x", "--content", photos, *TINY[2:], "--no-int8",
                       "--out", tmp_path / "x.onnx", "--minutes", "0.05")
    assert code == 0, err
    steps = check_model(tmp_path / "x.onnx").train["steps"]
    assert (f"warning: {steps} steps (all that fits in --minutes 0.05 at this speed) is far too short to learn "
            "more than a tint of the painting; the built-in styles took 700-7,000 steps") in err.splitlines()
    # super-resolution: no such warning
    code, _, err = run(capsys, "--sr", 2, "--name", "up", "--content", photos, *TINY, "--loss", "pixel",
                       "--no-int8", "--out", tmp_path / "up.onnx")
    assert code == 0 and "warning" not in err, err


def test_export_on_a_full_disk_is_one_line_and_leaves_no_part(tmp_path, monkeypatch):
    import errno

    import onnx

    from stylecam.errors import OutputError
    from trainer import export as E
    from trainer.nets import NetConfig, arch_name, build_net, net_stride

    def full(*_a, **_k):  # what onnx.save meets on a full disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(onnx, "save", full)
    cfg = NetConfig(tier="fast")
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "m.onnx"
    with pytest.raises(OutputError) as e:
        E.export_model(build_net(cfg), out, kind="style", name="m", scale=1, arch=arch_name(cfg),
                       stride=net_stride(cfg), train={})
    assert str(e.value) == f"cannot write {out}: No space left on device"
    assert os.listdir(tmp_path / "out") == []  # no model, no .part
