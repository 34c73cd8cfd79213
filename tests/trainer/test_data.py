"""Content pictures (folders, videos, broken files), batches, and SR degradation."""

import numpy as np
import pytest
import torch

from stylecam.errors import InputError, UsageError
from stylecam.frames import imresize
from stylecam.testing import make_audio_only, make_clip, test_frame
from trainer import data as D


def test_folder_is_searched_recursively_and_broken_files_are_counted(photos):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (photos / "notes.txt").write_text("ignored: not a picture suffix")
    content = D.load_content(photos, 48)
    assert len(content) == 5
    assert content.skipped == [str(photos / "broken.jpg")]
    assert all(min(img.shape[:2]) == 48 for img in content.images)


def test_batches_depend_only_on_seed_and_step(photos):
    content = D.load_content(photos, 40)
    a = content.batch(7, 3, seed=1)
    assert a.shape == (3, 3, 40, 40) and a.dtype == torch.float32
    assert 0 <= a.min() and a.max() <= 1
    torch.testing.assert_close(a, content.batch(7, 3, seed=1))
    assert not torch.equal(a, content.batch(8, 3, seed=1))
    assert not torch.equal(a, content.batch(7, 3, seed=2))


def test_video_frames_are_sampled(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=30, width=96, height=64, audio=False)
    content = D.load_content(clip, 48)
    assert 2 <= len(content) <= 30
    assert content.images[0].shape == (48, 72, 3)
    # the bright square of moving_frame moves, so sampled frames differ
    assert not np.array_equal(content.images[0], content.images[-1])


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "content folder {p} has no pictures"),
    (lambda d: (d / "a.jpg").write_bytes(b"junk") and d, "content folder {p}: none of its 1 pictures could be read"),
])
def test_bad_content_folders(tmp_path, make, message):
    folder = tmp_path / "empty"
    folder.mkdir()
    make(folder)
    with pytest.raises(InputError) as err:
        D.load_content(folder, 48)
    assert str(err.value).startswith(message.format(p=folder))


def test_content_that_is_not_a_video(tmp_path):
    audio = make_audio_only(tmp_path / "sound.m4a")
    with pytest.raises(InputError, match="no video stream"):
        D.load_content(audio, 48)
    missing = tmp_path / "nothing_here"
    with pytest.raises(InputError, match="no such folder or file"):
        D.load_content(missing, 48)


def test_size_too_small(photos):
    with pytest.raises(UsageError, match="--size 16 is too small; use at least 32"):
        D.load_content(photos, 16)


def test_style_image(tmp_path, png):
    path = png(tmp_path / "s.png", test_frame(60, 90, seed=3))
    style = D.load_style(path, 120)
    assert style.shape == (1, 3, 80, 120)
    tiny = png(tmp_path / "tiny.png", test_frame(20, 40))
    with pytest.raises(InputError, match="is 40x20; it needs at least 32 pixels on each side"):
        D.load_style(tiny, None)


def test_degrade_blurs_then_downscales():
    hr = D.to_tensor(test_frame(64, 96, seed=5)[None])
    lr = D.degrade(hr, 4)
    assert lr.shape == (1, 3, 16, 24)
    # blurred before decimation: less high-frequency energy than plain subsampling
    plain = hr[:, :, ::4, ::4]
    hf = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean()  # noqa: E731
    assert hf(lr) < hf(plain)
    with pytest.raises(UsageError):
        D.degrade(hr[:, :, :63], 4)


def test_degrade_bicubic_is_the_benchmark_protocol():
    frame = test_frame(64, 96, seed=5)
    lr = D.degrade(D.to_tensor(frame[None]), 4, "bicubic")
    assert np.array_equal(D.to_uint8(lr)[0], imresize(frame, 1 / 4))  # MATLAB-style, no blur
    assert not np.array_equal(D.to_uint8(D.degrade(D.to_tensor(frame[None]), 4))[0], imresize(frame, 1 / 4))


def test_a_photo_over_the_pixel_limit_is_skipped_from_its_header(tmp_path, png):
    import struct
    import zlib

    from trainer.data import load_content
    from stylecam.testing import test_frame

    folder = tmp_path / "photos"
    for i in range(2):
        png(folder / f"p{i}.png", test_frame(60, 84, seed=i))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)  # a 20000x20000 RGB header, no pixels
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    (folder / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    content = load_content(folder, 40)
    assert len(content) == 2
    assert [p.rsplit("/", 1)[-1] for p in map(str, content.skipped)] == ["huge.png"]
