"""A start-up walking through the death valley.

Per stage a start-up has four clocks: the milestone (work left / speed), non-cash failure (an
Exp(1) budget consumed by the failure hazard), the cash runway (cash / net burn) and, in
traction, a market acquisition. The earliest clock wins; successful bridge rounds and
milestones that concern nobody else are worked out inline, in compiled code on the start-up's row
of its world's state table (:mod:`private`, :mod:`kernels`).

A start-up's walk is private until someone from outside touches it, so the walks of all
start-ups nobody touches are computed in bulk (:mod:`walk`) and cost no SimPy event. When a
centre selects one (:meth:`Startup.select_all`), it becomes an object here: it replays its own walk
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
    BROKE,
    DIED,
    FAIL,
    FAILURE,
    LIMIT,
    MATURE,
    NO_CAUSE,
    RESIDENCY_END,
)
from .codes import CASH as CASH_CAUSE
from .private import (
    ACQ_USED,
    ASK,
    BOOST_HALF_LIFE,
    BRIDGES,
    BRIDGES_WON,
    CASH,
    CAUSE,
    CENTRE,
    CONGLOMERATE_KRW,
    CROSS,
    CROSSED_TIME,
    DEBT_KRW,
    EPOCH,
    EQUITY_KRW,
    FAIL_USED,
    FOUNDED,
    FUND_BOOST,
    FUND_MULT,
    GONE,
    GRANT_KRW,
    HAZARD_MULT,
    OUTCOME,
    OUTCOME_TIME,
    RES_END,
    REVENUE,
    SPEED_MULT,
    STAGE,
    SUBCONTRACT,
    SUPPORT_TIME,
    WAIT,
    WORK_LEFT,
    alone_terms,
)

INF = math.inf
_EXITS = {FAIL: (DIED, FAILURE), BROKE: (DIED, CASH_CAUSE), ACQUISITION: (ACQUIRED, NO_CAUSE)}
"""The outcome and cause of an exit, by the clock that rang."""


def _column(col: int, kind=float, doc: str = ""):
    """A property reading and writing column ``col`` of the start-up's state row."""

    def get(self):
        return kind(self.world.state[self.index, col])

    def put(self, value):
        self.world.state[self.index, col] = value

    return property(get, put, doc=doc)


class Startup:
    """A start-up a centre selected: its walk state and its record (centre, grant, partner's
    money, outcome) are row ``index`` of its world's state table (:mod:`private`, read and written
    through the properties below), so the records take every supported start-up in one gather;
    what the SimPy side holds (its seat, its centre, the moment it waits for) is plain
    attributes."""

    __slots__ = ("id", "world", "index", "sector", "conglomerate_u", "has_seat", "centre",
                 "pending")

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
    centre_index = _column(CENTRE, int, doc="Its centre's index in the world (-1: none yet).")
    support_time = _column(SUPPORT_TIME, doc="Month of its selection (NaN: not selected).")
    grant_krw = _column(GRANT_KRW, doc="The grant its centre paid it.")
    conglomerate_krw = _column(CONGLOMERATE_KRW, doc="What its partner paid (equity or a price).")
    subcontract = _column(SUBCONTRACT, bool, doc="Its partner took it on as a subcontractor.")
    outcome = _column(OUTCOME, int, doc="codes.ALIVE, DIED or ACQUIRED.")
    cause = _column(CAUSE, int, doc="The cause of a death (codes.NO_CAUSE ...).")
    outcome_time = _column(OUTCOME_TIME, doc="Month of its exit (NaN: none).")
    crossed_time = _column(CROSSED_TIME, doc="Month it crossed the valley (NaN: not crossed).")

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
            float(centre.index), residency_end, np.asarray(grants, float),
            centre.cfg.grants.funding_odds_multiplier, *centre.support, centre.partner_until,
            w.horizon, w.walk_constants, w.log, stops)
        seats, env = centre.seats, w.env
        for s, grant, (t, clock, _stage) in zip(startups, grants, stops.tolist(), strict=True):
            if grant > 0:
                pay(grant)
            s.centre = centre
            s.has_seat = seats.take()
            # a resident holds a seat, so its first stop is one others must see
            if clock != LIMIT:
                s.pending = (t, int(clock))
                env.call_after(t - now, s._wake)

    # ------------------------------------------------------------------------------------------
    def _wake(self, _event) -> None:
        """The moment it waited for: applied, and the walk on to the next one others must see, in
        compiled code (:func:`kernels.wake`); what that asks of the SimPy side is :meth:`_act`'s.
        A graduate's seat comes free first.

        Only moments that matter to someone else cost an event, a SimPy timeout whose callback
        applies it: the end of the residency and any exit or crossing while the start-up holds a
        seat (the seat comes free), and reaching traction while its partner may still decide (the
        partner's budget is shared). Once it holds no seat and its partner has nothing left to
        decide, the rest of its walk is private and is worked out at once; a start-up alive at the
        horizon costs nothing more. (A callback rather than a SimPy process: the same timeouts in
        the same order, without a process's start-up event and generator.)
        """
        t, clock = self.pending
        self.pending = None
        if clock == RESIDENCY_END:
            self._release_seat()
        w = self.world
        self._act(*w.kernels.wake(w.state, self.index, t, w.env.now, clock, self.has_seat,
                                  self.centre.walk_terms, w.walk_constants, w.log))

    def _act(self, action: int, t: float, clock: int, value: float) -> None:
        """Do what the compiled walk returned with (:data:`private.WAIT` ...): wait for the next
        moment, leave the valley, cross it, or let the partner decide at traction and walk on."""
        if action == WAIT:
            self.pending = (t, clock)
            self.world.env.call_after(value, self._wake)
        elif action == GONE:
            self.exit(*_EXITS[clock], t)
        elif action == CROSS:
            self._cross(t, value)
        elif action == ASK and not self.centre.partner_at(t).consider(self):
            w = self.world
            self._act(*w.kernels.walk_on(w.state, self.index, value, w.env.now, self.has_seat,
                                         self.centre.walk_terms, w.walk_constants, w.log))

    def walk_alone(self) -> None:
        """Walk privately from its founding to the horizon as if no centre ever touched it: the
        walk the bulk walk (:mod:`walk`) computes for the never-supported, here through the
        supported start-ups' compiled walk (the tests replay start-ups through it)."""
        w = self.world
        t = self.founded
        self._act(*w.kernels.walk_on(w.state, self.index, t, t, False, alone_terms(w.horizon),
                                     w.walk_constants, w.log))

    def _cross(self, now: float, t_death: float) -> None:
        """Crossed the valley at ``now``; dies a mature death at ``t_death`` (inf: never)."""
        self.crossed_time = now
        self._leave()
        if t_death <= self.world.horizon:
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
    def _release_seat(self) -> None:
        self.centre.seats.release()
        self.has_seat = False
