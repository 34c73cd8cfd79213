"""run_cli: user errors as one stderr line and exit 2, Ctrl-C as 130, bugs keep their traceback."""

import subprocess
import sys

import pytest

from stylecam.cli import ArgumentParser, run_cli
from stylecam.errors import InputError, UsageError


def test_user_error_is_one_line_and_exit_2(capsys):
    def main(argv):
        raise InputError("clip.mp4: the file\nis empty")

    assert run_cli(main, [], prog="tool") == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "tool: clip.mp4: the file is empty\n")


def test_ctrl_c_is_130_and_success_is_0(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_cli(interrupted, [], prog="tool") == 130
    assert capsys.readouterr().err == "tool: interrupted\n"
    assert run_cli(lambda argv: None, []) == 0
    assert run_cli(lambda argv: 3, []) == 3


def test_bugs_are_not_hidden():
    def main(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run_cli(main, [])


def test_argument_errors_are_usage_errors():
    p = ArgumentParser(prog="tool")
    p.add_argument("--n", type=int)
    with pytest.raises(UsageError) as e:
        p.parse_args(["--n", "x"])
    assert str(e.value) == "argument --n: invalid int value: 'x'"


def test_render_module_runs_as_a_script():
    r = subprocess.run([sys.executable, "-m", "stylecam.render", "clip.mp4", "--strength", "2", "--style", "x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == "stylecam-render: --strength must be between 0 and 1, got 2\n"
    assert r.stdout == ""
