"""The search of an optimisation: differential evolution over the levers, every simulation
journalled, then ranking and selection of the best few on fresh replications (see
:mod:`sim.studies.optimize`)."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
from pathlib import Path

import numpy as np

from ..analysis import robust
from ..analysis.costs import planned_cost
from ..analysis.decision import draw_table, frontier
from ..analysis.folder import columns
from ..analysis.stats import paired_difference, summarize
from ..analysis.summary import by_scenario
from ..errors import ValleysimError
from ..experiment.journal import append_line, numbers, read_lines
from ..experiment.lifecycle import StudyFolder
from ..experiment.runner import ExperimentSpec, resume_experiment, run_experiment
from ..experiment.task import Task
from ..files import json_clean, read_json
from ..metadata import CompareInfo, OptimizeInfo
from ..scenario.draws import Draws
from ..scenario.loader import resolved_dict, scenario_hash, validate
from ..scenario.schema import Scenario
from .budget import OUTCOME, BudgetProblem, allocation_hash, metric_of

KEPT_METRICS = (
    "survivors_5y",
    "jobs_end",
    "survival_5y",
    "supported",
    "programme_cost_krw",
    "grants_krw",
    "partner_investment_krw",
    "operating_cost_krw",
    "cohort_public_cost_krw",
    "cohort_jobs_end",
)
EFFECT = {"survivors": "survivors_5y", "jobs": "cohort_jobs_end"}
"""The replications-table column of a robust search's effect (the decision's, see
:data:`sim.analysis.decision.OUTCOMES`); its cost is the cohort window's public cost."""
COST = "cohort_public_cost_krw"
EVALUATION = {"key": str, "seed": int, "replication": int, "metrics": numbers(KEPT_METRICS)}
"""A line of evaluations.jsonl (checked when a resumed optimisation reads it back)."""


# ----------------------------------------------------------------------------------------------
# the evaluation cache
# ----------------------------------------------------------------------------------------------
class Cache:
    """Append-only JSON-lines files: one line per simulated (candidate, replication)."""

    def __init__(self, root: Path):
        """The journals in ``root``, read back."""
        self.root = Path(root)
        self.path = self.root / "evaluations.jsonl"
        self.cand_path = self.root / "candidates.jsonl"
        self.values: dict[tuple[str, int, int], dict] = {}
        self.candidates: dict[str, dict] = {}
        for line in read_lines(self.path, EVALUATION):
            self.values[(line["key"], int(line["seed"]), int(line["replication"]))] = line[
                "metrics"
            ]
        for line in read_lines(self.cand_path, {"key": str}):
            self.candidates[line["key"]] = line

    def get(self, key: str, seed: int, r: int) -> dict | None:
        """The metrics of (candidate, seed, replication), if simulated."""
        return self.values.get((key, seed, r))

    def put(self, key: str, seed: int, r: int, metrics: dict) -> None:
        """Journal the metrics of (candidate, seed, replication)."""
        m = {k: metrics.get(k) for k in KEPT_METRICS}
        self.values[(key, seed, r)] = m
        append_line(self.path, {"key": key, "seed": seed, "replication": r, "metrics": m})

    def put_candidate(self, key: str, record: dict) -> None:
        """Journal a candidate's allocation (once)."""
        if key not in self.candidates:
            self.candidates[key] = record
            append_line(self.cand_path, record)


