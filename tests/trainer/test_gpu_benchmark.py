"""benchmarks/gpu.py: its tables come out of real training steps and real inference (on the CPU here)."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import gpu  # noqa: E402


def test_without_cuda_it_says_so_and_measures_nothing(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert gpu.main(["--quick"]) == 2
    assert "PyTorch sees no CUDA GPU here" in capsys.readouterr().err


def test_script_check_on_the_cpu(tmp_path, capsys):
    """--device cpu runs every non-compiled arrangement for real; each row is a measured time."""
    out = tmp_path / "gpu.json"
    code = gpu.main(["--device", "cpu", "--quick", "--tiers", "fast", "--size", "32", "--batch", "1",
                     "--infer-size", "48x32", "--json", str(out)])
    assert code == 0
    res = json.loads(out.read_text())
    assert [r["arrangement"] for r in res["train"]] == ["fp32", "tf32", "bf16", "bf16+cl"]
    assert [r["arrangement"] for r in res["infer"]] == ["fp32", "tf32", "fp16", "fp16+cl"]
    assert all(r["median_ms"] > 0 and r["tier"] == "fast" for r in res["train"] + res["infer"])
    assert res["params"]["fast"] > 100_000 and res["size"] == 32
    assert "trip_ms" in res["infer"][3] and res["infer"][0]["size"] == "48x32"
    text = capsys.readouterr().out
    assert "| fast | fp32 |" in text and "| fast | fp16+cl |" in text
