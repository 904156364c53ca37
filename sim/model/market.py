"""The regional venture market: money with a supply, rationed by one odds multiplier per region and
quarter.

Supply. Each quarter a region has the venture money the scenario's ``market`` gives it (Korea's new
venture investment of the year, the share going to firms as young as the model's, the region's
share, a quarter of it) plus what public funds invest there (``funds``): :func:`supply`.

Rationing. A start-up that reaches a milestone seeks a venture round with odds ``b`` (the stage's
odds, its region's access and quality, the programme's multipliers) and wins it when its draw falls
below ``min(b * m, cap)``; ``m`` (at most 1) is its region's multiplier that quarter. Investors
raise their bar until the money they expect to hand out, the sum over seekers of
``round size x min(b m, cap)``, matches the money available; when the money sought is less than the
supply, ``m`` is 1 and nobody is rationed. Every seeker's odds fall by the same factor, so the
programme's multipliers (and quality) decide who gets the money, the supply how much of it there is.

Fixed point. The money sought depends on who is still alive, which depends on who won earlier
rounds, which depends on ``m``. :func:`settle` walks everyone with ``m = 1``, clears every cell,
re-walks only the start-ups whose round decisions the new ``m`` flips (a start-up's path is
unchanged iff none of its decisions flips, so this is exact), and repeats until no decision flips:
the paths are then exactly those of a walk under the final ``m``, and the final ``m`` clears every
cell.

Displacement. Supported start-ups win more venture rounds than they would alone. They face the
economy's ``m``: the programme's network and grant are access to investors (Koo 2018; Howell 2017),
so its firms meet investors before the general pool and are not rationed by their own extra demand
(a design choice: rationing them too would need the programme simulated again). ``coupling`` of
their extra money comes out of what the never-supported would have raised: :func:`displace` clears
the never-supported again against what is left and re-walks only those whose decisions flip.
``coupling`` 0 means investors bring new money for the programme's firms (nobody else changes), 1
means the supply is fixed. Where the supported firms alone would expect more than the whole supply,
the excess is counted as money investors brought (``induced``), so no won is ever without a source.

Periods are quarters (:data:`PERIOD_MONTHS`); every array is indexed by (region, period), so a
dated value per period (a timeline) is one more row of numbers, not a new mechanism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scenario.funding import PERIOD_MONTHS  # the market's period (a quarter), with the schema
from .walk import Paths, walk

MAX_ROUNDS = 100
"""Most clearing rounds of a fixed point. Each round settles at least the earliest period still
moving (a decision changes only what comes after it), so this is never reached at the shipped scale;
if it were, the paths would still be exactly those of the last ``m``, only the market cleared
approximately."""
LINKED_FUND_INVEST_YEARS = 5.0
"""The partners' linked funds invested over five years (their five-year target, programme.yaml)."""


# ----------------------------------------------------------------------------------------------
# supply
# ----------------------------------------------------------------------------------------------
def periods(calendar) -> int:
    """Market periods in the calendar (the last one may be short)."""
    return int(math.ceil(calendar.horizon_months / PERIOD_MONTHS))


def period_years(calendar) -> np.ndarray:
    """The calendar year of each period's first month."""
    start_year, start_month = int(calendar.start[:4]), int(calendar.start[5:7])
    months = np.arange(periods(calendar)) * PERIOD_MONTHS
    return start_year + (start_month - 1 + months.astype(int)) // 12


def by_year(points: dict[int, float], years: np.ndarray, log: bool = False) -> np.ndarray:
    """Values at ``years`` from yearly points: interpolated between them (in logs with ``log``),
    held at the nearest point outside them."""
    ys = np.array(sorted(points), dtype=float)
    vs = np.array([points[y] for y in sorted(points)], dtype=float)
    if log:
        with np.errstate(divide="ignore"):
            return np.exp(np.interp(years, ys, np.log(vs)))
    return np.interp(years, ys, vs)


