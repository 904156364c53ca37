"""A results folder read back: its manifest, its summary and its tables, or a clear error.

:class:`Results` is the one reader of a finished ``run``, ``compare`` or ``sweep`` folder, for the
Python API (``sim.Results``, pandas DataFrames) and for the reports (numpy columns,
:mod:`sim.analysis.findings`). It never reads anything outside the folder (not the scenario files,
which may have changed since), and it says what is wrong instead of returning what it could not
read: a folder whose tasks failed raises :class:`~sim.errors.TasksFailed` (exit code 1), one that
is incomplete or damaged a :class:`~sim.errors.UsageError` naming the file and the command that
repairs it (exit code 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import TasksFailed, UsageError
from ..metadata import YEARS_SINCE, CompareInfo, study_info
from .effects import firm_keys
from .summary import by_scenario

TABLES = ("replications.parquet", "regions.parquet", "startups.parquet", "years.parquet")
"""The tables every run keeps (startups.parquet only for the kept replications; years.parquet in
folders of format :data:`~sim.metadata.YEARS_SINCE` on)."""


def damaged(path: Path, what: str, remedy: str | None = None) -> UsageError:
    """The error for a results file that cannot be read: which file, what is wrong, what to do
    (``remedy``; by default, rebuild the folder's data with ``resume``)."""
    root = path.parent
    remedy = remedy or (f"Rebuild the folder's data with: python run_sim.py resume {root} (it runs "
                        "the tasks again and gives the same numbers), then: python run_sim.py "
                        f"report {root}")
    return UsageError(f"{path}: is {what}, so nothing is read from it (a report never shows n/a "
                      f"for numbers it failed to read). {remedy}", path=path)


def read_json(path: Path) -> dict:
    """A JSON object from a results folder, or the :func:`damaged` error saying why it cannot be
    read."""
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


def read_manifest(root: Path) -> dict:
    """The folder's manifest, or an error saying there is no results folder here."""
    root = Path(root)
    if not (root / "manifest.json").is_file():
        raise UsageError(f"{root}: no manifest.json here, so there is nothing to resume or report. "
                         "Give the folder a previous run wrote.")
    return read_json(root / "manifest.json")


def read_table(path: Path, **options):
    """A Parquet file as a pyarrow table, or the :func:`damaged` error saying why it cannot be
    read."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise damaged(path, "missing")
    try:
        return pq.read_table(path, **options)
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160]})") from None


def check_finished(root: Path, manifest: dict, *, failed_ok: bool = False) -> None:
    """Raise unless the study in ``root`` finished: TasksFailed for failed tasks (unless
    ``failed_ok``), a UsageError saying how to finish it when it is still running or was
    interrupted."""
    status = manifest.get("status")
    if status == "complete" or (status == "failed" and failed_ok):
        return
    if status == "failed" and manifest.get("failures"):
        summary = root / "summary.json"
        rows = (read_json(summary).get("failures") if summary.is_file() else None) or [
            {
                "scenario": "?",
                "replication": "?",
                "error": manifest.get("error", "see failures.json"),
            }
        ]
        raise TasksFailed(root, rows)
    if status == "failed":
        raise UsageError(f"{root}: this study failed "
                         f"({manifest.get('error', 'see its manifest')}); nothing in it counts as "
                         "done. Fix the cause and resume it (python run_sim.py resume DIR), or "
                         "run it again.", path=root)
    raise UsageError(f"{root}: is not complete (status {status!r}), so its results are not all "
                     f"there; finish it first with: python run_sim.py resume {root}", path=root)


MAX_KEPT = 3
"""At most this many kept replications' start-up tables are read for curves and the funnel."""


@dataclass
class Kept:
    """One scenario's start-ups in the kept replications, as numpy columns."""

    replication: np.ndarray
    # one integer per firm, equal for twins across scenarios (analysis.effects.firm_keys)
    key: np.ndarray
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
        """The number of rows (firms of the kept replications)."""
        return len(self.age_end)

    def firms(self) -> dict:
        """The columns :func:`sim.analysis.effects.gap_decomposition` reads."""
        return {
            "key": self.key,
            "founded": self.founded,
            "age_end": self.age_end,
            "died": self.died,
            "supported": self.supported,
            "support_age": self.support_age,
            "cohort": self.cohort,
            "weight": self.weight,
        }


@dataclass
class Results:
    """A results folder, as Python objects: the one reader of what a study wrote.

    ``summary`` is summary.json (means with 95 % CIs per scenario, paired comparisons);
    ``replications``, ``regions``, ``years`` and ``startups`` are its Parquet files as pandas
    DataFrames, read on first use (``startups`` holds the kept replications' start-ups only). Units
    and definitions:
    docs/data-dictionary.md. The report's reader (:mod:`sim.analysis.findings`) takes the same
    files as numpy columns (:attr:`reps`, :attr:`region_columns`, :attr:`kept`, :attr:`probes`).
    """

    root: Path
    summary: dict
    manifest: dict
    report: dict | None = None
    """Paths of report.html and report.md (a comparison), else None."""
    _frames: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root) -> Results:
        """The results of an earlier run, comparison or sweep (a folder the CLI or the API wrote).

        Raises :class:`~sim.errors.TasksFailed` when some of its tasks failed, and a
        :class:`~sim.errors.UsageError` when it is not complete or a file of it is missing or
        damaged.
        """
        root = Path(root)
        manifest = read_manifest(root)
        check_finished(root, manifest)
        summary = read_json(root / "summary.json")
        for name in TABLES[:2]:
            _footer(root / name)
        if manifest.get("keep_startups", "first") != "none" or (root / TABLES[2]).exists():
            _footer(root / TABLES[2])
        if manifest.get("format_version", 1) >= YEARS_SINCE or (root / TABLES[3]).exists():
            _footer(root / TABLES[3])
        report = {"html": root / "report.html", "markdown": root / "report.md"}
        return cls(root, summary, manifest, report if report["html"].is_file() else None)

    @classmethod
    def read(cls, root) -> Results:
        """A folder to report on: finished, or interrupted after its summary was written (the report
        then says so). Its files are read when first asked for, each a clear error if damaged."""
        root = Path(root)
        manifest = read_manifest(root)
        if not (root / "summary.json").is_file():
            status = manifest.get("status", "unknown")
            if status == "complete":
                raise damaged(root / "summary.json", "missing")
            raise UsageError(f"{root}: has no summary.json (status: {status}), so there is nothing "
                             "to report yet. Finish the experiment first (python run_sim.py "
                             f"resume {root}), then rebuild the report.")
        return cls(root, read_json(root / "summary.json"), manifest)

    # -- the study
    # ----------------------------------------------------------------------------------
    @property
    def info(self):
        """What the study recorded about itself (:mod:`sim.metadata`), None for a run."""
        return study_info(self.manifest)

    @property
    def prior_only(self) -> dict:
        """A comparison's posterior parameters no published figure bears on (an extrapolation past
        the data), each with its prior's ``low`` and ``high`` ({} if none, or not a comparison)."""
        posterior = getattr(self.info, "posterior", None) or {}
        return dict(posterior.get("priors") or {})

    @property
    def finished(self) -> bool:
        """Whether the study ended (complete, or failed with some tasks): then every file must be
        there."""
        return self.manifest.get("status") in ("complete", "failed")

    @cached_property
    def names(self) -> list[str]:
        """The scenarios, in the experiment's order (those summarised)."""
        names = [
            n for n in self.manifest.get("scenarios", {}) if n in self.summary.get("scenarios", {})
        ]
        return names + [n for n in self.summary.get("scenarios", {}) if n not in names]

    @property
    def scenarios(self) -> list[str]:
        """The scenarios, in the experiment's order."""
        return list(self.summary.get("scenarios", {}))

    @cached_property
    def comparisons(self) -> list[tuple[str, str]]:
        """The (scenario, reference) pairs the summary compares."""
        return [tuple(c) for c in self.manifest.get("comparisons", [])]

    @cached_property
    def counterfactual(self) -> str | None:
        """The world without the programme every scenario is compared with (None if there is
        none)."""
        info = self.info
        cf = info.counterfactual if isinstance(info, CompareInfo) else None
        if cf is None and self.comparisons:  # the reference every scenario is compared with
            refs = [r for _, r in self.comparisons]
            cf = max(set(refs), key=refs.count)
        return cf if cf in self.names else None

    @cached_property
    def baseline(self) -> str | None:
        """The programme as announced, every variant is also compared with (None if there is
        none)."""
        info = self.info
        base = info.baseline if isinstance(info, CompareInfo) else None
        return base if base in self.names and base != self.counterfactual else None

    def resolved(self, name: str) -> dict:
        """Scenario ``name``'s resolved values, as the study ran it."""
        return (self.manifest.get("scenarios", {}).get(name) or {}).get("resolved") or {}

    def question(self, name: str) -> str:
        """The policy question scenario ``name``'s file opened with when it ran ("" if none)."""
        entry = self.manifest.get("scenarios", {}).get(name) or {}
        legacy = (self.manifest.get("extra") or {}).get("questions") or {}  # folders of format 1
        return entry.get("question") or legacy.get(name) or ""

    # -- pandas, for the Python API
    # --------------------------------------------------------------------
    def _frame(self, name: str):
        if name not in self._frames:
            path = self.root / name
            if not path.is_file() and name in TABLES[2:]:
                import pandas as pd

                # --startups none kept no start-up table; a folder from before the yearly ledger
                self._frames[name] = pd.DataFrame()
            else:
                self._frames[name] = read_table(path).to_pandas()
        return self._frames[name]

    @property
    def replications(self):
        """One row per (scenario, replication), one column per metric."""
        return self._frame("replications.parquet")

    @property
    def regions(self):
        """One row per (scenario, replication, region)."""
        return self._frame("regions.parquet")

    @property
    def years(self):
        """One row per (scenario, replication, calendar year): the yearly ledger of money raised and
        spent and of start-ups first supported (empty for a folder from before the ledger)."""
        return self._frame("years.parquet")

    @property
    def startups(self):
        """One row per start-up of the kept replications."""
        return self._frame("startups.parquet")

    # -- numpy, for the report
    # -----------------------------------------------------------------------
    @cached_property
    def rep_columns(self) -> dict[str, np.ndarray]:
        """replications.parquet's columns, every scenario's rows together."""
        return columns(self.root / "replications.parquet", required=True) or {}

    @cached_property
    def reps(self) -> dict[str, dict[str, np.ndarray]]:
        """replications.parquet by scenario: each metric's values, in replication order."""
        cols = self.rep_columns
        return by_scenario(cols, self.names) if cols else {n: {} for n in self.names}

    @cached_property
    def region_columns(self) -> dict[str, np.ndarray] | None:
        """regions.parquet's columns (None when an unfinished study has none yet)."""
        return columns(self.root / "regions.parquet", required=self.finished)

    @cached_property
    def year_columns(self) -> dict[str, np.ndarray] | None:
        """years.parquet's columns (the yearly ledger), every scenario's rows together; None for a
        folder from before the ledger (or an unfinished study without one yet)."""
        required = self.finished and self.manifest.get("format_version", 1) >= YEARS_SINCE
        return columns(self.root / "years.parquet", required=required)

    @cached_property
    def probes(self) -> dict | None:
        """probes.parquet's columns (a comparison's twins), scenario and region as codes; None
        without."""
        return columns(
            self.root / "probes.parquet",
            required=self.finished and bool(self.manifest.get("probes")),
            coded=("scenario", "region"),
        )

    @cached_property
    def _kept_tables(self) -> tuple[list[int], dict[str, Kept]]:
        path = self.root / "startups.parquet"
        if not path.is_file():
            return [], {}
        out = {}
        try:
            reps = replications_in(path)[:MAX_KEPT]
            regions_all = sorted({r for v in self.manifest.get("scenarios", {}).values()
                                  for r in ((v or {}).get("resolved") or {}).get("regions", {})})
            codes = {r: i for i, r in enumerate(regions_all)}
            if reps:
                calendars = {n: self.resolved(n).get("calendar", {}) for n in self.names}
                out = read_kept(path, self.names, reps, calendars, codes)
        except Exception as exc:  # noqa: BLE001 - any failure to read is damage
            raise damaged(path, f"unreadable ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:160]})") from None
        return reps, out

    @property
    def kept(self) -> dict[str, Kept]:
        """Each scenario's start-ups in the first :data:`MAX_KEPT` kept replications (none if not
        kept)."""
        return self._kept_tables[1]

    @property
    def kept_replications(self) -> list[int]:
        """The replications whose start-up tables :attr:`kept` holds."""
        return self._kept_tables[0]


