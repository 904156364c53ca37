"""The sweep's page: which parameters matter, with Sobol' indices, tornado and scatter plots.

Built from plain data (the sweep's definition, sensitivity.json and the design table) with the
blocks of :mod:`sim.report.document`: ``sweep.html`` (self-contained) and ``sweep.md`` (figures in
``figures/``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter

from ..analysis.dictionary import GAP, KRW, SHARE, metric_unit
from .document import Bullets, Figure, Paragraph, Report, Section, Table
from .format import fmt, shown_command, shown_path
from .pages import write_pages
from .plots import GREY, colours, to_png

ORDINAL = {1: "First", 2: "Second", 3: "Third"}


LOW_COLOUR = "#1f77b4"


HIGH_COLOUR = "#d62728"


def metric_kind(metric: str) -> str:
    """How a metric's numbers are shown (share, krw or count), from its unit in the data
    dictionary."""
    unit = metric_unit(metric)
    return "share" if unit in (SHARE, GAP) else "krw" if unit == KRW else "count"


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


def tornado_png(rows: list[dict], centre: float | None, metric: str) -> bytes:
    """Bars from the mean to the metric expected at each parameter's low and high end."""
    rows = [r for r in rows if r["at_low"] is not None and r["at_high"] is not None]
    rows = sorted(rows, key=lambda r: abs(r["at_high"] - r["at_low"]))
    fig = MplFigure(figsize=(8.5, 0.5 * max(len(rows), 1) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    if not rows or centre is None:
        ax.text(0.5, 0.5, "no variation to "
                          "show", ha="center", va="center", transform=ax.transAxes, color=GREY)
    else:
        y = np.arange(len(rows))
        lo = np.array([r["at_low"] for r in rows]) - centre
        hi = np.array([r["at_high"] for r in rows]) - centre
        ax.barh(y, lo, left=centre, color=LOW_COLOUR, alpha=0.85, label="parameter at the low end "
                                                                        "of its range")
        ax.barh(y, hi, left=centre, color=HIGH_COLOUR, alpha=0.85, label="parameter at the high "
                                                                         "end")
        ax.axvline(centre, color=GREY, lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([r["param"] for r in rows], fontsize=8)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"{metric} (expected, the other parameters varying over their ranges)")
    ax.set_title(f"Tornado: how far each parameter moves {metric}", fontsize=11, loc="left")
    return to_png(fig)


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
        cv, c = (
            np.asarray(e["curve_values"], float),
            np.array([np.nan if v is None else v for v in e["curve"]]),
        )
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
    fig.suptitle(f"{metric} at each design point (mean and 95% CI over "
                 "replications)", fontsize=11, x=0.01,
                 ha="left")
    return to_png(fig)


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
        ci = np.array(
            [
                [np.nan, np.nan] if not r[f"{key}_ci"] or None in r[f"{key}_ci"] else r[f"{key}_ci"]
                for r in rows
            ],
            float,
        ).reshape(-1, 2)
        ax.barh(y + off, np.nan_to_num(v), height=h, color=col, label=label)
        ok = np.isfinite(ci).all(axis=1) & np.isfinite(v)
        if ok.any():
            ax.errorbar(
                v[ok],
                y[ok] + off,
                xerr=np.abs(np.vstack([v[ok] - ci[ok, 0], ci[ok, 1] - v[ok]])),
                fmt="none",
                ecolor="#333333",
                capsize=2,
                lw=0.8,
            )
    ax.set_yticks(y)
    ax.set_yticklabels([r["param"] for r in rows], fontsize=8)
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_xlabel("share of the metric's variance (Sobol' index)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=11, loc="left")
    return to_png(fig)


def build_sweep_report(sweep: dict, analysis: dict, design: dict) -> Report:
    """The sweep's page. ``sweep``: ``info`` (the manifest's sweep definition), ``params``
    (:class:`~sim.scenario.ranges.Param` each), ``values`` (the design's points by parameter),
    ``command``, ``seconds`` and ``folder`` (its name); ``analysis``: sensitivity.json; ``design``:
    design.parquet's columns."""
    info = sweep["info"]
    metric = analysis["metric"]
    params = sweep["params"]
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
        f"For {metric} in {info.base!r}, over the ranges below ({npts} design points x {reps} "
        f"replications, {info.design} design, common random numbers), the parameters that matter "
        f"most are, by total Sobol' index ({method}):"))
    items = []
    for r in top:
        items.append(f"{ORDINAL.get(r['rank'], r['rank'])}: {r['param']}: total index "
                     f"{_idx(r['total'])}{_ci(r['total_ci'])}, first order "
                     f"{_idx(r['first'])}{_ci(r['first_ci'])}; {metric} moves from "
                     f"{_num(r['at_low'], metric)} at the low end to {_num(r['at_high'], metric)} "
                     "at the high end of its range.")
    s.add(Bullets(items))
    negligible = [r["param"] for r in table_rows if r["total"] is not None and r["total_ci"]
                  and r["total_ci"][1] is not None and r["total_ci"][1] < 0.02]
    if negligible:
        s.add(Paragraph("Negligible over these ranges (total index below 0.02 at the upper end of "
                        "its 95% CI; they can be fixed anywhere in their "
                        "range): " + ", ".join(negligible) + "."))
    sur = analysis["surrogate"]
    fit = (f"The surrogate ({sur['degree']}, {sur['terms']} terms) explains R² = {_idx(sur['r2'])} "
           f"of the variation between design points (leave-one-out Q² = {_idx(sur['q2'])}); the "
           "rest is simulation noise and effects the polynomial cannot follow, and is not "
           "attributed to any parameter.")
    if primary == "surrogate":
        s.add(Paragraph("Method: the indices are those of a cheap polynomial metamodel fitted to "
                        "the design points' means, computed exactly (a variance decomposition), "
                        "with 95% CIs from a residual bootstrap of the fit. " + fit))
    else:
        s.add(Paragraph("Method: Saltelli (2010) first-order and Jansen total estimators on the "
                        f"design's A, B and AB matrices ({prim['n']} base samples), bootstrap 95% "
                        "CIs over base samples; with few base samples they are noisy (and "
                        "first-order estimates can fall below zero). The surrogate's indices are "
                        "shown beside them as a check. " + fit))
    sections.append(s)

    # -- indices table and plots
    s = Section("indices", "Sensitivity indices")
    header = ["rank", "parameter", "total index [95% CI]", "first order [95% CI]", "SRC",
              f"{metric} at low end", f"{metric} at high end"]
    rows = [[str(r["rank"]), r["param"], _idx(r["total"]) + _ci(r["total_ci"]),
             _idx(r["first"]) + _ci(r["first_ci"]), _idx(r["src"]), _num(r["at_low"], metric),
             _num(r["at_high"], metric)] for r in table_rows]
    notes = [f"Indices: {'Saltelli design estimates' if primary == 'saltelli' else 'surrogate'}. "
             "SRC: standardised regression coefficient of a linear fit on the parameter values "
             f"(R² = {_idx(analysis['src']['r2'])}). Low/high end: the metric expected with the "
             "parameter at that end while the others vary over their ranges (the surrogate's main "
             "effect)."]
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
    s.add(Figure("sweep-indices", f"First-order and total Sobol' indices for {metric}, with 95% "
                                  "bootstrap CIs.",
                 "bar chart of Sobol "
                 "indices", indices_png(table_rows, f"Sobol' indices for {metric}")))
    s.add(Figure("sweep-tornado", f"Tornado: {metric} expected at each parameter's low (blue) and "
                 "high (red) end; the line is the mean over the design.", "tornado plot",
                 tornado_png(analysis["main_effects"], analysis["mean"], metric)))
    x = np.asarray(sweep["values"], float).reshape(-1, len(params))
    y = np.array(design[f"{metric}_mean"], float)
    lo = np.array(design[f"{metric}_ci_low"], float)
    hi = np.array(design[f"{metric}_ci_high"], float)
    s.add(
        Figure(
            "sweep-scatter",
            f"{metric} against each parameter: every design point (other "
            "parameters vary too), and the surrogate's main effect. The bars are each "
            "point's own 95% CI over replications; with common random numbers the "
            "differences between points are far more precise than that.",
            "scatter plots",
            scatter_png(
                [p.key for p in params],
                x,
                y,
                lo,
                hi,
                analysis["main_effects"],
                metric,
                [p.scale == "log" for p in params],
            ),
        )
    )
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
                ["Whole-number parameters are rounded; true/false parameters are true in the upper "
                 "half of the range."]))
    d = info.design
    what = {"lhs": f"Latin hypercube of {info.samples} points",
            "sobol": f"Saltelli design: {info.samples} base samples of a scrambled Sobol' "
                     f"sequence, {info.samples} x ({len(params)} + 2) = {npts} points",
            "grid": f"full grid of up to {info.samples} levels per parameter, {npts} points"}[d]
    s.add(
        Bullets(
            [
                "Base scenario: "
                f"{shown_path(info.file)}"
                + (f" with --set {' '.join(info.overrides)}" if info.overrides else ""),
                f"Design: {what} (seed {info.seed}).",
                f"Replications: {reps} per point, common random numbers (replication r of every "
                "point draws the same start-ups with the same luck).",
                f"Metric: {metric}; design.csv holds every point's values and metric means with "
                "95% CIs.",
                f"Run: {shown_command(sweep.get('command') or '')}"
                + (f" ({sweep['seconds']} s)" if sweep.get("seconds") else ""),
            ]
        )
    )
    show = min(npts, 60)
    header = ["point"] + [p.key for p in params] + [f"{metric} [95% CI]"]
    rows = []
    for i in range(show):
        mean, a, b = (
            design[f"{metric}_mean"][i],
            design[f"{metric}_ci_low"][i],
            design[f"{metric}_ci_high"][i],
        )
        cell = _num(mean, metric) + (f" [{_num(a, metric)}, {_num(b, metric)}]"
                                     if a is not None and math.isfinite(a) and a != b else "")
        rows.append([design["point"][i]] + [_val(design[p.key][i], p) for p in params] + [cell])
    s.add(Table("points", "Design points" + (f" (first {show} of {npts}; all in "
                                             "design.csv)" if show < npts else ""),
                header, rows))
    sections.append(s)
    title = f"Sweep of {info.base}: which assumptions matter for {metric}"
    subtitle = (f"{npts} design points x {reps} replications, {d} design, seed {info.seed}; "
                f"results folder {sweep['folder']}")
    return Report(title, subtitle, sections)


def _val(v, p) -> str:
    if p.kind == "bool":
        return "true" if v >= 0.5 else "false"
    if p.kind == "int":
        return f"{int(v):,}"
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def write_sweep_report(root: Path, sweep: dict, analysis: dict, design: dict) -> dict[str, Path]:
    """sweep.html (self-contained), sweep.md and figures/sweep-*.png in the sweep's folder
    ``root``."""
    return write_pages(Path(root), build_sweep_report(sweep, analysis, design), "sweep")
