"""The compare command and its reports, checked the way a planner (and a browser) sees them.

One tiny fixed-seed comparison (tests/golden/scenarios: three regions, a short calendar, one
founding rate lowered further with --set) is run once per module through the CLI; the tests read
what it wrote. The scenarios are self-contained (they extend nothing shipped), so recalibrating
scenarios/ never moves the golden headline table; a model change that moves it is caught, and
``UPDATE_GOLDEN=1 python -m pytest tests/test_report.py`` rewrites the golden file after review.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sim.analysis.findings import findings, flat_diff
from sim.cli import cli
from sim.report import build_report
from sim.report.format import diff_cell, mean_cell, ratio_cell

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
TINY = sorted((GOLDEN / "scenarios").glob("*.yaml"))
LIBRARY = HERE.parent / "scenarios"
COMPARE = [
    *map(str, TINY),
    "--baseline",
    "tiny-programme",
    "--counterfactual",
    "tiny-none",
    "-n",
    "3",
    "--fixed",
    "--seed",
    "7",
    "--executor",
    "serial",
    "--set",
    "regions.Seoul.founding_rate_per_year=150",
    "-q",
]


def invoke(*args: str):
    """Run the CLI in this process (exceptions propagate)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A finished tiny comparison: 3 scenarios x 3 replications, reports written."""
    out = tmp_path_factory.mktemp("compare") / "tiny"
    r = invoke("compare", *COMPARE, "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "report.html" in r.output
    return out


@pytest.fixture(scope="module")
def report(tiny):
    """The tiny comparison's report, as built from its folder."""
    return build_report(findings(tiny))


