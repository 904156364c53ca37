"""What a run's or comparison's report says, computed from its results folder and nothing else.

:func:`findings` reads a folder (:class:`~sim.analysis.folder.Results`) and computes every number
the report's pages show: public cost per additional survivor with its Fieller interval, the
published-style gap split into effect and selection, Kaplan-Meier curves and death rates by age,
the funnel, the regions, what each scenario changes, the spread over the posterior's parameter
sets, a discovery's box. :mod:`sim.report.compare` only lays these out. Nothing here reads today's
scenario files: whatever the report needs the study recorded when it ran, so ``report DIR`` gives
the same pages whatever the state of ``scenarios/``.

A new report section computes its numbers in a function here, stored in one new field of
:class:`Findings`, and renders them in :mod:`sim.report`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..background import parallel_map
from ..metadata import PRACTICAL_PP, CompareInfo, discover_info
from . import money, yearly
from .effects import (
    gap_by_replication,
    gap_decomposition,
    twin_curves,
    twin_index,
    twin_match,
)
from .folder import Kept, Results, probes_by_scenario
from .stats import ratio_ci, summarize
from .summary import cost_per_survivor_by_draw, precision_check, spread_interval
from .survival import hazard_by_age, km_curve

YEARS = (1, 2, 3, 4, 5)
RATIO_OUTCOMES = ("survivors_5y", "cohort_jobs_end", "jobs_end")
"""The outcomes the report gives a public cost per additional unit of."""
SURVIVAL_GRID = np.arange(0, 8 * 12 + 1, dtype=float)
"""Months of firm age at which the survival curves are drawn (eight years)."""
HALF_YEARS = np.arange(0, 8 * 12 + 1, 6, dtype=float)
WHOLE_YEARS = np.arange(0, 8 * 12 + 1, 12, dtype=float)
SINCE_SUPPORT = np.arange(0, 5 * 12 + 1, dtype=float)
"""Months since support at which the supported firms' and their twins' curves are drawn (five
years, the horizon of the published survival rates)."""


@dataclass
class Findings:
    """Everything a run's or comparison's report shows, computed (see the module docstring)."""

    results: Results
    practical: float
    """The least difference in a survival share the planner would act on (a fraction: 0.002 = 0.2
    pp)."""
    ratios: dict = field(default_factory=dict)
    """(scenario, reference, outcome) -> public cost per additional unit of the outcome
    (:func:`ratio`)."""
    gaps: dict = field(default_factory=dict)
    """Scenario -> its published-style gap split into effect and selection (:func:`gap`), or
    None."""
    precision: list = field(default_factory=list)
    """Each comparison's survival difference with its half-width, target and whether it is met."""
    changes: dict = field(default_factory=dict)
    """Scenario -> (key path, reference's value, its value) for each resolved value it changes."""
    curves: dict = field(default_factory=dict)
    """Scenario -> Kaplan-Meier (survival, low, high) on :data:`SURVIVAL_GRID` (kept
    replications)."""
    survival_diffs: dict = field(default_factory=dict)
    """Scenario -> survival at 1..5 years minus the counterfactual's, paired over every
    replication."""
    hazards: dict = field(default_factory=dict)
    """Scenario -> yearly death rates by half-year and by year of age (kept replications)."""
    valley: dict | None = None
    """The shape of the death rate and the causes of death in the valley, for one scenario."""
    funnel: dict = field(default_factory=dict)
    """Scenario -> start-ups reaching each step of the funnel, per kept replication."""
    regions: dict | None = None
    """The regions side by side (levels, changes against the counterfactual, supported firms)."""
    applied: dict = field(default_factory=dict)
    """Scenario -> the posterior keys its draws changed (a comparison over the posterior), as
    recorded when it was planned (the manifest's ``draws.targets``)."""
    cost_spread: dict | None = None
    """The headline scenario's public cost per additional survivor over the posterior draws
    (:func:`cost_spread`)."""
    discovery: dict | None = None
    """discover.json, when ``discover`` ran on the folder."""
    twins: dict = field(default_factory=dict)
    """Scenario -> its supported firms' survival from support beside their twins' without the
    programme (:func:`sim.analysis.effects.twin_curves` on :data:`SINCE_SUPPORT`), when the
    comparison kept its twins."""
    decision: dict | None = None
    """The choice among the comparison's options (:func:`sim.analysis.choice.decision_view`): the
    frontier, acceptability, the value of information, at the planner's willingness to pay; None
    without a counterfactual."""
    decision_why_not: str | None = None
    """Why there is no decision (None when there is one, or no counterfactual)."""
    money: dict = field(default_factory=dict)
    """Money in and who pays (:mod:`sim.analysis.money`): ``inputs`` (money raised, not a benefit),
    ``public_cost`` (by item, with each item's source), ``never_supported`` (displacement or
    spillover) and ``creation`` (founder education's start-ups apart from survival)."""
    ledger: dict | None = None
    """The yearly ledger against the published record, and as announced against as run
    (:func:`sim.analysis.yearly.ledger`); None without years.parquet."""
    timelines: dict = field(default_factory=dict)
    """Each scenario's dated changes (:func:`sim.analysis.yearly.timelines`)."""
    extrapolation: dict | None = None
    """What the calendar extrapolates past the data (:func:`sim.analysis.yearly.extrapolation`)."""

    # -- what the folder says ---------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The results folder."""
        return self.results.root

    @property
    def manifest(self) -> dict:
        """manifest.json."""
        return self.results.manifest

    @property
    def summary(self) -> dict:
        """summary.json."""
        return self.results.summary

    @property
    def scenarios(self) -> list[str]:
        """The scenarios, in the experiment's order."""
        return self.results.names

    @property
    def counterfactual(self) -> str | None:
        """The world without the programme (None if the experiment has none)."""
        return self.results.counterfactual

    @property
    def baseline(self) -> str | None:
        """The programme as announced (None if the experiment has none)."""
        return self.results.baseline

    @property
    def comparisons(self) -> list[tuple[str, str]]:
        """The (scenario, reference) pairs compared."""
        return self.results.comparisons

    @property
    def info(self) -> CompareInfo | None:
        """What the comparison recorded about itself (None for a run)."""
        info = self.results.info
        return info if isinstance(info, CompareInfo) else None

    @property
    def prior_only(self) -> dict:
        """The posterior's parameters no published figure bears on (an extrapolation past the data),
        each with its prior's ``low`` and ``high``, as the comparison recorded them ({} if none)."""
        return self.results.prior_only

    @property
    def reps(self) -> dict:
        """replications.parquet by scenario."""
        return self.results.reps

    @property
    def kept(self) -> list[str]:
        """The scenarios with a kept start-up table."""
        return list(self.results.kept)

    @property
    def kept_replications(self) -> list[int]:
        """The replications whose start-up tables were read."""
        return self.results.kept_replications

    @property
    def probes(self) -> bool:
        """Whether every replication's twins were kept (probes.parquet)."""
        return self.results.probes is not None

    @property
    def draws(self) -> dict | None:
        """The experiment's posterior draws (manifest), or None for a fixed-parameter run."""
        return self.manifest.get("draws") or None

    def applied_in(self, names) -> list[str]:
        """The posterior keys the draws changed in any of the scenarios ``names``, in the
        posterior's order (none without draws)."""
        hit = {key for n in names for key in self.applied.get(n, ())}
        return [key for key in (self.draws or {}).get("keys", ()) if key in hit]

    def resolved(self, name: str) -> dict:
        """Scenario ``name``'s resolved values, as it ran."""
        return self.results.resolved(name)

    def question(self, name: str) -> str:
        """The policy question scenario ``name``'s file opened with when it ran."""
        return self.results.question(name)

    def label(self, name: str) -> str:
        """The scenario's name, marked when it is the counterfactual or the baseline."""
        if name == self.counterfactual:
            return f"{name} (counterfactual)"
        if name == self.baseline:
            return f"{name} (baseline)"
        return name

    def comparison(self, sc: str, ref: str, metric: str) -> dict | None:
        """The summary's comparison row of ``sc`` against ``ref`` for ``metric``."""
        for r in self.summary.get("comparisons", []):
            if r.get("scenario") == sc and r.get("reference") == ref and r.get("metric") == metric:
                return r
        return None

    def metric(self, sc: str, metric: str) -> dict | None:
        """The summary's statistics of ``metric`` in scenario ``sc``."""
        return ((self.summary.get("scenarios", {}).get(sc) or {}).get("metrics") or {}).get(metric)

    def cost_effectiveness(self, sc: str, ref: str, outcome: str) -> dict:
        """Public cost per additional unit of ``outcome`` of ``sc`` against ``ref``
        (:func:`ratio`)."""
        return self.ratios[(sc, ref, outcome)]

    def gap(self, sc: str) -> dict | None:
        """``sc``'s published-style gap split into effect and selection (:func:`gap`), or None."""
        return self.gaps.get(sc)


