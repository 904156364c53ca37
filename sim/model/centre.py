"""A support centre: contests every few months, limited seats, noisy selection, grants.

A resident holds a seat until graduation or exit. Seats are counted, not queued: a contest
only admits into free seats, so nobody ever waits for one, and a SimPy ``Resource`` would only
add two events per resident. The grant budget is a SimPy ``Container`` refilled at each
anniversary of the opening (unspent money lapses). Selection ranks applicants on a noisy observation
of quality: the jury's error on log-quality is ``selection_noise`` times the start-up's fixed pitch
noise, so the same start-up pitches the same way to every jury (common random numbers), and
``selection_noise`` sets how much of the later supported-vs-other gap is selection rather than
treatment.

A centre's configuration may change from a month on (the scenario's timeline): the centre reads
the configuration in force when it acts, at each contest (seats, intake, jury, catchment, grants,
the time to the next contest), at each budget refill, at the opening (the time to the first
contest), and, for its residents, at selection (training during the residency, the grant's
effect), at graduation (training after it) and at a partner's decision (the partner in force, its
sector focus). None of this costs a SimPy event.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import simpy

from .private import walk_terms
from .startup import Startup


class Seats:
    """A centre's seats: how many there are and how many residents hold one."""

    __slots__ = ("capacity", "count")

    def __init__(self, capacity: int):
        """``capacity`` seats, none held yet."""
        self.capacity = capacity
        self.count = 0

    def take(self) -> bool:
        """Hold a seat for a new resident (True); a full centre is an error, since contests admit
        only into free seats."""
        if self.count >= self.capacity:
            raise RuntimeError("no free seat")  # contests admit only into free seats
        self.count += 1
        return True

    def release(self) -> None:
        """A resident leaves (graduates or exits): its seat is free for the next contest."""
        self.count -= 1


class Terms:
    """What follows from one configuration of a centre: whom it recruits and which sectors it
    favours."""

    __slots__ = ("catchment", "focus", "in_focus", "regions")

    def __init__(self, world, cfg):
        """Resolve the configuration's catchment (``*``: every region; none given: its own region)
        and sector focus to the world's indices, once, not at every contest."""
        regions = world.region_index
        catchment = cfg.catchment or [cfg.region]
        names = list(regions) if "*" in catchment else catchment
        self.catchment = [regions[r] for r in dict.fromkeys(names)]
        self.regions = np.array(self.catchment, dtype=np.int64)  # what the compiled contest reads
        sectors = world.sector_index
        self.focus = frozenset(sectors[s] for s in cfg.sector_focus)
        self.in_focus = np.array([s in self.focus for s in range(len(sectors))], dtype=bool)


