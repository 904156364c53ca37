"""A finished results folder (``run`` or ``compare``), read for its report.

:func:`load_results` reads the manifest, summary.json and the Parquet files (the start-up table
only for a few kept replications, column by column) into a :class:`Results`, whose methods answer
the questions the report's pages ask: a comparison's row, paired differences, cost per outcome,
the gap between supported and other start-ups.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..analysis.effects import firm_keys, gap_by_replication, gap_decomposition
from ..analysis.stats import ratio_ci, summarize
from ..analysis.summary import by_scenario
from ..errors import UsageError
from ..metadata import PRACTICAL_PP, CompareInfo, study_info

MAX_KEPT = 3
"""At most this many kept replications' start-up tables are read for curves and the funnel."""


@dataclass
class Kept:
    """One scenario's start-ups in the kept replications, as numpy columns."""

    replication: np.ndarray
    key: np.ndarray  # one integer per firm, equal for twins across scenarios (analysis.effects.firm_keys)
    founded: np.ndarray  # months since calendar.start
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
    cause: np.ndarray  # object: "cash", "failure", "mature" or None
    weight: np.ndarray  # how many start-ups of the economy each row stands for

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
    probes: dict | None = None
    """probes.parquet's columns (a comparison's twins), or None."""
    practical: float = 0.002
    """The least difference in a survival share the planner would act on (a fraction: 0.002 = 0.2 pp)."""
    info: CompareInfo | None = None
    """What the comparison recorded about itself (None for a run)."""

    def question(self, name: str) -> str:
        """The policy question scenario ``name``'s file opened with when it ran ("" if none)."""
        entry = self.manifest.get("scenarios", {}).get(name) or {}
        legacy = (self.manifest.get("extra") or {}).get("questions") or {}  # folders of format 1
        return entry.get("question") or legacy.get(name) or ""

    def resolved(self, name: str) -> dict:
        return (self.manifest.get("scenarios", {}).get(name) or {}).get("resolved") or {}

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

    def paired(self, sc: str, ref: str, metric: str) -> np.ndarray:
        """Per-replication differences ``sc - ref`` of ``metric`` over the replications both have."""
        a, b = self.reps.get(sc) or {}, self.reps.get(ref) or {}
        if metric not in a or metric not in b:
            return np.empty(0)
        _, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
        return np.asarray(a[metric], float)[ia] - np.asarray(b[metric], float)[ib]

    def cost_effectiveness(self, sc: str, ref: str, outcome: str, cost: str = "cohort_public_cost_krw") -> dict:
        """Public cost per additional unit of ``outcome`` (Fieller CI on paired per-replication differences).

        By default the cost is the cohort window's public cost, so numerator and denominator are the
        same firms (survivors_5y and cohort_jobs_end count the cohort window's start-ups).
        """
        if cost not in (self.reps.get(sc) or {}):
            cost = "programme_cost_krw"  # a results folder from before public costs were kept apart
        cost = self.paired(sc, ref, cost)
        gain = self.paired(sc, ref, outcome)
        if cost.size == 0 or gain.size == 0:
            return {"ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan, "defined": False, "n": 0,
                    "num_mean": math.nan, "den_mean": math.nan}
        return ratio_ci(cost, gain)

    def gap(self, sc: str) -> dict | None:
        """The published-style gap of ``sc`` split into the programme's effect and selection.

        From every replication when the comparison kept its twins (probes.parquet): means, with
        ``effect_stat`` and ``selection_stat`` (mean and 95% CI over replications) and
        ``replications``; else from the kept start-up tables, without intervals. None without a
        counterfactual or either source.
        """
        cf = self.counterfactual
        if cf is None or sc == cf:
            return None
        if self.probes is not None:
            if "_probes_by" not in self.__dict__:
                self.__dict__["_probes_by"] = _split(self.probes)
            by = self.__dict__["_probes_by"]
            if sc in by and cf in by:
                reps = self.reps.get(sc) or {}
                unsup = dict(zip(np.asarray(reps.get("replication", []), int).tolist(),
                                 np.asarray(reps.get("unsupported_survival_5y", []), float).tolist(), strict=True))
                g = gap_by_replication(by[sc], by[cf], unsup)
                out = {k: float(np.nanmean(g[k])) if np.isfinite(g[k]).any() else math.nan
                       for k in ("s_sup", "s_same_cf", "s_unsup", "effect", "selection")}
                out["naive"] = out["s_sup"] - out["s_unsup"]
                out["matched"] = float(np.nanmean(g["matched"]))
                out["replications"] = int(np.isfinite(g["effect"]).sum())
                for k in ("effect", "selection"):
                    st = summarize(g[k])
                    out[f"{k}_stat"] = {"diff": st["mean"], "ci_low": st["ci_low"], "ci_high": st["ci_high"]}
                return out
        k, c = self.kept.get(sc), self.kept.get(cf)
        if k is None or c is None:
            return None
        return gap_decomposition(_firms(k), _firms(c))

    def scenario_diff(self, ref: str, sc: str) -> list[tuple[str, str, str]]:
        """What ``sc`` changes against ``ref`` (descriptions and names left out; disabled centres collapsed)."""
        a, b = dict(self.resolved(ref)), dict(self.resolved(sc))
        for k in ("name", "description", "centre_defaults", "conglomerate_defaults"):
            a.pop(k, None)
            b.pop(k, None)
        rows = flat_diff(a, b)
        off = {p.rsplit(".", 1)[0] for p, _, v in rows if p.startswith("centres.") and p.endswith(".enabled")
               and v == "false"}
        return [r for r in rows if not any(r[0].startswith(o + ".") and not r[0].endswith(".enabled") for o in off)]