class _Tables(HTMLParser):
    """Collects the text of every <table id="t-..."> and every <img src=...> of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id", "").removeprefix("t-"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse_html(path: Path) -> _Tables:
    """The tables and images of an HTML page."""
    p = _Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# ----------------------------------------------------------------------------------------------
# the experiment folder
# ----------------------------------------------------------------------------------------------
def test_compare_writes_results_and_reports(tiny):
    """compare writes what run writes, plus both reports and the figures beside report.md."""
    for name in (
        "manifest.json",
        "summary.json",
        "replications.parquet",
        "regions.parquet",
        "startups.parquet",
        "report.html",
        "report.md",
    ):
        assert (tiny / name).is_file(), name
    manifest = json.loads((tiny / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["kind"] == "compare"
    assert manifest["study"]["counterfactual"] == "tiny-none"
    assert manifest["study"]["baseline"] == "tiny-programme"
    assert manifest["scenarios"]["tiny-lottery"]["question"].startswith("tiny-lottery: the tests' "
                                                                        "variant")
    assert list(manifest["scenarios"]) == ["tiny-none", "tiny-programme", "tiny-lottery"]
    summary = json.loads((tiny / "summary.json").read_text())
    pairs = {(c["scenario"], c["reference"]) for c in summary["comparisons"]}
    assert pairs == {("tiny-programme", "tiny-none"), ("tiny-lottery", "tiny-none"),
                     ("tiny-lottery", "tiny-programme")}
    row = next(c for c in summary["comparisons"] if c["metric"] == "survival_5y")
    assert set(row) >= {
        "scenario",
        "reference",
        "metric",
        "diff",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
    }
    md = (tiny / "report.md").read_text()
    for f in re.findall(r"\]\((figures/[^)]+\.png)\)", md):
        assert (tiny / f).is_file(), f


def test_report_has_every_section(report):
    """The report carries its sections in reading order: the decision, the summary, headline,
    differences, value for money, money (public cost by item, the never-supported and the created,
    money raised as an input), the yearly ledger, detail."""
    ids = [s.id for s in report.sections]
    assert ids == [
        "decision",
        "summary",
        "headline",
        "differences",
        "value",
        "public_cost",
        "others",
        "inputs",
        "ledger",
        "survival",
        "valley",
        "funnel",
        "regions",
        "gap",
        "precision",
        "assumptions",
        "provenance",
        "appendix",
    ]
    tables = report.tables()
    for tid in (
        "decision",
        "headline",
        "diff_counterfactual",
        "diff_baseline",
        "comparisons",
        "value",
        "km",
        "hazard",
        "funnel",
        "regions",
        "gap",
        "precision",
        "diff_tiny-lottery",
        "provenance",
    ):
        assert tid in tables, tid
    head = tables["headline"].header
    for label in (
        "S(1y)",
        "S(3y)",
        "S(5y)",
        "5-year survivors",
        "acquisitions",
        "valley crossings",
        "jobs at horizon",
        "partner investment",
        "grants",
        "public cost",
    ):
        assert label in head
    # money raised is an input, not among the benefits
    assert "private investment" not in head and "private investment" not in " ".join(
        tables["diff_baseline"].header)
    assert [r[0] for r in tables["regions"].rows] == ["Seoul", "Busan", "Daejeon"]
    assert {f.name for f in report.figures()} >= {
        "decision_plane",
        "decision_acceptability",
        "survival",
        "valley",
        "funnel",
        "regions",
        "gap",
    }
    # the lottery variant's assumptions show exactly what it changes
    changed = {r[0] for r in tables["diff_tiny-lottery"].rows}
    assert changed == {"centres.Daejeon.selection_noise", "centres.Daejeon.focus_bonus",
                       "centres.Busan.selection_noise", "centres.Busan.focus_bonus"}
    prov = dict(tables["provenance"].rows)
    assert prov["seed"] == "7" and prov["kind"] == "compare" and prov["command"]
    assert {r[0] for r in tables["scenario_hashes"].rows} == {
        "tiny-none",
        "tiny-programme",
        "tiny-lottery",
    }


def test_gap_is_explained_beside_the_causal_effect(report):
    """The naive supported-vs-other gap is split into effect and selection, in plain words."""
    gap = report.tables()["gap"]
    row = next(r for r in gap.rows if r[0] == "tiny-programme")
    assert all(c != "n/a" for c in row), row
    words = " ".join(
        b.text for s in report.sections if s.id == "gap" for b in s.blocks if hasattr(b, "text")
    )
    assert "would have survived" in words and "Plan with the effect, not with the gap" in words


# ----------------------------------------------------------------------------------------------
# HTML: self-contained, images decode, same tables as the Markdown
# ----------------------------------------------------------------------------------------------
def test_html_is_self_contained_and_images_decode(tiny, report):
    """The HTML page fetches nothing and its images are valid PNGs."""
    html = (tiny / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I), (
        "fetches something from outside"
    )
    assert "stylesheet" not in html.lower()
    parsed = parse_html(tiny / "report.html")
    assert len(parsed.images) == len(report.figures()) >= 6
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
        img.load()
        assert img.width > 100 and img.height > 100
        assert np.asarray(img.convert("L"), float).std() > 5, "a blank figure"


def test_markdown_and_html_carry_the_same_tables(tiny, report):
    """The Markdown and the HTML report carry the same tables, cell for cell."""
    md = (tiny / "report.md").read_text(encoding="utf-8")
    parsed = parse_html(tiny / "report.html")
    for tid, table in report.tables().items():
        assert table.markdown() in md, tid
        assert parsed.tables[tid] == [table.header, *table.rows], tid


def test_report_command_rebuilds_identical_reports(tiny):
    """report DIR rebuilds both reports and the figures from stored results only, byte for byte."""
    names = [
        "report.md",
        "report.html",
        *(f"figures/{p.name}" for p in (tiny / "figures").glob("*.png")),
    ]
    before = {n: (tiny / n).read_bytes() for n in names}
    for n in ("report.md", "report.html"):
        (tiny / n).unlink()
    shutil.rmtree(tiny / "figures")
    r = invoke("report", str(tiny), "-q")
    assert r.exit_code == 0, r.output
    for n, data in before.items():
        assert (tiny / n).read_bytes() == data, n


def test_resume_writes_the_report_a_failed_or_killed_compare_did_not(tiny, tmp_path):
    """A compare whose task failed writes no report (it would describe incomplete data); resuming it
    runs the missing task and writes the report. A compare killed after its data was final but
    before its report is finished by resume too, without rerunning anything. Both reports match the
    uninterrupted run's."""
    out = tmp_path / "failed"
    r = CliRunner().invoke(cli, ["compare", *COMPARE, "--out", str(out)],
                           env={"VALLEYSIM_FAIL_TASKS": "tiny-lottery:1"})
    assert r.exit_code == 1 and "resume" in r.output
    assert not (out / "report.html").exists()
    r = invoke("resume", str(out), "--executor", "serial", "-q")
    assert r.exit_code == 0, r.output
    assert "report.html" in r.output
    expected = {
        k: v for k, v in parse_html(tiny / "report.html").tables.items() if k != "provenance"
    }
    assert expected["headline"]
    assert {
        k: v for k, v in parse_html(out / "report.html").tables.items() if k != "provenance"
    } == expected

    killed = tmp_path / "killed"
    shutil.copytree(tiny, killed)
    for f in ("report.html", "report.md"):
        (killed / f).unlink()
    before = {p.name: p.stat().st_mtime_ns for p in killed.glob("*.parquet")}
    r = invoke("resume", str(killed), "-q")
    assert r.exit_code == 0, r.output
    assert {
        k: v for k, v in parse_html(killed / "report.html").tables.items() if k != "provenance"
    } == expected
    assert (killed / "report.md").is_file()
    # nothing rerun
    assert {p.name: p.stat().st_mtime_ns for p in killed.glob("*.parquet")} == before
    r = invoke("resume", str(killed), "-q")
    assert r.exit_code == 2 and "already complete" in r.output


