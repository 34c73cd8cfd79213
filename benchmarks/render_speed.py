"""stylecam-render throughput against model-only throughput, and x264 preset cost, in one run.

    python benchmarks/render_speed.py [--model NAME|FILE.onnx | --tier quality|fast]
                                      [--max-side 640] [--threads N] [--frames N] [--json FILE]
                                      [--input clip.mp4] [--no-cli]

Input: ../shared/data/video/butterfly.mp4 (1280x720, 226 frames, AAC) when it is there,
else a synthetic 1280x720 clip with audio made here. Model: the built-in ``wave`` when it
exists, else a random-weight export of ``trainer.nets`` (``--tier``; speed does not depend
on the weights). In one run, on the same frames, size and threads:

1. model only: ``Engine.run`` on the frames already decoded and fitted to ``--max-side``
   (the ceiling: no decode, no resize, no encode), with the render's engine settings
   (``spin=False``; ``--also-spinning`` repeats 1 and 2 with onnxruntime's default), in two
   arrangements: one frame at a time on every core, and stylecam-render's default on the
   CPU, one frame per core at once with 1 thread each (``plan_workers``);
2. render: ``stylecam.render.render_video`` end to end at the default preset, in each
   arrangement (decode thread, style-model worker thread(s), a writer thread with the
   stabiliser, resize back, x264 and audio remux, file finished); the ratio is given
   against the same arrangement's model-only, the one-at-a-time model-only (the engine as
   the window runs it) and the better of the two;
3. x264 presets: encode-only ms/frame and bitrate at the output size for
   ultrafast/superfast/veryfast/medium, on the first 60 decoded frames;
4. once, the real CLI (`stylecam-render INPUT --style MODEL -o OUT --json`), then checks
   the output with PyAV: frame count, audio stream present with the input's duration,
   every frame decodes;
5. ``--eager``: the notebook way, for the same network in torch eager (random weights of
   the model's architecture: speed does not depend on them): one loop that decodes a
   frame, resizes it, runs the net, resizes back and encodes it (x264, same preset), one
   frame after another, no audio. Prints render fps / eager-loop fps (target >= 3x).

The render runs with the CLI's defaults (``--stabilize`` 0.6; ``--stabilize 0`` here turns
it off for both 2 and the CLI).

Measurements 1 and 2 alternate ``--repeats`` times (the machine is shared); prints the
median frames/s of each, every run, and the ratios of the medians (target >= 90%).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from stylecam import frames as fr  # noqa: E402
from stylecam.engine import Engine, default_threads  # noqa: E402
from stylecam.models import Catalog  # noqa: E402
from stylecam.process import Processor, Settings  # noqa: E402
from stylecam.render import (DEFAULT_PRESET, DEFAULT_STABILIZE, Job, _Timed, plan_workers,  # noqa: E402
                             render_video)
from stylecam.videoio import VideoReader, VideoWriter  # noqa: E402

SHARED_CLIP = HERE.parent.parent / "shared" / "data" / "video" / "butterfly.mp4"
PRESETS = ("ultrafast", "superfast", "veryfast", "medium")


def pick_input(path: str | None, workdir: Path) -> Path:
    if path:
        return Path(path)
    if SHARED_CLIP.is_file():
        return SHARED_CLIP
    from stylecam.testing import make_clip

    print("(../shared absent: using a synthetic 1280x720 clip)", file=sys.stderr)
    return make_clip(workdir / "synthetic.mp4", frames=120, width=1280, height=720)


def pick_model(name: str | None, tier: str, workdir: Path) -> tuple[Path, str]:
    """(model path, description)."""
    if name:
        info = Catalog().resolve(name, kind="style")
        return info.path, f"{info.name} ({info.arch})"
    try:
        info = Catalog().resolve("wave", kind="style")
        return info.path, f"built-in wave ({info.arch})"
    except Exception:
        pass
    import torch

    from _contract import export
    from trainer.nets import NetConfig, arch_name, build_net, net_stride

    cfg = NetConfig("style", tier)
    torch.manual_seed(0)
    net = build_net(cfg).eval()
    path = export(net, workdir / f"standin-{tier}.onnx", stride=net_stride(cfg), kind="style",
                  name=f"standin-{tier}", arch=arch_name(cfg))
    return Path(path), f"random-weight {arch_name(cfg)} (stand-in, tier {tier})"


def decoded(path: Path, limit: int | None) -> list[np.ndarray]:
    out = []
    with VideoReader(path) as r:
        for rgb, _, _ in r:
            out.append(rgb)
            if limit and len(out) >= limit:
                break
    return out


def model_only(engine: Engine, inputs: list[np.ndarray], workers: int = 1) -> float:
    """Frames/s of engine.run over already-fitted frames, ``workers`` runs at a time (one
    session called from several threads, as the render's workers do)."""
    start = time.perf_counter()
    if workers == 1:
        for x in inputs:
            engine.run(x)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(engine.run, inputs))
    return len(inputs) / (time.perf_counter() - start)


