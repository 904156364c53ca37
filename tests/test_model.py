"""The SimPy model's mechanisms: analytic reductions, grants, the programme's invariants on a full
run, common random numbers, and the cost in events.

Small scenarios are built in code (two regions, five years); statistical checks use fixed seeds
and tolerances of a few standard errors, never tuned values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.survival import km_at
from sim.model import simulate
from sim.model.centre import Centre
from sim.model.codes import ACQUIRED, ALIVE, CASH, DIED, FAILURE, MATURE, NO_CAUSE
from sim.model.region import SAMPLE_SERIAL, draw_cohort
from sim.model.world import World
from sim.scenario import STAGES, load_scenario

SEED = 20240611
NO_EFFECT = {
    k: 1.0
    for k in (
        "hazard_multiplier_during",
        "hazard_multiplier_after",
        "speed_multiplier_during",
        "speed_multiplier_after",
        "funding_odds_multiplier",
    )
}


def no_funding() -> dict:
    """No venture rounds or loans at milestones and no bridges when cash runs out."""
    none = {"rounds": {s: {"probability": 0.0} for s in STAGES}}
    return {"max_bridges": 0, "equity": none, "debt": none}


def no_milestones(hazard: float) -> dict:
    """Startups section where no milestone is reached in a 5-year run and the failure hazard is
    flat.

    Work per stage is gamma with shape 100 and mean 600 months: P(< 60 months) is about 1e-70.
    """
    stage = {"months_to_milestone": 600, "failure_hazard_per_month": hazard}
    return {"quality_sigma": 0.0, "milestone_time_shape": 100, "acquisition_hazard_per_month": 0.0,
            "stages": {s: dict(stage) for s in STAGES}}


def key_index(records) -> dict[tuple[int, int], int]:
    """(region, serial) -> row of the records."""
    s = records.startups
    return {
        (int(r), int(i)): k for k, (r, i) in enumerate(zip(s["region"], s["serial"], strict=True))
    }


def initial_cash_and_burn(
    scenario, records, seed: int, replication: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each record's founding cash and monthly burn, re-drawn from the same streams."""
    cohorts = {
        i: draw_cohort(scenario, name, seed, replication)
        for i, name in enumerate(records.region_names)
    }
    s = records.startups
    cash = np.array([cohorts[r].cash[i] for r, i in zip(s["region"], s["serial"], strict=True)])
    burn = np.array([cohorts[r].burn[i] for r, i in zip(s["region"], s["serial"], strict=True)])
    return cash, burn


def km_greenwood(durations, events, ages) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier S(a) and its Greenwood standard error, computed independently of km_at."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    times = np.unique(d[e])
    n_at_risk = np.array([(d >= t).sum() for t in times], dtype=float)
    deaths = np.array([(d[e] == t).sum() for t in times], dtype=float)
    surv = np.cumprod(1.0 - deaths / n_at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_at_risk > deaths, deaths / (n_at_risk * (n_at_risk - deaths)), np.inf)
    var = np.cumsum(terms)
    idx = np.searchsorted(times, ages, side="right") - 1
    s = np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)
    se = s * np.sqrt(np.where(idx >= 0, var[np.maximum(idx, 0)], 0.0))
    return s, se


# ---------------------------------------------------------------------------------------------
# analytic reductions
# ---------------------------------------------------------------------------------------------
def test_constant_hazard_gives_exponential_survival(make_scenario):
    """Only a flat failure hazard (no cash clock, funding, milestones or acquisitions): KM survival
    by age is exp(-lambda * m * age) within 3 Greenwood standard errors, m the region's hazard
    multiplier."""
    lam = 0.03
    sc = make_scenario({
        "regions": {"North": {"founding_rate_per_year": 2000},
                    "South": {"founding_rate_per_year": 1000, "hazard_multiplier": 2.0}},
        "startups": {**no_milestones(lam), "monthly_burn_median_krw": 0.0},
        "funding": no_funding(),
    })
    rec = simulate(sc, SEED, 0)
    s = rec.startups
    assert len(rec) > 12_000
    assert (s["stage_reached"] == 0).all()  # the reduction holds: nobody reached a milestone
    died = s["outcome"] == DIED
    assert set(np.unique(s["cause"][died])) == {FAILURE}  # no cash deaths: burn is 0
    assert not (s["outcome"] == ACQUIRED).any()
    ages = np.array([3.0, 12.0, 24.0, 36.0, 48.0])
    for region, mult in (("North", 1.0), ("South", 2.0)):
        m = s["region"] == rec.region_names.index(region)
        dur = (s["outcome_time"] - s["founded"])[m]
        est = km_at(dur, died[m], ages)
        check, se = km_greenwood(dur, died[m], ages)
        np.testing.assert_allclose(est, check, rtol=1e-12)
        expected = np.exp(-lam * mult * ages)
        z = (est - expected) / se
        assert np.all(np.abs(z) < 3.0), f"{region}: S={est}, exp={expected}, z={z}"


