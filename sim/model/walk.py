"""The unsupported walk through the valley, for every start-up at once.

Without a centre nothing outside a start-up touches it, so its whole path (milestones, rounds,
bridges, its exit or crossing) follows from its own row of luck. :func:`walk` computes all those
paths together with numpy: each pass advances every start-up still in the valley to its next
clock (milestone, failure budget, cash runway, acquisition) and applies it, so the loop runs
once per step of the longest path (at most 3 milestones + the bridges + 1), not once per
start-up.

This is the same arithmetic, in the same order, as :meth:`startup.Startup._run_until` with
neutral multipliers, so a start-up a centre selects and then leaves alone lives the same life to
the last bit. A test pins that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codes import (
    ACQUIRED,
    ACQUISITION,
    BROKE,
    CASH,
    CROSSED,
    DIED,
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
    """Where each start-up's unsupported walk ended. Arrays indexed by sid."""

    @classmethod
    def joined(cls, parts: list[Paths]) -> Paths:
        """The paths of several populations laid end to end (regions in order: sids follow)."""
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__})

    stage: np.ndarray  # int8: stages completed (CROSSED once past the valley)
    outcome: np.ndarray  # int8: ALIVE, DIED, ACQUIRED at the horizon
    cause: np.ndarray  # int8
    outcome_time: np.ndarray  # NaN while alive
    crossed_time: np.ndarray  # NaN unless crossed
    private_krw: np.ndarray
    leaves: np.ndarray  # when it leaves the valley (exit or crossing); inf if never


def walk(pop: Population, rules) -> Paths:
    """Walk every start-up of ``pop`` from its founding to its exit, crossing or the horizon.

    ``rules`` carries the scenario's hazards and funding terms (the :class:`world.World` attributes
    fail_hazard, round_prob, bridge_mult, max_bridges, max_funding_probability, mature_hazard, horizon).
    """
    n = len(pop)
    horizon = rules.horizon
    fail_hazard = np.asarray(rules.fail_hazard, dtype=float)
    round_prob = np.asarray(rules.round_prob, dtype=float)
    bridge_prob = round_prob * rules.bridge_mult
    max_p, max_bridges = rules.max_funding_probability, rules.max_bridges
    mature = rules.mature_hazard

    paths = Paths(stage=np.zeros(n, np.int8), outcome=np.zeros(n, np.int8), cause=np.zeros(n, np.int8),
                  outcome_time=np.full(n, np.nan), crossed_time=np.full(n, np.nan), private_krw=np.zeros(n),
                  leaves=np.full(n, np.inf))

    # per-start-up state, compacted to those still walking after every pass
    sid = np.arange(n)
    t = pop.founded.copy()
    stage = np.zeros(n, np.int64)
    work_left = pop.work[:, 0].copy()
    fail_used = np.zeros(n)
    acq_used = np.zeros(n)
    cash = pop.cash.copy()
    private = np.zeros(n)
    bridges = np.zeros(n, np.int64)
    hq, speed, net, fund_q = pop.hq, pop.speed_q, pop.burn, pop.fund_q
    acq_rate, fail_budget, acq_budget = pop.acq_rate, pop.fail_budget, pop.acq_budget

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while sid.size:
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
            late = t + dt > horizon
            dt = np.where(late, horizon - t, dt)
            clock[late] = HORIZON
            work_left = work_left - dt * speed
            fail_used = fail_used + dt * hz
            cash = cash - dt * net
            acq_used = acq_used + dt * acq
            t = t + dt

            done = clock != MILESTONE
            ms = ~done
            # a milestone: the stage's round, then the next stage or the crossing
            if ms.any():
                i = np.flatnonzero(ms)
                s = stage[i]
                p = np.minimum(round_prob[s] * fund_q[i], max_p)
                amount = pop.raise_amount[sid[i], s]
                won = pop.raise_u[sid[i], s] < p
                cash[i] = np.where(won, cash[i] + amount, cash[i])
                private[i] = np.where(won, private[i] + amount, private[i])
                stage[i] = s = s + 1
                crossed = s == CROSSED
                j = i[crossed]
                if j.size:
                    sj, tj = sid[j], t[j]
                    paths.crossed_time[sj] = tj
                    paths.leaves[sj] = tj
                    h = mature * hq[j]
                    with np.errstate(divide="ignore", over="ignore"):
                        t_death = np.where(h > 0, tj + pop.mature_budget[sj] / h, np.inf)
                    dies = t_death <= horizon
                    paths.outcome[sj[dies]] = DIED
                    paths.cause[sj[dies]] = MATURE
                    paths.outcome_time[sj[dies]] = t_death[dies]
                    done[j] = True
                k = i[~crossed]
                work_left[k] = pop.work[sid[k], stage[k]]
            # out of cash: a bridge round, if any are left and it succeeds
            broke = np.flatnonzero(clock == BROKE)
            if broke.size:
                cash[broke] = 0.0
                b = bridges[broke]
                can = b < max_bridges
                i, b = broke[can], b[can]
                bridges[i] = b + 1
                s = stage[i]
                p = np.minimum(bridge_prob[s] * fund_q[i], max_p)
                won = pop.bridge_u[sid[i], b] < p
                i, s, b = i[won], s[won], b[won]
                amount = pop.round_size[s] * np.exp(pop.round_sigma[s] * pop.bridge_z[sid[i], b])
                cash[i] = cash[i] + amount
                private[i] = private[i] + amount
                done[i] = False
            # exits
            for c, outcome, cause in ((FAIL, DIED, FAILURE), (BROKE, DIED, CASH), (ACQUISITION, ACQUIRED, NO_CAUSE)):
                e = np.flatnonzero((clock == c) & done)
                if e.size:
                    se = sid[e]
                    paths.outcome[se], paths.cause[se] = outcome, cause
                    paths.outcome_time[se] = paths.leaves[se] = t[e]
            if done.any():
                d = np.flatnonzero(done)
                paths.stage[sid[d]] = stage[d]
                paths.private_krw[sid[d]] = private[d]
                keep = ~done
                sid, t, stage, work_left, fail_used, acq_used, cash, private, bridges = (
                    a[keep] for a in (sid, t, stage, work_left, fail_used, acq_used, cash, private, bridges))
                hq, speed, net, fund_q, acq_rate, fail_budget, acq_budget = (
                    a[keep] for a in (hq, speed, net, fund_q, acq_rate, fail_budget, acq_budget))
    return paths
