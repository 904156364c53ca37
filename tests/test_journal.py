"""Journals of what a study has simulated (evaluations.jsonl, waves.jsonl, candidates.jsonl): a torn
last line never swallows the next record."""

from __future__ import annotations

import json

from sim.experiment.journal import append_line, read_lines


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
    assert list(read_lines(path)) == [_record(i) for i in range(3)]
    append_line(path, _record(4))
    append_line(path, _record(5))
    assert list(read_lines(path)) == [_record(i) for i in (0, 1, 2, 4, 5)]
    assert path.read_bytes().count(b"\n") == 5 and path.read_bytes().endswith(b"\n")
    # a file that is nothing but a torn line (one cut inside a multi-byte character) is cut to empty
    path.write_bytes("{\"point\": \"대전".encode()[:-1])
    assert list(read_lines(path)) == []
    append_line(path, _record(6))
    assert list(read_lines(path)) == [_record(6)]
