"""Planned (budgeted) programme cost of a scenario, from its levers alone, without simulating.

The simulation counts what is actually spent (``programme_cost_krw``: operating cost, grants
paid, conglomerate money paid out). A planner allocating a budget needs the commitment instead:
the most the scenario's rules can spend, known before anything runs. :func:`planned_cost` is that
figure, item by item, following the model's rules exactly:

- operating: each enabled centre's ``operating_cost_krw_per_year`` for the months it is open
  before the horizon (what the simulation charges, exactly);
- grants: for each programme year of each centre (its grant budget refills at each anniversary
  of the opening, unspent money lapses), the most the grant rules can pay: whole grants of
  ``per_startup_krw`` that fit in ``annual_budget_krw``, and at most
  ``min(per_round, intake_size, seats)`` grants at each contest of that year;
- conglomerate: each partner's ``annual_budget_krw`` for every calendar year (its budget refills
  each January) in which one of its centres is open: investments and acquisitions are paid from
  that budget and never exceed it;
- founder education: ``cost_krw_per_year`` from its start to the horizon (exact).

So the simulated ``programme_cost_krw`` of every replication is at most the planned total, and
equals it where budgets bind. Seats, intake sizes, selection and training carry no cost of their
own in the model (a centre's operating cost is fixed per year).
"""

from __future__ import annotations

import math

from ..scenario.schema import Scenario

_EPS = 1e-9


def _contest_times(opens: float, every: float, end: float) -> list[float]:
    out, t = [], opens
    while t < end - _EPS:
        out.append(t)
        t += every
    return out


def planned_cost(scenario: Scenario, by_centre: bool = False) -> dict:
    """Planned cost by item (KRW) and its ``total_krw``; with ``by_centre``, also each centre's
    operating cost and grants (``{"centres": {NAME: {"operating_krw", "grants_krw"}}}``)."""
    cal = scenario.calendar
    horizon = cal.horizon_months
    operating = grants = 0.0
    first_open: dict[str, float] = {}
    centres: dict[str, dict[str, float]] = {}
    for name, c in scenario.active_centres.items():
        opens = cal.month(c.opens)
        end = min(cal.month(c.closes) if c.closes else math.inf, horizon)
        op = c.operating_cost_krw_per_year * max(0.0, end - opens) / 12.0
        operating += op
        before = grants
        g = c.grants
        if g.per_startup_krw > 0 and g.annual_budget_krw >= g.per_startup_krw and end > opens:
            per_contest = min(g.per_round, c.intake_size, max(c.seats, 1))
            fit = math.floor(g.annual_budget_krw / g.per_startup_krw + _EPS)
            contests = _contest_times(opens, c.intake_every_months, end)
            years = math.ceil((end - opens) / 12.0 - _EPS)
            for y in range(years):
                lo, hi = opens + 12.0 * y, opens + 12.0 * (y + 1)
                n = sum(1 for t in contests if lo - _EPS <= t < hi - _EPS)
                grants += g.per_startup_krw * min(fit, per_contest * n)
        centres[name] = {"operating_krw": op, "grants_krw": grants - before}
        if c.partner is not None:
            first_open[c.partner] = min(first_open.get(c.partner, math.inf), opens)
    conglomerate = 0.0
    start_month = int(cal.start[5:7])
    first_january = float((13 - start_month) % 12 or 12)
    for name, opens in first_open.items():
        annual = scenario.conglomerates[name].annual_budget_krw
        if annual <= 0 or opens >= horizon:
            continue
        # budget windows: [0, first January), then 12-month years; count those ending after the opening
        windows = 0
        lo, hi = 0.0, first_january
        while lo < horizon - _EPS:
            if hi > opens + _EPS:
                windows += 1
            lo, hi = hi, hi + 12.0
        conglomerate += annual * windows
    education = sum(e.cost_krw_per_year * max(0.0, horizon - cal.month(e.starts)) / 12.0
                    for e in scenario.founder_education.values())
    total = operating + grants + conglomerate + education
    out = {"operating_krw": operating, "grants_krw": grants, "conglomerate_krw": conglomerate,
           "education_krw": education, "total_krw": total}
    if by_centre:
        out["centres"] = centres
    return out
