"""stylecam-render called as the tests call it: (exit code, stdout, stderr), and its one-line errors."""

import re

import av
import numpy as np

from stylecam import render

TOL = 12  # mean |difference| allowed after H.264 (as tests/test_render.py)


def run(capsys, *argv):
    code = render.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def last_line(err):
    return re.split(r"[\r\n]+", err.strip())[-1]


def decode(path):
    """Every frame of a video file's first stream, RGB uint8."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
