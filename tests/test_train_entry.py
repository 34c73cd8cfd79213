"""`stylecam-train` without the train extra: one line that says what to install, exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_script_goes_through_the_guard():
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    assert [line.split("#")[0].strip() for line in lines if line.startswith("stylecam-train ")] == [
        'stylecam-train = "trainer:main"']


@pytest.mark.parametrize("hidden, missing", [(["torch"], "torch"), (["torch", "onnxscript"], "torch, onnxscript")])
def test_without_torch_one_line_and_exit_2(hidden, missing):
    # the modules are hidden as a bare environment would lack them; nothing of torch may load
    code = (f"import sys\nfor m in {hidden!r}: sys.modules[m] = None\n"
            "import trainer\nrc = trainer.main(['--help'])\n"
            "assert not [m for m in sys.modules if m.startswith('torch') and sys.modules[m] is not None]\n"
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"stylecam-train: training needs PyTorch, which is not installed here "
                                  f"(missing: {missing}); install it with: pip install \"stylecam[train]\" "
                                  f"(in a clone: pip install -e \".[train]\"); note that PyPI's torch for Linux "
                                  f"is a CUDA build of several GB")


def test_with_the_extra_it_is_the_trainer(capsys):
    import trainer

    with pytest.raises(SystemExit) as done:
        trainer.main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: stylecam-train")
