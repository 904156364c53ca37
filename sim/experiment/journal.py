"""Append-only JSON-lines journals: what a study has already simulated, kept across interruptions.

A study that chooses its next simulations from the last ones (an optimiser, a calibration in
waves) writes one line per finished (candidate, replication) and flushes it to disk at once. A
restarted study reads the journal back and simulates only what is missing; a line cut short by a
crash is skipped, so that evaluation simply runs again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import ResultsError


def read_lines(path: Path) -> Iterator[dict]:
    """Every complete line of the journal at ``path`` (none if it does not exist)."""
    if not Path(path).is_file():
        return
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            raw = raw.strip()
            if not raw:
                continue
            try:
                yield json.loads(raw)
            except ValueError:
                continue  # a line cut short by a crash: that evaluation simply runs again


def append_line(path: Path, obj: dict) -> None:
    """Add one line and make it durable before returning."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write the evaluation journal "
                           f"({exc.strerror}).", path=path) from None