def test_without_hazard_or_funding_every_startup_dies_when_its_cash_runs_out(make_scenario):
    """No hazard, no funding, no milestones: each start-up dies of cash exactly cash / burn after
    founding, or is alive at the horizon if that moment lies beyond it."""
    sc = make_scenario(
        {
            "startups": {
                **no_milestones(0.0),
                "initial_cash_median_krw": 60_000_000,
                "initial_cash_sigma": 0.7,
                "monthly_burn_median_krw": 6_000_000,
                "monthly_burn_sigma": 0.4,
            },
            "funding": no_funding(),
        }
    )
    rec = simulate(sc, SEED, 1)
    s = rec.startups
    cash, burn = initial_cash_and_burn(sc, rec, SEED, 1)
    runway = cash / burn
    died = s["outcome"] == DIED
    assert died.sum() > 1000 and (~died).sum() > 50
    assert (s["cause"][died] == CASH).all() and (s["cause"][~died] == NO_CAUSE).all()
    assert not (s["outcome"] == ACQUIRED).any()
    np.testing.assert_allclose(
        (s["outcome_time"] - s["founded"])[died], runway[died], rtol=1e-9, atol=1e-9
    )
    assert (s["founded"][~died] + runway[~died] > rec.horizon).all()
    assert (s["outcome_time"][~died] == rec.horizon).all()


def grant_world(make_scenario, per_startup_krw: float):
    """The no-hazard, no-funding world with one centre whose training has no effect."""
    return make_scenario(
        {
            "startups": {
                **no_milestones(0.0),
                "initial_cash_median_krw": 60_000_000,
                "initial_cash_sigma": 0.7,
                "monthly_burn_median_krw": 6_000_000,
                "monthly_burn_sigma": 0.4,
            },
            "funding": no_funding(),
            "centres": {
                "Hub": {
                    "region": "North",
                    "opens": "2015-01",
                    "seats": 1_000_000,
                    "intake_every_months": 6,
                    "intake_size": 25,
                    "apply_probability": 0.5,
                    "selection_noise": 0.5,
                    "residency_months": 10,
                    "training": NO_EFFECT,
                    "grants": {
                        "per_startup_krw": per_startup_krw,
                        "per_round": 25,
                        "annual_budget_krw": 1e12,
                    },
                }
            },
        }
    )


def test_grant_extends_the_runway_by_grant_over_net_burn(make_scenario):
    """With training effects switched off, a grant moves a supported start-up's death by exactly
    grant / net burn; selection and every unsupported start-up are unchanged (same seed)."""
    grant = 30_000_000
    with_grant = simulate(grant_world(make_scenario, grant), SEED, 2)
    without = simulate(grant_world(make_scenario, 0.0), SEED, 2)
    g, n = with_grant.startups, without.startups
    np.testing.assert_array_equal(g["founded"], n["founded"])
    np.testing.assert_array_equal(g["supported"], n["supported"])
    np.testing.assert_array_equal(g["support_time"], n["support_time"])  # NaN where unsupported
    sup = g["supported"]
    assert sup.sum() > 100
    assert (g["grant_krw"][sup] == grant).all()  # ample budget: every round pays, the first one too
    assert (n["grant_krw"] == 0).all()

    _, burn = initial_cash_and_burn(grant_world(make_scenario, grant), with_grant, SEED, 2)
    died_g, died_n = g["outcome"] == DIED, n["outcome"] == DIED
    both = sup & died_g & died_n
    assert both.sum() > 50
    np.testing.assert_allclose(
        g["outcome_time"][both] - n["outcome_time"][both], grant / burn[both], rtol=1e-9, atol=1e-9
    )
    saved = sup & ~died_g & died_n  # alive at the horizon thanks to the grant
    assert saved.any()
    assert (n["outcome_time"][saved] + grant / burn[saved] > with_grant.horizon).all()
    assert not (sup & died_g & ~died_n).any()
    for col in ("outcome", "outcome_time", "cause", "stage_reached"):
        np.testing.assert_array_equal(g[col][~sup], n[col][~sup])


def test_selection_without_treatment_changes_nothing(make_scenario):
    """A centre with no grants, no training effect and no partner selects start-ups but leaves every
    life as it was in the world without the centre (milestones, rounds, bridges, exits alike)."""
    neutral = {
        "region": "North",
        "opens": "2015-01",
        "seats": 200,
        "intake_size": 40,
        "apply_probability": 0.6,
        "training": NO_EFFECT,
        "grants": {"per_startup_krw": 0.0},
    }
    base = make_scenario()
    rec0 = simulate(base, SEED, 6)
    rec1 = simulate(make_scenario({"centres": {"Hub": neutral}}), SEED, 6)
    a, b = rec0.startups, rec1.startups
    sup = b["supported"]
    assert sup.sum() > 200
    assert (b["stage_reached"][sup] > 0).any() and (b["private_krw"][sup] > 0).any()
    for col in ("founded", "outcome", "cause", "stage_reached", "crossed"):
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    # a residency's end splits a walk in two steps: equal up to floating-point rounding
    for col in ("outcome_time", "crossed_time", "private_krw", "jobs"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-6, err_msg=col)


