"""Commands on an existing results folder: ``resume`` and ``report`` (whatever study wrote it)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import echo, executor_options, quiet_option, show, where, with_options, wtp_option


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@with_options(executor_options())
@wtp_option("the one the comparison was run with")
@quiet_option()
def resume(root, workers, executor, scheduler, wtp, quiet):
    """Continue an interrupted experiment: run only its missing tasks, then finish it."""
    from ..studies.folders import resume as resume_study

    show(resume_study(root, wtp=wtp, **where(workers, executor, scheduler, quiet)))


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--practical", "practical_pp", type=click.FloatRange(0, 100), default=None,
              metavar="PP", help="A comparison's practical threshold in percentage points "
                   "(default: the one it was run with).")
@wtp_option("the one the comparison was run with")
@quiet_option()
def report(root, practical_pp, wtp, quiet):
    """Rebuild a results folder's report (report.html and report.md, or the sweep's or
    optimisation's pages) without rerunning anything."""
    from ..studies.folders import report as report_study
    from ..studies.outcomes import OptimizeOutcome, PosteriorOutcome

    outcome = report_study(root, practical_pp=practical_pp, wtp=wtp, progress=not quiet,
                           echo=echo)
    if isinstance(outcome, (OptimizeOutcome, PosteriorOutcome)):
        click.echo(f"report: {outcome.result['files']['markdown']}")
    else:
        show(outcome)
