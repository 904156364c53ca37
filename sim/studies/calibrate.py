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
import functools
import math
import os
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..analysis.targets import (
    TargetSet,
    hint,
    load_targets,
    loss_of,
    target_rows,
    target_values,
    yearly_curves,
)
from ..errors import ScenarioError, UsageError, ValleysimError
from ..experiment.folder import default_out
from ..experiment.task import Task, run_task
from ..files import DEFAULT_SEED, atomic_write_bytes, atomic_write_json, json_clean
from ..report.calibration import fmt_value, markdown, plot
from ..scenario.keys import field_limits, lookup, parse_override, set_key
from ..scenario.loader import (
    SHIPPED,
    base_data,
    load_scenario,
    resolved_dict,
    scenario_hash,
    validate,
)
from ..scenario.ranges import Param, parse_range
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
from .outcomes import CalibrationOutcome, PosteriorOutcome
from .posterior import posterior
from .targets import check_targets


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
def resolve_parameters(specs: dict[str, tuple[float, float] | None], resolved: dict) -> list[Param]:
    """Check each dotted key against the resolved scenario and settle its bounds.

    Default bounds are the current value +-50 %, kept inside the schema's allowed range.
    """
    out = []
    for key, bounds in specs.items():
        parts = key.split(".")
        found, node, depth = lookup(resolved, parts)
        if not found:
            known = sorted(node) if isinstance(node, dict) else []
            where = ".".join(parts[:depth]) or "the top level"
            raise ScenarioError(
                f"--params {key}: no such parameter in the scenario; {where} has no key {parts[depth]!r}"
                f"{hint(parts[depth], known)}. Give the dotted path of a number the scenario already has "
                "(see `python run_sim.py show FILE`).")
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise ScenarioError(f"--params {key}: expected a number to fit, found {node!r} "
                                f"({type(node).__name__}).")
        current = float(node)
        lim_lo, lim_hi = field_limits(key)
        if bounds is None:
            if current == 0:
                raise ScenarioError(f"--params {key}: the current value is 0, so +-50 % gives no range; give "
                                    f"bounds, e.g. {key}=0:1.")
            lo, hi = sorted((0.5 * current, 1.5 * current))
            lo, hi = max(lo, lim_lo), min(hi, lim_hi)
        else:
            lo, hi = bounds
            if lo < lim_lo or hi > lim_hi:
                raise ScenarioError(f"--params {key}={lo:g}:{hi:g}: the bounds leave the allowed range "
                                    f"[{lim_lo:g}, {lim_hi:g}] of this parameter.")
        integer = isinstance(node, int)
        if integer and hi - lo < 1:
            raise ScenarioError(f"--params {key}: a whole-number parameter needs bounds at least 1 apart, "
                                f"found {lo:g}:{hi:g}.")
        out.append(Param(key=key, targets=(key,), low=lo, high=hi, kind="int" if integer else "float",
                         initial=current))
    if not out:
        raise UsageError("calibrate: no parameters to fit; give --params dotted.key[=LOW:HIGH] (or list them "
                         "under `parameters:` in the targets file).")
    return out


def set_values(data: dict, values: dict[str, float]) -> dict:
    """A copy of ``data`` with each dotted key set (intermediate mappings created as needed)."""
    import copy

    out = copy.deepcopy(data)
    for key, v in values.items():
        set_key(out, key, v)
    return out


def round_value(v: float, integer: bool, digits: int = 4) -> float:
    """Round to ``digits`` significant digits (whole numbers stay whole)."""
    if integer:
        return int(round(v))
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.{digits}g}")


@dataclass
class Evaluation:
    params: dict[str, float]
    per_replication: dict[str, np.ndarray]  # metric -> values by replication
    loss: float
    seconds: float
    curves: dict[str, np.ndarray] | None = None  # name -> (R, G)
    invalid: str | None = None

    def mean(self, metric: str) -> float:
        x = self.per_replication.get(metric)
        if x is None:
            return math.nan
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else math.nan


