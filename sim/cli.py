"""The command line: ``python run_sim.py COMMAND ...`` (or ``valleysim COMMAND ...``).

Every command turns bad input into one clear paragraph on stderr and exit code 2; no
traceback reaches a planner (``VALLEYSIM_DEBUG=1`` shows it for developers).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import click

from .errors import ScenarioError, UsageError, ValleysimError

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


# ----------------------------------------------------------------------------------------------
# shared options
# ----------------------------------------------------------------------------------------------
def run_options(f):
    """Options every command that runs replications accepts."""
    opts = [
        click.option("--replications", "-n", type=click.IntRange(1, 100_000), default=None,
                     help="Replications per scenario (default 10; with --precision, the first batch)."),
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=20140902, show_default=True,
                     help="Root seed; replication r of every scenario shares its random streams."),
        click.option("--out", type=click.Path(path_type=Path), default=None,
                     help="Results folder (default results/<name>-<timestamp>/)."),
        click.option("--force", is_flag=True, help="Replace an existing results folder."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Override a scenario value, e.g. --set centres.Daejeon.seats=40 (repeatable)."),
        click.option("--workers", "-j", type=click.IntRange(1, 1024), default=None,
                     help="Worker processes (default: all cores)."),
        click.option("--executor", type=click.Choice(["processes", "serial", "dask"]), default="processes",
                     show_default=True, help="Where tasks run."),
        click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="Dask scheduler address (implies --executor dask)."),
        click.option("--startups", "keep_startups", type=click.Choice(["first", "all", "none"]), default="first",
                     show_default=True, help="Which replications' start-up tables to keep in startups.parquet."),
        click.option("--precision", type=float, default=None,
                     help="Add replications until the 95% CI half-width of survival_5y is at most this, "
                          "e.g. 0.01: of each paired difference in a comparison, of each scenario otherwise."),
        click.option("--max-replications", type=click.IntRange(1, 100_000), default=200, show_default=True,
                     help="Upper bound for --precision."),
        click.option("--no-crn", is_flag=True, hidden=True,
                     help="Independent random streams per scenario (for measuring what CRN buys)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def default_out(name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"
    out = RESULTS / f"{slug}-{stamp}"
    i = 2
    while out.exists():
        out = RESULTS / f"{slug}-{stamp}-{i}"
        i += 1
    return out


def _executor(kind, workers, scheduler):
    from .experiment import make_executor

    return make_executor(kind, workers, scheduler)


def _echo(msg: str) -> None:
    click.echo(msg, err=True)


def load_all(files, overrides) -> tuple[dict, dict]:
    """Load scenario files; names must be unique. Returns (scenarios, sources)."""
    from .scenario import load_scenario

    scenarios, sources = {}, {}
    for f in files:
        sc = load_scenario(f, overrides)
        if sc.name in scenarios:
            raise ScenarioError(f"{f}: scenario name {sc.name!r} is also the name of {sources[sc.name]}; "
                                "names must be unique in one experiment (set `name:` in the file).")
        scenarios[sc.name] = sc
        sources[sc.name] = str(f)
    return scenarios, sources


def execute(spec, out, *, force, workers, executor, scheduler, quiet):
    """Run an ExperimentSpec to completion and return its Outcome (shared by run/compare/...)."""
    from .experiment import run_experiment

    ex = _executor(executor, workers, scheduler)
    return run_experiment(spec, out, ex, force=force, progress=not quiet, echo=_echo, command=sys.argv)


def finish_message(outcome) -> None:
    """After a run: list failed tasks with the command replaying each, and exit non-zero."""
    if outcome.failures:
        import shlex

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


# ----------------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------------
class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ValleysimError as exc:
            if os.environ.get("VALLEYSIM_DEBUG"):
                raise
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="valleysim")
def cli():
    """valleysim: start-ups in the death valley, and what regional support programmes do about it."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def validate(files, overrides):
    """Check scenario files; print each one's name and hash, or every problem found."""
    from .scenario import load_scenario, scenario_hash

    problems = []
    for f in files:
        try:
            sc = load_scenario(f, overrides)
            click.echo(f"ok  {f}  (name: {sc.name}, hash: {scenario_hash(sc)}, "
                       f"{len(sc.regions)} regions, {len(sc.active_centres)} centres)")
        except ScenarioError as exc:
            problems.append(exc.message)
    if problems:
        raise ScenarioError("\n".join(problems))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def show(file, overrides):
    """Print the fully resolved scenario (after extends and --set) as YAML."""
    from .scenario import dump_yaml, load_scenario, resolved_dict

    click.echo(dump_yaml(resolved_dict(load_scenario(file, overrides))), nl=False)