def national_series(market, years: np.ndarray) -> np.ndarray:
    """Korea's new venture investment in each of ``years`` (KRW a year): the series, interpolated in
    logs between its years, held before its first; past its last, held or
    (``market.trend_fit_years``) on its fitted log-linear trend: the fitted level at the last fitted
    year grown at the trend's growth."""
    out = by_year(market.venture_investment_krw_by_year, years, log=True)
    trend = market.trend()
    if trend is not None:
        last_fit, level, growth = trend
        past = np.asarray(years) > max(market.venture_investment_krw_by_year)
        out = np.where(past, level * (1.0 + growth) ** (np.asarray(years, dtype=float) - last_fit),
                       out)
    return out


def age_share(market, years: np.ndarray, first_year: int) -> np.ndarray:
    """Share of a year's venture investment going to firms of the ages the calendar holds: in year y
    the model's oldest firms are ``y - first_year`` years old; under-3 and 3-to-7 shares, spread
    evenly over the ages of each band (an assumption), counted for the ages present, and nothing for
    older firms (the few model firms past seven raise little: rounds come at milestones in the
    valley)."""
    present = np.asarray(years) - first_year + 1  # ages 0 .. present-1
    under3 = by_year(market.under_3_share_by_year, years) if market.under_3_share_by_year else 0.0
    mid = (by_year(market.from_3_to_7_share_by_year, years)
           if market.from_3_to_7_share_by_year else 0.0)
    return under3 * np.clip(present, 0, 3) / 3.0 + mid * np.clip(present - 3, 0, 4) / 4.0


def region_weights(scenario) -> np.ndarray:
    """Each region's founding rate over the regions' total (how funds split their money, an
    assumption)."""
    rates = np.array([r.founding_rate_per_year for r in scenario.regions.values()], dtype=float)
    return rates / rates.sum() if rates.sum() > 0 else np.full(len(rates), 1.0 / len(rates))


def venture_supply(scenario) -> np.ndarray | None:
    """The market's venture money per (region, period), KRW, without public funds; None if
    unlimited."""
    mk, cal = scenario.market, scenario.calendar
    if not mk.limited:
        return None
    years = period_years(cal)
    national = national_series(mk, years) * mk.supply_multiplier / 4.0
    national = national * age_share(mk, years, int(cal.start[:4]))
    capital = (by_year(mk.capital_region_share_by_year, years)
               if mk.capital_region_share_by_year else None)
    names = list(scenario.regions)
    inside = np.array([r in mk.capital_region for r in names])
    w = np.array([mk.region_shares.get(r, 0.0) for r in names], dtype=float)
    out = np.zeros((len(names), len(years)))
    for part, share in ((inside, capital), (~inside, None if capital is None else 1.0 - capital)):
        total = w[part].sum()
        if total <= 0:
            continue
        if share is None:  # no capital-region split: one national pool shared by the weights
            share = np.full(len(years), w[part].sum() / w.sum())
        out[part] = (w[part] / total)[:, None] * (national * share)[None, :]
    return out


def net_cost_share(market, invest_years: float) -> float:
    """Public cost of a won a public fund is given, net of what it brings back: a fund pays its fees
    (``fund_fee_per_year`` of its size over its life) and invests the rest, which earns
    ``fund_return_per_year`` until the fund is dissolved, on average ``life - invest_years / 2``
    years after the money was called; the public's share of that, discounted at
    ``discount_rate_per_year``, is what the public gets back."""
    invested = max(0.0, 1.0 - market.fund_fee_per_year * market.fund_life_years)
    years = max(0.0, market.fund_life_years - invest_years / 2.0)
    back = invested * ((1.0 + market.fund_return_per_year)
                       / (1.0 + market.discount_rate_per_year)) ** years
    return 1.0 - back


@dataclass(frozen=True)
class FundBook:
    """What the scenario's public funds add: venture money per (region, period), and per period the
    public money paid in (``contribution``) and its cost net of what comes back (``cost``), both in
    KRW."""

    supply: np.ndarray
    contribution: np.ndarray
    cost: np.ndarray


