"""What a report says: built once from a results folder, rendered by both html.py and markdown.py.

:func:`load_results` reads a results folder (manifest, summary.json and the Parquet files; the
start-up table only for a few kept replications, read column by column); :func:`build_report`
turns it into a :class:`Report`: sections holding paragraphs, bullet lists, tables of
already-formatted text, and figures as PNG bytes. The two renderers only lay this out, so the
HTML and the Markdown always carry the same tables and numbers.

Undefined numbers (a single replication has no confidence interval, a variant with no supported
start-ups has no supported survival, a cost per survivor cannot be bounded when the extra
survivors are not distinguishable from zero) are shown as "n/a" with a note saying why; nothing
here raises on odd but valid results.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..analysis.stats import ratio_ci, summarize
from ..analysis.summary import by_scenario
from ..analysis.survival import hazard_by_age, km_at, km_curve
from ..errors import UsageError
from . import plots
from .tables import fmt, number

MAX_KEPT = 3
"""At most this many kept replications' start-up tables are read for curves and the funnel."""

HEADLINE = (
    ("survival_1y", "S(1y)", "share"),
    ("survival_3y", "S(3y)", "share"),
    ("survival_5y", "S(5y)", "share"),
    ("survivors_5y", "5-year survivors", "count"),
    ("supported", "supported", "count"),
    ("acquired", "acquisitions", "count"),
    ("crossed_valley", "valley crossings", "count"),
    ("jobs_end", "jobs at horizon", "count"),
    ("private_investment_krw", "private investment", "krw"),
    ("conglomerate_investment_krw", "conglomerate investment", "krw"),
    ("grants_krw", "grants", "krw"),
    ("programme_cost_krw", "programme cost", "krw"),
)
DIFF_KIND = {"share": "pp", "count": "dcount", "krw": "dkrw"}
ALPHA = 0.05


# ----------------------------------------------------------------------------------------------
# the content model
# ----------------------------------------------------------------------------------------------
@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    id: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The table as GitHub-flavoured Markdown (used by the Markdown report and the golden test)."""
        def esc(s: str) -> str:
            return str(s).replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(esc(h) for h in self.header) + " |",
                 "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(self.header))) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        return "\n".join(lines)


@dataclass
class Figure:
    name: str
    caption: str
    alt: str
    png: bytes


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)
    collapsed: bool = False
    """Long reference material: folded away in the HTML (shown in full in the Markdown)."""

    def add(self, block):
        self.blocks.append(block)
        return block


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]

    def tables(self) -> dict[str, Table]:
        return {b.id: b for s in self.sections for b in s.blocks if isinstance(b, Table)}

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


# ----------------------------------------------------------------------------------------------
# reading a results folder
# ----------------------------------------------------------------------------------------------
@dataclass
class Kept:
    """One scenario's start-ups in the kept replications, as numpy columns."""

    replication: np.ndarray
    region: np.ndarray  # object (names)
    serial: np.ndarray
    cohort: np.ndarray  # bool: founded inside the cohort window
    age_end: np.ndarray  # months from founding to death, acquisition or the horizon
    died: np.ndarray
    acquired: np.ndarray
    supported: np.ndarray
    support_age: np.ndarray  # months from founding to selection (NaN if never)
    granted: np.ndarray
    funded: np.ndarray
    crossed: np.ndarray

    def __len__(self) -> int:
        return len(self.age_end)


@dataclass
class Results:
    root: Path
    manifest: dict
    summary: dict
    scenarios: list[str]
    reps: dict[str, dict[str, np.ndarray]]
    regions: dict[str, np.ndarray] | None
    kept: dict[str, Kept]
    kept_replications: list[int]
    counterfactual: str | None
    baseline: str | None
    comparisons: list[tuple[str, str]]

    def resolved(self, name: str) -> dict:
        return (self.manifest.get("scenarios", {}).get(name) or {}).get("resolved") or {}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc}).") from None


def _columns(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    t = pq.read_table(path)
    return {name: t.column(name).to_numpy(zero_copy_only=False) for name in t.column_names}


def _replications_in(path: Path) -> list[int]:
    """Replications present in a Parquet file, from row-group statistics where possible."""
    pf = pq.ParquetFile(path)
    idx = pf.schema_arrow.get_field_index("replication")
    reps: set[int] = set()
    for i in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(i).column(idx).statistics
        if st is not None and st.has_min_max and st.min == st.max:
            reps.add(int(st.min))
        else:
            col = pf.read_row_group(i, columns=["replication"]).column(0).to_numpy()
            reps.update(int(r) for r in np.unique(col))
    return sorted(reps)


_KEPT_COLUMNS = ["replication", "region", "serial", "cohort_year", "founded_month", "supported", "support_month",
                 "grant_krw", "private_krw", "conglomerate_krw", "crossed_valley", "outcome", "outcome_month"]


def _read_kept(path: Path, scenario: str, reps: list[int], calendar: dict) -> Kept | None:
    t = pq.read_table(path, columns=_KEPT_COLUMNS,
                      filters=[("scenario", "==", scenario), ("replication", "in", reps)])
    if t.num_rows == 0:
        return None
    c = {n: t.column(n).to_numpy(zero_copy_only=False) for n in _KEPT_COLUMNS}
    outcome = c["outcome"].astype(str)
    first, last = calendar.get("cohort_first_year", -10**9), calendar.get("cohort_last_year", 10**9)
    founded = c["founded_month"].astype(float)
    return Kept(
        replication=c["replication"].astype(np.int64), region=c["region"].astype(object),
        serial=c["serial"].astype(np.int64),
        cohort=(c["cohort_year"] >= first) & (c["cohort_year"] <= last),
        age_end=c["outcome_month"].astype(float) - founded, died=outcome == "died", acquired=outcome == "acquired",
        supported=c["supported"].astype(bool), support_age=c["support_month"].astype(float) - founded,
        granted=c["grant_krw"].astype(float) > 0,
        funded=(c["private_krw"].astype(float) > 0) | (c["conglomerate_krw"].astype(float) > 0),
        crossed=c["crossed_valley"].astype(bool))


def load_results(root: Path) -> Results:
    """Read what a report needs from a results folder (``run`` or ``compare``)."""
    from ..experiment.store import ResultsStore

    root = Path(root)
    manifest = ResultsStore.open(root).read_manifest()
    if not (root / "summary.json").is_file():
        status = manifest.get("status", "unknown")
        raise UsageError(f"{root}: has no summary.json (status: {status}), so there is nothing to report yet. "
                         f"Finish the experiment first (python run_sim.py resume {root}), then rebuild the report.")
    summary = _read_json(root / "summary.json")
    names = [n for n in manifest.get("scenarios", {}) if n in summary.get("scenarios", {})]
    names += [n for n in summary.get("scenarios", {}) if n not in names]
    cols = _columns(root / "replications.parquet")
    reps = by_scenario(cols, names) if cols else {n: {} for n in names}
    regions = _columns(root / "regions.parquet")
    kept: dict[str, Kept] = {}
    kept_reps: list[int] = []
    st_path = root / "startups.parquet"
    if st_path.is_file():
        kept_reps = _replications_in(st_path)[:MAX_KEPT]
        if kept_reps:
            for n in names:
                cal = (manifest.get("scenarios", {}).get(n) or {}).get("resolved", {}).get("calendar", {})
                k = _read_kept(st_path, n, kept_reps, cal)
                if k is not None:
                    kept[n] = k
    extra = manifest.get("extra") or {}
    comparisons = [tuple(c) for c in manifest.get("comparisons", [])]
    cf = extra.get("counterfactual")
    if cf is None and comparisons:  # the reference every scenario is compared with
        refs = [r for _, r in comparisons]
        cf = max(set(refs), key=refs.count)
    cf = cf if cf in names else None
    base = extra.get("baseline")
    base = base if base in names and base != cf else None
    return Results(root, manifest, summary, names, reps, regions, kept, kept_reps, cf, base, comparisons)


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------
def _ok(x) -> bool:
    return isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool) and math.isfinite(x)


