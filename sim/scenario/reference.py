"""The scenario key reference, generated from the schema: every key an analyst may write.

``python run_sim.py keys`` prints it; ``docs/scenario-keys.md`` is its saved copy (a test fails when
the two differ, so the document never drifts from the schema). Each row gives the dotted key (with
``<region>``, ``<centre>``, ... for named entries; ``--set`` and ``sweep --param`` accept ``*``
there), its type, its unit, its allowed range, its default and what it does (the field's docstring
in :mod:`sim.scenario.schema`).
"""

from __future__ import annotations

import math
import typing

from pydantic import BaseModel

from .keys import unwrap
from .schema import Centre, Conglomerate, Scenario
from .timeline import DATABLE_SUMMARY

ENTRY = {"regions": "<region>", "centres": "<centre>", "conglomerates": "<conglomerate>",
         "founder_education": "<programme>", "stages": "<stage>", "rounds": "<stage>",
         "sectors": "<sector>", "sector_mix": "<sector>"}
UNITS = (("_krw_per_month", "KRW a month"), ("_krw_per_year", "KRW a year"), ("_krw", "KRW"),
         ("_per_month", "per month"), ("_per_year", "per year"), ("_months", "months"))


def _unit(name: str, ann) -> str:
    if name.startswith("monthly_") and name.endswith("_krw"):
        return "KRW a month"
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return unit
    if name in ("opens", "closes", "starts", "start", "horizon"):
        return "YYYY-MM"
    if "probability" in name or name in ("apply_probability", "max_probability"):
        return "share (0-1)"
    if "multiplier" in name or name.endswith("_exponent") or name.endswith("_sigma"):
        return "factor"
    if name.endswith("_year"):
        return "year"
    return ""


def _type(ann) -> str:
    ann = unwrap(ann)
    origin = typing.get_origin(ann)
    if origin is list:
        return "list of " + _type(typing.get_args(ann)[0])
    if origin is dict:
        return "mapping"
    if ann is type(None):
        return "null"
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type(a) for a in typing.get_args(ann))
    names = {bool: "true/false", int: "whole number", float: "number", str: "text"}
    return names.get(ann, getattr(ann, "__name__", str(ann)))


def _range(info) -> str:
    lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
    for m in info.metadata:
        for attr in ("ge", "gt"):
            if (v := getattr(m, attr, None)) is not None:
                lo, lo_open = float(v), attr == "gt"
        for attr in ("le", "lt"):
            if (v := getattr(m, attr, None)) is not None:
                hi, hi_open = float(v), attr == "lt"
    if lo == -math.inf and hi == math.inf:
        return ""
    left = "" if lo == -math.inf else (f"> {lo:g}" if lo_open else f">= {lo:g}")
    right = "" if hi == math.inf else (f"< {hi:g}" if hi_open else f"<= {hi:g}")
    return ", ".join(p for p in (left, right) if p)


def _default(info) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return "(section)"
        return "{}" if value == {} else "[]" if value == [] else "(see schema)"
    v = info.default
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1e4:
        return f"{v:,.0f}"
    if isinstance(v, int) and abs(v) >= 1e4:
        return f"{v:,}"
    return str(v)


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, ...]]:
    rows = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = unwrap(info.annotation)
        doc = " ".join((info.description or "").split())
        if name == "timeline":
            rows.append((f"{key}.<YYYY-MM>.<key>", "the key's own", "the key's own",
                         "the key's own", "{}",
                         f"{doc} Any key that can be dated (see *Dated changes* below), written as "
                         "--set writes it."))
            continue
        if name in ("centre_defaults", "conglomerate_defaults"):
            of = "centre" if name == "centre_defaults" else "conglomerate"
            rows.append((f"{key}.*", "mapping", "", "", "{}",
                         f"{doc} Any key of {of}s.<{of}> below.".strip()))
            continue
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += _rows(ann, key + ".")
            continue
        if typing.get_origin(ann) is dict:
            value = unwrap(typing.get_args(ann)[1]) if typing.get_args(ann) else None
            entry = ENTRY.get(name, "<name>")
            if isinstance(value, type) and issubclass(value, BaseModel):
                rows += _rows(value, f"{key}.{entry}.")
                continue
            rows.append((f"{key}.{entry}", _type(value) if value is not None else "any",
                         _unit(name, value), _range(info), _default(info), doc))
            continue
        rows.append((key, _type(ann), _unit(name, ann), _range(info), _default(info), doc))
    return rows


def reference_markdown() -> str:
    """The key reference as Markdown."""
    lines = [
        "# Scenario keys",
        "",
        "Every key a scenario file may hold, generated from the schema "
            "(`sim/scenario/schema.py`) by",
        "`python run_sim.py keys`; do not edit by hand. `<region>`, `<centre>` and the like "
            "stand for the",
        "names of entries (`--set` and `sweep --param` accept `*` there: "
            "`centres.*.seats=40`). Unknown keys",
        "are errors. Money is Korean won (KRW), time is months from the calendar's start "
            "unless a unit says",
        "otherwise; shares are fractions between 0 and 1.",
        "",
        "`centre_defaults` holds any key of a centre "
        f"(`{', '.join(list(Centre.model_fields)[:4])}`, ...) and",
        "`conglomerate_defaults` any key of a conglomerate "
        f"(`{', '.join(list(Conglomerate.model_fields)[:3])}`, ...):",
        "each entry starts from them and overrides what it sets.",
        "",
        "| key | type | unit | range | default | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for row in _rows(Scenario, ""):
        cells = [c.replace("|", "\\|") for c in row]
        lines.append(f"| `{cells[0]}` | " + " | ".join(cells[1:]) + " |")
    lines += ["", *DATED]
    return "\n".join(lines) + "\n"


DATED = [
    "## Dated changes",
    "",
    "Any key that can be dated takes a new value from a month on under `timeline` "
        "(months as `YYYY-MM`,",
    "inside the calendar). A month holds changes written as `--set` writes them, "
        "a dotted key (`*` for every",
    "entry) and its value; a nested mapping is read as its dotted leaves. "
        "A month's changes apply in the",
    "order written, on top of everything in force before it, and the scenario from that month "
        "on is",
    "validated like the file itself (a `centre_defaults` change reaches every centre "
        "that does not set the",
    "key itself). The model reads a value when it acts: a contest, a budget refill, a selection, a",
    "graduation, a partner's decision, a founding.",
    "",
    "```yaml",
    "timeline:",
    "  2018-03:                          # MSS task force: the one-partner pairing abolished",
    "    centres.*.partner: null",
    "  2019-01:",
    "    centre_defaults.seats: 255      # every centre that does not set its own seats",
    "    conglomerates.SK.annual_budget_krw: 0",
    "```",
    "",
    "From the command line: `--set 'timeline.2018-03.centres.*.partner=null'` adds a change,",
    "`--set 'timeline.2018-03=null'` drops a month, `--set timeline=null` the whole timeline. "
        "A file that",
    "`extends` another merges its timeline into the parent's month by month. "
        "`show` prints the resolved",
    "timeline: every concrete key each month changes.",
    "",
    DATABLE_SUMMARY,
]


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")
