"""Checkpoints and starting weights: atomic ``checkpoint.pt`` writes and reads, the shipped
base networks (``trainer/base/<tier>.pt``), and ``init_weights``, which starts a net from a
base network, a checkpoint, an earlier run or a model file."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch

from stylecam.errors import TrainError, UsageError

from .config import TrainConfig, TrainResult, runs_dir
from .nets import NetConfig, arch_name, build_net

BASE_DIR = Path(__file__).resolve().parent / "base"
CHECKPOINT = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainError(f"checkpoint {path} cannot be read ({type(exc).__name__})") from None


def base_path(tier: str) -> Path:
    return BASE_DIR / f"{tier}.pt"


def trunk_path() -> Path:
    """The shipped shared trunk that ``--fit style`` learns a new painting on (``trainer.trunk_fit``)."""
    return BASE_DIR / "trunk-fast.pt"


def init_weights(net: torch.nn.Module, cfg: TrainConfig, log) -> str:
    """Load the starting weights named by ``cfg.init``; returns what was used, for the log."""
    init = cfg.init
    ncfg = cfg.net_config()
    if getattr(net, "is_trunk", False):
        return _init_trunk(net, cfg, log)
    if init == "scratch" or (init == "base" and cfg.mode != "style"):
        return "random weights"
    if init == "nearest" or init.startswith("nearest:"):
        used = _init_nearest(net, cfg, log)
        if used:
            return used
        init = "base"
    if init == "base":
        path = base_path(cfg.tier)
        if not path.is_file():
            log(f"note: no base network for tier {cfg.tier} ({path}); starting from random weights")
            return "random weights (no base network)"
    elif init.endswith(".onnx"):
        return _init_from_model(net, Path(init), ncfg, log)
    else:
        path = Path(init)
        if not path.is_file():
            path = runs_dir() / init / CHECKPOINT
        if not path.is_file():
            raise UsageError(f"--init {init}: not 'base', 'scratch', a checkpoint file or an earlier run's name")
    ckpt = load_checkpoint(path)
    want = arch_name(ncfg)
    have = ckpt.get("arch", "")
    if have != want and init == "base" and _loads_into(net, ckpt["net"]):
        # the base net's weights fit this net (another padding, or extra blocks that start
        # as the identity): a warm start, not an exact one
        log(f"note: base network {path.name} is for {have}; its weights start this {want} net")
        return f"{path} (as {have})"
    if have != want:
        if init == "base":
            log(f"note: base network {path.name} is for {have}, this net is {want}; starting from random weights")
            return "random weights (base network out of date)"
        raise UsageError(f"--init {init}: it holds a {have} network, this run trains {want}")
    net.load_state_dict({k: v.float() for k, v in ckpt["net"].items()})
    return str(path)


def _init_trunk(net: torch.nn.Module, cfg: TrainConfig, log) -> str:
    """A shared trunk starts from random weights, an earlier trunk's checkpoint (same
    paintings), or one plain fast net of its version (checkpoint or model file) whose weights
    start every style (``TrunkNet.load_single``). ``--init trunk`` (the shipped trunk's shared
    weights) is ``trunk_fit.start_weights``'s, which calls this for the rest."""
    if cfg.init in ("scratch", "base"):
        return "random weights"
    from dataclasses import replace

    path = Path(cfg.init)
    if cfg.init.endswith(".onnx"):
        plain = build_net(replace(cfg.net_config(), styles=0))
        used = _init_from_model(plain, path, replace(cfg.net_config(), styles=0), log)
        net.load_single(plain.state_dict())
        return used + ", every style"
    if not path.is_file():
        path = runs_dir() / cfg.init / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"--init {cfg.init}: not 'scratch', a checkpoint file, a model file or an earlier run's name")
    ckpt = load_checkpoint(path)
    state = {k: v.float() for k, v in ckpt["net"].items()}
    if ckpt.get("arch") == arch_name(cfg.net_config()):
        net.load_state_dict(state)
        return str(path)
    if _loads_into(net, state):  # a trunk of the same paintings with fewer blocks: a deeper one grows from it
        log(f"note: {path.name} holds a {ckpt.get('arch')} trunk; its weights start this "
            f"{arch_name(cfg.net_config())} one, the added blocks as the identity")
        return f"{path} ({ckpt.get('arch')}, added blocks as the identity)"
    try:
        net.load_single(state)
    except (ValueError, RuntimeError):
        raise UsageError(f"--init {cfg.init}: it holds a {ckpt.get('arch')} network, this run trains "
                         f"{arch_name(cfg.net_config())}") from None
    return f"{path} ({ckpt.get('arch')}), every style"


def _init_nearest(net: torch.nn.Module, cfg: TrainConfig, log) -> str:
    """``--init nearest``: the installed style nearest the painting (``trainer.nearest``);
    ``cfg.init`` becomes ``nearest:NAME``, so the model records where it started (and that
    name starts a run again). "" when no style fits: the caller starts from the base network."""
    from .nearest import candidates, nearest_model
    from .nets import arch_name

    if cfg.mode != "style":
        raise UsageError(f"--init {cfg.init} starts a style from the nearest installed one; a {cfg.mode} run has none")
    if cfg.init.startswith("nearest:"):
        name = cfg.init.split(":", 1)[1]
        found = [m for m in candidates(arch_name(cfg.net_config())) if m.name.lower() == name.lower()]
        if not found:
            raise UsageError(f"--init {cfg.init}: no installed {arch_name(cfg.net_config())} style named '{name}'")
        info = found[0]
    else:
        info = nearest_model(cfg, log)
    if info is None:
        log(f"note: --init nearest: no installed fast style on this {arch_name(cfg.net_config())} net; "
            "starting from the base network")
        cfg.init = "base"
        return ""
    used = _init_from_model(net, info.path, cfg.net_config(), log=lambda m: None)
    if cfg.init == "nearest":
        where = "built-in" if info.origin == "builtin" else "installed"
        log(f"starting from '{info.name}' (the nearest {where} style to {Path(cfg.style).name})")
        cfg.init = f"nearest:{info.name}"
    return used


