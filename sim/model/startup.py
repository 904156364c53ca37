"""A start-up walking through the death valley.

Per stage a start-up has four clocks: the milestone (work left / speed), non-cash failure (an
Exp(1) budget consumed by the failure hazard), the cash runway (cash / net burn) and, in
traction, a market acquisition. The earliest clock wins; successful bridge rounds and
milestones that concern nobody else are worked out inline (:meth:`Startup._run_until`).

A start-up's walk is private until someone from outside touches it. At founding
(:meth:`Startup.found`) the walk is computed to its end, which costs no SimPy event, and the
start-up waits in its region's applicant pool until it leaves the valley. When a centre selects
it (:meth:`Startup.select`), its state is rolled back and replayed to that moment (the same
random budgets give the same history), and it becomes a SimPy process: it holds a seat, its
clocks change with training, its residency ends, its partner decides at traction, all at their
own times and in contention with everyone else. A supported start-up whose next event lies
beyond the horizon parks on an event that never fires.

Cost: one SimPy event per start-up (its founding); a supported start-up a few more.
"""

from __future__ import annotations

import math

INF = math.inf

# outcome codes
ALIVE, DIED, ACQUIRED = 0, 1, 2
OUTCOMES = ("alive", "died", "acquired")
# causes of death
NO_CAUSE, CASH, FAILURE, MATURE = 0, 1, 2, 3
CAUSES = ("", "cash", "failure", "mature")
CROSSED = 3  # stage index once the valley is crossed
# the clocks a start-up waits on
MILESTONE, FAIL, BROKE, ACQUISITION, RESIDENCY_END = 0, 1, 2, 3, 4


