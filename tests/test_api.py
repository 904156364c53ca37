"""The Python API analysts use from notebooks: sim.run and sim.compare return pandas DataFrames and
the summary, the same numbers the command line writes, from a script with no __main__ guard."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from procs import env
from rows import metric_rows, nan_safe

import sim

SCRIPT = """
import json, sys
import sim
tiny, out = sys.argv[1], sys.argv[2]
res = sim.run(tiny, replications=2, workers=2, out=out + "/run",
              overrides={{"centres.*.seats": 20}})
cmp = sim.compare([tiny], baseline=None, replications=2, workers=2, out=out + "/cmp", report=False)
print(json.dumps({{"run": list(res.replications.shape), "startups": len(res.startups),
                  "regions": sorted(res.regions.region.unique().tolist()),
                  "scenarios": cmp.scenarios, "diff": cmp.summary["comparisons"][0]["diff"]}}))
"""


@pytest.mark.slow
def test_a_plain_script_without_a_main_guard_runs_in_parallel(tiny, tmp_path):
    """No `if __name__ == "__main__":` in sight, two worker processes: it runs and returns
    DataFrames."""
    script = tmp_path / "analysis.py"
    script.write_text(SCRIPT.format())
    r = subprocess.run(
        [sys.executable, str(script), str(tiny), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env(),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["run"][0] == 2 and out["startups"] > 0
    assert out["regions"] == sorted(
        pd.read_parquet(tmp_path / "run" / "regions.parquet").region.unique()
    )
    assert out["scenarios"] == ["no-programme", "tiny"]
    assert (
        json.loads((tmp_path / "run" / "manifest.json").read_text())["scenarios"]["tiny"][
            "resolved"
        ]["centres"]["Seoul"]["seats"]
        == 20
    )


def test_run_returns_the_folder_s_numbers_as_dataframes(tiny, tmp_path):
    """``sim.run`` returns the folder's own rows as DataFrames, and ``Results.open`` reads the
    folder back."""
    res = sim.run(tiny, replications=2, executor="serial", out=tmp_path / "r")
    assert isinstance(res.replications, pd.DataFrame) and isinstance(res.startups, pd.DataFrame)
    frame = [nan_safe(r) for r in res.replications.drop(columns=["seconds"]).to_dict("records")]
    assert frame == metric_rows(tmp_path / "r")
    assert list(res.replications.replication) == [0, 1]
    mean = res.summary["scenarios"]["tiny"]["metrics"]["survival_5y"]["mean"]
    assert res.replications.survival_5y.mean() == pytest.approx(mean)
    again = sim.Results.open(tmp_path / "r")
    assert again.summary == res.summary and again.report is None
    # the yearly ledger: a row per replication and calendar year, adding up to the whole-run metrics
    years = res.years
    assert len(years) == 2 * (2024 - 2012 + 1) and set(years.year) == set(range(2012, 2025))
    by_rep = years.groupby("replication")[["public_cost_krw", "equity_raised_krw"]].sum()
    metrics = res.replications.set_index("replication")
    assert by_rep.public_cost_krw.to_numpy() == pytest.approx(metrics.public_cost_krw.to_numpy())
    assert by_rep.equity_raised_krw.to_numpy() == pytest.approx(
        metrics.equity_raised_krw.to_numpy()
    )


def test_compare_writes_the_report_and_names_scenarios_as_the_cli_does(tiny, tmp_path):
    """``sim.compare`` writes the report, orders the scenarios as the CLI does and runs over the
    posterior by default."""
    res = sim.compare([tiny], baseline=None, replications=2, executor="serial", out=tmp_path / "c")
    assert res.scenarios == ["no-programme", "tiny"]
    assert res.report["html"].is_file() and res.report["markdown"].is_file()
    rows = [c for c in res.summary["comparisons"] if c["metric"] == "survival_5y"]
    assert rows[0]["scenario"] == "tiny" and rows[0]["reference"] == "no-programme"
    # over the shipped posterior by default, as on the command line (two replications: two draws)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert len(manifest["draws"]["values"]) == 2 and rows[0]["param_low"] is not None
    fixed = sim.compare(
        [tiny],
        baseline=None,
        replications=2,
        executor="serial",
        out=tmp_path / "f",
        fixed=True,
        report=False,
    )
    assert "draws" not in json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert [c for c in fixed.summary["comparisons"] if c["metric"] == "survival_5y"][0][
        "param_low"
    ] is None


def test_bad_input_is_the_same_clear_error(tmp_path):
    """A scenario name that is neither a file nor a shipped scenario: the CLI's clear error, no
    folder."""
    with pytest.raises(sim.errors.UsageError, match="no shipped scenario of that name"):
        sim.run("no-such-scenario", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_every_study_is_a_function_of_sim_even_after_the_layers_are_imported():
    """``sim.<study>`` is the study function the command line calls (not a subpackage of the same
    name), whatever has been imported before: each of ``sim.__all__`` but Results is callable and is
    the function in sim.studies."""
    import importlib

    import sim.report.sweep  # noqa: F401 - the layers loaded, as after any study has run
    from sim.studies import folders, sweep

    for name in sim.__all__:
        value = getattr(sim, name)
        assert callable(value) and not isinstance(value, type(importlib)), name
    assert sim.write_report is folders.report and sim.sweep is sweep.sweep
