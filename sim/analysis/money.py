"""Money in a comparison's report: what investors and lenders put in, who pays the public cost,
what the programme does to the start-ups it never supports, and how much of its headline is firm
creation.

Pure functions of a results folder's summary and replications
(:class:`~sim.analysis.folder.Results`), called by :func:`sim.analysis.findings.findings`;
:mod:`sim.report.money` lays them out.

- *Inputs* (:func:`inputs`): venture money and loans raised, bridge (distress) rounds, the market's
  supply. What investors and lenders put in is not a benefit: no direction is better, so nothing
  here ranks them; a variant that means fewer distress rounds is named, with its interval.
- *Public cost by item* (:func:`public_cost_items`): the centres' operating cost, grants, founder
  education, public funds' net cost and the linked funds' public money, each with where its money
  comes from, from the scenario's own values.
- *The never-supported* (:func:`never_supported`): the programme's effect on the start-ups it never
  supported against no programme (survivors and venture money, paired, with intervals), and the part
  the supported firms' extra venture rounds displaced, stated even when it is zero.
- *Firm creation* (:func:`firm_creation`): the start-ups founder education created, their survivors,
  and the additional survivors and public cost per additional survivor with and without them.
"""

from __future__ import annotations

import math

import numpy as np

from .stats import ratio_ci, summarize

INPUTS = (
    ("equity_raised_krw", "venture (equity) money raised", "krw"),
    ("debt_raised_krw", "loans raised", "krw"),
    ("private_investment_krw", "venture money and loans together", "krw"),
    ("bridge_rounds", "bridge loans when cash ran out (distress rounds)", "count"),
    ("equity_supply_krw", "venture money the market had for these start-ups", "krw"),
    ("equity_induced_krw", "venture money investors brought for the supported firms' extra rounds",
     "krw"),
)
"""(metric, label, kind) of each input: money put in, not a benefit."""

ITEMS = ("centres_operating", "grants", "education", "funds", "linked_funds")
"""The public cost's items, in the order the report lists them (they add up to public_cost_krw)."""
ITEM_LABELS = {
    "centres_operating": "centres' operating cost (fixed part and per supported start-up)",
    "grants": "grants to supported start-ups",
    "education": "founder education",
    "funds": "public funds' net cost",
    "linked_funds": "the partners' linked funds' public money",
    "total": "public cost",
}


def paired(reps: dict, sc: str, ref: str, metric: str) -> np.ndarray:
    """Per-replication differences ``sc - ref`` of ``metric`` over the replications both have."""
    a, b = reps.get(sc) or {}, reps.get(ref) or {}
    if metric not in a or metric not in b:
        return np.empty(0)
    _, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
    return np.asarray(a[metric], float)[ia] - np.asarray(b[metric], float)[ib]


def stat(values: np.ndarray) -> dict | None:
    """Mean and 95 % CI of ``values`` (None when empty)."""
    values = np.asarray(values, float)
    if values.size == 0:
        return None
    s = summarize(values)
    return {"mean": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "n": int(values.size)}


def _row(summary: dict, sc: str, ref: str, metric: str) -> dict | None:
    for r in summary.get("comparisons", []):
        if r.get("scenario") == sc and r.get("reference") == ref and r.get("metric") == metric:
            return r
    return None


def difference(res, sc: str, ref: str, metric: str) -> dict | None:
    """``sc - ref`` of ``metric``: the summary's comparison (with the draws' spread) when it has
    one, else paired over the replications from the replications table (mean and 95 % CI)."""
    row = _row(res.summary, sc, ref, metric)
    if row is not None and row.get("diff") is not None:
        return row
    s = stat(paired(res.reps, sc, ref, metric))
    return None if s is None else {"diff": s["mean"], "ci_low": s["ci_low"],
                                   "ci_high": s["ci_high"], "n": s["n"]}


def sign_word(d: dict | None, negative: str, positive: str) -> str:
    """What a difference is, from its value and interval: ``zero`` (exactly 0 in every replication),
    ``negative``/``positive`` when the 95 % CI excludes 0, else ``indistinguishable from zero``."""
    if not d:
        return "n/a"
    mean = d.get("diff", d.get("mean"))
    lo, hi = d.get("ci_low"), d.get("ci_high")
    if mean is None or not math.isfinite(mean):
        return "n/a"
    if mean == 0 and (lo in (None, 0) or lo == 0) and (hi in (None, 0) or hi == 0):
        return "zero"
    if hi is not None and hi < 0:
        return negative
    if lo is not None and lo > 0:
        return positive
    return "indistinguishable from zero"


