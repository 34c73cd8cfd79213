"""The shipped shared trunk (``trainer/base/trunk-fast.pt``): what ``--fit style`` learns a new
painting on (``trainer.trunk_fit``).

    python -m trainer.trunk_ship RUN_DIR [--out PATH] [--check MODELS_DIR]

writes the trunk file from a shared-trunk run's checkpoint (``stylecam-train A.jpg --with
B.jpg ...``): its state dict in fp32 (about 1 MB for ten styles; fp32 because the trunk id of
the run's exported styles is the hash of exactly these weights, so a style fitted on them
mixes with those in one pass), the paintings' names (one per style row), the net's version,
the trunk id and the run's training settings (a fit adopts its loss settings, so the new
style is painted like its trunk's). No per-style signature is stored: the nearest style is
found by running the trunk's styles themselves (``trunk_fit.rank_trunk_styles``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stylecam.errors import UsageError

from . import checkpoint as C
from .config import TrainConfig, TrainResult
from .nets import FAST_PRESETS, arch_name

KIND = "trunk"


def save_trunk(checkpoint, path: str | Path) -> Path:
    """Write the trunk file ``path`` from a trunk run's checkpoint (a dict, a checkpoint file or
    a run folder); returns the path."""
    from .trunk_export import style_name

    if not isinstance(checkpoint, dict):
        src = Path(checkpoint)
        checkpoint = C.load_checkpoint(src / C.CHECKPOINT if src.is_dir() else src)
    cfg = TrainConfig.from_dict(checkpoint["config"])
    if len(cfg.styles) < 2:
        raise UsageError("not a shared-trunk run (stylecam-train A.jpg --with B.jpg ...): nothing to ship")
    net = trunk_from_state(cfg.fast, len(cfg.styles), checkpoint["net"])
    result = TrainResult(net, cfg, int(checkpoint.get("step", 0)), float(checkpoint.get("wall_seconds", 0.0)), Path("."))
    data = {"version": 1, "kind": KIND, "arch": arch_name(cfg.net_config()), "fast": cfg.fast,
            "styles": [style_name(p) for p in cfg.styles], "trunk_id": net.trunk_id(),
            "net": {k: v.detach().float().cpu().clone() for k, v in net.state_dict().items()},
            "train": result.metadata()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    C.save_checkpoint(path, data)
    return path


def trunk_from_state(fast: str, n: int, state: dict):
    """A ``TrunkNet`` of version ``fast`` with ``n`` styles holding ``state``."""
    from .trunk import TrunkNet

    net = TrunkNet(FAST_PRESETS[fast], n)
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval()


def read_trunk(path: str | Path | None = None, why: str = "--fit style") -> dict:
    """The trunk file (default ``checkpoint.trunk_path()``), or one UsageError line saying
    that it is missing or not a trunk."""
    path = Path(path) if path is not None else C.trunk_path()
    if not path.is_file():
        raise UsageError(f"{why}: no shared trunk at {path}; ship one from a trunk run with "
                         "python -m trainer.trunk_ship RUN_DIR")
    data = C.load_checkpoint(path)
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("fast") not in FAST_PRESETS:
        raise UsageError(f"{why}: {path} is not a shared trunk file (python -m trainer.trunk_ship makes one)")
    return data


def model_trunk(path: str | Path) -> tuple[str, str | None]:
    """(model name, trunk id or None) of the style model file ``path``."""
    import onnx

    meta = {m.key: m.value for m in onnx.load(str(path), load_external_data=False).metadata_props}
    return meta.get("stylecam.name", Path(path).stem), json.loads(meta.get("stylecam.train", "{}")).get("trunk")


def trunk_ids(folder: Path) -> dict[str, str]:
    """{model name: trunk id} of the style models in ``folder`` that carry one."""
    ids = (model_trunk(p) for p in sorted(Path(folder).glob("*.onnx")))
    return {name: tid for name, tid in ids if tid}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.trunk_ship", description="Write the shipped shared "
                                "trunk (trainer/base/trunk-fast.pt) from a trunk run's checkpoint.")
    p.add_argument("run", help="the trunk run's folder or its checkpoint.pt")
    p.add_argument("--out", help=f"where to write it (default {C.trunk_path()})")
    p.add_argument("--check", metavar="MODELS_DIR", help="the run's exported styles: their trunk id must match")
    args = p.parse_args(argv)
    try:
        path = save_trunk(args.run, args.out or C.trunk_path())
        data = read_trunk(path)
    except Exception as exc:  # a user's mistake: one line
        print(f"trunk_ship: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: {len(data['styles'])} styles ({', '.join(data['styles'])}), {data['arch']}, "
          f"trunk {data['trunk_id']}, {path.stat().st_size / 1e6:.1f} MB")
    if args.check:
        ids = trunk_ids(Path(args.check))
        bad = {n: t for n, t in ids.items() if t != data["trunk_id"]}
        if not ids or bad:
            print(f"trunk_ship: the models in {args.check} are not of this trunk: "
                  f"{bad or 'none carries a trunk id'}", file=sys.stderr)
            return 1
        print(f"{len(ids)} models in {args.check} carry trunk {data['trunk_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
