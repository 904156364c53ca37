"""The command line's contract: exit code 0 on success, 2 on bad input with one clear paragraph
on stderr and no traceback; ``show`` prints the resolved scenario as YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario import load_scenario, resolved_dict, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios"


def invoke(*args):
    """Run the CLI in this process."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def no_traceback(result) -> None:
    """No traceback reached the output, and the command ended by an exit code."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_ok_prints_name_and_hash():
    """validate prints each file's name and hash."""
    f = SHIPPED / "ccei-announced.yaml"
    r = invoke("validate", f, SHIPPED / "no-programme.yaml")
    assert r.exit_code == 0, r.output
    sc = load_scenario(f)
    assert f"ok  {f}  (name: ccei-announced, hash: {scenario_hash(sc)}" in r.stdout
    assert "name: no-programme" in r.stdout


def test_validate_reports_every_bad_file_with_exit_2(tmp_path):
    """validate lists every bad file's problem (key path, expectation, finding), exit 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: no-programme\nname: bad\nregions:\n  Seoul: {founding_rate_per_year: "
                   "-5}\n")
    r = invoke("validate", bad, tmp_path / "missing.yaml", SHIPPED / "no-programme.yaml")
    assert r.exit_code == 2
    assert "regions.Seoul.founding_rate_per_year" in r.stderr
    assert f"{tmp_path / 'missing.yaml'}: no such file." in r.stderr
    assert r.stderr.startswith("error: ")
    no_traceback(r)


def test_validate_bad_override_is_exit_2():
    """A mistyped --set key is exit 2 naming it."""
    r = invoke(
        "validate", SHIPPED / "no-programme.yaml", "--set", "regions.Seoul.founding_rate_per_yeer=3"
    )
    assert r.exit_code == 2
    assert "founding_rate_per_yeer" in r.stderr
    no_traceback(r)


def test_show_prints_the_resolved_scenario_as_yaml():
    """show prints the resolved scenario (extends merged, --set applied) as YAML."""
    f = SHIPPED / "ccei-announced.yaml"
    r = invoke("show", f, "--set", "regions.Seoul.founding_rate_per_year=7")
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(r.stdout)
    expected = resolved_dict(load_scenario(f, ["regions.Seoul.founding_rate_per_year=7"]))
    assert shown == expected
    assert "extends" not in shown  # resolved: the parent is merged in
    assert shown["regions"]["Seoul"]["founding_rate_per_year"] == 7


def test_show_missing_file_is_exit_2():
    """show of a missing file is exit 2 naming it."""
    r = invoke("show", "no/such/file.yaml")
    assert r.exit_code == 2
    assert "no/such/file.yaml: no such file." in r.stderr
    no_traceback(r)


@pytest.mark.parametrize("args,message", [
    (["run"], "give a scenario FILE"),
    (["run", "no/such/file.yaml"], "no such file"),
    (["run", SHIPPED / "no-programme.yaml", "--precision", "-1"], "--precision: expected a "
                                                                  "positive number"),
    (["run", SHIPPED / "no-programme.yaml", "--executor", "nope"], "Invalid value for "
                                                                   "'--executor'"),
    (["run", SHIPPED / "no-programme.yaml", "-n", "0"], "Invalid value for '--replications'"),
    (["resume", "no/such/folder"], "no manifest.json here"),
    (["replay", "no/such/folder", "--scenario", "x", "--replication", "0"], "no manifest.json "
                                                                            "here"),
])
def test_run_bad_input_is_exit_2_with_one_paragraph(args, message, tmp_path):
    """Bad run input is exit 2, one paragraph, nothing written."""
    r = invoke(*args, *(["--out", tmp_path / "out"] if args[0] == "run" and len(args) > 1 else []))
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    no_traceback(r)
    assert not (tmp_path / "out").exists()


def test_run_writes_results_and_exits_0(tmp_path):
    """A run writes its results folder and says where, exit 0."""
    out = tmp_path / "out"
    r = invoke(
        "run",
        SHIPPED / "no-programme.yaml",
        "-n",
        "1",
        "--executor",
        "serial",
        "--out",
        out,
        "-q",
        "--set",
        "calendar.horizon=2016-12",
        "--set",
        "calendar.cohort_last_year=2015",
        *[
            x
            for reg in ("Seoul", "Gyeonggi")
            for x in ("--set", f"regions.{reg}.founding_rate_per_year=50")
        ],
    )
    assert r.exit_code == 0, r.output
    assert f"results: {out}" in r.stdout
    # the headline table's notes follow it, as before the CLI printed outcomes
    assert "* supported S(5y) counts from the support date" in r.stdout
    assert "n/a in supported S(5y)* (no-programme): undefined" in r.stdout
    for name in (
        "manifest.json",
        "summary.json",
        "replications.parquet",
        "regions.parquet",
        "startups.parquet",
    ):
        assert (out / name).is_file(), name


# ---------------------------------------------------------------------------------------------
# terminal output that fits the terminal
# ---------------------------------------------------------------------------------------------
def _summary(names):
    """A summary shaped like a 14-scenario comparison's (long names, big counts, money)."""
    def stat(v):
        return {
            "mean": v,
            "ci_low": v * 0.99,
            "ci_high": v * 1.01,
            "half_width": v * 0.01,
            "sd": 1.0,
            "n": 10,
        }

    metrics = {
        "survival_1y": 0.71,
        "survival_3y": 0.508,
        "survival_5y": 0.382,
        "survivors_5y": 8689.0,
        "supported": 9456.0,
        "supported_survival_5y": 0.521,
        "acquired": 715.0,
        "crossed_valley": 18575.0,
        "jobs_end": 160692.0,
        "private_investment_krw": 1.37e13,
        "partner_investment_krw": 4.38e11,
        "grants_krw": 1.2e11,
        "public_cost_krw": 4.3e11,
    }
    return {
        "scenarios": {
            n: {"replications": 10, "metrics": {k: stat(v) for k, v in metrics.items()}}
            for n in names
        }
    }


