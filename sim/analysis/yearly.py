"""The programme year by year in a comparison's report: the yearly ledger against the published
record, the programme as announced against as run, each scenario's dated changes, and what the
calendar extrapolates past the data.

Pure functions of a results folder (:class:`~sim.analysis.folder.Results`: years.parquet, the
manifest's resolved scenarios and the published figures the comparison recorded when it ran, see
:func:`sim.analysis.history.published_record`), called by :func:`sim.analysis.findings.findings`;
:mod:`sim.report.yearly` lays them out. Nothing here reads today's scenario files.
"""

from __future__ import annotations

import numpy as np

from ..metadata import CompareInfo
from ..scenario.timeline import dated_changes
from .history import compare_ledger, record_points
from .stats import summarize

COLUMNS = ("public_cost_krw", "centres_cost_krw", "partner_investment_krw", "supported_new",
           "equity_raised_krw", "equity_supply_krw", "bridge_rounds")
"""The ledger's columns the report shows by year."""
DEFAULT_PANELS = (
    ("public_cost_krw", False, "public cost"),
    ("partner_investment_krw", False, "partners' money"),
    ("supported_new", True, "supported start-ups by the end of each year"),
)
"""(column, cumulative, title) of the ledger's panels when no published record names them."""
MOST_DRAWN = 4
"""Scenarios drawn in the ledger's figure when there are few; beyond, the baseline and the
scenario the record is of."""
EXTRAPOLATED = ("market.growth_after_data_per_year", "founding_trend_per_year")
"""Posterior keys that carry an extrapolation past the data (a key ending so)."""


def by_year(cols: dict | None, sc: str, column: str) -> dict | None:
    """``column`` of scenario ``sc`` by calendar year: ``years``, ``values`` (replication x year, in
    replication order) and ``replications``; None when the ledger lacks it."""
    if not cols or column not in cols or "scenario" not in cols:
        return None
    mask = np.asarray(cols["scenario"], dtype=object) == sc
    if not mask.any():
        return None
    reps = np.asarray(cols["replication"])[mask]
    years = np.asarray(cols["year"], int)[mask]
    ry, yy = np.unique(reps), np.unique(years)
    table = np.zeros((len(ry), len(yy)))
    table[np.searchsorted(ry, reps), np.searchsorted(yy, years)] = np.asarray(cols[column],
                                                                              float)[mask]
    return {"years": yy, "values": table, "replications": ry}


def _means(table: dict, cumulative: bool) -> dict:
    v = np.cumsum(table["values"], axis=1) if cumulative else table["values"]
    return {"years": table["years"].tolist(), "mean": v.mean(axis=0).tolist(),
            "low": v.min(axis=0).tolist(), "high": v.max(axis=0).tolist()}


def drawn(res, record: dict | None) -> list[str]:
    """The scenarios the ledger's figure draws: every scenario but the counterfactual when there are
    at most :data:`MOST_DRAWN`, else the baseline and the scenario the published record is of."""
    names = [n for n in res.names if n != res.counterfactual]
    if len(names) <= MOST_DRAWN:
        return names
    keep = [res.baseline, (record or {}).get("scenario")]
    return [n for n in names if n in keep] or names[:1]


def panels(record: dict | None) -> list[dict]:
    """The ledger's panels: one per published series compared with a ledger column (its column,
    whether it is cumulative, its name and source), else :data:`DEFAULT_PANELS`."""
    series = (record or {}).get("series") or {}
    out = [{"series": name, "column": s["column"], "cumulative": bool(s.get("cumulative")),
            "source": s.get("source") or ""} for name, s in series.items() if s.get("column")]
    return out or [{"series": None, "column": c, "cumulative": cum, "title": t, "source": ""}
                   for c, cum, t in DEFAULT_PANELS]