def inputs(res) -> dict:
    """Money raised per scenario (means with CIs) and each comparison's differences, and the
    comparisons where a variant means fewer (or more) distress rounds, the 95 % CI excluding 0."""
    metrics = [m for m, _, _ in INPUTS
               if any(m in ((res.summary["scenarios"].get(n) or {}).get("metrics") or {})
                      for n in res.names)]
    levels = {n: {m: ((res.summary["scenarios"].get(n) or {}).get("metrics") or {}).get(m)
                  for m in metrics} for n in res.names}
    diffs = {}
    bridges = []
    for sc, ref in res.comparisons:
        if sc not in res.reps or ref not in res.reps:
            continue
        diffs[(sc, ref)] = {m: difference(res, sc, ref, m) for m in metrics}
        d = diffs[(sc, ref)].get("bridge_rounds")
        word = sign_word(d, "fewer", "more")
        if word in ("fewer", "more"):
            bridges.append({"scenario": sc, "reference": ref, "word": word, "diff": d["diff"],
                            "ci_low": d["ci_low"], "ci_high": d["ci_high"]})
    return {"metrics": metrics, "levels": levels, "diffs": diffs, "bridges": bridges}


def _sums_by_replication(cols: dict | None, sc: str, names: tuple[str, ...]) -> dict | None:
    """Each of ``names`` summed over the years of each replication of ``sc`` (years.parquet)."""
    if not cols or "scenario" not in cols or any(n not in cols for n in names):
        return None
    mask = np.asarray(cols["scenario"], dtype=object) == sc
    if not mask.any():
        return None
    reps = np.asarray(cols["replication"])[mask]
    order = np.unique(reps)
    idx = np.searchsorted(order, reps)
    out = {"replication": order}
    for n in names:
        out[n] = np.bincount(idx, np.asarray(cols[n], float)[mask], minlength=len(order))
    return out


def public_cost_items(res) -> dict:
    """Each scenario's public cost over the whole run by item (:data:`ITEMS`, means with CIs over
    replications), the partners' own money apart, and where each item's money comes from, in the
    scenario's own values.

    Grants, public funds, the linked funds' public money and the total come from the replications
    table; the operating cost is split into the centres' and founder education's from the yearly
    ledger (years.parquet: centres_cost_krw holds the centres' operating cost and grants), or shown
    together for a folder without the ledger.
    """
    years = res.year_columns
    out = {}
    for n in res.names:
        r = res.reps.get(n) or {}
        if "public_cost_krw" not in r:
            continue
        per = {}
        grants = np.asarray(r.get("grants_krw", np.zeros(len(r["replication"]))), float)
        funds = np.asarray(r.get("funds_public_cost_krw", np.zeros_like(grants)), float)
        linked = np.asarray(r.get("partners_public_cost_krw", np.zeros_like(grants)), float)
        total = np.asarray(r["public_cost_krw"], float)
        operating = total - grants - funds - linked
        split = _sums_by_replication(years, n, ("centres_cost_krw", "grants_krw"))
        if split is not None and np.array_equal(split["replication"], np.asarray(r["replication"])):
            centres = split["centres_cost_krw"] - split["grants_krw"]
            per["centres_operating"] = centres
            per["education"] = operating - centres
        else:
            per["centres_operating"] = operating  # education included: no yearly ledger to split it
        per["grants"] = grants
        per["funds"] = funds
        per["linked_funds"] = linked
        items = {k: stat(per[k]) for k in ITEMS if k in per}
        items["total"] = stat(total)
        partners = r.get("partner_investment_krw")
        out[n] = {"items": items, "education_split": "education" in per,
                  "partners": stat(partners) if partners is not None else None,
                  "sources": sources(res.resolved(n))}
    return out


def _span(values: list, show) -> str:
    """``a`` or ``a to b`` for sorted ``values``."""
    if values[0] == values[-1]:
        return show(values[0])
    return f"{show(values[0])} to {show(values[-1])}"


def _pct(x) -> str:
    return f"{100 * float(x):.3g} %"


def _bn(x) -> str:
    return f"{float(x) / 1e9:,.1f} bn KRW"


