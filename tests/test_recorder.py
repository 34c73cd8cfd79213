"""The recorder: real H.264 files written on a thread and read back with PyAV."""

import errno
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from stylecam.errors import OutputError
from stylecam.recorder import Recorder
from stylecam.testing import moving_frame


def read_back(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(s)]
        return frames, s


def test_frames_count_rate_and_size(tmp_path):
    stopped = []
    rec = Recorder(tmp_path / "r.mkv", Fraction(30), queue_size=64, on_stopped=lambda *a: stopped.append(a))
    for i in range(45):
        assert rec.write(moving_frame(i, 64, 96), 10.0 + i / 30)
    assert rec.stop() == ""
    frames, stream = read_back(tmp_path / "r.mkv")
    assert len(frames) == 45 == rec.frames
    assert stream.average_rate == 30
    assert (stream.codec_context.width, stream.codec_context.height) == (96, 64)
    assert frames[-1][0] == pytest.approx(44 / 30, abs=0.002)
    assert stopped == [(tmp_path / "r.mkv", 45, "")]
    # H.264 is lossy (and the test frame noisy), but each picture is the one given
    err = [np.abs(frames[10][1].astype(int) - moving_frame(k, 64, 96)).mean() for k in (10, 20)]
    assert err[0] < 12 and err[0] < err[1] - 3


def test_timestamps_follow_capture_time_when_frames_were_dropped(tmp_path):
    rec = Recorder(tmp_path / "r.mkv", 30, queue_size=64)
    times = [0, 1, 2, 6, 7, 15, 16, 17, 30]  # frame slots of 1/30 s; gaps are drops
    for k in times:
        rec.write(moving_frame(k, 48, 80), 5.0 + k / 30)
    rec.stop()
    frames, _ = read_back(tmp_path / "r.mkv")
    assert [round(t * 30) for t, _ in frames] == times  # plays at the speed it happened


def test_other_sizes_are_fitted_to_the_first(tmp_path):
    rec = Recorder(tmp_path / "r.mkv", 30)
    rec.write(moving_frame(0, 48, 80), 0.0)
    rec.write(moving_frame(1, 96, 160), 0.1)
    assert rec.stop() == ""
    frames, _ = read_back(tmp_path / "r.mkv")
    assert [f.shape for _, f in frames] == [(48, 80, 3)] * 2


def test_full_queue_drops_instead_of_blocking(tmp_path):
    rec = Recorder(tmp_path / "r.mkv", 30, queue_size=2)
    frame = moving_frame(0, 480, 640)
    accepted = sum(rec.write(frame, i / 30) for i in range(200))
    rec.stop()
    assert rec.dropped == 200 - accepted > 0
    assert read_back(tmp_path / "r.mkv")[0].__len__() == rec.frames == accepted


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(OutputError) as e:
        Recorder(tmp_path / "no" / "r.mkv")
    assert str(e.value) == f"cannot record to {tmp_path / 'no' / 'r.mkv'}: folder {tmp_path / 'no'} does not exist"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_stops_and_says_so(tmp_path):
    path = tmp_path / "full.mkv"
    path.symlink_to("/dev/full")  # every write fails with ENOSPC
    stopped = []
    rec = Recorder(path, 30, queue_size=64, on_stopped=lambda *a: stopped.append(a))
    for i in range(60):
        rec.write(moving_frame(i, 64, 96), i / 30)
    error = rec.stop()
    # nothing reached the disk: the message must not claim frames that are not there
    assert error == f"disk full writing {path}; recording stopped, nothing could be written"
    assert rec.frames == 0 and stopped == [(path, 0, error)]
    assert not rec.running and rec.write(moving_frame(0, 64, 96), 9.0) is False
    assert errno.ENOSPC  # the errno the message stands for


RECORD_UNDER_A_LIMIT = """
import resource, signal, sys
from stylecam.recorder import Recorder
from stylecam.testing import moving_frame
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG) instead
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
rec = Recorder(sys.argv[1], 30, queue_size=300)
for i in range(240):
    rec.write(moving_frame(i, 120, 160), i / 30)
print(rec.stop())
print(rec.frames)
"""


@pytest.mark.parametrize("limit", [60_000, 200])
def test_a_failed_recording_says_what_the_file_really_holds(tmp_path, limit):
    import subprocess
    import sys

    path = tmp_path / "rec.mkv"
    r = subprocess.run([sys.executable, "-c", RECORD_UNDER_A_LIMIT, str(path), str(limit)],
                       capture_output=True, text=True, timeout=120)
    error, frames = r.stdout.strip().splitlines()
    if limit > 1000:  # flushed clusters play: they are counted
        with av.open(str(path)) as c:
            kept = sum(1 for _ in c.decode(c.streams.video[0]))
        assert 0 < kept < 240 and int(frames) == kept
        assert error == f"cannot write {path}: File too large; recording stopped, kept {kept} frames in {path}"
    else:  # not even the header fitted: nothing to keep, and no empty file left
        assert int(frames) == 0 and not path.exists()
        assert error == f"cannot write {path}: File too large; recording stopped, nothing could be written"
