"""stylecam-render with a style and super-resolution (issue 16, item 4): the style runs small
and the SR model brings it back to the input's own size; ``--out-scale K`` asks for K x the
input; ``--upscale`` alone keeps making scale x the input. Real clips made with PyAV, real
contract models run by onnxruntime."""

import json

import av
import cv2
import numpy as np
import pytest

from stylecam.errors import InputError
from stylecam.render_plan import check_output_size
from stylecam.testing import make_clip, test_frame, write_model
from render_cli import run

TOL = 12  # mean |difference| allowed after H.264


def decode(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def nearest(img, k):
    return img.repeat(k, 0).repeat(k, 1)


def swap(img):
    return np.ascontiguousarray(img[..., ::-1])


@pytest.fixture
def models(isolated_catalog):
    """'swap' (RGB -> BGR) as a style, 'nn2' and 'nn4' (nearest x2, x4) as super-resolution."""
    builtin, user = isolated_catalog
    write_model(builtin / "swap.onnx", "swap", name="swap")
    write_model(user / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    write_model(user / "nn4.onnx", "nearest", kind="sr", scale=4, name="nn4")


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4", frames=10, width=192, height=128)


def test_style_and_x4_on_a_clip_comes_back_at_the_input_size(tmp_path, clip, models, capsys):
    code, out, err = run(capsys, clip, "--style", "swap", "--upscale", "4", "--stabilize", "0", "--json")
    assert code == 0, err
    dst = tmp_path / "clip_swap_x4.mp4"
    assert json.loads(out)["output"] == str(dst)
    src, got = decode(clip), decode(dst)
    assert len(got) == 10 and got[0].shape == (128, 192, 3)  # was 768x512
    composed = [nearest(swap(cv2.resize(a, (48, 32), interpolation=cv2.INTER_AREA)), 4) for a in src]
    for b, want in zip(got, composed):
        assert mean_abs(b, want) < TOL  # styled at 48x32, then x4
    # the picture really went through the small size: closer to that than to a full-size style
    assert mean_abs(got[5], composed[5]) < 0.7 * mean_abs(got[5], swap(src[5]))


def test_max_side_with_upscale_keeps_the_size_and_x2_works_too(tmp_path, clip, models, capsys):
    # the case: --max-side ran the style small, sized it back to full, then x2
    code, _, err = run(capsys, clip, "--style", "swap", "--upscale", "2", "--max-side", "40", "--stabilize", "0", "-o", tmp_path / "a.mkv")
    assert code == 0, err
    got = decode(tmp_path / "a.mkv")
    assert got[0].shape == (128, 192, 3)  # the old meaning made 384x256
    src = decode(clip)
    small = cv2.resize(src[3], (40, 32), interpolation=cv2.INTER_AREA)  # 27 px would be below 32
    assert mean_abs(got[3], cv2.resize(swap(small), (192, 128))) < 2 * TOL  # styled at 40 px, back, x2


def test_the_explicit_output_scale(tmp_path, clip, models, capsys):
    code, _, err = run(capsys, clip, "--style", "swap", "--upscale", "2", "--out-scale", "2", "--stabilize", "0",
                         "-o", tmp_path / "big.mkv")
    assert code == 0, err
    src, big = decode(clip), decode(tmp_path / "big.mkv")
    assert big[0].shape == (256, 384, 3)  # styled at full size, then x2: the old meaning, asked for
    for a, b in zip(src, big):
        assert mean_abs(b, nearest(swap(a), 2)) < TOL
    code, _, err = run(capsys, clip, "--style", "swap", "--upscale", "4", "--out-scale", "1.5", "--stabilize", "0",
                         "-o", tmp_path / "mid.mkv")
    assert code == 0, err
    mid = decode(tmp_path / "mid.mkv")
    assert mid[0].shape == (192, 288, 3)
    assert mean_abs(mid[2], nearest(swap(cv2.resize(src[2], (72, 48), interpolation=cv2.INTER_AREA)), 4)) < TOL
    # --upscale alone: scale x the input, as before
    code, _, err = run(capsys, clip, "--upscale", "nn2")
    assert code == 0, err
    only = decode(tmp_path / "clip_x2.mp4")
    assert only[5].shape == (256, 384, 3)
    assert mean_abs(only[5], nearest(src[5], 2)) < TOL


def test_a_picture_is_exact(tmp_path, models, capsys):
    frame = test_frame(128, 192)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), frame[..., ::-1])
    code, out, err = run(capsys, photo, "--style", "swap", "--upscale", "4", "--json")
    assert code == 0, err
    got = cv2.imread(json.loads(out)["output"])[..., ::-1]
    want = nearest(swap(cv2.resize(frame, (48, 32), interpolation=cv2.INTER_AREA)), 4)
    assert got.shape == frame.shape and np.array_equal(got, want)


def test_impossible_combinations_are_one_line_exit_2_and_touch_nothing(tmp_path, clip, models, capsys):
    cases = [
        ([clip, "--style", "swap", "--out-scale", "2"],
         "--out-scale needs --upscale: the super-resolution model makes the output size"),
        ([clip, "--upscale", "2", "--max-side", "64"],
         "--max-side sets the style model's size and needs --style; with --upscale alone, --out-scale K sets the output size"),
        ([clip, "--style", "swap", "--upscale", "2", "--out-scale", "-1"], "--out-scale must be more than 0, got -1"),
        ([clip, "--style", "swap", "--upscale", "2", "--out-scale", "0.1"],
         f"{clip}: 192x128 x0.1 would be 20x12; stylecam needs at least 32x32"),
    ]
    for argv, message in cases:
        before = sorted(p.name for p in tmp_path.iterdir() if p.name != "ort_cache")
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.strip() == f"stylecam-render: {message}", (argv, err)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ort_cache") == before


def test_the_pixel_limit_applies_to_the_real_output(tmp_path):
    def out_size(k, scale):
        from stylecam.frames import plan_sizes
        return lambda h, w: plan_sizes(h, w, style=True, sr_scale=scale, out_scale=k).out

    # a style and x2 on 4000x4000 now makes 4000x4000: allowed; x2 of it asked for is not
    assert check_output_size("pic.png", 4000, 4000, out_size(None, 2)) == (4000, 4000)
    with pytest.raises(InputError) as err:
        check_output_size("pic.png", 4000, 4000, out_size(2, 2))
    assert str(err.value) == ("pic.png: 4000x4000 x2 would be 8000x8000, 64 megapixels; "
                              "stylecam makes at most 50: scale it down first")
