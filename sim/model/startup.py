"""A start-up walking through the death valley.

Per stage a start-up has four clocks: the milestone (work left / speed), non-cash failure (an
Exp(1) budget consumed by the failure hazard), the cash runway (cash / net burn) and, in
traction, a market acquisition. The earliest clock wins; successful bridge rounds and
milestones that concern nobody else are worked out inline (:meth:`Startup._run_until`), in compiled
code on the start-up's row of its world's state table (:mod:`private`).

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

import math

import numpy as np

from .codes import (
    ACQUIRED,
    ACQUISITION,
    ALIVE,
    BROKE,
    CROSSED,
    DIED,
    FAIL,
    FAILURE,
    LIMIT,
    MATURE,
    MILESTONE,
    NO_CAUSE,
    TRACTION,
)
from .codes import CASH as CASH_CAUSE
from .dated import mature_death_one
from .private import (
    ACQ_USED,
    BOOST_HALF_LIFE,
    BRIDGES,
    BRIDGES_WON,
    CASH,
    DEBT_KRW,
    EPOCH,
    EQUITY_KRW,
    FAIL_USED,
    FOUNDED,
    FUND_BOOST,
    FUND_MULT,
    HAZARD_MULT,
    HQ,
    MATURE_BUDGET,
    REGION,
    RES_END,
    REVENUE,
    SPEED_MULT,
    STAGE,
    WORK_LEFT,
)

INF = math.inf


def _column(col: int, kind=float, doc: str = ""):
    """A property reading and writing column ``col`` of the start-up's state row."""

    def get(self):
        return kind(self.world.state[self.index, col])

    def put(self, value):
        self.world.state[self.index, col] = value

    return property(get, put, doc=doc)


