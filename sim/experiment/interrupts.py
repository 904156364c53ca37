"""Ctrl-C and SIGTERM during an experiment, delivered where they are safe.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. Inside
``concurrent.futures.wait`` that can be half-way through taking the futures' locks, which
leaves a lock held forever: the pool's manager thread then blocks on it and the interpreter
never exits. So while an experiment runs, SIGINT and SIGTERM go to :func:`_handler`: inside a
:func:`deferred` block (an executor waiting on its workers) the signal is only noted, and the
executor calls :func:`check` at its next safe point, within a fraction of a second; anywhere
else (a task simulating in-process, a result being written) it raises ``KeyboardInterrupt`` at
once, as usual. Either way the runner sees one ``KeyboardInterrupt``, records the experiment as
interrupted and says how to resume it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

POLL_SECONDS = 0.2
"""How often a deferred wait looks for a pending signal."""

_state = {"defer": 0, "pending": None}


def _handler(signum, frame):
    if _state["defer"]:
        _state["pending"] = signum
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def deferred():
    """Note SIGINT/SIGTERM instead of raising (call :func:`check` after the block)."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1


def pending() -> bool:
    """Whether a signal arrived during a deferred block."""
    return _state["pending"] is not None


def check() -> None:
    """Raise the ``KeyboardInterrupt`` a signal during a deferred block stands for."""
    if _state["pending"] is not None:
        _state["pending"] = None
        raise KeyboardInterrupt


@contextlib.contextmanager
def signals_as_interrupt():
    """For the length of the block, SIGINT and SIGTERM both mean "stop, resumably"."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _state["pending"] = None
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _state["pending"] = None
