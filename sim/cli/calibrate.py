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
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=None,
              help="Replications per evaluation (the same ones every time: common random numbers); default 8, "
                   "or 1 per design point with history-matching (the emulator learns the spread).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the calibrated file and the fit report (default results/calibrate-<name>-<timestamp>/).")
@click.option("--force", is_flag=True, help="Write into an --out folder that already holds a calibration.")
@click.option("--max-evals", type=click.IntRange(1, 100_000), default=60, show_default=True,
              help="Evaluations of the objective at most (each runs every replication).")
@click.option("--method", type=click.Choice(["nelder-mead", "powell", "history-matching"]), default="nelder-mead",
              show_default=True, help="A best fit (nelder-mead, powell), or a posterior over the targets file's "
                                      "`priors` (history-matching: waves of design points and an emulator).")
@click.option("--points", type=click.IntRange(4, 100_000), default=None,
              help="history-matching: design points per wave (default 8 per parameter).")
@click.option("--waves", type=click.IntRange(1, 20), default=2, show_default=True,
              help="history-matching: waves (the first over the priors, each later one from the posterior so far).")
@click.option("--draws", type=click.IntRange(10, 1_000_000), default=1000, show_default=True,
              help="history-matching: posterior draws written to posterior.parquet.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value before fitting (repeatable).")
@with_options(executor_options())
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def calibrate(file, targets_file, params, replications, seed, out, force, max_evals, method, points, waves, draws,
              overrides, workers, executor, scheduler, quiet):
    """Fit scenario parameters to published targets; write a calibrated file and a fit report.

    Each evaluation runs the same replications (common random numbers) and prints its parameters
    and loss on one line. The calibrated file extends FILE and holds only the fitted values.

    With --method history-matching: which parameter sets the targets allow, as posterior draws
    (posterior.parquet, one row per draw with a weight) and a report of which parameters the data
    pin (posterior.md, posterior.png). Resumable: python run_sim.py resume DIR.
    """
    import shlex

    from ..scenario import load_scenario
    from ..studies.calibrate import calibrate as run_calibration

    name = load_scenario(file, overrides).name
    if method == "history-matching":
        return _posterior(file, targets_file, params, replications or 1, seed, out or default_out(f"posterior-{name}"),
                          force, points, waves, draws, overrides, workers, executor, scheduler, quiet)
    replications = replications or 8
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


def _posterior(file, targets_file, params, replications, seed, out, force, points, waves, draws, overrides, workers,
               executor, scheduler, quiet):
    from ..studies.posterior import PosteriorSpec, run_posterior

    priors = [item.strip() for text in params for item in str(text).split(",") if item.strip()]
    spec = PosteriorSpec(file=str(file), targets_file=str(targets_file), priors=priors, overrides=list(overrides),
                         points=points or 0, waves=waves, replications=replications, seed=seed, draws=draws)
    result = run_posterior(spec, out, open_executor(executor, workers, scheduler), force=force, progress=not quiet,
                           echo=echo)
    posterior_done(result, out)


def posterior_done(result: dict, root: Path) -> None:
    """What a planner sees at the end: each parameter's verdict and interval, and the files."""
    click.echo(f"posterior of {result['scenario']} given {result['targets_name']}: "
               f"{result['simulated_points']} simulated points, {result['draws']} draws")
    for p in result["parameters"]:
        lo, hi = p["posterior_90"]
        plo, phi = p["prior_90"]
        click.echo(f"  {p['key']}: {p['verdict']}, 90 % {lo:.4g} .. {hi:.4g} (prior {plo:.4g} .. {phi:.4g})")
    click.echo(f"results: {root}")
    click.echo(f"report:  {result['files']['markdown']}")


def resume_posterior(root, manifest: dict, workers, executor, scheduler, quiet):
    """``resume`` of a posterior calibration: the missing design points, then the posterior."""
    from ..studies.posterior import resume_posterior as resume

    result = resume(Path(root), open_executor(executor, workers, scheduler), progress=not quiet, echo=echo)
    posterior_done(result, Path(root))
    return result


def report_posterior(root, quiet: bool, practical_pp: float | None = None) -> None:
    """``report`` of a posterior folder: its page and plot from what is stored."""
    from ..studies.posterior import rewrite_report

    result = rewrite_report(Path(root))
    click.echo(f"report: {result['files']['markdown']}")
