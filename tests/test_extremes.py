"""Extreme but valid worlds: any lever values the schema allows run and reduce to sane metrics,
extreme scenarios report undefined metrics as n/a, and every shipped scenario runs end to end.
"""

from __future__ import annotations

import copy
import math
import re
import time

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from robust import (
    BASE,
    COUNTERFACTUAL,
    FUZZ_SETTINGS,
    SHIPPED,
    clean_cli_result,
    every,
    examples,
    invoke,
    manifest,
    scaled,
    strict_json,
)

from sim.errors import ScenarioError
from sim.scenario import load_scenario


# ---------------------------------------------------------------------------------------------
# any valid lever values run (the schema's own bounds, at their extremes)
# ---------------------------------------------------------------------------------------------
def _bounds(field) -> tuple[float, float, bool]:
    lo, hi, integer = -math.inf, math.inf, field.annotation is int
    for m in field.metadata:
        lo = max(lo, getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo)
        if getattr(m, "gt", None) is not None:
            lo = max(lo, m.gt + (1 if integer else 1e-9))
        hi = min(hi, getattr(m, "le", None) if getattr(m, "le", None) is not None else hi)
    return lo, hi, integer


def levers(model, skip=()) -> st.SearchStrategy[dict]:
    """Some of ``model``'s bounded numeric fields, each at its lower bound, upper bound or
    between."""
    fields = {}
    for name, f in model.model_fields.items():
        if name in skip or f.annotation not in (int, float):
            continue
        lo, hi, integer = _bounds(f)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            continue
        between = st.integers(int(lo), int(hi)) if integer else st.floats(lo, hi, allow_nan=False)
        fields[name] = st.one_of(
            st.just(int(lo) if integer else lo), st.just(int(hi) if integer else hi), between
        )
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def extreme_valid_world(draw) -> dict:
    """A valid scenario with every lever drawn at the extremes its schema allows."""
    from sim.scenario.schema import (
        Centre,
        Conglomerate,
        FounderEducation,
        Grants,
        Region,
        Round,
        StageParams,
        Startups,
        Training,
    )

    stage = levers(StageParams)
    return {
        "name": "extreme",
        "calendar": {
            "start": "2014-01",
            "horizon": "2017-12",
            "cohort_first_year": 2014,
            "cohort_last_year": 2015,
        },
        "sectors": {"ict": 1.0, "bio": draw(st.sampled_from([0.0, 1.0]))},
        "regions": {
            "North": {
                "founding_rate_per_year": draw(st.sampled_from([0, 3, 60])),
                **draw(levers(Region, skip={"founding_rate_per_year"})),
            },
            "South": {"founding_rate_per_year": 40},
        },
        "startups": {
            **draw(levers(Startups)),
            "stages": {
                s: {"months_to_milestone": 10, "failure_hazard_per_month": 0.01, **draw(stage)}
                for s in ("prototype", "product", "traction")
            },
        },
        "funding": {
            c: {
                "rounds": {
                    s: {"probability": 0.2, "size_median_krw": 1e8, **draw(levers(Round))}
                    for s in ("prototype", "product", "traction")
                }
            }
            for c in ("equity", "debt")
        },
        "centres": {
            "Hub": {
                "region": "North",
                "partner": "Big",
                "opens": "2014-06",
                "catchment": ["*"],
                "sector_focus": ["ict"],
                **draw(levers(Centre)),
                "training": draw(levers(Training)),
                "grants": draw(levers(Grants)),
            }
        },
        "conglomerates": {"Big": draw(levers(Conglomerate))},
        "founder_education": {
            "edu": {
                "region": "North",
                "starts": "2015-01",
                "founding_rate_multiplier": draw(st.sampled_from([0.0, 1.0, 5.0])),
                **draw(levers(FounderEducation, skip={"founding_rate_multiplier"})),
            }
        },
    }


