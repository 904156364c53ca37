"""The supported start-ups' compiled walk is the plain Python walk to the bit.

:mod:`sim.model.kernels` runs compiled (numba) in every simulation; the same functions run as plain
Python (``py_func``: the same operations on numpy floats, C's ``pow``, Python's truncation) give a
reference. A small economy with grants, a fading network boost, partners, bridges, dated hazards
(break clocks), dated round odds and funding access must give the same records either way, start-up
by start-up and round by round. (That the walk equals the bulk walk of the never-supported, with
neutral multipliers, is tests/test_model.py's and tests/test_dated_walk.py's.)
"""

from __future__ import annotations

import numpy as np

from sim.model import kernels, private, reuse, simulate
from sim.model.codes import CROSSED, LIMIT, MILESTONE, RESIDENCY_END
from sim.model.world import World
from sim.scenario import load_scenario

SMALL = ["regions.*.founding_rate_per_year=300"]
LEVERS = [
    "funding.max_bridges=4",
    "funding.bridge_probability_multiplier=1.6",
    "timeline.2016-07.startups.stages.prototype.failure_hazard_per_month=0.06",
    "timeline.2017-04.funding.equity.rounds.product.probability=0.2",
    "timeline.2016-01.regions.Busan.funding_access=2.0",
    "timeline.2018-02.regions.Seoul.hazard_multiplier=0.5",
]
SEED = 20140902
_COMPILED = ("_append", "_period", "milestone", "_bridge", "run_until", "select", "select_all",
             "_mature_death", "_in_force", "_apply", "walk_on", "_graduate", "wake")


def _python_kernels(monkeypatch) -> None:
    """Every kernel as its plain Python function (the calls between them too)."""
    for name in _COMPILED:
        monkeypatch.setattr(kernels, name, getattr(kernels, name).py_func)


def _records(sc, rep):
    reuse.clear()
    return simulate(sc, SEED, rep)


def test_the_compiled_walk_gives_the_python_walks_records(shipped, monkeypatch):
    """Grants, a fading boost, partners, bridges, dated hazards and odds: identical records."""
    sc = load_scenario(shipped / "ccei-announced.yaml", [*SMALL, *LEVERS])
    assert any(c.training.funding_odds_half_life_months for c in sc.centres.values())
    assert any(c.grants.per_startup_krw > 0 for c in sc.centres.values())
    compiled = [_records(sc, r) for r in (0, 1)]
    _python_kernels(monkeypatch)
    plain = [_records(sc, r) for r in (0, 1)]
    for a, b in zip(compiled, plain, strict=True):
        sup = a.startups["supported"]
        assert int(sup.sum()) > 50
        assert a.startups["bridge_rounds"][sup].sum() > 0  # bridges won by supported firms
        assert (a.rounds["bridge"] & np.isin(a.rounds["sid"], np.flatnonzero(sup))).any()
        assert (a.raised[:, 2] == 2).any()  # a partner's equity (codes.PARTNER)
        assert a.events == b.events
        for k in a.startups:
            np.testing.assert_array_equal(a.startups[k], b.startups[k], err_msg=k)
        for k in a.rounds:
            np.testing.assert_array_equal(a.rounds[k], b.rounds[k], err_msg=k)
        for k in ("raised", "hired", "spending", "partner_paid"):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
        for k in a.market:
            np.testing.assert_array_equal(a.market[k], b.market[k], err_msg=k)
        assert a.costs == b.costs


def test_a_walk_through_breaks_and_boosts_is_the_same_compiled_or_not(shipped, monkeypatch):
    """Start-ups walked alone from their founding with a support's multipliers and a fading boost
    (``select``), then to the horizon through every private milestone, bridge and break: the same
    state row, compiled or in Python."""
    sc = load_scenario(shipped / "ccei-announced.yaml", [*SMALL, *LEVERS])
    reuse.clear()
    world = World(sc, SEED, 3)
    assert world.breaks is not None and len(world.breaks) > 2  # dated hazards: break clocks
    sids = np.arange(0, len(world.population), 5)
    assert len(sids) > 500

    def walk(objects) -> np.ndarray:
        for s in objects:
            now = s.founded + 7.0
            t, clock, _stage = kernels.select(
                world.state, s.index, now, 2.0, now + 10.0, 5e7, 1.5, 0.7, 1.3, 1.2, 0.8, 24.0,
                -np.inf, world.horizon, world.walk_constants, world.log)
            while clock != LIMIT:  # on past the residency's end, to an exit or the horizon
                if clock == MILESTONE:
                    if kernels.milestone(world.state, s.index, t, world.walk_constants,
                                         world.log) == CROSSED:
                        break
                elif clock == RESIDENCY_END:
                    world.state[s.index, private.RES_END] = np.inf
                else:
                    break
                t, clock, _stage = kernels.run_until(
                    world.state, s.index, t, world.horizon, -np.inf, world.walk_constants,
                    world.log)
        return world.state[[s.index for s in objects]].copy(), private.entries(world.log)

    compiled, compiled_log = walk(world.startups(sids))
    _python_kernels(monkeypatch)
    plain, both_logs = walk(world.startups(sids))
    assert (compiled[:, private.STAGE] >= 2).sum() > 20
    assert (compiled[:, private.BRIDGES_WON] > 0).sum() > 20
    assert (compiled[:, private.EPOCH] > compiled[0, private.EPOCH]).any()
    assert len(compiled_log["rounds"]) > 100 and len(compiled_log["sought"]) > 100
    np.testing.assert_array_equal(compiled, plain)
    for k, first in compiled_log.items():  # the second walk logged the same after the first's
        np.testing.assert_array_equal(both_logs[k], np.concatenate([first, first]), err_msg=k)
