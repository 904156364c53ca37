"""All start-ups of one replication, as columns in founding order.

A start-up's identity in a replication is its position ``sid``: regions in the scenario's order,
each region's start-ups in founding order (its name across scenarios is (region, serial)).
Everything the model knows about a start-up before anyone touches it
lives here as numpy columns: its luck (drawn by :func:`region.draw_cohort`) and the rates that
follow from its quality and region. The unsupported walk (:mod:`walk`) runs on these columns
in bulk; only start-ups a centre selects become :class:`startup.Startup` objects, built from one
row of the population table (:meth:`Population.block`), copied into its world's state table.

Applicant pools are views, not containers: a contest (:func:`jury.contest`) takes the start-ups of
its catchment founded inside an age window, still in the valley, willing to apply and not yet
taken, which is a binary search and a scan per region of the run's pool (:meth:`Population.fresh`).
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np

from ..scenario.schema import STAGES, Scenario
from .dated import base_factor
from .region import Cohort
from .streams import MAX_BRIDGE_DRAWS

SCALARS = ("founded", "sector", "region", "cash", "burn", "team", "conglomerate_u", "fail_budget",
           "acq_budget", "mature_budget", "hq", "speed_q", "eq_q", "debt_q", "acq_rate")
"""One-number columns of the population table (attributes of :class:`Population`): what a selected
start-up needs, in the order a state row holds them (:mod:`private`, which checks its positions
against :data:`ROW`)."""
VECTORS = {"work": len(STAGES), "raise_u": len(STAGES), "raise_amount": len(STAGES),
           "debt_u": len(STAGES), "debt_amount": len(STAGES), "bridge_u": MAX_BRIDGE_DRAWS}
"""Several-number columns (per stage, per bridge draw), as (n, width) attributes of
:class:`Population`."""


def _layout() -> SimpleNamespace:
    at, pos = {}, 0
    for name in SCALARS:
        at[name] = pos
        pos += 1
    for name, width in VECTORS.items():
        at[name] = slice(pos, pos + width)
        pos += width
    return SimpleNamespace(width=pos, **at)


ROW = _layout()
"""Where each column sits in a row of the population table (an index, or a slice for vectors):
what a selected start-up needs to replay its own walk. ``Population.block`` builds the rows it is
asked for from these names and the compiled walk (:mod:`private`) reads a state row through them."""
_COLUMNS = (*SCALARS, *VECTORS)
_INTEGERS = ("sector", "region")
_TABLE_BLOCK = 4096  # rows filled at a time (4096 x 38 floats: 1.2 MB)


class Population:
    """The replication's start-ups. Columns are numpy arrays indexed by ``sid``."""

    def __init__(self, scenario: Scenario, cohorts: list[Cohort], *, table: bool = False):
        """The start-ups of ``cohorts`` (regions in order) under ``scenario``'s rates. With
        ``table`` the columns a selected start-up needs (:data:`ROW`) are views of one row table, so
        that a contest's rows are one gather (:meth:`block`): for the economy the centres select
        from."""
        sp, eq, de = scenario.startups, scenario.funding.equity, scenario.funding.debt
        beta, alpha = sp.quality_hazard_exponent, sp.quality_speed_exponent
        self.n = n = sum(len(c) for c in cohorts)

        def col(parts) -> np.ndarray:
            return np.concatenate(parts) if n else np.empty(0)

        # a region's hazard multiplier and funding access as the walk's ratios are relative to
        # (dated.base_factor: the value at the calendar's start, 1 where that is 0 and a change
        # raises it)
        hazard = [base_factor(scenario, c.region, "hazard_multiplier") for c in cohorts]
        access = [base_factor(scenario, c.region, "funding_access") for c in cohorts]
        self.founded = col([c.founded for c in cohorts])
        self.weight = col([c.weight for c in cohorts])
        self.region = col([np.full(len(c), r, dtype=np.int64) for r, c in enumerate(cohorts)])
        self.serial = col([c.serial for c in cohorts])
        self.quality = q = col([c.quality for c in cohorts])
        self.sector = col([c.sector for c in cohorts])
        self.cash = col([c.cash for c in cohorts])
        self.burn = col([c.burn for c in cohorts])
        self.team = col([c.team for c in cohorts])
        self.apply_u = col([c.apply_u for c in cohorts])
        self.pitch_z = col([c.pitch_z for c in cohorts])
        self.conglomerate_u = col([c.conglomerate_u for c in cohorts])
        budgets = col([c.budgets for c in cohorts]).reshape(n, 3)
        self.fail_budget, self.acq_budget, self.mature_budget = (budgets[:, 0], budgets[:, 1],
                                                                 budgets[:, 2])
        self.work = col([c.work for c in cohorts]).reshape(n, 3)
        self.raise_u = col([c.raise_u for c in cohorts]).reshape(n, 3)
        self.debt_u = col([c.debt_u for c in cohorts]).reshape(n, 3)
        self.bridge_u = col([c.bridge_u for c in cohorts]).reshape(n, MAX_BRIDGE_DRAWS)
        self.bridge_z = col([c.bridge_z for c in cohorts]).reshape(n, MAX_BRIDGE_DRAWS)
        self.hq = col([h * c.quality ** -beta for h, c in zip(hazard, cohorts, strict=True)])
        self.speed_q = q ** alpha
        # venture odds follow the region's access to investors and quality; loan odds follow
        # quality alone
        self.eq_q = col([a * c.quality ** eq.quality_exponent
                         for a, c in zip(access, cohorts, strict=True)])
        self.debt_q = q ** de.quality_exponent
        self.acq_rate = sp.acquisition_hazard_per_month * q ** beta
        eq_size = np.array([eq.rounds[s].size_median_krw for s in STAGES])
        eq_sigma = np.array([eq.rounds[s].size_sigma for s in STAGES])
        self.raise_amount = eq_size * np.exp(eq_sigma
                                             * col([c.raise_z for c in cohorts]).reshape(n, 3))
        self.debt_size = np.array([de.rounds[s].size_median_krw for s in STAGES])
        self.debt_sigma = np.array([de.rounds[s].size_sigma for s in STAGES])
        self.debt_amount = self.debt_size * np.exp(self.debt_sigma
                                                   * col([c.debt_z for c in cohorts]).reshape(n, 3))
        self.log_quality = np.log(q)
        # set by the unsupported walk: when each start-up leaves the valley (exit or crossing)
        self.leaves = np.full(n, np.inf)
        # who a centre took in this run: the one column a run changes (see fresh())
        self.taken = np.zeros(n, dtype=bool)

        self._table = self._tabulate() if table else None

        self._starts = np.cumsum([0, *(len(c) for c in cohorts)])
        # per keenest apply probability: the candidates' sids, founding months, leaving months and
        # apply draws, and where each region's start (Population.fresh); a run's own is ``pool``
        self._pools: dict[float, tuple[np.ndarray, ...]] = {}
        self.pool: tuple[np.ndarray, ...] = ()
        self.skip = np.zeros(1, dtype=np.int64)

    def __len__(self) -> int:
        """How many start-ups (rows), not the economy's count (see ``weight``)."""
        return self.n

    def forget_pools(self) -> None:
        """Drop the applicant pools built so far (they hold the candidates' exits, ``leaves``):
        for a copy of this population that walks another economy."""
        self._pools = {}

    def fresh(self, pool_apply: float) -> Population:
        """This population for a new run: the same (read-only, shared) columns, nobody taken yet,
        and as candidate applicants those who would apply to the keenest open centre
        (``apply_u < pool_apply``).

        Scenarios of one replication that share its economy share one Population (sim.model.reuse);
        each run marks its own selections in its own ``taken``.
        """
        pool = self._pools.get(pool_apply)
        if pool is None:  # in sid order (regions in order, each in founding order), with the
            # columns a contest filters on, and where each region's candidates start
            cand = np.flatnonzero(self.apply_u < pool_apply)
            pool = self._pools[pool_apply] = (cand, self.founded[cand], self.leaves[cand],
                                              self.apply_u[cand],
                                              np.searchsorted(cand, self._starts))
        run = copy.copy(self)
        run.pool = pool
        run.taken = np.zeros(self.n, dtype=bool)
        # the run's candidates out of every later contest, skipped (jury.contest)
        run.skip = np.arange(len(pool[0]) + 1)
        return run

    def _tabulate(self) -> np.ndarray:
        """Move the :data:`ROW` columns into one (n, width) table and keep them as its views (the
        same values, the same memory once the separate columns are gone).

        Filled a block of rows at a time, so that the block being written stays in the cache
        (column by column over the whole table, every write touched another cache line)."""
        table = np.empty((self.n, ROW.width))
        for lo in range(0, self.n, _TABLE_BLOCK):
            hi = lo + _TABLE_BLOCK
            for name in _COLUMNS:
                table[lo:hi, getattr(ROW, name)] = getattr(self, name)[lo:hi]
        for name in _COLUMNS:
            if name not in _INTEGERS:  # indices stay integer columns; the table holds a float copy
                setattr(self, name, table[:, getattr(ROW, name)])
        return table

    def block(self, sids: np.ndarray) -> np.ndarray:
        """Rows of the population table (laid out by :data:`ROW`) for ``sids``, an (n, width)
        float array: one gather from the table when there is one, else gathered column by column."""
        if self._table is not None:
            return self._table[sids]
        return np.column_stack([getattr(self, name)[sids] for name in _COLUMNS])

    def bridge_amounts(self, sids: np.ndarray) -> np.ndarray:
        """Per sid (a row), the size of bridge loan ``b`` raised in stage ``s`` at column
        ``s * MAX_BRIDGE_DRAWS + b``.

        Computed with the same numpy expression as the unsupported walk, so both paths agree to the
        bit.
        """
        z = self.bridge_z[sids]
        amounts = self.debt_size[None, :, None] * np.exp(self.debt_sigma[None, :, None]
                                                         * z[:, None, :])
        return amounts.reshape(len(sids), -1)