def encode_cost(frames_rgb: list[np.ndarray], rate: Fraction, preset: str, workdir: Path) -> dict:
    h, w = frames_rgb[0].shape[:2]
    out = workdir / f"enc-{preset}.mp4"
    start = time.perf_counter()
    with VideoWriter(out, w, h, rate, preset=preset, crf=18, crash_safe=False) as vw:
        for x in frames_rgb:
            vw.write(x)
    seconds = time.perf_counter() - start
    kbps = out.stat().st_size * 8 / 1000 / (len(frames_rgb) / float(rate))
    return {"preset": preset, "ms_per_frame": 1e3 * seconds / len(frames_rgb), "kbps": kbps}


def check_cli(src: Path, model: Path, workdir: Path, threads: int | None, max_side: int,
              stabilize: float = DEFAULT_STABILIZE, precision: str = "auto") -> dict:
    out = workdir / "cli_out.mp4"
    cmd = [sys.executable, "-m", "stylecam.render", str(src), "--style", str(model), "-o", str(out),
           "--max-side", str(max_side), "--json", "--overwrite"]
    cmd += [] if stabilize == DEFAULT_STABILIZE else ["--stabilize", f"{stabilize:g}"]
    cmd += ["--threads", str(threads)] if threads else []
    cmd += [] if precision == "auto" else ["--precision", precision]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        return {"command": " ".join(cmd), "exit": r.returncode, "stderr": r.stderr.strip()[-300:]}
    summary = json.loads(r.stdout)
    with av.open(str(src)) as a, av.open(str(out)) as b:
        dur = lambda s: float(s.duration * s.time_base) if s.duration else None  # noqa: E731
        n = sum(1 for _ in b.decode(video=0))
        b.seek(0)
        audio_in = [dur(s) for s in a.streams.audio]
        audio_out = [dur(s) for s in b.streams.audio]
        codecs = [s.codec_context.name for s in b.streams]
    return {"command": " ".join(cmd), "exit": 0, "wall_s": wall, "fps": summary["fps"],
            "frames_decoded": n, "frames": summary["frames"], "codecs": codecs,
            "audio_s_in": audio_in, "audio_s_out": audio_out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input")
    p.add_argument("--model")
    p.add_argument("--tier", default="quality", choices=("quality", "fast"))
    p.add_argument("--max-side", type=int, default=640)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--frames", type=int, default=None, help="use only the first N frames")
    p.add_argument("--repeats", type=int, default=3, help="alternating model-only/render pairs (median)")
    p.add_argument("--no-cli", action="store_true")
    p.add_argument("--also-spinning", action="store_true",
                   help="measure again with onnxruntime's busy-waiting threads (its default)")
    p.add_argument("--stabilize", type=float, default=DEFAULT_STABILIZE,
                   help=f"the render's stabiliser (default {DEFAULT_STABILIZE:g}, as stylecam-render)")
    p.add_argument("--eager", action="store_true", help="also time a per-frame torch eager loop (needs torch)")
    p.add_argument("--precision", default="auto", choices=("auto", "float", "int8"),
                   help="the model's precision (default auto: its int8 variant when it has one, as the CLI)")
    p.add_argument("--json")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="stylecam-bench-") as tmp:
        workdir = Path(tmp)
        src = pick_input(args.input, workdir)
        model, model_text = pick_model(args.model, args.tier, workdir)
        if args.frames:  # the same first N frames for both measurements, audio included
            cut = workdir / f"first{args.frames}.mp4"
            _first_frames(src, cut, args.frames)
            src = cut
        frames_full = decoded(src, None)
        h, w = frames_full[0].shape[:2]
        ph, pw = fr.fit_max_side(h, w, args.max_side)
        inputs = [fr.resize(x, ph, pw) for x in frames_full]
        info = Catalog().resolve(model)  # with its int8 variant, as the CLI resolves it
        print(f"input {src} ({w}x{h}, {len(frames_full)} frames); model {model_text}; "
              f"processing {pw}x{ph}; render preset {DEFAULT_PRESET}", flush=True)
        pairs = []
        cores = default_threads()
        arrangements = [(1, args.threads or cores)]  # one frame at a time on every core (session 2)
        workers, threads = plan_workers(None, args.threads, True, True)
        if workers > 1:
            arrangements.append((workers, threads))  # stylecam-render's default on the CPU
        for spin in ([False, True] if args.also_spinning else [False]):
            # spin=False is what stylecam-render uses; the same engines run both measurements
            engines = {}
            for nw, nt in arrangements:
                engines[nw] = Engine(info, device="cpu", threads=nt, spin=spin, precision=args.precision)
                engines[nw].warmup(ph, pw)
            # alternate the measurements so the load of a shared machine hits them alike
            runs = {nw: {"model": [], "render": [], "inside": []} for nw in engines}
            for _ in range(args.repeats):
                for nw, engine in engines.items():
                    runs[nw]["model"].append(model_only(engine, inputs, nw))
                    timer = _Timed(engine)
                    proc = Processor(timer, None, Settings(max_side=args.max_side, stabilize=args.stabilize))
                    dst = workdir / "render.mp4"
                    res = render_video(Job("video", src, dst), proc, [timer], preset=DEFAULT_PRESET,
                                       progress=False, workers=nw)
                    dst.unlink()
                    runs[nw]["render"].append(res.frames / res.seconds)
                    runs[nw]["inside"].append(statistics.median(res.model_ms))
            best_model = max(statistics.median(r["model"]) for r in runs.values())
            base_model = statistics.median(runs[1]["model"])  # the engine as the window and the CLI's pictures run it
            for nw, engine in engines.items():
                r = runs[nw]
                model_fps, render_fps = statistics.median(r["model"]), statistics.median(r["render"])
                pairs.append({"spin": spin, "workers": nw, "threads": engine.threads, "precision": engine.precision,
                              "model_only_fps": r["model"], "render_fps": r["render"],
                              "model_ms_median_in_render": r["inside"],
                              "ratio_of_medians": render_fps / model_fps,
                              "over_one_at_a_time_model": render_fps / base_model,
                              "over_best_model": render_fps / best_model})
                print(f"[spin={spin!s:<5} {nw} worker(s) x {engine.threads} thread(s), {engine.precision}] "
                      f"model only: {model_fps:6.2f} frames/s, render: {render_fps:6.2f} frames/s (medians of "
                      f"{args.repeats}) -> {100 * render_fps / model_fps:.1f}% of the same arrangement's model-only, "
                      f"{100 * render_fps / base_model:.1f}% of one-at-a-time model-only, "
                      f"{100 * render_fps / best_model:.1f}% of the best model-only; runs {_fmt(r['model'])} / "
                      f"{_fmt(r['render'])}", flush=True)

        rate = VideoReader(src).info.rate
        sample = frames_full[: min(60, len(frames_full))]
        encodes = [encode_cost(sample, rate, pr, workdir) for pr in PRESETS]
        for e in encodes:
            print(f"x264 {e['preset']:<9}: {e['ms_per_frame']:6.1f} ms/frame encode-only at {w}x{h}, "
                  f"{e['kbps'] / 1000:.1f} Mbit/s at crf 18", flush=True)
        decode_ms = _decode_cost(src)
        print(f"decode       : {decode_ms:6.1f} ms/frame (PyAV, threaded, to RGB)", flush=True)

        cli = None if args.no_cli else check_cli(src, model, workdir, args.threads, args.max_side,
                                                   args.stabilize, args.precision)
        if cli:
            print(f"CLI          : {json.dumps(cli)}", flush=True)
        eager = None
        if args.eager:
            eager = eager_loop(src, info.arch, workdir, cores, args.max_side)
            default = pairs[len(arrangements) - 1]  # the CLI's default arrangement, not spinning
            eager["render_over_eager"] = statistics.median(default["render_fps"]) / eager["fps"]
            print(f"torch eager  : {eager['fps']:6.2f} frames/s per-frame loop (decode, net, encode in turn); "
                  f"render is {eager['render_over_eager']:.2f}x that", flush=True)
        result = {"input": str(src), "size": [w, h], "frames": len(frames_full), "model": model_text,
                  "processing_size": [pw, ph], "preset": DEFAULT_PRESET, "stabilize": args.stabilize,
                  "runs": pairs, "encode": encodes, "decode_ms_per_frame": decode_ms, "cli": cli,
                  "eager": eager}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def eager_loop(src: Path, arch: str, workdir: Path, threads: int, max_side: int) -> dict:
    """The notebook way: decode, resize, torch eager net, resize back, encode; one frame at a time."""
    from speed import eager_fn, torch_net_for

    net, cfg = torch_net_for(arch)
    if net is None:
        raise SystemExit(f"--eager: no torch network for the architecture '{arch}'")
    from trainer.nets import net_stride

    out = workdir / "eager.mp4"
    n, start = 0, time.perf_counter()
    with VideoReader(src) as r, VideoWriter(out, r.info.width, r.info.height, r.info.rate,
                                            preset=DEFAULT_PRESET, crash_safe=False) as vw:
        for img, _, _ in r:
            h, w = img.shape[:2]
            small = fr.resize(img, *fr.fit_max_side(h, w, max_side))
            y = eager_fn(net, cfg.scale, net_stride(cfg), small, threads)()
            vw.write(fr.resize(y, h, w))
            n += 1
    seconds = time.perf_counter() - start
    return {"frames": n, "seconds": seconds, "fps": n / seconds, "arch": arch, "weights": "random"}


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def _decode_cost(src: Path) -> float:
    start, n = time.perf_counter(), 0
    with VideoReader(src) as r:
        for _ in r:
            n += 1
    return 1e3 * (time.perf_counter() - start) / n


def _first_frames(src: Path, dst: Path, n: int) -> None:
    """Remux the first n video frames' worth of packets (video and audio), no re-encode."""
    with av.open(str(src)) as a, av.open(str(dst), "w") as b:
        v = a.streams.video[0]
        end = None
        pairs = {s.index: b.add_stream_from_template(s) for s in [v, *a.streams.audio]}
        video_packets = 0
        for packet in a.demux(v, *a.streams.audio):
            if packet.dts is None:
                continue
            t = packet.pts * packet.time_base if packet.pts is not None else None
            if packet.stream.index == v.index:
                if video_packets >= n:
                    end = end if end is not None else t
                    continue
                video_packets += 1
            elif end is not None and t is not None and t >= end:
                continue
            packet.stream = pairs[packet.stream.index]
            b.mux(packet)


if __name__ == "__main__":
    sys.exit(main())
