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
from .format import fmt, shown_path
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
    obj = result["objective"]
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
        f"{_cnt(o['mean'])} [{_cnt(o['ci_low'])}, {_cnt(o['ci_high'])}] (95% CI, "
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
            f"{_cnt(base['objective']['mean'])} "
            f"[{_cnt(base['objective']['ci_low'])}, {_cnt(base['objective']['ci_high'])}]. Top "
            f"finalist minus baseline: "
            f"{_cnt(vs.get('diff'), sign=True)} [{_cnt(vs.get('ci_low'), sign=True)}, "
            f"{_cnt(vs.get('ci_high'), sign=True)}]"
            f" (paired, same replications); per bn KRW of planned cost: best "
            f"{_per_bn(o['mean'], best['planned_cost_krw'])},"
            f" baseline {_per_bn(base['objective']['mean'], base['planned_cost_krw'])}."))
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

    s = Section("finalists", "Ranking and selection")
    header = ["candidate", f"{obj} [95% "
                           "CI]", "minus best [95% CI]", "planned cost", "simulated cost"]
    rows = []
    for f in result["finalists"]:
        fo, d = f["objective"], f.get("vs_best") or {}
        rows.append(
            [
                f["name"],
                f"{_cnt(fo['mean'])} [{_cnt(fo['ci_low'])}, {_cnt(fo['ci_high'])}]",
                "-"
                if f["name"] == best["name"]
                else f"{_cnt(d.get('diff'), sign=True)} [{_cnt(d.get('ci_low'), sign=True)}, "
                f"{_cnt(d.get('ci_high'), sign=True)}]",
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
            progress_png(result["search"]["history"], result["finalists"], obj),
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