def damaged(path: Path, what: str) -> UsageError:
    """The error for a results file the report cannot read: which file, what is wrong, what to do."""
    root = path.parent
    return UsageError(f"{path}: is {what}, so no report is built from it (a report never shows n/a for numbers "
                      f"it failed to read). Rebuild the folder's data with: python run_sim.py resume {root} (it "
                      f"runs the tasks again and gives the same numbers), then: python run_sim.py report {root}",
                      path=path)


def _read_json(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(path, f"unreadable ({exc})") from None
    if not text.strip():
        raise damaged(path, "empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise damaged(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise damaged(path, "not a JSON object")
    return data


def _columns(path: Path, required: bool, coded: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
    """A Parquet file's columns as numpy arrays; each text column named in ``coded`` comes as
    ``NAME`` (integer codes) and ``NAME_names`` (the names they index): millions of short strings
    as Python objects would cost gigabytes and seconds."""
    if not path.is_file():
        if required:
            raise damaged(path, "missing")
        return None
    try:
        t = pq.read_table(path, read_dictionary=[c for c in coded if c in pq.read_schema(path).names])
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    out = {}
    for name in t.column_names:
        col = t.column(name)
        if name in coded:
            if pa.types.is_dictionary(col.type):
                col = col.unify_dictionaries().combine_chunks()
            else:  # an all-null column (no start-up anywhere) is not read as a dictionary
                col = col.combine_chunks().cast(pa.string()).dictionary_encode()
            out[name] = col.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            out[f"{name}_names"] = np.asarray(col.dictionary.to_pylist(), dtype=object)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


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
                 "grant_krw", "private_krw", "conglomerate_krw", "crossed_valley", "outcome", "outcome_month", "cause"]


def _read_kept(path: Path, scenario: str, reps: list[int], calendar: dict, codes: dict[str, int]) -> Kept | None:
    present = set(pq.ParquetFile(path).schema_arrow.names)
    columns = _KEPT_COLUMNS + [n for n in ("weight",) if n in present]
    t = pq.read_table(path, columns=columns, filters=[("scenario", "==", scenario), ("replication", "in", reps)])
    if t.num_rows == 0:
        return None
    c = {n: t.column(n).to_numpy(zero_copy_only=False) for n in columns}
    outcome = c["outcome"].astype(str)
    first, last = calendar.get("cohort_first_year", -10**9), calendar.get("cohort_last_year", 10**9)
    founded = c["founded_month"].astype(float)
    region = c["region"].astype(object)
    replication = c["replication"].astype(np.int64)
    return Kept(
        replication=replication, key=firm_keys(replication, region, c["serial"], codes), founded=founded,
        region=region,
        serial=c["serial"].astype(np.int64),
        cohort=(c["cohort_year"] >= first) & (c["cohort_year"] <= last),
        age_end=c["outcome_month"].astype(float) - founded, died=outcome == "died", acquired=outcome == "acquired",
        supported=c["supported"].astype(bool), support_age=c["support_month"].astype(float) - founded,
        granted=c["grant_krw"].astype(float) > 0,
        funded=(c["private_krw"].astype(float) > 0) | (c["conglomerate_krw"].astype(float) > 0),
        crossed=c["crossed_valley"].astype(bool), cause=c["cause"].astype(object),
        weight=c["weight"].astype(float) if "weight" in c else np.ones(len(founded)))


def load_results(root: Path, practical_pp: float | None = None) -> Results:
    """Read what a report needs from a results folder (``run`` or ``compare``).

    ``practical_pp`` overrides the practical threshold the comparison was run with (percentage points).
    """
    root = Path(root)
    if not (root / "manifest.json").is_file():
        raise UsageError(f"{root}: no manifest.json here, so there is nothing to resume or report. "
                         "Give the folder a previous run wrote.")
    manifest = _read_json(root / "manifest.json")
    if not (root / "summary.json").is_file():
        status = manifest.get("status", "unknown")
        if status == "complete":
            raise damaged(root / "summary.json", "missing")
        raise UsageError(f"{root}: has no summary.json (status: {status}), so there is nothing to report yet. "
                         f"Finish the experiment first (python run_sim.py resume {root}), then rebuild the report.")
    summary = _read_json(root / "summary.json")
    finished = manifest.get("status") in ("complete", "failed")
    names = [n for n in manifest.get("scenarios", {}) if n in summary.get("scenarios", {})]
    names += [n for n in summary.get("scenarios", {}) if n not in names]
    cols = _columns(root / "replications.parquet", required=True)
    reps = by_scenario(cols, names) if cols else {n: {} for n in names}
    regions = _columns(root / "regions.parquet", required=finished)
    kept: dict[str, Kept] = {}
    kept_reps: list[int] = []
    st_path = root / "startups.parquet"
    if st_path.is_file():
        try:
            kept_reps = _replications_in(st_path)[:MAX_KEPT]
            regions_all = sorted({r for v in manifest.get("scenarios", {}).values()
                                  for r in ((v or {}).get("resolved") or {}).get("regions", {})})
            codes = {r: i for i, r in enumerate(regions_all)}
            for n in names if kept_reps else ():
                cal = (manifest.get("scenarios", {}).get(n) or {}).get("resolved", {}).get("calendar", {})
                k = _read_kept(st_path, n, kept_reps, cal, codes)
                if k is not None:
                    kept[n] = k
        except Exception as exc:  # noqa: BLE001 - any failure to read is damage
            raise damaged(st_path, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    info = study_info(manifest)
    comparisons = [tuple(c) for c in manifest.get("comparisons", [])]
    cf = getattr(info, "counterfactual", None)
    if cf is None and comparisons:  # the reference every scenario is compared with
        refs = [r for _, r in comparisons]
        cf = max(set(refs), key=refs.count)
    cf = cf if cf in names else None
    base = getattr(info, "baseline", None)
    base = base if base in names and base != cf else None
    pp = practical_pp if practical_pp is not None else getattr(info, "practical_pp", PRACTICAL_PP)
    probes = _columns(root / "probes.parquet", required=finished and bool(manifest.get("probes")),
                      coded=("scenario", "region"))
    return Results(root, manifest, summary, names, reps, regions, kept, kept_reps, cf, base, comparisons,
                   probes=probes, practical=float(pp) / 100.0,
                   info=info if isinstance(info, CompareInfo) else None)


def _firms(k: Kept) -> dict:
    return {"key": k.key, "founded": k.founded, "age_end": k.age_end, "died": k.died, "supported": k.supported,
            "support_age": k.support_age, "cohort": k.cohort, "weight": k.weight}


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


def _split(columns: dict) -> dict[str, dict]:
    """probes.parquet's columns (scenario and region as codes, see :func:`_columns`) split by scenario,
    each firm with its twin key (see ``firm_keys``)."""
    regions = columns["region_names"]
    key = firm_keys(np.asarray(columns["replication"], np.int64), regions, np.asarray(columns["serial"]),
                    {r: i for i, r in enumerate(regions)}, region_codes=columns["region"])
    scen = columns["scenario"]
    order = np.argsort(scen, kind="stable")
    bounds = np.searchsorted(scen[order], np.arange(len(columns["scenario_names"]) + 1))
    out = {}
    for i, n in enumerate(columns["scenario_names"]):
        rows = order[bounds[i]:bounds[i + 1]]
        if rows.size == 0:
            continue
        out[str(n)] = {k: np.asarray(v)[rows] for k, v in columns.items()
                       if k not in ("scenario", "region", "scenario_names", "region_names")}
        out[str(n)]["key"] = key[rows]
    return out