def sources(resolved: dict) -> dict[str, str]:
    """Where each item of a scenario's public cost comes from, in its own values."""
    centres = {k: v for k, v in (resolved.get("centres") or {}).items()
               if isinstance(v, dict) and v.get("enabled", True)}
    fixed = sorted({v.get("operating_cost_krw_per_year") for v in centres.values()} - {None})
    per = sorted({v.get("operating_cost_krw_per_supported") for v in centres.values()} - {None})
    out = {}
    if centres:
        text = (f"the {len(centres)} centres' budgets (central and local government): "
                + (f"a fixed {_span(fixed, _bn)} a year per centre" if fixed else "no fixed part")
                + (f" and {_span(per, lambda x: f'{x / 1e6:,.2f} M KRW')} per supported start-up"
                   if per and per[-1] else ""))
        if resolved.get("timeline"):
            text += " (as first set; dated changes in the assumptions)"
        out["centres_operating"] = text
        out["grants"] = ("the centres' grant budgets (central and local government), paid to the "
                         "start-ups")
    else:
        out["centres_operating"] = "no centre in this scenario"
        out["grants"] = "no centre in this scenario"
    edu = resolved.get("founder_education") or {}
    out["education"] = ("; ".join(f"{k} in {v.get('region')} from {v.get('starts')}, "
                                  f"{_bn(v.get('cost_krw_per_year', 0))} a year of public money"
                                  for k, v in edu.items() if isinstance(v, dict))
                        or "no founder education in this scenario")
    market = resolved.get("market") or {}
    terms = (f"net of a return of {_pct(market.get('fund_return_per_year', 0))} a year on the "
             "money invested, plus management fees of "
             f"{_pct(market.get('fund_fee_per_year', 0))} a year "
             f"over {market.get('fund_life_years', 0):g} years, discounted at "
             f"{_pct(market.get('discount_rate_per_year', 0))} a year")
    funds = resolved.get("funds") or {}
    out["funds"] = ("; ".join(f"{k}: the public's {_pct(v.get('public_share', 0))} of a "
                              f"{_bn(v.get('size_krw', 0))} fund investing from {v.get('starts')} "
                              f"for {v.get('invest_years', 0):g} years in "
                              f"{len(v.get('regions') or [])} region(s)"
                              for k, v in funds.items() if isinstance(v, dict))
                    + f", {terms}") if funds else "no public fund in this scenario"
    shares = sorted({v.get("public_share") for v in (resolved.get("conglomerates") or {}).values()
                     if isinstance(v, dict)} - {None})
    if shares and shares[-1] > 0:
        out["linked_funds"] = (f"the public share ({_span(shares, _pct)}, "
                               "conglomerates.*.public_share) of what the partners invest, "
                               f"{terms}")
    else:
        out["linked_funds"] = ("none: the partners invest their own money only" if shares
                               else "no partner in this scenario")
    return out


def never_supported(res) -> dict:
    """For each scenario other than the counterfactual: the programme's effect on the start-ups it
    never supported against the counterfactual (summary's ``never_supported_effect_*``: survivors
    and venture money, paired, with CIs and the draws' spread), and what the supported firms' extra
    venture rounds displaced within the scenario (``displacement_*``, means with CIs), each with its
    word: displacement (negative), spillover (positive), zero, or indistinguishable from zero."""
    cf = res.counterfactual
    out = {}
    for n in res.names:
        if n == cf:
            continue
        met = (res.summary["scenarios"].get(n) or {}).get("metrics") or {}
        row = {}
        for key, metric, source in (
                ("effect_survivors", "never_supported_effect_survivors_5y", "comparison"),
                ("effect_equity", "never_supported_effect_equity_krw", "comparison"),
                ("displaced_survivors", "displacement_survivors_5y", "metric"),
                ("displaced_equity", "displacement_equity_krw", "metric")):
            d = (_row(res.summary, n, cf, metric) if source == "comparison" and cf else
                 met.get(metric) if source == "metric" else None)
            row[key] = d
            row[key + "_word"] = sign_word(d, "displacement", "spillover") if d else "n/a"
        out[n] = row
    return out


def firm_creation(res) -> dict:
    """For each scenario other than the counterfactual: the start-ups founder education created
    (``education_startups``) and their 5-year survivors, and against the counterfactual the
    additional 5-year survivors split into firm creation (the created firms' survivors, all
    additional: without the programme they were never founded) and survival (the rest), with the
    public cost of the cohort window per additional survivor both ways (Fieller CIs, paired)."""
    cf = res.counterfactual
    out = {}
    if cf is None:
        return out
    for n in res.names:
        if n == cf:
            continue
        met = (res.summary["scenarios"].get(n) or {}).get("metrics") or {}
        total = paired(res.reps, n, cf, "survivors_5y")
        created = paired(res.reps, n, cf, "education_survivors_5y")
        cohort = "cohort_public_cost_krw" in (res.reps.get(n) or {})
        cost_metric = "cohort_public_cost_krw" if cohort else "public_cost_krw"
        cost = paired(res.reps, n, cf, cost_metric)
        row = {"startups": met.get("education_startups"),
               "survivors": met.get("education_survivors_5y")}
        if total.size and created.size == total.size and cost.size == total.size:
            row.update({"additional": stat(total), "creation": stat(created),
                        "survival": stat(total - created),
                        "per_additional": ratio_ci(cost, total),
                        "per_survival": ratio_ci(cost, total - created)})
        out[n] = row
    return out
