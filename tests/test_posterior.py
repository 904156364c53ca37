"""Calibration to a posterior (history matching with an emulator): the method on a problem whose
answer is known, then the model itself with targets it generated at known parameters."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sim.analysis import posterior as hm
from sim.cli import cli
from sim.studies.designs import lhs_units
from sim.studies.folders import resume
from sim.studies.posterior import posterior


# ----------------------------------------------------------------------------------------------
# the method alone
# ----------------------------------------------------------------------------------------------
def _toy(u: np.ndarray) -> np.ndarray:
    """Two outputs of the first two inputs; the third input matters to nothing."""
    return np.column_stack(
        [np.sin(2.0 * u[:, 0]) + 0.5 * u[:, 1], u[:, 0] * u[:, 1] + 0.3 * u[:, 1]]
    )


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_at_their_nominal_rate():
    """Truth drawn from the prior, data drawn from the likelihood the method assumes: over repeated
    seeds the 90 % intervals cover the truth about 90 % of the time, and the input nothing depends
    on keeps its prior width."""
    tol, world, reps = np.array([0.1, 0.1]), 0.02, 30
    covered, widths = [], []
    for rep in range(reps):
        rng = np.random.default_rng(1000 + rep)
        truth = rng.random(3)
        data = _toy(truth[None])[0] + rng.normal(0.0, hm.OBS_SD_Z * tol) + rng.normal(0.0, world, 2)
        units = lhs_units(3, 30, rep)
        z = (_toy(units) + rng.normal(0.0, world, (30, 2)) - data) / tol
        sample, _ = hm.sample_posterior(hm.fit_emulator(units, z, seed=rep), 3, rng, size_log2=13)
        s = hm.unit_summary(sample)
        covered.append([s[i]["q05"] <= truth[i] <= s[i]["q95"] for i in range(2)])
        widths.append(s[2]["width_ratio"])
    rate = np.mean(covered)
    se = np.sqrt(0.9 * 0.1 / (2 * reps))  # pairs share a seed, so this slightly understates it
    assert abs(rate - 0.9) <= 3 * se, f"coverage {rate:.3f} vs nominal 0.90 (3 SE = {3 * se:.3f})"
    # the unused input: its posterior is its prior (90 % of the box), up to the sample's own noise
    assert np.mean(widths) == pytest.approx(1.0, abs=0.05) and min(widths) > 0.85
    # the used inputs are narrowed
    assert s[0]["width_ratio"] < 0.8


def test_weighted_quantiles_and_resampling_agree_with_a_known_distribution():
    """Weighted quantiles and resampled draws agree with the known distribution they come from."""
    rng = np.random.default_rng(5)
    x = rng.random((20000, 1))
    w = np.exp(-0.5 * ((x[:, 0] - 0.5) / 0.1) ** 2)
    sample = hm.WeightedSample(x, w / w.sum())
    q = sample.quantiles([0.05, 0.5, 0.95])[:, 0]
    assert q == pytest.approx([0.5 - 1.645 * 0.1, 0.5, 0.5 + 1.645 * 0.1], abs=0.01)
    units, weights = hm.draws(sample, 1000, rng)
    assert weights.sum() == pytest.approx(1.0) and len(units) <= 1000
    assert np.average(units[:, 0], weights=weights) == pytest.approx(
        0.5, abs=4 * 0.1 / np.sqrt(1000)
    )
    assert (
        hm.verdict(0.3) == "pinned" and hm.verdict(0.6) == "narrowed" and hm.verdict(0.95) == "open"
    )


# ----------------------------------------------------------------------------------------------
# the model: targets it generated at known parameters
# ----------------------------------------------------------------------------------------------
PRIORS = ["startups.stages.prototype.failure_hazard_per_month=0.004:0.04",
          "startups.mature_hazard_per_month=0.001:0.012",
          "startups.crossed_jobs_multiplier=1:5"]
"""Two hazards the survival targets depend on, and the jobs a firm adds when it crosses the valley
(which no survival target depends on)."""


def _synthetic_targets(write_scenario, scenario_dict, truth: dict, rng, tol: float = 0.02) -> tuple:
    """The small scenario and a targets file holding the model's own survival at ``truth`` (mean of
    4 replications of another seed) plus observation noise of the size the method assumes."""
    from sim.analysis.targets import target_values
    from sim.model import simulate
    from sim.scenario.keys import set_key
    from sim.scenario.loader import validate

    data = scenario_dict()
    scenario = write_scenario("small.yaml", data)
    at = scenario_dict()
    for k, v in truth.items():
        set_key(at, k, v)
    sc = validate(at, "truth")
    wanted = (("survival", "1"), ("survival", "2"), ("survival", "3"))
    vals = [target_values(simulate(sc, 99, r), sc, wanted)["values"] for r in range(4)]
    points = {
        int(k): round(
            float(
                np.mean([v[f"survival_{k}y"] for v in vals]) + rng.normal(0.0, hm.OBS_SD_Z * tol)
            ),
            4,
        )
        for _, k in wanted
    }
    targets = write_scenario("targets.yaml", {
        "name": "synthetic", "survival": {"source": "the model at known "
                                                    "parameters", "tolerance": tol,
                                          "points": points},
        "priors": {p.split("=")[0]: p.split("=")[1] for p in PRIORS}})
    return scenario, targets


def _unit(text: str, value: float) -> float:
    lo, hi = (float(x) for x in text.split("=")[1].split(":"))
    return (value - lo) / (hi - lo)


@pytest.mark.slow
def test_the_model_posterior_covers_parameters_that_generated_the_targets(
    write_scenario, scenario_dict, tmp_path
):
    """Over repeated seeds (truth from the prior each time) the hazards' 90 % intervals cover the
    values that made the targets at about the nominal rate, and the jobs multiplier, which no target
    depends on, stays about as wide as its prior."""
    covered = []
    open_widths = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        u = rng.random(2)
        truth = {"startups.stages.prototype.failure_hazard_per_month": 0.004 + 0.036 * u[0],
                 "startups.mature_hazard_per_month": 0.001 + 0.011 * u[1]}
        folder = tmp_path / f"s{seed}"
        folder.mkdir()
        scenario, targets = _synthetic_targets(
            lambda n, c, _f=folder: write_scenario(n, c, _f), scenario_dict, truth, rng
        )
        result = posterior(scenario, targets, points=12, waves=2, seed=seed, out=folder / "out",
                           executor="serial").result
        params = {p["key"]: p for p in result["parameters"]}
        for key, value in truth.items():
            lo, hi = params[key]["posterior_90"]
            covered.append(lo <= value <= hi)
        open_widths.append(params["startups.crossed_jobs_multiplier"]["width_ratio"])
    # 8 intervals at 90 %: fewer than 5 covered has probability 0.5 %
    assert sum(covered) >= 5, covered
    assert np.mean(open_widths) > 0.7, open_widths


@pytest.fixture(scope="module")
def posterior_folder(scenario_dict, tmp_path_factory):
    """One finished history-matching calibration of a small scenario against synthetic targets, for
    the module's tests (they copy it before changing it)."""
    from sim.scenario.loader import dump_yaml

    folder = tmp_path_factory.mktemp("posterior")

    def write(name, content):
        (folder / name).write_text(dump_yaml(content), encoding="utf-8")
        return folder / name

    rng = np.random.default_rng(11)
    truth = {
        "startups.stages.prototype.failure_hazard_per_month": 0.02,
        "startups.mature_hazard_per_month": 0.006,
    }
    scenario, targets = _synthetic_targets(write, scenario_dict, truth, rng)
    out = folder / "post"
    res = CliRunner().invoke(cli, ["calibrate", str(scenario), "--targets", str(targets),
                                   "--method", "history-matching", "--points", "10", "--waves", "2",
                                   "--draws", "300", "--workers", "2", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out, scenario, targets, res.output


@pytest.mark.slow
def test_calibrate_history_matching_writes_draws_a_report_and_resumes_identically(
    posterior_folder, tmp_path
):
    """calibrate --method history-matching writes draws and a report, and a resumed run ends
    identical."""
    out, _, _, output = posterior_folder
    t = pq.read_table(out / "posterior.parquet").to_pydict()
    keys = [p.split("=")[0] for p in PRIORS]
    assert set(t) == {"draw", "weight", *keys}
    assert 10 <= len(t["weight"]) <= 300 and sum(t["weight"]) == pytest.approx(1.0)
    for key, text in zip(keys, PRIORS, strict=True):
        lo, hi = (float(x) for x in text.split("=")[1].split(":"))
        assert all(lo <= v <= hi for v in t[key])
    result = json.loads((out / "posterior.json").read_text())
    assert result["simulated_points"] == 20 and len(result["waves"]) == 2
    # the report's words are the data's: each parameter's verdict is in the table and the headline
    md = (out / "posterior.md").read_text()
    for p in result["parameters"]:
        assert f"| `{p['key']}` |" in md and p["verdict"] in md
    assert (out / "posterior.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "posterior of small" in output and "report:" in output
    # interrupted half-way through wave 2: resume simulates only what is missing and ends identical
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    lines = (cut / "evaluations.jsonl").read_text().splitlines()
    (cut / "evaluations.jsonl").write_text("\n".join(lines[:15]) + "\n")
    m = json.loads((cut / "manifest.json").read_text())
    m["status"] = "interrupted"
    (cut / "manifest.json").write_text(json.dumps(m))
    for name in ("posterior.parquet", "posterior.json"):
        (cut / name).unlink()
    again = resume(cut, executor="serial").result
    assert len((cut / "evaluations.jsonl").read_text().splitlines()) == 20
    assert pq.read_table(cut / "posterior.parquet").equals(pq.read_table(out / "posterior.parquet"))
    assert again["parameters"] == result["parameters"]


def test_a_posterior_needs_priors_and_says_so(write_scenario, scenario_dict, tmp_path):
    """A posterior with no priors (in the targets file or --params) is exit 2 saying so."""
    scenario = write_scenario("small.yaml", scenario_dict())
    targets = write_scenario(
        "targets.yaml",
        {"name": "t", "survival": {"source": "x", "tolerance": 0.02, "points": {1: 0.8}}},
    )
    out = tmp_path / "post"
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(scenario),
            "--targets",
            str(targets),
            "--method",
            "history-matching",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 2
    assert "no `priors` section" in res.output and "Traceback" not in res.output
    assert not out.exists()  # nothing partial
    bad = write_scenario(
        "bad.yaml",
        {
            "name": "t",
            "survival": {"source": "x", "tolerance": 0.02, "points": {1: 0.8}},
            "priors": {"startups.mature_hazard_per_month": None},
        },
    )
    res = CliRunner().invoke(cli, ["calibrate", str(scenario), "--targets", str(bad), "--method",
                                   "history-matching", "--out", str(out)])
    assert (
        res.exit_code == 2
        and "priors: startups.mature_hazard_per_month: expected a range" in res.output
    )


@pytest.mark.slow
def test_a_posterior_on_dask_is_the_one_the_process_pool_gives(posterior_folder, tmp_path):
    """The same design, the same simulations, the same emulator: Dask changes nothing but where it
    runs."""
    pytest.importorskip("distributed")
    out, scenario, targets, _ = posterior_folder
    again = tmp_path / "dask"
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(scenario),
            "--targets",
            str(targets),
            "--method",
            "history-matching",
            "--points",
            "10",
            "--waves",
            "2",
            "--draws",
            "300",
            "--executor",
            "dask",
            "--workers",
            "2",
            "--out",
            str(again),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert pq.read_table(again / "posterior.parquet").equals(
        pq.read_table(out / "posterior.parquet")
    )


def test_priors_that_allow_an_invalid_scenario_stop_before_anything_is_written(
    write_scenario, scenario_dict, tmp_path
):
    """Priors that allow an invalid scenario stop before anything is written."""
    scenario = write_scenario("small.yaml", scenario_dict())
    targets = write_scenario(
        "targets.yaml",
        {
            "name": "t",
            "survival": {"source": "x", "tolerance": 0.02, "points": {1: 0.8}},
            "priors": {"startups.quality_sigma": "-0.5:1.0"},
        },
    )
    out = tmp_path / "post"
    res = CliRunner().invoke(
        cli,
        [
            "calibrate",
            str(scenario),
            "--targets",
            str(targets),
            "--method",
            "history-matching",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 2, res.output
    assert "the prior allows a parameter set that is not a valid scenario" in res.output
    assert "startups.quality_sigma=" in res.output and "Traceback" not in res.output
    assert not out.exists()


def _interrupted_copy(out, tmp_path, name: str):
    """A copy of a finished calibration folder as an interrupted one (its outputs not yet
    written)."""
    cut = tmp_path / name
    shutil.copytree(out, cut)
    m = json.loads((cut / "manifest.json").read_text())
    m["status"] = "interrupted"
    (cut / "manifest.json").write_text(json.dumps(m))
    for f in ("posterior.parquet", "posterior.json"):
        (cut / f).unlink()
    return cut


@pytest.mark.slow
def test_a_calibration_resumes_across_a_torn_journal_identically(posterior_folder, tmp_path):
    """kill -9 mid-write leaves the journal's last line torn: resume used to glue its next record
    onto it (that record lost from the file). Now the torn line is cut away first: one evaluation
    runs again, every line is a whole record, and the posterior is identical."""
    out = posterior_folder[0]
    torn = _interrupted_copy(out, tmp_path, "torn")
    lines = (torn / "evaluations.jsonl").read_bytes().split(b"\n")
    torn_line = lines[15][: len(lines[15]) // 2]
    (torn / "evaluations.jsonl").write_bytes(b"\n".join(lines[:15]) + b"\n" + torn_line)
    res = CliRunner().invoke(cli, ["resume", str(torn), "--executor", "serial", "-q"])
    assert res.exit_code == 0, res.output
    records = (torn / "evaluations.jsonl").read_text().splitlines()
    # none glued, none lost
    assert len(records) == 20 and all(json.loads(r)["point"] for r in records)
    assert pq.read_table(torn / "posterior.parquet").equals(
        pq.read_table(out / "posterior.parquet"))


@pytest.mark.slow
def test_a_damaged_calibration_journal_is_a_clear_exit_2(posterior_folder, tmp_path):
    """Non-UTF-8 bytes, a line of the wrong shape or a wave of the wrong width in a journal make
    resume exit 2 with one paragraph naming the file and line (they were tracebacks)."""
    out = posterior_folder[0]
    for name, journal, damage, says in (
            ("bytes", "evaluations.jsonl", lambda b: b.replace(b'"point"', b'"po\xffint"', 3),
             "is not UTF-8 text"),
            ("shape", "evaluations.jsonl", lambda b: b.replace(b'"values":', b'"valuez":', 1),
             "has no values"),
            ("width", "waves.jsonl", lambda b: b.replace(b"]]", b",0.5]]", 1), "holds"),
    ):
        bad = _interrupted_copy(out, tmp_path, name)
        (bad / journal).write_bytes(damage((bad / journal).read_bytes()))
        res = CliRunner().invoke(cli, ["resume", str(bad), "--executor", "serial", "-q"])
        assert res.exit_code == 2, (name, res.output)
        assert "Traceback" not in res.output and says in res.output, res.output
        assert str(bad / journal) in res.output, res.output


def test_a_prior_of_factors_is_refused_before_anything_is_written(
        write_scenario, scenario_dict, tmp_path):
    """A prior written as factors (x0.5:x1.5) made a posterior whose draws are factors, which
    compare then set as the key's values (South's funding access 0.6 became about 1)."""
    scenario = write_scenario("small.yaml", scenario_dict())
    targets = write_scenario("t.yaml", {"name": "t", "survival": {"source": "x", "tolerance": 0.05,
                                                                  "points": {1: 0.8, 3: 0.5}},
                                        "priors": {"regions.South.funding_access": "x0.5:x1.5"}})
    out = tmp_path / "post"
    res = CliRunner().invoke(cli, ["calibrate", str(scenario), "--targets", str(targets),
                                   "--method", "history-matching", "--out", str(out)])
    assert res.exit_code == 2 and "a range of factors (x0.5:x1.5) cannot be a prior" in res.output
    assert not out.exists()


def test_a_star_prior_over_entries_of_different_values_is_refused_up_front(
        write_scenario, scenario_dict, tmp_path):
    """A prior with '*' sets every entry to one value; when the entries hold different values, its
    posterior would have no one value it was calibrated from, and a compare could not tell where
    its draws apply: exit 2 before the folder. Entries of one value pass (to the next check: a
    prior that allows an invalid scenario)."""
    scenario = write_scenario("small.yaml", scenario_dict())  # funding access 1.0 and 0.6
    out = tmp_path / "post"
    for prior, says in (("regions.*.funding_access", "hold different values"),
                        ("regions.*.founding_trend_per_year", "not a valid scenario")):
        targets = write_scenario("t.yaml", {
            "name": "t", "survival": {"source": "x", "tolerance": 0.05, "points": {1: 0.8}},
            "priors": {prior: "0.0:2.0"}})  # a trend of 2.0 is outside the schema (at most 1)
        res = CliRunner().invoke(cli, ["calibrate", str(scenario), "--targets", str(targets),
                                       "--method", "history-matching", "--out", str(out)])
        assert res.exit_code == 2 and says in " ".join(res.output.split()), res.output
        assert not out.exists()
