"""Per-replication metrics: what one replication's start-up records add up to.

Population survival (``survival_*``, ``startups``, ``survivors_5y``) covers the founding
cohorts of the calendar's cohort window, by firm age, Kaplan-Meier with right-censoring at the
horizon; an acquisition is not a death (the firm lives on inside its buyer). Supported
survival (``supported_survival_*``) is counted from the support date, as the ministry publishes
it. Counts, money and jobs cover the whole run.

Every count, sum and survival curve is one of the real economy: each simulated start-up counts
as its ``weight`` (the number of start-ups it stands for, see ``scenario.sampling``).

The metric names here are the columns of ``replications.parquet`` and the keys of
``summary.json``; :data:`METRICS` documents each.
"""

from __future__ import annotations

import numpy as np

from ..model.codes import ACQUIRED, ALIVE, DIED, EQUITY
from .survival import km_at
from .totals import Totals

YEARS = (1, 2, 3, 4, 5)
THROUGHPUT_CHECKPOINTS = ("2015-07", "2015-12", "2016-12", "2018-09", "2023-12")
"""Dates of published cumulative counts of supported start-ups (shared/data/programme.yaml)."""
INVESTMENT_CHECKPOINTS = ("2018-09", "2023-12")
"""Dates of published investment attracted by supported start-ups (shared/data/programme.yaml)."""

METRICS: dict[str, str] = {
    "startups": "start-ups founded in the cohort window",
    **{f"survival_{y}y": f"share of cohort start-ups alive {y} year(s) after founding "
                         "(Kaplan-Meier)" for y in YEARS},
    "survivors_5y": "cohort start-ups alive 5 years after founding (expected count: startups x "
                    "survival_5y)",
    "supported": "start-ups selected by any centre over the whole run",
    **{f"supported_survival_{y}y": f"share of supported start-ups alive {y} year(s) after their "
                                   "support date" for y in YEARS},
    "unsupported_survival_5y": "5-year survival of cohort start-ups never supported",
    "naive_gap_5y": "supported_survival_5y - unsupported_survival_5y: the published-style gap "
                    "(selection + effect)",
    "acquired": "start-ups acquired (market or conglomerate) by the horizon",
    "crossed_valley": "start-ups that crossed the valley by the horizon",
    "alive_end": "start-ups alive at the horizon",
    "jobs_end": "jobs in start-ups alive at the horizon",
    "private_investment_krw": "money raised from the market: venture rounds and loans (KRW); an "
                              "input (what investors and lenders put in), not a benefit",
    "equity_raised_krw": "venture (equity) money raised from the market (KRW); an input, not a "
                         "benefit",
    "debt_raised_krw": "loans raised, at milestones and as bridges when cash ran out (KRW); an "
                       "input, not a benefit",
    "bridge_rounds": "bridge loans raised when cash ran out (distress rounds)",
    "equity_supply_krw": "venture money the market had for the model's start-ups: the national "
                         "series' share for their ages and regions, plus public funds' investments "
                         "(KRW; 0 when not limited)",
    "equity_induced_krw": "venture money investors brought for the supported firms' extra rounds "
                          "(1 - market.coupling of it; KRW): supply the programme drew in",
    "partner_investment_krw": "partners' (conglomerates') equity investment and acquisition "
                              "payments: investment, not a public cost (KRW)",
    "grants_krw": "programme grants paid (KRW)",
    "operating_cost_krw": "centre operating costs (fixed part and the part per supported start-up) "
                          "and founder-education costs (KRW)",
    "funds_public_cost_krw": "public funds' cost: the public's contribution less what it gets "
                             "back, discounted (KRW)",
    "partners_public_cost_krw": "the public money in the partners' investments (their linked "
                                "funds), less what it gets back, discounted (KRW)",
    "programme_cost_krw": "all money put in: public cost + partners' investment and acquisitions "
                          "(KRW)",
    "public_cost_krw": "public money spent (central and local budgets): centre operating and "
                       "founder-education costs + grants + public funds' and the linked funds' "
                       "public money net of what comes back; partners' own investment is "
                       "investment, not a public cost (KRW)",
    "cohort_public_cost_krw": "public cost attributable to the cohort window's start-ups: their "
                              "grants and per-firm operating cost, the other operating, education "
                              "and linked-fund costs in proportion to their share of the supported "
                              "start-ups, and public funds' cost in proportion to their share of "
                              "the venture money raised where and when the funds invested (KRW; "
                              "the same firms as survivors_5y)",
    "never_supported_survivors_5y": "cohort start-ups never supported alive five years after "
                                    "founding (or at the horizon if earlier), counted (an "
                                    "acquisition is not a death)",
    "never_supported_equity_krw": "venture money raised by start-ups never supported (KRW)",
    "supported_survivors_5y_alone": "the supported cohort start-ups that would be alive five years "
                                    "after founding had nobody supported them (their own walk in "
                                    "this scenario's economy), counted",
    "supported_equity_krw_alone": "venture money the supported start-ups would have raised alone "
                                  "(KRW)",
    "displacement_survivors_5y": "change in never-supported cohort start-ups alive at five years "
                                 "caused by the supported firms' extra venture rounds in the "
                                 "market (negative: displaced), reported even when 0",
    "displacement_equity_krw": "change in the never-supported start-ups' venture money caused by "
                               "the supported firms' extra rounds (negative: displaced; KRW)",
    "education_startups": "cohort start-ups founder education created (the share of the region's "
                          "foundings its rate multiplier adds, in expectation)",
    "education_survivors_5y": "those start-ups alive five years after founding (or at the "
                              "horizon), counted: the part of a programme's extra survivors that "
                              "is firm creation, not survival",
    "cohort_jobs_end": "jobs at the horizon in start-ups of the cohort window",
    **{f"supported_by_{d.replace('-', '_')}": f"cumulative supported start-ups by the end of {d}"
       for d in THROUGHPUT_CHECKPOINTS},
    **{f"supported_investment_by_{d.replace('-', '_')}": "money supported start-ups attracted "
                                                         "after their support (market rounds and "
                                                         f"partners' equity) by the end of {d} "
                                                         "(KRW)"
       for d in INVESTMENT_CHECKPOINTS},
    **{f"supported_hires_by_{d.replace('-', '_')}": "jobs supported start-ups added after their "
                                                    f"support by the end of {d} (hires: jobs lost "
                                                    "to deaths are not subtracted)"
       for d in INVESTMENT_CHECKPOINTS},
    "supported_jobs_end": "jobs at the horizon in supported start-ups still alive",
}


