"""The decision, end to end: every comparison writes summary.json's ``decision`` block, the
planner's willingness to pay (``--wtp``) moves the headline, the terminal and the report open with
the choice.

One tiny comparison over a posterior made for it (the golden scenarios, 20 draws x 2 replications,
serial): four uncertain parameters, of which the draws set three in some option (one only in
tiny-programme, whose lottery variant holds its own value) and none the fourth (no scenario holds
its calibrated value), so EVPPI must rank exactly three.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sim.analysis.choice import ALL_PARAMETERS
from sim.analysis.findings import findings
from sim.cli import cli
from sim.report import build_report
from sim.report.document import Figure, Row
from sim.report.format import krw_text

HERE = Path(__file__).resolve().parent
TINY = sorted((HERE / "golden" / "scenarios").glob("*.yaml"))
DRAWS = 20
BASE = [
    *map(str, TINY),
    "--baseline",
    "tiny-programme",
    "--counterfactual",
    "tiny-none",
    "--seed",
    "7",
    "--executor",
    "serial",
    "--set",
    "regions.Seoul.founding_rate_per_year=150",
]
PRIORS = {
    # key: (low, high, the value the scenarios hold where a draw applies)
    "centres.Daejeon.training.hazard_multiplier_during": (0.3, 1.0, 0.8),
    "centres.Busan.training.hazard_multiplier_during": (0.3, 1.0, 0.8),
    "centres.Daejeon.selection_noise": (0.1, 2.0, 0.5),  # tiny-lottery holds 100: not applied
    "centres.Busan.focus_bonus": (0.0, 1.0, 99.0),  # no scenario holds 99: applied nowhere
}
APPLIED = sorted(k for k, (_, _, v) in PRIORS.items() if v != 99.0)


def invoke(*args: str):
    """Run the CLI in this process (exceptions propagate)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_posterior(folder: Path, n: int = 400, seed: int = 1) -> Path:
    """A posterior over :data:`PRIORS` (independent uniform draws, equal weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cols = {k: rng.uniform(lo, hi, n) for k, (lo, hi, _) in PRIORS.items()}
    pq.write_table(pa.table({**cols, "weight": np.ones(n)}), folder / "posterior.parquet")
    meta = {"scenario": "tiny-programme", "targets_name": "the tests' priors",
            "parameters": [{"key": k, "scenario_value": v, "verdict": "open"}
                           for k, (_, _, v) in PRIORS.items()]}
    (folder / "posterior.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder / "posterior.parquet"


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> tuple[Path, str]:
    """A finished 20-draw comparison of the tiny scenarios, and what the terminal showed."""
    root = tmp_path_factory.mktemp("decide")
    post = write_posterior(root / "posterior")
    out = root / "compare"
    r = invoke("compare", *BASE, "-n", str(2 * DRAWS), "--draws", str(DRAWS), "--posterior", post,
               "-q", "--out", out)
    assert r.exit_code == 0, r.output
    return out, r.output


def block(folder: Path) -> dict:
    """summary.json's decision block."""
    return json.loads((folder / "summary.json").read_text())["decision"]


