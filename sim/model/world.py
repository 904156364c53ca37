"""One replication of one scenario: build the world, run it to the horizon, return records.

``simulate(scenario, seed, replication)`` is the model's whole public surface: it takes a
validated scenario and returns :class:`Records`, one row per start-up plus the programme's
book-keeping. Nothing outside :mod:`sim.model` needs to know about SimPy.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import simpy

from ..scenario.schema import STAGES, Scenario
from .centre import Centre
from .conglomerate import Conglomerate
from .region import draw_cohort
from .startup import ALIVE, Startup


@dataclass
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

    def __len__(self) -> int:
        return len(self.startups["founded"])


class World:
    """The simulated economy of one replication."""

    def __init__(self, scenario: Scenario, seed: int, replication: int, salt: int = 0):
        self.scenario = scenario
        self.seed = seed
        self.replication = replication
        self.salt = salt
        self.env = simpy.Environment()
        cal = scenario.calendar
        self.horizon = cal.horizon_months
        self.region_names = list(scenario.regions)
        self.region_index = {r: i for i, r in enumerate(self.region_names)}
        self.sector_names = list(scenario.sectors)
        self.sector_index = {s: i for i, s in enumerate(self.sector_names)}
        sp, fu = scenario.startups, scenario.funding
        self.fail_hazard = [sp.stages[s].failure_hazard_per_month for s in STAGES]
        self.stage_jobs = [sp.stages[s].jobs_multiplier for s in STAGES]
        self.crossed_jobs = sp.crossed_jobs_multiplier
        self.mature_hazard = sp.mature_hazard_per_month
        self.round_prob = [fu.rounds[s].probability for s in STAGES]
        self.round_size = [fu.rounds[s].size_median_krw for s in STAGES]
        self.round_sigma = [fu.rounds[s].size_sigma for s in STAGES]
        self.bridge_mult = fu.bridge_probability_multiplier
        self.max_bridges = fu.max_bridges
        self.max_funding_probability = fu.max_probability
        self.pools: list[dict[int, Startup]] = [{} for _ in self.region_names]
        self.startups: list[Startup] = []
        self.conglomerates = {n: Conglomerate(self, n, c) for n, c in scenario.conglomerates.items()}
        self.centres: list[Centre] = []
        for name, cfg in scenario.active_centres.items():
            partner = self.conglomerates.get(cfg.partner) if cfg.partner else None
            self.centres.append(Centre(self, name, cfg, partner))
        # Applicant pools hold only start-ups that could ever apply to an open centre.
        active = [c.cfg for c in self.centres]
        self.pool_apply = max((c.apply_probability for c in active), default=0.0)
        self.pool_max_age = max((c.max_applicant_age_months for c in active), default=0.0)
        self.cohorts = [draw_cohort(scenario, r, seed, replication, salt) for r in self.region_names]
        self.env.process(self._arrivals())

    # ------------------------------------------------------------------------------------------
    def _arrivals(self):
        """Found every start-up at its time, in time order across regions."""
        sc, sp = self.scenario, self.scenario.startups
        beta, alpha, gamma = sp.quality_hazard_exponent, sp.quality_speed_exponent, self.scenario.funding.quality_exponent
        times, order, rows = [], [], []
        for r, c in enumerate(self.cohorts):
            n = len(c)
            reg = sc.regions[self.region_names[r]]
            q = c.quality
            cols = dict(
                founded=c.founded, quality=q, sector=c.sector, cash=c.cash, burn=c.burn, team=c.team,
                apply_u=c.apply_u, pitch_z=c.pitch_z, fail_budget=c.budgets[:, 0], acq_budget=c.budgets[:, 1],
                mature_budget=c.budgets[:, 2], hq=reg.hazard_multiplier * q ** -beta, speed_q=q ** alpha,
                fund_q=reg.funding_access * q ** gamma, acq_rate=sp.acquisition_hazard_per_month * q ** beta,
                conglomerate_u=c.conglomerate_u, work0=c.work[:, 0])
            rows.append(np.column_stack([cols[k] for k in Startup.ATTRIBUTES]).tolist() if n else [])
            times.append(c.founded)
            order.append(np.stack([np.full(n, r), np.arange(n)], axis=1))
        if not times:
            return
        all_times = np.concatenate(times)
        idx = np.concatenate(order)
        sort = np.argsort(all_times, kind="stable")
        env = self.env
        timeout = env.timeout
        pools = self.pools
        pool_apply = self.pool_apply
        startups = self.startups
        cohorts = self.cohorts
        for sid, (r, i) in enumerate(idx[sort].tolist()):
            s = Startup(self, sid, r, i, cohorts[r], rows[r][i])
            t = s.founded
            if t > env.now:
                yield timeout(t - env.now)
            s.found()
            startups.append(s)
            if s.apply_u < pool_apply:
                pools[r][sid] = s

    def run(self) -> Records:
        self.env.run(until=self.horizon)
        return self._records()

    # ------------------------------------------------------------------------------------------
    def _records(self) -> Records:
        ss = self.startups
        n = len(ss)
        horizon = self.horizon

        fields = ("region", "serial", "sector", "founded", "quality", "team", "centre_index", "support_time",
                  "grant_krw", "private_krw", "conglomerate_krw", "subcontract", "stage", "crossed_time",
                  "outcome", "cause", "outcome_time")
        get = operator.attrgetter(*fields)
        table = np.array([get(s) for s in ss], dtype=float).reshape(n, len(fields))
        col = {f: table[:, i] for i, f in enumerate(fields)}
        outcome = col["outcome"].astype(np.int8)
        outcome_time = col["outcome_time"].copy()
        outcome_time[outcome == ALIVE] = horizon
        stage = col["stage"].astype(np.int8)
        start_year = int(self.scenario.calendar.start[:4])
        start_month = int(self.scenario.calendar.start[5:7])
        founded = col["founded"]
        centre = col["centre_index"].astype(np.int16)
        job_mult = np.array([*self.stage_jobs, self.crossed_jobs])
        startups = {
            "region": col["region"].astype(np.int16),
            "serial": col["serial"].astype(np.int64),
            "sector": col["sector"].astype(np.int16),
            "founded": founded,
            "cohort_year": (start_year + (start_month - 1 + np.floor(founded)) // 12).astype(np.int16),
            "quality": col["quality"],
            "team": col["team"],
            "supported": centre >= 0,
            "centre": centre,
            "support_time": col["support_time"],
            "grant_krw": col["grant_krw"],
            "private_krw": col["private_krw"],
            "conglomerate_krw": col["conglomerate_krw"],
            "subcontract": col["subcontract"].astype(bool),
            "stage_reached": stage,
            "crossed": stage >= 3,
            "crossed_time": col["crossed_time"],
            "outcome": outcome,
            "cause": col["cause"].astype(np.int8),
            "outcome_time": outcome_time,
            "jobs": col["team"] * job_mult[stage],
        }
        operating = sum(c.operating_cost(horizon) for c in self.centres)
        education = sum(
            e.cost_krw_per_year * max(0.0, horizon - self.scenario.calendar.month(e.starts)) / 12.0
            for e in self.scenario.founder_education.values())
        costs = {"operating_krw": operating, "education_krw": education,
                 "grants_krw": float(sum(c.grants_paid for c in self.centres)),
                 "conglomerate_krw": float(sum(g.invested for g in self.conglomerates.values()))}
        centres = {c.name: {"rounds": c.rounds, "applicants": c.applicants, "selected": c.selected,
                            "grants_krw": c.grants_paid} for c in self.centres}
        return Records(
            scenario=self.scenario.name, replication=self.replication, horizon=horizon,
            region_names=self.region_names, sector_names=self.sector_names,
            centre_names=[c.name for c in self.centres], startups=startups, costs=costs, centres=centres,
            events=next(self.env._eid) if hasattr(self.env, "_eid") else 0)


def simulate(scenario: Scenario, seed: int, replication: int, *, crn: bool = True) -> Records:
    """Run replication ``replication`` of ``scenario`` from root ``seed``.

    With ``crn`` (the default) the random streams depend only on (seed, replication, region),
    so every scenario's replication ``r`` sees the same start-ups with the same luck.
    """
    salt = 0 if crn else _salt(scenario)
    return World(scenario, seed, replication, salt).run()


def _salt(scenario: Scenario) -> int:
    import zlib

    from ..scenario.loader import scenario_hash

    return 1 + zlib.crc32(scenario_hash(scenario).encode()) % (2**31)