class Startup:
    """A start-up a centre selected: its walk state is row ``index`` of its world's state table
    (:mod:`private`, read through the properties below); what the SimPy side touches (seat, centre,
    outcome, partner's money) is plain attributes."""

    __slots__ = (
        "id", "world", "index", "sector", "conglomerate_u", "has_seat", "centre", "centre_index",
        "support_time", "grant_krw", "conglomerate_krw", "subcontract", "outcome", "cause",
        "outcome_time", "crossed_time", "pending",
    )

    STATE = ("founded", "cash", "revenue", "stage", "work_left", "fail_used", "acq_used",
             "bridges", "bridges_won", "epoch", "hazard_mult", "speed_mult", "fund_mult",
             "fund_boost", "boost_half_life", "res_end", "equity_krw", "debt_krw")
    """The walk state kept in the state table, by name (the properties)."""

    founded = _column(FOUNDED, doc="Month of founding.")
    cash = _column(CASH)
    revenue = _column(REVENUE, doc="Monthly revenue (a partner's subcontract).")
    stage = _column(STAGE, int)
    work_left = _column(WORK_LEFT)
    fail_used = _column(FAIL_USED)
    acq_used = _column(ACQ_USED)
    bridges = _column(BRIDGES, int, doc="Bridge rounds sought.")
    bridges_won = _column(BRIDGES_WON, int)
    epoch = _column(EPOCH, int, doc="The dated hazards' epoch it is in (dated.py).")
    hazard_mult = _column(HAZARD_MULT)
    speed_mult = _column(SPEED_MULT)
    fund_mult = _column(FUND_MULT)
    fund_boost = _column(FUND_BOOST, doc="The network's extra funding odds (0: none).")
    boost_half_life = _column(BOOST_HALF_LIFE)
    res_end = _column(RES_END, doc="End of the residency (inf: none).")
    equity_krw = _column(EQUITY_KRW)
    debt_krw = _column(DEBT_KRW)

    def __init__(self, world, sid: int, index: int, sector: int, conglomerate_u: float):
        """Start-up ``sid`` at row ``index`` of ``world.state`` (filled by :meth:`World.startups`):
        its sector and partner's draw are what the partner reads."""
        self.id = sid
        self.world = world
        self.index = index
        self.sector = sector
        self.conglomerate_u = conglomerate_u
        self.has_seat = False
        self.centre = None
        self.centre_index = -1
        self.support_time = math.nan
        self.grant_krw = 0.0
        self.conglomerate_krw = 0.0
        self.subcontract = False
        self.outcome = ALIVE
        self.cause = NO_CAUSE
        self.outcome_time = math.nan
        self.crossed_time = math.nan
        self.pending = None  # (time, clock) of the event its timeout will apply

    @staticmethod
    def select_all(centre, startups: list, residency_end: float, grants: list[float],
                   pay) -> None:
        """``startups`` (in rank order) were selected by ``centre`` now, each with its grant: each
        replays its private walk from founding to now, takes the support and lives on (one
        compiled call for them all, :func:`kernels.select_all`), then, in rank order, is paid its
        grant (``pay(grant)``, the centre's budget) and waits for its first moment others must
        see: the same events in the same order as selecting them one by one."""
        if not startups:
            return
        w = centre.world
        now = w.env.now
        stops = np.empty((len(startups), 3))
        w.kernels.select_all(
            w.state, np.fromiter((s.index for s in startups), np.int64, len(startups)), now,
            residency_end, np.asarray(grants, float), centre.cfg.grants.funding_odds_multiplier,
            *centre.support, centre.partner_until, w.horizon, w.walk_constants, w.log, stops)
        index, seats = centre.index, centre.seats
        for s, grant, (t, clock, stage) in zip(startups, grants, stops.tolist(), strict=True):
            if grant > 0:
                pay(grant)
                s.grant_krw += grant
            s.centre = centre
            s.centre_index = index
            s.support_time = now
            s.has_seat = seats.take()
            s._advance(now, t, int(clock), int(stage))

    # ------------------------------------------------------------------------------------------
    def _advance(self, t0: float, t: float, clock: int, stage: int) -> None:
        """Walk on from ``t0`` (the SimPy clock; ``t``, ``clock``, ``stage``: the private walk's
        first stop from there) to the first moment others must see, and wait for it.

        Only moments that matter to someone else cost an event, a SimPy timeout whose callback
        applies it: the end of the residency and any exit or crossing while the start-up holds a
        seat (the seat comes free), and reaching traction while its partner may still decide (the
        partner's budget is shared). Once it holds no seat and its partner has nothing left to
        decide, the rest of its walk is private and is worked out here at once; a start-up alive
        at the horizon costs nothing more. (A callback rather than a SimPy process: the same
        timeouts in the same order, without a process's start-up event and generator.)
        """
        w = self.world
        partner_until = self.centre.partner_until  # a partner may still decide before then
        while True:
            if clock == LIMIT:
                return
            if self.has_seat or (t0 < partner_until and stage < 2):
                self.pending = (t, clock)
                w.env.call_after(t - t0, self._wake)
                return
            t0 = t0 + (t - t0)  # the clock SimPy would have shown after that timeout
            if self._conclude(t, clock):
                return
            t, clock, stage = w.kernels.run_until(w.state, self.index, t0, w.horizon, partner_until,
                                                w.walk_constants, w.log)

    def _wake(self, _event) -> None:
        t, clock = self.pending
        self.pending = None
        if not self._conclude(t, clock):
            w = self.world
            now = w.env.now
            self._advance(now, *w.kernels.run_until(w.state, self.index, now, w.horizon,
                                                  self.centre.partner_until, w.walk_constants,
                                                  w.log))

    def _conclude(self, t: float, clock: int) -> bool:
        """Apply the event of ``clock`` at time ``t``. Returns True when the start-up's walk is
        over."""
        if clock == MILESTONE:
            return self._milestone(t)
        if clock == FAIL:
            self.exit(DIED, FAILURE, t)
        elif clock == BROKE:
            self.exit(DIED, CASH_CAUSE, t)
        elif clock == ACQUISITION:
            self.exit(ACQUIRED, NO_CAUSE, t)
        else:
            self._graduate()
            return False
        return True

    def _run_until(self, t: float, limit: float) -> tuple[float, int]:
        """Walk privately from time ``t`` until the first event others must see, or ``limit``
        (:func:`kernels.run_until`). Returns (time, clock) with the state advanced to that time and
        the event not yet applied; clock is ``LIMIT`` when ``limit`` came first."""
        w = self.world
        until = -INF if self.centre is None else self.centre.partner_until
        t, clock, _stage = w.kernels.run_until(w.state, self.index, t, limit, until,
                                             w.walk_constants, w.log)
        return t, clock

    # ------------------------------------------------------------------------------------------
    def _milestone(self, t: float) -> bool:
        """Finish the current stage at time ``t``: its venture round, its loan, then the next stage
        (:func:`kernels.milestone`); past the valley it crosses, at traction its partner decides.
        Returns True when the walk is over (crossed, or acquired by the partner)."""
        w = self.world
        stage = w.kernels.milestone(w.state, self.index, t, w.walk_constants, w.log)
        if stage == CROSSED:
            self._cross(t)
            return True
        if stage == TRACTION and self.centre is not None:
            partner = self.centre.partner_at(t)
            if partner is not None:
                return partner.consider(self)
        return False

    def _cross(self, now: float) -> None:
        w = self.world
        self.crossed_time = now
        row = w.state[self.index]
        hq, budget = float(row[HQ]), float(row[MATURE_BUDGET])
        if w.breaks is None:
            h = w.mature_hazard * hq
            t_death = now + budget / h if h > 0 else INF
        else:  # epoch by epoch (walk.walk: the same arithmetic)
            t_death = mature_death_one(now, budget, hq, int(row[EPOCH]), w.breaks,
                                       w.mature_hazards, w.region_terms[int(row[REGION])][3])
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
    def _graduate(self) -> None:
        tr = self.centre.training_at(self.world.env.now)
        row = self.world.state[self.index]
        row[RES_END] = INF
        row[HAZARD_MULT] = tr.hazard_multiplier_after
        row[SPEED_MULT] = tr.speed_multiplier_after
        self._release_seat()

    def _release_seat(self) -> None:
        self.centre.seats.release()
        self.has_seat = False
