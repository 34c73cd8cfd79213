"""benchmarks/peer_sheet.py's layout and benchmarks/_peer_arbitrary.py's input geometry, on
pictures made here (no network, no ../shared, no models)."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _peer_arbitrary as peer  # noqa: E402
import peer_sheet as ps  # noqa: E402


def picture(h, w, value=128):
    img = np.full((h, w, 3), value, np.uint8)
    img[h // 2:, : w // 2] = 255 - value  # something for the resizes to keep
    return img


def test_scale_short_sets_the_short_side_and_keeps_the_aspect():
    assert ps.scale_short(picture(512, 768), 360).shape == (360, 540, 3)
    assert ps.scale_short(picture(768, 512), 360).shape == (540, 360, 3)
    assert ps.scale_short(picture(288, 352), 360).shape == (360, 440, 3)  # grows too
    same = picture(360, 480)
    assert ps.scale_short(same, 360) is same


def test_fit_height_keeps_the_aspect():
    assert ps.fit_height(picture(360, 540), 220).shape == (220, 330, 3)
    assert ps.fit_height(picture(1080, 1080), 220).shape == (220, 220, 3)
    assert ps.fit_height(picture(100, 50), 220).shape == (220, 110, 3)


def test_label_writes_white_with_black_outline_and_leaves_the_input_alone():
    img = picture(220, 330, value=128)
    img[:] = 128
    out = ps.label(img, "ours udnie")
    assert (img == 128).all()
    corner = out[:30, :200]
    assert (corner == 255).all(axis=-1).any(), "white text"
    assert (corner == 0).all(axis=-1).any(), "black outline"
    assert (out[40:] == 128).all(), "only the top left is written on"


def test_label_shrinks_a_long_text_to_the_tile():
    narrow = np.full((220, 120, 3), 128, np.uint8)
    out = ps.label(narrow, "peer stl-lite arbitrary, a long label")
    assert out.shape == narrow.shape
    assert (out[:, -3:] == 128).all(), "the text stays inside the width at its smallest"


def test_build_row_puts_tiles_at_the_row_height_with_gaps():
    tiles = [(picture(360, 540), "photo"), (picture(1000, 800), "painting"),
             (picture(360, 540), "ours"), (picture(360, 540), "peer")]
    row = ps.build_row(tiles, 220, gap=4)
    assert row.shape == (220, 330 + 176 + 330 + 330 + 3 * 4, 3)
    gap = row[:, 330:334]
    assert (gap == ps.BG).all()
    # the second tile starts after the gap: its bottom-left quarter is the light part
    assert row[200, 340, 0] == 127 and row[10, 340 + 150, 0] == 128


def test_stack_rows_left_aligns_and_pads_to_the_widest():
    rows = [np.full((220, 500, 3), 200, np.uint8), np.full((220, 700, 3), 100, np.uint8)]
    sheet = ps.stack_rows(rows, gap=4)
    assert sheet.shape == (220 + 4 + 220, 700, 3)
    assert (sheet[:220, :500] == 200).all()
    assert (sheet[:220, 500:] == ps.BG).all()
    assert (sheet[220:224] == ps.BG).all()
    assert (sheet[224:] == 100).all()


def test_header_is_one_line_of_text_per_entry():
    strip = ps.header(600, ["first line", "second line"], line_h=18)
    assert strip.shape == (18 * 2 + 6, 600, 3)
    assert (strip != ps.BG).any(axis=-1)[:18].any() and (strip != ps.BG).any(axis=-1)[18:].any()


def test_jpeg_under_shrinks_the_sheet_until_it_fits():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)  # incompressible
    data, scale = ps.jpeg_under(noisy, 10_000_000)
    assert scale == 1.0
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (600, 800, 3)
    budget = len(data) // 3
    small, scale = ps.jpeg_under(noisy, budget)
    assert len(small) <= budget and scale < 1.0
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[1] < 800


def test_parse_models(tmp_path):
    styles = ["udnie", "starry_night"]
    assert ps.parse_models("", styles) == {"udnie": "udnie", "starry_night": "starry_night"}
    assert ps.parse_models("udnie=/x/a.onnx", styles) == {"udnie": "/x/a.onnx", "starry_night": "starry_night"}
    assert ps.parse_models("a.onnx, b.onnx", styles) == {"udnie": "a.onnx", "starry_night": "b.onnx"}
    (tmp_path / "udnie.onnx").write_bytes(b"")
    assert ps.parse_models(str(tmp_path), styles) == {"udnie": str(tmp_path / "udnie.onnx"),
                                                      "starry_night": "starry_night"}
    with pytest.raises(ValueError):
        ps.parse_models("a.onnx", styles)
    with pytest.raises(ValueError):
        ps.parse_models("udnie=a.onnx,b.onnx", styles)
    assert ps.model_label("/runs/udnie_v3.onnx") == "ours udnie_v3"
    assert ps.model_label("udnie") == "ours udnie"


def test_photos_amber_first_then_set14_and_rows_photo_major(tmp_path):
    paths = ps.photo_paths(3, tmp_path)
    assert [p.name for p in paths] == ["amber.jpg", "monarch.png", "zebra.png"]
    assert paths[0].parent.name == "reference" and paths[1].parent.name == "Set14"
    assert not {"lenna", "bridge", "man", "ppt3", "comic"} & set(ps.SET14)
    assert all("content" not in p.parts for p in ps.photo_paths(99, tmp_path))
    assert ps.sheet_rows(["a", "b"], ["u", "s"]) == [("a", "u"), ("a", "s"), ("b", "u"), ("b", "s")]


def test_peer_geometry_is_its_stylize_with():
    # the longer side goes to 384, rounded, the other in proportion
    assert peer.content_geometry(540, 360) == (384, 256)
    assert peer.content_geometry(360, 540) == (256, 384)
    assert peer.content_geometry(1080, 1080) == (384, 384)
    x, sw, sh = peer.content_input(picture(360, 540))
    assert x.shape == (1, 384, 384, 3) and x.dtype == np.float32 and (sw, sh) == (384, 256)
    assert 0.0 <= x.min() and x.max() <= 1.0
    # reflect padding below: row 256 + k mirrors row 254 - k
    assert np.array_equal(x[0, 256 + 10], x[0, 254 - 10])


def test_peer_style_input_is_a_centre_square_at_256():
    painting = np.zeros((300, 500, 3), np.uint8)
    painting[:, 100:400] = 255  # the centre square is all white
    s = peer.style_input(painting)
    assert s.shape == (1, 256, 256, 3) and s.dtype == np.float32
    assert np.allclose(s, 1.0)