def funds(scenario) -> FundBook:
    """The scenario's public funds as a :class:`FundBook`: each fund's money net of its fees,
    invested evenly over its ``invest_years`` from its start across its regions (by
    :func:`region_weights`), and the public's share of it paid in, with its net cost."""
    cal, mk = scenario.calendar, scenario.market
    q_all = periods(cal)
    names = list(scenario.regions)
    supply = np.zeros((len(names), q_all))
    contribution, cost = np.zeros(q_all), np.zeros(q_all)
    weights = region_weights(scenario)
    for f in scenario.funds.values():
        first = int(cal.month(f.starts) // PERIOD_MONTHS)
        n = max(1, int(round(f.invest_years * 12.0 / PERIOD_MONTHS)))
        qs = np.arange(first, min(first + n, q_all))
        mask = np.array(["*" in f.regions or r in f.regions for r in names])
        w = np.where(mask, weights, 0.0)
        if not qs.size or w.sum() <= 0:
            continue
        invested = f.size_krw * max(0.0, 1.0 - mk.fund_fee_per_year * mk.fund_life_years) / n
        supply[:, qs] += (w / w.sum())[:, None] * invested
        paid = f.public_share * f.size_krw / n
        contribution[qs] += paid
        cost[qs] += paid * net_cost_share(mk, f.invest_years)
    return FundBook(supply, contribution, cost)


def supply(scenario) -> np.ndarray | None:
    """Venture money available per (region, period), KRW: the market's and the public funds'; None
    when venture money is not limited (no series)."""
    base = venture_supply(scenario)
    return None if base is None else base + funds(scenario).supply


# ----------------------------------------------------------------------------------------------
# clearing
# ----------------------------------------------------------------------------------------------
class Demand:
    """Expected venture money sought per cell (region x period) as a function of the cell's
    multiplier ``m`` <= 1: the sum over attempts of ``w x amount x min(b m, cap)``. An attempt with
    ``b < cap`` is linear in ``m`` (one number per cell); the few above the cap are kept apart."""

    def __init__(self, cells: int, cap: float):
        """No money sought yet in any of ``cells`` cells; round odds are capped at ``cap``."""
        self.cells, self.cap = cells, cap
        self.linear = np.zeros(cells)
        self.rare: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, cell: np.ndarray, odds: np.ndarray, money: np.ndarray,
            sign: float = 1.0) -> None:
        """Count attempts (their cells, odds ``b`` and money); with ``sign`` -1, take them out
        again (start-ups re-walked, or set apart)."""
        lin = odds < self.cap
        self.linear += np.bincount(cell[lin], sign * money[lin] * odds[lin], minlength=self.cells)
        if not lin.all():
            self.rare.append((cell[~lin], odds[~lin], sign * money[~lin]))

    def copy(self) -> Demand:
        """A copy to add to and take from without changing this one (the rare attempts' arrays are
        shared: nothing changes them in place)."""
        out = Demand(self.cells, self.cap)
        out.linear = self.linear.copy()
        out.rare = list(self.rare)
        return out

    def at(self, m: np.ndarray) -> np.ndarray:
        """The expected money sought per cell at multipliers ``m`` (one per cell)."""
        out = self.linear * m
        for cell, odds, money in self.rare:
            out += np.bincount(cell, money * np.minimum(odds * m[cell], self.cap),
                               minlength=self.cells)
        return out