@settings(max_examples=examples(60), **FUZZ_SETTINGS)
@given(world=extreme_valid_world(), replication=st.integers(0, 3))
def test_any_valid_scenario_runs_and_reduces_to_sane_metrics(world, replication):
    """Levers at the extremes the schema allows (speed 0, seats 0 or 10 million, weekly contests, no
    hazard, 1000x multipliers, ...): the task never fails and every metric is a share in [0, 1],
    a finite non-negative count or amount, or NaN where undefined."""
    from sim.experiment.task import Task, run_task
    from sim.scenario.loader import resolved_dict, scenario_hash, validate

    try:
        sc = validate(copy.deepcopy(world), "extreme.yaml")
    # some combinations are invalid together (probabilities summing above 1)
    except ScenarioError as exc:
        assert "extreme.yaml: invalid scenario" in exc.message
        return
    assert sc.expected_startups() < 10_000  # small worlds: this test is about levers, not size
    start = time.perf_counter()
    result = run_task(
        resolved_dict(sc), scenario_hash(sc), Task(0, "extreme", replication), 7, True, True
    )
    assert time.perf_counter() - start < 60
    assert "error" not in result, result.get("traceback")
    for key, v in result["metrics"].items():
        if "survival" in key:
            assert math.isnan(v) or 0.0 <= v <= 1.0, (key, v)
        elif key == "survivors_5y":  # undefined with survival_5y (nobody observed to age 5)
            assert math.isnan(v) == math.isnan(result["metrics"]["survival_5y"]) or v == 0.0, (
                key,
                v,
            )
        elif key != "naive_gap_5y":
            assert math.isfinite(v) and v >= 0.0, (key, v)




ONE_MONTH = [
    "calendar.start=2015-01",
    "calendar.horizon=2015-01",
    "calendar.cohort_first_year=2015",
    "calendar.cohort_last_year=2015",
]
EXTREMES = {
    "no-startups": scaled(BASE, 0.0),
    "zero-budgets": scaled(BASE, 0.05)
    + every("centres", "grants.annual_budget_krw", 0)
    + every("centres", "grants.per_startup_krw", 0)
    + every("centres", "operating_cost_krw_per_year", 0)
    + every("centres", "operating_cost_krw_per_supported", 0)
    + every("conglomerates", "annual_budget_krw", 0)
    + every("founder_education", "cost_krw_per_year", 0),
    "no-seats": scaled(BASE, 0.05) + every("centres", "seats", 0) + ["timeline=null"],
    "one-month": scaled(BASE, 0.05)
    + ONE_MONTH
    + every("centres", "opens", "2015-01")
    + every("founder_education", "starts", "2015-01")
    + ["timeline=null"],
}




@pytest.mark.parametrize("case", sorted(EXTREMES))
def test_extreme_scenarios_run_and_report_undefined_metrics_as_na(case, tmp_path, capsys):
    """Extreme worlds run to a complete folder; undefined metrics are NaN, null with a reason, and
    n/a in the table."""
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment
    from sim.report.terminal import headline

    over = EXTREMES[case]
    sc = load_scenario(BASE, over).model_copy(update={"name": case})
    cf = load_scenario(COUNTERFACTUAL, [o for o in over if o.startswith(("regions.", "calendar."))])
    spec = ExperimentSpec(
        scenarios={"cf": cf, case: sc}, replications=2, seed=11, comparisons=[(case, "cf")]
    )
    out = tmp_path / "out"
    outcome = run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    assert not outcome.failures
    assert manifest(out)["status"] == "complete"
    summary = strict_json(out / "summary.json")  # undefined is null, never a bare NaN
    rows = pq.read_table(out / "replications.parquet").to_pylist()
    assert len(rows) == 4
    for row in rows:
        for key, v in row.items():
            assert v is not None, f"{key} is null in parquet: undefined must be NaN"
            signed = key in ("naive_gap_5y", "seconds") or key.startswith("displacement_")
            if isinstance(v, float) and not signed:
                assert math.isnan(v) or v >= 0, (
                    key,
                    v,
                )  # displacement is negative when others lose
    mine = summary["scenarios"][case]
    for metric, why in mine["undefined"].items():
        assert mine["metrics"][metric]["mean"] is None and why
        assert all(math.isnan(r[metric]) for r in rows if r["scenario"] == case)
    for metric, stat in mine["metrics"].items():
        if metric not in mine["undefined"]:
            assert stat["mean"] is not None and math.isfinite(stat["mean"]), metric

    if case in ("no-startups", "one-month"):
        assert {"survival_1y", "survival_5y", "supported_survival_5y"} <= set(mine["undefined"])
        assert all(r["startups"] == 0 for r in rows) if case == "no-startups" else True
    if case == "no-seats":
        assert mine["metrics"]["supported"]["mean"] == 0
        assert "supported_survival_5y" in mine["undefined"]
    if case == "zero-budgets":
        for m in (
            "grants_krw",
            "partner_investment_krw",
            "operating_cost_krw",
            "programme_cost_krw",
        ):
            assert mine["metrics"][m]["mean"] == 0.0, m
    # comparisons with an undefined side are undefined too (null), never a crash or a number
    for comp in summary["comparisons"]:
        if comp["metric"] in mine["undefined"]:
            assert comp["diff"] is None

    capsys.readouterr()
    print("\n".join(headline(summary, ["cf", case], 120)))
    printed = capsys.readouterr().out
    if mine["undefined"]:
        assert "n/a" in printed
        assert "n/a in S(5y)" in printed or "n/a in supported S(5y)*" in printed
        assert "undefined, no " in printed  # and says why


