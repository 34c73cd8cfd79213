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
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for k, painting in enumerate(cfg.styles):
        name = style_name(painting)
        path = export_style(result, k, out_dir / f"{name}.onnx", name, name.replace("_", " ").capitalize())
        log(f"style {k + 1} of {len(cfg.styles)}: {path}")
        written.append(path)
    return written


def export_style(result, k: int, path: Path, name: str, title: str = "", credit: str = "") -> Path:
    """Write the style of row ``k`` of the trunk run ``result`` as the model ``name`` at ``path``.
    A style fitted on the shipped trunk (``trainer.trunk_fit``) records where it started
    (``init``), not a row of its own run."""
    cfg = result.config
    trunk = result.net
    painting = cfg.styles[k]
    ncfg = replace(cfg.net_config(), styles=0)
    train = {**result.metadata(), "style": Path(painting).name, "trunk": trunk.trunk_id()}
    if cfg.fit != "style" or not cfg.init.startswith("trunk"):
        train["trunk_style"] = k
    return export_model(trunk.single(k), path, kind="style", name=name, scale=1,
                        arch=arch_name(ncfg), stride=net_stride(ncfg), train=train,
                        source_sha256=sha256_file(painting) if Path(painting).is_file() else None,
                        title=title, credit=credit)
