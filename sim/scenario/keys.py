"""Dotted scenario keys: reading, setting and expanding them, and what the schema says of each.

A dotted key names one value of a scenario file, as ``--set``, ``sweep --param``, ``optimize
--levers`` and ``calibrate --params`` write it: ``centres.Daejeon.seats``. ``*`` stands for every
entry of a mapping (``centres.*.seats``). The schema walker (:func:`field_at`) follows a key
through the pydantic models, so every command knows a key's type and allowed range the same way.
"""

from __future__ import annotations

import math
import types
import typing

import yaml

from ..errors import ScenarioError
from .paths import dated_key, get_key, lookup  # noqa: F401 - get_key and lookup stay part of keys
from .safe_yaml import SafeLoader


# ----------------------------------------------------------------------------------------------
# reading and writing nested mappings
# ----------------------------------------------------------------------------------------------
def set_dotted(data: dict, parts: list[str], value, label: str) -> None:
    """Set ``value`` at the key path ``parts``, creating mappings on the way; ``label`` names
    the override in errors."""
    node = data
    for i, p in enumerate(parts[:-1]):
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{label}: {'.'.join(parts[:i + 1])} is not a mapping, so it has "
                                f"no key {parts[i + 1]!r}.")
        node = nxt
    node[parts[-1]] = value


def set_key(data: dict, key: str, value) -> None:
    """Set a dotted key in a nested mapping, creating mappings on the way (like ``--set``); a dated
    key ``timeline.MONTH.KEY`` becomes the change ``KEY: value`` in that month."""
    dated = dated_key(key)
    if dated is not None:
        line = data.get("timeline")
        if not isinstance(line, dict):
            line = data["timeline"] = {}
        entry = line.get(dated[0])
        if not isinstance(entry, dict):
            entry = line[dated[0]] = {}
        entry[dated[1]] = value
        return
    set_dotted(data, key.split("."), value, key)


def expand_key(data: dict, key: str, option: str = "--param") -> tuple[str, ...]:
    """Concrete dotted keys for ``key``: each ``*`` is every entry of that mapping in ``data`` (in a
    dated key ``timeline.MONTH.KEY``, of the scenario's own mappings)."""
    dated = dated_key(key)
    if dated is not None:
        return tuple(f"timeline.{dated[0]}.{k}" for k in expand_key(data, dated[1], option))
    parts = key.split(".")
    found: list[list[str]] = [[]]
    for i, p in enumerate(parts):
        nxt = []
        for prefix in found:
            if p != "*":
                nxt.append([*prefix, p])
                continue
            ok, node, _ = lookup(data, prefix)
            if not ok or not isinstance(node, dict) or not node:
                where = ".".join(prefix) or "the top level"
                raise ScenarioError(f"{option} {key}: '*' at position {i + 1} stands for every "
                                    f"entry of {where}, but the scenario has no entries there.")
            nxt.extend([*prefix, str(k)] for k in node)
        found = nxt
    return tuple(".".join(f) for f in found)


ENTRY_NAMES = {"regions": "region", "centres": "centre", "conglomerates": "conglomerate",
               "founder_education": "founder-education programme", "stages": "stage",
               "rounds": "funding round"}


def override_targets(data: dict, parts: list[str], text: str, *,
                     empty_ok: bool = False) -> list[list[str]]:
    """The concrete key paths a ``--set`` override writes in ``data``: ``*`` stands for every entry
    of that mapping (as in ``sweep --param``). A ``*`` over a mapping with no entries is an error,
    or, with ``empty_ok`` (a comparison, where the counterfactual has no centres), sets nothing."""
    if "*" not in parts:
        return [list(parts)]
    try:
        keys = expand_key(data, ".".join(parts), "--set")
    except ScenarioError:
        if empty_ok:
            return []
        raise
    return [k.split(".") for k in keys]


