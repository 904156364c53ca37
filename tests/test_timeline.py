"""The dated timeline: keys that take a new value from a month on.

How a timeline is written, resolved and refused (file, key and month in one paragraph, exit 2); that
a resolved timeline rebuilds the same scenario; and that the model honours a change at its month and
not before: two runs, with and without the change, are identical up to that month (every centre's
and partner's books, every supported start-up's state) and differ after it the way the change says.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import ScenarioError
from sim.model.world import World
from sim.scenario import load_scenario, resolved_dict
from sim.scenario.loader import validate
from sim.scenario.schema import Scenario
from sim.scenario.timeline import dated_changes, monthly_values, per_year_total

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios"
SMALL = ["regions.*.founding_rate_per_year=300"]
"""A small economy (300 start-ups a year in each region) of the shipped programme."""


def error_of(data: dict, origin: str = "small.yaml") -> str:
    """The ScenarioError message validating ``data`` gives (exit code 2)."""
    with pytest.raises(ScenarioError) as info:
        validate(data, origin)
    assert info.value.exit_code == 2
    return info.value.message


def with_centre(scenario_dict, timeline) -> dict:
    """``scenario_dict`` with a centre, two partners and ``timeline``."""
    return scenario_dict(
        {
            "conglomerates": {"SK": {}, "KT": {}},
            "centre_defaults": {"seats": 20, "intake_size": 5},
            "centres": {
                "Alpha": {"region": "North", "partner": "SK", "opens": "2014-06"},
                "Beta": {"region": "South", "opens": "2014-06", "seats": 7},
            },
            "timeline": timeline,
        }
    )


# ---------------------------------------------------------------------------------------------
# writing and resolving a timeline
# ---------------------------------------------------------------------------------------------
def test_a_timeline_resolves_to_the_concrete_keys_it_changes(scenario_dict):
    """Wildcards and centre_defaults are worked out: a default reaches only the centres that do not
    set the key themselves, later changes in a month win, and an unchanged value is no change."""
    sc = validate(
        with_centre(
            scenario_dict,
            {
                "2016-01": {
                    "centre_defaults.seats": 30,
                    "centres.*.partner": "KT",
                    "centres.Beta.partner": None,
                },
                "2017-07": {
                    "centres": {"Alpha": {"intake_size": 9}},
                    "conglomerates.SK.annual_budget_krw": 0,
                },
                "2018-01": {"centres.Beta.seats": 7},
            },
        )
    )  # Beta already has 7: nothing changes
    assert sc.timeline == {
        "2016-01": {
            "centre_defaults.seats": 30,
            "centres.Alpha.seats": 30,
            "centres.Alpha.partner": "KT",
        },
        "2017-07": {"centres.Alpha.intake_size": 9, "conglomerates.SK.annual_budget_krw": 0.0},
    }
    assert [c.seats for c in (sc.centres["Alpha"], sc.at(24).centres["Alpha"])] == [20, 30]
    assert sc.at(24).centres["Beta"].seats == 7 and sc.at(24).centres["Beta"].partner is None
    assert (
        sc.at(23.99).centres["Alpha"].partner == "SK" and sc.at(24).centres["Alpha"].partner == "KT"
    )
    assert sc.schedule("centres.Alpha.intake_size") == [(0.0, 5), (42.0, 9)]
    assert list(monthly_values(sc, "conglomerates.SK.annual_budget_krw")[[0, 41, 42, 59]]) == [
        3e9,
        3e9,
        0,
        0,
    ]


def test_a_resolved_timeline_rebuilds_the_same_scenario(shipped):
    """The manifest keeps the resolved scenario: validating it again gives the same scenario in
    force at every month (what a worker or a resume rebuilds)."""
    sc = load_scenario(
        shipped / "ccei-as-opened.yaml",
        [
            "timeline.2018-03.centres.*.partner=null",
            "timeline.2020-01.centre_defaults.training.hazard_multiplier_after=0.9",
        ],
    )
    again = Scenario.model_validate(resolved_dict(sc))
    assert resolved_dict(again) == resolved_dict(sc)
    assert (
        [m for m, _ in again.epochs()]
        == [m for m, _ in sc.epochs()]
        == [0.0, 48.0, 74.0, 84.0, 96.0]
    )
    for (_, a), (_, b) in zip(again.epochs(), sc.epochs(), strict=True):
        assert resolved_dict(a) == resolved_dict(b)
    assert {c.training.hazard_multiplier_after for c in sc.at(96).centres.values()} == {0.9}
    assert {c.partner for c in sc.at(74).centres.values()} == {None}


def test_a_resolved_timeline_is_in_the_same_order_in_every_process(shipped):
    """A month's changes came in the order of a set of section names, which Python's string hashing
    shuffles from process to process: the manifest's resolved timeline, and the report's table of
    what a scenario changes (which shows its first rows), differed between two identical runs."""
    import os
    import subprocess
    import sys

    script = ("import json, sys; from sim.scenario import load_scenario, resolved_dict; "
              "print(json.dumps(resolved_dict(load_scenario(sys.argv[1]))['timeline']))")
    seen = set()
    for seed in ("0", "1", "2", "3"):
        r = subprocess.run([sys.executable, "-c", script, str(shipped / "ccei-as-run.yaml")],
                           capture_output=True, text=True, check=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": seed})
        seen.add(r.stdout)
    assert len(seen) == 1


def test_the_folded_capacity_schedules_keep_the_shipped_growth(shipped):
    """seats_by_year and intake_size_by_year became the timeline: the same seats and intakes each
    year (Daejeon 10 a contest, 17 from 2016, 128 from 2019; the foreign branches the centres'
    growth)."""
    sc = load_scenario(shipped / "foreign-accelerators.yaml")
    cal = sc.calendar

    def at(year, centre):
        c = sc.at(cal.month(f"{year}-06")).centres[centre]
        return c.seats, c.intake_size

    assert [at(y, "Daejeon") for y in (2015, 2016, 2019)] == [(20, 10), (20, 17), (255, 128)]
    assert [at(y, "Daegu") for y in (2015, 2016, 2019)] == [(60, 14), (60, 17), (255, 64)]
    assert [at(y, "Google Campus "
                  "Seoul") for y in (2015, 2016, 2019)] == [(40, 20), (40, 17), (255, 64)]
    grants_only = load_scenario(shipped / "grants-only.yaml")
    assert {c.intake_size for m, e in grants_only.epochs() for c in e.centres.values()} == {10}
    rows = dated_changes(resolved_dict(load_scenario(shipped / "ccei-announced.yaml")))
    assert [(r["month"], r["key"], r["before_text"], r["after"]) for r in rows][:2] == [
        ("2016-01", "centres.*.intake_size", "14 (Daejeon: 10)", 17),
        ("2019-01", "centres.*.seats", "60 (Daejeon: 20)", 255)]


def test_a_child_merges_its_timeline_into_its_parent_s(write_scenario):
    """A child's timeline merges into its parent's, month by month."""
    write_scenario("parent.yaml", "extends: ccei-announced\nname: parent\ntimeline:\n"
                                  "  2018-03: {centres.*.partner: null}\n")
    child = write_scenario("child.yaml", "extends: parent.yaml\nname: child\ntimeline:\n  2018-03: "
                                         "{centres.Daegu.partner: Samsung}\n  2019-01: null\n")
    sc = load_scenario(child)
    assert list(sc.timeline) == ["2016-01", "2018-03"]  # the inherited 2019 growth dropped
    assert {n for n, c in sc.at(80).centres.items() if c.partner} == {"Daegu"}


@pytest.mark.parametrize("timeline, where, expected", [
    ({"2018-13": {"centres.Alpha.seats": 3}}, "timeline:", "a month as YYYY-MM (for example "
                                                           "2018-03), found '2018-13'"),
    ({2018: {"centres.Alpha.seats": 3}}, "timeline:", "found the number 2018 (write 2018-01 for "
                                                      "January 2018)"),
    ({"2030-01": {"centres.Alpha.seats": 3}}, "timeline.2030-01:", "a month inside the calendar "
                                                                   "2014-01 .. 2018-12"),
    ({"2013-12": {"centres.Alpha.seats": 3}}, "timeline.2013-12:", "a month inside the calendar"),
    ({"2016-01": 5}, "timeline.2016-01:", "expected the changes from that month on, as a mapping"),
    ({"2016-01": {"centres.Alfa.seats": 3}}, "timeline.2016-01.centres.Alfa.seats:",
     "expected the name of a centre of this scenario, found 'Alfa' (did you mean 'Alpha'?)"),
    ({"2016-01": {"centres.Alpha.seets": 3}}, "timeline.2016-01.centres.Alpha.seets:",
     "unknown key"),
    ({"2016-01": {"centres.Alpha.seats": -3}}, "timeline.2016-01: invalid from that month on:",
     "centres.Alpha.seats: expected greater than or equal to 0, found -3"),
    ({"2016-01": {"centres.Alpha.partner": "LG"}}, "timeline.2016-01: invalid from that month on:",
     "centres.Alpha.partner: expected the name of a conglomerate defined in this scenario, found "
     "'LG'"),
    ({"2016-01": {"centre_defaults.apply_probability": 2}},
     "timeline.2016-01: invalid from that month on:",
     "centres.Alpha.apply_probability"),
    ({"2016-01": {"centres.Alpha.opens": "2016-01"}}, "timeline.2016-01.centres.Alpha.opens:",
     "cannot take a new value from a month on: it is a date already"),
    ({"2016-01": {"centre_defaults.enabled": False}}, "timeline.2016-01.centre_defaults.enabled:",
     "written with its opens and closes dates"),
    ({"2016-01": {"funding.max_bridges": 1}}, "timeline.2016-01.funding.max_bridges:",
     "the start-ups' walk reads it at founding or along each firm's whole path"),
    ({"2016-01": {"startups.quality_sigma": 1}}, "timeline.2016-01.startups.quality_sigma:",
     "dated keys of the walk: the round odds"),
    ({"2016-02": {"regions.North.funding_access": 2}},
     "timeline.2016-02.regions.North.funding_access:",
     "a market quarter's first month (the round odds and funding access hold for a quarter of 3 "
     "months from the calendar's start, 2014-01): 2016-02 is inside the quarter from 2016-01; "
     "date it 2016-01 or 2016-04"),
    ({"2016-05": {"funding.equity.rounds.product.probability": 0.1}},
     "timeline.2016-05.funding.equity.rounds.product.probability:", "date it 2016-04 or 2016-07"),
    ({"2016-04": {"funding.equity.rounds.product.probability": 2}},
     "timeline.2016-04: invalid from that month on:",
     "funding.equity.rounds.product.probability: expected less than or equal to 1"),
    ({"2016-01": {"calendar.horizon": "2020-01"}}, "timeline.2016-01.calendar.horizon:",
     "read once"),
    ({"2016-01": {"conglomerates.SK": {}}}, "timeline.2016-01.conglomerates.SK:",
     "cannot be added or removed"),
    ({"2016-01": {"conglomerates.*.annual_budget_krw": 1}, "2016-01-15": {}}, "timeline:",
     "is given twice"),
])
def test_bad_months_and_keys_are_one_paragraph_naming_file_key_and_month(
    scenario_dict, timeline, where, expected
):
    """A bad month or key in a timeline is one paragraph naming the file, the key and the month."""
    msg = error_of(with_centre(scenario_dict, timeline))
    assert msg.startswith(f"small.yaml: {where}"), msg
    assert expected in msg, msg
    assert "\n" not in msg and "Traceback" not in msg
    if "cannot take a new value" in msg:
        assert "Keys that can be dated:" in msg  # and the refusal says which can


def test_dated_keys_from_the_command_line_are_exit_2_with_their_message(shipped):
    """--set 'timeline.MONTH.KEY=VALUE' adds a change; a bad month or key is exit 2, one paragraph,
    no traceback."""
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "show",
            str(shipped / "ccei-announced.yaml"),
            "--set",
            "timeline.2018-03.centres.*.partner=null",
            "--set",
            "timeline.2016-01=null",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert (
        "  2018-03:\n    centres.Daegu.partner: null\n" in ok.output and "2016-01" not in ok.output
    )
    for value, expected in (("timeline.2018-13.centres.*.partner=null", "timeline.2018-13: "
                                                                        "expected a month"),
                            ("timeline.2018-03.centres.Daejon.seats=3", "did you mean 'Daejeon'?"),
                            ("timeline.2018-03.startups.quality_sigma=1", "the start-ups' walk "
                                                                          "reads it"),
                            ("timeline.2018-03.funding.equity.rounds.product.probability=0.1",
                             "date it 2018-01 or 2018-04")):
        bad = runner.invoke(cli, ["validate", str(shipped / "ccei-announced.yaml"), "--set", value])
        assert bad.exit_code == 2, bad.output
        assert expected in bad.output and "Traceback" not in bad.output


# ---------------------------------------------------------------------------------------------
# the model honours a change at its month and not before
# ---------------------------------------------------------------------------------------------
REFORM = "2018-03"
# a partner's decision
# a budget refill
# a graduation
CHANGES = [f"timeline.{REFORM}.centres.*.partner=null",
           f"timeline.{REFORM}.centre_defaults.seats=10",                          # a contest
           f"timeline.{REFORM}.centres.Daejeon.seats=2",
           f"timeline.{REFORM}.centres.*.grants.per_startup_krw=5000000",         # a grant
           f"timeline.{REFORM}.centres.*.grants.annual_budget_krw=100000000",
           f"timeline.{REFORM}.centre_defaults.training.hazard_multiplier_after=0.5",
           f"timeline.{REFORM}.centre_defaults.operating_cost_krw_per_year=1000000000",
           f"timeline.{REFORM}.conglomerates.*.annual_budget_krw=0"]


def _state(world: World) -> dict:
    """Everything the SimPy-clock actors have done so far: centres' and partners' books, every
    supported start-up's whole state."""
    from sim.model.startup import Startup

    slots = [s for s in (*Startup.__slots__, *Startup.STATE)
             if s not in ("world", "centre", "pending", "index")]
    return {
        "centres": [
            (
                c.name,
                c.rounds,
                c.applicants,
                c.selected,
                c.grants_paid,
                c.seats.count,
                c.budget.level if c.budget else None,
            )
            for c in world.centres
        ],
        "partners": [
            (
                g.name,
                g.invested,
                g.investments,
                g.acquisitions,
                g.subcontracts,
                g.budget.level if g.budget else None,
            )
            for g in world.conglomerates.values()
        ],
        "startups": sorted(tuple(getattr(s, a) for a in slots) for s in world.supported),
        "raised": world.ledgers["raised"].tolist(),
        "hired": world.ledgers["hired"].tolist(),
    }


