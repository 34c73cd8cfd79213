"""Soak the live pipeline headless: does anything grow, slow down or fail over time?

    python benchmarks/soak.py [--minutes 30] [--switch-every 60] [--size 640x480] [--fps 30]
                              [--source demo|synthetic] [--warmup S] [--json FILE]

Runs stylecam.live.Pipeline (capture → latest-frame slot → worker → display slot, a painter
thread taking the newest result as the window does) for ``--minutes`` on the demo pan at
640x480, 30 fps. Every ``--switch-every`` seconds it switches to the next built-in style
(the worker's session cache holds three, so sessions are loaded and dropped all along) and
turns recording on or off (H.264 into MKV with stylecam.recorder, each file checked and
removed). Every 5 s it samples the process's RSS, the median capture→display latency, the
model's median ms and the frames shown.

Reports: RSS growth after the warm-up (first sample after it to the last, and the fitted
slope in MB/min; target ≤ 20 MB over the run), latency drift (median of the last third of
the samples after the warm-up over that of the first third; no creep: ≤ 1.2), the frames
shown and dropped, recordings made and the frames they hold, and every error (target 0).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stylecam.live import Pipeline  # noqa: E402
from stylecam.models import Catalog  # noqa: E402
from stylecam.recorder import Recorder  # noqa: E402
from stylecam.sources import DemoSource, SyntheticSource  # noqa: E402
from stylecam.videoio import count_frames  # noqa: E402

SAMPLE_S = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def soak(args) -> dict:
    w, h = (int(x) for x in args.size.split("x"))
    rate = Fraction(args.fps)
    styles = [m for m in Catalog().models() if m.kind == "style"]
    if not styles:
        raise SystemExit("soak.py: no style models in the catalog")
    source = DemoSource(w, h, rate) if args.source == "demo" else SyntheticSource(w, h, rate)
    errors: list[str] = []
    stop = threading.Event()
    p = Pipeline(None, on_error=lambda msg: errors.append(f"pipeline: {msg}"))
    p.start()
    p.set_source(source)
    p.worker.set_settings(steady=True)

    def painter():  # the window's paint: take the newest result ~60 times a second
        while not stop.wait(1 / 60):
            p.take()

    threading.Thread(target=painter, name="soak-painter", daemon=True).start()
    tmp = Path(tempfile.mkdtemp(prefix="stylecam-soak-"))
    recordings: list[dict] = []
    recorder: Recorder | None = None
    samples: list[dict] = []
    start = time.monotonic()
    end = start + args.minutes * 60
    next_switch, next_sample, period = start, start + SAMPLE_S, 0
    try:
        while (now := time.monotonic()) < end:
            if now >= next_switch:
                model = styles[period % len(styles)]
                p.worker.select(model)
                if recorder is not None:  # recording on for every other period
                    p.worker.remove_sink(recorder)
                    recordings.append(_finish(recorder, errors))
                    recorder = None
                elif period % 2 == 1:
                    recorder = Recorder(tmp / f"soak-{period}.mkv", rate)
                    p.worker.add_sink(recorder)
                period += 1
                next_switch += args.switch_every
            if now >= next_sample:
                snap = p.stats.snapshot()
                samples.append({"t": round(now - start, 1), "rss_mb": round(rss_mb(), 1),
                                "latency_ms": round(snap.latency_ms, 1), "model_ms": round(snap.model_ms, 1),
                                "shown_fps": round(snap.displayed_fps, 1), "shown": snap.displayed,
                                "dropped": snap.dropped, "model": p.worker.engine.info.name if p.worker.engine else ""})
                print(f"{samples[-1]['t']:7.1f} s  rss {samples[-1]['rss_mb']:7.1f} MB  latency "
                      f"{samples[-1]['latency_ms']:6.1f} ms  model {samples[-1]['model_ms']:5.1f} ms  "
                      f"{samples[-1]['shown_fps']:5.1f} fps  {samples[-1]['model']}", flush=True)
                next_sample += SAMPLE_S
            time.sleep(0.05)
        if recorder is not None:
            p.worker.remove_sink(recorder)
            recordings.append(_finish(recorder, errors))
    finally:
        stop.set()
        p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return _summary(args, samples, recordings, errors, len(styles))


def _finish(recorder: Recorder, errors: list[str]) -> dict:
    error = recorder.stop()
    if error:
        errors.append(f"recorder: {error}")
    kept = count_frames(recorder.path)
    if recorder.frames and kept != recorder.frames:
        errors.append(f"recorder: {recorder.path.name} holds {kept} frames, {recorder.frames} were written")
    recorder.path.unlink(missing_ok=True)
    return {"frames": recorder.frames, "in_file": kept, "dropped": recorder.dropped}


def _summary(args, samples, recordings, errors, n_styles) -> dict:
    warm = args.warmup if args.warmup is not None else max(60.0, args.minutes * 60 / 4)
    after = [s for s in samples if s["t"] >= warm] or samples
    third = max(1, len(after) // 3)
    first = statistics.median(s["latency_ms"] for s in after[:third])
    last = statistics.median(s["latency_ms"] for s in after[-third:])
    return {
        "command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]),
        "minutes": args.minutes, "switch_every_s": args.switch_every, "size": args.size, "fps": args.fps,
        "source": args.source, "styles_cycled": n_styles, "warmup_s": warm,
        "rss_mb_start": samples[0]["rss_mb"] if samples else None,
        "rss_mb_after_warmup": after[0]["rss_mb"] if after else None,
        "rss_mb_end": samples[-1]["rss_mb"] if samples else None,
        "rss_growth_mb": round(after[-1]["rss_mb"] - after[0]["rss_mb"], 1) if after else None,
        "rss_slope_mb_per_min": round(slope_per_min([(s["t"], s["rss_mb"]) for s in after]), 2),
        "latency_ms_first_third": first, "latency_ms_last_third": last,
        "latency_drift": round(last / first, 3) if first else None,
        "shown": samples[-1]["shown"] if samples else 0, "dropped": samples[-1]["dropped"] if samples else 0,
        "recordings": recordings, "errors": errors, "samples": samples,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--switch-every", type=float, default=60.0, help="seconds between style switches")
    p.add_argument("--size", default="640x480")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--source", choices=("demo", "synthetic"), default="demo")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before RSS and latency are judged (default: a quarter of the run, at least 60)")
    p.add_argument("--json", help="write the summary and every sample here")
    args = p.parse_args(argv)
    r = soak(args)
    print(f"RSS {r['rss_mb_start']} MB at start, {r['rss_mb_after_warmup']} after the warm-up ({r['warmup_s']:g} s), "
          f"{r['rss_mb_end']} at the end: growth {r['rss_growth_mb']} MB ({r['rss_slope_mb_per_min']} MB/min; "
          "target <= 20 MB)")
    print(f"latency {r['latency_ms_first_third']} ms -> {r['latency_ms_last_third']} ms "
          f"(drift {r['latency_drift']}; no creep: <= 1.2); shown {r['shown']}, dropped {r['dropped']}")
    print(f"recordings {len(r['recordings'])}: frames {[x['frames'] for x in r['recordings']]}, "
          f"in the files {[x['in_file'] for x in r['recordings']]}; errors {len(r['errors'])} (target 0)")
    for e in r["errors"]:
        print(f"  error: {e}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0 if not r["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
