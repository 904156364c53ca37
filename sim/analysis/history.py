"""The programme year by year against its published figures.

A *history file* (``scenarios/targets/history.yaml``) holds published yearly series, each with its
source and the column of the yearly ledger it is compared with: the centres' public money, the
partners' money, supported start-ups by the end of each year. A *ledger* is one row per replication
and calendar year (``years.parquet``: ``replication``, ``year`` and amounts). :func:`compare_ledger`
puts the two side by side: for every published point, the mean over replications, the range of the
replications, the ratio to the published figure and whether it is within the point's tolerance.
Pure functions of plain data: nothing here runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ..errors import ScenarioError
from ..scenario.safe_yaml import load_yaml_text

SERIES_KEYS = ("column", "cumulative", "source", "copied_from", "note", "relative_tolerance",
               "points", "check_points")


@dataclass(frozen=True)
class YearPoint:
    """One published yearly figure."""

    series: str
    year: int
    value: float
    column: str | None  # the ledger's column it is compared with (None: reported, not comparable)
    cumulative: bool  # compared with the ledger's column summed over the years up to this one
    tolerance: float  # relative
    check: bool  # a check point: reported, not a target
    source: str


def load_history(path: str | Path) -> list[YearPoint]:
    """The published points of a history file, series by series in the file's order, years in
    order."""
    path = Path(path)
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"))  # as scenario files are read
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ScenarioError(f"{path}: cannot be read as a history file ({exc}).") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of series, found {type(data).__name__}.")
    out: list[YearPoint] = []
    for name, series in data.items():
        if name in ("name", "description", "scenario"):
            continue
        if not isinstance(series, dict):
            raise ScenarioError(f"{path}: {name}: expected a series (column, source, points), "
                                f"found {type(series).__name__}.")
        unknown = [k for k in series if k not in SERIES_KEYS]
        if unknown:
            raise ScenarioError(f"{path}: {name}.{unknown[0]}: unknown key; expected one of "
                                f"{list(SERIES_KEYS)}.")
        tol = series.get("relative_tolerance", 0.2)
        if not isinstance(tol, (int, float)) or not 0 < tol <= 10:
            raise ScenarioError(f"{path}: {name}.relative_tolerance: expected a number in (0, 10], "
                                f"found {tol!r}.")
        for group, check in (("points", False), ("check_points", True)):
            for year, value in (series.get(group) or {}).items():
                if not isinstance(year, int) or not 1900 <= year <= 2200:
                    raise ScenarioError(f"{path}: {name}.{group}: expected calendar years, "
                                        f"found {year!r}.")
                if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                    raise ScenarioError(f"{path}: {name}.{group}.{year}: expected a non-negative "
                                        f"number, found {value!r}.")
                out.append(YearPoint(name, year, float(value), series.get("column"),
                                     bool(series.get("cumulative")), float(tol), check,
                                     str(series.get("source", ""))))
    return sorted(out, key=lambda p: (list(data).index(p.series), p.year))


def published_record(path: str | Path, shown: str | None = None) -> dict:
    """A history file as plain data a results folder keeps (the study records it when it runs, so a
    report drawn later does not read today's file): ``file`` (``shown``, or the path), ``scenario``
    (the scenario the record is of, the file's ``scenario`` key; None if it names none),
    ``series`` (name -> column, cumulative, source, note, copied_from) and ``points``
    (:class:`YearPoint` fields)."""
    path = Path(path)
    points = load_history(path)
    data = load_yaml_text(path.read_text(encoding="utf-8"))
    series = {name: {k: v.get(k) for k in ("column", "cumulative", "source", "note", "copied_from")}
              for name, v in data.items() if isinstance(v, dict)}
    scenario = data.get("scenario")
    return {"file": shown or str(path), "scenario": scenario if isinstance(scenario, str) else None,
            "series": series, "points": [asdict(p) for p in points]}


def record_points(record: Mapping | None) -> list[YearPoint]:
    """The published points of a recorded history file (:func:`published_record`)."""
    return [YearPoint(**p) for p in (record or {}).get("points", ())]


def compare_ledger(ledger: Iterable[Mapping], points: list[YearPoint]) -> list[dict]:
    """Each published point beside the ledger's figure for its year.

    ``ledger``: rows with ``replication``, ``year`` and the points' columns (a DataFrame's
    ``to_dict("records")``, or years.parquet read as a list). Returns one row per point: ``series``,
    ``year``, ``published``, ``simulated`` (mean over replications; None where the ledger has no
    such column or year), ``low`` and ``high`` (the replications' range), ``ratio`` (simulated /
    published), ``within`` (|ratio - 1| <= tolerance) and ``check``.
    """
    by_rep: dict[object, dict[int, Mapping]] = {}
    for row in ledger:
        by_rep.setdefault(row.get("replication", 0), {})[int(row["year"])] = row
    out = []
    for p in points:
        values = []
        for years in by_rep.values():
            v = _value(years, p)
            if v is not None:
                values.append(v)
        sim = sum(values) / len(values) if values else None
        ratio = sim / p.value if sim is not None and p.value > 0 else None
        out.append({"series": p.series, "year": p.year, "published": p.value, "simulated": sim,
                    "low": min(values) if values else None, "high": max(values) if values else None,
                    "ratio": ratio,
                    "within": None if ratio is None else abs(ratio - 1.0) <= p.tolerance + 1e-12,
                    "tolerance": p.tolerance, "check": p.check, "source": p.source})
    return out


def _value(years: Mapping[int, Mapping], p: YearPoint) -> float | None:
    """One replication's figure for point ``p``: its year's column, or the sum up to it
    (cumulative)."""
    if p.column is None or p.year not in years or p.column not in years[p.year]:
        return None
    if not p.cumulative:
        return float(years[p.year][p.column])
    return float(sum(row.get(p.column, 0.0) for y, row in years.items() if y <= p.year))