def test_golden_headline_table(report):
    """A fixed-seed comparison's headline table (UPDATE_GOLDEN=1 rewrites it after review)."""
    text = report.tables()["headline"].markdown() + "\n"
    golden = GOLDEN / "headline.md"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"{golden} did not exist; written now. Review it and rerun.")
    assert text == golden.read_text(encoding="utf-8")


CHROMIUM = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs "
                                               "Debian's chromium package); the HTML rendering "
                                               "check needs it")
def test_html_renders_in_headless_chromium(tiny, tmp_path):
    """The page loads with no console error and paints a non-blank screenshot."""
    shot = tmp_path / "shot.png"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--enable-logging=stderr",
        "--v=0",
        (tiny / "report.html").as_uri(),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, "\n".join(console)
    assert shot.is_file(), r.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), float)
    assert pixels.shape == (2400, 1280)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01, "the screenshot is blank"


LAYOUT = """<script>
window.addEventListener("load", () => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight, out = [];
  document.querySelectorAll("table").forEach((t) => {
    const box = t.parentElement, r = box.getBoundingClientRect(), cs = getComputedStyle(box);
    out.push({id: t.id, table: t.getBoundingClientRect().width, box: box.clientWidth,
              right: r.right, height: r.height, overflow: cs.overflowX, max: cs.maxHeight});
  });
  const pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify({vw: vw, vh: vh, page: document.scrollingElement.scrollWidth,
                                    tables: out});
  document.body.appendChild(pre);
});
</script>"""


def cut_off(layout: dict) -> list[str]:
    """The tables a reader at this width sees cut off: a table wider than its box whose box does
    not scroll, reaches past the window, or can grow taller than the window (its horizontal
    scrollbar then lies below the screen, out of sight while the table is read)."""
    bad = []
    for t in layout["tables"]:
        if t["right"] > layout["vw"] + 0.5:
            bad.append(f"{t['id']}: its box ends at {t['right']:.0f} px, past the window")
        elif t["table"] > t["box"] + 0.5 and not (
            t["overflow"] in ("auto", "scroll") and t["max"] != "none"
            and t["height"] <= layout["vh"]
        ):
            bad.append(f"{t['id']}: {t['table']:.0f} px wide in a {t['box']} px box that does "
                       "not scroll within the screen")
    return bad


def layout_at_1280(report: Path, tmp_path: Path) -> dict:
    """Every table's measured layout in headless Chromium at 1,280 pixels (:data:`LAYOUT` added to
    a copy of the page ``report``)."""
    page = tmp_path / "report.html"
    page.write_text(report.read_text(encoding="utf-8").replace(
        "</body>", LAYOUT + "</body>"), encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--dump-dom",
           page.as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="layout">(.*?)</pre>', r.stdout, re.S)
    assert found, r.stderr[-2000:]
    import html as html_text

    return json.loads(html_text.unescape(found.group(1)))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_no_table_is_cut_off_at_1280_pixels(tiny, tmp_path):
    """At 1,280 pixels every table fits the page or scrolls inside a box that fits the screen (a
    wide table in a box as tall as itself scrolls by a bar far below the screen: cut off, for a
    reader), and the page itself never scrolls sideways. The layout is measured in Chromium by a
    script added to a copy of the page (the report itself carries none)."""
    layout = layout_at_1280(tiny / "report.html", tmp_path)
    assert 1200 <= layout["vw"] <= 1280 and len(layout["tables"]) >= 10
    assert layout["page"] <= layout["vw"], "the page scrolls sideways"
    assert any(t["table"] > t["box"] for t in layout["tables"])  # some do need to scroll
    assert cut_off(layout) == []


# ----------------------------------------------------------------------------------------------
# other folders, odd numbers, errors
# ----------------------------------------------------------------------------------------------
def test_report_on_a_run_folder_with_one_replication_and_no_startups(tmp_path):
    """No counterfactual, no CI (one replication), no start-up table, survival never observable
    to 5 years (cohorts too close to the horizon): n/a with reasons, no crash."""
    out = tmp_path / "run"
    r = invoke(
        "run",
        str(GOLDEN / "scenarios" / "tiny-programme.yaml"),
        "-n",
        "1",
        "--startups",
        "none",
        "--set",
        "calendar.cohort_first_year=2019",
        "--set",
        "calendar.cohort_last_year=2021",
        "--executor",
        "serial",
        "--out",
        str(out),
        "-q",
    )
    assert r.exit_code == 0, r.output
    r = invoke("report", str(out), "-q")
    assert r.exit_code == 0, r.output
    md = (out / "report.md").read_text()
    assert "no counterfactual" in md and "no start-up table was kept" in md
    assert "n/a for tiny-programme, S(5y)" in md
    parsed = parse_html(out / "report.html")
    assert parsed.tables["headline"][1][0] == "tiny-programme"


def test_report_refuses_folders_it_cannot_read(tmp_path):
    """report of a folder without a manifest, or without a summary yet, is exit 2 saying what to do.
    """
    r = invoke("report", str(tmp_path))
    assert r.exit_code == 2 and "no manifest.json" in r.output
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "interrupted", "scenarios": {}}))
    r = invoke("report", str(tmp_path))
    assert r.exit_code == 2 and "no summary.json" in r.output and "resume" in r.output


