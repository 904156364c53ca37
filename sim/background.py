"""Work on background threads that a Ctrl-C does not wait for.

After the tasks the cores are idle, and Arrow (reading, encoding and compressing Parquet) and
numpy (sorting, searching and gathering millions of firms) work without holding the GIL: the
final files are assembled on a background thread while the main thread computes the statistics,
and the report's twins are matched two scenarios at a time. ``concurrent.futures`` threads are
joined when the interpreter exits, so a planner's Ctrl-C (or a SIGTERM) during that work would
wait for it to finish; these threads are daemons and the main thread waits for them in short,
interruptible steps, so an interrupt leaves at once. A file they were writing is a
``.NAME.tmp-PID`` that is never renamed into place (the folder's next ``resume`` removes it and
writes the file again).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class Background:
    """``fn(*args)`` running on a daemon thread; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., Any], *args, name: str = "valleysim-background"):
        """Start ``fn(*args)`` now."""
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()

        def run():
            try:
                self._value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self._error = exc
            finally:
                self._done.set()

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def result(self) -> Any:
        """Wait for the work (a signal handler may raise here: the thread is then left to end with
        the process) and return its value, or raise its error. (An event, not ``Thread.join``:
        a join that a signal interrupts can mark a running thread as ended.)"""
        while not self._done.wait(0.1):
            pass
        if self._error is not None:
            raise self._error
        return self._value


def parallel_map(fn: Callable[[Any], Any], items: Iterable, threads: int) -> list:
    """``[fn(x) for x in items]`` on ``threads`` background threads (items taken in order as
    threads come free); the first error is raised once every thread has stopped, and no thread
    starts a new item after an error."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    results: list = [None] * len(items)
    errors: list[BaseException] = []
    queue = iter(enumerate(items))
    lock = threading.Lock()

    def work():
        while not errors:
            with lock:
                nxt = next(queue, None)
            if nxt is None:
                return
            i, x = nxt
            try:
                results[i] = fn(x)
            except BaseException as exc:  # noqa: BLE001 - raised by the waiting thread
                errors.append(exc)

    jobs = [Background(work, name=f"valleysim-worker-{i}") for i in range(min(threads, len(items)))]
    for job in jobs:
        job.result()
    if errors:
        raise errors[0]
    return results


def prefetched(fn: Callable[[Any], Any], items: Iterable, ahead: int = 4) -> Iterator:
    """``fn(x)`` for each of ``items``, in order, the next ``ahead`` of them computed on background
    threads while the caller works on the one before (reading a file's next parts while a batch
    of them is encoded). An error is raised where its item would have been yielded (the items
    already started with it end on their own)."""
    items = iter(items)
    jobs: deque[Background] = deque()
    for x in items:
        jobs.append(Background(fn, x, name="valleysim-prefetch"))
        if len(jobs) > ahead:
            yield jobs.popleft().result()
    while jobs:
        yield jobs.popleft().result()
