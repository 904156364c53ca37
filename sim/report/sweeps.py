"""Reports of sweeps and optimisations, in the house style of :mod:`sim.report`.

The content is built with the same blocks as the comparison report (paragraphs, bullets,
tables, PNG figures) and rendered by the same renderers: ``sweep.html`` (self-contained, figures
embedded) and ``sweep.md`` (figures in ``figures/``); ``optimize.md`` likewise.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .content import Bullets, Figure, Paragraph, Report, Section, Table
from .html import render_html
from .markdown import FIGURES, render_markdown
from .plots import GREY, colours
from .tables import fmt

DPI = 100
ORDINAL = {1: "First", 2: "Second", 3: "Third"}
LOW_COLOUR = "#1f77b4"
HIGH_COLOUR = "#d62728"
KIND = {"survival_1y": "share", "survival_2y": "share", "survival_3y": "share", "survival_4y": "share",
        "survival_5y": "share", "supported_survival_5y": "share", "unsupported_survival_5y": "share",
        "naive_gap_5y": "share"}


def metric_kind(metric: str) -> str:
    if metric in KIND:
        return KIND[metric]
    return "krw" if metric.endswith("_krw") else "count"


def _num(v, metric: str) -> str:
    kind = metric_kind(metric)
    if kind == "count" and v is not None and math.isfinite(v) and abs(v) < 100:
        return f"{v:,.2f}"
    return fmt(v, kind)


def _idx(v) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.2f}"


def _ci(ci) -> str:
    if not ci or any(c is None for c in ci):
        return ""
    return f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def _png(fig: MplFigure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------
def tornado_png(rows: list[dict], centre: float | None, metric: str) -> bytes:
    """Bars from the mean to the metric expected at each parameter's low and high end."""
    rows = [r for r in rows if r["at_low"] is not None and r["at_high"] is not None]
    rows = sorted(rows, key=lambda r: abs(r["at_high"] - r["at_low"]))
    fig = MplFigure(figsize=(8.5, 0.5 * max(len(rows), 1) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    if not rows or centre is None:
        ax.text(0.5, 0.5, "no variation to show", ha="center", va="center", transform=ax.transAxes, color=GREY)
    else:
        y = np.arange(len(rows))
        lo = np.array([r["at_low"] for r in rows]) - centre
        hi = np.array([r["at_high"] for r in rows]) - centre
        ax.barh(y, lo, left=centre, color=LOW_COLOUR, alpha=0.85, label="parameter at the low end of its range")
        ax.barh(y, hi, left=centre, color=HIGH_COLOUR, alpha=0.85, label="parameter at the high end")
        ax.axvline(centre, color=GREY, lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([r["param"] for r in rows], fontsize=8)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"{metric} (expected, the other parameters varying over their ranges)")
    ax.set_title(f"Tornado: how far each parameter moves {metric}", fontsize=11, loc="left")
    return _png(fig)


def scatter_png(params: list[str], x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                effects: list[dict], metric: str, log: list[bool]) -> bytes:
    """One panel per parameter: point means (with CIs) against its value, and the main effect."""
    k = max(len(params), 1)
    ncols = min(3, k)
    nrows = math.ceil(k / ncols)
    fig = MplFigure(figsize=(4.1 * ncols, 3.1 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for j, ax in enumerate(axes.flat):
        if j >= len(params):
            ax.set_visible(False)
            continue
        ok = np.isfinite(y)
        err = np.vstack([y - lo, hi - y])
        has_ci = ok & np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(x[has_ci, j], y[has_ci], yerr=err[:, has_ci], fmt="o", ms=3.5, color="#1f77b4",
                    ecolor="#9ecae1", elinewidth=0.8, alpha=0.85)
        ax.plot(x[ok & ~has_ci, j], y[ok & ~has_ci], "o", ms=3.5, color="#1f77b4")
        e = effects[j]
        cv, c = np.asarray(e["curve_values"], float), np.array([np.nan if v is None else v for v in e["curve"]])
        if np.isfinite(c).any():
            ax.plot(cv, c, color=HIGH_COLOUR, lw=1.6, label="main effect (surrogate)")
        if log[j]:
            ax.set_xscale("log")
        label = params[j]
        if label.endswith("_krw"):  # money in millions of KRW rather than an offset exponent
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:,.0f}"))
            label += " (M KRW)"
        ax.set_xlabel(label, fontsize=8)
        ax.grid(alpha=0.25)
        if j == 0:
            ax.legend(fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    fig.suptitle(f"{metric} at each design point (mean and 95% CI over replications)", fontsize=11, x=0.01,
                 ha="left")
    return _png(fig)


def indices_png(rows: list[dict], title: str) -> bytes:
    """First-order and total Sobol' indices with their CIs, one group per parameter."""
    fig = MplFigure(figsize=(8.5, 0.55 * max(len(rows), 1) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    rows = list(reversed(rows))
    y = np.arange(len(rows), dtype=float)
    h = 0.38
    cols = colours(2)
    for off, key, label, col in ((h / 2, "total", "total (alone and with others)", cols[1]),
                                 (-h / 2, "first", "first order (alone)", cols[0])):
        v = np.array([np.nan if r[key] is None else r[key] for r in rows])
        ci = np.array([[np.nan, np.nan] if not r[f"{key}_ci"] or None in r[f"{key}_ci"] else r[f"{key}_ci"]
                       for r in rows], float).reshape(-1, 2)
        ax.barh(y + off, np.nan_to_num(v), height=h, color=col, label=label)
        ok = np.isfinite(ci).all(axis=1) & np.isfinite(v)
        if ok.any():
            ax.errorbar(v[ok], y[ok] + off, xerr=np.abs(np.vstack([v[ok] - ci[ok, 0], ci[ok, 1] - v[ok]])),
                        fmt="none", ecolor="#333333", capsize=2, lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([r["param"] for r in rows], fontsize=8)
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_xlabel("share of the metric's variance (Sobol' index)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=11, loc="left")
    return _png(fig)


# ----------------------------------------------------------------------------------------------
# the sweep report
# ----------------------------------------------------------------------------------------------
def build_sweep_report(res, analysis: dict, design: dict) -> Report:
    info = res.info
    metric = analysis["metric"]
    params = res.params
    m = res.manifest
    reps = analysis["replications"]
    npts = analysis["points"]
    primary = analysis["primary"]
    prim = analysis[primary]
    table_rows = analysis["table"]
    sections = []

    # -- headline
    s = Section("answer", "Which parameters matter most")
    top = table_rows[:3]
    method = ("estimated straight from the Saltelli design" if primary == "saltelli" else
              f"of a {analysis['surrogate']['degree']} surrogate fitted to the design points")
    s.add(Paragraph(
        f"For {metric} in {info['base']!r}, over the ranges below ({npts} design points x {reps} replications, "
        f"{info['design']} design, common random numbers), the parameters that matter most are, by total "
        f"Sobol' index ({method}):"))
    items = []
    for r in top:
        items.append(f"{ORDINAL.get(r['rank'], r['rank'])}: {r['param']}: total index {_idx(r['total'])}{_ci(r['total_ci'])}, first order "
                     f"{_idx(r['first'])}{_ci(r['first_ci'])}; {metric} moves from {_num(r['at_low'], metric)} at the "
                     f"low end to {_num(r['at_high'], metric)} at the high end of its range.")
    s.add(Bullets(items))
    negligible = [r["param"] for r in table_rows if r["total"] is not None and r["total_ci"]
                  and r["total_ci"][1] is not None and r["total_ci"][1] < 0.02]
    if negligible:
        s.add(Paragraph("Negligible over these ranges (total index below 0.02 at the upper end of its 95% CI; "
                        "they can be fixed anywhere in their range): " + ", ".join(negligible) + "."))
    sur = analysis["surrogate"]
    fit = (f"The surrogate ({sur['degree']}, {sur['terms']} terms) explains R² = {_idx(sur['r2'])} of the "
           f"variation between design points (leave-one-out Q² = {_idx(sur['q2'])}); the rest is simulation "
           "noise and effects the polynomial cannot follow, and is not attributed to any parameter.")
    if primary == "surrogate":
        s.add(Paragraph("Method: the indices are those of a cheap polynomial metamodel fitted to the design "
                        "points' means, computed exactly (a variance decomposition), with 95% CIs from a "
                        "residual bootstrap of the fit. " + fit))
    else:
        s.add(Paragraph("Method: Saltelli (2010) first-order and Jansen total estimators on the design's A, B "
                        f"and AB matrices ({prim['n']} base samples), bootstrap 95% CIs over base samples; with "
                        "few base samples they are noisy (and first-order estimates can fall below zero). "
                        "The surrogate's indices are shown beside them as a check. " + fit))
    sections.append(s)

    # -- indices table and plots
    s = Section("indices", "Sensitivity indices")
    header = ["rank", "parameter", "total index [95% CI]", "first order [95% CI]", "SRC",
              f"{metric} at low end", f"{metric} at high end"]
    rows = [[str(r["rank"]), r["param"], _idx(r["total"]) + _ci(r["total_ci"]),
             _idx(r["first"]) + _ci(r["first_ci"]), _idx(r["src"]), _num(r["at_low"], metric),
             _num(r["at_high"], metric)] for r in table_rows]
    notes = [f"Indices: {'Saltelli design estimates' if primary == 'saltelli' else 'surrogate'}. SRC: standardised "
             f"regression coefficient of a linear fit on the parameter values (R² = {_idx(analysis['src']['r2'])}). "
             "Low/high end: the metric expected with the parameter at that end while the others vary over "
             "their ranges (the surrogate's main effect)."]
    s.add(Table("indices", f"Sobol' indices for {metric}", header, rows, notes))
    if primary == "saltelli":
        sur_by = {p: i for i, p in enumerate(analysis["params"])}
        rows2 = []
        for r in table_rows:
            i = sur_by[r["param"]]
            rows2.append([r["param"], _idx(sur["total"][i]) + _ci(sur["total_ci"][i]),
                          _idx(sur["first"][i]) + _ci(sur["first_ci"][i])])
        s.add(Table("surrogate-indices", "The same indices from the surrogate (a check)",
                    ["parameter", "total index [95% CI]", "first order [95% CI]"], rows2))
    s.add(Figure("sweep-indices", f"First-order and total Sobol' indices for {metric}, with 95% bootstrap CIs.",
                 "bar chart of Sobol indices", indices_png(table_rows, f"Sobol' indices for {metric}")))
    s.add(Figure("sweep-tornado", f"Tornado: {metric} expected at each parameter's low (blue) and high (red) end; "
                 "the line is the mean over the design.", "tornado plot",
                 tornado_png(analysis["main_effects"], analysis["mean"], metric)))
    x = np.asarray(res.design.values, float).reshape(-1, len(params))
    y = np.array(design[f"{metric}_mean"], float)
    lo = np.array(design[f"{metric}_ci_low"], float)
    hi = np.array(design[f"{metric}_ci_high"], float)
    s.add(Figure("sweep-scatter", f"{metric} against each parameter: every design point (other parameters vary "
                 "too), and the surrogate's main effect. The bars are each point's own 95% CI over replications; "
                 "with common random numbers the differences between points are far more precise than that.", "scatter plots",
                 scatter_png([p.key for p in params], x, y, lo, hi, analysis["main_effects"], metric,
                             [p.scale == "log" for p in params])))
    sections.append(s)

    # -- the design
    s = Section("design", "The design")
    prow = []
    for p in params:
        rng = (f"x{p.low:g} .. x{p.high:g} of each target's value" if p.relative
               else f"{p.low:g} .. {p.high:g}")
        tg = p.targets[0] if len(p.targets) == 1 else f"{len(p.targets)} keys ({p.targets[0]}, ...)"
        prow.append([p.key, rng, p.kind, p.scale, tg])
    s.add(Table("params", "Parameters", ["parameter", "range", "type", "scale", "sets"], prow,
                ["Whole-number parameters are rounded; true/false parameters are true in the upper half of the range."]))
    d = info["design"]
    what = {"lhs": f"Latin hypercube of {info['samples']} points",
            "sobol": f"Saltelli design: {info['samples']} base samples of a scrambled Sobol' sequence, "
                     f"{info['samples']} x ({len(params)} + 2) = {npts} points",
            "grid": f"full grid of up to {info['samples']} levels per parameter, {npts} points"}[d]
    s.add(Bullets([f"Base scenario: {info['file']}" + (f" with --set {' '.join(info['overrides'])}"
                                                      if info["overrides"] else ""),
                   f"Design: {what} (seed {info['seed']}).",
                   f"Replications: {reps} per point, common random numbers (replication r of every point "
                   "draws the same start-ups with the same luck).",
                   f"Metric: {metric}; design.csv holds every point's values and metric means with 95% CIs.",
                   f"Run: {m.get('command', '')}" + (f" ({m.get('seconds')} s)" if m.get("seconds") else "")]))
    show = min(npts, 60)
    header = ["point"] + [p.key for p in params] + [f"{metric} [95% CI]"]
    rows = []
    for i in range(show):
        mean, a, b = design[f"{metric}_mean"][i], design[f"{metric}_ci_low"][i], design[f"{metric}_ci_high"][i]
        cell = _num(mean, metric) + (f" [{_num(a, metric)}, {_num(b, metric)}]"
                                     if a is not None and math.isfinite(a) and a != b else "")
        rows.append([design["point"][i]] + [_val(design[p.key][i], p) for p in params] + [cell])
    s.add(Table("points", "Design points" + (f" (first {show} of {npts}; all in design.csv)" if show < npts else ""),
                header, rows))
    sections.append(s)
    title = f"Sweep of {info['base']}: which assumptions matter for {metric}"
    subtitle = (f"{npts} design points x {reps} replications, {d} design, seed {info['seed']}; "
                f"results folder {res.root}")
    return Report(title, subtitle, sections)


def _val(v, p) -> str:
    if p.kind == "bool":
        return "true" if v >= 0.5 else "false"
    if p.kind == "int":
        return f"{int(v):,}"
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def _write(root: Path, report: Report, stem: str) -> dict[str, Path]:
    from ..experiment.store import atomic_write_bytes

    figures = root / FIGURES
    figures.mkdir(exist_ok=True)
    for f in report.figures():
        atomic_write_bytes(figures / f"{f.name}.png", f.png)
    html, md = root / f"{stem}.html", root / f"{stem}.md"
    atomic_write_bytes(html, render_html(report).encode("utf-8"))
    atomic_write_bytes(md, render_markdown(report).encode("utf-8"))
    return {"html": html, "markdown": md, "figures": figures}


def write_sweep_report(res, analysis: dict, design: dict) -> dict[str, Path]:
    """sweep.html (self-contained), sweep.md and figures/sweep-*.png in the sweep's folder."""
    return _write(Path(res.root), build_sweep_report(res, analysis, design), "sweep")


# ----------------------------------------------------------------------------------------------
# the optimisation report
# ----------------------------------------------------------------------------------------------
def progress_png(history: list[dict], finalists: list[dict], objective: str) -> bytes:
    """Left: best objective found per generation. Right: finalists re-evaluated, with 95% CIs."""
    fig = MplFigure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    if history:
        g = [h["generation"] for h in history]
        ax1.plot(g, [h["best"] for h in history], "o-", color="#1f77b4", label="best so far")
        ax1.plot(g, [h["median"] for h in history], "s--", color=GREY, ms=3, label="median of generation")
        ax1.legend(fontsize=8)
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_xlabel("generation")
    ax1.set_ylabel(f"{objective} (search replications)")
    ax1.grid(alpha=0.3)
    ax1.set_title("Search", fontsize=11, loc="left")
    if finalists:
        labels = [f["name"] for f in finalists][::-1]
        d = np.array([np.nan if f["objective"]["mean"] is None else f["objective"]["mean"] for f in finalists])[::-1]
        lo = np.array([np.nan if f["objective"]["ci_low"] is None else f["objective"]["ci_low"] for f in finalists])[::-1]
        hi = np.array([np.nan if f["objective"]["ci_high"] is None else f["objective"]["ci_high"] for f in finalists])[::-1]
        y = np.arange(len(labels))
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax2.errorbar(d[ok], y[ok], xerr=np.abs(np.vstack([d[ok] - lo[ok], hi[ok] - d[ok]])), fmt="o", capsize=3)
        ax2.plot(d[~ok], y[~ok], "o", mfc="white")
        ax2.set_yticks(y)
        ax2.set_yticklabels(labels, fontsize=8)
        ax2.axvline(0, color=GREY, lw=0.8, ls="--")
    ax2.set_xlabel(f"{objective} vs the counterfactual (final replications)")
    ax2.grid(axis="x", alpha=0.3)
    ax2.set_title("Ranking and selection", fontsize=11, loc="left")
    return _png(fig)


def build_optimize_report(result: dict) -> Report:
    obj = result["objective"]
    b = result["budget_krw"]
    best = result["best"]
    sections = []
    s = Section("answer", "Best allocation")
    o = best["objective"]
    s.add(Paragraph(
        f"Within a budget of {fmt(b, 'krw')} KRW (planned cost), the best allocation found gives {obj} = "
        f"{_cnt(o['mean'])} [{_cnt(o['ci_low'])}, {_cnt(o['ci_high'])}] (95% CI, {result['final']['replications']} "
        f"fresh replications, paired with the counterfactual {result['counterfactual']!r}), at a planned cost of "
        f"{fmt(best['planned_cost_krw'], 'krw')} (simulated spending {fmt(best['simulated_cost_krw']['mean'], 'krw')})."))
    base = result.get("baseline")
    if base:
        vs = best.get("vs_baseline") or {}
        s.add(Paragraph(
            f"The baseline {base['name']!r} (planned cost {fmt(base['planned_cost_krw'], 'krw')}"
            f"{', over the budget' if base['planned_cost_krw'] > b + 1 else ''}) gives {obj} = {_cnt(base['objective']['mean'])} "
            f"[{_cnt(base['objective']['ci_low'])}, {_cnt(base['objective']['ci_high'])}]. Best minus baseline: "
            f"{_cnt(vs.get('diff'), sign=True)} [{_cnt(vs.get('ci_low'), sign=True)}, {_cnt(vs.get('ci_high'), sign=True)}]"
            f" (paired, same replications); per bn KRW of planned cost: best {_per_bn(o['mean'], best['planned_cost_krw'])},"
            f" baseline {_per_bn(base['objective']['mean'], base['planned_cost_krw'])}."))
    if best["planned_cost_krw"] < b * 0.99:
        s.add(Paragraph(f"It plans {fmt(b - best['planned_cost_krw'], 'krw')} less than the budget: within the "
                        "evaluations allowed, no candidate found a use for that money that did better."))
    s.add(Bullets([f"{k} = {v}" for k, v in best["allocation"].items()] or ["(the base scenario as it is)"]))
    s.add(Paragraph(f"Scenario file: {result['files']['scenario']} (extends {result['file']}); run it with "
                    f"python run_sim.py compare {result['files']['scenario']}"))
    sections.append(s)

    s = Section("finalists", "Ranking and selection")
    header = ["candidate", f"{obj} [95% CI]", "minus best [95% CI]", "planned cost", "simulated cost"]
    rows = []
    for f in result["finalists"]:
        fo, d = f["objective"], f.get("vs_best") or {}
        rows.append([f["name"], f"{_cnt(fo['mean'])} [{_cnt(fo['ci_low'])}, {_cnt(fo['ci_high'])}]",
                     "-" if f["name"] == best["name"] else
                     f"{_cnt(d.get('diff'), sign=True)} [{_cnt(d.get('ci_low'), sign=True)}, {_cnt(d.get('ci_high'), sign=True)}]",
                     fmt(f["planned_cost_krw"], "krw"), fmt(f["simulated_cost_krw"]["mean"], "krw")])
    indist = [f["name"] for f in result["finalists"] if f.get("indistinguishable") and f["name"] != best["name"]]
    s.add(Table("finalists", "Finalists re-evaluated on fresh replications (common random numbers)", header, rows,
                [f"The {result['final']['finalists']} best candidates of the search"
                 f"{' and the baseline' if result.get('baseline') else ''}, each run for "
                 f"{result['final']['replications']} new replications (root seed {result['final']['seed']}, not "
                 "the search's, so the winner's luck in the search does not carry over)."
                 + (f" Not distinguishable from the best at 95%: {', '.join(indist)}." if indist else "")]))
    s.add(Figure("optimize-progress", "Search progress and the finalists' objective with 95% CIs.",
                 "search progress", progress_png(result["search"]["history"], result["finalists"], obj)))
    sections.append(s)

    s = Section("method", "Method")
    sr = result["search"]
    s.add(Bullets([
        f"Decision variables ({len(result['levers'])}): " + "; ".join(
            f"{lv['label']} {lv['range']}" for lv in result["levers"]),
        "Cost: planned cost from the levers (sim.analysis.costs): operating cost for the months each centre "
        "is open, the most the grant rules can pay each programme year, each partner's annual co-investment "
        "budget for each year one of its centres is open, founder education. The simulated spending is "
        "always at most this.",
        "Budget: a candidate over budget is repaired before it is simulated: its cost-relevant variables move "
        "towards their cheapest values (centres with the lowest priority close first, later openings, smaller "
        "grants and budgets) by the least amount that fits the budget. No simulated candidate costs more than "
        "the budget.",
        f"Search: scipy.optimize.differential_evolution (popsize {sr['population']}, {sr['generations']} "
        f"generations, seed {result['seed']}), objective = mean over {sr['replications']} fixed replications "
        f"(common random numbers: the same start-ups for every candidate and the counterfactual). "
        f"{sr['evaluated']} distinct candidates simulated, {sr['cached']} cache hits.",
        f"Ranking and selection: the {result['final']['finalists']} best distinct candidates and the baseline "
        f"re-run for {result['final']['replications']} fresh replications; the best mean wins; paired 95% CIs.",
    ]))
    sections.append(s)
    return Report(f"Budget allocation: {obj} from {fmt(b, 'krw')} KRW",
                  f"base {result['file']}, counterfactual {result['counterfactual']}, seed {result['seed']}",
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
    return _write(Path(root), build_optimize_report(result), "optimize")