def ledger(res) -> dict | None:
    """The yearly ledger as the report draws it (None without years.parquet).

    ``record``: the published figures the comparison recorded (or None); ``scenarios``: the drawn
    ones; ``panels``: each with ``series`` (scenario -> years, mean, low, high over replications,
    the replications' range) and ``points`` (the record's points for it); ``against``: for each
    drawn scenario, :func:`~sim.analysis.history.compare_ledger`'s rows (every published point
    beside the scenario's figure); ``table``: each drawn scenario's means by year of
    :data:`COLUMNS`; ``announced_vs_run``: :func:`announced_against_run`.
    """
    cols = res.year_columns
    if not cols or "year" not in cols:
        return None
    info = res.info if isinstance(res.info, CompareInfo) else None
    record = info.published if info else None
    names = drawn(res, record)
    points = record_points(record)
    out_panels = []
    for p in panels(record):
        series = {}
        for n in names:
            t = by_year(cols, n, p["column"])
            if t is not None:
                series[n] = _means(t, p["cumulative"])
        out_panels.append({**p, "lines": series,
                           "points": [q for q in points if q.series == p["series"]]})
    against = {}
    if points:
        for n in names:
            rows = _rows(cols, n)
            against[n] = compare_ledger(rows, points) if rows else []
    table = {}
    for n in names:
        t = {c: by_year(cols, n, c) for c in COLUMNS}
        t = {c: v for c, v in t.items() if v is not None}
        if t:
            first = next(iter(t.values()))
            table[n] = {"years": first["years"].tolist(),
                        **{c: v["values"].mean(axis=0).tolist() for c, v in t.items()}}
    return {"record": record, "scenarios": names, "panels": out_panels, "against": against,
            "table": table, "announced_vs_run": announced_against_run(res, record)}


def _rows(cols: dict, sc: str) -> list[dict]:
    mask = np.asarray(cols["scenario"], dtype=object) == sc
    keys = [k for k in cols if k != "scenario"]
    return [dict(zip(keys, vals, strict=True))
            for vals in zip(*(np.asarray(cols[k])[mask].tolist() for k in keys), strict=True)]


def announced_against_run(res, record: dict | None) -> dict | None:
    """The programme as announced (the baseline) against as run (the scenario the published record
    is of), by year, when both are in the comparison: for public cost, partners' money and start-ups
    first supported, each one's mean by year and the difference (as run minus as announced, paired
    over the replications both have, mean and 95 % CI)."""
    base, run = res.baseline, (record or {}).get("scenario")
    if not base or not run or run not in res.names or run == base:
        return None
    cols = res.year_columns
    out = {"announced": base, "run": run, "columns": {}}
    for c in ("public_cost_krw", "partner_investment_krw", "supported_new"):
        a, b = by_year(cols, base, c), by_year(cols, run, c)
        if a is None or b is None:
            continue
        common, ia, ib = np.intersect1d(a["replications"], b["replications"], return_indices=True)
        years = sorted(set(a["years"].tolist()) & set(b["years"].tolist()))
        ja = np.searchsorted(a["years"], years)
        jb = np.searchsorted(b["years"], years)
        va, vb = a["values"][ia][:, ja], b["values"][ib][:, jb]
        diffs = [summarize(vb[:, j] - va[:, j]) for j in range(len(years))]
        out["years"] = years
        out["columns"][c] = {"announced": va.mean(axis=0).tolist(), "run": vb.mean(axis=0).tolist(),
                             "diff": [{"diff": d["mean"], "ci_low": d["ci_low"],
                                       "ci_high": d["ci_high"]} for d in diffs],
                             "replications": int(len(common))}
    return out if out["columns"] else None


