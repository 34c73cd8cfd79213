"""Models from a GPU round's packed runs (``trainer.gpu_round``), exported on this machine.

    python -m trainer.gpu_unpack OUT_FILES_DIR RUNS_DIR --paintings ../shared/data/styles

Each ``<job>.tar`` is unpacked into ``RUNS_DIR/<job>/``; its checkpoint is exported as the
trainer would have at the end of the run: a quality-tier (or any single) style as
``RUNS_DIR/<job>/<name>.onnx``, a shared trunk as one model per painting in
``RUNS_DIR/<job>/styles/``. The paintings' paths in the runs' settings (the GPU machine's
copies) are pointed at ``--paintings``, so the models' metadata names the real files that
the objective (``benchmarks/quality.py``) reads. No int8 here: ``stylecam-quantize`` after.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig, TrainResult
from .export import export_model
from .half import half_file
from .nets import arch_name, build_net, net_stride
from .trunk_export import export_trunk


def repoint(cfg: dict, paintings: Path) -> dict:
    """The run's settings with every painting path moved into ``paintings`` (same file names)."""
    cfg = dict(cfg)
    if cfg.get("style"):
        cfg["style"] = str(paintings / Path(cfg["style"]).name)
    if cfg.get("styles"):
        cfg["styles"] = tuple(str(paintings / Path(s).name) for s in cfg["styles"])
    return cfg


def export_run(run: Path, paintings: Path | None, log=print) -> list[Path]:
    ck = load_checkpoint(run / "checkpoint.pt")
    if paintings is not None:
        ck["config"] = repoint(ck["config"], paintings)
        save_checkpoint(run / "checkpoint.pt", ck)
    cfg = TrainConfig.from_dict(ck["config"])
    net = build_net(cfg.net_config())
    net.load_state_dict({k: v.float() for k, v in ck["net"].items()})
    net.eval()
    result = TrainResult(net, cfg, int(ck["step"]), float(ck["wall_seconds"]), run, list(ck["history"]))
    if cfg.styles:
        (run / "styles").mkdir(exist_ok=True)
        export_trunk(result, run / "styles", log)
        return sorted((run / "styles").glob("*.onnx"))
    ncfg = cfg.net_config()
    path = run / f"{cfg.name}.onnx"
    export_model(net, path, kind=ncfg.kind, name=cfg.name, scale=ncfg.scale, arch=arch_name(ncfg),
                 stride=net_stride(ncfg), train=result.metadata(), source_sha256=cfg.source_sha256 or None,
                 title=cfg.title, credit=cfg.credit)
    if ncfg.tier == "quality":  # float16 weights behind casts, as stylecam-train writes it
        half_file(path)
    return [path]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("packed", help="folder holding the round's <job>.tar files")
    p.add_argument("runs", help="folder to unpack the runs into")
    p.add_argument("--paintings", help="folder of the paintings the runs were trained on")
    a = p.parse_args(argv)
    paintings = Path(a.paintings).resolve() if a.paintings else None
    for tar in sorted(Path(a.packed).glob("*.tar")):
        run = Path(a.runs) / tar.stem
        run.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar) as t:
            t.extractall(run, filter="data")
        for path in export_run(run, paintings):
            print(f"{tar.stem}: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
