"""The comparison report's money pages: public cost by item and where each won comes from, money
raised as an input (never ranked), the start-ups the programme never supported (displacement or
spillover), and the start-ups founder education created, apart from the programme's effect on
survival.

Lays out :attr:`sim.analysis.findings.Findings.money` (computed by :mod:`sim.analysis.money`);
computes nothing.
"""

from __future__ import annotations

from ..analysis.findings import Findings
from ..analysis.money import INPUTS, ITEM_LABELS, ITEMS
from .document import Bullets, Paragraph, Section, Table
from .format import defined, diff_cell, krw_text, mean_cell, ratio_cell


def _count(stat: dict | None) -> str:
    return mean_cell(stat, "count")


def public_cost_section(res: Findings) -> Section | None:
    """Public cost over the whole run by item, with where each item's money comes from."""
    pc = res.money.get("public_cost") or {}
    if not pc:
        return None
    s = Section("public_cost", "Public cost by item, and where each won comes from")
    names = [n for n in res.scenarios if n in pc and not (
        n == res.counterfactual and (pc[n]["items"].get("total") or {}).get("mean") == 0)]
    split = all(pc[n]["education_split"] for n in names)
    items = [k for k in ITEMS if split or k != "education"]
    header = (["scenario"] + [ITEM_LABELS[k] + " (bn KRW)" for k in items]
              + ["public cost (bn KRW)", "partners' own money, not public (bn KRW)"])
    rows = [[res.label(n)] + [mean_cell(pc[n]["items"].get(k), "krw").replace(" bn", "")
                              for k in items + ["total"]]
            + [mean_cell(pc[n]["partners"], "krw").replace(" bn", "")] for n in names]
    notes = ["Whole run (every calendar year of the simulation), means over replications ± the "
             "95% CI half-width. The items add up to the public cost of the headline table.",
             "Partners' own money (their investments and acquisition payments) is theirs, not "
             "public money: shown apart, never added to the public cost."]
    if not split:
        notes.append("This folder has no yearly ledger (years.parquet), so founder education's "
                     "cost is inside the centres' operating cost.")
    if rows:
        s.add(Table("public_cost", "Public cost over the whole run by item", header, rows, notes))
    ref = res.baseline or (names[0] if names else None)
    srows = []
    for n in names:
        src = pc[n]["sources"]
        for k in items:
            if k not in src:
                continue
            if n != ref and ref in pc and pc[ref]["sources"].get(k) == src[k]:
                continue
            srows.append([n, ITEM_LABELS[k], src[k]])
    if srows:
        s.add(Table("public_cost_sources", "Where each item's money comes from",
                    ["scenario", "item", "source of the money (the scenario's own values)"],
                    srows, [f"Every item of {ref} is listed; another scenario lists only the "
                            f"items whose source differs from {ref}'s."]))
    return s


