"""Calibration and validation: the shipped scenarios against published figures, face validity,
and the ``calibrate`` command.

The statistical tests run a fixed seed and a fixed number of replications; each target passes
when the mean over replications is within the published band (2 points for population survival,
4 points for supported survival, 20 % for throughput) widened by ``Z`` standard errors of that
mean (the replication noise at the tested replication count). Face-validity tests compare
scenarios on common random numbers and judge paired differences by their confidence intervals.

Every simulation here goes through :mod:`sim.experiment` (a ProcessExecutor of two workers);
the face-validity tests use the shipped programme with founding rates scaled down, which keeps
the whole file within a few minutes on two cores.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from sim.analysis.stats import paired_difference
from sim.analysis.targets import load_targets
from sim.cli import cli
from sim.errors import ScenarioError
from sim.experiment import ExperimentSpec, ProcessExecutor, run_experiment
from sim.scenario import load_scenario
from sim.scenario.ranges import parse_range

SEED = 20140902
REPS = 8
Z = 2.5
"""Standard errors of the mean added to each published band."""

# The published figures, as in ../shared/data (copied here so a changed targets file is noticed).
NO_PROGRAMME = {1: 0.709, 3: 0.498, 5: 0.372}  # KOSTAT manufacturing, 2015 basis
SUPPORTED = {1: 0.894, 5: 0.531}  # MSS/KISED survey of supported start-ups, 2017 basis
# MSIP/MSS, Dong-A: supported
THROUGHPUT = {"2015_12": 578, "2016_12": 1635, "2018_09": 3693, "2023_12": 23430}
# MSS via Newstomato, Dong-A Ilbo (cumulative_outcomes)
MONEY_AND_HIRES = {
    "supported_investment_by_2018_09": 807.5e9,
    "supported_hires_by_2018_09": 6647,
}
# MSS/KVCA new venture investment (funding-market.yaml)
VENTURE_MONEY = {
    2015: 2_085.8e9,
    2016: 2_150.3e9,
    2017: 2_380.3e9,
    2018: 3_424.9e9,
    2019: 4_277.7e9,
    2020: 4_304.5e9,
    2021: 7_680.2e9,
}
MODELLED_SHARE = {
    2015: 0.397,
    2016: 0.467,
    2017: 0.537,
    2018: 0.630,
    2019: 0.653,
    2020: 0.676,
    2021: 0.699,
}
LOANS_2019 = 0.209  # MSS start-up survey 2019: start-ups that used bank loans (programme.yaml)


def _se(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.std(ddof=1) / math.sqrt(x.size))


def _assert_near(x, target: float, band: float, what: str) -> None:
    mean, se = float(np.nanmean(x)), _se(x)
    assert abs(mean - target) <= band + Z * se, (
        f"{what}: model {mean:.4g} (SE {se:.2g} over {len(x)} replications), target {target:.4g} "
        f"+- {band:.3g}")


# ----------------------------------------------------------------------------------------------
# the shipped scenarios against the published figures
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def validation(shipped):
    """ccei-as-opened and no-programme on the same replications (one task runs both, paired)."""
    from sim.studies.validation import measure

    programme = load_scenario(shipped / "ccei-as-opened.yaml")
    counterfactual = load_scenario(shipped / "no-programme.yaml")
    ex = ProcessExecutor(2)
    try:
        return measure(programme, counterfactual, replications=REPS, seed=SEED, executor=ex)
    finally:
        ex.close()


def test_the_targets_files_hold_the_published_figures_with_their_sources(shipped):
    """The targets files hold exactly the published figures the docs cite, each group with its
    source."""
    surv = load_targets(shipped / "targets" / "survival.yaml")
    prog = load_targets(shipped / "targets" / "programme.yaml")
    assert {int(p.key): p.value for p in surv.points if p.group == "survival"} == NO_PROGRAMME
    assert {int(p.key): p.value for p in surv.points if p.group == "equity_by_year"} == {
        y: pytest.approx(v * MODELLED_SHARE[y]) for y, v in VENTURE_MONEY.items()}
    assert [p.value for p in surv.points if p.metric == "financing_shares_debt_2019"] == [
        LOANS_2019
    ]
    assert {
        int(p.key): p.value for p in prog.points if p.group == "supported_survival"
    } == SUPPORTED
    counts = {
        p.key.replace("-", "_"): p.value
        for p in prog.points
        if p.group == "supported_by" and p.weight > 0
    }
    assert counts == THROUGHPUT
    assert {p.metric: p.value for p in prog.points if p.group != "supported_by" and p.weight > 0
            and p.group != "supported_survival"} == MONEY_AND_HIRES
    for p in surv.points + prog.points:
        assert p.source.strip() and "shared" not in p.source  # a citation, not a path
    assert {p.tolerance for p in surv.points if p.group == "survival"} == {0.02}
    assert all(
        p.tolerance == pytest.approx(0.2 * p.value)
        for p in prog.points
        if p.group == "supported_by"
    )


@pytest.mark.slow
@pytest.mark.parametrize("age", sorted(NO_PROGRAMME))
def test_no_programme_survival_matches_the_manufacturing_proxy(validation, age):
    """No-programme survival by firm age is within the manufacturing proxy's tolerance (plus
    sampling error)."""
    _assert_near(validation[f"c_survival_{age}y"], NO_PROGRAMME[age], 0.02, "no-programme "
                                                                            f"S({age}y)")


@pytest.mark.slow
def test_no_programme_curve_has_a_believable_shape(validation):
    """Between the fitted ages the curve falls steadily and its hazard declines with age, as in
    every published series (KOSTAT, US BLS): 2- and 4-year survival sit close to, and not above, the
    log-linear interpolation of their neighbours."""
    s = {y: float(np.nanmean(validation[f"c_survival_{y}y"])) for y in range(1, 6)}
    assert 1 > s[1] > s[2] > s[3] > s[4] > s[5] > 0
    hazards = [-math.log(s[1])] + [-math.log(s[y] / s[y - 1]) for y in range(2, 6)]
    # the yearly hazard falls with age (years 4 and 5 are nearly flat, as in the BLS series)
    assert all(b <= a + 0.005 for a, b in zip(hazards, hazards[1:], strict=False)), hazards
    assert hazards[0] > 1.5 * hazards[1] and hazards[4] < 0.5 * hazards[0], hazards
    for y in (2, 4):
        interpolated = math.sqrt(s[y - 1] * s[y + 1])
        assert interpolated - 0.03 <= s[y] <= interpolated + 0.005, (y, s[y], interpolated)


@pytest.mark.slow
@pytest.mark.parametrize("age", sorted(SUPPORTED))
def test_supported_survival_matches_the_ministry_survey(validation, age):
    """Supported start-ups' survival from their support date matches the ministry's survey."""
    _assert_near(validation[f"p_supported_survival_{age}y"], SUPPORTED[age], 0.04, "supported "
                                                                                   f"S({age}y)")


@pytest.mark.slow
@pytest.mark.parametrize("when", sorted(THROUGHPUT))
def test_throughput_matches_the_published_counts(validation, when):
    """Cumulative supported start-ups match the published counts at each date."""
    target = THROUGHPUT[when]
    _assert_near(validation[f"p_supported_by_{when}"], target, 0.2 * target, f"supported by {when}")


@pytest.mark.slow
@pytest.mark.parametrize("metric", sorted(MONEY_AND_HIRES))
def test_money_and_hires_match_the_published_figures(validation, metric):
    """Investment in and hires of supported start-ups match the published figures."""
    target = MONEY_AND_HIRES[metric]
    _assert_near(validation[f"p_{metric}"], target, 0.2 * target, metric)


@pytest.fixture(scope="module")
def economy_money(shipped):
    """The no-programme economy's venture money by year and its share of start-ups with loans, over
    six replications (the targets' probe, in this process)."""
    from sim.analysis.targets import target_values
    from sim.model import simulate

    sc = load_scenario(shipped / "no-programme.yaml")
    targets = load_targets(shipped / "targets" / "survival.yaml")
    wanted = tuple((p.group, p.key) for p in targets.points if p.group != "survival")
    rows = [target_values(simulate(sc, SEED, r), sc, wanted)["values"] for r in range(6)]
    return {k: np.array([row[k] for row in rows]) for k in rows[0]}


@pytest.mark.slow
@pytest.mark.parametrize("year", sorted(VENTURE_MONEY))
def test_the_economys_venture_money_follows_the_national_series(economy_money, year):
    """Venture money raised by the model's start-ups each year is the published national figure's
    share for their ages (MODELLED_SHARE), within 20 %: investors ration to the supply every year.
    """
    target = VENTURE_MONEY[year] * MODELLED_SHARE[year]
    _assert_near(
        economy_money[f"equity_by_year_{year}"], target, 0.2 * target, f"venture money {year}"
    )


@pytest.mark.slow
def test_the_share_of_startups_with_loans_matches_the_survey(economy_money):
    """Start-ups with bank loans in 2019 (20.9 %) and with venture money (0.7 %), MSS survey."""
    _assert_near(
        economy_money["financing_shares_debt_2019"], LOANS_2019, 0.03, "start-ups with loans, 2019"
    )
    # venture money reaches few: 0.7 % of start-ups had angel or venture money (the same survey)
    _assert_near(
        economy_money["financing_shares_equity_2019"], 0.007, 0.003, "start-ups with venture money"
    )


@pytest.mark.slow
def test_selection_explains_most_of_the_naive_gap(validation):
    """The published-style gap is mostly selection: the effect of support on the supported start-ups
    themselves (followed from their support date in both worlds) is well under half of it, and the
    programme's effect on population survival is small."""
    gap = validation["p_naive_gap_5y"]
    effect = paired_difference(validation["treated_5y"], validation["untreated_5y"])
    assert np.nanmean(gap) > 0.10
    assert effect["ci_high"] < 0.5 * np.nanmean(gap), (effect, np.nanmean(gap))
    population = paired_difference(validation["p_survival_5y"], validation["c_survival_5y"])
    assert abs(population["diff"]) < 0.02, population


# ----------------------------------------------------------------------------------------------
# face validity, on the shipped programme with fewer start-ups
# ----------------------------------------------------------------------------------------------
SCALE = 0.4
"""Founding rates of the face-validity runs, relative to the shipped ones."""


def _scaled(path, name: str, overrides=()) -> object:
    base = load_scenario(path)
    rates = [f"regions.{r}.founding_rate_per_year={reg.founding_rate_per_year * SCALE:g}"
             for r, reg in base.regions.items()]
    return load_scenario(path, [*rates, f"name={name}", *overrides])


def _experiment(tmp_path, scenarios: dict, comparisons, reps: int):
    spec = ExperimentSpec(scenarios=scenarios, replications=reps, seed=SEED, keep_startups="none",
                          comparisons=comparisons, kind="run")
    ex = ProcessExecutor(2)
    try:
        outcome = run_experiment(
            spec, tmp_path / "results", ex, progress=False, echo=lambda *_: None
        )
    finally:
        ex.close()
    assert not outcome.failures
    table = pq.read_table(outcome.root / "replications.parquet").to_pydict()
    per = {}
    for name in scenarios:
        rows = sorted(
            (r, i)
            for i, (s, r) in enumerate(zip(table["scenario"], table["replication"], strict=True))
            if s == name
        )
        per[name] = {k: np.array([table[k][i] for _, i in rows], dtype=float)
                     for k in table if k not in ("scenario",)}
    return outcome.summary, per


def _comparison(summary, scenario, reference, metric):
    return next(c for c in summary["comparisons"]
                if (c["scenario"], c["reference"], c["metric"]) == (scenario, reference, metric))


NEUTRAL = [
    f"centre_defaults.training.{k}=1"
    for k in (
        "hazard_multiplier_during",
        "hazard_multiplier_after",
        "speed_multiplier_during",
        "speed_multiplier_after",
        "funding_odds_multiplier",
        "resolution_multiplier",
    )
] + [
    "centre_defaults.grants.per_startup_krw=0",
    "centre_defaults.grants.annual_budget_krw=0",
    "centres.Daejeon.grants.per_startup_krw=0",
    "centres.Daejeon.grants.annual_budget_krw=0",
    "founder_education.samsung-software-daegu.founding_rate_multiplier=1",
    "founder_education.samsung-software-daegu.quality_multiplier=1",
]


@pytest.mark.slow
def test_a_programme_with_neutral_effects_has_no_causal_effect(shipped, tmp_path):
    """Training multipliers of 1, no grants, no partner (and founder education without effect): the
    centres still select start-ups, but nobody's fate changes, so the causal effect on survival_5y
    is zero within its paired CI, while the naive gap stays positive (pure selection)."""
    announced = load_scenario(shipped / "ccei-announced.yaml")
    no_partner = [f"centres.{c}.partner=null" for c in announced.centres]
    neutral = _scaled(shipped / "ccei-announced.yaml", "neutral", [*NEUTRAL, *no_partner])
    none = _scaled(shipped / "no-programme.yaml", "none")
    summary, per = _experiment(
        tmp_path, {"none": none, "neutral": neutral}, [("neutral", "none")], reps=4
    )
    row = _comparison(summary, "neutral", "none", "survival_5y")
    assert row["ci_low"] <= 0.0 <= row["ci_high"], row
    assert per["neutral"]["supported"].min() > 100  # the centres did select start-ups
    assert np.nanmean(per["neutral"]["naive_gap_5y"]) > 0.05  # ... and picked better ones


@pytest.mark.slow
def test_more_grant_money_never_lowers_expected_survivors(shipped, tmp_path):
    """Grants twice and four times as large (and budgets to match): survivors_5y never falls beyond
    noise against the shipped programme (paired CI of the difference reaches 0 or above)."""
    def grants(k: float) -> list[str]:
        return [f"centre_defaults.grants.per_startup_krw={20e6 * k:g}",
                f"centre_defaults.grants.annual_budget_krw={1e12:g}",  # never the binding limit
                f"centres.Daejeon.grants.per_startup_krw={20e6 * k:g}",
                f"centres.Daejeon.grants.annual_budget_krw={1e12:g}"]

    scenarios = {n: _scaled(shipped / "ccei-announced.yaml", n, grants(k))
                 for n, k in (("grants-x1", 1), ("grants-x2", 2), ("grants-x4", 4))}
    summary, _ = _experiment(
        tmp_path, scenarios, [("grants-x2", "grants-x1"), ("grants-x4", "grants-x2")], reps=4
    )
    for more, less in (("grants-x2", "grants-x1"), ("grants-x4", "grants-x2")):
        row = _comparison(summary, more, less, "survivors_5y")
        assert row["ci_high"] >= 0.0, row
        assert row["diff"] >= -1.0, row  # and not even on average


@pytest.mark.slow
def test_noisier_selection_shrinks_the_naive_gap(shipped, tmp_path):
    """The published-style gap is largely selection: a noisier jury picks less good start-ups and
    the gap between supported and other start-ups shrinks (paired CI entirely below 0)."""
    scenarios = {
        n: _scaled(shipped / "ccei-announced.yaml", n, [f"centre_defaults.selection_noise={v}"])
        for n, v in (("sharp", 0.1), ("noisy", 3.0))
    }
    _, per = _experiment(tmp_path, scenarios, [], reps=4)
    d = paired_difference(per["noisy"]["naive_gap_5y"], per["sharp"]["naive_gap_5y"])
    assert d["ci_high"] < 0, d


# ----------------------------------------------------------------------------------------------
# the calibrate command
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def off_target(write_scenario, scenario_dict):
    """A small scenario whose early failure hazard is far too high for the targets below."""
    data = scenario_dict({"startups": {"stages": {
        "prototype": {"months_to_milestone": 10, "failure_hazard_per_month": 0.06},
        "product": {"months_to_milestone": 14, "failure_hazard_per_month": 0.010},
        "traction": {"months_to_milestone": 18, "failure_hazard_per_month": 0.008}},
        "mature_hazard_per_month": 0.004}})
    scenario = write_scenario("small.yaml", data)
    targets = write_scenario("targets.yaml", {
        "name": "test-targets",
        "survival": {"source": "a test", "tolerance": 0.02, "points": {1: 0.75, 3: 0.55}}})
    return scenario, targets


@pytest.mark.slow
def test_calibrate_improves_the_loss_and_writes_a_valid_extends_file(off_target, tmp_path):
    """calibrate lowers the loss from an off-target start and writes a calibrated file that loads
    and extends its input."""
    scenario, targets = off_target
    out = tmp_path / "fit"
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(scenario),
            "--targets",
            str(targets),
            "--replications",
            "2",
            "--max-evals",
            "10",
            "--params",
            "startups.stages.prototype.failure_hazard_per_month=0.005:0.08",
            "--params",
            "startups.mature_hazard_per_month",
            "--set",
            "startups.quality_sigma=0.7",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "calibration.json").read_text())
    assert report["loss"]["fitted"] < report["loss"]["initial"]
    # the file is exactly what was fitted
    assert report["scenario"]["calibrated_file_matches_fit"] is True
    assert len(report["history"]) <= 11  # the budget, plus the rounded optimum
    assert [p["key"] for p in report["parameters"]] == [
        "startups.stages.prototype.failure_hazard_per_month", "startups.mature_hazard_per_month"]
    fitted = {p["key"]: p["fitted"] for p in report["parameters"]}
    assert fitted["startups.stages.prototype.failure_hazard_per_month"] < 0.06
    # the calibrated file extends the input, holds only the fitted values, and loads
    path = out / "small-calibrated.yaml"
    text = path.read_text()
    assert text.startswith("# small-calibrated:") and "python run_sim.py calibrate" in text
    doc = yaml.safe_load(text)
    assert set(doc) == {"extends", "name", "description", "startups"}
    assert doc["startups"] == {
        "quality_sigma": 0.7,  # the --set value the fit was made with
        "stages": {
            "prototype": {
                "failure_hazard_per_month": fitted[
                    "startups.stages.prototype.failure_hazard_per_month"
                ]
            }
        },
        "mature_hazard_per_month": fitted["startups.mature_hazard_per_month"],
    }
    sc = load_scenario(path)
    assert sc.name == "small-calibrated"
    assert sc.startups.stages["prototype"].failure_hazard_per_month == fitted[
        "startups.stages.prototype.failure_hazard_per_month"]
    assert sc.regions == load_scenario(scenario).regions  # everything else from the input
    assert (out / "calibration.md").read_text().count("| S(") == 2
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # each evaluation printed its parameters and loss on one line
    lines = [ln for ln in res.output.splitlines() if ln.startswith("[")]
    assert len(lines) == len(report["history"]) and all(
        "loss" in ln and "mature_hazard" in ln for ln in lines
    )