# ------------------------------------------------------------------------------------------------
# the reader
# ------------------------------------------------------------------------------------------------
def findings(
    root: Path, practical_pp: float | None = None, wtp_krw: float | None = None
) -> Findings:
    """Read a results folder (``run`` or ``compare``) and compute what its report shows.

    ``practical_pp`` overrides the practical threshold the comparison was run with (percentage
    points); ``wtp_krw`` the willingness to pay its decision is read at (KRW per additional unit).
    """
    res = Results.read(root)
    info = res.info
    pp = practical_pp if practical_pp is not None else (
        info.practical_pp if isinstance(info, CompareInfo) else PRACTICAL_PP)
    f = Findings(res, practical=float(pp) / 100.0)
    cf, base = res.counterfactual, res.baseline
    reps, kept = res.reps, res.kept
    by = probes_by_scenario(res.probes) if res.probes is not None else None
    pairs = [(sc, ref) for sc, ref in res.comparisons if sc in reps and ref in reps]
    headline = base or next((n for n in res.names if n != cf), None)
    if cf is not None and headline is not None and (headline, cf) not in pairs:
        pairs.append((headline, cf))
    for sc, ref in pairs:
        for outcome in RATIO_OUTCOMES:
            f.ratios[(sc, ref, outcome)] = ratio(res, sc, ref, outcome)
    # each scenario's supported firms matched with their twins once, for the gap and the curves;
    # scenario by scenario on two threads (sorts, searches and gathers over millions of firms,
    # which numpy does without the GIL)
    twinned = by is not None and cf in by
    if twinned:
        twin_index(by[cf])  # before the threads: they all read it

    def twins_of(n):
        m = twin_match(by[n], by[cf]) if twinned and n != cf and n in by else None
        return m, gap(res, n, by, m), (
            None if m is None else twin_curves(by[n], by[cf], SINCE_SUPPORT, m))

    done = dict(zip(res.names, parallel_map(twins_of, res.names, 2), strict=True))
    f.gaps = {n: g for n, (_, g, _) in done.items()}
    f.twins = {n: c for n, (_, _, c) in done.items() if c is not None}
    f.precision = precision_check(res.summary, res.comparisons)
    ref = base or cf
    f.changes = {
        n: scenario_changes(res, ref, n) for n in res.names if ref is not None and n != ref
    }
    f.curves = {
        n: km_curve(
            k.age_end[k.cohort], k.died[k.cohort], SURVIVAL_GRID, weights=k.weight[k.cohort]
        )
        for n, k in kept.items()
    }
    if cf is not None:
        f.survival_diffs = {n: [paired_stat(res, n, cf, f"survival_{y}y") for y in YEARS]
                            for n in res.names if n != cf}
    for n, k in kept.items():
        sel = k.cohort
        f.hazards[n] = (
            hazard_by_age(k.age_end[sel], k.died[sel], HALF_YEARS, k.weight[sel]) * 12.0,
            hazard_by_age(k.age_end[sel], k.died[sel], WHOLE_YEARS, k.weight[sel]) * 12.0,
        )
    if kept:
        who = cf if cf in kept else next(iter(kept))
        f.valley = valley(kept[who], who)
    f.funnel = {n: funnel_counts(k) for n, k in kept.items()}
    f.regions = regions(res)
    draws = f.draws
    if draws:
        from ..scenario.draws import Draws

        dr = Draws.from_json(draws)
        f.applied = {n: dr.applied(n, res.resolved(n)) for n in res.names}
        if cf is not None and headline is not None:
            a, b = reps.get(headline) or {}, reps.get(cf) or {}
            f.cost_spread = cost_spread(cost_per_survivor_by_draw(a, b, len(draws["values"]))
                                        if "survivors_5y" in a and b else np.empty(0))
    f.discovery = discovery(res)
    f.money = {"inputs": money.inputs(res), "public_cost": money.public_cost_items(res),
               "never_supported": money.never_supported(res) if cf is not None else {},
               "creation": money.firm_creation(res)}
    f.ledger = yearly.ledger(res)
    f.timelines = yearly.timelines(res)
    f.extrapolation = yearly.extrapolation(res)
    if cf is not None:
        f.decision, f.decision_why_not = decision(res, f.applied, wtp_krw)
    return f


