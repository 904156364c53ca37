"""Scenario files -> validated, frozen :class:`Scenario`.

Order of resolution: read the YAML file; if it has ``extends``, resolve the parent first
(a name is looked up as ``NAME.yaml`` beside the file, then in the shipped ``scenarios/``;
a path is taken relative to the file) and deep-merge the child over it; then apply ``--set``
overrides; then merge ``centre_defaults`` and ``conglomerate_defaults`` under each entry;
then validate. Every failure is a :class:`ScenarioError` naming the file, the key path, what
was expected and what was found.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
import json
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ScenarioError
from . import timeline
from .keys import (
    ENTRY_NAMES,
    expand_key,
    field_at,
    lookup,
    missing_entry,
    model_at,
    override_targets,
    parse_override,
    set_dotted,
)
from .safe_yaml import MAX_DEPTH, SafeLoader
from .safe_yaml import short as _short
from .schema import Calendar, Centre, Conglomerate, Funding, ReferenceProblems, Scenario, Startups

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
MAX_FILE_BYTES = 2_000_000
MAX_NODES = 200_000
MAX_EXTENDS = 20
"""Longest chain of ``extends`` (a file extending a file extending ...)."""
MAX_PROBLEMS = 25
"""Validation problems listed in one message (the rest are counted)."""
YEAR_KEYED = ("_by_year",)
"""Mappings whose keys are calendar years (whole numbers: the market's yearly series, any key ending
in ``_by_year``); every other key is a name (text), except a timeline's months."""


# --------------------------------------------------------------------------------------------
# YAML reading
# --------------------------------------------------------------------------------------------
def _os_reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def read_yaml(path: Path) -> dict:
    """Read one scenario file into a mapping, or raise ScenarioError."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(f"{path}: no such file.", path=path) from None
    except (OSError, ValueError) as exc:  # a name too long, a symlink loop, a NUL byte, ...
        raise ScenarioError(f"{path}: cannot be read ({_os_reason(exc)}).", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{path}: is a directory; expected a scenario file (YAML).", path=path)
    if not stat.S_ISREG(info.st_mode):
        # reading a pipe would wait forever and a device like /dev/zero would never end
        raise ScenarioError(f"{path}: is not a regular file (a device, pipe or socket); expected a "
                            "scenario file (YAML).", path=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({_os_reason(exc)}).", path=path) from None
    if len(raw) > MAX_FILE_BYTES:
        size = max(info.st_size, len(raw))
        raise ScenarioError(f"{path}: is {'more than ' if size == len(raw) else ''}{size:,} bytes; "
                            f"a scenario file is at most {MAX_FILE_BYTES:,} bytes.", path=path)
    digest = hashlib.blake2b(raw, digest_size=16).digest()
    hit = _PARSED.get(digest)
    # the same bytes parse to the same mapping: a comparison reads its base files often
    if hit is not None:
        return copy.deepcopy(hit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: is not UTF-8 text (bad byte at offset {exc.start}); save it "
                            "as UTF-8.", path=path) from None
    try:
        data = yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a yaml.SafeLoader with limits
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: is not valid YAML{where}: {problem}.", path=path) from None
    except RecursionError:
        raise ScenarioError(f"{path}: nesting is too deep to read.", path=path) from None
    if data is None:
        raise ScenarioError(f"{path}: is empty; expected a mapping with at least a name (or "
                            "extends).", path=path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of keys to values, found "
                            f"{_kind(data)}.", path=path)
    _check_tree(data, str(path))
    if len(_PARSED) >= 256:
        _PARSED.clear()
    _PARSED[digest] = data
    return copy.deepcopy(data)


_PARSED: dict[bytes, dict] = {}
"""Parsed scenario files by a hash of their bytes (checked, never handed out: callers get
copies)."""


def _check_tree(data, origin: str) -> None:
    """Plain, finite data: text keys, valid Unicode, bounded size and depth, nothing containing
    itself.

    YAML anchors can make a value contain itself (``a: &x [*x]``) and escapes can make text that
    is not Unicode (``"\\ud800"``); neither may reach validation or the model.
    """
    count = [0]

    def text_ok(s: str, what: str) -> None:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = s[exc.start]
            raise ScenarioError(f"{origin}: {what} holds the character {bad!r} (a lone surrogate, "
                                "not a Unicode character); expected plain Unicode text.") from None

    inside: set[int] = set()  # the containers on the way down to the current value

    def walk(node, where: str, depth: int) -> None:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise ScenarioError(f"{origin}: has more than {MAX_NODES:,} values; a scenario file is "
                                "far smaller.")
        at = where or "the top level"
        if isinstance(node, str):
            text_ok(node, f"the text at {at}")
            return
        if not isinstance(node, (dict, list)):
            return
        if depth > MAX_DEPTH + 10:
            raise ScenarioError(f"{origin}: {at}: nesting deeper than {MAX_DEPTH} levels; a "
                                "scenario is far flatter.")
        if id(node) in inside:
            raise ScenarioError(f"{origin}: {at}: the value contains itself (a YAML alias inside "
                                "its own anchor); expected plain nested values.")
        inside.add(id(node))
        if isinstance(node, dict):
            for k, v in node.items():
                # a timeline's months may be read by YAML as dates or numbers:
                # timeline.month_key says
                month = (where == timeline.PREFIX and isinstance(k, (datetime.date, int))
                         and not isinstance(k, bool))
                year = isinstance(k, int) and not isinstance(k, bool) and where.endswith(YEAR_KEYED)
                if not isinstance(k, str) and not (month or year):
                    raise ScenarioError(f"{origin}: key {_short(k)} at {at} must be a name (text), "
                                        f"found {_kind(k)}.")
                if not (month or year):
                    text_ok(k, f"key {_short(k)} at {at}")
                walk(v, f"{where}.{k}" if where else k, depth + 1)
        else:
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]", depth + 1)
        inside.discard(id(node))

    walk(data, "", 0)


def _kind(v) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false",
            int: "a whole number",
            float: "a number", type(None): "nothing (null)"}.get(type(v), type(v).__name__)


# --------------------------------------------------------------------------------------------
# extends, merge, overrides
# --------------------------------------------------------------------------------------------
def deep_merge(base: Mapping, over: Mapping, _copy=copy.deepcopy) -> dict:
    """Merge ``over`` onto ``base`` (a new mapping, both copied): mappings merge key by key,
    anything else replaces."""
    out = {k: _copy(v) for k, v in base.items() if k not in over}
    for k, v in over.items():
        b = base.get(k)
        if isinstance(v, Mapping) and isinstance(b, Mapping):
            out[k] = deep_merge(b, v, _copy)
        else:
            out[k] = _copy(v)
    return {k: out[k] for k in (*base, *(k for k in over if k not in base))}


def _plain_copy(value):
    """A copy of plain data already checked by :func:`_check_tree` (mappings, lists, scalars;
    nothing that contains itself): a fraction of ``copy.deepcopy``'s time."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