class Startup:
    """State of one start-up. Attributes are plain floats for a lean hot loop."""

    __slots__ = (
        "id", "serial", "world", "cohort", "region", "sector", "founded", "quality", "cash0", "cash", "burn",
        "revenue", "team", "apply_u", "pitch_z", "fail_budget", "acq_budget", "mature_budget", "conglomerate_u",
        "hq", "speed_q", "fund_q", "acq_rate", "stage", "work_left", "fail_used", "acq_used", "bridges",
        "hazard_mult", "speed_mult", "fund_mult", "res_end", "seat", "centre", "centre_index", "support_time",
        "grant_krw", "private_krw", "conglomerate_krw", "subcontract",
        "outcome", "cause", "outcome_time", "crossed_time", "leaves", "process",
    )

    ATTRIBUTES = ("founded", "quality", "sector", "cash", "burn", "team", "apply_u", "pitch_z", "fail_budget",
                  "acq_budget", "mature_budget", "hq", "speed_q", "fund_q", "acq_rate", "conglomerate_u", "work0")
    """The order of the values handed to ``__init__`` (one row per start-up, built in bulk)."""

    def __init__(self, world, sid: int, region: int, serial: int, cohort, values):
        self.id = sid
        self.world = world
        self.region = region
        self.serial = serial
        self.cohort = cohort  # the region's drawn columns: milestone work, round and bridge draws
        (self.founded, self.quality, sector, self.cash0, self.burn, self.team, self.apply_u, self.pitch_z,
         self.fail_budget, self.acq_budget, self.mature_budget, self.hq, self.speed_q, self.fund_q,
         self.acq_rate, self.conglomerate_u, self.work_left) = values
        self.sector = int(sector)
        self.cash = self.cash0
        self.revenue = 0.0
        self.stage = 0
        self.fail_used = 0.0
        self.acq_used = 0.0
        self.bridges = 0
        self.hazard_mult = 1.0
        self.speed_mult = 1.0
        self.fund_mult = 1.0
        self.res_end = INF
        self.seat = None
        self.centre = None
        self.centre_index = -1
        self.support_time = math.nan
        self.grant_krw = 0.0
        self.private_krw = 0.0
        self.conglomerate_krw = 0.0
        self.subcontract = False
        self.outcome = ALIVE
        self.cause = NO_CAUSE
        self.outcome_time = math.nan
        self.crossed_time = math.nan
        self.leaves = INF
        self.process = None

    # -- the private walk ---------------------------------------------------------------------
    def found(self) -> None:
        """At founding: walk to the end (or the horizon) and book the ending tentatively.

        ``leaves`` is when the start-up leaves the applicant pool (exit or crossing); until a
        centre selects it, nothing else can change its path.
        """
        t, clock = self._run_until(self.founded, self.world.horizon)
        if clock >= 0:
            self.leaves = t
            self._conclude(t, clock)

    def select(self, centre, residency_end: float, grant: float, seat) -> None:
        """Selected by ``centre`` now: undo the tentative ending, replay to now, become a process."""
        env = self.world.env
        self.cash = self.cash0
        self.stage = 0
        self.work_left = self.cohort.work[self.serial, 0]
        self.fail_used = self.acq_used = self.private_krw = 0.0
        self.bridges = 0
        self.outcome, self.cause = ALIVE, NO_CAUSE
        self.outcome_time = self.crossed_time = math.nan
        self._run_until(self.founded, env.now)
        self._supported(centre, residency_end, grant, seat)
        self.process = env.process(self.life())

    # ------------------------------------------------------------------------------------------
    def life(self):
        """The SimPy process of a supported start-up, from its selection to its exit or the horizon.

        Between two moments that matter to anyone else (an exit, a crossing, a conglomerate's
        decision, a residency's end) the walk stays private and costs no event.
        """
        env = self.world.env
        horizon = self.world.horizon
        while True:
            t0 = env.now
            t, clock = self._run_until(t0, horizon)
            if clock < 0:
                yield env.event()  # park until the horizon: survivors cost no event
                return
            yield env.timeout(t - t0)
            if self._conclude(t, clock):
                return

    def _conclude(self, t: float, clock: int) -> bool:
        """Apply the event of ``clock`` at time ``t``. Returns True when the start-up's walk is over."""
        if clock == MILESTONE:
            return self._milestone(t)
        if clock == FAIL:
            self._exit(DIED, FAILURE, t)
        elif clock == BROKE:
            self._exit(DIED, CASH, t)
        elif clock == ACQUISITION:
            self._exit(ACQUIRED, NO_CAUSE, t)
        else:
            self._graduate()
            return False
        return True

    def _run_until(self, t: float, limit: float) -> tuple[float, int]:
        """Walk privately from time ``t`` until the first event others must see, or ``limit``.

        Returns (time, clock) with the state advanced to that time and the event not yet
        applied; clock is -1 when ``limit`` came first. Milestones that concern nobody else
        and successful bridge rounds are applied here without a SimPy event.
        """
        fail_hazard = self.world.fail_hazard
        partner = self.centre is not None and self.centre.partner is not None
        while True:
            stage = self.stage
            hz = fail_hazard[stage] * self.hq * self.hazard_mult
            speed = self.speed_q * self.speed_mult
            net = self.burn - self.revenue
            acq = self.acq_rate if stage == 2 else 0.0

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
            if t + dt > limit:
                dt, clock = limit - t, -1
            self.work_left -= dt * speed
            self.fail_used += dt * hz
            self.cash -= dt * net
            self.acq_used += dt * acq
            t += dt
            if clock == MILESTONE:
                self.work_left = 0.0
                if stage == 2 or (stage == 1 and partner):
                    return t, clock
                self._milestone(t)
            elif clock == BROKE:
                self.cash = 0.0
                if not self._bridge():
                    return t, clock
            else:
                return t, clock

    # ------------------------------------------------------------------------------------------
    def _milestone(self, t: float) -> bool:
        """Finish the current stage at time ``t``. Returns True when the walk is over (crossed)."""
        w = self.world
        stage = self.stage
        c, i = self.cohort, self.serial
        self._raise(w.round_prob[stage], w.round_size[stage], w.round_sigma[stage],
                    c.raise_u[i, stage], c.raise_z[i, stage])
        self.stage = stage = stage + 1
        if stage == CROSSED:
            self._cross(t)
            return True
        self.work_left = c.work[i, stage]
        if stage == 2 and self.centre is not None and self.centre.partner is not None:
            return self.centre.partner.consider(self)
        return False

    def _raise(self, prob: float, size: float, sigma: float, u: float, z: float) -> bool:
        p = prob * self.fund_q * self.fund_mult
        if p > self.world.max_funding_probability:
            p = self.world.max_funding_probability
        if u < p:
            amount = size * math.exp(sigma * z)
            self.cash += amount
            self.private_krw += amount
            return True
        return False

    def _bridge(self) -> bool:
        w = self.world
        b = self.bridges
        if b >= w.max_bridges:
            return False
        self.bridges = b + 1
        stage = self.stage
        return self._raise(w.round_prob[stage] * w.bridge_mult, w.round_size[stage], w.round_sigma[stage],
                           self.cohort.bridge_u[self.serial, b], self.cohort.bridge_z[self.serial, b])

    def _cross(self, now: float) -> None:
        w = self.world
        self.crossed_time = now
        h = w.mature_hazard * self.hq
        t_death = now + self.mature_budget / h if h > 0 else INF
        self._leave()
        if t_death <= w.horizon:
            self.outcome, self.cause, self.outcome_time = DIED, MATURE, t_death

    def _exit(self, outcome: int, cause: int, t: float) -> None:
        self.outcome = outcome
        self.cause = cause
        self.outcome_time = t
        self._leave()

    def _leave(self) -> None:
        """Give back a centre seat, if any (the applicant pool drops leavers lazily)."""
        if self.seat is not None:
            self._release_seat()

    # -- support --------------------------------------------------------------------------------
    def _supported(self, centre, residency_end: float, grant: float, seat) -> None:
        tr = centre.training
        self.centre = centre
        self.centre_index = centre.index
        self.support_time = self.world.env.now
        self.res_end = residency_end
        self.seat = seat
        self.hazard_mult = tr.hazard_multiplier_during
        self.speed_mult = tr.speed_multiplier_during
        self.fund_mult = tr.funding_odds_multiplier
        if grant > 0:
            self.cash += grant
            self.grant_krw += grant

    def _graduate(self) -> None:
        tr = self.centre.training
        self.res_end = INF
        self.hazard_mult = tr.hazard_multiplier_after
        self.speed_mult = tr.speed_multiplier_after
        self._release_seat()

    def _release_seat(self) -> None:
        self.centre.seats.release(self.seat)
        self.seat = None
