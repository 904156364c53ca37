"""The calendar past the data: the outlook's options to 2035 (scenarios/outlook/).

A 2035 run completes with sane metrics (memory against the horizon is measured in
benchmarks/horizon.py, not here); the options share the outlook's calendar and economy, so a
comparison of them is paired; each option changes the programme from 2027 on and nothing before.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.metrics import replication_metrics
from sim.model import simulate
from sim.scenario import load_scenario

OUTLOOK = Path(__file__).resolve().parents[1] / "scenarios" / "outlook"
SMALL = ["regions.*.founding_rate_per_year=300", "regions.Seoul.founding_rate_per_year=10000"]
"""A small economy, but for Seoul, large enough that its centre's contests fill its seats, as every
centre's do at the real scale."""
OPTIONS = ("carry-on", "twice-the-seats", "regional-funds-half", "close-the-centres")


@pytest.fixture(scope="module")
def runs():
    """One replication of each option and of the counterfactual, in a small economy, to 2035."""
    out = {}
    for name in (*OPTIONS, "no-programme-2035"):
        sc = load_scenario(OUTLOOK / f"{name}.yaml", SMALL)
        out[name] = (sc, simulate(sc, 7, 0))
    return out


def test_the_outlook_shares_one_calendar_and_economy():
    """Every file of the outlook has the same calendar (to 2035), sampling, regions and founding
    extrapolation, so replication r of each has the same start-ups (outside Daegu, where founder
    education is part of the programme, as in the shipped library)."""
    scs = {p.stem: load_scenario(p) for p in sorted(OUTLOOK.glob("*.yaml"))}
    assert set(scs) == {*OPTIONS, "no-programme-2035"}
    ref = scs["no-programme-2035"]
    assert ref.calendar.horizon == "2035-12" and (
        ref.calendar.cohort_first_year,
        ref.calendar.cohort_last_year,
    ) == (2022, 2030)
    for name, sc in scs.items():
        assert sc.calendar == ref.calendar and sc.sampling == ref.sampling, name
        assert sc.regions == ref.regions and sc.market == ref.market, name
        for r in sc.regions:
            if r == "Daegu" and sc.founder_education:
                continue
            assert np.array_equal(sc.founding_intensity(r), ref.founding_intensity(r)), (name, r)


def test_a_2035_horizon_runs_to_sane_metrics(runs):
    """A run to a 2035 horizon ends with sane metrics."""
    for name, (sc, rec) in runs.items():
        m = replication_metrics(rec, sc.calendar)
        assert rec.horizon == sc.calendar.horizon_months == 288.0
        assert 0.2 < m["survival_5y"] < 0.6, (name, m["survival_5y"])
        assert math.isfinite(m["jobs_end"]) and m["jobs_end"] > 0
        founded_late = rec.startups["founded"] > sc.calendar.month("2030-01")
        assert founded_late.any()  # the extrapolated foundings are there
        if name != "no-programme-2035":
            assert m["supported"] > 0 and m["programme_cost_krw"] > 0


def test_each_option_changes_the_programme_from_2027_and_not_before(runs):
    """The supported firms before 2027 are the same in every option (same contests, same economy);
    after it, twice the seats support more, closing the centres supports none and stops their
    cost."""
    base_sc, base = runs["carry-on"]
    m2027 = base_sc.calendar.month("2027-01")
    sb = base.startups

    def before(s):
        return s["supported"] & (s["support_time"] < m2027)

    def after(s):
        return int((s["supported"] & (s["support_time"] >= m2027)).sum())

    for name in OPTIONS:
        s = runs[name][1].startups
        assert np.array_equal(before(s), before(sb)), name
        assert np.array_equal(s["support_time"][before(s)], sb["support_time"][before(sb)]), name
    assert after(runs["close-the-centres"][1].startups) == 0 < after(sb)
    # twice the seats: twice Seoul's admissions (its contests fill the seats), each extra one at
    # the cost per supported start-up in force, the fixed part unchanged
    twice = runs["twice-the-seats"][1]
    seoul = base.centre_names.index("Seoul")

    def seoul_after(s):
        return int((s["supported"] & (s["support_time"] >= m2027) & (s["centre"] == seoul)).sum())

    assert seoul_after(twice.startups) == pytest.approx(2 * seoul_after(sb), rel=0.1)
    assert twice.costs["operating_krw"] == base.costs["operating_krw"]
    rate = base_sc.at(m2027).centres["Seoul"].operating_cost_krw_per_supported
    assert twice.costs["per_supported_krw"] - base.costs["per_supported_krw"] == pytest.approx(
        rate * (after(twice.startups) - after(sb)), rel=1e-9)
    closed = runs["close-the-centres"][1].costs["operating_krw"]
    assert closed < 0.7 * base.costs["operating_krw"]
    # funds instead of centres: the eight centres select nobody after 2026; their regions' venture
    # money rises by what the funds invest, from 2027 and not before, at a public cost
    fsc, funds = runs["regional-funds-half"]
    eight = [i for i, n in enumerate(funds.centre_names) if fsc.centres[n].closes == "2027-01"]
    late = funds.startups["supported"] & (funds.startups["support_time"] >= m2027)
    assert len(eight) == 8 and not np.isin(funds.startups["centre"][late], eight).any()
    added = funds.market["supply"] - base.market["supply"]
    q2027 = int(m2027 // 3)
    regions = [
        list(fsc.regions).index(n)
        for n in (
            "Daejeon",
            "Sejong",
            "North Gyeongsang",
            "South Jeolla",
            "Jeju",
            "South Chungcheong",
            "Ulsan",
            "Incheon",
        )
    ]
    assert (added[:, :q2027] == 0).all() and (added[regions, q2027:] > 0).all()
    assert np.delete(added, regions, axis=0).max() == 0
    assert funds.costs["funds_krw"] > 0 == base.costs["funds_krw"]


def test_the_uncertainty_wording_sets_the_priors_past_the_data_apart():
    """The outlook's posterior joins two priors no published figure bears on (the founding trend
    and the venture money's growth past the data) to the calibrated parameters: the report said
    they were "left about as wide as assumed" by the published figures, and counted them among the
    calibrated ones. Now they are named apart, as priors alone."""
    from types import SimpleNamespace

    from sim.report.uncertainty import first_lines

    keys = ["centre_defaults.training.resolution_multiplier", "market.coupling",
            "market.growth_after_data_per_year"]
    row = {"diff": 0.0015, "param_low": 0.001, "param_high": 0.002, "param_sd": 0.0003,
           "mc_half_width": 0.0001, "separated": True, "prob_better": 1.0}
    res = SimpleNamespace(
        draws={"keys": keys, "values": [[1.0, 0.5, 0.1]] * 5, "file": "p.parquet",
               "verdicts": [[keys[0], "narrowed"], [keys[1], "open"], [keys[2], "open"]],
               "targets_file": "scenarios/targets/programme.yaml", "source": "x"},
        counterfactual="none", baseline="carry-on", scenarios=["carry-on", "none"],
        prior_only={keys[2]: {"low": 0.0, "high": 0.25}},
        comparison=lambda a, b, m: row, applied_in=lambda names: keys, cost_spread=None)
    text = " ".join(p.text for p in first_lines(res))
    assert "narrowed 1 of the 2 uncertain parameters and left 1 about as wide" in text
    assert "1 more (" in text and "growth_after_data_per_year" in text.split("1 more (")[1]
    assert "their priors alone" in text