def test_every_compare_writes_a_decision_block_consistent_with_itself_and_the_summary(decided):
    """The frontier's options are not dominated and every other option is; the frontier climbs in
    cost and effect with rising ICERs; acceptability sums to 1 at every lambda; EVPI is never
    negative and no parameter's EVPPI exceeds it by more than the floor (what chance alone gives
    a parameter from these draws); EVPPI ranks exactly the parameters the draws applied; the
    expected effects and costs are the summary's paired differences; the default lambda is what
    the baseline pays per additional survivor."""
    folder, _ = decided
    summary = json.loads((folder / "summary.json").read_text())
    d = summary["decision"]
    names = [o["scenario"] for o in d["options"]]
    assert names == ["tiny-none", "tiny-programme", "tiny-lottery"]
    assert d["counterfactual"] == "tiny-none" and d["draws"] == DRAWS
    assert d["replications_per_draw"] == [2] * DRAWS
    on = {o["scenario"]: o for o in d["options"]}
    assert d["frontier"][0] == "tiny-none"
    for o in d["options"]:
        assert (o["dominated"] is None) == (o["scenario"] in d["frontier"])
        assert o["dominated"] in (None, "strongly", "extendedly")
    steps = [on[n] for n in d["frontier"]]
    for a, b in zip(steps, steps[1:], strict=False):
        assert b["cost_krw"] >= a["cost_krw"] and b["effect"] > a["effect"]
    icers = [o["icer_krw"] for o in steps[1:]]
    assert icers == sorted(icers) and all(x > 0 for x in icers)
    grid = np.asarray(d["wtp_grid_krw"])
    probs = np.array([d["ceac"][n] for n in names])
    assert probs.shape == (3, len(grid)) and np.allclose(probs.sum(axis=0), 1.0)
    evpi = np.asarray(d["evpi_krw"])
    assert np.all(evpi >= 0) and d["evpi_method"] == "regression"
    assert sorted(d["evppi_parameters"]) == APPLIED
    assert set(d["evppi_krw"]) == {*APPLIED, ALL_PARAMETERS}
    floor = np.asarray(d["evppi_null_krw"])
    for k in APPLIED:
        assert np.all(np.asarray(d["evppi_krw"][k]) <= evpi + floor + 1.0), k
    assert d["evppi_why_not"] is None
    for n in names[1:]:
        row = next(c for c in summary["comparisons"] if c["scenario"] == n
                   and c["reference"] == "tiny-none" and c["metric"] == "survivors_5y")
        cost = next(c for c in summary["comparisons"] if c["scenario"] == n
                    and c["reference"] == "tiny-none" and c["metric"] == "cohort_public_cost_krw")
        assert on[n]["effect"] == pytest.approx(row["diff"], rel=1e-9, abs=1e-9)
        assert on[n]["cost_krw"] == pytest.approx(cost["diff"], rel=1e-9)
    base = on["tiny-programme"]
    assert d["wtp_krw"] == pytest.approx(base["cost_krw"] / base["effect"])
    assert "tiny-programme" in d["wtp_source"] and d["wtp_krw"] in d["wtp_grid_krw"]
    at = d["wtp_grid_krw"].index(d["wtp_krw"])
    nb = {r["option"]: r["expected"] for r in d["robust"]["options"]}
    assert d["best_at_wtp"] == max(nb, key=nb.get) == d["best"][at]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert 0 <= manifest["decision_seconds"] < manifest["seconds"]
    doc = (HERE.parent / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    for key in ("decision.frontier", "decision.ceac.SCENARIO", "decision.evppi_krw.PARAMETER",
                "decision.options[].dominated", "decision.wtp_krw"):
        assert f"`{key}`" in doc, key


def test_evppi_is_withheld_with_the_reason_and_the_command_that_gives_it(tmp_path):
    """Too few draws, or none: no EVPPI, a reason a planner can act on, and the command."""
    fixed = tmp_path / "fixed"
    assert invoke("compare", *BASE, "-n", "3", "--fixed", "-q", "--out", fixed).exit_code == 0
    d = block(fixed)
    assert d["draws"] == 1 and d["evppi_krw"] is None
    assert "--fixed" in d["evppi_why_not"] and "--draws 40 -n 80" in d["evppi_why_not"]
    few = tmp_path / "few"
    post = write_posterior(tmp_path / "posterior")
    r = invoke("compare", *BASE, "-n", "6", "--draws", "3", "--posterior", post, "-q", "--out", few)
    assert r.exit_code == 0, r.output
    d = block(few)
    assert d["evppi_krw"] is None and d["evpi_method"] == "moments"
    assert "at least 20 posterior draws" in d["evppi_why_not"] and "has 3" in d["evppi_why_not"]
    assert "python run_sim.py compare --draws 40 -n 80" in d["evppi_why_not"]
    words = " ".join(b.text for b in build_report(findings(few)).sections[0].blocks
                     if hasattr(b, "text"))
    assert d["evppi_why_not"] in words


def test_the_planner_s_willingness_to_pay_moves_the_headline(decided, tmp_path):
    """report --wtp reads the same data at another price: below the frontier's first ICER the
    verdict names the counterfactual, far above it the programme; the words and the ranked
    table's caption change, summary.json does not. compare --wtp (CLI and API) records it."""
    folder, _ = decided
    copy = tmp_path / "c"
    shutil.copytree(folder, copy)
    before = (copy / "summary.json").read_bytes()
    d = block(copy)
    first = next(o["icer_krw"] for o in d["options"] if o["scenario"] == d["frontier"][1])
    texts = {}
    for wtp in (first / 10, first * 10):
        r = invoke("report", copy, "--wtp", f"{wtp:.0f}", "-q")
        assert r.exit_code == 0, r.output
        md = (copy / "report.md").read_text(encoding="utf-8")
        texts[wtp] = md[md.index("Verdict:"):md.index("\n", md.index("Verdict:"))]
        assert texts[wtp].startswith(f"Verdict: at {krw_text(round(wtp))} of public money")
    low, high = texts[first / 10], texts[first * 10]
    assert "no option's additional survivors are worth their public cost" in low
    assert f"{d['frontier'][-1]} has the highest expected net benefit" in high
    assert (copy / "summary.json").read_bytes() == before
    bad = CliRunner().invoke(cli, ["report", str(copy), "--wtp", "lots"])
    assert bad.exit_code == 2 and "wtp: expected a positive amount in KRW" in bad.output
    # compare --wtp: the block is read at the price given, and the folder remembers it
    import sim

    res = sim.compare(TINY, baseline="tiny-programme", counterfactual="tiny-none", fixed=True,
                      replications=3, seed=7, executor="serial", wtp="150M", report=False,
                      overrides=["regions.Seoul.founding_rate_per_year=150"],
                      out=tmp_path / "api")
    d = res.summary["decision"]
    assert d["wtp_krw"] == 150e6 and d["wtp_source"] == "given"
    assert json.loads((res.root / "manifest.json").read_text())["study"]["wtp_krw"] == 150e6


def test_the_report_opens_with_the_decision(decided):
    """The first section holds the verdict, the cost-effect plane beside the acceptability curve,
    the ranked table (option, public cost, additional survivors with both uncertainties, cost per
    additional survivor, P(best)) and the value of information per parameter; the HTML shows them
    before anything else."""
    folder, _ = decided
    rep = build_report(findings(folder))
    first = rep.sections[0]
    assert first.id == "decision"
    kinds = [type(b).__name__ for b in first.blocks]
    assert kinds[0] == "Paragraph" and first.blocks[0].text.startswith("Verdict: at ")
    row = next(b for b in first.blocks if isinstance(b, Row))
    assert [f.name for f in row.figures] == ["decision_plane", "decision_acceptability"]
    table = next(b for b in first.blocks if getattr(b, "id", None) == "decision")
    assert table.header[:8] == ["option", "public cost (bn KRW)", "additional survivors",
                                "noise (95 %)", "over parameter sets (90 %)",
                                "cost per additional survivor (M KRW)", "P(best)",
                                "expected net benefit"]
    assert [r[0].split(". ", 1)[1].split(" (")[0] for r in table.rows] == sorted(
        ["tiny-none", "tiny-programme", "tiny-lottery"],
        key=lambda n: -next(o["expected"] for o in block(folder)["robust"]["options"]
                            if o["option"] == n))
    bars = [b for b in first.blocks if isinstance(b, Figure) and b.name == "decision_information"]
    d = block(folder)
    at = d["wtp_grid_krw"].index(d["wtp_krw"])
    floor = d["evppi_null_krw"][at]
    # the bars are drawn when some parameter's EVPPI stands above the floor, else said in words
    assert len(bars) == int(any(d["evppi_krw"][k][at] > floor + 1e6 for k in APPLIED))
    words = " ".join(b.text for b in first.blocks if hasattr(b, "text"))
    assert "efficient frontier runs tiny-none" in words and "EVPI" in words
    if d["frontier"][:2] == ["tiny-none", "tiny-programme"]:
        # the default price is what the baseline pays: it ties with no programme, and says so
        assert "tiny-none and tiny-programme tie for the highest expected net benefit" in words
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.index('id="f-decision_plane"') < html.index('id="t-decision"') < html.index(
        '<section id="summary">')
    if bars:
        assert html.index('id="t-decision"') < html.index('id="f-decision_information"') < (
            html.index('<section id="summary">'))
    # at a price where one parameter carries the choice, its bar is drawn
    rep = build_report(findings(folder, wtp_krw=float(np.max(d["wtp_grid_krw"]))))
    names = [b.name for b in rep.sections[0].blocks if isinstance(b, Figure)]
    top = d["wtp_grid_krw"].index(max(d["wtp_grid_krw"]))
    if any(d["evppi_krw"][k][top] > d["evppi_null_krw"][top] + 1e6 for k in APPLIED):
        assert "decision_information" in names


def test_the_terminal_shows_the_frontier_and_the_choice_after_the_table(decided):
    """After the headline table: the frontier from the cheapest option, then the option with the
    highest expected net benefit at lambda and how often it is the best, from summary.json."""
    folder, output = decided
    d = block(folder)
    lines = output.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("frontier (cheapest first): "))
    assert lines[i].startswith("frontier (cheapest first): " + d["frontier"][0])
    assert lines[i + 1].startswith("highest expected net benefit at ")
    after = " ".join(lines[i + 1:i + 3])
    assert f": {d['best_at_wtp']} (" in after and "parameter sets" in after
    assert i < next(i for i, line in enumerate(lines) if line.startswith("results: "))
    assert output.index("tiny-lottery") < output.index("frontier (cheapest")  # the table first
