"""The optimisation's page: the best allocation found within the budget, against the baseline.

Built from ``optimize.json`` (plain data) with the blocks of :mod:`sim.report.document`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import MaxNLocator

from .document import Bullets, Figure, Paragraph, Report, Section, Table
from .format import fmt, krw_text, shown_path
from .pages import write_pages
from .plots import GREY, to_png


def progress_png(history: list[dict], finalists: list[dict], objective: str) -> bytes:
    """Left: best objective found per generation. Right: finalists re-evaluated, with 95% CIs."""
    fig = MplFigure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    if history:
        g = [h["generation"] for h in history]
        ax1.plot(g, [h["best"] for h in history], "o-", color="#1f77b4", label="best so far")
        ax1.plot(g, [h["median"] for h in history], "s--", color=GREY, ms=3, label="median of "
                                                                                   "generation")
        ax1.legend(fontsize=8)
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_xlabel("generation")
    ax1.set_ylabel(f"{objective} (search replications)")
    ax1.grid(alpha=0.3)
    ax1.set_title("Search", fontsize=11, loc="left")
    if finalists:
        labels = [f["name"] for f in finalists][::-1]
        d = np.array(
            [
                np.nan if f["objective"]["mean"] is None else f["objective"]["mean"]
                for f in finalists
            ]
        )[::-1]
        lo = np.array(
            [
                np.nan if f["objective"]["ci_low"] is None else f["objective"]["ci_low"]
                for f in finalists
            ]
        )[::-1]
        hi = np.array(
            [
                np.nan if f["objective"]["ci_high"] is None else f["objective"]["ci_high"]
                for f in finalists
            ]
        )[::-1]
        y = np.arange(len(labels))
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax2.errorbar(
            d[ok],
            y[ok],
            xerr=np.abs(np.vstack([d[ok] - lo[ok], hi[ok] - d[ok]])),
            fmt="o",
            capsize=3,
        )
        ax2.plot(d[~ok], y[~ok], "o", mfc="white")
        ax2.set_yticks(y)
        ax2.set_yticklabels(labels, fontsize=8)
        ax2.axvline(0, color=GREY, lw=0.8, ls="--")
    ax2.set_xlabel(f"{objective} vs the counterfactual (final replications)")
    ax2.grid(axis="x", alpha=0.3)
    ax2.set_title("Ranking and selection", fontsize=11, loc="left")
    return to_png(fig)


def build_optimize_report(result: dict) -> Report:
    """The optimisation's page: the verdict, the best allocation, the finalists and the search."""
    money = bool(result.get("robust"))  # a robust search ranks by net benefit, in KRW
    obj = "net benefit" if money else result["objective"]

    def cnt(v, sign: bool = False) -> str:
        return krw_text(v, signed=sign) if money else _cnt(v, sign)

    b = result["budget_krw"]
    best = result["best"]
    sections = []
    v = result.get("verdict", "best")
    s = Section("answer", "Best allocation" if v in ("best", "beats-baseline") else "No better "
                                                                                    "allocation "
                                                                                    "found")
    o = best["objective"]
    s.add(Paragraph(f"Verdict: {result.get('verdict_text', 'the best allocation found')}."))
    who = "the best allocation found" if v in ("best", "beats-baseline") else "the top finalist"
    s.add(Paragraph(
        f"Within a budget of {fmt(b, 'krw')} KRW (planned cost), {who} gives {obj} = "
        f"{cnt(o['mean'])} [{cnt(o['ci_low'])}, {cnt(o['ci_high'])}] (95% CI, "
        f"{result['final']['replications']} fresh replications, paired with the counterfactual "
        f"{result['counterfactual']!r}), at a planned cost of "
        f"{fmt(best['planned_cost_krw'], 'krw')} (simulated spending "
        f"{fmt(best['simulated_cost_krw']['mean'], 'krw')})."))
    base = result.get("baseline")
    if base:
        vs = best.get("vs_baseline") or {}
        s.add(Paragraph(
            f"The baseline {base['name']!r} (planned cost {fmt(base['planned_cost_krw'], 'krw')}"
            f"{', over the budget' if base['planned_cost_krw'] > b + 1 else ''}) gives {obj} = "
            f"{cnt(base['objective']['mean'])} "
            f"[{cnt(base['objective']['ci_low'])}, {cnt(base['objective']['ci_high'])}]. Top "
            f"finalist minus baseline: "
            f"{cnt(vs.get('diff'), sign=True)} [{cnt(vs.get('ci_low'), sign=True)}, "
            f"{cnt(vs.get('ci_high'), sign=True)}]"
            " (paired, same replications)"
            + ("." if money else f"; per bn KRW of planned cost: best "
               f"{_per_bn(o['mean'], best['planned_cost_krw'])}, baseline "
               f"{_per_bn(base['objective']['mean'], base['planned_cost_krw'])}.")))
    if result.get("costs_explained"):
        s.add(Paragraph(result["costs_explained"]))
    if best["planned_cost_krw"] < b * 0.99:
        s.add(Paragraph(f"It plans {fmt(b - best['planned_cost_krw'], 'krw')} less than the "
                        "budget: within the evaluations allowed, no candidate found a use for "
                        "that money that did better."))
    s.add(Bullets([f"{k} = {v}" for k, v in best["allocation"].items()] or ["(the base scenario as "
                                                                            "it is)"]))
    s.add(Paragraph(f"Scenario file: {shown_path(result['files']['scenario'])} (extends "
                    f"{shown_path(result['file'])}); run it with python run_sim.py compare "
                    f"{shown_path(result['files']['scenario'])}"))
    sections.append(s)
    if result.get("robust"):
        sections.append(robust_section(result))

    s = Section("finalists", "Ranking and selection")
    header = ["candidate", f"{obj} [95% "
                           "CI]", "minus best [95% CI]", "planned cost", "simulated cost"]
    rows = []
    for f in result["finalists"]:
        fo, d = f["objective"], f.get("vs_best") or {}
        rows.append(
            [
                f["name"],
                f"{cnt(fo['mean'])} [{cnt(fo['ci_low'])}, {cnt(fo['ci_high'])}]",
                "-"
                if f["name"] == best["name"]
                else f"{cnt(d.get('diff'), sign=True)} [{cnt(d.get('ci_low'), sign=True)}, "
                f"{cnt(d.get('ci_high'), sign=True)}]",
                fmt(f["planned_cost_krw"], "krw"),
                fmt(f["simulated_cost_krw"]["mean"], "krw"),
            ]
        )
    indist = [
        f["name"]
        for f in result["finalists"]
        if f.get("indistinguishable") and f["name"] != best["name"]
    ]
    s.add(Table("finalists", "Finalists re-evaluated on fresh replications (common random "
                             "numbers)", header, rows,
                [f"The {result['final']['finalists']} best candidates of the "
                 f"search{' and the baseline' if result.get('baseline') else ''}, each run for "
                 f"{result['final']['replications']} new replications (root seed "
                 f"{result['final']['seed']}, not the search's, so the winner's luck in the search "
                 "does not carry over)."
                 + (" Not distinguishable from the best at 95%: "
                    f"{', '.join(indist)}." if indist else "")]))
    s.add(
        Figure(
            "optimize-progress",
            "Search progress and the finalists' objective with 95% CIs.",
            "search progress",
            progress_png(result["search"]["history"], result["finalists"],
                         f"{obj} (KRW)" if money else obj),
        )
    )
    sections.append(s)

    s = Section("method", "Method")
    sr = result["search"]
    s.add(Bullets([
        f"Decision variables ({len(result['levers'])}): " + "; ".join(
            f"{lv['label']} {lv['range']}" for lv in result["levers"]),
        "Cost: planned cost from the levers (sim.analysis.costs): operating cost for the months "
        "each centre is open, the most the grant rules can pay each programme year, each partner's "
        "annual co-investment budget for each year one of its centres is open, founder education. "
        "The simulated spending is always at most this.",
        "Budget: a candidate over budget is repaired before it is simulated: its cost-relevant "
        "variables move towards their cheapest values (centres with the lowest priority close "
        "first, later openings, smaller grants and budgets) by the least amount that fits the "
        "budget. No simulated candidate costs more than the budget.",
        f"Search: scipy.optimize.differential_evolution (popsize {sr['population']}, "
        f"{sr['generations']} generations, seed {result['seed']}), objective = mean over "
        f"{sr['replications']} fixed replications (common random numbers: the same start-ups for "
        f"every candidate and the counterfactual). {sr['evaluated']} distinct candidates "
        f"simulated, {sr['cached']} cache hits.",
        f"Ranking and selection: the {result['final']['finalists']} best distinct candidates and "
        f"the baseline re-run for {result['final']['replications']} fresh replications; the best "
        "mean wins; paired 95% CIs.",
    ]))
    sections.append(s)
    return Report(f"Budget allocation: {obj} from {fmt(b, 'krw')} KRW",
                  f"base {shown_path(result['file'])}, counterfactual {result['counterfactual']}, "
                  f"seed {result['seed']}",
                  sections)