class Centre:
    """A support centre: its configurations over time, its seats and grant budget, its contests,
    and the counts of what it did (rounds, applicants, selected, grants paid)."""

    def __init__(self, world, name: str, cfg, conglomerates: dict):
        """Read the centre's configuration at every epoch of the timeline, with its partner from
        ``conglomerates``, and start its processes: the budget's refills, then the contests."""
        env = world.env
        cal = world.scenario.calendar
        self.world = world
        self.name = name
        self.index = len(world.centres)
        # the centre's configuration over time: a new entry only where the timeline changes it
        self._since: list[float] = []
        self._cfgs: list = []
        for month, sc in world.scenario.epochs():
            c = sc.centres[name]
            if not self._cfgs or c != self._cfgs[-1]:
                self._since.append(month)
                self._cfgs.append(c)
        self._terms = [Terms(world, c) for c in self._cfgs]
        self._partners = [conglomerates.get(c.partner) if c.partner else None for c in self._cfgs]
        ends = [*self._since[1:], math.inf]
        self.partner_until = max((end for end, p in zip(ends, self._partners, strict=True)
                                  if p is not None), default=-math.inf)
        """Until when a partner may decide for an alumnus (inf: to the end; -inf: never)."""
        self.walk_terms = walk_terms(self._since, [c.training for c in self._cfgs],
                                     self._partners, self.partner_until, world.horizon)
        """What a resident's compiled walk reads of the centre (:func:`private.walk_terms`)."""
        self.max_apply_probability = max(c.apply_probability for c in self._cfgs)
        self._use(0)
        self.opens = cal.month(cfg.opens)
        self.closes = cal.month(cfg.closes) if cfg.closes else math.inf
        self.seats = Seats(cfg.seats)
        annual = max(c.grants.annual_budget_krw for c in self._cfgs)
        self.budget = simpy.Container(env, capacity=annual, init=0) if annual > 0 else None
        self.rounds = 0
        self.applicants = 0
        self.selected = 0
        self.grants_paid = 0.0
        # The budget process starts first so that, at the opening and at each anniversary, the
        # refill happens before the contest held at the same moment.
        if self.budget is not None:
            env.process(self._budget_years())
        env.process(self._contests())

    # -- the configuration in force ---------------------------------------------------------------
    def _at(self, t: float) -> int:
        return 0 if len(self._cfgs) == 1 else bisect.bisect_right(self._since, t) - 1

    def _use(self, i: int) -> None:
        """Act under configuration ``i`` from now on (its values are what residents selected now
        get)."""
        self.cfg = cfg = self._cfgs[i]
        tr = cfg.training
        # what the residents selected now get: hazard and speed multipliers during the residency,
        # funding odds multiplier, and a network boost to them (1 + boost, fading with its
        # half-life from the selection: none when the half-life is not given)
        fading = tr.funding_odds_half_life_months is not None
        self.support = (tr.hazard_multiplier_during * tr.resolution_multiplier,
                        tr.speed_multiplier_during * tr.resolution_multiplier,
                        1.0 if fading else tr.funding_odds_multiplier,
                        tr.funding_odds_multiplier - 1.0 if fading else 0.0,
                        tr.funding_odds_half_life_months if fading else math.inf)
        terms = self._terms[i]
        self.catchment, self.focus, self.in_focus = terms.catchment, terms.focus, terms.in_focus
        self.regions = terms.regions

    def cfg_at(self, t: float):
        """The centre's configuration in force at month ``t``."""
        return self._cfgs[self._at(t)]

    def focus_at(self, t: float) -> frozenset:
        """The sectors the centre favours at month ``t`` (what its partner's appetite looks at)."""
        return self._terms[self._at(t)].focus

    def partner_at(self, t: float):
        """The partner (a :class:`conglomerate.Conglomerate`) in force at month ``t``, or None."""
        return self._partners[self._at(t)]

    def configurations(self) -> list[tuple[float, object]]:
        """(month it takes effect, configuration) of each configuration the centre has over the
        run."""
        return list(zip(self._since, self._cfgs, strict=True))

    # -- processes --------------------------------------------------------------------------------
    def _budget_years(self):
        env = self.world.env
        yield env.timeout(self.opens)
        while env.now < self.closes:
            # Not yielded: both succeed at once, so no contest at this moment sees an empty budget.
            if self.budget.level > 0:
                self.budget.get(self.budget.level)
            annual = self.cfg_at(env.now).grants.annual_budget_krw
            if annual > 0:
                self.budget.put(annual)
            yield env.timeout(12.0)

    def _contests(self):
        env = self.world.env
        yield env.timeout(self.opens + self.cfg_at(self.opens).first_intake_after_months)
        while env.now < self.closes:
            self.contest()
            yield env.timeout(self.cfg.intake_every_months)

    def contest(self) -> None:
        """One intake round: rank the applicants, fill the free seats, pay grants."""
        now = self.world.env.now
        self._use(self._at(now))
        cfg = self.cfg
        self.rounds += 1
        self.seats.capacity = cfg.seats
        k = min(cfg.intake_size, self.seats.capacity - self.seats.count)
        if k <= 0:
            return
        # who applies and whom the jury ranks first, in one compiled call (jury.py): ranked on a
        # noisy view of quality, ties in founding order
        pop = self.world.population
        n, chosen = self.world.jury.contest(
            *pop.pool, pop.skip, self.regions, now - cfg.max_applicant_age_months,
            now - cfg.min_applicant_age_months, now, cfg.apply_probability, pop.taken,
            pop.log_quality, pop.pitch_z, cfg.selection_noise, pop.sector, self.in_focus,
            bool(self.focus), cfg.focus_bonus, k)
        self.applicants += n
        if not n:
            return
        startups = self.world.admit(chosen)
        Startup.select_all(self, startups, now + cfg.residency_months,
                           self._grants(len(startups)), self._pay)
        self.selected += len(chosen)

    def _grants(self, k: int) -> list[float]:
        """The grants of a contest's ``k`` selected, in rank order: the first ``per_round`` get
        ``per_startup_krw`` each while the year's budget holds it."""
        g = self.cfg.grants
        per, grants = g.per_startup_krw, [0.0] * k
        if per > 0 and self.budget is not None:
            level = self.budget.level
            for rank in range(min(k, g.per_round)):
                if level < per:
                    break
                grants[rank] = per
                level -= per
        return grants

    def _pay(self, grant: float) -> None:
        """Pay one grant from the budget (a SimPy get that succeeds at once)."""
        self.budget.get(grant)
        self.grants_paid += grant


