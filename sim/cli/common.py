"""What every command shares: the run options, the results folder's default name, the executor,
progress lines on stderr, and the message that ends a run with failed tasks."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ..errors import ValleysimError
from ..experiment.folder import default_out  # noqa: F401 - one rule for every command
from ..files import DEFAULT_SEED

EXECUTORS = ("processes", "serial", "dask")


def run_options(f):
    """Options every command that runs replications accepts."""
    opts = [
        click.option("--replications", "-n", type=click.IntRange(1, 100_000), default=None,
                     help="Replications per scenario (default 10; with --precision, the first batch)."),
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True,
                     help="Root seed; replication r of every scenario shares its random streams."),
        click.option("--out", type=click.Path(path_type=Path), default=None,
                     help="Results folder (default results/<name>-<timestamp>/)."),
        click.option("--force", is_flag=True, help="Replace an existing results folder."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Override a scenario value in every scenario run, the counterfactual and the baseline "
                          "of a comparison included, e.g. --set centres.Daejeon.seats=40; * stands for every "
                          "entry (--set 'centres.*.seats=40'). Repeatable. Keys: python run_sim.py keys."),
        *executor_options(),
        click.option("--startups", "keep_startups", type=click.Choice(["first", "all", "none"]), default="first",
                     show_default=True, help="Which replications' start-up tables to keep in startups.parquet."),
        click.option("--precision", "precision_pp", type=float, default=None, metavar="PP",
                     help="Add replications until the 95% CI half-width of 5-year survival is at most PP "
                          "percentage points, e.g. 0.1: of each paired difference in a comparison, of each "
                          "scenario's level otherwise."),
        click.option("--max-replications", type=click.IntRange(1, 100_000), default=200, show_default=True,
                     help="Upper bound for --precision."),
        click.option("--no-crn", is_flag=True, hidden=True,
                     help="Independent random streams per scenario (for measuring what CRN buys)."),
        quiet_option(),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def executor_options() -> list:
    """--workers, --executor and --scheduler: where tasks run."""
    return [
        click.option("--workers", "-j", type=click.IntRange(1, 1024), default=None,
                     help="Worker processes (default: all cores)."),
        click.option("--executor", type=click.Choice(EXECUTORS), default="processes", show_default=True,
                     help="Where tasks run."),
        click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="Dask scheduler address (implies --executor dask)."),
    ]


def quiet_option():
    return click.option("--quiet", "-q", is_flag=True, help="No progress output.")


def with_options(options):
    """Decorator applying a list of click options in order."""
    def apply(f):
        for o in reversed(options):
            f = o(f)
        return f
    return apply


def open_executor(kind, workers, scheduler):
    """The executor a command's --executor, --workers and --scheduler ask for."""
    from ..experiment.executors import make_executor

    return make_executor(kind, workers, scheduler)


def echo(msg: str) -> None:
    """Progress and plan lines go to stderr, so results on stdout stay clean."""
    click.echo(msg, err=True)


def execute(spec, out, *, force, workers, executor: str, scheduler, quiet):
    """Run an ExperimentSpec to completion and return its Outcome (shared by run/compare/sweep)."""
    from ..experiment.runner import run_experiment

    ex = open_executor(executor, workers, scheduler)
    return run_experiment(spec, out, ex, force=force, progress=not quiet, echo=echo, command=sys.argv)


def finish_message(outcome) -> None:
    """After a run: list failed tasks with the command replaying each, and exit non-zero."""
    if outcome.failures:
        n = len(outcome.failures)
        lines = [f"{n} task(s) failed; the rest completed (details in {outcome.root / 'failures.json'}). "
                 "Replay one with:"]
        lines += [f"  python run_sim.py replay {shlex.quote(str(outcome.root))} --scenario "
                  f"{shlex.quote(f['scenario'])} --replication {f['replication']}   # {f['error']}"
                  for f in outcome.failures[:5]]
        if n > 5:
            lines.append(f"  ... and {n - 5} more in failures.json")
        lines.append(f"Once fixed, finish the experiment with: python run_sim.py resume "
                     f"{shlex.quote(str(outcome.root))}")
        raise ValleysimError("\n".join(lines))


def precision(pp: float | None) -> float | None:
    """--precision is given in percentage points; the experiment works in fractions (0.1 pp = 0.001)."""
    if pp is None:
        return None
    from ..errors import UsageError

    if not (pp > 0 and pp < float("inf")):
        raise UsageError(f"--precision: expected a positive number of percentage points such as 0.1, found {pp}.")
    return pp / 100.0


def keep_startups_or_none(value: str) -> str:
    """Sweeps and optimisations keep no start-up tables unless --startups is given."""
    ctx = click.get_current_context()
    src = ctx.get_parameter_source("keep_startups")
    return value if src is not None and src != click.core.ParameterSource.DEFAULT else "none"