def inputs_section(res: Findings) -> Section | None:
    """Money raised: what investors and lenders put in, an input, apart from the benefits."""
    mi = res.money.get("inputs") or {}
    metrics = mi.get("metrics") or []
    if not metrics:
        return None
    kinds = {m: (label, kind) for m, label, kind in INPUTS}
    s = Section("inputs", "Money raised: what investors and lenders put in (inputs, not benefits)")
    s.add(Paragraph("What the start-ups raised from the market is money investors and lenders "
                    "put in, not a benefit of the programme: more is not better and less is not "
                    "worse (a bigger grant, for instance, means fewer firms run out of cash and "
                    "borrow to survive). It is shown here apart from the benefits, with no "
                    "p-value or ranking."))
    header = ["scenario"] + [kinds[m][0] + (" (bn KRW)" if kinds[m][1] == "krw" else "")
                             for m in metrics]
    rows = [[res.label(n)] + [mean_cell(mi["levels"][n].get(m), kinds[m][1]).replace(" bn", "")
                              for m in metrics] for n in res.scenarios if n in mi["levels"]]
    s.add(Table("inputs", "Money raised over the whole run (means ± 95% CI half-width)", header,
                rows, ["Venture money: equity rounds; loans: bank and policy loans at milestones "
                       "and bridge loans when cash ran out (a bridge loan is a distress round). "
                       "The market's supply is the venture money the national series gives the "
                       "model's start-ups (by firm age and region) plus public funds' "
                       "investments; 0 where the market is not limited."]))
    drows = []
    for (sc, ref), d in mi["diffs"].items():
        drows.append([sc, ref] + [diff_cell(d.get(m), kinds[m][1], mark=False).replace(" bn", "")
                                  for m in metrics])
    if drows:
        s.add(Table("inputs_diff", "Money raised: scenario minus reference",
                    ["scenario", "reference"] + header[1:], drows,
                    ["Paired over replications, with the 95% confidence interval in brackets; not "
                     "marked better or worse."]))
    items = []
    for b in mi.get("bridges", []):
        n = abs(b["diff"])
        lo, hi = sorted((abs(b["ci_low"]), abs(b["ci_high"])))
        items.append(f"{b['scenario']} means {n:,.0f} {b['word']} distress (bridge) rounds than "
                     f"{b['reference']} [{lo:,.0f} to {hi:,.0f}]"
                     + (": fewer of its start-ups ran out of cash and borrowed to survive."
                        if b["word"] == "fewer" else
                        ": more of its start-ups ran out of cash and borrowed to survive."))
    if items:
        s.add(Paragraph("Distress rounds (where the 95% interval excludes zero):"))
        s.add(Bullets(items))
    else:
        s.add(Paragraph("No comparison changes the number of distress (bridge) rounds by more than "
                        "its 95% interval allows for chance."))
    return s


def _zero_or(row: dict, key: str, text: str) -> str:
    """A displacement or spillover cell: ``0`` when it is exactly zero, else the number (bn KRW for
    money) with its interval, and its word."""
    word = row[key + "_word"]
    return ("0" if word == "zero" else text.replace(" bn", "")) + f" ({_word(word)})"


def _signed(x) -> str:
    """A count with its sign, 0 as plain 0."""
    if not defined(x):
        return "n/a"
    return "0" if round(x) == 0 else f"{x:+,.0f}"


def _word(word: str) -> str:
    return {"zero": "zero: no displacement, no spillover",
            "indistinguishable from zero": "not distinguishable from zero"}.get(word, word)


