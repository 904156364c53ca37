"""Calibration: fit scenario parameters to published target points by simulation.

``python run_sim.py calibrate FILE --targets TARGETS [--params KEY[=LOW:HIGH] ...]``

A *targets file* (``scenarios/targets/*.yaml``) holds published figures, each group with its
source: population survival by firm age (``survival``), survival of supported start-ups counted
from their support date (``supported_survival``) and cumulative supported start-ups by a date
(``supported_by``). Every point has a tolerance (absolute for shares, relative for counts);
``check_points`` are reported beside the fit but not fitted.

The objective is the weighted mean of squared z-scores, ``z = (simulated - target) / tolerance``,
where "simulated" is the mean over a *fixed* set of replications ``0..N-1`` of one root seed.
Common random numbers make every evaluation see the same start-ups with the same luck, so the
objective is a deterministic, nearly smooth function of the parameters (it moves in steps of
single firms, each tiny), and a derivative-free simplex search (scipy's Nelder-Mead, on the
parameters scaled to their bounds) works on it. A loss below 1 means the targets are met on
average within their tolerances.

Outputs, in the results folder: ``<name>-calibrated.yaml`` (extends the input and holds only
the fitted values, with a header saying when and how they were fitted), ``calibration.json``
and ``calibration.md`` (target against simulated with 95% CIs over replications, before and
after) and ``calibration.png`` (target points against the simulated curves).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..errors import ScenarioError, UsageError, ValleysimError
from ..scenario.schema import Scenario, parse_month

GROUPS = {
    "survival": "population survival by firm age in years (Kaplan-Meier, founding cohorts of the calendar window)",
    "supported_survival": "survival of supported start-ups by years since their support date",
    "supported_by": "cumulative supported start-ups by the end of a month (YYYY-MM)",
}
TOP_KEYS = ("name", "description", *GROUPS, "parameters")
GROUP_KEYS = ("source", "copied_from", "note", "tolerance", "relative_tolerance", "weight", "points", "check_points")
MAX_AGE_YEARS = 20
CURVE_MONTHS = 72
"""Survival curves in the plot and the report run from age 0 to this many months."""


# ----------------------------------------------------------------------------------------------
# targets
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetPoint:
    """One published figure the model should reproduce."""

    group: str
    key: str  # "1" (years) or "2015-12" (a month)
    value: float
    tolerance: float  # absolute, in the metric's own unit
    weight: float  # 0 = reported only (a check point)
    source: str

    @property
    def metric(self) -> str:
        if self.group == "supported_by":
            return "supported_by_" + self.key.replace("-", "_")
        return f"{self.group}_{self.key}y"

    @property
    def label(self) -> str:
        if self.group == "supported_by":
            return f"supported by {self.key}"
        return f"{'supported ' if self.group == 'supported_survival' else ''}S({self.key}y)"

    @property
    def kind(self) -> str:
        return "count" if self.group == "supported_by" else "share"


@dataclass
class TargetSet:
    path: Path
    name: str
    description: str
    points: list[TargetPoint]
    parameters: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    @property
    def fitted(self) -> list[TargetPoint]:
        return [p for p in self.points if p.weight > 0]

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(p.group for p in self.points))


def _hint(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _number(value, where: str, origin, *, positive=False, share=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"{origin}: {where}: expected a number, found {value!r}.")
    value = float(value)
    if share and not 0.0 < value <= 1.0:
        raise ScenarioError(f"{origin}: {where}: expected a share between 0 and 1, found {value!r}.")
    if positive and value <= 0:
        raise ScenarioError(f"{origin}: {where}: expected a number above 0, found {value!r}.")
    if value < 0:
        raise ScenarioError(f"{origin}: {where}: expected a number of at least 0, found {value!r}.")
    return value


def _point_key(group: str, key, where: str, origin) -> str:
    if group == "supported_by":
        if hasattr(key, "year") and hasattr(key, "month"):  # YAML reads 2015-12-31 as a date
            key = f"{key.year:04d}-{key.month:02d}"
        try:
            parse_month(str(key))
        except ValueError:
            raise ScenarioError(f"{origin}: {where}: expected a month as YYYY-MM (e.g. 2015-12), found {key!r}.") from None
        return str(key)
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= MAX_AGE_YEARS:
        raise ScenarioError(f"{origin}: {where}: expected a whole number of years from 1 to {MAX_AGE_YEARS}, "
                            f"found {key!r}.")
    return str(key)


def parse_bounds(text: str, origin="--params") -> tuple[str, tuple[float, float] | None]:
    """``dotted.key`` or ``dotted.key=LOW:HIGH`` -> (key, bounds or None)."""
    text = str(text).strip()
    key, sep, rng = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"{origin} {text!r}: expected dotted.key or dotted.key=LOW:HIGH, "
                            "for example centre_defaults.selection_noise=0.1:1.0.")
    if not sep:
        return key, None
    lo_s, colon, hi_s = rng.partition(":")
    try:
        if not colon:
            raise ValueError
        lo, hi = float(lo_s), float(hi_s)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError
    except ValueError:
        raise ScenarioError(f"{origin} {text!r}: expected bounds as LOW:HIGH (two numbers), found {rng!r}.") from None
    if lo >= hi:
        raise ScenarioError(f"{origin} {text!r}: the bounds are reversed or empty: LOW ({lo:g}) must be below "
                            f"HIGH ({hi:g}).")
    return key, (lo, hi)


def _read_targets_yaml(path: Path) -> dict:
    # scenario files must have text keys; a targets file has ages (numbers) as keys, so it is
    # read here, with the same care about size and errors
    try:
        if not path.is_file():
            raise ScenarioError(f"{path}: no such targets file.", path=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc}).", path=path) from None
    if len(raw) > 1_000_000:
        raise ScenarioError(f"{path}: is {len(raw):,} bytes; a targets file is far smaller.", path=path)
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: is not UTF-8 text.", path=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}.",
                            path=path) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of target groups ({', '.join(GROUPS)}), found "
                            f"{type(data).__name__}.", path=path)
    return data


def load_targets(path: str | Path) -> TargetSet:
    """Read and check a targets file; every problem is a ScenarioError naming the key."""
    path = Path(path)
    data = _read_targets_yaml(path)
    for k in data:
        if k not in TOP_KEYS:
            raise ScenarioError(f"{path}: {k}: unknown targets key{_hint(k, TOP_KEYS)}; expected some of "
                                f"{list(TOP_KEYS)}.")
    if not any(g in data for g in GROUPS):
        raise ScenarioError(f"{path}: no targets; expected at least one of {list(GROUPS)}.")
    points: list[TargetPoint] = []
    for group in GROUPS:
        if group not in data:
            continue
        spec = data[group]
        if not isinstance(spec, dict):
            raise ScenarioError(f"{path}: {group}: expected a mapping with source, tolerance and points.")
        for k in spec:
            if k not in GROUP_KEYS:
                raise ScenarioError(f"{path}: {group}.{k}: unknown targets key{_hint(k, GROUP_KEYS)}; expected "
                                    f"some of {list(GROUP_KEYS)}.")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ScenarioError(f"{path}: {group}.source: expected the source of the figures (text); every "
                                "target needs one.")
        has_abs, has_rel = "tolerance" in spec, "relative_tolerance" in spec
        if has_abs == has_rel:
            raise ScenarioError(f"{path}: {group}: expected exactly one of tolerance (absolute) or "
                                "relative_tolerance (a share of the target).")
        tol_key = "tolerance" if has_abs else "relative_tolerance"
        tol = _number(spec[tol_key], f"{group}.{tol_key}", path, positive=True)
        weight = _number(spec.get("weight", 1.0), f"{group}.weight", path)
        for pkey, w in (("points", weight), ("check_points", 0.0)):
            pts = spec.get(pkey)
            if pts is None:
                if pkey == "points":
                    raise ScenarioError(f"{path}: {group}.points: expected a mapping of "
                                        f"{'months' if group == 'supported_by' else 'ages'} to values.")
                continue
            if not isinstance(pts, dict) or (pkey == "points" and not pts):
                raise ScenarioError(f"{path}: {group}.{pkey}: expected a mapping of "
                                    f"{'months' if group == 'supported_by' else 'ages'} to values, found {pts!r}.")
            for raw_key, raw_val in pts.items():
                where = f"{group}.{pkey}.{raw_key}"
                key = _point_key(group, raw_key, where, path)
                value = _number(raw_val, where, path, share=group != "supported_by", positive=True)
                abs_tol = tol if has_abs else tol * value
                points.append(TargetPoint(group, key, value, abs_tol, w, source.strip()))
    metrics = [p.metric for p in points]
    dup = sorted({m for m in metrics if metrics.count(m) > 1})
    if dup:
        raise ScenarioError(f"{path}: the same target appears twice: {dup}.")
    if not any(p.weight > 0 for p in points):
        raise ScenarioError(f"{path}: every target has weight 0; nothing to fit.")
    params: dict[str, tuple[float, float] | None] = {}
    raw_params = data.get("parameters") or {}
    if isinstance(raw_params, list):
        raw_params = {str(k): None for k in raw_params}
    if not isinstance(raw_params, dict):
        raise ScenarioError(f"{path}: parameters: expected a mapping of dotted.key to LOW:HIGH (or null).")
    for k, v in raw_params.items():
        text = str(k) if v is None else f"{k}={v}"
        key, bounds = parse_bounds(text, origin=f"{path}: parameters:")
        params[key] = bounds
    name = str(data.get("name") or path.stem)
    return TargetSet(path, name, str(data.get("description") or ""), points, params)


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
@dataclass
class Parameter:
    key: str
    initial: float
    low: float
    high: float
    integer: bool = False

    def value(self, u: float) -> float:
        """The parameter value at ``u`` in [0, 1] (the optimiser works on the unit cube)."""
        v = self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)
        return int(round(v)) if self.integer else v

    def unit(self, v: float) -> float:
        return float(np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0))


def _lookup(data, parts):
    node = data
    for i, p in enumerate(parts):
        if not isinstance(node, dict) or p not in node:
            return False, node, i
        node = node[p]
    return True, node, len(parts)


def _field_limits(parts: list[str]) -> tuple[float, float]:
    """The schema's allowed range (ge/gt/le/lt) of the field at ``parts``, (-inf, inf) if unknown."""
    from pydantic import BaseModel

    from ..scenario import schema

    model: type[BaseModel] | None = Scenario
    info = None
    i = 0
    while i < len(parts):
        if model is None:
            return -math.inf, math.inf
        p = parts[i]
        if model is Scenario and p in ("centre_defaults", "centres"):
            model, i = schema.Centre, i + (1 if p == "centre_defaults" else 2)
            continue
        if model is Scenario and p in ("conglomerate_defaults", "conglomerates"):
            model, i = schema.Conglomerate, i + (1 if p == "conglomerate_defaults" else 2)
            continue
        if model is Scenario and p in ("regions", "founder_education"):
            model, i = (schema.Region if p == "regions" else schema.FounderEducation), i + 2
            continue
        if model is schema.Startups and p == "stages":
            model, i = schema.StageParams, i + 2
            continue
        if model is schema.Funding and p == "rounds":
            model, i = schema.Round, i + 2
            continue
        info = model.model_fields.get(p)
        if info is None:
            return -math.inf, math.inf
        ann = info.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        i += 1
    lo, hi = -math.inf, math.inf
    for m in (info.metadata if info is not None else []):
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            v = getattr(m, attr, None)
            if v is not None:
                lo, hi = (max(lo, float(v)), hi) if is_low else (lo, min(hi, float(v)))
    return lo, hi


