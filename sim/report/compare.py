"""The comparison report: every scenario against the counterfactual and the baseline.

:func:`build_report` lays out what :func:`sim.analysis.findings.findings` computed from a results
folder as a :class:`~sim.report.document.Report`: the verdict and headline tables here, what
happened to the start-ups in :mod:`sim.report.population`. It computes nothing: every number is a
finding, formatted. Undefined numbers (a single replication has no
confidence interval, a variant with no supported start-ups has no supported survival, a cost per
survivor cannot be bounded when the extra survivors are not distinguishable from zero) are shown
as "n/a" with a note saying why; nothing here raises on odd but valid results.
"""

from __future__ import annotations

from ..analysis.findings import Findings
from . import choice, discovery, money, population, uncertainty, yearly
from .document import Bullets, Paragraph, Report, Section, Table
from .format import diff_cell, fmt, mean_cell, p_text, ratio_cell, shown_command, shown_path
from .tables import HEADLINE, SUPPORTED_NOTE


def build_report(res: Findings) -> Report:
    """The whole report content for a results folder."""
    m = res.manifest
    kind = m.get("kind", "run")
    n_reps = {
        n: (res.summary["scenarios"].get(n) or {}).get("replications", 0) for n in res.scenarios
    }
    title = "valleysim: policy comparison" if kind == "compare" else (f"valleysim: {kind} of "
                                                                      f"{', '.join(res.scenarios)}")
    reps_text = ", ".join(sorted({str(v) for v in n_reps.values()})) or "0"
    subtitle = (
        f"{len(res.scenarios)} scenario(s), {reps_text} replication(s) each, seed "
        f"{m.get('seed')}, "
        f"{'common random numbers' if m.get('crn', True) else 'independent random numbers'}; "
        f"results folder {res.root.name}"
    )
    sections = [
        choice.section(res),
        _summary(res),
        _headline(res),
        _differences(res),
        uncertainty.section(res),
        discovery.section(res.discovery),
        _value_for_money(res),
        money.public_cost_section(res),
        money.others_section(res),
        money.inputs_section(res),
        yearly.ledger_section(res),
        population.survival_section(res),
        population.valley_section(res),
        population.funnel_section(res),
        population.regions_section(res),
        population.naive_gap_section(res),
        _precision(res),
        _assumptions(res),
        _provenance(res),
        _all_comparisons(res),
    ]
    return Report(title, subtitle, [x for x in sections if x is not None])


def _cohort_text(res: Findings) -> str:
    cal = res.resolved(res.scenarios[0]).get("calendar", {}) if res.scenarios else {}
    a, b, h = cal.get("cohort_first_year"), cal.get("cohort_last_year"), cal.get("horizon")
    if a is None:
        return "start-ups of the cohort window"
    return f"technology start-ups founded {a}-{b}, followed to {h}"


def verdict(res: Findings) -> str:
    """One line a ministry reader can quote, computed from the results: what the baseline does
    against no programme, at what cost per additional survivor, and which variants do better or
    worse in 5-year survival (the choice among them is the decision section's verdict)."""
    cf, base = res.counterfactual, res.baseline
    if cf is None:
        return ("In short: no verdict is possible: this experiment has no counterfactual (no "
                "world without the programme).")
    ref = base or next((n for n in res.scenarios if n != cf), None)
    if ref is None:
        return "In short: no verdict is possible: only the counterfactual was run."
    d = res.comparison(ref, cf, "survival_5y")
    sv = res.comparison(ref, cf, "survivors_5y")
    per, why = ratio_cell(res.cost_effectiveness(ref, cf, "survivors_5y"), "survivor")
    text = (f"In short: {ref} changes 5-year survival by {diff_cell(d, 'share', False)} against no "
            f"programme ({diff_cell(sv, 'count', False)} start-ups alive five years after "
            "founding)")
    text += (f", at {per} KRW of public cost per additional survivor (the cohort window's public "
             "cost over its extra 5-year survivors)" if not why else f" ({why})")
    if base:
        ranked = []
        for n in res.scenarios:
            r = res.comparison(n, base, "survival_5y")
            if n in (cf, base) or not r or r.get("diff") is None:
                continue
            p = r.get("p_adjusted")
            sure = p is not None and p < 0.05
            ranked.append((r["diff"], n, sure and abs(r["diff"]) >= res.practical))
        better = sorted([x for x in ranked if x[0] > 0 and x[2]], reverse=True)
        worse = sorted([x for x in ranked if x[0] < 0 and x[2]])
        same = len(ranked) - len(better) - len(worse)
        parts = []
        if better:
            parts.append(f"{better[0][1]} raises it most ({_pp(better[0][0])} more than {base})")
        if worse:
            parts.append(f"{worse[0][1]} lowers it most ({_pp(worse[0][0])})")
        parts.append(f"{same} of {len(ranked)} variant(s) differ from {base} by less than "
                     f"{100 * res.practical:.2g} pp or not significantly")
        text += "; " + "; ".join(parts)
    return text + "."


