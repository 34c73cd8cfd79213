"""The model contract and the catalog, on real ONNX files built in code."""

import json

import pytest
from onnx import TensorProto

from stylecam import models
from stylecam.errors import ContractError, ModelError, UnknownModelError
from stylecam.testing import write_model


def test_good_models_are_read(tmp_path):
    info = models.check_model(write_model(tmp_path / "a.onnx", "invert", name="Inv",
                                          meta={"stylecam.title": "Inverted", "stylecam.credit": "nobody"}))
    assert (info.name, info.kind, info.scale, info.title, info.credit) == ("Inv", "style", 1, "Inverted", "nobody")
    assert info.train == {"note": "built in code for tests"}
    sr = models.check_model(write_model(tmp_path / "b.onnx", "nearest", kind="sr", scale=4, name="nn4"))
    assert (sr.kind, sr.scale, sr.label) == ("sr", 4, "Super-resolution ×4 (nn4)")


BROKEN = [
    (dict(input_name="x"), "it must have one input named 'frame', has ['x']"),
    (dict(output_name="out"), "it must have one output named 'image', has ['out']"),
    (dict(op="identity", elem_type=TensorProto.FLOAT), "input 'frame' must be uint8, is float"),
    (dict(in_shape=[3, "H", "W"]), "input 'frame' must be (H, W, 3) RGB, is (3, ?, ?)"),
    (dict(in_shape=[240, 320, 3]), "input 'frame' must take any H and W, is fixed at (240, 320, 3)"),
    (dict(meta={"stylecam.arch": None}), "metadata stylecam.arch missing"),
    (dict(meta={"stylecam.format": "2"}), "stylecam.format is '2', this stylecam reads '1'"),
    (dict(meta={"stylecam.kind": "paint"}), "stylecam.kind must be one of style, sr, is 'paint'"),
    (dict(scale=2), "a style model must have stylecam.scale 1, has 2"),
    (dict(kind="sr", scale=5), "a super-resolution model's stylecam.scale must be one of (2, 3, 4, 8), is 5"),
    (dict(meta={"stylecam.train": "{oops"}), "stylecam.train is not JSON"),
    (dict(meta={"stylecam.train": "[1]"}), "stylecam.train must be a JSON object"),
    (dict(meta={"stylecam.source_sha256": None}),
     "a style model needs stylecam.source_sha256 (sha256 of the style image)"),
]


@pytest.mark.parametrize("kw, rule", BROKEN)
def test_contract_violations_name_file_and_rule(tmp_path, kw, rule):
    path = write_model(tmp_path / "bad.onnx", **kw)
    with pytest.raises(ContractError) as err:
        models.check_model(path)
    assert str(err.value) == f"{path}: not a stylecam model: {rule}"


