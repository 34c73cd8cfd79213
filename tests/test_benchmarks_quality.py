"""benchmarks/quality.py and benchmarks/gallery.py: the maths, the protocol and the pictures, on media made here."""

import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecam.errors import StylecamError
from stylecam.models import Catalog, sha256_file
from stylecam.testing import make_clip, test_frame, write_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import gallery  # noqa: E402
import quality  # noqa: E402


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Low-frequency colour waves: a picture bicubic interpolation should reconstruct well."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [127 + 100 * np.sin(xx / rng.uniform(6, 12) + yy / rng.uniform(8, 14) + c) for c in range(3)]
    return np.clip(np.stack(chans, -1), 0, 255).round().astype(np.uint8)


# ---------------------------------------------------------------- SR maths

def test_imresize_sizes_constant_and_linear():
    const = np.full((37, 53, 3), 77, np.uint8)
    small = quality.imresize(const, 1 / 4)
    assert small.shape == (10, 14, 3)  # ceil, as MATLAB
    assert (small == 77).all()
    # Keys' cubic reproduces a linear ramp exactly away from the borders; MATLAB maps output
    # pixel x (1-based) to input position x/4 + 0.375 when enlarging by 4
    ramp = np.repeat((np.arange(1, 41) * 5.0)[None, :, None], 3, axis=2).repeat(6, axis=0).astype(np.uint8)
    big = quality.imresize(ramp, 4)
    assert big.shape == (24, 160, 3)
    x = np.arange(1, 161)
    want = 5.0 * (x / 4 + 0.375)
    assert np.abs(big[10, 12:-12, 1] - want[12:-12]).max() <= 0.5


def test_imresize_shrinking_is_antialiased():
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: a plain bicubic sample would alias them
    small = quality.imresize(stripes, 1 / 4)
    assert np.abs(small[4:-4, 4:-4].astype(int) - 128).max() <= 2


def test_luma_is_bt601():
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    assert quality.rgb_to_y(img)[0].tolist() == pytest.approx([16.0, 235.0, 16 + 65.481])


def test_psnr():
    a = np.zeros((8, 9))
    assert quality.psnr(a, a) == math.inf
    assert quality.psnr(a, a + 10) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al.'s SSIM written out window by window (the 11x11 Gaussian, sigma 1.5, 'valid')."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for y in range(a.shape[0] - 10):
        for x in range(a.shape[1] - 10):
            pa, pb = a[y:y + 11, x:x + 11], b[y:y + 11, x:x + 11]
            ma, mb = (win * pa).sum(), (win * pb).sum()
            va, vb = (win * (pa - ma) ** 2).sum(), (win * (pb - mb) ** 2).sum()
            cov = (win * (pa - ma) * (pb - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_ssim_matches_the_definition():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 255, (23, 31))
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255)
    assert quality.ssim(a, a) == pytest.approx(1.0)
    assert quality.ssim(a, b) == pytest.approx(ssim_reference(a, b), abs=1e-9)
    assert 0.5 < quality.ssim(a, b) < 0.99


def test_sr_protocol_on_a_colour_and_a_greyscale_picture(tmp_path):
    folder = tmp_path / "sr" / "Set5"
    folder.mkdir(parents=True)
    colour = smooth_image(130, 171)  # not multiples of 4: cropped to 128 x 168
    grey = smooth_image(138, 150, seed=1)[:, :, 1]
    cv2.imwrite(str(folder / "a.png"), colour[:, :, ::-1])
    cv2.imwrite(str(folder / "b.png"), grey)
    hr, is_grey = quality.read_hr(folder / "b.png")
    assert is_grey and hr.shape == (138, 150, 3) and (hr[..., 0] == hr[..., 2]).all()
    sets = quality.sr_sets(tmp_path / "sr")
    assert list(sets) == ["Set5"]
    from stylecam.engine import Engine

    nearest = Engine(quality.nearest_model(4, tmp_path), device="cpu")
    rows = quality.measure_sr(sets, 4, {"bicubic": lambda lr: quality.imresize(lr, 4), "nearest": nearest.run})
    by = {r["method"]: r for r in rows}
    assert by["bicubic"]["images"] == 2 and [i["grey"] for i in by["bicubic"]["per_image"]] == [False, True]
    assert by["bicubic"]["psnr"] > by["nearest"]["psnr"] + 1
    assert by["bicubic"]["ssim"] > by["nearest"]["ssim"]
    # the engine's nearest model against nearest-neighbour done here, on the first picture
    hr = colour[:128, :168]
    lr = quality.imresize(hr, 1 / 4)
    mine = np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1)
    assert by["nearest"]["per_image"][0]["psnr"] == pytest.approx(quality.sr_scores(mine, hr, 4)[0])


