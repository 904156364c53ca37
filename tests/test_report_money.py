"""The report's money and yearly pages, checked against the folder's own data.

One small comparison of the shipped programme as announced and as run (founding cut to 300 start-ups
a year per region, 3 replications, through ``sim.compare``: about 10 s) and one small outlook
comparison over the outlook posterior (2 draws) are run once per module; every number the pages
show is recomputed here from replications.parquet, years.parquet and the manifest.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_report import CHROMIUM, cut_off, layout_at_1280

import sim
from sim.analysis.findings import findings
from sim.analysis.history import load_history
from sim.report import build_report
from sim.report.format import mean_cell
from sim.report.yearly import ledger_figure

SMALL = ["regions.*.founding_rate_per_year=300"]
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """ccei-announced and ccei-as-run against no programme, small, through the Python API."""
    out = tmp_path_factory.mktemp("money") / "cmp"
    res = sim.compare(["ccei-announced", "ccei-as-run"], overrides=SMALL, replications=3,
                      fixed=True, out=out, executor="serial", seed=11)
    return res.root


@pytest.fixture(scope="module")
def page(run):
    """The comparison's report as built from its folder, by table id."""
    return build_report(findings(run))


def _reps(root) -> pd.DataFrame:
    return pd.read_parquet(root / "replications.parquet")


def _paired(df: pd.DataFrame, sc: str, ref: str, metric: str) -> np.ndarray:
    a = df[df.scenario == sc].set_index("replication")[metric]
    b = df[df.scenario == ref].set_index("replication")[metric]
    return (a - b.loc[a.index]).to_numpy(float)


