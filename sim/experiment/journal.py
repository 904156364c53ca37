"""Append-only JSON-lines journals: what a study has already simulated, kept across interruptions.

A study that chooses its next simulations from the last ones (an optimiser, a calibration in
waves) writes one line per finished (candidate, replication) and flushes it to disk at once. A
restarted study reads the journal back and simulates only what is missing.

A record is a line that ends in a newline: one ``write`` puts a record and its newline on disk, so
only the last line can be cut short (a crash, a full disk, ``kill -9``). Such a torn tail is not a
record: reading skips it (that evaluation simply runs again), and :func:`append_line` cuts it away
before it appends, so the next record never gets glued onto it and lost. Any other line that is not
a UTF-8 JSON record of the shape the study expects means the file was damaged or edited: reading it
is exit 2 with the file, the line and what to do, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ..errors import ResultsError, UsageError

Shape = Mapping[str, type | Callable[[object], bool]]
"""A record's required fields: each a type (``int`` excludes true/false) or a test of the value."""


def numbers(required=(), *, null: bool = True) -> Callable[[object], bool]:
    """A test for a mapping of names to numbers (or null, with ``null``) holding every name in
    ``required``: a record's metrics."""
    def test(value) -> bool:
        return isinstance(value, dict) and all(
            (v is None and null) or (isinstance(v, (int, float)) and not isinstance(v, bool))
            for v in value.values()) and all(k in value and value[k] is not None for k in required)

    test.__doc__ = ("a mapping of names to numbers" + (" or null" if null else "")
                    + (f" with {', '.join(required)}" if required else ""))
    return test


def number_rows(width: int | None = None) -> Callable[[object], bool]:
    """A test for a list of lists of numbers, each ``width`` long (each as long as the first if
    None): a wave's design points."""
    def test(value) -> bool:
        if not (isinstance(value, list) and all(isinstance(row, list) for row in value)):
            return False
        widths = {len(row) for row in value} | ({width} if width is not None and value else set())
        return len(widths) <= 1 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                        for row in value for x in row)

    test.__doc__ = f"a list of rows of {width if width is not None else 'equally many'} numbers"
    return test


def _fits(value, want) -> bool:
    if isinstance(want, type):
        return isinstance(value, want) and not (want is int and isinstance(value, bool))
    return bool(want(value))


def _wanted(shape: Shape) -> str:
    names = {str: "text", int: "a whole number", float: "a number", dict: "a mapping",
             list: "a list"}
    return ", ".join(f"{k} ({names.get(w) or (w.__doc__ or 'a value of the right kind').strip()})"
                     for k, w in shape.items())


def _damaged(path: Path, line: int, problem: str, shape: Shape | None) -> UsageError:
    expected = f" with {_wanted(shape)}" if shape else ""
    root = Path(path).parent
    return UsageError(
        f"{path}: line {line} {problem}; expected one JSON record per line{expected}. This "
        "journal of what the study has already simulated is damaged (edited by hand, or written by "
        "another program): delete that line to simulate that record again, or move the file aside "
        f"to simulate everything again, then continue with: python run_sim.py resume {root}",
        path=Path(path))


def read_lines(path: Path, shape: Shape | None = None) -> Iterator[dict]:
    """Every whole record of the journal at ``path`` (none if it does not exist), each checked
    against ``shape``; a torn last line is skipped, any other bad line is a :class:`UsageError`
    (exit 2)."""
    path = Path(path)
    if not path.is_file():
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the evaluation journal ({exc.strerror}).",
                           path=path) from None
    lines = data.split(b"\n")
    for i, raw in enumerate(lines[:-1], start=1):  # the last piece has no newline: torn, or empty
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _damaged(path, i, f"is not UTF-8 text (bad byte at position {exc.start + 1})",
                           shape) from None
        except ValueError as exc:
            raise _damaged(path, i, f"is not valid JSON ({exc})", shape) from None
        if not isinstance(record, dict):
            raise _damaged(path, i, f"holds {type(record).__name__}, not a record", shape)
        for key, want in (shape or {}).items():
            if key not in record:
                raise _damaged(path, i, f"has no {key}", shape)
            if not _fits(record[key], want):
                shown = json.dumps(record[key])[:60]
                raise _damaged(path, i, f"holds {shown} as {key}", shape)
        yield record


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
        raise ResultsError(f"{path}: cannot write the evaluation journal ({exc.strerror}).",
                           path=path) from None