UNDEFINED: dict[str, str] = {
    **{f"survival_{y}y": f"no start-up of the cohort window was observed to age {y} (none founded "
                         "in the cohort years, or the horizon comes too soon after "
                         "them)" for y in YEARS},
    **{f"supported_survival_{y}y": f"no supported start-up was observed {y} year(s) past its "
                                   "support date (none supported, or supported too close to the "
                                   "horizon)"
       for y in YEARS},
    "survivors_5y": "survival_5y is undefined (no start-up of the cohort window was observed to "
                    "age 5)",
    "unsupported_survival_5y": "no unsupported start-up of the cohort window was observed to age 5",
    "naive_gap_5y": "supported_survival_5y or unsupported_survival_5y is undefined",
}
"""Why a metric can be undefined (NaN in replications.parquet, null in summary.json, "n/a" in
tables): a survival share needs someone observed to that age. Counts, money and jobs are always
defined (0 when nothing happened)."""


def why_undefined(metric: str) -> str:
    """Why ``metric`` can be undefined (summary.json's ``undefined`` entries)."""
    return UNDEFINED.get(metric, "undefined in every replication")


def alive_at_5(s: dict) -> np.ndarray:
    """Per start-up: alive five years after founding, or at the horizon if that comes first (an
    acquired firm lives on inside its buyer). Every firm of the shipped cohort window is observed to
    five years, so counts of this add up exactly across any split of the firms."""
    return ~((s["outcome"] == DIED) & (s["outcome_time"] - s["founded"] <= 60.0))


