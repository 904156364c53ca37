"""A best fit of scenario parameters to published targets by simulation (see
:mod:`sim.studies.calibrate`): each evaluation runs the same replications (common random numbers),
and a simplex search minimises the loss."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis.targets import TargetSet, hint, loss_of, target_values
from ..errors import ScenarioError, UsageError, ValleysimError
from ..experiment.task import Task, run_task
from ..report.calibration import fmt_value
from ..scenario.keys import field_limits, lookup, set_key
from ..scenario.loader import resolved_dict, scenario_hash, validate
from ..scenario.ranges import Param
from ..scenario.schema import Scenario
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
                f"--params {key}: no such parameter in the scenario; {where} has no key "
                f"{parts[depth]!r}{hint(parts[depth], known)}. Give the dotted path of a number "
                "the scenario already has (see `python run_sim.py show FILE`).")
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise ScenarioError(f"--params {key}: expected a number to fit, found {node!r} "
                                f"({type(node).__name__}).")
        current = float(node)
        lim_lo, lim_hi = field_limits(key)
        if bounds is None:
            if current == 0:
                raise ScenarioError(f"--params {key}: the current value is 0, so +-50 % gives no "
                                    f"range; give bounds, e.g. {key}=0:1.")
            lo, hi = sorted((0.5 * current, 1.5 * current))
            lo, hi = max(lo, lim_lo), min(hi, lim_hi)
        else:
            lo, hi = bounds
            if lo < lim_lo or hi > lim_hi:
                raise ScenarioError(f"--params {key}={lo:g}:{hi:g}: the bounds leave the allowed "
                                    f"range [{lim_lo:g}, {lim_hi:g}] of this parameter.")
        integer = isinstance(node, int)
        if integer and hi - lo < 1:
            raise ScenarioError(f"--params {key}: a whole-number parameter needs bounds at least 1 "
                                f"apart, found {lo:g}:{hi:g}.")
        out.append(
            Param(
                key=key,
                targets=(key,),
                low=lo,
                high=hi,
                kind="int" if integer else "float",
                initial=current,
            )
        )
    if not out:
        raise UsageError("calibrate: no parameters to fit; give --params dotted.key[=LOW:HIGH] (or "
                         "list them under `parameters:` in the targets file).")
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
    """One evaluation: the parameters, each target metric by replication, the loss and its run time.
    """
    params: dict[str, float]
    per_replication: dict[str, np.ndarray]  # metric -> values by replication
    loss: float
    seconds: float
    curves: dict[str, np.ndarray] | None = None  # name -> (R, G)
    invalid: str | None = None

    def mean(self, metric: str) -> float:
        """The mean of ``metric`` over the replications where it is defined."""
        x = self.per_replication.get(metric)
        if x is None:
            return math.nan
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else math.nan


class Calibrator:
    """Evaluates parameter vectors on a fixed set of replications (common random numbers)."""

    def __init__(self, base: dict, origin: str, targets: TargetSet, parameters: list[Param], *,
                 replications: int, seed: int, executor, echo: Callable[[str], None] | None = None):
        """The calibrator of ``parameters`` of the raw scenario ``base`` against ``targets``."""
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
        """The parameters' values at unit coordinates ``u``."""
        return {
            p.key: round_value(p.value(ui), p.integer, 10)
            for p, ui in zip(self.parameters, u, strict=True)
        }

    def scenario_at(self, values: dict[str, float]) -> Scenario:
        """The scenario with ``values`` set (a ScenarioError if it is invalid)."""
        return validate(set_values(self.base, values), self.origin)

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(
        self, values: dict[str, float], *, curves: bool = False, log: bool = True
    ) -> Evaluation:
        """Simulate ``values`` on the fixed replications (or take them from the cache) and score
        them."""
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
            raise ValleysimError(f"calibrate: replication {bad[0]['task'].replication} failed at "
                                 f"{values}: "
                                 f"{bad[0]['error']}\n{bad[0].get('traceback', '')}".rstrip())
        metrics = [p.metric for p in self.targets.points]
        per = {
            m: np.array([r["probe"]["values"][m] for r in results], dtype=float) for m in metrics
        }
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
        self.history.append(
            {
                "evaluation": len(self.history) + 1,
                "params": dict(ev.params),
                "loss": ev.loss,
                "seconds": round(ev.seconds, 2),
                **({"invalid": ev.invalid} if ev.invalid else {}),
            }
        )
        if log and self.echo:
            shown = "  ".join(f"{k}={fmt_value(v)}" for k, v in ev.params.items())
            note = f"  invalid: {ev.invalid}" if ev.invalid else ""
            self.echo(f"[{len(self.history):3d}] loss {ev.loss:9.4f}  best {best:9.4f}  {shown}  "
                      f"({ev.seconds:.1f} s){note}")

    def objective(self, u: np.ndarray) -> float:
        """The loss at unit coordinates ``u`` (what the optimiser minimises)."""
        return self.evaluate(self.values_at(u)).loss


# ----------------------------------------------------------------------------------------------
# the fit
# ----------------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """A finished fit: the parameters, their fitted values, the first and last evaluations and the
    history."""
    parameters: list[Param]
    fitted: dict[str, float]
    initial: Evaluation
    final: Evaluation
    history: list[dict]
    evaluations: int
    message: str
    seconds: float


def fit(cal: Calibrator, *, max_evals: int = 60, method: str = "nelder-mead") -> CalibrationResult:
    """Minimise the loss over the parameters' box; evaluate the start and the (rounded) optimum with
    curves."""
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


