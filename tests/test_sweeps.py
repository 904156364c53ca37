"""Sweeps and optimisation: designs, sensitivity indices, planned costs, sweep and optimize end to
end.

Simulations run a *tiny* world: the shipped ``ccei-announced`` (all 17 centres, 15 partners)
extended by absolute path, with every region's founding rate cut 20-fold and a calendar that
ends in 2020 (cohorts 2013-2015), so one replication takes a fraction of a second. The
counterfactual is ``no-programme`` cut the same way.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from sim.analysis import sensitivity as sa
from sim.analysis.costs import planned_cost
from sim.analysis.metrics import replication_metrics
from sim.cli import cli
from sim.errors import ScenarioError, UsageError
from sim.metadata import OptimizeInfo
from sim.model import simulate
from sim.scenario import load_scenario, ranges
from sim.scenario.loader import base_data, resolve_file, resolved_dict, validate
from sim.studies import designs
from sim.studies.budget import BudgetProblem, allocation_hash, plan_optimize

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios"
SCALE = 0.05
TIMING = {"seconds"}


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """tiny.yaml (the announced programme, 20x fewer start-ups, short calendar) and
    tiny-none.yaml."""
    folder = tmp_path_factory.mktemp("tiny")
    regions = {r: {"founding_rate_per_year": round(v["founding_rate_per_year"] * SCALE, 3)}
               for r, v in resolve_file(SHIPPED / "no-programme.yaml")["regions"].items()}
    calendar = {"horizon": "2020-12", "cohort_first_year": 2013, "cohort_last_year": 2015}
    out = {}
    for name, parent in (("tiny", "ccei-announced.yaml"), ("tiny-none", "no-programme.yaml")):
        path = folder / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "extends": str(SHIPPED / parent),
                    "name": name,
                    "regions": regions,
                    "calendar": calendar,
                },
                sort_keys=False,
            )
        )
        out[name] = path
    return out


def invoke(*args, env=None):
    """Run the CLI in this process (with ``env``)."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def design_rows(folder: Path) -> list[dict]:
    """design.parquet's rows."""
    rows = pq.read_table(folder / "design.parquet").to_pylist()
    return [
        {k: ("NaN" if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]


def metric_rows(folder: Path) -> list[dict]:
    """replications.parquet's rows."""
    rows = pq.read_table(folder / "replications.parquet").to_pylist()
    rows = [
        {
            k: ("NaN" if isinstance(v, float) and v != v else v)
            for k, v in r.items()
            if k not in TIMING
        }
        for r in rows
    ]
    return sorted(rows, key=lambda r: (r["scenario"], r["replication"]))


# ---------------------------------------------------------------------------------------------
# parameters and designs
# ---------------------------------------------------------------------------------------------
def test_param_types_wildcards_and_rounding(tiny):
    """Integer keys round, '*' expands to every centre, relative ranges multiply each target's
    value."""
    data = base_data(tiny["tiny"])
    resolved = resolved_dict(validate(data))
    seats = ranges.make_param("centres.*.seats=10:60", data, resolved)
    assert seats.kind == "int" and len(seats.targets) == 17
    assert seats.value(0.0) == 10 and seats.value(1.0) == 60 and seats.value(0.51) == 36
    assert all(isinstance(v, int) for v in seats.assignments(seats.value(0.3)).values())
    fa = ranges.make_param("regions.*.funding_access=x0.5:x1.5", data, resolved)
    got = fa.assignments(2.0)
    assert got["regions.Seoul.funding_access"] == 2.0 and got[
        "regions.Busan.funding_access"
    ] == pytest.approx(1.3)
    noise = ranges.make_param("centre_defaults.selection_noise=0:2", data, resolved)
    assert noise.kind == "float" and noise.value(0.25) == 0.5
    log = ranges.make_param("centre_defaults.grants.per_startup_krw=1e6:1e8:log", data, resolved)
    assert log.value(0.5) == pytest.approx(1e7) and log.unit(1e7) == pytest.approx(0.5)
    assert ranges.make_param("centres.Seoul.enabled=0:1", data, resolved).kind == "bool"


@pytest.mark.parametrize("text, fragment", [
    ("centre_defaults.seats", "expected dotted.key=LOW:HIGH"),
    ("centre_defaults.seats=9:3", "LOW < HIGH"),
    ("centre_defaults.seats=a:b", "expected LOW:HIGH"),
    ("centre_defaults.bogus=1:2", "not a setting of the scenario schema"),
    ("centres.Seoul.opens=1:2", "is text"),
    ("centre_defaults.seats=x1:x2", "relative range"),
    ("centre_defaults.selection_noise=0:2:log", "log range needs LOW > 0"),
])
def test_bad_parameters_are_input_errors(tiny, text, fragment):
    """Each malformed --param is refused (exit code 2) with a message saying what was expected."""
    data = base_data(tiny["tiny"])
    with pytest.raises(ScenarioError, match=re.escape(fragment)) as exc:
        ranges.make_param(text, data, resolved_dict(validate(data)))
    assert exc.value.exit_code == 2


def _params(k: int, kind: str = "float") -> list[ranges.Param]:
    return [
        ranges.Param(key=f"p{i}", targets=(f"p{i}",), low=0.0, high=10.0, kind=kind)
        for i in range(k)
    ]


def test_lhs_is_stratified():
    """Latin hypercube: every parameter's range holds exactly one point in each of N strata."""
    d = designs.make_design("lhs", _params(4), 16, seed=3)
    assert d.units.shape == (16, 4) and d.values.shape == (16, 4)
    for j in range(4):
        assert sorted(np.floor(d.units[:, j] * 16).astype(int)) == list(range(16))
    assert np.all((d.values >= 0) & (d.values <= 10))


def test_sobol_design_is_balanced_saltelli():
    """Saltelli design: A and B are balanced Sobol' nets, AB_i is A with column i from B, N(k+2)
    rows."""
    k, n = 3, 16
    d = designs.make_design("sobol", _params(k), n, seed=5)
    assert d.units.shape == (n * (k + 2), k)
    a, b = d.units[:n], d.units[n:2 * n]
    for m in (a, b):
        for j in range(k):  # one point in each of the N equal bins of every column
            assert sorted(np.floor(m[:, j] * n).astype(int)) == list(range(n))
    for i in range(k):
        ab = d.units[(2 + i) * n:(3 + i) * n]
        assert np.array_equal(ab[:, i], b[:, i])
        assert np.array_equal(np.delete(ab, i, axis=1), np.delete(a, i, axis=1))
    assert d.blocks[:n] == ["A"] * n and d.blocks[-1] == f"AB:{k - 1}"
    with pytest.raises(UsageError, match="power of two"):
        designs.make_design("sobol", _params(k), 12, seed=5)


def test_grid_levels():
    """Grid: N levels per parameter, every combination; whole-number levels that round alike
    merge."""
    d = designs.make_design("grid", _params(2), 3, seed=0)
    assert d.values.shape == (9, 2)
    for j in range(2):
        vals, counts = np.unique(d.values[:, j], return_counts=True)
        assert vals.tolist() == [0.0, 5.0, 10.0] and counts.tolist() == [3, 3, 3]
    ints = [ranges.Param(key="s", targets=("s",), low=1, high=3, kind="int")]
    assert designs.make_design("grid", ints, 5, seed=0).values[:, 0].tolist() == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------------------------------------
# sensitivity indices on analytic functions
# ---------------------------------------------------------------------------------------------
def test_saltelli_recovers_ishigami():
    """Saltelli/Jansen estimates on the Ishigami function match the exact indices within 4 SE."""
    k, n = 3, 2048
    units, _ = designs.saltelli_units(k, n, seed=11)
    res = sa.saltelli_indices(sa.ishigami(units), k, n_boot=200, seed=1)
    s_true, st_true = sa.ishigami_indices()
    for key, truth in (("first", s_true), ("total", st_true)):
        est, se = np.array(res[key]), np.array(res[f"{key}_se"])
        assert np.all(np.abs(est - truth) <= 4 * se + 0.01), (key, est, truth, se)
    assert sa.ranking(res["total"], res["first"]) == [0, 1, 2]
    assert abs(res["first"][2]) < 0.05  # x3 acts only through its interaction with x1


def test_saltelli_matches_scipy():
    """Our estimator is scipy.stats.sobol_indices' (Saltelli 2010 / Jansen) on the same
    evaluations."""
    from scipy.stats import sobol_indices

    k, n = 3, 256
    units, _ = designs.saltelli_units(k, n, seed=2)
    y = sa.ishigami(units)
    f_a, f_b, f_ab = sa.split_saltelli(y, k)
    ref = sobol_indices(func={"f_A": f_a[None], "f_B": f_b[None], "f_AB": f_ab[:, None, :]}, n=n)
    ours = sa.saltelli_indices(y, k, n_boot=0)
    np.testing.assert_allclose(ours["first"], ref.first_order.ravel(), atol=1e-10)
    np.testing.assert_allclose(ours["total"], ref.total_order.ravel(), atol=1e-10)


def test_surrogate_recovers_linear_weights():
    """A noisy linear model y = 4x1 + 2x2 + x3 + 0x4: indices w_i² / sum w² within 4 SE, x4 near
    0."""
    rng = np.random.default_rng(0)
    units = designs.lhs_units(4, 48, seed=9)
    w = np.array([4.0, 2.0, 1.0, 0.0])
    y = units @ w + rng.normal(0, 0.05, len(units))
    res = sa.surrogate_indices(units, y, n_boot=200, seed=2)
    truth = w ** 2 / np.sum(w ** 2)
    for key in ("first", "total"):
        est, se = np.array(res[key]), np.array(res[f"{key}_se"])
        assert np.all(np.abs(est - truth) <= 4 * se + 0.01), (key, est, truth, se)
    assert res["total"][3] < 0.01
    assert sa.ranking(res["total"]) == [0, 1, 2, 3]
    assert res["r2"] > 0.99


def test_surrogate_interactions_are_exact():
    """y = x1 + 2 x2 x3 on uniforms: exact indices S = (0.3, 0.3, 0.3), ST = (0.3, 0.4, 0.4)."""
    units = designs.lhs_units(3, 60, seed=4)
    y = units[:, 0] + 2 * units[:, 1] * units[:, 2]
    res = sa.surrogate_indices(units, y, n_boot=0)
    assert res["degree"] == "quadratic with interactions"
    np.testing.assert_allclose(res["first"], [0.3, 0.3, 0.3], atol=1e-9)
    np.testing.assert_allclose(res["total"], [0.3, 0.4, 0.4], atol=1e-9)
    sur = sa.Surrogate.fit(units, y)
    np.testing.assert_allclose(sur.main_effect(0, np.array([0.0, 1.0])), [0.5, 1.5], atol=1e-9)


# ---------------------------------------------------------------------------------------------
# planned cost
# ---------------------------------------------------------------------------------------------
def test_planned_cost_bounds_simulated_spending(tiny):
    """Planned cost is never below what the simulation spends; operating cost is exactly the
    model's."""
    for name in ("tiny", "tiny-none"):
        sc = load_scenario(tiny[name])
        plan = planned_cost(sc)
        for r in range(2):
            rec = simulate(sc, 7, r)
            m = replication_metrics(rec, sc.calendar)
            assert m["programme_cost_krw"] <= plan["total_krw"] + 1e-3
            assert m["grants_krw"] <= plan["grants_krw"] + 1e-3
            assert m["partner_investment_krw"] <= plan["conglomerate_krw"] + 1e-3
            # the fixed part and education exactly; the part per supported start-up at most the
            # plan's
            assert rec.costs["operating_krw"] + rec.costs["education_krw"] == pytest.approx(
                plan["operating_krw"] + plan["education_krw"])
            assert rec.costs["per_supported_krw"] <= plan["per_supported_krw"] + 1e-3
            assert m["public_cost_krw"] <= plan["total_krw"] - plan["conglomerate_krw"] + 1e-3
    assert planned_cost(load_scenario(tiny["tiny-none"]))["total_krw"] == 0.0


def test_planned_cost_binds_when_budgets_are_tight(tiny):
    """With a grant budget of one grant a year and many applicants (Seoul), the plan is the
    spend."""
    sc = load_scenario(tiny["tiny"], ["centre_defaults.grants.annual_budget_krw=20000000"])
    plan = planned_cost(sc, by_centre=True)
    rec = simulate(sc, 7, 0)
    # programme years from the opening to 2020-12: Seoul (2015-06) 6, Gyeonggi (2014-12) 7
    for name, years in (("Seoul", 6), ("Gyeonggi", 7)):
        assert plan["centres"][name]["grants_krw"] == 20_000_000 * years
        assert rec.centres[name]["grants_krw"] == pytest.approx(plan["centres"][name]["grants_krw"])
    assert sum(c["grants_krw"] for c in plan["centres"].values()) == pytest.approx(
        plan["grants_krw"]
    )


# ---------------------------------------------------------------------------------------------
# sweep end to end
# ---------------------------------------------------------------------------------------------
SWEEP_ARGS = [
    "--param",
    "regions.*.funding_access=x0.4:x1.6",
    "--param",
    "centre_defaults.selection_noise=0:2",
    "--param",
    "centres.Jeju.seats=5:60",
    "--set",
    "centres.Jeju.enabled=false",
    "--samples",
    "10",
    "--design",
    "lhs",
    "-n",
    "2",
    "--seed",
    "5",
    "-q",
]


@pytest.fixture(scope="module")
def sweep_run(tiny, tmp_path_factory):
    """One LHS sweep through the process pool: 10 points x 2 replications."""
    out = tmp_path_factory.mktemp("sweep") / "run"
    res = invoke(
        "sweep", tiny["tiny"], *SWEEP_ARGS, "--executor", "processes", "-j", "2", "--out", out
    )
    assert res.exit_code == 0, res.output
    return out, res


@pytest.mark.slow
def test_sweep_outputs(sweep_run):
    """design.parquet/.csv have one row per point with values and metric CIs; reports embed
    decodable PNGs."""
    import matplotlib.image as mpimg

    out, res = sweep_run
    rows = design_rows(out)
    assert len(rows) == 10 and [r["point"] for r in rows] == [f"point-{i:04d}" for i in range(10)]
    for key in ("regions.*.funding_access", "centre_defaults.selection_noise", "centres.Jeju.seats",
                "survivors_5y_mean", "survivors_5y_ci_low", "survivors_5y_ci_high", "replications"):
        assert key in rows[0]
    assert all(r["replications"] == 2 for r in rows)
    assert all(
        isinstance(r["centres.Jeju.seats"], float)
        and r["centres.Jeju.seats"] == int(r["centres.Jeju.seats"])
        for r in rows
    )
    assert all(0.4 <= r["regions.*.funding_access"] <= 1.6 for r in rows)
    csv = (out / "design.csv").read_text().splitlines()
    assert len(csv) == 11 and csv[0].startswith('"point"')
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["status"] == "complete"
    # the points really carry their values
    m = manifest["scenarios"]["point-0003"]["resolved"]
    assert m["centres"]["Jeju"]["seats"] == int(rows[3]["centres.Jeju.seats"])
    html = (out / "sweep.html").read_text()
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(pngs) == 3
    for b64 in pngs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    md = (out / "sweep.md").read_text()
    for name in ("sweep-tornado", "sweep-scatter", "sweep-indices"):
        assert (
            f"figures/{name}.png" in md and (out / "figures" / f"{name}.png").stat().st_size > 1000
        )
    assert "Which parameters matter most" in md and "which parameters matter most" in res.output


@pytest.mark.slow
def test_sweep_ranks_a_strong_parameter_first_and_a_dead_one_near_zero(sweep_run):
    """Funding access (a strong lever) ranks first; the seats of a closed centre get an index near
    zero."""
    out, _ = sweep_run
    a = json.loads((out / "sensitivity.json").read_text())
    assert a["ranking"][0] == "regions.*.funding_access"
    dead = next(r for r in a["table"] if r["param"] == "centres.Jeju.seats")
    assert dead["total"] < max(0.1, 3 * (dead["total_se"] or 0))
    assert a["table"][0]["total"] > 0.5


@pytest.mark.slow
def test_sobol_sweep_gives_exact_zero_for_a_lever_without_effect(tiny, tmp_path):
    """Saltelli design: AB rows that change only a closed centre's seats replay A exactly (CRN): S =
    ST = 0."""
    out = tmp_path / "sobol"
    res = invoke(
        "sweep",
        tiny["tiny"],
        "--param",
        "regions.*.funding_access=x0.4:x1.6",
        "--param",
        "centres.Jeju.seats=5:60",
        "--set",
        "centres.Jeju.enabled=false",
        "--design",
        "sobol",
        "--samples",
        "4",
        "-n",
        "1",
        "--executor",
        "serial",
        "-q",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    rows = design_rows(out)
    assert len(rows) == 4 * (2 + 2)
    y = np.array([r["survivors_5y_mean"] for r in rows])
    blocks = [r["block"] for r in rows]
    assert np.array_equal(y[[b == "AB:1" for b in blocks]], y[[b == "A" for b in blocks]])
    a = json.loads((out / "sensitivity.json").read_text())
    assert a["primary"] == "saltelli"
    sal = a["saltelli"]
    assert sal["first"][1] == 0.0 and sal["total"][1] == 0.0
    assert sal["total"][0] > 0.5
    assert a["ranking"] == ["regions.*.funding_access", "centres.Jeju.seats"]


@pytest.mark.slow
def test_sweep_resume_reproduces_an_uninterrupted_run(tiny, sweep_run, tmp_path):
    """A sweep with a failed task, resumed with `resume DIR`, ends identical to the uninterrupted
    one."""
    ref, _ = sweep_run
    out = tmp_path / "resumed"
    res = invoke("sweep", tiny["tiny"], *SWEEP_ARGS, "--executor", "serial", "--out", out,
                 env={"VALLEYSIM_FAIL_TASKS": "point-0004:1"})
    assert res.exit_code == 1
    assert not (out / "design.parquet").exists()
    res = invoke("resume", out, "--executor", "serial", "-q", env={"VALLEYSIM_FAIL_TASKS": ""})
    assert res.exit_code == 0, res.output
    assert metric_rows(out) == metric_rows(ref)
    assert design_rows(out) == design_rows(ref)
    assert json.loads((out / "sensitivity.json").read_text())["table"] == \
        json.loads((ref / "sensitivity.json").read_text())["table"]
    res = invoke("report", out, "-q")  # rebuilds the sweep report from the folder
    assert res.exit_code == 0 and (out / "sweep.html").is_file()


def test_invalid_design_point_is_exit_2_before_anything_runs(tiny, tmp_path):
    """A range whose corner breaks the schema (probabilities summing above 1) stops with exit 2,
    nothing written."""
    out = tmp_path / "never"
    res = invoke(
        "sweep",
        tiny["tiny"],
        "--param",
        "conglomerate_defaults.invest_probability=0.1:0.95",
        "--samples",
        "8",
        "--executor",
        "serial",
        "--out",
        out,
    )
    assert res.exit_code == 2
    assert "point-" in res.output and "invest_probability" in res.output
    assert not out.exists()
    res = invoke("sweep", tiny["tiny"], "--param", "centre_defaults.seats=1:9", "--design", "sobol",
                 "--samples", "6", "--out", out)
    assert res.exit_code == 2 and "power of two" in res.output
    res = invoke(
        "sweep",
        tiny["tiny"],
        "--param",
        "centre_defaults.seats=1:9",
        "--metric",
        "nope",
        "--out",
        out,
    )
    assert res.exit_code == 2 and "--metric" in res.output
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# optimize
# ---------------------------------------------------------------------------------------------
def _spec(tiny, budget, levers=("grant_size", "centres=Seoul+Jeju+Sejong"), **kw) -> OptimizeInfo:
    return plan_optimize(
        tiny["tiny"],
        budget=budget,
        levers=list(levers),
        objective="additional_survivors_5y",
        counterfactual=tiny["tiny-none"],
        baseline=tiny["tiny"],
        evaluations=10,
        finalists=2,
        final_replications=3,
        replications=1,
        seed=3,
        **kw,
    )


def test_repair_fits_the_budget_closing_low_priority_centres_first(tiny):
    """Over budget, the repair closes the lowest-priority centre first and lands within the
    budget."""
    full = planned_cost(load_scenario(tiny["tiny"]))["total_krw"]
    prob = BudgetProblem(_spec(tiny, full * 0.98))
    # grant size at its top, priorities Seoul .9, Jeju .6, Sejong .8
    u = np.array([1.0, 0.9, 0.6, 0.8])
    assert prob.cost(u) > prob.budget
    ur, ok = prob.repair(u)
    assert ok and prob.cost(ur) <= prob.budget
    alloc = prob.allocation(ur)
    assert alloc["centres.Jeju.enabled"] is False  # priority 0.6: the first to go
    assert alloc["centres.Seoul.enabled"] is True and alloc["centres.Sejong.enabled"] is True
    # fits: untouched
    assert prob.repair(np.array([0.2, 0.9, 0.3, 0.8]))[0].tolist() == [0.2, 0.9, 0.3, 0.8]
    assert prob.cheap[1:].tolist() == [0.0, 0.0, 0.0] and prob.cheap[0] == 0.0
    with pytest.raises(UsageError, match="cheapest allocation"):
        from sim.studies.optimize import check_budget

        check_budget(_spec(tiny, 1e9))


@pytest.fixture(scope="module")
def optimize_run(tiny, tmp_path_factory):
    """A finished optimisation of the tiny scenario against the baseline's budget."""
    out = tmp_path_factory.mktemp("optimize") / "run"
    res = invoke(
        "optimize",
        tiny["tiny"],
        "--budget-krw",
        "baseline",
        "--levers",
        "grant_size",
        "--levers",
        "centres=Seoul+Jeju+Sejong",
        "--counterfactual",
        tiny["tiny-none"],
        "--baseline",
        tiny["tiny"],
        "--evaluations",
        "10",
        "--finalists",
        "2",
        "--final-replications",
        "4",
        "-n",
        "1",
        "--seed",
        "3",
        "--executor",
        "serial",
        "-q",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    return out, res


@pytest.mark.slow
def test_optimize_stays_within_budget_and_beats_the_baseline(tiny, optimize_run):
    """Every simulated candidate plans at most the budget; the best is no worse than the baseline
    (95% CI)."""
    out, res = optimize_run
    result = json.loads((out / "optimize.json").read_text())
    budget = result["budget_krw"]
    assert budget == pytest.approx(planned_cost(load_scenario(tiny["tiny"]))["total_krw"])
    cands = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert cands and all(c["planned_cost_krw"] <= budget for c in cands)
    best = result["best"]
    assert best["planned_cost_krw"] <= budget
    assert best["simulated_cost_krw"]["ci_high"] <= budget
    assert best["vs_baseline"]["ci_high"] >= 0  # at least as good as the baseline, within the CI
    assert {f["name"] for f in result["finalists"]} >= {"finalist-1", "finalist-2", "tiny"}
    for name in (
        "optimize.md",
        "optimize.html",
        "best.yaml",
        "evaluations.jsonl",
        "final/summary.json",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    if result["verdict"] in ("best", "beats-baseline"):
        assert "best allocation" in res.output
    else:  # never "best" when the baseline beat it or cannot be told apart from it
        assert "best allocation" not in res.output and "top finalist" in res.output
    assert (
        f"verdict: {result['verdict_text']}" in res.output
        and "simulated programme cost" in res.output
    )


@pytest.mark.slow
def test_best_yaml_reproduces_the_best_allocation(tiny, optimize_run):
    """best.yaml extends the base file and resolves to exactly the scenario that was evaluated."""
    out, _ = optimize_run
    result = json.loads((out / "optimize.json").read_text())
    text = (out / "best.yaml").read_text()
    assert "extends:" in text and text.startswith("#")
    sc = load_scenario(out / "best.yaml")
    assert allocation_hash(sc) == result["best"]["key"]
    assert planned_cost(sc)["total_krw"] == pytest.approx(result["best"]["planned_cost_krw"])


@pytest.mark.slow
def test_optimize_resume_recomputes_nothing(optimize_run, tmp_path):
    """A restarted optimisation replays the search from its cache (no new simulation) to the same
    answer."""
    import shutil

    out, _ = optimize_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = (copy / "evaluations.jsonl").read_text()
    ref = json.loads((copy / "optimize.json").read_text())
    for name in ("optimize.json", "optimize.md", "best.yaml"):
        (copy / name).unlink()
    m = json.loads((copy / "manifest.json").read_text())
    m["status"] = "interrupted"
    (copy / "manifest.json").write_text(json.dumps(m))
    res = invoke("resume", copy, "--executor", "serial", "-q")
    assert res.exit_code == 0, res.output
    assert (copy / "evaluations.jsonl").read_text() == before
    got = json.loads((copy / "optimize.json").read_text())
    assert got["search"]["simulated_replications_this_run"] == 0
    for key in ("best", "finalists", "baseline"):
        assert got[key] == ref[key]
    res = invoke("resume", copy, "--executor", "serial")
    assert res.exit_code == 2 and "already complete" in res.output


def test_optimize_refuses_an_impossible_budget(tiny, tmp_path):
    """A budget below the cheapest allocation is exit 2 with the cheapest cost, and nothing is
    written."""
    out = tmp_path / "never"
    res = invoke(
        "optimize",
        tiny["tiny"],
        "--budget-krw",
        "1e9",
        "--levers",
        "grant_size",
        "--counterfactual",
        tiny["tiny-none"],
        "--baseline",
        tiny["tiny"],
        "--executor",
        "serial",
        "--out",
        out,
    )
    assert res.exit_code == 2 and "cheapest allocation" in res.output
    assert not out.exists()
    res = invoke("optimize", tiny["tiny"], "--budget-krw", "1e12", "--levers", "sparkle",
                 "--counterfactual", tiny["tiny-none"], "--out", out)
    assert res.exit_code == 2 and "--levers" in res.output


def test_an_allocation_is_called_best_only_when_it_beats_the_baseline():
    """The top finalist is "best" only if its paired CI against the baseline lies above 0; a
    baseline that did better on the same fresh replications is said to be better, and an overlap is
    "indistinguishable"."""
    from sim.studies.optimize import verdict

    assert verdict(None) == "best"
    assert verdict({"diff": 12.0, "ci_low": 3.0, "ci_high": 20.0}) == "beats-baseline"
    assert verdict({"diff": 4.0, "ci_low": -2.0, "ci_high": 10.0}) == "indistinguishable"
    assert verdict({"diff": -4.0, "ci_low": -9.0, "ci_high": 1.0}) == "baseline-better"
    assert verdict({"diff": 0.0, "ci_low": 0.0, "ci_high": 0.0}) == "baseline-better"



def test_optimize_refuses_another_economy_and_a_lever_that_moves_the_economy(tiny, tmp_path):
    """The default counterfactual is the shipped real-scale one: against a twentieth of the economy
    every candidate used to "lose" hundreds of thousands of start-ups. A lever on who is founded
    likewise."""
    out = tmp_path / "never"
    res = invoke("optimize", tiny["tiny"], "--budget-krw", "1e12", "--levers", "grant_size",
                 "--baseline", "none", "--executor", "serial", "--out", out)
    assert res.exit_code == 2 and not out.exists()
    msg = " ".join(res.output.split())
    assert "optimize: every scenario must simulate the counterfactual's economy" in msg
    assert "regions.Seoul.founding_rate_per_year is" in msg
    assert "calendar.horizon is '2020-12' there" in msg
    res = invoke("optimize", tiny["tiny"], "--budget-krw", "1e12", "--levers",
                 "regions.*.founding_rate_per_year=1:9", "--counterfactual", tiny["tiny-none"],
                 "--baseline", "none", "--out", out)
    assert res.exit_code == 2 and "belongs to the economy" in res.output and not out.exists()
