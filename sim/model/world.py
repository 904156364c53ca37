"""One replication of one scenario: build the world, run it to the horizon, return records.

``simulate(scenario, seed, replication)`` is the model's whole public surface: it takes a
validated scenario and returns :class:`Records`, one row per start-up plus the programme's
book-keeping. Nothing outside :mod:`sim.model` needs to know about SimPy.
"""

from __future__ import annotations

import gc
import itertools
import operator
from dataclasses import dataclass, field

import numpy as np
import simpy

from ..scenario.schema import STAGES, Scenario
from ..scenario.timeline import per_year_total
from . import reuse
from .centre import Centre
from .codes import ALIVE, CROSSED
from .conglomerate import Conglomerate
from .population import Population
from .region import draw_cohort
from .startup import Startup
from .walk import Paths, walk


class Environment(simpy.Environment):
    """SimPy's environment, counting the events it schedules (the model's cost, reported per task)."""

    def __init__(self):
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=simpy.core.NORMAL, delay=0):
        self.scheduled += 1
        super().schedule(event, priority, delay)


@dataclass(frozen=True)
class Records:
    """What one replication produced. ``startups`` holds equal-length numpy columns."""

    scenario: str
    replication: int
    horizon: float
    region_names: list[str]
    sector_names: list[str]
    centre_names: list[str]
    startups: dict[str, np.ndarray]
    costs: dict[str, float]
    centres: dict[str, dict[str, float]] = field(default_factory=dict)
    events: int = 0
    raised: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Money supported start-ups attracted after their support (market rounds and partners' equity):
    one row (month, KRW) per round, in the order they happened."""
    hired: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Jobs supported start-ups added after their support (one row (month, jobs) per milestone passed;
    jobs lost when a firm dies are not subtracted: these are hires, as the ministry counts them)."""

    def __len__(self) -> int:
        return len(self.startups["founded"])


class World:
    """The simulated economy of one replication."""

    def __init__(self, scenario: Scenario, seed: int, replication: int, salt: int = 0):
        self.scenario = scenario
        self.seed = seed
        self.replication = replication
        self.salt = salt
        self.env = Environment()
        cal = scenario.calendar
        self.horizon = cal.horizon_months
        self.region_names = list(scenario.regions)
        self.region_index = {r: i for i, r in enumerate(self.region_names)}
        self.sector_names = list(scenario.sectors)
        self.sector_index = {s: i for i, s in enumerate(self.sector_names)}
        sp, fu = scenario.startups, scenario.funding
        self.fail_hazard = [sp.stages[s].failure_hazard_per_month for s in STAGES]
        self.mature_hazard = sp.mature_hazard_per_month
        self.round_prob = [fu.rounds[s].probability for s in STAGES]
        self.bridge_mult = fu.bridge_probability_multiplier
        self.max_bridges = fu.max_bridges
        self.max_funding_probability = fu.max_probability
        self.supported: list[Startup] = []
        self.raised: list[tuple[float, float]] = []  # (month, KRW) of money supported start-ups attract
        self.hired: list[tuple[float, float]] = []  # (month, jobs) supported start-ups add at their milestones
        # jobs per founder in each stage, then once past the valley (a stage index of CROSSED)
        self.job_mult = [*(sp.stages[s].jobs_multiplier for s in STAGES), sp.crossed_jobs_multiplier]
        self.conglomerates = {n: Conglomerate(self, n, c) for n, c in scenario.conglomerates.items()}
        self.centres: list[Centre] = []
        for name, cfg in scenario.active_centres.items():
            self.centres.append(Centre(self, name, cfg, self.conglomerates))
        # each region's cohort and unsupported walk are shared by every scenario with the same economy
        # there (common random numbers): reused from this worker's last tasks when they match (reuse.py)
        self.cohorts = [reuse.cached("cohorts", reuse.key("cohorts", scenario, seed, replication, salt, r),
                                     lambda r=r: draw_cohort(scenario, r, seed, replication, salt))
                        for r in self.region_names]
        walk_keys = [reuse.key("walk", scenario, seed, replication, salt, r) for r in self.region_names]
        walks = [reuse.cached("walk", k, lambda c=c: walk(Population(scenario, [c]), self))
                 for k, c in zip(walk_keys, self.cohorts, strict=True)]
        economy = reuse.cached("economy", reuse.economy_key(seed, replication, salt, walk_keys),
                               lambda: _economy(scenario, self.cohorts, walks))
        self.paths = economy.paths
        # only start-ups that would apply to the keenest open centre are ever applicants
        self.population = economy.population.fresh(max((c.max_apply_probability for c in self.centres), default=0.0))

    def admit(self, sids) -> list[Startup]:
        """Start-ups ``sids`` were selected: take them out of the applicant pools and make them objects."""
        pop = self.population
        pop.taken[sids] = True
        out = [Startup(self, sid, row, bridge) for sid, row, bridge in
               zip(sids.tolist(), pop.rows(sids), pop.bridge_amounts(sids), strict=True)]
        self.supported.extend(out)
        return out

    def run(self) -> Records:
        self.env.run(until=self.horizon)
        return self._records()

    def close(self) -> None:
        """Release the run's objects (see :meth:`Startup.detach`); the world cannot run afterwards."""
        for s in self.supported:
            s.detach()
        self.supported = []

    # ------------------------------------------------------------------------------------------
    def _records(self) -> Records:
        pop, paths = self.population, self.paths
        n = len(pop)
        horizon = self.horizon
        centre = np.full(n, -1, dtype=np.int16)
        support_time = np.full(n, np.nan)
        grant, conglomerate, subcontract = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        stage, private, crossed_time = paths.stage.copy(), paths.private_krw.copy(), paths.crossed_time.copy()
        outcome, cause, outcome_time = paths.outcome.copy(), paths.cause.copy(), paths.outcome_time.copy()
        if self.supported:
            fields = ("id", "centre_index", "support_time", "grant_krw", "private_krw", "conglomerate_krw",
                      "subcontract", "stage", "crossed_time", "outcome", "cause", "outcome_time")
            get = operator.attrgetter(*fields)
            t = _flat(map(get, self.supported), len(self.supported), len(fields))
            sid = t[:, 0].astype(np.int64)
            for target, j in ((centre, 1), (support_time, 2), (grant, 3), (private, 4), (conglomerate, 5),
                              (subcontract, 6), (stage, 7), (crossed_time, 8), (outcome, 9), (cause, 10),
                              (outcome_time, 11)):
                target[sid] = t[:, j]
        outcome_time[outcome == ALIVE] = horizon
        start_year = int(self.scenario.calendar.start[:4])
        start_month = int(self.scenario.calendar.start[5:7])
        founded = pop.founded
        job_mult = np.array(self.job_mult)
        startups = {
            "region": pop.region.astype(np.int16),
            "serial": pop.serial.astype(np.int64),
            "weight": pop.weight,
            "sector": pop.sector.astype(np.int16),
            "founded": founded,
            "cohort_year": (start_year + (start_month - 1 + np.floor(founded)) // 12).astype(np.int16),
            "quality": pop.quality,
            "team": pop.team,
            "supported": centre >= 0,
            "centre": centre,
            "support_time": support_time,
            "grant_krw": grant,
            "private_krw": private,
            "conglomerate_krw": conglomerate,
            "subcontract": subcontract,
            "stage_reached": stage,
            "crossed": stage >= CROSSED,
            "crossed_time": crossed_time,
            "outcome": outcome,
            "cause": cause,
            "outcome_time": outcome_time,
            "jobs": pop.team * job_mult[stage],
        }
        operating = sum(c.operating_cost(horizon) for c in self.centres)
        education = sum(per_year_total(self.scenario, f"founder_education.{n}.cost_krw_per_year",
                                       self.scenario.calendar.month(e.starts), horizon)
                        for n, e in self.scenario.founder_education.items())
        costs = {"operating_krw": operating, "education_krw": education,
                 "grants_krw": float(sum(c.grants_paid for c in self.centres)),
                 "conglomerate_krw": float(sum(g.invested for g in self.conglomerates.values()))}
        centres = {c.name: {"rounds": c.rounds, "applicants": c.applicants, "selected": c.selected,
                            "grants_krw": c.grants_paid} for c in self.centres}
        return Records(
            scenario=self.scenario.name, replication=self.replication, horizon=horizon,
            region_names=self.region_names, sector_names=self.sector_names,
            centre_names=[c.name for c in self.centres], startups=startups, costs=costs, centres=centres,
            events=self.env.scheduled, raised=_flat(self.raised, len(self.raised), 2),
            hired=_flat(self.hired, len(self.hired), 2))


def _flat(rows, n: int, width: int) -> np.ndarray:
    """``n`` tuples of ``width`` numbers as an (n, width) float array (a third of np.array's time)."""
    return np.fromiter(itertools.chain.from_iterable(rows), float, count=n * width).reshape(n, width)


@dataclass
class _Economy:
    """A replication's whole population and its unsupported walks, laid end to end across regions."""

    population: Population
    paths: Paths


def _economy(scenario: Scenario, cohorts, walks: list[Paths]) -> _Economy:
    paths = Paths.joined(walks)
    population = Population(scenario, cohorts)
    population.leaves = paths.leaves
    for part in (population, paths):
        reuse.freeze(part)
    return _Economy(population, paths)


def simulate(scenario: Scenario, seed: int, replication: int, *, crn: bool = True) -> Records:
    """Run replication ``replication`` of ``scenario`` from root ``seed``.

    With ``crn`` (the default) the random streams depend only on (seed, replication, region),
    so every scenario's replication ``r`` sees the same start-ups with the same luck.
    """
    salt = 0 if crn else _salt(scenario)
    # The cyclic garbage collector would walk every live object of the run again and again as
    # supported start-ups come and go; the run's cycles are cut at its end instead (World.close).
    enabled = gc.isenabled()
    gc.disable()
    world = None
    try:
        world = World(scenario, seed, replication, salt)
        return world.run()
    finally:
        if world is not None:
            world.close()
        if enabled:
            gc.enable()


def _salt(scenario: Scenario) -> int:
    import zlib

    from ..scenario.loader import scenario_hash

    return 1 + zlib.crc32(scenario_hash(scenario).encode()) % (2**31)

