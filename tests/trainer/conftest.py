"""Fixtures for the trainer tests: photos and a painting made in code, runs in a tmp folder."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecam.testing import test_frame


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One intra-op thread: on a busy 2-core machine two threads spin-wait on each other
    (measured here: 10 tiny steps 3.2 s with one thread, 14.7 s with two)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def runs_in_tmp(tmp_path, monkeypatch):
    """Run folders go to tmp, never to the real per-user data folder."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("STYLECAM_RUNS_DIR", str(runs))
    return runs


@pytest.fixture
def png():
    """``png(path, rgb)`` writes a picture and returns its path."""
    return write_png


@pytest.fixture
def photos(tmp_path) -> Path:
    """Five non-square pictures, two of them in a subfolder (the search is recursive)."""
    folder = tmp_path / "photos"
    for i in range(5):
        sub = folder / "more" if i >= 3 else folder
        write_png(sub / f"p{i}.png", test_frame(60 + 4 * i, 84, seed=i))
    return folder


@pytest.fixture
def painting(tmp_path) -> Path:
    """A 'painting' with strong colour blocks, so its Grams differ clearly from the photos'."""
    img = test_frame(64, 96, seed=9)
    img[::8] = (230, 40, 20)
    img[:, ::8] = (20, 40, 230)
    return write_png(tmp_path / "painting.png", img)