def resolve_parameters(specs: dict[str, tuple[float, float] | None], resolved: dict) -> list[Parameter]:
    """Check each dotted key against the resolved scenario and settle its bounds.

    Default bounds are the current value +-50 %, kept inside the schema's allowed range.
    """
    out = []
    for key, bounds in specs.items():
        parts = key.split(".")
        found, node, depth = _lookup(resolved, parts)
        if not found:
            known = sorted(node) if isinstance(node, dict) else []
            where = ".".join(parts[:depth]) or "the top level"
            raise ScenarioError(
                f"--params {key}: no such parameter in the scenario; {where} has no key {parts[depth]!r}"
                f"{_hint(parts[depth], known)}. Give the dotted path of a number the scenario already has "
                "(see `python run_sim.py show FILE`).")
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise ScenarioError(f"--params {key}: expected a number to fit, found {node!r} "
                                f"({type(node).__name__}).")
        current = float(node)
        lim_lo, lim_hi = _field_limits(parts)
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
        out.append(Parameter(key, current, lo, hi, integer))
    if not out:
        raise UsageError("calibrate: no parameters to fit; give --params dotted.key[=LOW:HIGH] (or list them "
                         "under `parameters:` in the targets file).")
    return out


def set_values(data: dict, values: dict[str, float]) -> dict:
    """A copy of ``data`` with each dotted key set (intermediate mappings created as needed)."""
    import copy

    out = copy.deepcopy(data)
    for key, v in values.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