def _find_parent(ref: str, child: Path) -> Path:
    ref = str(ref)
    looks_like_path = "/" in ref or ref.endswith((".yaml", ".yml"))
    candidates = [child.parent / ref] if looks_like_path else [
        child.parent / f"{ref}.yaml", SHIPPED / f"{ref}.yaml"]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte, ...
            continue
    raise ScenarioError(
        f"{child}: extends: expected the name of a scenario in {child.parent} or {SHIPPED}, or a "
        f"path to one; found {_short(ref)}, which does not exist.", path=child)


def resolve_file(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read ``path`` and everything it extends, merged (child over parent)."""
    path = Path(path)
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop: read_yaml says what is wrong
        real = path.absolute()
    if real in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, real))
        raise ScenarioError(f"{path}: extends forms a cycle ({cycle}); a scenario cannot extend "
                            "itself.", path=path)
    if len(_chain) >= MAX_EXTENDS:
        raise ScenarioError(f"{_chain[0]}: extends: expected a chain of at most {MAX_EXTENDS} "
                            f"files, found a longer one (... -> {_chain[-1].name} -> {path.name} "
                            "-> ...).", path=path)
    data = read_yaml(path)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(f"{path}: extends: expected a scenario name or path, found "
                            f"{_short(parent_ref)}.",
                            path=path)
    parent = resolve_file(_find_parent(parent_ref, path), (*_chain, real))
    parent.pop("description", None)  # a variant describes itself
    parent.pop("name", None)  # and is named by itself (or its file), never after its parent
    return deep_merge(parent, data)


def apply_overrides(data: dict, overrides: Iterable[str], *, empty_ok: bool = False) -> dict:
    """A copy of ``data`` with each ``--set dotted.key=value`` applied (``*`` for every entry; see
    :func:`keys.override_targets` for ``empty_ok``)."""
    out = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        if parts[0] == timeline.PREFIX and len(parts) > 1:
            _set_dated(out, parts, value, text, empty_ok)
            continue
        for target in override_targets(out, parts, text, empty_ok=empty_ok):
            set_dotted(out, target, copy.deepcopy(value), f"--set {text!r}")
    return out


def _set_dated(data: dict, parts: list[str], value, text: str, empty_ok: bool) -> None:
    """``--set timeline.MONTH.KEY=VALUE``: one more change in that month (KEY as a file writes it,
    ``*`` and all); ``--set timeline.MONTH=null`` drops the month. In a comparison (``empty_ok``) a
    ``*`` over entries a scenario does not have sets nothing there, as for every ``--set``."""
    try:
        month = timeline.month_key(parts[1])
    except ValueError as exc:
        raise ScenarioError(f"--set {text!r}: timeline.{parts[1]}: expected {exc}.") from None
    line = data.get(timeline.PREFIX)
    if not isinstance(line, dict):
        line = data[timeline.PREFIX] = {}
    if len(parts) == 2:
        line[month] = copy.deepcopy(value)
        return
    key = ".".join(parts[2:])
    if "*" in parts[2:] and empty_ok:
        try:
            expand_key(data, key, "--set")
        except ScenarioError:
            return
    entry = line.get(month)
    if not isinstance(entry, dict):
        entry = line[month] = {}
    entry[key] = copy.deepcopy(value)


def base_data(file: Path, overrides=(), *, empty_ok: bool = False) -> dict:
    """The scenario file merged with what it extends and with ``--set``, before validation."""
    data = resolve_file(Path(file))
    data.setdefault("name", Path(file).stem)
    return apply_overrides(data, overrides, empty_ok=empty_ok)


def _check_defaults(defaults: object, model: type[BaseModel], where: str, origin: str) -> None:
    """Unknown keys in centre_defaults / conglomerate_defaults get the same treatment as
    elsewhere."""
    if not isinstance(defaults, dict):
        raise ScenarioError(f"{origin}: {where}: expected a mapping, found {_kind(defaults)}.")
    for k, v in defaults.items():
        field = model.model_fields.get(k)
        if field is None:
            raise ScenarioError(f"{origin}: {where}.{k}: unknown "
                                f"key{_did_you_mean(k, model.model_fields)}; expected one of "
                                f"{sorted(model.model_fields)}.")
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            _check_defaults(v, ann, f"{where}.{k}", origin)


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _expand_defaults(data: dict, origin: str) -> dict:
    out = dict(data)
    for dkey, section, model in (("centre_defaults", "centres", Centre),
                                 ("conglomerate_defaults", "conglomerates", Conglomerate)):
        defaults = out.get(dkey) or {}
        _check_defaults(defaults, model, dkey, origin)
        entries = out.get(section)
        if isinstance(entries, dict):
            out[section] = {name: deep_merge(defaults, e, _plain_copy) if isinstance(e, dict) else e
                            for name, e in entries.items()}
    return out


# --------------------------------------------------------------------------------------------
# validation with readable errors
# --------------------------------------------------------------------------------------------
def _user_loc(loc, data) -> list:
    """An error's location without pydantic's own parts (``[key]``, ``function-after[...]``).

    A part that names a key of the data is the user's, even if it looks like pydantic's
    (a region called ``[x]``).
    """
    out, node = [], data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif isinstance(part, str) and part.startswith(("function-", "[")):
            continue
        else:
            node = None
        out.append(part)
    return out


def format_validation_error(exc: ValidationError, data: dict, origin: str,
                            lead: str = "invalid scenario") -> str:
    """Pydantic's errors as one planner-readable paragraph: each problem at the key path the
    analyst wrote (not pydantic's internal location), with what was expected and what was found."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = _user_loc(err["loc"], data)
        key = ".".join(str(p) for p in loc) or "(top level)"
        typ = err["type"]
        found, value, _ = lookup(data, loc)
        if typ == "extra_forbidden" and loc:
            model = model_at(loc[:-1])
            known = sorted(model.model_fields) if model else []
            msg = f"unknown key{_did_you_mean(str(loc[-1]), known)}; expected one of {known}"
        elif typ == "missing":
            msg = "a value is required here, but the key is missing"
        elif typ == "value_error" and isinstance((err.get("ctx") or {}).get("error"),
                                                 ReferenceProblems):
            for p, m in err["ctx"]["error"].problems:
                lines.append(f"{p}: expected {m}.")
            continue
        else:
            text = err["msg"]
            text = text.removeprefix("Value error, ").removeprefix("Input should be ")
            for kind, plain in (("String", "text"), ("List", "a list"),
                                ("Dictionary", "a mapping")):
                # "String should have at least 1 character"
                if text.startswith(f"{kind} should have "):
                    text = f"{plain} with {text.removeprefix(f'{kind} should have ')}"
            # our own validators already say what they found; pydantic's messages do not
            msg = f"expected {text}" + (f", found {_short(value)}" if found
                                        and "found " not in text else "")
        lines.append(f"{key}: {msg}.")
    if len(lines) > MAX_PROBLEMS:
        lines = [*lines[:MAX_PROBLEMS], f"(and {len(lines) - MAX_PROBLEMS:,} more problems.)"]
    return f"{origin}: {lead}: " + " ".join(lines)


def _schema_defaults() -> dict:
    """Defaults of the sections whose nested mappings a file may give only in part."""
    return {"calendar": Calendar().model_dump(mode="json"),
            "startups": Startups().model_dump(mode="json"),
            "funding": Funding().model_dump(mode="json")}


def validate(data: dict, origin: str = "scenario") -> Scenario:
    """Validate a merged mapping (schema defaults under it) into a frozen Scenario.

    A ``timeline`` is resolved month by month (:func:`_resolve_timeline`): the scenario in force
    from each month on is validated like the file itself, and the result keeps the concrete
    changes."""
    _check_tree(data, origin)  # again: --set values are YAML too
    data = dict(data)
    raw_line = data.pop(timeline.PREFIX, None)
    if raw_line is None or raw_line == {}:
        return _validate_plain(data, origin)
    if not isinstance(raw_line, dict):
        raise ScenarioError(f"{origin}: invalid scenario: timeline: expected a mapping of months "
                            f"(YYYY-MM) to changes, found {_kind(raw_line)}.")
    base = _validate_plain(data, origin)
    resolved = _resolve_timeline(data, raw_line, base, origin)
    plain = resolved_dict(base)
    plain[timeline.PREFIX] = resolved
    try:
        return Scenario.model_validate(plain)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, plain, origin)) from None


