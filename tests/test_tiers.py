"""A style's two tiers: ``NAME.quality.onnx`` beside ``NAME.onnx`` is its quality tier, one
catalog entry; ``engine.choose_tier`` picks which runs. Real ONNX files built in code, run by
onnxruntime."""

import json

import numpy as np
import pytest

from stylecam import engine, models
from stylecam.errors import ModelError, UsageError
from stylecam.live_worker import _device_label
from stylecam.testing import test_frame, write_model

FAST = {"stylecam.train": json.dumps({"tier": "fast"})}
QUALITY = {"stylecam.train": json.dumps({"tier": "quality"})}


def two_tiers(folder, name="wave"):
    """``name`` as identity (fast) with an invert quality tier beside it."""
    write_model(folder / f"{name}.onnx", "identity", name=name, meta=FAST)
    return write_model(folder / f"{name}.quality.onnx", "invert", name=name, meta=QUALITY)


def test_a_good_quality_tier_is_attached_to_its_style(isolated_catalog):
    builtin, user = isolated_catalog
    quality = two_tiers(builtin)
    write_model(user / "plain.onnx", "swap", name="plain")
    cat = models.Catalog()
    ms = cat.models()
    assert [(m.name, m.quality_path) for m in ms] == [("plain", None), ("wave", quality)]
    assert cat.problems == []
    assert ms[1].path == builtin / "wave.onnx" and ms[1].tiers == "fast, quality"
    assert cat.resolve(str(builtin / "wave.onnx")).quality_path == quality  # a path too
    assert models.quality_path(builtin / "wave.onnx") == quality and models.is_quality(quality)


BAD = [
    (dict(op="invert", name="other", meta=QUALITY), "its stylecam.name is 'other', not 'wave'"),
    (dict(op="invert", name="wave", meta=FAST), "its stylecam.train tier is 'fast', not 'quality'"),
    (dict(op="invert", name="wave"), "its stylecam.train tier is 'none', not 'quality'"),
    (dict(op="nearest", name="wave", kind="sr", scale=2, meta=QUALITY), "only a style has a quality tier"),
    (dict(op="invert", name="wave", meta={**QUALITY, "stylecam.precision": "int8"}),
     "a quality tier runs in float, its stylecam.precision is 'int8'"),
]


@pytest.mark.parametrize("kw, why", BAD)
def test_a_bad_quality_tier_is_reported_and_left_off(isolated_catalog, kw, why):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "identity", name="wave", meta=FAST)
    bad = write_model(builtin / "wave.quality.onnx", **kw)
    cat = models.Catalog()
    assert [(m.name, m.quality_path, m.tiers) for m in cat.models()] == [("wave", None, "fast")]
    assert cat.problems == [f"{bad}: not the quality tier of wave.onnx: {why}"]


def test_a_broken_or_lone_quality_file_is_a_problem(isolated_catalog):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "identity", name="wave", meta=FAST)
    (builtin / "wave.quality.onnx").write_bytes(b"\x00garbage")
    lone = write_model(user / "lone.quality.onnx", "invert", name="lone", meta=QUALITY)
    cat = models.Catalog()
    assert [(m.name, m.quality_path) for m in cat.models()] == [("wave", None)]
    assert len(cat.problems) == 2
    assert cat.problems[0].startswith(f"{builtin / 'wave.quality.onnx'}: not a stylecam model")
    assert cat.problems[1] == (f"{lone}: a quality tier with no lone.onnx beside it; "
                               "put its fast model there, or remove it")


