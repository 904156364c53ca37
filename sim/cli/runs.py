"""Commands that run replications of scenarios: ``run``, ``compare`` and ``replay``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..files import DEFAULT_SEED
from ..scenario.draws import DEFAULT_DRAWS
from .options import echo, run_options, show, where, wtp_option


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted experiment in this folder instead of starting one.")
@run_options
def run(file, resume_dir, replications, seed, out, force, overrides, workers, executor, scheduler,
        keep_startups, precision_pp, max_replications, no_crn, quiet):
    """Run replications of one scenario and write its results folder."""
    from ..studies.folders import resume
    from ..studies.run import run as run_study

    if resume_dir is not None:
        return show(resume(resume_dir, **where(workers, executor, scheduler, quiet)))
    if file is None:
        raise UsageError("run: give a scenario FILE (e.g. scenarios/ccei-announced.yaml), or "
                         "--resume DIR.")
    show(
        run_study(
            file,
            replications=replications or 10,
            seed=seed,
            overrides=overrides,
            out=out,
            force=force,
            startups=keep_startups,
            precision_pp=precision_pp,
            max_replications=max_replications,
            crn=not no_crn,
            command=sys.argv,
            **where(workers, executor, scheduler, quiet),
        )
    )


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", default="ccei-announced", show_default=True, metavar="NAME",
              help="Scenario every variant is also compared with (the programme as announced); "
                   "'none' for no baseline.")
@click.option("--counterfactual", default="no-programme", show_default=True, metavar="NAME",
              help="The no-programme world every scenario is compared with.")
@click.option("--practical", "practical_pp", type=click.FloatRange(0, 100), default=0.2,
              show_default=True, metavar="PP", help="The least difference in 5-year survival, in "
                                 "percentage points, worth acting on: smaller differences are "
                                 "reported as small even when statistically certain.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="PARQUET",
              help="Posterior draws to run over (posterior.parquet from calibrate --method "
                   "history-matching); default: the shipped one, "
                   "scenarios/posteriors/programme/posterior.parquet.")
@click.option("--draws", type=click.IntRange(1, 100_000), default=None,
              help=f"Posterior draws (default {DEFAULT_DRAWS}, or -n if smaller); replication r "
                   "runs with draw r mod DRAWS (-n defaults to twice DRAWS, at least 10: two or "
                   "more replications per draw tell simulation noise from parameter uncertainty).")
@click.option("--fixed", is_flag=True,
              help="Every replication at the scenarios' own values (no parameter uncertainty: "
                   "Monte Carlo noise only).")
@wtp_option()
@click.option("--outcome", type=click.Choice(["survivors", "jobs"]), default="survivors",
              show_default=True, help="The decision's effect: additional 5-year survivors, or "
                                      "additional jobs at the horizon (same start-ups).")
@run_options
def compare(
    files,
    baseline,
    counterfactual,
    practical_pp,
    posterior,
    draws,
    fixed,
    wtp,
    outcome,
    replications,
    seed,
    out,
    force,
    overrides,
    workers,
    executor,
    scheduler,
    keep_startups,
    precision_pp,
    max_replications,
    no_crn,
    quiet,
):
    """Compare scenarios against the counterfactual and the baseline; write the reports.

    With no FILES, the whole policy library (every scenarios/*.yaml) is compared. By default each
    difference carries its uncertainty over the parameter sets the published targets allow (the
    shipped posterior), besides Monte Carlo noise; --fixed runs at the files' own values only.
    """
    from ..studies.compare import compare as compare_study

    show(
        compare_study(
            files,
            baseline=baseline,
            counterfactual=counterfactual,
            practical_pp=practical_pp,
            posterior=posterior,
            draws=draws,
            fixed=fixed,
            wtp=wtp,
            outcome=outcome,
            replications=replications,
            seed=seed,
            overrides=overrides,
            out=out,
            force=force,
            startups=keep_startups,
            precision_pp=precision_pp,
            max_replications=max_replications,
            crn=not no_crn,
            command=sys.argv,
            **where(workers, executor, scheduler, quiet),
        )
    )


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--scenario", required=True, help="Scenario name as in the results folder.")
@click.option("--replication", type=int, required=True)
def replay(root, scenario, replication):
    """Rerun one task of an experiment in this process, showing its full error if it fails.

    The task runs exactly as in the experiment (same resolved scenario, seed and code path,
    :func:`sim.experiment.task.run_task`); nothing in the results folder changes.
    """
    from ..studies.folders import replay as replay_study
    from ..studies.folders import replay_failed

    outcome = replay_study(root, scenario=scenario, replication=replication)
    if outcome.error is not None:
        echo(outcome.traceback.rstrip())
        raise replay_failed(outcome)
    show(outcome)


@click.command()
@click.option("--programme", type=click.Path(path_type=Path), default=None,
              help="The programme scenario (default scenarios/ccei-as-opened.yaml).")
@click.option("--counterfactual", type=click.Path(path_type=Path), default=None,
              help="The no-programme world (default scenarios/no-programme.yaml).")
@click.option("--replications", "-n", type=click.IntRange(1, 100_000), default=10,
              show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
@click.option("--workers", "-j", type=click.IntRange(1, 1024), default=None,
              help="Worker processes (default: all cores).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a value of the programme scenario (repeatable), e.g. to switch a "
                   "channel off.")
def validation(programme, counterfactual, replications, seed, workers, overrides):
    """Print every number of docs/validation.md: the model against its targets, and its effect
    against the naive gap (the validation study; ``validate`` checks scenario files)."""
    from ..studies.validation import validation as validation_study

    outcome = validation_study(programme, counterfactual, replications=replications, seed=seed,
                               overrides=overrides, workers=workers)
    show(outcome)
    echo(f"({outcome.seconds:.0f} s)")
