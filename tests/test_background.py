"""Background threads for the work after the tasks: results in order, errors raised, and an
interrupt that does not wait for them."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest

from sim.background import Background, parallel_map, prefetched


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


def test_prefetched_yields_in_order_with_a_bounded_number_in_flight():
    """A file's parts come in plan order however the reads interleave; no more than ``ahead`` are
    read ahead of the consumer; a failed read is raised where its part would have come."""
    running, most = [0], [0]
    lock = threading.Lock()

    def read(x):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01 * (x % 3))  # later items often finish first
        with lock:
            running[0] -= 1
        if x == 6:
            raise OSError("unreadable part")
        return x * 10

    assert list(prefetched(read, range(6), ahead=3)) == [0, 10, 20, 30, 40, 50]
    assert 2 <= most[0] <= 4  # the consumer's item and at most three ahead of it
    got = []
    with pytest.raises(OSError, match="unreadable part"):
        for v in prefetched(read, range(12), ahead=2):
            got.append(v)
    assert got == [0, 10, 20, 30, 40, 50]
    assert list(prefetched(read, [])) == []


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