def cumulative(ledger: np.ndarray, ends) -> np.ndarray:
    """A ledger's (month, amount) rows summed over the months before each of ``ends``."""
    return np.array([ledger[ledger[:, 0] < end, 1].sum() for end in ends], dtype=float)


def _alive(c) -> np.ndarray:
    return c["outcome"] == ALIVE


SUMS: dict[str, object] = {
    "startups": lambda c: c["weight"] * c["cohort"],
    "acquired": lambda c: c["weight"] * (c["outcome"] == ACQUIRED),
    "crossed_valley": lambda c: c["weight"] * c["crossed"],
    "alive_end": lambda c: c["weight"] * _alive(c),
    "jobs_end": lambda c: (c["weight"] * c["jobs"]) * _alive(c),
    "private_investment_krw": lambda c: c["weight"] * c["private_krw"],
    "equity_raised_krw": lambda c: c["weight"] * c["equity_krw"],
    "debt_raised_krw": lambda c: c["weight"] * c["debt_krw"],
    "bridge_rounds": lambda c: c["weight"] * c["bridge_rounds"],
    "never_supported_survivors_5y": lambda c: c["weight"] * (c["cohort"] & ~c["supported"]
                                                             & alive_at_5(c)),
    "never_supported_equity_krw": lambda c: (c["weight"] * c["equity_krw"]) * ~c["supported"],
    "cohort_jobs_end": lambda c: (c["weight"] * c["jobs"]) * (_alive(c) & c["cohort"]),
    "weight": lambda c: c["weight"],
}
"""Metrics (and the total weight) that are sums over every start-up, as per-row contributions
(:class:`~sim.analysis.totals.Totals` adds them up once per economy and corrects them where the
programme changed a row)."""


def replication_metrics(records, calendar) -> dict[str, float]:
    """One replication's metrics (a flat mapping, one value per name in :data:`METRICS`)."""
    s = records.startups
    tot = Totals(records, calendar)
    w = s["weight"]
    died = s["outcome"] == DIED
    age = s["outcome_time"] - s["founded"]
    cohort = tot.rows["cohort"]
    ages = np.array(YEARS, dtype=float) * 12.0
    n_cohort = tot.sum("startups", SUMS["startups"])
    out: dict[str, float] = {"startups": n_cohort}
    surv = km_at(age[cohort], died[cohort], ages, w[cohort])
    for y, v in zip(YEARS, surv, strict=True):
        out[f"survival_{y}y"] = float(v)
    out["survivors_5y"] = float(n_cohort * surv[-1]) if cohort.any() else 0.0

    sup_at = np.flatnonzero(s["supported"])  # the supported start-ups' rows
    sup = _Supported(s, sup_at, cohort)
    out["supported"] = float(sup.w.sum())
    ssurv = km_at(sup["outcome_time"] - sup["support_time"], died[sup_at], ages, sup.w)
    for y, v in zip(YEARS, ssurv, strict=True):
        out[f"supported_survival_{y}y"] = float(v)
    unsup = cohort & ~s["supported"]
    out["unsupported_survival_5y"] = float(km_at(age[unsup], died[unsup], ages[-1:], w[unsup])[0])
    out["naive_gap_5y"] = out["supported_survival_5y"] - out["unsupported_survival_5y"]

    for name in ("acquired", "crossed_valley", "alive_end", "jobs_end"):
        out[name] = tot.sum(name, SUMS[name])
    out.update(money_metrics(records, tot))
    out["partner_investment_krw"] = float((sup.w * sup["conglomerate_krw"]).sum())
    out["grants_krw"] = float((sup.w * sup["grant_krw"]).sum())
    c = records.costs
    out["operating_cost_krw"] = float(c["operating_krw"] + c.get("per_supported_krw", 0.0)
                                      + c["education_krw"])
    out["funds_public_cost_krw"] = float(c.get("funds_krw", 0.0))
    out["partners_public_cost_krw"] = float(c.get("partners_public_krw", 0.0))
    out["public_cost_krw"] = (out["operating_cost_krw"] + out["grants_krw"]
                              + out["funds_public_cost_krw"]
                              + out["partners_public_cost_krw"])
    out["programme_cost_krw"] = out["public_cost_krw"] + out["partner_investment_krw"]
    out["cohort_public_cost_krw"] = cohort_public_cost(records, tot, sup)
    out.update(spillover_metrics(records, tot))
    out["cohort_jobs_end"] = tot.sum("cohort_jobs_end", SUMS["cohort_jobs_end"])
    st = sup["support_time"]
    for d in THROUGHPUT_CHECKPOINTS:
        month = calendar.month(d) + 1.0  # end of that month
        out[f"supported_by_{d.replace('-', '_')}"] = float(sup.w[st < month].sum())
    ends = [calendar.month(d) + 1.0 for d in INVESTMENT_CHECKPOINTS]
    for d, money, hires in zip(INVESTMENT_CHECKPOINTS, cumulative(records.raised, ends),
                               cumulative(records.hired, ends), strict=True):
        out[f"supported_investment_by_{d.replace('-', '_')}"] = float(money)
        out[f"supported_hires_by_{d.replace('-', '_')}"] = float(hires)
    out["supported_jobs_end"] = float((sup.w * sup["jobs"])[sup["outcome"] == ALIVE].sum())
    return out