def _worlds(extra=()):
    base = load_scenario(SHIPPED / "ccei-as-opened.yaml", SMALL)
    dated = load_scenario(SHIPPED / "ccei-as-opened.yaml", [*SMALL, *CHANGES, *extra])
    return base, dated


def test_a_dated_change_takes_effect_at_its_month_and_not_before():
    """Two runs of the same replication, with and without the 2018-03 changes, are identical in
    every book and every supported start-up up to 2018-03 and then differ as each change says: no
    partner decides after it, contests fill fewer seats, grants are smaller, budgets refill with
    less, graduates keep the new shelter, and the operating cost changes rate from the month."""
    base, dated = _worlds()
    month = base.calendar.month(REFORM)
    wa, wb = World(base, 3, 0), World(dated, 3, 0)
    wa.env.run(until=month)
    wb.env.run(until=month)
    before_a, before_b = _state(wa), _state(wb)
    assert before_a == before_b
    assert len(before_a["startups"]) > 500 and sum(p[1] for p in before_a["partners"]) > 0
    wa.env.run(until=wa.horizon)
    wb.env.run(until=wb.horizon)
    ra, rb = wa._records(), wb._records()
    sa, sb = ra.startups, rb.startups
    # partners: nothing more after the month (no partner, no budget)
    assert sum(g.invested for g in wb.conglomerates.values()) == sum(
        p[1] for p in before_b["partners"]
    )
    assert sum(g.invested for g in wa.conglomerates.values()) > sum(
        p[1] for p in before_a["partners"]
    )
    # contests: fewer admissions until the 2019 growth; grants of the new size from the month on
    cal = base.calendar
    late_b = sb["support_time"] >= month

    def admitted(s, lo, hi):
        return int(((s["support_time"] >= lo) & (s["support_time"] < hi)).sum())

    assert (
        0
        < admitted(sb, month, cal.month("2019-01"))
        < 0.8 * admitted(sa, month, cal.month("2019-01"))
    )
    assert (
        set(np.unique(sb["grant_krw"][late_b])) <= {0.0, 5e6}
        and (sb["grant_krw"][late_b] == 5e6).any()
    )
    assert set(np.unique(sb["grant_krw"][~late_b & sb["supported"]])) <= {0.0, 2e7}
    # a budget refill after the month holds at most the new budget
    assert all(c.budget.level <= 1e8 for c in wb.centres if c.budget is not None)
    # the operating cost: the old rate until the month, the new one after
    expected = sum(c.cfg_at(0).operating_cost_krw_per_year * (month - c.opens) / 12.0
                   + 1e9 * (wb.horizon - month) / 12.0 for c in wb.centres)
    assert rb.costs["operating_krw"] == pytest.approx(expected, rel=1e-12)
    assert per_year_total(
        dated, "centres.Daegu.operating_cost_krw_per_year", cal.month("2014-09"), wb.horizon
    ) == pytest.approx(
        (month - cal.month("2014-09")) * dated.centres["Daegu"].operating_cost_krw_per_year / 12
        + (wb.horizon - month) * 1e9 / 12
    )
    wa.close()
    wb.close()