def test_grant_budget_is_refilled_each_programme_year_before_its_first_contest(make_scenario):
    """The annual grant budget is available to the contest held at the opening and on each
    anniversary, caps what a programme year pays, and unspent money lapses (it does not starve the
    next year's first contest either)."""
    hub = {"opens": "2015-01", "seats": 1000, "intake_every_months": 6, "intake_size": 10,
           "apply_probability": 0.5, "residency_months": 6}
    grants = {"per_startup_krw": 20_000_000, "per_round": 10}
    sc = make_scenario(
        {
            "regions": {
                "North": {"founding_rate_per_year": 1500},
                "South": {"founding_rate_per_year": 1500},
            },
            "centres": {
                "Tight": {
                    **hub,
                    "region": "North",
                    "grants": {**grants, "annual_budget_krw": 300_000_000},
                },
                "Ample": {
                    **hub,
                    "region": "South",
                    "grants": {**grants, "annual_budget_krw": 500_000_000},
                },
            },
        }
    )
    rec = simulate(sc, SEED, 3)
    s = rec.startups
    opens = sc.calendar.month("2015-01")
    # per programme year: Tight pays 10 grants in its first contest and the 5 its budget has left in
    # the
    # second; Ample pays 10 and 10, and the 100 M it leaves unspent lapses
    for name, pattern, per_year in (
        ("Tight", [10, 5], 300_000_000),
        ("Ample", [10, 10], 400_000_000),
    ):
        m = s["centre"] == rec.centre_names.index(name)
        rounds = np.round((s["support_time"][m] - opens) / 6.0).astype(int)
        np.testing.assert_allclose(s["support_time"][m], opens + 6.0 * rounds)
        picked = np.bincount(rounds)
        assert len(picked) == 8 and (picked == 10).all(), name  # 2015-01 .. 2018-07, full intakes
        granted = np.bincount(rounds, weights=s["grant_krw"][m]) / 20_000_000
        np.testing.assert_array_equal(granted, pattern * 4, err_msg=name)
        assert rec.centres[name]["grants_krw"] == 4 * per_year
    assert rec.costs["grants_krw"] == 4 * (300_000_000 + 400_000_000)


# ---------------------------------------------------------------------------------------------
# invariants of a full run of the announced programme
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def announced(shipped):
    """One replication of ccei-announced, with every contest's seat count recorded as it happens."""
    sc = load_scenario(shipped / "ccei-announced.yaml")
    log: list[dict] = []
    original = Centre.contest

    def recording_contest(self):
        original(self)
        log.append({"centre": self.name, "time": self.world.env.now, "holding": self.seats.count,
                    "seats": self.seats.capacity})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Centre, "contest", recording_contest)
        rec = simulate(sc, SEED, 0)
    return sc, rec, log


def test_residents_never_outnumber_seats(announced):
    """At every contest no centre holds more residents than seats: from the live seat resource, and
    from the records' residency intervals (support until graduation, crossing or exit)."""
    sc, rec, log = announced
    assert log
    for entry in log:
        assert entry["holding"] <= entry["seats"], entry
    s = rec.startups
    exit_time = np.where(s["crossed"], s["crossed_time"],
                         np.where(s["outcome"] != ALIVE, s["outcome_time"], np.inf))
    full = 0
    for ci, name in enumerate(rec.centre_names):
        cfg = sc.centres[name]
        m = s["centre"] == ci
        start = np.sort(s["support_time"][m])
        release = np.sort(np.minimum(s["support_time"][m] + cfg.residency_months, exit_time[m]))
        for entry in (e for e in log if e["centre"] == name):
            t = entry["time"]
            residents = np.searchsorted(start, t, side="right") - np.searchsorted(
                release, t, side="right"
            )
            assert residents == entry["holding"] <= entry["seats"], (name, t)
            full += residents == entry["seats"]
    assert full > 0  # seats did bind somewhere, so the check has teeth


def test_no_support_before_a_centre_opens(announced):
    """Support happens only at a centre's contests, from its opening month on, to living start-ups
    of its catchment that are young enough to apply."""
    sc, rec, _ = announced
    s = rec.startups
    sup = s["supported"]
    assert sup.sum() > 1000
    assert ((s["centre"] >= 0) == sup).all()
    assert np.isnan(s["support_time"][~sup]).all()
    cal = sc.calendar
    for ci, name in enumerate(rec.centre_names):
        cfg = sc.centres[name]
        m = s["centre"] == ci
        t = s["support_time"][m]
        opens = cal.month(cfg.opens)
        assert m.sum() > 0
        assert (t >= opens).all(), name
        k = (t - opens) / cfg.intake_every_months
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # at contest times
        assert (s["region"][m] == rec.region_names.index(cfg.region)).all()
        age = t - s["founded"][m]
        assert ((age >= 0) & (age <= cfg.max_applicant_age_months)).all()
        assert (t <= s["outcome_time"][m]).all()
        assert rec.centres[name]["selected"] == m.sum()


