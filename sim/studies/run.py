"""The ``run`` study: replications of one scenario into a results folder.

``python run_sim.py run FILE`` and ``sim.run(FILE)`` both call :func:`run`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ScenarioError
from ..experiment.folder import default_out
from ..experiment.lifecycle import StudyFolder
from ..experiment.runner import ExperimentSpec, Runner, new_manifest
from ..files import DEFAULT_SEED
from ..scenario.loader import load_scenario
from .arguments import (
    choice,
    command_of,
    echo_for,
    open_executor,
    override_texts,
    precision_of,
    scenario_file,
    seed_of,
    whole,
)
from .outcomes import RunOutcome


def load_all(files, overrides, *, empty_ok: bool = False) -> tuple[dict, dict]:
    """Load scenario files; names must be unique. Returns (scenarios, sources)."""
    scenarios, sources = {}, {}
    for f in files:
        sc = load_scenario(f, overrides, empty_ok=empty_ok)
        if sc.name in scenarios:
            raise ScenarioError(f"{f}: scenario name {sc.name!r} is also the name of "
                                f"{sources[sc.name]}; names must be unique in one experiment (set "
                                "`name:` in the file).")
        scenarios[sc.name] = sc
        sources[sc.name] = str(f)
    return scenarios, sources


STARTUPS = ("first", "all", "none")
"""Which replications' start-up tables startups.parquet keeps."""


def run(
    scenario,
    *,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    overrides=None,
    out=None,
    force: bool = False,
    startups: str = "first",
    precision_pp: float | None = None,
    max_replications: int = 200,
    crn: bool = True,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> RunOutcome:
    """Run replications of one scenario (a file, or a shipped scenario's name) into a results
    folder.

    ``overrides`` maps dotted keys to values (``{"centres.*.seats": 40}``), as ``--set`` does;
    results go to ``out`` (default ``results/<name>-<timestamp>/``), which is never overwritten
    unless ``force``. With ``precision_pp``, replications are added until the 95 % CI half-width of
    5-year survival is at most that many percentage points (up to ``max_replications``). Every
    argument is checked before anything is written. Failed tasks do not stop the rest: they are in
    the outcome's ``failures`` (and the folder's failures.json), each with the command that replays
    it.
    """
    replications = whole(replications, "replications")
    seed = seed_of(seed)
    choice(startups, "startups", STARTUPS)
    precision = precision_of(precision_pp)
    max_replications = whole(max_replications, "max_replications")
    scenarios, sources = load_all([scenario_file(scenario)], override_texts(overrides))
    name = next(iter(scenarios))
    spec = ExperimentSpec(
        scenarios=scenarios,
        replications=replications,
        seed=seed,
        crn=crn,
        keep_startups=startups,
        precision=precision,
        max_replications=max_replications,
        kind="run",
        sources=sources,
    )
    return run_spec(
        spec,
        out,
        default=name,
        force=force,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        start_method=start_method,
        progress=progress,
        echo=echo,
        command=command_of(command, ["sim.run", name]),
    )


def run_spec(
    spec: ExperimentSpec,
    out,
    *,
    default: str,
    force: bool,
    workers,
    executor,
    scheduler,
    start_method,
    progress: bool,
    echo,
    command: list[str],
    then=None,
):
    """Run a planned experiment into ``out`` (or ``results/<default>-<timestamp>/``) and return its
    record: ``then(folder, done)``'s (what a study makes of the finished data, while the folder is
    still locked), or a :class:`RunOutcome`."""
    echo = echo_for(progress, echo)
    ex = open_executor(executor, workers, scheduler, start_method)
    root = Path(out) if out is not None else default_out(default)
    with StudyFolder.create(
        root, new_manifest(spec, command), executor=ex, force=force, progress=progress, echo=echo
    ) as folder:
        done = Runner(spec, folder).run()
        return then(folder, done) if then is not None else outcome_of(done, spec)


def outcome_of(done, spec: ExperimentSpec) -> RunOutcome:
    """A finished experiment's record."""
    return RunOutcome(
        root=done.root,
        failures=tuple(_failure_rows(done)),
        scenarios=tuple(spec.scenarios),
        summary=done.summary,
        replications=done.replications,
        seconds=done.seconds,
    )


def _failure_rows(done) -> list[dict]:
    return list(done.summary.get("failures") or [])