def _t_interval(d: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return d.mean() - half, d.mean() + half


def _rows(page, tid: str) -> dict[str, list[str]]:
    return {r[0].split(" (")[0]: r for r in page.tables()[tid].rows}


def test_money_raised_is_an_input_shown_apart_and_never_ranked(run, page):
    """Money raised has its own section after the benefits and value for money, its differences
    carry no significance or better/worse mark, the headline table no longer holds it, and a
    sentence says which variant means fewer or more distress rounds exactly when the paired 95 %
    interval of the bridge rounds excludes zero."""
    ids = [s.id for s in page.sections]
    assert ids.index("inputs") > ids.index("value") > ids.index("headline")
    assert ids[0] == "decision"  # the first screen is still the decision
    tables = page.tables()
    assert "private investment" not in tables["headline"].header
    inputs = tables["inputs"]
    assert any("venture" in h for h in inputs.header) and any("bridge" in h for h in inputs.header)
    df = _reps(run)
    eq = _rows(page, "inputs")["ccei-announced"][1]
    mean = df[df.scenario == "ccei-announced"].equity_raised_krw.mean()
    assert eq.startswith(f"{mean / 1e9:,.1f}")
    for r in tables["inputs_diff"].rows:
        assert not any("(n.s.)" in c or "(small)" in c for c in r)
    text = "\n".join(b for s in page.sections if s.id == "inputs" for blk in s.blocks
                     for b in (getattr(blk, "items", None) or [getattr(blk, "text", "")]))
    for sc, ref in (("ccei-announced", "no-programme"), ("ccei-as-run", "no-programme"),
                    ("ccei-as-run", "ccei-announced")):
        d = _paired(df, sc, ref, "bridge_rounds")
        lo, hi = _t_interval(d)
        said = re.search(rf"{sc} means ([\d,]+) (fewer|more) distress \(bridge\) rounds "
                         rf"than {ref} ", text)
        if hi < 0 or lo > 0:
            assert said, (sc, ref, d)
            assert said.group(2) == ("fewer" if hi < 0 else "more")
            assert said.group(1) == f"{abs(d.mean()):,.0f}"
        else:
            assert said is None, (sc, ref, d)


def _displacement_cells(root, page, n: str) -> None:
    """Scenario ``n``'s displaced survivors and venture money as the page shows them: exactly zero
    in every replication is said to be zero; anything else is its mean with its interval and its
    word (displacement, spillover, or not distinguishable from zero)."""
    df = _reps(root)
    row = _rows(page, "never_supported")[n]
    summary = json.loads((root / "summary.json").read_text())
    for metric, col, kind in (("displacement_survivors_5y", 3, "count"),
                              ("displacement_equity_krw", 5, "krw")):
        values = df[df.scenario == n][metric].to_numpy()
        stat = summary["scenarios"][n]["metrics"][metric]
        assert math.isclose(stat["mean"], values.mean(), rel_tol=1e-9, abs_tol=1e-9)
        cell = row[col]
        if np.all(values == 0):
            assert cell.startswith("0 (zero: no displacement, no spillover)"), cell
            continue
        shown = mean_cell(stat, kind).replace(" bn", "")
        assert cell.startswith(shown), (cell, shown)
        if np.ptp(values) > 0:
            assert "±" in cell
        word = ("displacement" if stat["ci_high"] < 0 else "spillover" if stat["ci_low"] > 0
                else "not distinguishable from zero")
        assert f"({word})" in cell


def test_displacement_is_shown_with_its_interval_and_zero_is_said_to_be_zero(run, page):
    """The supported firms' extra venture rounds displace venture money from the never-supported
    (nonzero here): the page shows its mean and interval from the replications, and the effect on
    the never-supported against no programme with its paired interval."""
    df = _reps(run)
    money = df[df.scenario == "ccei-announced"].displacement_equity_krw.to_numpy()
    assert np.any(money != 0)  # the case this test is about
    for n in ("ccei-announced", "ccei-as-run"):
        _displacement_cells(run, page, n)
    row = _rows(page, "never_supported")["ccei-announced"]
    # against no programme: the never-supported with the programme minus the same firms without it
    d = _paired(df.assign(x=df.never_supported_survivors_5y + df.supported_survivors_5y_alone),
                "ccei-announced", "no-programme", "x")
    lo, hi = _t_interval(d)
    assert row[1].startswith(f"{d.mean():+,.0f} [{lo:+,.0f}, {hi:+,.0f}]")
    assert any(b.text.startswith("ccei-announced: the start-ups it never supported")
               for s in page.sections if s.id == "others" for b in s.blocks if hasattr(b, "text"))


def test_a_market_without_displacement_says_zero(tmp_path):
    """The golden tiny scenarios have no limited market: nothing is displaced in any replication,
    and the page says so in words rather than leaving the line out."""
    out = tmp_path / "tiny"
    tiny = sorted((GOLDEN / "scenarios").glob("*.yaml"))
    sim.compare([str(p) for p in tiny], baseline="tiny-programme", counterfactual="tiny-none",
                replications=2, fixed=True, seed=7, out=out, executor="serial", startups="none")
    page = build_report(findings(out))
    for n in ("tiny-programme", "tiny-lottery"):
        _displacement_cells(out, page, n)
        row = _rows(page, "never_supported")[n]
        assert all(row[c].startswith("0 (zero: no displacement, no spillover)") for c in (1, 3, 5))


def test_firm_creation_is_its_own_line_apart_from_survival(run, page):
    """Founder education's start-ups and their survivors are a line of their own, and the additional
    survivors split into creation and survival that add up, each from the replications."""
    df = _reps(run)
    row = _rows(page, "creation")["ccei-announced"]
    made = df[df.scenario == "ccei-announced"].education_startups
    assert made.mean() > 0 and row[1].startswith(f"{made.mean():,.0f}")
    total = _paired(df, "ccei-announced", "no-programme", "survivors_5y")
    created = _paired(df, "ccei-announced", "no-programme", "education_survivors_5y")
    assert row[3].startswith(f"{total.mean():+,.0f}")
    assert row[4].startswith(f"{created.mean():+,.0f}")
    assert row[5].startswith(f"{(total - created).mean():+,.0f}")
    cost = _paired(df, "ccei-announced", "no-programme", "cohort_public_cost_krw")
    both, alone = cost.mean() / total.mean(), cost.mean() / (total - created).mean()
    assert row[6].startswith(f"{both / 1e6:,.0f} M") or row[6] == "n/a"
    assert row[7].startswith(f"{alone / 1e6:,.0f} M") or row[7] == "n/a"
    # the summary's headline says how much of it is firm creation
    summary = " ".join(b.text for s in page.sections if s.id == "summary" for b in s.blocks
                       if hasattr(b, "text"))
    assert (f"Of those survivors, {row[4]} are start-ups founder education created (firm "
            f"creation) and {row[5]} survive because of the programme") in summary


def test_public_cost_by_item_adds_up_and_says_where_each_won_comes_from(run, page):
    """The items add up to the public cost of every replication, the centres' operating cost and
    founder education are told apart by the yearly ledger, and each item names its source in the
    scenario's own values."""
    f = findings(run)
    df = _reps(run)
    years = pd.read_parquet(run / "years.parquet")
    for n in ("ccei-announced", "ccei-as-run"):
        items = f.money["public_cost"][n]["items"]
        parts = sum(items[k]["mean"] for k in items if k != "total")
        assert math.isclose(parts, df[df.scenario == n].public_cost_krw.mean(), rel_tol=1e-9)
        y = years[years.scenario == n]
        centres = (y.centres_cost_krw - y.grants_krw).sum() / y.replication.nunique()
        assert math.isclose(items["centres_operating"]["mean"], centres, rel_tol=1e-9)
        assert items["education"]["mean"] > 0
    sources = page.tables()["public_cost_sources"].rows
    announced = {r[1]: r[2] for r in sources if r[0] == "ccei-announced"}
    assert len(announced) == 5
    share = json.loads((run / "manifest.json").read_text())["scenarios"]["ccei-announced"][
        "resolved"]["conglomerates"]["Samsung"]["public_share"]
    assert f"{100 * share:.3g} %" in announced["the partners' linked funds' public money"]
    assert "Daegu" in announced["founder education"]


def test_the_ledger_is_drawn_from_years_parquet_against_the_recorded_published_figures(run, page):
    """The ledger figure's lines are years.parquet's means over replications by year (cumulated
    where the published series is), its points the history file's figures as the comparison
    recorded them; the report draws what the folder holds, not today's file."""
    manifest = json.loads((run / "manifest.json").read_text())
    record = manifest["study"]["published"]
    published = load_history(sim.studies.compare.HISTORY)
    assert [(p["series"], p["year"], p["value"]) for p in record["points"]] == [
        (p.series, p.year, p.value) for p in published]
    years = pd.read_parquet(run / "years.parquet")
    f = findings(run)
    panels = f.ledger["panels"]
    assert {p["column"] for p in panels} == {"centres_cost_krw", "partner_investment_krw",
                                             "supported_new"}
    for p in panels:
        for n, line in p["lines"].items():
            y = years[years.scenario == n].pivot(index="replication", columns="year",
                                                 values=p["column"])
            want = (y.cumsum(axis=1) if p["cumulative"] else y).mean(axis=0)
            assert line["years"] == list(want.index)
            np.testing.assert_allclose(line["mean"], want.to_numpy(), rtol=1e-12)
        assert [q.value for q in p["points"]] == [
            q.value for q in published if q.series == p["series"]]
    assert ledger_figure(f).name in {fig.name for fig in page.figures()}
    assert (run / "figures" / "ledger.png").is_file()
    # a changed record in the folder changes the page: the report reads the folder
    record["points"][0]["value"] *= 2
    manifest["study"]["published"] = record
    copy = run.parent / "edited"
    shutil.copytree(run, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    sim.write_report(copy)  # the report study of the API, as `report DIR`
    first = published[0]
    md = (copy / "report.md").read_text(encoding="utf-8")
    assert (f"| {first.series.replace('_', ' ')} | {first.year} | {2 * first.value / 1e9:,.1f} |"
            in md)


def test_as_announced_against_as_run_by_year(run, page):
    """With the baseline (as announced) and the record's scenario (as run) both in the comparison,
    the page sets them side by side by year, the difference paired over replications."""
    t = page.tables()["announced_vs_run"]
    years = pd.read_parquet(run / "years.parquet")
    a = years[years.scenario == "ccei-announced"].pivot(index="replication", columns="year",
                                                        values="partner_investment_krw")
    b = years[years.scenario == "ccei-as-run"].pivot(index="replication", columns="year",
                                                     values="partner_investment_krw")
    row = next(r for r in t.rows if r[0] == "2016")
    col = t.header.index(next(h for h in t.header if h.startswith("partners' money")))
    assert row[col] == f"{a[2016].mean() / 1e9:,.1f}"
    assert row[col + 1] == f"{b[2016].mean() / 1e9:,.1f}"
    d = (b[2016] - a[2016]).to_numpy()
    lo, hi = _t_interval(d)
    assert row[col + 2] == f"{d.mean() / 1e9:+,.2f} [{lo / 1e9:+,.2f}, {hi / 1e9:+,.2f}]"


def test_dated_changes_are_drawn_by_month_in_the_assumptions(run, page):
    """Each scenario's dated changes are a table by month (a variant's own ones, the shared ones
    counted) and a figure; the flat parameter table no longer lists them key by key."""
    tables = page.tables()
    assert [r[0] for r in tables["dated_ccei-announced"].rows] == ["2016-01", "2019-01", "2019-01",
                                                                   "2019-01"]
    run_rows = tables["dated_ccei-as-run"].rows
    assert any(r[0] == "2018-03" and r[1].endswith(".partner") for r in run_rows)
    assert not any(r[0] == "2016-01" and "intake_size" in r[1] for r in run_rows)  # shared
    assert any("the same as ccei-announced's" in n for n in tables["dated_ccei-as-run"].notes)
    assert not any(r[0].startswith("timeline.") for r in tables["diff_ccei-as-run"].rows)
    assert "timeline" in {fig.name for fig in page.figures()}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_no_money_or_ledger_table_is_cut_off_at_1280_pixels(run, tmp_path):
    """The new tables (ten columns as announced against as run, the published figures beside each
    scenario) fit the page or scroll inside the screen at 1,280 pixels."""
    layout = layout_at_1280(run / "report.html", tmp_path)
    ids = {t["id"] for t in layout["tables"]}
    assert {"t-announced_vs_run", "t-published", "t-public_cost", "t-inputs_diff"} <= ids
    assert layout["page"] <= layout["vw"], "the page scrolls sideways"
    assert cut_off(layout) == []


def test_an_outlook_compare_says_what_it_extrapolates_and_names_the_prior(tmp_path):
    """Past the data the page says venture money follows the fitted trend (its years and growth
    from the scenario) and foundings their trend, and names the posterior's priors on both with
    their ranges, as recorded when the comparison ran."""
    out = tmp_path / "outlook"
    sim.compare(["scenarios/outlook/carry-on.yaml"], baseline="carry-on",
                counterfactual="no-programme-2035",
                posterior="scenarios/posteriors/outlook/posterior.parquet", draws=2,
                replications=2, overrides=["regions.*.founding_rate_per_year=60"], out=out,
                executor="serial")
    manifest = json.loads((out / "manifest.json").read_text())
    market = manifest["scenarios"]["no-programme-2035"]["resolved"]["market"]
    text = (out / "report.md").read_text(encoding="utf-8")
    last = max(int(y) for y in market["venture_investment_krw_by_year"])
    a, b = market["trend_fit_years"]
    assert (f"the published series ends in {last}; from {last + 1} to 2035-12 the market's supply "
            f"follows the log-linear trend fitted to {a}-{b} (market.trend_fit_years), growing "
            f"{100 * market['growth_after_data_per_year']:+.1f} % a year") in text
    assert "every region's founding rate grows +5.0 % a year" in text
    priors = manifest["study"]["posterior"]["priors"]
    assert set(priors) == {"market.growth_after_data_per_year",
                           "timeline.2025-01.regions.*.founding_trend_per_year"}
    for key, p in priors.items():
        assert f"{key} (prior: from {p['low']:.3g} to {p['high']:.3g}" in text