def _pp(x: float) -> str:
    """A difference of shares in percentage points with the decimals that show it."""
    return diff_cell({"diff": x}, "share", False)


def shipped_baseline(res: Findings) -> bool:
    """Whether the baseline was a shipped scenario exactly as on disk when the comparison ran (the
    one docs/validation.md's validation run measured), as the comparison recorded it."""
    return bool(res.info and res.info.shipped_baseline and res.baseline)


def _summary(res: Findings) -> Section:
    s = Section("summary", "Summary")
    cf, base = res.counterfactual, res.baseline
    s.add(Paragraph(verdict(res)))
    lines = uncertainty.first_lines(res)
    for line in lines:
        s.add(line)
    if res.counterfactual is not None and not lines:
        s.add(Paragraph("Caution: the effects above follow from the scenarios' effect parameters "
                        "(shelter during the residency, the network's funding odds, the partners' "
                        "money), which are calibrated assumptions, not measurements; the intervals "
                        "here are simulation noise only."
                        + (" For the shipped scenarios, which this comparison's baseline is, a "
                           "separate validation run (docs/validation.md, section 5) found that "
                           "with every effect switched off the survival of all start-ups and the "
                           "programme's throughput still fit the published figures, while the "
                           "supported start-ups' first-year survival and the money they attract "
                           "fall short of them: the data say the programme helps the firms it "
                           "supports early on and with funding, but not how much each channel does."
                           if shipped_baseline(res) else "")))
    s.add(Paragraph(
        f"This report compares {len(res.scenarios)} scenario(s). Survival figures are for "
        f"{_cohort_text(res)}, by firm age; money is in billions (bn) or millions (M) of Korean "
        "won. Every number is an average over replications (independent runs of the simulated "
        "economy); '± x' and '[low, high]' give 95% confidence intervals. "
        + ("Replication r of every scenario sees the same start-ups with the same luck (common "
           "random numbers), so the differences between scenarios are measured far more precisely "
           "than the levels."
           if res.manifest.get("crn", True) else "Scenarios used independent random numbers.")))
    if cf is None:
        s.add(Paragraph("This experiment has no counterfactual (a world without the programme), so "
                        "it shows levels only, not effects. To measure effects, run: python "
                        "run_sim.py compare FILE (it adds the no-programme counterfactual and the "
                        "announced programme as the baseline)."))
        return s
    variants = [n for n in res.scenarios if n != cf]
    if base:
        d = res.comparison(base, cf, "survival_5y")
        sv = res.comparison(base, cf, "survivors_5y")
        jb = res.comparison(base, cf, "jobs_end")
        cost = res.metric(base, "public_cost_krw") or res.metric(base, "programme_cost_krw")
        per, why = ratio_cell(res.cost_effectiveness(base, cf, "survivors_5y"), "survivor")
        s.add(Paragraph(
            f"The baseline ({base}) changes 5-year survival by {diff_cell(d, 'share', False)} "
            f"against no programme ({cf}): {diff_cell(sv, 'count', False)} start-ups alive five "
            f"years after founding and {diff_cell(jb, 'count', False)} jobs at the horizon, for a "
            f"public cost of {fmt(cost.get('mean') if cost else None, 'krw')} KRW over the whole "
            "run (partners' investment apart); public cost per additional 5-year survivor of the "
            f"cohort window: {per} KRW"
            + (f" ({why})." if why else ".") + money.creation_clause(res, base)))
    items = []
    for n in variants:
        if n == base:
            continue
        d = res.comparison(n, cf, "survival_5y")
        sv = res.comparison(n, cf, "survivors_5y")
        text = (f"{n}: 5-year survival {diff_cell(d, 'share', False)} against no programme "
                f"({diff_cell(sv, 'count', False)} survivors)")
        if base:
            db = res.comparison(n, base, "survivors_5y")
            dc = res.comparison(n, base, "public_cost_krw") or res.comparison(
                n, base, "programme_cost_krw"
            )
            text += (f"; {diff_cell(db, 'count', False)} 5-year survivors against the baseline, "
                     f"at {diff_cell(dc, 'krw', False)} KRW of public cost against it")
        items.append(text + ".")
    if items:
        s.add(Paragraph("Each variant (differences with 95% confidence intervals):"))
        s.add(Bullets(items))
    return s


