"""Budget allocation by simulation optimisation: which levers, which regions, for a fixed budget.

The decision variables (:class:`Lever`) live in the unit cube; each maps to scenario keys:

==================== ======================================= ==========================
lever                sets                                    default range
==================== ======================================= ==========================
seats                centres.*.seats                         10 .. 100
intake_size          centres.*.intake_size                   5 .. 40
grant_size           centres.*.grants.per_startup_krw        0 .. 100 M KRW
grants_per_round     centres.*.grants.per_round              0 .. 40
grant_budget         centres.*.grants.annual_budget_krw      0 .. 3 bn KRW
conglomerate_budget  conglomerates.*.annual_budget_krw       0 .. 20 bn KRW
residency            centres.*.residency_months              3 .. 24
centres              centres.NAME.enabled, one per centre    open / closed
opening              centres.NAME.opens, one per centre      0 .. 24 months later
regional_seats       centres.NAME.seats, one per centre      10 .. 100
==================== ======================================= ==========================

``NAME=LOW:HIGH`` changes a range, ``centres=Seoul+Busan`` limits a per-centre lever to some
centres, and any ``KEY=LOW:HIGH`` (as in ``sweep``) is a lever too.

**Cost and budget.** A candidate's cost is its *planned* cost (:func:`sim.analysis.costs.planned_cost`),
known from the levers before simulating, and never below what the simulation spends. A candidate
over budget is *repaired* before it runs: every cost-relevant variable moves along a straight
line towards its cheapest value (closed centres, later openings, smaller grants and budgets) by
the smallest step that fits the budget (bisection). A centre's variable is a priority (open at
0.5 or more), so on that line the lowest-priority centres close first. Every simulated candidate
therefore costs at most the budget.

**Search.** ``scipy.optimize.differential_evolution`` (vectorised: a whole generation is
simulated in parallel through the experiment executors) maximises the objective, the mean over
a fixed set of replications of the candidate's metric minus the counterfactual's (common random
numbers: replication r of every candidate and of the counterfactual sees the same start-ups, so
the objective is a smooth-ish deterministic function and comparisons are paired). The initial
population holds the base scenario's own allocation (repaired to the budget).

**Cache and resume.** Every simulated (candidate, replication) is appended to
``evaluations.jsonl`` in the results folder, keyed by the hash of the candidate's resolved
scenario. The search is deterministic given its seed and the objective values, so a restarted
run replays it from the cache and simulates only what is missing.

**Ranking and selection.** The best few distinct candidates, the baseline and the counterfactual
are re-run on fresh replications (a different root seed, so the search's lucky draws do not
follow the winner) as an ordinary experiment in ``final/``; the best mean wins, with paired CIs
against the counterfactual, the baseline and each other finalist.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import math
import os
import shlex
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..analysis.costs import planned_cost
from ..analysis.stats import paired_difference, summarize
from ..errors import ScenarioError, UsageError, ValleysimError
from ..scenario.loader import (
    SHIPPED,
    dump_yaml,
    parse_override,
    resolved_dict,
    scenario_hash,
    validate,
)
from ..scenario.schema import Scenario
from .designs import Param, make_param, set_key
from .progress import Progress
from .store import atomic_write_bytes, atomic_write_json
from .task import Task, run_task

ROOT = Path(__file__).resolve().parents[2]
OBJECTIVES = {"additional_survivors_5y": "survivors_5y", "additional_jobs": "jobs_end"}
KEPT_METRICS = ("survivors_5y", "jobs_end", "survival_5y", "supported", "programme_cost_krw", "grants_krw",
                "conglomerate_investment_krw", "operating_cost_krw")
CATALOGUE = {
    "seats": ("centres.*.seats", 10, 100),
    "intake_size": ("centres.*.intake_size", 5, 40),
    "grant_size": ("centres.*.grants.per_startup_krw", 0, 100_000_000),
    "grants_per_round": ("centres.*.grants.per_round", 0, 40),
    "grant_budget": ("centres.*.grants.annual_budget_krw", 0, 3_000_000_000),
    "conglomerate_budget": ("conglomerates.*.annual_budget_krw", 0, 20_000_000_000),
    "residency": ("centres.*.residency_months", 3, 24),
}
PER_CENTRE = {"centres": (0, 1), "opening": (0, 24), "regional_seats": (10, 100)}
CANDIDATE = "candidate"


class Interrupted(ValleysimError):
    exit_code = 130


# ----------------------------------------------------------------------------------------------
# levers
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """One decision variable: u in [0, 1] -> scenario keys."""

    label: str
    kind: str  # param | open | delay
    param: dict | None = None  # Param.to_json() for kind "param"
    centre: str | None = None
    low: float = 0.0
    high: float = 1.0
    base_opens: str | None = None  # for delay

    def _p(self) -> Param:
        return Param.from_json(self.param)

    def assignments(self, u: float) -> dict:
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "param":
            p = self._p()
            return p.assignments(p.value(u))
        if self.kind == "open":
            return {f"centres.{self.centre}.enabled": bool(u >= 0.5)}
        months = int(round(self.low + u * (self.high - self.low)))
        return {f"centres.{self.centre}.opens": _add_months(self.base_opens, months)}

    def shown(self, u: float) -> str:
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "param":
            p = self._p()
            v = p.value(u)
            if p.kind == "int":
                return str(int(v))
            if p.kind == "bool":
                return "true" if v >= 0.5 else "false"
            if p.key.endswith("_krw") and not p.relative:
                return f"{v / 1e9:,.2f} bn KRW" if abs(v) >= 1e9 else f"{v / 1e6:,.1f} M KRW"
            return f"{v:,.4g}"
        if self.kind == "open":
            return "open" if u >= 0.5 else "closed"
        months = int(round(self.low + u * (self.high - self.low)))
        return f"{_add_months(self.base_opens, months)} (+{months} months)"

    @property
    def range(self) -> str:
        if self.kind == "param":
            p = self._p()
            return f"{p.low:,.6g} .. {p.high:,.6g}"
        if self.kind == "open":
            return "open/closed"
        return f"+{self.low:g} .. +{self.high:g} months"


def _add_months(date: str, months: int) -> str:
    y, m = int(date[:4]), int(date[5:7])
    k = y * 12 + (m - 1) + months
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def _split_levers(texts) -> list[str]:
    out = []
    for t in texts:
        for part in str(t).split(","):
            if part.strip():
                out.append(part.strip())
    return out


def make_levers(texts, data: dict, base: Scenario) -> list[Lever]:
    """Parse --levers against the base scenario (raw ``data`` for ``*``, validated ``base``)."""
    resolved = resolved_dict(base)
    levers: list[Lever] = []
    for text in _split_levers(texts):
        name, eq, rest = text.partition("=")
        name = name.strip()
        if name in CATALOGUE:
            key, lo, hi = CATALOGUE[name]
            rng = rest.strip() if eq else f"{lo}:{hi}"
            if not _has_targets(data, key):
                raise UsageError(f"--levers {name}: the scenario has no entries for {key}.")
            p = _money_step(make_param(f"{key}={rng}", data, resolved, option=f"--levers {name}"))
            levers.append(Lever(label=name, kind="param", param=p.to_json()))
        elif name in PER_CENTRE:
            centres = list(base.centres)
            lo, hi = PER_CENTRE[name]
            if eq and ":" in rest:
                if name == "centres":
                    raise UsageError("--levers centres: takes a list of centres (centres=Seoul+Busan), not a range.")
                lo_s, _, hi_s = rest.partition(":")
                try:
                    lo, hi = float(lo_s), float(hi_s)
                except ValueError:
                    raise UsageError(f"--levers {text!r}: expected {name}=LOW:HIGH with numbers.") from None
                if not lo < hi:
                    raise UsageError(f"--levers {text!r}: expected LOW < HIGH.")
            elif eq:
                wanted = [c.strip() for c in rest.split("+") if c.strip()]
                unknown = [c for c in wanted if c not in base.centres]
                if unknown:
                    raise UsageError(f"--levers {name}: {unknown} are not centres of the scenario; expected some of "
                                     f"{centres}.")
                centres = wanted
            if not centres:
                raise UsageError(f"--levers {name}: the scenario has no centres.")
            for c in centres:
                if name == "centres":
                    levers.append(Lever(label=f"centres.{c}", kind="open", centre=c))
                elif name == "opening":
                    cal = base.calendar
                    room = int(cal.horizon_months - 1 - cal.month(base.centres[c].opens))
                    if room < 1:
                        raise UsageError(f"--levers opening: centre {c} opens in the calendar's last month; "
                                         "it cannot open later.")
                    levers.append(Lever(label=f"opening.{c}", kind="delay", centre=c, low=min(lo, room),
                                        high=min(hi, room), base_opens=base.centres[c].opens))
                else:
                    p = make_param(f"centres.{c}.seats={lo:g}:{hi:g}", data, resolved, option="--levers regional_seats")
                    levers.append(Lever(label=f"seats.{c}", kind="param", param=p.to_json()))
        elif eq:
            p = _money_step(make_param(text, data, resolved, option="--levers"))
            levers.append(Lever(label=p.key, kind="param", param=p.to_json()))
        else:
            raise UsageError(f"--levers {text!r}: expected one of {', '.join([*CATALOGUE, *PER_CENTRE])}, "
                             "NAME=LOW:HIGH, or a scenario KEY=LOW:HIGH.")
    seen = {}
    for lv in levers:
        keys = lv.assignments(0.5).keys()
        for k in keys:
            if k in seen:
                raise UsageError(f"--levers: {k} is set by both {seen[k]} and {lv.label}; give each once.")
            seen[k] = lv.label
    if not levers:
        raise UsageError("--levers: give at least one lever.")
    return levers


def _money_step(p: Param) -> Param:
    """Money levers move in steps of about a thousandth of their range (e.g. 100,000 KRW)."""
    if p.kind == "float" and p.key.endswith("_krw") and not p.relative and p.high > 0:
        return replace(p, step=10.0 ** (math.floor(math.log10(p.high)) - 3))
    return p


def _has_targets(data: dict, key: str) -> bool:
    head = key.split(".*")[0]
    node = data
    for p in head.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    return isinstance(node, dict) and bool(node)


# ----------------------------------------------------------------------------------------------
# the problem
# ----------------------------------------------------------------------------------------------
def _resolve_path(p, what: str) -> Path:
    path = Path(p)
    for c in (path, ROOT / path, SHIPPED / path.name, SHIPPED / f"{path}.yaml"):
        if c.is_file():
            return c
    raise UsageError(f"{what} {p}: no such scenario file (looked in the current folder and {SHIPPED}).")


def _load(path: Path, overrides) -> tuple[dict, Scenario]:
    from .sweep import base_data

    data = base_data(path, overrides)
    return data, validate(copy.deepcopy(data), origin=str(path))


@dataclass
class OptimizeSpec:
    """Everything an optimisation needs, stored in its manifest (so resume ignores edited files)."""

    file: str
    base_name: str
    data: dict  # the base file merged (extends, --set), not yet validated
    levers: list[Lever]
    budget_krw: float
    budget_given: str
    objective: str
    counterfactual: dict  # resolved
    counterfactual_file: str
    baseline: dict | None  # resolved
    baseline_file: str | None
    lever_texts: list[str] = field(default_factory=list)
    evaluations: int = 40
    finalists: int = 3
    final_replications: int = 8
    replications: int = 2
    seed: int = 20140902
    overrides: list[str] = field(default_factory=list)
    crn: bool = True

    @classmethod
    def build(cls, file, *, budget, levers, objective, counterfactual, baseline, evaluations, finalists,
              final_replications, replications, seed, overrides=(), crn=True) -> OptimizeSpec:
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
            raise UsageError(f"--baseline and --counterfactual are both named {cf.name!r}; give different scenarios.")
        return cls(file=str(file), base_name=base.name, data=data, levers=lv, budget_krw=b, budget_given=str(budget),
                   objective=objective, counterfactual=resolved_dict(cf), counterfactual_file=str(cf_path),
                   baseline=resolved_dict(bl) if bl else None, baseline_file=str(bl_path) if bl_path else None,
                   lever_texts=_split_levers(levers), evaluations=evaluations, finalists=finalists,
                   final_replications=final_replications, replications=replications, seed=seed,
                   overrides=list(overrides), crn=crn)

    def to_json(self) -> dict:
        d = asdict(self)
        d["levers"] = [asdict(lv) for lv in self.levers]
        return d

    @classmethod
    def from_json(cls, d: dict) -> OptimizeSpec:
        d = dict(d)
        d["levers"] = [Lever(**lv) for lv in d["levers"]]
        return cls(**d)

    @property
    def metric(self) -> str:
        return OBJECTIVES[self.objective]


class Problem:
    """Candidates (unit vectors) -> repaired, validated scenarios with their planned costs."""

    def __init__(self, spec: OptimizeSpec):
        self.spec = spec
        self.k = len(spec.levers)
        self.budget = spec.budget_krw
        self._scen_cache: dict[tuple, tuple[Scenario, float]] = {}
        self.base_u = self._base_units()
        self.cheap = self._cheap_directions()

    # -- mapping ---------------------------------------------------------------------------------
    def allocation(self, u) -> dict:
        out = {}
        for lv, x in zip(self.spec.levers, u, strict=True):
            out.update(lv.assignments(x))
        return out

    def shown(self, u) -> dict:
        return {lv.label: lv.shown(x) for lv, x in zip(self.spec.levers, u, strict=True)}

    def _quantise(self, u) -> tuple:
        """Candidates mapping to the same scenario share a cache entry."""
        return tuple(json.dumps(v, sort_keys=True) for v in self.allocation(u).items())

    def scenario(self, u) -> tuple[Scenario, float]:
        """The candidate's scenario (named ``candidate``) and its planned cost."""
        q = self._quantise(u)
        hit = self._scen_cache.get(q)
        if hit is not None:
            return hit
        data = copy.deepcopy(self.spec.data)
        for key, val in self.allocation(u).items():
            set_key(data, key, val)
        data["name"] = CANDIDATE
        data["description"] = ""
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
        return self.scenario(u)[1]

    # -- base allocation and repair --------------------------------------------------------------
    def _base_units(self) -> np.ndarray:
        """The base scenario's own allocation in unit coordinates (clipped to the ranges)."""
        base = validate(copy.deepcopy(self.spec.data), origin=self.spec.file)
        resolved = resolved_dict(base)
        rates = {c: base.regions[cfg.region].founding_rate_per_year for c, cfg in base.centres.items()}
        opened = sorted((c for c, cfg in base.centres.items() if cfg.enabled), key=lambda c: (rates[c], c))
        u = np.zeros(self.k)
        for i, lv in enumerate(self.spec.levers):
            if lv.kind == "param":
                p = lv._p()
                vals = []
                for t in p.targets:
                    node = resolved
                    for part in t.split("."):
                        node = node.get(part) if isinstance(node, dict) else None
                    if isinstance(node, (int, float)):
                        vals.append(float(node))
                v = float(np.mean(vals)) if vals else p.low
                if p.relative:
                    v = 1.0
                u[i] = min(max(p.unit(v) if p.kind != "bool" else v, 0.0), 1.0)
            elif lv.kind == "open":
                # open centres get priorities above 0.5, larger regions higher: the baseline,
                # repaired to a smaller budget, closes centres in the smallest regions first
                u[i] = (0.55 + 0.45 * (opened.index(lv.centre) + 1) / len(opened)) if lv.centre in opened else 0.0
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
                if math.isfinite(c0) and math.isfinite(c1) and abs(c0 - c1) > 1e-6 * max(1.0, abs(c0)):
                    out[i] = 0.0 if c0 < c1 else 1.0
                    break
        return out

    def cheapest(self, u=None) -> np.ndarray:
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


