"""The plan's estimate and the time left: measured on the machine that runs, not a constant."""

from __future__ import annotations

import heapq

import pytest

from sim.experiment import estimate
from sim.experiment.estimate import Eta, plan_seconds
from sim.experiment.progress import Progress


def _schedule(bundles: list[float], workers: int) -> list[tuple[float, int]]:
    """(arrival time, bundle) of each bundle of the given seconds, taken in order by the first free
    worker, as a process pool does."""
    free = [0.0] * workers
    out = []
    for i, seconds in enumerate(bundles):
        start = heapq.heappop(free)
        heapq.heappush(free, start + seconds)
        out.append((start + seconds, i))
    return sorted(out)


@pytest.mark.parametrize("workers,bundle_tasks,costs", [
    (2, 15, [30.0] * 10),  # the main job: a replication's 15 scenarios to a bundle
    (2, 15, [27.0, 33.0, 30.0, 28.0, 32.0, 30.0, 27.0, 33.0, 31.0, 29.0]),  # replications +-10 %
    (4, 5, [10.0] * 24),
])
def test_the_time_left_after_a_tenth_of_the_tasks_is_within_a_quarter_of_the_truth(
        workers, bundle_tasks, costs):
    """Results arrive a bundle at a time; the first arrival after a tenth of the tasks must not read
    as a stall (the old rate, tasks done over time elapsed, put the main job's first line at 2x).
    Replications of the main job cost within about 10 % of each other; the first one seen is the
    estimate's only sample, so that spread is what the quarter has to hold."""
    total = bundle_tasks * len(costs)
    arrivals = _schedule(costs, workers)
    end = arrivals[-1][0]
    eta = Eta(total, workers)
    for t, i in arrivals:
        eta.add(bundle_tasks, costs[i])
        if eta.done >= total / 10:
            left = eta.left(t)
            assert abs(left / (end - t) - 1.0) <= 0.25, (t, left, end - t)
            break
    else:
        pytest.fail("no arrival after a tenth of the tasks")


def test_the_time_left_is_zero_at_the_end_and_unknown_before_any_task():
    """Nothing finished: no rate to go on (NaN); everything finished: nothing left."""
    eta = Eta(4, 2)
    assert eta.left(1.0) != eta.left(1.0)  # NaN: nothing finished
    eta.add(4, 8.0)
    assert eta.left(4.0) == 0.0


def test_the_plan_estimate_follows_the_machine_s_measured_speed_and_load(monkeypatch):
    """The same plan is priced twice as long where the probe runs twice as slow, and longer where
    other jobs hold the cores."""
    quick = plan_seconds(30e6, 2, probe=0.04, share=1.0)
    assert plan_seconds(30e6, 2, probe=0.08, share=1.0) == pytest.approx(2 * quick)
    assert plan_seconds(30e6, 1, probe=0.04, share=1.0) > quick  # fewer workers, longer
    assert plan_seconds(30e6, 2, probe=0.04, share=2.0) > 1.9 * quick
    assert estimate.contention(2, load=0.0, cpus=2) == 1.0  # a quiet machine, a worker per core
    assert estimate.contention(2, load=4.0, cpus=2) == pytest.approx(3.0)  # others' 4 jobs
    assert estimate.contention(1, load=0.0, cpus=4) == 1.0
    estimate._cache.clear()
    monkeypatch.setattr(estimate, "_probe_once", lambda: 0.08)
    monkeypatch.setattr(estimate, "others_running", lambda: 0.0)
    assert plan_seconds(30e6, 1) == pytest.approx(plan_seconds(30e6, 1, probe=0.08, share=1.0))
    estimate._cache.clear()


def test_the_probe_is_short_and_cached():
    """The probe is a fraction of a second, measured once per process and minute."""
    estimate._cache.clear()
    first = estimate.probe_seconds()
    assert 0.0 < first < 2.0
    assert estimate.probe_seconds() == first  # cached for the process's next plans
    estimate._cache.clear()


def test_progress_prints_one_line_per_arrival_with_the_time_left():
    """A bundle's results arrive together: one line for them, not one per task."""
    said = []
    with Progress(30, echo=said.append, every_seconds=0.0, workers=2) as bar:
        bar.update(1000, tasks=15, seconds=30.0)
        bar.update(1000, tasks=15, seconds=30.0)
    assert [line.split(" tasks")[0].strip() for line in said] == ["15/30", "30/30"]
    assert said[-1].endswith("~0 s left")


def test_the_machine_s_load_is_what_runs_now_not_the_minute_s_average(monkeypatch):
    """The 1-minute load average still counted a job that had just ended, so a quiet machine was
    priced as a busy one (a plan 1.87 times the run, right after other work): the processes
    running beside the plan now are counted instead, never this one; the load average only where
    the kernel's count is not there."""
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (7.0, 7.0, 7.0))
    monkeypatch.setattr(estimate, "_own_running", lambda: 1)
    monkeypatch.setattr(estimate, "_procs_running", lambda: 1)  # only this process
    assert estimate.others_running(gap=0.0) == 0.0
    assert estimate.contention(2, cpus=2) == 1.0
    monkeypatch.setattr(estimate, "_procs_running", lambda: 3)  # two others
    assert estimate.contention(2, cpus=2) == pytest.approx(2.0)
    monkeypatch.setattr(estimate, "_procs_running", lambda: None)  # no /proc/stat
    assert estimate.others_running() == 7.0


def test_this_process_s_own_busy_thread_is_not_another_job():
    """The CLI imports the report in a background thread while the plan is priced: read as another
    user's job, a thread of this process would stretch a quiet 2-core machine's plan by
    (2 + 1) / 2. A thread of this process spinning beside the asking one is this process's."""
    import threading

    stop = threading.Event()
    started = threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    started.wait()
    try:
        # with the GIL one of the two runs at a time; the kernel may show either as runnable
        seen = [estimate._own_running() for _ in range(50)]
    finally:
        stop.set()
        thread.join()
    assert min(seen) >= 1  # the asking thread at least
    assert max(seen) >= 2  # the spinning thread is seen as this process's


def test_the_compare_prices_the_machine_before_it_warms_the_report(monkeypatch):
    """The compare imports the report in a thread while the workers run; the plan's probe is taken
    (and cached) before that thread starts, so nothing of this process runs beside it."""
    import threading

    from sim.studies import compare

    seen = []

    class Recorder(threading.Thread):
        def start(self):
            seen.append(dict(estimate._cache))  # what the plan will read, as the thread starts

    estimate._cache.clear()
    monkeypatch.setattr(threading, "Thread", Recorder)
    compare.warm_report_imports()
    assert len(seen) == 1 and seen[0].get("seconds", 0.0) > 0.0
    estimate._cache.clear()