def test_not_onnx_and_missing(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a model at all")
    with pytest.raises(ContractError, match=r"junk.onnx: not a stylecam model: it is not an ONNX file"):
        models.check_model(junk)
    with pytest.raises(ModelError, match=r"nope.onnx: no such model file$"):
        models.check_model(tmp_path / "nope.onnx")


def test_catalog_lists_shadows_and_reports_broken(isolated_catalog):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(builtin / "x4.onnx", "nearest", kind="sr", scale=4, name="x4")
    write_model(user / "mine.onnx", "swap", name="Mine")
    write_model(user / "wave.onnx", "swap", name="wave")  # the user's own wave wins
    (user / "broken.onnx").write_bytes(b"\x00garbage")
    cat = models.Catalog()
    ms = cat.models()
    assert [(m.name, m.origin) for m in ms] == [("Mine", "user"), ("wave", "user"), ("x4", "builtin")]
    assert len(cat.problems) == 1 and "broken.onnx: not a stylecam model" in cat.problems[0]
    assert cat.resolve("MINE").name == "Mine"
    assert cat.resolve("x4", kind="sr").scale == 4
    assert cat.resolve(str(builtin / "wave.onnx")).origin == "path"


def test_unknown_name_lists_known_and_suggests(isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(builtin / "scream.onnx", "invert", name="scream")
    with pytest.raises(UnknownModelError) as err:
        models.Catalog().resolve("wav")
    assert str(err.value) == "unknown model 'wav'; did you mean 'wave'? known: scream, wave"
    with pytest.raises(UnknownModelError) as err:
        models.Catalog().resolve("zzz", kind="style")
    assert str(err.value) == "unknown style 'zzz'; known: scream, wave"


def test_catalog_rereads_changed_files(isolated_catalog):
    _, user = isolated_catalog
    cat = models.Catalog()
    assert cat.models() == []
    write_model(user / "a.onnx", "invert", name="a", meta={"stylecam.title": "First"})
    assert [m.title for m in cat.models()] == ["First"]
    write_model(user / "a.onnx", "invert", name="a", meta={"stylecam.title": "Second title"})
    assert [m.title for m in cat.models()] == ["Second title"]


def test_install_model(isolated_catalog, tmp_path):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    src = write_model(tmp_path / "out" / "whatever.onnx", "swap", name="mine",
                      meta={"stylecam.train": json.dumps({"steps": 3})})
    dest = models.install_model(src)
    assert dest == user / "mine.onnx"
    assert models.Catalog().resolve("mine").train == {"steps": 3}
    assert [p.name for p in user.iterdir()] == ["mine.onnx"]  # no temp files left
    clash = write_model(tmp_path / "w.onnx", "swap", name="Wave")
    with pytest.raises(ModelError) as err:
        models.install_model(clash)
    assert str(err.value) == "'Wave' is a built-in model; choose another name or pass --force"
    assert models.install_model(clash, force=True) == user / "Wave.onnx"


def test_installed_model_is_readable_by_others(isolated_catalog, tmp_path):
    import os
    import stat
    old = os.umask(0o022)
    try:
        dest = models.install_model(write_model(tmp_path / "m.onnx", "swap", name="m"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_a_title_works_where_a_name_does(isolated_catalog):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    write_model(builtin / "kiss.onnx", "invert", name="kiss", meta={"stylecam.title": "The Kiss"})
    write_model(user / "the_kiss.onnx", "swap", name="The Kiss")  # a name wins over another's title
    write_model(builtin / "x4.onnx", "nearest", kind="sr", scale=4, name="x4")
    cat = models.Catalog()
    assert cat.resolve("The Great Wave").name == "wave"
    assert cat.resolve("  the great   WAVE ").name == "wave"
    assert cat.resolve("the kiss").name == "The Kiss"
    assert cat.resolve("Super-resolution ×4 (x4)", kind="sr").name == "x4"  # the dropdown's label
    with pytest.raises(UnknownModelError) as err:
        cat.resolve("Great Wave", kind="style")
    assert str(err.value) == "unknown style 'Great Wave'; did you mean 'wave'? known: kiss, The Kiss, wave"
    with pytest.raises(UnknownModelError):
        cat.resolve("The Great Wave", kind="sr")  # a title of another kind is not taken


def test_list_styles_table(isolated_catalog, tmp_path):
    from stylecam.quantize import quantize_model
    from stylecam.testing import moving_frame

    builtin, user = isolated_catalog
    assert models.list_styles() == f"no models installed (put .onnx files in {user})"
    write_model(builtin / "wave.onnx", "conv", name="wave",
                meta={"stylecam.title": "The Great Wave", "stylecam.train": json.dumps({"tier": "fast"})})
    quantize_model(builtin / "wave.onnx", [moving_frame(i * 5, 64, 96) for i in range(4)], calibrated_on="test")
    write_model(user / "mine.onnx", "swap", name="mine")
    write_model(builtin / "x4.onnx", "nearest", kind="sr", scale=4, name="x4",
                meta={"stylecam.train": json.dumps({"tier": "quality"})})
    assert models.list_styles().splitlines() == [
        "name  title                     tier     precision",
        "mine  mine                      -        float",
        "wave  The Great Wave            fast     float, int8",
        "x4    Super-resolution ×4 (x4)  quality  float",
    ]


def test_a_png_beside_the_model_is_its_icon(isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(builtin / "plain.onnx", "invert", name="plain")
    (builtin / "wave.png").write_bytes(b"\x89PNG")
    icons = {m.name: m.icon for m in models.Catalog().models()}
    assert icons == {"wave": builtin / "wave.png", "plain": None}


def test_every_built_in_style_has_its_painting_as_icon(monkeypatch):
    monkeypatch.delenv("STYLECAM_ASSETS_DIR")
    import cv2

    styles = [m for m in models.Catalog([(models.builtin_dir(), "builtin")]).models() if m.kind == "style"]
    assert len(styles) >= 10
    for m in styles:
        assert m.icon is not None, m.name
        assert cv2.imread(str(m.icon)).shape == (48, 48, 3) and m.icon.stat().st_size < 12_000
