"""benchmarks/reweigh.py: a net's objective under another run's weights, on JSON made here."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import reweigh  # noqa: E402


def run(name, content_w, parts, gatys, size=256):
    return {"name": name, "size": size, "ratio_gatys100": 1.0,
            "weights": {"content": content_w, "style": 40.0, "tv": 0.0},
            "per_photo": [{"net_parts": p, "gatys": {"100": {"objective": g}}} for p, g in zip(parts, gatys)]}


def test_the_new_nets_terms_go_back_under_the_old_weights():
    new = run("udnie", 5.0, [{"content": 20.0, "style": 8.0, "tv": 0.0}, {"content": 10.0, "style": 6.0, "tv": 0.0}],
              [99.0, 99.0])  # its own Gatys figures are not used
    old = run("udnie", 1.0, [{}, {}], [4.0, 6.0])
    # content 20/5 + 8 and 10/5 + 6 under content weight 1, over the old Gatys@100 (4 + 6)
    assert reweigh.reweigh(new, old) == pytest.approx((4 + 8 + 2 + 6) / 10)
    same = run("udnie", 5.0, [{}, {}], [4.0, 6.0])  # the same weights: the terms as recorded
    assert reweigh.reweigh(new, same) == pytest.approx((20 + 8 + 10 + 6) / 10)


def test_other_photos_are_one_line_and_exit_2(tmp_path, capsys):
    new = run("udnie", 5.0, [{"content": 1.0, "style": 1.0, "tv": 0.0}], [1.0])
    old = run("udnie", 1.0, [{}, {}], [1.0, 1.0])
    paths = []
    for i, m in enumerate((new, old)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps({"style": {"models": [m]}}))
    assert reweigh.main([str(p) for p in paths]) == 2
    assert capsys.readouterr().err == "reweigh: udnie: the two runs used different photos or crop sizes\n"
    assert reweigh.main([str(tmp_path / "missing.json"), str(paths[1])]) == 2
    assert capsys.readouterr().err.count("\n") == 1
