"""What every command shares: the run options, where its notes go, and how it shows a study's
outcome.

A command parses its options, calls one study function (:mod:`sim.studies`) and hands the record
it returns to :func:`show`: the outcome's lines on stdout, then exit code 1 if some tasks failed.
Progress, plans and warnings go to stderr (:func:`echo`), so results on stdout stay clean.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..files import DEFAULT_SEED

EXECUTORS = ("processes", "serial", "dask")


def wtp_option(default: str = "what the baseline pays per additional survivor"):
    """``--wtp KRW``: the planner's willingness to pay per additional survivor (or job)."""
    return click.option(
        "--wtp", default=None, metavar="KRW",
        help="The planner's willingness to pay in KRW of public money per additional 5-year "
             "survivor (per additional job with --outcome jobs), e.g. 150M or 150e6: the value the "
             f"decision (summary.json's decision, the report's first screen) is read at. Default: "
             f"{default}.")


def run_options(f):
    """Options every command that runs replications accepts."""
    opts = [
        click.option(
            "--replications",
            "-n",
            type=click.IntRange(1, 100_000),
            default=None,
            help="Replications per scenario (default 10; with --precision, the first batch).",
        ),
        click.option(
            "--seed",
            type=click.IntRange(0, 2**63 - 1),
            default=DEFAULT_SEED,
            show_default=True,
            help="Root seed; replication r of every scenario shares its random streams.",
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path),
            default=None,
            help="Results folder (default results/<name>-<timestamp>/).",
        ),
        click.option("--force", is_flag=True, help="Replace an existing results folder."),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override a scenario value in every scenario run, the counterfactual and "
            "the baseline of a comparison included, e.g. --set "
            "centres.Daejeon.seats=40; * stands for every entry (--set "
            "'centres.*.seats=40'). Repeatable. Keys: python run_sim.py keys.",
        ),
        *executor_options(),
        click.option(
            "--startups",
            "keep_startups",
            type=click.Choice(["first", "all", "none"]),
            default="first",
            show_default=True,
            help="Which replications' start-up tables to keep in startups.parquet.",
        ),
        click.option(
            "--precision",
            "precision_pp",
            type=float,
            default=None,
            metavar="PP",
            help="Add replications until the 95% CI half-width of 5-year survival is at "
            "most PP percentage points, e.g. 0.1: of each paired difference in a "
            "comparison, of each scenario's level otherwise.",
        ),
        click.option(
            "--max-replications",
            type=click.IntRange(1, 100_000),
            default=200,
            show_default=True,
            help="Upper bound for --precision.",
        ),
        click.option(
            "--no-crn",
            is_flag=True,
            hidden=True,
            help="Independent random streams per scenario (for measuring what CRN buys).",
        ),
        quiet_option(),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def executor_options() -> list:
    """--workers, --executor and --scheduler: where tasks run."""
    return [
        click.option(
            "--workers",
            "-j",
            type=click.IntRange(1, 1024),
            default=None,
            help="Worker processes (default: all cores).",
        ),
        click.option(
            "--executor",
            type=click.Choice(EXECUTORS),
            default="processes",
            show_default=True,
            help="Where tasks run.",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="tcp://HOST:PORT",
            help="Dask scheduler address (implies --executor dask).",
        ),
    ]


def quiet_option():
    """--quiet: no plan or progress lines (warnings and results still show)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress output.")


def with_options(options):
    """Decorator applying a list of click options in order."""
    def apply(f):
        for o in reversed(options):
            f = o(f)
        return f
    return apply


def echo(msg: str) -> None:
    """Progress and plan lines go to stderr, so results on stdout stay clean."""
    click.echo(msg, err=True)


def where(workers, executor, scheduler, quiet) -> dict:
    """The options every study that runs tasks takes from the command line."""
    return {"workers": workers, "executor": executor, "scheduler": scheduler, "start_method": None,
            "progress": not quiet, "echo": echo}


def width() -> int:
    """The terminal's width (120 when it cannot be known)."""
    return shutil.get_terminal_size((120, 24)).columns


def show(outcome) -> None:
    """Print a study's outcome on stdout; exit with code 1 (listing them) when some tasks failed."""
    for line in outcome.lines(width()):
        click.echo(line)
    error = outcome.failed()
    if error is not None:
        raise error


def keep_startups_or_none(value: str) -> str:
    """Sweeps and optimisations keep no start-up tables unless --startups is given."""
    ctx = click.get_current_context()
    src = ctx.get_parameter_source("keep_startups")
    return value if src is not None and src != click.core.ParameterSource.DEFAULT else "none"
