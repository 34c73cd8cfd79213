"""The model catalog: built-in models, the user's models, and explicit .onnx paths.

A stylecam model is one ONNX file that keeps the contract of DESIGN.md: input ``frame``
uint8 (H, W, 3) RGB, output ``image`` uint8 (H*s, W*s, 3) RGB, and ``stylecam.*``
metadata. ``check_model`` reads a file and either returns its ``ModelInfo`` or raises
``ContractError`` naming the file and the broken rule.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import onnx
import platformdirs

from .errors import ContractError, ModelError, UnknownModelError

FORMAT = "1"
KINDS = ("style", "sr")
SR_SCALES = (2, 3, 4, 8)
REQUIRED_KEYS = ("stylecam.format", "stylecam.kind", "stylecam.name", "stylecam.scale",
                 "stylecam.arch", "stylecam.train")
PRECISIONS = ("float", "int8")
INT8_SUFFIX = ".int8.onnx"  # x.int8.onnx beside x.onnx: its int8 variant (stylecam.quantize)
QUALITY_SUFFIX = ".quality.onnx"  # x.quality.onnx beside x.onnx: its quality tier (the paper's net)


def _beside(model: str | os.PathLike, suffix: str) -> Path:
    model = Path(model)
    stem = model.name[:-5] if model.name.lower().endswith(".onnx") else model.name
    return model.with_name(stem + suffix)


def variant_path(model: str | os.PathLike) -> Path:
    """Where the int8 variant of ``model`` (``x.onnx``) lives: ``x.int8.onnx`` beside it."""
    return _beside(model, INT8_SUFFIX)


def is_variant(path: str | os.PathLike) -> bool:
    return Path(path).name.lower().endswith(INT8_SUFFIX)


def quality_path(model: str | os.PathLike) -> Path:
    """Where the quality tier of the style ``model`` (``x.onnx``) lives: ``x.quality.onnx`` beside it."""
    return _beside(model, QUALITY_SUFFIX)


def is_quality(path: str | os.PathLike) -> bool:
    return Path(path).name.lower().endswith(QUALITY_SUFFIX)


def fast_path(quality: str | os.PathLike) -> Path:
    """The fast model a quality-tier file (``x.quality.onnx``) belongs to: ``x.onnx`` beside it."""
    quality = Path(quality)
    return quality.with_name(quality.name[:-len(QUALITY_SUFFIX)] + ".onnx")


def builtin_dir() -> Path:
    """Built-in models: ``stylecam/assets/``, package data in the wheel (``STYLECAM_ASSETS_DIR`` overrides)."""
    env = os.environ.get("STYLECAM_ASSETS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "assets"


def user_dir() -> Path:
    """The per-user models folder (``STYLECAM_MODELS_DIR`` overrides)."""
    env = os.environ.get("STYLECAM_MODELS_DIR")
    return Path(env) if env else platformdirs.user_data_path("stylecam") / "models"


def cache_dir() -> Path:
    """Where optimised models and int8 checks are kept (``STYLECAM_CACHE_DIR`` overrides)."""
    env = os.environ.get("STYLECAM_CACHE_DIR")
    return Path(env) if env else platformdirs.user_cache_path("stylecam") / "ort"


@dataclass(frozen=True)
class ModelInfo:
    """What the catalog knows of one model file."""

    path: Path
    name: str
    kind: str  # "style" | "sr"
    scale: int
    arch: str
    train: dict = field(default_factory=dict, compare=False, hash=False)
    title: str = ""
    credit: str = ""
    origin: str = "path"  # "builtin" | "user" | "path"
    precision: str = "float"  # "float" | "int8" (metadata stylecam.precision)
    variant_of: str = ""  # an int8 variant: sha256 of the float file it was made from
    int8_path: Path | None = field(default=None, compare=False)  # its int8 variant, when there is one
    quality_path: Path | None = field(default=None, compare=False)  # its quality tier, when there is one

    @property
    def label(self) -> str:
        """What a person sees in a list: the title, else a readable name."""
        if self.title:
            return self.title
        if self.kind == "sr":
            return f"Super-resolution ×{self.scale} ({self.name})"
        return self.name

    @property
    def icon(self) -> Path | None:
        """The painting's thumbnail, ``NAME.png`` beside ``NAME.onnx``, when there is one."""
        png = self.path.with_suffix(".png")
        return png if png.is_file() else None

    @property
    def tier(self) -> str:
        """The network's size preset ("fast", "quality", …) from the training settings."""
        return str(self.train.get("tier") or "")

    @property
    def tiers(self) -> str:
        """What it can run as: its tier, and "quality" too with its quality tier beside it ("fast, quality")."""
        return f"{self.tier or 'fast'}, quality" if self.quality_path is not None else self.tier

    @property
    def precisions(self) -> str:
        """What it can run in: "float", or "float, int8" with its int8 variant beside it."""
        return "float, int8" if self.int8_path is not None else self.precision


