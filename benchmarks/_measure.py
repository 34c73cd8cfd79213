"""Timing, MAC counting and machine-peak helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort


@dataclass
class Timing:
    median_ms: float
    runs: int
    min_ms: float = 0.0  # the least disturbed run: on a shared machine, closest to the hardware

    @property
    def fps(self) -> float:
        return 1000.0 / self.median_ms


def time_call(fn, *, reps: int, max_s: float, warmup: int = 2) -> Timing:
    """Median wall time of ``fn()`` over ``reps`` runs (fewer, at least 3, if ``max_s`` runs out)."""
    for _ in range(warmup):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < reps and (len(times) < 3 or time.perf_counter() - start < max_s):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return Timing(statistics.median(times) * 1000, len(times), min(times) * 1000)


def time_in_turn(cases: dict, *, rounds: int, reps: int, inputs: int = 1) -> dict[str, list[float]]:
    """{case: its median ms in each round} for ``cases`` {name: fn(i)}: each round runs every
    case once per rep, in turn, so a burst of load hits them alike; ``i`` cycles over
    ``inputs`` (the frames a case takes by index). Two warm-up calls each; a line per round
    on stderr."""
    import sys

    for fn in cases.values():
        fn(0), fn(1 % inputs)
    medians: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(rounds):
        times: dict[str, list[float]] = {k: [] for k in cases}
        for j in range(reps):
            for name, fn in cases.items():
                t = time.perf_counter()
                fn(j % inputs)
                times[name].append((time.perf_counter() - t) * 1e3)
        for name, v in times.items():
            medians[name].append(statistics.median(v))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} ms" for k, v in medians.items()),
              file=sys.stderr, flush=True)
    return medians


def session(path, threads: int = 2, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            spinning: bool | None = None, optimized_path: str | None = None) -> ort.InferenceSession:
    """A CPU session set up like ``stylecam.engine.Engine`` (unless told otherwise)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = level
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    if spinning is not None:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if optimized_path:
        opts.optimized_model_filepath = optimized_path
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def matmul_peak_gflops(threads: int, n: int = 2048, reps: int = 5) -> float:
    """FP32 GFLOP/s of an n³ matmul with ``threads`` threads: the machine's practical peak.

    The better of torch's BLAS (thread count set) and numpy's (only when it may use all
    cores, since numpy's thread count cannot be set without another package).
    """
    import os

    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.rand(n, n), torch.rand(n, n)
        best = time_call(lambda: torch.mm(a, b), reps=reps, max_s=10).median_ms
    finally:
        torch.set_num_threads(old)
    if threads >= (os.cpu_count() or 1):
        a, b = a.numpy(), b.numpy()
        best = min(best, time_call(lambda: a @ b, reps=reps, max_s=10).median_ms)
    return 2 * n**3 / (best / 1000) / 1e9


def conv_gmacs(path, feeds: dict) -> float:
    """Multiply-accumulates of every Conv in the ONNX graph for these inputs, in GMAC.

    Each Conv output is made a graph output and the model run once, so the count holds for
    any graph (ours, the peers') whatever its in-graph padding: MACs = output elements ×
    (C_in / groups) × kH × kW.
    """
    model = onnx.load(str(path))
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    have = {o.name for o in model.graph.output}
    wanted = []
    for n in convs:
        wanted.append(n.output[0])
        if n.input[1] not in inits:
            wanted.append(n.input[1])
    for name in dict.fromkeys(wanted):
        if name not in have:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values = dict(zip(names, sess.run(names, feeds)))
    total = 0
    for n in convs:
        wshape = inits.get(n.input[1]) or values[n.input[1]].shape
        total += int(np.prod(values[n.output[0]].shape)) * int(np.prod(wshape[1:]))
    return total / 1e9
