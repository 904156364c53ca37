"""Executors: interchangeable ways to run tasks, behind one small interface.

``executor.run(fn, argsets)`` yields each task's result as it finishes (any order). Results do
not depend on the executor: every task carries its own seed address (see
:mod:`sim.model.streams`), so the in-process, process-pool and Dask executors give identical
numbers. Work is submitted in a bounded window, so a plan of a million tasks costs no more
memory than a plan of ten.

``executor.abort()`` stops at once (Ctrl-C, SIGTERM): queued work is cancelled and process-pool
workers are terminated. Pool workers ignore SIGINT, so a Ctrl-C that reaches the whole process
group is handled once, by the parent, without a traceback from every worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..errors import Interrupted, UsageError
from . import interrupts, lifeline


class ExecutorLost(Interrupted):
    """The executor itself died (a worker process killed by the OS, a lost cluster): exit code 130.

    Finished tasks are on disk; the runner marks the experiment interrupted and says how to
    resume it. Not a task failure: nothing about the task says it would fail again.
    """


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT while starting processes that should inherit ``SIG_IGN`` (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _preload() -> None:
    import sim.experiment.task  # noqa: F401


def _start_worker(main_pid: int) -> None:
    """Pool initializer: Ctrl-C (SIGINT to the whole process group) is the parent's business, and
    the worker ends when the run's main process dies (:mod:`sim.experiment.lifeline`).

    The parent catches Ctrl-C, records the experiment as interrupted and terminates the workers;
    without ignoring it, every worker would also print a KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lifeline.watch(main_pid)


class SerialExecutor:
    """Runs tasks one after another in this process (debugging, tiny runs, profiling)."""

    name = "serial"
    workers = 1

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        """Each task's result, in order."""
        for args in argsets:
            yield fn(*args)

    def close(self) -> None:
        """Let go of what the tasks kept in this process for the next one: the model's cohorts,
        walks and economies (:mod:`sim.model.reuse`; a pool worker's die with it). Here they would
        stay beside the tables and the report the study writes next (a serial run of four
        replications at the shipped scale peaks 66 MB lower)."""
        from ..model import reuse

        reuse.clear()

    abort = close


class ProcessExecutor:
    """A local process pool: the default, one worker per core."""

    name = "processes"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        """``start_method`` "fork" forks the workers from the caller, so they never import its
        ``__main__`` (a script or notebook without an ``if __name__ == "__main__":`` guard works);
        by default they fork from a server that has imported the model (fast, and safe with
        threads)."""
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing as mp

        if self.start_method in mp.get_all_start_methods():
            ctx = mp.get_context(self.start_method)
        elif "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            # workers fork from a server that has already imported the model (fast start-up)
            ctx.set_forkserver_preload(["sim.experiment.task"])
        else:
            ctx = mp.get_context("spawn")
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                   initializer=_start_worker, initargs=(os.getpid(),))

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        """Each task's result as it finishes, a bounded window of tasks in flight."""
        if self._pool is None:
            self._pool = self._start()
        window = 4 * self.workers
        pending = set()
        it = iter(argsets)
        exhausted = False
        while True:
            # see sim.experiment.interrupts: never raise inside the pool's locks
            with interrupts.deferred():
                while not exhausted and len(pending) < window:
                    try:
                        args = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(self._pool.submit(fn, *args))
                if not pending:
                    return
                done, pending = wait(
                    pending, timeout=interrupts.POLL_SECONDS, return_when=FIRST_COMPLETED
                )
            # before the results: a SIGTERM to the whole group also kills the workers
            interrupts.check()
            for fut in done:
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise ExecutorLost(
                        "a worker process died abruptly (killed by the operating system, perhaps "
                        "out of memory), which stops the process pool.") from None
                yield result

    def close(self) -> None:
        """Wait for the workers to finish what they hold, then let them go."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        """Stop now: cancel queued tasks and terminate the workers (running tasks are lost)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # shutdown() forgets the worker processes, so take them first
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()


DONE = ("finished", "error", "cancelled")
"""Statuses of a Dask future whose result can be taken without waiting."""

QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,  # a sampler for the dashboard, which is off
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}
"""Settings for a LocalCluster's workers: the tasks are CPU-bound Python, and the worker's own
background sampling (every 10-100 ms by default) measurably slows them (about 12 % per task)."""


def _quiet_distributed_logs() -> None:
    """Silence Dask's own log lines in this process (the client, its comms and batched sends each
    print a traceback when the scheduler goes away): they are not for a planner, and what matters
    reaches them as one paragraph through ExecutorLost and notify. Loggers Dask configured by name
    keep their own level, so each existing one is set, and the parent for those made later."""
    import logging

    names = [
        name for name in logging.root.manager.loggerDict if name.split(".")[0] == "distributed"
    ]
    for name in ["distributed", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


class DaskExecutor:
    """Dask distributed: a scheduler given by address, or a LocalCluster started here."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 connect_timeout: float = 5.0, say_after: float = 2.0):
        """Connect to ``scheduler`` (or start a LocalCluster of ``workers``) and import the model on
        every worker. With ``scheduler``, wait for a worker to join it: after ``say_after`` seconds
        without one, say so (then every :attr:`_ClusterWatch.REPEAT` s) and keep waiting; Ctrl-C
        stops it (:class:`Interrupted`, exit 130)."""
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--executor dask needs the optional Dask extra: pip install -e "
                             "'.[dask]' (or pip install 'dask[distributed]'), then run "
                             "again.") from None
        _quiet_distributed_logs()
        self._cluster = None
        self._client = None
        self.address = scheduler or "a local cluster"
        self.notify: Callable[[str], None] = _stderr
        if scheduler:
            try:
                _probe_scheduler(scheduler, connect_timeout)
                self._client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise UsageError(
                    f"--scheduler {scheduler}: cannot reach the Dask scheduler within "
                    f"{connect_timeout:g} s ({exc}). Start one with `dask scheduler` and workers "
                    "with `dask worker ADDRESS`, give its address as tcp://HOST:PORT, or drop "
                    "--scheduler to start a local cluster."
                ) from None
            try:
                # Ctrl-C and SIGTERM stop the wait whatever this process inherited: a run started
                # from a script's background job (`run_sim.py ... &`) has SIGINT ignored, and
                # Python then raises no KeyboardInterrupt (the experiment's own block does the same)
                with interrupts.signals_as_interrupt():
                    _wait_for_a_worker(self._client, scheduler, self.notify, say_after)
            except KeyboardInterrupt:
                self.close()
                raise Interrupted(f"Interrupted while waiting for a Dask worker to join the "
                                  f"scheduler ({scheduler}); nothing ran and nothing was "
                                  "written.") from None
            except BaseException:
                self.close()
                raise
        else:
            n = max(1, workers or os.cpu_count() or 1)
            try:
                # workers started while SIGINT is ignored inherit that: Ctrl-C is the parent's
                # business
                # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 so that long-lived workers
                # give
                # memory back; it makes every large numpy allocation a fresh mmap, and a replication
                # 10-15 % slower. These workers live for one experiment, so glibc's default stays.
                environ = {
                    k: v
                    for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
                    if k != "MALLOC_TRIM_THRESHOLD_"
                }
                with (
                    _sigint_ignored(),
                    dask.config.set(
                        {**QUIET_WORKERS, "distributed.nanny.pre-spawn-environ": environ}
                    ),
                ):
                    self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                 dashboard_address=None, silence_logs=40)
                self._client = Client(self._cluster)
            except (OSError, TimeoutError) as exc:
                self.close()
                raise UsageError("--executor dask: cannot start a local Dask cluster "
                                 f"({exc}).") from None
        # one task per worker thread (each thread of a `dask worker --nthreads N` runs one task)
        self.workers = max(1, sum(self._client.nthreads().values()) or (workers or 1))
        # import the model on every worker now, as the process pool's forkserver does: the first
        # tasks then start at once, and a worker that cannot import valleysim is named here
        try:
            self._client.run(_preload)
        except ImportError as exc:
            self.close()
            raise UsageError(f"--executor dask: a Dask worker cannot import valleysim ({exc}). "
                             "Install it in the workers' environment (pip install -e .) and start "
                             "them again.") from None

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        """Each task's result as it finishes; a lost worker's tasks run elsewhere, and the watch
        says when the cluster has no worker."""
        from distributed import as_completed

        window = 4 * self.workers
        it = iter(argsets)
        ac = as_completed()
        task_of = {}

        def submit(args) -> None:
            fut = self._client.submit(fn, *args, pure=False)
            task_of[fut.key] = args
            ac.add(fut)

        watch = _ClusterWatch(self._client, self.address, self.notify)
        lost = []  # futures reported done whose worker died under them: they run again elsewhere

        def finished():
            """The next finished futures, waiting so that a signal is taken at a safe point, and
            saying so when the cluster has no worker left or the scheduler is gone."""
            with interrupts.deferred():
                while True:
                    back = [f for f in lost if f.status in DONE]
                    if back or ac.has_ready() or interrupts.pending():
                        break
                    watch.check()
                    time.sleep(0.02)
            interrupts.check()
            for f in back:
                lost.remove(f)
            return back + ac.next_batch(block=False)

        def result_of(fut):
            """The future's result, waiting in short steps: a finished task whose result lived on a
            worker that died runs again, and meanwhile the watch and Ctrl-C must still be heard."""

            while True:
                try:
                    result = fut.result(timeout=0.5)
                except TimeoutError:
                    interrupts.check()
                    watch.check()
                    continue
                watch.progressed()
                return result

        with interrupts.deferred():
            for inflight, args in enumerate(it, start=1):
                submit(args)
                if inflight >= window:
                    break
        interrupts.check()
        while not ac.is_empty() or lost:
            for fut in finished():
                if fut.status not in DONE:
                    # its worker died: wait for the rerun without blocking (and keep watching)
                    lost.append(fut)
                    continue
                args = task_of.pop(fut.key)
                try:
                    result = result_of(fut)
                except CancelledError:
                    raise ExecutorLost(f"the connection to the Dask scheduler ({self.address}) was "
                                       "lost and it cancelled the work in flight; was the "
                                       "scheduler stopped?") from None
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task's worker kept dying
                    result = _lost_task(args, exc)
                fut.release()
                yield result
                nxt = next(it, None)
                if nxt is not None:
                    submit(nxt)

    def close(self) -> None:
        """Close the client and the cluster valleysim started."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None

    abort = close


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


class _ClusterWatch:
    """Watches a Dask client while it waits for results.

    With no worker left, it says so within seconds, then every :attr:`REPEAT` seconds, and keeps
    waiting: a worker that joins (``dask worker ADDRESS``) takes the work up, and Ctrl-C stops the
    run as interrupted, resumable. A scheduler that is gone (the connection closed, or not back
    within :attr:`RECONNECT` seconds) raises :class:`ExecutorLost`: the run is interrupted, exit
    130.
    """

    EVERY = 1.0
    REPEAT = 30.0
    RECONNECT = 10.0

    def __init__(self, client, address: str, notify: Callable[[str], None]):
        self.client, self.address, self.notify = client, address, notify
        self.next_check = time.monotonic() + self.EVERY
        self.since_empty: float | None = None
        self.said: float | None = None
        self.since_disconnected: float | None = None

    def progressed(self) -> None:
        """A result arrived: if the run had said it was waiting for a worker, say it goes on."""
        if self.said is not None:
            self.notify("dask: a worker is connected again; continuing.")
            self.since_empty = self.said = None

    def check(self) -> None:
        t = time.monotonic()
        if t < self.next_check:
            return
        self.next_check = t + self.EVERY
        status = getattr(self.client, "status", "running")
        if status in ("closed", "closing", "failed"):
            raise ExecutorLost(f"the connection to the Dask scheduler ({self.address}) was closed; "
                               "was the scheduler stopped?")
        if status != "running":
            self.since_disconnected = self.since_disconnected or t
            if t - self.since_disconnected > self.RECONNECT:
                raise ExecutorLost(f"the Dask scheduler ({self.address}) stopped answering and did "
                                   f"not come back within {self.RECONNECT:g} s; was it stopped?")
            return
        self.since_disconnected = None
        try:
            workers = len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # noqa: BLE001 - an answer we cannot read is no news
            return
        if workers:
            self.progressed()
            return
        self.since_empty = self.since_empty or t
        if self.said is None or t - self.said >= self.REPEAT:
            self.said = t
            waited = (
                f" (still none after {t - self.since_empty:.0f} s)" if t > self.since_empty else ""
            )
            self.notify(f"dask: no worker is connected to the scheduler ({self.address}){waited}; "
                        f"waiting for one to join (start one with: dask worker {self.address}). "
                        "Ctrl-C stops the run; finished tasks are safe and `python run_sim.py "
                        "resume DIR` continues it.")


def _wait_for_a_worker(
    client, address: str, notify: Callable[[str], None], say_after: float
) -> None:
    """Return once a worker has joined the scheduler at ``address``. Without one after
    ``say_after`` seconds, say so and how to start one, again every :attr:`_ClusterWatch.REPEAT`
    seconds, and keep waiting (the run starts when a worker joins); a scheduler that goes away is
    :class:`ExecutorLost`."""
    started = time.monotonic()
    said: float | None = None
    while True:
        try:
            client.wait_for_workers(1, timeout=0.5)
        except (OSError, TimeoutError):
            pass
        else:
            if said is not None:
                notify("dask: a worker joined; starting.")
            return
        if getattr(client, "status", "running") in ("closed", "closing", "failed"):
            raise ExecutorLost(f"the connection to the Dask scheduler ({address}) was closed while "
                               "waiting for a worker; was the scheduler stopped? Nothing ran and "
                               "nothing was written.")
        t = time.monotonic()
        if t - started >= say_after and (said is None or t - said >= _ClusterWatch.REPEAT):
            said = t
            notify(f"dask: no worker is connected to the scheduler ({address}) after "
                   f"{t - started:.0f} s; waiting for one to join (start one with: dask worker "
                   f"{address}). Ctrl-C stops; nothing has run yet.")


def _probe_scheduler(address: str, timeout: float) -> None:
    """Connect to ``address`` and finish Dask's handshake within ``timeout`` seconds, or raise.

    ``Client(address, timeout=...)`` bounds the TCP connection but not the handshake after it,
    so an address where something listens but never answers (a wrong port, a stalled host)
    made it wait forever. The probe runs on its own event loop in a daemon thread, so it can
    never hang the caller.
    """
    import asyncio
    import threading

    from distributed.comm import connect
    from distributed.security import Security

    outcome: list[BaseException | None] = []

    async def handshake() -> None:
        # a second more than connect's own bound, so its message wins when nothing listens
        comm = await asyncio.wait_for(
            connect(address, timeout=timeout, **Security().get_connection_args("client")),
            timeout + 1.0,
        )
        await comm.close()

    def probe() -> None:
        try:
            asyncio.run(handshake())
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append(exc)

    thread = threading.Thread(target=probe, name="valleysim-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    error = outcome[0] if outcome else TimeoutError()
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)) and not str(error):
        raise TimeoutError("something listens there but did not answer as a Dask scheduler; is it "
                           "the scheduler's address (port 8786 by default), not its dashboard's?")
    if error is not None:
        raise error


def _lost_task(args: tuple, exc: BaseException) -> dict | list[dict]:
    """A task whose run raised outside run_task (the worker died under it): a task failure; for a
    bundle of tasks (:func:`sim.experiment.task.run_tasks`), one failure per task."""
    if len(args) == 1 and isinstance(args[0], list):
        return [_lost_task(a, exc) for a in args[0]]
    task = next((a for a in args if hasattr(a, "replication") and hasattr(a, "scenario")), None)
    return {"task": task, "error": f"{type(exc).__name__}: {exc}",
            "traceback": f"{type(exc).__name__}: {exc} (raised by the executor, not by the "
                         "model)\n",
            "seconds": 0.0}


def make_executor(kind: str, workers: int | None = None, scheduler: str | None = None):
    """The executor ``kind`` asks for (a ``scheduler`` address means Dask)."""
    if scheduler and kind != "dask":
        kind = "dask"
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise UsageError(f"--executor: expected serial, processes or dask, found {kind!r}.")