def columns(
    path: Path, required: bool, coded: tuple[str, ...] = (), remedy: str | None = None
) -> dict[str, np.ndarray] | None:
    """A Parquet file's columns as numpy arrays; each text column named in ``coded`` comes as
    ``NAME`` (integer codes) and ``NAME_names`` (the names they index): millions of short strings
    as Python objects would cost gigabytes and seconds. A missing (when ``required``), empty,
    truncated or corrupt file is :func:`damaged`'s error, with ``remedy`` as what to do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        if required:
            raise damaged(path, "missing", remedy)
        return None
    try:
        t = pq.read_table(
            path, read_dictionary=[c for c in coded if c in pq.read_schema(path).names]
        )
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160]})", remedy) from None
    out = {}
    for name in t.column_names:
        col = t.column(name)
        if name in coded:
            if pa.types.is_dictionary(col.type):
                col = col.unify_dictionaries().combine_chunks()
            else:  # an all-null column (no start-up anywhere) is not read as a dictionary
                col = col.combine_chunks().cast(pa.string()).dictionary_encode()
            # Arrow's 32-bit codes as they are (a 64-bit copy of tens of millions took a second)
            codes = col.indices if col.indices.null_count == 0 else col.indices.fill_null(0)
            out[name] = codes.to_numpy(zero_copy_only=False)
            out[f"{name}_names"] = np.asarray(col.dictionary.to_pylist(), dtype=object)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def replications_in(path: Path) -> list[int]:
    """Replications present in a Parquet file, from row-group statistics where possible."""
    import pyarrow.parquet as pq

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


KEPT_COLUMNS = [
    "replication",
    "region",
    "serial",
    "cohort_year",
    "founded_month",
    "supported",
    "support_month",
    "grant_krw",
    "private_krw",
    "conglomerate_krw",
    "crossed_valley",
    "outcome",
    "outcome_month",
    "cause",
]


KEPT_TEXT = ("scenario", "region", "outcome", "cause")
"""startups.parquet's text columns :func:`read_kept` reads as dictionary codes (a million short
strings as Python objects would cost a second)."""


def read_kept(
    path: Path, names: list[str], reps: list[int], calendars: dict[str, dict],
    codes: dict[str, int],
) -> dict[str, Kept]:
    """Each scenario's rows of startups.parquet in replications ``reps`` (a scenario without any
    left out): the file is read once and split by scenario, each scenario's rows in file order.
    ``calendars``: each scenario's resolved ``calendar``; ``codes``: region name -> code for the
    firms' twin keys."""
    import pyarrow.parquet as pq

    present = set(pq.ParquetFile(path).schema_arrow.names)
    cols = KEPT_COLUMNS + [n for n in ("weight",) if n in present]
    t = pq.read_table(path, columns=["scenario"] + cols, read_dictionary=list(KEPT_TEXT))
    if t.num_rows == 0:
        return {}
    text = {n: _codes(t.column(n)) for n in KEPT_TEXT}
    c = {n: t.column(n).to_numpy() for n in cols if n not in KEPT_TEXT}
    scenario, scenario_names = text["scenario"]
    wanted = np.isin(c["replication"], np.asarray(reps, np.int64))
    out = {}
    for n in names:
        at = np.flatnonzero(scenario_names == n)
        rows = np.flatnonzero((scenario == at[0]) & wanted) if at.size else at
        if rows.size:
            out[n] = _kept({**{k: v[rows] for k, v in c.items()},
                            **{k: (v[0][rows], v[1]) for k, v in text.items()}},
                           calendars.get(n) or {}, codes)
    return out