def round_value(v: float, integer: bool, digits: int = 4) -> float:
    """Round to ``digits`` significant digits (whole numbers stay whole)."""
    if integer:
        return int(round(v))
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.{digits}g}")


# ----------------------------------------------------------------------------------------------
# one replication (runs in a worker process)
# ----------------------------------------------------------------------------------------------
_SCENARIOS: dict[str, Scenario] = {}


def evaluate_replication(resolved: dict, digest: str, seed: int, replication: int, wanted: tuple,
                         curves: bool = False) -> dict:
    """Simulate one replication and return the target metrics (and, if asked, curves for plots).

    ``wanted`` is a tuple of (group, key) pairs. Never raises: errors come back as ``error``.
    """
    import traceback

    from ..model import simulate
    from ..model.startup import DIED
    from .metrics import replication_metrics
    from .survival import km_at

    try:
        sc = _SCENARIOS.get(digest)
        if sc is None:
            if len(_SCENARIOS) > 64:
                _SCENARIOS.clear()
            sc = _SCENARIOS[digest] = Scenario.model_validate(resolved)
        cal = sc.calendar
        rec = simulate(sc, seed, replication)
        m = replication_metrics(rec, cal)
        s = rec.startups
        died = s["outcome"] == DIED
        cohort = (s["cohort_year"] >= cal.cohort_first_year) & (s["cohort_year"] <= cal.cohort_last_year)
        age = s["outcome_time"] - s["founded"]
        sup = s["supported"]
        since = (s["outcome_time"] - s["support_time"])[sup]
        values = {}
        for group, key in wanted:
            p = TargetPoint(group, key, 1.0, 1.0, 1.0, "")
            if p.metric in m:
                values[p.metric] = float(m[p.metric])
            elif group == "survival":
                values[p.metric] = float(km_at(age[cohort], died[cohort], [12.0 * int(key)])[0])
            elif group == "supported_survival":
                values[p.metric] = float(km_at(since, died[sup], [12.0 * int(key)])[0])
            else:
                values[p.metric] = float((s["support_time"][sup] < cal.month(key) + 1.0).sum())
        out = {"replication": replication, "values": values}
        if curves:
            grid = np.arange(CURVE_MONTHS + 1, dtype=float)
            months = np.arange(int(cal.horizon_months) + 1, dtype=float)
            out["curves"] = {
                "survival": km_at(age[cohort], died[cohort], grid).tolist(),
                "supported_survival": km_at(since, died[sup], grid).tolist() if sup.any() else [math.nan] * len(grid),
                "supported_by": np.searchsorted(np.sort(s["support_time"][sup]), months, side="left").tolist(),
            }
        return out
    except Exception as exc:  # noqa: BLE001 - reported by the caller with the traceback
        return {"replication": replication, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}


