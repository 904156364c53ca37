"""One replication of one scenario: build the world, run it to the horizon, return records.

``simulate(scenario, seed, replication)`` is the model's whole public surface: it takes a
validated scenario and returns :class:`Records`, one row per start-up plus the programme's
book-keeping. Nothing outside :mod:`sim.model` needs to know about SimPy.
"""

from __future__ import annotations

import copy
import gc
import itertools
from dataclasses import dataclass, field
from heapq import heappop, heappush
from types import SimpleNamespace

import numpy as np
import simpy

from ..scenario.schema import STAGES, Scenario
from . import books, dated, market, population, private, reuse
from .centre import Centre
from .codes import ALIVE, CROSSED
from .conglomerate import Conglomerate
from .population import Population
from .region import draw_cohort, education_created
from .startup import Startup
from .streams import MAX_BRIDGE_DRAWS
from .walk import Paths


class _Wake:
    """What a supported start-up waits on: a SimPy timeout that only calls its one callback back
    (an event that succeeded, with no value), without an Event's set-up."""

    __slots__ = ("callbacks",)
    _ok = True
    _value = None

    def __init__(self, callback):
        self.callbacks = [callback]


class Environment(simpy.Environment):
    """SimPy's environment, counting the events it schedules (the model's cost, reported per
    task)."""

    def __init__(self):
        """An environment at time 0 that has scheduled no event yet."""
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=simpy.core.NORMAL, delay=0):
        """SimPy's ``schedule``, counted: every event the model puts on the queue passes here."""
        self.scheduled += 1
        super().schedule(event, priority, delay)

    def run(self, until=None):
        """SimPy's ``run``, to a number ``until`` with the steps in one loop: the same events in the
        same order, each handled as :meth:`simpy.Environment.step` does (a supported start-up's
        wake-up calls its one callback directly), and the ``until`` event put back on the queue
        done, as SimPy leaves it (a later ``run`` pops it as a no-op). Other ``until``: SimPy's."""
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = simpy.Event(self)
        stop._ok = True
        stop._value = None
        self.schedule(stop, simpy.core.URGENT, at - self._now)
        queue, wake = self._queue, _Wake
        while queue:
            self._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None
            if type(event) is wake:
                callbacks[0](event)
                continue
            if event is stop:
                event.callbacks = []
                self.schedule(event, simpy.core.EventPriority(-1))
                return None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {stop}')

    def call_after(self, delay: float, callback) -> None:
        """``callback(event)`` after ``delay``: exactly
        ``env.timeout(delay).callbacks.append(callback)`` (the same queue entry: time, priority,
        sequence number), at a fraction of its cost."""
        self.scheduled += 1
        heappush(self._queue, (self._now + delay, simpy.core.NORMAL, next(self._eid),
                               _Wake(callback)))


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
    raised: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    """Money supported start-ups attracted after their support (venture rounds, loans and partners'
    equity): one row (month, KRW, channel: codes.EQUITY, DEBT, PARTNER) per round, in the order they
    happened."""
    hired: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Jobs supported start-ups added after their support (one row (month, jobs) per milestone
    passed; jobs lost when a firm dies are not subtracted: these are hires, as the ministry counts
    them)."""
    rounds: dict[str, np.ndarray] = field(default_factory=dict)
    """Every round any start-up won: ``sid`` (row of ``startups``), ``month``, ``krw``, ``channel``
    (codes.EQUITY, DEBT) and ``bridge`` (a bridge loan when cash ran out); weight them by the row's
    weight."""
    spending: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    """Public spending, one row (month, KRW, item: books.ITEMS) per booking."""
    partner_paid: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    """Partners' payments (investments and acquisition prices): (month, KRW, of it public money)."""
    market: dict[str, np.ndarray] = field(default_factory=dict)
    """The venture market by (region, period of ``period_months``): ``supply`` (KRW available),
    ``m`` (the economy's odds multiplier), ``m_others`` (the never-supported's, after the supported
    firms' extra demand), ``extra`` (the supported firms' extra expected venture money), ``induced``
    (the part of it investors brought, 1 - coupling), ``paid`` (the venture money investors expect
    to hand out: at most supply + induced), ``fund_supply`` and ``fund_cost`` (public funds); empty
    when venture money is not limited."""
    alone: dict[str, np.ndarray] = field(default_factory=dict)
    """The start-ups whose path differs from their walk alone in this economy (the supported, and
    the never-supported the market moved): ``sid``, and that walk's ``outcome``, ``outcome_time``,
    ``equity_krw`` and ``debt_krw``."""
    economy: EconomyRows | None = None
    """Every start-up's columns had nobody been supported: the economy's own walks, one read-only
    object shared by every scenario of this economy in a worker. The columns of ``startups`` named
    in it differ from it only at ``alone["sid"]``, so statistics can be summed once per economy
    and corrected there."""

    apply_u: np.ndarray | None = None
    """Each start-up's application draw (a row of ``startups``; read-only, the economy's): it
    applies to a contest whose ``apply_probability`` is above it. Not a column of ``startups``: a
    probe that needs it reads it here (:func:`sim.analysis.effects.twins_eligible`)."""

    def __len__(self) -> int:
        """Start-ups (rows of ``startups``), not the economy's count (see their ``weight``)."""
        return len(self.startups["founded"])


