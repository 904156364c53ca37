"""What happened to the start-ups, for the comparison report: survival curves, the valley, the
support funnel, regions, and the published gap split into effect and selection (every number from
:func:`sim.analysis.findings.findings`)."""

from __future__ import annotations

import math

import numpy as np

from ..analysis.effects import VISIBLE_PP
from ..analysis.findings import FUNNEL, HALF_YEARS, SINCE_SUPPORT, SURVIVAL_GRID, YEARS, Findings
from . import plots
from .document import Figure, Paragraph, Section, Table, drawing
from .format import defined, diff_cell, pct, pp


def style_map(res: Findings) -> dict[str, dict]:
    """A distinguishable style (colour, marker, line style) per scenario; the counterfactual in
    grey."""
    out = dict(zip(res.scenarios, plots.styles(len(res.scenarios)), strict=True))
    if res.counterfactual:
        out[res.counterfactual] = {"color": plots.CF_COLOUR, "marker": "o", "ls": "-"}
    return out


def colour_map(res: Findings) -> dict[str, tuple]:
    """The colour of each scenario (as :func:`style_map`)."""
    return {n: st["color"] for n, st in style_map(res).items()}


def _kept_note(res: Findings) -> str:
    if not res.kept_replications:
        return ""
    reps = ", ".join(str(r) for r in res.kept_replications)
    return (f"From the start-up tables of replication(s) {reps} (the ones kept; --startups all "
            f"keeps more).")