def _codes(col) -> tuple[np.ndarray, np.ndarray]:
    """A text column as integer codes and the names they index (None last, for nulls, when there
    are any)."""
    import pyarrow as pa

    if pa.types.is_dictionary(col.type):
        col = col.unify_dictionaries().combine_chunks()
    else:  # an all-null column is not read as a dictionary
        col = col.combine_chunks().cast(pa.string()).dictionary_encode()
    names = col.dictionary.to_pylist() + ([None] if col.null_count else [])
    codes = col.indices.fill_null(len(names) - 1) if col.null_count else col.indices
    return codes.to_numpy(zero_copy_only=False).astype(np.int64), np.array(names, dtype=object)


def _kept(c: dict, calendar: dict, codes: dict[str, int]) -> Kept:
    """One scenario's :class:`Kept` from its rows' columns (text columns as (codes, names))."""
    region_codes, region_names = c["region"]
    outcome, outcomes = c["outcome"]
    cause, causes = c["cause"]
    first, last = calendar.get("cohort_first_year", -10**9), calendar.get("cohort_last_year", 10**9)
    founded = c["founded_month"].astype(float)
    replication = c["replication"].astype(np.int64)
    return Kept(
        replication=replication,
        key=firm_keys(replication, region_names, c["serial"], codes, region_codes=region_codes),
        founded=founded,
        region=region_names[region_codes],
        serial=c["serial"].astype(np.int64),
        cohort=(c["cohort_year"] >= first) & (c["cohort_year"] <= last),
        age_end=c["outcome_month"].astype(float) - founded,
        died=outcome == _code(outcomes, "died"),
        acquired=outcome == _code(outcomes, "acquired"),
        supported=c["supported"].astype(bool),
        support_age=c["support_month"].astype(float) - founded,
        granted=c["grant_krw"].astype(float) > 0,
        funded=(c["private_krw"].astype(float) > 0) | (c["conglomerate_krw"].astype(float) > 0),
        crossed=c["crossed_valley"].astype(bool),
        cause=causes[cause],
        weight=c["weight"].astype(float) if "weight" in c else np.ones(len(founded)),
    )