def test_compare_names_an_unknown_baseline_clearly(tmp_path):
    """An unknown --baseline is exit 2 listing the scenarios."""
    r = invoke(
        "compare",
        *map(str, TINY),
        "--baseline",
        "tiny-nope",
        "--counterfactual",
        "tiny-none",
        "--out",
        str(tmp_path / "x"),
    )
    assert r.exit_code == 2 and "tiny-nope" in r.output and "--baseline" in r.output
    assert not (tmp_path / "x").exists()


def test_cells_show_na_for_undefined_numbers():
    """Undefined numbers show as n/a in every kind of cell."""
    assert mean_cell(None, "share") == "n/a"
    assert mean_cell({"mean": None}, "count") == "n/a"
    assert mean_cell({"mean": 0.5, "half_width": None}, "share") == "50.0%"
    assert mean_cell({"mean": 0.5, "half_width": 0.01}, "share") == "50.0% ± 1.0"
    assert diff_cell({"diff": float("nan")}, "share") == "n/a"
    assert (
        diff_cell({"diff": -0.0001, "ci_low": -0.3, "ci_high": 0.3, "p_adjusted": 0.9}, "count")
        == "+0 [+0, +0] (n.s.)"
    )
    assert (
        diff_cell({"diff": 0.0123, "ci_low": 0.01, "ci_high": 0.0146, "p_adjusted": 0.001}, "share")
        == "+1.23 pp [+1.00, +1.46]"
    )


def test_cost_per_survivor_cases():
    """A cost per survivor cell: a ratio with its CI, dominant, dominated, a saving, or why it is
    n/a."""
    base = {"n": 5, "defined": True, "ci_low": 1e8, "ci_high": 3e8, "ratio": 2e8}
    assert ratio_cell({**base, "num_mean": 2e9, "den_mean": 10.0}, "survivor")[0] == ("200 M [100, "
                                                                                      "300]")
    assert ratio_cell({**base, "num_mean": -1e9, "den_mean": 10.0}, "survivor")[0] == "dominant"
    assert ratio_cell({**base, "num_mean": 1e9, "den_mean": -10.0}, "survivor")[0] == "dominated"
    assert ratio_cell({**base, "num_mean": -2e9, "den_mean": -10.0}, "survivor")[0].startswith(
        "saves 200 M"
    )
    text, why = ratio_cell({**base, "defined": False, "num_mean": 1e9, "den_mean": 0.1}, "job")
    assert text == "n/a" and "not distinguishable from zero" in why
    text, why = ratio_cell({"n": 1, "defined": False, "num_mean": 1.0, "den_mean": 1.0}, "job")
    assert text == "n/a" and "two replications" in why


def test_flat_diff_lists_changed_leaves_only():
    """flat_diff lists only the leaves that changed, with both values."""
    a = {"x": {"y": 1, "z": [1, 2]}, "c": {"A": {"k": 1}}}
    b = {"x": {"y": 2, "z": [1, 2]}, "c": {}, "new": 3}
    assert flat_diff(a, b) == [
        ("x.y", "1", "2"),
        ("c.A", "1 entries (k)", "(absent)"),
        ("new", "(absent)", "3"),
    ]


# ----------------------------------------------------------------------------------------------
# the policy library
# ----------------------------------------------------------------------------------------------
def test_policy_library_validates_and_states_its_questions():
    """Every shipped scenario validates and opens with its policy question."""
    from sim.scenario import load_scenario

    files = sorted(LIBRARY.glob("*.yaml"))
    names = set()
    for f in files:
        sc = load_scenario(f)
        assert sc.name == f.stem, f
        names.add(sc.name)
        text = f.read_text(encoding="utf-8")
        assert text.startswith("#"), (f"{f.name} must open with a comment stating its policy "
                                      f"question")
        head = text.split("\n\n")[0].lower()
        assert "question" in head or "counterfactual" in head, f.name
    assert {
        "no-programme",
        "ccei-announced",
        "ccei-as-opened",
        "training-only",
        "grants-only",
        "no-conglomerate",
        "double-grants",
        "capital-region-concentrated",
        "all-open-2014",
        "foreign-accelerators",
    } <= names


