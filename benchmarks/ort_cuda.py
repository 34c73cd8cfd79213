"""onnxruntime CUDA through stylecam's own Engine: providers, parity, ms per frame, render, live.

    python benchmarks/ort_cuda.py                 # on a GPU (benchmarks/ort_cuda_send.py gets
                                                  # onnxruntime-gpu onto the lent GPU machine)
    python benchmarks/ort_cuda.py --cpu --out F   # every step on the CPU provider at tiny sizes:
                                                  # the script checked without a GPU (the tests)

1. ``providers``: what ``Engine(device="cuda")`` really runs on (read back from the session).
2. ``parity`` per model against ``Engine(device="cpu", precision="float")`` on real frames
   (butterfly.mp4 and the demo photo): max abs difference and share of pixels within 1 grey
   level, with IO binding and without; the bar is >= 99.9% within 1 level. A model that
   misses it on CUDA is measured again with TF32 off (``use_tf32=0``).
3. ``ms`` per model and input size, median of a frame's trip (uint8 in, uint8 back) with IO
   binding and with plain ``session.run``, plus the first frame at that size (cuDNN's
   algorithm search). ``cudnn_search``: EXHAUSTIVE (stylecam's choice) against HEURISTIC.
4. ``render``: ``stylecam-render --json`` on the video at full size (fps and model ms).
5. ``live``: benchmarks/live.py headless at 1920x1080 (displayed fps against model fps).

Models: the fast tier (built-in ``wave``), the paper's quality tier with random weights
(``--quality-model``, else exported now with torch, else a small conv net without torch) and
``sr4`` (measured at a quarter of each size, so its output is that size). Saves everything to
``--out`` (default benchmarks/results/ort_cuda.json); exit 2 with one line when CUDA is not
usable (the line says why).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from _measure import time_call  # noqa: E402
from stylecam.engine import CUDA, Engine, cuda_usable  # noqa: E402
from stylecam.errors import StylecamError  # noqa: E402
from stylecam.models import Catalog, check_model  # noqa: E402

VIDEO = ROOT.parent / "shared" / "data" / "video" / "butterfly.mp4"
DEMO = ROOT / "stylecam" / "assets" / "demo.jpg"
GPU_SIZES = ((640, 480), (1280, 720), (1920, 1080))
CPU_SIZES = ((64, 48), (96, 64))
BAR = 0.999  # share of pixels within 1 grey level


def export_quality(path: Path) -> tuple[Path, str]:
    """The paper's network with random weights as a contract model (torch), else a conv net."""
    try:
        import torch
        from _contract import export
        from trainer.nets import NetConfig, arch_name, build_net, net_stride
    except ImportError:
        from stylecam.testing import write_model
        return write_model(path, "conv", name="conv-stand-in"), "conv stand-in (no torch here)"
    torch.manual_seed(0)
    cfg = NetConfig(kind="style", tier="quality")
    export(build_net(cfg), path, stride=net_stride(cfg), name="random-quality", arch=arch_name(cfg))
    return path, f"random-weight quality tier ({arch_name(cfg)})"


def real_frames(video: Path | None, n: int = 3) -> list[np.ndarray]:
    """``n`` frames spread over the video, and the demo photo (RGB, full size)."""
    import cv2

    frames = []
    if video is not None and video.is_file():
        from stylecam.videoio import VideoReader

        reader = VideoReader(video)
        try:
            total = reader.info.frames or 30
            want = {int(total * (i + 0.5) / n) for i in range(n)}
            for i, (rgb, _, _) in enumerate(reader):
                if i in want:
                    frames.append(rgb)
                if len(frames) == n:
                    break
        finally:
            reader.close()
    bgr = cv2.imread(str(DEMO))
    if bgr is not None:
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames


def resized(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))