class Calibrator:
    """Evaluates parameter vectors on a fixed set of replications (common random numbers)."""

    def __init__(self, base: dict, origin: str, targets: TargetSet, parameters: list[Param], *,
                 replications: int, seed: int, executor, echo: Callable[[str], None] | None = None):
        self.base = base
        self.origin = origin
        self.targets = targets
        self.parameters = parameters
        self.replications = replications
        self.seed = seed
        self.executor = executor
        self.echo = echo
        self.history: list[dict] = []
        self._cache: dict[tuple, Evaluation] = {}
        sc = validate(set_values(base, {}), origin)
        check_targets(targets, sc)
        self.start_resolved = resolved_dict(sc)
        self.wanted = tuple((p.group, p.key) for p in targets.points)

    # -- scenario at a parameter vector ----------------------------------------------------------
    def values_at(self, u: Sequence[float]) -> dict[str, float]:
        return {p.key: round_value(p.value(ui), p.integer, 10) for p, ui in zip(self.parameters, u, strict=True)}

    def scenario_at(self, values: dict[str, float]) -> Scenario:
        return validate(set_values(self.base, values), self.origin)

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, values: dict[str, float], *, curves: bool = False, log: bool = True) -> Evaluation:
        key = tuple(sorted(values.items()))
        hit = self._cache.get(key)
        if hit is not None and (hit.curves is not None or not curves):
            return hit
        t0 = time.perf_counter()
        try:
            sc = self.scenario_at(values)
        except ScenarioError as exc:
            ev = Evaluation(values, {}, 1e6, 0.0, invalid=exc.message)
            self._record(ev, log)
            return ev
        resolved, digest = resolved_dict(sc), scenario_hash(sc)
        probe = functools.partial(target_values, wanted=self.wanted, curves=curves)
        argsets = [(resolved, digest, Task(0, sc.name, r), self.seed, True, False, probe)
                   for r in range(self.replications)]
        results = sorted(self.executor.run(run_task, argsets), key=lambda r: r["task"].replication)
        bad = [r for r in results if "error" in r]
        if bad:
            raise ValleysimError(f"calibrate: replication {bad[0]['task'].replication} failed at {values}: "
                                 f"{bad[0]['error']}\n{bad[0].get('traceback', '')}".rstrip())
        metrics = [p.metric for p in self.targets.points]
        per = {m: np.array([r["probe"]["values"][m] for r in results], dtype=float) for m in metrics}
        ev = Evaluation(values, per, 0.0, time.perf_counter() - t0)
        ev.loss = loss_of(self.targets.points, {m: ev.mean(m) for m in metrics})
        if curves:
            ev.curves = {k: np.array([r["probe"]["curves"][k] for r in results], dtype=float)
                         for k in results[0]["probe"]["curves"]}
        if hit is None:
            self._record(ev, log)
        self._cache[key] = ev
        return ev

    def _record(self, ev: Evaluation, log: bool) -> None:
        best = min([h["loss"] for h in self.history] + [ev.loss])
        self.history.append({"evaluation": len(self.history) + 1, "params": dict(ev.params), "loss": ev.loss,
                             "seconds": round(ev.seconds, 2), **({"invalid": ev.invalid} if ev.invalid else {})})
        if log and self.echo:
            shown = "  ".join(f"{k}={fmt_value(v)}" for k, v in ev.params.items())
            note = f"  invalid: {ev.invalid}" if ev.invalid else ""
            self.echo(f"[{len(self.history):3d}] loss {ev.loss:9.4f}  best {best:9.4f}  {shown}  "
                      f"({ev.seconds:.1f} s){note}")

    def objective(self, u: np.ndarray) -> float:
        return self.evaluate(self.values_at(u)).loss


# ----------------------------------------------------------------------------------------------
# the fit
# ----------------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    parameters: list[Param]
    fitted: dict[str, float]
    initial: Evaluation
    final: Evaluation
    history: list[dict]
    evaluations: int
    message: str
    seconds: float


def fit(cal: Calibrator, *, max_evals: int = 60, method: str = "nelder-mead") -> CalibrationResult:
    """Minimise the loss over the parameters' box; evaluate the start and the (rounded) optimum with curves."""
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    params = cal.parameters
    u0 = np.clip([p.unit(p.initial) for p in params], 0.0, 1.0)
    initial = cal.evaluate(cal.values_at(u0), curves=True)
    best = {"u": u0, "loss": initial.loss}

    def f(u):
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        loss = cal.objective(u)
        if loss < best["loss"]:
            best.update(u=u.copy(), loss=loss)
        return loss

    message = "no evaluations left"
    if max_evals > 1:
        d = len(params)
        if method == "nelder-mead":
            simplex = [u0]
            for i in range(d):
                v = u0.copy()
                v[i] = u0[i] + 0.25 if u0[i] + 0.25 <= 1.0 else u0[i] - 0.25
                simplex.append(v)
            res = minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * d,
                           options={"maxfev": max_evals - 1, "initial_simplex": np.array(simplex),
                                    "xatol": 0.005, "fatol": 1e-3})
        elif method == "powell":
            res = minimize(f, u0, method="Powell", bounds=[(0.0, 1.0)] * d,
                           options={"maxfev": max_evals - 1, "xtol": 0.005, "ftol": 1e-3})
        else:
            raise UsageError(f"--method: expected nelder-mead or powell, found {method!r}.")
        message = str(res.message)
    raw = cal.values_at(best["u"])
    fitted = {p.key: round_value(raw[p.key], p.integer) for p in params}
    final = cal.evaluate(fitted, curves=True)
    if final.loss > initial.loss:  # rounding can only cost a little; never report a worse "fit"
        fitted = dict(initial.params)
        final = initial
    return CalibrationResult(params, fitted, initial, final, cal.history, len(cal.history), message,
                             time.perf_counter() - t0)


