"""Comparisons over posterior draws: both uncertainties, P(better), and the words the report
prints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from sim.analysis.summary import over_draws
from sim.cli import cli
from sim.experiment.runner import new_manifest, spec_from_manifest
from sim.scenario.draws import SHIPPED_POSTERIOR, load_draws
from sim.scenario.loader import scenario_hash
from sim.studies.compare import plan_compare


# ----------------------------------------------------------------------------------------------
# the statistics
# ----------------------------------------------------------------------------------------------
def test_over_draws_separates_noise_from_the_parameters_spread():
    """d = mu + a_k + e_kr with known spreads: the noise half-width and the 90 % range over draws
    come back within their sampling error."""
    rng = np.random.default_rng(3)
    k, r, mu, sp, se = 400, 2, 1.0, 0.5, 0.2
    a = rng.normal(0.0, sp, k)
    reps = np.arange(k * r)
    d = mu + a[reps % k] + rng.normal(0.0, se, k * r)
    out = over_draws(reps, d, k)
    assert out["separated"] is True
    expected_mc = 1.96 * se / math.sqrt(k * r)
    # the pooled within-draw SD has k dof: relative SE about 1/sqrt(2k)
    assert out["mc_half_width"] == pytest.approx(expected_mc, rel=4 / math.sqrt(2 * k))
    # quantiles of the draw means (SD sqrt(sp^2 + se^2 / r)); SE of a 5 % quantile ~ 2.1 SD /
    # sqrt(k)
    sd_means = math.sqrt(sp ** 2 + se ** 2 / r)
    tol = 4 * 2.1 * sd_means / math.sqrt(k)
    assert out["param_low"] == pytest.approx(mu - 1.645 * sd_means, abs=tol)
    assert out["param_high"] == pytest.approx(mu + 1.645 * sd_means, abs=tol)
    # the spread between draws with the noise taken out: SD of a variance estimate ~ sqrt(2/k) of it
    assert out["param_sd"] ** 2 == pytest.approx(sp ** 2, rel=4 * math.sqrt(2 / k))
    # under 20 draws: a normal spread of the draws' means (noise left in: wide, never narrow); with
    # pure noise the spread with the noise taken out is small against the noise
    small = np.arange(20)
    flat = over_draws(small, 1.0 + rng.normal(0.0, se, 20), 10)
    assert flat["param_sd"] < se
    assert flat["param_high"] - flat["param_low"] > 0
    p = out["prob_better"]
    assert p == pytest.approx(float(np.mean(mu + a > 0)), abs=4 * math.sqrt(0.25 / k))


def test_prob_better_is_a_half_for_identical_and_one_for_better_by_construction():
    """P(better) is a half for identical differences and one for a variant better by construction.
    """
    reps = np.arange(20)
    same = over_draws(reps, np.zeros(20), 10)
    assert same["prob_better"] == 0.5 and same["param_low"] == same["param_high"] == 0.0
    better = over_draws(reps, 0.01 + np.random.default_rng(1).normal(0, 0.001, 20), 10)
    assert better["prob_better"] == 1.0
    cheaper = over_draws(reps, -np.ones(20), 10, lower_is_better=True)
    assert cheaper["prob_better"] == 1.0
    # one replication per draw: noise and spread cannot be told apart, and the result says so
    assert over_draws(np.arange(10), np.arange(10.0), 10)["separated"] is False


# ----------------------------------------------------------------------------------------------
# the draws as scenarios
# ----------------------------------------------------------------------------------------------
def test_draws_apply_where_a_scenario_holds_the_calibrated_value_and_resume_rebuilds_them(shipped):
    """A draw applies where a scenario holds the calibrated value, and resume rebuilds the same
    draws."""
    spec = plan_compare([shipped / "ccei-announced.yaml", shipped / "stronger-selection.yaml"],
                        posterior=SHIPPED_POSTERIOR, draws=3, replications=6)
    draws = spec.draws
    assert len(draws) == 3 and spec.replications == 6
    assert "centre_defaults.selection_noise" in spec.applied("ccei-announced")
    assert "centre_defaults.selection_noise" not in spec.applied("stronger-selection")  # its lever
    for r in range(6):
        sc = spec.scenario_at("ccei-announced", r)
        k = r % 3
        noise = dict(zip(draws.keys, draws.values[k], strict=True))[
            "centre_defaults.selection_noise"
        ]
        assert sc.centres["Daejeon"].selection_noise == pytest.approx(noise)
        assert spec.scenario_at("stronger-selection", r).centres["Daejeon"].selection_noise == \
            spec.scenarios["stronger-selection"].centres["Daejeon"].selection_noise
    # replication r and r + K run the same parameters; a resumed experiment rebuilds the same
    # scenarios
    assert scenario_hash(spec.scenario_at("ccei-announced", 0)) == scenario_hash(
        spec.scenario_at("ccei-announced", 3)
    )
    again = spec_from_manifest(json.loads(json.dumps(new_manifest(spec, ["test"]))))
    for n in spec.scenarios:
        for r in range(6):
            assert scenario_hash(again.scenario_at(n, r)) == scenario_hash(spec.scenario_at(n, r))
    # the same seed picks the same draws; another seed others
    assert load_draws(SHIPPED_POSTERIOR, 3, spec.seed).values == draws.values
    assert load_draws(SHIPPED_POSTERIOR, 3, spec.seed + 1).values != draws.values


def test_too_few_replications_for_the_draws_is_a_clear_error(shipped, tmp_path):
    """Fewer replications than draws is exit 2 saying how many are needed."""
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(shipped / "ccei-announced.yaml"),
            "--draws",
            "5",
            "-n",
            "3",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert (
        res.exit_code == 2 and "every posterior draw needs at least one replication" in res.output
    )
    assert not (tmp_path / "c").exists()
    res = CliRunner().invoke(cli, ["compare", str(shipped / "ccei-announced.yaml"), "--posterior",
                                   str(tmp_path / "none.parquet"), "--out", str(tmp_path / "c")])
    assert (
        res.exit_code == 2
        and "expected a posterior.parquet" in res.output
        and "Traceback" not in res.output
    )


# ----------------------------------------------------------------------------------------------
# end to end on the tiny economy
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_compare_over_the_posterior_reports_both_uncertainties(tiny, tmp_path):
    """A copy of the baseline (identical) and a variant better by construction (a lasting shelter
    after the residency, in every draw): P(better) 0.5 and 1; the report's first lines carry the
    numbers."""
    base = yaml.safe_load(tiny.read_text())
    for name, extra in (("copy", {}), ("lasting", {"hazard_multiplier_after": 0.5})):
        d = json.loads(json.dumps(base))
        d["name"] = name
        d["centre_defaults"]["training"].update(extra)
        for c in d["centres"].values():  # resolved file: each centre holds its own training
            c["training"].update(extra)
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    nop = dict(base, name="none", centres={}, conglomerates={}, timeline={})
    (tmp_path / "none.yaml").write_text(yaml.safe_dump(nop, sort_keys=False))
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(tiny),
            str(tmp_path / "copy.yaml"),
            str(tmp_path / "lasting.yaml"),
            str(tmp_path / "none.yaml"),
            "--baseline",
            "tiny",
            "--counterfactual",
            "none",
            "--draws",
            "4",
            "-n",
            "8",
            "--workers",
            "2",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())

    def row(sc, ref, metric="survival_5y"):
        return next(
            c
            for c in summary["comparisons"]
            if (c["scenario"], c["reference"], c["metric"]) == (sc, ref, metric)
        )

    assert row("copy", "tiny")["prob_better"] == 0.5 and row("copy", "tiny")["diff"] == 0.0
    assert row("lasting", "tiny")["prob_better"] == 1.0
    base_row = row("tiny", "none")
    for key in ("mc_half_width", "param_low", "param_high", "prob_better"):
        assert base_row[key] is not None
    assert (
        base_row["param_low"] <= base_row["diff"] <= base_row["param_high"]
        and base_row["separated"]
    )
    md = (out / "report.md").read_text()
    first = md[md.index("How sure is this?"):].split("\n")[0]
    assert (
        f"{100 * base_row['param_low']:+.2f} pp and {100 * base_row['param_high']:+.2f} pp" in first
    )
    assert f"±{100 * base_row['mc_half_width']:.2f} pp" in first
    assert "| lasting | tiny | 5-year survival |" in md and "P(better)" in md
    # the fixed-parameter comparison keeps today's report: noise only, no parameter fields
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
            "--out",
            str(fixed),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    frow = next(c for c in json.loads((fixed / "summary.json").read_text())["comparisons"]
                if c["metric"] == "survival_5y")
    assert (
        frow["param_low"] is None
        and frow["prob_better"] is None
        and frow["mc_half_width"] == frow["half_width"]
    )
    assert "How sure is this?" not in (fixed / "report.md").read_text()


@pytest.mark.slow
def test_a_compare_over_draws_is_identical_on_dask_and_the_process_pool(tiny, tmp_path):
    """A compare over draws is identical on Dask and on the process pool."""
    pytest.importorskip("distributed")
    import pandas.testing as pd_testing
    import pyarrow.parquet as pq

    base = yaml.safe_load(tiny.read_text())
    (tmp_path / "none.yaml").write_text(
        yaml.safe_dump(
            dict(base, name="none", centres={}, conglomerates={}, timeline={}), sort_keys=False
        )
    )
    outs = {}
    for executor in ("processes", "dask"):
        outs[executor] = tmp_path / executor
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
                "3",
                "-n",
                "6",
                "--startups",
                "none",
                "--executor",
                executor,
                "--workers",
                "2",
                "--out",
                str(outs[executor]),
                "-q",
            ],
        )
        assert res.exit_code == 0, res.output
    tables = {
        k: pq.read_table(v / "replications.parquet").to_pandas().drop(columns="seconds")
        for k, v in outs.items()
    }
    # NaN where undefined, in both
    pd_testing.assert_frame_equal(tables["dask"], tables["processes"])
    a = json.loads((outs["dask"] / "summary.json").read_text())["comparisons"]
    b = json.loads((outs["processes"] / "summary.json").read_text())["comparisons"]
    assert a == b


# ----------------------------------------------------------------------------------------------
# a posterior must not claim uncertainty it never applied
# ----------------------------------------------------------------------------------------------
def _posterior_copy(tmp_path, *, parameters=None, rename: dict | None = None):
    """The shipped posterior in ``tmp_path/post``, its parameter list replaced or keys renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "post"
    folder.mkdir()
    meta = json.loads(SHIPPED_POSTERIOR.with_name("posterior.json").read_text())
    table = pq.read_table(SHIPPED_POSTERIOR)
    if parameters is not None:
        meta["parameters"] = parameters
    for old, new in (rename or {}).items():
        next(p for p in meta["parameters"] if p["key"] == old)["key"] = new
        table = table.rename_columns([new if c == old else c for c in table.column_names])
    (folder / "posterior.json").write_text(json.dumps(meta))
    pq.write_table(pa.table(table.to_pydict()), folder / "posterior.parquet")
    return folder / "posterior.parquet"


