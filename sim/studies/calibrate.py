"""Calibration: fit scenario parameters to published target points by simulation.

``python run_sim.py calibrate FILE --targets TARGETS [--params KEY[=LOW:HIGH] ...]``

The targets and the loss are :mod:`sim.analysis.targets`. "Simulated" is the mean over a *fixed*
set of replications ``0..N-1`` of one root seed, run through the experiment layer's task entry
point with :func:`~sim.analysis.targets.target_values` as its probe. Common random numbers make
every evaluation see the same start-ups with the same luck, so the objective is a deterministic,
nearly smooth function of the parameters (it moves in steps of single firms, each tiny), and a
derivative-free simplex search (scipy's Nelder-Mead, on the parameters scaled to their bounds)
works on it.

Outputs, in the results folder: ``<name>-calibrated.yaml`` (extends the input and holds only
the fitted values, with a header saying when and how they were fitted), ``calibration.json``
and ``calibration.md`` (target against simulated with 95% CIs over replications, before and
after) and ``calibration.png`` (target points against the simulated curves).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from ..analysis.targets import (
    TargetSet,
    load_targets,
    target_rows,
    yearly_curves,
)
from ..errors import UsageError
from ..experiment.folder import default_out
from ..files import DEFAULT_SEED, atomic_write_bytes, atomic_write_json, json_clean
from ..report.calibration import fmt_value, markdown, plot
from ..scenario.keys import parse_override
from ..scenario.loader import (
    SHIPPED,
    base_data,
    load_scenario,
    resolved_dict,
    scenario_hash,
    validate,
)
from ..scenario.ranges import parse_range
from ..scenario.schema import Scenario
from .arguments import (
    choice,
    echo_for,
    open_executor,
    override_texts,
    scenario_file,
    seed_of,
    whole,
)
from .fit import CalibrationResult, Calibrator, fit, resolve_parameters, set_values
from .outcomes import CalibrationOutcome, PosteriorOutcome
from .posterior import posterior


def _extends_ref(source: Path, out: Path) -> str:
    source = Path(source).resolve()
    if source.parent == SHIPPED.resolve() and not (out / source.name).exists():
        return source.stem  # shipped scenarios are found by name from anywhere
    try:
        return os.path.relpath(source, out.resolve())
    except ValueError:  # another drive
        return str(source)


def calibrated_yaml(
    name: str,
    source: Path,
    out: Path,
    fitted: dict[str, float],
    *,
    command: str,
    targets: TargetSet,
    replications: int,
    seed: int,
    evaluations: int,
    method: str,
    loss_before: float,
    loss_after: float,
    when: str,
    fixed: dict | None = None,
) -> str:
    """The calibrated parameter file: extends the input, holds only the fitted values.

    ``fixed`` are the ``--set`` values the fit was made with (other than the fitted keys): the
    fitted values only hold together with them, so the file carries them too.
    """
    fixed = {
        k: v
        for k, v in (fixed or {}).items()
        if k not in fitted and k not in ("name", "description")
    }
    body = set_values(set_values({}, fixed), fitted)
    header = [
        f"# {name}-calibrated: {source} with {len(fitted)} parameter(s) fitted by valleysim "
        "calibrate.",
        f"# Fitted {when} with:",
        f"#   {command}",
        f"# Method: {method} on replications 0..{replications - 1} of seed {seed} (common random "
        "numbers),",
        f"# {evaluations} evaluations; loss (weighted mean squared distance to the targets in "
        "units of",
        f"# their tolerance) {loss_before:.4g} -> {loss_after:.4g}. Targets and their sources: "
        f"{targets.path}.",
        "# Only the fitted values are here; everything else comes from `extends`. They are "
        "calibrated",
        "# assumptions (chosen so the model reproduces the targets), not published figures.",
    ]
    if fixed:
        header.append("# Also here, because the fit was made with them (--set): "
                      + ", ".join(f"{k}={v}" for k, v in fixed.items()) + ".")
    doc = {"extends": _extends_ref(source, out), "name": f"{name}-calibrated",
           "description": f"{name} with parameters calibrated to {targets.name} ({when}).", **body}
    return (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    )


def _override_values(overrides: Sequence[str]) -> dict:
    out = {}
    for text in overrides:
        parts, value = parse_override(text)
        out[".".join(parts)] = value
    return out


def write_outputs(
    out: Path,
    *,
    source: Path,
    scenario_name: str,
    targets: TargetSet,
    result: CalibrationResult,
    replications: int,
    seed: int,
    method: str,
    command: str,
    started: str,
    overrides: Sequence[str] = (),
    fitted_scenario: Scenario | None = None,
) -> dict[str, Path]:
    """Write the calibrated file, calibration.json, calibration.md and calibration.png into
    ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    yaml_path = out / f"{scenario_name}-calibrated.yaml"
    text = calibrated_yaml(
        scenario_name,
        source,
        out,
        result.fitted,
        command=command,
        targets=targets,
        replications=replications,
        seed=seed,
        evaluations=result.evaluations,
        method=method,
        loss_before=result.initial.loss,
        loss_after=result.final.loss,
        when=when,
        fixed=_override_values(overrides),
    )
    atomic_write_bytes(yaml_path, text)
    calibrated = load_scenario(yaml_path)  # it must load; and the report is about exactly this file
    same = None
    if fitted_scenario is not None:
        def strip(sc):
            d = resolved_dict(sc)
            return {k: v for k, v in d.items() if k not in ("name", "description")}

        same = strip(calibrated) == strip(fitted_scenario)
    report = {
        "scenario": {
            "file": str(source),
            "name": scenario_name,
            "calibrated_name": calibrated.name,
            "calibrated_hash": scenario_hash(calibrated),
            "calibrated_file_matches_fit": same,
        },
        "targets": {
            "file": str(targets.path),
            "name": targets.name,
            "initial": target_rows(targets, result.initial.per_replication),
            "fitted": target_rows(targets, result.final.per_replication),
        },
        "command": command,
        "started": started,
        "finished": when,
        "seconds": result.seconds,
        "method": method,
        "replications": replications,
        "seed": seed,
        "evaluations": result.evaluations,
        "optimizer_message": result.message,
        "parameters": [
            {
                "key": p.key,
                "initial": p.initial,
                "fitted": result.fitted[p.key],
                "low": p.low,
                "high": p.high,
                "integer": p.integer,
            }
            for p in result.parameters
        ],
        "loss": {"initial": result.initial.loss, "fitted": result.final.loss},
        "curves": yearly_curves(targets, result.final.curves),
        "output_file": str(yaml_path),
        "history": result.history,
    }
    report = json_clean(report)
    atomic_write_json(out / "calibration.json", report)
    atomic_write_bytes(out / "calibration.md", markdown(report))
    with contextlib.suppress(Exception):  # a plot must never cost the fit
        png = plot(
            targets.points,
            result.initial.curves,
            result.final.curves,
            start=calibrated.calendar.start,
            scenario=calibrated.name,
            targets=targets.name,
        )
        atomic_write_bytes(out / "calibration.png", png)
    return {"yaml": yaml_path, "json": out / "calibration.json", "markdown": out / "calibration.md",
            "png": out / "calibration.png"}


