"""Shared test set-up: Qt offscreen, and an isolated model catalog for every test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_catalog(tmp_path, monkeypatch):
    """Empty built-in and user model folders, so no test sees the real ones by accident."""
    builtin = tmp_path / "builtin_models"
    user = tmp_path / "user_models"
    builtin.mkdir()
    user.mkdir()
    monkeypatch.setenv("STYLECAM_ASSETS_DIR", str(builtin))
    monkeypatch.setenv("STYLECAM_MODELS_DIR", str(user))
    monkeypatch.setenv("STYLECAM_CACHE_DIR", str(tmp_path / "ort_cache"))
    return builtin, user
