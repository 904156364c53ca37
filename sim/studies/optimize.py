"""The ``optimize`` study: budget allocation by simulation optimisation (which levers, which regions,
for a fixed budget). ``python run_sim.py optimize`` and ``sim.optimize`` both call :func:`optimize`.

Levers (:mod:`sim.studies.levers`) are the decision variables; :mod:`sim.studies.problem` maps
a candidate to a repaired scenario within the budget.

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

import math
import os
import shlex
import shutil
from pathlib import Path

import numpy as np

from ..analysis.costs import planned_cost
from ..analysis.stats import paired_difference, summarize
from ..analysis.summary import by_scenario
from ..errors import UsageError, ValleysimError
from ..experiment.folder import default_out
from ..experiment.journal import append_line, read_lines
from ..experiment.lifecycle import StudyFolder
from ..experiment.runner import ExperimentSpec, resume_experiment, run_experiment
from ..experiment.task import Task
from ..files import (
    DEFAULT_SEED,
    atomic_write_bytes,
    atomic_write_json,
    json_clean,
    now,
    read_json,
    versions,
)
from ..metadata import CompareInfo, OptimizeInfo, study_info
from ..report.optimize import write_optimize_report
from ..scenario.keys import parse_override, set_key
from ..scenario.loader import SHIPPED, dump_yaml, resolved_dict, scenario_hash
from ..scenario.schema import Scenario
from .arguments import (
    command_of,
    echo_for,
    open_executor,
    override_texts,
    scenario_file,
    seed_of,
    whole,
)
from .budget import BudgetProblem, allocation_hash, metric_of, plan_optimize
from .outcomes import OptimizeOutcome

KEPT_METRICS = ("survivors_5y", "jobs_end", "survival_5y", "supported", "programme_cost_krw", "grants_krw",
                "partner_investment_krw", "operating_cost_krw")


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
        for line in read_lines(self.path):
            self.values[(line["key"], int(line["seed"]), int(line["replication"]))] = line["metrics"]
        for line in read_lines(self.cand_path):
            self.candidates[line["key"]] = line

    def get(self, key: str, seed: int, r: int) -> dict | None:
        return self.values.get((key, seed, r))

    def put(self, key: str, seed: int, r: int, metrics: dict) -> None:
        m = {k: metrics.get(k) for k in KEPT_METRICS}
        self.values[(key, seed, r)] = m
        append_line(self.path, {"key": key, "seed": seed, "replication": r, "metrics": m})

    def put_candidate(self, key: str, record: dict) -> None:
        if key not in self.candidates:
            self.candidates[key] = record
            append_line(self.cand_path, record)


class Optimizer:
    """The search and the ranking of its finalists, simulated through the optimisation's folder."""

    def __init__(self, spec: OptimizeInfo, folder: StudyFolder, problem: BudgetProblem | None = None):
        self.spec = spec
        self.folder = folder
        self.root = folder.root
        self.executor = folder.executor
        self.progress = folder.progress
        self.echo = folder.echo
        self.problem = problem or BudgetProblem(spec)
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

        def record(result: dict) -> None:
            t = result["task"]
            if "error" in result:
                raise ValleysimError(
                    f"a candidate's simulation failed ({result['error']}); the evaluations so far are cached in "
                    f"{self.root}. Fix the cause, then continue with: python run_sim.py resume "
                    f"{shlex.quote(str(self.root))}\n{result['traceback']}")
            self.cache.put(t.scenario, seed, t.replication, result["metrics"])
            self.simulated += 1

        self.folder.run_tasks([[a] for a in argsets], record, total=len(argsets))

    def _objective(self, key: str, reps, seed: int) -> tuple[float, np.ndarray]:
        m = metric_of(self.spec)
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
            total = self.spec.evaluations // self.popsize() - 1
            self.echo(f"generation {self.generation}/{total}: {len(pop)} candidates, {new} replications simulated, "
                      f"best {self.spec.objective} so far {best:,.1f}")
        self.generation += 1
        return out

    def popsize(self) -> int:
        k = self.problem.k
        return int(max(5, min(15 * k, self.spec.evaluations // 4, 40)))

    def search(self) -> None:
        from scipy.optimize import differential_evolution
        from scipy.stats import qmc

        k = self.problem.k
        pop = self.popsize()
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
                               sources={n: spec.file for n in names},
                               info=CompareInfo(counterfactual=cf.name, baseline=bl.name if bl else None,
                                                ranks=str(self.root)))
        froot = self.root / "final"
        self.echo(f"ranking and selection: {len(names)} finalist(s)"
                  f"{' + the baseline' if bl else ''} + the counterfactual, {spec.final_replications} fresh "
                  f"replications (root seed {fseed})")
        m = read_json(froot / "manifest.json")
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

        t = pq.read_table(froot / "replications.parquet")
        cols = {n: t.column(n).to_numpy(zero_copy_only=False) for n in t.column_names}
        order = list(names) + ([bl.name] if bl else [])
        data = by_scenario(cols, [cf, *order])
        m = metric_of(self.spec)

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
    out = json_clean({k: d[k] for k in ("mean", "diff", "ci_low", "ci_high", "half_width", "n") if k in d})
    if "diff" in out and "mean" not in out:
        out["mean"] = out["diff"]
    return out


def _plain(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------
def best_yaml(spec: OptimizeInfo, root: Path, rec: dict, result_line: str) -> str:
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


def optimize(file, *, budget_krw, levers, objective: str = "additional_survivors_5y",
             counterfactual="scenarios/no-programme.yaml", baseline="scenarios/ccei-announced.yaml",
             evaluations: int = 40, finalists: int = 3, final_replications: int = 8, replications: int = 2,
             seed: int = DEFAULT_SEED, overrides=None, out=None, force: bool = False, crn: bool = True,
             workers: int | None = None, executor: str = "processes", scheduler: str | None = None,
             start_method: str | None = "fork", progress: bool = False, echo=None, command=None) -> OptimizeOutcome:
    """Allocate a fixed programme budget across levers and regions to maximise the objective.

    ``budget_krw`` is the planned cost allowed (KRW), or "baseline" for the baseline's; ``levers`` as
    ``--levers`` takes them (``["grant_size", "centres"]``). Differential evolution over the levers with
    ``replications`` shared by every candidate and the counterfactual (common random numbers);
    candidates over budget are repaired to fit it; every simulation is journalled in the folder, so
    ``resume`` recomputes nothing. The best ``finalists`` are re-run on ``final_replications`` fresh
    replications and compared with the baseline. Writes optimize.json, optimize.md and best.yaml.
    """
    if not levers:
        raise UsageError("optimize: give --levers, e.g. --levers grant_size,conglomerate_budget,centres.")
    info = plan_optimize(scenario_file(file), budget=budget_of(budget_krw), levers=[levers] if isinstance(levers, str)
                         else list(levers), objective=objective, counterfactual=counterfactual,
                         baseline=None if baseline is None or str(baseline).strip().lower() in ("", "none") else baseline,
                         evaluations=whole(evaluations, "evaluations", 5), finalists=whole(finalists, "finalists", 1, 50),
                         final_replications=whole(final_replications, "final_replications", 2),
                         replications=whole(replications, "replications"), seed=seed_of(seed),
                         overrides=override_texts(overrides), crn=crn)
    problem = check_budget(info)
    echo = echo_for(progress, echo)
    command = command_of(command, ["sim.optimize", str(file)])
    manifest = {"kind": "optimize", "study": info.to_json(), "command": shlex.join(command),
                "versions": versions(), "started": now(), "ended": None}
    ex = open_executor(executor, workers, scheduler, start_method)
    root = Path(out) if out is not None else default_out(f"optimize-{info.base_name}")
    with StudyFolder.create(root, manifest, executor=ex, force=force, parts=False, kept=KEPT,
                            progress=progress, echo=echo) as folder:
        return OptimizeOutcome(root=folder.root, result=_run(info, folder, command=command, problem=problem))


def budget_of(value) -> float | str:
    """A budget in KRW (a number, or text such as "1.2e12" or "1,200,000,000,000"), or "baseline"."""
    t = str(value).strip().lower()
    if t in ("baseline", "same"):
        return "baseline"
    try:
        v = float(t.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"--budget-krw: expected an amount in KRW (e.g. 1.2e12) or 'baseline', found {value!r}.") from None
    if not (v > 0 and math.isfinite(v)):
        raise UsageError(f"--budget-krw: expected a positive amount, found {value!r}.")
    return v


KEPT = "Evaluated candidates are cached"
"""What an interrupted optimisation keeps (for the message saying how to continue it)."""


def check_budget(spec: OptimizeInfo) -> BudgetProblem:
    """The problem, after checking that some allocation of the levers fits the budget (else exit 2)."""
    problem = BudgetProblem(spec)
    cheapest = problem.cost(problem.cheapest())
    if not cheapest <= spec.budget_krw:
        raise UsageError(
            f"--budget-krw {spec.budget_krw:,.0f}: even the cheapest allocation of these levers plans "
            f"{cheapest:,.0f} KRW (planned cost, see sim/analysis/costs.py). Raise the budget or add levers "
            "that can save money (centres, opening, grant_budget, conglomerate_budget).")
    return problem


def resume_optimize(root: Path, executor, *, progress: bool = True, echo=print) -> dict:
    """Continue an interrupted optimisation from its cache (nothing already simulated reruns)."""
    with StudyFolder.reopen(root, executor=executor, kept=KEPT, progress=progress, echo=echo) as folder:
        m = folder.manifest()
        if m.get("kind") != "optimize":
            raise UsageError(f"{root}: is not an optimisation results folder (no optimize manifest.json).")
        if m.get("status") == "complete":
            raise UsageError(f"{root}: this optimisation is already complete; nothing to resume. Rebuild its "
                             f"report with: python run_sim.py report {shlex.quote(str(root))}")
        spec = study_info(m)
        folder.begin()
        return _run(spec, folder, command=None)


def _run(spec: OptimizeInfo, folder: StudyFolder, *, command, problem=None) -> dict:
    import time

    t0 = time.perf_counter()
    opt = Optimizer(spec, folder, problem=problem)
    opt.search()
    final = opt.final(command)
    folder.close_executor()
    root = folder.root
    result = _result(spec, root, opt, final)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    _write_outputs(root, spec, result)
    folder.finish("complete", seconds=result["seconds"])
    return result


VERDICTS = {
    "best": "the best allocation found (no baseline to compare it with)",
    "beats-baseline": "the best allocation found: it beats the baseline on the same fresh replications",
    "indistinguishable": "the top finalist is not distinguishable from the baseline on the same fresh "
                         "replications: the search found no allocation that is surely better",
    "baseline-better": "the baseline did better than the top finalist on the same fresh replications: the search "
                       "found no better allocation, so keep the baseline",
}


def verdict(vs_baseline: dict | None) -> str:
    """Whether the top finalist may be called best: ``best`` (no baseline), ``beats-baseline`` (its paired
    95% CI against the baseline lies above 0), ``indistinguishable`` or ``baseline-better`` (the baseline's
    mean is at least as good)."""
    if not vs_baseline or vs_baseline.get("diff") is None:
        return "best"
    if vs_baseline["diff"] <= 0:
        return "baseline-better"
    lo = vs_baseline.get("ci_low")
    return "beats-baseline" if lo is not None and lo > 0 else "indistinguishable"


def _result(spec: OptimizeInfo, root: Path, opt: Optimizer, final: dict) -> dict:
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
    sr = {"replications": spec.replications, "population": opt.popsize(),
          "generations": max(0, spec.evaluations // opt.popsize() - 1), "evaluated": len(opt.records),
          "simulated_replications_this_run": opt.simulated, "cached": opt.hits,
          "history": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in h.items()}
                      for h in opt.history],
          "candidates": sorted(({"key": r["key"], "objective": r["objective"], "planned_cost_krw": r["planned_cost_krw"],
                                 "allocation": r["shown"]} for r in opt.records.values()),
                               key=lambda r: -r["objective"])}
    v = verdict(best.get("vs_baseline") if baseline else None)
    sim_cost = (best.get("simulated_cost_krw") or {}).get("mean")
    costs = (f"Budget and cost are two figures: the budget binds the planned cost ({best['planned_cost_krw'] / 1e9:,.1f} "
             f"bn KRW for this allocation: what the rules can spend at most over the run), while compare reports the "
             f"simulated programme cost ({(sim_cost or 0) / 1e9:,.1f} bn KRW: what the simulated programme actually "
             "spent, on average); the planned figure is never below the simulated one.")
    return {
        "verdict": v, "verdict_text": VERDICTS[v], "costs_explained": costs,
        "objective": spec.objective, "metric": metric_of(spec), "budget_krw": spec.budget_krw,
        "budget_given": spec.budget_given, "file": spec.file, "counterfactual": Path(spec.counterfactual_file).stem,
        "seed": spec.seed, "cost_definition": "planned cost (sim.analysis.costs.planned_cost): operating cost while "
        "open + the most the grant rules can pay + partners' annual co-investment budgets while a centre is open + "
        "founder education; simulated programme_cost_krw is never above it",
        "levers": [{"label": lv.label, "range": lv.range, "kind": lv.kind} for lv in opt.problem.levers],
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


def _write_outputs(root: Path, spec: OptimizeInfo, result: dict) -> None:
    o = result["best"]["objective"]
    line = (f"{o['mean']:,.1f} [{o['ci_low']:,.1f}, {o['ci_high']:,.1f}] (95% CI, "
            f"{spec.final_replications} replications)") if o.get("ci_low") is not None else f"{o['mean']:,.1f}"
    rec = {"allocation": result["best"]["assignments"], "planned_cost_krw": result["best"]["planned_cost_krw"]}
    atomic_write_bytes(root / "best.yaml", best_yaml(spec, root, rec, line).encode("utf-8"))
    atomic_write_json(root / "optimize.json", result)
    write_optimize_report(root, result)


def rewrite_report(root: Path) -> dict:
    """Rebuild optimize.md/.html from optimize.json (``python run_sim.py report DIR``)."""
    result = read_json(Path(root) / "optimize.json")
    if result is None:
        raise UsageError(f"{root}: has no optimize.json yet; finish the optimisation with: "
                         f"python run_sim.py resume {shlex.quote(str(root))}")
    write_optimize_report(Path(root), result)
    return result

