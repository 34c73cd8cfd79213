"""A net's objective ÷ Gatys@100 under another run's weights, from two ``quality.py`` JSON files.

    python benchmarks/reweigh.py benchmarks/results/quality_s20_udnie_p5b.json \\
        benchmarks/results/quality_s19_udnie_tone.json

``quality.py`` judges each net under its own recorded weights, so a net retrained at other weights
(session 20: content 5 instead of 1) is judged on another yardstick. This puts the new net's
content, style and TV terms (each photo's, as ``quality.py`` recorded them) back under the old
run's weights and divides by the old run's Gatys@100 objective on the same photos: what the new
net would score on the old yardstick. Both runs must use the same photos and crop size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PARTS = ("content", "style", "tv")


def reweigh(new: dict, old: dict) -> float:
    """Σ over photos of ``new``'s net objective under ``old``'s weights ÷ Σ of ``old``'s Gatys@100."""
    if (new["size"], len(new["per_photo"])) != (old["size"], len(old["per_photo"])):
        raise ValueError(f"{new['name']}: the two runs used different photos or crop sizes")
    scale = {k: (old["weights"][k] / new["weights"][k]) if new["weights"][k] else 0.0 for k in PARTS}
    net = sum(p["net_parts"][k] * scale[k] for p in new["per_photo"] for k in PARTS)
    gatys = sum(p["gatys"]["100"]["objective"] for p in old["per_photo"])
    return net / gatys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("new", type=Path, help="quality.py JSON of the net to judge")
    ap.add_argument("old", type=Path, help="quality.py JSON whose weights and Gatys@100 to judge it by")
    args = ap.parse_args(argv)
    try:
        new, old = ([m for m in json.loads(p.read_text())["style"]["models"]] for p in (args.new, args.old))
    except (OSError, ValueError, KeyError) as exc:
        print(f"reweigh: {exc}", file=sys.stderr)
        return 2
    for a, b in zip(new, old):
        try:
            ratio = reweigh(a, b)
        except ValueError as exc:
            print(f"reweigh: {exc}", file=sys.stderr)
            return 2
        print(f"{a['name']}: {a['ratio_gatys100']:.2f}x under its own weights, {ratio:.2f}x under the old "
              f"(old net {b['ratio_gatys100']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
