"""GPU figures in PyTorch CUDA: training steps/s for both tiers, inference at 1920x1080.

    python benchmarks/gpu.py --json gpu.json            # on a machine with a CUDA GPU
    python benchmarks/gpu.py --quick                     # fewer steps, no torch.compile

1. **Training steps/s** of the paper's objective (content relu2_2 + Gram style at relu1_2..4_3
   + TV, ``trainer.losses.objective``) for the fast and quality tiers' style nets, batch 4 at
   256² (the paper's setting), Adam, on the frozen VGG-16. Arrangements, all in one run:
   ``fp32`` (TF32 off: the plain loop), ``tf32`` (PyTorch's default for convolutions),
   ``bf16`` autocast, ``bf16 + channels_last`` (what ``stylecam-train`` does on CUDA) and the
   same under ``torch.compile`` (compile time reported apart, not in steps/s).
2. **Inference** of both tiers' style nets at ``--infer-size`` (1920x1080): model only
   (input already on the GPU) in the same arrangements (fp16 instead of bf16: inference needs
   no range), and a frame's full trip (uint8 HWC in pinned host memory -> GPU -> net ->
   uint8 back), the proxy for the app's GPU path where onnxruntime-gpu cannot be installed.
3. The card's bf16 and fp32 (TF32 off) matmul peaks, measured in the same run.

Nets carry random weights (speed does not depend on them); VGG-16 carries the real ones
(``--vgg-weights`` or ``trainer.vgg.find_weights``' search) when found, else random ones,
which the output says. Prints markdown tables; ``--json FILE`` saves every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from _measure import time_call  # noqa: E402

from trainer.losses import LossConfig, objective, style_targets  # noqa: E402
from trainer.nets import NetConfig, build_net, count_params  # noqa: E402
from trainer.vgg import VGGFeatures, load_vgg  # noqa: E402
from stylecam.errors import StylecamError  # noqa: E402

TIERS = ("fast", "quality")
DEVICE = "cuda"  # --device cpu only checks that the script runs (its figures mean nothing)
TRAIN_ARRANGEMENTS = ("fp32", "tf32", "bf16", "bf16+cl", "bf16+cl+compile")
INFER_ARRANGEMENTS = ("fp32", "tf32", "fp16", "fp16+cl", "fp16+cl+compile")


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def median_s(fn, reps: int) -> float:
    """Median seconds per call of ``fn``, each call synchronised, after 3 warm-up calls."""
    return time_call(lambda: (fn(), sync()), reps=reps, max_s=600, warmup=3).median_ms / 1000


def matmul_peak(dtype: torch.dtype, n: int = 8192, reps: int = 10) -> float:
    """TFLOP/s of an n³ matmul in ``dtype`` (TF32 off for fp32)."""
    a = torch.randn(n, n, device=DEVICE, dtype=dtype)
    b = torch.randn(n, n, device=DEVICE, dtype=dtype)
    t = median_s(lambda: a @ b, reps)
    return 2 * n**3 / t / 1e12


def set_tf32(on: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def arrangement(name: str) -> tuple[torch.dtype | None, bool, bool]:
    """(autocast dtype or None, channels_last, compile) for an arrangement's name."""
    set_tf32(name != "fp32")
    dtype = torch.bfloat16 if name.startswith("bf16") else torch.float16 if name.startswith("fp16") else None
    return dtype, "+cl" in name, name.endswith("+compile")


def train_speed(tier: str, name: str, vgg: VGGFeatures, size: int, batch: int, steps: int) -> dict:
    """Steps/s of one arrangement: the paper objective, Adam, random photos and painting."""
    dtype, cl, compiled = arrangement(name)
    torch.manual_seed(0)
    net = build_net(NetConfig(kind="style", tier=tier)).to(DEVICE).train()
    fmt = torch.channels_last if cl else torch.contiguous_format
    net.to(memory_format=fmt)
    vgg.to(memory_format=fmt)
    lcfg = LossConfig(1.0, 8.0, 1.0)
    with torch.no_grad():
        grams = style_targets(vgg, torch.rand(1, 3, 2 * size, 2 * size, device=DEVICE), lcfg)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, size, size, device=DEVICE).contiguous(memory_format=fmt)

    def loss_of(x):
        with torch.autocast(DEVICE, dtype=dtype or torch.float32, enabled=dtype is not None):
            y = net(x)
            return objective(vgg, y.float() if dtype else y, x, grams, lcfg)[0]

    fn = torch.compile(loss_of) if compiled else loss_of

    def step():
        opt.zero_grad(set_to_none=True)
        fn(x).backward()
        opt.step()

    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    med = median_s(step, steps)
    vgg.to(memory_format=torch.contiguous_format)
    return {"tier": tier, "arrangement": name, "median_ms": med * 1000, "steps_per_s": 1 / med,
            "images_per_s": batch / med, "first_step_s": first, "steps": steps}


