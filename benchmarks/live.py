"""The live pipeline, headless: does the window show every frame the model can make?

    python benchmarks/live.py [--model NAME|PATH] [--tier fast|quality] [--seconds 20]
                              [--size 640x480] [--fps 30] [--process 240|360|480|720|full]
                              [--threads N] [--spin] [--record] [--steady] [--json FILE]

Runs stylecam.live.Pipeline (capture thread → latest-frame slot → inference worker →
display slot) for a fixed time on a 640x480 source paced at 30 fps, with a consumer
thread standing in for the painter. Model: ``--model``, else the built-in ``wave``, else a
random-weight export of the ``--tier`` network (speed does not depend on the weights),
else (no torch) a stack of convolutions built with onnx.helper.

Reports, measured in one run: model-only ms and fps (the same frames through the same
worker code, nothing else running), displayed fps and its ratio to the model fps (target
≥ 95% of min(model fps, source fps)), end-to-end latency (capture → display; target ≤
model time + two frame intervals), dropped frames, the largest slot fill seen and the
process's memory growth (nothing may grow without bound).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stylecam.errors import StylecamError  # noqa: E402
from stylecam.live import Pipeline, processing_max_side  # noqa: E402
from stylecam.models import Catalog, check_model  # noqa: E402
from stylecam.sources import Source  # noqa: E402
from stylecam.testing import moving_frame  # noqa: E402


class LoopSource(Source):
    """Pre-made frames handed out in a loop: a camera that costs no CPU to 'capture'."""

    def __init__(self, width: int, height: int, rate: Fraction, n: int = 30):
        self.frames = [moving_frame(i * 4, height, width) for i in range(n)]
        self.rate, self.name, self._i = rate, f"loop {width}x{height}", 0

    def read(self):
        self._i += 1
        return self.frames[self._i % len(self.frames)]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def conv_stack_model(path: Path) -> Path:
    """A CPU-heavy contract model without torch: 3×(conv 3×3 stride 2) down, 4 convs, 3 up."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def const(name, array):
        inits.append(helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.ravel().tolist()))

    def conv(x, cin, cout, stride, name, relu=True):
        w = (rng.standard_normal((cout, cin, 3, 3)) * (2 / (9 * cin)) ** 0.5).astype(np.float32)
        const(f"{name}_w", w)
        const(f"{name}_b", np.zeros(cout, np.float32))
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"],
                                      pads=[1, 1, 1, 1], strides=[stride, stride]))
        if not relu:
            return f"{name}_c"
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [name]))
        return name

    nodes.append(helper.make_node("Cast", ["frame"], ["f"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Transpose", ["f"], ["t"], perm=[2, 0, 1]))
    nodes.append(helper.make_node("Unsqueeze", ["t", "ax0"], ["x0"]))
    inits.append(helper.make_tensor("ax0", TensorProto.INT64, [1], [0]))
    x, c = "x0", 3
    for i, cout in enumerate((32, 64, 128)):
        x, c = conv(x, c, cout, 2, f"d{i}"), cout
    for i in range(4):
        x = conv(x, c, c, 1, f"r{i}")
    const("up", np.array([1, 1, 2, 2], np.float32))
    for i, cout in enumerate((64, 32, 3)):
        nodes.append(helper.make_node("Resize", [x, "", "up"], [f"u{i}"], mode="nearest"))
        x, c = conv(f"u{i}", c, cout, 1, f"uc{i}", relu=i < 2), cout
    nodes.append(helper.make_node("Squeeze", [x, "ax0"], ["s"]))
    nodes.append(helper.make_node("Transpose", ["s"], ["hwc"], perm=[1, 2, 0]))
    const("lo", np.array(0, np.float32))
    const("hi", np.array(255, np.float32))
    nodes.append(helper.make_node("Clip", ["hwc", "lo", "hi"], ["cl"]))
    nodes.append(helper.make_node("Round", ["cl"], ["rd"]))
    nodes.append(helper.make_node("Cast", ["rd"], ["image"], to=TensorProto.UINT8))
    graph = helper.make_graph(nodes, "conv_stack",
                              [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["H", "W", 3])],
                              [helper.make_tensor_value_info("image", TensorProto.UINT8, [None, None, 3])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in {"stylecam.format": "1", "stylecam.kind": "style", "stylecam.name": "conv-stack",
                 "stylecam.scale": "1", "stylecam.arch": "bench-conv-stack", "stylecam.train": "{}",
                 "stylecam.source_sha256": "0" * 64}.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(path))  # only 8-multiple sizes work (no pad-to-stride): fine for 640x480
    return path


def pick_model(args, tmp: Path):
    """(ModelInfo, how it was chosen)."""
    if args.model:
        return Catalog().resolve(args.model), "given"
    for m in Catalog().models():
        if m.name.lower() == "wave":
            return m, "built-in wave"
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import torch
        from _contract import export
        from trainer.nets import NetConfig, arch_name, build_net, net_stride

        torch.manual_seed(0)
        cfg = NetConfig(kind="style", tier=args.tier)
        path = export(build_net(cfg), tmp / f"{args.tier}.onnx", stride=net_stride(cfg),
                      name=f"random-{args.tier}", arch=arch_name(cfg))
        return check_model(path), f"random-weight {args.tier} tier ({arch_name(cfg)})"
    except ImportError:
        return check_model(conv_stack_model(tmp / "conv_stack.onnx")), "conv stack (no torch)"


def run(args) -> dict:
    width, height = (int(v) for v in args.size.lower().split("x"))
    rate = Fraction(args.fps).limit_denominator(1000)
    size_p = None if args.process == "full" else int(args.process)
    with tempfile.TemporaryDirectory() as tmp:
        info, how = pick_model(args, Path(tmp))
        source = LoopSource(width, height, rate)
        errors = []
        p = Pipeline(None, device=args.device, threads=args.threads, on_error=errors.append)
        p.worker.spin = args.spin
        p.worker.set_settings(size_p=size_p, steady=args.steady)
        engine = p.worker.load(info)
        p.worker.select(info)
        p.worker.start()
        t_wait = time.monotonic() + 30
        while p.worker.engine is None and time.monotonic() < t_wait:
            time.sleep(0.01)

        # model only: the worker's own per-frame code, one thread, nothing else running
        frame = source.frames[0]
        for _ in range(3):
            p.worker.process(frame)
        alone = []

        def model_alone(seconds):  # before and after the pipeline run, so load drifts even out
            t_end = time.monotonic() + seconds
            n = len(alone) + 5
            while time.monotonic() < t_end or len(alone) < n:
                alone.append(p.worker.process(source.frames[len(alone) % len(source.frames)])[1])

        model_alone(min(4.0, args.seconds / 4))

        recorder = None
        if args.record:
            from stylecam.recorder import Recorder
            recorder = Recorder(Path(tmp) / "bench.mkv", rate)
            p.worker.add_sink(recorder)

        shown_t, latencies, max_fill, model_times = [], [], [0, 0], []
        stop = threading.Event()

        def painter():
            while not stop.is_set():
                r = p.display.get(timeout=0.1)
                if r is None:
                    continue
                now = time.monotonic()
                shown_t.append(now)
                model_times.append(r.model_ms)
                latencies.append((now - r.t) * 1000)
                p.stats.displayed(r.t, now)

        def watcher():
            while not stop.is_set():
                max_fill[0] = max(max_fill[0], len(p.slot))
                max_fill[1] = max(max_fill[1], len(p.display))
                time.sleep(0.02)

        threads = [threading.Thread(target=painter, daemon=True), threading.Thread(target=watcher, daemon=True)]
        for t in threads:
            t.start()
        p.set_source(source)
        warm = min(2.0, args.seconds / 5)
        time.sleep(warm)
        rss0, n0, d0, c0 = rss_mb(), len(shown_t), p.stats.dropped, p.stats.captured
        w0, wd0 = p.display.puts, p.display.dropped
        lat0 = len(latencies)
        t0 = time.monotonic()
        time.sleep(args.seconds)
        t1 = time.monotonic()
        n1, d1, c1, rss1 = len(shown_t), p.stats.dropped, p.stats.captured, rss_mb()
        w1, wd1 = p.display.puts, p.display.dropped
        piped = p.stats.snapshot().model_ms
        stop.set()
        if recorder is not None:
            p.worker.remove_sink(recorder)
            recorder.stop()
        p.capture.stop()
        for t in threads:
            t.join(2)
        time.sleep(0.3)  # let the worker finish its last frame
        model_alone(min(4.0, args.seconds / 4))
        p.stop()
        model_ms = statistics.median(alone)
        model_mean = statistics.fmean(alone)

    displayed_fps = (n1 - n0) / (t1 - t0)
    # throughput is 1 / mean time (a loaded machine's slow tail counts); the median is quoted too
    model_fps = 1000 / model_mean
    piped_mean = statistics.fmean(model_times[lat0:lat0 + (n1 - n0)] or [piped])
    interval_ms = 1000 / float(rate)
    lat = latencies[lat0:lat0 + (n1 - n0)] or [float("nan")]
    limit_fps = min(model_fps, float(rate))
    h, w = height, width
    ms = processing_max_side(h, w, size_p)
    return {
        "machine": platform.processor() or platform.machine(),
        "model": info.name, "model_from": how, "device": engine.device, "precision": engine.precision,
        "threads": engine.threads,
        "spin": args.spin, "steady": args.steady,
        "source": f"{width}x{height} @ {float(rate):g} fps", "process_max_side": ms or max(w, h),
        "seconds": round(t1 - t0, 2),
        "model_ms_alone": round(model_ms, 2), "model_ms_alone_mean": round(model_mean, 2),
        "model_fps_alone": round(model_fps, 2),
        "model_ms_in_pipeline": round(piped, 2), "model_ms_in_pipeline_mean": round(piped_mean, 2),
        "worker_fps": round((w1 - w0) / (t1 - t0), 2),
        "painter_missed": wd1 - wd0,
        "displayed_fps": round(displayed_fps, 2),
        "displayed_vs_model": round(displayed_fps / limit_fps, 3),
        "displayed_vs_model_in_pipeline": round(displayed_fps / min(1000 / piped_mean, float(rate)), 3),
        "latency_ms_median": round(statistics.median(lat), 1),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1),
        "latency_limit_ms": round(model_mean + 2 * interval_ms, 1),
        "captured": c1 - c0, "dropped": d1 - d0, "max_slot_fill": max_fill,
        "rss_growth_mb": round(rss1 - rss0, 1),
        "recording": bool(args.record),
        "recorder_dropped": recorder.dropped if recorder is not None else None,
        "errors": errors,
    }


def table(r: dict) -> str:
    ok = lambda b: "meets" if b else "misses"  # noqa: E731
    rows = [
        ("model", f"{r['model']} ({r['model_from']}), {r['device']} {r['precision']}, {r['threads']} threads"
                   f"{', spinning' if r['spin'] else ''}"),
        ("source", f"{r['source']}, processed at max side {r['process_max_side']}"),
        ("model only", f"median {r['model_ms_alone']} ms, mean {r['model_ms_alone_mean']} ms = "
                       f"{r['model_fps_alone']} fps"),
        ("model in the pipeline", f"median {r['model_ms_in_pipeline']} ms, mean "
                                  f"{r['model_ms_in_pipeline_mean']} ms (displayed = "
                                  f"{r['displayed_vs_model_in_pipeline']:.1%} of min(this, source) fps)"),
        ("displayed", f"{r['displayed_fps']} fps = {r['displayed_vs_model']:.1%} of min(model, source) fps "
                      f"({ok(r['displayed_vs_model'] >= 0.95)} ≥ 95%)"),
        ("latency", f"median {r['latency_ms_median']} ms, p95 {r['latency_ms_p95']} ms; limit model + 2 "
                    f"intervals = {r['latency_limit_ms']} ms ({ok(r['latency_ms_median'] <= r['latency_limit_ms'])})"),
        ("worker output", f"{r['worker_fps']} fps; painter missed {r['painter_missed']} of them"),
        ("dropped", f"{r['dropped']} of {r['captured']} captured in {r['seconds']} s"),
        ("bounded", f"largest slot fill capture/display {r['max_slot_fill']} (max 1 each); "
                    f"RSS growth {r['rss_growth_mb']} MB"),
    ]
    if r["recording"]:
        rows.append(("recording", f"on; recorder dropped {r['recorder_dropped']}"))
    if r["errors"]:
        rows.append(("errors", "; ".join(r["errors"])))
    return "\n".join(["| live pipeline | |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model name or .onnx path (default: built-in wave, else a random-weight net)")
    ap.add_argument("--tier", choices=("fast", "quality"), default="fast", help="stand-in network tier")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", default="640x480", help="source WxH")
    ap.add_argument("--fps", type=float, default=30.0, help="source rate")
    ap.add_argument("--process", default="full", help="processing height: 240|360|480|720|full")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    ap.add_argument("--spin", action="store_true", help="let onnxruntime threads spin (the window does not)")
    ap.add_argument("--record", action="store_true", help="also record the output (MKV)")
    ap.add_argument("--steady", action="store_true",
                    help="Steady on (the window's default): the stabiliser runs after the model")
    ap.add_argument("--json", metavar="FILE", help="save the figures")
    args = ap.parse_args(argv)
    try:
        r = run(args)
    except StylecamError as exc:
        print(f"live.py: {exc}", file=sys.stderr)
        return 2
    print(table(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