def test_grants_per_centre_and_year_stay_within_the_annual_budget(announced):
    """Grants are paid in whole units from a budget refilled each programme year; a year never pays
    more than the budget, and the cost book-keeping adds up."""
    sc, rec, _ = announced
    s = rec.startups
    cal = sc.calendar
    spent_all = 0
    for ci, name in enumerate(rec.centre_names):
        g = sc.centres[name].grants
        m = s["centre"] == ci
        paid = s["grant_krw"][m]
        assert np.isin(paid, [0.0, g.per_startup_krw]).all()
        year = np.floor((s["support_time"][m] - cal.month(sc.centres[name].opens)) / 12.0).astype(
            int
        )
        per_year = np.bincount(year, weights=paid)
        assert (per_year <= g.annual_budget_krw).all(), (name, per_year)
        spent_all += (per_year == g.annual_budget_krw).sum()
        assert paid.sum() == rec.centres[name]["grants_krw"]
    assert spent_all > 0  # the budget did bind in some years, so the check has teeth
    assert (s["grant_krw"][~s["supported"]] == 0).all()
    assert s["grant_krw"].sum() == rec.costs["grants_krw"]


def test_each_startup_has_exactly_one_outcome(announced):
    """Every founded start-up appears once, with one outcome (alive, died or acquired), an outcome
    time between its founding and the horizon, and a cause exactly when it died."""
    sc, rec, _ = announced
    s = rec.startups
    keys = key_index(rec)
    assert len(keys) == len(rec)
    cohorts = {i: draw_cohort(sc, r, SEED, 0) for i, r in enumerate(rec.region_names)}
    np.testing.assert_array_equal(np.bincount(s["region"], minlength=len(cohorts)),
                                  [len(cohorts[i]) for i in range(len(cohorts))])
    for r, c in cohorts.items():
        # applicants numbered from 0, the weighted sample of the others from SAMPLE_SERIAL
        here = np.sort(s["serial"][s["region"] == r])
        keen = int((c.weight == 1.0).sum())
        assert here[:keen].tolist() == list(range(keen))
        assert here[keen:].tolist() == list(range(SAMPLE_SERIAL, SAMPLE_SERIAL + len(c) - keen))
    out, cause, t = s["outcome"], s["cause"], s["outcome_time"]
    assert np.isin(out, [ALIVE, DIED, ACQUIRED]).all()
    assert all((out == o).any() for o in (ALIVE, DIED, ACQUIRED))
    assert ((s["founded"] <= t) & (t <= rec.horizon)).all()
    assert (t[out == ALIVE] == rec.horizon).all()
    assert ((cause != NO_CAUSE) == (out == DIED)).all()
    assert np.isin(cause[out == DIED], [CASH, FAILURE, MATURE]).all()
    assert ((cause == MATURE) == ((out == DIED) & s["crossed"])).all()
    crossed = s["crossed"]
    assert (s["crossed_time"][crossed] <= t[crossed]).all()
    assert np.isnan(s["crossed_time"][~crossed]).all()


def test_conglomerate_money_goes_only_to_supported_startups_at_traction(announced):
    """Conglomerate investment, acquisition payments and subcontracts reach only supported start-ups
    that reached traction, and the conglomerate cost is their sum."""
    _, rec, _ = announced
    s = rec.startups
    paid = s["conglomerate_krw"] > 0
    assert paid.sum() > 10 and s["subcontract"].sum() > 10
    for m in (paid, s["subcontract"]):
        assert s["supported"][m].all()
        assert (s["stage_reached"][m] >= 2).all()
    assert np.isclose(s["conglomerate_krw"].sum(), rec.costs["conglomerate_krw"])
    assert (s["outcome"][paid & (s["conglomerate_krw"] == 2_000_000_000)] == ACQUIRED).all()


def test_a_startup_costs_a_handful_of_events(announced, shipped):
    """The model stays lean: an unsupported start-up costs no SimPy event at all (its walk is
    computed in bulk), a supported one fewer than 10 over its whole supported life."""
    sc, rec, _ = announced
    supported = int(rec.startups["supported"].sum())
    contests = sum(c["rounds"] for c in rec.centres.values())
    assert supported > 1000
    # what is not a supported start-up's event: contests, yearly budget refills, the run's end
    years = (rec.horizon / 12.0 + 1) * (len(rec.centre_names) + len(sc.conglomerates))
    assert rec.events - contests - years < 10 * supported
    # every supported start-up holds a seat, so its residency's end (or its exit while resident) is
    # an event
    assert rec.events - contests >= supported
    counterfactual = simulate(load_scenario(shipped / "no-programme.yaml"), SEED, 0)
    assert len(counterfactual) > 10_000 and counterfactual.events < 5


