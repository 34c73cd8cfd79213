"""stylecam-render --tier: a real clip made with PyAV through a style whose fast tier is the
identity and whose quality tier (``wave.quality.onnx``) inverts, so the pixels say which ran."""

import json

import cv2
import numpy as np
import pytest

from stylecam.testing import make_clip, test_frame, write_model
from render_cli import TOL, decode, mean_abs, one_line, run


@pytest.fixture
def models(isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "identity", name="wave", meta={"stylecam.train": json.dumps({"tier": "fast"})})
    write_model(builtin / "wave.quality.onnx", "invert", name="wave",
                meta={"stylecam.train": json.dumps({"tier": "quality"})})
    write_model(builtin / "swap.onnx", "swap", name="swap")
    return builtin


def test_tier_quality_renders_with_the_quality_file(tmp_path, models, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=12, width=96, height=64)
    code, out, err = run(capsys, clip, "--style", "wave", "--tier", "quality", "--stabilize", "0", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["tier"], summary["precision"], summary["frames"]) == ("quality", "float", 12)
    src, got = decode(clip), decode(tmp_path / "clip_wave.mp4")
    assert len(got) == len(src) == 12
    for a, b in zip(src, got):
        assert mean_abs(255 - a, b) < TOL  # inverted: the quality file ran


def test_tier_auto_on_the_cpu_and_fast_run_the_fast_file(tmp_path, models, capsys):
    picture = tmp_path / "p.png"
    frame = test_frame(64, 96)
    cv2.imwrite(str(picture), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    for tier, name in (("auto", "a.png"), ("fast", "f.png")):
        code, out, err = run(capsys, picture, "--style", "wave", "--device", "cpu", "--tier", tier,
                             "-o", tmp_path / name, "--json")
        assert code == 0, err
        assert json.loads(out)["tier"] == "fast"
        assert np.array_equal(cv2.imread(str(tmp_path / name))[..., ::-1], frame)  # the identity


def test_tier_errors_are_one_line(tmp_path, models, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=4, width=64, height=48, audio=False)
    cases = [
        (["--style", "wave:0.6,swap:0.4", "--tier", "quality"],
         "stylecam-render: --tier quality runs one style; a blend ('wave:0.6,swap:0.4') runs the fast tier: "
         "use --tier auto or fast"),
        (["--style", "swap", "--tier", "quality"],
         "stylecam-render: swap has no quality tier (swap.quality.onnx); train one with stylecam-train --tier quality"),
        (["--style", "wave", "--tier", "quality", "--precision", "int8"],
         "stylecam-render: --precision int8 is for the fast tier; --tier quality runs in float "
         "(use --precision auto or float)"),
        (["--upscale", "2", "--tier", "quality"],
         "stylecam-render: --tier quality picks the style model's network and needs --style"),
    ]
    for argv, line in cases:
        code, out, err = run(capsys, clip, *argv)
        assert (code, out, one_line(err)) == (2, "", line)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["clip.mp4"]  # nothing written


def test_a_blend_runs_the_fast_tier(tmp_path, models, capsys):
    picture = tmp_path / "p.png"
    frame = test_frame(64, 96)
    cv2.imwrite(str(picture), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    code, out, err = run(capsys, picture, "--style", "wave:0.5,swap:0.5", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["tier"], summary["blend_passes"]) == ("fast", 2)
    got = cv2.imread(str(tmp_path / "p_wave-swap.png"))[..., ::-1].astype(int)
    want = (frame.astype(int) + frame[..., ::-1]) / 2  # identity and swap, not the inverted quality
    assert np.abs(got - want).max() <= 1