def test_a_posterior_that_changes_nothing_or_names_an_unknown_key_is_refused(
    shipped, write_scenario, tmp_path
):
    """Three ways a posterior used to run every replication at the files' own values while the
    report claimed a spread over parameter sets: each is now exit 2, one paragraph, nothing written.
    """
    posterior = SHIPPED_POSTERIOR.with_name("posterior.json")
    keys = [p["key"] for p in json.loads(posterior.read_text())["parameters"]]
    # 1. scenarios that hold other values than those the posterior was calibrated from, at every key
    # (the market's coupling is the economy's: the counterfactual beside the file holds it too)
    write_scenario(
        "no-programme.yaml",
        {
            "extends": str(shipped / "no-programme.yaml"),
            "name": "no-programme",
            "market": {"coupling": 0.5},
        },
    )
    other = write_scenario(
        "other.yaml",
        {
            "extends": "ccei-announced",
            "name": "other-values",
            "market": {"coupling": 0.5},
            "founder_education": {
                "samsung-software-daegu": {
                    "founding_rate_multiplier": 1.02,
                    "quality_multiplier": 1.02,
                }
            },
            "conglomerate_defaults": {"public_share": 0.4},
            "centre_defaults": {
                "selection_noise": 0.9,
                "training": {
                    "hazard_multiplier_during": 0.5,
                    "hazard_multiplier_after": 0.9,
                    "speed_multiplier_during": 1.1,
                    "resolution_multiplier": 1.2,
                    "funding_odds_multiplier": 1.2,
                },
                "grants": {"funding_odds_multiplier": 1.4},
            },
        },
    )
    cases = {
        "values": (
            [other],
            SHIPPED_POSTERIOR,
            [
                "change nothing in any scenario",
                *keys[:3],
                "calibrated at 0.25, other-values holds 0.5",
            ],
        ),
        "empty": (
            [shipped / "ccei-announced.yaml"],
            _posterior_copy(tmp_path, parameters=[]),
            ["lists no parameters"],
        ),
    }
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    cases["unknown key"] = (
        [shipped / "ccei-announced.yaml"],
        _posterior_copy(unknown, rename={keys[0]: "centre_defaults.training.no_such_effect"}),
        ["centre_defaults.training.no_such_effect", "not a setting of the scenario schema"],
    )
    for case, (files, post, says) in cases.items():
        out = tmp_path / f"out-{case.replace(' ', '-')}"
        res = CliRunner().invoke(
            cli,
            [
                "compare",
                *map(str, files),
                "--baseline",
                "none",
                "--posterior",
                str(post),
                "--draws",
                "2",
                "-n",
                "2",
                "--out",
                str(out),
                "-q",
            ],
        )
        assert res.exit_code == 2, (case, res.output)
        assert "Traceback" not in res.output and str(post) in res.output, (case, res.output)
        for text in says:
            assert text in res.output, (case, text, res.output)
        assert not out.exists(), case


