"""Journals of what a study has simulated (evaluations.jsonl, waves.jsonl, candidates.jsonl): a
torn last line never swallows the next record, and a damaged journal is a clear exit 2, not a
traceback."""

from __future__ import annotations

import json

import pytest

from sim.errors import UsageError
from sim.experiment.journal import append_line, number_rows, numbers, read_lines

SHAPE = {"point": str, "replication": int, "values": numbers()}


def _record(i: int) -> dict:
    return {"point": f"w1-p{i:04d}", "replication": 0, "values": {"survival_1y": 0.5 + i / 100}}


def test_a_torn_last_line_is_cut_away_before_the_next_record_is_appended(tmp_path):
    """kill -9 in the middle of a write leaves a line without its newline: reading skips it, and the
    next append first cuts it away, so that record is not glued onto it and lost."""
    path = tmp_path / "evaluations.jsonl"
    for i in range(3):
        append_line(path, _record(i))
    whole = path.read_bytes()
    path.write_bytes(whole + json.dumps(_record(3)).encode()[:17])  # the fourth record, cut short
    assert list(read_lines(path, SHAPE)) == [_record(i) for i in range(3)]
    append_line(path, _record(4))
    append_line(path, _record(5))
    assert list(read_lines(path, SHAPE)) == [_record(i) for i in (0, 1, 2, 4, 5)]
    assert path.read_bytes().count(b"\n") == 5 and path.read_bytes().endswith(b"\n")
    # a file that is nothing but a torn line (one cut inside a multi-byte character) is cut to empty
    path.write_bytes("{\"point\": \"대전".encode()[:-1])
    assert list(read_lines(path, SHAPE)) == []
    append_line(path, _record(6))
    assert list(read_lines(path, SHAPE)) == [_record(6)]


@pytest.mark.parametrize("line, says", [
    (b'{"point": "w1-p0001", "replication": 0, "values": {"x": 1}\xff\xfe}',
     "line 2 is not UTF-8 text"),
    (b"[1, 2, 3]", "line 2 holds list, not a record"),
    (b'{"point": "w1-p0001", "replication": 0', "line 2 is not valid JSON"),
    (b'{"point": "w1-p0001", "values": {}}', "line 2 has no replication"),
    (b'{"point": 7, "replication": 0, "values": {}}', "line 2 holds 7 as point"),
    (b'{"point": "w1-p0001", "replication": true, "values": {}}',
     "line 2 holds true as replication"),
    (b'{"point": "w1-p0001", "replication": 0, "values": {"x": "high"}}', "as values"),
])
def test_a_damaged_line_is_a_usage_error_naming_the_file_and_line(tmp_path, line, says):
    """A whole line that is not UTF-8, not JSON, not a record or not of the study's shape is a
    UsageError (exit 2) naming the file, the line and the fields expected."""
    path = tmp_path / "evaluations.jsonl"
    first, last = (json.dumps(_record(i)).encode() for i in (0, 2))
    path.write_bytes(first + b"\n" + line + b"\n" + last + b"\n")
    with pytest.raises(UsageError) as exc:
        list(read_lines(path, SHAPE))
    assert says in exc.value.message and str(path) in exc.value.message and exc.value.exit_code == 2
    expected = "expected one JSON record per line with point (text), replication (a whole number)"
    assert expected in exc.value.message
    assert number_rows(2)([[0.1, 0.2], [0.3, 0.4]]) and not number_rows(2)([[0.1], [0.3]])
    assert not number_rows()([[0.1, 0.2], [0.3]]) and not number_rows()([[0.1, "x"]])