def test_sr_part_from_the_command_line(tmp_path, capsys):
    folder = tmp_path / "sr" / "Set14"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "c.png"), smooth_image(128, 160)[:, :, ::-1])
    model = write_model(tmp_path / "up.onnx", op="nearest", kind="sr", scale=2, name="up2")
    out = tmp_path / "q.json"
    assert quality.main(["--parts", "sr", "--sr-data", str(tmp_path / "sr"), "--sr", str(model),
                         "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    methods = {(r["method"], r["scale"]) for r in result["sr"]["rows"]}
    assert ("bicubic (MATLAB-style)", 4) in methods and ("up2 (? loss, ?)", 2) in methods
    text = capsys.readouterr().out
    assert "Super-resolution ×2" in text and "paper: SRCNN" in text


def test_bad_arguments_say_so(capsys):
    assert quality.main(["--parts", "colour"]) == 2
    assert capsys.readouterr().err.strip() == "quality: unknown part(s) colour; use style, sr"
    assert quality.main(["--iters", "50,x"]) == 2
    assert capsys.readouterr().err.strip() == "quality: --iters must be whole numbers, not '50,x'"


# ---------------------------------------------------------------- style part helpers

def test_iterations_to_match():
    curve = {0: 10.0, 50: 4.0, 100: 2.0}
    assert quality.iterations_to_match(curve, 3.0) == pytest.approx(75.0)
    assert quality.iterations_to_match(curve, 1.0) is None
    assert quality.iterations_to_match(curve, 12.0) == 0.0


def test_style_image_is_found_by_name_and_checked_by_hash(tmp_path):
    styles = tmp_path / "styles"
    styles.mkdir()
    right = styles / "p.png"
    cv2.imwrite(str(right), test_frame(40, 50))
    sha = sha256_file(right)
    path = write_model(tmp_path / "m.onnx", name="m", meta={"stylecam.source_sha256": sha,
                                                            "stylecam.train": json.dumps({"style": "p.png"})})
    info = Catalog().resolve(path)
    assert quality.find_style_image(info, folder=styles) == right
    wrong = tmp_path / "q.png"
    cv2.imwrite(str(wrong), test_frame(40, 50, seed=5))
    with pytest.raises(StylecamError) as exc:
        quality.find_style_image(info, str(wrong), folder=styles)
    assert str(exc.value) == (f"m: q.png is not the painting it was trained on (sha256 "
                              f"{sha256_file(wrong)[:12]}..., model says {sha[:12]}...)")


def test_gatys_results_are_cached_and_extended(tmp_path):
    torch = pytest.importorskip("torch")
    from tiny_features import TinyFeatures  # VGG is too slow for this test

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads spin-wait on each other on the busy 2-core machine
    try:
        run_cached_and_extended(TinyFeatures(), tmp_path)
    finally:
        torch.set_num_threads(threads)


def run_cached_and_extended(net, tmp_path):
    """First run computes, the second reads the cache, a new mark reruns and stores the union."""
    import torch
    from trainer.losses import LossConfig, style_targets

    cfg = LossConfig(1.0, 50.0, 1.0, "relu2_2", ("relu1_2", "relu2_2"))
    style = torch.rand(1, 3, 40, 40)
    grams = style_targets(net, style, cfg)
    photo = test_frame(32, 36)
    key = quality.gatys_key("s" * 64, 80, cfg, photo, 50)
    assert key != quality.gatys_key("s" * 64, 80, cfg, test_frame(32, 36, seed=1), 50)
    first, cached = quality.gatys_cached(net, photo, grams, cfg, [3, 6], key, tmp_path)
    assert not cached and first[6]["objective"] <= first[3]["objective"]
    again, cached = quality.gatys_cached(net, photo, grams, cfg, [3, 6], key, tmp_path)
    assert cached and again == first
    more, cached = quality.gatys_cached(net, photo, grams, cfg, [6, 9], key, tmp_path)
    assert not cached and set(more) == {6, 9}
    stored = json.loads((tmp_path / f"{key}.json").read_text())
    assert sorted(stored, key=int) == ["3", "6", "9"]


# ---------------------------------------------------------------- gallery

def test_palette_png_reads_back_exactly(tmp_path):
    img = smooth_image(50, 70)
    index, palette = gallery.quantize(img, colours=64)
    path = tmp_path / "p.png"
    path.write_bytes(gallery.palette_png(index, palette))
    back = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert (back == palette[index]).all()
    assert np.abs(back.astype(int) - img).mean() < 6


def test_small_png_keeps_under_the_limit():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)  # incompressible as RGB
    data, how = gallery.small_png(noisy, 20 * 1024)
    assert len(data) <= 20 * 1024 and how.startswith("palette")
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None


def test_gallery_tiles_and_labels(tmp_path):
    photo = test_frame(120, 160)
    inv = Catalog().resolve(write_model(tmp_path / "inv.onnx", op="invert", name="inv",
                                        meta={"stylecam.title": "Inverted", "stylecam.credit": "Nobody, 2026"}))
    same = Catalog().resolve(write_model(tmp_path / "id.onnx", name="same"))
    img = gallery.gallery(photo, [inv, same], tile=80, run_side=None, photo_credit="test")
    band = max(34, 80 // 7)
    assert img.shape == (6 + 60 + band + 6, 3 * 80 + 4 * 6, 3)  # one row of three 80x60 tiles
    first = img[6:66, 6:86].astype(int)
    second = img[6:66, 92:172].astype(int)
    assert np.abs(second - (255 - first)).max() <= 1  # the invert model, placed second
    assert (img[66:66 + band, 92:172] != gallery.BG).any()  # its title was drawn


def test_gallery_shows_a_quality_tier_beside_its_fast_tier(tmp_path):
    photo = test_frame(120, 160)
    write_model(tmp_path / "two.onnx", name="two")
    write_model(tmp_path / "two.quality.onnx", op="invert", name="two",
                meta={"stylecam.train": json.dumps({"tier": "quality"})})
    two = Catalog().resolve(tmp_path / "two.onnx")
    assert two.quality_path is not None
    img = gallery.gallery(photo, [two], tile=80, run_side=None, photo_credit="test")
    fast, quality = img[6:66, 92:172].astype(int), img[6:66, 178:258].astype(int)
    assert np.abs(quality - (255 - fast)).max() <= 1  # the identity, then its inverting quality tier
    assert gallery.gallery(photo, [two], tile=80, run_side=None, photo_credit="test", tiers=False).shape[1] == 2 * 80 + 3 * 6


def test_fit_text_shortens_long_titles():
    text, scale = gallery.fit_text("A Sunday Afternoon on the Island of La Grande Jatte", 120, 0.5)
    assert text.endswith("...") and cv2.getTextSize(text, gallery.FONT, scale, 1)[0][0] <= 120
    assert gallery.ascii_text("Seurat, 1884–86 · Île") == "Seurat, 1884-86  Ile"


def test_strip_rows(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", frames=12, width=96, height=64, audio=False)
    model = Catalog().resolve(write_model(tmp_path / "inv.onnx", op="invert", name="inv"))
    img = gallery.strip(clip, model, start=6, count=3, tile=48, run_side=96, stabilised=True)
    assert img.shape == (3 * (32 + 4) + 4, 150 + 3 * (48 + 4) + 4, 3)
    original = img[4:36, 154:202].astype(int)
    styled = img[40:72, 154:202].astype(int)
    assert np.abs(styled - (255 - original)).mean() < 3


def test_curve_plot_draws_each_net_at_its_ratio():
    part = {"models": [{"name": "a", "tier": "fast", "net": 3.0,
                        "curve": {"0": 20.0, "10": 4.0, "50": 2.5, "100": 2.0}}]}
    img = quality.curve_plot(part, width=400, height=300)
    assert img.shape == (300, 400, 3)
    colour = np.array(quality.PALETTE[0])
    ymax = min(20.0 / 2.0 * 1.05, 8.0)
    y = round(20 + (300 - 20 - 44) * (1 - 1.5 / ymax))  # the net at 3.0 / 2.0 = 1.5 x Gatys@100
    row = np.abs(img[y - 1:y + 2, 60:240].astype(int) - colour).sum(-1).min(0)
    assert (row == 0).mean() > 0.3  # dashed: about half of the row


def test_fast_against_quality_tier():
    w = {"content": 1.0, "style": 1.0}
    fast = {"name": "wave", "tier": "fast", "style_image": "wave.jpg", "weights": w, "style_size": 320,
            "net": 3.0, "ratio_gatys100": 1.5}
    good = dict(fast, name="wave-hq", tier="quality", net=2.5, ratio_gatys100=0.9)
    other = dict(good, style_size=512, ratio_gatys100=1.0)
    alone = dict(fast, name="scream", style_image="scream.jpg")
    [p] = quality.fast_vs_quality([fast, good, alone])
    assert (p["fast"], p["quality"], p["how"]) == ("wave", "wave-hq", "same objective")
    assert p["ratio"] == pytest.approx(1.2) and p["passes"]
    [p] = quality.fast_vs_quality([fast, other])
    assert p["how"] == "each against its own Gatys@100" and p["ratio"] == pytest.approx(1.5) and not p["passes"]
