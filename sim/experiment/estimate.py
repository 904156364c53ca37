"""How long a plan takes, estimated on the machine that runs it.

Before the tasks start, :func:`plan_seconds` prices the plan's simulated start-up lifecycles at
this machine's speed: a short calibration probe (:func:`probe_seconds`: a fixed mix of numpy
passes over a few hundred thousand values and a pure-Python loop of float arithmetic, the two
kinds of work a replication does, about 0.1 s of CPU) gives one core's speed, and the cost of a
lifecycle is a constant number of probes (``benchmarks/bench.py`` measures both on one machine and
prints their quotient, :data:`LIFECYCLE_COST_IN_PROBES`). On a shared machine the workers get a
share of the cores: the processes running beside the plan say how much (:func:`contention`).
(Workers on another machine, a Dask scheduler elsewhere, are priced at this machine's speed: a
rough figure there.)

Once tasks finish, :class:`Eta` stops relying on the reference: the remaining time follows from the
worker-seconds the finished tasks took here (each task reports its own), less what the workers
have already done on the tasks they hold, shared by the workers.
"""

from __future__ import annotations

import os
import time

import numpy as np

LIFECYCLE_COST_IN_PROBES = 9.1e-5
"""A worker's seconds per simulated start-up lifecycle of the main job, in calibration probes: the
task seconds of a whole default compare per lifecycle over the probe a fresh process measures just
before it, so a worker's start and the parent's share of the cores are in (bench.py's
``lifecycle_cost_in_probes``: 8.7e-5, 8.8e-5 and 9.8e-5 in three runs on 2026-12-02,
docs/performance.md; the 1.3e-4 before divided by a probe measured after work, on a core that had
just been busy, a fifth faster than the plan's)."""

START_IN_PROBES = 60.0
"""Starting the workers (forkserver, importing the model) and consolidating the results after the
tasks, in calibration probes (about 1.5 s where the probe takes 0.025 s)."""

REFERENCE_PROBE_SECONDS = 0.025
"""The probe's CPU seconds on the development machine (for :func:`machine_factor`, read only)."""

_PROBE_VALUES = 200_000
_PROBE_LOOP = 100_000
_cache: dict[str, float] = {}
_CACHE_SECONDS = 60.0