def test_policy_variants_change_only_what_they_say_against_the_baseline():
    """Guards for variants that restate baseline numbers: they must track ccei-announced when it is
    recalibrated (update the variant file when one of these fails)."""
    from sim.scenario import load_scenario

    def load(name):
        return load_scenario(LIBRARY / f"{name}.yaml")

    base = load("ccei-announced")
    bc = base.active_centres
    capital = load("capital-region-concentrated")
    cc = capital.active_centres
    assert set(cc) == set(bc) and {c.region for c in cc.values()} == {
        "Seoul",
        "Gyeonggi",
        "Incheon",
    }
    for attr in ("seats", "intake_size", "intake_every_months", "operating_cost_krw_per_year",
                 "operating_cost_krw_per_supported", "partner", "opens"):
        assert [getattr(cc[n], attr) for n in bc] == [getattr(bc[n], attr) for n in bc], attr
    assert [cc[n].grants for n in bc] == [bc[n].grants for n in bc]
    double = load("double-grants").active_centres
    for n, c in bc.items():
        assert (
            double[n].grants.per_startup_krw,
            double[n].grants.annual_budget_krw,
            double[n].grants.per_round,
        ) == (2 * c.grants.per_startup_krw, 2 * c.grants.annual_budget_krw, c.grants.per_round), (
            f"scenarios/double-grants.yaml must double ccei-announced's grants (centre {n}); "
            "update it after recalibrating the baseline"
        )
    grants_only = load("grants-only").active_centres
    for n, c in grants_only.items():
        assert c.partner is None and c.residency_months == 0
        # no training effect
        assert {v for v in c.training.model_dump().values() if v is not None} == {1.0}
        assert c.intake_size == bc[n].grants.per_round and c.grants == bc[n].grants, n
    training = load("training-only").active_centres
    assert all(
        c.partner is None and c.grants.annual_budget_krw == 0 and c.grants.per_startup_krw == 0
        for c in training.values()
    )
    assert all(c.partner is None for c in load("no-conglomerate").active_centres.values())
    funds = load("regional-funds")
    assert (
        funds.regions == base.regions and funds.market == base.market
    )  # money through a priced fund only
    (fund,) = funds.funds.values()
    assert fund.size_krw == 470_000_000_000 and 0 < fund.public_share < 1
    assert set(fund.regions) == set(base.regions) - {"Seoul", "Gyeonggi"}
    early = load("all-open-2014").active_centres
    assert all(c.opens <= "2014-12" for c in early.values())
    foreign = load("foreign-accelerators").active_centres
    assert set(foreign) - set(bc) == {"Google Campus Seoul", "SAP", "Yozma"}
    assert all(
        foreign[n].partner is None and foreign[n].catchment == ["*"]
        for n in ("Google Campus Seoul", "SAP", "Yozma")
    )


# ----------------------------------------------------------------------------------------------
# what a planner reads first, and what a shared report must not carry
# ----------------------------------------------------------------------------------------------
def test_the_report_opens_with_a_verdict_computed_from_the_data(report, tiny):
    """The report opens with the decision's verdict, and the summary with a line on the baseline,
    whose every number comes from summary.json."""
    first = report.sections[0].blocks[0].text
    summary = json.loads((tiny / "summary.json").read_text())
    d = summary["decision"]
    assert first.startswith("Verdict: at ") and d["best_at_wtp"] in first
    line = report.sections[1].blocks[0].text
    assert line.startswith("In short: tiny-programme changes 5-year survival by ")
    row = next(c for c in summary["comparisons"] if c["scenario"] == "tiny-programme"
               and c["reference"] == "tiny-none" and c["metric"] == "survival_5y")
    assert diff_cell(row, "share", False) in line  # the same number the tables show
    assert "of 1 variant(s) differ from tiny-programme" in line or "tiny-lottery" in line
    md = (tiny / "report.md").read_text()
    assert md.index("Verdict:") < md.index("In short:") < md.index(
        "Headline results per scenario\n")


