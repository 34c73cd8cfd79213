"""One GPU lease, one command: train the quality tier of the styles without one and continue the trunk.

Session 11's round (benchmarks/RESULTS.md section 18) started the quality tier from random
weights at learning rate 1e-3 and got flat pictures; it now starts from the quality base network
(``trainer/base/quality.pt``) at ``trainer.config.QUALITY_LR``, which learned in a CPU trial.

    python -m trainer.gpu_round --data .gpu --out $OUT --minutes 7      # on the lent GPU
    python -m trainer.gpu_round --data .gpu --out /tmp/o --tiny         # rehearsal on a CPU

``--data`` holds what the machine cannot fetch: ``content/`` (training photos),
``styles/NAME.jpg`` (the paintings), ``vgg16.pt`` (VGG-16's conv weights as a torchvision
state dict) and ``trunk.pt`` (the shipped trunk's checkpoint, weights only). Make it with

    python -m trainer.gpu_round --prepare .gpu --content ../shared/data/content \
        --paintings ../shared/data/styles --trunk-from RUN/checkpoint.pt

(photos as JPEG quality ``--jpeg``, paintings at most 1,024 px, VGG-16 in fp16: about 31 MB;
the repo, ``.gpu`` and the wheels travel together, 64 MiB at most, so check ``du`` first). Every job is
one ``stylecam-train`` process, all of them at once on the one GPU (each compiled, bf16 +
channels_last, its steps fitted to ``--minutes`` by the trainer); a run still going at the
deadline gets SIGTERM, which makes it save its checkpoint and stop. Then each run folder is
packed into ``OUT/<job>.tar``: its checkpoint (the optimiser's state left out of the
quality tier's, to fit the lease's 16 MiB a file), loss.csv and the last preview. Export
and int8 happen afterwards on the CPU (``trainer.gpu_unpack``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

TRUNK = ("udnie", "wave", "starry_night", "scream", "composition_vii", "grande_jatte", "klimt_kiss",
         "monet_water_lilies", "mosaic_ducks", "shipwreck")  # the shipped trunk's order


def without_quality() -> tuple[str, ...]:
    """The built-in styles that have no quality tier yet, in the trunk's order: the round's default."""
    from stylecam.models import Catalog, builtin_dir

    have = {i.name for i in Catalog([(builtin_dir(), "builtin")]).models() if i.quality_path}
    return tuple(s for s in TRUNK if s not in have)


CLI = "import sys; from trainer.cli import main; sys.exit(main())"
LAYERS_AND_EDGE = ["--layer-weights", "3.05,0.76,0.19,0.048", "--edge", "500"]
RECIPE = ["--style-size", "768", *LAYERS_AND_EDGE]
# The quality tier's recipes. "pytorch-examples" is the recipe behind their published udnie
# (RESULTS section 19): the painting at 512 px, 5x our style weight (their 5e10 against content
# 1e5 in our normalisation), no total-variation term; our layer weights and edge term kept.
QUALITY_RECIPES = {
    "trunk": RECIPE,
    "pytorch-examples": ["--style-size", "512", "--style-weight", "40", "--tv-weight", "0", *LAYERS_AND_EDGE],
}


def jobs(data: Path, runs: Path, a) -> dict[str, list[str]]:
    """Each job's stylecam-train arguments."""
    common = ["--content", str(data / "content"), "--vgg-weights", str(data / "vgg16.pt"), "--quiet",
              "--no-int8", "--threads", str(a.threads)]
    if a.tiny:
        common += ["--steps", "3", "--device", "cpu", "--checkpoint-every", "2"]
        size_q, size_t, batch_t = ["--size", "64"], ["--size", "64"], ["--batch", "2"]
    else:
        common += ["--minutes", str(a.minutes), "--compile"]
        size_q, size_t, batch_t = ["--size", "256"], ["--size", "192"], ["--batch", str(a.trunk_batch)]
    out = {}
    for s in filter(None, a.quality.split(",")):
        out[f"q_{s}"] = [str(data / "styles" / f"{s}.jpg"), "--name", f"{s}-quality", "--tier", "quality",
                         "--init", "base", "--batch", "4", *size_q,  # at QUALITY_LR: from scratch at 1e-3 it went flat
                         *QUALITY_RECIPES[a.recipe]]
    if not a.no_trunk:
        paintings = [str(data / "styles" / f"{s}.jpg") for s in TRUNK]
        out["trunk"] = [paintings[0], "--with", *paintings[1:], "--name", "trunk-gpu", "--fast", "v3-ns",
                        "--init", str(data / "trunk.pt"), "--lr", str(a.trunk_lr), *batch_t, *size_t, *RECIPE]
    for name, args in out.items():
        dest = runs / name / ("styles" if name == "trunk" else f"{name}.onnx")
        if name == "trunk":
            dest.mkdir(parents=True, exist_ok=True)
        args += common + ["--run-dir", str(runs / name), "--out", str(dest)]
    return out


