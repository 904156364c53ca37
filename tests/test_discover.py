"""Scenario discovery (PRIM): on a sweep whose answer is known, and on a compare over the
posterior."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from sim.analysis.discovery import find_box
from sim.cli import cli


def test_prim_finds_the_box_that_generated_the_outcome():
    """PRIM finds the box that generated the outcome (a known answer)."""
    rng = np.random.default_rng(0)
    x = {"a": rng.random(400), "b": rng.random(400), "c": rng.random(400)}
    y = (x["a"] > 0.6) & (x["b"] < 0.4)
    box = find_box(x, y)
    lims = {lim["column"]: lim for lim in box["chosen"]["limits"]}
    assert set(lims) == {"a", "b"}  # c plays no part
    assert lims["a"]["low"] == pytest.approx(0.6, abs=0.05) and lims["b"]["high"] == pytest.approx(
        0.4, abs=0.05
    )
    assert box["chosen"]["density"] >= 0.9 and box["chosen"]["coverage"] >= 0.8
    assert box["base_density"] == pytest.approx(float(y.mean()))
    assert find_box(x, np.zeros(400, bool))["chosen"] is None


@pytest.mark.slow
def test_discover_on_a_sweep_restricts_the_parameter_that_matters(
    write_scenario, scenario_dict, tmp_path
):
    """Survival falls with the prototype hazard and does not depend on the jobs a crossing adds: the
    box for 'survival below its median' bounds the hazard from below and leaves the jobs multiplier
    alone."""
    scenario = write_scenario("small.yaml", scenario_dict())
    out = tmp_path / "sweep"
    res = CliRunner().invoke(
        cli,
        [
            "sweep",
            str(scenario),
            "--param",
            "startups.stages.prototype.failure_hazard_per_month=0.004:0.04",
            "--param",
            "startups.crossed_jobs_multiplier=1:5",
            "--samples",
            "40",
            "-n",
            "1",
            "--metric",
            "survival_3y",
            "--workers",
            "2",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    y = pq.read_table(out / "design.parquet").column("survival_3y_mean").to_numpy()
    median = float(np.median(y))
    res = CliRunner().invoke(cli, ["discover", str(out), "--condition", f"survival_3y<{median}"])
    assert res.exit_code == 0, res.output
    result = json.loads((out / "discover.json").read_text())
    lims = {lim["column"]: lim for lim in result["chosen"]["limits"]}
    assert "startups.stages.prototype.failure_hazard_per_month" in lims
    assert "startups.crossed_jobs_multiplier" not in lims
    assert lims["startups.stages.prototype.failure_hazard_per_month"]["low"] > 0.015
    assert result["chosen"]["density"] >= 0.8 and result["chosen"]["coverage"] >= 0.5
    md = (out / "discover.md").read_text()
    assert "coverage" in md and f"{result['chosen']['density']:.0%}" in md
    assert (out / "discover.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _truncated_replications_are_a_clear_exit_2(out, tmp_path, f"survival_3y<{median}", report=True)


def _truncated_replications_are_a_clear_exit_2(out, tmp_path, condition, report=False):
    """A finished folder whose replications.parquet was cut short: discover (and report) name the
    file and say how to rebuild it, exit 2, no pyarrow traceback."""
    import shutil

    cut = tmp_path / f"cut-{out.name}"
    shutil.copytree(out, cut)
    data = (cut / "replications.parquet").read_bytes()
    (cut / "replications.parquet").write_bytes(data[: len(data) // 2])
    reporting = [["report", str(cut)]] if report else []
    for args in (["discover", str(cut), "--condition", condition], *reporting):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output, res.output
        assert "replications.parquet: is unreadable" in res.output, res.output
        assert f"python run_sim.py resume {cut}" in res.output


@pytest.mark.slow
def test_discover_on_a_compare_over_the_posterior_and_in_its_report(tiny, tmp_path):
    """discover on a compare over the posterior writes its box and the compare's report shows it."""
    base = yaml.safe_load(tiny.read_text())
    nop = dict(base, name="none", centres={}, conglomerates={}, timeline={})
    (tmp_path / "none.yaml").write_text(yaml.safe_dump(nop, sort_keys=False))
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(tiny),
            str(tmp_path / "none.yaml"),
            "--baseline",
            "tiny",
            "--counterfactual",
            "none",
            "--draws",
            "24",
            "-n",
            "24",
            "--workers",
            "2",
            "--startups",
            "none",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    t = pq.read_table(out / "replications.parquet").to_pandas()
    wide = t.pivot(index="replication", columns="scenario", values="survivors_5y")
    cost = t.pivot(index="replication", columns="scenario", values="cohort_public_cost_krw")
    ratio = (cost["tiny"] - cost["none"]) / (wide["tiny"] - wide["none"])
    threshold = float(np.median(ratio))
    res = CliRunner().invoke(
        cli, ["discover", str(out), "--condition", f"cost-per-survivor>{threshold:.6g}"]
    )
    assert res.exit_code == 0, res.output
    result = json.loads((out / "discover.json").read_text())
    assert result["cases"] == 24 and result["unit"] == "posterior draw"
    assert result["of_interest"] == int(np.sum(ratio.to_numpy() > float(f"{threshold:.6g}")))
    assert result["chosen"] is not None
    md = (out / "report.md").read_text()
    assert (
        "Scenario discovery: when does it happen?" in md
        and (f"It holds in {result['of_interest']} of 24") in md
    )
    _truncated_replications_are_a_clear_exit_2(out, tmp_path, f"cost-per-survivor>{threshold:.6g}")
    # too few cases, or no posterior: a clear error, nothing written
    fixed = tmp_path / "fixed"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(tiny),
            str(tmp_path / "none.yaml"),
            "--baseline",
            "none",
            "--counterfactual",
            "none",
            "--fixed",
            "-n",
            "2",
            "--startups",
            "none",
            "--out",
            str(fixed),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["discover", str(fixed), "--condition", "survival_5y<0.001"])
    assert (
        res.exit_code == 2
        and "ran at fixed parameters" in res.output
        and not (fixed / "discover.json").exists()
    )
    res = CliRunner().invoke(cli, ["discover", str(out), "--condition", "survivl_5y<1"])
    assert res.exit_code == 2 and "is not a metric" in res.output
