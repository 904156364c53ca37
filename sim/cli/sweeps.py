"""Commands ``sweep`` (which assumptions matter) and ``optimize`` (how a budget should be spent)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..studies.designs import DESIGNS
from .options import keep_startups_or_none, run_options, show, where, wtp_option


# ----------------------------------------------------------------------------------------------
# sweep
# ----------------------------------------------------------------------------------------------
@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="KEY=LOW:HIGH",
              help="A parameter and its range (repeatable): e.g. "
                   "centre_defaults.selection_noise=0:2, centres.*.seats=10:80 (every centre), "
                   "regions.*.funding_access=x0.5:x1.5 (factors of each region's own value), "
                   "centre_defaults.grants.per_startup_krw=5e6:1e8:log.")
@click.option("--samples", "-s", type=click.IntRange(1, 1_000_000), default=None,
              help="lhs: points (default 32); sobol: base samples N, a power of two, N x (params + "
                   "2) points (default 8); grid: levels per parameter (default 3).")
@click.option("--design", type=click.Choice(DESIGNS), default="lhs", show_default=True,
              help="Latin hypercube, Saltelli/Sobol' (for direct Sobol' indices), or full grid.")
@click.option("--metric", default="survivors_5y", show_default=True,
              help="The metric whose sensitivity is analysed (any column of replications.parquet).")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted sweep in this folder (same as: python run_sim.py "
                   "resume DIR).")
@run_options
def sweep(
    file,
    params,
    samples,
    design,
    metric,
    resume_dir,
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
    """Sweep scenario parameters over a design and report which ones matter.

    Each design point is FILE with the parameters' values set (named point-0000, point-0001, ...);
    every point is validated before anything runs. Replication r of every point shares its random
    streams (common random numbers). Writes design.parquet/.csv, sensitivity.json, sweep.md and a
    self-contained sweep.html with tornado, scatter and Sobol'-index plots.
    """
    from ..studies.folders import resume
    from ..studies.sweep import sweep as sweep_study

    if resume_dir is not None:
        return show(resume(resume_dir, **where(workers, executor, scheduler, quiet)))
    if file is None:
        raise UsageError("sweep: give a scenario FILE and --param KEY=LOW:HIGH (repeatable), or "
                         "--resume DIR.")
    show(
        sweep_study(
            file,
            params,
            design=design,
            samples=samples,
            metric=metric,
            replications=replications or 3,
            seed=seed,
            overrides=overrides,
            out=out,
            force=force,
            startups=keep_startups_or_none(keep_startups),
            precision_pp=precision_pp,
            max_replications=max_replications,
            crn=not no_crn,
            command=sys.argv,
            **where(workers, executor, scheduler, quiet),
        )
    )


# ----------------------------------------------------------------------------------------------
# optimize
# ----------------------------------------------------------------------------------------------
@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--budget-krw", "budget", default=None, metavar="KRW|baseline",
              help="Programme budget (planned cost, KRW), e.g. 1.2e12; 'baseline' = the baseline's "
                   "planned cost.")
@click.option("--levers", "levers", multiple=True, metavar="LEVER[,LEVER...]",
              help="What may change (repeatable or comma-separated): seats, intake_size, "
                   "grant_size, grants_per_round, grant_budget, conglomerate_budget, residency, "
                   "centres (which centres open), opening (months of delay per centre), "
                   "regional_seats; NAME=LOW:HIGH to change a range; centres=A+B+C for only some "
                   "centres; or any KEY=LOW:HIGH as in sweep.")
@click.option("--objective", type=click.Choice(["additional_survivors_5y", "additional_jobs"]),
              default="additional_survivors_5y", show_default=True)
@click.option("--counterfactual", default="scenarios/no-programme.yaml", show_default=True,
              type=click.Path(path_type=Path), help="The no-programme world the objective is "
                                                    "measured against.")
@click.option("--baseline", default="scenarios/ccei-announced.yaml", show_default=True,
              help="Allocation to compare the best with (a scenario file, or 'none').")
@click.option("--evaluations", type=click.IntRange(5, 100_000), default=40, show_default=True,
              help="Most candidate allocations the search simulates.")
@click.option("--finalists", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Best distinct candidates re-evaluated with more replications.")
@click.option("--final-replications", type=click.IntRange(2, 100_000), default=None,
              help="Fresh replications for the finalists, the baseline and the counterfactual "
                   "(default 8; with --robust two per draw).")
@click.option("--robust", is_flag=True,
              help="Search over posterior draws (replication r with draw r mod DRAWS, common "
                   "random numbers within a draw) for the best robust objective of net benefit "
                   "(--wtp x additional effect - additional public cost); -n defaults to one "
                   "replication per draw.")
@click.option("--robust-objective", type=click.Choice(["expected", "minimax-regret", "percentile"]),
              default="expected", show_default=True,
              help="With --robust: expected net benefit over the draws, minimax regret, or the "
                   "--percentile of net benefit.")
@click.option("--percentile", type=click.FloatRange(0, 100), default=10.0, show_default=True,
              help="With --robust-objective percentile: the percentile of net benefit maximised.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="PARQUET",
              help="With --robust: the posterior to draw from (default the shipped one).")
@click.option("--draws", type=click.IntRange(2, 10_000), default=None,
              help="With --robust: posterior draws (default 5).")
@wtp_option("with --robust, what the baseline pays per additional unit on the search's "
            "replications")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted optimisation (same as: python run_sim.py resume DIR).")
@run_options
def optimize(
    file,
    budget,
    levers,
    objective,
    counterfactual,
    baseline,
    evaluations,
    finalists,
    final_replications,
    robust,
    robust_objective,
    percentile,
    posterior,
    draws,
    wtp,
    resume_dir,
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
    """Allocate a fixed programme budget across levers and regions to maximise the objective.

    Differential evolution over the levers with a fixed set of replications (-n, default 2) shared
    by every candidate and the counterfactual (common random numbers); candidates over budget are
    repaired to fit it before they run; evaluated candidates are cached in the results folder
    (a restarted run recomputes nothing). The best few are then re-run on fresh replications and
    compared with the baseline. Writes optimize.json, optimize.md and best.yaml (extends FILE).
    """
    from ..studies.folders import resume
    from ..studies.optimize import optimize as optimize_study

    if resume_dir is not None:
        return show(resume(resume_dir, **where(workers, executor, scheduler, quiet)))
    if file is None:
        raise UsageError("optimize: give a scenario FILE, --budget-krw and --levers, or --resume "
                         "DIR.")
    if budget is None:
        raise UsageError("optimize: give --budget-krw KRW (planned cost), e.g. --budget-krw "
                         "1.2e12, or --budget-krw baseline for the baseline's planned cost.")
    if not levers:
        raise UsageError("optimize: give --levers, e.g. --levers "
                         "grant_size,conglomerate_budget,centres.")
    if precision_pp is not None:
        raise UsageError("optimize: --precision is not used; set --final-replications instead.")
    if not robust and (posterior is not None or draws is not None or wtp is not None
                       or robust_objective != "expected"):
        raise UsageError("optimize: --posterior, --draws, --wtp and --robust-objective belong to "
                         "a search over posterior draws; add --robust.")
    show(
        optimize_study(
            file,
            budget_krw=budget,
            levers=levers,
            objective=objective,
            counterfactual=counterfactual,
            baseline=baseline,
            evaluations=evaluations,
            finalists=finalists,
            final_replications=final_replications,
            replications=replications,
            robust=robust,
            robust_objective=robust_objective,
            percentile=percentile,
            posterior=posterior,
            draws=draws,
            wtp=wtp,
            seed=seed,
            overrides=overrides,
            out=out,
            force=force,
            crn=not no_crn,
            command=sys.argv,
            **where(workers, executor, scheduler, quiet),
        )
    )
