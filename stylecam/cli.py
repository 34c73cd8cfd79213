"""What every stylecam command line shares: user errors as one line, Ctrl-C as exit 130.

    def main(argv=None):
        return run_cli(_main, argv)

``_main`` raises ``StylecamError`` for anything a user can cause; ``run_cli`` prints
``<prog>: <message>`` on stderr and returns 2 (no traceback). Ctrl-C returns 130, the
shell's convention for SIGINT. Other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from .errors import StylecamError, UsageError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` (one line) instead of printing usage and exiting."""

    def error(self, message: str):  # argparse's own messages are already one line
        raise UsageError(message)


def fail(prog: str, message: str) -> None:
    """Print one user-facing error line on stderr."""
    print(f"{prog}: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
            prog: str | None = None) -> int:
    """Run ``main(argv)`` and turn user errors and Ctrl-C into exit statuses."""
    prog = prog or getattr(main, "prog", None) or "stylecam"
    try:
        return int(main(argv) or 0)
    except StylecamError as exc:
        fail(prog, str(exc))
        return getattr(exc, "exit_code", EXIT_USER_ERROR)
    except KeyboardInterrupt:
        fail(prog, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `stylecam-render ... --json | head`
        return 0