# ----------------------------------------------------------------------------------------------
# the objective
# ----------------------------------------------------------------------------------------------
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


PENALTY_Z = 10.0
"""z-score of a target the model cannot produce at all (e.g. supported survival with nobody supported)."""


def loss_of(points: Sequence[TargetPoint], means: dict[str, float]) -> float:
    """Weighted mean of squared z-scores over the fitted points."""
    num = den = 0.0
    for p in points:
        if p.weight <= 0:
            continue
        sim = means.get(p.metric, math.nan)
        z = (sim - p.value) / p.tolerance if math.isfinite(sim) else PENALTY_Z
        num += p.weight * z * z
        den += p.weight
    return num / den if den else math.nan


class Calibrator:
    """Evaluates parameter vectors on a fixed set of replications (common random numbers)."""

    def __init__(self, base: dict, origin: str, targets: TargetSet, parameters: list[Parameter], *,
                 replications: int, seed: int, executor, echo: Callable[[str], None] | None = None):
        from ..scenario.loader import resolved_dict, validate

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
        cal = sc.calendar
        for p in targets.points:
            if p.group == "supported_by" and not 0 <= cal.month(p.key) < cal.horizon_months:
                raise ScenarioError(f"{targets.path}: supported_by.{p.key}: expected a month inside the "
                                    f"scenario's calendar {cal.start} .. {cal.horizon}.")
            observable = cal.horizon_months - cal.year_start(cal.cohort_first_year)
            if p.group == "survival" and 12.0 * int(p.key) > observable:
                raise ScenarioError(f"{targets.path}: survival.{p.key}: no founding cohort of the scenario "
                                    f"({cal.cohort_first_year}-{cal.cohort_last_year}) reaches {p.key} years "
                                    f"before the horizon {cal.horizon}.")
        self.start_resolved = resolved_dict(sc)
        self.wanted = tuple((p.group, p.key) for p in targets.points)

    # -- scenario at a parameter vector ----------------------------------------------------------
    def values_at(self, u: Sequence[float]) -> dict[str, float]:
        return {p.key: round_value(p.value(ui), p.integer, 10) for p, ui in zip(self.parameters, u, strict=True)}

    def scenario_at(self, values: dict[str, float]) -> Scenario:
        from ..scenario.loader import validate

        return validate(set_values(self.base, values), self.origin)

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, values: dict[str, float], *, curves: bool = False, log: bool = True) -> Evaluation:
        from ..scenario.loader import resolved_dict, scenario_hash

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
        argsets = [(resolved, digest, self.seed, r, self.wanted, curves) for r in range(self.replications)]
        results = sorted(self.executor.run(evaluate_replication, argsets), key=lambda r: r["replication"])
        bad = [r for r in results if "error" in r]
        if bad:
            raise ValleysimError(f"calibrate: replication {bad[0]['replication']} failed at {values}: "
                                 f"{bad[0]['error']}\n{bad[0].get('traceback', '')}".rstrip())
        metrics = [p.metric for p in self.targets.points]
        per = {m: np.array([r["values"][m] for r in results], dtype=float) for m in metrics}
        ev = Evaluation(values, per, 0.0, time.perf_counter() - t0)
        ev.loss = loss_of(self.targets.points, {m: ev.mean(m) for m in metrics})
        if curves:
            ev.curves = {k: np.array([r["curves"][k] for r in results], dtype=float)
                         for k in ("survival", "supported_survival", "supported_by")}
        if hit is None:
            self._record(ev, log)
        self._cache[key] = ev
        return ev

    def _record(self, ev: Evaluation, log: bool) -> None:
        best = min([h["loss"] for h in self.history] + [ev.loss])
        self.history.append({"evaluation": len(self.history) + 1, "params": dict(ev.params), "loss": ev.loss,
                             "seconds": round(ev.seconds, 2), **({"invalid": ev.invalid} if ev.invalid else {})})
        if log and self.echo:
            shown = "  ".join(f"{k}={_fmt_value(v)}" for k, v in ev.params.items())
            note = f"  invalid: {ev.invalid}" if ev.invalid else ""
            self.echo(f"[{len(self.history):3d}] loss {ev.loss:9.4f}  best {best:9.4f}  {shown}  "
                      f"({ev.seconds:.1f} s){note}")

    def objective(self, u: np.ndarray) -> float:
        return self.evaluate(self.values_at(u)).loss