# -- the dated timeline -------------------------------------------------------------------------
def entries_text(row: dict, resolved: dict) -> str:
    """A dated change's key with its entries in words a page can hold: ``centres.*.seats`` for
    every entry, ``centres.(all but Daejeon).intake_size`` when most, the names when few."""
    key, entries = row["key"], row.get("entries") or []
    if len(entries) <= 3 or "{" not in key:
        return key
    section, rest = key.split(".", 1)[0], key.rsplit("}.", 1)[-1]
    every = list((resolved.get(section) or {}).keys())
    left = [e for e in every if e not in entries]
    if left and len(left) <= 3:
        who = f"all but {', '.join(left)}"
    else:
        who = f"{len(entries)} of {len(every)}: {', '.join(entries[:3])}, ..."
    return f"{section}.({who}).{rest}"


def timelines(res) -> dict:
    """Each scenario's dated changes (:func:`sim.scenario.timeline.dated_changes` of its resolved
    values, as it ran), each row marked ``shared`` when the reference (the baseline, else the
    counterfactual) has the same change at the same month; and, per scenario, the months at which
    it changes something (for the figure)."""
    ref = res.baseline or res.counterfactual
    rows = {}
    for n in res.names:
        resolved = res.resolved(n)
        rows[n] = [dict(r, label=entries_text(r, resolved)) for r in dated_changes(resolved)]
    theirs = {(r["month"], r["key"], r["before_text"], r["after_text"]) for r in rows.get(ref, [])}
    for n, rs in rows.items():
        for r in rs:
            r["shared"] = n != ref and (r["month"], r["key"], r["before_text"],
                                        r["after_text"]) in theirs
    return {"reference": ref, "rows": rows,
            "months": {n: sorted({r["month"] for r in rs}) for n, rs in rows.items() if rs}}


# -- past the data ------------------------------------------------------------------------------
def extrapolation(res) -> dict | None:
    """What the calendar extrapolates past the data, from the counterfactual's economy (every
    scenario of a comparison simulates it): the venture-money series' last year and the rule past it
    (the log-linear trend fitted to ``market.trend_fit_years``, growing
    ``market.growth_after_data_per_year``, or held at its last value), the regions' founding trend
    and its dated changes, and the posterior keys that carry an extrapolation (with the range of the
    values drawn and, when the comparison recorded it, the prior's). None when the horizon does not
    pass the series' last year."""
    who = res.counterfactual or (res.names[0] if res.names else None)
    if who is None:
        return None
    sc = res.resolved(who)
    market = sc.get("market") or {}
    series = market.get("venture_investment_krw_by_year") or {}
    horizon = str((sc.get("calendar") or {}).get("horizon", ""))
    if not series or not horizon[:4].isdigit():
        return None
    last = max(int(y) for y in series)
    if int(horizon[:4]) <= last:
        return None
    trends = sorted({float(r.get("founding_trend_per_year", 0.0))
                     for r in (sc.get("regions") or {}).values() if isinstance(r, dict)})
    dated = [{"month": m, "key": k, "value": v}
             for m, items in (sc.get("timeline") or {}).items() for k, v in items.items()
             if k.endswith("founding_trend_per_year") or k.endswith("founding_rate_per_year")]
    dated_trends: dict = {}
    for d in dated:
        dated_trends.setdefault((d["month"], d["key"].rsplit(".", 1)[-1]), set()).add(d["value"])
    draws = res.manifest.get("draws") or {}
    known = res.prior_only
    priors = []
    for i, key in enumerate(draws.get("keys", ())):
        if any(key.endswith(x) for x in EXTRAPOLATED):
            values = [row[i] for row in draws.get("values", ())]
            prior = known.get(key) or {}
            priors.append({"key": key, "low": min(values), "high": max(values),
                           "draws": len(values), "file": draws.get("file"),
                           "prior_low": prior.get("low"), "prior_high": prior.get("high")})
    fit = list(market.get("trend_fit_years") or [])
    return {"scenario": who, "horizon": horizon, "last_year": last, "fit_years": fit,
            "growth": market.get("growth_after_data_per_year") if fit else None,
            "founding_trends": trends,
            "dated": [{"month": m, "key": k, "values": sorted(v)}
                      for (m, k), v in sorted(dated_trends.items())],
            "priors": priors}
