"""A new style in minutes that mixes with the shipped trunk's styles in one pass (issue 14).

    stylecam-train painting.jpg --name mine --fit style [--minutes 5]

The net is a one-style ``TrunkNet`` whose shared weights are the shipped trunk's
(``checkpoint.trunk_path()``, written by ``trainer.trunk_ship``) and whose style parameters
(about a thousand numbers: conditional instance-norm scales and shifts and the decoder's
per-channel affines) start from the trunk's style nearest the painting; only those are
trained (``TrainConfig.fit == "style"``; the shared weights are frozen, so they stay the
trunk's bit for bit). The exported model therefore carries the trunk's id, and a blend of it
with any of the trunk's styles is one model (``stylecam.mixing``).

"Nearest" is ``trainer.nearest``'s idea on the trunk itself: each of its styles paints the
probe photos, and the VGG Gram distance of those pictures to the painting's Grams decides
(``rank_trunk_styles``); the choice is recorded as ``init = trunk:NAME``, which also starts a
run from that style again. The fit adopts the trunk run's loss settings (style weight,
layer weights, painting size...) unless given on the command line, so the new style is
painted like its neighbours, and trains at ``STYLE_LR`` unless ``--lr`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import torch

from stylecam.errors import TrainError, UsageError

from . import checkpoint as C
from .trunk_ship import read_trunk, trunk_from_state

# Adam on the ~1,000 style parameters: 80 steps (96 px, batch 2) fitting starry_night on a small
# 3-style trunk ended at a loss of 134 (lr 3e-3), 123 (1e-2), 115 (2e-2), 115 (3e-2), 120 (6e-2,
# which first jumped to 1.5x the start): 2e-2, the best without the early jump
STYLE_LR = 2e-2
# the trunk run's settings a fit takes over, unless the command line gives them
ADOPTED = ("content_weight", "style_weight", "tv_weight", "stability", "edge", "layer_weights", "style_scales",
           "style_size")


def is_trunk_init(init: str) -> bool:
    return init == "trunk" or init.startswith("trunk:")


def trunk_fast() -> str | None:
    """The shipped trunk's net version, or None when there is no (readable) trunk file."""
    try:
        return read_trunk()["fast"] if C.trunk_path().is_file() else None
    except Exception:
        return None


def auto_init(args, mode: str) -> str:
    """``--init auto``: a short single-painting fast style run fits a style on the shipped
    trunk when there is one of this net version (and ``--fit style`` always does); otherwise
    the nearest installed style (short runs) or the base network (``--with``: a new trunk)."""
    from .nearest import short_run

    style = mode == "style"
    if style and args.fit == "style":  # with --with: each painting a new style on the shipped trunk
        return "trunk"
    if style and args.also:
        return "base"  # a new trunk: random weights (or --init an earlier one)
    short = style and short_run(args.minutes, args.steps)
    if short and args.tier == "fast" and args.fit != "all" and (fast := trunk_fast()) and args.fast in (None, fast):
        return "trunk"
    return "nearest" if short else "base"


def settle(args, mode: str, init: str, defaults: dict) -> str:
    """Check ``--fit`` against ``--init`` and, for a fit on the shipped trunk, take the trunk's
    net version and loss settings into ``args`` (those left at their defaults); returns the fit."""
    fit = args.fit or ("style" if is_trunk_init(init) else "all")
    if fit not in ("all", "style"):
        raise UsageError(f"--fit must be all or style, not '{fit}'")
    if fit == "style" and (mode != "style" or args.tier != "fast"):
        raise UsageError("--fit style learns a fast style on a shared trunk; not with --sr, --base or --tier quality")
    if is_trunk_init(init) and fit == "all":
        raise UsageError(f"--init {init} trains only the style's own parameters on the shipped trunk; "
                         "leave out --fit all")
    if fit == "style" and not args.also and not is_trunk_init(init):
        raise UsageError(f"--fit style fits a new style on the shipped trunk; --init {init} does not go with it "
                         "(use --init trunk or leave --init out)")
    if not is_trunk_init(init):
        return fit
    data = read_trunk(why=f"--init {init}" if args.init != "auto" else "--fit style")
    if args.fast not in (None, data["fast"]):
        raise UsageError(f"--fast {args.fast}: the shipped trunk is a {data['fast']} net; leave out --fast")
    args.fast = data["fast"]
    train = data.get("train", {})
    for key in ADOPTED:
        if key in train and getattr(args, key, None) == defaults.get(key):
            value = train[key]
            setattr(args, key, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value)
    if args.lr is None:
        args.lr = STYLE_LR
    return fit