def _broken(path: Path, rule: str) -> ContractError:
    return ContractError(f"{path}: not a stylecam model: {rule}")


def _tensor_type(value_info) -> tuple[int, list]:
    t = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return t.elem_type, dims


def check_model(path: str | os.PathLike, origin: str = "path") -> ModelInfo:
    """Read ``path`` and check it against the model contract."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises several kinds; all mean "not ONNX"
        raise _broken(path, f"it is not an ONNX file ({type(exc).__name__})") from None
    graph = proto.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if [i.name for i in inputs] != ["frame"]:
        raise _broken(path, f"it must have one input named 'frame', has {[i.name for i in inputs]}")
    if [o.name for o in graph.output] != ["image"]:
        raise _broken(path, f"it must have one output named 'image', has {[o.name for o in graph.output]}")
    for what, vi in (("input 'frame'", inputs[0]), ("output 'image'", graph.output[0])):
        elem, dims = _tensor_type(vi)
        if elem != onnx.TensorProto.UINT8:
            raise _broken(path, f"{what} must be uint8, is {onnx.TensorProto.DataType.Name(elem).lower()}")
        if len(dims) != 3 or dims[2] != 3:
            raise _broken(path, f"{what} must be (H, W, 3) RGB, is {_shape_text(dims)}")
        if what.startswith("input") and (dims[0] is not None or dims[1] is not None):
            raise _broken(path, f"input 'frame' must take any H and W, is fixed at {_shape_text(dims)}")
    meta = {p.key: p.value for p in proto.metadata_props}
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise _broken(path, f"metadata {', '.join(missing)} missing")
    if meta["stylecam.format"] != FORMAT:
        raise _broken(path, f"stylecam.format is {meta['stylecam.format']!r}, this stylecam reads {FORMAT!r}")
    kind = meta["stylecam.kind"]
    if kind not in KINDS:
        raise _broken(path, f"stylecam.kind must be one of {', '.join(KINDS)}, is {kind!r}")
    try:
        scale = int(meta["stylecam.scale"])
    except ValueError:
        raise _broken(path, f"stylecam.scale must be a whole number, is {meta['stylecam.scale']!r}") from None
    if kind == "style" and scale != 1:
        raise _broken(path, f"a style model must have stylecam.scale 1, has {scale}")
    if kind == "sr" and scale not in SR_SCALES:
        raise _broken(path, f"a super-resolution model's stylecam.scale must be one of {SR_SCALES}, is {scale}")
    try:
        train = json.loads(meta["stylecam.train"])
    except json.JSONDecodeError:
        raise _broken(path, "stylecam.train is not JSON") from None
    if not isinstance(train, dict):
        raise _broken(path, "stylecam.train must be a JSON object")
    name = meta["stylecam.name"].strip()
    if not name:
        raise _broken(path, "stylecam.name is empty")
    if kind == "style" and len(meta.get("stylecam.source_sha256", "")) != 64:
        raise _broken(path, "a style model needs stylecam.source_sha256 (sha256 of the style image)")
    precision = meta.get("stylecam.precision", "float")
    if precision not in PRECISIONS:
        raise _broken(path, f"stylecam.precision must be one of {', '.join(PRECISIONS)}, is {precision!r}")
    return ModelInfo(path=path, name=name, kind=kind, scale=scale, arch=meta["stylecam.arch"],
                     train=train, title=meta.get("stylecam.title", ""),
                     credit=meta.get("stylecam.credit", ""), origin=origin, precision=precision,
                     variant_of=meta.get("stylecam.variant_of", ""))


def _not_quality_of(q: ModelInfo, info: ModelInfo) -> str:
    """Why ``q`` cannot be the quality tier of the style ``info`` ("" when it can)."""
    if q.name.lower() != info.name.lower():
        return f"its stylecam.name is '{q.name}', not '{info.name}'"
    if (q.kind, info.kind) != ("style", "style"):
        return "only a style has a quality tier"
    if q.tier != "quality":
        return f"its stylecam.train tier is '{q.tier or 'none'}', not 'quality'"
    if q.precision != "float":
        return f"a quality tier runs in float, its stylecam.precision is '{q.precision}'"
    return ""


def _shape_text(dims: list) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Catalog:
    """Built-in and user models by name; rescanning is cheap (files are re-read only when changed)."""

    def __init__(self, dirs: list[tuple[Path, str]] | None = None):
        self._dirs = dirs
        self._cache: dict[Path, tuple[tuple, ModelInfo | ContractError | ModelError]] = {}
        self.problems: list[str] = []
        self._hashes: dict[tuple, str] = {}

    def dirs(self) -> list[tuple[Path, str]]:
        return self._dirs if self._dirs is not None else [(builtin_dir(), "builtin"), (user_dir(), "user")]

    def models(self) -> list[ModelInfo]:
        """Every good model, user models shadowing built-ins of the same name; sorted by name.

        Files that break the contract are left out and described in ``self.problems``.
        """
        found: dict[str, ModelInfo] = {}
        problems = []
        for folder, origin in self.dirs():
            for path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
                if is_variant(path):
                    continue  # attached to its float model below
                if is_quality(path):  # attached to its fast model below
                    if not fast_path(path).is_file():
                        problems.append(f"{path}: a quality tier with no {fast_path(path).name} beside it; "
                                        "put its fast model there, or remove it")
                    continue
                result = self._read(path, origin)
                if isinstance(result, ModelInfo):
                    result, more = self._with_siblings(result)
                    found[result.name.lower()] = result
                    problems += more
                else:
                    problems.append(str(result))
        self.problems = problems
        return sorted(found.values(), key=lambda m: (m.kind != "style", m.name.lower()))

    def _read(self, path: Path, origin: str):
        try:
            st = path.stat()
        except OSError as exc:
            return ModelError(f"{path}: cannot read it ({exc.strerror})")
        stamp = (st.st_mtime_ns, st.st_size, origin)
        cached = self._cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        try:
            result = check_model(path, origin)
        except ModelError as exc:
            result = exc
        self._cache[path] = (stamp, result)
        return result

    def _with_siblings(self, info: ModelInfo) -> tuple[ModelInfo, list[str]]:
        """``info`` with its int8 variant and its quality tier attached; what was wrong with them."""
        info, bad_int8 = self._with_variant(info)
        info, bad_quality = self._with_quality(info)
        return info, [p for p in (bad_int8, bad_quality) if p]

    def _with_variant(self, info: ModelInfo) -> tuple[ModelInfo, str | None]:
        """``info`` with its int8 variant attached when ``<stem>.int8.onnx`` is a good one."""
        path = variant_path(info.path)
        if info.precision != "float" or not path.is_file():
            return info, None
        var = self._read(path, info.origin)
        if not isinstance(var, ModelInfo):
            return info, str(var)
        if (var.name.lower(), var.kind, var.scale, var.precision) != (info.name.lower(), info.kind, info.scale, "int8"):
            return info, f"{path}: not an int8 variant of {info.path.name} (name, kind, scale or precision differ)"
        if var.variant_of != self._sha256(info.path):
            return info, f"{path}: made from another version of {info.path.name}; remake it with stylecam-quantize"
        return replace(info, int8_path=path), None

    def _with_quality(self, info: ModelInfo) -> tuple[ModelInfo, str | None]:
        """``info`` with its quality tier attached when ``<stem>.quality.onnx`` is a good one."""
        path = quality_path(info.path)
        if info.precision != "float" or is_quality(info.path) or not path.is_file():
            return info, None
        q = self._read(path, info.origin)
        if not isinstance(q, ModelInfo):
            return info, str(q)
        why = _not_quality_of(q, info)
        if why:
            return info, f"{path}: not the quality tier of {info.path.name}: {why}"
        return replace(info, quality_path=path), None

    def _sha256(self, path: Path) -> str:
        st = path.stat()
        key = (path, st.st_mtime_ns, st.st_size)
        if key not in self._hashes:
            self._hashes[key] = sha256_file(path)
        return self._hashes[key]

    def names(self) -> list[str]:
        return [m.name for m in self.models()]

    def resolve(self, name_or_path: str | os.PathLike, kind: str | None = None) -> ModelInfo:
        """A model by name or title (case-insensitive: "wave", "The Great Wave") or by path to an .onnx file."""
        text = str(name_or_path)
        if text.lower().endswith(".onnx") or os.sep in text or Path(text).is_file():
            return self._with_siblings(check_model(text))[0]
        models = [m for m in self.models() if kind is None or m.kind == kind]
        wanted = " ".join(text.split()).casefold()
        for key in (lambda m: m.name, lambda m: m.title, lambda m: m.label):  # a name wins over a title
            for m in models:
                if key(m) and " ".join(key(m).split()).casefold() == wanted:
                    return m
        what = {"style": "style", "sr": "super-resolution model"}.get(kind, "model")
        names = [m.name for m in models]
        spelled = {n.lower(): n for n in names}  # a name or a title, as typed wrong, points to the name
        spelled.update({m.title.casefold(): m.name for m in models if m.title and m.title.casefold() not in spelled})
        close = difflib.get_close_matches(wanted, list(spelled), n=1, cutoff=0.5)
        hint = f"did you mean '{spelled[close[0]]}'? " if close else ""
        known = ", ".join(names) if names else f"none installed (put .onnx files in {user_dir()})"
        raise UnknownModelError(f"unknown {what} '{text}'; {hint}known: {known}")


def style_table(models: list[ModelInfo]) -> str:
    """The models as a table for ``--list-styles``: name, title, tier, precision (one a line)."""
    rows = [("name", "title", "tier", "precision")]
    rows += [(m.name, m.label, m.tiers or "-", m.precisions) for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[3] for r in rows)


def list_styles(catalog: Catalog | None = None) -> str:
    """What ``stylecam --list-styles`` and ``stylecam-render --list-styles`` print: every good
    model of the catalog (styles, then super-resolution), and where to put more when there is none."""
    models = (catalog or Catalog()).models()
    if not models:
        return f"no models installed (put .onnx files in {user_dir()})"
    return style_table(models)


def install_model(src: str | os.PathLike, force: bool = False) -> Path:
    """Copy a checked model into the user folder as ``<name>.onnx``, atomically, with its int8
    variant and its quality tier (``<name>.int8.onnx``, ``<name>.quality.onnx``) when they are
    beside it; a quality tier alone goes beside its installed fast model. Refuses to shadow a
    built-in model of the same name unless ``force``."""
    info = check_model(src)
    if not force:
        for m in Catalog([(builtin_dir(), "builtin")]).models():
            if m.name.lower() == info.name.lower():
                raise ModelError(f"'{info.name}' is a built-in model; choose another name or pass --force")
    dest_dir = user_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{info.name}.onnx"
    if is_quality(src) or info.tier == "quality":  # a quality tier goes beside its fast model
        if not dest.is_file():
            raise ModelError(f"'{info.name}' is a quality tier and {dest} is not there: install the style's "
                             "fast model first (stylecam-train painting.jpg --name NAME)")
        dest = quality_path(dest)
    # a plain open (not mkstemp's 0600) so the model gets the umask's mode like any file
    tmp = dest_dir / f".{info.name}.{os.getpid()}.{threading.get_ident()}.part"
    pairs = [(Path(src), dest)]
    int8 = variant_path(src)
    if is_variant(src) or not int8.is_file():
        variant_path(dest).unlink(missing_ok=True)  # a stale variant must not outlive its model
    else:
        pairs.append((int8, variant_path(dest)))
    # a quality tier is its own network, not made from this file: one already installed stays
    quality = quality_path(src)
    if not is_variant(src) and not is_quality(src) and quality.is_file():
        pairs.append((quality, quality_path(dest)))
    for a, b in reversed(pairs):  # the siblings first: the model never appears without them
        try:
            shutil.copyfile(a, tmp)
            os.replace(tmp, b)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return dest
