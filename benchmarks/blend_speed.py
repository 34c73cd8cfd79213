"""What a blend of two styles costs per frame against one style (issue 14), on the CPU.

    python benchmarks/blend_speed.py [--styles starry_night,grande_jatte] [--size 640x480]
                                     [--precision int8] [--rounds 5] [--reps 7] [--json FILE]

Two styles of one shared trunk (``stylecam.mixing``) blend in one pass: their weights are
mixed into one model, timed as "one pass". Any other two styles blend in two passes: each
style's model runs on the frame and the outputs are mixed (``stylecam.blend.BlendedStyle``),
about the two models' times added; that is timed as "blend" for every pair. Measured as the app runs them: ``Engine`` on the CPU,
all cores, no spinning, the int8 variants (what ``--precision auto`` picks on this CPU),
built-in models. In each round the first style alone, the second alone, the 2-style blend (models and
mix) and the mix alone (float weighted sum of two frames) are timed in turn, run by run,
``--reps`` runs each; a figure is the best of the rounds' medians, so a burst of load on a
shared machine spoils one round, not the figure. Prints markdown;
``--json`` saves the figures with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from _measure import time_in_turn  # noqa: E402
from stylecam.blend import BlendedStyle, mix, resolve_blend  # noqa: E402
from stylecam.engine import Engine  # noqa: E402
from stylecam.mixing import mixed_model, one_pass  # noqa: E402
from stylecam.testing import test_frame  # noqa: E402


def measure(styles: str, size: tuple[int, int], precision: str, rounds: int, reps: int,
            threads: int | None = None) -> dict:
    w, h = size
    blend = resolve_blend(",".join(f"{s}:1" for s in styles.split(",")))
    if len(blend.models) != 2:
        raise SystemExit("give two styles: --styles a,b")
    engines = [Engine(m, device="cpu", threads=threads, spin=False, precision=precision) for m in blend.models]
    blended = BlendedStyle(engines, [0.5, 0.5])
    frame = test_frame(h, w)
    outs = [e.run(frame) for e in engines]
    cases = {engines[0].info.name: lambda _: engines[0].run(frame),
             engines[1].info.name: lambda _: engines[1].run(frame),
             "blend": lambda _: blended.run(frame),
             "mix only": lambda _: mix(outs, [0.5, 0.5])}
    if one_pass(blend.models):  # styles of one trunk: the mixed model, one pass
        mixed = Engine(mixed_model(blend.models, [0.5, 0.5]), device="cpu", threads=threads, spin=False,
                       precision=precision)
        mixed.run(frame)
        cases["one pass"] = lambda _: mixed.run(frame)
    load_before = os.getloadavg()
    medians = time_in_turn(cases, rounds=rounds, reps=reps)
    best = {k: min(v) for k, v in medians.items()}
    first = engines[0].info.name
    return {"size": f"{w}x{h}", "styles": [e.info.name for e in engines],
            "precision": [e.precision for e in engines], "threads": engines[0].threads,
            "rounds": rounds, "reps": reps, "best_of_round_medians_ms": {k: round(v, 2) for k, v in best.items()},
            "round_medians_ms": {k: [round(x, 2) for x in v] for k, v in medians.items()},
            "blend_over_single": round(best["blend"] / best[first], 3),
            "one_pass_over_single": round(best["one pass"] / best[first], 3) if "one pass" in best else None,
            "one_pass_precision": mixed.precision if "one pass" in best else None,
            "blend_over_sum_of_both": round(best["blend"] / (best[first] + best[engines[1].info.name]), 3),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def markdown(res: dict) -> str:
    b = res["best_of_round_medians_ms"]
    a, c = res["styles"]
    rows = ["| per frame, " + res["size"] + " | ms (best of " + str(res["rounds"]) + " round medians) |",
            "|---|---:|",
            f"| {a} alone ({res['precision'][0]}) | {b[a]:.1f} |",
            f"| {c} alone ({res['precision'][1]}) | {b[c]:.1f} |",
            f"| two passes: {a} + {c} (both models, then the mix) | {b['blend']:.1f} |",
            f"| the mix alone (float weighted sum, rounded) | {b['mix only']:.2f} |",
            *([f"| **one pass**: the styles' weights mixed into one model ({res['one_pass_precision']}) "
               f"| {b['one pass']:.1f} |"] if "one pass" in b else []),
            "",
            *([f"one pass ÷ one style: **{res['one_pass_over_single']:.2f}×**"] if "one pass" in b else []),
            f"two passes ÷ one style: **{res['blend_over_single']:.2f}×**; two passes ÷ (sum of the two models): "
            f"{res['blend_over_sum_of_both']:.2f}× ({res['threads']} threads, load average before "
            f"{res['loadavg_before'][0]:.2f}, after {res['loadavg_after'][0]:.2f})"]
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--styles", default="starry_night,grande_jatte", help="two styles, comma-separated")
    p.add_argument("--size", default="640x480", help="WxH (default 640x480)")
    p.add_argument("--precision", default="int8", choices=("auto", "float", "int8"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    p.add_argument("--json", metavar="FILE", help="save the figures")
    args = p.parse_args(argv)
    w, h = (int(x) for x in args.size.lower().split("x"))
    res = measure(args.styles, (w, h), args.precision, args.rounds, args.reps, args.threads)
    print(markdown(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
