"""A new style on the shipped shared trunk (--fit style, trainer/trunk_fit.py): only the style's
parameters train, the shared weights stay the trunk's bit for bit, and the exported model
mixes with the trunk's own styles in one pass. A tiny trunk is made in code (its styles tint
red, green and blue, so the nearest one is known), shipped with trunk_ship.save_trunk into a
tmp base folder."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from stylecam import mixing
from stylecam.errors import TrainError, UsageError
from stylecam.models import Catalog, check_model
from stylecam.testing import test_frame
from trainer import checkpoint as C
from trainer import trunk_fit as F
from trainer.cli import _init, build_parser, main
from trainer.config import TrainConfig, TrainResult
from trainer.nets import FAST_PRESETS, build_net
from trainer.trunk import TrunkNet
from trainer.trunk_export import export_trunk
from trainer.trunk_ship import read_trunk, save_trunk
from trainer.train import Trainer

TINTS = {"red": (0.8, 0.1, 0.1), "green": (0.1, 0.8, 0.1), "blue": (0.1, 0.1, 0.8)}
FIT = ["--steps", "2", "--size", "40", "--batch", "1", "--quiet", "--threads", "1"]


def tinted_trunk(seed=0, n=3) -> TrunkNet:
    """A random v3-ns trunk whose styles differ (random scales and shifts) and whose style k
    paints nearly flat ``TINTS`` colour k (its last affine: small scale, the tint as shift)."""
    torch.manual_seed(seed)
    net = TrunkNet(FAST_PRESETS["v3-ns"], n)
    with torch.no_grad():
        for p in net.style_parameters():
            p.add_(torch.randn_like(p) * 0.2)
        last = net.net.last[1]
        for k, tint in enumerate(list(TINTS.values())[:n]):
            last.weight[k] = 0.05
            last.bias[k] = torch.tensor(tint).repeat_interleave(4)  # 12 channels -> pixel shuffle -> RGB
    return net.eval()


def painting_of(tint, png, path):
    img = test_frame(48, 64, seed=3).astype(np.float32) * 0.1 + np.array(tint, np.float32) * 255 * 0.9
    return png(path, img.clip(0, 255).astype(np.uint8))


@pytest.fixture
def shipped(tmp_path, monkeypatch, png, photos):
    """The tiny trunk shipped as ``<tmp>/base/trunk-fast.pt`` (the base folder patched), its
    run's checkpoint dict, and its three styles exported as models in ``<tmp>/trunk``."""
    paintings = [str(painting_of(t, png, tmp_path / "paintings" / f"{n}.png")) for n, t in TINTS.items()]
    cfg = TrainConfig(mode="style", name="trunk", style=paintings[0], styles=tuple(paintings), fast="v3-ns",
                      content=str(photos), size=40, steps=1, style_weight=3.0)
    net = tinted_trunk()
    ckpt = {"config": asdict(cfg), "net": net.state_dict(), "step": 1, "wall_seconds": 0.0}
    base = tmp_path / "base"
    monkeypatch.setattr(C, "BASE_DIR", base)
    path = save_trunk(ckpt, C.trunk_path())
    return path, ckpt, cfg, net


def export_styles(shipped, folder):
    _, _, cfg, net = shipped
    return export_trunk(TrainResult(net, cfg, 1, 0.0, folder), folder, log=lambda m: None)


def test_single_equals_the_trunk_for_a_style_and_a_mix():
    net = tinted_trunk(seed=1)
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        for which in (0, 2, torch.tensor([0.2, 0.5, 0.3])):
            net.select(which)
            want = net(x)
            got = net.single(which)(x)
            assert torch.allclose(got, want, atol=2e-5), (which, (got - want).abs().max())
        net.select(torch.tensor([0.2, 0.5, 0.3]))
        mixed = net(x)
        net.select(1)
        assert not torch.allclose(mixed, net(x), atol=1e-3)  # the mix is not just one of the styles


def test_the_trunk_file_is_small_and_keeps_the_weights_exactly(shipped):
    path, ckpt, _, net = shipped
    data = read_trunk()
    assert data["styles"] == list(TINTS) and data["fast"] == "v3-ns" and data["trunk_id"] == net.trunk_id()
    assert all(torch.equal(data["net"][k], v) for k, v in net.state_dict().items())
    assert data["train"]["style_weight"] == 3.0 and path.stat().st_size < 1.5e6


def test_the_nearest_trunk_style_is_the_one_that_paints_like_the_painting(shipped, png, tmp_path):
    from trainer.data import load_style
    from trainer.vgg import load_vgg

    try:
        vgg = load_vgg()
    except TrainError as exc:
        pytest.skip(f"no VGG weights here: {exc}")
    net = shipped[3]
    for k, (name, tint) in enumerate(TINTS.items()):
        painting = load_style(painting_of(tint, png, tmp_path / f"p_{name}.png"), 64)
        ranked = F.rank_trunk_styles(net, painting, vgg, photos=np.stack([test_frame(64, 64, seed=s) for s in (0, 1)]))
        assert ranked[0][1] == k, (name, ranked)


