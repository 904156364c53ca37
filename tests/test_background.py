"""Background threads for the work after the tasks: results in order, errors raised, and an
interrupt that does not wait for them."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest

from sim.background import Background, parallel_map


def test_parallel_map_keeps_the_order_and_uses_both_threads():
    """Results come in the items' order, whichever thread computed them."""
    seen = set()

    def slow_square(x):
        seen.add(threading.current_thread().name)
        time.sleep(0.02)
        return x * x

    assert parallel_map(slow_square, range(8), 2) == [x * x for x in range(8)]
    assert len(seen) == 2  # both threads took items
    assert parallel_map(slow_square, [3], 2) == [9]
    assert parallel_map(slow_square, range(4), 1) == [0, 1, 4, 9]


def test_the_first_error_is_raised_and_no_new_item_starts_after_it():
    """A failed write stops the rest: the error reaches the caller, later items never start."""
    started = []

    def fail_on_two(x):
        started.append(x)
        if x == 2:
            raise OSError("disk full")
        time.sleep(0.05)
        return x

    with pytest.raises(OSError, match="disk full"):
        parallel_map(fail_on_two, range(20), 2)
    assert len(started) < 20


def test_an_interrupt_while_waiting_leaves_at_once_and_the_thread_is_a_daemon():
    """A Ctrl-C (here raised in the main thread by a timer) while the main thread waits for work
    that takes much longer: the wait ends within a fraction of a second."""
    release = threading.Event()
    job = Background(release.wait, 30.0)
    assert job._thread.daemon
    # Python's own Ctrl-C handler, whatever this process inherited (a job started in the
    # background by a shell ignores SIGINT, and interrupt_main then does nothing)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.2, _thread.interrupt_main)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            job.result()
        assert time.monotonic() - t0 < 5.0
    finally:
        signal.signal(signal.SIGINT, old)
    release.set()
    assert job.result() is True