def test_a_graduate_keeps_the_shelter_in_force_when_it_graduates():
    """training.hazard_multiplier_after is read at graduation: a firm selected before the month that
    graduates after it lives under the new value, one that graduated before keeps the old."""
    base, dated = _worlds()
    month = base.calendar.month(REFORM)
    w = World(dated, 3, 0)
    w.env.run(until=w.horizon)
    # graduated after the month and still in the valley
    after = [
        s
        for s in w.supported
        if s.support_time < month < s.support_time + 10
        and s.res_end == math.inf
        and s.outcome_time != s.outcome_time
    ]
    early = [s for s in w.supported if s.support_time + 10 < month and s.res_end == math.inf
             and s.outcome_time != s.outcome_time]
    assert after and early
    assert {s.hazard_mult for s in after} == {0.5} and {s.hazard_mult for s in early} == {1.0}
    w.close()


def test_a_dated_founding_rate_changes_only_firms_founded_after_its_month(shipped):
    """regions.<r>.founding_rate_per_year from a month on: the same start-ups before it (common
    random numbers), the new rate after; founding_trend_per_year continues from the level
    reached."""
    from sim.model import reuse
    from sim.model.region import draw_cohort

    base = load_scenario(shipped / "no-programme.yaml", SMALL)
    dated = load_scenario(
        shipped / "no-programme.yaml",
        [
            *SMALL,
            "timeline.2020-01.regions.Busan.founding_rate_per_year=900",
            "timeline.2020-01.regions.Jeju.founding_trend_per_year=0",
        ],
    )
    m = base.calendar.month("2020-01")
    lam_a, lam_b = base.founding_intensity("Busan"), dated.founding_intensity("Busan")
    assert (
        (lam_a[: int(m)] == lam_b[: int(m)]).all()
        and lam_b[int(m)] == 75.0
        and lam_b[int(m) + 12] == 75.0 * 1.05
    )
    jeju = dated.founding_intensity("Jeju")
    assert (
        jeju[int(m)] == pytest.approx(base.founding_intensity("Jeju")[int(m)])
        and (jeju[int(m) :] == jeju[int(m)]).all()
    )
    a, b = draw_cohort(base, "Busan", 3, 0), draw_cohort(dated, "Busan", 3, 0)
    n = int((a.founded < m).sum())
    assert (b.founded[:n] == a.founded[:n]).all() and (b.quality[:n] == a.quality[:n]).all()
    # about 2.0: 900 a year against 300 grown 5 % a year
    ratio = lam_b[int(m):].sum() / lam_a[int(m):].sum()
    assert b.weight[b.founded >= m].sum() > 0.8 * ratio * a.weight[a.founded >= m].sum()
    # a worker never hands the dated region the undated cohort (the reuse key carries the timeline)
    assert reuse.key("cohorts", base, 3, 0, 0, "Busan") != reuse.key(
        "cohorts", dated, 3, 0, 0, "Busan"
    )
    assert reuse.key("walk", base, 3, 0, 0, "Seoul") == reuse.key("walk", dated, 3, 0, 0, "Seoul")


