"""Blends of styles: ``"wave:0.6,starry_night:0.4"`` and the mixing of their outputs.

There is no shared-trunk network yet (one whose styles differ only in their normalisation
parameters, so a blend would be one pass at one style's cost), so a blend is the fallback of
issue 14: every style of it runs its own model on the frame and the outputs are mixed, a
float weighted sum rounded back to uint8. It costs about one model run per style
(benchmarks/blend_speed.py, RESULTS.md).

Qt-free and torch-free: ``parse_spec`` reads the text, ``resolve_blend`` names the models
through the catalog, ``mix`` mixes pictures and ``BlendedStyle`` runs several engines as one
(anything with ``.info`` and ``.run``: ``Engine``, the renderer's timed wrapper).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import UnknownModelError, UsageError
from .models import Catalog, ModelInfo


class UnknownStyleError(UsageError, UnknownModelError):
    """A blend names a style the catalog does not know (a usage error and an unknown model)."""


def _bad(spec: str, reason: str) -> UsageError:
    return UsageError(f"--style '{spec}': {reason}")


def _weight_part(item: str) -> tuple[str, str | None]:
    """``"wave:0.6"`` -> ("wave", "0.6"); ``"wave"`` -> ("wave", None). A colon inside a path
    to a model (``dir:x/m.onnx``) is not a weight."""
    if ":" not in item:
        return item, None
    name, weight = item.rsplit(":", 1)
    if os.sep in weight or weight.lower().endswith(".onnx"):
        return item, None
    return name, weight


def parse_spec(spec: str) -> list[tuple[str, float]]:
    """The (name, weight) pairs of a blend spec, weights normalised to sum 1.

    ``"wave:0.6,starry_night:0.4"``; ``"wave:3,scream:1"`` (normalised to 0.75, 0.25);
    ``"wave,scream"`` (no weights: equal shares); ``"wave"`` (that style alone). Raises
    ``UsageError`` (one line) for an empty spec or entry, a weight that is not a positive
    finite number, or weights given to some styles and not others. Names are not checked
    here (``resolve_blend`` does).
    """
    text = " ".join(str(spec).split())
    if not text:
        raise UsageError("--style is empty; give a style name, or a blend like 'wave:0.6,starry_night:0.4'")
    pairs: list[tuple[str, str | None]] = []
    for item in text.split(","):
        name, weight = _weight_part(item.strip())
        name = name.strip()
        if not name:
            raise _bad(text, "an entry has no style name")
        pairs.append((name, None if weight is None else weight.strip()))
    given = [w is not None for _, w in pairs]
    if any(given) and not all(given):
        raise _bad(text, "give every style of a blend a weight (wave:0.6,scream:0.4), or none (equal shares)")
    weights = []
    for name, w in pairs:
        if w is None:
            weights.append(1.0)
            continue
        try:
            value = float(w)
        except ValueError:
            raise _bad(text, f"the weight of '{name}' is '{w}', not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise _bad(text, f"the weight of '{name}' is {w}; weights must be more than 0")
        weights.append(value)
    total = sum(weights)
    return [(name, w / total) for (name, _), w in zip(pairs, weights)]


@dataclass(frozen=True)
class Blend:
    """Styles and their weights (summing to 1). One part: a plain style."""

    parts: tuple[tuple[ModelInfo, float], ...]

    @property
    def models(self) -> list[ModelInfo]:
        return [m for m, _ in self.parts]

    @property
    def weights(self) -> list[float]:
        return [w for _, w in self.parts]

    @property
    def single(self) -> bool:
        return len(self.parts) == 1

    @property
    def name(self) -> str:
        """For file names: ``wave`` or ``wave-starry_night``."""
        return "-".join(m.name for m in self.models)

    @property
    def spec(self) -> str:
        """The canonical spec: ``wave`` or ``wave:0.6,starry_night:0.4``."""
        if self.single:
            return self.models[0].name
        return ",".join(f"{m.name}:{round(w, 4):g}" for m, w in self.parts)

    def summary(self) -> list[dict] | None:
        """For ``--json``: [{"style": name, "weight": w}, …], None for a plain style."""
        if self.single:
            return None
        return [{"style": m.name, "weight": round(w, 6)} for m, w in self.parts]


def resolve_blend(spec: str, catalog: Catalog | None = None) -> Blend:
    """The blend a spec names: every name (or title, or path) through ``Catalog.resolve``.

    A plain name keeps the catalog's own message when it is unknown; every bad spec raises a
    ``UsageError`` of one line: an unknown style, a super-resolution model, the same style
    twice, or a bad weight (``parse_spec``).
    """
    catalog = catalog or Catalog()
    pairs = parse_spec(spec)
    text = " ".join(str(spec).split())
    parts, seen = [], {}
    for name, weight in pairs:
        try:
            info = catalog.resolve(name, kind="style")
        except UnknownModelError as exc:
            # in a blend, a super-resolution model's name is said to be one (below); a plain
            # name keeps the catalog's words, as stylecam-render always said
            info = _any_model(catalog, name) if len(pairs) > 1 else None
            if info is None:
                raise UnknownStyleError(str(exc) if len(pairs) == 1 else f"--style '{text}': {exc}") from None
        if info.kind != "style":
            why = f"'{info.name}' is a super-resolution model; pass it with --upscale"
            raise UsageError(why if len(pairs) == 1 else f"--style '{text}': {why}")
        key = os.path.realpath(info.path)
        if key in seen:
            raise _bad(text, f"'{info.name}' is in the blend twice ('{seen[key]}' and '{name}')")
        seen[key] = name
        parts.append((info, weight))
    return Blend(tuple(parts))


def _any_model(catalog: Catalog, name: str) -> ModelInfo | None:
    try:
        return catalog.resolve(name)
    except UnknownModelError:
        return None


def mix(outputs: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted sum of uint8 pictures of one shape, in float, rounded back to uint8.

    Weights are used as given (``parse_spec`` normalises them); a picture with weight 0 is
    not read. One picture with weight 1 comes back as it is.
    """
    if len(outputs) != len(weights) or not outputs:
        raise ValueError(f"mix: {len(outputs)} pictures and {len(weights)} weights")
    shape = outputs[0].shape
    for o in outputs:
        if o.shape != shape:
            raise ValueError(f"mix: pictures of different shapes {shape} and {o.shape}")
    used = [(o, float(w)) for o, w in zip(outputs, weights) if w != 0]
    if len(used) == 1 and used[0][1] == 1.0:
        return used[0][0]
    acc = np.zeros(shape, np.float32)
    for o, w in used:
        acc += o.astype(np.float32) * np.float32(w)
    np.rint(acc, out=acc)
    np.clip(acc, 0, 255, out=acc)
    return acc.astype(np.uint8)