def _validate_plain(data: dict, origin: str, lead: str = "invalid scenario") -> Scenario:
    data = _expand_defaults(data, origin)
    defaults = _schema_defaults()
    for key, value in defaults.items():
        if isinstance(data.get(key), dict):
            data[key] = deep_merge(value, data[key], _plain_copy)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, data, origin, lead)) from None


def _resolve_timeline(data: dict, raw_line: dict, base: Scenario, origin: str) -> dict:
    """The timeline as written -> its concrete changes, month by month, each month's scenario
    validated.

    Each month's changes are applied, in the order written, to the file's data as in force before
    that month (wildcards expanded there, ``centre_defaults`` merged under the centres afterwards,
    as in a file), and the result is validated; what it changes, key by concrete key, is that
    month's entry."""
    cal = base.calendar
    months: dict[str, tuple[object, object]] = {}
    for written, entry in raw_line.items():
        try:
            month = timeline.month_key(written)
        except ValueError as exc:
            raise ScenarioError(f"{origin}: timeline: expected {exc}.") from None
        if month in months:
            raise ScenarioError(f"{origin}: timeline: the month {month} is given twice "
                                f"({months[month][0]!r} and {written!r}); write its changes under "
                                "one month.")
        if entry is None:  # a month dropped (``2018-03: null``, ``--set timeline.2018-03=null``)
            months[month] = (written, None)
            continue
        if not 0 <= cal.month(month) < cal.horizon_months:
            raise ScenarioError(f"{origin}: timeline.{month}: expected a month inside the calendar "
                                f"{cal.start} .. {cal.horizon}, found {month}; drop it (--set "
                                f"'timeline.{month}=null') or move the calendar.")
        if entry is not None and not isinstance(entry, dict):
            raise ScenarioError(f"{origin}: timeline.{month}: expected the changes from that month "
                                "on, as a mapping of keys to values (centres.*.seats: 40), found "
                                f"{_kind(entry)}.")
        months[month] = (written, entry)
    out: dict[str, dict] = {}
    state, before = _plain_copy(data), resolved_dict(base)
    # whole, as resolved: a dated round or stage is one of a set
    for section in ("funding", "startups"):
        state[section] = _plain_copy(before[section])
    for month in sorted(months, key=cal.month):
        entry = months[month][1] or {}
        touched = set()  # the sections these changes can reach (defaults reach their entries)
        for written, value in timeline.flatten(entry):
            for key in _dated_targets(state, written, f"{origin}: timeline.{month}.{written}", cal,
                                      month):
                set_dotted(state, key.split("."), _plain_copy(value),
                           f"{origin}: timeline.{month}.{written}")
                head = key.split(".")[0]
                reached = {"centre_defaults": "centres",
                           "conglomerate_defaults": "conglomerates"}.get(head, head)
                touched |= {head, reached}
        if not touched:
            continue
        after = resolved_dict(_validate_plain(_plain_copy(state), origin,
                                              f"timeline.{month}: invalid from that "
                                              "month on"))
        # in the schema's order, not a set's (hash seed)
        touched = [k for k in after if k in touched]
        items = dict(timeline.changes({k: before[k] for k in touched},
                                      {k: after[k] for k in touched}))
        for key in items:
            why = timeline.refusal(key.split("."))
            if why is not None:
                raise ScenarioError(f"{origin}: timeline.{month}: the changes there change {key}, "
                                    f"which cannot be dated ({why}).")
        if items:
            out[month] = items
        before = after
    return out