# ---------------------------------------------------------------------------------------------
# dated keys elsewhere: sweeps, posteriors, priors past the data
# ---------------------------------------------------------------------------------------------
def test_a_dated_key_names_the_value_in_force_from_its_month(shipped):
    """timeline.MONTH.KEY, as sweeps, draws and calibration read it: the value KEY has from that
    month on."""
    from sim.scenario.keys import expand_key, field_at, get_key, key_kind

    resolved = resolved_dict(load_scenario(shipped / "ccei-announced.yaml"))
    assert get_key(resolved, "timeline.2018-06.centres.Daegu.seats") == 60
    assert get_key(resolved, "timeline.2019-01.centres.Daegu.seats") == 255
    assert get_key(resolved, "timeline.2024-12.centres.Daejeon.intake_size") == 128
    assert (
        key_kind("timeline.2027-01.centres.Daegu.seats") == "int"
        and field_at("timeline.2027-01.nothing") is None
    )
    assert len(expand_key(resolved, "timeline.2020-01.centres.*.seats")) == 17


def test_a_prior_past_the_data_joins_the_posterior_and_reaches_only_calendars_that_hold_it(
    shipped, tmp_path
):
    """extend_posterior adds an extrapolation's prior to a posterior (the same draws each time it is
    made); a comparison applies it to the scenarios whose calendar reaches its month, to every
    region."""
    import pyarrow.parquet as pq

    from sim.scenario.draws import bind, extend_posterior, load_draws
    from sim.scenario.loader import base_data

    key = "timeline.2025-01.regions.*.founding_trend_per_year"
    made = [
        extend_posterior(
            shipped / "posteriors" / "programme",
            tmp_path / f"p{i}",
            {key: (0.0, 0.1, 0.05)},
            7,
            "test",
        )
        for i in range(2)
    ]
    a, b = (pq.read_table(p).column(key).to_numpy() for p in made)
    assert (a == b).all() and a.min() >= 0 and a.max() <= 0.1
    # stratified: even over the prior
    assert np.histogram(a, bins=10, range=(0, 0.1))[0].tolist() == [100] * 10
    outlook = shipped / "outlook" / "carry-on.yaml"
    files = {"carry-on": outlook, "ccei-as-run": shipped / "ccei-as-run.yaml"}
    resolved = {n: resolved_dict(load_scenario(f)) for n, f in files.items()}
    raw = {n: base_data(f) for n, f in files.items()}
    unbound = load_draws(made[0], 3, seed=5)
    draws = bind(unbound, resolved, raw)  # as a comparison of the two plans it
    for d in (unbound, draws):  # a manifest from before the record keeps the rule it ran with
        assert key in d.applied("carry-on", resolved["carry-on"])
        # ends in 2024
        assert key not in d.applied("ccei-as-run", resolved["ccei-as-run"])
    written = ["timeline", "2025-01", "regions.*.founding_trend_per_year"]  # the month's change
    assert draws.targets["carry-on"][key] == [written]
    k = 1
    sc = validate(draws.data_for(raw["carry-on"], k, draws.paths("carry-on", resolved["carry-on"])))
    trend = dict(zip(draws.keys, draws.values[k], strict=True))[key]
    assert {
        v for key_, v in sc.timeline["2025-01"].items() if key_.endswith("founding_trend_per_year")
    } == {trend}
    lam = sc.founding_intensity("Busan")
    i = int(sc.calendar.month("2026-01"))
    assert lam[i] == pytest.approx(lam[i - 12] * (1 + trend))


def test_a_dropped_month_may_lie_past_a_shortened_calendar(shipped):
    """--set 'timeline.MONTH=null' drops a month, wherever it lies: a calendar cut short keeps the
    rest."""
    short = [
        "calendar.horizon=2024-12",
        "calendar.cohort_first_year=2016",
        "calendar.cohort_last_year=2019",
    ]
    sc = load_scenario(shipped / "outlook" / "carry-on.yaml", [*short, "timeline.2025-01=null"])
    assert list(sc.timeline)[-1] == "2021-01"
    with pytest.raises(ScenarioError, match="timeline.2025-01: expected a month inside the "
                                            "calendar"):
        load_scenario(shipped / "outlook" / "carry-on.yaml", short)
