"""Results tables as comparable rows, shared by the experiment and robustness tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

TIMING = {"seconds"}
"""Columns that differ between two runs of the same experiment (wall-clock time)."""


def nan_safe(row: dict) -> dict:
    """NaN != NaN, so compare it as a marker (exact equality everywhere else)."""
    return {k: "NaN" if isinstance(v, float) and v != v else v for k, v in row.items()}


def metric_rows(folder: Path) -> list[dict]:
    """replications.parquet as rows sorted by (scenario, replication), timing columns dropped."""
    rows = pq.read_table(Path(folder) / "replications.parquet").to_pylist()
    rows = [nan_safe({k: v for k, v in r.items() if k not in TIMING}) for r in rows]
    return sorted(rows, key=lambda r: (r["scenario"], r["replication"]))


def table_rows(folder: Path, name: str) -> list[dict]:
    """A Parquet table's rows, NaN-safe for equality, without the timing columns."""
    return [nan_safe(r) for r in pq.read_table(Path(folder) / name).to_pylist()]