def _extends_ref(source: Path, out: Path) -> str:
    source = Path(source).resolve()
    if source.parent == SHIPPED.resolve() and not (out / source.name).exists():
        return source.stem  # shipped scenarios are found by name from anywhere
    try:
        return os.path.relpath(source, out.resolve())
    except ValueError:  # another drive
        return str(source)


def calibrated_yaml(name: str, source: Path, out: Path, fitted: dict[str, float], *, command: str,
                    targets: TargetSet, replications: int, seed: int, evaluations: int, method: str,
                    loss_before: float, loss_after: float, when: str, fixed: dict | None = None) -> str:
    """The calibrated parameter file: extends the input, holds only the fitted values.

    ``fixed`` are the ``--set`` values the fit was made with (other than the fitted keys): the
    fitted values only hold together with them, so the file carries them too.
    """
    fixed = {k: v for k, v in (fixed or {}).items() if k not in fitted and k not in ("name", "description")}
    body = set_values(set_values({}, fixed), fitted)
    header = [
        f"# {name}-calibrated: {source} with {len(fitted)} parameter(s) fitted by valleysim calibrate.",
        f"# Fitted {when} with:",
        f"#   {command}",
        f"# Method: {method} on replications 0..{replications - 1} of seed {seed} (common random numbers),",
        f"# {evaluations} evaluations; loss (weighted mean squared distance to the targets in units of",
        f"# their tolerance) {loss_before:.4g} -> {loss_after:.4g}. Targets and their sources: {targets.path}.",
        "# Only the fitted values are here; everything else comes from `extends`. They are calibrated",
        "# assumptions (chosen so the model reproduces the targets), not published figures.",
    ]
    if fixed:
        header.append("# Also here, because the fit was made with them (--set): "
                      + ", ".join(f"{k}={v}" for k, v in fixed.items()) + ".")
    doc = {"extends": _extends_ref(source, out), "name": f"{name}-calibrated",
           "description": f"{name} with parameters calibrated to {targets.name} ({when}).", **body}
    return "\n".join(header) + "\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _override_values(overrides: Sequence[str]) -> dict:
    out = {}
    for text in overrides:
        parts, value = parse_override(text)
        out[".".join(parts)] = value
    return out