def decision(
    res: Results, applied: dict, wtp_krw: float | None
) -> tuple[dict | None, str | None]:
    """The comparison's decision (:func:`sim.analysis.choice.decision_view`) and, when there is
    none, why."""
    from .choice import decision_view

    info = res.info if isinstance(res.info, CompareInfo) else None
    block = res.summary.get("decision")
    if block is None and res.summary.get("decision_why_not"):
        return None, res.summary["decision_why_not"]
    try:
        view = decision_view(
            block, res.rep_columns, res.names, res.counterfactual, wtp_krw=wtp_krw,
            baseline=res.baseline, draws=res.manifest.get("draws") or None, applied=applied,
            outcome=info.outcome if info else "survivors")
    except ValueError as exc:
        return None, str(exc)
    return view, None


def paired(res: Results, sc: str, ref: str, metric: str) -> np.ndarray:
    """Per-replication differences ``sc - ref`` of ``metric`` over the replications both have."""
    a, b = res.reps.get(sc) or {}, res.reps.get(ref) or {}
    if metric not in a or metric not in b:
        return np.empty(0)
    _, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
    return np.asarray(a[metric], float)[ia] - np.asarray(b[metric], float)[ib]


def paired_stat(res: Results, sc: str, ref: str, metric: str) -> dict:
    """The paired difference of ``metric`` over all replications (mean and 95% CI, as fractions)."""
    s = summarize(paired(res, sc, ref, metric))
    return {"diff": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"]}


def ratio(
    res: Results, sc: str, ref: str, outcome: str, cost: str = "cohort_public_cost_krw"
) -> dict:
    """Public cost per additional unit of ``outcome`` (Fieller CI on paired per-replication
    differences).

    By default the cost is the cohort window's public cost, so numerator and denominator are the
    same firms (survivors_5y and cohort_jobs_end count the cohort window's start-ups).
    """
    if cost not in (res.reps.get(sc) or {}):
        cost = "programme_cost_krw"  # a results folder from before public costs were kept apart
    cost = paired(res, sc, ref, cost)
    gain = paired(res, sc, ref, outcome)
    if cost.size == 0 or gain.size == 0:
        return {
            "ratio": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "defined": False,
            "n": 0,
            "num_mean": math.nan,
            "den_mean": math.nan,
        }
    return ratio_ci(cost, gain)


def gap(
    res: Results, sc: str, by: dict | None, matched: tuple[np.ndarray, np.ndarray] | None = None
) -> dict | None:
    """The published-style gap of ``sc`` split into the programme's effect and selection.

    From every replication when the comparison kept its twins (``by``: probes.parquet by scenario,
    :func:`~sim.analysis.folder.probes_by_scenario`): means, with ``effect_stat`` and
    ``selection_stat`` (mean and 95% CI over replications) and ``replications``; else from the kept
    start-up tables, without intervals. None without a counterfactual or either source.
    ``matched``: its supported firms' :func:`~sim.analysis.effects.twin_match`, when known.
    """
    cf = res.counterfactual
    if cf is None or sc == cf:
        return None
    if by is not None and sc in by and cf in by:
        reps = res.reps.get(sc) or {}
        unsup = dict(
            zip(
                np.asarray(reps.get("replication", []), int).tolist(),
                np.asarray(reps.get("unsupported_survival_5y", []), float).tolist(),
                strict=True,
            )
        )
        g = gap_by_replication(by[sc], by[cf], unsup, matched=matched)
        out = {k: float(np.nanmean(g[k])) if np.isfinite(g[k]).any() else math.nan
               for k in ("s_sup", "s_same_cf", "s_unsup", "effect", "selection")}
        out["naive"] = out["s_sup"] - out["s_unsup"]
        out["matched"] = float(np.nanmean(g["matched"]))
        out["replications"] = int(np.isfinite(g["effect"]).sum())
        for k in ("effect", "selection"):
            st = summarize(g[k])
            out[f"{k}_stat"] = {
                "diff": st["mean"],
                "ci_low": st["ci_low"],
                "ci_high": st["ci_high"],
            }
        return out
    k, c = res.kept.get(sc), res.kept.get(cf)
    if k is None or c is None:
        return None
    return gap_decomposition(k.firms(), c.firms())


def scenario_changes(res: Results, ref: str, sc: str) -> list[tuple[str, str, str]]:
    """What ``sc`` changes against ``ref`` (descriptions, names and the dated timeline left out;
    disabled centres collapsed)."""
    a, b = dict(res.resolved(ref)), dict(res.resolved(sc))
    # the dated changes are drawn by month apart (Findings.timelines)
    for k in ("name", "description", "centre_defaults", "conglomerate_defaults", "timeline"):
        a.pop(k, None)
        b.pop(k, None)
    rows = flat_diff(a, b)
    off = {
        p.rsplit(".", 1)[0]
        for p, _, v in rows
        if p.startswith("centres.") and p.endswith(".enabled") and v == "false"
    }
    return [
        r
        for r in rows
        if not any(r[0].startswith(o + ".") and not r[0].endswith(".enabled") for o in off)
    ]


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


def valley(k: Kept, name: str) -> dict:
    """The yearly death rate by age of ``name``'s cohort window (per 100 firm-years) and, of the
    start-ups that died before crossing the valley, the weighted shares that ran out of cash or
    failed."""
    sel = k.cohort
    rate = hazard_by_age(k.age_end[sel], k.died[sel], WHOLE_YEARS, k.weight[sel]) * 100 * 12
    dead = k.died & ~k.crossed & sel
    shares = None
    if int(dead.sum()):
        w = k.weight[dead]
        shares = {c: float(w[k.cause[dead] == c].sum() / w.sum()) for c in ("cash", "failure")}
    return {"name": name, "rate": rate, "causes": shares}


FUNNEL = ("founded", "selected", "granted", "funded", "crossed", "acquired", "alive")


def funnel_counts(k: Kept) -> dict[str, float]:
    """Start-ups (weighted) reaching each step of :data:`FUNNEL`, per kept replication."""
    reps = max(len(np.unique(k.replication)), 1)
    w = k.weight
    alive = ~(k.died | k.acquired)
    return {
        "founded": w.sum() / reps,
        "selected": w[k.supported].sum() / reps,
        "granted": w[k.granted].sum() / reps,
        "funded": w[k.funded].sum() / reps,
        "crossed": w[k.crossed].sum() / reps,
        "acquired": w[k.acquired].sum() / reps,
        "alive": w[alive].sum() / reps,
    }


def regions(res: Results) -> dict | None:
    """The regions side by side: each region's start-ups per year and 5-year survival in the
    counterfactual (or the first scenario), every other scenario's change against the counterfactual
    (or its level, without one), and supported start-ups by scenario. None without
    regions.parquet."""
    rg = res.region_columns
    if not rg or "region" not in rg:
        return None
    names = np.asarray(rg["scenario"], dtype=object)
    regs = np.asarray(rg["region"], dtype=object)
    region_order = list(dict.fromkeys(regs.tolist()))
    first = res.names[0] if res.names else None
    order = list((res.resolved(first).get("regions") or {}).keys()) if first else []
    region_order = [r for r in order if r in region_order] + [
        r for r in region_order if r not in order
    ]

    def series(sc, region, metric):
        mask = (names == sc) & (regs == region)
        reps = np.asarray(rg["replication"])[mask]
        o = np.argsort(reps)
        return reps[o], np.asarray(rg[metric], float)[mask][o]

    cf = res.counterfactual
    others = [n for n in res.names if n != cf]
    level_ref = cf or first
    cal = res.resolved(level_ref).get("calendar", {}) if level_ref else {}
    years = max(1, (cal.get("cohort_last_year", 0) - cal.get("cohort_first_year", 0) + 1))
    cols = others if cf else res.names[1:]
    rows = []
    for region in region_order:
        _, st = series(level_ref, region, "startups")
        _, s5 = series(level_ref, region, "survival_5y")
        row = {
            "region": region,
            "startups_per_year": float(np.nanmean(st) / years) if st.size else None,
            "survival_5y": float(np.nanmean(s5)) if np.isfinite(s5).any() else None,
            "values": [],
        }
        for n in cols:
            ra, a = series(n, region, "survival_5y")
            if cf:
                rb, b = series(cf, region, "survival_5y")
                _, ia, ib = np.intersect1d(ra, rb, return_indices=True)
                d = a[ia] - b[ib]
                v = summarize(d)["mean"] if d.size else math.nan
            else:
                v = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
            row["values"].append(v)
        row["supported"] = []
        for n in res.names:
            _, v = series(n, region, "supported")
            row["supported"].append(float(np.nanmean(v)) if v.size else None)
        rows.append(row)
    return {"count": len(set(regs.tolist())), "level_ref": level_ref, "columns": cols, "rows": rows,
            "changes": bool(cf)}


def cost_spread(ratios: np.ndarray) -> dict | None:
    """The central 90 % of the public cost per additional survivor over the posterior draws (the
    draws with a finite ratio; None with fewer than two), and how many draws added no survivor."""
    ratios = ratios[~np.isnan(ratios)]  # draws no replication ran
    finite = ratios[np.isfinite(ratios)]
    if finite.size < 2:
        return None
    a, b = spread_interval(finite)
    return {
        "low": a,
        "high": b,
        "infinite": int(np.sum(~np.isfinite(ratios))),
        "draws": len(ratios),
    }


def discovery(res: Results) -> dict | None:
    """discover.json, when ``discover`` ran on the folder (None if it did not, or the file is
    unreadable)."""
    # what discover recorded; a folder of format 1 has only the file
    info = discover_info(res.manifest)
    path = res.root / ((info.files.get("json") if info else None) or "discover.json")
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