@pytest.mark.slow
def test_no_startup_experiment_writes_its_reports(tmp_path):
    """The most degenerate world (nothing founded) still gets a full compare report."""
    out = tmp_path / "out"
    over = [a for o in EXTREMES["no-startups"] for a in ("--set", o)]
    r = invoke("compare", BASE, "--counterfactual", "no-programme", "--baseline", "none", "-n", "2",
               "--executor", "serial", "--out", out, "-q", *over)
    clean_cli_result(r, codes=(0,))
    assert "n/a" in r.stdout
    for name in ("report.html", "report.md", "summary.json", "replications.parquet"):
        assert (out / name).is_file(), name
    assert manifest(out)["status"] == "complete"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "n/a" in md and "n/a: " in md  # shown as n/a, and a note says why
    assert not re.search(r"\bnan\b", md, re.IGNORECASE)  # never a raw NaN


@pytest.mark.slow
def test_a_very_large_region_runs_and_an_absurd_one_is_refused(tmp_path):
    """One region founding 30,000 start-ups a year (8 times Seoul) runs; founding rates valid one by
    one that add up to billions of start-ups are refused up front with a clear message."""
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment

    big = [
        "regions.Seoul.founding_rate_per_year=30000",
        "calendar.start=2014-01",
        "calendar.horizon=2015-12",
        "calendar.cohort_first_year=2014",
        "calendar.cohort_last_year=2014",
        "timeline=null",
        *[o for o in scaled(BASE, 0.0) if not o.startswith("regions.Seoul.")],
    ]
    sc = load_scenario(BASE, big).model_copy(update={"name": "big"})
    assert 55_000 < sc.expected_startups() < 65_000
    out = tmp_path / "big"
    outcome = run_experiment(
        ExperimentSpec(scenarios={"big": sc}, replications=1),
        out,
        SerialExecutor(),
        progress=False,
        echo=lambda _m: None,
    )
    assert not outcome.failures
    m = outcome.summary["scenarios"]["big"]["metrics"]
    assert m["startups"]["mean"] > 25_000 and 0 < m["survival_1y"]["mean"] < 1

    absurd = [f"regions.{r}.founding_rate_per_year=1e7" for r in load_scenario(BASE).regions]
    with pytest.raises(ScenarioError) as exc:
        load_scenario(BASE, absurd)
    assert (
        "regions: expected founding rates adding up to at most 2,000,000 simulated start-ups"
        in exc.value.message
    )
    # 17 regions x 1e7 a year growing 5 % a year over 13 years, of which the shipped sampling
    # simulates 9.2 %
    assert "found about 2.83e+08" in exc.value.message




# ---------------------------------------------------------------------------------------------
# 6. every shipped scenario, end to end
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_smoke_every_shipped_scenario_runs(path, tmp_path):
    """One replication of each shipped scenario (founding rates cut 20-fold) through ``run``:
    exit 0, status complete, a valid summary.json."""
    out = tmp_path / "out"
    over = [a for o in scaled(path, 0.05) for a in ("--set", o)]
    r = invoke("run", path, "-n", 1, "--executor", "serial", "--out", out, "-q", *over)
    clean_cli_result(r, codes=(0,))
    assert manifest(out)["status"] == "complete"
    summary = strict_json(out / "summary.json")
    name = load_scenario(path).name
    assert list(summary["scenarios"]) == [name]
    metrics = summary["scenarios"][name]["metrics"]
    assert metrics["startups"]["mean"] > 0
    assert 0 < metrics["survival_1y"]["mean"] <= 1 and 0 <= metrics["survival_5y"]["mean"] <= 1
    assert summary["failures"] == []
    assert len(pq.read_table(out / "replications.parquet")) == 1