def missing_entry(data: dict, parts: list[str]) -> tuple[str, str] | None:
    """The first named entry (a region, a centre, ...) on the path ``parts`` that ``data`` lacks, as
    (section, name); ``*`` needs at least one entry. None when every entry on the path exists (in a
    dated key ``timeline.MONTH.KEY``, the entries of KEY)."""
    if len(parts) > 2 and parts[0] == "timeline":
        return missing_entry(data, parts[2:])
    for i in range(1, len(parts)):
        section = parts[i - 1]
        if section not in ENTRY_NAMES:
            continue
        found, node, _ = lookup(data, parts[:i])
        if not found or not isinstance(node, dict):
            return section, parts[i]
        if parts[i] == "*" and not node or parts[i] != "*" and parts[i] not in node:
            return section, parts[i]
    return None


def parse_override(text: str) -> tuple[list[str], object]:
    """``a.b.c=value`` -> (["a","b","c"], value read as a YAML scalar)."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected dotted.key=value, for example "
                            "centres.Daejeon.seats=40.")
    key, _, raw = text.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError(f"--set {text!r}: expected dotted.key=value with a non-empty key.")
    try:
        value = yaml.load(raw, Loader=SafeLoader) if raw.strip() else ""  # noqa: S506
    except (yaml.YAMLError, RecursionError):
        value = raw  # not a YAML value: taken as text (validation says if text does not fit)
    return parts, value


# ----------------------------------------------------------------------------------------------
# the schema walker
# ----------------------------------------------------------------------------------------------
def unwrap(ann):
    """Strip Annotated and Optional from a type annotation."""
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) != 1:
                return ann
            ann = args[0]
        else:
            return ann


def field_at(key: str):
    """(annotation, pydantic FieldInfo) of the setting a concrete dotted key names, or None.

    Mappings of the schema (regions, centres, stages, rounds, ...) take a free name as their key;
    ``centre_defaults`` and ``conglomerate_defaults`` hold a centre's and a conglomerate's fields.
    """
    from pydantic import BaseModel

    from .schema import Centre, Conglomerate, Scenario

    dated = dated_key(key)
    if dated is not None:
        return field_at(dated[1])
    ann: object = Scenario
    info = None
    for p in key.split("."):
        ann = unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if ann is Scenario and p in ("centre_defaults", "conglomerate_defaults"):
                ann, info = (Centre if p == "centre_defaults" else Conglomerate), None
                continue
            info = ann.model_fields.get(p)
            if info is None:
                return None
            ann = info.annotation
        elif typing.get_origin(ann) is dict:
            ann, info = typing.get_args(ann)[1], None  # the free key of a mapping
        else:
            return None
    return unwrap(ann), info


def model_at(loc):
    """The pydantic model whose fields live at ``loc`` (a validation error's location, which may
    hold free names, list positions and pydantic's own parts), or None."""
    from pydantic import BaseModel

    from .schema import Scenario

    ann: object = Scenario
    for part in loc:
        ann = unwrap(ann)
        origin = typing.get_origin(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            info = ann.model_fields.get(part) if isinstance(part, str) else None
            if info is not None:  # anything else is a free name or pydantic's own: stay here
                ann = info.annotation
        elif origin is dict:
            ann = typing.get_args(ann)[1]  # the free key of a mapping
        elif origin is list:
            ann = typing.get_args(ann)[0]
        else:
            return None
    ann = unwrap(ann)
    if typing.get_origin(ann) in (dict, list):
        ann = unwrap(typing.get_args(ann)[-1])
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def key_kind(key: str) -> str | None:
    """float | int | bool | text for a concrete dotted key, from the scenario schema (None:
    unknown)."""
    found = field_at(key)
    if found is None:
        return None
    return {bool: "bool", int: "int", float: "float", str: "text"}.get(found[0])


def field_limits(key: str) -> tuple[float, float]:
    """The schema's allowed range (ge/gt/le/lt) of the setting at ``key``, (-inf, inf) if
    unknown."""
    found = field_at(key)
    info = found[1] if found else None
    lo, hi = -math.inf, math.inf
    for m in (info.metadata if info is not None else []):
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            v = getattr(m, attr, None)
            if v is not None:
                lo, hi = (max(lo, float(v)), hi) if is_low else (lo, min(hi, float(v)))
    return lo, hi