def test_small_but_certain_differences_are_marked_against_a_threshold_the_planner_sets(
    tiny, tmp_path
):
    """A significant survival difference below the practical threshold reads "(small)"; the
    threshold is the comparison's (compare --practical) and report --practical changes it."""
    row = {"diff": 0.0004, "ci_low": 0.0002, "ci_high": 0.0006, "p_adjusted": 0.001}
    assert diff_cell(row, "share", practical=0.002).endswith("(small)")
    assert "(small)" not in diff_cell(row, "share", practical=0.0001)
    # n.s. instead
    assert "(small)" not in diff_cell({**row, "p_adjusted": 0.2}, "share", practical=0.002)
    # shares only
    assert "(small)" not in diff_cell({**row, "diff": 40.0}, "count", practical=0.002)
    copy = tmp_path / "c"
    shutil.copytree(tiny, copy)
    huge = build_report(findings(copy, practical_pp=50.0)).tables()["diff_counterfactual"]
    none = build_report(findings(copy, practical_pp=0.0)).tables()["diff_counterfactual"]
    cells = [c for r in huge.rows for c in r[1:4]]
    assert all("(small)" in c or "(n.s.)" in c or c == "n/a" for c in cells)
    assert not any("(small)" in c for r in none.rows for c in r)
    assert any("practical" in n or "worth acting on" in n for n in huge.notes)


def test_a_cost_ratio_whose_interval_crosses_zero_is_explained_not_negative_money():
    """A cost ratio whose interval crosses zero is explained, never shown as negative money."""
    r = {"ratio": -97e6, "ci_low": -403e6, "ci_high": 55e6, "defined": True, "num_mean": -0.8e9,
         "den_mean": 9.0, "n": 10}
    text, why = ratio_cell(r, "survivor")
    assert "-" not in text and "saving of 97 M" in text and ("from a saving of 403 M to a cost of "
                                                             "55 M") in text
    assert "not distinguishable from zero" in why
    text, why = ratio_cell({**r, "ratio": 60e6, "num_mean": 2.7e9}, "survivor")
    assert text.startswith("60 M (") and "-" not in text


def test_survival_differences_are_drawn_with_intervals_from_every_replication(report):
    """The survival differences by age are drawn with intervals from every replication."""
    fig = next(f for f in report.figures() if f.name == "survival_diff")
    assert "95% confidence interval" in fig.caption and "all paired replications" in fig.caption


def test_no_figure_uses_a_log_scale():
    """A log scale hides the drop-offs the funnel and curves are there to show."""
    import inspect

    from sim.report import plots

    src = inspect.getsource(plots)
    assert "symlog" not in src and 'scale("log' not in src and "loglog" not in src


def test_hangul_names_render_in_figures(recwarn):
    """Scenario, centre and region names in Hangul render (no missing-glyph boxes)."""
    from sim.report import plots

    x = np.array([1.0, 2.0, 3.0])
    png = plots.curve_differences(
        [{"label": n, "x": x, "d": [0.01, 0.02, 0.01], "lo": [0.0, 0.01, 0.0],
          "hi": [0.02, 0.03, 0.02]} for n in ("대전 창조경제혁신센터", "서울")], title="5년 생존율")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    missing = [str(w.message) for w in recwarn if "missing from font" in str(w.message)]
    assert missing == []


def test_a_shared_report_carries_no_absolute_local_path(tiny):
    """The results folder's and the repository's absolute paths appear nowhere in the pages."""
    for page in ("report.md", "report.html"):
        text = (tiny / page).read_text(encoding="utf-8")
        assert str(tiny) not in text and str(HERE.parent) not in text, page


def test_the_effect_on_the_supported_is_followed_in_every_replication_with_an_interval(
    tiny, report
):
    """The selection-or-effect split uses every replication's twins (probes.parquet), with a 95% CI,
    and its replication 0 agrees exactly with the split computed from the kept start-up table of
    replication 0."""

    from sim.analysis.effects import gap_by_replication
    from sim.analysis.findings import gap
    from sim.analysis.folder import probes_by_scenario

    res = findings(tiny)
    g = res.gap("tiny-programme")
    assert g["replications"] == 3
    assert g["effect_stat"]["ci_low"] <= g["effect"] <= g["effect_stat"]["ci_high"]
    assert g["effect"] + g["selection"] == pytest.approx(g["naive"])
    kept = gap(res.results, "tiny-programme", None)  # replication 0's start-up table
    by = probes_by_scenario(res.results.probes)
    unsup = {
        int(r): float(v)
        for r, v in zip(
            res.reps["tiny-programme"]["replication"],
            res.reps["tiny-programme"]["unsupported_survival_5y"],
            strict=True,
        )
    }
    per_rep = gap_by_replication(by["tiny-programme"], by["tiny-none"], unsup)
    # the kept table holds one in STORED_APPLICANT_SHARE of the counterfactual's applicants, so its
    # split follows that share of the supported firms: the same quantity within sampling noise
    m = kept["matched"]
    assert 0.05 * per_rep["matched"][0] < m < 0.2 * per_rep["matched"][0]
    for k in ("s_sup", "s_same_cf"):
        se = math.sqrt(kept[k] * (1 - kept[k]) / m)
        assert abs(per_rep[k][0] - kept[k]) < 4 * se, (k, per_rep[k][0], kept[k], se)
    words = report.sections[[s.id for s in report.sections].index("gap")].blocks[0].text
    assert "Means over 3 replications with 95% confidence intervals" in words