def _headline(res: Findings) -> Section:
    s = Section("headline", "Headline results per scenario")
    header = ["scenario", "reps"] + [label for _, label, _ in HEADLINE]
    rows, na = [], []
    for n in res.scenarios:
        sm = res.summary["scenarios"].get(n) or {}
        met = sm.get("metrics") or {}
        cells = [mean_cell(met.get(k), kind) for k, _, kind in HEADLINE]
        why = sm.get("undefined") or {}
        na += [f"n/a for {n}, {label}: {why.get(k, 'undefined in every replication')}."
               for (k, label, _), c in zip(HEADLINE, cells, strict=True) if c == "n/a"]
        rows.append([res.label(n), str(sm.get("replications", 0))] + cells)
    notes = ["S(t): share of start-ups founded in the cohort window still alive t years after "
             "founding (Kaplan-Meier; an acquisition is not a death). Counts, money and jobs cover "
             "the whole run; money in KRW billions. Public cost = every item of the public ledger "
             "(the centres' operating cost and grants, founder education, public funds' and the "
             "linked funds' public money net of returns: 'Public cost by item' below); partner "
             "investment = the conglomerates' equity investments and acquisition payments, "
             "investment rather than cost, shown apart. Money raised from the market (venture "
             "rounds and loans) is an input, not a benefit: 'Money raised' below.",
             "± gives the 95% confidence interval (mean ± half-width) over replications; a value "
             "without ± comes from a single replication or did not vary.", SUPPORTED_NOTE]
    notes += na
    s.add(Table("headline", "Means over replications with 95% confidence "
                            "intervals", header, rows, notes))
    return s


def _diff_table(res: Findings, ref: str, tid: str) -> Table | None:
    names = [
        n for n in res.scenarios if n != ref and res.comparison(n, ref, "survival_5y") is not None
    ]
    if not names:
        return None
    header = ["scenario"] + [label for _, label, _ in HEADLINE]
    rows = [
        [n]
        + [
            diff_cell(res.comparison(n, ref, k), kind, practical=res.practical)
            for k, _, kind in HEADLINE
        ]
        for n in names
    ]
    notes = [f"Each cell: scenario minus {ref}, averaged over paired replications, with the 95% "
             "confidence interval in brackets. Survival in percentage points (pp), money in KRW "
             "billions.",
             "(n.s.): not significant at 5% after Holm's adjustment for the number of comparisons "
             "made (the appendix lists every p-value).",
             "(small): a survival difference that is statistically certain but smaller than "
             f"{100 * res.practical:.2g} pp, the least difference this report treats as worth "
             "acting on (an assumption of the planner: compare --practical PP, or report "
             "--practical PP)."]
    if any("n/a" in c for r in rows for c in r):
        notes.append("n/a: the difference is undefined (the metric is undefined in one of the "
                     "scenarios).")
    return Table(tid, f"Differences against {ref}", header, rows, notes)


def _differences(res: Findings) -> Section:
    s = Section("differences", "Differences: what each scenario changes")
    if res.counterfactual is None:
        s.add(Paragraph("n/a: this experiment has no counterfactual, so there are no differences "
                        "to show. Run python run_sim.py compare to compare scenarios."))
        return s
    s.add(Paragraph(f"Against the counterfactual ({res.counterfactual}), the differences are the "
                    "effects of the programme as each scenario runs it. "
                    + (f"Against the baseline ({res.baseline}), they show what a variant gains or "
                       "loses compared with the programme as announced." if res.baseline else "")))
    for ref, tid in ((res.counterfactual, "diff_counterfactual"), (res.baseline, "diff_baseline")):
        if ref:
            t = _diff_table(res, ref, tid)
            if t is not None:
                s.add(t)
    return s