class Optimizer:
    """The search and the ranking of its finalists, simulated through the optimisation's folder."""

    def __init__(
        self, spec: OptimizeInfo, folder: StudyFolder, problem: BudgetProblem | None = None
    ):
        """The optimiser of ``spec`` in ``folder`` (``problem``: the budget problem, built if not
        given)."""
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
        # a robust search: each replication r with posterior draw r mod K (common random numbers
        # within a draw), the draws set into each candidate's data before validation
        self.draws = Draws.from_json(spec.draws) if spec.robust else None
        self.raw: dict[str, dict] = {self.cf_key: spec.counterfactual_data} if spec.robust else {}
        self._at: dict[tuple[str, int | None], tuple[dict, str]] = {}

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
        argsets = []
        for i, (key, sc, r) in enumerate(todo):
            resolved, digest = self._task_scenario(key, sc, r)
            argsets.append((resolved, digest, Task(i, key, r), seed, self.spec.crn, False))

        def record(result: dict) -> None:
            t = result["task"]
            if "error" in result:
                raise ValleysimError(
                    f"a candidate's simulation failed ({result['error']}); the evaluations so far "
                    f"are cached in {self.root}. Fix the cause, then continue with: python "
                    f"run_sim.py resume {shlex.quote(str(self.root))}\n{result['traceback']}")
            self.cache.put(t.scenario, seed, t.replication, result["metrics"])
            self.simulated += 1

        self.folder.run_tasks([[a] for a in argsets], record, total=len(argsets))

    def _task_scenario(self, key: str, sc: Scenario, r: int) -> tuple[dict, str]:
        """The resolved scenario (and its hash) replication ``r`` of candidate ``key`` runs: with
        its posterior draw's values where the draw applies, in a robust search."""
        k = None if self.draws is None else r % len(self.draws)
        hit = self._at.get((key, k))
        if hit is None:
            # a search's draws are not bound to named scenarios: the rule of an unbound draw
            # (the key where the candidate holds the calibrated value) finds their paths
            paths = self.draws.paths(key, resolved_dict(sc)) if k is not None else {}
            drawn = sc
            if paths:
                drawn = validate(self.draws.data_for(self.raw[key], k, paths),
                                 origin=f"{key} with posterior draw {k} of {self.draws.file}")
            hit = self._at[(key, k)] = (resolved_dict(drawn), scenario_hash(drawn))
        return hit

    def _paired(self, key: str, reps, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate ``key``'s additional effect and additional public cost against the
        counterfactual in each replication of ``reps``."""
        e = EFFECT[OUTCOME[self.spec.objective]]
        a = [self.cache.get(key, seed, r) for r in reps]
        b = [self.cache.get(self.cf_key, seed, r) for r in reps]
        return (np.array([x[e] - y[e] for x, y in zip(a, b, strict=True)], float),
                np.array([x[COST] - y[COST] for x, y in zip(a, b, strict=True)], float))

    def per_draw(self, key: str, reps, seed: int) -> np.ndarray:
        """A robust search's net benefit of candidate ``key`` against the counterfactual in each
        posterior draw (K, KRW): willingness to pay x additional effect - additional public cost,
        per replication, averaged over each draw's replications."""
        de, dc = self._paired(key, reps, seed)
        nb = self.spec.wtp_krw * de - dc
        group = np.asarray(list(reps)) % len(self.draws)
        return np.array([nb[group == i].mean() for i in range(len(self.draws))])

    def best_per_draw(self, extra=()) -> np.ndarray:
        """The best net benefit known in each draw: of every candidate evaluated, of ``extra``
        vectors, and of the counterfactual (0)."""
        vectors = [r["per_draw"] for r in self.records.values()] + list(extra)
        return np.max(np.vstack([np.zeros(len(self.draws)), *vectors]), axis=0)

    def _wtp_from_baseline(self) -> None:
        """A robust search without ``--wtp`` values net benefit at what the baseline pays per
        additional unit of effect on the search's replications (recorded in the manifest, so
        ``resume`` continues with the same)."""
        spec = self.spec
        bl = Scenario.model_validate(spec.baseline)
        key = allocation_hash(bl)
        self.raw[key] = spec.baseline_data
        reps = range(spec.replications)
        self._simulate([(self.cf_key, self.cf), (key, bl)], reps, spec.seed)
        de, dc = (float(np.mean(x)) for x in self._paired(key, reps, spec.seed))
        if not (de > 0 and dc > 0):
            raise ValleysimError(f"optimize --robust: the baseline {bl.name} adds {de:,.1f} units "
                                 f"of effect for {dc:,.0f} KRW on the search's replications, so it "
                                 "sets no willingness to pay; give --wtp KRW.")
        self.spec = dataclasses.replace(spec, wtp_krw=float(dc / de),
                                        wtp_source=f"what {bl.name} pays per additional unit")
        self.folder.update(study=self.spec.to_json())
        self.echo(f"optimize --robust: net benefit valued at {dc / de / 1e6:,.1f} M KRW per "
                  f"additional unit (what {bl.name} pays on the search's replications)")

    def _objective(self, key: str, reps, seed: int) -> tuple[float, np.ndarray]:
        m = metric_of(self.spec)
        d = np.array(
            [
                self.cache.get(key, seed, r)[m] - self.cache.get(self.cf_key, seed, r)[m]
                for r in reps
            ],
            float,
        )
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
            if self.spec.robust and key not in self.raw:
                self.raw[key] = self.problem.data_of(ur)
            cands.append((key, sc, ur, cost))
        jobs = [(self.cf_key, self.cf)] + [(c[0], c[1]) for c in cands if c is not None]
        requested = len({j[0] for j in jobs}) * len(reps)
        before = self.simulated
        self._simulate(jobs, reps, seed)
        out = np.empty(len(pop))
        values = []
        spec = self.spec
        vectors = {c[0]: self.per_draw(c[0], reps, seed) for c in cands
                   if c is not None and spec.robust}
        best = self.best_per_draw(vectors.values()) if spec.robust else None
        for j, c in enumerate(cands):
            if c is None:
                out[j] = 1e18  # never chosen; nothing simulated
                continue
            key, sc, ur, cost = c
            if spec.robust:
                val = robust.score(vectors[key], spec.robust_objective, spec.percentile, best)
            else:
                val, _ = self._objective(key, reps, seed)
            if key not in self.records:
                rec = {
                    "key": key,
                    "units": [float(v) for v in ur],
                    "allocation": plain(self.problem.allocation(ur)),
                    "shown": self.problem.shown(ur),
                    "planned_cost_krw": cost,
                    "planned": planned_cost(sc),
                    "objective": val,
                }
                if spec.robust:
                    rec["per_draw"] = vectors[key].tolist()
                self.records[key] = rec
                self.cache.put_candidate(
                    key, {k: rec[k] for k in ("key", "units", "allocation", "planned_cost_krw")}
                )
            out[j] = -val
            values.append(val)
        new = self.simulated - before
        self.hits += requested - new
        best = max((r["objective"] for r in self.records.values()), default=float("nan"))
        self.history.append(
            {
                "generation": self.generation,
                "candidates": len(pop),
                "simulated": new,
                "best": best,
                "median": float(np.median(values)) if values else float("nan"),
            }
        )
        if self.progress:
            total = self.spec.evaluations // self.popsize() - 1
            self.echo(f"generation {self.generation}/{total}: {len(pop)} candidates, {new} "
                      f"replications simulated, best {self.spec.objective} so far {best:,.1f}")
        self.generation += 1
        return out

    def popsize(self) -> int:
        """Differential evolution's population size."""
        k = self.problem.k
        return int(max(5, min(15 * k, self.spec.evaluations // 4, 40)))

    def search(self) -> None:
        """Search: differential evolution over the unit cube, every candidate repaired to the
        budget."""
        from scipy.optimize import differential_evolution
        from scipy.stats import qmc

        if self.spec.robust and self.spec.wtp_krw is None:
            self._wtp_from_baseline()
        k = self.problem.k
        pop = self.popsize()
        gens = max(0, self.spec.evaluations // pop - 1)
        init = qmc.LatinHypercube(d=k, rng=np.random.default_rng(self.spec.seed)).random(pop)
        init[0] = self.problem.repair(self.problem.base_u)[0]
        self.echo(f"optimize: {k} decision variable(s), population {pop}, {gens} generation(s), "
                  f"{self.spec.replications} replication(s) per candidate (common random numbers), "
                  f"budget {self.spec.budget_krw / 1e9:,.1f} bn KRW")
        if gens == 0:
            self.evaluate(init.T)
            return
        differential_evolution(
            self.evaluate,
            bounds=[(0.0, 1.0)] * k,
            init=init,
            maxiter=gens,
            popsize=pop,
            rng=np.random.default_rng(self.spec.seed),
            polish=False,
            tol=0.0,
            atol=0.0,
            updating="deferred",
            vectorized=True,
            mutation=(0.5, 1.0),
            recombination=0.7,
        )

    # -- ranking and selection --------------------------------------------------------------------
    def final(self, command) -> dict:
        """Ranking and selection: the best few candidates, the baseline and the counterfactual on
        fresh replications."""
        spec = self.spec
        if spec.robust and spec.robust_objective == "minimax-regret":
            # regret against every candidate evaluated (a score taken during the search saw only
            # the candidates found by then)
            best = self.best_per_draw()
            for r in self.records.values():
                r["objective"] = robust.score(r["per_draw"], "minimax-regret", best=best)
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
        raw = {cf.name: spec.counterfactual_data, **({bl.name: spec.baseline_data} if bl else {})}
        for i, rec in enumerate(finalists, 1):
            sc, _ = self.problem.scenario(rec["units"])
            name = f"finalist-{i}"
            names[name] = rec
            scenarios[name] = sc.model_copy(update={"name": name})
            raw[name] = {**self.problem.data_of(rec["units"]), "name": name}
        comparisons = [(n, cf.name) for n in scenarios if n != cf.name]
        if bl is not None:
            comparisons += [(n, bl.name) for n in names]
        fseed = spec.seed + 1
        fspec = ExperimentSpec(
            scenarios=scenarios,
            replications=spec.final_replications,
            seed=fseed,
            crn=spec.crn,
            keep_startups="none",
            comparisons=comparisons,
            kind="compare",
            sources={n: spec.file for n in names},
            info=CompareInfo(
                counterfactual=cf.name, baseline=bl.name if bl else None, ranks=str(self.root),
                wtp_krw=spec.wtp_krw, outcome=OUTCOME[spec.objective],
            ),
            draws=self.draws,
            raw=raw if spec.robust else {},
        )
        for k in range(len(self.draws) if self.draws is not None else 0):
            for n in scenarios:  # every draw's scenarios valid, before anything runs
                fspec.scenario_at(n, k)
        froot = self.root / "final"
        self.echo(f"ranking and selection: {len(names)} "
                  f"finalist(s){' + the baseline' if bl else ''} + the counterfactual, "
                  f"{spec.final_replications} fresh replications (root seed {fseed})")
        m = read_json(froot / "manifest.json")
        if m is None:
            if froot.exists():
                shutil.rmtree(froot)
            outcome = run_experiment(
                fspec, froot, self.executor, progress=self.progress, command=command, echo=self.echo
            )
        elif m.get("status") != "complete":
            outcome = resume_experiment(
                froot, self.executor, progress=self.progress, echo=self.echo
            )
        else:
            outcome = None
        if outcome is not None and outcome.failures:
            raise ValleysimError(f"ranking and selection: {len(outcome.failures)} task(s) failed "
                                 f"in {froot}; see {froot / 'failures.json'}, then: python "
                                 f"run_sim.py resume {shlex.quote(str(self.root))}")
        return self._final_table(froot, names, cf.name, bl, fseed)

    def _final_table(
        self, froot: Path, names: dict, cf: str, bl: Scenario | None, fseed: int
    ) -> dict:
        cols = columns(froot / "replications.parquet", required=True,
                       remedy="Run the finalists again with: python run_sim.py resume "
                              f"{shlex.quote(str(self.root))}")
        order = list(names) + ([bl.name] if bl else [])
        data = by_scenario(cols, [cf, *order])
        spec = self.spec
        m = metric_of(spec)
        if spec.robust:  # net benefit per replication, KRW
            e = EFFECT[OUTCOME[spec.objective]]
            value = {n: spec.wtp_krw * np.asarray(data[n][e], float)
                     - np.asarray(data[n][COST], float) for n in [cf, *order]}
        else:
            value = {n: np.asarray(data[n][m], float) for n in [cf, *order]}

        def diff(a, b):
            return paired_difference(value[a], value[b])

        rows = {}
        for n in order:
            rec = names.get(n)
            sc_cost = summarize(np.asarray(data[n]["programme_cost_krw"], float))
            planned = rec["planned_cost_krw"] if rec else planned_cost(bl)["total_krw"]
            rows[n] = {
                "name": n,
                "objective": ci_of(diff(n, cf)),
                "planned_cost_krw": planned,
                "simulated_cost_krw": ci_of(sc_cost),
                "metric": ci_of(summarize(np.asarray(data[n][m], float))),
                "search_objective": rec["objective"] if rec else None,
                "allocation": rec["shown"] if rec else {},
                "key": rec["key"] if rec else None,
            }
        best = max(names, key=lambda n: (rows[n]["objective"]["mean"], -list(names).index(n)))
        choice = None
        if spec.robust:
            choice = self._robust_choice(cols, cf, order, names)
            best = choice["choice"]
        for n in order:
            if n != best:
                d = diff(n, best)
                rows[n]["vs_best"] = ci_of(d)
                rows[n]["indistinguishable"] = bool(d["ci_high"] is not None and d["ci_high"] >= 0)
        if bl is not None:
            rows[best]["vs_baseline"] = ci_of(diff(best, bl.name))
        return {"best": best, "rows": rows, "order": order, "seed": fseed, "robust": choice}

    def _robust_choice(self, cols: dict, cf: str, order: list[str], names: dict) -> dict:
        """The robust choice among the finalists on the final replications: every option's net
        benefit per posterior draw (the counterfactual's 0, the baseline's among them), the
        objective's choice, its regret and how often it is the best, and where it sits against
        the final options' efficient frontier."""
        spec = self.spec
        t = draw_table(cols, order, cf, len(self.draws), OUTCOME[spec.objective])
        nb = t.net_benefit([spec.wtp_krw])[0]
        eligible = [t.options.index(n) for n in names]
        out = robust.choose_among(nb, list(t.options), eligible, spec.robust_objective,
                                  spec.percentile)
        effect, cost = t.expected()
        fr = frontier(cost, effect)
        j = out["index"]
        by_nb = int(np.argmax(nb.mean(axis=0)))
        out.update({
            "draws": len(self.draws),
            "replications_per_draw": t.replications.tolist(),
            "wtp_krw": spec.wtp_krw,
            "wtp_source": spec.wtp_source,
            "percentile": spec.percentile,
            "frontier": [t.options[i] for i in fr.order],
            "dominated": fr.dominated[j],
            "icer_krw": fr.icer[j],
            "previous": None if fr.previous[j] is None else t.options[fr.previous[j]],
            "best_expected": t.options[by_nb],
            "effect": float(effect[j]),
            "cost_krw": float(cost[j]),
            "options": [{"scenario": n, "effect": float(effect[i]), "cost_krw": float(cost[i]),
                         "dominated": fr.dominated[i], "icer_krw": fr.icer[i]}
                        for i, n in enumerate(t.options)],
        })
        return json_clean(out)


def ci_of(d: dict) -> dict:
    """A paired difference's or summary's mean, CI, half-width and n, as plain JSON data."""
    out = json_clean(
        {k: d[k] for k in ("mean", "diff", "ci_low", "ci_high", "half_width", "n") if k in d}
    )
    if "diff" in out and "mean" not in out:
        out["mean"] = out["diff"]
    return out


def plain(d: dict) -> dict:
    """``d`` with numpy scalars as Python ones."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------
