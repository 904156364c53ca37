"""The report's first section: the decision. Which option, at what price per additional survivor,
how sure, and which missing evidence would be worth the most.

It lays out :attr:`sim.analysis.findings.Findings.decision` (summary.json's ``decision`` block, see
docs/decision.md): a verdict whose every clause is computed from the block (the frontier, the
option with the highest expected net benefit at the planner's willingness to pay, how often it is
the best, where the choice changes, what perfect information would be worth), the cost-effect plane
beside the acceptability curve, a short ranked table and the value of information by parameter.
Nothing here computes a number the block does not hold; the sentences change when the data do.
"""

from __future__ import annotations

from ..analysis.findings import Findings
from . import decision as figures
from .document import Figure, Paragraph, Row, Section, Table, drawing
from .format import defined, diff_cell, krw_text, ratio_cell
from .terminal import frontier_text, unit_of

RANKED_ROWS = 8
"""Options the ranked table shows (the frontier's and the baseline always among them); the others
are in the value-for-money table."""
TOP_PARAMETERS = 3
"""Parameters the verdict names by the value of learning them."""
TIE = 1e-9
"""Expected net benefits closer than this share of the largest public cost are a tie (rounding):
at the default price, what the baseline pays per additional survivor, the baseline and no
programme tie by construction."""
NEGLIGIBLE_KRW = 1e6
"""A value of information below this (1 M KRW per decision) is called practically nothing: less
than a small evaluation study costs."""


def _at(d: dict) -> int:
    grid = d["wtp_grid_krw"]
    return min(range(len(grid)), key=lambda i: abs(grid[i] - d["wtp_krw"]))


def _source(d: dict) -> str:
    src = str(d.get("wtp_source") or "")
    if src == "given":
        return "the willingness to pay given with --wtp"
    prefix = "the public cost per additional unit of "
    if src.startswith(prefix):
        return (f"what {src.removeprefix(prefix)} pays per additional {unit_of(d)}, an assumption "
                "to replace with your own: report --wtp KRW")
    return f"{src}; set your own with report --wtp KRW"