def best_fit(
    file: Path,
    targets_file: Path,
    params: Sequence[str],
    *,
    replications: int = 8,
    seed: int = DEFAULT_SEED,
    out: Path,
    executor,
    overrides: Sequence[str] = (),
    max_evals: int = 60,
    method: str = "nelder-mead",
    echo: Callable[[str], None] | None = None,
    command: str = "",
) -> tuple[CalibrationResult, dict[str, Path]]:
    """A best fit: check the input, fit, write the outputs (the executor is the caller's)."""
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    file = Path(file)
    targets = load_targets(targets_file)
    data = base_data(file, overrides)
    sc = validate(data, origin=str(file))
    specs: dict[str, tuple[float, float] | None] = {}
    for text in params or ():
        for item in str(text).split(","):
            if item.strip():
                r = parse_range(item, "--params", key_alone=True)
                specs[r.key] = r.bounds
    if not specs:
        specs = dict(targets.parameters)
    parameters = resolve_parameters(specs, resolved_dict(sc))
    cal = Calibrator(data, str(file), targets, parameters, replications=replications, seed=seed,
                     executor=executor, echo=echo)
    if echo:
        echo(f"calibrate {sc.name}: {len(parameters)} parameter(s), {len(targets.fitted)} target "
             f"point(s), {replications} replication(s) per evaluation, at most {max_evals} "
             f"evaluations ({method})")
        for p in parameters:
            echo(f"  {p.key}: start {fmt_value(p.initial)}, bounds {fmt_value(p.low)} .. "
                 f"{fmt_value(p.high)}{' (whole numbers)' if p.integer else ''}")
    try:
        result = fit(cal, max_evals=max_evals, method=method)
    except KeyboardInterrupt:
        if echo and cal.history:
            best = min(cal.history, key=lambda h: h["loss"])
            echo(f"interrupted after {len(cal.history)} evaluations; best so far (loss "
                 f"{best['loss']:.4g}): "
                 + "  ".join(f"{k}={fmt_value(v)}" for k, v in best["params"].items()))
        raise
    paths = write_outputs(
        out,
        source=file,
        scenario_name=sc.name,
        targets=targets,
        result=result,
        replications=replications,
        seed=seed,
        method=method,
        command=command,
        started=started,
        overrides=overrides,
        fitted_scenario=cal.scenario_at(result.fitted),
    )
    return result, paths


