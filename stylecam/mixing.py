"""One-pass blends: styles of one shared trunk mixed in their weights, not their pictures.

Styles trained together on one trunk (``stylecam-train A.jpg --with B.jpg …``, see
``trainer/trunk.py``) share every conv weight and differ only in per-channel scales and
shifts, which the exporter folds into the convs. Each weight of such a model is therefore
linear in its style's parameters, so the weighted sum of two of these models' weights is
exactly the model of the mixed style (Dumoulin et al. 2017): one network, one pass, a
single style's cost. Models from different trunks (or any other models) are not mixable
this way and blend as two passes (``blend.BlendedStyle``).

``mixed_model`` writes the mixed model (and its int8 variant, calibrated on crops of the
demo photo) into the cache, keyed by the models' hashes and the weights rounded to
``STEP``, and returns its ``ModelInfo``: from then on a blend is one model to the engine,
the renderer and the live worker. Qt-free and torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ModelError
from .models import ModelInfo, cache_dir, check_model, sha256_file, variant_path

STEP = 0.05  # weights are rounded to this: 21 mixes of two styles, each made once and cached
CALIB_FRAMES = 8  # int8 calibration: crops of the demo photo (about 1.5 s on 2 cores)
_lock = threading.Lock()  # two threads asking for the same mix make it once


def trunk_of(info: ModelInfo) -> str | None:
    """The id of the shared trunk a style was exported from (``stylecam.train`` JSON), or None."""
    t = info.train.get("trunk") if isinstance(info.train, dict) else None
    return str(t) if t else None


def one_pass(infos: Sequence[ModelInfo]) -> bool:
    """True when ``infos`` (two or more styles) are float models of one trunk, so their blend is
    one model (``mixed_model``); the graphs are compared when the blend is made."""
    if len(infos) < 2 or any(i.kind != "style" or i.precision != "float" for i in infos):
        return False
    ids = {trunk_of(i) for i in infos}
    return len(ids) == 1 and None not in ids and len({i.arch for i in infos}) == 1


def rounded(weights: Sequence[float], step: float = STEP) -> list[float]:
    """Weights on the ``step`` grid, summing to 1 (the cache's key; 0.6/0.4 stays 0.6/0.4)."""
    w = np.asarray(weights, float)
    w = w / w.sum()
    q = np.round(w / step) * step
    q[int(np.argmax(w))] += 1.0 - q.sum()  # what rounding lost goes to the largest share
    return [round(float(x), 6) for x in q]


def mix_graphs(models: Sequence, weights: Sequence[float]):
    """The first ONNX model with every float initializer replaced by the weighted sum of the
    models' ones (weights as given). Raises ``ModelError`` when the graphs differ."""
    from onnx import numpy_helper

    first = models[0]
    layout = [(n.op_type, tuple(n.input), tuple(n.output)) for n in first.graph.node]
    inits = [{i.name: i for i in m.graph.initializer} for m in models]
    for m, own in zip(models[1:], inits[1:]):
        if [(n.op_type, tuple(n.input), tuple(n.output)) for n in m.graph.node] != layout or own.keys() != inits[0].keys():
            raise ModelError("these styles' networks are laid out differently; they cannot be mixed in one pass")
    out = type(first)()
    out.CopyFrom(first)
    for init in out.graph.initializer:
        arrays = [numpy_helper.to_array(own[init.name]) for own in inits]
        if arrays[0].dtype.kind != "f" or all(np.array_equal(arrays[0], a) for a in arrays[1:]):
            if any(a.shape != arrays[0].shape for a in arrays[1:]):
                raise ModelError(f"the weight {init.name} differs in shape between the styles")
            continue
        acc = sum(np.float64(w) * a.astype(np.float64) for w, a in zip(weights, arrays))
        init.CopyFrom(numpy_helper.from_array(acc.astype(arrays[0].dtype), init.name))
    return out


def spec_text(infos: Sequence[ModelInfo], weights: Sequence[float]) -> str:
    return ",".join(f"{i.name}:{w:g}" for i, w in zip(infos, weights))


def mixed_model(infos: Sequence[ModelInfo], weights: Sequence[float], *, folder: Path | None = None,
                int8: bool = True) -> ModelInfo:
    """The one-pass model of the blend (``one_pass`` must hold), made once and cached.

    ``weights`` are rounded to ``STEP``; a weight that rounds to 0 drops its style. With
    ``int8``, an int8 variant is made beside it (the engine checks it like any other); a
    variant that int8 would spoil is left out with the float model kept. Raises
    ``ModelError`` when the models cannot be mixed.
    """
    import onnx

    if not one_pass(infos):
        raise ModelError("these styles are not from one trunk; they blend in two passes")
    weights = rounded(weights)
    used = [(i, w) for i, w in zip(infos, weights) if w > 0]
    if len(used) == 1:
        return used[0][0]
    infos, weights = [i for i, _ in used], [w for _, w in used]
    folder = Path(folder) if folder is not None else cache_dir() / "blends"
    key = hashlib.sha256(json.dumps([[sha256_file(i.path), w] for i, w in zip(infos, weights)]).encode()).hexdigest()[:20]
    path = folder / f"{key}.onnx"
    with _lock:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            model = mix_graphs([onnx.load(str(i.path)) for i in infos], weights)
            spec = spec_text(infos, weights)
            meta = {p.key: p.value for p in model.metadata_props}
            train = {**json.loads(meta.get("stylecam.train", "{}")), "blend": [[i.name, w] for i, w in zip(infos, weights)]}
            meta.update({"stylecam.name": spec, "stylecam.title": " + ".join(i.label for i in infos),
                         "stylecam.train": json.dumps(train, sort_keys=True)})
            # the contract's painting hash: of the paintings' hashes and shares (no one painting is it)
            meta["stylecam.source_sha256"] = hashlib.sha256(json.dumps(
                [[i.train.get("style", i.name), w] for i, w in zip(infos, weights)]).encode()).hexdigest()
            del model.metadata_props[:]
            for k, v in meta.items():
                model.metadata_props.add(key=k, value=v)
            _save_atomically(model, path)
        if int8 and not variant_path(path).is_file():
            _int8(path)
    info = check_model(path)
    var = variant_path(path)
    if var.is_file():
        from dataclasses import replace

        info = replace(info, int8_path=var)
    return info


def _save_atomically(model, path: Path) -> None:
    import onnx

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _int8(path: Path) -> None:
    from .quantize import calibration_frames, quantize_model

    demo = Path(__file__).resolve().parent / "assets" / "demo.jpg"
    frames, where = calibration_frames(demo if demo.is_file() else None, count=CALIB_FRAMES)
    try:
        quantize_model(path, frames, calibrated_on=where)
    except ModelError:
        pass  # int8 would change this mix's picture too much: it runs in float
