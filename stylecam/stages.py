"""Threaded stages joined by small bounded queues: ``run_pipeline(source, process, sink)``.

One reader, ``workers`` threads running ``process`` (results put back in order), one writer.
``stylecam-render`` runs decode -> style model -> stabiliser/encode through it.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable

QUEUE_DEPTH = 4  # frames in flight between two stages; enough to smooth, small for memory

_END = object()


def run_pipeline(source: Iterable, process: Callable, sink: Callable, depth: int = QUEUE_DEPTH,
                 workers: int = 1) -> None:
    """``sink(process(item))`` for every item of ``source``, in order, each stage on its own
    thread(s): one reader, ``workers`` threads running ``process`` (which must then be safe to
    call concurrently; results are put back in order), one writer.

    Stages are joined by queues of ``depth`` items. The first error of any stage stops all of
    them and is raised here; Ctrl-C in the calling thread stops them too and is re-raised.
    Items still queued when a stage fails are dropped, and ``source`` is closed (if it has a
    ``close``) before this returns or raises.
    """
    stop = threading.Event()
    errors: list[BaseException] = []
    q_in: queue.Queue = queue.Queue(depth)
    q_out: queue.Queue = queue.Queue(depth + workers - 1)

    def put(q, item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def get(q):
        while not stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                pass
        return _END

    def read():
        items = iter(source)
        try:
            for i, item in enumerate(items):
                if not put(q_in, (i, item)):
                    return
        finally:
            # a source stopped early (a generator over a PyAV container) is closed here, on
            # its own thread, not whenever the garbage collector gets to it, which may be
            # after the caller has closed the container
            close = getattr(items, "close", None)
            if close is not None:
                close()
        for _ in range(workers):
            put(q_in, _END)

    def work():
        while (job := get(q_in)) is not _END:
            if not put(q_out, (job[0], process(job[1]))):
                return
        put(q_out, _END)

    def write():
        pending, want, ended = {}, 0, 0  # results that came early wait for their turn
        while ended < workers:
            got = get(q_out)
            if got is _END:
                if stop.is_set():
                    return
                ended += 1
                continue
            pending[got[0]] = got[1]
            while want in pending:
                sink(pending.pop(want))
                want += 1

    def guarded(fn, done: threading.Event):
        def body():
            try:
                fn()
            except BaseException as exc:  # handed to the calling thread below
                errors.append(exc)
                stop.set()
            finally:
                done.set()
        return body

    stages = (read, *[work] * workers, write)
    done = [threading.Event() for _ in stages]
    for fn, ended in zip(stages, done):
        threading.Thread(target=guarded(fn, ended), name=f"render-{fn.__name__}", daemon=True).start()
    try:
        while not _tick(done[-1]):  # the writer ends last: the source ran out, or a stage failed
            pass
    finally:
        stop.set()  # on Ctrl-C, wake the other stages up; after success, a no-op
        _wait_all(done)
    if errors:
        raise errors[0]


def _wait_all(events: list[threading.Event]) -> None:
    """Wait until every event is set, through Ctrl-C too (raised once they all are).

    Stages are waited for with events, not ``Thread.join``: in Python 3.11, a join that
    Ctrl-C interrupts can mark a thread that is still running as finished, and the render
    then closed the encoder while the writer stage was still encoding (a segfault).
    """
    ctrl_c: KeyboardInterrupt | None = None
    for event in events:
        while True:
            try:
                if _tick(event):
                    break
            except KeyboardInterrupt as exc:
                ctrl_c = exc
    if ctrl_c is not None:
        raise ctrl_c


def _tick(event: threading.Event) -> bool:
    """``event.wait`` for a moment: a Ctrl-C that the kernel handed to another thread (one of
    FFmpeg's or onnxruntime's) does not wake a wait without a timeout, only the next tick."""
    return event.wait(0.1)
