"""The programme's books: every public won and every partner's won a replication spends, with its
month.

One ledger of rows ``(month, KRW, item)`` (:data:`ITEMS`), so that the whole-run totals and the
yearly accounts (``sim.analysis.ledger``) are sums of the same rows and can never disagree:

- ``operating``: a centre's fixed operating cost, month by month while it is open (booked per
  calendar year), at the rate in force each month;
- ``per_supported``: its cost per start-up selected, when selected, at the rate in force then;
- ``grants``: grants, when paid (at selection);
- ``education``: founder education, month by month from its start;
- ``funds``: a public fund's public contribution net of what it brings back
  (``market.net_cost_share``), booked as the money is called, quarter by quarter;
- ``partners_public``: the public money in the partners' investments (their linked funds), net of
  what it brings back, when invested.

Partners' own money (investments and acquisition prices) is a separate ledger,
``World.partner_paid``.
"""

from __future__ import annotations

import math

import numpy as np

from . import market

ITEMS = ("operating", "per_supported", "grants", "education", "funds", "partners_public")
OPERATING, PER_SUPPORTED, GRANTS, EDUCATION, FUNDS, PARTNERS_PUBLIC = range(len(ITEMS))
PUBLIC = ITEMS
"""Every item is public money (central and local government)."""


def _by_year(calendar, start: float, end: float, per_year: float,
             item: int) -> list[tuple[float, float, int]]:
    """A yearly cost from ``start`` to ``end`` (months), as one row per calendar year it touches."""
    rows = []
    # a January at or before month 0
    first_january = float((13 - int(calendar.start[5:7])) % 12 or 12) - 12.0
    a = start
    while a < end - 1e-9:
        b = min(end, first_january + 12.0 * (math.floor((a - first_january) / 12.0) + 1))
        rows.append((a, per_year * (b - a) / 12.0, item))
        a = b
    return rows


def _stretches(steps, lo: float, hi: float):
    """(from, to, value) of a schedule's stretches (``[(month, value), ...]``, from
    ``Scenario.schedule``) inside months ``lo`` .. ``hi``."""
    for i, (since, value) in enumerate(steps):
        until = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        a, b = max(lo, since), min(hi, until)
        if b > a:
            yield a, b, float(value)


def spending(world, support_time: np.ndarray, centre: np.ndarray,
             grant: np.ndarray) -> np.ndarray:
    """The replication's public spending, one row (month, KRW, item) per booking, in no set order;
    the supported start-ups' support times, centres (indices) and grants are given as arrays.

    Every cost is booked at the value in force at its month (the scenario's timeline): a centre's
    yearly operating cost stretch by stretch, its cost per supported start-up at the selection's
    month, founder education's yearly cost stretch by stretch."""
    sc, horizon = world.scenario, world.horizon
    cal = sc.calendar
    rows: list[tuple[float, float, int]] = []
    blocks: list[np.ndarray] = []
    for c in world.centres:
        steps = [(since, cfg.operating_cost_krw_per_year) for since, cfg in c.configurations()]
        for a, b, per_year in _stretches(steps, c.opens, min(c.closes, horizon)):
            rows += _by_year(cal, a, b, per_year, OPERATING)
    if len(support_time):
        centre = np.asarray(centre, np.int64)
        rate = np.empty(len(support_time))
        for i, c in enumerate(world.centres):
            mine = centre == i
            if not mine.any():
                continue
            confs = c.configurations()
            if len(confs) == 1:
                rate[mine] = confs[0][1].operating_cost_krw_per_supported
            else:  # the rate in force at each selection's month
                since = np.array([m for m, _ in confs])
                values = np.array([cfg.operating_cost_krw_per_supported for _, cfg in confs])
                rate[mine] = values[np.searchsorted(since, support_time[mine], side="right") - 1]
        kind = np.ones(len(support_time))
        blocks += [np.column_stack([support_time, rate, PER_SUPPORTED * kind]),
                   np.column_stack([support_time, grant, GRANTS * kind])]
    for n, e in sc.founder_education.items():
        steps = sc.schedule(f"founder_education.{n}.cost_krw_per_year")
        for a, b, per_year in _stretches(steps, cal.month(e.starts), horizon):
            rows += _by_year(cal, a, b, per_year, EDUCATION)
    book = market.funds(sc)
    for q in np.flatnonzero(book.cost):
        rows.append((q * market.PERIOD_MONTHS, float(book.cost[q]), FUNDS))
    linked = market.net_cost_share(sc.market, market.LINKED_FUND_INVEST_YEARS)
    for t, _amount, public in world.partner_paid:
        if public:
            rows.append((t, public * linked, PARTNERS_PUBLIC))
    out = np.concatenate([np.array(rows, dtype=float).reshape(-1, 3), *blocks])
    return out[out[:, 1] != 0.0]


def totals(rows: np.ndarray) -> dict[str, float]:
    """The ledger's sum per item (KRW)."""
    sums = np.bincount(rows[:, 2].astype(np.int64), rows[:, 1], minlength=len(ITEMS))
    return {f"{item}_krw": float(v) for item, v in zip(ITEMS, sums, strict=True)}
