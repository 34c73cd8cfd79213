"""Get onnxruntime-gpu onto the lent GPU machine in parts, then run ort_cuda.py there.

    python benchmarks/ort_cuda_send.py prepare   # here: download, export, pack, split; prints the calls
    python benchmarks/ort_cuda_send.py plan      # print the calls again (from .ortgpu/plan.json)

The device tool's ``run`` sends the working tree (tracked and untracked-not-ignored files,
~48 MiB in session 14) with the ignored folders named in ``carry``, 64 MiB a call in all, and what a
command leaves in /tmp there stays while the machine is kept busy (about 30 s of idle). That
machine has Python 3.12, torch for CUDA 13 (whose nvidia-* packages hold the CUDA 13 and
cuDNN 9 libraries onnxruntime-gpu needs) and the CPU build of onnxruntime, no PyAV, no
platformdirs, and no network. So ``prepare`` makes one tar of the payload (the cp312 wheels of
onnxruntime-gpu 1.31.1, PyAV and platformdirs, butterfly.mp4, a random-weight quality-tier
model), splits it into parts that fit beside the tree, one ignored folder ``.ortgpu/pNN``
each, and prints one ``run`` call per part, back to back: each copies its part to
/tmp/ortgpu, and the last also runs ``benchmarks/ort_cuda_remote.sh`` there (check the
parts' sha256, ``pip install --no-deps --target /tmp/site``, ``PYTHONPATH``, then
``ort_cuda.py``, whose Engine finds the CUDA libraries itself: ``stylecam.cuda.preload``).
The results come back as ``$OUT/ort_cuda.json`` and ``$OUT/ort_cuda.log``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / ".ortgpu"
MIB = 1 << 20
LIMIT = 64 * MIB  # what one call may send, tree and carried folders together
MARGIN = 4 * MIB  # the tree grows while a session works
MIN_PART = 8 * MIB  # below this a part per call makes too many calls: the tree must shrink first
WHEELS = ("onnxruntime-gpu==1.31.1", "av=={av}", "platformdirs=={platformdirs}")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def tree_bytes() -> int:
    """What every call sends anyway: tracked files and untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout
    return sum((ROOT / p).stat().st_size for p in out.decode().split("\0") if p and (ROOT / p).is_file())


def ignore_here() -> None:
    """``.ortgpu`` must be ignored for ``carry`` to take it (and never committed)."""
    path = ROOT / subprocess.run(["git", "rev-parse", "--git-path", "info/exclude"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.strip()
    text = path.read_text() if path.is_file() else ""
    if "/.ortgpu/" not in text.split():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + "/.ortgpu/\n")


def download(dest: Path) -> list[Path]:
    """The cp312 manylinux wheels (pip download; nothing is installed here)."""
    import av
    import platformdirs

    dest.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        spec = spec.format(av=av.__version__, platformdirs=platformdirs.__version__)
        name = spec.split("==")[0].replace("-", "_").lower()
        if any(p.name.lower().startswith(name + "-") for p in dest.glob("*.whl")):
            continue
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.12", "--implementation", "cp", "-d", str(dest), spec]
        for plat in PLATFORMS:
            cmd += ["--platform", plat]
        subprocess.run(cmd, check=True)
    return sorted(dest.glob("*.whl"))


def split(payload: Path, part_bytes: int) -> list[Path]:
    """``payload`` cut into ``.ortgpu/pNN/part`` files of at most ``part_bytes``."""
    for old in HERE.glob("p[0-9][0-9]"):
        shutil.rmtree(old)
    parts = []
    with payload.open("rb") as f:
        while chunk := f.read(part_bytes):
            d = HERE / f"p{len(parts):02d}"
            d.mkdir(parents=True)
            (d / "part").write_bytes(chunk)
            parts.append(d / "part")
    return parts


def calls(n: int, sha: str) -> list[dict]:
    """The device tool's ``run`` calls, in order, back to back (the machine stays warm ~30 s)."""
    out = []
    for i in range(n):
        cmd = f"mkdir -p /tmp/ortgpu && cp .ortgpu/p{i:02d}/part /tmp/ortgpu/part{i:02d} && ls /tmp/ortgpu"
        if i == n - 1:
            cmd += f" && bash benchmarks/ort_cuda_remote.sh {n} {sha}"
        out.append({"command": cmd, "carry": [f".ortgpu/p{i:02d}"], "timeout_s": 600 if i == n - 1 else 120})
    return out


def prepare(args) -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    ignore_here()
    stage = HERE / "payload"
    wheels = download(stage / "wheels")
    video = Path(args.video)
    if not video.is_file():
        print(f"ort_cuda_send.py: {video}: no such video", file=sys.stderr)
        return 2
    (stage / "butterfly.mp4").unlink(missing_ok=True)  # copied read-only the last time, perhaps
    shutil.copyfile(video, stage / "butterfly.mp4")
    if not (stage / "quality.onnx").is_file():
        from ort_cuda import export_quality

        _, how = export_quality(stage / "quality.onnx")
        print(f"quality model: {how}", file=sys.stderr)
    tar = HERE / "payload.tar"
    with tarfile.open(tar, "w") as t:  # the wheels are zips already: no compression
        for p in sorted(stage.rglob("*")):
            if p.is_file():
                t.add(p, arcname=str(p.relative_to(stage)))
    budget = LIMIT - tree_bytes() - MARGIN
    if budget < MIN_PART:
        print(f"ort_cuda_send.py: the working tree leaves {budget // MIB} MiB a call; make it smaller",
              file=sys.stderr)
        return 2
    parts = split(tar, budget)
    sha = hashlib.sha256(tar.read_bytes()).hexdigest()
    tar.unlink()
    plan = {"parts": len(parts), "part_mib": round(budget / MIB, 1), "sha256": sha,
            "wheels": [w.name for w in wheels], "calls": calls(len(parts), sha)}
    (HERE / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    print(json.dumps(plan, indent=1))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("prepare", "plan"))
    ap.add_argument("--video", default=str(ROOT.parent / "shared" / "data" / "video" / "butterfly.mp4"))
    args = ap.parse_args(argv)
    if args.step == "plan":
        path = HERE / "plan.json"
        if not path.is_file():
            print("ort_cuda_send.py: no plan yet; run: python benchmarks/ort_cuda_send.py prepare", file=sys.stderr)
            return 2
        print(path.read_text(), end="")
        return 0
    return prepare(args)


if __name__ == "__main__":
    sys.exit(main())
