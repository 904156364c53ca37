"""Commands on an existing results folder: ``resume`` and ``report``.

Each kind of folder (its manifest's ``kind``) has one way to be resumed and one way to be
reported, listed in :data:`KINDS`; both commands dispatch on it.
"""

from __future__ import annotations

from pathlib import Path

import click

from .calibrate import report_posterior, resume_posterior
from .common import executor_options, quiet_option, with_options
from .runs import report_run, resume_run
from .sweeps import report_optimize, report_sweep, resume_optimize, resume_sweep

KINDS = {
    "run": (resume_run, report_run),
    "compare": (resume_run, report_run),
    "sweep": (resume_sweep, report_sweep),
    "optimize": (resume_optimize, report_optimize),
    "posterior": (resume_posterior, report_posterior),
}
"""Manifest kind -> (resume handler, report handler)."""


def _manifest(root) -> dict:
    from ..experiment.store import ResultsStore

    return ResultsStore.open(root).read_manifest()


def resume_folder(root, workers, executor, scheduler, quiet):
    """Resume whatever kind of experiment ``root`` holds."""
    m = _manifest(root)
    resume, _ = KINDS.get(m.get("kind"), KINDS["run"])
    return resume(root, m, workers, executor, scheduler, quiet)


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@with_options(executor_options())
@quiet_option()
def resume(root, workers, executor, scheduler, quiet):
    """Continue an interrupted experiment: run only its missing tasks, then finish it."""
    resume_folder(root, workers, executor, scheduler, quiet)


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--practical", "practical_pp", type=click.FloatRange(0, 100), default=None, metavar="PP",
              help="A comparison's practical threshold in percentage points (default: the one it was run with).")
@quiet_option()
def report(root, practical_pp, quiet):
    """Rebuild a results folder's report (report.html and report.md, or the sweep's or optimisation's
    pages) without rerunning anything."""
    from ..experiment.folder import FolderLock

    m = _manifest(root)
    _, write = KINDS.get(m.get("kind"), KINDS["run"])
    with FolderLock(Path(root)):  # a folder being written belongs to its writer
        write(root, quiet, practical_pp)