def test_draws_reach_the_centres_of_a_resolved_file_and_the_manifest_records_what_each_scenario_applied(  # noqa: E501
    shipped, tiny, tmp_path
):
    """A fully resolved file (as `show` prints it) sets every value at every centre: a draw of a
    centre_defaults key must reach those centres (it used to change only centre_defaults, which no
    centre read). The manifest records, per scenario, the keys applied and where."""
    spec = plan_compare(
        [tiny],
        baseline=None,
        counterfactual="no-programme",
        posterior=SHIPPED_POSTERIOR,
        draws=3,
        replications=3,
    )
    key = "centre_defaults.training.hazard_multiplier_during"
    seen = {
        spec.scenario_at("tiny", r).centres["Daejeon"].training.hazard_multiplier_during
        for r in range(3)
    }
    expected = {v[spec.draws.keys.index(key)] for v in spec.draws.values}
    assert sorted(seen) == pytest.approx(sorted(expected)) and len(seen) == 3
    targets = spec.draws.targets
    assert set(targets["tiny"]) == set(spec.draws.keys)
    # the counterfactual has no programme: only the market's keys (the economy's) reach it
    assert set(targets["no-programme"]) == {k for k in spec.draws.keys if k.startswith("market.")}
    assert ["centres", "Daejeon", "training", "hazard_multiplier_during"] in targets["tiny"][key]
    manifest = json.loads(json.dumps(new_manifest(spec, ["test"])))
    assert manifest["draws"]["targets"] == targets
    again = spec_from_manifest(manifest)
    assert [scenario_hash(again.scenario_at("tiny", r)) for r in range(3)] == [
        scenario_hash(spec.scenario_at("tiny", r)) for r in range(3)
    ]
    # the shipped files inherit from centre_defaults: the draw is set there, as before
    shipped_spec = plan_compare(
        [shipped / "ccei-announced.yaml", shipped / "stronger-selection.yaml"],
        posterior=SHIPPED_POSTERIOR,
        draws=2,
        replications=2,
    )
    assert shipped_spec.draws.targets["ccei-announced"][key] == [key.split(".")]
    assert (
        "centre_defaults.selection_noise" not in shipped_spec.draws.targets["stronger-selection"]
    )  # its lever


