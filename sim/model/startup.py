"""A start-up walking through the death valley.

Per stage a start-up has four clocks: the milestone (work left / speed), non-cash failure (an
Exp(1) budget consumed by the failure hazard), the cash runway (cash / net burn) and, in
traction, a market acquisition. The earliest clock wins; successful bridge rounds and
milestones that concern nobody else are worked out inline (:meth:`Startup._run_until`).

A start-up's walk is private until someone from outside touches it, so the walks of all
start-ups nobody touches are computed in bulk (:mod:`walk`) and cost no SimPy event. When a
centre selects one (:meth:`Startup.select`), it becomes an object here: it replays its own walk
from founding to that moment (the same random budgets give the same history) and becomes a
SimPy process. It holds a seat, its clocks change with training, its residency ends, its partner
decides at traction, all at their own times and in contention with everyone else. A supported
start-up whose next event lies beyond the horizon parks on an event that never fires.

Cost: no SimPy event for an unsupported start-up; a supported one costs a handful.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from .codes import (
    ACQUIRED,
    ACQUISITION,
    ALIVE,
    BREAK,
    BROKE,
    CASH,
    CROSSED,
    DEBT,
    DIED,
    EQUITY,
    FAIL,
    FAILURE,
    LIMIT,
    MATURE,
    MILESTONE,
    NO_CAUSE,
    RESIDENCY_END,
    TRACTION,
)
from .dated import mature_death_one
from .market import PERIOD_MONTHS
from .population import ROW, SCALARS
from .streams import MAX_BRIDGE_DRAWS

INF = math.inf

# a row's layout: its one-number columns are unpacked in one statement in Startup.__init__, in the
# order of population.SCALARS
_SCALARS = len(SCALARS)
# the first position of each per-stage (per-draw) column: its entry for stage s sits at _WORK + s
_WORK, _RAISE_U, _RAISE_AMOUNT = ROW.work.start, ROW.raise_u.start, ROW.raise_amount.start
_DEBT_U, _DEBT_AMOUNT, _BRIDGE_U = ROW.debt_u.start, ROW.debt_amount.start, ROW.bridge_u.start


class Startup:
    """A start-up a centre selected. Attributes are plain floats for a lean hot loop."""

    __slots__ = (
        "id", "world", "row", "bridge_amounts", "bridge_at", "sector", "founded", "cash", "burn",
        "revenue", "team", "fail_budget", "acq_budget", "mature_budget", "conglomerate_u",
        "hq", "speed_q", "eq_q", "debt_q", "acq_rate", "cell0", "m_row", "acc_row", "hz_ratio",
        "epoch", "stage", "work_left", "fail_used", "acq_used", "bridges", "bridges_won",
        "hazard_mult", "speed_mult", "fund_mult", "fund_boost", "boost_half_life", "res_end",
        "has_seat", "centre", "centre_index", "support_time",
        "grant_krw", "equity_krw", "debt_krw", "conglomerate_krw", "subcontract",
        "outcome", "cause", "outcome_time", "crossed_time", "pending",
    )

    def __init__(self, world, sid: int, row: list[float], bridge_amounts: np.ndarray, at: int):
        """``row`` is the start-up's row of the population table (laid out by
        :data:`population.ROW`): its per-stage and per-draw numbers stay there; row ``at`` of
        ``bridge_amounts`` (:meth:`population.Population.bridge_amounts`) its bridge round sizes."""
        self.id = sid
        self.world = world
        self.row = row
        self.bridge_amounts = bridge_amounts
        self.bridge_at = at
        (self.founded, sector, region, self.cash, self.burn, self.team, self.conglomerate_u,
         self.fail_budget, self.acq_budget, self.mature_budget, self.hq, self.speed_q, self.eq_q,
         self.debt_q, self.acq_rate) = row[:_SCALARS]
        self.sector = int(sector)
        # its region's first market cell, market multipliers by period, and dated walk terms
        # (dated.py): access ratios by period and hazard ratios by epoch (None: not dated)
        self.cell0, self.m_row, self.acc_row, self.hz_ratio = world.region_terms[int(region)]
        # the epoch of its founding
        self.epoch = (0 if world.breaks is None
                      else bisect.bisect_right(world.breaks, self.founded) - 1)
        self.work_left = row[_WORK]
        self.revenue = 0.0
        self.stage = 0
        self.fail_used = 0.0
        self.acq_used = 0.0
        self.bridges = 0
        self.bridges_won = 0
        self.hazard_mult = 1.0
        self.speed_mult = 1.0
        self.fund_mult = 1.0
        # the network's extra funding odds, fading with boost_half_life (0: none)
        self.fund_boost = 0.0
        self.boost_half_life = INF
        self.res_end = INF
        self.has_seat = False
        self.centre = None
        self.centre_index = -1
        self.support_time = math.nan
        self.grant_krw = 0.0
        self.equity_krw = 0.0
        self.debt_krw = 0.0
        self.conglomerate_krw = 0.0
        self.subcontract = False
        self.outcome = ALIVE
        self.cause = NO_CAUSE
        self.outcome_time = math.nan
        self.crossed_time = math.nan
        self.pending = None  # (time, clock) of the event its timeout will apply

    def select(self, centre, residency_end: float, grant: float) -> None:
        """Selected by ``centre`` now: replay the private walk from founding to now, then live
        on."""
        env = self.world.env
        self._run_until(self.founded, env.now)
        self._supported(centre, residency_end, grant)
        self._advance(env.now)

    # ------------------------------------------------------------------------------------------
    def _advance(self, t0: float) -> None:
        """Walk on from ``t0`` (the SimPy clock) to the first moment others must see, and wait for
        it.

        Only moments that matter to someone else cost an event, a SimPy timeout whose callback
        applies it: the end of the residency and any exit or crossing while the start-up holds a
        seat (the seat comes free), and reaching traction while its partner may still decide (the
        partner's budget is shared). Once it holds no seat and its partner has nothing left to
        decide, the rest of its walk is private and is worked out here at once; a start-up alive
        at the horizon costs nothing more. (A callback rather than a SimPy process: the same
        timeouts in the same order, without a process's start-up event and generator.)
        """
        w = self.world
        horizon = w.horizon
        partner_until = self.centre.partner_until  # a partner may still decide before then
        while True:
            t, clock = self._run_until(t0, horizon)
            if clock == LIMIT:
                return
            if self.has_seat or (t0 < partner_until and self.stage < 2):
                self.pending = (t, clock)
                w.env.call_after(t - t0, self._wake)
                return
            t0 = t0 + (t - t0)  # the clock SimPy would have shown after that timeout
            if self._conclude(t, clock):
                return

    def _wake(self, _event) -> None:
        t, clock = self.pending
        self.pending = None
        if not self._conclude(t, clock):
            self._advance(self.world.env.now)

    def _conclude(self, t: float, clock: int) -> bool:
        """Apply the event of ``clock`` at time ``t``. Returns True when the start-up's walk is
        over."""
        if clock == MILESTONE:
            return self._milestone(t)
        if clock == FAIL:
            self.exit(DIED, FAILURE, t)
        elif clock == BROKE:
            self.exit(DIED, CASH, t)
        elif clock == ACQUISITION:
            self.exit(ACQUIRED, NO_CAUSE, t)
        else:
            self._graduate()
            return False
        return True

    def _run_until(self, t: float, limit: float) -> tuple[float, int]:
        """Walk privately from time ``t`` until the first event others must see, or ``limit``.

        Returns (time, clock) with the state advanced to that time and the event not yet
        applied; clock is ``LIMIT`` when ``limit`` came first. Milestones that concern nobody else
        and successful bridge rounds are applied here without a SimPy event.
        """
        w = self.world
        fail_hazard, breaks = w.fail_hazard, w.breaks
        partner = self.centre is not None and t < self.centre.partner_until
        while True:
            stage = self.stage
            if breaks is None:
                hz = fail_hazard[stage] * self.hq * self.hazard_mult
            else:  # the hazards of its epoch (walk.walk: the same expression)
                hz = w.fail_hazards[self.epoch][stage] * self.hq * self.hazard_mult
                if self.hz_ratio is not None:
                    hz = hz * self.hz_ratio[self.epoch]
            speed = self.speed_q * self.speed_mult
            net = self.burn - self.revenue
            acq = self.acq_rate if stage == TRACTION else 0.0

            # a speed of 0 (a training speed multiplier of 0) means no progress, not a crash
            dt, clock = (self.work_left / speed if speed > 0.0 else INF), MILESTONE
            if hz > 0.0:
                d = (self.fail_budget - self.fail_used) / hz
                if d < dt:
                    dt, clock = d, FAIL
            if net > 0.0:
                d = self.cash / net
                if d < dt:
                    dt, clock = d, BROKE
            if acq > 0.0:
                d = (self.acq_budget - self.acq_used) / acq
                if d < dt:
                    dt, clock = d, ACQUISITION
            d = self.res_end - t
            if d < dt:
                dt, clock = d, RESIDENCY_END
            if breaks is not None and self.epoch + 1 < len(breaks):
                d = breaks[self.epoch + 1] - t
                if d < dt:
                    dt, clock = d, BREAK
            if t + dt > limit:
                dt, clock = limit - t, LIMIT
            self.work_left -= dt * speed
            self.fail_used += dt * hz
            self.cash -= dt * net
            self.acq_used += dt * acq
            t += dt
            if clock == MILESTONE:
                self.work_left = 0.0
                if stage == TRACTION or (stage == TRACTION - 1 and partner):
                    return t, clock
                self._milestone(t)
            elif clock == BROKE:
                self.cash = 0.0
                if not self._bridge(t):
                    return t, clock
            elif clock == BREAK:  # a dated hazard changes: run on at the new rates (private)
                self.epoch += 1
            else:
                return t, clock

    # ------------------------------------------------------------------------------------------
    def _milestone(self, t: float) -> bool:
        """Finish the current stage at time ``t``: its venture round, its loan, then the next stage.
        Returns True when the walk is over (crossed)."""
        stage = self.stage
        w = self.world
        row = self.row
        q = int(t / PERIOD_MONTHS)  # the market period (walk.walk: the same expression)
        if q > w.last_period:
            q = w.last_period
        cap = w.max_funding_probability
        supported = self.centre is not None
        # the venture round: the programme's multipliers, rationed by the market (its region's m)
        mult = self.fund_mult
        if self.fund_boost:  # a network boost that fades: the extra odds halve every half-life
            mult *= 1.0 + self.fund_boost * 0.5 ** ((t - self.support_time) / self.boost_half_life)
        p = w.equity_prob[stage][q] * self.eq_q
        if self.acc_row is not None:  # a dated funding access (walk.walk: the same expression)
            p = p * self.acc_row[q]
        p = p * mult * self.m_row[q]
        if p > cap:
            p = cap
        amount = row[_RAISE_AMOUNT + stage]
        if supported:  # the venture money it seeks after its support, for the market's books
            w.sought.append((self.cell0 + q, amount * p))
        if row[_RAISE_U + stage] < p:
            self.cash += amount
            self.equity_krw += amount
            if supported:  # money the supported firm attracted after its support
                w.rounds.append((self.id, t, amount, EQUITY, False))
                w.raised.append((t, amount, EQUITY))
        # the loan
        p = w.debt_prob[stage][q] * self.debt_q
        if p > cap:
            p = cap
        if row[_DEBT_U + stage] < p:
            amount = row[_DEBT_AMOUNT + stage]
            self.cash += amount
            self.debt_krw += amount
            if supported:
                w.rounds.append((self.id, t, amount, DEBT, False))
                w.raised.append((t, amount, DEBT))
        self.stage = stage = stage + 1
        if supported:  # the jobs a supported firm adds after its support (hires: gains only)
            gain = self.team * (w.job_mult[stage] - w.job_mult[stage - 1])
            if gain > 0.0:
                w.hired.append((t, gain))
        if stage == CROSSED:
            self._cross(t)
            return True
        self.work_left = row[_WORK + stage]
        if stage == TRACTION and supported:
            partner = self.centre.partner_at(t)
            if partner is not None:
                return partner.consider(self)
        return False

    def _bridge(self, t: float) -> bool:
        w = self.world
        b = self.bridges
        if b >= w.max_bridges:
            return False
        self.bridges = b + 1
        stage = self.stage
        q = int(t / PERIOD_MONTHS)
        if q > w.last_period:
            q = w.last_period
        p = w.bridge_prob[stage][q] * self.debt_q
        if p > w.max_funding_probability:
            p = w.max_funding_probability
        won = self.row[_BRIDGE_U + b] < p
        if won:
            amount = float(self.bridge_amounts[self.bridge_at, stage * MAX_BRIDGE_DRAWS + b])
            self.cash += amount
            self.debt_krw += amount
            self.bridges_won += 1
            if self.centre is not None:
                w.rounds.append((self.id, t, amount, DEBT, True))
                w.raised.append((t, amount, DEBT))
        return won

    def _cross(self, now: float) -> None:
        w = self.world
        self.crossed_time = now
        if w.breaks is None:
            h = w.mature_hazard * self.hq
            t_death = now + self.mature_budget / h if h > 0 else INF
        else:  # epoch by epoch (walk.walk: the same arithmetic)
            t_death = mature_death_one(now, self.mature_budget, self.hq, self.epoch, w.breaks,
                                       w.mature_hazards, self.hz_ratio)
        self._leave()
        if t_death <= w.horizon:
            self.outcome, self.cause, self.outcome_time = DIED, MATURE, t_death

    def exit(self, outcome: int, cause: int, t: float) -> None:
        """Leave the valley at time ``t`` with ``outcome`` and ``cause`` (a seat comes free)."""
        self.outcome = outcome
        self.cause = cause
        self.outcome_time = t
        self._leave()

    def _leave(self) -> None:
        """Give back a centre seat, if any."""
        if self.has_seat:
            self._release_seat()

    # -- support --------------------------------------------------------------------------------
    def _supported(self, centre, residency_end: float, grant: float) -> None:
        self.centre = centre
        self.centre_index = centre.index
        self.support_time = self.world.env.now
        self.res_end = residency_end
        self.has_seat = centre.seats.take()
        (self.hazard_mult, self.speed_mult, self.fund_mult, self.fund_boost,
         self.boost_half_life) = centre.support
        if grant > 0:
            self.cash += grant
            self.grant_krw += grant
            self.fund_mult *= centre.cfg.grants.funding_odds_multiplier

    def _graduate(self) -> None:
        tr = self.centre.training_at(self.world.env.now)
        self.res_end = INF
        self.hazard_mult = tr.hazard_multiplier_after
        self.speed_mult = tr.speed_multiplier_after
        self._release_seat()

    def _release_seat(self) -> None:
        self.centre.seats.release()
        self.has_seat = False