class EconomyRows:
    """The columns of a replication's records that follow from the economy alone, for every
    start-up walking it unsupported (see :attr:`Records.economy`): ``region``, ``serial``,
    ``weight``, ``sector``, ``founded``, ``cohort_year``, ``stage_reached``, ``crossed``,
    ``outcome``, ``outcome_time``, ``equity_krw``, ``debt_krw``, ``private_krw``,
    ``bridge_rounds`` and ``jobs``, read-only."""

    def __init__(self, columns: dict[str, np.ndarray]):
        """Hold ``columns`` (made read-only)."""
        for v in columns.values():
            v.setflags(write=False)
        self.columns = columns

    def __getitem__(self, name: str) -> np.ndarray:
        """Column ``name``."""
        return self.columns[name]


def _walk_columns(pop: Population, horizon: float, job_mult: np.ndarray, start: str, *, stage,
                  crossed_time, equity, debt, bridges, outcome, cause, outcome_time,
                  economy: EconomyRows | None = None, changed: np.ndarray | None = None) -> dict:
    """The records' columns that follow from the population and the start-ups' paths (given as
    arrays the caller owns: ``outcome_time`` is filled in with the horizon where alive). With the
    ``economy``'s own columns, those that follow from the population alone are the economy's
    (shared, read-only) and the jobs are the economy's but at the ``changed`` rows."""
    outcome_time[outcome == ALIVE] = horizon
    if economy is None:
        start_year, start_month = int(start[:4]), int(start[5:7])
        own = {
            "region": pop.region.astype(np.int16),
            "serial": pop.serial.astype(np.int64),
            "weight": pop.weight,
            "sector": pop.sector.astype(np.int16),
            "founded": pop.founded,
            "cohort_year": (start_year + (start_month - 1 + np.floor(pop.founded))
                            // 12).astype(np.int16),
        }
        jobs = pop.team * job_mult[stage]
    else:
        own = {k: economy[k] for k in ("region", "serial", "weight", "sector", "founded",
                                       "cohort_year")}
        jobs = economy["jobs"].copy()
        jobs[changed] = pop.team[changed] * job_mult[stage[changed]]
    return {**own, "quality": pop.quality, "team": pop.team, "private_krw": equity + debt,
            "equity_krw": equity, "debt_krw": debt, "bridge_rounds": bridges.astype(np.int16),
            "stage_reached": stage, "crossed": stage >= CROSSED, "crossed_time": crossed_time,
            "outcome": outcome, "cause": cause, "outcome_time": outcome_time, "jobs": jobs}


class World:
    """The simulated economy of one replication."""

    def __init__(self, scenario: Scenario, seed: int, replication: int, salt: int = 0):
        """Build replication ``replication`` of ``scenario`` from root ``seed`` (``salt`` 0: common
        random numbers): the centres and partners on the SimPy clock, and each region's cohort and
        unsupported walk, reused from this worker's last tasks where they match."""
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
        self.max_bridges = fu.max_bridges
        self.max_funding_probability = fu.max_probability
        # round odds and access by (stage or region, market period), hazards by epoch (dated.py):
        # the walk reads the arrays, a supported start-up the lists
        self.periods = market.periods(cal)
        self.last_period = self.periods - 1
        terms = dated.walk_terms(scenario, self.periods, market.PERIOD_MONTHS)
        self.fail_hazard = [sp.stages[s].failure_hazard_per_month for s in STAGES]
        self.mature_hazard = sp.mature_hazard_per_month
        self.rules = SimpleNamespace(
            fail_hazard=np.array(self.fail_hazard), mature_hazard=self.mature_hazard,
            horizon=self.horizon, max_bridges=self.max_bridges,
            max_funding_probability=self.max_funding_probability,
            period_months=market.PERIOD_MONTHS, equity_prob=terms.equity_prob,
            debt_prob=terms.debt_prob, bridge_prob=terms.bridge_prob, access=terms.access,
            breaks=terms.breaks, fail_hazards=terms.fail_hazard, mature_hazards=terms.mature_hazard,
            hazard_ratio=terms.hazard_ratio)
        self.equity_prob = self.rules.equity_prob.tolist()
        self.debt_prob = self.rules.debt_prob.tolist()
        self.bridge_prob = self.rules.bridge_prob.tolist()
        # dated walk terms for a supported start-up: None where nothing is dated
        self.access = None if terms.access is None else terms.access.tolist()  # by region, period
        self.breaks = terms.breaks.tolist() if terms.dated_hazards else None
        self.fail_hazards = terms.fail_hazard.tolist()  # by epoch, stage
        self.mature_hazards = terms.mature_hazard.tolist()
        # by region
        self.hazard_ratio = None if terms.hazard_ratio is None else terms.hazard_ratio.T.tolist()
        # venture money by (region, period); None: not limited
        self.supply = market.supply(scenario)
        self.supported: list[Startup] = []
        # the supported start-ups' walk state, a row each in admission order (private.py), and the
        # log of what they seek, raise and hire after their support: read by records as the money
        # supported start-ups attract (raised), the rounds they win, the venture money they seek
        # and the jobs they add (rounds, sought, hired)
        self.state = np.empty((0, private.STATE_WIDTH))
        self._rows_used = 0
        self.log = private.new_log(0)
        # (month, KRW, of it public) partners pay
        self.partner_paid: list[tuple[float, float, float]] = []
        # jobs per founder in each stage, then once past the valley (a stage index of CROSSED)
        self.job_mult = [*(sp.stages[s].jobs_multiplier for s in STAGES),
                         sp.crossed_jobs_multiplier]
        self.conglomerates = {n: Conglomerate(self, n, c)
                              for n, c in scenario.conglomerates.items()}
        self.centres: list[Centre] = []
        for name, cfg in scenario.active_centres.items():
            self.centres.append(Centre(self, name, cfg, self.conglomerates))
        # each region's cohort and unsupported walk are shared by every scenario with the same
        # economy there (common random numbers): reused from this worker's last tasks when they
        # match (reuse.py)
        self.cohorts = [reuse.cached("cohorts",
                                     reuse.key("cohorts", scenario, seed, replication, salt, r),
                                     lambda r=r: draw_cohort(scenario, r, seed, replication, salt))
                        for r in self.region_names]
        rows = [None if self.supply is None else self.supply[i:i + 1]
                for i in range(len(self.region_names))]
        walk_keys = [reuse.key("walk", scenario, seed, replication, salt, r, rows[i])
                     for i, r in enumerate(self.region_names)]
        walks = [reuse.cached("walk", k,
                              lambda c=c, row=row, i=i: market.settle(Population(scenario, [c]),
                                                                      self._region_rules(i), row))
                 for i, (k, c, row) in enumerate(zip(walk_keys, self.cohorts, rows, strict=True))]
        people = reuse.economy_key(seed, replication, salt,
                                   [reuse.key("population", scenario, seed, replication, salt, r)
                                    for r in self.region_names])
        economy = reuse.cached("economy", reuse.economy_key(seed, replication, salt, walk_keys),
                               lambda: _economy(scenario, self.cohorts, walks, self.rules, people))
        self.economy = economy
        self.paths = economy.paths
        # by region, period: what a supported start-up's rounds face
        self.market_m = economy.m.tolist()
        # only start-ups that would apply to the keenest open centre are ever applicants
        self.population = economy.population.fresh(
            max((c.max_apply_probability for c in self.centres), default=0.0))
        # what a supported start-up's compiled walk reads of the world, in one vector, and the
        # kernels that walk it (numba is imported here, by a process that simulates)
        self.walk_constants = private.constants(self)
        from . import jury, kernels

        self.kernels = kernels
        self.jury = jury  # a contest's applicants and ranking (Centre.contest)

    def _region_rules(self, i: int) -> SimpleNamespace:
        """The rules for a walk of region ``i``'s start-ups alone (their region is 0 there): its
        rows of the dated access and hazard ratios."""
        r = self.rules
        if r.access is None and r.hazard_ratio is None:
            return r
        return SimpleNamespace(**{**vars(r),
                                  "access": None if r.access is None else r.access[i:i + 1],
                                  "hazard_ratio": (None if r.hazard_ratio is None
                                                   else r.hazard_ratio[:, i:i + 1])})

    def admit(self, sids) -> list[Startup]:
        """Start-ups ``sids`` were selected: take them out of the applicant pools and make them
        objects."""
        self.population.taken[sids] = True
        out = self.startups(sids)
        self.supported.extend(out)
        return out

    def startups(self, sids: np.ndarray) -> list[Startup]:
        """:class:`Startup` objects for ``sids`` at their founding, each with its row of the state
        table (appended after the rows in use, the table and the log grown as needed); not taken
        from the applicant pools (:meth:`admit` does that)."""
        pop, k = self.population, len(sids)
        lo = self._rows_used
        hi = lo + k
        if hi > len(self.state):  # grown by doubling; only rows in use are copied
            grown = np.empty((max(2 * len(self.state), hi, 256), private.STATE_WIDTH))
            grown[:lo] = self.state[:lo]
            self.state = grown
        need = hi * (private.ROWS_PER_STARTUP + self.max_bridges)
        if need >= len(self.log):  # every row a supported start-up may log has room
            grown = private.new_log(max(2 * len(self.log), need + 1))
            used = int(self.log[0, 0])
            grown[:used] = self.log[:used]
            self.log = grown
        self._rows_used = hi
        block = pop.block(sids)
        state = self.state[lo:hi]
        state[:, :population.ROW.width] = block
        state[:, private.BRIDGE_AMOUNT:private.BRIDGE_AMOUNT + 3 * MAX_BRIDGE_DRAWS] = (
            pop.bridge_amounts(sids))
        founded, region = block[:, private.FOUNDED], block[:, private.REGION]
        state[:, private.FRESH] = private.FRESH_ROW  # the walk's state at founding, then its own:
        state[:, private.WORK_LEFT] = block[:, private.WORK]
        # the epoch of its founding
        state[:, private.EPOCH] = (0 if self.breaks is None else
                                   np.searchsorted(self.breaks, founded, side="right") - 1)
        state[:, private.SID] = sids
        state[:, private.CELL0] = region * self.periods  # its region's first market cell
        return list(map(Startup, itertools.repeat(self), sids.tolist(), range(lo, hi),
                        block[:, private.SECTOR].astype(np.int64).tolist(),
                        block[:, population.ROW.conglomerate_u].tolist()))

    def raise_partner(self, t: float, amount: float) -> None:
        """A partner puts ``amount`` of equity into a supported firm at ``t`` (money it raised)."""
        private.log_partner(self.log, t, amount)

    @property
    def ledgers(self) -> dict[str, np.ndarray]:
        """What supported start-ups sought, raised, won and hired after their support so far
        (:func:`private.entries`)."""
        return private.entries(self.log)

    def run(self) -> Records:
        """Run the SimPy clock to the horizon and return the replication's :class:`Records`."""
        self.env.run(until=self.horizon)
        return self._records()

    def close(self) -> None:
        """Release the run's objects; the world cannot run afterwards.

        The supported start-ups refer to the world and the world to them (its list, the wake-ups on
        the SimPy queue): dropping the world's side frees them at once by reference counting
        instead of leaving them to the cyclic garbage collector.
        """
        self.supported = []
        self.env._queue.clear()

    # ------------------------------------------------------------------------------------------
    def _records(self) -> Records:
        pop, n, horizon = self.population, len(self.population), self.horizon
        # the supported start-ups' rows of the state table, in admission order (a run makes rows
        # for the start-ups it admits only)
        assert self._rows_used == len(self.supported)
        t = self.state[:self._rows_used, _RECORD]
        order = np.argsort(t[:, 0], kind="stable")
        sup, since = t[order, 0].astype(np.int64), t[order, 2]
        moved = self._displace(sup, since)
        paths = self.paths if moved is None else moved.paths
        # the rows whose path is not the economy's: the supported and the never-supported the
        # market moved (two sorted sets that never share a start-up)
        changed = sup if moved is None else np.sort(np.concatenate([sup, moved.moved]))
        economy = self.economy.rows(self)
        centre = np.full(n, -1, dtype=np.int16)
        support_time = np.full(n, np.nan)
        grant, conglomerate, subcontract = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        stage, crossed_time = paths.stage.copy(), paths.crossed_time.copy()
        equity, debt, bridges = paths.equity_krw.copy(), paths.debt_krw.copy(), paths.bridges.copy()
        outcome, cause, outcome_time = (paths.outcome.copy(), paths.cause.copy(),
                                        paths.outcome_time.copy())
        if self.supported:
            sid = t[:, 0].astype(np.int64)
            for j, target in enumerate((centre, support_time, grant, equity, debt, bridges,
                                        conglomerate, subcontract, stage, crossed_time, outcome,
                                        cause, outcome_time), start=1):
                target[sid] = t[:, j]
        cols = _walk_columns(pop, horizon, np.array(self.job_mult), self.scenario.calendar.start,
                             stage=stage, crossed_time=crossed_time, equity=equity, debt=debt,
                             bridges=bridges, outcome=outcome, cause=cause,
                             outcome_time=outcome_time, economy=economy, changed=changed)
        startups = {
            **{k: cols[k] for k in ("region", "serial", "weight", "sector", "founded",
                                    "cohort_year", "quality", "team")},
            "supported": centre >= 0,
            "centre": centre,
            "support_time": support_time,
            "grant_krw": grant,
            **{k: cols[k] for k in ("private_krw", "equity_krw", "debt_krw", "bridge_rounds")},
            "conglomerate_krw": conglomerate,
            "subcontract": subcontract,
            **{k: cols[k] for k in ("stage_reached", "crossed", "crossed_time", "outcome",
                                    "cause", "outcome_time", "jobs")},
            "education_created": education_created(self.scenario, self.region_names, pop.region,
                                                   pop.founded),
        }
        spending = books.spending(self, t[:, 2], t[:, 1], t[:, 3])
        partner = _flat(self.partner_paid, len(self.partner_paid), 3)
        ledgers = self.ledgers
        costs = {**books.totals(spending), "conglomerate_krw": float(partner[:, 1].sum())}
        centres = {c.name: {"rounds": c.rounds, "applicants": c.applicants, "selected": c.selected,
                            "grants_krw": c.grants_paid} for c in self.centres}
        return Records(
            scenario=self.scenario.name, replication=self.replication, horizon=horizon,
            region_names=self.region_names, sector_names=self.sector_names,
            centre_names=[c.name for c in self.centres], startups=startups, costs=costs,
            centres=centres, events=self.env.scheduled,
            raised=ledgers["raised"], hired=ledgers["hired"],
            rounds=self._rounds(paths, sup, since, ledgers["rounds"]),
            spending=spending, partner_paid=partner, market=self._market_books(moved),
            alone=self._alone(changed), economy=economy, apply_u=pop.apply_u)

    def _displace(self, sup: np.ndarray, since: np.ndarray):
        """The never-supported start-ups' paths once the supported firms' extra venture money is
        cleared (market.displace); None when venture money is not limited."""
        if self.supply is None:
            return None
        seek = self.ledgers["sought"]
        sought = np.bincount(seek[:, 0].astype(np.int64), seek[:, 1], minlength=self.supply.size)
        return market.displace(self.population, self.rules, self.economy.market, self.supply, sup,
                               since, sought, self.scenario.market.coupling)

    def _rounds(self, paths: Paths, sup: np.ndarray, since: np.ndarray,
                own: np.ndarray) -> dict[str, np.ndarray]:
        """Every round won: the economy's walks' (a supported firm's up to its support: its replay
        is that walk), and the supported firms' own after their support (``own``: (sid, month,
        KRW, channel, bridge) rows)."""
        pos = np.searchsorted(sup, paths.round_sid)
        hit = pos < sup.size
        hit[hit] = sup[pos[hit]] == paths.round_sid[hit]
        keep = ~hit
        keep[hit] = paths.round_month[hit] <= since[pos[hit]]
        extra = {name: own[:, j].astype(dtype) for j, (name, dtype) in
                 enumerate((("sid", np.int64), ("month", float), ("krw", float),
                            ("channel", np.int8), ("bridge", bool)))}
        base = {"sid": paths.round_sid, "month": paths.round_month, "krw": paths.round_krw,
                "channel": paths.round_channel, "bridge": paths.round_bridge}
        return {k: np.concatenate([base[k][keep], extra[k]]) for k in base}

    def _market_books(self, moved) -> dict[str, np.ndarray]:
        if self.supply is None:
            return {}
        book = market.funds(self.scenario)
        # a fund's public cost per (region, period): its cost that period, split like the money it
        # invests there
        added = book.supply.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fund_cost = np.where(added > 0,
                                 book.supply * (book.cost / np.where(added > 0, added, 1.0)), 0.0)
        return {"supply": self.supply, "m": self.economy.m, "m_others": moved.m,
                "extra": moved.extra, "induced": moved.induced, "paid": moved.paid,
                "fund_supply": book.supply, "fund_cost": fund_cost,
                "period_months": np.array([market.PERIOD_MONTHS])}

    def _alone(self, sids: np.ndarray) -> dict[str, np.ndarray]:
        p = self.paths
        out_t = np.where(p.outcome[sids] == ALIVE, self.horizon, p.outcome_time[sids])
        return {"sid": sids, "outcome": p.outcome[sids], "outcome_time": out_t,
                "equity_krw": p.equity_krw[sids], "debt_krw": p.debt_krw[sids]}


_RECORD = [private.SID, private.CENTRE, private.SUPPORT_TIME, private.GRANT_KRW,
           private.EQUITY_KRW, private.DEBT_KRW, private.BRIDGES_WON, private.CONGLOMERATE_KRW,
           private.SUBCONTRACT, private.STAGE, private.CROSSED_TIME, private.OUTCOME,
           private.CAUSE, private.OUTCOME_TIME]
"""The columns of a supported start-up's state row the records read, in the order they fill them
(sid first)."""


def _flat(rows, n: int, width: int) -> np.ndarray:
    """``n`` tuples of ``width`` numbers as an (n, width) float array (a third of np.array's
    time)."""
    return np.fromiter(itertools.chain.from_iterable(rows), float,
                       count=n * width).reshape(n, width)


@dataclass
class _Economy:
    """A replication's whole population and its unsupported walks at the market's fixed point, laid
    end to end across regions (market.Settled: the paths, the multipliers by region and period, the
    venture money sought at them)."""

    population: Population
    market: market.Settled
    _rows: EconomyRows | None = None

    @property
    def paths(self) -> Paths:
        return self.market.paths

    @property
    def m(self) -> np.ndarray:
        return self.market.m

    def rows(self, world: World) -> EconomyRows:
        """The records' columns of this economy's start-ups walking unsupported, made on the first
        call (``world``: any world of this economy, for its horizon, jobs and calendar) and the same
        object afterwards."""
        if self._rows is None:
            p = self.paths  # read-only: only the outcome times are written (the horizon)
            cols = _walk_columns(
                self.population, world.horizon, np.array(world.job_mult),
                world.scenario.calendar.start, stage=p.stage, crossed_time=p.crossed_time,
                equity=p.equity_krw, debt=p.debt_krw, bridges=p.bridges, outcome=p.outcome,
                cause=p.cause, outcome_time=p.outcome_time.copy())
            self._rows = EconomyRows({k: cols[k] for k in (
                "region", "serial", "weight", "sector", "founded", "cohort_year",
                "stage_reached", "crossed",
                "outcome", "outcome_time", "equity_krw", "debt_krw", "private_krw",
                "bridge_rounds", "jobs")})
        return self._rows


def _economy(scenario: Scenario, cohorts, walks: list[market.Settled], rules,
             people: tuple) -> _Economy:
    settled = market.joined(walks, [len(c) for c in cohorts], rules.max_funding_probability)
    # the start-ups and their rates, shared with an economy that differs in its venture money alone
    # (key ``people``); this economy's copy holds its own walks' exits
    population = copy.copy(reuse.cached("population", people,
                                        lambda: Population(scenario, cohorts, table=True)))
    population.leaves = settled.paths.leaves
    population.forget_pools()  # its applicant pools hold these exits
    economy = _Economy(population, settled)
    for part in (population, settled.paths, settled, economy):
        reuse.freeze(part)
    if settled.demand is not None:
        reuse.freeze(settled.demand)
    return economy


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