def test_bulk_walk_and_a_startups_own_walk_agree_to_the_bit(make_scenario):
    """The vectorised walk of the never-supported start-ups is the same arithmetic as the walk a
    supported start-up runs for itself: replaying start-ups one by one gives identical paths,
    bridges and all."""
    sc = make_scenario({"regions": {"North": {"founding_rate_per_year": 900}},
                        "funding": {"max_bridges": 3, "bridge_probability_multiplier": 0.8}})
    world = World(sc, SEED, 2)
    pop, paths = world.population, world.paths
    sids = np.arange(0, len(pop), 3)
    assert len(sids) > 500
    stage, outcome, cause = [], [], []
    times, crossed, private = [], [], []
    for s in world.startups(sids):
        s.walk_alone()
        stage.append(s.stage)
        outcome.append(s.outcome)
        cause.append(s.cause)
        times.append(s.outcome_time)
        crossed.append(s.crossed_time)
        private.append((s.equity_krw, s.debt_krw, s.bridges_won))
    private = np.array(private)
    np.testing.assert_array_equal(paths.stage[sids], stage)
    np.testing.assert_array_equal(paths.outcome[sids], outcome)
    np.testing.assert_array_equal(paths.cause[sids], cause)
    np.testing.assert_array_equal(paths.outcome_time[sids], times)
    np.testing.assert_array_equal(paths.crossed_time[sids], crossed)
    np.testing.assert_array_equal(paths.equity_krw[sids], private[:, 0])
    np.testing.assert_array_equal(paths.debt_krw[sids], private[:, 1])
    np.testing.assert_array_equal(paths.bridges[sids], private[:, 2])
    # the check has teeth: every ending, bridges and crossings occur, and both channels pay out
    assert {ALIVE, DIED, ACQUIRED} <= set(outcome) and {CASH, FAILURE, MATURE} <= set(cause)
    assert (
        (paths.stage[sids] == 3).any()
        and (paths.equity_krw[sids] > 0).any()
        and (paths.bridges[sids] > 0).any()
    )


# ---------------------------------------------------------------------------------------------
# common random numbers and reproducibility
# ---------------------------------------------------------------------------------------------
def two_centres(make_scenario, north_opens: str, **extra_regions):
    """A scenario with a centre in each of two regions, the northern one opening at ``north_opens``.
    """
    return make_scenario(
        {
            "regions": {
                "North": {"founding_rate_per_year": 600},
                "South": {"founding_rate_per_year": 300},
                **extra_regions,
            },
            "centres": {
                "NorthHub": {
                    "region": "North",
                    "opens": north_opens,
                    "seats": 20,
                    "intake_size": 10,
                },
                "SouthHub": {"region": "South", "opens": "2015-01", "seats": 20, "intake_size": 10},
            },
        }
    )


ATTRIBUTES = (
    "founded",
    "quality",
    "sector",
    "cash",
    "burn",
    "team",
    "apply_u",
    "pitch_z",
    "work",
    "budgets",
    "raise_u",
    "raise_z",
    "debt_u",
    "debt_z",
    "bridge_u",
    "bridge_z",
    "conglomerate_u",
)


def test_common_random_numbers_across_a_policy_change(make_scenario):
    """Two scenarios differing only in one centre's opening date see the same start-ups with the
    same luck: same founding time, quality, sector, cash, burn per (region, serial); start-ups the
    change does not touch (the other region, and the never supported) live exactly the same
    lives."""
    early, late = two_centres(make_scenario, "2015-01"), two_centres(make_scenario, "2016-07")
    w_early, w_late = World(early, SEED, 4), World(late, SEED, 4)
    a, b = w_early.run(), w_late.run()
    for ce, cl in zip(w_early.cohorts, w_late.cohorts, strict=True):
        for attr in ATTRIBUTES:
            np.testing.assert_array_equal(getattr(ce, attr), getattr(cl, attr), err_msg=attr)

    ka, kb = key_index(a), key_index(b)
    assert ka.keys() == kb.keys()
    ia = np.array([ka[k] for k in ka])
    ib = np.array([kb[k] for k in ka])
    sa = {c: v[ia] for c, v in a.startups.items()}
    sb = {c: v[ib] for c, v in b.startups.items()}
    for col in ("founded", "quality", "sector", "team", "cohort_year"):
        np.testing.assert_array_equal(sa[col], sb[col], err_msg=col)

    north = sa["region"] == a.region_names.index("North")
    assert (sa["support_time"][north & sa["supported"]] < 30).any()
    assert (sb["support_time"][north & sb["supported"]] >= 30).all()
    south = ~north
    for col in sa:
        np.testing.assert_array_equal(sa[col][south], sb[col][south], err_msg=col)
    untouched = ~sa["supported"] & ~sb["supported"]
    assert untouched.sum() > 1000
    for col in ("outcome", "outcome_time", "cause", "stage_reached", "private_krw", "jobs"):
        np.testing.assert_array_equal(sa[col][untouched], sb[col][untouched], err_msg=col)