def test_the_caution_cites_the_validation_run_only_for_the_shipped_baseline(tiny, report, shipped):
    """The sentence on what a separate validation run found is about the shipped scenarios: the
    comparison records, when it runs, whether its baseline is the shipped file as it is on disk
    then, and the report prints the sentence exactly when that fact was recorded (not for a
    comparison of other scenarios)."""
    import dataclasses

    from sim.report.compare import build_report as build
    from sim.scenario import load_scenario
    from sim.studies.compare import shipped_baseline

    def caution(rep):
        summary = rep.sections[[s.id for s in rep.sections].index("summary")]
        return next(b.text for b in summary.blocks if getattr(b, "text", "").startswith("Caution"))

    assert "separate validation run" not in caution(report) and "simulation noise only" in caution(
        report
    )
    res = findings(tiny)
    assert res.info.shipped_baseline is False
    announced = load_scenario(shipped / "ccei-announced.yaml")
    assert not shipped_baseline(res.baseline, announced)  # the name must be a shipped file's too
    assert shipped_baseline("ccei-announced", announced)
    edited = announced.model_copy(update={"description": "edited"})
    assert not shipped_baseline("ccei-announced", edited)
    assert not shipped_baseline(None, announced)
    m = res.manifest
    recorded = dataclasses.replace(res, results=dataclasses.replace(res.results, manifest={
        **m, "study": {**m["study"], "shipped_baseline": True}}))
    assert "separate validation run" in caution(build(recorded))


NO_SCENARIOS = r"""
import builtins, io, os, pathlib, sys
shipped = str(pathlib.Path(sys.argv[1]).resolve())
real = io.open

def guarded(file, *args, **kwargs):  # scenarios/ is gone: any read of it fails
    path = os.path.abspath(os.fspath(file)) if isinstance(file, (str, os.PathLike)) else ""
    if path.startswith(shipped):
        raise PermissionError(13, "scenarios/ is not readable in this test", os.fspath(file))
    return real(file, *args, **kwargs)

builtins.open = io.open = guarded
from sim.cli import main
sys.argv[0] = "run_sim.py"
main(sys.argv[2:])
"""