@pytest.mark.parametrize("width", [80, 120])
def test_the_headline_table_fits_the_terminal(width):
    """The headline table keeps within the terminal's width, leaving out (and naming) columns that
    do not fit."""
    from sim.report.tables import HEADLINE, headline_lines

    names = [
        "no-programme",
        "ccei-announced",
        "capital-region-concentrated",
        "foreign-accelerators",
    ]
    lines = headline_lines(_summary(names), names, width)
    assert max(len(line) for line in lines) <= width
    assert all(line == line.rstrip() for line in lines)  # no padded lines
    text = "\n".join(lines)
    # the key column and full names stay
    assert "S(5y)" in text and "capital-region-concentrated" in text
    shown = [label for _, label, _ in HEADLINE if label in text or f"{label} (bn)" in text]
    if len(shown) < len(HEADLINE):
        assert "Left out at this width" in text
    if width == 80:
        assert len(shown) < len(HEADLINE)


def test_a_run_prints_no_line_wider_than_the_terminal(tmp_path):
    """No line a run prints is wider than the terminal (COLUMNS)."""
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(SHIPPED / "no-programme.yaml"),
            "-n",
            "1",
            "--executor",
            "serial",
            "-q",
            "--set",
            "regions.*.founding_rate_per_year=30",
            "--out",
            str(tmp_path / "o"),
        ],
        env={"COLUMNS": "80"},
    )
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert all(line == line.rstrip() for line in r.stdout.splitlines())


def test_precision_is_given_and_reported_in_percentage_points(tmp_path):
    """--precision is given in percentage points and the plan reports its target in them."""
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(SHIPPED / "no-programme.yaml"),
            "-n",
            "2",
            "--executor",
            "serial",
            "--set",
            "regions.*.founding_rate_per_year=30",
            "--precision",
            "50",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 0, r.output
    joined = r.stderr.replace("\n  ", " ").splitlines()  # a wrapped line, joined
    line = next(x for x in joined if x.startswith("precision: worst"))
    assert line.endswith("(target 50.000 pp)") and " pp " in line
    help_text = " ".join(invoke("run", "--help").output.split())
    assert "PP" in help_text and "percentage points" in help_text


def test_ctrl_c_outside_an_experiment_is_exit_130_not_aborted(monkeypatch, tmp_path):
    """Ctrl-C while a command plans (or writes a report) reached click, which printed "Aborted!" and
    exited 1; it is an interruption like any other: exit 130 and what to do."""
    import sim.studies.compare

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.studies.compare, "plan_compare", interrupted)
    r = CliRunner().invoke(cli, ["compare", "--out", str(tmp_path / "c")])
    assert r.exit_code == 130, r.output
    assert "Aborted!" not in r.output and "error: Interrupted." in r.output
    assert "resume DIR" in r.output


def test_the_units_of_the_data_dictionary_follow_what_each_metric_measures():
    """Money, hires and jobs columns were given the unit "start-ups" (docs/data-dictionary.md and
    the Parquet files' metadata); the sweep's pages showed supported investment as a count and
    supported survival at 1-4 years as counts too."""
    from sim.analysis.dictionary import KRW, SHARE, metric_unit
    from sim.analysis.metrics import METRICS
    from sim.report.sweep import metric_kind

    for name, definition in METRICS.items():
        unit, words = metric_unit(name), definition.lower()
        if "(krw)" in words or name.endswith("_krw") or words.startswith("money"):
            assert unit == KRW, (name, unit)
        elif words.startswith("jobs"):
            assert unit == "jobs", (name, unit)
        elif (words.startswith("share") or "survival" in name.split("_")
              or "survival_5y - " in words):
            assert unit in (SHARE, metric_unit("naive_gap_5y")), (name, unit)
        elif "rounds" in name.split("_"):
            assert unit == "rounds" and "rounds" in words, (name, unit)
        else:
            assert unit == "start-ups" and "start-ups" in words, (name, unit)
        kind = {KRW: "krw", "jobs": "count", "start-ups": "count",
                "rounds": "count"}.get(unit, "share")
        assert metric_kind(name) == kind, name
    assert metric_unit("supported_investment_by_2018_09") == KRW
    assert metric_unit("supported_hires_by_2023_12") == "jobs"
    assert metric_unit("cohort_jobs_end") == "jobs" and metric_unit("supported_jobs_end") == "jobs"


@pytest.mark.parametrize("width", [100, 80])
def test_the_plan_line_fits_the_terminal(width, tmp_path):
    """At COLUMNS=100 the main job's plan line was 101 characters wide (and its time estimate
    counted every start-up of the economy, not the ones simulated): no line of a run, on either
    stream, is wider now."""
    r = CliRunner().invoke(cli, ["run", str(SHIPPED / "no-programme.yaml"), "-n", "1",
                                 "--executor", "serial", "--set",
                                 "regions.*.founding_rate_per_year=30", "--precision", "50",
                                 "--out", str(tmp_path / "o")], env={"COLUMNS": str(width)})
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("plan: 1 tasks (0 already done), ~")
    assert max(len(line) for line in [*r.stdout.splitlines(), *r.stderr.splitlines()]) <= width
    from sim.experiment.progress import plan_line

    for args in ((140, 0, 32_993_920, 2, "processes", 330),
                 (100_000, 99_999, 9.9e12, 1024, "dask", 9.9e9)):
        lines = plan_line(*args, width=width).splitlines()
        assert lines[0].startswith(f"plan: {args[0]} tasks"), lines
        assert max(map(len, lines)) <= width, lines
