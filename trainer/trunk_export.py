"""Export every style of a shared-trunk run (``trainer.trunk``) as its own stylecam model.

Each painting of the run becomes one ordinary model file named after it (``wave.jpg`` ->
``wave``), an exact copy of the trunk with that style's parameters folded in, so it runs
at one fast net's cost. Its ``stylecam.train`` metadata says which trunk it came from
(``trunk``: the id of the shared weights, ``trunk_style``: its row), which is what lets
``stylecam.blend`` mix two such models in one pass.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stylecam.models import sha256_file

from .export import export_model
from .nets import arch_name, net_stride


def style_name(painting: str | Path) -> str:
    """The model name of a trunk painting: its file name without the extension."""
    return Path(painting).stem


def export_trunk(result, out_dir: Path, log) -> list[Path]:
    """Write ``<out_dir>/<painting>.onnx`` for every painting of the trunk run ``result``."""
    cfg = result.config
    trunk = result.net
    ncfg = replace(cfg.net_config(), styles=0)
    tid = trunk.trunk_id()
    base = result.metadata()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for k, painting in enumerate(cfg.styles):
        name = style_name(painting)
        train = {**base, "style": Path(painting).name, "trunk": tid, "trunk_style": k}
        path = export_model(trunk.single(k), out_dir / f"{name}.onnx", kind="style", name=name, scale=1,
                            arch=arch_name(ncfg), stride=net_stride(ncfg), train=train,
                            source_sha256=sha256_file(painting) if Path(painting).is_file() else None,
                            title=name.replace("_", " ").capitalize())
        log(f"style {k + 1} of {len(cfg.styles)}: {path}")
        written.append(path)
    return written