def _code(names: np.ndarray, name: str) -> int:
    """The code of ``name`` among ``names`` (-1, matching no row, if absent)."""
    at = np.flatnonzero(names == name)
    return int(at[0]) if at.size else -1


def probes_by_scenario(columns: dict) -> dict[str, dict]:
    """probes.parquet's columns (scenario and region as codes, see :func:`columns`) split by
    scenario, each firm with its twin key (see :func:`~sim.analysis.effects.firm_keys`), rows in
    file order within a scenario.

    The file holds each task's rows together (plan order), so a scenario's rows are a few runs of
    consecutive rows: copied run by run, not gathered row by row after a sort of tens of millions
    of codes (a third of the time)."""
    regions = columns["region_names"]
    codes = {r: i for i, r in enumerate(regions)}
    scen = np.asarray(columns["scenario"])
    n = scen.size
    cut = np.flatnonzero(scen[1:] != scen[:-1]) + 1
    starts, ends = np.concatenate([[0], cut]), np.concatenate([cut, [n]])
    run_code = scen[starts] if n else scen[:0]
    skip = ("scenario", "region", "scenario_names", "region_names")
    out = {}
    for i, name in enumerate(columns["scenario_names"]):
        runs = np.flatnonzero(run_code == i)
        if runs.size == 0:
            continue

        def pick(v, runs=runs):
            v = np.asarray(v)
            return np.concatenate([v[starts[r]:ends[r]] for r in runs])

        part = {k: pick(v) for k, v in columns.items() if k not in skip}
        part["key"] = firm_keys(part["replication"], regions, part["serial"], codes,
                                region_codes=pick(columns["region"]))
        out[str(name)] = part
    return out


def _footer(path: Path) -> None:
    """Check a Parquet file is there and whole (its footer reads), else raise :func:`damaged`'s
    error."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise damaged(path, "missing")
    try:
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160]})") from None