def start_weights(net, cfg, log) -> str:
    """The starting weights ``cfg.init`` names (``checkpoint.init_weights``); a ``TrunkNet`` with
    ``--init trunk`` or ``trunk:NAME`` starts from the shipped trunk (``init_from_trunk``)."""
    if getattr(net, "is_trunk", False) and (cfg.init == "trunk" or cfg.init.startswith("trunk:")):
        return init_from_trunk(net, cfg, log)
    return C.init_weights(net, cfg, log)


def init_from_trunk(net, cfg, log) -> str:
    """Start the ``TrunkNet`` ``net`` (one row per painting of ``cfg.styles``) from the shipped
    trunk: its shared weights, and for each painting the trunk's nearest style (``init``
    ``trunk``; ``cfg.init`` becomes ``trunk:NAME``) or the one named (``trunk:NAME``)."""
    path = C.trunk_path()
    data = read_trunk(path, why=f"--init {cfg.init}")
    if data["fast"] != cfg.fast:
        raise UsageError(f"--init {cfg.init}: the shipped trunk is a {data['fast']} net, this run trains {cfg.fast}")
    trunk = trunk_from_state(data["fast"], len(data["styles"]), data["net"])
    names = list(data["styles"])
    if cfg.init.startswith("trunk:"):
        want = cfg.init.split(":", 1)[1].split(",")
        lower = [n.lower() for n in names]
        missing = [w for w in want if w.lower() not in lower]
        if missing or len(want) not in (1, net.n):
            raise UsageError(f"--init {cfg.init}: the shipped trunk's styles are {', '.join(names)}"
                             + (f" (one per painting: {net.n})" if not missing else ""))
        rows = [lower.index(w.lower()) for w in want] * (net.n if len(want) == 1 else 1)
    else:
        from .data import load_style
        from .vgg import load_vgg

        vgg = load_vgg(cfg.vgg_weights or None, "cpu")
        rows = []
        for painting in cfg.styles:
            ranked = rank_trunk_styles(trunk, load_style(painting, cfg.style_size or 2 * cfg.size), vgg)
            rows.append(ranked[0][1])
            log(f"starting from the trunk's style '{names[rows[-1]]}' (the nearest of its {len(names)} "
                f"to {Path(painting).name})")
        cfg.init = "trunk:" + ",".join(names[k] for k in rows)
    load_rows(net, trunk, rows)
    if net.trunk_id() != data["trunk_id"]:
        raise TrainError(f"{path}: its shared weights do not hash to its trunk id {data['trunk_id']}; ship it again")
    return f"{path} (trunk {data['trunk_id']}, from {', '.join(names[k] for k in rows)})"


def load_rows(net, trunk, rows: list[int]) -> None:
    """``net``'s shared weights := ``trunk``'s; its style row i := the trunk's row ``rows[i]``."""
    style_keys = tuple(net._style_keys())
    state = {}
    for k, v in trunk.state_dict().items():
        state[k] = v[rows].clone() if k.startswith(style_keys) else v.clone()
    net.load_state_dict(state)


def freeze_shared(net) -> None:
    """Only the style parameters take gradients (the shared weights' gradients are never computed)."""
    for p in net.parameters():
        p.requires_grad_(False)
    for p in net.style_parameters():
        p.requires_grad_(True)


def rank_trunk_styles(trunk, painting: torch.Tensor, vgg, photos=None) -> list[tuple[float, int]]:
    """(Gram distance, style row) of every style of ``trunk``, nearest ``painting`` ((1, 3, H, W)
    in [0, 1]) first: each style paints the probe photos as its exported model would
    (mirrored margins, uint8 levels) and their Grams are compared with the painting's."""
    from .data import to_tensor
    from .nearest import gram_distance, grams, probe_photos
    from .nets import pad_to_multiple

    x = to_tensor(probe_photos() if photos is None else photos)
    want = grams(vgg, painting)
    m, (h, w) = trunk.spec.margin, x.shape[-2:]
    xp = pad_to_multiple(x, trunk.stride, m, 2 * m)
    out = []
    was = trunk.training
    trunk.eval()
    with torch.no_grad():
        for k in range(trunk.n):
            trunk.select(k)
            y = trunk(xp)[..., 2 * m: 2 * m + h, m: m + w].clamp(0, 1).mul(255).round().div(255)
            out.append((gram_distance(grams(vgg, y), want), k))
    trunk.train(was)
    trunk.select(0)
    return sorted(out)