def _probe_once() -> float:
    rng = np.random.default_rng(12345)
    a = rng.random(_PROBE_VALUES)
    b = rng.random(_PROBE_VALUES)
    t = time.thread_time()  # this thread only: the CLI imports the report in the background
    for _ in range(10):  # the walk's kind of work: masks, divisions, gathers over the population
        d = np.where(b > 0.1, a / b, np.inf)
        first = d < a
        c = np.where(first, d, a) * 1.0001
        idx = np.flatnonzero(first)
        a = a.copy()
        a[idx] = c[idx] % 1.0
    np.argsort(a[: _PROBE_VALUES // 4], kind="stable")
    x, y, z = 0.5, 1.25, 0.0
    vals = np.resize(a, _PROBE_LOOP).tolist()
    for v in vals:  # a supported start-up's kind of work: float arithmetic and branches
        dt = x / y if y > 0.0 else np.inf
        if v < dt:
            dt = v
        z += dt * 0.5
        if z > 10.0:
            z -= 10.0
    return time.thread_time() - t


def probe_seconds(repeats: int = 3) -> float:
    """The calibration probe's CPU seconds on this machine now, the best of ``repeats`` after one to
    warm up (a fresh process's first pass pays for its memory), cached for a minute per process: how
    fast one core computes; what else runs is :func:`contention`'s."""
    now = time.monotonic()
    if _cache and now - _cache["at"] < _CACHE_SECONDS:
        return _cache["seconds"]
    _probe_once()
    seconds = min(_probe_once() for _ in range(repeats))
    _cache.update(at=now, seconds=seconds)
    return seconds


def machine_factor() -> float:
    """How much slower than the development machine one core of this one computes now."""
    return probe_seconds() / REFERENCE_PROBE_SECONDS


def _procs_running() -> int | None:
    """The kernel's count of runnable processes now (``procs_running`` in /proc/stat), or None
    where there is no such file."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            line = next((x for x in f if x.startswith("procs_running")), None)
    except OSError:
        return None
    return int(line.split()[1]) if line else None


def _own_running() -> int:
    """How many of this process's threads are runnable now (state R in /proc/self/task), at least
    one: the thread asking. The CLI imports the report in a background thread while the plan is
    priced, and the kernel's count would read that thread as another user's job."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    running = 0
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:  # the thread ended while we looked
            continue
        # the command name in parentheses may hold spaces: the state follows its closing one
        if stat[stat.rfind(")") + 2: stat.rfind(")") + 3] == "R":
            running += 1
    return max(1, running)


def others_running(samples: int = 5, gap: float = 0.01) -> float:
    """How many processes other than this one are runnable now: the median of a few readings of
    the kernel's count of running threads, less this process's own runnable threads (the asking
    thread and any other of its own, a BLAS or report-importing thread, which would otherwise
    count as another user's job and stretch the plan).

    The 1-minute load average is not used where the count is there: it decays over minutes, so
    right after another job (a planner's previous compare, the bench's previous figure) it counts
    work that has ended and prices a quiet machine as a busy one (a plan 1.87 times the run on a
    quiet machine). Elsewhere the load average it is."""
    readings = []
    for i in range(samples):
        n = _procs_running()
        if n is None:
            try:
                return os.getloadavg()[0]
            except OSError:  # no load average on this system either
                return 0.0
        readings.append(max(0, n - _own_running()))
        if i + 1 < samples:
            time.sleep(gap)
    return float(np.median(readings))


def contention(workers: int, load: float | None = None, cpus: int | None = None) -> float:
    """How much longer than its CPU time a worker's wall time runs when ``workers`` workers share
    ``cpus`` cores with ``load`` other runnable processes (default :func:`others_running`: other
    users' jobs on a shared machine); 1 on a quiet machine with a worker per core."""
    if load is None:
        load = others_running()
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1.0, (load + workers) / max(1, cpus or 1))


def plan_seconds(lifecycles: float, workers: int, *, probe: float | None = None,
                 share: float | None = None) -> float:
    """Estimated wall seconds of a plan of ``lifecycles`` simulated start-up lifecycles on
    ``workers`` local workers: the CPU cost of a lifecycle in probes times this machine's probe
    (``probe``, default :func:`probe_seconds`), stretched by the machine's :func:`contention`
    (``share``), plus starting and consolidating."""
    p = probe_seconds() if probe is None else probe
    c = contention(workers) if share is None else share
    per_worker = LIFECYCLE_COST_IN_PROBES * lifecycles / max(1, workers)
    return p * (START_IN_PROBES + per_worker * c)


class Eta:
    """The remaining time of ``total`` tasks on ``workers`` workers, from the tasks finished so far.

    The finished tasks' own seconds give the mean cost of a task on this machine now; the workers
    have been busy for ``elapsed`` seconds each, so what they spent beyond the finished tasks'
    seconds is progress on the tasks they hold. Results arriving a bundle at a time (a worker runs a
    replication's tasks together) therefore do not read as a stall followed by a burst.
    """

    def __init__(self, total: int, workers: int):
        """Nothing finished yet of ``total`` tasks on ``workers`` workers."""
        self.total = total
        self.workers = max(1, workers)
        self.done = 0
        self.seconds = 0.0

    def add(self, tasks: int, seconds: float) -> None:
        """``tasks`` more finished, which took ``seconds`` of worker time together."""
        self.done += tasks
        self.seconds += seconds

    def left(self, elapsed: float) -> float:
        """Seconds left, ``elapsed`` seconds after the tasks started."""
        if self.done <= 0:
            return float("nan")
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        per_task = self.seconds / self.done
        in_flight = max(0.0, self.workers * elapsed - self.seconds)
        return max(0.0, per_task * remaining - in_flight) / min(self.workers, remaining)
