"""A shared trunk for many styles: one fast net whose styles differ only in a few parameters.

After Dumoulin, Shlens and Kudlur 2017 ("A learned representation for artistic style"):
every conv weight is shared by all the styles of the trunk; each style owns only

- the scale and shift of every instance norm (conditional instance norm), and
- a per-channel scale and shift after each decoder conv and after the last conv, which
  fold into those convs' weights when one style is exported.

So a style exported from the trunk (``single``) is an ordinary fast net of the trunk's
version (``FAST_PRESETS``), with the same cost and the same model contract, and a blend of
styles of one trunk is exact and costs one pass: every parameter of an exported style is
linear in its style parameters, so the weighted mix of two exported models' weights IS the
model of the mixed style parameters (``stylecam.blend`` mixes them; the trunk id in the
models' metadata says which may be mixed). A new painting is learnt by fitting only its
style parameters on a trained trunk (``fit_style_only``): about a thousand numbers.

Imports only torch and ``trainer.blocks``.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from .blocks import FastSpec, FastStyleNet, UpConv


class CondInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are the chosen style's (``mix`` @ rows)."""

    def __init__(self, n: int, c: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, c))
        self.bias = nn.Parameter(torch.zeros(n, c))
        self.mix = None  # (B or 1, n), set by TrunkNet.select

    def forward(self, x):
        x = nn.functional.instance_norm(x)
        return _affine(x, self.mix @ self.weight, self.mix @ self.bias)


class StyleAffine(nn.Module):
    """Per-channel scale and shift of the chosen style (folds into the conv before it)."""

    def __init__(self, n: int, c: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, c))
        self.bias = nn.Parameter(torch.zeros(n, c))
        self.mix = None

    def forward(self, x):
        return _affine(x, self.mix @ self.weight, self.mix @ self.bias)


def _affine(x, g, b):
    return x * g[:, :, None, None].to(x.dtype) + b[:, :, None, None].to(x.dtype)


def _set(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)


class TrunkNet(nn.Module):
    """A ``FastStyleNet`` for ``n`` styles; ``select`` picks the style (or a mix) per picture."""

    is_trunk = True

    def __init__(self, spec: FastSpec, n: int):
        super().__init__()
        if n < 1:
            raise ValueError("a trunk needs at least one style")
        self.spec, self.n = spec, n
        self.net = FastStyleNet(spec)
        self.stride, self.margin = self.net.stride, self.net.margin
        for name, m in list(self.net.named_modules()):
            if isinstance(m, nn.InstanceNorm2d):
                _set(self.net, name, CondInstanceNorm(n, m.num_features))
            elif isinstance(m, UpConv):  # its conv has a bias and no norm: a foldable affine after it
                m.conv.norm = StyleAffine(n, m.conv.conv.out_channels)
        self.net.last = nn.Sequential(self.net.last, StyleAffine(n, self.net.last.out_channels))
        self.select(0)

    def style_modules(self):
        return [m for m in self.modules() if isinstance(m, (CondInstanceNorm, StyleAffine))]

    def style_parameters(self):
        """Only what a style owns (``fit_style_only``)."""
        return [p for m in self.style_modules() for p in (m.weight, m.bias)]

    def select(self, which) -> None:
        """``which``: a style index, a list/tensor of indices (one per picture of the batch)
        or a (B, n) / (n,) tensor of mixing weights."""
        if isinstance(which, int):
            mix = torch.zeros(1, self.n)
            mix[0, which] = 1.0
        else:
            t = torch.as_tensor(which)
            mix = nn.functional.one_hot(t.long(), self.n).float() if t.dtype in (torch.int32, torch.int64) else t.float()
            mix = mix.reshape(-1, self.n)
        dev = next(self.parameters()).device
        for m in self.style_modules():
            m.mix = mix.to(dev)

    def forward(self, x):
        return self.net(x)

    # -- from and to single-style nets
    def load_single(self, state: dict) -> None:
        """Start every style from one plain fast net's weights (same version)."""
        own = self.state_dict()
        new = {}
        for k, v in state.items():
            key = "net.last.0." + k.split(".", 1)[1] if k.startswith("last.") else "net." + k
            if key not in own:
                raise ValueError(f"the weight {k} has no place in this trunk")
            new[key] = v.float().expand_as(own[key]).clone() if own[key].dim() == v.dim() + 1 else v.float()
        self.load_state_dict(new, strict=False)  # the affines a plain net lacks stay the identity

    def single(self, which) -> FastStyleNet:
        """The plain fast net of one style (an index) or a mix ((n,) weights), affines folded."""
        mix = torch.zeros(self.n)
        if isinstance(which, int):
            mix[which] = 1.0
        else:
            mix = torch.as_tensor(which, dtype=torch.float32).reshape(self.n)
        out = FastStyleNet(self.spec)
        sd = {}
        with torch.no_grad():
            trunk = {k: v.detach().float().cpu() for k, v in self.state_dict().items()}
            for name, m in self.net.named_modules():
                if isinstance(m, CondInstanceNorm):
                    sd[f"{name}.weight"], sd[f"{name}.bias"] = mix @ trunk[f"net.{name}.weight"], mix @ trunk[f"net.{name}.bias"]
            for k, v in trunk.items():
                k = k[len("net."):]
                if k.startswith("last.0."):
                    sd["last." + k[len("last.0."):]] = v
                elif k not in sd and k in out.state_dict():
                    sd[k] = v
            for name, m in self.net.named_modules():
                if isinstance(m, StyleAffine):
                    conv = name[: -len(".norm")] + ".conv" if name.endswith(".norm") else "last"
                    g, b = mix @ trunk[f"net.{name}.weight"], mix @ trunk[f"net.{name}.bias"]
                    sd[f"{conv}.weight"] = sd[f"{conv}.weight"] * g[:, None, None, None]
                    sd[f"{conv}.bias"] = sd[f"{conv}.bias"] * g + b
        out.load_state_dict(sd)
        return out.eval()

    def trunk_id(self) -> str:
        """Which weights the styles share (their convs): models with equal ids may be mixed."""
        h = hashlib.sha256()
        for k, v in sorted(self.state_dict().items()):
            if not any(k.startswith(p) for p in self._style_keys()):
                h.update(k.encode())
                h.update(v.detach().float().cpu().numpy().tobytes())
        return h.hexdigest()[:16]

    def _style_keys(self):
        return [f"{name}." for name, m in self.named_modules() if isinstance(m, (CondInstanceNorm, StyleAffine))]