def _fmt_value(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:.5g}"


# ----------------------------------------------------------------------------------------------
# the fit
# ----------------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    parameters: list[Parameter]
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
    u0 = np.array([p.unit(p.initial) for p in params])
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


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------
def target_rows(targets: TargetSet, ev: Evaluation) -> list[dict]:
    from .stats import summarize

    rows = []
    for p in targets.points:
        s = summarize(ev.per_replication.get(p.metric, np.array([])))
        mean = s["mean"]
        z = (mean - p.value) / p.tolerance if math.isfinite(mean) else math.nan
        rows.append({"group": p.group, "key": p.key, "metric": p.metric, "target": p.value,
                     "tolerance": p.tolerance, "weight": p.weight, "fitted_point": p.weight > 0,
                     "source": p.source, "simulated": mean, "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                     "sd": s["sd"], "replications": s["n"], "z": z,
                     "within_tolerance": bool(math.isfinite(z) and abs(z) <= 1.0)})
    return rows


def yearly_curves(targets: TargetSet, ev: Evaluation) -> dict:
    """The fitted survival curves at every whole year (the shape between the target ages)."""
    out = {}
    if ev.curves is None:
        return out
    for group in targets.groups:
        if group == "supported_by":
            continue
        c = ev.curves[group]
        years = range(1, CURVE_MONTHS // 12 + 1)
        out[group] = {str(y): float(np.nanmean(c[:, 12 * y])) if np.isfinite(c[:, 12 * y]).any() else None
                      for y in years}
    return out


def _clean(x):
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _write(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def _extends_ref(source: Path, out: Path) -> str:
    from ..scenario.loader import SHIPPED

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
    from ..scenario.loader import parse_override

    out = {}
    for text in overrides:
        parts, value = parse_override(text)
        out[".".join(parts)] = value
    return out


def _fmt(v, kind: str, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:,.0f}" if kind == "count" else f"{v:.{digits}f}"


def markdown(report: dict) -> str:
    lines = [f"# Calibration of {report['scenario']['name']}", "",
             f"- scenario file: `{report['scenario']['file']}`",
             f"- targets: `{report['targets']['file']}` ({report['targets']['name']})",
             f"- command: `{report['command']}`",
             f"- fitted: {report['finished']} ({report['seconds']:.0f} s), {report['method']}, "
             f"{report['evaluations']} evaluations on replications 0..{report['replications'] - 1} of seed "
             f"{report['seed']} (common random numbers)",
             f"- loss (weighted mean of squared z = (simulated - target) / tolerance; below 1 = within tolerance "
             f"on average): **{report['loss']['initial']:.4g} -> {report['loss']['fitted']:.4g}**",
             f"- calibrated file: `{report['output_file']}`", "", "## Parameters", "",
             "| parameter | start | fitted | bounds |", "|---|---:|---:|---|"]
    for p in report["parameters"]:
        lines.append(f"| `{p['key']}` | {_fmt_value(p['initial'])} | **{_fmt_value(p['fitted'])}** | "
                     f"{_fmt_value(p['low'])} .. {_fmt_value(p['high'])} |")
    lines += ["", "## Targets against the model", "",
              f"Mean over {report['replications']} replications with its 95% confidence interval (Student t over "
              "replications). Check points are reported, not fitted.", "",
              "| target | published | tolerance | start | fitted [95% CI] | z | within | source |",
              "|---|---:|---:|---:|---|---:|:---:|---|"]
    for row, start in zip(report["targets"]["fitted"], report["targets"]["initial"], strict=True):
        kind = "count" if row["group"] == "supported_by" else "share"
        label = TargetPoint(row["group"], row["key"], 0, 1, 1, "").label
        if not row["fitted_point"]:
            label += " (check)"
        z = "n/a" if row["z"] is None else f"{row['z']:+.2f}"
        lines.append(f"| {label} | {_fmt(row['target'], kind)} | {_fmt(row['tolerance'], kind)} | "
                     f"{_fmt(start['simulated'], kind)} | **{_fmt(row['simulated'], kind)}** "
                     f"[{_fmt(row['ci_low'], kind)}, {_fmt(row['ci_high'], kind)}] | {z} | "
                     f"{'yes' if row['within_tolerance'] else 'no'} | {row['source']} |")
    for group, curve in (report.get("curves") or {}).items():
        title = "Survival by firm age" if group == "survival" else "Supported start-ups' survival since support"
        lines += ["", f"{title}, every whole year (the shape between the targets):", "",
                  "| " + " | ".join(f"{y} y" for y in curve) + " |", "|" + "---:|" * len(curve),
                  "| " + " | ".join(_fmt(v, "share") for v in curve.values()) + " |"]
    lines += ["", "![target points against the simulated curves](calibration.png)", "",
              "## Caveats", "",
              "- The fit is in-sample: the same replications were used to choose the parameters. Check the "
              "calibrated file on fresh replications (another seed) before relying on it:",
              f"  `python run_sim.py run {report['output_file']} --replications 20 --seed 1`.",
              "- Fitted values are calibrated assumptions: several parameter sets may fit the same few points; "
              "the report above says the targets are reproduced, not that the parameters are identified.",
              ""]
    return "\n".join(lines)


def plot(targets: TargetSet, initial: Evaluation, final: Evaluation, scenario: Scenario) -> bytes:
    """Target points (with tolerance bars) against the simulated curves, before and after."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .stats import mean_curve

    groups = targets.groups
    fig = Figure(figsize=(5.2 * len(groups), 4.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    cal = scenario.calendar
    for ax, group in zip(axes, groups, strict=True):
        pts = [p for p in targets.points if p.group == group]
        for ev, style, label in ((initial, "--", "start"), (final, "-", "fitted")):
            if ev.curves is None:
                continue
            mean, lo, hi = mean_curve(ev.curves[group])
            if group == "supported_by":
                x = np.array([dt.date(int(cal.start[:4]) + (int(cal.start[5:]) - 1 + m) // 12,
                                      (int(cal.start[5:]) - 1 + m) % 12 + 1, 1) for m in range(len(mean))])
            else:
                x = np.arange(len(mean)) / 12.0
            ax.plot(x, mean, style, color="C0" if label == "fitted" else "0.5", label=f"model, {label}")
            if label == "fitted":
                ax.fill_between(x, lo, hi, color="C0", alpha=0.2, linewidth=0, label="95% CI (replications)")
        for p in pts:
            if group == "supported_by":
                y, m = int(p.key[:4]), int(p.key[5:])
                x = dt.date(y + m // 12, m % 12 + 1, 1)  # end of the month
            else:
                x = int(p.key)
            ax.errorbar([x], [p.value], yerr=[p.tolerance], fmt="o" if p.weight > 0 else "s",
                        color="C3" if p.weight > 0 else "C1", capsize=4,
                        label=None if p.weight > 0 else "check point")
        ax.plot([], [], "o", color="C3", label="target +- tolerance")
        ax.set_title({"survival": "Survival by firm age",
                      "supported_survival": "Supported start-ups: survival since support",
                      "supported_by": "Cumulative supported start-ups"}[group], fontsize=10)
        if group == "supported_by":
            ax.set_ylabel("start-ups")
            ax.tick_params(axis="x", labelrotation=30)
            years = [int(p.key[:4]) for p in pts]
            ax.set_xlim(dt.date(min(years) - 1, 1, 1), dt.date(max(years) + 2, 12, 31))
            ax.set_ylim(0, 1.5 * max(p.value + p.tolerance for p in pts))
        else:
            ax.set_xlabel("years")
            ax.set_ylabel("share alive")
            ax.set_ylim(0, 1.02)
            ax.set_xlim(0, CURVE_MONTHS / 12.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{scenario.name}: targets ({targets.name}) against the model", fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def write_outputs(out: Path, *, source: Path, scenario_name: str, targets: TargetSet, result: CalibrationResult,
                  replications: int, seed: int, method: str, command: str, started: str,
                  overrides: Sequence[str] = (), fitted_scenario: Scenario | None = None) -> dict[str, Path]:
    """Write the calibrated file, calibration.json, calibration.md and calibration.png into ``out``."""
    from ..scenario.loader import load_scenario, resolved_dict, scenario_hash

    out.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    yaml_path = out / f"{scenario_name}-calibrated.yaml"
    text = calibrated_yaml(scenario_name, source, out, result.fitted, command=command, targets=targets,
                           replications=replications, seed=seed, evaluations=result.evaluations, method=method,
                           loss_before=result.initial.loss, loss_after=result.final.loss, when=when,
                           fixed=_override_values(overrides))
    _write(yaml_path, text)
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
                    "initial": target_rows(targets, result.initial), "fitted": target_rows(targets, result.final)},
        "command": command, "started": started, "finished": when, "seconds": result.seconds,
        "method": method, "replications": replications, "seed": seed, "evaluations": result.evaluations,
        "optimizer_message": result.message,
        "parameters": [{"key": p.key, "initial": p.initial, "fitted": result.fitted[p.key], "low": p.low,
                        "high": p.high, "integer": p.integer} for p in result.parameters],
        "loss": {"initial": result.initial.loss, "fitted": result.final.loss},
        "curves": yearly_curves(targets, result.final),
        "output_file": str(yaml_path),
        "history": result.history,
    }
    report = _clean(report)
    _write(out / "calibration.json", json.dumps(report, indent=2) + "\n")
    _write(out / "calibration.md", markdown(report))
    with contextlib.suppress(Exception):  # a plot must never cost the fit
        sc = Scenario.model_validate(resolved_dict(calibrated))
        _write(out / "calibration.png", plot(targets, result.initial, result.final, sc))
    return {"yaml": yaml_path, "json": out / "calibration.json", "markdown": out / "calibration.md",
            "png": out / "calibration.png"}


def calibrate(file: Path, targets_file: Path, params: Sequence[str], *, replications: int = 8,
              seed: int = 20140902, out: Path, executor, overrides: Sequence[str] = (), max_evals: int = 60,
              method: str = "nelder-mead", echo: Callable[[str], None] | None = None,
              command: str = "") -> tuple[CalibrationResult, dict[str, Path]]:
    """The whole ``calibrate`` command: check the input, fit, write the outputs."""
    from ..scenario.loader import apply_overrides, resolve_file, resolved_dict, validate

    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    file = Path(file)
    targets = load_targets(targets_file)
    data = resolve_file(file)
    data.setdefault("name", file.stem)
    data = apply_overrides(data, overrides)
    sc = validate(data, origin=str(file))
    specs: dict[str, tuple[float, float] | None] = {}
    for text in params or ():
        for item in str(text).split(","):
            if item.strip():
                key, bounds = parse_bounds(item)
                specs[key] = bounds
    if not specs:
        specs = dict(targets.parameters)
    parameters = resolve_parameters(specs, resolved_dict(sc))
    cal = Calibrator(data, str(file), targets, parameters, replications=replications, seed=seed,
                     executor=executor, echo=echo)
    if echo:
        echo(f"calibrate {sc.name}: {len(parameters)} parameter(s), {len(targets.fitted)} target point(s), "
             f"{replications} replication(s) per evaluation, at most {max_evals} evaluations ({method})")
        for p in parameters:
            echo(f"  {p.key}: start {_fmt_value(p.initial)}, bounds {_fmt_value(p.low)} .. {_fmt_value(p.high)}"
                 f"{' (whole numbers)' if p.integer else ''}")
    try:
        result = fit(cal, max_evals=max_evals, method=method)
    except KeyboardInterrupt:
        if echo and cal.history:
            best = min(cal.history, key=lambda h: h["loss"])
            echo(f"interrupted after {len(cal.history)} evaluations; best so far (loss {best['loss']:.4g}): "
                 + "  ".join(f"{k}={_fmt_value(v)}" for k, v in best["params"].items()))
        raise
    paths = write_outputs(out, source=file, scenario_name=sc.name, targets=targets, result=result,
                          replications=replications, seed=seed, method=method, command=command, started=started,
                          overrides=overrides, fitted_scenario=cal.scenario_at(result.fitted))
    return result, paths