def _all_comparisons(res: Findings) -> Section:
    s = Section("appendix", "Appendix: every comparison with its p-values", collapsed=True)
    rows = []
    label = {k: lab for k, lab, _ in HEADLINE}
    kinds = {k: kind for k, _, kind in HEADLINE}
    for r in res.summary.get("comparisons", []):
        k = r.get("metric")
        if k not in label:
            continue
        rows.append([r["scenario"], r["reference"], label[k], diff_cell(r, kinds[k], mark=False),
                     p_text(r.get("p_value")), p_text(r.get("p_adjusted")), str(r.get("n", ""))])
    if rows:
        s.add(Table("comparisons", "All comparisons with p-values",
                    ["scenario", "reference", "metric", "difference [95% "
                                                        "CI]", "p", "Holm-adjusted p", "pairs"],
                    rows, ["p: paired t-test over replications of 'no difference'. Holm-adjusted p "
                           "corrects for testing many scenarios at once (per metric, across all "
                           "comparisons); below 0.05 the difference is unlikely to be chance.",
                           "n/a: the test is undefined (fewer than two paired replications)."]))
    else:
        s.add(Paragraph("No comparison in this experiment."))
    return s


def _value_for_money(res: Findings) -> Section:
    s = Section("value", "Value for money")
    if res.counterfactual is None:
        s.add(Paragraph("n/a: costs per additional survivor need a counterfactual; run python "
                        "run_sim.py compare."))
        return s
    rows, why = [], {}
    for sc, ref in res.comparisons:
        if sc not in res.reps or ref not in res.reps:
            continue
        cost = (
            "cohort_public_cost_krw"
            if res.comparison(sc, ref, "cohort_public_cost_krw")
            else "programme_cost_krw"
        )
        cells = [sc, ref, diff_cell(res.comparison(sc, ref, cost), "krw", False),
                 diff_cell(res.comparison(sc, ref, "survivors_5y"), "count", False)]
        jobs = "cohort_jobs_end" if res.comparison(sc, ref, "cohort_jobs_end") else "jobs_end"
        for outcome, unit in (("survivors_5y", "survivor"), (jobs, "job")):
            text, reason = ratio_cell(res.cost_effectiveness(sc, ref, outcome), unit)
            if reason:
                why.setdefault(reason, f"({'abcdefghijklmnopqrstuvwxyz'[len(why) % 26]})")
                text = f"{text} {why[reason]}"
            cells.append(text)
            if outcome == "survivors_5y":
                cells.append(diff_cell(res.comparison(sc, ref, jobs), "count", False))
        cells.append(diff_cell(res.comparison(sc, ref, "partner_investment_krw"), "krw", False))
        rows.append(cells)
    notes = ["One window for cost and outcome: the start-ups founded in the cohort window. Extra "
             "public cost: their grants, plus the centres' operating and founder-education cost in "
             "proportion to their share of the start-ups the programme supported (central and "
             "local budgets), scenario minus reference. Extra 5-year survivors: the same "
             "start-ups, each followed five years from founding; extra jobs: the same start-ups' "
             "jobs at the horizon. Partners' investment and acquisition payments are investment, "
             "not public cost: shown apart in the last column.",
             "The ratio is the mean extra cost over the mean extra outcome, with a Fieller 95% "
             "confidence interval from the paired replications (in millions of KRW)."]
    notes += [f"{mark} {reason}." for reason, mark in why.items()]
    if rows:
        s.add(Table("value", "Public cost per additional 5-year survivor and per additional job "
                             "(cohort window)",
                    ["scenario", "reference", "extra public cost (bn "
                                              "KRW)", "extra 5-year survivors",
                     "public cost per extra survivor (M "
                     "KRW)", "extra jobs", "public cost per extra job (M KRW)",
                     "extra partner investment (bn KRW)"], rows, notes))
    return s