def pack(run: Path, dest: Path) -> None:
    """Checkpoint (quality tier: without the optimiser), loss.csv, the last preview."""
    ck = run / "checkpoint.pt"
    with tarfile.open(dest, "w") as tar:
        if ck.is_file():
            state = torch.load(ck, map_location="cpu", weights_only=False)
            if state.get("config", {}).get("tier") == "quality":
                state.pop("opt", None)
            slim = run / "checkpoint.slim.pt"
            torch.save(state, slim)
            tar.add(slim, "checkpoint.pt")
        for f in ("loss.csv", "train.log"):
            if (run / f).is_file():
                tar.add(run / f, f)
        previews = sorted(run.glob("preview_*.png"))
        if previews:
            tar.add(previews[-1], previews[-1].name)


def prepare(dest: Path, content: Path, paintings: Path, trunk_from: Path | None, jpeg: int) -> None:
    """Write the ``--data`` folder (``dest``) from this machine's photos, paintings and VGG-16."""
    import cv2

    from .checkpoint import load_checkpoint
    from .data import IMAGE_SUFFIXES
    from .vgg import load_vgg

    (dest / "content").mkdir(parents=True, exist_ok=True)
    (dest / "styles").mkdir(exist_ok=True)
    for p in sorted(content.rglob("*")):
        img = cv2.imread(str(p)) if p.suffix.lower() in IMAGE_SUFFIXES else None
        if img is not None:
            cv2.imwrite(str(dest / "content" / f"{p.stem}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
    for name in sorted(TRUNK):
        img = cv2.imread(str(paintings / f"{name}.jpg"))
        if img is None:
            print(f"note: no painting {name}.jpg in {paintings}: its jobs cannot run", flush=True)
            continue
        k = min(1.0, 1024 / max(img.shape[:2]))
        if k < 1:
            img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(dest / "styles" / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    vgg = load_vgg(None)
    torch.save({f"features.{k}": v.half() for k, v in vgg.features.state_dict().items()}, dest / "vgg16.pt")
    if trunk_from:
        ck = load_checkpoint(trunk_from)
        torch.save({k: ck[k] for k in ("version", "config", "arch", "step", "net")}, dest / "trunk.pt")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="folder with content/, styles/, vgg16.pt, trunk.pt")
    p.add_argument("--out", help="where the packed runs go")
    p.add_argument("--prepare", metavar="DIR", help="write the --data folder here instead (on this machine)")
    p.add_argument("--content", help="with --prepare: the training photos")
    p.add_argument("--paintings", help="with --prepare: the folder of paintings (NAME.jpg)")
    p.add_argument("--trunk-from", help="with --prepare: the trunk checkpoint the round continues")
    p.add_argument("--jpeg", type=int, default=80, help="with --prepare: JPEG quality of the photos")
    p.add_argument("--minutes", type=float, default=7.0, help="each run's --minutes")
    p.add_argument("--deadline", type=float, default=0.0, help="seconds after which runs get SIGTERM "
                   "(default: minutes + 75 s)")
    p.add_argument("--trunk-batch", type=int, default=16)
    p.add_argument("--trunk-lr", type=float, default=4e-4)
    p.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    p.add_argument("--quality", default=",".join(without_quality()),
                   help="paintings for the quality tier (comma list; default: the built-in styles without one)")
    p.add_argument("--recipe", choices=sorted(QUALITY_RECIPES), default="pytorch-examples",
                   help="the quality tier's loss recipe (default pytorch-examples: RESULTS section 19)")
    p.add_argument("--no-trunk", action="store_true")
    p.add_argument("--tiny", action="store_true", help="3 steps at 64 px on the CPU: checks the plumbing")
    a = p.parse_args(argv)
    if a.prepare:
        if not (a.content and a.paintings):
            p.error("--prepare needs --content and --paintings")
        prepare(Path(a.prepare), Path(a.content), Path(a.paintings), Path(a.trunk_from) if a.trunk_from else None,
                a.jpeg)
        return 0
    if not (a.data and a.out):
        p.error("give --data and --out (or --prepare)")
    data, out = Path(a.data).resolve(), Path(a.out).resolve()
    runs = out.parent / (out.name + "_runs")
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (a.deadline or a.minutes * 60 + 75)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = {}
    for name, args in jobs(data, runs, a).items():
        (runs / name).mkdir(parents=True, exist_ok=True)
        with open(runs / name / "train.log", "w") as log:  # the child keeps its own copy open
            procs[name] = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=log,
                                           stderr=subprocess.STDOUT, env=env)
        print(f"started {name}: stylecam-train {' '.join(args)}", flush=True)
    while any(pr.poll() is None for pr in procs.values()) and time.monotonic() < deadline:
        time.sleep(2)
    for name, pr in procs.items():
        if pr.poll() is None:
            print(f"{name}: deadline, SIGTERM", flush=True)
            pr.send_signal(signal.SIGTERM)
    for name, pr in procs.items():
        try:
            pr.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pr.kill()
        print(f"{name}: exit {pr.returncode}", flush=True)
        pack(runs / name, out / f"{name}.tar")
    return 0


if __name__ == "__main__":
    sys.exit(main())