@cli.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted experiment in this folder instead of starting one.")
@run_options
def run(file, resume_dir, replications, seed, out, force, overrides, workers, executor, scheduler,
        keep_startups, precision, max_replications, no_crn, quiet):
    """Run replications of one scenario and write its results folder."""
    from .experiment import ExperimentSpec

    if resume_dir is not None:
        return _resume(resume_dir, workers, executor, scheduler, quiet)
    if file is None:
        raise UsageError("run: give a scenario FILE (e.g. scenarios/ccei-announced.yaml), or --resume DIR.")
    scenarios, sources = load_all([file], overrides)
    name = next(iter(scenarios))
    spec = ExperimentSpec(scenarios=scenarios, replications=replications or 10, seed=seed, crn=not no_crn,
                          keep_startups=keep_startups, precision=precision, max_replications=max_replications,
                          kind="run", sources=sources)
    outcome = execute(spec, out or default_out(name), force=force, workers=workers, executor=executor,
                      scheduler=scheduler, quiet=quiet)
    from .report.tables import headline_table

    headline_table(outcome.summary, list(scenarios))
    click.echo(f"results: {outcome.root}")
    finish_message(outcome)


def _resume(root, workers, executor, scheduler, quiet):
    from .experiment import resume_experiment
    from .experiment.store import ResultsStore
    from .report.tables import headline_table

    m = ResultsStore.open(root).read_manifest()
    if m.get("kind") == "compare" and m.get("status") == "complete" and not _reports_written(root):
        # killed between the data and the report: the data is final, only the report is missing
        _write_compare_reports(Path(root), quiet)
        return None
    outcome = resume_experiment(root, _executor(executor, workers, scheduler), progress=not quiet, echo=_echo)
    headline_table(outcome.summary, list(outcome.summary["scenarios"]))
    click.echo(f"results: {outcome.root}")
    if m.get("kind") == "compare" and not outcome.failures:
        _write_compare_reports(outcome.root, quiet)
    finish_message(outcome)
    return outcome


def _reports_written(root) -> bool:
    return all((Path(root) / f).is_file() for f in ("report.html", "report.md"))


def _write_compare_reports(root: Path, quiet: bool) -> dict:
    from .report import write_reports

    paths = write_reports(root, echo=None if quiet else _echo)
    click.echo(f"report:  {paths['html']}")
    click.echo(f"         {paths['markdown']}")
    return paths


@cli.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--workers", "-j", type=click.IntRange(1, 1024), default=None)
@click.option("--executor", type=click.Choice(["processes", "serial", "dask"]), default="processes")
@click.option("--scheduler", default=None)
@click.option("--quiet", "-q", is_flag=True)
def resume(root, workers, executor, scheduler, quiet):
    """Continue an interrupted experiment: run only its missing tasks, then finish it."""
    _resume(root, workers, executor, scheduler, quiet)


