"""Dated keys of the walk: round odds, a region's funding access and the hazards from a month on.

A change takes effect at its month and not before (everything that happened before it is the same
firm by firm, the market included), and after it the new value acts; the bulk walk of the
never-supported and a supported start-up's own walk stay the same arithmetic to the bit with every
kind of dated walk term (sim/model/dated.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import reuse, simulate
from sim.model.codes import CASH, DIED, EQUITY, FAILURE, MATURE
from sim.model.world import World
from sim.scenario import load_scenario

SMALL = ["regions.*.founding_rate_per_year=300"]
"""A small economy of the shipped no-programme world (its venture market included)."""
SEED = 20140902

DATED = [
    "timeline.2016-07.startups.stages.prototype.failure_hazard_per_month=0.06",
    "timeline.2016-07.startups.mature_hazard_per_month=0.03",
    "timeline.2018-02.regions.Seoul.hazard_multiplier=0.5",
    "timeline.2019-05.startups.stages.product.failure_hazard_per_month=0.02",
    "timeline.2017-04.funding.equity.rounds.product.probability=0.2",
    "timeline.2019-01.funding.debt.rounds.prototype.probability=0.3",
    "timeline.2015-10.funding.bridge_probability_multiplier=1.5",
    "timeline.2016-01.regions.Busan.funding_access=2.0",
    "timeline.2016-01.regions.Jeju.funding_access=0",
]
"""Every kind of dated walk term at once, at months of its own."""


def _replay(world: World, sids: np.ndarray) -> dict[str, list]:
    """Each start-up of ``sids`` walked alone by its own Startup object, from founding to the
    horizon, as a supported start-up walks (no centre touches it)."""
    out = {k: [] for k in ("stage", "outcome", "cause", "outcome_time", "crossed_time", "equity",
                           "debt", "bridges")}
    for s in world.startups(sids):
        s.walk_alone()
        for k, v in (("stage", s.stage), ("outcome", s.outcome), ("cause", s.cause),
                     ("outcome_time", s.outcome_time), ("crossed_time", s.crossed_time),
                     ("equity", s.equity_krw), ("debt", s.debt_krw), ("bridges", s.bridges_won)):
            out[k].append(v)
    return out


def test_bulk_walk_and_a_startups_own_walk_agree_to_the_bit_with_dated_terms(shipped):
    """With dated hazards (break clocks), round odds, bridge odds and funding access (one region's
    raised, one's cut to 0), replaying start-ups one by one gives the bulk walk's paths exactly."""
    sc = load_scenario(shipped / "no-programme.yaml", [*SMALL, *DATED])
    world = World(sc, SEED, 1)
    assert world.breaks == [0.0, sc.calendar.month("2016-07"), sc.calendar.month("2018-02"),
                            sc.calendar.month("2019-05")]
    paths = world.paths
    sids = np.arange(0, len(world.population), 7)
    assert len(sids) > 500
    got = _replay(world, sids)
    for name, col in (("stage", paths.stage), ("outcome", paths.outcome), ("cause", paths.cause),
                      ("outcome_time", paths.outcome_time), ("crossed_time", paths.crossed_time),
                      ("equity", paths.equity_krw), ("debt", paths.debt_krw),
                      ("bridges", paths.bridges)):
        np.testing.assert_array_equal(col[sids], got[name], err_msg=name)
    # the check has teeth: deaths of every cause on both sides of the breaks
    out_t, cause = paths.outcome_time[sids], paths.cause[sids]
    for c in (CASH, FAILURE, MATURE):
        for lo, hi in ((0, world.breaks[1]), (world.breaks[1], world.horizon)):
            assert ((cause == c) & (out_t >= lo) & (out_t < hi)).any(), (c, lo)
    world.close()


def _runs(shipped, change: list[str]):
    base = load_scenario(shipped / "no-programme.yaml", SMALL)
    dated = load_scenario(shipped / "no-programme.yaml", [*SMALL, *change])
    return base, simulate(base, SEED, 0), simulate(dated, SEED, 0)


def _before(rec, month: float) -> tuple:
    """What happened before ``month``, firm by firm: the rounds won, and every exit."""
    r, s = rec.rounds, rec.startups
    early = r["month"] < month
    rounds = sorted(zip(*(r[k][early].tolist() for k in ("sid", "month", "krw", "channel")),
                        strict=True))
    gone = (s["outcome"] != 0) & (s["outcome_time"] < month)
    return (rounds, np.flatnonzero(gone).tolist(), s["outcome_time"][gone].tolist(),
            s["cause"][gone].tolist())


@pytest.mark.parametrize("change, month", [
    (["timeline.2017-07.startups.stages.prototype.failure_hazard_per_month=0.09"], "2017-07"),
    (["timeline.2017-08.regions.Seoul.hazard_multiplier=0"], "2017-08"),
    (["timeline.2018-03.startups.mature_hazard_per_month=0.05"], "2018-03"),
    (["timeline.2017-04.funding.equity.rounds.product.probability=0"], "2017-04"),
    (["timeline.2016-10.funding.bridge_probability_multiplier=0"], "2016-10"),
    (["timeline.2016-01.regions.Busan.funding_access=0"], "2016-01"),
])
def test_a_dated_walk_key_takes_effect_at_its_month_and_not_before(shipped, change, month):
    """Two runs of one replication, with and without the change: before its month every round and
    every exit is the same, firm by firm (the market's rationing included); from it the new value
    acts."""
    base, a, b = _runs(shipped, change)
    m = base.calendar.month(month)
    assert _before(a, m) == _before(b, m)
    sa, sb = a.startups, b.startups
    late_a, late_b = sa["outcome_time"] >= m, sb["outcome_time"] >= m
    key = change[0].split("=")[0].split(".", 2)[2]

    def deaths(s, late, cause, region=None):
        where = late & (s["outcome"] == DIED) & (s["cause"] == cause)
        if region is not None:
            where &= s["region"] == list(base.regions).index(region)
        return float(s["weight"][where].sum())

    def rounds_after(rec, stage_of=None, region=None, bridge=None):
        r, s = rec.rounds, rec.startups
        where = r["month"] >= m
        if stage_of is not None:
            where &= r["channel"] == stage_of
        if region is not None:
            where &= s["region"][r["sid"]] == list(base.regions).index(region)
        if bridge is not None:
            where &= r["bridge"] == bridge
        return float(s["weight"][r["sid"][where]].sum())

    if key.endswith("prototype.failure_hazard_per_month"):
        # three times the prototype stage's hazard: far more failures (19,652 -> 33,179 here)
        assert deaths(sb, late_b, FAILURE) > 1.3 * deaths(sa, late_a, FAILURE)
    elif key == "regions.Seoul.hazard_multiplier":
        assert deaths(sb, late_b, FAILURE, "Seoul") == deaths(sb, late_b, MATURE, "Seoul") == 0
        assert deaths(sa, late_a, FAILURE, "Seoul") > 0
    elif key == "startups.mature_hazard_per_month":
        assert deaths(sb, late_b, MATURE) > 2 * deaths(sa, late_a, MATURE)
    elif key.startswith("funding.equity"):
        # fewer venture rounds after the month (none at the product milestone), the others go on
        assert rounds_after(a, EQUITY) > rounds_after(b, EQUITY) > 0
    elif key == "funding.bridge_probability_multiplier":
        assert rounds_after(b, bridge=True) == 0 < rounds_after(a, bridge=True)
    else:  # Busan's access to investors cut to 0
        assert rounds_after(b, EQUITY, "Busan") == 0 < rounds_after(a, EQUITY, "Busan")
        assert rounds_after(b, EQUITY) > 0


def test_a_product_round_probability_of_zero_means_no_product_round_after_its_month(shipped):
    """The dated odds are those of the stage a round concludes: with the product stage's venture
    odds 0 from 2017-04, no start-up that finishes its product stage after that raises venture money
    there, while the other stages' rounds go on."""
    sc = load_scenario(shipped / "no-programme.yaml",
                       [*SMALL, "timeline.2017-04.funding.equity.rounds.product.probability=0"])
    world = World(sc, SEED, 0)
    m = sc.calendar.month("2017-04")
    months = world.paths.eq_month  # (n, 3): the equity attempt at each stage's milestone
    odds = world.paths.eq_odds
    after = months[:, 1] >= m
    assert after.any() and (odds[after, 1] == 0).all() and (odds[months[:, 1] < m, 1] > 0).all()
    assert (odds[months[:, 0] >= m, 0] > 0).all()
    world.close()


def test_a_walk_key_dated_in_one_region_redraws_only_that_regions_walk(shipped):
    """The reuse cache's walk key carries a region's dated access (that region only) and any dated
    hazard or round odds (every region)."""
    base = load_scenario(shipped / "no-programme.yaml", SMALL)
    busan = load_scenario(shipped / "no-programme.yaml",
                          [*SMALL, "timeline.2016-01.regions.Busan.funding_access=0"])
    hazard = load_scenario(shipped / "no-programme.yaml",
                           [*SMALL, "timeline.2016-07.startups.mature_hazard_per_month=0.03"])

    def key(sc, region):
        return reuse.key("walk", sc, 3, 0, 0, region)

    assert key(busan, "Busan") != key(base, "Busan") and key(busan, "Seoul") == key(base, "Seoul")
    assert all(key(hazard, r) != key(base, r) for r in ("Busan", "Seoul"))


def test_a_dated_hazard_reaches_the_supported_start_ups_at_its_month_and_not_before(shipped):
    """With the programme: the same start-ups are selected before the month, their rounds and exits
    before it are the same, and afterwards the supported firms' failure clocks run at the new rate
    too (a supported start-up's own walk has the break)."""
    sets = [*SMALL, "regions.Seoul.founding_rate_per_year=4000"]
    change = "timeline.2018-02.startups.stages.product.failure_hazard_per_month=0.05"
    base = load_scenario(shipped / "ccei-announced.yaml", sets)
    dated = load_scenario(shipped / "ccei-announced.yaml", [*sets, change])
    a, b = simulate(base, SEED, 0), simulate(dated, SEED, 0)
    m = base.calendar.month("2018-02")
    sa, sb = a.startups, b.startups
    early = sa["supported"] & (sa["support_time"] < m)
    assert early.sum() > 100
    assert np.array_equal(early, sb["supported"] & (sb["support_time"] < m))
    assert _before(a, m) == _before(b, m)

    def failures_after(s):
        where = s["supported"] & (s["outcome_time"] >= m) & (s["cause"] == FAILURE)
        return float(s["weight"][where].sum())

    assert failures_after(sb) > 1.3 * failures_after(sa) > 0
