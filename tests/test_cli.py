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
    return CliRunner().invoke(cli, [str(a) for a in args])


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_ok_prints_name_and_hash():
    f = SHIPPED / "ccei-announced.yaml"
    r = invoke("validate", f, SHIPPED / "no-programme.yaml")
    assert r.exit_code == 0, r.output
    sc = load_scenario(f)
    assert f"ok  {f}  (name: ccei-announced, hash: {scenario_hash(sc)}" in r.stdout
    assert "name: no-programme" in r.stdout


def test_validate_reports_every_bad_file_with_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: no-programme\nname: bad\nregions:\n  Seoul: {founding_rate_per_year: -5}\n")
    r = invoke("validate", bad, tmp_path / "missing.yaml", SHIPPED / "no-programme.yaml")
    assert r.exit_code == 2
    assert "regions.Seoul.founding_rate_per_year" in r.stderr
    assert f"{tmp_path / 'missing.yaml'}: no such file." in r.stderr
    assert r.stderr.startswith("error: ")
    no_traceback(r)


def test_validate_bad_override_is_exit_2():
    r = invoke("validate", SHIPPED / "no-programme.yaml", "--set", "regions.Seoul.founding_rate_per_yeer=3")
    assert r.exit_code == 2
    assert "founding_rate_per_yeer" in r.stderr
    no_traceback(r)


def test_show_prints_the_resolved_scenario_as_yaml():
    f = SHIPPED / "ccei-announced.yaml"
    r = invoke("show", f, "--set", "regions.Seoul.founding_rate_per_year=7")
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(r.stdout)
    expected = resolved_dict(load_scenario(f, ["regions.Seoul.founding_rate_per_year=7"]))
    assert shown == expected
    assert "extends" not in shown  # resolved: the parent is merged in
    assert shown["regions"]["Seoul"]["founding_rate_per_year"] == 7


def test_show_missing_file_is_exit_2():
    r = invoke("show", "no/such/file.yaml")
    assert r.exit_code == 2
    assert "no/such/file.yaml: no such file." in r.stderr
    no_traceback(r)


@pytest.mark.parametrize("args,message", [
    (["run"], "give a scenario FILE"),
    (["run", "no/such/file.yaml"], "no such file"),
    (["run", SHIPPED / "no-programme.yaml", "--precision", "-1"], "--precision: expected a positive number"),
    (["run", SHIPPED / "no-programme.yaml", "--executor", "nope"], "Invalid value for '--executor'"),
    (["run", SHIPPED / "no-programme.yaml", "-n", "0"], "Invalid value for '--replications'"),
    (["resume", "no/such/folder"], "no manifest.json here"),
    (["replay", "no/such/folder", "--scenario", "x", "--replication", "0"], "no manifest.json here"),
])
def test_run_bad_input_is_exit_2_with_one_paragraph(args, message, tmp_path):
    r = invoke(*args, *(["--out", tmp_path / "out"] if args[0] == "run" and len(args) > 1 else []))
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    no_traceback(r)
    assert not (tmp_path / "out").exists()


def test_run_writes_results_and_exits_0(tmp_path):
    out = tmp_path / "out"
    r = invoke("run", SHIPPED / "no-programme.yaml", "-n", "1", "--executor", "serial", "--out", out, "-q",
               "--set", "calendar.horizon=2016-12", "--set", "calendar.cohort_last_year=2015",
               *[x for reg in ("Seoul", "Gyeonggi") for x in ("--set", f"regions.{reg}.founding_rate_per_year=50")])
    assert r.exit_code == 0, r.output
    assert f"results: {out}" in r.stdout
    for name in ("manifest.json", "summary.json", "replications.parquet", "regions.parquet", "startups.parquet"):
        assert (out / name).is_file(), name
