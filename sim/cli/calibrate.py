"""Command ``calibrate``: fit scenario parameters to published targets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..files import DEFAULT_SEED
from .options import executor_options, show, where, with_options


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--targets", "targets_file", required=True, type=click.Path(path_type=Path),
              help="Targets file (e.g. scenarios/targets/survival.yaml): published figures with "
                   "sources.")
@click.option("--params", "params", multiple=True, metavar="KEY[=LOW:HIGH]",
              help="A parameter to fit, as its dotted path in the scenario, with bounds (default: "
                   "the current value +-50%). Repeatable, or comma-separated. Default: the targets "
                   "file's `parameters`.")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=None,
              help="Replications per evaluation (the same ones every time: common random numbers); "
                   "default 8, or 1 per design point with history-matching (the emulator learns "
                   "the spread).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the calibrated file and the fit report (default "
                   "results/calibrate-<name>-<timestamp>/).")
@click.option("--force", is_flag=True, help="Write into an --out folder that already holds a "
                                            "calibration.")
@click.option("--max-evals", type=click.IntRange(1, 100_000), default=60, show_default=True,
              help="Evaluations of the objective at most (each runs every replication).")
@click.option("--method", type=click.Choice(["nelder-mead", "powell", "history-matching"]),
              default="nelder-mead", show_default=True, help="A best fit (nelder-mead, powell), or "
                                      "a posterior over the targets file's `priors` "
                                      "(history-matching: waves of design points and an emulator).")
@click.option("--points", type=click.IntRange(4, 100_000), default=None,
              help="history-matching: design points per wave (default 8 per parameter; at least "
                   "the number of parameters + 2, and 4: what the emulator needs).")
@click.option("--waves", type=click.IntRange(1, 20), default=2, show_default=True,
              help="history-matching: waves (the first over the priors, each later one from the "
                   "posterior so far).")
@click.option("--draws", type=click.IntRange(10, 1_000_000), default=1000, show_default=True,
              help="history-matching: posterior draws written to posterior.parquet.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value before fitting (repeatable).")
@with_options(executor_options())
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def calibrate(
    file,
    targets_file,
    params,
    replications,
    seed,
    out,
    force,
    max_evals,
    method,
    points,
    waves,
    draws,
    overrides,
    workers,
    executor,
    scheduler,
    quiet,
):
    """Fit scenario parameters to published targets; write a calibrated file and a fit report.

    Each evaluation runs the same replications (common random numbers) and prints its parameters
    and loss on one line. The calibrated file extends FILE and holds only the fitted values.

    With --method history-matching: which parameter sets the targets allow, as posterior draws
    (posterior.parquet, one row per draw with a weight) and a report of which parameters the data
    pin (posterior.md, posterior.png). Resumable: python run_sim.py resume DIR.
    """
    from ..studies.calibrate import calibrate as calibrate_study

    show(
        calibrate_study(
            file,
            targets_file,
            params=params,
            method=method,
            replications=replications,
            seed=seed,
            out=out,
            force=force,
            max_evals=max_evals,
            points=points,
            waves=waves,
            draws=draws,
            overrides=overrides,
            **where(workers, executor, scheduler, quiet),
            **({"command": sys.argv} if method == "history-matching" else {}),
        )
    )
