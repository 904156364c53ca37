"""The unsupported walk through the valley, for every start-up at once.

Without a centre nothing outside a start-up touches it but the market, so its whole path
(milestones, rounds, loans, bridges, its exit or crossing) follows from its own row of luck and the
market's odds multipliers ``m`` (one per region and period, :mod:`market`). :func:`walk` computes
all those paths together with numpy: each pass advances every start-up still in the valley to its
next clock (milestone, failure budget, cash runway, acquisition) and applies it, so the loop runs
once per step of the longest path (at most 3 milestones + the bridges + 1), not once per start-up.
It can walk any subset of the population (``sids``): a start-up's path depends on nothing but its
row and ``m``, so walking it alone or with everyone gives the same path to the bit, which is how the
market re-walks only the start-ups whose round decisions a new ``m`` flips.

At each milestone a start-up tries a venture (equity) round, then a loan (debt); when its cash runs
out it tries a bridge loan. Every equity attempt is recorded (its period and its odds before the
market's multiplier), so the market can add up the money sought without walking again.

This is the same arithmetic, in the same order, as :func:`kernels.run_until` (a supported
start-up's own walk, compiled) with neutral multipliers, so a start-up a centre selects and then
leaves alone lives the same life to the last bit. A test pins that.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import dated as dated_terms
from .codes import (
    ACQUIRED,
    ACQUISITION,
    BREAK,
    BROKE,
    CASH,
    CROSSED,
    DEBT,
    DIED,
    EQUITY,
    FAIL,
    FAILURE,
    HORIZON,
    MATURE,
    MILESTONE,
    NO_CAUSE,
    TRACTION,
)
from .population import Population


@dataclass
class Paths:
    """Where each start-up's unsupported walk ended, and the rounds it raised on the way.

    Per-start-up arrays are indexed by position (the sid, for a walk of the whole population);
    ``round_*`` arrays have one entry per round won, in no particular order.
    """

    stage: np.ndarray  # int8: stages completed (CROSSED once past the valley)
    outcome: np.ndarray  # int8: ALIVE, DIED, ACQUIRED at the horizon
    cause: np.ndarray  # int8
    outcome_time: np.ndarray  # NaN while alive
    crossed_time: np.ndarray  # NaN unless crossed
    equity_krw: np.ndarray  # venture money raised
    debt_krw: np.ndarray  # loans raised (at milestones and as bridges)
    bridges: np.ndarray  # int8: bridge loans raised when cash ran out (distress rounds)
    leaves: np.ndarray  # when it leaves the valley (exit or crossing); inf if never
    # (n, 3): when the equity attempt at each stage's milestone was made; NaN: none
    eq_month: np.ndarray
    eq_odds: np.ndarray  # (n, 3): that attempt's odds before the market's multiplier and the cap
    round_sid: np.ndarray  # int64
    round_month: np.ndarray
    round_krw: np.ndarray
    round_channel: np.ndarray  # int8: EQUITY, DEBT
    round_bridge: np.ndarray  # bool: a bridge loan when cash ran out

    PER_ROUND = ("round_sid", "round_month", "round_krw", "round_channel", "round_bridge")

    @classmethod
    def empty(cls, n: int) -> Paths:
        """The paths of ``n`` start-ups before any walk: in stage 0, nothing raised, no rounds."""
        return cls(stage=np.zeros(n, np.int8), outcome=np.zeros(n, np.int8),
                   cause=np.zeros(n, np.int8), outcome_time=np.full(n, np.nan),
                   crossed_time=np.full(n, np.nan), equity_krw=np.zeros(n),
                   debt_krw=np.zeros(n), bridges=np.zeros(n, np.int8), leaves=np.full(n, np.inf),
                   eq_month=np.full((n, 3), np.nan), eq_odds=np.zeros((n, 3)),
                   round_sid=np.empty(0, np.int64), round_month=np.empty(0), round_krw=np.empty(0),
                   round_channel=np.empty(0, np.int8), round_bridge=np.empty(0, bool))

    @classmethod
    def joined(cls, parts: list[Paths]) -> Paths:
        """The paths of several populations laid end to end (regions in order: sids follow)."""
        offsets = np.cumsum([0, *(len(p.stage) for p in parts)])
        out = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)
               if f.name != "round_sid"}
        out["round_sid"] = np.concatenate([p.round_sid + off
                                           for p, off in zip(parts, offsets, strict=False)])
        return cls(**out)

    def copy(self) -> Paths:
        """A copy with its own arrays, so :meth:`replace` on it leaves these paths as they are."""
        return Paths(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def replace(self, sids: np.ndarray, new: Paths) -> None:
        """Put ``new`` (the paths of ``sids``, in that order, with global round sids) in place of
        theirs."""
        for f in fields(self):
            if f.name not in self.PER_ROUND:
                getattr(self, f.name)[sids] = getattr(new, f.name)
        keep = ~np.isin(self.round_sid, sids)
        for name in self.PER_ROUND:
            setattr(self, name, np.concatenate([getattr(self, name)[keep], getattr(new, name)]))


def walk(pop: Population, rules, m: np.ndarray, sids: np.ndarray | None = None) -> Paths:
    """Walk start-ups ``sids`` of ``pop`` (default: all) from founding to exit, crossing or the
    horizon.

    ``rules`` carries the scenario's hazards and funding terms (the :class:`world.World` attributes
    fail_hazard, equity_prob, debt_prob, bridge_prob (each (stage, period)), max_bridges,
    max_funding_probability, mature_hazard, horizon, period_months, and the dated terms of
    :mod:`dated`: access (region of ``pop``, period), breaks, fail_hazards, mature_hazards and
    hazard_ratio (epoch, region of ``pop``)); ``m`` is the market's odds multiplier by (region of
    ``pop``, period). The result is indexed by position in ``sids``.
    """
    sid = np.arange(len(pop)) if sids is None else np.asarray(sids, np.int64)
    n = sid.size
    horizon, period = rules.horizon, rules.period_months
    fail_hazard = np.asarray(rules.fail_hazard, dtype=float)
    eq_prob, debt_prob, bridge_prob = rules.equity_prob, rules.debt_prob, rules.bridge_prob
    last = eq_prob.shape[1] - 1
    max_p, max_bridges = rules.max_funding_probability, rules.max_bridges
    mature = rules.mature_hazard
    access = getattr(rules, "access", None)
    breaks = getattr(rules, "breaks", None)
    dated = breaks is not None and len(breaks) > 1  # a hazard changes during the run: a break clock
    if dated:
        fail_hazards, ratio = rules.fail_hazards, rules.hazard_ratio
        ends = np.append(breaks[1:], np.inf)  # when each epoch ends
    paths = Paths.empty(n)
    rounds: list[tuple] = []

    # per-start-up state, compacted to those still walking after every pass
    at = np.arange(n)  # position in paths
    t = pop.founded[sid]
    stage = np.zeros(n, np.int64)
    work_left = pop.work[sid, 0]
    fail_used = np.zeros(n)
    acq_used = np.zeros(n)
    cash = pop.cash[sid]
    equity = np.zeros(n)
    debt = np.zeros(n)
    bridges = np.zeros(n, np.int64)
    hq, speed, net, eq_q, debt_q, region = (pop.hq[sid], pop.speed_q[sid], pop.burn[sid],
                                            pop.eq_q[sid], pop.debt_q[sid], pop.region[sid])
    acq_rate, fail_budget, acq_budget = pop.acq_rate[sid], pop.fail_budget[sid], pop.acq_budget[sid]
    epoch = np.searchsorted(breaks, t, side="right") - 1 if dated else None

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while sid.size:
            if dated:
                hz = fail_hazards[epoch, stage] * hq
                if ratio is not None:
                    hz = hz * ratio[epoch, region]
            else:
                hz = fail_hazard[stage] * hq
            acq = np.where(stage == TRACTION, acq_rate, 0.0)
            dt = np.where(speed > 0.0, work_left / speed, np.inf)
            clock = np.zeros(sid.size, np.int8)
            for c, d in ((FAIL, np.where(hz > 0.0, (fail_budget - fail_used) / hz, np.inf)),
                         (BROKE, np.where(net > 0.0, cash / net, np.inf)),
                         (ACQUISITION, np.where(acq > 0.0, (acq_budget - acq_used) / acq, np.inf))):
                first = d < dt
                dt = np.where(first, d, dt)
                clock[first] = c
            if dated:  # the next break: the clocks stop there and run on at the new rates
                d = ends[epoch] - t
                first = d < dt
                dt = np.where(first, d, dt)
                clock[first] = BREAK
            late = t + dt > horizon
            dt = np.where(late, horizon - t, dt)
            clock[late] = HORIZON
            work_left = work_left - dt * speed
            fail_used = fail_used + dt * hz
            cash = cash - dt * net
            acq_used = acq_used + dt * acq
            t = t + dt

            done = clock != MILESTONE
            if dated:
                brk = clock == BREAK
                done[brk] = False
                epoch = epoch + brk
            ms = clock == MILESTONE
            # a milestone: the stage's venture round, then its loan, then the next stage or the
            # crossing
            if ms.any():
                i = np.flatnonzero(ms)
                s = stage[i]
                si = sid[i]
                q = np.minimum((t[i] / period).astype(np.int64), last)
                odds = eq_prob[s, q] * eq_q[i]
                if access is not None:  # a dated funding access: its ratio to the base in force
                    odds = odds * access[region[i], q]
                paths.eq_month[at[i], s] = t[i]
                paths.eq_odds[at[i], s] = odds
                for channel, total, u, amounts, p in (
                        (EQUITY, equity, pop.raise_u, pop.raise_amount,
                         np.minimum(odds * m[region[i], q], max_p)),
                        (DEBT, debt, pop.debt_u, pop.debt_amount,
                         np.minimum(debt_prob[s, q] * debt_q[i], max_p))):
                    won = u[si, s] < p
                    amount = amounts[si, s]
                    # the venture round first, then the loan
                    cash[i] = np.where(won, cash[i] + amount, cash[i])
                    total[i] = np.where(won, total[i] + amount, total[i])
                    if won.any():
                        rounds.append((si[won], t[i][won], amount[won], channel, False))
                stage[i] = s = s + 1
                crossed = s == CROSSED
                j = i[crossed]
                if j.size:
                    aj, tj = at[j], t[j]
                    paths.crossed_time[aj] = tj
                    paths.leaves[aj] = tj
                    if dated:
                        t_death = dated_terms.mature_death(
                            tj, pop.mature_budget[sid[j]], hq[j], epoch[j], breaks,
                            rules.mature_hazards, None if ratio is None else ratio[:, region[j]].T)
                    else:
                        h = mature * hq[j]
                        with np.errstate(divide="ignore", over="ignore"):
                            t_death = np.where(h > 0, tj + pop.mature_budget[sid[j]] / h, np.inf)
                    dies = t_death <= horizon
                    paths.outcome[aj[dies]] = DIED
                    paths.cause[aj[dies]] = MATURE
                    paths.outcome_time[aj[dies]] = t_death[dies]
                    done[j] = True
                k = i[~crossed]
                work_left[k] = pop.work[sid[k], stage[k]]
            # out of cash: a bridge loan, if any are left and it is granted
            broke = np.flatnonzero(clock == BROKE)
            if broke.size:
                cash[broke] = 0.0
                b = bridges[broke]
                can = b < max_bridges
                i, b = broke[can], b[can]
                bridges[i] = b + 1
                s = stage[i]
                q = np.minimum((t[i] / period).astype(np.int64), last)
                p = np.minimum(bridge_prob[s, q] * debt_q[i], max_p)
                won = pop.bridge_u[sid[i], b] < p
                i, s, b = i[won], s[won], b[won]
                amount = pop.debt_size[s] * np.exp(pop.debt_sigma[s] * pop.bridge_z[sid[i], b])
                cash[i] = cash[i] + amount
                debt[i] = debt[i] + amount
                if i.size:
                    rounds.append((sid[i], t[i], amount, DEBT, True))
                    paths.bridges[at[i]] += 1
                done[i] = False
            # exits
            for c, outcome, cause in ((FAIL, DIED, FAILURE), (BROKE, DIED, CASH),
                                      (ACQUISITION, ACQUIRED, NO_CAUSE)):
                e = np.flatnonzero((clock == c) & done)
                if e.size:
                    ae = at[e]
                    paths.outcome[ae], paths.cause[ae] = outcome, cause
                    paths.outcome_time[ae] = paths.leaves[ae] = t[e]
            if done.any():
                d = np.flatnonzero(done)
                ad = at[d]
                paths.stage[ad] = stage[d]
                paths.equity_krw[ad] = equity[d]
                paths.debt_krw[ad] = debt[d]
                keep = ~done
                sid, at, t, stage, work_left, fail_used, acq_used, cash, equity, debt, bridges = (
                    a[keep] for a in (sid, at, t, stage, work_left, fail_used, acq_used, cash,
                                      equity, debt, bridges))
                hq, speed, net, eq_q, debt_q, region, acq_rate, fail_budget, acq_budget = (
                    a[keep] for a in (hq, speed, net, eq_q, debt_q, region, acq_rate, fail_budget,
                                      acq_budget))
                if dated:
                    epoch = epoch[keep]
    if rounds:
        paths.round_sid = np.concatenate([r[0] for r in rounds]).astype(np.int64)
        paths.round_month = np.concatenate([r[1] for r in rounds])
        paths.round_krw = np.concatenate([r[2] for r in rounds])
        paths.round_channel = np.concatenate([np.full(len(r[0]), r[3], np.int8) for r in rounds])
        paths.round_bridge = np.concatenate([np.full(len(r[0]), r[4], bool) for r in rounds])
    return paths
