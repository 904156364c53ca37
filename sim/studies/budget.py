"""The budget problem of an optimisation: candidates in the unit cube -> repaired, validated
scenarios and their cost.

**Cost and budget.** A candidate's cost is its *planned* cost
(:func:`sim.analysis.costs.planned_cost`), known from the levers before simulating, and never below
what the simulation spends. A candidate over budget is *repaired* before it runs: every
cost-relevant variable moves along a straight line towards its cheapest value (closed centres, later
openings, smaller grants and budgets) by the smallest step that fits the budget (bisection). A
centre's variable is a priority (open at 0.5 or more), so on that line the lowest-priority centres
close first. Every simulated candidate therefore costs at most the budget.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..analysis.costs import planned_cost
from ..errors import ScenarioError, UsageError
from ..metadata import OptimizeInfo
from ..scenario.economy import check_same_economy
from ..scenario.keys import get_key, set_key
from ..scenario.loader import SHIPPED, base_data, resolved_dict, scenario_hash, validate
from ..scenario.schema import Scenario
from .levers import Lever, make_levers, split_levers

ROOT = Path(__file__).resolve().parents[2]
OBJECTIVES = {"additional_survivors_5y": "survivors_5y", "additional_jobs": "jobs_end"}
OUTCOME = {"additional_survivors_5y": "survivors", "additional_jobs": "jobs"}
"""The decision outcome (:data:`sim.analysis.decision.OUTCOMES`) a robust search values: the net
benefit of additional 5-year survivors or of additional jobs of the cohort window."""
CANDIDATE = "candidate"


# ----------------------------------------------------------------------------------------------
def _resolve_path(p, what: str) -> Path:
    path = Path(p)
    for c in (path, ROOT / path, SHIPPED / path.name, SHIPPED / f"{path}.yaml"):
        if c.is_file():
            return c
    raise UsageError(f"{what} {p}: no such scenario file (looked in the current folder and "
                     f"{SHIPPED}).")


def _load(path: Path, overrides) -> tuple[dict, Scenario]:
    data = base_data(path, overrides)
    return data, validate(copy.deepcopy(data), origin=str(path))


def plan_optimize(
    file,
    *,
    budget,
    levers,
    objective,
    counterfactual,
    baseline,
    evaluations,
    finalists,
    final_replications,
    replications,
    seed,
    overrides=(),
    crn=True,
    robust: dict | None = None,
) -> OptimizeInfo:
    """Everything an optimisation needs, checked and resolved (the scenarios, the levers, the
    budget). ``robust``: ``objective``, ``percentile``, ``wtp_krw``, ``posterior`` (a
    posterior.parquet) and ``draws`` (K) of a search over posterior draws (``optimize --robust``),
    or None."""
    if objective not in OBJECTIVES:
        raise UsageError(f"--objective: expected one of {sorted(OBJECTIVES)}, found {objective!r}.")
    file = Path(file)
    data, base = _load(file, overrides)
    cf_path = _resolve_path(counterfactual, "--counterfactual")
    _, cf = _load(cf_path, overrides)
    bl_path = _resolve_path(baseline, "--baseline") if baseline else None
    bl = _load(bl_path, overrides)[1] if bl_path else None
    lv = make_levers(levers, data, base)
    if budget == "baseline":
        if bl is None:
            raise UsageError("--budget-krw baseline: needs a --baseline scenario.")
        b = planned_cost(bl)["total_krw"]
    else:
        b = float(budget)
    if bl is not None and bl.name == cf.name:
        raise UsageError(f"--baseline and --counterfactual are both named {cf.name!r}; give "
                         "different scenarios.")
    check_same_economy((cf.name, cf, cf_path),
                       [(base.name, base, file), *([(bl.name, bl, bl_path)] if bl else [])],
                       study="optimize")
    extra = {}
    if robust is not None:
        extra = _robust_plan(robust, replications, final_replications, seed, bl is not None)
        extra["counterfactual_data"] = base_data(cf_path, overrides)
        extra["baseline_data"] = base_data(bl_path, overrides) if bl_path else None
        replications = extra.pop("replications")
        final_replications = extra.pop("final_replications")
    return OptimizeInfo(
        file=str(file),
        base_name=base.name,
        data=data,
        levers=tuple(asdict(x) for x in lv),
        budget_krw=b,
        budget_given=str(budget),
        objective=objective,
        counterfactual=resolved_dict(cf),
        counterfactual_file=str(cf_path),
        baseline=resolved_dict(bl) if bl else None,
        baseline_file=str(bl_path) if bl_path else None,
        lever_texts=tuple(split_levers(levers)),
        evaluations=evaluations,
        finalists=finalists,
        final_replications=final_replications,
        replications=replications,
        seed=seed,
        overrides=tuple(overrides),
        crn=crn,
        **extra,
    )


def _robust_plan(robust: dict, replications, final_replications, seed, has_baseline) -> dict:
    """The robust search's facts: its objective, the draws picked (the study's seed), and how many
    replications the search and the final check run (at least one, respectively two, per draw;
    defaults one and two per draw)."""
    from ..analysis.robust import OBJECTIVES as ROBUST
    from ..scenario.draws import DEFAULT_DRAWS, SHIPPED_POSTERIOR, load_draws

    objective = robust.get("objective") or "expected"
    if objective not in ROBUST:
        raise UsageError(f"--robust-objective: expected one of {', '.join(ROBUST)}, found "
                         f"{objective!r}.")
    k = robust.get("draws") or DEFAULT_DRAWS
    n = replications if replications is not None else k
    final = final_replications if final_replications is not None else 2 * k
    if n < k or final < k:
        raise UsageError(f"optimize --robust over {k} posterior draws: every draw needs at least "
                         f"one replication in the search (-n {n}) and in the final check "
                         f"(--final-replications {final}); give -n {k} and --final-replications "
                         f"{2 * k} or more, or fewer --draws.")
    if robust.get("wtp_krw") is None and not has_baseline:
        raise UsageError("optimize --robust: give --wtp KRW (the value of one more 5-year survivor "
                         "or job), or a --baseline whose public cost per additional unit sets "
                         "it.")
    path = robust.get("posterior") or SHIPPED_POSTERIOR
    draws = load_draws(path, k, seed)
    return {
        "robust": True,
        "robust_objective": objective,
        "percentile": float(robust.get("percentile", 10.0)),
        "wtp_krw": robust.get("wtp_krw"),
        "wtp_source": "given" if robust.get("wtp_krw") is not None else "baseline",
        "posterior": {"file": str(path), "draws": k, "source": draws.source},
        "draws": draws.to_json(),
        "replications": n,
        "final_replications": final,
    }


def metric_of(info: OptimizeInfo) -> str:
    """The per-replication metric an optimisation's objective is the difference of."""
    return OBJECTIVES[info.objective]