def _init_from_model(net: torch.nn.Module, path: Path, ncfg: NetConfig, log) -> str:
    """Start from the weights inside a stylecam model file (``_model_state``): a shipped
    style moves to another padding, painting scale or recipe without starting over."""
    import onnx

    if not path.is_file():
        raise UsageError(f"--init {path}: no such model file")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise UsageError(f"--init {path}: not an ONNX model ({type(exc).__name__})") from None
    state = _model_state(proto)
    have = {p.key: p.value for p in proto.metadata_props}.get("stylecam.arch", "?")
    if not state or not _loads_into(net, state):
        raise UsageError(f"--init {path}: its {have} weights do not fit this {arch_name(ncfg)} net")
    log(f"note: starting from the weights of {path.name} ({have})")
    return f"{path} ({have})"


def _model_state(proto) -> dict:
    """The net's state dict from a model file: each Conv's and InstanceNormalization's weight
    and bias, named by the node's scope (``/net/body/body.3/a/conv/Conv`` -> ``body.3.a.conv``);
    read through the nodes because the exporter stores equal tensors (an untrained norm's
    ones and zeros) only once, the others as ``Identity`` nodes of it, and a half-size file
    (``trainer.half``) casts its float16 weights."""
    from onnx import numpy_helper

    arrays = {i.name: i for i in proto.graph.initializer}
    # an Identity of a shared tensor, or the Cast of a half-size file's float16 weight (trainer.half)
    alias = {n.output[0]: n.input[0] for n in proto.graph.node
             if n.op_type in ("Identity", "Cast") and n.input[0] in arrays}
    state = {}
    for node in proto.graph.node:
        if node.op_type not in ("Conv", "InstanceNormalization") or not node.name.startswith("/net/"):
            continue
        scope: list[str] = []
        for part in node.name.split("/")[2:-1]:
            if scope and part.startswith(scope[-1] + "."):
                scope[-1] = part  # "body" then "body.3": the Sequential's child
            else:
                scope.append(part)
        for key, name in zip(("weight", "bias"), node.input[1:3]):
            name = alias.get(name, name)
            if name in arrays:
                value = numpy_helper.to_array(arrays[name]).astype("float32")
                state[".".join(scope + [key])] = torch.from_numpy(value)
    return state


def _shift_blocks(state: dict, blocks: int | None) -> dict:
    """Renumber a fast net's ``body.N`` layers after its residual blocks, so weights of a net
    with fewer blocks land on the same layers of a deeper one (the extra blocks stay new).
    A trunk's names (``net.body.N``) are renumbered the same way."""
    def index(k):  # N of "body.N..." or "net.body.N...", else None
        parts = k.split(".")
        at = 1 if parts[0] == "net" else 0
        return int(parts[at + 1]) if len(parts) > at + 1 and parts[at] == "body" else None

    have = sorted({index(k) for k in state if index(k) is not None and ".a.conv." in k})
    if blocks is None or not have or len(have) >= blocks:
        return state
    after, extra = have[-1], blocks - len(have)

    def renamed(k):
        n = index(k)
        if n is None or n <= after:
            return k
        parts = k.split(".")
        at = 2 if parts[0] == "net" else 1
        parts[at] = str(n + extra)
        return ".".join(parts)

    return {renamed(k): v for k, v in state.items()}


def _loads_into(net: torch.nn.Module, state: dict) -> bool:
    """Load ``state`` into ``net`` where names and shapes agree and return True, when every
    tensor of ``state`` fits; residual blocks it lacks start as the identity (their last
    norm's scale and shift at zero), and a conv's extra inputs (U-Net skips) unused."""
    own = net.state_dict()
    state = _shift_blocks(state, getattr(getattr(net, "spec", None), "blocks", None))

    def widened(k, v):  # a conv that now takes more inputs (v3-ns -> v3-ns-u): the new ones start at zero
        o = own[k]
        same_else = (o.shape[0], *o.shape[2:]) == (v.shape[0], *v.shape[2:])
        return v.dim() == o.dim() == 4 and o.shape[1] > v.shape[1] and same_else

    def padded(k, v):  # a widened conv's weight with zeros for its new inputs
        return torch.cat([v, v.new_zeros(v.shape[0], own[k].shape[1] - v.shape[1], *v.shape[2:])], 1)

    if any(k not in own or (own[k].shape != v.shape and not widened(k, v)) for k, v in state.items()):
        return False
    state = {k: v if own[k].shape == v.shape else padded(k, v) for k, v in state.items()}
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    with torch.no_grad():
        for name, module in net.named_modules():
            if name.endswith(".b.norm") and f"{name}.weight" not in state:
                module.weight.zero_()
                module.bias.zero_()
    return True


def save_base(result: TrainResult, path: Path) -> Path:
    """Ship a base network: state dict (fp16 when over 4 MB of fp32) + its config."""
    state = result.net.state_dict()
    nbytes = sum(v.numel() * 4 for v in state.values() if v.is_floating_point())
    half = nbytes > 4 << 20
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu().clone() for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"version": 1, "arch": arch_name(result.config.net_config()),
                           "net_config": asdict(result.config.net_config()), "net": state,
                           "train": result.metadata()})
    return path
