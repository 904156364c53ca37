"""Dotted key paths into plain scenario data (mappings and lists): finding a node, reading a value.

Kept apart from :mod:`sim.scenario.keys` (which also walks the schema) so that the schema's own
helpers (:mod:`sim.scenario.timeline`) can read plain data without importing the schema back.
"""

from __future__ import annotations


def lookup(data, parts) -> tuple[bool, object, int]:
    """Follow ``parts`` (mapping keys, or list positions) into ``data``: (found, the node reached,
    how many parts were followed)."""
    node = data
    for i, p in enumerate(parts):
        in_dict = isinstance(node, dict) and p in node
        in_list = (isinstance(node, list) and isinstance(p, int) and not isinstance(p, bool)
                   and 0 <= p < len(node))
        if not (in_dict or in_list):
            return False, node, i
        node = node[p]
    return True, node, len(parts)


def dated_key(key: str) -> tuple[str, str] | None:
    """(month, key) of a dated key ``timeline.MONTH.KEY`` (None for any other key)."""
    parts = key.split(".", 2)
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "timeline" else None


def get_key(data, key: str):
    """The value at dotted ``key`` in ``data``, or None if it is not there. A dated key
    ``timeline.MONTH.KEY`` is KEY's value from that month on: the change written for that month, or
    else the value in force then (the last earlier change of KEY, or KEY's own value)."""
    dated = dated_key(key)
    if dated is None:
        found, node, _ = lookup(data, key.split("."))
        return node if found else None
    month, rest = dated
    line = data.get("timeline") if isinstance(data, dict) else None
    line = line if isinstance(line, dict) else {}
    for m in sorted((m for m in line if isinstance(m, str) and m <= month), reverse=True):
        entry = line[m]
        if isinstance(entry, dict) and rest in entry:
            return entry[rest]
        found, node, _ = lookup(entry, rest.split("."))
        if found:
            return node
    return get_key(data, rest)