def infer_speed(tier: str, name: str, h: int, w: int, reps: int) -> dict:
    """Model-only ms of one arrangement at h x w, and (fp16+cl only) a uint8 frame's full trip."""
    dtype, cl, compiled = arrangement(name)
    torch.manual_seed(0)
    net = build_net(NetConfig(kind="style", tier=tier)).to(DEVICE).eval()
    fmt = torch.channels_last if cl else torch.contiguous_format
    net.to(memory_format=fmt)
    if dtype is not None:
        net.to(dtype)
    x = torch.rand(1, 3, h, w, device=DEVICE, dtype=dtype or torch.float32).contiguous(memory_format=fmt)
    run = torch.compile(net) if compiled else net
    with torch.inference_mode():
        t0 = time.perf_counter()
        run(x)
        sync()
        first = time.perf_counter() - t0
        med = median_s(lambda: run(x), reps)
        row = {"tier": tier, "arrangement": name, "size": f"{w}x{h}", "median_ms": med * 1000,
               "fps": 1 / med, "first_call_s": first}
        if name == "fp16+cl":
            pin = DEVICE == "cuda"
            frame = torch.randint(0, 256, (h, w, 3), dtype=torch.uint8, pin_memory=pin)
            back = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=pin)

            def trip():
                g = frame.to(DEVICE, non_blocking=True).permute(2, 0, 1).unsqueeze(0)
                y = run(g.to(dtype).div_(255).contiguous(memory_format=fmt))
                back.copy_(y.clamp_(0, 1).mul_(255).round_().to(torch.uint8)[0].permute(1, 2, 0),
                           non_blocking=True)

            trip_med = median_s(trip, reps)
            row.update({"trip_ms": trip_med * 1000, "trip_fps": 1 / trip_med})
    return row


def markdown(res: dict) -> str:
    d = res["device"]
    lines = [f"GPU: {d['name']}, torch {d['torch']}; matmul 8192³: bf16 {d['bf16_tflops']:.0f} TFLOP/s, "
             f"fp32 (TF32 off) {d['fp32_tflops']:.1f} TFLOP/s; VGG-16: {res['vgg']}", ""]
    lines += [f"Training, style mode, batch {res['batch']} at {res['size']}², Adam, paper objective",
              "", "| tier | arrangement | ms/step | steps/s | images/s | × fp32 | first step s |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for tier in TIERS:
        rows = [r for r in res["train"] if r["tier"] == tier]
        base = next((r for r in rows if r["arrangement"] == "fp32"), None)
        for r in rows:
            ratio = base["median_ms"] / r["median_ms"] if base else float("nan")
            lines.append(f"| {tier} | {r['arrangement']} | {r['median_ms']:.2f} | {r['steps_per_s']:.1f} | "
                         f"{r['images_per_s']:.0f} | {ratio:.2f} | {r['first_step_s']:.1f} |")
    lines += ["", f"Inference at {res['infer_size']}, one frame, model only (input on the GPU); "
              "'trip' = uint8 frame from pinned host memory to the GPU, net, uint8 back", "",
              "| tier | arrangement | ms | fps | × fp32 | trip ms | trip fps |", "|---|---|---:|---:|---:|---:|---:|"]
    for tier in TIERS:
        rows = [r for r in res["infer"] if r["tier"] == tier]
        base = next((r for r in rows if r["arrangement"] == "fp32"), None)
        for r in rows:
            ratio = base["median_ms"] / r["median_ms"] if base else float("nan")
            trip = (f"{r['trip_ms']:.2f} | {r['trip_fps']:.0f}" if "trip_ms" in r else "|")
            lines.append(f"| {tier} | {r['arrangement']} | {r['median_ms']:.2f} | {r['fps']:.0f} | {ratio:.2f} | {trip} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=256, help="training crop side (default 256, the paper's)")
    p.add_argument("--batch", type=int, default=4, help="training batch (default 4, the paper's)")
    p.add_argument("--steps", type=int, default=40, help="timed training steps per arrangement")
    p.add_argument("--reps", type=int, default=50, help="timed inference runs per arrangement")
    p.add_argument("--infer-size", default="1920x1080", help="inference frame WxH (default 1920x1080)")
    p.add_argument("--vgg-weights", help="VGG-16 weights (default: trainer.vgg's search)")
    p.add_argument("--tiers", default=",".join(TIERS))
    p.add_argument("--quick", action="store_true", help="10 steps, 10 runs, no torch.compile")
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--device", default="cuda", help=argparse.SUPPRESS)  # cpu: check the script runs
    args = p.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("benchmarks/gpu.py: PyTorch sees no CUDA GPU here; nothing to measure", file=sys.stderr)
        return 2
    tiers = [t for t in args.tiers.split(",") if t]
    w, h = (int(v) for v in args.infer_size.lower().split("x"))
    if args.quick:
        args.steps, args.reps = 10, 10
    train_arr = [a for a in TRAIN_ARRANGEMENTS if not (args.quick and a.endswith("compile"))]
    infer_arr = [a for a in INFER_ARRANGEMENTS if not (args.quick and a.endswith("compile"))]
    try:
        vgg = load_vgg(args.vgg_weights, DEVICE)
        vgg_note = f"real weights ({Path(vgg.source).name})"
    except StylecamError as exc:
        vgg = VGGFeatures().to(DEVICE).eval().requires_grad_(False)
        vgg_note = f"RANDOM weights ({exc}); speed only"
    set_tf32(False)
    n = 8192 if DEVICE == "cuda" else 256
    res = {"device": {"name": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu (script check only)",
                      "torch": torch.__version__, "bf16_tflops": matmul_peak(torch.bfloat16, n),
                      "fp32_tflops": matmul_peak(torch.float32, n)},
           "vgg": vgg_note, "size": args.size, "batch": args.batch, "infer_size": f"{w}x{h}",
           "params": {t: count_params(build_net(NetConfig(kind="style", tier=t))) for t in tiers},
           "train": [], "infer": []}
    for tier in tiers:
        for name in train_arr:
            row = train_speed(tier, name, vgg, args.size, args.batch, args.steps)
            print(f"train {tier:8s} {name:16s} {row['median_ms']:8.2f} ms/step", file=sys.stderr, flush=True)
            res["train"].append(row)
        for name in infer_arr:
            row = infer_speed(tier, name, h, w, args.reps)
            print(f"infer {tier:8s} {name:16s} {row['median_ms']:8.2f} ms", file=sys.stderr, flush=True)
            res["infer"].append(row)
    set_tf32(False)
    print(markdown(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
