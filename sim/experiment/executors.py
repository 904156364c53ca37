"""Executors: interchangeable ways to run tasks, behind one small interface.

``executor.run(fn, argsets)`` yields each task's result as it finishes (any order). Results do
not depend on the executor: every task carries its own seed address (see
:mod:`sim.model.streams`), so the in-process, process-pool and Dask executors give identical
numbers. Work is submitted in a bounded window, so a plan of a million tasks costs no more
memory than a plan of ten.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from ..errors import UsageError


class SerialExecutor:
    """Runs tasks one after another in this process (debugging, tiny runs, profiling)."""

    name = "serial"
    workers = 1

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        for args in argsets:
            yield fn(*args)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A local process pool: the default, one worker per core."""

    name = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        if self._pool is None:
            import multiprocessing as mp

            ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        window = 4 * self.workers
        pending = set()
        it = iter(argsets)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    args = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(self._pool.submit(fn, *args))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in list(getattr(self._pool, "_processes", {}).values()):
                p.terminate()
            self._pool = None


class DaskExecutor:
    """Dask distributed: a scheduler given by address, or a LocalCluster started here."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, connect_timeout: float = 10.0):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--executor dask needs the optional Dask extra: pip install -e '.[dask]' "
                             "(or pip install 'dask[distributed]'), then run again.") from None
        self._cluster = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout=connect_timeout)
            else:
                n = max(1, workers or os.cpu_count() or 1)
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
                self._client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler within "
                             f"{connect_timeout:g} s ({exc}). Start one with `dask scheduler` and workers "
                             "with `dask worker ADDRESS`, or drop --scheduler to start a local cluster.") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or (workers or 1))

    def run(self, fn: Callable, argsets: Iterable[tuple]) -> Iterator:
        from distributed import as_completed

        window = 4 * self.workers
        it = iter(argsets)
        ac = as_completed()
        for inflight, args in enumerate(it, start=1):
            ac.add(self._client.submit(fn, *args, pure=False))
            if inflight >= window:
                break
        for fut in ac:
            result = fut.result()
            fut.release()
            yield result
            nxt = next(it, None)
            if nxt is not None:
                ac.add(self._client.submit(fn, *nxt, pure=False))

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    abort = close


def make_executor(kind: str, workers: int | None = None, scheduler: str | None = None):
    if scheduler and kind != "dask":
        kind = "dask"
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise UsageError(f"--executor: expected serial, processes or dask, found {kind!r}.")
