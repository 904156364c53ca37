"""Progress: a tqdm bar with throughput and ETA on a terminal, plain periodic lines otherwise.

Plain lines (logs, CI, ``nohup``) come after the first finished task (or bundle of tasks), then
every 10 seconds, then at the end; the time left is :class:`~sim.experiment.estimate.Eta`'s (the
finished tasks' own seconds on this machine, the workers' progress on the tasks they hold);
``VALLEYSIM_PROGRESS_SECONDS`` changes the interval (0: a line per arrival).
"""

from __future__ import annotations

import os
import sys
import time

from .estimate import Eta

PROGRESS_ENV = "VALLEYSIM_PROGRESS_SECONDS"


def plan_line(tasks: int, done: int, startups: float, workers: int, executor: str, seconds: float,
              width: int | None = None) -> str:
    """The line that opens a batch: what will run, where, and roughly how long it takes; wrapped to
    the terminal's width (``width``), so it never runs past its edge."""
    from ..terminal import count, fit

    return fit(f"plan: {tasks} tasks ({done} already done), ~{count(startups)} start-ups to "
               f"simulate, {workers} worker(s) [{executor}], ~{seconds:,.0f} s", width)


def _interval(default: float) -> float:
    try:
        return max(0.0, float(os.environ[PROGRESS_ENV]))
    except (KeyError, ValueError):
        return default


class Progress:
    """Counts finished tasks (and the start-ups they simulated)."""

    def __init__(
        self, total: int, *, enabled: bool = True, echo=print, every_seconds: float | None = None,
        workers: int = 1,
    ):
        """A counter of ``total`` tasks run by ``workers`` workers, reporting through ``echo``
        unless disabled."""
        self.total = total
        self.eta = Eta(total, workers)
        self.enabled = enabled and total > 0
        self.echo = echo
        self.every = _interval(10.0) if every_seconds is None else every_seconds
        self.done = 0
        self.startups = 0
        self._bar = None
        self._t0 = time.perf_counter()
        self._last = self._t0

    def __enter__(self) -> Progress:
        """Start the bar (on a terminal)."""
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, unit="task", dynamic_ncols=True, file=sys.stderr, smoothing=0.1,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
            )
        return self

    def update(self, startups: int = 0, *, tasks: int = 1, seconds: float = 0.0) -> None:
        """``tasks`` more tasks finished (a worker's bundle arrives at once), which simulated
        ``startups`` start-ups in ``seconds`` of worker time."""
        self.done += tasks
        self.startups += startups
        self.eta.add(tasks, seconds)
        elapsed = time.perf_counter() - self._t0
        rate = self.startups / elapsed if elapsed > 0 else 0.0
        if self._bar is not None:
            left = self.eta.left(elapsed)
            self._bar.set_postfix_str(f"{rate:,.0f} start-ups/s, ~{left:,.0f} s left",
                                      refresh=False)
            self._bar.update(tasks)
        elif self.enabled and (self.done == tasks or self.done == self.total
                               or time.perf_counter() - self._last >= self.every):
            self._last = time.perf_counter()
            left = self.eta.left(elapsed)
            self.echo(f"  {self.done}/{self.total} tasks, {elapsed:,.0f} s elapsed, "
                      f"{rate:,.0f} start-ups/s, ~{left:,.0f} s left")

    def __exit__(self, *exc) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