def clear(demand: Demand, available: np.ndarray) -> np.ndarray:
    """Per cell, the largest ``m`` in [0, 1] whose expected money handed out is at most
    ``available``.

    Exact: the money handed out is piecewise linear in ``m``, with a kink where a seeker's odds
    reach the cap (at ``m = cap / b``); cells with such seekers are solved on the segment where it
    crosses.
    """
    ones = np.ones(demand.cells)
    binding = demand.at(ones) > available
    m = ones.copy()
    if not binding.any():
        return m
    linear = demand.linear
    if demand.rare:  # below their kinks the capped seekers are linear too
        cell, odds, money = (np.concatenate([r[j] for r in demand.rare]) for j in range(3))
        linear = linear + np.bincount(cell, money * odds, minlength=demand.cells)
        first_kink = np.ones(demand.cells)
        np.minimum.at(first_kink, cell, demand.cap / odds)
    with np.errstate(divide="ignore", invalid="ignore"):
        m[binding] = np.clip(available[binding] / linear[binding], 0.0, 1.0)
    if demand.rare:
        hard = binding[cell] & (m[cell] > first_kink[cell])  # past a kink: solve on its segment
        if hard.any():
            _solve_kinked(m, demand.linear, available, cell[hard], odds[hard], money[hard],
                          demand.cap)
    m[binding & (available <= 0)] = 0.0
    return m


def _solve_kinked(m, linear, available, cell, odds, money, cap) -> None:
    """Solve ``m`` in place for the cells of seekers whose odds ``b`` are at least the cap at
    some m <= 1."""
    kink = cap / odds
    order = np.lexsort((kink, cell))
    cell, kink, wb, w = cell[order], kink[order], (money * odds)[order], money[order]
    cells, start, count = np.unique(cell, return_index=True, return_counts=True)
    group = np.repeat(np.arange(cells.size), count)
    cum_wb, cum_w = np.cumsum(wb), np.cumsum(w)
    before_wb = np.concatenate([[0.0], cum_wb])[start][group]
    before_w = np.concatenate([[0.0], cum_w])[start][group]
    cum_wb, cum_w = cum_wb - before_wb, cum_w - before_w
    total_wb = np.bincount(group, wb)  # per cell: the rare seekers' money x odds, all uncapped
    slope = linear[cell] + total_wb[group] - cum_wb  # past kink j: the seekers up to j are capped
    at_kink = kink * slope + cap * cum_w
    below = at_kink <= available[cell]
    # the money only grows with m: a prefix
    last = np.bincount(group[below], minlength=cells.size) - 1
    free = linear[cells] + total_wb
    with np.errstate(divide="ignore", invalid="ignore"):
        sol = np.where(free > 0, available[cells] / free, 1.0)  # below the first kink: all linear
        j = start + np.maximum(last, 0)
        seg = np.where(slope[j] > 0, (available[cells] - cap * cum_w[j]) / slope[j], 1.0)
    sol = np.where(last >= 0, np.maximum(seg, kink[j]), np.minimum(sol, kink[start]))
    m[cells] = np.clip(sol, 0.0, 1.0)


def period_of(months: np.ndarray, periods_: int) -> np.ndarray:
    """The market period of each month (the walk's own expression, so a period here is the
    walk's)."""
    return np.minimum((months / PERIOD_MONTHS).astype(np.int64), periods_ - 1)