def applicant_bounds(scenarios) -> dict[str, dict[str, float]]:
    """Per region, the widest terms on which any centre of any of ``scenarios`` could ever take one
    of its start-ups: ``apply_below`` (a start-up whose application draw is at or above it never
    applies: the keenest configuration whose catchment holds the region), ``founded_from`` and
    ``founded_to`` (months: a start-up founded outside them is never inside a contest's age
    window). Regions no centre recruits from are absent: none of their start-ups is ever selected.

    What :meth:`Centre.contest` asks :meth:`~sim.model.population.Population.applicants` for, at
    its widest: every configuration the timeline gives a centre (:meth:`Scenario.epochs`), its
    contests from its opening plus the shortest first intake to its closing or the horizon. A bound,
    not the set: a start-up inside it may still never be selected (it left the valley before a
    contest, another ranked higher)."""
    out: dict[str, dict[str, float]] = {}
    seen = set()
    for scenario in scenarios:
        terms = _applicant_terms(scenario)
        if terms in seen:  # posterior draws mostly change what happens to the selected
            continue
        seen.add(terms)
        cal = scenario.calendar
        regions = list(scenario.regions)
        epochs = scenario.epochs()
        for name, cfg in scenario.active_centres.items():
            cfgs = [sc.centres[name] for _, sc in epochs]
            first = cal.month(cfg.opens) + min(c.first_intake_after_months for c in cfgs)
            last = min(cal.month(cfg.closes) if cfg.closes else math.inf, cal.horizon_months)
            for c in cfgs:
                catchment = c.catchment or [c.region]
                for r in (regions if "*" in catchment else dict.fromkeys(catchment)):
                    b = out.setdefault(r, {"apply_below": 0.0, "founded_from": math.inf,
                                           "founded_to": -math.inf})
                    b["apply_below"] = max(b["apply_below"], c.apply_probability)
                    b["founded_from"] = min(b["founded_from"], first - c.max_applicant_age_months)
                    b["founded_to"] = max(b["founded_to"], last - c.min_applicant_age_months)
    return out


_TERMS = ("region", "catchment", "opens", "closes", "first_intake_after_months",
          "apply_probability", "min_applicant_age_months", "max_applicant_age_months")
"""A centre's fields :func:`applicant_bounds` reads."""


def _applicant_terms(scenario) -> tuple:
    """What :func:`applicant_bounds` reads of ``scenario`` before its timeline is applied (the
    calendar, the timeline, the active centres' terms): scenarios equal here have equal bounds, so
    the timeline's epochs are built once for them."""
    import json

    return (scenario.calendar.start, scenario.calendar.horizon,
            json.dumps(scenario.timeline, sort_keys=True, default=str),
            tuple((n, *(json.dumps(getattr(c, f), default=str) for f in _TERMS))
                  for n, c in scenario.active_centres.items()))
