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
- founder education: ``cost_krw_per_year`` from its start to the horizon (exact);
- per supported start-up: each centre's ``operating_cost_krw_per_supported`` times the most
  start-ups its contests can select (at each contest, the intake size in force, at most the seats in
  force);
- public funds: each fund's public contribution net of what comes back (exact: the model books it
  as the money is called, ``sim.model.market.funds``);
- the partners' public money: ``public_share`` of each partner's budget (its most), net of what
  comes back.

Values the scenario's timeline changes from a month on count as they are in force: the operating
cost month by month, each programme year's grant budget at its refill, each contest's grant size
and places, each contest's intake, seats and cost per supported start-up, each partner's budget and
public share at its January refill, for the years its centres have it as partner.

So the simulated ``programme_cost_krw`` of every replication is at most the planned total, and
equals it where budgets bind. Capacity costs money through the cost per supported start-up: more
seats and intakes that select more start-ups cost more.
"""

from __future__ import annotations

import math

from ..model import market
from ..scenario.schema import Scenario
from ..scenario.timeline import per_year_total

_EPS = 1e-9


def _contest_times(opens: float, every: float, end: float) -> list[float]:
    out, t = [], opens
    while t < end - _EPS:
        out.append(t)
        t += every
    return out


def _contests(scenario: Scenario, name: str, start: float, end: float) -> list[float]:
    """A centre's contest times from ``start`` to ``end``, every ``intake_every_months`` as in
    force."""
    every = scenario.schedule(f"centres.{name}.intake_every_months")
    if len(every) == 1:
        return _contest_times(start, float(every[0][1]), end)
    out, t = [], start
    while t < end - _EPS:
        out.append(t)
        t += float(next(v for s, v in reversed(every) if s <= t + _EPS))
    return out


def _planned_selections(scenario: Scenario, name: str, opens: float, end: float) -> float:
    """The most a centre's cost per supported start-up can come to before ``end``: at each contest
    (the first ``first_intake_after_months`` after the opening, as in force then) the intake size in
    force, at most the seats in force (a contest admits only into free seats), at the cost per
    supported start-up in force then."""
    first = opens + scenario.at(opens).centres[name].first_intake_after_months
    total = 0.0
    for t in _contests(scenario, name, first, end):
        k = scenario.at(t).centres[name]
        total += k.operating_cost_krw_per_supported * min(k.intake_size, k.seats)
    return total


def planned_cost(scenario: Scenario, by_centre: bool = False) -> dict:
    """Planned cost by item (KRW) and its ``total_krw``; with ``by_centre``, also each centre's
    operating cost and grants (``{"centres": {NAME: {"operating_krw", "grants_krw"}}}``)."""
    cal = scenario.calendar
    horizon = cal.horizon_months
    operating = grants = per_supported = 0.0
    # partner -> the stretches it has an open centre
    partnered: dict[str, list[tuple[float, float]]] = {}
    centres: dict[str, dict[str, float]] = {}
    for name, c in scenario.active_centres.items():
        opens = cal.month(c.opens)
        end = min(cal.month(c.closes) if c.closes else math.inf, horizon)
        op = per_year_total(scenario, f"centres.{name}.operating_cost_krw_per_year", opens, end)
        operating += op
        before = grants
        if end > opens:
            grants += _planned_grants(scenario, name, opens, end)
        most = _planned_selections(scenario, name, opens, end)
        per_supported += most
        centres[name] = {"operating_krw": op + most, "grants_krw": grants - before}
        steps = scenario.schedule(f"centres.{name}.partner")
        for i, (since, partner) in enumerate(steps):
            until = steps[i + 1][0] if i + 1 < len(steps) else math.inf
            lo, hi = max(since, opens), min(until, end)
            if partner is not None and hi > lo:
                partnered.setdefault(partner, []).append((lo, hi))
    conglomerate = partners_public = 0.0
    linked = market.net_cost_share(scenario.market, market.LINKED_FUND_INVEST_YEARS)
    start_month = int(cal.start[5:7])
    first_january = float((13 - start_month) % 12 or 12)
    for name, stretches in partnered.items():
        # budget windows: [0, first January), then 12-month years; count those a centre has it
        # as partner
        lo, hi = 0.0, first_january
        while lo < horizon - _EPS:
            if any(a < hi - _EPS and b > lo + _EPS for a, b in stretches):
                terms = scenario.at(lo).conglomerates[name]
                conglomerate += terms.annual_budget_krw
                partners_public += terms.annual_budget_krw * terms.public_share * linked
            lo, hi = hi, hi + 12.0
    education = sum(per_year_total(scenario, f"founder_education.{n}.cost_krw_per_year",
                                   cal.month(e.starts), horizon)
                    for n, e in scenario.founder_education.items())
    funds = float(market.funds(scenario).cost.sum())
    total = operating + per_supported + grants + conglomerate + education + funds + partners_public
    out = {"operating_krw": operating, "per_supported_krw": per_supported, "grants_krw": grants,
           "conglomerate_krw": conglomerate, "education_krw": education, "funds_krw": funds,
           "partners_public_krw": partners_public, "total_krw": total}
    if by_centre:
        out["centres"] = centres
    return out


def _planned_grants(scenario: Scenario, name: str, opens: float, end: float) -> float:
    """The most a centre's grant rules can pay from its opening to ``end``: per programme year (the
    budget refills at each anniversary of the opening), whole grants within the budget in force at
    the refill, and at each contest at most ``min(per_round, intake_size, seats)`` grants, as in
    force then."""
    c = scenario.centres[name]
    contests = _contests(scenario, name, opens, end)
    total = 0.0
    years = math.ceil((end - opens) / 12.0 - _EPS)
    for y in range(years):
        lo, hi = opens + 12.0 * y, opens + 12.0 * (y + 1)
        annual = scenario.at(lo).centres[name].grants.annual_budget_krw
        terms = [scenario.at(t).centres[name] for t in contests if lo - _EPS <= t < hi - _EPS]
        pers = {k.grants.per_startup_krw for k in terms}
        # one grant size in the year (always, without a timeline): whole grants that fit
        if len(pers) <= 1:
            per = next(iter(pers), c.grants.per_startup_krw)
            if per <= 0 or annual < per:
                continue
            fit = math.floor(annual / per + _EPS)
            total += per * min(fit,
                               sum(min(k.grants.per_round, k.intake_size, max(k.seats, 1))
                                   for k in terms))
        else:
            total += min(annual, sum(k.grants.per_startup_krw
                                     * min(k.grants.per_round, k.intake_size, max(k.seats, 1))
                                     for k in terms))
    return total