class _Supported:
    """The supported start-ups' columns (``at``: their rows), each taken when first asked for;
    ``w`` their weights, ``cohort`` which of them the cohort window holds."""

    def __init__(self, s: dict, at: np.ndarray, cohort: np.ndarray):
        self._s, self._at, self._taken = s, at, {}
        self.w = s["weight"][at]
        self.cohort = cohort[at]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._taken:
            self._taken[name] = self._s[name][self._at]
        return self._taken[name]


def money_metrics(records, tot: Totals) -> dict[str, float]:
    """Money raised, by channel, and the venture market's supply (whole run)."""
    out = {name: tot.sum(name, SUMS[name]) for name in
           ("private_investment_krw", "equity_raised_krw", "debt_raised_krw", "bridge_rounds")}
    mk = records.market
    out["equity_supply_krw"] = float(mk["supply"].sum()) if mk else 0.0
    out["equity_induced_krw"] = float(mk["induced"].sum()) if mk else 0.0
    return out


def cohort_public_cost(records, tot: Totals, sup: _Supported) -> float:
    """The cohort window's share of the public cost (see METRICS["cohort_public_cost_krw"])."""
    c = records.costs
    n_sup, n_all = float(sup.w.sum()), tot.sum("weight", SUMS["weight"])
    n_sup_cohort = float(sup.w[sup.cohort].sum())
    # the cohort window's share of the shared costs: its share of the start-ups the programme
    # served (of all start-ups founded, when nobody was served), an assumption stated in the
    # data dictionary
    share = (n_sup_cohort / n_sup if n_sup
             else (tot.sum("startups", SUMS["startups"]) / n_all if n_all else 0.0))
    per_firm = float((sup.w * sup["grant_krw"])[sup.cohort].sum())
    if c.get("per_supported_krw", 0.0) and n_sup:
        per_firm += c["per_supported_krw"] * n_sup_cohort / n_sup
    shared = c["operating_krw"] + c["education_krw"] + c.get("partners_public_krw", 0.0)
    return per_firm + shared * share + _fund_share(records, tot.rows["cohort"])


def _fund_share(records, cohort: np.ndarray) -> float:
    """Public funds' cost attributed to the cohort window: in each (region, period), the funds' cost
    there in proportion to the cohort firms' share of the venture money raised there."""
    mk = records.market
    if not mk or not mk["fund_cost"].any():
        return 0.0
    s, rd = records.startups, records.rounds
    eq = rd["channel"] == EQUITY
    sid = rd["sid"][eq]
    periods = mk["fund_cost"].shape[1]
    q = np.minimum((rd["month"][eq] / float(mk["period_months"][0])).astype(np.int64), periods - 1)
    cell = s["region"][sid].astype(np.int64) * periods + q
    money = s["weight"][sid] * rd["krw"][eq]
    size = mk["fund_cost"].size
    every = np.bincount(cell, money, minlength=size)
    mine = np.bincount(cell, np.where(cohort[sid], money, 0.0), minlength=size)
    cost = mk["fund_cost"].ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(every > 0, mine / np.where(every > 0, every, 1.0),
                        float(cohort.mean()) if cohort.size else 0.0)
    return float((cost * part).sum())


