"""One results folder's life, the same for every study: locked, running, then complete, failed or
interrupted, and the one loop that runs a study's tasks and journals each result as it arrives.

A study opens its folder with :meth:`StudyFolder.create` (a new folder), :meth:`StudyFolder.reopen`
(``resume``) or :meth:`StudyFolder.hold` (``report`` and ``discover`` on a finished folder) and
works inside ``with folder:``. For as long as the block runs:

- **the folder is locked** (:class:`~sim.experiment.folder.FolderLock`): nobody else writes it, not
  even ``--force``, from the first file to the last page of its report;
- **Ctrl-C and SIGTERM** are taken at safe points (:mod:`sim.experiment.interrupts`): the workers
  stop, the manifest says ``interrupted`` and :class:`~sim.errors.Interrupted` (exit 130) says how
  to resume; a lost executor (:class:`~sim.experiment.executors.ExecutorLost`) is an interruption
  too;
- **an error found after the folder exists** (bad input only a simulation reveals, a disk that
  fills up, a bug) marks the manifest ``failed`` with the error, so the folder never looks running
  or complete when it is neither, and the error goes on to the caller (the CLI maps it to its exit
  code).

The study records its own end with :meth:`StudyFolder.finish` (``complete``, or ``failed`` when
some tasks failed); whatever it does after that (a comparison's report) still happens under the
lock, and an interruption then leaves the finished data as they are. :meth:`StudyFolder.run_tasks`
is the one task loop: every study's simulations go through it, to whatever executor the folder was
opened with.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import Interrupted, ScenarioError, UsageError, ValleysimError
from ..files import now
from . import interrupts
from .executors import ExecutorLost
from .folder import writer_info
from .progress import Progress
from .store import ResultsStore
from .task import run_tasks

FINAL = ("complete", "failed")
"""Statuses a study ends with (:meth:`StudyFolder.finish`)."""


def resume_command(root: Path) -> str:
    """The command that continues the study in ``root``."""
    return f"python run_sim.py resume {shlex.quote(str(root))}"


class StudyFolder:
    """A results folder a study is writing (see the module docstring). Use it in a ``with`` block
    straight after opening it: the lock and the executor are released when the block ends."""

    def __init__(self, store: ResultsStore, executor, *, mode: str, kept: str = "",
                 progress: bool = True, echo: Callable[[str], None] = print):
        """Use :meth:`create`, :meth:`reopen` or :meth:`hold`."""
        self.mode = mode
        self.store = store
        self.root = store.root
        self.executor = executor
        self.live = mode == "create"
        """Whether this process set the folder ``running`` (only then does it mark how it ends)."""
        self.status: str | None = None
        self.kept = kept
        self.progress = progress
        self.echo = echo
        self._stack = contextlib.ExitStack()
        if executor is not None and hasattr(executor, "notify"):
            # the executor's own news (a cluster without workers) goes here too
            executor.notify = echo

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: Path,
        manifest: dict,
        *,
        executor,
        force: bool = False,
        parts: bool = True,
        kept: str = "Finished tasks are safe",
        progress: bool = True,
        echo: Callable[[str], None] = print,
    ) -> StudyFolder:
        """A new results folder holding ``manifest`` (status ``running``), locked for this process.

        An existing folder is replaced only with ``force`` and only as
        :meth:`ResultsStore.create <sim.experiment.store.ResultsStore.create>` allows. If the folder
        cannot be made, the executor is closed and nothing is left locked.
        """
        try:
            store = ResultsStore.create(
                root, {**manifest, "status": "running"}, force=force, parts=parts
            )
        except BaseException:
            _close(executor)
            raise
        return cls(store, executor, mode="create", kept=kept, progress=progress, echo=echo)

    @classmethod
    def reopen(cls, root: Path, *, executor, kept: str = "Finished tasks are "
                                                         "safe", progress: bool = True,
               echo: Callable[[str], None] = print) -> StudyFolder:
        """An existing folder, locked to be continued; :meth:`begin` sets it running again once the
        study has checked it can be continued (until then an error changes nothing in it)."""
        try:
            store = ResultsStore.open(root, write=True)
        except BaseException:
            _close(executor)
            raise
        return cls(store, executor, mode="reopen", kept=kept, progress=progress, echo=echo)

    @classmethod
    def hold(cls, root: Path) -> StudyFolder:
        """A finished folder, locked while its pages are rewritten (``report``, ``discover``): its
        status never changes."""
        return cls(ResultsStore.open(root, write=True), None, mode="hold")

    # -- the manifest -----------------------------------------------------------------------------
    def manifest(self) -> dict:
        """The folder's manifest as it is on disk."""
        return self.store.read_manifest()

    def update(self, **changes) -> dict:
        """Record ``changes`` in the manifest."""
        return self.store.update_manifest(**changes)

    def begin(self, **changes) -> None:
        """Set a reopened folder running again (``resumed`` now, this process its writer)."""
        self.store.update_manifest(
            status="running", resumed=now(), ended=None, writer=writer_info(), **changes
        )
        self.live = True

    def finish(
        self, status: str = "complete", *, cleanup: Callable[[], None] | None = None, **facts
    ) -> None:
        """Record how the study ended (``complete``, or ``failed`` when some tasks failed): the last
        word on its data, written after every output is in place.

        ``cleanup`` (deleting the task parts) runs after the status is written and still counts as
        part of the run: interrupted there, the folder says ``interrupted`` and ``resume`` finishes
        it from what is left. Once it is done, the data are final; an interruption later (while a
        report is written) leaves them as they are."""
        if status not in FINAL:
            raise ValueError(f"a study ends complete or failed, not {status!r}")
        self.store.update_manifest(status=status, ended=now(), **facts)
        if cleanup is not None:
            cleanup()
        self.status = status

    # -- the one task loop
    # --------------------------------------------------------------------------
    def run_tasks(
        self, bundles: Iterable[list[tuple]], record: Callable[[dict], None], *, total: int
    ) -> None:
        """Run every bundle of task arguments (:func:`sim.experiment.task.run_task`'s, run one after
        another in a worker by :func:`~sim.experiment.task.run_tasks`) through the executor, and
        hand each task's result to ``record`` as soon as it arrives: ``record`` journals it (a part
        file, a journal line, a failure) before the next one is taken, so an interruption loses
        nothing that finished. ``total`` tasks are counted by the progress bar."""
        workers = getattr(self.executor, "workers", 1) or 1
        with Progress(total, enabled=self.progress, echo=self.echo, workers=workers) as bar:
            for results in self.executor.run(run_tasks, ((b,) for b in bundles)):
                for result in results:
                    record(result)
                bar.update(sum(r.get("startups_count", 0) for r in results), tasks=len(results),
                           seconds=sum(r.get("seconds", 0.0) for r in results))
        interrupts.check()  # a Ctrl-C noted while the executor waited

    def close_executor(self) -> None:
        """Let the workers go (the simulations are over; the study still writes its outputs)."""
        _close(self.executor)

    # -- the block
    # ------------------------------------------------------------------------------------
    def __enter__(self) -> StudyFolder:
        """Take SIGINT and SIGTERM as resumable interruptions for the block."""
        self._stack.enter_context(interrupts.signals_as_interrupt())
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        """Record how the block ended (see the module docstring), then release the lock and the
        executor."""
        try:
            if exc is None:
                return False
            if isinstance(exc, (KeyboardInterrupt, Interrupted)):
                _abort(self.executor)
                raise self._interrupted(exc) from None
            if isinstance(exc, Exception):
                _abort(self.executor)
                late = self._failed(exc)
                if late is not None:
                    raise late from None
            return False
        finally:
            self._stack.close()
            _close(self.executor)
            self.store.release()

    def _interrupted(self, exc: BaseException) -> Interrupted:
        resume = resume_command(self.root)
        # the data was final: only what came after it (the report) is missing
        if self.status is not None:
            return Interrupted(f"Interrupted. The results in {self.root} are {self.status}; only "
                               f"the pages were not written. Write them with: {resume}")
        if not self.live:
            pages = (
                ", but its pages may be half-written; write them again with: python run_sim.py "
                f"report {shlex.quote(str(self.root))}"
                if self.mode == "hold"
                else ""
            )
            return Interrupted(f"Interrupted. Nothing changed in {self.root}{pages}.")
        with contextlib.suppress(ValleysimError, OSError):
            self.store.update_manifest(status="interrupted", ended=now())
        lost = exc.message + " " if isinstance(exc, ExecutorLost) else ""
        cls = ExecutorLost if isinstance(exc, ExecutorLost) else Interrupted
        return cls(f"{lost or 'Interrupted. '}{self.kept} in {self.root}; continue with: {resume}")

    def _failed(self, exc: Exception) -> ValleysimError | None:
        """Mark a running folder failed with the error that stopped it (best effort: a full disk may
        refuse even that, and then the folder stays ``running``, which resume also continues).

        Bad input found only now (a :class:`~sim.errors.ScenarioError` or
        :class:`~sim.errors.UsageError`) comes back as the same error saying what became of the
        folder, to be raised in its place."""
        if not self.live or self.status is not None:
            return None
        message = exc.message if isinstance(exc, ValleysimError) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(ValleysimError, OSError):
            self.store.update_manifest(status="failed", ended=now(), error=message)
        if isinstance(exc, (ScenarioError, UsageError)):
            return type(exc)(f"{message} {self.root} is marked failed (nothing in it counts as "
                             "done): give another --out, or --force to replace it.", path=exc.path)
        return None


def _close(executor) -> None:
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.close()


def _abort(executor) -> None:
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.abort()
