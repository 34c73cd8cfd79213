"""Waiting for the window's next shown frame, by signal (never by sleeping)."""

WAIT = 10_000


def next_frame(qtbot, w, check=lambda r: True):
    """The first frame shown that passes ``check``."""
    got = []

    def ok(r):
        if check(r):
            got.append(r)
            return True
        return False

    with qtbot.waitSignal(w.frameShown, timeout=WAIT, check_params_cb=ok):
        pass
    return got[0]
