"""Command ``calibrate``: fit scenario parameters to published targets."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from ..files import DEFAULT_SEED
from .common import default_out, echo, executor_options, open_executor, with_options


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--targets", "targets_file", required=True, type=click.Path(path_type=Path),
              help="Targets file (e.g. scenarios/targets/survival.yaml): published figures with sources.")
@click.option("--params", "params", multiple=True, metavar="KEY[=LOW:HIGH]",
              help="A parameter to fit, as its dotted path in the scenario, with bounds (default: the current "
                   "value +-50%). Repeatable, or comma-separated. Default: the targets file's `parameters`.")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Replications per evaluation (the same ones every time: common random numbers).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the calibrated file and the fit report (default results/calibrate-<name>-<timestamp>/).")
@click.option("--force", is_flag=True, help="Write into an --out folder that already holds a calibration.")
@click.option("--max-evals", type=click.IntRange(1, 100_000), default=60, show_default=True,
              help="Evaluations of the objective at most (each runs every replication).")
@click.option("--method", type=click.Choice(["nelder-mead", "powell"]), default="nelder-mead", show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value before fitting (repeatable).")
@with_options(executor_options())
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def calibrate(file, targets_file, params, replications, seed, out, force, max_evals, method, overrides, workers,
              executor, scheduler, quiet):
    """Fit scenario parameters to published targets; write a calibrated file and a fit report.

    Each evaluation runs the same replications (common random numbers) and prints its parameters
    and loss on one line. The calibrated file extends FILE and holds only the fitted values.
    """
    import shlex

    from ..scenario import load_scenario
    from ..studies.calibrate import calibrate as run_calibration

    name = load_scenario(file, overrides).name
    out = out or default_out(f"calibrate-{name}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder.")
    if out.is_dir() and (out / "calibration.json").exists() and not force:
        raise UsageError(f"{out}: already holds a calibration; choose another --out or pass --force to replace it.")
    argv = ["python", "run_sim.py", "calibrate", str(file), "--targets", str(targets_file)]
    argv += [a for p in params for a in ("--params", p)]
    argv += [a for o in overrides for a in ("--set", o)]
    argv += ["--replications", str(replications), "--seed", str(seed), "--max-evals", str(max_evals)]
    argv += (["--method", method] if method != "nelder-mead" else []) + ["--out", str(out)]
    ex = open_executor(executor, workers, scheduler)
    try:
        result, paths = run_calibration(file, targets_file, params, replications=replications, seed=seed, out=out,
                                        executor=ex, overrides=overrides, max_evals=max_evals, method=method,
                                        echo=None if quiet else echo, command=shlex.join(argv))
    except KeyboardInterrupt:
        getattr(ex, "abort", ex.close)()  # stop the workers now; the best values so far were printed
        raise
    finally:
        ex.close()
    click.echo(f"loss {result.initial.loss:.4g} -> {result.final.loss:.4g} after {result.evaluations} evaluations")
    for key, value in result.fitted.items():
        click.echo(f"  {key}: {value}")
    click.echo(f"calibrated file: {paths['yaml']}")
    click.echo(f"fit report:      {paths['markdown']}")