# ----------------------------------------------------------------------------------------------
# the evaluation cache
# ----------------------------------------------------------------------------------------------
class Cache:
    """Append-only JSON-lines files: one line per simulated (candidate, replication)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / "evaluations.jsonl"
        self.cand_path = self.root / "candidates.jsonl"
        self.values: dict[tuple[str, int, int], dict] = {}
        self.candidates: dict[str, dict] = {}
        for line in _lines(self.path):
            self.values[(line["key"], int(line["seed"]), int(line["replication"]))] = line["metrics"]
        for line in _lines(self.cand_path):
            self.candidates[line["key"]] = line

    def get(self, key: str, seed: int, r: int) -> dict | None:
        return self.values.get((key, seed, r))

    def put(self, key: str, seed: int, r: int, metrics: dict) -> None:
        m = {k: metrics.get(k) for k in KEPT_METRICS}
        self.values[(key, seed, r)] = m
        _append(self.path, {"key": key, "seed": seed, "replication": r, "metrics": m})

    def put_candidate(self, key: str, record: dict) -> None:
        if key not in self.candidates:
            self.candidates[key] = record
            _append(self.cand_path, record)


def _lines(path: Path):
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            raw = raw.strip()
            if not raw:
                continue
            try:
                yield json.loads(raw)
            except ValueError:
                continue  # a line cut short by a crash: that evaluation simply runs again


def _append(path: Path, obj: dict) -> None:
    from ..errors import ResultsError

    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write the evaluation cache ({exc.strerror}).", path=path) from None


# ----------------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _versions() -> dict:
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("valleysim", "simpy", "numpy", "scipy", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


class Optimizer:
    def __init__(self, spec: OptimizeSpec, root: Path, executor, *, progress: bool = True, echo=print,
                 problem: Problem | None = None):
        self.spec = spec
        self.root = Path(root)
        self.executor = executor
        self.progress = progress
        self.echo = echo
        self.problem = problem or Problem(spec)
        self.cache = Cache(self.root)
        self.cf = Scenario.model_validate(spec.counterfactual)
        self.cf_key = allocation_hash(self.cf)
        self.records: dict[str, dict] = {}  # key -> candidate record with objective
        self.history: list[dict] = []
        self.simulated = 0
        self.hits = 0
        self.generation = 0

    # -- simulation through the executor ---------------------------------------------------------
    def _simulate(self, jobs: list[tuple[str, Scenario]], reps, seed: int) -> None:
        """Run every (scenario, replication) not yet cached, in parallel; cache the metrics."""
        todo = []
        names = {}
        for key, sc in jobs:
            for r in reps:
                if self.cache.get(key, seed, r) is None and (key, r) not in names:
                    names[(key, r)] = sc
                    todo.append((key, sc, r))
        if not todo:
            return
        digests = {}
        argsets = []
        for i, (key, sc, r) in enumerate(todo):
            if key not in digests:
                digests[key] = (resolved_dict(sc), scenario_hash(sc))
            resolved, digest = digests[key]
            argsets.append((resolved, digest, Task(i, key, r), seed, self.spec.crn, False))
        with Progress(len(argsets), enabled=self.progress, echo=self.echo) as bar:
            for result in self.executor.run(run_task, argsets):
                t = result["task"]
                if "error" in result:
                    raise ValleysimError(
                        f"a candidate's simulation failed ({result['error']}); the evaluations so far are cached in "
                        f"{self.root}. Fix the cause, then continue with: python run_sim.py resume "
                        f"{shlex.quote(str(self.root))}\n{result['traceback']}")
                self.cache.put(t.scenario, seed, t.replication, result["metrics"])
                self.simulated += 1
                bar.update(result.get("startups_count", 0))
        from . import interrupts

        interrupts.check()  # a Ctrl-C noted while the executor waited

    def _objective(self, key: str, reps, seed: int) -> tuple[float, np.ndarray]:
        m = self.spec.metric
        d = np.array([self.cache.get(key, seed, r)[m] - self.cache.get(self.cf_key, seed, r)[m] for r in reps], float)
        return float(np.mean(d)), d

    # -- the vectorised objective ---------------------------------------------------------------
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """DE's population (k, S) -> minus the objective of each (repaired) candidate."""
        pop = np.atleast_2d(x).T  # DE hands over (variables, candidates)
        reps = range(self.spec.replications)
        seed = self.spec.seed
        cands = []
        for u in pop:
            ur, ok = self.problem.repair(u)
            sc, cost = self.problem.scenario(ur)
            if not ok or sc is None or cost > self.spec.budget_krw:
                cands.append(None)
                continue
            key = allocation_hash(sc)
            cands.append((key, sc, ur, cost))
        jobs = [(self.cf_key, self.cf)] + [(c[0], c[1]) for c in cands if c is not None]
        requested = len({j[0] for j in jobs}) * len(reps)
        before = self.simulated
        self._simulate(jobs, reps, seed)
        out = np.empty(len(pop))
        values = []
        for j, c in enumerate(cands):
            if c is None:
                out[j] = 1e18  # never chosen; nothing simulated
                continue
            key, sc, ur, cost = c
            val, _ = self._objective(key, reps, seed)
            if key not in self.records:
                rec = {"key": key, "units": [float(v) for v in ur], "allocation": _plain(self.problem.allocation(ur)),
                       "shown": self.problem.shown(ur), "planned_cost_krw": cost,
                       "planned": planned_cost(sc), "objective": val}
                self.records[key] = rec
                self.cache.put_candidate(key, {k: rec[k] for k in ("key", "units", "allocation", "planned_cost_krw")})
            out[j] = -val
            values.append(val)
        new = self.simulated - before
        self.hits += requested - new
        best = max((r["objective"] for r in self.records.values()), default=float("nan"))
        self.history.append({"generation": self.generation, "candidates": len(pop), "simulated": new,
                             "best": best, "median": float(np.median(values)) if values else float("nan")})
        if self.progress:
            total = self.spec.evaluations // self._popsize() - 1
            self.echo(f"generation {self.generation}/{total}: {len(pop)} candidates, {new} replications simulated, "
                      f"best {self.spec.objective} so far {best:,.1f}")
        self.generation += 1
        return out

    def _popsize(self) -> int:
        k = self.problem.k
        return int(max(5, min(15 * k, self.spec.evaluations // 4, 40)))

    def search(self) -> None:
        from scipy.optimize import differential_evolution
        from scipy.stats import qmc

        k = self.problem.k
        pop = self._popsize()
        gens = max(0, self.spec.evaluations // pop - 1)
        init = qmc.LatinHypercube(d=k, rng=np.random.default_rng(self.spec.seed)).random(pop)
        init[0] = self.problem.repair(self.problem.base_u)[0]
        self.echo(f"optimize: {k} decision variable(s), population {pop}, {gens} generation(s), "
                  f"{self.spec.replications} replication(s) per candidate (common random numbers), budget "
                  f"{self.spec.budget_krw / 1e9:,.1f} bn KRW")
        if gens == 0:
            self.evaluate(init.T)
            return
        differential_evolution(self.evaluate, bounds=[(0.0, 1.0)] * k, init=init, maxiter=gens, popsize=pop,
                               rng=np.random.default_rng(self.spec.seed), polish=False, tol=0.0, atol=0.0,
                               updating="deferred", vectorized=True, mutation=(0.5, 1.0), recombination=0.7)

    # -- ranking and selection --------------------------------------------------------------------
    def final(self, command) -> dict:
        from .runner import ExperimentSpec, resume_experiment, run_experiment

        spec = self.spec
        ranked = sorted(self.records.values(), key=lambda r: (-r["objective"], r["key"]))
        finalists = ranked[:spec.finalists]
        if not finalists:
            raise ValleysimError("optimize: no candidate within the budget could be evaluated.")
        scenarios = {}
        cf = self.cf
        scenarios[cf.name] = cf
        bl = None
        if spec.baseline:
            bl = Scenario.model_validate(spec.baseline)
            scenarios[bl.name] = bl
        names = {}
        for i, rec in enumerate(finalists, 1):
            sc, _ = self.problem.scenario(rec["units"])
            name = f"finalist-{i}"
            names[name] = rec
            scenarios[name] = sc.model_copy(update={"name": name})
        comparisons = [(n, cf.name) for n in scenarios if n != cf.name]
        if bl is not None:
            comparisons += [(n, bl.name) for n in names]
        fseed = spec.seed + 1
        fspec = ExperimentSpec(scenarios=scenarios, replications=spec.final_replications, seed=fseed, crn=spec.crn,
                               keep_startups="none", comparisons=comparisons, kind="compare",
                               sources={n: spec.file for n in names}, extra={
                                   "counterfactual": cf.name, "baseline": bl.name if bl else None,
                                   "optimize": str(self.root)})
        froot = self.root / "final"
        self.echo(f"ranking and selection: {len(names)} finalist(s)"
                  f"{' + the baseline' if bl else ''} + the counterfactual, {spec.final_replications} fresh "
                  f"replications (root seed {fseed})")
        m = _read_json(froot / "manifest.json")
        if m is None:
            if froot.exists():
                shutil.rmtree(froot)
            outcome = run_experiment(fspec, froot, self.executor, progress=self.progress, command=command,
                                     echo=self.echo)
        elif m.get("status") != "complete":
            outcome = resume_experiment(froot, self.executor, progress=self.progress, echo=self.echo)
        else:
            outcome = None
        if outcome is not None and outcome.failures:
            raise ValleysimError(f"ranking and selection: {len(outcome.failures)} task(s) failed in {froot}; see "
                                 f"{froot / 'failures.json'}, then: python run_sim.py resume {shlex.quote(str(self.root))}")
        return self._final_table(froot, names, cf.name, bl, fseed)

    def _final_table(self, froot: Path, names: dict, cf: str, bl: Scenario | None, fseed: int) -> dict:
        import pyarrow.parquet as pq

        from ..analysis.summary import by_scenario

        t = pq.read_table(froot / "replications.parquet")
        cols = {n: t.column(n).to_numpy(zero_copy_only=False) for n in t.column_names}
        order = list(names) + ([bl.name] if bl else [])
        data = by_scenario(cols, [cf, *order])
        m = self.spec.metric

        def diff(a, b):
            return paired_difference(np.asarray(data[a][m], float), np.asarray(data[b][m], float))

        rows = {}
        for n in order:
            rec = names.get(n)
            sc_cost = summarize(np.asarray(data[n]["programme_cost_krw"], float))
            planned = rec["planned_cost_krw"] if rec else planned_cost(bl)["total_krw"]
            rows[n] = {"name": n, "objective": _ci(diff(n, cf)), "planned_cost_krw": planned,
                       "simulated_cost_krw": _ci(sc_cost), "metric": _ci(summarize(np.asarray(data[n][m], float))),
                       "search_objective": rec["objective"] if rec else None,
                       "allocation": rec["shown"] if rec else {}, "key": rec["key"] if rec else None}
        best = max(names, key=lambda n: (rows[n]["objective"]["mean"], -list(names).index(n)))
        for n in order:
            if n != best:
                d = diff(n, best)
                rows[n]["vs_best"] = _ci(d)
                rows[n]["indistinguishable"] = bool(d["ci_high"] is not None and d["ci_high"] >= 0)
        if bl is not None:
            rows[best]["vs_baseline"] = _ci(diff(best, bl.name))
        return {"best": best, "rows": rows, "order": order, "seed": fseed}


def _ci(d: dict) -> dict:
    out = {}
    for k in ("mean", "diff", "ci_low", "ci_high", "half_width", "n"):
        if k in d:
            v = d[k]
            out[k] = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
    if "diff" in out and "mean" not in out:
        out["mean"] = out["diff"]
    return out


def _plain(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------
def best_yaml(spec: OptimizeSpec, root: Path, rec: dict, result_line: str) -> str:
    """The best allocation as a scenario file that extends the base file."""
    file = Path(spec.file).resolve()
    if file.parent == SHIPPED and (SHIPPED / file.name).is_file():
        ref = file.stem
    else:
        ref = os.path.relpath(file, Path(root).resolve())
    body: dict = {"extends": ref, "name": f"{spec.base_name}-optimized",
                  "description": f"Best allocation of {spec.budget_krw / 1e9:,.1f} bn KRW (planned cost) found by "
                                 f"`python run_sim.py optimize` for {spec.objective}."}
    nested: dict = {}
    for text in spec.overrides:
        parts, value = parse_override(text)
        set_key(nested, ".".join(parts), value)
    for key, value in rec["allocation"].items():
        set_key(nested, key, value)
    body.update(nested)
    lines = [f"# {spec.base_name}-optimized: the best allocation found by valleysim's optimiser.",
             f"# Objective: {spec.objective} against {Path(spec.counterfactual_file).stem}; {result_line}",
             f"# Budget: {spec.budget_krw:,.0f} KRW planned cost; this allocation plans "
             f"{rec['planned_cost_krw']:,.0f} KRW.",
             f"# Levers: {', '.join(spec.lever_texts)}. Everything not listed below is as in {ref}."]
    if spec.overrides:
        lines.append(f"# Includes the run's --set overrides: {' '.join(spec.overrides)}")
    return "\n".join(lines) + "\n" + dump_yaml(body)


def _create(root: Path, force: bool) -> None:
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root}: is a file, not a folder; choose another --out.")
    if root.exists() and any(root.iterdir()):
        if not force:
            raise UsageError(f"{root}: already holds results. Choose another --out, continue an interrupted run "
                             f"with: python run_sim.py resume {root}, or pass --force to replace it.")
        if not (root / "manifest.json").exists():
            raise UsageError(f"{root}: is not a valleysim results folder (no manifest.json); refusing to delete it "
                             "even with --force.")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)


def run_optimize(spec: OptimizeSpec, root: Path, executor, *, force: bool = False, progress: bool = True,
                 echo=print, command=None) -> dict:
    """Start an optimisation in ``root`` (a new folder) and run it to the end."""
    try:
        problem = check_budget(spec)
        _create(root, force)
        manifest = {"status": "running", "kind": "optimize", "spec": spec.to_json(),
                    "command": shlex.join(command or sys.argv), "versions": _versions(), "started": _now(),
                    "ended": None}
        atomic_write_json(Path(root) / "manifest.json", manifest)
    except BaseException:
        with contextlib.suppress(Exception):
            executor.close()
        raise
    return _run(spec, Path(root), executor, progress=progress, echo=echo, command=command, problem=problem)


def check_budget(spec: OptimizeSpec) -> Problem:
    """The problem, after checking that some allocation of the levers fits the budget (else exit 2)."""
    problem = Problem(spec)
    cheapest = problem.cost(problem.cheapest())
    if not cheapest <= spec.budget_krw:
        raise UsageError(
            f"--budget-krw {spec.budget_krw:,.0f}: even the cheapest allocation of these levers plans "
            f"{cheapest:,.0f} KRW (planned cost, see sim/analysis/costs.py). Raise the budget or add levers "
            "that can save money (centres, opening, grant_budget, conglomerate_budget).")
    return problem


def resume_optimize(root: Path, executor, *, progress: bool = True, echo=print) -> dict:
    """Continue an interrupted optimisation from its cache (nothing already simulated reruns)."""
    m = _read_json(Path(root) / "manifest.json")
    try:
        if m is None or m.get("kind") != "optimize":
            raise UsageError(f"{root}: is not an optimisation results folder (no optimize manifest.json).")
        if m.get("status") == "complete":
            raise UsageError(f"{root}: this optimisation is already complete; nothing to resume. Rebuild its "
                             f"report with: python run_sim.py report {shlex.quote(str(root))}")
        spec = OptimizeSpec.from_json(m["spec"])
    except BaseException:
        with contextlib.suppress(Exception):
            executor.close()
        raise
    _update(Path(root), status="running", resumed=_now(), ended=None)
    return _run(spec, Path(root), executor, progress=progress, echo=echo, command=None)


def _update(root: Path, **changes) -> None:
    m = _read_json(root / "manifest.json") or {}
    m.update(changes)
    atomic_write_json(root / "manifest.json", m)


def _run(spec: OptimizeSpec, root: Path, executor, *, progress, echo, command, problem=None) -> dict:
    import time

    from . import interrupts

    t0 = time.perf_counter()
    resume = f"python run_sim.py resume {shlex.quote(str(root))}"
    try:
        with interrupts.signals_as_interrupt():
            opt = Optimizer(spec, root, executor, progress=progress, echo=echo, problem=problem)
            opt.search()
            final = opt.final(command)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            executor.abort()
        _update(root, status="interrupted", ended=_now())
        raise Interrupted(f"Interrupted. Evaluated candidates are cached in {root}; continue with: {resume}") from None
    except UsageError:
        with contextlib.suppress(Exception):
            executor.close()
        _update(root, status="failed", ended=_now())
        raise
    except ValleysimError:
        with contextlib.suppress(Exception):
            executor.abort()
        _update(root, status="failed", ended=_now())
        raise
    finally:
        with contextlib.suppress(Exception):
            executor.close()
    result = _result(spec, root, opt, final)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    _write_outputs(root, spec, result)
    _update(root, status="complete", ended=_now(), seconds=result["seconds"])
    return result


def _result(spec: OptimizeSpec, root: Path, opt: Optimizer, final: dict) -> dict:
    rows = final["rows"]
    best = rows[final["best"]]
    rec = next(r for r in opt.records.values() if r["key"] == best["key"])
    finalists = [rows[n] for n in final["order"]]
    baseline = None
    if spec.baseline:
        bl_name = Scenario.model_validate(spec.baseline).name
        b = rows[bl_name]
        baseline = {"name": bl_name, "file": spec.baseline_file, "objective": b["objective"],
                    "planned_cost_krw": b["planned_cost_krw"], "simulated_cost_krw": b["simulated_cost_krw"],
                    "vs_best": b.get("vs_best")}
    sr = {"replications": spec.replications, "population": opt._popsize(),
          "generations": max(0, spec.evaluations // opt._popsize() - 1), "evaluated": len(opt.records),
          "simulated_replications_this_run": opt.simulated, "cached": opt.hits,
          "history": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in h.items()}
                      for h in opt.history],
          "candidates": sorted(({"key": r["key"], "objective": r["objective"], "planned_cost_krw": r["planned_cost_krw"],
                                 "allocation": r["shown"]} for r in opt.records.values()),
                               key=lambda r: -r["objective"])}
    return {
        "objective": spec.objective, "metric": spec.metric, "budget_krw": spec.budget_krw,
        "budget_given": spec.budget_given, "file": spec.file, "counterfactual": Path(spec.counterfactual_file).stem,
        "seed": spec.seed, "cost_definition": "planned cost (sim.analysis.costs.planned_cost): operating cost while "
        "open + the most the grant rules can pay + partners' annual co-investment budgets while a centre is open + "
        "founder education; simulated programme_cost_krw is never above it",
        "levers": [{"label": lv.label, "range": lv.range, "kind": lv.kind} for lv in spec.levers],
        "best": {"name": best["name"], "objective": best["objective"], "planned_cost_krw": best["planned_cost_krw"],
                 "planned_cost_items": rec["planned"], "simulated_cost_krw": best["simulated_cost_krw"],
                 "allocation": best["allocation"], "assignments": rec["allocation"], "key": best["key"],
                 "vs_baseline": best.get("vs_baseline"), "search_objective": best["search_objective"]},
        "baseline": baseline, "finalists": finalists,
        "final": {"replications": spec.final_replications, "seed": final["seed"], "finalists": spec.finalists,
                  "folder": str(root / "final")},
        "search": sr,
        "files": {"json": str(root / "optimize.json"), "markdown": str(root / "optimize.md"),
                  "html": str(root / "optimize.html"), "scenario": str(root / "best.yaml")},
    }


def _write_outputs(root: Path, spec: OptimizeSpec, result: dict) -> None:
    from ..report.sweeps import write_optimize_report

    o = result["best"]["objective"]
    line = (f"{o['mean']:,.1f} [{o['ci_low']:,.1f}, {o['ci_high']:,.1f}] (95% CI, "
            f"{spec.final_replications} replications)") if o.get("ci_low") is not None else f"{o['mean']:,.1f}"
    rec = {"allocation": result["best"]["assignments"], "planned_cost_krw": result["best"]["planned_cost_krw"]}
    atomic_write_bytes(root / "best.yaml", best_yaml(spec, root, rec, line).encode("utf-8"))
    atomic_write_json(root / "optimize.json", result)
    write_optimize_report(root, result)


def rewrite_report(root: Path) -> dict:
    """Rebuild optimize.md/.html from optimize.json (``python run_sim.py report DIR``)."""
    from ..report.sweeps import write_optimize_report

    result = _read_json(Path(root) / "optimize.json")
    if result is None:
        raise UsageError(f"{root}: has no optimize.json yet; finish the optimisation with: "
                         f"python run_sim.py resume {shlex.quote(str(root))}")
    write_optimize_report(Path(root), result)
    return result

