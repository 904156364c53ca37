"""Commands that run replications of scenarios: ``run``, ``compare`` and ``replay``, and how a
``run`` or ``compare`` folder is resumed and reported."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError, ValleysimError
from ..scenario.draws import DEFAULT_DRAWS, SHIPPED_POSTERIOR
from .common import (
    default_out,
    echo,
    execute,
    finish_message,
    open_executor,
    precision,
    run_options,
)


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted experiment in this folder instead of starting one.")
@run_options
def run(file, resume_dir, replications, seed, out, force, overrides, workers, executor, scheduler,
        keep_startups, precision_pp, max_replications, no_crn, quiet):
    """Run replications of one scenario and write its results folder."""
    from ..experiment.runner import ExperimentSpec
    from ..report.tables import headline_table
    from ..studies.compare import load_all

    if resume_dir is not None:
        from .folders import resume_folder

        return resume_folder(resume_dir, workers, executor, scheduler, quiet)
    if file is None:
        raise UsageError("run: give a scenario FILE (e.g. scenarios/ccei-announced.yaml), or --resume DIR.")
    scenarios, sources = load_all([file], overrides)
    name = next(iter(scenarios))
    spec = ExperimentSpec(scenarios=scenarios, replications=replications or 10, seed=seed, crn=not no_crn,
                          keep_startups=keep_startups, precision=precision(precision_pp),
                          max_replications=max_replications, kind="run", sources=sources)
    outcome = execute(spec, out or default_out(name), force=force, workers=workers, executor=executor,
                      scheduler=scheduler, quiet=quiet)
    headline_table(outcome.summary, list(scenarios))
    click.echo(f"results: {outcome.root}")
    finish_message(outcome)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", default="ccei-announced", show_default=True, metavar="NAME",
              help="Scenario every variant is also compared with (the programme as announced); "
                   "'none' for no baseline.")
@click.option("--counterfactual", default="no-programme", show_default=True, metavar="NAME",
              help="The no-programme world every scenario is compared with.")
@click.option("--practical", "practical_pp", type=click.FloatRange(0, 100), default=0.2, show_default=True,
              metavar="PP", help="The least difference in 5-year survival, in percentage points, worth acting on: "
                                 "smaller differences are reported as small even when statistically certain.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="PARQUET",
              help="Posterior draws to run over (posterior.parquet from calibrate --method history-matching); "
                   "default: the shipped one, scenarios/posteriors/programme/posterior.parquet.")
@click.option("--draws", type=click.IntRange(1, 100_000), default=None,
              help=f"Posterior draws (default {DEFAULT_DRAWS}, or -n if smaller); replication r runs with draw r mod "
                   "DRAWS (-n defaults to twice DRAWS, at least 10: two or more replications per draw tell "
                   "simulation noise from parameter uncertainty).")
@click.option("--fixed", is_flag=True,
              help="Every replication at the scenarios' own values (no parameter uncertainty: Monte Carlo noise only).")
@run_options
def compare(files, baseline, counterfactual, practical_pp, posterior, draws, fixed, **opts):
    """Compare scenarios against the counterfactual and the baseline; write the reports.

    With no FILES, the whole policy library (every scenarios/*.yaml) is compared. By default each
    difference carries its uncertainty over the parameter sets the published targets allow (the
    shipped posterior), besides Monte Carlo noise; --fixed runs at the files' own values only.
    """
    from ..report.tables import headline_table
    from ..studies.compare import plan_compare

    quiet = opts["quiet"]
    baseline = None if baseline.strip().lower() in ("", "none") else baseline
    if fixed and posterior is not None:
        raise UsageError("compare: --fixed runs without a posterior; give --fixed or --posterior, not both.")
    spec = plan_compare(files, baseline=baseline, counterfactual=counterfactual, overrides=opts["overrides"],
                        replications=opts["replications"], seed=opts["seed"], crn=not opts["no_crn"],
                        keep_startups=opts["keep_startups"], precision=precision(opts["precision_pp"]),
                        max_replications=opts["max_replications"], practical_pp=practical_pp,
                        posterior=None if fixed else (posterior or SHIPPED_POSTERIOR), draws=draws)
    _warm_report_imports()
    outcome = execute(spec, opts["out"] or default_out("compare"), force=opts["force"], workers=opts["workers"],
                      executor=opts["executor"], scheduler=opts["scheduler"], quiet=quiet)
    order = list(spec.scenarios)
    headline_table(outcome.summary, order)
    cf = spec.extra["counterfactual"]
    precision_line(outcome.summary, [c for c in spec.comparisons if c[1] == cf])
    click.echo(f"results: {outcome.root}")
    if not outcome.failures:  # a report of incomplete data would mislead; resume writes it
        write_report(outcome.root, quiet)
    finish_message(outcome)


def _warm_report_imports() -> None:
    """Import the report's libraries (matplotlib, its fonts, jinja2) in a thread while the workers
    simulate: this process mostly waits then, and the report is the main job's last step."""
    import threading

    def warm():
        import contextlib

        with contextlib.suppress(Exception):  # only a head start: the report imports what it needs anyway
            from ..report import compare, html, plots  # noqa: F401

    threading.Thread(target=warm, name="valleysim-warm-report", daemon=True).start()


def precision_line(summary, comparisons) -> None:
    """One line: how precisely the worst difference against the counterfactual is known."""
    from ..analysis.summary import precision_check

    rows = precision_check(summary, comparisons)
    defined = [r for r in rows if r["met"] is not None]
    if not defined:
        return
    worst = max(defined, key=lambda r: r["half_width"] / r["target"])
    missed = [r["scenario"] for r in defined if not r["met"]]
    click.echo(f"precision: 95% CI half-width of each 5-year survival difference against the counterfactual: "
               f"worst {100 * worst['half_width']:.3f} pp ({worst['scenario']}, "
               f"{worst['half_width'] / worst['target']:.2f} of its target); "
               + (f"target missed by {', '.join(missed)}: add replications (-n)." if missed
                  else "every target met."))


def write_report(root: Path, quiet: bool) -> dict:
    """Write a run's or comparison's report and say where it is."""
    from ..experiment.folder import FolderLock
    from ..studies.compare import write_compare_report

    with FolderLock(Path(root)):
        paths = write_compare_report(Path(root), echo=None if quiet else echo)
    click.echo(f"report:  {paths['html']}")
    click.echo(f"         {paths['markdown']}")
    return paths


def resume_run(root, manifest: dict, workers, executor, scheduler, quiet):
    """``resume`` of a run or comparison folder: the missing tasks, then (a comparison's) report."""
    from ..experiment.runner import resume_experiment
    from ..report.tables import headline_table
    from ..studies.compare import reports_written

    if manifest.get("kind") == "compare" and manifest.get("status") == "complete" and not reports_written(root):
        # killed between the data and the report: the data is final, only the report is missing
        write_report(Path(root), quiet)
        return None
    outcome = resume_experiment(root, open_executor(executor, workers, scheduler), progress=not quiet, echo=echo)
    headline_table(outcome.summary, list(outcome.summary["scenarios"]))
    click.echo(f"results: {outcome.root}")
    if manifest.get("kind") == "compare" and not outcome.failures:
        write_report(outcome.root, quiet)
    finish_message(outcome)
    return outcome


def report_run(root, quiet: bool, practical_pp: float | None = None) -> None:
    """``report`` of a run or comparison folder."""
    from ..studies.compare import write_compare_report

    paths = write_compare_report(Path(root), echo=None if quiet else echo, practical_pp=practical_pp)
    click.echo(f"report: {paths['html']}")
    click.echo(f"        {paths['markdown']}")


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--scenario", required=True, help="Scenario name as in the results folder.")
@click.option("--replication", type=int, required=True)
def replay(root, scenario, replication):
    """Rerun one task of an experiment in this process, showing its full error if it fails.

    The task runs exactly as in the experiment (same resolved scenario, seed and code path,
    :func:`sim.experiment.task.run_task`); nothing in the results folder changes.
    """
    from ..experiment.runner import spec_from_manifest
    from ..experiment.store import ResultsStore
    from ..experiment.task import Task, run_task
    from ..scenario.loader import resolved_dict, scenario_hash

    spec = spec_from_manifest(ResultsStore.open(root).read_manifest(), root)
    if scenario not in spec.scenarios:
        raise UsageError(f"--scenario: expected one of {sorted(spec.scenarios)}, found {scenario!r}.")
    if replication < 0:
        raise UsageError(f"--replication: expected a whole number >= 0, found {replication}.")
    sc = spec.scenario_at(scenario, replication)  # with its posterior draw, if the experiment has draws
    task = Task(list(spec.scenarios).index(scenario), scenario, replication)
    result = run_task(resolved_dict(sc), scenario_hash(sc), task, spec.seed, spec.crn, False)
    if "error" in result:
        click.echo(result["traceback"].rstrip(), err=True)
        raise ValleysimError(f"replay of {scenario} replication {replication} failed again: {result['error']}")
    m = result["metrics"]
    click.echo(f"replayed {scenario} replication {replication}: {result['startups_count']} start-ups, "
               f"{result['events']} events, {result['seconds']:.1f} s, ok "
               f"(survival_5y {m.get('survival_5y', float('nan')):.4f})")