def input_size(info, w: int, h: int) -> tuple[int, int]:
    """sr4 runs at a quarter of the size (its output is the size) when that stays >= 32."""
    s = info.scale
    return (w // s, h // s) if min(w, h) // s >= 32 else (w, h)


def compare(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """(max abs difference, pixels within 1 level, pixels): a pixel is one channel value."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(d.max()), int((d <= 1).sum()), int(d.size)


def parity(dut: Engine, ref: Engine, frames: list[np.ndarray]) -> dict:
    worst, near, total = 0, 0, 0
    for f in frames:
        m, k, n = compare(dut.run(f), ref.run(f))
        worst, near, total = max(worst, m), near + k, total + n
    share = near / total
    return {"max_abs_diff": worst, "within_1": round(share, 6), "ok": share >= BAR, "frames": len(frames)}


def timing(engine: Engine, frame: np.ndarray, reps: int, max_s: float) -> tuple[float, float]:
    """(first call ms at this shape, median ms after it)."""
    t = time.perf_counter()
    engine.run(frame)
    first = (time.perf_counter() - t) * 1e3
    return first, time_call(lambda: engine.run(frame), reps=reps, max_s=max_s, warmup=2).median_ms


def last_json(text: str):
    lines = [line for line in text.splitlines() if line.strip().startswith(("{", "["))]
    return json.loads(lines[-1]) if lines else None


def run_render(video: Path, device: str, tmp: Path) -> dict:
    """stylecam-render on the video at full size, as a user runs it (its own process)."""
    out = tmp / "render_out.mp4"
    cmd = [sys.executable, "-m", "stylecam.render", str(video), "--style", "wave", "--device", device,
           "--json", "--overwrite", "-o", str(out)]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1], "exit": p.returncode}
    s = last_json(p.stdout)
    keep = ("frames", "seconds", "fps", "model_ms_median", "device", "provider", "precision", "workers")
    r = {k: s.get(k) for k in keep}
    if s.get("model_ms_median") and s.get("fps"):  # share of each worker's wall time in the model
        r["model_share"] = round(s["model_ms_median"] * s["fps"] / 1000 / (s.get("workers") or 1), 3)
    r["process_wall_s"] = round(wall, 2)
    return r


def run_live(size: str, fps: float, seconds: float, device: str, steady: bool, tmp: Path) -> dict:
    """benchmarks/live.py (the window's pipeline, headless) in its own process."""
    out = tmp / f"live_{steady}.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "live.py"), "--model", "wave", "--size", size,
           "--fps", str(fps), "--seconds", str(seconds), "--device", device, "--json", str(out)]
    p = subprocess.run(cmd + (["--steady"] if steady else []), capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    if p.returncode != 0 or not out.is_file():
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1], "exit": p.returncode}
    r = json.loads(out.read_text())
    keep = ("device", "precision", "source", "model_ms_alone", "model_fps_alone", "model_ms_in_pipeline",
            "worker_fps", "displayed_fps", "displayed_vs_model", "latency_ms_median", "dropped", "errors")
    return {k: r.get(k) for k in keep} | {"steady": steady}


def gpu_name() -> str | None:
    try:
        p = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def measure(args, tmp: Path) -> dict:
    device = "cpu" if args.cpu else "cuda"
    sizes = CPU_SIZES if args.cpu else GPU_SIZES
    reps, max_s = (3, 1.0) if args.cpu else (args.reps, 4.0)
    res = {"mode": "cpu check (figures mean nothing)" if args.cpu else "gpu", "onnxruntime": ort.__version__,
           "ort_device": ort.get_device(), "available": ort.get_available_providers(), "gpu": gpu_name(),
           "python": sys.version.split()[0], "providers": {}, "parity": {}, "ms": {}, "cudnn_search": {}}
    catalog = Catalog()
    qpath, qhow = (Path(args.quality_model), "given") if args.quality_model else export_quality(tmp / "quality.onnx")
    models = {"fast": catalog.resolve("wave"), "quality": check_model(qpath), "sr4": catalog.resolve("sr4")}
    res["models"] = {k: f"{m.name} ({m.arch})" for k, m in models.items()} | {"quality_from": qhow}
    frames = real_frames(args.video)
    res["parity_frames"] = len(frames)
    for key, info in models.items():
        print(f"{key}: {info.name}", file=sys.stderr, flush=True)
        bound = Engine(info, device=device, precision="float", io_binding=True)
        plain = Engine(info, device=device, precision="float", io_binding=False)
        ref = Engine(info, device="cpu", precision="float")
        res["providers"][key] = bound.providers
        pw, ph = sizes[0] if args.cpu else (640, 480)
        pframes = [resized(f, *input_size(info, pw, ph)) for f in frames]
        res["parity"][key] = {"io_binding": parity(bound, ref, pframes), "plain": parity(plain, ref, pframes),
                              "size": "x".join(map(str, input_size(info, pw, ph)))}
        if not args.cpu and not res["parity"][key]["io_binding"]["ok"]:
            no_tf32 = Engine(info, device=device, precision="float", cuda_options={"use_tf32": "0"})
            res["parity"][key]["io_binding_no_tf32"] = parity(no_tf32, ref, pframes)
        del ref
        res["ms"][key] = {}
        for w, h in sizes:
            iw, ih = input_size(info, w, h)
            frame = resized(frames[0], iw, ih)
            first, ms_b = timing(bound, frame, reps, max_s)
            _, ms_p = timing(plain, frame, reps, max_s)
            res["ms"][key][f"{iw}x{ih}"] = {"io_binding": round(ms_b, 3), "plain": round(ms_p, 3),
                                            "first_call": round(first, 1), "fps_io_binding": round(1e3 / ms_b, 1),
                                            "out": f"{iw * info.scale}x{ih * info.scale}"}
            print(f"  {iw}x{ih}: {ms_b:.2f} ms bound, {ms_p:.2f} ms plain, first {first:.0f} ms",
                  file=sys.stderr, flush=True)
        if not args.cpu and key in ("fast", "quality"):
            w, h = sizes[-1]
            heur = Engine(info, device=device, precision="float", cuda_options={"cudnn_conv_algo_search": "HEURISTIC"})
            first, ms = timing(heur, resized(frames[0], w, h), reps, max_s)
            best = res["ms"][key][f"{w}x{h}"]
            res["cudnn_search"][key] = {"size": f"{w}x{h}", "EXHAUSTIVE": {"first_call": best["first_call"],
                                        "ms": best["io_binding"]}, "HEURISTIC": {"first_call": round(first, 1),
                                                                                 "ms": round(ms, 3)}}
    video = args.video if args.video is not None and args.video.is_file() and not args.cpu else None
    if video is None:  # the CPU check, or no clip: a small one made here
        from stylecam.testing import make_clip
        video = make_clip(tmp / "clip.mp4", frames=12, width=96, height=64)
    if not args.skip_render:
        print("render", file=sys.stderr, flush=True)
        res["render"] = run_render(video, device, tmp) | {"input": video.name}
    if not args.skip_live:
        print("live", file=sys.stderr, flush=True)
        size, fps, secs = ("96x64", 30, 1.0) if args.cpu else ("1920x1080", args.live_fps, args.live_seconds)
        res["live"] = [run_live(size, fps, secs, device, steady, tmp) for steady in (True, False)]
    return res


def summary(res: dict) -> str:
    lines = [f"onnxruntime {res['onnxruntime']} ({res['mode']}); GPU: {res['gpu']}", "",
             "| model | providers | parity: max diff, within 1 (bound / plain) |", "|---|---|---|"]
    for k, p in res["parity"].items():
        b, q = p["io_binding"], p["plain"]
        lines.append(f"| {k} | {res['providers'][k][0]} | {b['max_abs_diff']}, {b['within_1']:.4%} / "
                     f"{q['max_abs_diff']}, {q['within_1']:.4%} |")
    lines += ["", "| model | input | out | ms bound | ms plain | fps bound | first ms |",
              "|---|---|---|---:|---:|---:|---:|"]
    for k, rows in res["ms"].items():
        for size, r in rows.items():
            lines.append(f"| {k} | {size} | {r['out']} | {r['io_binding']:.2f} | {r['plain']:.2f} | "
                         f"{r['fps_io_binding']:.0f} | {r['first_call']:.0f} |")
    if "render" in res:
        lines += ["", f"render: {json.dumps(res['render'])}"]
    for r in res.get("live", []):
        lines.append(f"live: {json.dumps(r)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="the CPU provider at tiny sizes: checks the script")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ort_cuda.json")
    ap.add_argument("--video", type=Path, default=VIDEO,
                    help="real frames, and the render input (--cpu renders a small made clip)")
    ap.add_argument("--quality-model", help="a quality-tier .onnx (default: a random-weight export now)")
    ap.add_argument("--reps", type=int, default=40, help="timed frames per model and size (GPU)")
    ap.add_argument("--live-seconds", type=float, default=6.0)
    ap.add_argument("--live-fps", type=float, default=240.0, help="the live source's rate (GPU)")
    ap.add_argument("--skip-render", action="store_true")
    ap.add_argument("--skip-live", action="store_true")
    args = ap.parse_args(argv)
    if not args.cpu and not cuda_usable():
        from stylecam.cuda import unusable_reason
        reason = f"CUDA is not usable here: {unusable_reason()}"
        print(f"ort_cuda.py: {reason}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory() as tmp:
            res = measure(args, Path(tmp))
    except StylecamError as exc:
        print(f"ort_cuda.py: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(summary(res))
    bad = [k for k, p in res["parity"].items() if not p["io_binding"]["ok"]]
    if not args.cpu and any(res["providers"][k][0] != CUDA for k in res["providers"]):
        print("ort_cuda.py: a model did not run on CUDA", file=sys.stderr)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