OBJECTIVE_WORDS = {
    "expected": "the highest expected net benefit over the posterior draws",
    "minimax-regret": "the smallest largest regret over the posterior draws (never far from the "
                      "best)",
    "percentile": "the highest {q:.0f}th percentile of net benefit over the posterior draws (good "
                  "in {good:.0f} draws of ten)",
}


def robust_section(result: dict) -> Section:
    """The robust choice: which finalist, by which objective, its regret, how often it is the best,
    and where it sits against the efficient frontier of the options re-checked."""
    r = result["robust"]
    s = Section("robust", "The robust choice over the posterior draws")
    unit = "job" if result["objective"] == "additional_jobs" else "5-year survivor"
    q = r["percentile"]
    words = OBJECTIVE_WORDS[r["objective"]].format(q=q, good=10 - q / 10)
    place = ("on the efficient frontier" if r["dominated"] is None
             else f"{r['dominated']} dominated (off the efficient frontier)")
    if r["dominated"] is None and r.get("icer_krw") is not None:
        place += (f", {krw_text(r['icer_krw'])} per additional {unit} more than "
                  f"{r['previous']}")
    text = (f"Valued at {krw_text(r['wtp_krw'])} per additional {unit} "
            f"({'the --wtp given' if r['wtp_source'] == 'given' else r['wtp_source']}), "
            f"{r['choice']} has {words}: expected net benefit "
            f"{krw_text(r['expected'], signed=True)} against {result['counterfactual']}, expected "
            f"regret {krw_text(r['expected_regret'])}, largest regret {krw_text(r['max_regret'])}; "
            f"it is the best option in {100 * r['prob_best']:.0f} % of the {r['draws']} draws, and "
            f"{place}. On the same draws the highest expected net benefit is "
            f"{r['best_expected']}'s.")
    s.add(Paragraph(text))
    dom = {o["scenario"]: o for o in r["options"]}
    rows = []
    for o in r["table"]["options"]:
        n = o["option"]
        d = dom[n]
        rows.append([n, krw_text(o["expected"], signed=True), krw_text(o["expected_regret"]),
                     krw_text(o["max_regret"]), krw_text(o["percentile"], signed=True),
                     f"{100 * o['prob_best']:.0f} %", f"{d['effect']:+,.1f}",
                     krw_text(d["cost_krw"], signed=True),
                     "frontier" if d["dominated"] is None else f"{d['dominated']} dominated"])
    s.add(Table("robust", "Every option re-checked, over the same posterior draws (fresh "
                          "replications)",
                ["option", "expected net benefit", "expected regret", "largest regret",
                 f"{r['percentile']:.0f}th percentile", "P(best)", f"additional {unit}s",
                 "extra public cost", "frontier"], rows,
                [f"Net benefit: {krw_text(r['wtp_krw'])} x additional {unit}s - extra public cost "
                 f"(cohort window), against {result['counterfactual']}, per posterior draw (each "
                 f"the mean of its {', '.join(map(str, sorted(set(r['replications_per_draw']))))} "
                 "fresh replications). Regret in a draw: the best option's net benefit less this "
                 "one's, the counterfactual and the baseline among the options."]))
    return s


def _cnt(v, sign: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:+,.1f}" if sign else f"{v:,.1f}"


def _per_bn(v, cost) -> str:
    if v is None or not cost:
        return "n/a"
    return f"{v / (cost / 1e9):,.2f}"


def write_optimize_report(root: Path, result: dict) -> dict[str, Path]:
    """optimize.md (figures in figures/) and optimize.html in the optimisation's folder."""
    return write_pages(Path(root), build_optimize_report(result), "optimize")