@pytest.mark.parametrize("targets_text, params, message", [
    ("survivl: {source: x, tolerance: 0.02, points: {1: 0.7}}\n", [],
     "survivl: unknown targets key (did you mean 'survival'?)"),
    ("survival: {source: x, tolerance: 0.02, points: {1: 0.7}, weigth: 2}\n", [],
     "survival.weigth: unknown targets key (did you mean 'weight'?)"),
    ("survival: {tolerance: 0.02, points: {1: 0.7}}\n", [], "survival.source: expected the source"),
    ("survival: {source: x, tolerance: 0.02, points: {1: "
     "1.7}}\n", [], "expected a share between 0 and 1"),
    ("survival: {source: x, points: {1: 0.7}}\n", [], "expected exactly one of tolerance"),
    ("survival: {source: x, tolerance: 0.02, points: {1: "
     "0.7}}\n", ["startups.stages.prototyp.failure_hazard_per_month"],
     "no such parameter in the scenario; startups.stages has no key 'prototyp' (did you mean "
     "'prototype'?)"),
    ("survival: {source: x, tolerance: 0.02, points: {1: "
     "0.7}}\n", ["startups.quality_sigma=1.2:0.4"],
     "the bounds are reversed or empty"),
    ("survival: {source: x, tolerance: 0.02, points: {1: 0.7}}\n", ["startups.quality_sigma=0:99"],
     "leave the allowed range"),
    ("survival: {source: x, tolerance: 0.02, points: {1: "
     "0.7}}\n", ["name"], "expected a number to fit"),
    ("supported_by: {source: x, relative_tolerance: 0.2, points: {2030-01: "
     "10}}\n", ["startups.quality_sigma"],
     "expected a month inside the scenario's calendar"),
])
def test_calibrate_rejects_bad_input_with_a_clear_message(
    write_scenario, scenario_dict, tmp_path, targets_text, params, message
):
    """Bad calibrate input (keys, bounds, targets) is exit 2 with one clear paragraph."""
    scenario = write_scenario("small.yaml", scenario_dict())
    targets = write_scenario("t.yaml", targets_text)
    args = ["calibrate", str(scenario), "--targets", str(targets), "--out", str(tmp_path / "o"),
            "--replications", "1", "--max-evals", "1", "--executor", "serial"]
    res = CliRunner().invoke(cli, args + [a for p in params for a in ("--params", p)])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o" / "calibration.json").exists()


def test_bounds_parse_and_default_to_half_the_value_either_side():
    """A calibration parameter is a key alone (bounds from its value) or KEY=LOW:HIGH, parsed like
    every range."""
    assert parse_range("a.b", key_alone=True).bounds is None
    assert parse_range("a.b=0.1:2", key_alone=True).bounds == (0.1, 2.0)
    with pytest.raises(ScenarioError, match="reversed"):
        parse_range("a.b=2:2", key_alone=True)
    with pytest.raises(ScenarioError, match="LOW:HIGH"):
        parse_range("a.b=2", key_alone=True)
