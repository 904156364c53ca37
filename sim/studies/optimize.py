"""The ``optimize`` study: budget allocation by simulation optimisation (which levers, which
regions, for a fixed budget). ``python run_sim.py optimize`` and ``sim.optimize`` both call
:func:`optimize`.

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
from pathlib import Path

from ..analysis.robust import OBJECTIVES as ROBUST
from ..errors import UsageError
from ..experiment.folder import default_out
from ..experiment.lifecycle import StudyFolder
from ..files import (
    DEFAULT_SEED,
    atomic_write_bytes,
    atomic_write_json,
    now,
    read_json,
    versions,
)
from ..metadata import OptimizeInfo, study_info
from ..report.optimize import write_optimize_report
from ..scenario.keys import parse_override, set_key
from ..scenario.loader import SHIPPED, dump_yaml
from ..scenario.schema import Scenario
from .arguments import (
    amount_krw,
    choice,
    command_of,
    echo_for,
    number,
    open_executor,
    override_texts,
    scenario_file,
    seed_of,
    whole,
)
from .budget import BudgetProblem, metric_of, plan_optimize
from .outcomes import OptimizeOutcome
from .search import Optimizer


def best_yaml(spec: OptimizeInfo, root: Path, rec: dict, result_line: str) -> str:
    """The best allocation as a scenario file that extends the base file."""
    file = Path(spec.file).resolve()
    if file.parent == SHIPPED and (SHIPPED / file.name).is_file():
        ref = file.stem
    else:
        ref = os.path.relpath(file, Path(root).resolve())
    body: dict = {"extends": ref, "name": f"{spec.base_name}-optimized",
                  "description": f"Best allocation of {spec.budget_krw / 1e9:,.1f} bn KRW (planned "
                                 "cost) found by `python run_sim.py optimize` for "
                                 f"{spec.objective}."}
    nested: dict = {}
    for text in spec.overrides:
        parts, value = parse_override(text)
        set_key(nested, ".".join(parts), value)
    for key, value in rec["allocation"].items():
        set_key(nested, key, value)
    body.update(nested)
    lines = [f"# {spec.base_name}-optimized: the best allocation found by valleysim's optimiser.",
             f"# Objective: {spec.objective} against {Path(spec.counterfactual_file).stem}; "
             f"{result_line}",
             f"# Budget: {spec.budget_krw:,.0f} KRW planned cost; this allocation plans "
             f"{rec['planned_cost_krw']:,.0f} KRW.",
             f"# Levers: {', '.join(spec.lever_texts)}. Everything not listed below is as in "
             f"{ref}."]
    if spec.overrides:
        lines.append(f"# Includes the run's --set overrides: {' '.join(spec.overrides)}")
    return "\n".join(lines) + "\n" + dump_yaml(body)


def optimize(
    file,
    *,
    budget_krw,
    levers,
    objective: str = "additional_survivors_5y",
    counterfactual="scenarios/no-programme.yaml",
    baseline="scenarios/ccei-announced.yaml",
    evaluations: int = 40,
    finalists: int = 3,
    final_replications: int | None = None,
    replications: int | None = None,
    robust: bool = False,
    robust_objective: str = "expected",
    percentile: float = 10.0,
    wtp=None,
    posterior=None,
    draws: int | None = None,
    seed: int = DEFAULT_SEED,
    overrides=None,
    out=None,
    force: bool = False,
    crn: bool = True,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> OptimizeOutcome:
    """Allocate a fixed programme budget across levers and regions to maximise the objective.

    ``budget_krw`` is the planned cost allowed (KRW), or "baseline" for the baseline's; ``levers``
    as ``--levers`` takes them (``["grant_size", "centres"]``). Differential evolution over the
    levers with ``replications`` shared by every candidate and the counterfactual (common random
    numbers); candidates over budget are repaired to fit it; every simulation is journalled in the
    folder, so ``resume`` recomputes nothing. The best ``finalists`` are re-run on
    ``final_replications`` fresh replications (default 8) and compared with the baseline.

    ``robust``: search over ``draws`` posterior draws of ``posterior`` (default: the shipped one),
    replication r of every candidate with draw r mod K (``replications`` default K, one per draw),
    for the best ``robust_objective`` of each candidate's net benefit per draw (``wtp`` KRW per
    additional unit of the objective's effect minus the additional public cost): ``expected``,
    ``minimax-regret`` or the ``percentile``-th percentile; the finalists, the baseline and the
    counterfactual are re-checked over the same draws on ``final_replications`` fresh replications
    (default 2 K), and optimize.json's ``robust`` states the choice, its regret, how often it is
    the best and where it sits against their efficient frontier. Without ``wtp``, what the baseline
    pays per additional unit. Writes optimize.json, optimize.md, optimize.html and best.yaml.
    """
    if not levers:
        raise UsageError("optimize: give --levers, e.g. --levers "
                         "grant_size,conglomerate_budget,centres.")
    info = plan_optimize(
        scenario_file(file),
        budget=budget_of(budget_krw),
        levers=[levers] if isinstance(levers, str) else list(levers),
        objective=objective,
        counterfactual=counterfactual,
        baseline=None
        if baseline is None or str(baseline).strip().lower() in ("", "none")
        else baseline,
        evaluations=whole(evaluations, "evaluations", 5),
        finalists=whole(finalists, "finalists", 1, 50),
        final_replications=whole(final_replications, "final_replications", 2, optional=True)
        or (None if robust else 8),
        replications=whole(replications, "replications", optional=True) or (None if robust else 2),
        seed=seed_of(seed),
        overrides=override_texts(overrides),
        crn=crn,
        robust={"objective": choice(robust_objective, "robust_objective", ROBUST),
                "percentile": number(percentile, "percentile", 0.0, 100.0),
                "wtp_krw": amount_krw(wtp, "wtp", optional=True), "posterior": posterior,
                "draws": whole(draws, "draws", optional=True)} if robust else None,
    )
    problem = check_budget(info)
    echo = echo_for(progress, echo)
    command = command_of(command, ["sim.optimize", str(file)])
    manifest = {"kind": "optimize", "study": info.to_json(), "command": shlex.join(command),
                "versions": versions(), "started": now(), "ended": None}
    ex = open_executor(executor, workers, scheduler, start_method)
    root = Path(out) if out is not None else default_out(f"optimize-{info.base_name}")
    with StudyFolder.create(root, manifest, executor=ex, force=force, parts=False, kept=KEPT,
                            progress=progress, echo=echo) as folder:
        return OptimizeOutcome(
            root=folder.root, result=_run(info, folder, command=command, problem=problem)
        )


def budget_of(value) -> float | str:
    """A budget in KRW (a number, or text such as "1.2e12" or "1,200,000,000,000"), or
    "baseline"."""
    t = str(value).strip().lower()
    if t in ("baseline", "same"):
        return "baseline"
    try:
        v = float(t.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError("--budget-krw: expected an amount in KRW (e.g. 1.2e12) or 'baseline', "
                         f"found {value!r}.") from None
    if not (v > 0 and math.isfinite(v)):
        raise UsageError(f"--budget-krw: expected a positive amount, found {value!r}.")
    return v


KEPT = "Evaluated candidates are cached"
"""What an interrupted optimisation keeps (for the message saying how to continue it)."""


def check_budget(spec: OptimizeInfo) -> BudgetProblem:
    """The problem, after checking that some allocation of the levers fits the budget (else exit
    2)."""
    problem = BudgetProblem(spec)
    cheapest = problem.cost(problem.cheapest())
    if not cheapest <= spec.budget_krw:
        raise UsageError(
            f"--budget-krw {spec.budget_krw:,.0f}: even the cheapest allocation of these levers "
            f"plans {cheapest:,.0f} KRW (planned cost, see sim/analysis/costs.py). Raise the "
            "budget or add levers that can save money (centres, opening, grant_budget, "
            "conglomerate_budget).")
    return problem


def resume_optimize(root: Path, executor, *, progress: bool = True, echo=print) -> dict:
    """Continue an interrupted optimisation from its cache (nothing already simulated reruns)."""
    with StudyFolder.reopen(
        root, executor=executor, kept=KEPT, progress=progress, echo=echo
    ) as folder:
        m = folder.manifest()
        if m.get("kind") != "optimize":
            raise UsageError(f"{root}: is not an optimisation results folder (no optimize "
                             "manifest.json).")
        if m.get("status") == "complete":
            raise UsageError(f"{root}: this optimisation is already complete; nothing to resume. "
                             "Rebuild its report with: python run_sim.py report "
                             f"{shlex.quote(str(root))}")
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
    "beats-baseline": "the best allocation found: it beats the baseline on the same fresh "
                      "replications",
    "indistinguishable": "the top finalist is not distinguishable from the baseline on the same "
                         "fresh replications: the search found no allocation that is surely better",
    "baseline-better": "the baseline did better than the top finalist on the same fresh "
                       "replications: the search found no better allocation, so keep the baseline",
}


ROBUST_VERDICTS = {
    "best": "the robust choice over the posterior draws (no baseline to compare it with)",
    "beats-baseline": "the robust choice: on fresh replications over the same posterior draws it "
                      "beats the baseline on the robust objective",
    "indistinguishable": "the robust choice is not distinguishable from the baseline in expected "
                         "net benefit on fresh replications over the same posterior draws",
    "baseline-better": "the baseline does at least as well as the robust choice on the robust "
                       "objective over the same posterior draws: keep the baseline",
}


def robust_verdict(choice: dict, baseline: str) -> str:
    """``beats-baseline`` when the robust choice scores better than the baseline on its objective
    (minimax regret: a smaller largest regret; a percentile: a higher one), on the final
    replications over the same draws; else ``baseline-better``."""
    rows = {r["option"]: r for r in choice["table"]["options"]}
    mine, theirs = rows[choice["choice"]], rows[baseline]
    if choice["objective"] == "minimax-regret":
        better = mine["max_regret"] < theirs["max_regret"]
    else:
        better = mine["percentile"] > theirs["percentile"]
    return "beats-baseline" if better else "baseline-better"


def verdict(vs_baseline: dict | None) -> str:
    """Whether the top finalist may be called best: ``best`` (no baseline), ``beats-baseline`` (its
    paired 95% CI against the baseline lies above 0), ``indistinguishable`` or ``baseline-better``
    (the baseline's mean is at least as good)."""
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
        baseline = {
            "name": bl_name,
            "file": spec.baseline_file,
            "objective": b["objective"],
            "planned_cost_krw": b["planned_cost_krw"],
            "simulated_cost_krw": b["simulated_cost_krw"],
            "vs_best": b.get("vs_best"),
        }
    sr = {
        "replications": spec.replications,
        "population": opt.popsize(),
        "generations": max(0, spec.evaluations // opt.popsize() - 1),
        "evaluated": len(opt.records),
        "simulated_replications_this_run": opt.simulated,
        "cached": opt.hits,
        "history": [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in h.items()
            }
            for h in opt.history
        ],
        "candidates": sorted(
            (
                {
                    "key": r["key"],
                    "objective": r["objective"],
                    "planned_cost_krw": r["planned_cost_krw"],
                    "allocation": r["shown"],
                }
                for r in opt.records.values()
            ),
            key=lambda r: -r["objective"],
        ),
    }
    v = verdict(best.get("vs_baseline") if baseline else None)
    choice_ = final.get("robust")
    if choice_ is not None and baseline and spec.robust_objective != "expected":
        v = robust_verdict(choice_, baseline["name"])
    sim_cost = (best.get("simulated_cost_krw") or {}).get("mean")
    costs = ("Budget and cost are two figures: the budget binds the planned cost "
             f"({best['planned_cost_krw'] / 1e9:,.1f} bn KRW for this allocation: what the rules "
             "can spend at most over the run), while compare reports the simulated programme cost "
             f"({(sim_cost or 0) / 1e9:,.1f} bn KRW: what the simulated programme actually spent, "
             "on average); the planned figure is never below the simulated one.")
    return {
        "verdict": v,
        "verdict_text": VERDICTS[v] if choice_ is None else ROBUST_VERDICTS[v],
        "robust": None if choice_ is None else {
            **choice_, "posterior": spec.posterior, "search_replications": spec.replications},
        "costs_explained": costs,
        "objective": spec.objective,
        "metric": metric_of(spec),
        "budget_krw": spec.budget_krw,
        "budget_given": spec.budget_given,
        "file": spec.file,
        "counterfactual": Path(spec.counterfactual_file).stem,
        "seed": spec.seed,
        "cost_definition": "planned cost (sim.analysis.costs.planned_cost): "
        "operating cost while open + the most the grant rules can pay + partners' annual "
        "co-investment budgets while a centre is open + founder education; simulated "
        "programme_cost_krw is never above it",
        "levers": [
            {"label": lv.label, "range": lv.range, "kind": lv.kind} for lv in opt.problem.levers
        ],
        "best": {
            "name": best["name"],
            "objective": best["objective"],
            "planned_cost_krw": best["planned_cost_krw"],
            "planned_cost_items": rec["planned"],
            "simulated_cost_krw": best["simulated_cost_krw"],
            "allocation": best["allocation"],
            "assignments": rec["allocation"],
            "key": best["key"],
            "vs_baseline": best.get("vs_baseline"),
            "search_objective": best["search_objective"],
        },
        "baseline": baseline,
        "finalists": finalists,
        "final": {
            "replications": spec.final_replications,
            "seed": final["seed"],
            "finalists": spec.finalists,
            "folder": str(root / "final"),
        },
        "search": sr,
        "files": {
            "json": str(root / "optimize.json"),
            "markdown": str(root / "optimize.md"),
            "html": str(root / "optimize.html"),
            "scenario": str(root / "best.yaml"),
        },
    }


def _write_outputs(root: Path, spec: OptimizeInfo, result: dict) -> None:
    o = result["best"]["objective"]
    line = (f"{o['mean']:,.1f} [{o['ci_low']:,.1f}, {o['ci_high']:,.1f}] (95% CI, "
            f"{spec.final_replications} "
            "replications)") if o.get("ci_low") is not None else f"{o['mean']:,.1f}"
    rec = {
        "allocation": result["best"]["assignments"],
        "planned_cost_krw": result["best"]["planned_cost_krw"],
    }
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

