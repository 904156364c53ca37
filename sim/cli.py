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
                     help="Add replications until the 95%% CI half-width of survival_5y (and of each paired "
                          "difference) is at most this, e.g. 0.01."),
        click.option("--max-replications", type=click.IntRange(1, 100_000), default=200, show_default=True,
                     help="Upper bound for --precision."),
        click.option("--no-crn", is_flag=True, hidden=True,
                     help="Independent random streams per scenario (for measuring what CRN buys)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _default_out(name: str) -> Path:
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
    if outcome.failures:
        lines = [f"{len(outcome.failures)} task(s) failed; the rest completed. Replay one with:"]
        lines += [f"  python run_sim.py replay {outcome.root} --scenario '{f['scenario']}' "
                  f"--replication {f['replication']}   # {f['error']}" for f in outcome.failures[:5]]
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
    outcome = execute(spec, out or _default_out(name), force=force, workers=workers, executor=executor,
                      scheduler=scheduler, quiet=quiet)
    from .report.tables import headline_table

    headline_table(outcome.summary, list(scenarios))
    click.echo(f"results: {outcome.root}")
    finish_message(outcome)


def _resume(root, workers, executor, scheduler, quiet):
    from .experiment import resume_experiment
    from .report.tables import headline_table

    outcome = resume_experiment(root, _executor(executor, workers, scheduler), progress=not quiet, echo=_echo)
    headline_table(outcome.summary, list(outcome.summary["scenarios"]))
    click.echo(f"results: {outcome.root}")
    finish_message(outcome)
    return outcome


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
    """Rerun one task of an experiment in this process, showing its full error if it fails."""
    from .experiment.runner import spec_from_manifest
    from .experiment.store import ResultsStore
    from .experiment.task import Task
    from .model import simulate

    spec = spec_from_manifest(ResultsStore.open(root).read_manifest())
    if scenario not in spec.scenarios:
        raise UsageError(f"--scenario: expected one of {sorted(spec.scenarios)}, found {scenario!r}.")
    task = Task(list(spec.scenarios).index(scenario), scenario, replication)
    records = simulate(spec.scenarios[scenario], spec.seed, task.replication, crn=spec.crn)
    click.echo(f"replayed {scenario} replication {replication}: {len(records)} start-ups, {records.events} events, ok")


def main(argv=None):
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="run_sim.py", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - outside an experiment
        click.echo("interrupted", err=True)
        sys.exit(130)