def survival_section(res: Findings) -> Section:
    """Survival from support of each scenario's supported start-ups beside the same firms without
    the programme (their twins), where the two curves differ visibly; the differences of all
    start-ups' survival against the counterfactual by age; Kaplan-Meier levels by age."""
    s = Section("survival", "Survival curves")
    if not res.kept and not res.twins:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none), so no survival curve "
                        "can be drawn. The headline table still has S(1y), S(3y) and S(5y) from "
                        "every replication."))
        return s
    cf = res.counterfactual
    colour = colour_map(res)
    if res.twins:
        shown = [n for n in res.scenarios if n in res.twins and res.twins[n]["visible"]]
        faint = [n for n in res.scenarios if n in res.twins and not res.twins[n]["visible"]]
        x = SINCE_SUPPORT / 12
        panels = []
        for n in shown:
            c = res.twins[n]
            panels.append({"title": f"{res.label(n)}: {c['matched']:,} supported firms",
                           "curves": [
                               dict(label="without the programme (twins)", x=x, s=c["twins"][0],
                                    lo=c["twins"][1], hi=c["twins"][2], colour=plots.CF_COLOUR),
                               dict(label="supported", x=x, s=c["treated"][0], lo=c["treated"][1],
                                    hi=c["treated"][2], colour=colour[n])]})
        text = ("The programme touches a small share of all start-ups, so the survival curves of "
                "all start-ups with and without it cannot be told apart at this scale (their "
                "differences are drawn below). What it does shows in the firms it supports: each "
                "panel follows a scenario's supported start-ups from their support date, beside "
                f"the very same firms in {cf} (their twins: same start-ups, same luck, no "
                "programme), pooled over every replication, with 95 % bands.")
        if faint:
            text += (" Not drawn, because the two curves never differ by "
                     f"{100 * VISIBLE_PP:.0f} percentage points or more: "
                     + "; ".join(f"{n} (largest gap {100 * res.twins[n]['largest_gap']:.1f} pp)"
                                 for n in faint) + ".")
        s.add(Paragraph(text))
        if panels:
            s.add(Figure("survival", "Supported start-ups' survival from their support date, "
                         f"with the programme and (their twins) without it in {cf}: Kaplan-Meier "
                         "with 95% confidence bands (Greenwood, log-log), every replication",
                         "Survival curves of the supported start-ups against their counterfactual "
                         "twins", drawing(plots.km_panels, panels, xlabel="years since support")))
    grid = SURVIVAL_GRID
    curves = res.curves
    if not res.twins and curves:  # a run, or a folder without its twins: the levels
        panels = [{"title": res.label(n), "curves": [
            dict(label=n, x=grid / 12, s=curves[n][0], lo=curves[n][1], hi=curves[n][2],
                 colour=plots.CF_COLOUR if n == cf else colour[n])]}
            for n in res.scenarios if n in curves]
        s.add(Paragraph("Share of start-ups still alive by firm age (Kaplan-Meier, with 95% "
                        "confidence bands). Dotted lines mark 1, 3 and 5 years. "
                        + _kept_note(res)))
        s.add(Figure("survival", "Kaplan-Meier survival by firm age with 95% confidence bands "
                                 "(Greenwood, log-log)",
                     "Survival curves by firm age for each scenario",
                     drawing(plots.km_panels, panels)))
    if cf is not None:
        diffs = []
        for n in res.scenarios:
            if n == cf:
                continue
            rows = res.survival_diffs[n]
            diffs.append({"label": n, "x": np.array(YEARS, float), "d": [r["diff"] for r in rows],
                          "lo": [r["ci_low"] for r in rows], "hi": [r["ci_high"] for r in rows]})
        if diffs:
            s.add(Figure("survival_diff", f"Survival of each scenario minus {cf} at ages 1 to 5 "
                         "years: the mean over all paired replications with its 95% confidence "
                         "interval (percentage points; the curves of all start-ups differ by too "
                         "little to see)",
                         "Differences in survival against the counterfactual by firm age, with "
                         "confidence intervals",
                         drawing(plots.curve_differences, diffs,
                                 title=f"Survival by age: each scenario minus {cf}")))
    rows = []
    for n in res.scenarios:
        if n in curves:
            c = curves[n][0]
            rows.append([res.label(n)] + [pct(c[12 * y]) for y in (1, 2, 3, 4, 5, 6, 7, 8)])
    s.add(Table("km", "Kaplan-Meier survival at each year of age (kept replications)",
                ["scenario"] + [f"{y} y" for y in range(1, 9)], rows,
                ["n/a: no start-up of the cohort window was observed to that age before the "
                 "horizon."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


def valley_section(res: Findings) -> Section:
    """Death rates by firm age: the shape of the death valley, and what kills start-ups in it."""
    s = Section("valley", "The death valley")
    if not res.kept:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none)."))
        return s
    edges = HALF_YEARS
    style = style_map(res)
    series, rows = [], []
    for n in res.scenarios:
        if n not in res.hazards:
            continue
        rate, yearly = res.hazards[n]
        series.append(
            {
                "label": n,
                "edges": edges / 12,
                "rate": rate,
                "colour": style[n]["color"],
                "ls": style[n]["ls"],
                "bold": n in (res.counterfactual, res.baseline),
            }
        )
        rows.append([res.label(n)] + [f"{100 * v:.1f}" if defined(v) else "n/a" for v in yearly])
    s.add(Paragraph("How often start-ups die at each age: deaths per 100 firm-years at risk, in "
                    "half-year bands. "
                    + valley_words(res.valley) + " " + _kept_note(res)))
    s.add(Figure("valley", "Death rate by firm age (deaths per 100 firm-years at risk, half-year "
                 "bands); the counterfactual and the baseline in bold",
                 "Step plot of death rates by firm age for each scenario",
                 drawing(plots.hazard, series)))
    s.add(Table("hazard", "Deaths per 100 firm-years at risk, by year of age",
                ["scenario"] + [f"{y}-{y + 1} y" for y in range(8)], rows,
                ["n/a: no firm-months at risk at that age in the kept replications."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


def valley_words(valley: dict) -> str:
    """What the data say about the valley (:func:`sim.analysis.findings.valley`): the shape of the
    yearly death rate and the causes of the deaths before the valley is crossed, in words."""
    name, rate = valley["name"], valley["rate"]
    ok = np.flatnonzero(np.isfinite(rate))
    if ok.size < 2:
        return f"In {name}, too few firm-years were observed to describe the death rate's shape."
    r = rate[ok]
    peak = int(ok[np.argmax(r)])
    first, last = float(r[0]), float(r[-1])
    if peak == ok[0]:
        shape = (f"the death rate is highest in the first year ({first:.1f} per 100 firm-years) "
                 f"and falls with age to {last:.1f} by year {int(ok[-1]) + 1}: no hump, the valley "
                 "is steepest at the start")
    elif peak == ok[-1]:
        shape = (f"the death rate rises with age, from {first:.1f} per 100 firm-years in the first "
                 f"year to {last:.1f} in year {int(ok[-1]) + 1}")
    else:
        shape = (f"the death rate rises from {first:.1f} per 100 firm-years in the first year to a "
                 f"peak of {float(rate[peak]):.1f} in year {peak + 1}, then falls to {last:.1f} by "
                 f"year {int(ok[-1]) + 1}")
    causes = ""
    share = valley["causes"]
    if share:
        causes = (" Of the start-ups that died before crossing the valley, "
                  f"{100 * share['cash']:.0f}% ran out of cash and {100 * share['failure']:.0f}% "
                  "failed for other reasons (team, product, market)"
                  + (": the valley is mostly not about "
                     "cash." if share["failure"] > share["cash"] else "."))
    return f"In {name}, {shape}.{causes}"


STEPS = dict(zip(FUNNEL, ("founded", "selected by a "
                                     "centre", "received a grant", "raised follow-on money",
                          "crossed the valley", "acquired", "alive at the horizon"), strict=True))
FUNNEL_LABELS = tuple(STEPS.items())


def funnel_section(res: Findings) -> Section:
    """The funnel: start-ups reaching each step from founding to exit."""
    s = Section("funnel", "From founding to exit: the funnel")
    if not res.kept:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none)."))
        return s
    counts = res.funnel
    rows = []
    for n in res.scenarios:
        if n in counts:
            c = counts[n]
            rows.append([res.label(n)] + [f"{c[key]:,.0f}" for key, _ in FUNNEL_LABELS]
                        + [pct(c["crossed"] / c["founded"]) if c["founded"] else "n/a"])
    s.add(Paragraph("All start-ups founded over the whole run, per replication: how many were "
                    "selected by a centre, got a grant, raised follow-on money (market or "
                    "conglomerate), crossed the valley (break-even or scale-up), were acquired, "
                    "and were still alive at the horizon. The steps are not nested: a firm can be "
                    "acquired without crossing. " + _kept_note(res)))
    s.add(Table("funnel", "Start-ups reaching each step (mean per kept replication)",
                ["scenario"] + [label for _, label in FUNNEL_LABELS] + ["crossed / founded"], rows))
    shown = [n for n in (res.counterfactual, res.baseline) if n in counts] or list(counts)[:2]
    s.add(Figure("funnel", "The funnel for " + " and ".join(shown), "Grouped bar chart of "
                                                                    "start-ups at each step",
                 drawing(plots.funnel, [label for _, label in FUNNEL_LABELS],
                              [(n, [counts[n][key] for key, _ in FUNNEL_LABELS]) for n in shown])))
    return s


def regions_section(res: Findings) -> Section:
    """The regions side by side: levels, changes against the counterfactual, supported start-ups."""
    rg = res.regions
    s = Section("regions", f"The {(rg or {}).get('count') or 17} regions side by side")
    if rg is None:
        s.add(Paragraph("n/a: no regional results in this folder (regions.parquet is missing)."))
        return s
    cf = res.counterfactual if rg["changes"] else None
    level_ref, cols = rg["level_ref"], rg["columns"]
    header = ["region", f"start-ups/yr* ({level_ref})", f"S(5y) {level_ref}"]
    rows, mat = [], []
    for r in rg["rows"]:
        row = [
            r["region"],
            f"{r['startups_per_year']:,.0f}" if r["startups_per_year"] is not None else "n/a",
            pct(r["survival_5y"]) if r["survival_5y"] is not None else "n/a",
        ]
        row += [pp(v, 2) if cf else pct(v) for v in r["values"]]
        rows.append(row)
        mat.append(r["values"])
    region_order = [r["region"] for r in rg["rows"]]
    header += [(f"{n}: S(5y) change" if cf else f"{n}: S(5y)") for n in cols]
    notes = ["* start-ups per year founded in the cohort window. S(5y): 5-year survival "
             "(Kaplan-Meier) of the region's start-ups founded in the cohort window, mean over "
             "replications."]
    if cf:
        notes.append(f"Changes: paired difference against {cf} in percentage points, mean over "
                     "replications. Regional numbers are small, so single regions carry wide "
                     "uncertainty.")
    if any("n/a" in c for r in rows for c in r):
        notes.append("n/a: no start-up of that region in the cohort window (or none observed for 5 "
                     "years).")
    s.add(Table("regions", "5-year survival by region", header, rows, notes))
    if cols and cf:
        s.add(Figure("regions", f"Change in 5-year survival by region against {cf} (percentage "
                     "points; blue = more start-ups survive)", "Heat map of regions by scenarios",
                     drawing(plots.heatmap, region_order, cols, np.asarray(mat, float) * 100,
                                   title="5-year survival by region: change against the "
                                         "counterfactual",
                                   unit="percentage points", fmt="{:+.1f}")))
    srows = [
        [r["region"]] + [f"{v:,.0f}" if v is not None else "n/a" for v in r["supported"]]
        for r in rg["rows"]
    ]
    s.add(Table("regions_supported", "Start-ups supported by region (whole run, mean over "
                                     "replications)",
                ["region"] + list(res.scenarios), srows))
    return s


def naive_gap_section(res: Findings) -> Section:
    """The published-style gap between supported and other start-ups, split into effect and
    selection."""
    s = Section("gap", "Supported versus other start-ups: selection or effect?")
    cf = res.counterfactual
    rows, plot_rows = [], []
    notes = []
    for n in res.scenarios:
        if n == cf:
            continue
        ng = res.metric(n, "naive_gap_5y")
        pop = res.comparison(n, cf, "survival_5y") if cf else None
        dec = res.gap(n)
        sup = res.metric(n, "supported")
        if not sup or not defined(sup.get("mean")) or sup["mean"] == 0:
            rows.append([n, "n/a", "n/a", "n/a", "n/a", "n/a", diff_cell(pop, "share", False)])
            notes.append(f"{n}: no start-up was supported, so there is no supported-vs-other gap.")
            continue
        if _gap_cell(ng) == "n/a":
            reason = ((res.summary["scenarios"].get(n) or {}).get("undefined") or {}).get(
                "naive_gap_5y"
            )
            notes.append(f"{n}: the published-style gap is n/a: "
                         f"{reason or 'undefined in every replication'}.")
        rows.append([n, _gap_cell(ng),
                     pct(dec["s_sup"]) if dec else "n/a", pct(dec["s_same_cf"]) if dec else "n/a",
                     _with_ci(dec, "effect"), _with_ci(dec, "selection"),
                     diff_cell(pop, "share", False)])
        if dec:
            plot_rows.append(
                (n, dec["effect"], dec["selection"], pop.get("diff") if pop else math.nan)
            )
    s.add(Paragraph(_gap_words(res)))
    notes = ["Published-style gap: 5-year survival of supported start-ups counted from their "
             "support date, minus that of start-ups never supported (metric naive_gap_5y; mean ± "
             "95% CI over replications).",
             ("The next columns follow every replication's supported "
              "firms" if res.probes is not None else
              "The next columns come from the kept replication(s): the supported firms")
             + ": their survival from support, the same firms' survival in the counterfactual (the "
             "simulation can run the same firms with the same luck without the programme), and the "
             "difference, the programme's effect on the firms it supported"
             + (" (mean over replications, 95% CI in brackets)" if res.probes is not None else "")
             + ". Selection and head start = the rest of the gap."] + notes
    if cf is None:
        notes.append("n/a in the effect columns: this experiment has no counterfactual to compare "
                     "with.")
    elif not res.kept:
        notes.append("n/a in the effect columns: no start-up tables were kept (--startups none).")
    s.add(Table("gap", "The published-style gap beside the causal effect",
                ["scenario", "published-style gap (pp)", "supported: S(5y) from support",
                 "same firms without "
                 "programme", "effect on the supported", "selection and head start",
                 "causal effect on all start-ups [95% CI]"], rows, notes))
    if plot_rows:
        s.add(
            Figure(
                "gap",
                "The published-style gap split into the programme's effect on the "
                "supported firms (green) and selection (grey), beside the effect on all "
                "start-ups (blue)",
                "Bar chart splitting the supported-vs-other survival gap",
                drawing(plots.gap,
                    [r[0] for r in plot_rows],
                    [r[1] for r in plot_rows],
                    [r[2] for r in plot_rows],
                    [r[3] for r in plot_rows],
                ),
            )
        )
    return s


def _with_ci(dec: dict | None, key: str) -> str:
    """The effect or selection part of a gap: with its 95% CI over replications when known."""
    if not dec:
        return "n/a"
    stat = dec.get(f"{key}_stat")
    return diff_cell(stat, "share", False) if stat else pp(dec[key])


def _gap_cell(stat: dict | None) -> str:
    if not stat or not defined(stat.get("mean")):
        return "n/a"
    hw = stat.get("half_width")
    return (
        f"{100 * stat['mean']:+.1f}"
        + (f" ± {100 * hw:.1f}" if defined(hw) and hw > 0 else "")
        + " pp"
    )


def _gap_words(res: Findings) -> str:
    cf = res.counterfactual
    who = res.baseline or next((n for n in res.scenarios if n != cf), None)
    dec = res.gap(who) if who else None
    if dec is None or not defined(dec.get("s_sup")) or not defined(dec.get("s_same_cf")):
        return ("Programmes often publish that supported start-ups survive far more often than "
                "others. That gap mixes two things: the programme's own effect, and the fact that "
                "centres select promising firms (which would have done better anyway) and count "
                "survival from the selection date (so the riskiest first months are skipped). "
                "Separating them needs a counterfactual and kept start-up tables; this experiment "
                "has "
                + ("no counterfactual." if cf is None else "no kept start-up table."))
    pop = res.comparison(who, cf, "survival_5y")
    pop_text = diff_cell(pop, "share", False)
    return (f"Read this before quoting survival rates of supported start-ups. In {who}, start-ups "
            "selected by a centre were still alive five years after selection in "
            f"{pct(dec['s_sup'], 0)} of cases, against {pct(dec['s_unsup'], 0)} for start-ups "
            f"never selected: a gap of {abs(100 * dec['naive']):.0f} percentage points, the kind "
            "of figure published for the programme. It does not measure what the programme did. "
            "The simulation can follow the very same start-ups with the same luck in a world "
            f"without the programme: there, they would have survived in {pct(dec['s_same_cf'], 0)} "
            "of cases. So the programme itself changed these firms' 5-year survival by "
            f"{_with_ci(dec, 'effect')}; the other {_with_ci(dec, 'selection')} of the gap is "
            "there because centres pick firms that were already more promising, and because a "
            "firm has to be alive to be selected, so counting from the selection date skips the "
            "riskiest first months. Spread over all start-ups, most of which are never selected, "
            f"5-year survival changes by {pop_text}. Plan with the effect, not with the gap."
            + (f" (Means over {dec['replications']} replications with 95% confidence intervals.)"
               if dec.get("replications") else " (From the kept replication(s) only: no "
                                               "interval.)"))