def test_a_comparison_the_draws_never_changed_gets_no_parameter_uncertainty():
    """Two scenarios the draws left alone ran at the same parameters in every replication: their
    spread over draws is noise, and the summary says nothing about parameters for them."""
    from sim.analysis.summary import build_summary

    rng = np.random.default_rng(5)
    reps = np.tile(np.arange(8), 3)
    cols = {
        "scenario": np.repeat(["cf", "a", "b"], 8),
        "replication": reps,
        "survival_5y": rng.normal(0.5, 0.01, 24),
    }
    summary = build_summary(
        cols, ["cf", "a", "b"], [("a", "cf"), ("b", "cf"), ("b", "a")], draws=4, varied=["a"]
    )
    rows = {(r["scenario"], r["reference"]): r for r in summary["comparisons"]}
    assert rows[("a", "cf")]["param_low"] is not None and rows[("b", "a")]["param_low"] is not None
    assert rows[("b", "cf")]["param_low"] is None and rows[("b", "cf")]["prob_better"] is None
    assert rows[("b", "cf")]["mc_half_width"] == rows[("b", "cf")]["half_width"]


@pytest.mark.slow
def test_the_report_claims_uncertainty_only_over_the_parameters_the_draws_applied(tiny, tmp_path):
    """A variant holding its own values for all but one of the posterior's keys: the draws vary only
    the jury's noise there, and the report's first lines and its uncertainty section say so (they
    used to claim all of them, and on a resolved file the draws reached no centre at all)."""
    n = len(json.loads(SHIPPED_POSTERIOR.with_name("posterior.json").read_text())["parameters"])
    base = yaml.safe_load(tiny.read_text())
    base["market"]["coupling"] = 0.5  # the economy's, so the counterfactual holds it too
    own = json.loads(json.dumps(base))
    own["name"] = "own"
    for entry in [own["conglomerate_defaults"], *own["conglomerates"].values()]:
        entry["public_share"] = 0.4
    for entry in own["founder_education"].values():
        entry.update(founding_rate_multiplier=1.02, quality_multiplier=1.02)
    mine = {
        "hazard_multiplier_during": 0.5,
        "hazard_multiplier_after": 0.9,
        "speed_multiplier_during": 1.1,
        "resolution_multiplier": 1.2,
        "funding_odds_multiplier": 1.2,
    }
    for entry in [own["centre_defaults"], *own["centres"].values()]:
        entry["training"].update(mine)
        entry["grants"]["funding_odds_multiplier"] = 1.4
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(own, sort_keys=False))
    none = dict(
        base, name="none", centres={}, conglomerates={}, founder_education={}, timeline={}
    )  # its centres' dates go too, and the programme's founder education
    (tmp_path / "none.yaml").write_text(yaml.safe_dump(none, sort_keys=False))
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(tmp_path / "own.yaml"),
            str(tmp_path / "none.yaml"),
            "--baseline",
            "none",
            "--counterfactual",
            "none",
            "--draws",
            "2",
            "-n",
            "4",
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
    targets = json.loads((out / "manifest.json").read_text())["draws"]["targets"]
    assert list(targets["own"]) == ["centre_defaults.selection_noise"] and targets["none"] == {}
    md = (out / "report.md").read_text()
    first = md[md.index("How sure is this?") :].split("\n")[0]
    applied = "vary 1 of the posterior's {} parameters here (centre_defaults.selection_noise)"
    assert applied.format(n) in first
    assert "of the 1 uncertain parameters" in first and f"of the {n} uncertain" not in first
    assert "the values of centre_defaults.selection_noise that the published targets allow" in md