def _list(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _switches(d: dict) -> str:
    """Where the choice by expected net benefit changes: at each frontier step's cost per
    additional unit (the option with the highest expected net benefit at a willingness to pay is
    the frontier option whose step into it costs less than that, and whose next step costs more)."""
    unit = unit_of(d)
    icer = {o["scenario"]: o.get("icer_krw") for o in d["options"]}
    front = d["frontier"]
    if len(front) == 1:
        return f"{front[0]} has the highest expected net benefit at any price per additional {unit}"
    parts = []
    for i, n in enumerate(front):
        lo = icer.get(n) if i else None
        hi = icer.get(front[i + 1]) if i + 1 < len(front) else None
        if lo is None:
            parts.append(f"{n} below {krw_text(hi)}")
        elif hi is None:
            parts.append(f"{n} above {krw_text(lo)}")
        else:
            parts.append(f"{n} from {krw_text(lo)} to {krw_text(hi)}")
    return (f"The choice by expected net benefit changes with the price per additional {unit}: "
            + "; ".join(parts))


def verdict(res: Findings) -> list[Paragraph]:
    """The decision in sentences, each computed from the decision block."""
    d = res.decision
    unit, cf, at = unit_of(d), d["counterfactual"], _at(d)
    best = d["best_at_wtp"]
    rows = {r["option"]: r for r in d["robust"]["options"]}
    opts = {o["scenario"]: o for o in d["options"]}
    prob = d["ceac"][best][at]
    k = d["draws"]
    text = (f"Verdict: at {krw_text(d['wtp_krw'])} of public money per additional {unit} "
            f"({_source(d)}), ")
    scale = max([abs(o["cost_krw"]) for o in d["options"]] + [1.0])
    top = max(r["expected"] for r in rows.values())
    tied = sorted((n for n, r in rows.items() if top - r["expected"] <= TIE * scale),
                  key=lambda n: opts[n]["cost_krw"])
    if len(tied) > 1:
        cheap, dear = tied[0], tied[-1]
        text += (f"{_list(tied)} tie for the highest expected net benefit "
                 f"({krw_text(top, signed=True)} against {cf}): this price is what {dear} pays "
                 f"per additional {unit} over {cheap}, so above it {dear} is the choice and "
                 f"below it {cheap}")
    elif best == cf:
        text += (f"no option's additional {unit}s are worth their public cost: {cf} (no programme) "
                 "has the highest expected net benefit")
        if len(d["frontier"]) > 1:
            first = opts[d["frontier"][1]]
            text += (f"; the cheapest step along the frontier, {first['scenario']}, costs "
                     f"{krw_text(first['icer_krw'])} per additional {unit}")
    else:
        o = opts[best]
        text += (f"{best} has the highest expected net benefit: "
                 f"{krw_text(rows[best]['expected'], signed=True)} against {cf} "
                 f"({o['effect']:+,.0f} {unit}s for {krw_text(o['cost_krw'])} of extra public "
                 "cost)")
    if k > 1 and len(tied) > 1:
        text += f"; over the {k} parameter sets " + _list(
            [f"{n} is the best in {100 * d['ceac'][n][at]:.0f} %" for n in tied])
    elif k > 1:
        text += f"; it is the best option in {100 * prob:.0f} % of the {k} parameter sets"
    out = [Paragraph(text + ".")]
    strongly = [o["scenario"] for o in d["options"] if o["dominated"] == "strongly"]
    ext = [o["scenario"] for o in d["options"] if o["dominated"] == "extendedly"]
    words = f"The efficient frontier runs {frontier_text(d)}."
    if strongly:
        words += (f" {len(strongly)} option(s) are strongly dominated (another costs no more and "
                  f"does no less): {_list(strongly)}.")
    if ext:
        words += (f" {len(ext)} option(s) are extendedly dominated (a mix of two frontier options "
                  f"does more for the same money): {_list(ext)}.")
    words += " " + _switches(d) + "."
    out.append(Paragraph(words))
    extra = []
    often = max(d["ceac"], key=lambda n: d["ceac"][n][at])  # the option most often best
    if k > 1 and len(tied) == 1 and often != best and d["ceac"][often][at] > prob:
        extra.append(f"The option most often best at this price is {often} "
                     f"({100 * d['ceac'][often][at]:.0f} % of the parameter sets), not {best}: "
                     f"{best} is the best less often but by more when it is, and it is the "
                     "expected net benefit that a planner maximises")
    choice = d["robust"]["choice"]
    other = {c: n for c, n in choice.items() if n != best and c != "expected"}
    if k > 1 and other:
        said = {"minimax-regret": "minimax regret (never far from the best)",
                "percentile": f"the {d['robust']['percentile']:.0f}th percentile of net benefit "
                              "(good in nine parameter sets of ten)"}
        extra.append("Judged by " + " and by ".join(f"{said[c]} the choice would be {n}"
                                                   for c, n in other.items()))
    if extra:
        out.append(Paragraph(". ".join(extra) + "."))
    out.append(Paragraph(_information_words(d)))
    return out


def _information_words(d: dict) -> str:
    at, unit = _at(d), unit_of(d)
    evpi = d["evpi_krw"][at]
    method = {"regression": "estimated by regression on the parameters, simulation noise apart",
              "moments": "with the draws' simulation noise taken out by moments",
              "none": "noise not separable: every draw ran once"}.get(d["evpi_method"], "")
    if d["draws"] <= 1:
        return ("Nothing but simulation noise is uncertain in this comparison (it ran at the "
                f"scenarios' own values): {d.get('evppi_why_not') or ''}.")
    worth = (f"at most {krw_text(evpi)}" if evpi >= NEGLIGIBLE_KRW else
             f"practically nothing (under {krw_text(NEGLIGIBLE_KRW)})")
    text = (f"Perfect information on every uncertain parameter would be worth {worth} for this "
            f"choice at {krw_text(d['wtp_krw'])} per additional {unit} (EVPI, {method})")
    share = d.get("noise_share")
    if share:
        text += (f"; {100 * share[at]:.0f} % of the parameter sets' spread in net benefit is "
                 "simulation noise")
    text += ". "
    ev = d.get("evppi_krw")
    if not ev:
        return text + f"What each parameter is worth is not estimated: {d['evppi_why_not']}."
    named = sorted(((v[at], k) for k, v in ev.items() if k != "all parameters"), reverse=True)
    floor = (d.get("evppi_null_krw") or [0.0] * len(d["wtp_grid_krw"]))[at]
    above = [(v, k) for v, k in named if v > floor + NEGLIGIBLE_KRW]
    if not above:
        return text + (f"No single parameter's value of information stands out above the floor "
                       f"({krw_text(floor)}, what a parameter without influence gets from these "
                       "draws): what perfect information is worth here comes from the parameters "
                       f"together, or these {d['draws']} parameter sets cannot attribute it to one "
                       "of them.")
    best = "; ".join(f"{k} {krw_text(v)}" for v, k in above[:TOP_PARAMETERS])
    return text + (f"The evidence worth the most (EVPPI: learning that parameter exactly before "
                   f"choosing): {best}; a parameter near {krw_text(floor)} (the floor a parameter "
                   "without influence gets from these draws) says nothing.")


def ranked_table(res: Findings) -> Table:
    """The options ranked by expected net benefit at the planner's willingness to pay: public cost,
    additional survivors with both uncertainties, cost per additional survivor, P(best)."""
    d = res.decision
    unit, cf, at = unit_of(d), d["counterfactual"], _at(d)
    nb = {r["option"]: r["expected"] for r in d["robust"]["options"]}
    order = sorted(nb, key=lambda n: -nb[n])
    keep = [n for n in order if n in d["frontier"] or n == res.baseline]
    keep += [n for n in order if n not in keep][: max(0, RANKED_ROWS - len(keep))]
    shown = [n for n in order if n in keep]
    effect_metric = "cohort_jobs_end" if unit == "job" else "survivors_5y"
    cost_metric = d.get("cost") or "cohort_public_cost_krw"
    status = {o["scenario"]: o for o in d["options"]}
    rows = []
    for rank, n in enumerate(shown, 1):
        o = status[n]
        if n == cf:
            cost, effect, noise, spread, ratio = "0", "0", "", "", ""
        else:
            cost = diff_cell(res.comparison(n, cf, cost_metric), "krw", False)
            r = res.comparison(n, cf, effect_metric) or {}
            effect = f"{r['diff']:+,.0f}" if defined(r.get("diff")) else "n/a"
            noise = f"±{r['mc_half_width']:,.0f}" if defined(r.get("mc_half_width")) else "n/a"
            spread = (f"{r['param_low']:+,.0f} to {r['param_high']:+,.0f}"
                      if defined(r.get("param_low")) and defined(r.get("param_high")) else "n/a")
            ratio = ratio_cell(res.cost_effectiveness(n, cf, effect_metric), unit)[0] \
                if (n, cf, effect_metric) in res.ratios else "n/a"
        if o["dominated"] is None:
            place = "frontier" + (f" (+{krw_text(o['icer_krw'])} per {unit})"
                                  if o.get("icer_krw") is not None else "")
        else:
            place = f"{o['dominated']} dominated"
        rows.append([f"{rank}. {res.label(n)}", cost, effect, noise, spread, ratio,
                     f"{100 * d['ceac'][n][at]:.0f} %", krw_text(nb[n], signed=True), place])
    left = len(order) - len(shown)
    notes = [f"Ranked by expected net benefit at {krw_text(d['wtp_krw'])} per additional {unit} "
             f"(willingness to pay x additional {unit}s - extra public cost, against {cf}, mean "
             "over the parameter sets). Public cost: the cohort window's extra public cost "
             "against no programme, bn KRW, 95 % CI. Additional "
             f"{unit}s: mean over replications; ± the 95 % half-width of simulation noise alone; "
             "then the central 90 % over the parameter sets the published figures allow (what "
             "better evidence would narrow). Cost per additional "
             f"{unit}: public cost over additional {unit}s, M KRW, Fieller 95 % CI.",
             f"P(best): the share of parameter sets in which the option has the highest net "
             f"benefit at this price. Frontier: on the efficient frontier, with the extra cost of "
             f"one more {unit} from the previous frontier option."]
    if left:
        notes.append(f"{left} more option(s), all below these by expected net benefit, are in the "
                     "value-for-money table.")
    return Table("decision", f"The options ranked at {krw_text(d['wtp_krw'])} per additional "
                             f"{unit}",
                 ["option", "public cost (bn KRW)", f"additional {unit}s", "noise (95 %)",
                  "over parameter sets (90 %)", f"cost per additional {unit} (M KRW)",
                  "P(best)", "expected net benefit", "frontier"], rows, notes)


def section(res: Findings) -> Section | None:
    """The decision section (None without a counterfactual); the report's first."""
    if res.counterfactual is None:
        return None
    s = Section("decision", "The decision: which option, at what price, and what evidence would "
                            "change it")
    d = res.decision
    if d is None:
        s.add(Paragraph(f"No decision can be read from this comparison: {res.decision_why_not}."))
        return s
    for p in verdict(res):
        s.add(p)
    unit, at = unit_of(d), _at(d)
    names = [o["scenario"] for o in d["options"]]
    effect_label = f"additional {'5-year survivors' if unit == 'survivor' else 'jobs'}"
    cloud = d.get("draws_effect") if d["draws"] > 1 else None
    plane = drawing(figures.ce_plane,
        names, [o["effect"] for o in d["options"]], [o["cost_krw"] for o in d["options"]],
        [o["dominated"] for o in d["options"]], d["frontier"], effect_label=effect_label,
        counterfactual=d["counterfactual"], wtp_krw=d["wtp_krw"], draws_effect=cloud,
        draws_cost_krw=d.get("draws_cost_krw") if cloud is not None else None,
        title=f"Cost and effect against {d['counterfactual']}, and the efficient frontier")
    curve = drawing(figures.acceptability,
        d["wtp_grid_krw"], d["ceac"], best=d["best"], counterfactual=d["counterfactual"],
        planner_wtp_krw=d["wtp_krw"],
        effect_label="additional " + ("5-year survivor" if unit == "survivor" else "job"))
    s.add(Row([
        Figure("decision_plane", "Each option's expected extra public cost and "
               f"{effect_label} against {d['counterfactual']}"
               + (", with each parameter set's point faint" if cloud is not None else "")
               + "; the line joins the efficient frontier; filled: on it, hollow: extendedly "
               "dominated, cross: strongly dominated; dashed: what is worth paying at the "
               "planner's price.", "Cost-effect plane with the efficient frontier", plane),
        Figure("decision_acceptability", "The probability over the parameter sets that each "
               "option has the highest net benefit, by willingness to pay; thick: the choice by "
               "expected net benefit; dashed: the planner's price.",
               "Cost-effectiveness acceptability curve", curve),
    ]))
    s.add(ranked_table(res))
    ev = d.get("evppi_krw")
    floor = (d.get("evppi_null_krw") or [0.0] * (at + 1))[at]
    keys = [k for k in ev or {} if k != "all parameters"]
    if any(ev[k][at] > floor + NEGLIGIBLE_KRW for k in keys):  # else the verdict says why not
        s.add(Figure(
            "decision_information", "What learning each uncertain parameter exactly before "
            f"choosing would be worth at {krw_text(d['wtp_krw'])} per additional {unit} (EVPPI, "
            "KRW per decision); dashed: every parameter at once (EVPI). A bar near "
            f"{krw_text(floor)}, the floor a "
            "parameter without influence gets from these draws, says nothing.",
            "Bars of the expected value of partial perfect information per parameter",
            drawing(figures.information_value, keys, [ev[k][at] for k in keys],
                    wtp_krw=d["wtp_krw"], evpi_krw=d["evpi_krw"][at],
                    effect_label=f"additional {unit}")))
    return s
