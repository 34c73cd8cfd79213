"""stylecam-render --style "a:0.6,b:0.4": a blend of two styles, end to end (real clips made
with PyAV, real contract models run by onnxruntime), and its bad specs."""

import json
import os

import av
import cv2
import numpy as np
import pytest

from stylecam.blend import mix
from stylecam.testing import make_clip, test_frame, write_model
from render_cli import TOL, decode, mean_abs, one_line, run


def listing(folder):
    return sorted(p for p in os.listdir(folder) if p != "ort_cache")


@pytest.fixture
def models(isolated_catalog):
    """'wave' (invert) and 'swap' (RGB -> BGR) styles, 'nn2' (x2 nearest) super-resolution."""
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    write_model(builtin / "swap.onnx", "swap", name="swap")
    write_model(user / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    return builtin, user


def blended(frame, w_wave=0.6):
    return mix([255 - frame, np.ascontiguousarray(frame[..., ::-1])], [w_wave, 1 - w_wave])


def test_a_blended_video_mixes_both_styles_on_every_frame(tmp_path, models, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=20, width=98, height=66)
    code, out, err = run(capsys, clip, "--style", "wave:0.6,swap:0.4", "--stabilize", "0", "--json")
    assert code == 0, err
    dst = tmp_path / "clip_wave-swap.mp4"
    summary = json.loads(out)
    assert summary["output"] == str(dst) and summary["frames"] == 20
    assert summary["style"] == "wave:0.6,swap:0.4"
    assert summary["blend"] == [{"style": "wave", "weight": 0.6}, {"style": "swap", "weight": 0.4}]
    assert summary["model_ms_median"] > 0 and summary["audio_streams_copied"] == 1
    src, got = decode(clip), decode(dst)
    assert len(got) == len(src) == 20
    with av.open(str(dst)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (98, 66)
    for a, b in zip(src, got):
        want, inverted, swapped = blended(a), 255 - a, a[..., ::-1]
        assert mean_abs(b, want) < TOL
        # neither style alone: each is much further off than the blend
        assert mean_abs(b, inverted) > 2 * mean_abs(b, want) and mean_abs(b, swapped) > 2 * mean_abs(b, want)


def test_a_blended_picture_is_exact_and_named_after_both(tmp_path, models, capsys):
    frame = test_frame(50, 90)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), frame[..., ::-1])
    code, out, err = run(capsys, photo, "--style", "the great wave:3,swap:2", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["output"] == str(tmp_path / "photo_wave-swap.png") and summary["style"] == "wave:0.6,swap:0.4"
    got = cv2.imread(summary["output"])[..., ::-1]
    assert np.array_equal(got, blended(frame))  # png: exact
    # then x2 super-resolution of the blend; a plain style still reports no blend
    code, out, err = run(capsys, photo, "--style", "wave:0.6,swap:0.4", "--upscale", "2", "--out-scale", "2", "--json")
    assert code == 0, err
    got = cv2.imread(str(tmp_path / "photo_wave-swap_x2.png"))[..., ::-1]
    assert np.array_equal(got, blended(frame).repeat(2, 0).repeat(2, 1))
    code, out, err = run(capsys, photo, "--style", "wave", "--json")
    assert code == 0, err
    assert (json.loads(out)["style"], json.loads(out)["blend"]) == ("wave", None)
    assert np.array_equal(cv2.imread(str(tmp_path / "photo_wave.png"))[..., ::-1], 255 - frame)


@pytest.mark.parametrize("spec, line", [
    ("wave:0.6,nope:0.4", "--style 'wave:0.6,nope:0.4': unknown style 'nope'; known: swap, wave"),
    ("wave:0.6,swap:0", "--style 'wave:0.6,swap:0': the weight of 'swap' is 0; weights must be more than 0"),
    ("wave:0.6,swap:-1", "--style 'wave:0.6,swap:-1': the weight of 'swap' is -1; weights must be more than 0"),
    ("wave:0.6,swap:x", "--style 'wave:0.6,swap:x': the weight of 'swap' is 'x', not a number"),
    ("wave:0.5,nn2:0.5", "--style 'wave:0.5,nn2:0.5': 'nn2' is a super-resolution model; pass it with --upscale"),
    ("wave:0.5,The Great Wave:0.5",
     "--style 'wave:0.5,The Great Wave:0.5': 'wave' is in the blend twice ('wave' and 'The Great Wave')"),
    ("", "--style is empty; give a style name, or a blend like 'wave:0.6,starry_night:0.4'"),
])
def test_a_bad_blend_is_one_line_exit_2_and_writes_nothing(tmp_path, models, capsys, spec, line):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), test_frame(40, 64))
    before = listing(tmp_path)
    code, out, err = run(capsys, photo, "--style", spec)
    assert code == 2 and out == ""
    assert one_line(err) == f"stylecam-render: {line}"
    assert listing(tmp_path) == before