METHODS = ("nelder-mead", "powell", "history-matching")


def calibrate(
    file,
    targets,
    *,
    params=(),
    method: str = "nelder-mead",
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    out=None,
    force: bool = False,
    max_evals: int = 60,
    points: int | None = None,
    waves: int = 2,
    draws: int = 1000,
    overrides=None,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> CalibrationOutcome | PosteriorOutcome:
    """Fit scenario parameters to published targets (``targets``: a targets file).

    A best fit (``method`` nelder-mead or powell, at most ``max_evals`` evaluations of
    ``replications`` replications each, default 8) writes a calibrated file that extends ``file``
    and a fit report; it returns a :class:`~sim.studies.outcomes.CalibrationOutcome`. With
    ``method="history-matching"``, which parameter sets the targets allow: a posterior over the
    targets file's ``priors`` (or ``params``) in ``waves`` of ``points`` design points
    (:func:`sim.studies.posterior.posterior`). ``params`` are dotted keys, each with optional bounds
    ``KEY=LOW:HIGH``.
    """
    choice(method, "--method", METHODS)
    params = [params] if isinstance(params, str) else list(params or ())
    if method == "history-matching":
        return posterior(
            file,
            targets,
            priors=params,
            points=points,
            waves=waves,
            replications=1 if replications is None else replications,
            seed=seed,
            draws=draws,
            overrides=overrides,
            out=out,
            force=force,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            start_method=start_method,
            progress=progress,
            echo=echo,
            command=command,
        )
    replications = whole(8 if replications is None else replications, "replications", 1, 10_000)
    seed = seed_of(seed)
    max_evals = whole(max_evals, "max_evals", 1, 100_000)
    overrides = override_texts(overrides)
    file = scenario_file(file)
    name = load_scenario(file, overrides).name
    out = Path(out) if out is not None else default_out(f"calibrate-{name}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder.")
    if out.is_dir() and (out / "calibration.json").exists() and not force:
        raise UsageError(f"{out}: already holds a calibration; choose another --out or pass "
                         "--force to replace it.")
    if command is None:
        argv = ["python", "run_sim.py", "calibrate", str(file), "--targets", str(targets)]
        argv += [a for p in params for a in ("--params", p)]
        argv += [a for o in overrides for a in ("--set", o)]
        argv += [
            "--replications",
            str(replications),
            "--seed",
            str(seed),
            "--max-evals",
            str(max_evals),
        ]
        argv += (["--method", method] if method != "nelder-mead" else []) + ["--out", str(out)]
        command = shlex.join(argv)
    ex = open_executor(executor, workers, scheduler, start_method)
    try:
        result, paths = best_fit(
            file,
            targets,
            params,
            replications=replications,
            seed=seed,
            out=out,
            executor=ex,
            overrides=overrides,
            max_evals=max_evals,
            method=method,
            echo=echo_for(progress, echo) if progress else None,
            command=command,
        )
    except KeyboardInterrupt:
        # stop the workers now; the best values so far were printed
        getattr(ex, "abort", ex.close)()
        raise
    finally:
        ex.close()
    return CalibrationOutcome(root=out, loss=(result.initial.loss, result.final.loss),
                              evaluations=result.evaluations, fitted=dict(result.fitted),
                              files={k: v for k, v in paths.items()})