def attempts(pop, paths: Paths, sids: np.ndarray, periods_: int,
             after: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells, odds and money (weight x round size) of the equity attempts of ``sids`` on ``paths``
    (only those made after ``after``, one month per sid, when given)."""
    month = paths.eq_month[sids]
    has = month > (-np.inf if after is None else np.asarray(after)[:, None])  # NaN: no attempt
    rows, stage = np.nonzero(has)
    s = sids[rows]
    cell = pop.region[s] * periods_ + period_of(month[rows, stage], periods_)
    return (cell.astype(np.int64), paths.eq_odds[s, stage],
            pop.weight[s] * pop.raise_amount[s, stage])


def _winnable(pop, paths: Paths, sids: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """(sid, stage) of the equity attempts of ``sids`` that some ``m`` <= 1 lets win."""
    ok = (paths.eq_month[sids] >= 0) & (pop.raise_u[sids] < np.minimum(paths.eq_odds[sids], cap))
    rows, stage = np.nonzero(ok)
    return sids[rows], stage


def _decides(pop, paths: Paths, sid: np.ndarray, stage: np.ndarray, m: np.ndarray,
             cap: float) -> np.ndarray:
    # the walk's own expression (walk.walk), so a decision here is the walk's to the bit
    q = period_of(paths.eq_month[sid, stage], m.shape[1])
    return pop.raise_u[sid, stage] < np.minimum(paths.eq_odds[sid, stage] * m[pop.region[sid], q],
                                                cap)


@dataclass
class Settled:
    """A population's walks at the market's fixed point: the paths, the multipliers ``m`` (regions x
    periods), the venture money sought at them (``demand``, by cell) and the equity attempts some
    ``m`` <= 1 lets win (``candidates``: sids and stages), the only decisions a new ``m`` can
    flip."""

    paths: Paths
    m: np.ndarray
    demand: Demand | None
    candidates: tuple[np.ndarray, np.ndarray]


def _fixed_point(pop, rules, paths: Paths, m: np.ndarray, demand: Demand, available: np.ndarray,
                 candidates: tuple[np.ndarray, np.ndarray],
                 copy: bool = False) -> tuple[Settled, np.ndarray]:
    """Clear, re-walk the start-ups among ``candidates`` whose decisions flip, repeat until none
    does. Changes ``paths`` (a copy of it, made at the first flip, with ``copy``) and ``demand`` in
    place; returns the settled state and the sids re-walked."""
    cap, shape, q_all = rules.max_funding_probability, m.shape, m.shape[1]
    cand_sid, cand_stage = candidates
    walked = [np.empty(0, np.int64)]
    for _ in range(MAX_ROUNDS):
        m_new = clear(demand, available.ravel()).reshape(shape)
        flips = (_decides(pop, paths, cand_sid, cand_stage, m, cap)
                 != _decides(pop, paths, cand_sid, cand_stage, m_new, cap))
        m = m_new
        if not flips.any():
            break
        moved = np.unique(cand_sid[flips])
        walked.append(moved)
        if copy:
            paths, copy = paths.copy(), False
        demand.add(*attempts(pop, paths, moved, q_all), sign=-1.0)
        paths.replace(moved, walk(pop, rules, m, moved))
        demand.add(*attempts(pop, paths, moved, q_all))
        keep = ~np.isin(cand_sid, moved)
        more_sid, more_stage = _winnable(pop, paths, moved, cap)
        cand_sid = np.concatenate([cand_sid[keep], more_sid])
        cand_stage = np.concatenate([cand_stage[keep], more_stage])
    return Settled(paths, m, demand, (cand_sid, cand_stage)), np.unique(np.concatenate(walked))


def settle(pop, rules, available: np.ndarray | None) -> Settled:
    """The walks of ``pop`` at the market multipliers ``m`` (regions of ``pop`` x periods) that
    clear ``available`` (same shape; None: unlimited, ``m`` = 1)."""
    q_all = rules.equity_prob.shape[1]
    n_regions = 1 if available is None else available.shape[0]
    m = np.ones((n_regions, q_all))
    paths = walk(pop, rules, m)
    none = (np.empty(0, np.int64), np.empty(0, np.int64))
    if available is None:
        return Settled(paths, m, None, none)
    if not len(pop):
        return Settled(paths, m, Demand(m.size, rules.max_funding_probability), none)
    everyone = np.arange(len(pop))
    demand = demand_of(pop, paths, everyone, m.shape, rules.max_funding_probability)
    settled, _ = _fixed_point(pop, rules, paths, m, demand, available,
                              _winnable(pop, paths, everyone, rules.max_funding_probability))
    return settled


def joined(parts: list[Settled], sizes: list[int], cap: float) -> Settled:
    """Several regions' settled walks laid end to end (regions in order: sids and cells follow)."""
    paths = Paths.joined([p.paths for p in parts])
    m = np.concatenate([p.m for p in parts])
    offsets = np.cumsum([0, *sizes])
    sid = np.concatenate([p.candidates[0] + off for p, off in zip(parts, offsets, strict=False)])
    stage = np.concatenate([p.candidates[1] for p in parts])
    if any(p.demand is None for p in parts):
        return Settled(paths, m, None, (sid, stage))
    q_all = m.shape[1]
    demand = Demand(m.size, cap)
    demand.linear = np.concatenate([p.demand.linear for p in parts])
    demand.rare = [(cell + r * q_all, odds, money) for r, p in enumerate(parts)
                   for cell, odds, money in p.demand.rare]
    return Settled(paths, m, demand, (sid, stage))


def demand_of(pop, paths: Paths, sids: np.ndarray, shape: tuple[int, int], cap: float) -> Demand:
    """The expected venture money ``sids`` seek on ``paths``, by cell of a (region, period) grid of
    ``shape``."""
    demand = Demand(shape[0] * shape[1], cap)
    demand.add(*attempts(pop, paths, sids, shape[1]))
    return demand


@dataclass(frozen=True)
class Displacement:
    """What the supported start-ups' extra venture money did to the never-supported (see
    :func:`displace`). Arrays by (region, period) are in KRW."""

    paths: Paths  # the economy's paths with the re-walked never-supported start-ups' new paths
    moved: np.ndarray  # sids of the never-supported start-ups whose paths changed
    m: np.ndarray  # the market's multipliers for the never-supported, (region, period)
    extra: np.ndarray  # the supported firms' extra expected venture money
    induced: np.ndarray  # the part of it investors brought (1 - coupling)
    # the venture money investors expect to hand out, everyone together (at most supply + induced)
    paid: np.ndarray


def displace(pop, rules, economy: Settled, available: np.ndarray, supported: np.ndarray,
             since: np.ndarray, sought: np.ndarray, coupling: float) -> Displacement:
    """Clear the never-supported again once the supported start-ups (``supported``, sids, supported
    at ``since``) have sought ``sought`` after their support (expected venture money per cell, at
    the economy's ``m``) instead of what their own walks sought after that date (before it both are
    the same walk); ``coupling`` of their extra money comes out of the others'. ``economy`` is left
    unchanged."""
    paths, m = economy.paths, economy.m
    q_all = m.shape[1]
    cap = rules.max_funding_probability
    cell, odds, money = attempts(pop, paths, supported, q_all, after=since)
    after = np.bincount(cell, money * np.minimum(odds * m.ravel()[cell], cap), minlength=m.size)
    extra = sought - after
    induced = ((1.0 - coupling) * extra).reshape(m.shape)
    if coupling <= 0.0 or not supported.size:
        paid = economy.demand.at(m.ravel()) + extra
        return Displacement(paths, np.empty(0, np.int64), m, extra.reshape(m.shape), induced,
                            paid.reshape(m.shape))
    cell, odds, money = attempts(pop, paths, supported, q_all)  # all their own walks' attempts
    base = np.bincount(cell, money * np.minimum(odds * m.ravel()[cell], cap), minlength=m.size)
    others = economy.demand.copy()
    others.add(cell, odds, money, sign=-1.0)
    left = available.ravel() - base - coupling * extra
    # where the supported firms alone expect more than the money there is, the rest of it can only
    # be money investors brought: counted as such (never at the shipped scale, where their extra is
    # at most about half a small region's quarter; the free-lunch test keeps it so)
    short = np.maximum(-left, 0.0)
    induced = induced + short.reshape(m.shape)
    left = left + short
    is_supported = np.zeros(len(pop), bool)
    is_supported[supported] = True
    sid, stage = economy.candidates
    rest = ~is_supported[sid]
    new, moved = _fixed_point(pop, rules, paths, m.copy(), others, left.reshape(m.shape),
                              (sid[rest], stage[rest]), copy=True)
    # the others, then the supported before and after
    paid = new.demand.at(new.m.ravel()) + base - after + sought
    return Displacement(new.paths, moved, new.m, extra.reshape(m.shape), induced,
                        paid.reshape(m.shape))