def test_regions_draw_from_their_own_streams(make_scenario):
    """Adding a region or raising one region's founding rate leaves every other start-up's luck
    alone; a higher rate keeps start-up i's row of luck and only adds start-ups."""
    base = two_centres(make_scenario, "2015-01")
    wider = two_centres(make_scenario, "2015-01", East={"founding_rate_per_year": 100})
    for region in ("North", "South"):
        c0, c1 = draw_cohort(base, region, SEED, 5), draw_cohort(wider, region, SEED, 5)
        for attr in ATTRIBUTES:
            np.testing.assert_array_equal(getattr(c0, attr), getattr(c1, attr), err_msg=attr)
    busier = make_scenario({"regions": {"North": {"founding_rate_per_year": 800}}})
    c0, c1 = draw_cohort(base, "North", SEED, 5), draw_cohort(busier, "North", SEED, 5)
    assert len(c1) > len(c0)
    for attr in ("quality", "sector", "cash", "burn", "work", "budgets"):
        np.testing.assert_array_equal(getattr(c1, attr)[: len(c0)], getattr(c0, attr), err_msg=attr)


def assert_same_records(a, b) -> None:
    """Two replications' records are the same, column by column."""
    assert len(a) == len(b)
    assert a.startups.keys() == b.startups.keys()
    for col in a.startups:
        np.testing.assert_array_equal(a.startups[col], b.startups[col], err_msg=col)
    assert a.costs == b.costs and a.centres == b.centres and a.events == b.events


def test_same_seed_same_records_different_seed_different_records(make_scenario):
    """A run is a pure function of (scenario, seed, replication); a new seed or replication is a new
    world."""
    sc = two_centres(make_scenario, "2015-01")
    first = simulate(sc, SEED, 0)
    assert_same_records(first, simulate(sc, SEED, 0))
    for other in (simulate(sc, SEED + 1, 0), simulate(sc, SEED, 1)):
        n = min(len(first), len(other))
        assert not np.array_equal(first.startups["founded"][:n], other.startups["founded"][:n])
        assert not np.array_equal(first.startups["quality"][:n], other.startups["quality"][:n])


def test_without_crn_scenarios_see_different_startups(make_scenario):
    """crn=False gives each scenario its own start-ups (still reproducible for a given scenario and
    seed)."""
    early, late = two_centres(make_scenario, "2015-01"), two_centres(make_scenario, "2016-07")
    a, b = simulate(early, SEED, 0, crn=False), simulate(late, SEED, 0, crn=False)
    for region in (0, 1):
        qa = a.startups["quality"][a.startups["region"] == region]
        qb = b.startups["quality"][b.startups["region"] == region]
        n = min(len(qa), len(qb))
        assert not (qa[:n] == qb[:n]).any()
    assert not math.isclose(a.startups["founded"][0], b.startups["founded"][0])
    assert_same_records(a, simulate(early, SEED, 0, crn=False))
    crn = simulate(early, SEED, 0)
    assert not np.array_equal(crn.startups["quality"][:100], a.startups["quality"][:100])


def test_public_cost_is_kept_apart_from_partners_investment_and_cohort_cost_is_the_cohorts_share():
    """public_cost_krw = operating (fixed, per supported start-up, education) + grants + the public
    money in the partners' linked funds (net of what comes back); partners' own money is not in it;
    the cohort window's public cost is its grants plus the other costs in proportion to its share of
    the supported."""
    import numpy as np

    from sim.analysis.metrics import replication_metrics
    from sim.model import simulate
    from sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "ccei-announced.yaml",
                       ["regions.*.founding_rate_per_year=40"])
    rec = simulate(sc, 7, 0)
    m = replication_metrics(rec, sc.calendar)
    assert m["public_cost_krw"] == pytest.approx(
        m["operating_cost_krw"]
        + m["grants_krw"]
        + m["partners_public_cost_krw"]
        + m["funds_public_cost_krw"]
    )
    assert m["partners_public_cost_krw"] > 0 and m["funds_public_cost_krw"] == 0
    assert m["programme_cost_krw"] == pytest.approx(
        m["public_cost_krw"] + m["partner_investment_krw"]
    )
    s = rec.startups
    cal = sc.calendar
    cohort = (s["cohort_year"] >= cal.cohort_first_year) & (
        s["cohort_year"] <= cal.cohort_last_year
    )
    share = (s["supported"] & cohort).sum() / s["supported"].sum()
    expected = (
        s["grant_krw"][cohort].sum()
        + (m["operating_cost_krw"] + m["partners_public_cost_krw"]) * share
    )
    assert m["cohort_public_cost_krw"] == pytest.approx(expected)
    assert 0 < m["cohort_public_cost_krw"] < m["public_cost_krw"]
    w = s["weight"]
    assert m["cohort_jobs_end"] == pytest.approx(
        float((w * s["jobs"])[(s["outcome"] == 0) & cohort].sum())
    )
    assert np.isfinite(m["cohort_jobs_end"]) and m["cohort_jobs_end"] <= m["jobs_end"]