@cli.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--scenario", required=True, help="Scenario name as in the results folder.")
@click.option("--replication", type=int, required=True)
def replay(root, scenario, replication):
    """Rerun one task of an experiment in this process, showing its full error if it fails.

    The task runs exactly as in the experiment (same resolved scenario, seed and code path,
    :func:`sim.experiment.task.run_task`); nothing in the results folder changes.
    """
    from .experiment.runner import spec_from_manifest
    from .experiment.store import ResultsStore
    from .experiment.task import Task, run_task
    from .scenario.loader import resolved_dict, scenario_hash

    spec = spec_from_manifest(ResultsStore.open(root).read_manifest(), root)
    if scenario not in spec.scenarios:
        raise UsageError(f"--scenario: expected one of {sorted(spec.scenarios)}, found {scenario!r}.")
    if replication < 0:
        raise UsageError(f"--replication: expected a whole number >= 0, found {replication}.")
    sc = spec.scenarios[scenario]
    task = Task(list(spec.scenarios).index(scenario), scenario, replication)
    result = run_task(resolved_dict(sc), scenario_hash(sc), task, spec.seed, spec.crn, False)
    if "error" in result:
        click.echo(result["traceback"].rstrip(), err=True)
        raise ValleysimError(f"replay of {scenario} replication {replication} failed again: {result['error']}")
    m = result["metrics"]
    click.echo(f"replayed {scenario} replication {replication}: {result['startups_count']} start-ups, "
               f"{result['events']} events, {result['seconds']:.1f} s, ok "
               f"(survival_5y {m.get('survival_5y', float('nan')):.4f})")


LIBRARY = ROOT / "scenarios"
COMPARE_REPLICATIONS = 10
"""Default replications of ``compare``. With common random numbers, 10 replications put every
library variant's 5-year survival difference against the counterfactual within the precision
target (95% CI half-width at most a tenth of the difference, or 0.1 point under 1 point): when
measured, the worst was 0.88 of its target (stronger-selection), and the paired SDs say 8 would
miss it. Time is proportional: one replication of the 14-scenario library is about 50 CPU-seconds
at the current model speed. Use --precision or -n for other trade-offs."""


def _library_file(name: str) -> Path | None:
    f = LIBRARY / f"{name}.yaml"
    return f if f.is_file() else None


def _header_comment(path) -> str:
    """The comment block a scenario file opens with (its policy question), as plain text."""
    from .report.content import _file_comment

    return _file_comment(path).strip()


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", default="ccei-announced", show_default=True, metavar="NAME",
              help="Scenario every variant is also compared with (the programme as announced); "
                   "'none' for no baseline.")
@click.option("--counterfactual", default="no-programme", show_default=True, metavar="NAME",
              help="The no-programme world every scenario is compared with.")
@run_options
def compare(files, baseline, counterfactual, **opts):
    """Compare scenarios against the counterfactual and the baseline; write the reports.

    With no FILES, the whole policy library (every scenarios/*.yaml) is compared.
    """
    from .experiment import ExperimentSpec

    overrides, quiet = opts["overrides"], opts["quiet"]
    from .report.tables import headline_table

    files = list(files) or sorted(LIBRARY.glob("*.yaml"))
    if not files:
        raise UsageError(f"compare: no scenario files given and none found in {LIBRARY}.")
    scenarios, sources = load_all(files, overrides)
    baseline = None if baseline.strip().lower() in ("", "none") else baseline
    # the counterfactual and the baseline come from the library when not among FILES
    for role, name in (("--counterfactual", counterfactual), ("--baseline", baseline)):
        if name is None or name in scenarios:
            continue
        lib = _library_file(name)
        if lib is None:
            raise UsageError(f"compare {role}: expected the name of a scenario among {sorted(scenarios)} or in "
                             f"{LIBRARY}, found {name!r}.")
        more, more_src = load_all([lib], overrides)
        scenarios.update(more)
        sources.update(more_src)
    if baseline == counterfactual:
        baseline = None
    order = [counterfactual] + ([baseline] if baseline else [])
    order += [n for n in scenarios if n not in order]
    scenarios = {n: scenarios[n] for n in order}
    comparisons = [(n, counterfactual) for n in order if n != counterfactual]
    if baseline:
        comparisons += [(n, baseline) for n in order if n not in (counterfactual, baseline)]
    extra = {"counterfactual": counterfactual, "baseline": baseline,
             "questions": {n: _header_comment(sources.get(n)) for n in order}}
    spec = ExperimentSpec(scenarios=scenarios, replications=opts["replications"] or COMPARE_REPLICATIONS,
                          seed=opts["seed"], crn=not opts["no_crn"], keep_startups=opts["keep_startups"],
                          comparisons=comparisons, precision=opts["precision"],
                          max_replications=opts["max_replications"], kind="compare", sources=sources, extra=extra)
    outcome = execute(spec, opts["out"] or default_out("compare"), force=opts["force"], workers=opts["workers"],
                      executor=opts["executor"], scheduler=opts["scheduler"], quiet=quiet)
    headline_table(outcome.summary, order)
    _precision_line(outcome.summary, [c for c in comparisons if c[1] == counterfactual])
    click.echo(f"results: {outcome.root}")
    if not outcome.failures:  # a report of incomplete data would mislead; resume writes it
        _write_compare_reports(outcome.root, quiet)
    finish_message(outcome)


