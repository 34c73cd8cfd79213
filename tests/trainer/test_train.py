"""The loop: loss goes down, checkpoints resume exactly, NaN stops, logs and previews exist."""

import csv
import math

import cv2
import pytest
import torch

from stylecam.errors import DeviceError, TrainError
from trainer.losses import objective
from trainer.nets import frame_margin, net_margin, pad_to_multiple
from trainer.train import CHECKPOINT, Trainer, TrainConfig, load_checkpoint, resolve_precision, save_base


def config(photos, painting, **kw):
    base = dict(name="t", style=str(painting), content=str(photos), tier="fast", size=40, batch=2,
                steps=20, init="scratch", checkpoint_every=10, preview_every=10, lr=3e-3)
    base.update(kw)
    return TrainConfig(**base)


def test_twenty_steps_lower_the_loss(photos, painting, tmp_path):
    tr = Trainer(config(photos, painting), tmp_path / "run", quiet=True)
    x, _ = tr.inputs(0)  # one fixed batch, scored before and after

    def score():
        with torch.no_grad():
            return objective(tr.vgg, tr.forward(x), x, tr.grams, tr.lcfg)[0].item()

    before = score()
    result = tr.run()
    after = score()
    assert result.step == 20 and not result.interrupted
    assert after < 0.7 * before, (before, after)
    # the files a person looks at
    run = tmp_path / "run"
    with open(run / "loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    assert set(rows[0]) >= {"total", "content", "style", "tv", "seconds", "lr"}
    for png in ("loss.png", "preview_000010.png", "preview_000020.png"):
        img = cv2.imread(str(run / png))
        assert img is not None and img.std() > 1, png
    grid = cv2.imread(str(run / "preview_000020.png"))
    assert grid.shape[0] == 2 * 40  # photos over their stylized versions
    ckpt = load_checkpoint(run / CHECKPOINT)
    assert ckpt["step"] == 20 and ckpt["config"]["style_weight"] == 8.0


def test_interrupt_then_resume_continues_with_the_same_losses(photos, painting, tmp_path):
    steps = 6
    straight = Trainer(config(photos, painting, steps=steps, checkpoint_every=2), tmp_path / "a", quiet=True).run()

    def ctrl_c_after_3(row):
        if row["step"] == 3:
            raise KeyboardInterrupt

    first = Trainer(config(photos, painting, steps=steps, checkpoint_every=2), tmp_path / "b", quiet=True)
    cut = first.run(on_step=ctrl_c_after_3)
    assert cut.interrupted and cut.step == 3
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT)["step"] == 3  # Ctrl-C saved, off the schedule
    resumed = Trainer(None, tmp_path / "b", resume=True, quiet=True)
    assert resumed.step == 3 and resumed.cfg.steps == steps  # the config came from the checkpoint
    done = resumed.run()
    assert [r["step"] for r in done.history] == list(range(1, steps + 1))
    for a, b in zip(straight.history, done.history):
        assert math.isclose(a["total"], b["total"], rel_tol=1e-5), (a, b)
    for a, b in zip(straight.net.state_dict().values(), done.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_a_stop_request_ends_the_run_after_the_step(photos, painting, tmp_path):
    tr = Trainer(config(photos, painting, steps=5, checkpoint_every=100), tmp_path / "s", quiet=True)

    def signal_arrives(row):
        if row["step"] == 2:
            tr.stop_requested = True  # what the CLI's SIGINT/SIGTERM handler does

    result = tr.run(on_step=signal_arrives)
    assert result.interrupted and result.step == 2
    assert load_checkpoint(tmp_path / "s" / CHECKPOINT)["step"] == 2


def test_resume_can_extend_the_run(photos, painting, tmp_path):
    Trainer(config(photos, painting, steps=2), tmp_path / "r", quiet=True).run()
    more = Trainer(None, tmp_path / "r", resume=True, steps=4, quiet=True).run()
    assert more.step == 4 and [r["step"] for r in more.history] == [1, 2, 3, 4]


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(TrainError) as err:
        Trainer(None, tmp_path / "none", resume=True, quiet=True)
    assert str(err.value) == f"--resume: no checkpoint in {tmp_path / 'none'}; start without --resume"


def test_nan_stops_and_keeps_the_last_good_checkpoint(photos, painting, tmp_path):
    run = tmp_path / "run"
    Trainer(config(photos, painting, steps=2, checkpoint_every=1), run, quiet=True).run()
    good = load_checkpoint(run / CHECKPOINT)
    tr = Trainer(None, run, resume=True, steps=4, quiet=True)
    tr.lcfg.style_weight = float("nan")  # poison the objective from step 3 on
    with pytest.raises(TrainError) as err:
        tr.run()
    assert str(err.value) == (f"the loss became NaN or infinite at step 3; stopped. The last good checkpoint "
                              f"(step 2) is in {run}; try a lower --style-weight or learning rate")
    kept = load_checkpoint(run / CHECKPOINT)
    assert kept["step"] == 2
    for k in good["net"]:
        assert torch.equal(kept["net"][k], good["net"][k])


def test_base_network_is_a_warm_start(photos, painting, tmp_path, monkeypatch):
    import trainer.checkpoint as C  # base_path reads BASE_DIR there (trainer.train only re-exports it)

    base = Trainer(config(photos, None, mode="base", style="", style_weight=0.0, pixel_weight=10.0, steps=3),
                   tmp_path / "base", quiet=True).run()
    assert set(base.history[0]) >= {"content", "pixel"} and "style" not in base.history[0]
    monkeypatch.setattr(C, "BASE_DIR", tmp_path / "shipped")
    save_base(base, C.base_path("fast"))
    warm = Trainer(config(photos, painting, init="base"), tmp_path / "warm", quiet=True)
    assert warm.init_used == str(tmp_path / "shipped" / "fast.pt")
    for k, v in base.net.state_dict().items():
        torch.testing.assert_close(warm.net.state_dict()[k], v.float())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(photos, painting, tmp_path):
    with pytest.raises(DeviceError) as err:
        Trainer(config(photos, painting, device="cuda"), tmp_path / "run", quiet=True)
    assert str(err.value) == "--device cuda: PyTorch sees no CUDA GPU here; use --device cpu or auto"


def test_super_resolution_steps(photos, tmp_path):
    cfg = config(photos, None, mode="sr", style="", scale=4, tier="fast", loss="mixed", pixel_weight=10.0,
                 tv_weight=1e-4, steps=2)
    result = Trainer(cfg, tmp_path / "sr", quiet=True).run()
    assert set(result.history[-1]) >= {"content", "pixel", "tv"}
    grid = cv2.imread(str(tmp_path / "sr" / "preview_000002.png"))
    assert grid.shape[0] == 3 * 40  # bicubic, network, original


def test_stability_loss_makes_the_net_follow_motion(photos, painting, tmp_path):
    # the stability term alone (other weights 0): the net must learn to follow small motions
    # instead of turning them into new texture; measured on a batch and motion no step saw
    tr = Trainer(config(photos, painting, stability=1e4, content_weight=0.0, style_weight=0.0, tv_weight=0.0,
                        steps=20), tmp_path / "run", quiet=True)
    x, _ = tr.inputs(999)

    def gap():
        with torch.no_grad():
            return tr.stability_loss(x, tr.forward(x), 999).item()

    before = gap()
    result = tr.run()
    after = gap()
    assert after < 0.5 * before, (before, after)
    assert "stability" in result.history[-1]
    assert result.metadata()["stability"] == 1e4
    with pytest.raises(Exception, match=r"^--stability must be at least 0, not -1$"):
        config(photos, painting, stability=-1.0)


def _blow_up(net):
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(-4.0)


def test_a_loss_jump_rolls_back_to_the_last_good_checkpoint(photos, painting, tmp_path):
    """The weights are wrecked once after the step-20 checkpoint (a collapse, as a GPU run had):
    at the step-40 checkpoint the trainer goes back to step 20, halves the learning rate and
    redoes steps 21-40, and the run ends as if the jump had not happened."""
    logs = []
    tr = Trainer(config(photos, painting, steps=40, checkpoint_every=20, preview_every=40), tmp_path / "run",
                 quiet=True, log=logs.append)
    wrecked = []

    def on_step(row):
        if row["step"] == 22 and not wrecked:
            wrecked.append(row["total"])
            _blow_up(tr.net)

    result = tr.run(on_step=on_step)
    assert wrecked and not result.interrupted and result.step == 40
    jump = [line for line in logs if line.startswith("the loss jumped from ")]
    assert len(jump) == 1 and jump[0].endswith("back to step 20, learning rate halved to 0.0015"), logs
    assert [r["step"] for r in result.history] == list(range(1, 41))  # the bad steps are gone
    assert result.config.lr == 1.5e-3 and result.metadata()["lr"] == 1.5e-3
    saved = load_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert saved["step"] == 40 and saved["config"]["lr"] == 1.5e-3
    assert max(r["total"] for r in result.history[20:]) < max(r["total"] for r in result.history[:20])


def test_a_run_that_keeps_jumping_stops_with_one_line(photos, painting, tmp_path):
    tr = Trainer(config(photos, painting, steps=60, checkpoint_every=20, preview_every=60), tmp_path / "run",
                 quiet=True, log=lambda m: None)
    with pytest.raises(TrainError, match=r"^the loss jumped 4 times .*; stopped. The last good checkpoint "
                                         r"\(step 20\) is in .*; try a lower --lr$"):
        tr.run(on_step=lambda row: _blow_up(tr.net) if row["step"] == 22 else None)


def test_precision_is_resolved_and_recorded(photos, painting, tmp_path):
    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert resolve_precision("auto", torch.device("cpu")) == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", torch.device("cuda")) == "fp32"
    for precision in ("fp32", "bf16"):
        result = Trainer(config(photos, painting, precision=precision, steps=3), tmp_path / precision,
                         quiet=True).run()
        assert result.metadata()["precision"] == precision
        assert all(math.isfinite(row["total"]) for row in result.history)
    with pytest.raises(Exception, match=r"^--precision must be one of auto, fp32, bf16, not 'fp16'$"):
        config(photos, painting, precision="fp16")


def test_super_resolution_on_the_benchmark_degradation(photos, tmp_path):
    cfg = config(photos, None, mode="sr", style="", scale=4, loss="pixel", degrade="bicubic",
                 pixel_weight=10.0, tv_weight=1e-4, steps=2)
    result = Trainer(cfg, tmp_path / "sr", quiet=True).run()
    assert result.metadata()["degrade"] == "bicubic" and "content" not in result.history[-1]
    with pytest.raises(Exception, match=r"^--degrade must be one of paper, bicubic, not 'box'$"):
        config(photos, None, mode="sr", style="", scale=4, degrade="box")


def test_style_nets_train_on_the_margins_they_run_with(photos, painting, tmp_path):
    # v2 (zero padding inside) runs on mirrored frame margins; v3 (reflect padding) needs none
    tr = Trainer(config(photos, painting, steps=1, fast="v2"), tmp_path / "run", quiet=True)
    x, _ = tr.inputs(0)
    with torch.no_grad():
        y = tr.forward(x)
        m = net_margin(tr.cfg.net_config())
        assert m == frame_margin("style", tr.stride) > 0
        want = tr.net(pad_to_multiple(x, tr.stride, m, 2 * m))[..., 2 * m: 2 * m + x.shape[2], m: m + x.shape[3]]
        assert y.shape == x.shape and torch.equal(y, want)
        assert not torch.equal(y, tr.net(x))  # the zero-padded border band is not what is scored
    assert tr.run().metadata()["margins"] is True
    off = Trainer(config(photos, painting, steps=1, fast="v2", margins=False), tmp_path / "off", quiet=True)
    with torch.no_grad():
        assert torch.equal(off.forward(x), off.net(x))
    v3 = Trainer(config(photos, painting, steps=1), tmp_path / "v3", quiet=True)
    assert v3.cfg.fast == "v3" and net_margin(v3.cfg.net_config()) == 0
    with torch.no_grad():
        assert torch.equal(v3.forward(x), v3.net(x))