# ---------------------------------------------------------------------------------------------
# mechanisms with their evidence: each lever moves outcomes in the direction its source says
# ---------------------------------------------------------------------------------------------
def _supported_world(overrides=(), seed=11):
    from sim.scenario import load_scenario

    # a small economy, everyone simulated, every willing start-up applying, constant capacity
    base = [
        "regions.*.founding_rate_per_year=150",
        "sampling.full_below_apply=1",
        "sampling.others_weight=1",
        "centre_defaults.apply_probability=0.8",
        "centre_defaults.seats=60",
        "centre_defaults.intake_size=30",
        "timeline=null",
    ]
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "ccei-announced.yaml",
                       [*base, *overrides])
    return sc, simulate(sc, seed, 0).startups


def test_a_grant_raises_its_recipients_later_funding_odds_not_the_selection():
    """grants.funding_odds_multiplier: the same firms are granted (selection is untouched) and they
    raise more venture money (Howell, AER 2017: an SBIR award about doubles later venture funding).
    With no coupling to the market (investors bring the extra money) nobody else's walk changes."""
    _, a = _supported_world(
        ["centre_defaults.grants.funding_odds_multiplier=1", "market.coupling=0"]
    )
    _, b = _supported_world(
        ["centre_defaults.grants.funding_odds_multiplier=2", "market.coupling=0"]
    )
    ga, gb = a["grant_krw"] > 0, b["grant_krw"] > 0
    # the same firms granted in both worlds (later contests may differ as seats free up)
    both = ga & gb
    assert ga.sum() > 50 and both.sum() > 0.8 * ga.sum()
    assert b["equity_krw"][both].sum() > 1.1 * a["equity_krw"][both].sum()
    never = ~(a["supported"] | b["supported"])
    assert (a["private_krw"][never] == b["private_krw"][never]).all()


def test_acceleration_resolves_faster_both_ways():
    """training.resolution_multiplier: during the residency weak start-ups fail earlier and strong
    ones reach their milestones earlier (Yu, 2020; Winston Smith and Hannigan, 2015)."""
    neutral = [
        "centre_defaults.training.hazard_multiplier_during=1",
        "centre_defaults.training.speed_multiplier_during=1",
    ]
    _, a = _supported_world([*neutral, "centre_defaults.training.resolution_multiplier=1"])
    _, b = _supported_world([*neutral, "centre_defaults.training.resolution_multiplier=2.5"])
    sup = a["supported"] & b["supported"]
    assert sup.sum() > 200

    def died_within(s, months):
        return float(
            ((s["outcome"] == DIED) & (s["outcome_time"] - s["support_time"] <= months))[sup].mean()
        )

    def crossed_within(s, months):
        return float((s["crossed_time"] - s["support_time"] <= months)[sup].mean())

    assert died_within(b, 9) > died_within(a, 9) + 0.01  # earlier failure
    assert crossed_within(b, 24) > crossed_within(a, 24) + 0.01  # earlier milestones


def test_a_network_boost_with_a_half_life_fades():
    """training.funding_odds_half_life_months: the network's extra odds fade after selection, so the
    supported raise less than with a boost for life (and the unsupported are untouched)."""
    _, life = _supported_world(["centre_defaults.training.funding_odds_multiplier=2"])
    _, fade = _supported_world(["centre_defaults.training.funding_odds_multiplier=2",
                                "centre_defaults.training.funding_odds_half_life_months=6"])
    _, none = _supported_world(["centre_defaults.training.funding_odds_multiplier=1"])
    sup = life["supported"]
    assert (
        none["equity_krw"][sup].sum()
        < fade["equity_krw"][sup].sum()
        < life["equity_krw"][sup].sum()
    )


def test_a_capacity_schedule_changes_admissions_only_from_its_year():
    """timeline.2018-01.centres.*.seats: more seats from 2018 admit more start-ups from 2018 on;
    everything before 2018 is exactly as without the change (common random numbers)."""
    sc, a = _supported_world(["centre_defaults.seats=10"])
    _, b = _supported_world(["centre_defaults.seats=10", "timeline.2018-01.centres.*.seats=80"])
    m2018 = sc.calendar.month("2018-01")
    before_a = a["supported"] & (a["support_time"] < m2018)
    before_b = b["supported"] & (b["support_time"] < m2018)
    assert (before_a == before_b).all() and before_a.sum() > 0
    after_a = (a["supported"] & (a["support_time"] >= m2018)).sum()
    after_b = (b["supported"] & (b["support_time"] >= m2018)).sum()
    assert after_b > 2 * after_a
    # a dated intake size: larger contests from 2018 when seats allow; the same before
    _, c = _supported_world(["centre_defaults.seats=200", "centre_defaults.intake_size=5"])
    _, d = _supported_world(["centre_defaults.seats=200", "centre_defaults.intake_size=5",
                             "timeline.2018-01.centre_defaults.intake_size=20"])
    before_c = c["supported"] & (c["support_time"] < m2018)
    assert (before_c == (d["supported"] & (d["support_time"] < m2018))).all() and before_c.sum() > 0
    after_c = (c["supported"] & (c["support_time"] >= m2018)).sum()
    assert (d["supported"] & (d["support_time"] >= m2018)).sum() > 2 * after_c


