"""Append-only JSON-lines journals: what a study has already simulated, kept across interruptions.

A study that chooses its next simulations from the last ones (an optimiser, a calibration in
waves) writes one line per finished (candidate, replication) and flushes it to disk at once. A
restarted study reads the journal back and simulates only what is missing.

A record is a line that ends in a newline: one ``write`` puts a record and its newline on disk, so
only the last line can be cut short (a crash, a full disk, ``kill -9``). Such a torn tail is not a
record: reading skips it (that evaluation simply runs again), and :func:`append_line` cuts it away
before it appends, so the next record never gets glued onto it and lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import ResultsError


def read_lines(path: Path) -> Iterator[dict]:
    """Every whole record of the journal at ``path`` (none if it does not exist); a torn last line
    is skipped."""
    path = Path(path)
    if not path.is_file():
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the evaluation journal ({exc.strerror}).",
                           path=path) from None
    for raw in data.split(b"\n")[:-1]:  # the last piece has no newline: torn, or empty
        if not raw.strip():
            continue
        try:
            yield json.loads(raw.decode("utf-8"))
        except ValueError:
            continue


def _cut_torn_tail(fd: int) -> None:
    """Truncate the file open at ``fd`` after its last newline, if it does not end with one."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end, step = size, 4096
    while end > 0:
        start = max(0, end - step)
        chunk = os.pread(fd, end - start, start)
        at = chunk.rfind(b"\n")
        if at >= 0:
            os.ftruncate(fd, start + at + 1)
            return
        end = start
    os.ftruncate(fd, 0)


def append_line(path: Path, obj: dict) -> None:
    """Add one record and make it durable before returning (a torn last line is cut away first)."""
    line = (json.dumps(obj, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _cut_torn_tail(fd)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write the evaluation journal "
                           f"({exc.strerror}).", path=path) from None