def test_several_paintings_on_the_shipped_trunk_start_from_their_nearest_styles(shipped, png, photos, tmp_path):
    paintings = [str(painting_of(TINTS[n], png, tmp_path / f"{n}_painting.png")) for n in ("blue", "red")]
    cfg = TrainConfig(mode="style", name="two", style=paintings[0], styles=tuple(paintings), fit="style",
                      fast="v3-ns", content=str(photos), size=40, batch=1, steps=1, init="trunk")
    trainer = Trainer(cfg, tmp_path / "run", log=lambda m: None, quiet=True)
    assert cfg.init == "trunk:blue,red"
    last, trunk_last = trainer.net.net.last[1], shipped[3].net.last[1]
    assert torch.equal(last.bias, trunk_last.bias[[2, 0]]) and trainer.net.trunk_id() == shipped[3].trunk_id()


def test_fit_style_trains_only_the_style_parameters(shipped, png, photos, tmp_path):
    path, ckpt, _, _ = shipped
    painting = painting_of(TINTS["blue"], png, tmp_path / "mine.png")
    cfg = TrainConfig(mode="style", name="mine", style=str(painting), styles=(str(painting),), fit="style",
                      fast="v3-ns", content=str(photos), size=40, batch=1, steps=3, init="trunk:green", lr=F.STYLE_LR,
                      checkpoint_every=3, preview_every=3)
    trainer = Trainer(cfg, tmp_path / "run", log=lambda m: None, quiet=True)
    start = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.run()
    net, trunk = trainer.net, ckpt["net"]
    style_keys = tuple(net._style_keys())
    for k, v in net.state_dict().items():
        if k.startswith(style_keys):
            assert torch.equal(start[k], trunk[k][1:2])  # started from the trunk's green row
            assert not torch.equal(v, start[k]), k  # and learnt
        else:
            assert torch.equal(v, trunk[k]), k  # shared: the trunk's, bit for bit
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == sum(p.numel() for p in net.style_parameters())
    assert sum(p.numel() for p in net.style_parameters()) < 2000
    assert net.trunk_id() == read_trunk()["trunk_id"]


def test_the_fitted_style_mixes_with_the_trunks_styles_in_one_pass(shipped, png, photos, tmp_path, capsys,
                                                                   isolated_catalog):
    trunk_dir = tmp_path / "trunk_styles"
    trunk_dir.mkdir()
    export_styles(shipped, trunk_dir)
    painting = painting_of(TINTS["red"], png, tmp_path / "my painting.png")
    code = main([str(painting), "--name", "mine", "--fit", "style", "--content", str(photos), *FIT])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "starting from the trunk's style 'red' (the nearest of its 3 to my painting.png)" in err
    assert "installed 'mine' into" in err and "in one pass" in err
    mine = Catalog().resolve("mine")
    assert mine.name == "mine" and mine.path.parent == isolated_catalog[1]  # --name, not the painting's stem
    assert (isolated_catalog[1] / "mine.int8.onnx").is_file() or "note: no int8 variant" in err
    red = check_model(trunk_dir / "red.onnx")
    assert mixing.trunk_of(mine) == mixing.trunk_of(red) == read_trunk()["trunk_id"]
    assert mine.train["init"] == "trunk:red" and mine.train["fit"] == "style" and mine.train["lr"] == F.STYLE_LR
    assert mine.train["style_weight"] == 3.0  # the trunk run's loss settings
    assert mixing.one_pass([mine, red])
    blend = mixing.mixed_model([mine, red], [0.5, 0.5], folder=tmp_path / "blends", int8=False)
    assert blend.path.is_file()
    # --out a file: the model is written there, named --name
    out = tmp_path / "elsewhere.onnx"
    code = main([str(painting), "--name", "mine2", "--init", "trunk:blue", "--content", str(photos), *FIT,
                 "--out", str(out), "--no-int8", "--run-dir", str(tmp_path / "run2")])
    assert code == 0, capsys.readouterr().err
    other = check_model(out)
    assert other.name == "mine2" and other.train["init"] == "trunk:blue" and mixing.one_pass([other, red])