def _dated_targets(state: dict, written: str, where: str, cal, month: str) -> tuple[str, ...]:
    """The concrete keys a timeline change written as ``written`` sets in ``state``: ``*`` expanded,
    each naming entries that exist and a setting of the schema that can take a new value from
    ``month`` on (a key read per market quarter at a quarter's first month)."""
    parts = written.split(".")
    if not written or any(not p for p in parts):
        raise ScenarioError(f"{where}: expected a dotted key such as centres.Daejeon.seats.")
    try:
        keys = expand_key(state, written) if "*" in parts else (written,)
    except ScenarioError:
        raise ScenarioError(f"{where}: expected '*' to stand for every entry of a mapping, but "
                            "this scenario has no entries there.") from None
    for key in keys:
        kparts = key.split(".")
        gone = missing_entry(state, kparts)
        if gone is not None:
            section, name = gone
            known = state.get(section) or {}
            raise ScenarioError(f"{where}: expected the name of a "
                                f"{ENTRY_NAMES.get(section, 'entry')} of this scenario, found "
                                f"{name!r}{_did_you_mean(name, known)}.")
        if field_at(key) is None:
            raise ScenarioError(f"{where}: unknown key {key}; expected a key of the scenario "
                                "schema (python run_sim.py keys lists them).")
        why = timeline.refusal(kparts)
        if why is not None:
            raise ScenarioError(f"{where}: {key} cannot take a new value from a month on: {why}. "
                                + timeline.DATABLE_SUMMARY)
        why = timeline.period_problem(cal, month, key)
        if why is not None:
            raise ScenarioError(f"{where}: expected {why}.")
    return keys



def load_scenario(path: str | Path, overrides: Iterable[str] = (), *,
                  empty_ok: bool = False) -> Scenario:
    """The one entry point: file (+ extends, + --set) -> validated Scenario."""
    path = Path(path)
    return validate(base_data(path, overrides, empty_ok=empty_ok), origin=str(path))


def resolved_dict(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (what ``show`` prints and the manifest stores)."""
    return scenario.model_dump(mode="json")


def scenario_hash(scenario: Scenario) -> str:
    """A short digest of the resolved scenario: equal digests mean the same model inputs, which is
    how a resumed experiment knows its tasks still belong to the scenario."""
    blob = json.dumps(resolved_dict(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dump_yaml(data: dict) -> str:
    """YAML as an analyst would write it: keys in the schema's order, Hangul kept readable."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def header_comment(src) -> str:
    """The comment block a scenario file opens with (its policy question), as plain text ("" if
    none)."""
    if not src:
        return ""
    try:
        lines = Path(src).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, TypeError):
        return ""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line[1:].strip())
    return "\n".join(out)
