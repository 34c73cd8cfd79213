"""Record how a built-in model was made in ``stylecam/assets/manifest.json``.

    python packaging/manifest.py stylecam/assets/NAME.onnx --run-dir runs/NAME --command "stylecam-train ..." \
        [--command "stylecam-train --resume ..."] [--machine "CPU (2 cores)"] [--note TEXT]
    python packaging/manifest.py --int8-only stylecam/assets/*.onnx   # after stylecam-quantize

Steps, wall time, precision, stability weight and the architecture come from the model's own
``stylecam.*`` metadata (and its int8 variant's PSNR to the float picture from the variant's); the final losses from the last row of the run's ``loss.csv``; the
commands (every one that led to the model, in order) from ``--command``. An existing entry
for the model is replaced; entries of other models are kept.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import onnx  # noqa: E402

from stylecam.models import Catalog, is_variant  # noqa: E402

MANIFEST = ROOT / "stylecam" / "assets" / "manifest.json"


def final_losses(run_dir: Path) -> dict:
    """The last row of ``loss.csv``, loss parts only, rounded."""
    with open(run_dir / "loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{run_dir / 'loss.csv'} has no rows")
    last = rows[-1]
    return {k: round(float(v), 4) for k, v in last.items() if k not in ("step", "seconds", "lr") and v}


def int8_entry(info) -> dict:
    """``{"int8_variant": {...}}`` for a model with an int8 variant (stylecam-quantize), else {}."""
    if info.int8_path is None:
        return {}
    meta = {p.key: p.value for p in onnx.load(str(info.int8_path), load_external_data=False).metadata_props}
    return {"int8_variant": {"file": info.int8_path.name, **json.loads(meta.get("stylecam.int8", "{}"))}}


def entry(model: Path, run_dir: Path, commands: list[str], machine: str, note: str) -> dict:
    info = Catalog().resolve(model)  # with its int8 variant, when there is one
    train = info.train
    out = {
        "name": info.name, "title": info.title, "credit": info.credit, "kind": info.kind,
        "tier": train.get("tier"), "arch": info.arch,
    }
    if info.kind == "style":
        out["style_image"] = f"../shared/data/styles/{train.get('style')}"
        out["stability_training"] = train.get("stability", 0) > 0
        out["stability_weight"] = train.get("stability", 0)
    else:
        out.update(scale=info.scale, loss=train.get("loss"), degrade=train.get("degrade", "paper"))
    out.update({
        "commands": commands,
        "steps": train.get("steps"),
        "wall_minutes": round(train.get("wall_seconds", 0) / 60, 1),
        "machine": machine,
        "precision": train.get("precision", "fp32"),
        "final_losses": final_losses(run_dir),
    })
    out.update(int8_entry(info))
    if note:
        out["note"] = note
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, nargs="+")
    p.add_argument("--run-dir", type=Path)
    p.add_argument("--command", action="append", help="a training command (repeat, in order)")
    p.add_argument("--machine", default="CPU (2 cores)")
    p.add_argument("--note", default="")
    p.add_argument("--int8-only", action="store_true",
                   help="only refresh the int8_variant field of these models' entries (after stylecam-quantize)")
    args = p.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"models": {}}
    models = manifest.setdefault("models", {})
    if args.int8_only:
        for model in [m for m in args.model if not is_variant(m)]:
            old = {k: v for k, v in models.get(model.name, {}).items() if k != "int8_variant"}
            models[model.name] = {**old, **int8_entry(Catalog().resolve(model))}
    else:
        if len(args.model) != 1 or not args.run_dir or not args.command:
            p.error("recording a model needs exactly one MODEL, --run-dir and at least one --command")
        models[args.model[0].name] = entry(args.model[0], args.run_dir, args.command, args.machine, args.note)
    manifest["models"] = dict(sorted(manifest["models"].items()))
    tmp = MANIFEST.with_suffix(".json.part")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(MANIFEST)
    print(f"{MANIFEST.relative_to(ROOT)}: {', '.join(m.name for m in args.model if not is_variant(m))} recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
