"""A start-up: one SimPy process walking through the death valley.

Per stage the start-up has four clocks: the milestone (work left / speed), non-cash failure
(an Exp(1) budget consumed by the failure hazard), the cash runway (cash / net burn) and, in
traction, a market acquisition. It waits for the earliest with a single timeout and acts on it.
Support from outside (selection by a centre, with its grant and training) interrupts the wait;
the start-up then books the time that passed and recomputes its clocks. A start-up whose next
event lies beyond the horizon parks on an event that never fires, so survivors cost no events.

Typical cost: 3-5 events per start-up (one per milestone reached, one at its exit).
"""

from __future__ import annotations

import math

import simpy

INF = math.inf

# outcome codes
ALIVE, DIED, ACQUIRED = 0, 1, 2
OUTCOMES = ("alive", "died", "acquired")
# causes of death
NO_CAUSE, CASH, FAILURE, MATURE = 0, 1, 2, 3
CAUSES = ("", "cash", "failure", "mature")
CROSSED = 3  # stage index once the valley is crossed


class Startup:
    """State of one start-up. Attributes are plain floats for a lean hot loop."""

    __slots__ = (
        "id", "serial", "world", "region", "sector", "founded", "quality", "cash", "burn", "revenue", "team",
        "apply_u", "pitch_z", "work", "fail_budget", "acq_budget", "mature_budget", "raise_u", "raise_z",
        "bridge_u", "bridge_z", "conglomerate_u", "hq", "speed_q", "fund_q", "acq_rate",
        "stage", "work_left", "fail_used", "acq_used", "bridges",
        "hazard_mult", "speed_mult", "fund_mult", "res_end", "seat", "centre", "support_time",
        "grant_krw", "private_krw", "conglomerate_krw", "subcontract",
        "outcome", "cause", "outcome_time", "crossed_time", "process",
    )

    def __init__(self, world, sid: int, region: int, sector: int, founded: float, quality: float,
                 cash: float, burn: float, team: float, apply_u: float, pitch_z: float, work, budgets,
                 raise_u, raise_z, bridge_u, bridge_z, conglomerate_u: float, hq: float, speed_q: float,
                 fund_q: float, acq_rate: float):
        self.id = sid
        self.world = world
        self.region = region
        self.sector = sector
        self.founded = founded
        self.quality = quality
        self.cash = cash
        self.burn = burn
        self.revenue = 0.0
        self.team = team
        self.apply_u = apply_u
        self.pitch_z = pitch_z
        self.work = work
        self.fail_budget, self.acq_budget, self.mature_budget = budgets
        self.raise_u = raise_u
        self.raise_z = raise_z
        self.bridge_u = bridge_u
        self.bridge_z = bridge_z
        self.conglomerate_u = conglomerate_u
        self.hq = hq
        self.speed_q = speed_q
        self.fund_q = fund_q
        self.acq_rate = acq_rate
        self.stage = 0
        self.work_left = work[0]
        self.fail_used = 0.0
        self.acq_used = 0.0
        self.bridges = 0
        self.hazard_mult = 1.0
        self.speed_mult = 1.0
        self.fund_mult = 1.0
        self.res_end = INF
        self.seat = None
        self.centre = None
        self.support_time = math.nan
        self.grant_krw = 0.0
        self.private_krw = 0.0
        self.conglomerate_krw = 0.0
        self.subcontract = False
        self.outcome = ALIVE
        self.cause = NO_CAUSE
        self.outcome_time = math.nan
        self.crossed_time = math.nan
        self.process = None

    # ------------------------------------------------------------------------------------------
    def life(self):
        """The SimPy process. Runs from founding to exit, or parks until the horizon."""
        w = self.world
        env = w.env
        horizon = w.horizon
        fail_hazard = w.fail_hazard
        while True:
            t0 = env.now
            stage = self.stage
            hz = fail_hazard[stage] * self.hq * self.hazard_mult
            speed = self.speed_q * self.speed_mult
            net = self.burn - self.revenue
            acq = self.acq_rate if stage == 2 else 0.0

            dt, clock = self.work_left / speed, 0
            if hz > 0.0:
                d = (self.fail_budget - self.fail_used) / hz
                if d < dt:
                    dt, clock = d, 1
            if net > 0.0:
                d = self.cash / net
                if d < dt:
                    dt, clock = d, 2
            if acq > 0.0:
                d = (self.acq_budget - self.acq_used) / acq
                if d < dt:
                    dt, clock = d, 3
            d = self.res_end - t0
            if d < dt:
                dt, clock = d, 4

            try:
                if t0 + dt > horizon:
                    yield env.event()  # park: only an interruption wakes a survivor up
                else:
                    yield env.timeout(dt)
            except simpy.Interrupt as interruption:
                self._advance(env.now - t0, hz, speed, net, acq)
                self._supported(*interruption.cause)
                continue

            self._advance(dt, hz, speed, net, acq)
            if clock == 0:
                self.work_left = 0.0
                if self._milestone():
                    return
            elif clock == 1:
                self._exit(DIED, FAILURE)
                return
            elif clock == 2:
                self.cash = 0.0
                if not self._bridge():
                    self._exit(DIED, CASH)
                    return
            elif clock == 3:
                self._exit(ACQUIRED, NO_CAUSE)
                return
            else:
                self._graduate()

    def _advance(self, dt: float, hz: float, speed: float, net: float, acq: float) -> None:
        self.work_left -= dt * speed
        self.fail_used += dt * hz
        self.cash -= dt * net
        self.acq_used += dt * acq

    # ------------------------------------------------------------------------------------------
    def _milestone(self) -> bool:
        """Finish the current stage. Returns True when the start-up's process is over."""
        w = self.world
        stage = self.stage
        self._raise(w.round_prob[stage], w.round_size[stage], w.round_sigma[stage],
                    self.raise_u[stage], self.raise_z[stage])
        self.stage = stage = stage + 1
        if stage == CROSSED:
            self._cross()
            return True
        self.work_left = self.work[stage]
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
                           self.bridge_u[b], self.bridge_z[b])

    def _cross(self) -> None:
        w = self.world
        now = w.env.now
        self.crossed_time = now
        h = w.mature_hazard * self.hq
        t_death = now + self.mature_budget / h if h > 0 else INF
        self._leave()
        if t_death <= w.horizon:
            self.outcome, self.cause, self.outcome_time = DIED, MATURE, t_death

    def _exit(self, outcome: int, cause: int) -> None:
        self.outcome = outcome
        self.cause = cause
        self.outcome_time = self.world.env.now
        self._leave()

    def _leave(self) -> None:
        """Leave the applicant pool and give back a centre seat, if any."""
        self.world.pools[self.region].pop(self.id, None)
        if self.seat is not None:
            self._release_seat()

    # -- support --------------------------------------------------------------------------------
    def _supported(self, centre, residency_end: float, grant: float, seat) -> None:
        tr = centre.training
        self.centre = centre
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

    # -- reporting ------------------------------------------------------------------------------
    def jobs(self) -> float:
        w = self.world
        mult = w.crossed_jobs if self.stage >= CROSSED else w.stage_jobs[self.stage]
        return self.team * mult