def _damaged_posterior(tmp_path, case: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / case
    folder.mkdir()
    meta = json.loads(SHIPPED_POSTERIOR.with_name("posterior.json").read_text())
    table = pq.read_table(SHIPPED_POSTERIOR).to_pydict()
    first = meta["parameters"][0]["key"]
    text = None
    if case == "all-nan column":
        table[first] = [float("nan")] * len(table[first])
    elif case == "empty column":
        table[first] = [None] * len(table[first])
    elif case == "text column":
        table["weight"] = ["heavy"] * len(table["weight"])
    elif case == "parameters not a list":
        meta["parameters"] = "all of them"
    elif case == "parameter not a mapping":
        meta["parameters"][0] = 7
    elif case == "key not text":
        meta["parameters"][0]["key"] = 7
    elif case == "scenario_value not a number":
        meta["parameters"][0]["scenario_value"] = "0.25"
    elif case == "a list":
        text = "[1, 2]"
    elif case == "not UTF-8":
        (folder / "posterior.json").write_bytes(b'{"parameters": "\xff"}')
    if case != "not UTF-8":
        (folder / "posterior.json").write_text(text or json.dumps(meta))
    pq.write_table(pa.table(table), folder / "posterior.parquet")
    return folder / "posterior.parquet"


@pytest.mark.parametrize("case, says", [
    ("all-nan column", "expected a finite number in every row"),
    ("empty column", "found empty or nan"),
    ("text column", "column weight: expected numbers, found 'heavy'"),
    ("parameters not a list", "found parameters text"),
    ("parameter not a mapping", "parameters[0]: expected a mapping"),
    ("key not text", "parameters[0].key: expected a dotted scenario key, found 7"),
    ("scenario_value not a number",
     "expected the finite number the posterior was calibrated from, found '0.25'"),
    ("a list", "expected a JSON object"), ("not UTF-8", "cannot be read as a posterior"),
])
def test_a_damaged_posterior_file_is_a_clear_exit_2(shipped, tmp_path, case, says):
    """posterior.parquet and posterior.json are read by planners' hands too: every damage is one
    paragraph naming the file and what was expected (these raised TypeError, ValueError and the
    like)."""
    from sim.errors import ValleysimError

    post = _damaged_posterior(tmp_path, case)
    with pytest.raises(ValleysimError) as exc:
        plan_compare([shipped / "ccei-announced.yaml"], posterior=post, draws=2, replications=2)
    msg = exc.value.message
    assert exc.value.exit_code == 2 and str(post) in msg and says in msg, msg


# ----------------------------------------------------------------------------------------------
# keys with '*': what calibrate accepts, compare applies, entry by entry
# ----------------------------------------------------------------------------------------------
def test_a_posterior_key_with_a_star_reaches_every_entry_that_holds_the_calibrated_value(
        shipped, write_scenario, tmp_path):
    """A prior on centres.*.selection_noise calibrates (every centre takes one value); compare used
    to refuse the posterior ("cannot be applied as one key"). It applies it where the calibrated
    value is held: at every centre of the baseline, at every centre but the one a variant
    changed."""
    key = "centres.*.selection_noise"
    post = _posterior_copy(tmp_path, rename={"centre_defaults.selection_noise": key})
    variant = write_scenario("daejeon.yaml", {"extends": "ccei-announced", "name": "daejeon-jury",
                                              "centres": {"Daejeon": {"selection_noise": 0.7}}})
    spec = plan_compare([shipped / "ccei-announced.yaml", variant], posterior=post, draws=2,
                        replications=2)
    targets = spec.draws.targets
    centres = list(spec.scenarios["ccei-announced"].centres)
    assert targets["ccei-announced"][key] == [["centres", c, "selection_noise"] for c in centres]
    assert targets["daejeon-jury"][key] == [["centres", c, "selection_noise"] for c in centres
                                            if c != "Daejeon"]
    assert key not in targets["no-programme"]
    drawn = [v[spec.draws.keys.index(key)] for v in spec.draws.values]
    for r in range(2):
        base = spec.scenario_at("ccei-announced", r).centres
        mine = spec.scenario_at("daejeon-jury", r).centres
        noise = [c.selection_noise for c in base.values()]
        assert noise == pytest.approx([drawn[r]] * len(base))
        assert mine["Daejeon"].selection_noise == 0.7  # its lever
        assert mine["Busan"].selection_noise == pytest.approx(drawn[r])


def test_a_dated_star_key_reaches_the_entries_that_hold_its_value_from_that_month(shipped):
    """A dated key with '*' (the outlook's trend after 2024) is set as written where every region
    holds the calibrated trend, and region by region where one holds its own: that region keeps
    it, the others follow the draws."""
    from sim.scenario.draws import bind, load_draws
    from sim.scenario.loader import base_data, resolved_dict, validate

    key = "timeline.2025-01.regions.*.founding_trend_per_year"
    outlook = shipped / "outlook" / "carry-on.yaml"
    own = "timeline.2025-01.regions.Seoul.founding_trend_per_year=0.08"
    raw = {"carry-on": base_data(outlook), "seoul": base_data(outlook, [own])}
    resolved = {n: resolved_dict(validate(d, n)) for n, d in raw.items()}
    draws = bind(load_draws(shipped / "posteriors" / "outlook", 3, seed=5), resolved, raw)
    assert draws.targets["carry-on"][key] == [["timeline", "2025-01", key.split(".", 2)[2]]]
    regions = [r for r in resolved["seoul"]["regions"] if r != "Seoul"]
    assert draws.targets["seoul"][key] == [
        ["timeline", "2025-01", f"regions.{r}.founding_trend_per_year"] for r in regions]
    trend = draws.values[1][draws.keys.index(key)]
    sc = validate(draws.data_for(raw["seoul"], 1, draws.paths("seoul", resolved["seoul"])))
    month = int(sc.calendar.month("2026-01"))
    for region, growth in (("Seoul", 0.08), ("Busan", trend)):
        lam = sc.founding_intensity(region)
        assert lam[month] == pytest.approx(lam[month - 12] * (1 + growth)), region