def _precision(res: Findings) -> Section:
    s = Section("precision", "Precision")
    rows = []
    for c in res.precision:
        if c["met"] is None:
            rows.append([c["scenario"], c["reference"], _pp(c["diff"]), "n/a", "n/a", "n/a"])
            continue
        rows.append(
            [
                c["scenario"],
                c["reference"],
                _pp(c["diff"]),
                f"{100 * c['half_width']:.3f} pp",
                f"{100 * c['target']:.3f} pp",
                "yes" if c["met"] else "no",
            ]
        )
    if not rows:
        s.add(Paragraph("No comparison in this experiment. Per-scenario half-widths are in the "
                        "headline table."))
        return s
    s.add(Paragraph("How precisely each difference in 5-year survival is known: the half-width of "
                    "its 95% confidence interval against the target of a tenth of the difference "
                    "(or 0.1 percentage point when the difference is under 1 point). Where a "
                    "target is missed, rerun with more replications (-n) or with --precision."))
    s.add(Table("precision", "95% CI half-widths of 5-year survival differences",
                ["scenario", "reference", "difference", "half-width", "target", "met"], rows,
                ["n/a: fewer than two paired replications, so no interval."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


def _assumptions(res: Findings) -> Section:
    s = Section("assumptions", "Assumptions: what each scenario changes")
    ref = res.baseline or res.counterfactual
    s.add(Paragraph("Each scenario's policy question (the comment its file opens with) and every "
                    "resolved parameter in which it differs from "
                    + (f"the baseline ({ref})" if ref else "the other scenarios")
                    + ". Values marked 'assumption' in the files are modelling choices, not "
                    "published figures; sources are cited in the scenario files. Dated changes "
                    "(a value from a month on) are listed by month after each scenario's other "
                    "differences."))
    for b in yearly.timeline_blocks(res):
        s.add(b)
    for n in res.scenarios:
        src = (res.manifest.get("scenarios", {}).get(n) or {}).get("file")
        q = res.question(n)
        s.add(
            Paragraph(
                f"{n}"
                + (f" (file {shown_path(src)})" if src else "")
                + (f": {_oneline(q)}" if q else "")
            )
        )
        if ref is None or n == ref:
            if n == ref:
                s.add(Paragraph("This is the reference the others are compared with."))
            for b in yearly.dated_table(res, n):
                s.add(b)
            continue
        diff = res.changes.get(n, [])
        limit = 60
        rows = [[p, a, b] for p, a, b in diff[:limit]]
        notes = [f"... and {len(diff) - limit} more differences (python run_sim.py show FILE "
                 "prints the whole resolved scenario)."] if len(diff) > limit else []
        if not rows:
            rows = [["(no parameter differs)", "", ""]]
        s.add(Table(f"diff_{n}", f"{n} against {ref}", ["parameter", ref, n], rows, notes))
        for b in yearly.dated_table(res, n):
            s.add(b)
    return s


def _oneline(text: str) -> str:
    return " ".join(t for t in text.split())


def _provenance(res: Findings) -> Section:
    s = Section("provenance", "Provenance")
    m = res.manifest
    rows = [
        ["kind", str(m.get("kind"))],
        ["status", str(m.get("status"))],
        ["seed", str(m.get("seed"))],
        ["replications", str(m.get("replications"))],
        ["common random numbers", str(m.get("crn", True))],
        ["start-up tables kept", str(m.get("keep_startups"))],
        [
            "precision target (95% CI half-width of 5-year survival)",
            f"{100 * m['precision']:.3f} pp" if m.get("precision") is not None else "none",
        ],
        ["counterfactual", str(res.counterfactual)],
        ["baseline", str(res.baseline)],
        ["started", str(m.get("started"))],
        ["ended", str(m.get("ended"))],
        ["run time (s)", str(m.get("seconds"))],
        ["failed tasks", str(m.get("failures", 0))],
        ["git commit", str(m.get("git_commit"))],
        ["command", shown_command(str(m.get("command")))],
    ]
    rows += [[f"version: {k}", str(v)] for k, v in (m.get("versions") or {}).items()]
    s.add(Table("provenance", "How these results were made", ["item", "value"], rows,
                ["Rerun with the same command, seed and scenario hashes to get the same numbers, "
                 "whatever the number of workers."]))
    srows = [
        [n, shown_path(v.get("file")), str(v.get("hash"))]
        for n, v in (m.get("scenarios") or {}).items()
    ]
    s.add(Table("scenario_hashes", "Scenarios (resolved parameters are in manifest.json)",
                ["scenario", "file", "hash"], srows))
    if m.get("status") not in (None, "complete"):
        s.add(Paragraph(f"Warning: this experiment's status is '{m.get('status')}'; the report "
                        "shows what was finished."))
    return s