@dataclass(frozen=True)
class BlendInfo:
    """What ``Processor`` and the live worker read of a style model (``info.kind``,
    ``info.name``), for a blend."""

    name: str
    kind: str = "style"
    scale: int = 1


class BlendedStyle:
    """Several style engines run as one: each on the frame, outputs mixed by ``weights``.

    ``weights`` may be replaced between frames (the window's mix slider: the live worker
    reads it per frame); an engine whose weight is 0 does not run.
    """

    def __init__(self, engines: Sequence, weights: Sequence[float], name: str | None = None):
        if len(engines) != len(weights) or not engines:
            raise ValueError(f"BlendedStyle: {len(engines)} engines and {len(weights)} weights")
        self.engines = list(engines)
        self.weights = [float(w) for w in weights]
        self.info = BlendInfo(name or "-".join(e.info.name for e in self.engines))

    def run(self, frame: np.ndarray) -> np.ndarray:
        weights = self.weights  # one consistent list per frame, whatever another thread sets
        outputs = [e.run(frame) if w else None for e, w in zip(self.engines, weights)]
        used = [(o, w) for o, w in zip(outputs, weights) if w]
        if not used:
            raise ValueError("BlendedStyle: every weight is 0")
        return mix([o for o, _ in used], [w for _, w in used])

    def __repr__(self) -> str:
        return f"BlendedStyle({self.info.name!r}, weights={self.weights})"
