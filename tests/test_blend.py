"""Blend specs and the mixing of style outputs (stylecam.blend): pure, no Qt."""

import numpy as np
import pytest

from stylecam.blend import BlendedStyle, mix, parse_spec, resolve_blend
from stylecam.engine import Engine
from stylecam.errors import UnknownModelError, UsageError
from stylecam.models import Catalog
from stylecam.testing import test_frame, write_model


@pytest.fixture
def catalog(isolated_catalog):
    builtin, user = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    write_model(builtin / "starry_night.onnx", "swap", name="starry_night",
                meta={"stylecam.title": "The Starry Night"})
    write_model(user / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    return Catalog()


@pytest.mark.parametrize("spec, want", [
    ("wave:0.6,starry_night:0.4", [("wave", 0.6), ("starry_night", 0.4)]),
    ("wave:3,starry_night:1", [("wave", 0.75), ("starry_night", 0.25)]),  # normalised
    (" wave : 1 , starry_night : 1 ", [("wave", 0.5), ("starry_night", 0.5)]),
    ("wave,starry_night", [("wave", 0.5), ("starry_night", 0.5)]),  # no weights: equal shares
    ("wave", [("wave", 1.0)]),
    ("wave:0.2", [("wave", 1.0)]),  # one style is that style alone
    ("The Great Wave:1,starry_night:1", [("The Great Wave", 0.5), ("starry_night", 0.5)]),
    ("/models/my.onnx", [("/models/my.onnx", 1.0)]),
    ("a:b/my.onnx:2,wave:2", [("a:b/my.onnx", 0.5), ("wave", 0.5)]),  # a colon inside a path
])
def test_parse_spec(spec, want):
    got = parse_spec(spec)
    assert [n for n, _ in got] == [n for n, _ in want]
    assert [w for _, w in got] == pytest.approx([w for _, w in want])
    assert sum(w for _, w in got) == pytest.approx(1.0)


@pytest.mark.parametrize("spec, message", [
    ("", "--style is empty; give a style name, or a blend like 'wave:0.6,starry_night:0.4'"),
    ("  ", "--style is empty; give a style name, or a blend like 'wave:0.6,starry_night:0.4'"),
    ("wave:0.6,", "--style 'wave:0.6,': an entry has no style name"),
    (":0.5,wave:0.5", "--style ':0.5,wave:0.5': an entry has no style name"),
    ("wave:-0.2,starry_night:1", "--style 'wave:-0.2,starry_night:1': the weight of 'wave' is -0.2; "
                                 "weights must be more than 0"),
    ("wave:0,starry_night:1", "--style 'wave:0,starry_night:1': the weight of 'wave' is 0; "
                              "weights must be more than 0"),
    ("wave:lots,starry_night:1", "--style 'wave:lots,starry_night:1': the weight of 'wave' is 'lots', not a number"),
    ("wave:nan,starry_night:1", "--style 'wave:nan,starry_night:1': the weight of 'wave' is nan; "
                                "weights must be more than 0"),
    ("wave:0.5,starry_night", "--style 'wave:0.5,starry_night': give every style of a blend a weight "
                              "(wave:0.6,scream:0.4), or none (equal shares)"),
])
def test_bad_spec_is_one_line_usage_error(spec, message):
    with pytest.raises(UsageError) as err:
        parse_spec(spec)
    assert str(err.value) == message


def test_resolve_names_titles_and_paths(catalog, isolated_catalog):
    b = resolve_blend("the great wave:0.6,starry_night:0.4", catalog)
    assert [m.name for m in b.models] == ["wave", "starry_night"] and b.weights == pytest.approx([0.6, 0.4])
    assert (b.name, b.spec, b.single) == ("wave-starry_night", "wave:0.6,starry_night:0.4", False)
    assert b.summary() == [{"style": "wave", "weight": 0.6}, {"style": "starry_night", "weight": 0.4}]
    one = resolve_blend("wave", catalog)
    assert one.single and one.models[0].name == "wave" and one.weights == [1.0]
    assert (one.name, one.spec, one.summary()) == ("wave", "wave", None)
    path = isolated_catalog[0] / "starry_night.onnx"
    assert resolve_blend(f"wave:1,{path}:3", catalog).weights == pytest.approx([0.25, 0.75])


def test_resolve_refuses_unknown_sr_and_twice(catalog, isolated_catalog):
    with pytest.raises(UsageError) as err:
        resolve_blend("wave:0.5,stary_night:0.5", catalog)
    assert str(err.value) == ("--style 'wave:0.5,stary_night:0.5': unknown style 'stary_night'; "
                              "did you mean 'starry_night'? known: starry_night, wave")
    assert isinstance(err.value, UnknownModelError)
    with pytest.raises(UsageError) as err:  # a plain name keeps the catalog's own words
        resolve_blend("nope", catalog)
    assert str(err.value).startswith("unknown style 'nope';")
    with pytest.raises(UsageError) as err:
        resolve_blend("wave:0.5,nn2:0.5", catalog)
    assert str(err.value) == "--style 'wave:0.5,nn2:0.5': 'nn2' is a super-resolution model; pass it with --upscale"
    with pytest.raises(UsageError) as err:  # a plain name: as stylecam-render always said
        resolve_blend("nn2", catalog)
    assert str(err.value) == "unknown style 'nn2'; known: starry_night, wave"
    with pytest.raises(UsageError) as err:  # a path to one
        resolve_blend(str(isolated_catalog[1] / "nn2.onnx"), catalog)
    assert str(err.value) == "'nn2' is a super-resolution model; pass it with --upscale"
    with pytest.raises(UsageError) as err:  # a name and a title of one model
        resolve_blend("wave:0.5,The Great Wave:0.5", catalog)
    assert str(err.value) == ("--style 'wave:0.5,The Great Wave:0.5': 'wave' is in the blend twice "
                              "('wave' and 'The Great Wave')")
    with pytest.raises(UsageError):
        resolve_blend(f"starry_night:1,{isolated_catalog[0] / 'starry_night.onnx'}:1", catalog)


def test_mix_is_the_rounded_weighted_sum_on_a_non_square_frame():
    a, b = test_frame(48, 80, seed=1), test_frame(48, 80, seed=2)[::-1].copy()
    got = mix([a, b], [0.75, 0.25])
    assert got.shape == (48, 80, 3) and got.dtype == np.uint8
    want = np.rint((3 * a.astype(np.float64) + b) / 4)  # exact in binary: no rounding doubt
    assert np.array_equal(got, want.astype(np.uint8))
    assert not np.array_equal(got, a) and not np.array_equal(got, b)
    tall = test_frame(90, 40, seed=3)  # the other orientation
    got = mix([tall, 255 - tall], [0.6, 0.4])
    want = 0.6 * tall.astype(np.float64) + 0.4 * (255 - tall.astype(np.float64))
    assert got.shape == (90, 40, 3) and np.abs(got - want).max() <= 0.5 + 1e-4
    # the ends are the pictures themselves
    assert np.array_equal(mix([a, b], [1.0, 0.0]), a)
    assert np.array_equal(mix([a, b], [0.0, 1.0]), b)
    assert np.array_equal(mix([np.full((33, 70, 3), 255, np.uint8)] * 3, [0.2, 0.3, 0.5]),
                          np.full((33, 70, 3), 255, np.uint8))  # no overflow past 255


def test_mix_refuses_mismatches():
    with pytest.raises(ValueError):
        mix([test_frame(48, 80), test_frame(80, 48)], [0.5, 0.5])
    with pytest.raises(ValueError):
        mix([test_frame(48, 80)], [0.5, 0.5])


def test_blended_style_runs_each_engine_and_mixes(catalog):
    b = resolve_blend("wave:0.6,starry_night:0.4", catalog)
    engines = [Engine(m, device="cpu", threads=1) for m in b.models]
    style = BlendedStyle(engines, b.weights, name=b.name)
    assert (style.info.name, style.info.kind) == ("wave-starry_night", "style")
    frame = test_frame(48, 80)
    inverted, swapped = 255 - frame, frame[..., ::-1]
    out = style.run(frame)
    assert np.array_equal(out, mix([inverted, swapped], [0.6, 0.4]))
    lo, hi = np.minimum(inverted, swapped), np.maximum(inverted, swapped)
    assert ((out >= lo) & (out <= hi)).all()
    assert not np.array_equal(out, inverted) and not np.array_equal(out, swapped)
    style.weights = [0.0, 1.0]  # the mix moved: the first engine is not run any more
    calls = []
    first = engines[0].run
    engines[0].run = lambda f: calls.append(1) or first(f)
    assert np.array_equal(style.run(frame), swapped) and calls == []


def test_blend_module_imports_neither_qt_nor_torch():
    import subprocess
    import sys

    code = ("import sys, stylecam.blend; bad = [m for m in ('PySide6', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

