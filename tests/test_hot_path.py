"""The supported start-ups' fast paths are the plain ones to the bit.

A contest's rows come from the economy's row table in one gather (``Population(table=True)``),
its applicants and ranking from one compiled call (``jury.contest``), and a supported start-up
waits on a bare wake-up (``Environment.call_after``) instead of a SimPy ``Timeout``: a small
economy with dated walk keys, grants, a sector focus and the venture market must give the same
records, start-up by start-up, whichever path runs. A contest's ranking (a partition, then a
stable sort of the top) is the full stable sort's, and a finished run frees its start-ups at once.
"""

from __future__ import annotations

import gc

import numpy as np

from sim.model import jury, market, population, reuse, simulate
from sim.model.startup import Startup
from sim.model.world import World
from sim.scenario import load_scenario

SMALL = ["regions.*.founding_rate_per_year=300"]
DATED = [
    "timeline.2016-07.startups.stages.prototype.failure_hazard_per_month=0.06",
    "timeline.2017-04.funding.equity.rounds.product.probability=0.2",
    "timeline.2016-01.regions.Busan.funding_access=2.0",
    "timeline.2018-02.regions.Seoul.hazard_multiplier=0.5",
]
CATCHMENTS = ["centres.Daegu.catchment=[Daegu, Busan]", 'centres.Seoul.catchment=["*"]']
SEED = 20140902


def _plain_rows(self, sids):
    return np.column_stack([getattr(self, n)[sids] for n in population._COLUMNS])


def _plain_wait(self, delay, callback):
    self.timeout(delay).callbacks.append(callback)


def _plain_contest(cand, founded, leaves, apply_u, starts, skip, regions, oldest, youngest, now,
                   p_apply, taken, log_quality, pitch_z, noise, sector, in_focus, focused, bonus,
                   k):
    """A contest in numpy, as Centre.contest did before jury.contest: per region a binary search
    and masks, then the score and a full stable sort (``skip`` unused: nothing is skipped)."""
    found = []
    for r in regions:
        a, b = starts[r], starts[r + 1]
        lo = a + np.searchsorted(founded[a:b], oldest, "left")
        hi = a + np.searchsorted(founded[a:b], youngest, "right")
        sids = cand[lo:hi]
        found.append(sids[(leaves[lo:hi] > now) & (apply_u[lo:hi] < p_apply) & ~taken[sids]])
    sids = np.concatenate(found)
    score = log_quality[sids] + noise * pitch_z[sids]
    if focused:
        score = score + np.where(in_focus[sector[sids]], bonus, 0.0)
    return len(sids), sids[np.argsort(-score, kind="stable")[:k]]


def _records(sc, rep):
    reuse.clear()
    return simulate(sc, SEED, rep)


def test_the_row_table_gives_the_rows_column_by_column(shipped):
    """The economy's table holds every column a selected start-up reads, with the same values."""
    sc = load_scenario(shipped / "ccei-announced.yaml", SMALL)
    reuse.clear()
    pop = World(sc, SEED, 0).population
    assert pop._table is not None
    sids = np.flatnonzero(pop.apply_u < 0.5)[::7]
    assert pop.block(sids).tolist() == _plain_rows(pop, sids).tolist()
    assert pop.region.dtype.kind == "i" and pop.sector.dtype.kind in "iu"  # indices stay integers


def test_fast_paths_give_the_same_replications_as_the_plain_ones(shipped, monkeypatch):
    """Grants, partners, seats, a sector focus, the market and dated walk keys: identical records
    either way."""
    sc = load_scenario(shipped / "ccei-announced.yaml", [*SMALL, *DATED, *CATCHMENTS])
    assert market.supply(sc) is not None  # venture money is limited: the market clears
    assert any(c.grants.per_startup_krw > 0 for c in sc.centres.values())
    assert any(c.sector_focus and c.focus_bonus for c in sc.centres.values())
    assert any(c.catchment for c in sc.centres.values())  # a centre recruits beyond its region
    fast = [_records(sc, r) for r in (0, 1)]
    monkeypatch.setattr(population.Population, "block", _plain_rows)
    monkeypatch.setattr("sim.model.world.Environment.call_after", _plain_wait)
    monkeypatch.setattr(jury, "contest", _plain_contest)
    plain = [_records(sc, r) for r in (0, 1)]
    for a, b in zip(fast, plain, strict=True):
        assert int(a.startups["supported"].sum()) > 50
        assert a.events == b.events
        for k in a.startups:
            np.testing.assert_array_equal(a.startups[k], b.startups[k], err_msg=k)
        for k in a.rounds:
            np.testing.assert_array_equal(a.rounds[k], b.rounds[k], err_msg=k)
        np.testing.assert_array_equal(a.raised, b.raised)
        np.testing.assert_array_equal(a.spending, b.spending)
        assert a.costs == b.costs


def test_a_contests_ranking_is_the_full_stable_sorts_first_k():
    """Partition + a stable sort of the top gives the order a stable sort of every applicant gives,
    ties (in position order), NaN and signed zeros included."""
    rng = np.random.default_rng(SEED)
    for trial in range(3000):
        n, k = int(rng.integers(1, 400)), int(rng.integers(1, 80))
        neg = (rng.integers(0, 6, size=n).astype(float) if trial % 2 else rng.normal(size=n))
        if trial % 5 == 0:
            neg[rng.integers(0, n, size=3)] = np.nan
        if trial % 7 == 0:
            neg[rng.integers(0, n)] = -0.0
        np.testing.assert_array_equal(jury.best(neg, k), np.argsort(neg, kind="stable")[:k])


def test_a_finished_run_leaves_no_start_up_to_the_garbage_collector(shipped):
    """World.close frees the supported start-ups by reference counting (the cyclic collector is off
    during a run)."""
    sc = load_scenario(shipped / "ccei-announced.yaml", SMALL)
    reuse.clear()
    gc.collect()  # earlier tests' garbage is not this run's
    before = sum(isinstance(o, Startup) for o in gc.get_objects())
    enabled = gc.isenabled()
    gc.disable()
    try:
        rec = simulate(sc, SEED, 0)
        left = sum(isinstance(o, Startup) for o in gc.get_objects())
    finally:
        if enabled:
            gc.enable()
    assert int(rec.startups["supported"].sum()) > 50
    assert left == before