def test_a_missing_trunk_file_is_one_line(tmp_path, monkeypatch, painting, photos, capsys):
    monkeypatch.setattr(C, "BASE_DIR", tmp_path / "nothing")
    for flags in (["--fit", "style"], ["--init", "trunk"]):
        code = main([str(painting), "--name", "mine", "--content", str(photos), *FIT, *flags])
        err = capsys.readouterr().err
        assert code == 2
        what = "--fit style" if flags[0] == "--fit" else "--init trunk"
        assert err == (f"stylecam-train: {what}: no shared trunk at {tmp_path / 'nothing' / 'trunk-fast.pt'}; "
                       "ship one from a trunk run with python -m trainer.trunk_ship RUN_DIR\n")


def test_resume_of_a_fit_style_run(shipped, png, photos, tmp_path, capsys, isolated_catalog, monkeypatch):
    painting = painting_of(TINTS["green"], png, tmp_path / "g.png")
    run_dir = tmp_path / "run"
    argv = ["--name", "mine", "--run-dir", str(run_dir), *FIT]
    assert main([str(painting), "--fit", "style", "--content", str(photos), *argv, "--no-int8"]) == 0
    tid = read_trunk()["trunk_id"]
    first = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert first["step"] == 2 and first["config"]["fit"] == "style" and first["config"]["init"] == "trunk:green"
    monkeypatch.setattr(C, "BASE_DIR", tmp_path / "gone")  # a resume needs no trunk file
    code = main(["--resume", "--name", "mine", "--run-dir", str(run_dir), "--steps", "4", "--quiet", "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 4 and len(ckpt["history"]) == 4
    style_keys = tuple(TrunkNet(FAST_PRESETS["v3-ns"], 1)._style_keys())
    shared = [k for k in ckpt["net"] if not k.startswith(style_keys)]
    assert shared and all(torch.equal(ckpt["net"][k], first["net"][k]) for k in shared)
    mine = Catalog().resolve("mine")
    assert mixing.trunk_of(mine) == tid and mine.train["steps"] == 4


@pytest.mark.parametrize("argv, want", [
    (["--steps", "100"], "trunk"), (["--minutes", "5"], "trunk"), (["--minutes", "5", "--fast", "v3-ns"], "trunk"),
    (["--minutes", "5", "--fast", "v3"], "nearest"), (["--minutes", "5", "--tier", "quality"], "nearest"),
    (["--minutes", "5", "--fit", "all"], "nearest"), (["--steps", "601"], "base"), (["--fit", "style"], "trunk"),
    (["--steps", "100", "--with", "b.jpg"], "base"), (["--with", "b.jpg", "--fit", "style"], "trunk"), (["--steps", "100", "--init", "scratch"], "scratch"),
])
def test_auto_fits_a_short_run_on_the_shipped_trunk(shipped, argv, want):
    assert _init(build_parser().parse_args(["p.jpg", "--name", "x", *argv]), "style") == want


def test_auto_without_a_trunk_is_as_before(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "BASE_DIR", tmp_path)
    assert _init(build_parser().parse_args(["p.jpg", "--name", "x", "--minutes", "5"]), "style") == "nearest"


@pytest.mark.parametrize("argv, message", [
    (["--fit", "style", "--init", "nearest"], "--fit style fits a new style on the shipped trunk; --init nearest does "
     "not go with it (use --init trunk or leave --init out)"),
    (["--init", "trunk", "--fit", "all"], "--init trunk trains only the style's own parameters on the shipped trunk; "
     "leave out --fit all"),
    (["--fit", "style", "--fast", "v3"], "--fast v3: the shipped trunk is a v3-ns net; leave out --fast"),
    (["--init", "trunk:purple"], "--init trunk:purple: the shipped trunk's styles are red, green, blue"),
])
def test_fit_flags_that_do_not_go_together(shipped, painting, photos, capsys, argv, message):
    code = main([str(painting), "--name", "mine", "--content", str(photos), *FIT, *argv])
    assert code == 2
    assert capsys.readouterr().err == f"stylecam-train: {message}\n"


def test_trunk_ship_writes_the_file_from_a_run_folder(shipped, tmp_path, capsys):
    from trainer.trunk_ship import main as ship

    _, ckpt, _, net = shipped
    run = tmp_path / "trunkrun"
    run.mkdir()
    torch.save(ckpt, run / "checkpoint.pt")
    models = tmp_path / "models"
    models.mkdir()
    export_styles(shipped, models)
    assert ship([str(run), "--out", str(tmp_path / "t.pt"), "--check", str(models)]) == 0
    out = capsys.readouterr().out
    assert "3 styles (red, green, blue)" in out and f"3 models in {models} carry trunk {net.trunk_id()}" in out
    single = {**ckpt, "config": {**ckpt["config"], "styles": []}}
    with pytest.raises(UsageError, match="not a shared-trunk run"):
        save_trunk(single, tmp_path / "u.pt")
    assert build_net(TrainConfig(styles=("a", "b"), fast="v3-ns").net_config()).n == 2
