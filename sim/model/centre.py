"""A support centre: contests every few months, limited seats, noisy selection, grants.

A resident holds a seat until graduation or exit. Seats are counted, not queued: a contest
only admits into free seats, so nobody ever waits for one, and a SimPy ``Resource`` would only
add two events per resident. The grant budget is a SimPy ``Container`` refilled at each
anniversary of the opening (unspent money lapses). Selection ranks applicants on a noisy observation of quality: the jury's error
on log-quality is ``selection_noise`` times the start-up's fixed pitch noise, so the same
start-up pitches the same way to every jury (common random numbers), and ``selection_noise``
sets how much of the later supported-vs-other gap is selection rather than treatment.
"""

from __future__ import annotations

import math

import numpy as np
import simpy


def _in_force(schedule: list[tuple[float, int]], now: float, current: int) -> int:
    """The value of a yearly schedule ((month it starts, value), sorted) at ``now``; ``current`` before it."""
    for since, value in schedule:
        if now >= since:
            current = value
    return current


class Seats:
    """A centre's seats: how many there are and how many residents hold one."""

    __slots__ = ("capacity", "count")

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.count = 0

    def take(self) -> bool:
        if self.count >= self.capacity:
            raise RuntimeError("no free seat")  # contests admit only into free seats
        self.count += 1
        return True

    def release(self) -> None:
        self.count -= 1


class Centre:
    def __init__(self, world, name: str, cfg, partner):
        env = world.env
        cal = world.scenario.calendar
        self.world = world
        self.name = name
        self.cfg = cfg
        self.index = len(world.centres)
        self.partner = partner
        self.training = cfg.training
        self.opens = cal.month(cfg.opens)
        self.closes = cal.month(cfg.closes) if cfg.closes else math.inf
        self.seats = Seats(cfg.seats)
        annual = cfg.grants.annual_budget_krw
        self.budget = simpy.Container(env, capacity=annual, init=0) if annual > 0 else None
        regions = world.region_index
        catchment = cfg.catchment or [cfg.region]
        names = list(regions) if "*" in catchment else catchment
        self.catchment = [regions[r] for r in dict.fromkeys(names)]
        sectors = world.sector_index
        self.focus = frozenset(sectors[s] for s in cfg.sector_focus)
        self.in_focus = np.array([s in self.focus for s in range(len(sectors))], dtype=bool)
        # the yearly capacity schedules, as (month it starts, seats or intake size), applied at each contest
        self._seats_from = sorted((cal.month(f"{y:04d}-01"), n) for y, n in (cfg.seats_by_year or {}).items())
        self._intake_from = sorted((cal.month(f"{y:04d}-01"), n) for y, n in (cfg.intake_size_by_year or {}).items())
        self.intake_size = cfg.intake_size
        self.rounds = 0
        self.applicants = 0
        self.selected = 0
        self.grants_paid = 0.0
        # The budget process starts first so that, at the opening and at each anniversary, the
        # refill happens before the contest held at the same moment.
        if self.budget is not None:
            env.process(self._budget_years())
        env.process(self._contests())

    def operating_cost(self, horizon: float) -> float:
        """Operating cost over the months the centre is open before the horizon."""
        months = max(0.0, min(self.closes, horizon) - self.opens)
        return self.cfg.operating_cost_krw_per_year * months / 12.0

    def _budget_years(self):
        env = self.world.env
        yield env.timeout(self.opens)
        annual = self.cfg.grants.annual_budget_krw
        while env.now < self.closes:
            # Not yielded: both succeed at once, so no contest at this moment sees an empty budget.
            if self.budget.level > 0:
                self.budget.get(self.budget.level)
            self.budget.put(annual)
            yield env.timeout(12.0)

    def _contests(self):
        env = self.world.env
        yield env.timeout(self.opens + self.cfg.first_intake_after_months)
        every = self.cfg.intake_every_months
        while env.now < self.closes:
            self.contest()
            yield env.timeout(every)

    def contest(self) -> None:
        """One intake round: rank the applicants, fill the free seats, pay grants."""
        cfg = self.cfg
        now = self.world.env.now
        self.rounds += 1
        self.seats.capacity = _in_force(self._seats_from, now, self.seats.capacity)
        self.intake_size = _in_force(self._intake_from, now, self.intake_size)
        k = min(self.intake_size, self.seats.capacity - self.seats.count)
        if k <= 0:
            return
        pop = self.world.population
        sids = pop.applicants(self.catchment, now - cfg.max_applicant_age_months,
                              now - cfg.min_applicant_age_months, now, cfg.apply_probability)
        self.applicants += len(sids)
        if not len(sids):
            return
        # rank on a noisy view of quality; ties keep founding order
        score = pop.log_quality[sids] + cfg.selection_noise * pop.pitch_z[sids]
        if self.focus:
            score = score + np.where(self.in_focus[pop.sector[sids]], cfg.focus_bonus, 0.0)
        chosen = sids[np.argsort(-score, kind="stable")[:k]]
        per, per_round = cfg.grants.per_startup_krw, cfg.grants.per_round
        end = now + cfg.residency_months
        for rank, s in enumerate(self.world.admit(chosen)):
            grant = 0.0
            if rank < per_round and per > 0 and self.budget is not None and self.budget.level >= per:
                self.budget.get(per)
                grant = per
                self.grants_paid += per
            s.select(self, end, grant)
        self.selected += len(chosen)
