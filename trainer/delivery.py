"""Where a run's model goes, and what stylecam-train says and cleans up on the way there.

- ``check_out``: ``--out`` never replaces a file stylecam-train did not make (``--out
  painting.jpg`` once overwrote the painting) unless ``--force``, nor ever the painting or
  the content.
- ``Delivery``: ``--out``, ``--no-install`` and ``--no-int8`` of a run, kept in its run folder
  (``export.json``), so ``--resume`` delivers the model where the first run said.
- ``warn_if_short``: a style run far too short to be more than a tint says so.
- ``run_carefully``: a run folder that cannot be written (read-only, a full disk) is one line,
  and no ``*.part`` file is left filling the disk.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from stylecam.errors import OutputError, StylecamError, UsageError

DELIVERY = "export.json"
SHORT_RUN = 300  # style steps; below this a run is reported as far too short


def check_out(args, mode: str) -> None:
    """Refuse an ``--out`` that would replace a file stylecam-train did not make."""
    out = Path(args.out)
    if getattr(args, "also", None):  # a shared trunk: --out is the folder its styles go into
        if not out.is_dir():
            raise OutputError(f"--out {out}: with --with, give an existing folder for the styles")
        return
    if not out.parent.is_dir():
        raise OutputError(f"--out {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise OutputError(f"--out {out}: is a folder; give a file name")
    for what, other in (("the painting", args.painting), ("the content", args.content)):
        if other and out.exists() and Path(other).exists() and out.resolve() == Path(other).resolve():
            raise OutputError(f"--out {out} is {what}; it would be overwritten")
    want = ".pt" if mode == "base" else ".onnx"
    if out.suffix.lower() != want:
        raise UsageError(f"--out {out}: {'a base network' if mode == 'base' else 'a model'} file must end in {want}")
    if out.exists() and not args.force and not made_by_trainer(out):
        raise OutputError(f"--out {out}: already exists and stylecam-train did not make it; "
                          "pass --force to replace it")


def made_by_trainer(path: Path) -> bool:
    """True for a model (``producer_name``) or base network file that stylecam-train wrote."""
    try:
        if path.suffix.lower() == ".onnx":
            import onnx

            return onnx.load(str(path), load_external_data=False).producer_name == "stylecam-train"
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        return isinstance(state, dict) and {"arch", "net", "train"} <= set(state)
    except Exception:  # not a model at all
        return False


@dataclass
class Delivery:
    """Where the model of a run goes."""

    out: str = ""  # --out, resolved ("" : the run folder, then installed unless no_install)
    no_install: bool = False
    no_int8: bool = False

    @property
    def out_path(self) -> Path | None:
        return Path(self.out) if self.out else None

    def installs(self, mode: str) -> bool:
        return mode != "base" and not self.out and not self.no_install

    @classmethod
    def for_run(cls, args, run_dir: Path) -> "Delivery":
        """This run's choice; on ``--resume`` the first run's, unless flags given now change it.
        Saved in the run folder, which also proves it can be written before any step is run."""
        now = cls(str(Path(args.out).resolve()) if args.out else "", bool(args.no_install), bool(args.no_int8))
        if args.resume:
            first = cls.load(run_dir)
            if first is not None and not (args.out or args.no_install):
                now.out, now.no_install = first.out, first.no_install
            now.no_int8 = now.no_int8 or (first.no_int8 if first else False)
        now.save(run_dir, given=bool(args.run_dir))
        return now

    @classmethod
    def load(cls, run_dir: Path) -> "Delivery | None":
        try:
            data = json.loads((run_dir / DELIVERY).read_text())
            return cls(**{k: data[k] for k in ("out", "no_install", "no_int8") if k in data})
        except (OSError, ValueError, TypeError):
            return None  # a run folder from before export.json: this run's flags decide

    def save(self, run_dir: Path, given: bool) -> None:
        tmp = run_dir / (DELIVERY + ".part")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(asdict(self)))
            os.replace(tmp, run_dir / DELIVERY)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            where = f"--run-dir {run_dir}" if given else f"run folder {run_dir}"
            raise OutputError(f"{where}: cannot write there ({exc.strerror or type(exc).__name__})") from None


def warn_if_short(trainer, log) -> None:
    """A style run of fewer than ``SHORT_RUN`` steps learns the painting's colours at most."""
    cfg = trainer.cfg
    if cfg.mode != "style" or trainer.fits_left or cfg.steps >= SHORT_RUN:
        return
    if cfg.init not in ("base", "scratch"):  # a fine-tune of a trained style (--init MODEL or run)
        return
    budget = f" (all that fits in --minutes {cfg.minutes:g} at this speed)" if cfg.minutes else ""
    log(f"warning: {cfg.steps} steps{budget} is far too short to learn more than a tint of the painting; "
        f"the built-in styles took 700-7,000 steps")


def run_carefully(trainer, log):
    """``trainer.run()``, warning once the --minutes step count is fitted if it is short, and
    turning a run folder that cannot be written into one line with no ``*.part`` left behind."""
    warned = [not trainer.fits_left]

    def on_step(_row) -> None:
        if not warned[0] and not trainer.fits_left:
            warned[0] = True
            warn_if_short(trainer, log)

    try:
        return trainer.run(on_step=on_step)
    except StylecamError:
        _remove_parts(trainer.run_dir)
        raise
    except (OSError, RuntimeError) as exc:
        reason = _write_failure(exc, trainer.run_dir)
        if reason is None:
            raise  # not a write: a bug, with its traceback
        _remove_parts(trainer.run_dir)
        ckpt = trainer.run_dir / "checkpoint.pt"
        kept = (f"the checkpoint of step {trainer.last_good} is kept" if ckpt.is_file()
                else "no checkpoint was saved")
        raise OutputError(f"cannot write to the run folder {trainer.run_dir} ({reason}): stopped at step "
                          f"{trainer.step}; {kept}") from None


def _write_failure(exc: BaseException, run_dir: Path) -> str | None:
    """Why writing into the run folder failed, or None when ``exc`` is not a write failure."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    if "inline_container" not in text and "PytorchStreamWriter" not in text:
        return None  # torch.save's zip writer raises RuntimeError for a failed write
    try:
        if shutil.disk_usage(run_dir).free < 64 << 20:
            return "the disk is full"
    except OSError:
        pass
    return "torch.save could not write the checkpoint"


def _remove_parts(run_dir: Path) -> None:
    """Half-written files (``checkpoint.pt.part``, ``loss.csv.part``, ``*.part.png``)."""
    try:
        for p in run_dir.iterdir():
            if p.name.endswith(".part") or ".part." in p.name:
                p.unlink(missing_ok=True)
    except OSError:
        pass