def test_list_styles_shows_both_tiers(isolated_catalog, capsys):
    from stylecam import render

    builtin, user = isolated_catalog
    two_tiers(builtin)
    write_model(user / "mine.onnx", "swap", name="mine")
    two_tiers(user, "duo")  # its fast model says "fast" too
    assert render.main(["--list-styles"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "name  title  tier           precision",
        "duo   duo    fast, quality  float",
        "mine  mine   -              float",
        "wave  wave   fast, quality  float",
    ]


def test_install_copies_the_quality_tier_along(isolated_catalog, tmp_path):
    _, user = isolated_catalog
    quality = two_tiers(tmp_path / "run", "mine")
    dest = models.install_model(tmp_path / "run" / "mine.onnx")
    assert sorted(p.name for p in user.iterdir()) == ["mine.onnx", "mine.quality.onnx"]
    assert (user / "mine.quality.onnx").read_bytes() == quality.read_bytes()
    assert models.Catalog().resolve("mine").quality_path == user / "mine.quality.onnx"
    # a fast model installed again without one keeps the quality tier already there (its own network)
    write_model(tmp_path / "again" / "mine.onnx", "swap", name="mine", meta=FAST)
    assert models.install_model(tmp_path / "again" / "mine.onnx") == dest
    assert models.Catalog().resolve("mine").quality_path == user / "mine.quality.onnx"


def test_a_quality_tier_installs_beside_its_fast_model_only(isolated_catalog, tmp_path):
    _, user = isolated_catalog
    alone = write_model(tmp_path / "run" / "mine.quality.onnx", "invert", name="mine", meta=QUALITY)
    with pytest.raises(ModelError, match=r"'mine' is a quality tier and .*mine.onnx is not there: install"):
        models.install_model(alone)  # what stylecam-train --tier quality installs
    assert list(user.iterdir()) == [] if user.is_dir() else True
    write_model(tmp_path / "fast" / "mine.onnx", "identity", name="mine", meta=FAST)
    models.install_model(tmp_path / "fast" / "mine.onnx")
    assert models.install_model(alone) == user / "mine.quality.onnx"
    assert models.Catalog().resolve("mine").tiers == "fast, quality"


@pytest.fixture
def wave(isolated_catalog):
    two_tiers(isolated_catalog[0])
    return models.Catalog().resolve("wave")


def test_choose_tier_fast_quality_and_auto(wave, isolated_catalog):
    choose = engine.choose_tier
    assert [choose(wave, "fast", on_cuda=c) for c in (False, True)] == ["fast", "fast"]
    assert [choose(wave, "quality", on_cuda=c) for c in (False, True)] == ["quality", "quality"]
    assert choose(wave, "quality", on_cuda=False, precision="float") == "quality"
    assert choose(wave, "auto", on_cuda=False) == "fast"  # never on the CPU
    assert choose(wave, "auto", on_cuda=True) == "quality"
    assert choose(wave, "auto", on_cuda=True, precision="int8") == "fast"  # int8 is the fast tier's
    write_model(isolated_catalog[0] / "plain.onnx", "swap", name="plain")
    plain = models.Catalog().resolve("plain")
    assert choose(plain, "auto", on_cuda=True) == "fast"


def test_choose_tier_errors_are_one_line(wave):
    plain = models.check_model(write_model(wave.path.parent / "plain.onnx", "swap", name="plain"))
    with pytest.raises(ModelError) as err:
        engine.choose_tier(plain, "quality", on_cuda=True)
    assert str(err.value) == ("plain has no quality tier (plain.quality.onnx); "
                              "train one with stylecam-train --tier quality")
    with pytest.raises(UsageError) as err:
        engine.choose_tier(wave, "quality", on_cuda=False, precision="int8")
    assert str(err.value) == ("wave: the quality tier runs in float only; "
                              "use precision auto or float with it, or tier fast for int8")
    with pytest.raises(UsageError, match="unknown tier 'best'; use one of auto, fast, quality"):
        engine.choose_tier(wave, "best", on_cuda=False)


def test_the_engine_runs_the_tier_it_chose(wave):
    frame = test_frame(48, 80)
    fast = engine.Engine(wave, device="cpu", tier="auto")
    assert (fast.tier, fast.path, _device_label(fast)) == ("fast", wave.path, "CPU")
    assert np.array_equal(fast.run(frame), frame)
    quality = engine.Engine(str(wave.path), device="cpu", tier="quality")  # a path gets its tiers too
    assert (quality.tier, quality.path, quality.precision) == ("quality", wave.quality_path, "float")
    assert _device_label(quality) == "CPU quality"
    assert np.array_equal(quality.run(frame), 255 - frame)
    assert engine.Engine(wave, device="cpu").tier == "fast"  # the default: what it always ran
    alone = engine.Engine(str(wave.quality_path), device="cpu")  # a quality file by itself is what runs
    assert (alone.tier, alone.path, _device_label(alone)) == ("quality", wave.quality_path, "CPU quality")
    assert np.array_equal(alone.run(frame), 255 - frame)


def test_the_live_worker_says_when_the_quality_tier_runs(wave):
    import threading

    from stylecam.live import LatestSlot, Worker

    labels, loaded = [], threading.Event()
    worker = Worker(LatestSlot(), device="cpu", tier="quality",
                    on_model=lambda info, device: (labels.append(device), loaded.set())).start()
    try:
        worker.select(wave)
        assert loaded.wait(30)
        assert worker.engine.path == wave.quality_path
    finally:
        worker.stop()
    assert labels == ["CPU quality"]  # the window's device label