def _precision_line(summary, comparisons) -> None:
    from .report.content import precision_check

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


@cli.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True)
def report(root, quiet):
    """Rebuild report.html and report.md from a results folder, without rerunning anything."""
    from .report import write_reports

    paths = write_reports(root, echo=None if quiet else _echo)
    click.echo(f"report: {paths['html']}")
    click.echo(f"        {paths['markdown']}")


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--targets", "targets_file", required=True, type=click.Path(path_type=Path),
              help="Targets file (e.g. scenarios/targets/survival.yaml): published figures with sources.")
@click.option("--params", "params", multiple=True, metavar="KEY[=LOW:HIGH]",
              help="A parameter to fit, as its dotted path in the scenario, with bounds (default: the current "
                   "value +-50%). Repeatable, or comma-separated. Default: the targets file's `parameters`.")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Replications per evaluation (the same ones every time: common random numbers).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=20140902, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the calibrated file and the fit report (default results/calibrate-<name>-<timestamp>/).")
@click.option("--force", is_flag=True, help="Write into an --out folder that already holds a calibration.")
@click.option("--max-evals", type=click.IntRange(1, 100_000), default=60, show_default=True,
              help="Evaluations of the objective at most (each runs every replication).")
@click.option("--method", type=click.Choice(["nelder-mead", "powell"]), default="nelder-mead", show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value before fitting (repeatable).")
@click.option("--workers", "-j", type=click.IntRange(1, 1024), default=None,
              help="Worker processes (default: all cores).")
@click.option("--executor", type=click.Choice(["processes", "serial", "dask"]), default="processes",
              show_default=True)
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def calibrate(file, targets_file, params, replications, seed, out, force, max_evals, method, overrides, workers,
              executor, scheduler, quiet):
    """Fit scenario parameters to published targets; write a calibrated file and a fit report.

    Each evaluation runs the same replications (common random numbers) and prints its parameters
    and loss on one line. The calibrated file extends FILE and holds only the fitted values.
    """
    import shlex

    from .analysis.calibration import calibrate as run_calibration
    from .scenario import load_scenario

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
    ex = _executor(executor, workers, scheduler)
    try:
        result, paths = run_calibration(file, targets_file, params, replications=replications, seed=seed, out=out,
                                        executor=ex, overrides=overrides, max_evals=max_evals, method=method,
                                        echo=None if quiet else _echo, command=shlex.join(argv))
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


def main(argv=None):
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="run_sim.py", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - outside an experiment
        click.echo("interrupted", err=True)
        sys.exit(130)


from . import cli_sweep  # noqa: E402,F401 - registers the sweep and optimize commands