def levers_of(info: OptimizeInfo) -> list[Lever]:
    """An optimisation's levers as :class:`~sim.studies.levers.Lever` objects."""
    return [Lever(**d) for d in info.levers]


class BudgetProblem:
    """Candidates (unit vectors) -> repaired, validated scenarios with their planned costs."""

    def __init__(self, spec: OptimizeInfo):
        """The problem of ``spec``: its levers, budget, base allocation and cheaper directions."""
        self.spec = spec
        self.levers = levers_of(spec)
        self.k = len(self.levers)
        self.budget = spec.budget_krw
        self._scen_cache: dict[tuple, tuple[Scenario, float]] = {}
        self.base_u = self._base_units()
        self.cheap = self._cheap_directions()

    # -- mapping ---------------------------------------------------------------------------------
    def allocation(self, u) -> dict:
        """The scenario keys and values the candidate ``u`` sets."""
        out = {}
        for lv, x in zip(self.levers, u, strict=True):
            out.update(lv.assignments(x))
        return out

    def shown(self, u) -> dict:
        """Each lever's value at ``u``, as a planner reads it."""
        return {lv.label: lv.shown(x) for lv, x in zip(self.levers, u, strict=True)}

    def _quantise(self, u) -> tuple:
        """Candidates mapping to the same scenario share a cache entry."""
        return tuple(json.dumps(v, sort_keys=True) for v in self.allocation(u).items())

    def data_of(self, u) -> dict:
        """The candidate's scenario data before validation (the base file's data with the
        allocation set; named ``candidate``)."""
        data = copy.deepcopy(self.spec.data)
        for key, val in self.allocation(u).items():
            set_key(data, key, val)
        data["name"] = CANDIDATE
        data["description"] = ""
        return data

    def scenario(self, u) -> tuple[Scenario, float]:
        """The candidate's scenario (named ``candidate``) and its planned cost."""
        q = self._quantise(u)
        hit = self._scen_cache.get(q)
        if hit is not None:
            return hit
        data = self.data_of(u)
        try:
            sc = validate(data, origin=f"{self.spec.file} (candidate)")
        except ScenarioError:
            sc = None
        out = (sc, planned_cost(sc)["total_krw"] if sc is not None else math.inf)
        if len(self._scen_cache) > 20_000:
            self._scen_cache.clear()
        self._scen_cache[q] = out
        return out

    def cost(self, u) -> float:
        """The candidate's planned cost (KRW; infinite when it is not a valid scenario)."""
        return self.scenario(u)[1]

    # -- base allocation and repair --------------------------------------------------------------
    def _base_units(self) -> np.ndarray:
        """The base scenario's own allocation in unit coordinates (clipped to the ranges)."""
        base = validate(copy.deepcopy(self.spec.data), origin=self.spec.file)
        resolved = resolved_dict(base)
        rates = {
            c: base.regions[cfg.region].founding_rate_per_year for c, cfg in base.centres.items()
        }
        opened = sorted(
            (c for c, cfg in base.centres.items() if cfg.enabled), key=lambda c: (rates[c], c)
        )
        u = np.zeros(self.k)
        for i, lv in enumerate(self.levers):
            if lv.kind == "param":
                p = lv.range_param()
                vals = []
                for t in p.targets:
                    node = get_key(resolved, t)
                    if isinstance(node, (int, float)):
                        vals.append(float(node))
                v = float(np.mean(vals)) if vals else p.low
                if p.relative:
                    v = 1.0
                u[i] = min(max(p.unit(v) if p.kind != "bool" else v, 0.0), 1.0)
            elif lv.kind == "open":
                # open centres get priorities above 0.5, larger regions higher: the baseline,
                # repaired to a smaller budget, closes centres in the smallest regions first
                u[i] = (
                    (0.55 + 0.45 * (opened.index(lv.centre) + 1) / len(opened))
                    if lv.centre in opened
                    else 0.0
                )
            else:
                u[i] = 0.0
        return u

    def _cheap_directions(self) -> np.ndarray:
        """For each variable, its cheaper end (0 or 1), or NaN when it does not change the cost."""
        refs = [self.base_u, np.full(self.k, 0.5), np.ones(self.k), np.zeros(self.k)]
        out = np.full(self.k, np.nan)
        for i in range(self.k):
            for r in refs:
                lo, hi = r.copy(), r.copy()
                lo[i], hi[i] = 0.0, 1.0
                c0, c1 = self.cost(lo), self.cost(hi)
                if (
                    math.isfinite(c0)
                    and math.isfinite(c1)
                    and abs(c0 - c1) > 1e-6 * max(1.0, abs(c0))
                ):
                    out[i] = 0.0 if c0 < c1 else 1.0
                    break
        return out

    def cheapest(self, u=None) -> np.ndarray:
        """``u`` with every cost-relevant variable at its cheaper end."""
        u = self.base_u if u is None else np.asarray(u, float)
        return np.where(np.isfinite(self.cheap), self.cheap, u)

    def repair(self, u) -> tuple[np.ndarray, bool]:
        """The candidate moved towards its cheapest point just enough to fit the budget.

        Returns (repaired u, feasible). Infeasible only if even the cheapest point is over budget.
        """
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        if self.cost(u) <= self.budget:
            return u, True
        c = self.cheapest(u)
        if not self.cost(c) <= self.budget:
            return c, False
        lo, hi = 0.0, 1.0  # cost(c + lo (u - c)) <= budget < cost(c + hi (u - c))
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if self.cost(c + mid * (u - c)) <= self.budget:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-7:
                break
        return c + lo * (u - c), True


def allocation_hash(sc: Scenario) -> str:
    """Hash of a scenario ignoring its name and description (equal allocations, equal hash)."""
    return scenario_hash(sc.model_copy(update={"name": CANDIDATE, "description": ""}))