def spillover_metrics(records, tot: Totals) -> dict[str, float]:
    """What the programme did to the start-ups it never supported, and the firms founder education
    created."""
    s, alone = records.startups, records.alone
    w, sup, cohort = s["weight"], s["supported"], tot.rows["cohort"]
    out = {name: tot.sum(name, SUMS[name])
           for name in ("never_supported_survivors_5y", "never_supported_equity_krw")}
    sid = alone.get("sid", np.empty(0, np.int64))
    was = {"outcome": alone.get("outcome", np.empty(0)),
           "outcome_time": alone.get("outcome_time", np.empty(0)),
           "founded": s["founded"][sid]}
    alive_alone = alive_at_5(was)
    now = {"outcome": s["outcome"][sid], "outcome_time": s["outcome_time"][sid],
           "founded": was["founded"]}
    on_sup, coh = sup[sid], cohort[sid]
    wa = w[sid]
    eq_alone = alone.get("equity_krw", np.empty(0))
    out["supported_survivors_5y_alone"] = float(wa[on_sup & coh & alive_alone].sum())
    out["supported_equity_krw_alone"] = float((wa * eq_alone)[on_sup].sum())
    moved = ~on_sup
    out["displacement_survivors_5y"] = float(
        (wa * (alive_at_5(now).astype(float) - alive_alone))[moved & coh].sum())
    out["displacement_equity_krw"] = float((wa * (s["equity_krw"][sid] - eq_alone))[moved].sum())
    created = s.get("education_created")
    nz = np.empty(0, np.int64) if created is None else np.flatnonzero(created)
    made = (w[nz] * created[nz]) * cohort[nz] if nz.size else np.empty(0)
    out["education_startups"] = float(made.sum())
    at = {"outcome": s["outcome"][nz], "outcome_time": s["outcome_time"][nz],
          "founded": s["founded"][nz]}
    out["education_survivors_5y"] = float((made * alive_at_5(at)).sum())
    return out


def region_metrics(records, calendar) -> list[dict]:
    """Per-region rows: start-ups, supported, 5-year survival, survivors, jobs at the horizon."""
    s = records.startups
    tot = Totals(records, calendar)
    w = s["weight"]
    died = s["outcome"] == DIED
    age = s["outcome_time"] - s["founded"]
    cohort = tot.rows["cohort"]
    names = records.region_names
    region = s["region"]
    k = len(names)
    startups, jobs, private, equity = (
        tot.by_region(name, SUMS[name], k).tolist()
        for name in ("startups", "jobs_end", "private_investment_krw", "equity_raised_krw"))
    at = np.flatnonzero(s["supported"])
    sup_region, ws = region[at], w[at]
    supported, grants, partner = (
        np.bincount(sup_region, weights=v, minlength=k).tolist()
        for v in (ws, ws * s["grant_krw"][at], ws * s["conglomerate_krw"][at]))
    # a replication's start-ups come region by region (sim.model.population), so each region's
    # rows are one slice; any other order is grouped first
    order = None if np.all(region[1:] >= region[:-1]) else np.argsort(region, kind="stable")
    by = region if order is None else region[order]
    bounds = np.searchsorted(by, np.arange(len(names) + 1))
    rows = []
    for i, name in enumerate(names):
        at = slice(bounds[i], bounds[i + 1]) if order is None else order[bounds[i]:bounds[i + 1]]
        hc = cohort[at]
        observed = hc.any()
        s5 = (float(km_at(age[at][hc], died[at][hc], [60.0], w[at][hc])[0]) if observed
              else float("nan"))
        rows.append({
            "region": name,
            "startups": startups[i],
            "supported": supported[i],
            "survival_5y": s5,
            "survivors_5y": startups[i] * s5 if observed else 0.0,
            "jobs_end": jobs[i],
            "grants_krw": grants[i],
            "partner_investment_krw": partner[i],
            "private_investment_krw": private[i],
            "equity_raised_krw": equity[i],
        })
    return rows