_ROUND = {"pp": (100.0, 2), "dcount": (1.0, 0), "dkrw": (1e-9, 2), "share": (100.0, 1), "count": (1.0, 0),
          "krw": (1e-9, 1), "mkrw": (1e-6, 0)}


def _tidy(x: float, kind: str) -> float:
    """``x`` rounded as it will be shown, without a negative zero (no "-0" or "-0.00 pp")."""
    scale, digits = _ROUND.get(kind, (1.0, 0))
    return (round(x * scale, digits) + 0.0) / scale


def _bound(x: float, kind: str) -> str:
    return number(_tidy(x, kind), kind)


def mean_cell(stat: dict | None, kind: str) -> str:
    """``mean ± half-width`` of the 95% CI (``mean`` alone with one replication, ``n/a`` if undefined)."""
    if not stat or not _ok(stat.get("mean")):
        return "n/a"
    text = fmt(stat["mean"], kind)
    hw = stat.get("half_width")
    if _ok(hw) and hw > 0:
        text += f" ± {_bound(hw, kind)}"
    return text


def diff_cell(row: dict | None, kind: str, mark: bool = True) -> str:
    """``+diff [low, high]``; marked ``(n.s.)`` when the Holm-adjusted p-value is at least 0.05."""
    if not row or not _ok(row.get("diff")):
        return "n/a"
    dk = DIFF_KIND.get(kind, kind)
    text = fmt(_tidy(row["diff"], dk), dk)
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if _ok(lo) and _ok(hi) and lo != hi:
        text += f" [{_bound(lo, dk)}, {_bound(hi, dk)}]"
    p = row.get("p_adjusted")
    if mark and _ok(p) and p >= ALPHA:
        text += " (n.s.)"
    return text


