"""benchmarks/soak.py end to end, briefly: the live pipeline with style switches and
recordings on and off, and the report it makes."""

import json
import os
import subprocess
import sys
from pathlib import Path

from stylecam.testing import write_model

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def test_a_short_soak_switches_styles_records_and_reports(tmp_path, isolated_catalog):
    builtin = isolated_catalog[0]
    for name, op in (("a", "invert"), ("b", "swap"), ("c", "conv")):
        write_model(builtin / f"{name}.onnx", op, name=name)
    out = tmp_path / "soak.json"
    r = subprocess.run([sys.executable, str(SOAK), "--minutes", "0.2", "--switch-every", "2.5", "--warmup", "3",
                        "--size", "160x120", "--json", str(out)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, TMPDIR=str(tmp_path)))  # its recordings go here
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(out.read_text())
    assert rep["errors"] == [] and rep["styles_cycled"] == 3
    assert len(rep["samples"]) >= 2 and rep["shown"] > 0
    assert {s["model"] for s in rep["samples"]} <= {"a", "b", "c", ""}
    assert len(rep["recordings"]) >= 2  # on in every other period of 2.5 s
    assert all(x["frames"] > 0 and x["in_file"] == x["frames"] for x in rep["recordings"])
    assert rep["rss_growth_mb"] is not None and rep["latency_drift"] is not None
    assert not list(tmp_path.glob("stylecam-soak-*"))  # recordings checked, then removed