def test_draws_reused_across_scenarios_give_exactly_the_same_replication():
    """A worker reuses a replication's cohorts and unsupported walk for the next scenario that
    shares them (another programme, same economy); the result equals a run from scratch, to the bit,
    and a scenario with another funding market reuses the cohorts but walks again."""
    from sim.model import reuse
    from sim.scenario import load_scenario

    ship = Path(__file__).resolve().parents[1] / "scenarios"
    small = ["regions.*.founding_rate_per_year=60"]
    base = load_scenario(ship / "ccei-announced.yaml", small)
    variant = load_scenario(ship / "double-grants.yaml", small)
    market = load_scenario(
        ship / "ccei-announced.yaml", [*small, "funding.bridge_probability_multiplier=0.3"]
    )
    n = len(base.regions)
    reuse.clear()

    def stats():
        return tuple(
            (reuse.STATS[k]["hits"], reuse.STATS[k]["misses"])
            for k in ("cohorts", "walk", "economy")
        )

    simulate(base, 5, 1)
    # each region's cohort and walk, and the economy they make
    assert stats() == ((0, n), (0, n), (0, 1))
    shared = simulate(variant, 5, 1)
    assert stats() == ((n, n), (n, n), (1, 1))
    simulate(market, 5, 1)
    assert stats() == ((2 * n, n), (n, 2 * n), (1, 2))  # cohorts reused, the walks made anew
    # founder education in one region: that region alone is drawn and walked again
    edu = load_scenario(
        ship / "ccei-announced.yaml",
        [*small, "founder_education.samsung-software-daegu.founding_rate_multiplier=1.5"],
    )
    simulate(edu, 5, 1)
    assert stats() == ((3 * n - 1, n + 1), (n + n - 1, 2 * n + 1), (1, 3))
    # back to the first economy: still kept (three economies are)
    simulate(base, 5, 1)
    assert stats() == ((4 * n - 1, n + 1), (2 * n - 1 + n, 2 * n + 1), (2, 3))
    # another replication's economy drops this one's (regions stay: three replications' are kept)
    simulate(base, 5, 2)
    simulate(base, 5, 1)
    assert stats() == ((5 * n - 1, 2 * n + 1), (3 * n - 1 + n, 3 * n + 1), (2, 5))
    reuse.clear()
    fresh = simulate(variant, 5, 1)
    for col, values in fresh.startups.items():
        assert np.array_equal(values, shared.startups[col], equal_nan=True), col
    assert fresh.costs == shared.costs and fresh.events == shared.events


def test_an_economy_with_other_venture_money_shares_the_population_and_its_results_are_exact():
    """Regional funds change the venture money, so the walks and the economy are made anew, but the
    start-ups and their rates (the population, its row table) are the ones already built; the
    result equals a run from scratch to the bit, and the first economy's exits are untouched."""
    from sim.model import reuse
    from sim.scenario import load_scenario

    ship = Path(__file__).resolve().parents[1] / "scenarios"
    small = ["regions.*.founding_rate_per_year=60"]
    base = load_scenario(ship / "ccei-announced.yaml", small)
    funds = load_scenario(ship / "regional-funds.yaml", small)
    reuse.clear()
    first = simulate(base, 5, 1)
    shared = simulate(funds, 5, 1)
    counts = {k: (reuse.STATS[k]["hits"], reuse.STATS[k]["misses"])
              for k in ("economy", "population")}
    assert counts == {"economy": (0, 2), "population": (1, 1)}
    again = simulate(base, 5, 1)  # the first economy, from the cache, after the second was made
    # each economy's applicant pools hold its own walks' exits, not the other's: its own pools
    economies = list(reuse._CACHES["economy"].values())
    assert len({id(e.population._pools) for e in economies}) == len(economies) == 2
    for economy in economies:
        for cand, _founded, leaves, _apply, _starts in economy.population._pools.values():
            assert np.array_equal(leaves, economy.paths.leaves[cand])
    reuse.clear()
    alone = simulate(funds, 5, 1)
    for col, values in alone.startups.items():
        assert np.array_equal(values, shared.startups[col], equal_nan=True), col
        assert np.array_equal(again.startups[col], first.startups[col], equal_nan=True), col
    assert not np.array_equal(shared.startups["equity_krw"], first.startups["equity_krw"])
    assert alone.costs == shared.costs and alone.events == shared.events
