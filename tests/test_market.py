"""The venture market and the money channels: supply from the series, rationing to a fixed point
that is exactly a walk under its multipliers, displacement of the never-supported, public funds with
a cost, and the yearly ledger adding up to the whole-run metrics.

Small two-region economies built in code (see conftest.SMALL); the market's supply is set so that it
binds (investors ration), which is what every test here is about."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.ledger import year_rows
from sim.analysis.metrics import replication_metrics
from sim.model import market, simulate
from sim.model.books import FUNDS, ITEMS
from sim.model.codes import DIED
from sim.model.population import Population
from sim.model.walk import walk
from sim.model.world import World
from sim.scenario import load_scenario

SEED = 20261201


def market_section(krw_per_year: float) -> dict:
    """A venture market of ``krw_per_year`` a year for firms under three, two thirds of it in North.
    """
    return {
        "venture_investment_krw_by_year": {2014: krw_per_year},
        "under_3_share_by_year": {2014: 1.0},
        "region_shares": {"North": 2.0, "South": 1.0},
    }


def centre(**extra) -> dict:
    """A centre in North open from 2015 (``extra`` keys added)."""
    return {"NorthHub": {"region": "North", "opens": "2015-01", "seats": 40, "intake_size": 20,
                         "apply_probability": 0.5, **extra}}


def test_supply_is_the_series_times_the_modelled_ages_and_the_regions_share(shipped):
    """The shipped market: Seoul's venture money in 2017 is the national figure x the share going to
    firms of the ages the calendar holds (under-3 share + three of the four 3-to-7 years) x the
    capital region's share x Seoul's weight inside it."""
    sc = load_scenario(shipped / "no-programme.yaml")
    supply = market.supply(sc)
    years = market.period_years(sc.calendar)
    seoul = list(sc.regions).index("Seoul")
    expected = 2_380_300_000_000 * (0.327 + 0.280 * 3 / 4) * 0.823 * 53.0 / (53.0 + 21.0 + 1.0)
    assert supply[seoul, years == 2017].sum() == pytest.approx(expected, rel=1e-12)
    # between published years the series is interpolated in logs: 2014 lies between 2013 and 2015
    national = market.by_year(sc.market.venture_investment_krw_by_year, np.array([2014]), log=True)[
        0
    ]
    assert national == pytest.approx((1_384_500_000_000 * 2_085_800_000_000) ** 0.5, rel=1e-12)


def test_past_the_data_the_series_holds_or_follows_its_fitted_trend(shipped):
    """Past 2021 the shipped series holds its last value; with trend_fit_years it follows the
    log-linear trend fitted to those years, from the fitted level at the last of them, at the fit's
    growth or at growth_after_data_per_year (the outlook's); the years of the data are unchanged."""
    from sim.scenario.loader import load_scenario as load

    years = np.arange(2013, 2036)
    held = load(shipped / "no-programme.yaml")
    series = held.market.venture_investment_krw_by_year
    fitted = [2015, 2016, 2017, 2018, 2019, 2020]
    slope, intercept = np.polyfit(fitted, np.log([series[y] for y in fitted]), 1)
    national = market.national_series(held.market, years)
    assert national[years > 2021] == pytest.approx(series[2021], rel=1e-12)
    own = load(shipped / "no-programme.yaml", ["market.trend_fit_years=[2015, 2020]"])
    trend = market.national_series(own.market, years)
    assert np.array_equal(trend[years <= 2021], national[years <= 2021])
    assert trend[years > 2021] == pytest.approx(
        np.exp(intercept + slope * years[years > 2021]), rel=1e-9
    )
    outlook = load(shipped / "outlook" / "no-programme-2035.yaml")
    assert outlook.market.trend() == pytest.approx((2020, np.exp(intercept + slope * 2020), 0.189))
    flat = load(
        shipped / "outlook" / "no-programme-2035.yaml", ["market.growth_after_data_per_year=0"]
    )
    assert market.national_series(flat.market, years)[years > 2021] == pytest.approx(
        np.exp(intercept + slope * 2020), rel=1e-9)


@pytest.mark.parametrize("sets, expected", [
    (["market.growth_after_data_per_year=0.1"], "only with trend_fit_years"),
    (["market.trend_fit_years=[2015, 2014]"], "two years, the first before the second"),
    (["market.trend_fit_years=[2014, 2020]"], "years of venture_investment_krw_by_year"),
])
def test_a_trend_past_the_data_is_checked(shipped, sets, expected):
    """A growth without the trend it continues, or fit years not in the series, is one clear error.
    """
    from sim.errors import ScenarioError
    from sim.scenario.loader import load_scenario as load

    with pytest.raises(ScenarioError) as info:
        load(shipped / "no-programme.yaml", sets)
    assert expected in info.value.message and info.value.exit_code == 2


def test_settled_walks_are_exactly_a_walk_under_the_final_multipliers(make_scenario):
    """The fixed point re-walks only the start-ups whose round decisions flip, yet its paths equal a
    fresh walk of everyone under the final m, to the bit; and the final m clears every cell (the
    money expected to be handed out is the money available where investors ration, at most it
    elsewhere)."""
    sc = make_scenario({"market": market_section(8e9)})
    world = World(sc, SEED, 1)
    econ = world.economy
    m = econ.m
    assert (m < 1).any() and (m > 0).any()  # the market binds somewhere, not shut everywhere
    fresh = walk(econ.population, world.rules, m)
    for name in ("stage", "outcome", "cause", "equity_krw", "debt_krw", "bridges", "eq_month",
                 "eq_odds"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(econ.paths, name), err_msg=name)
    np.testing.assert_array_equal(fresh.outcome_time, econ.paths.outcome_time)
    paid = econ.market.demand.at(m.ravel())
    available = world.supply.ravel()
    assert np.all(paid <= available * (1 + 1e-9) + 1.0)
    rationed = m.ravel() < 1
    np.testing.assert_allclose(paid[rationed], available[rationed], rtol=1e-6)


def test_less_venture_money_means_lower_odds_for_every_seeker_and_less_raised(make_scenario):
    """Halving the supply lowers the multiplier in every rationed cell and the money raised; with no
    supply at all nobody raises a venture round; loans are not rationed."""
    runs = {
        x: simulate(make_scenario({"market": market_section(x)}), SEED, 0) for x in (8e9, 4e9, 1.0)
    }
    eq = {
        x: float((r.startups["weight"] * r.startups["equity_krw"]).sum()) for x, r in runs.items()
    }
    assert eq[8e9] > eq[4e9] > 0 and eq[1.0] == 0.0
    m8, m4 = runs[8e9].market["m"], runs[4e9].market["m"]
    rationed = m8 < 1
    assert rationed.sum() > 10 and (m4[rationed] < m8[rationed]).all()
    # the money handed out follows the supply: within the noise of which seekers' draws fall under
    # the bar
    assert eq[4e9] == pytest.approx(eq[8e9] / 2, rel=0.35)


def test_a_programme_that_raises_venture_odds_displaces_the_never_supported(make_scenario):
    """Supported firms whose odds a grant triples win more venture rounds; with full coupling the
    money comes out of the never-supported (they raise less, and their re-walked paths are exactly
    walks under the market's new multipliers), with no coupling nobody else changes."""
    over = {
        "market": market_section(6e9),
        "centres": centre(grants={"funding_odds_multiplier": 3.0}),
    }
    full = World(
        make_scenario({**over, "market": {**market_section(6e9), "coupling": 1.0}}), SEED, 2
    )
    rec = full.run()
    none = simulate(
        make_scenario({**over, "market": {**market_section(6e9), "coupling": 0.0}}), SEED, 2
    )
    s, s0 = rec.startups, none.startups
    never = ~s["supported"]
    assert (s["supported"] == s0["supported"]).all()
    assert (rec.market["extra"].sum() > 0) and rec.alone["sid"].size > s["supported"].sum()
    assert s["equity_krw"][never].sum() < s0["equity_krw"][never].sum()
    m = replication_metrics(rec, full.scenario.calendar)
    assert m["displacement_equity_krw"] < 0
    # every won investors expect to hand out has a source: the supply, or (coupling < 1) money they
    # bring
    for r in (rec, none):
        mk = r.market
        assert np.all(mk["paid"] <= (mk["supply"] + mk["induced"]) * (1 + 1e-9) + 1.0)
    assert replication_metrics(none, full.scenario.calendar)["displacement_equity_krw"] == 0.0
    economy = (
        full.paths
    )  # coupling does not enter the economy: with none, the never-supported keep its paths
    for col in ("outcome", "equity_krw", "debt_krw"):
        np.testing.assert_array_equal(s0[col][never], getattr(economy, col)[never], err_msg=col)
    moved = np.setdiff1d(rec.alone["sid"], np.flatnonzero(s["supported"]))
    again = walk(full.population, full.rules, rec.market["m_others"], moved)
    np.testing.assert_array_equal(again.equity_krw, s["equity_krw"][moved])
    np.testing.assert_array_equal(again.outcome, s["outcome"][moved])


def test_the_programmes_odds_multipliers_act_on_venture_rounds_only(make_scenario):
    """With no venture rounds in the economy, a grant's and the network's odds multipliers change
    nothing: the evidence behind them (Howell 2017, Koo 2018) is about investors, not lenders."""
    no_equity = {
        "funding": {
            "equity": {
                "rounds": {s: {"probability": 0.0} for s in ("prototype", "product", "traction")}
            }
        }
    }
    a = simulate(make_scenario({**no_equity, "centres": centre()}), SEED, 0)
    b = simulate(
        make_scenario(
            {
                **no_equity,
                "centres": centre(
                    grants={"funding_odds_multiplier": 3.0},
                    training={"funding_odds_multiplier": 3.0},
                ),
            }
        ),
        SEED,
        0,
    )
    assert (
        a.startups["supported"].sum() > 20
        and a.startups["debt_krw"][a.startups["supported"]].sum() > 0
    )
    for col, values in a.startups.items():
        np.testing.assert_array_equal(values, b.startups[col], err_msg=col)


def test_a_public_fund_adds_money_where_and_when_it_invests_at_a_public_cost(make_scenario):
    """A fund of 10 bn KRW, 40 % public, investing in South over two years from 2015-01: South's
    supply rises by what it invests (its size less the fees over its life) in exactly those
    quarters, the venture money raised there rises, and its public cost is 40 % of the fund net of
    what comes back, booked as the money is called."""
    fund = {
        "size_krw": 10e9,
        "public_share": 0.4,
        "starts": "2015-01",
        "invest_years": 2,
        "regions": ["South"],
    }
    base = make_scenario({"market": market_section(6e9)})
    with_fund = make_scenario({"market": market_section(6e9), "funds": {"south": fund}})
    added = market.supply(with_fund) - market.supply(base)
    mk = with_fund.market
    invested = 10e9 * (1 - mk.fund_fee_per_year * mk.fund_life_years)
    assert added[0].sum() == 0 and added[1].sum() == pytest.approx(invested)
    quarters = np.flatnonzero(added[1])
    assert quarters[0] == 4 and quarters.size == 8  # 2015-01 is the fifth quarter from 2014-01
    a, b = simulate(base, SEED, 0), simulate(with_fund, SEED, 0)
    south = b.startups["region"] == 1
    assert (b.startups["weight"] * b.startups["equity_krw"])[south].sum() > (
        a.startups["weight"] * a.startups["equity_krw"])[south].sum()
    share = 1 - (1 - 0.02 * 8) * (1.0343 / 1.045) ** (8 - 1)
    assert market.net_cost_share(mk, 2) == pytest.approx(share)
    funds = b.spending[b.spending[:, 2] == FUNDS]
    assert funds[:, 1].sum() == pytest.approx(0.4 * 10e9 * share)
    assert set(np.unique(funds[:, 0] // 3).astype(int)) == set(quarters)
    m = replication_metrics(b, with_fund.calendar)
    assert m["funds_public_cost_krw"] == pytest.approx(0.4 * 10e9 * share)
    assert m["public_cost_krw"] == pytest.approx(
        replication_metrics(a, base.calendar)["public_cost_krw"] + 0.4 * 10e9 * share
    )


def test_the_yearly_ledger_adds_up_to_the_whole_run(make_scenario):
    """years.parquet's rows: every year of the calendar, and their sums are the whole-run metrics
    (money raised by channel, supply, public cost, grants, partners' money, supported start-ups)."""
    sc = make_scenario(
        {
            "market": market_section(6e9),
            "centres": centre(partner="Big", operating_cost_krw_per_supported=5e6),
            "conglomerates": {"Big": {"public_share": 0.5}},
        }
    )
    rec = simulate(sc, SEED, 3)
    rows = year_rows(rec, sc.calendar)
    m = replication_metrics(rec, sc.calendar)
    assert [r["year"] for r in rows] == list(range(2014, 2019))
    total = {k: sum(r[k] for r in rows) for k in rows[0]}
    pairs = (
        ("equity_raised_krw", "equity_raised_krw"),
        ("debt_raised_krw", "debt_raised_krw"),
        ("equity_supply_krw", "equity_supply_krw"),
        ("public_cost_krw", "public_cost_krw"),
        ("grants_krw", "grants_krw"),
        ("partner_investment_krw", "partner_investment_krw"),
        ("supported_new", "supported"),
        ("bridge_rounds", "bridge_rounds"),
    )
    for row_key, metric in pairs:
        assert total[row_key] == pytest.approx(m[metric], rel=1e-9, abs=1e-3), row_key
    assert (
        m["partner_investment_krw"] > 0
        and m["partners_public_cost_krw"] > 0
        and total["equity_firms"] > 0
    )
    assert rec.costs["per_supported_krw"] == pytest.approx(5e6 * rec.startups["supported"].sum())
    assert set(rec.costs) >= {f"{i}_krw" for i in ITEMS}


def test_founder_education_reports_the_startups_it_creates(make_scenario):
    """A founding-rate multiplier of 1.25 from 2015 in North: a fifth of North's later foundings are
    the education's (in expectation), and their survivors are reported as their own line."""
    sc = make_scenario({"founder_education": {"edu": {"region": "North", "starts": "2015-01",
                                                      "founding_rate_multiplier": 1.25}}})
    rec = simulate(sc, SEED, 0)
    m = replication_metrics(rec, sc.calendar)
    s = rec.startups
    later = (s["region"] == 0) & (s["founded"] >= 12) & (s["cohort_year"] <= 2016)
    assert m["education_startups"] == pytest.approx(0.2 * s["weight"][later].sum())
    assert 0 < m["education_survivors_5y"] < m["education_startups"]
    plain = replication_metrics(simulate(make_scenario(), SEED, 0), sc.calendar)
    assert plain["education_startups"] == 0.0 and plain["education_survivors_5y"] == 0.0


def test_a_region_walk_alone_equals_its_part_of_the_economy(make_scenario):
    """The market clears each region on its own (a start-up seeks money in its region): the
    economy's paths of a region are that region's walk settled alone."""
    sc = make_scenario({"market": market_section(8e9)})
    world = World(sc, SEED, 4)
    pop = Population(sc, [world.cohorts[1]])
    alone = market.settle(pop, world.rules, world.supply[1:2])
    start = len(world.cohorts[0])
    np.testing.assert_array_equal(alone.m[0], world.economy.m[1])
    np.testing.assert_array_equal(alone.paths.equity_krw, world.economy.paths.equity_krw[start:])


def test_the_outlook_posterior_draws_the_supply_growth_for_the_outlook_only(shipped):
    """scenarios/posteriors/outlook carries a prior on the venture money's growth past the data: its
    draws set it in the outlook's files (which hold the fitted 0.189) and in no file of the
    historical library (which holds the series past 2021)."""
    from sim.scenario.draws import load_draws
    from sim.scenario.loader import base_data, resolved_dict, validate
    from sim.scenario.loader import load_scenario as load

    key = "market.growth_after_data_per_year"
    draws = load_draws(shipped / "posteriors" / "outlook", 5, seed=20140902)
    outlook = shipped / "outlook" / "carry-on.yaml"
    assert key in draws.applied("carry-on", resolved_dict(load(outlook)))
    as_run = resolved_dict(load(shipped / "ccei-as-run.yaml"))
    assert key not in draws.applied("ccei-as-run", as_run)
    grown = [dict(zip(draws.keys, v, strict=True))[key] for v in draws.values]
    assert all(0 <= g <= 0.25 for g in grown) and len(set(grown)) == 5
    paths = draws.paths("carry-on", resolved_dict(load(outlook)))
    sc = validate(draws.data_for(base_data(outlook), 2, paths))
    assert sc.market.trend()[2] == grown[2]


def test_sums_taken_once_per_economy_equal_the_direct_sums(make_scenario):
    """The metrics a replication sums over every start-up are the economy's sums corrected where
    the programme changed a row (analysis.totals): the same numbers as summing its records directly
    (counts exactly; money to rounding), for a programme whose venture odds displace the
    never-supported (rows moved) with founder education, a second programme of the same economy
    (the sums kept from the first), and the economy without any programme."""
    from dataclasses import replace

    from sim.analysis.metrics import region_metrics

    edu = {"edu": {"region": "North", "starts": "2015-01", "founding_rate_multiplier": 1.25}}
    over = {"market": {**market_section(6e9), "coupling": 1.0}, "founder_education": edu}
    scenarios = [
        make_scenario({**over, "centres": centre(grants={"funding_odds_multiplier": 3.0})}),
        make_scenario({**over, "centres": centre(seats=80)}),
        make_scenario({**over, "centres": {}}),
    ]
    moved = 0
    for sc in scenarios:
        rec = simulate(sc, SEED, 1)
        assert rec.economy is not None
        moved += rec.alone["sid"].size - int(rec.startups["supported"].sum())
        direct = replace(rec, economy=None)
        got, want = replication_metrics(rec, sc.calendar), replication_metrics(direct, sc.calendar)
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-9, nan_ok=True), k
            if k.endswith(("survivors_5y", "startups", "supported", "acquired", "alive_end")):
                assert got[k] == v or (np.isnan(v) and np.isnan(got[k])), k
        # and as the records say, written out here
        st, never = rec.startups, ~rec.startups["supported"]
        assert got["never_supported_equity_krw"] == pytest.approx(
            float((st["weight"] * st["equity_krw"])[never].sum()), rel=1e-12)
        cohort = (st["cohort_year"] >= sc.calendar.cohort_first_year) & (
            st["cohort_year"] <= sc.calendar.cohort_last_year)
        alive5 = ~((st["outcome"] == DIED) & (st["outcome_time"] - st["founded"] <= 60.0))
        assert got["never_supported_survivors_5y"] == st["weight"][never & cohort & alive5].sum()
        for a, b in zip(region_metrics(rec, sc.calendar), region_metrics(direct, sc.calendar),
                        strict=True):
            assert a["region"] == b["region"] and a.keys() == b.keys()
            for k in a.keys() - {"region"}:
                assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-9, nan_ok=True), k
    assert moved > 0  # the market moved never-supported start-ups: their rows were corrected


def test_the_sums_kept_per_economy_go_with_their_economy(make_scenario):
    """The sums kept for an economy (analysis.totals) do not keep it alive: once the model's cache
    lets the economy go and its records are dropped, its kept sums are gone too (a worker's memory
    stays that of the economies its cache holds)."""
    import gc
    import weakref

    from sim.analysis import totals
    from sim.model import reuse

    sc = make_scenario({"centres": centre()})
    reuse.clear()
    rec = simulate(sc, SEED, 3)
    replication_metrics(rec, sc.calendar)
    assert rec.economy in totals._ECONOMIES
    economy = weakref.ref(rec.economy)
    kept = len(totals._ECONOMIES)
    del rec
    reuse.clear()
    gc.collect()
    # gone, and its kept sums with it (other tests' economies may go at the same time)
    assert economy() is None and len(totals._ECONOMIES) <= kept - 1
