"""stylecam-render called as the tests call it: (exit code, stdout, stderr), and its one-line errors."""

import re

from stylecam import render


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