def others_section(res: Findings) -> Section | None:
    """The start-ups the programme never supported (displacement or spillover), and founder
    education's start-ups apart from the programme's effect on survival."""
    ns = res.money.get("never_supported") or {}
    cr = res.money.get("creation") or {}
    if not ns and not cr:
        return None
    cf = res.counterfactual
    s = Section("others", "Start-ups the programme never supported, and start-ups it created")
    rows, lines = [], []
    for n in res.scenarios:
        if n not in ns:
            continue
        r = ns[n]
        created = (cr.get(n) or {}).get("survivors")
        rows.append([n,
                     _zero_or(r, "effect_survivors",
                              diff_cell(r["effect_survivors"], "count", False)),
                     _count(created),
                     _zero_or(r, "displaced_survivors",
                              mean_cell(r["displaced_survivors"], "count")),
                     _zero_or(r, "effect_equity", diff_cell(r["effect_equity"], "krw", False)),
                     _zero_or(r, "displaced_equity", mean_cell(r["displaced_equity"], "krw"))])
    head = res.baseline or next((n for n in res.scenarios if n in ns), None)
    if head in ns:
        r = ns[head]
        d = r["displaced_survivors"] or {}
        e = r["displaced_equity"] or {}
        lines.append(
            f"{head}: the start-ups it never supported have "
            f"{diff_cell(r['effect_survivors'], 'count', False)} 5-year survivors against "
            f"{cf} ({_word(r['effect_survivors_word'])}); the supported firms' extra venture "
            f"rounds displaced {_signed(d.get('mean'))} of them "
            f"({_word(r['displaced_survivors_word'])}) and "
            f"{krw_text(e.get('mean'), signed=True)} of their venture money"
            + (f" [{krw_text(e.get('ci_low'), True)}, {krw_text(e.get('ci_high'), True)}]"
               if defined(e.get("ci_low")) and e.get("ci_low") != e.get("ci_high") else "")
            + f" ({_word(r['displaced_equity_word'])}).")
    if rows:
        for line in lines:
            s.add(Paragraph(line))
        s.add(Table("never_supported", f"The start-ups never supported: effect against {cf}, "
                                       "and what the supported firms displaced",
                    ["scenario", f"their 5-year survivors against {cf}",
                     "of which start-ups founder education created",
                     "survivors displaced by the supported firms' extra rounds",
                     f"their venture money against {cf} (bn KRW)",
                     "venture money displaced (bn KRW)"], rows,
                    ["Against the counterfactual: the never-supported start-ups' survivors "
                     "(venture money) with the programme, minus the same firms' without it "
                     "(paired, 95% CI in brackets). It includes the start-ups founder education "
                     "created (never supported, and absent without the programme), counted in the "
                     "next column.",
                     "Displaced: within the scenario, the change in the never-supported firms' "
                     "survivors and venture money that the supported firms' extra venture rounds "
                     "caused in the market (each firm with and without the others' extra demand; "
                     "means ± 95% CI half-width). Negative is displacement, positive spillover; "
                     "zero is stated as zero."]))
    crow, cline = [], []
    for n in res.scenarios:
        c = cr.get(n)
        if not c or "additional" not in c:
            continue
        per, why = ratio_cell(c["per_additional"], "survivor")
        per_s, why_s = ratio_cell(c["per_survival"], "survivor")
        crow.append([n, _count(c["startups"]), _count(c["survivors"]),
                     diff_cell(_as_diff(c["additional"]), "count", False),
                     diff_cell(_as_diff(c["creation"]), "count", False),
                     diff_cell(_as_diff(c["survival"]), "count", False), per, per_s])
        if n == head:
            cline.append(
                f"Of {n}'s {diff_cell(_as_diff(c['additional']), 'count', False)} additional "
                f"5-year survivors against {cf}, "
                f"{diff_cell(_as_diff(c['creation']), 'count', False)} are start-ups founder "
                "education created (firm creation: without the programme they were never "
                f"founded) and {diff_cell(_as_diff(c['survival']), 'count', False)} are firms "
                "that survive because of the programme (survival). Public cost of the cohort "
                f"window per additional survivor: {per} KRW counting both"
                + (f" ({why})" if why else "") + f"; {per_s} KRW counting survival alone"
                + (f" ({why_s})" if why_s else "") + ".")
    if crow:
        for line in cline:
            s.add(Paragraph(line))
        s.add(Table("creation", "Firm creation apart from survival",
                    ["scenario", "start-ups founder education created",
                     "their 5-year survivors", f"additional 5-year survivors against {cf}",
                     "of which firm creation", "of which survival",
                     "public cost per additional survivor (M KRW)",
                     "per additional survivor from survival alone (M KRW)"], crow,
                    ["Start-ups founder education created: the share of its region's foundings "
                     "its founding-rate multiplier adds, in expectation, in the cohort window; "
                     "their survivors are all additional. Survival: the rest of the additional "
                     "survivors. The cost per additional survivor divides the cohort window's "
                     "public cost by each (Fieller 95% CI in brackets, paired replications)."]))
    return s


def creation_clause(res: Findings, n: str) -> str:
    """The summary's words for how much of ``n``'s additional survivors is firm creation ("" when
    founder education created no start-up there)."""
    c = (res.money.get("creation") or {}).get(n) or {}
    made = (c.get("creation") or {}).get("mean")
    if not c.get("additional") or not defined(made) or made == 0:
        return ""
    per_s, why_s = ratio_cell(c["per_survival"], "survivor")
    return (f" Of those survivors, {diff_cell(_as_diff(c['creation']), 'count', False)} are "
            "start-ups founder education created (firm creation) and "
            f"{diff_cell(_as_diff(c['survival']), 'count', False)} survive because of the "
            f"programme (survival alone: {per_s} KRW per additional survivor"
            + (f", {why_s}" if why_s else "") + "; 'Start-ups the programme never supported, and "
            "start-ups it created' below).")


def _as_diff(stat: dict | None) -> dict | None:
    if not stat:
        return None
    return {"diff": stat["mean"], "ci_low": stat["ci_low"], "ci_high": stat["ci_high"]}