def write_outputs(out: Path, *, source: Path, scenario_name: str, targets: TargetSet, result: CalibrationResult,
                  replications: int, seed: int, method: str, command: str, started: str,
                  overrides: Sequence[str] = (), fitted_scenario: Scenario | None = None) -> dict[str, Path]:
    """Write the calibrated file, calibration.json, calibration.md and calibration.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    yaml_path = out / f"{scenario_name}-calibrated.yaml"
    text = calibrated_yaml(scenario_name, source, out, result.fitted, command=command, targets=targets,
                           replications=replications, seed=seed, evaluations=result.evaluations, method=method,
                           loss_before=result.initial.loss, loss_after=result.final.loss, when=when,
                           fixed=_override_values(overrides))
    atomic_write_bytes(yaml_path, text)
    calibrated = load_scenario(yaml_path)  # it must load; and the report is about exactly this file
    same = None
    if fitted_scenario is not None:
        def strip(sc):
            d = resolved_dict(sc)
            return {k: v for k, v in d.items() if k not in ("name", "description")}

        same = strip(calibrated) == strip(fitted_scenario)
    report = {
        "scenario": {"file": str(source), "name": scenario_name, "calibrated_name": calibrated.name,
                     "calibrated_hash": scenario_hash(calibrated), "calibrated_file_matches_fit": same},
        "targets": {"file": str(targets.path), "name": targets.name,
                    "initial": target_rows(targets, result.initial.per_replication),
                    "fitted": target_rows(targets, result.final.per_replication)},
        "command": command, "started": started, "finished": when, "seconds": result.seconds,
        "method": method, "replications": replications, "seed": seed, "evaluations": result.evaluations,
        "optimizer_message": result.message,
        "parameters": [{"key": p.key, "initial": p.initial, "fitted": result.fitted[p.key], "low": p.low,
                        "high": p.high, "integer": p.integer} for p in result.parameters],
        "loss": {"initial": result.initial.loss, "fitted": result.final.loss},
        "curves": yearly_curves(targets, result.final.curves),
        "output_file": str(yaml_path),
        "history": result.history,
    }
    report = json_clean(report)
    atomic_write_json(out / "calibration.json", report)
    atomic_write_bytes(out / "calibration.md", markdown(report))
    with contextlib.suppress(Exception):  # a plot must never cost the fit
        png = plot(targets.points, result.initial.curves, result.final.curves, start=calibrated.calendar.start,
                   scenario=calibrated.name, targets=targets.name)
        atomic_write_bytes(out / "calibration.png", png)
    return {"yaml": yaml_path, "json": out / "calibration.json", "markdown": out / "calibration.md",
            "png": out / "calibration.png"}


def best_fit(file: Path, targets_file: Path, params: Sequence[str], *, replications: int = 8,
             seed: int = DEFAULT_SEED, out: Path, executor, overrides: Sequence[str] = (), max_evals: int = 60,
             method: str = "nelder-mead", echo: Callable[[str], None] | None = None,
             command: str = "") -> tuple[CalibrationResult, dict[str, Path]]:
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
        echo(f"calibrate {sc.name}: {len(parameters)} parameter(s), {len(targets.fitted)} target point(s), "
             f"{replications} replication(s) per evaluation, at most {max_evals} evaluations ({method})")
        for p in parameters:
            echo(f"  {p.key}: start {fmt_value(p.initial)}, bounds {fmt_value(p.low)} .. {fmt_value(p.high)}"
                 f"{' (whole numbers)' if p.integer else ''}")
    try:
        result = fit(cal, max_evals=max_evals, method=method)
    except KeyboardInterrupt:
        if echo and cal.history:
            best = min(cal.history, key=lambda h: h["loss"])
            echo(f"interrupted after {len(cal.history)} evaluations; best so far (loss {best['loss']:.4g}): "
                 + "  ".join(f"{k}={fmt_value(v)}" for k, v in best["params"].items()))
        raise
    paths = write_outputs(out, source=file, scenario_name=sc.name, targets=targets, result=result,
                          replications=replications, seed=seed, method=method, command=command, started=started,
                          overrides=overrides, fitted_scenario=cal.scenario_at(result.fitted))
    return result, paths


METHODS = ("nelder-mead", "powell", "history-matching")


def calibrate(file, targets, *, params=(), method: str = "nelder-mead", replications: int | None = None,
              seed: int = DEFAULT_SEED, out=None, force: bool = False, max_evals: int = 60,
              points: int | None = None, waves: int = 2, draws: int = 1000, overrides=None,
              workers: int | None = None, executor: str = "processes", scheduler: str | None = None,
              start_method: str | None = "fork", progress: bool = False, echo=None,
              command=None) -> CalibrationOutcome | PosteriorOutcome:
    """Fit scenario parameters to published targets (``targets``: a targets file).

    A best fit (``method`` nelder-mead or powell, at most ``max_evals`` evaluations of ``replications``
    replications each, default 8) writes a calibrated file that extends ``file`` and a fit report; it
    returns a :class:`~sim.studies.outcomes.CalibrationOutcome`. With ``method="history-matching"``,
    which parameter sets the targets allow: a posterior over the targets file's ``priors`` (or
    ``params``) in ``waves`` of ``points`` design points (:func:`sim.studies.posterior.posterior`).
    ``params`` are dotted keys, each with optional bounds ``KEY=LOW:HIGH``.
    """
    choice(method, "--method", METHODS)
    params = [params] if isinstance(params, str) else list(params or ())
    if method == "history-matching":
        return posterior(file, targets, priors=params, points=points, waves=waves,
                         replications=1 if replications is None else replications, seed=seed, draws=draws,
                         overrides=overrides, out=out, force=force, workers=workers, executor=executor,
                         scheduler=scheduler, start_method=start_method, progress=progress, echo=echo,
                         command=command)
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
        raise UsageError(f"{out}: already holds a calibration; choose another --out or pass --force to replace it.")
    if command is None:
        argv = ["python", "run_sim.py", "calibrate", str(file), "--targets", str(targets)]
        argv += [a for p in params for a in ("--params", p)]
        argv += [a for o in overrides for a in ("--set", o)]
        argv += ["--replications", str(replications), "--seed", str(seed), "--max-evals", str(max_evals)]
        argv += (["--method", method] if method != "nelder-mead" else []) + ["--out", str(out)]
        command = shlex.join(argv)
    ex = open_executor(executor, workers, scheduler, start_method)
    try:
        result, paths = best_fit(file, targets, params, replications=replications, seed=seed, out=out,
                                 executor=ex, overrides=overrides, max_evals=max_evals, method=method,
                                 echo=echo_for(progress, echo) if progress else None, command=command)
    except KeyboardInterrupt:
        getattr(ex, "abort", ex.close)()  # stop the workers now; the best values so far were printed
        raise
    finally:
        ex.close()
    return CalibrationOutcome(root=out, loss=(result.initial.loss, result.final.loss),
                              evaluations=result.evaluations, fitted=dict(result.fitted),
                              files={k: v for k, v in paths.items()})