def test_report_dir_gives_the_same_pages_whatever_the_state_of_scenarios(tiny, tmp_path):
    """Everything a report needs is in its folder (recorded when the study ran): rebuilt with
    scenarios/ unreadable, the pages are the same, word for word."""
    import shutil
    import subprocess
    import sys

    from procs import env

    copy = tmp_path / "again" / tiny.name
    shutil.copytree(tiny, copy)
    before = {p: (copy / p).read_text(encoding="utf-8") for p in ("report.md", "report.html")}
    for p in before:
        (copy / p).unlink()
    r = subprocess.run(
        [sys.executable, "-c", NO_SCENARIOS, LIBRARY, "report", str(copy), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE.parent,
        env=env(),
    )
    assert r.returncode == 0, r.stderr
    for p, text in before.items():
        assert (copy / p).read_text(encoding="utf-8") == text, p


def test_a_difference_is_printed_with_the_precision_that_shows_it(tiny):
    """A small difference gets the decimals that show it (never "+0.00 pp" beside a non-zero
    interval), in the cells and in the pages."""
    assert diff_cell({"diff": 0.0011, "ci_low": 0.0008, "ci_high": 0.0013}, "share", False) == (
        "+0.11 pp [+0.08, +0.13]")
    assert diff_cell({"diff": 3e-5, "ci_low": 1e-5, "ci_high": 8e-5}, "share", False) == (
        "+0.0030 pp [+0.0010, +0.0080]")
    assert diff_cell({"diff": 1.2e7, "ci_low": -1e7, "ci_high": 3e7}, "krw", False) == (
        "+0.012 bn [-0.010, +0.030]")
    assert diff_cell({"diff": 0.0}, "share", False) == "+0.00 pp"
    for page in ("report.md", "report.html"):
        text = (tiny / page).read_text(encoding="utf-8")
        assert not re.search(r"[+-]0\.00 (pp|bn) \[", text), page


def test_survival_curves_follow_the_supported_firms_and_their_twins(tiny, report):
    """The survival figure draws each scenario's supported start-ups from their support date beside
    the same firms without the programme (their twins, every replication), where the two curves
    differ visibly; scenarios where they do not are named in words instead."""
    res = findings(tiny)
    c = res.twins["tiny-programme"]
    assert 0 < c["matched"] <= c["supported"]
    assert c["treated"][0][0] == pytest.approx(1.0) and c["twins"][0][0] == pytest.approx(1.0)
    gap = np.nanmax(np.abs(c["treated"][0] - c["twins"][0]))
    assert c["largest_gap"] == pytest.approx(gap) and c["visible"] == (gap >= 0.02)
    section = report.sections[[s.id for s in report.sections].index("survival")]
    words = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    shown = [n for n in ("tiny-programme", "tiny-lottery") if res.twins[n]["visible"]]
    fig = [b for b in section.blocks if getattr(b, "name", None) == "survival"]
    assert bool(fig) == bool(shown)
    if fig:
        assert "twins" in fig[0].caption
    for n in ("tiny-programme", "tiny-lottery"):
        if not res.twins[n]["visible"]:
            assert f"{n} (largest gap" in words


def _pages(root: Path) -> dict[str, bytes]:
    """A folder's pages and figures, by name."""
    files = ["report.md", "report.html", *(f"figures/{p.name}"
                                           for p in sorted((root / "figures").glob("*.png")))]
    return {n: (root / n).read_bytes() for n in files}


def test_the_pages_are_the_same_whatever_the_number_of_drawing_workers(tiny, tmp_path):
    """report.html, report.md and every figure are byte for byte the same when one process draws
    the figures and when two forked workers do (and the same as the compare wrote)."""
    from sim.report import write_reports

    pages = {}
    for workers in (1, 2):
        root = tmp_path / f"w{workers}" / tiny.name  # the page names its folder
        shutil.copytree(tiny, root, ignore=shutil.ignore_patterns("report.*", "figures"))
        write_reports(findings(root), workers=workers)
        pages[workers] = _pages(root)
    assert len(pages[1]) >= 8 and pages[1] == pages[2] == _pages(tiny)


def _square(side: float) -> bytes:
    """A small figure (module level: a drawing a worker can run)."""
    from matplotlib.figure import Figure as MplFigure

    from sim.report.plots import to_png

    fig = MplFigure(figsize=(side, side))
    fig.add_subplot().plot([0, 1], [0, side])
    return to_png(fig)


def _fails(parent: int) -> bytes:
    """Raises (in a worker and here alike)."""
    raise ValueError("this figure cannot be drawn")


def _dies_in_a_worker(parent: int) -> bytes:
    """Kills the worker process that draws it; draws a figure when the parent does."""
    if os.getpid() != parent:
        os._exit(3)
    return _square(1.0)


def test_figures_drawn_by_workers_are_those_drawn_here_and_a_lost_one_is_drawn_here():
    """Workers draw each figure as this process would; a figure whose worker died is drawn here,
    and a figure that cannot be drawn raises its own error here, with or without workers."""
    from sim.report.document import Figure, drawing
    from sim.report.render import _drawn_in_workers, draw_all

    sides = [1.0, 1.5, 2.0, 1.2]
    drawn = _drawn_in_workers([drawing(_square, s) for s in sides], 2)
    assert drawn == [_square(s) for s in sides]  # every one drawn by a worker, identical
    figs = [Figure(f"f{i}", "", "", drawing(_square, s)) for i, s in enumerate(sides)]
    figs.insert(1, Figure("lost", "", "", drawing(_dies_in_a_worker, os.getpid())))
    draw_all(figs, workers=2)
    assert [f.png for f in figs] == [_square(1.0), _square(1.0), *map(_square, sides[1:])]
    for workers in (1, 2):
        with pytest.raises(ValueError, match="cannot be drawn"):
            draw_all([Figure("ok", "", "", drawing(_square, 1.0)),
                      Figure("bad", "", "", drawing(_fails, os.getpid()))], workers=workers)


def test_the_kept_start_ups_are_each_scenarios_rows_as_a_filtered_read_gives_them(tiny):
    """startups.parquet read once and split by scenario gives each scenario exactly the rows (in
    file order) and values a read filtered on that scenario gives."""
    import pyarrow.parquet as pq

    from sim.analysis.folder import Results

    res = Results.read(tiny)
    assert set(res.kept) == set(res.names)
    for name, k in res.kept.items():
        t = pq.read_table(tiny / "startups.parquet", filters=[
            ("scenario", "==", name), ("replication", "in", res.kept_replications)])
        founded = t.column("founded_month").to_numpy()
        assert len(k) == t.num_rows > 0
        assert np.array_equal(k.founded, founded) and np.array_equal(
            k.serial, t.column("serial").to_numpy())
        assert list(k.region) == t.column("region").to_pylist()
        assert list(k.cause) == t.column("cause").to_pylist()
        outcome = np.asarray(t.column("outcome").to_pylist(), dtype=object)
        assert np.array_equal(k.died, outcome == "died")
        assert np.array_equal(k.acquired, outcome == "acquired")
        assert np.array_equal(k.age_end, t.column("outcome_month").to_numpy() - founded)
