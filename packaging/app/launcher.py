"""The frozen app's entry point: ``stylecam`` opens the window, ``stylecam render ARGS`` (or the
program under the name ``stylecam-render``) renders files, as the installed commands do."""

import multiprocessing
import os
import sys


def main() -> int:
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    as_render = os.path.basename(sys.argv[0]).lower().startswith("stylecam-render")
    if args[:1] == ["render"]:
        as_render, args = True, args[1:]
    if as_render:
        from stylecam.render import main as render

        return render(args)
    from stylecam.gui.app import main as window

    return window(args)


if __name__ == "__main__":
    sys.exit(main())