def _p(x) -> str:
    if not _ok(x):
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def _pct(x, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if _ok(x) else "n/a"


def _pp(x, digits: int = 1) -> str:
    return f"{100 * x:+.{digits}f} pp" if _ok(x) else "n/a"


# ----------------------------------------------------------------------------------------------
# analysis helpers (pure functions of Results)
# ----------------------------------------------------------------------------------------------
def _comparison(res: Results, sc: str, ref: str, metric: str) -> dict | None:
    for r in res.summary.get("comparisons", []):
        if r.get("scenario") == sc and r.get("reference") == ref and r.get("metric") == metric:
            return r
    return None


def _metric(res: Results, sc: str, metric: str) -> dict | None:
    return ((res.summary.get("scenarios", {}).get(sc) or {}).get("metrics") or {}).get(metric)


def _paired(res: Results, sc: str, ref: str, metric: str) -> np.ndarray:
    a, b = res.reps.get(sc) or {}, res.reps.get(ref) or {}
    if metric not in a or metric not in b:
        return np.empty(0)
    _, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
    return np.asarray(a[metric], float)[ia] - np.asarray(b[metric], float)[ib]


def cost_effectiveness(res: Results, sc: str, ref: str, outcome: str) -> dict:
    """Cost per additional unit of ``outcome`` (Fieller CI on paired per-replication differences)."""
    cost = _paired(res, sc, ref, "programme_cost_krw")
    gain = _paired(res, sc, ref, outcome)
    if cost.size == 0 or gain.size == 0:
        return {"ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan, "defined": False, "n": 0,
                "num_mean": math.nan, "den_mean": math.nan}
    return ratio_ci(cost, gain)


def ratio_cell(r: dict, unit: str) -> tuple[str, str | None]:
    """Text for a cost-effectiveness ratio and, when it is not a plain number, why."""
    n, d = r.get("num_mean"), r.get("den_mean")
    if r.get("n", 0) < 2 or not (_ok(n) and _ok(d)):
        return "n/a", "needs at least two replications of both scenarios"
    if not r.get("defined"):
        return "n/a", (f"the change in {unit}s is not distinguishable from zero, so the cost per additional "
                       f"{unit} has no upper bound")
    lo, hi = r.get("ci_low"), r.get("ci_high")
    ci = f" [{_bound(lo, 'mkrw')}, {_bound(hi, 'mkrw')}]" if _ok(lo) and _ok(hi) else ""
    if d > 0 and n > 0:
        return f"{r['ratio'] / 1e6:,.0f} M{ci}", None
    if d > 0:
        return "dominant", f"more {unit}s for less (or no extra) money: no cost per {unit} to pay"
    if n >= 0:
        return "dominated", f"fewer {unit}s for more (or the same) money"
    return f"saves {r['ratio'] / 1e6:,.0f} M per {unit} lost{ci}", None


def _key(k: Kept, codes: dict[str, int]) -> np.ndarray:
    reg = np.fromiter((codes[r] for r in k.region), dtype=np.int64, count=len(k))
    return k.replication * 10**12 + reg * 10**9 + k.serial


def gap_decomposition(res: Results, sc: str) -> dict | None:
    """Split the published-style gap of ``sc`` into the programme's effect and selection.

    From the kept replications: the supported start-ups' 5-year survival counted from their
    support date; the same start-ups' survival over the same ages in the counterfactual (common
    random numbers make them the same firms with the same luck); and the never-supported
    start-ups of the cohort window. Returns None without a counterfactual or kept tables.
    """
    cf = res.counterfactual
    k, c = res.kept.get(sc), res.kept.get(cf) if cf else None
    if k is None or c is None or sc == cf:
        return None
    names = sorted(set(k.region.tolist()) | set(c.region.tolist()))
    codes = {n: i for i, n in enumerate(names)}
    sup = np.flatnonzero(k.supported)
    out = {"supported": int(sup.size), "matched": 0, "s_sup": math.nan, "s_same_cf": math.nan,
           "s_unsup": math.nan, "naive": math.nan, "effect": math.nan, "selection": math.nan}
    unsup = k.cohort & ~k.supported
    out["s_unsup"] = float(km_at(k.age_end[unsup], k.died[unsup], [60.0])[0])
    if sup.size == 0:
        return out
    _, ik, ic = np.intersect1d(_key(k, codes)[sup], _key(c, codes), return_indices=True)
    m = sup[ik]
    out["matched"] = int(m.size)
    if m.size == 0:
        return out
    since = k.support_age[m]
    out["s_sup"] = float(km_at(k.age_end[m] - since, k.died[m], [60.0])[0])
    out["s_same_cf"] = float(km_at(np.maximum(c.age_end[ic] - since, 0.0), c.died[ic], [60.0])[0])
    out["naive"] = out["s_sup"] - out["s_unsup"]
    out["effect"] = out["s_sup"] - out["s_same_cf"]
    out["selection"] = out["s_same_cf"] - out["s_unsup"]
    return out


def flat_diff(a, b, path: str = "") -> list[tuple[str, str, str]]:
    """Leaves that differ between two resolved scenarios, as (key path, value in a, value in b)."""
    def show(v) -> str:
        if v is None:
            return "null"
        if isinstance(v, dict):
            keys = list(v)
            if not keys:
                return "(none)"
            head = ", ".join(keys[:4]) + (", ..." if len(keys) > 4 else "")
            return f"{len(keys)} entries ({head})"
        if isinstance(v, float) and v.is_integer() and abs(v) >= 1e4:
            return f"{v:,.0f}"
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1e4:
            return f"{v:,}"
        return json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v

    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append((p, "(absent)", show(b[k])))
            elif k not in b:
                out.append((p, show(a[k]), "(absent)"))
            else:
                out += flat_diff(a[k], b[k], p)
        return out
    if a != b:
        return [(path, show(a), show(b))]
    return []


def scenario_diff(res: Results, ref: str, sc: str) -> list[tuple[str, str, str]]:
    """What ``sc`` changes against ``ref`` (descriptions and names left out; disabled centres collapsed)."""
    a, b = dict(res.resolved(ref)), dict(res.resolved(sc))
    for k in ("name", "description", "centre_defaults", "conglomerate_defaults"):
        a.pop(k, None)
        b.pop(k, None)
    rows = flat_diff(a, b)
    off = {p.rsplit(".", 1)[0] for p, _, v in rows if p.startswith("centres.") and p.endswith(".enabled")
           and v == "false"}
    return [r for r in rows if not any(r[0].startswith(o + ".") and not r[0].endswith(".enabled") for o in off)]


# ----------------------------------------------------------------------------------------------
# building the report
# ----------------------------------------------------------------------------------------------
def _label(res: Results, name: str) -> str:
    if name == res.counterfactual:
        return f"{name} (counterfactual)"
    if name == res.baseline:
        return f"{name} (baseline)"
    return name


def build_report(res: Results) -> Report:
    """The whole report content for a results folder."""
    m = res.manifest
    kind = m.get("kind", "run")
    n_reps = {n: (res.summary["scenarios"].get(n) or {}).get("replications", 0) for n in res.scenarios}
    title = "valleysim: policy comparison" if kind == "compare" else f"valleysim: {kind} of {', '.join(res.scenarios)}"
    reps_text = ", ".join(sorted({str(v) for v in n_reps.values()})) or "0"
    subtitle = (f"{len(res.scenarios)} scenario(s), {reps_text} replication(s) each, seed {m.get('seed')}, "
                f"{'common random numbers' if m.get('crn', True) else 'independent random numbers'}; "
                f"results folder {res.root.name}")
    sections = [
        _summary(res),
        _headline(res),
        _differences(res),
        _value_for_money(res),
        _survival(res),
        _valley(res),
        _funnel(res),
        _regions(res),
        _naive_gap(res),
        _precision(res),
        _assumptions(res),
        _provenance(res),
        _all_comparisons(res),
    ]
    return Report(title, subtitle, sections)


def _cohort_text(res: Results) -> str:
    cal = res.resolved(res.scenarios[0]).get("calendar", {}) if res.scenarios else {}
    a, b, h = cal.get("cohort_first_year"), cal.get("cohort_last_year"), cal.get("horizon")
    if a is None:
        return "start-ups of the cohort window"
    return f"technology start-ups founded {a}-{b}, followed to {h}"


def _summary(res: Results) -> Section:
    s = Section("summary", "Summary")
    cf, base = res.counterfactual, res.baseline
    s.add(Paragraph(
        f"This report compares {len(res.scenarios)} scenario(s). Survival figures are for "
        f"{_cohort_text(res)}, by firm age; money is in billions (bn) or millions (M) of Korean won. "
        "Every number is an average over replications (independent runs of the simulated economy); "
        "'± x' and '[low, high]' give 95% confidence intervals. "
        + ("Replication r of every scenario sees the same start-ups with the same luck (common random "
           "numbers), so the differences between scenarios are measured far more precisely than the levels."
           if res.manifest.get("crn", True) else "Scenarios used independent random numbers.")))
    if cf is None:
        s.add(Paragraph("This experiment has no counterfactual (a world without the programme), so it shows levels "
                        "only, not effects. To measure effects, run: python run_sim.py compare FILE (it adds the "
                        "no-programme counterfactual and the announced programme as the baseline)."))
        return s
    variants = [n for n in res.scenarios if n != cf]
    if base:
        d = _comparison(res, base, cf, "survival_5y")
        sv = _comparison(res, base, cf, "survivors_5y")
        jb = _comparison(res, base, cf, "jobs_end")
        cost = _metric(res, base, "programme_cost_krw")
        per, why = ratio_cell(cost_effectiveness(res, base, cf, "survivors_5y"), "survivor")
        s.add(Paragraph(
            f"The baseline ({base}) changes 5-year survival by {diff_cell(d, 'share', False)} against no programme "
            f"({cf}): {diff_cell(sv, 'count', False)} start-ups alive five years after founding and "
            f"{diff_cell(jb, 'count', False)} jobs at the horizon, for a programme cost of "
            f"{fmt(cost.get('mean') if cost else None, 'krw')} KRW; cost per additional 5-year survivor: {per} KRW"
            + (f" ({why})." if why else ".")))
    items = []
    for n in variants:
        if n == base:
            continue
        d = _comparison(res, n, cf, "survival_5y")
        text = f"{n}: 5-year survival {diff_cell(d, 'share', False)} against no programme"
        if base:
            db = _comparison(res, n, base, "survival_5y")
            dc = _comparison(res, n, base, "programme_cost_krw")
            text += (f"; {diff_cell(db, 'share', False)} against the baseline, at "
                     f"{diff_cell(dc, 'krw', False)} KRW of programme cost against the baseline")
        items.append(text + ".")
    if items:
        s.add(Paragraph("Each variant (differences with 95% confidence intervals):"))
        s.add(Bullets(items))
    rows = [(n, _comparison(res, n, cf, "survival_5y")) for n in variants]
    rows = [(n, r) for n, r in rows if r]
    if rows:
        s.add(Figure("effects", "Change in 5-year survival against the counterfactual, with 95% confidence "
                     "intervals (percentage points). A point right of the dashed line means more start-ups alive "
                     "five years after founding.",
                     "Forest plot of each scenario's change in 5-year survival against no programme",
                     plots.forest([_label(res, n) for n, _ in rows], [r.get("diff") for _, r in rows],
                                  [r.get("ci_low") if r.get("ci_low") is not None else math.nan for _, r in rows],
                                  [r.get("ci_high") if r.get("ci_high") is not None else math.nan for _, r in rows],
                                  title=f"5-year survival: each scenario minus {cf}",
                                  xlabel="percentage points")))
    return s


def _headline(res: Results) -> Section:
    s = Section("headline", "Headline results per scenario")
    header = ["scenario", "reps"] + [label for _, label, _ in HEADLINE]
    rows, na = [], []
    for n in res.scenarios:
        sm = res.summary["scenarios"].get(n) or {}
        met = sm.get("metrics") or {}
        cells = [mean_cell(met.get(k), kind) for k, _, kind in HEADLINE]
        why = sm.get("undefined") or {}
        na += [f"n/a for {n}, {label}: {why.get(k, 'undefined in every replication')}."
               for (k, label, _), c in zip(HEADLINE, cells, strict=True) if c == "n/a"]
        rows.append([_label(res, n), str(sm.get("replications", 0))] + cells)
    notes = ["S(t): share of start-ups founded in the cohort window still alive t years after founding "
             "(Kaplan-Meier; an acquisition is not a death). Counts, money and jobs cover the whole run; "
             "money in KRW billions. Programme cost = centre operating and founder-education costs + grants "
             "+ conglomerate investment and acquisition payments.",
             "± gives the 95% confidence interval (mean ± half-width) over replications; a value without ± "
             "comes from a single replication or did not vary."]
    notes += na
    s.add(Table("headline", "Means over replications with 95% confidence intervals", header, rows, notes))
    return s


def _diff_table(res: Results, ref: str, tid: str) -> Table | None:
    names = [n for n in res.scenarios if n != ref and _comparison(res, n, ref, "survival_5y") is not None]
    if not names:
        return None
    header = ["scenario"] + [label for _, label, _ in HEADLINE]
    rows = [[n] + [diff_cell(_comparison(res, n, ref, k), kind) for k, _, kind in HEADLINE] for n in names]
    notes = [f"Each cell: scenario minus {ref}, averaged over paired replications, with the 95% confidence "
             "interval in brackets. Survival in percentage points (pp), money in KRW billions.",
             "(n.s.): not significant at 5% after Holm's adjustment for the number of comparisons made "
             "(the appendix lists every p-value)."]
    if any("n/a" in c for r in rows for c in r):
        notes.append("n/a: the difference is undefined (the metric is undefined in one of the scenarios).")
    return Table(tid, f"Differences against {ref}", header, rows, notes)


def _differences(res: Results) -> Section:
    s = Section("differences", "Differences: what each scenario changes")
    if res.counterfactual is None:
        s.add(Paragraph("n/a: this experiment has no counterfactual, so there are no differences to show. "
                        "Run python run_sim.py compare to compare scenarios."))
        return s
    s.add(Paragraph(f"Against the counterfactual ({res.counterfactual}), the differences are the effects of the "
                    "programme as each scenario runs it. "
                    + (f"Against the baseline ({res.baseline}), they show what a variant gains or loses compared "
                       "with the programme as announced." if res.baseline else "")))
    for ref, tid in ((res.counterfactual, "diff_counterfactual"), (res.baseline, "diff_baseline")):
        if ref:
            t = _diff_table(res, ref, tid)
            if t is not None:
                s.add(t)
    return s


def _all_comparisons(res: Results) -> Section:
    s = Section("appendix", "Appendix: every comparison with its p-values", collapsed=True)
    rows = []
    label = {k: lab for k, lab, _ in HEADLINE}
    kinds = {k: kind for k, _, kind in HEADLINE}
    for r in res.summary.get("comparisons", []):
        k = r.get("metric")
        if k not in label:
            continue
        rows.append([r["scenario"], r["reference"], label[k], diff_cell(r, kinds[k], mark=False),
                     _p(r.get("p_value")), _p(r.get("p_adjusted")), str(r.get("n", ""))])
    if rows:
        s.add(Table("comparisons", "All comparisons with p-values",
                    ["scenario", "reference", "metric", "difference [95% CI]", "p", "Holm-adjusted p", "pairs"],
                    rows, ["p: paired t-test over replications of 'no difference'. Holm-adjusted p corrects for "
                           "testing many scenarios at once (per metric, across all comparisons); below 0.05 "
                           "the difference is unlikely to be chance.",
                           "n/a: the test is undefined (fewer than two paired replications)."]))
    else:
        s.add(Paragraph("No comparison in this experiment."))
    return s


def _value_for_money(res: Results) -> Section:
    s = Section("value", "Value for money")
    if res.counterfactual is None:
        s.add(Paragraph("n/a: costs per additional survivor need a counterfactual; run python run_sim.py compare."))
        return s
    rows, why = [], {}
    for sc, ref in res.comparisons:
        if sc not in res.reps or ref not in res.reps:
            continue
        cells = [sc, ref, diff_cell(_comparison(res, sc, ref, "programme_cost_krw"), "krw", False),
                 diff_cell(_comparison(res, sc, ref, "survivors_5y"), "count", False)]
        for outcome, unit in (("survivors_5y", "survivor"), ("jobs_end", "job")):
            text, reason = ratio_cell(cost_effectiveness(res, sc, ref, outcome), unit)
            if reason:
                why.setdefault(reason, f"({'abcdefghijklmnopqrstuvwxyz'[len(why) % 26]})")
                text = f"{text} {why[reason]}"
            cells.append(text)
            if outcome == "survivors_5y":
                cells.append(diff_cell(_comparison(res, sc, ref, "jobs_end"), "count", False))
        rows.append(cells)
    notes = ["Extra cost: programme cost (operating, founder education, grants, conglomerate money) of the "
             "scenario minus the reference's. The ratio is the mean extra cost over the mean extra outcome, "
             "with a Fieller 95% confidence interval from the paired replications (in millions of KRW).",
             "Costs run over the whole horizon while 5-year survivors are counted for the cohort window's "
             "founders only, so cost per 5-year survivor overstates the cost of a survivor; cost per job "
             "uses all jobs at the horizon."]
    notes += [f"{mark} {reason}." for reason, mark in why.items()]
    if rows:
        s.add(Table("value", "Cost per additional 5-year survivor and per additional job",
                    ["scenario", "reference", "extra cost (bn KRW)", "extra 5-year survivors",
                     "cost per extra survivor (M KRW)", "extra jobs", "cost per extra job (M KRW)"], rows, notes))
    return s


def _colour_map(res: Results) -> dict[str, tuple]:
    cols = plots.colours(len(res.scenarios))
    out = dict(zip(res.scenarios, cols, strict=True))
    if res.counterfactual:
        out[res.counterfactual] = plots.CF_COLOUR
    return out


def _kept_note(res: Results) -> str:
    if not res.kept_replications:
        return ""
    reps = ", ".join(str(r) for r in res.kept_replications)
    return f"From the start-up tables of replication(s) {reps} (the ones kept; --startups all keeps more)."


def _survival(res: Results) -> Section:
    s = Section("survival", "Survival curves")
    if not res.kept:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none), so no survival curve can be drawn. "
                        "The headline table still has S(1y), S(3y) and S(5y) from every replication."))
        return s
    grid = np.arange(0, 8 * 12 + 1, dtype=float)
    colour = _colour_map(res)
    curves = {}
    for n, k in res.kept.items():
        sel = k.cohort
        curves[n] = km_curve(k.age_end[sel], k.died[sel], grid)
    cf = res.counterfactual
    panels = []
    for n in res.scenarios:
        if n not in curves or (n == cf and len(curves) > 1):
            continue
        cs = []
        if cf in curves and n != cf:
            cs.append(dict(label=cf, x=grid / 12, s=curves[cf][0], lo=curves[cf][1], hi=curves[cf][2],
                           colour=plots.CF_COLOUR))
        cs.append(dict(label=n, x=grid / 12, s=curves[n][0], lo=curves[n][1], hi=curves[n][2],
                       colour=colour[n] if n != cf else plots.CF_COLOUR))
        panels.append({"title": _label(res, n), "curves": cs})
    s.add(Paragraph("Share of start-ups still alive by firm age (Kaplan-Meier, with 95% confidence bands), each "
                    "scenario beside the counterfactual. Dotted lines mark 1, 3 and 5 years. "
                    + _kept_note(res)))
    s.add(Figure("survival", "Kaplan-Meier survival by firm age with 95% confidence bands (Greenwood, log-log)",
                 "Survival curves by firm age for each scenario against the counterfactual", plots.km_panels(panels)))
    if cf in curves and len(curves) > 1:
        diffs = [{"label": n, "x": grid / 12, "d": curves[n][0] - curves[cf][0], "colour": colour[n]}
                 for n in res.scenarios if n in curves and n != cf]
        s.add(Figure("survival_diff", f"Survival of each scenario minus {cf}, by firm age (percentage points, "
                     "kept replications; the survival curves above differ by too little to see)",
                     "Line plot of survival differences against the counterfactual by firm age",
                     plots.curve_differences(diffs, title=f"Survival by age: each scenario minus {cf}")))
    rows = []
    for n in res.scenarios:
        if n in curves:
            c = curves[n][0]
            rows.append([_label(res, n)] + [_pct(c[12 * y]) for y in (1, 2, 3, 4, 5, 6, 7, 8)])
    s.add(Table("km", "Kaplan-Meier survival at each year of age (kept replications)",
                ["scenario"] + [f"{y} y" for y in range(1, 9)], rows,
                ["n/a: no start-up of the cohort window was observed to that age before the horizon."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


def _valley(res: Results) -> Section:
    s = Section("valley", "The death valley")
    if not res.kept:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none)."))
        return s
    edges = np.arange(0, 8 * 12 + 1, 6, dtype=float)
    colour = _colour_map(res)
    series, rows = [], []
    for n in res.scenarios:
        k = res.kept.get(n)
        if k is None:
            continue
        sel = k.cohort
        rate = hazard_by_age(k.age_end[sel], k.died[sel], edges) * 12.0
        series.append({"label": n, "edges": edges / 12, "rate": rate, "colour": colour[n],
                       "bold": n in (res.counterfactual, res.baseline)})
        yearly = hazard_by_age(k.age_end[sel], k.died[sel], np.arange(0, 8 * 12 + 1, 12, dtype=float)) * 12.0
        rows.append([_label(res, n)] + [f"{100 * v:.1f}" if _ok(v) else "n/a" for v in yearly])
    s.add(Paragraph("How often start-ups die at each age: deaths per 100 firm-years at risk, in half-year bands. "
                    "The hump in the first years is the death valley: cash runs out before the product earns. "
                    "Support that works lowers the hump; support that only picks winners does not move it for "
                    "the population. " + _kept_note(res)))
    s.add(Figure("valley", "Death rate by firm age (deaths per 100 firm-years at risk, half-year bands); the "
                 "counterfactual and the baseline in bold",
                 "Step plot of death rates by firm age for each scenario", plots.hazard(series)))
    s.add(Table("hazard", "Deaths per 100 firm-years at risk, by year of age",
                ["scenario"] + [f"{y}-{y + 1} y" for y in range(8)], rows,
                ["n/a: no firm-months at risk at that age in the kept replications."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


FUNNEL = (("founded", "founded"), ("selected", "selected by a centre"), ("granted", "received a grant"),
          ("funded", "raised follow-on money"), ("crossed", "crossed the valley"), ("acquired", "acquired"),
          ("alive", "alive at the horizon"))


def _funnel_counts(res: Results, k: Kept) -> dict[str, float]:
    reps = max(len(np.unique(k.replication)), 1)
    alive = ~(k.died | k.acquired)
    return {"founded": len(k) / reps, "selected": k.supported.sum() / reps, "granted": k.granted.sum() / reps,
            "funded": k.funded.sum() / reps, "crossed": k.crossed.sum() / reps, "acquired": k.acquired.sum() / reps,
            "alive": alive.sum() / reps}


def _funnel(res: Results) -> Section:
    s = Section("funnel", "From founding to exit: the funnel")
    if not res.kept:
        s.add(Paragraph("n/a: no start-up table was kept (--startups none)."))
        return s
    counts = {n: _funnel_counts(res, k) for n, k in res.kept.items()}
    rows = []
    for n in res.scenarios:
        if n in counts:
            c = counts[n]
            rows.append([_label(res, n)] + [f"{c[key]:,.0f}" for key, _ in FUNNEL]
                        + [_pct(c["crossed"] / c["founded"]) if c["founded"] else "n/a"])
    s.add(Paragraph("All start-ups founded over the whole run, per replication: how many were selected by a centre, "
                    "got a grant, raised follow-on money (market or conglomerate), crossed the valley (break-even "
                    "or scale-up), were acquired, and were still alive at the horizon. The steps are not nested: "
                    "a firm can be acquired without crossing. " + _kept_note(res)))
    s.add(Table("funnel", "Start-ups reaching each step (mean per kept replication)",
                ["scenario"] + [label for _, label in FUNNEL] + ["crossed / founded"], rows))
    shown = [n for n in (res.counterfactual, res.baseline) if n in counts] or list(counts)[:2]
    s.add(Figure("funnel", "The funnel for " + " and ".join(shown), "Grouped bar chart of start-ups at each step",
                 plots.funnel([label for _, label in FUNNEL],
                              [(n, [counts[n][key] for key, _ in FUNNEL]) for n in shown])))
    return s


def _regions(res: Results) -> Section:
    rg = res.regions
    n_regions = len(set(np.asarray(rg["region"], dtype=object).tolist())) if rg and "region" in rg else 0
    s = Section("regions", f"The {n_regions or 17} regions side by side")
    if not rg or "region" not in rg:
        s.add(Paragraph("n/a: no regional results in this folder (regions.parquet is missing)."))
        return s
    names = np.asarray(rg["scenario"], dtype=object)
    regs = np.asarray(rg["region"], dtype=object)
    region_order = list(dict.fromkeys(regs.tolist()))
    first = res.scenarios[0] if res.scenarios else None
    order = list((res.resolved(first).get("regions") or {}).keys()) if first else []
    region_order = [r for r in order if r in region_order] + [r for r in region_order if r not in order]

    def series(sc, region, metric):
        mask = (names == sc) & (regs == region)
        reps = np.asarray(rg["replication"])[mask]
        o = np.argsort(reps)
        return reps[o], np.asarray(rg[metric], float)[mask][o]

    cf = res.counterfactual
    others = [n for n in res.scenarios if n != cf]
    level_ref = cf or first
    header = ["region", f"start-ups/yr* ({level_ref})", f"S(5y) {level_ref}"]
    rows, mat = [], []
    cal = res.resolved(level_ref).get("calendar", {}) if level_ref else {}
    years = max(1, (cal.get("cohort_last_year", 0) - cal.get("cohort_first_year", 0) + 1))
    for region in region_order:
        _, st = series(level_ref, region, "startups")
        _, s5 = series(level_ref, region, "survival_5y")
        row = [region, f"{np.nanmean(st) / years:,.0f}" if st.size else "n/a",
               _pct(float(np.nanmean(s5))) if np.isfinite(s5).any() else "n/a"]
        line = []
        for n in (others if cf else res.scenarios[1:]):
            ra, a = series(n, region, "survival_5y")
            if cf:
                rb, b = series(cf, region, "survival_5y")
                _, ia, ib = np.intersect1d(ra, rb, return_indices=True)
                d = a[ia] - b[ib]
                v = summarize(d)["mean"] if d.size else math.nan
                row.append(_pp(v, 2))
            else:
                v = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
                row.append(_pct(v))
            line.append(v)
        rows.append(row)
        mat.append(line)
    cols = others if cf else res.scenarios[1:]
    header += [(f"{n}: S(5y) change" if cf else f"{n}: S(5y)") for n in cols]
    notes = ["* start-ups per year founded in the cohort window. S(5y): 5-year survival (Kaplan-Meier) of the "
             "region's start-ups founded in the cohort window, mean over replications."]
    if cf:
        notes.append(f"Changes: paired difference against {cf} in percentage points, mean over replications. "
                     "Regional numbers are small, so single regions carry wide uncertainty.")
    if any("n/a" in c for r in rows for c in r):
        notes.append("n/a: no start-up of that region in the cohort window (or none observed for 5 years).")
    s.add(Table("regions", "5-year survival by region", header, rows, notes))
    if cols and cf:
        s.add(Figure("regions", f"Change in 5-year survival by region against {cf} (percentage points; blue = more "
                     "start-ups survive)", "Heat map of regions by scenarios",
                     plots.heatmap(region_order, cols, np.asarray(mat, float) * 100,
                                   title="5-year survival by region: change against the counterfactual",
                                   unit="percentage points", fmt="{:+.1f}")))
    # supported start-ups per region
    srows = []
    for region in region_order:
        row = [region]
        for n in res.scenarios:
            _, v = series(n, region, "supported")
            row.append(f"{np.nanmean(v):,.0f}" if v.size else "n/a")
        srows.append(row)
    s.add(Table("regions_supported", "Start-ups supported by region (whole run, mean over replications)",
                ["region"] + list(res.scenarios), srows))
    return s


def _naive_gap(res: Results) -> Section:
    s = Section("gap", "Supported versus other start-ups: selection or effect?")
    cf = res.counterfactual
    rows, plot_rows = [], []
    notes = []
    for n in res.scenarios:
        if n == cf:
            continue
        ng = _metric(res, n, "naive_gap_5y")
        pop = _comparison(res, n, cf, "survival_5y") if cf else None
        dec = gap_decomposition(res, n)
        sup = _metric(res, n, "supported")
        if not sup or not _ok(sup.get("mean")) or sup["mean"] == 0:
            rows.append([n, "n/a", "n/a", "n/a", "n/a", "n/a", diff_cell(pop, "share", False)])
            notes.append(f"{n}: no start-up was supported, so there is no supported-vs-other gap.")
            continue
        if _gap_cell(ng) == "n/a":
            reason = ((res.summary["scenarios"].get(n) or {}).get("undefined") or {}).get("naive_gap_5y")
            notes.append(f"{n}: the published-style gap is n/a: {reason or 'undefined in every replication'}.")
        rows.append([n, _gap_cell(ng),
                     _pct(dec["s_sup"]) if dec else "n/a", _pct(dec["s_same_cf"]) if dec else "n/a",
                     _pp(dec["effect"]) if dec else "n/a", _pp(dec["selection"]) if dec else "n/a",
                     diff_cell(pop, "share", False)])
        if dec:
            plot_rows.append((n, dec["effect"], dec["selection"], pop.get("diff") if pop else math.nan))
    s.add(Paragraph(_gap_words(res)))
    notes = ["Published-style gap: 5-year survival of supported start-ups counted from their support date, minus "
             "that of start-ups never supported (metric naive_gap_5y; mean ± 95% CI over replications).",
             "The next three columns come from the kept replication(s): the supported firms' survival, the same "
             "firms' survival in the counterfactual (the simulation can run the same firms without the "
             "programme), and their difference, the programme's effect on the firms it supported. "
             "Selection and head start = the rest of the gap."] + notes
    if cf is None:
        notes.append("n/a in the effect columns: this experiment has no counterfactual to compare with.")
    elif not res.kept:
        notes.append("n/a in the effect columns: no start-up tables were kept (--startups none).")
    s.add(Table("gap", "The published-style gap beside the causal effect",
                ["scenario", "published-style gap (pp)", "supported: S(5y) from support",
                 "same firms without programme", "effect on the supported", "selection and head start",
                 "causal effect on all start-ups [95% CI]"], rows, notes))
    if plot_rows:
        s.add(Figure("gap", "The published-style gap split into the programme's effect on the supported firms "
                     "(green) and selection (grey), beside the effect on all start-ups (blue)",
                     "Bar chart splitting the supported-vs-other survival gap",
                     plots.gap([r[0] for r in plot_rows], [r[1] for r in plot_rows], [r[2] for r in plot_rows],
                               [r[3] for r in plot_rows])))
    return s


def _gap_cell(stat: dict | None) -> str:
    if not stat or not _ok(stat.get("mean")):
        return "n/a"
    hw = stat.get("half_width")
    return f"{100 * stat['mean']:+.1f}" + (f" ± {100 * hw:.1f}" if _ok(hw) and hw > 0 else "") + " pp"


def _gap_words(res: Results) -> str:
    cf = res.counterfactual
    who = res.baseline or next((n for n in res.scenarios if n != cf), None)
    dec = gap_decomposition(res, who) if who else None
    if dec is None or not _ok(dec.get("s_sup")) or not _ok(dec.get("s_same_cf")):
        return ("Programmes often publish that supported start-ups survive far more often than others. That gap "
                "mixes two things: the programme's own effect, and the fact that centres select promising firms "
                "(which would have done better anyway) and count survival from the selection date (so the "
                "riskiest first months are skipped). Separating them needs a counterfactual and kept start-up "
                "tables; this experiment has "
                + ("no counterfactual." if cf is None else "no kept start-up table."))
    pop = _comparison(res, who, cf, "survival_5y")
    pop_text = diff_cell(pop, "share", False)
    return (f"Read this before quoting survival rates of supported start-ups. In {who}, start-ups selected by a "
            f"centre were still alive five years after selection in {_pct(dec['s_sup'], 0)} of cases, against "
            f"{_pct(dec['s_unsup'], 0)} for start-ups never selected: a gap of {abs(100 * dec['naive']):.0f} "
            f"percentage points, the kind of figure published for the programme. It does not measure what the "
            f"programme did. The simulation can follow the very same start-ups with the same luck in a world "
            f"without the programme: there, they would have survived in {_pct(dec['s_same_cf'], 0)} of cases. "
            f"So the programme itself changed these firms' 5-year survival by {_pp(dec['effect'])}; the other "
            f"{_pp(dec['selection'])} of the gap is there because centres pick firms that were already more "
            f"promising, and because a firm has to be alive to be selected, so counting from the selection date "
            f"skips the riskiest first months. Spread over all start-ups, most of which are never selected, "
            f"5-year survival changes by {pop_text}. Plan with the effect, not with the gap.")


def precision_target(diff: float) -> float:
    """The half-width a survival difference should have: a tenth of it, or 0.1 point under 1 point."""
    return 0.1 * abs(diff) if abs(diff) >= 0.01 else 0.001


def precision_check(summary: dict, comparisons, metric: str = "survival_5y") -> list[dict]:
    """Each comparison's difference, 95% CI half-width, target and whether it is met (None: undefined)."""
    rows = []
    for sc, ref in comparisons:
        r = next((c for c in summary.get("comparisons", []) if c.get("scenario") == sc
                  and c.get("reference") == ref and c.get("metric") == metric), None)
        if r is None:
            continue
        d, hw = r.get("diff"), r.get("half_width")
        ok = _ok(d) and _ok(hw)
        target = precision_target(d) if ok else math.nan
        rows.append({"scenario": sc, "reference": ref, "diff": d, "half_width": hw, "target": target,
                     "met": (hw <= target) if ok else None})
    return rows


def _precision(res: Results) -> Section:
    s = Section("precision", "Precision")
    rows = []
    for c in precision_check(res.summary, res.comparisons):
        if c["met"] is None:
            rows.append([c["scenario"], c["reference"], _pp(c["diff"], 2), "n/a", "n/a", "n/a"])
            continue
        rows.append([c["scenario"], c["reference"], _pp(c["diff"], 2), f"{100 * c['half_width']:.3f} pp",
                     f"{100 * c['target']:.3f} pp", "yes" if c["met"] else "no"])
    if not rows:
        s.add(Paragraph("No comparison in this experiment. Per-scenario half-widths are in the headline table."))
        return s
    s.add(Paragraph("How precisely each difference in 5-year survival is known: the half-width of its 95% "
                    "confidence interval against the target of a tenth of the difference (or 0.1 percentage "
                    "point when the difference is under 1 point). Where a target is missed, rerun with more "
                    "replications (-n) or with --precision."))
    s.add(Table("precision", "95% CI half-widths of 5-year survival differences",
                ["scenario", "reference", "difference", "half-width", "target", "met"], rows,
                ["n/a: fewer than two paired replications, so no interval."]
                if any("n/a" in c for r in rows for c in r) else []))
    return s


def _assumptions(res: Results) -> Section:
    s = Section("assumptions", "Assumptions: what each scenario changes")
    questions = (res.manifest.get("extra") or {}).get("questions") or {}
    ref = res.baseline or res.counterfactual
    s.add(Paragraph("Each scenario's policy question (the comment its file opens with) and every resolved "
                    "parameter in which it differs from "
                    + (f"the baseline ({ref})" if ref else "the other scenarios")
                    + ". Values marked 'assumption' in the files are modelling choices, not published figures; "
                    "sources are cited in the scenario files."))
    for n in res.scenarios:
        src = (res.manifest.get("scenarios", {}).get(n) or {}).get("file")
        q = questions.get(n) or _file_comment(src)
        s.add(Paragraph(f"{n}" + (f" (file {src})" if src else "") + (f": {_oneline(q)}" if q else "")))
        if ref is None or n == ref:
            if n == ref:
                s.add(Paragraph("This is the reference the others are compared with."))
            continue
        diff = scenario_diff(res, ref, n)
        limit = 60
        rows = [[p, a, b] for p, a, b in diff[:limit]]
        notes = [f"... and {len(diff) - limit} more differences (python run_sim.py show FILE prints the whole "
                 "resolved scenario)."] if len(diff) > limit else []
        if not rows:
            rows = [["(no parameter differs)", "", ""]]
        s.add(Table(f"diff_{n}", f"{n} against {ref}", ["parameter", ref, n], rows, notes))
    return s


def _file_comment(src) -> str:
    if not src:
        return ""
    try:
        lines = Path(src).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, TypeError):
        return ""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line[1:].strip())
    return "\n".join(out)


def _oneline(text: str) -> str:
    return " ".join(t for t in text.split())


def _provenance(res: Results) -> Section:
    s = Section("provenance", "Provenance")
    m = res.manifest
    rows = [["kind", str(m.get("kind"))], ["status", str(m.get("status"))], ["seed", str(m.get("seed"))],
            ["replications", str(m.get("replications"))], ["common random numbers", str(m.get("crn", True))],
            ["start-up tables kept", str(m.get("keep_startups"))],
            ["precision target", str(m.get("precision")) if m.get("precision") is not None else "none"],
            ["counterfactual", str(res.counterfactual)], ["baseline", str(res.baseline)],
            ["started", str(m.get("started"))], ["ended", str(m.get("ended"))],
            ["run time (s)", str(m.get("seconds"))], ["failed tasks", str(m.get("failures", 0))],
            ["git commit", str(m.get("git_commit"))], ["command", str(m.get("command"))]]
    rows += [[f"version: {k}", str(v)] for k, v in (m.get("versions") or {}).items()]
    s.add(Table("provenance", "How these results were made", ["item", "value"], rows,
                ["Rerun with the same command, seed and scenario hashes to get the same numbers, whatever the "
                 "number of workers."]))
    srows = [[n, str(v.get("file")), str(v.get("hash"))] for n, v in (m.get("scenarios") or {}).items()]
    s.add(Table("scenario_hashes", "Scenarios (resolved parameters are in manifest.json)",
                ["scenario", "file", "hash"], srows))
    if m.get("status") not in (None, "complete"):
        s.add(Paragraph(f"Warning: this experiment's status is '{m.get('status')}'; the report shows what was "
                        "finished."))
    return s
