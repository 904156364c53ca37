"""Sweep parameters and experimental designs: which scenarios a sweep runs.

A sweep parameter is a dotted scenario key with a range, written ``KEY=LOW:HIGH`` on the
command line (the same keys as ``--set``):

- ``centre_defaults.selection_noise=0:2``: a number between 0 and 2;
- ``centres.*.seats=10:80``: ``*`` stands for every entry of that mapping in the scenario file
  (every centre here), all set to the same value; integer-typed keys are rounded;
- ``regions.*.funding_access=x0.5:x1.5``: a relative range, each target's own value times a
  factor between 0.5 and 1.5 (regions keep their differences);
- ``centre_defaults.grants.per_startup_krw=5e6:1e8:log``: sampled uniformly in log-space.

A design places points in the unit cube (one coordinate per parameter) and each point becomes
one scenario: the base file with the parameters' values set, validated before anything runs.

- ``lhs``: Latin hypercube (scipy.stats.qmc.LatinHypercube): ``N`` points, each parameter's
  range cut into ``N`` equal strata holding exactly one point each.
- ``sobol``: a Saltelli design for variance-based sensitivity: a scrambled Sobol' sequence
  (scipy.stats.qmc.Sobol) of dimension ``2k`` gives two ``N x k`` matrices A and B; the design
  is A, B and the ``k`` matrices AB_i (A with column i taken from B): ``N (k + 2)`` points.
  ``N`` must be a power of two (a Sobol' net is balanced only then).
- ``grid``: ``N`` evenly spaced levels per parameter (fewer for an integer range with fewer
  distinct values), every combination: ``N ** k`` points.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import types
import typing
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import UsageError
from ..scenario.loader import set_dotted

DESIGNS = ("lhs", "sobol", "grid")
MAX_POINTS = 20_000
"""A design larger than this is refused (a typo in --samples should not queue a year of work)."""

_KEY = re.compile(r"^[A-Za-z0-9_ .*-]+$")
_NUMBER = r"[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*(x?)({_NUMBER})\s*:\s*(x?)({_NUMBER})\s*(?::\s*(log|linear))?\s*$")


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One swept (or optimised) quantity: a range mapped onto one or more scenario keys."""

    key: str
    """The key as written (may contain ``*``)."""
    targets: tuple[str, ...]
    """The concrete dotted keys it sets (``*`` expanded against the scenario)."""
    low: float
    high: float
    kind: str = "float"
    """float | int | bool (int and bool values are rounded)."""
    scale: str = "linear"
    """linear | log (uniform in log-space)."""
    relative: bool = False
    """Values are factors applied to each target's own value in the base scenario."""
    base: tuple[float, ...] = ()
    """Each target's value in the base scenario (used by relative ranges)."""
    step: float = 0.0
    """Real values are rounded to a multiple of this (0: not rounded), e.g. 100,000 KRW."""

    @property
    def label(self) -> str:
        """A short name for tables and plots."""
        return self.key + (" (x base)" if self.relative else "")

    def raw(self, u: float) -> float:
        """The value at unit coordinate ``u`` before rounding (for curves over the range)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.scale == "log":
            return float(self.low * (self.high / self.low) ** u)
        return float(self.low + u * (self.high - self.low))

    def value(self, u: float) -> float:
        """The value at unit coordinate ``u`` in [0, 1] (rounded for int and bool)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "bool":
            return 1.0 if u >= 0.5 else 0.0
        v = self.raw(u)
        if self.kind == "float" and self.step > 0:
            v = min(max(round(v / self.step) * self.step, self.low), self.high)
        if self.kind == "int":
            v = float(min(max(np.rint(v), math.ceil(self.low - 1e-9)), math.floor(self.high + 1e-9)))
        return float(v)

    def unit(self, value: float) -> float:
        """Where ``value`` sits in the range, in [0, 1] (the inverse of :meth:`value`)."""
        if self.high == self.low:
            return 0.5
        if self.scale == "log":
            return float(np.log(value / self.low) / np.log(self.high / self.low))
        return float((value - self.low) / (self.high - self.low))

    def levels(self, n: int) -> list[float]:
        """``n`` evenly spaced values (in the parameter's scale), duplicates after rounding dropped."""
        if self.kind == "bool":
            return [0.0, 1.0] if n >= 2 else [0.0]
        return list(dict.fromkeys(self.value(u) for u in (np.linspace(0, 1, n) if n > 1 else [0.5])))

    def assignments(self, value: float) -> dict[str, object]:
        """Concrete key -> value to write into the scenario for this parameter value."""
        out: dict[str, object] = {}
        for i, t in enumerate(self.targets):
            v = value * self.base[i] if self.relative else value
            out[t] = _typed(v, self.kind)
        return out

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Param:
        d = dict(d)
        d["targets"] = tuple(d["targets"])
        d["base"] = tuple(d.get("base", ()))
        return cls(**d)


def _typed(v: float, kind: str):
    if kind == "bool":
        return bool(v >= 0.5)
    if kind == "int":
        return int(round(v))
    return float(v)


def _number(text: str, where: str) -> float:
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a number.") from None
    if not math.isfinite(v):
        raise UsageError(f"{where}: expected a finite number, found {text!r}.")
    return v


def parse_range(text: str, option: str = "--param") -> tuple[str, float, float, str, bool]:
    """``KEY=LOW:HIGH[:log]`` -> (key, low, high, scale, relative). Raises UsageError."""
    if "=" not in text:
        raise UsageError(f"{option} {text!r}: expected dotted.key=LOW:HIGH, for example "
                         "centre_defaults.selection_noise=0:2 or centres.*.seats=10:80.")
    key, _, rng = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() for p in parts) or not _KEY.match(key):
        raise UsageError(f"{option} {text!r}: expected a dotted key such as centres.Daejeon.seats before '='.")
    m = _RANGE.match(rng)
    if not m:
        raise UsageError(f"{option} {text!r}: expected LOW:HIGH after '=' (numbers; optionally :log, or "
                         "xLOW:xHIGH for factors of the scenario's own values), found {rng!r}.")
    rel_lo, lo, rel_hi, hi, scale = m.groups()
    if bool(rel_lo) != bool(rel_hi):
        raise UsageError(f"{option} {text!r}: write both ends as factors (x0.5:x2) or neither.")
    low, high = _number(lo, f"{option} {key}"), _number(hi, f"{option} {key}")
    if not low < high:
        raise UsageError(f"{option} {text!r}: expected LOW < HIGH, found {low:g} and {high:g}.")
    scale = scale or "linear"
    if scale == "log" and low <= 0:
        raise UsageError(f"{option} {text!r}: a log range needs LOW > 0, found {low:g}.")
    return key, low, high, scale, bool(rel_lo)


def expand_key(data: dict, key: str, option: str = "--param") -> tuple[str, ...]:
    """Concrete dotted keys for ``key``: each ``*`` is every entry of that mapping in ``data``."""
    parts = key.split(".")
    found: list[list[str]] = [[]]
    for i, p in enumerate(parts):
        nxt = []
        for prefix in found:
            if p != "*":
                nxt.append([*prefix, p])
                continue
            node = _get(data, prefix)
            if not isinstance(node, dict) or not node:
                where = ".".join(prefix) or "the top level"
                raise UsageError(f"{option} {key}: '*' at position {i + 1} stands for every entry of {where}, "
                                 "but the scenario has no entries there.")
            nxt.extend([*prefix, str(k)] for k in node)
        found = nxt
    return tuple(".".join(f) for f in found)


def _get(data, parts):
    node = data
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def set_key(data: dict, key: str, value) -> None:
    """Set a dotted key in a nested mapping, creating mappings on the way (like ``--set``)."""
    set_dotted(data, key.split("."), value, key)


def _unwrap(ann):
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


def key_kind(key: str) -> str | None:
    """float | int | bool | text for a concrete dotted key, from the scenario schema (None: unknown)."""
    from pydantic import BaseModel

    from ..scenario.schema import Centre, Conglomerate, Scenario

    ann: object = Scenario
    parts = key.split(".")
    i = 0
    while i < len(parts):
        p = parts[i]
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if ann is Scenario and p in ("centre_defaults", "conglomerate_defaults"):
                ann = Centre if p == "centre_defaults" else Conglomerate
                i += 1
                continue
            field = ann.model_fields.get(p)
            if field is None:
                return None
            ann = field.annotation
            i += 1
            continue
        if typing.get_origin(ann) is dict:
            ann = typing.get_args(ann)[1]
            i += 1  # the free key of a mapping (a region, a centre, a stage ...)
            continue
        return None
    ann = _unwrap(ann)
    if ann is bool:
        return "bool"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if ann is str:
        return "text"
    return None


def make_param(text: str, data: dict, resolved: dict, option: str = "--param") -> Param:
    """Parse ``KEY=LOW:HIGH[:log]`` against a scenario: raw ``data`` (for ``*``) and its resolved form."""
    key, low, high, scale, relative = parse_range(text, option)
    targets = expand_key(data, key, option)
    kinds = {key_kind(t) for t in targets}
    if None in kinds:
        bad = next(t for t in targets if key_kind(t) is None)
        raise UsageError(f"{option} {key}: {bad} is not a setting of the scenario schema; expected a key such "
                         "as centre_defaults.seats, centres.Daejeon.grants.per_startup_krw or "
                         "regions.Busan.funding_access (see: python run_sim.py show FILE).")
    if kinds & {"text"}:
        raise UsageError(f"{option} {key}: is text (a name or a date), not a number that can be swept.")
    kind = "int" if "int" in kinds else "bool" if kinds == {"bool"} else "float"
    if relative and kind != "float":
        raise UsageError(f"{option} {key}: a relative range (xLOW:xHIGH) needs a real-valued key; {key} is {kind}.")
    if kind == "bool" and (low, high) != (0.0, 1.0):
        raise UsageError(f"{option} {key}: is true/false; give the range 0:1.")
    if kind == "int" and math.floor(high + 1e-9) < math.ceil(low - 1e-9):
        raise UsageError(f"{option} {key}: is a whole number, and {low:g}:{high:g} holds none.")
    base: list[float] = []
    if relative:
        for t in targets:
            v = _get(resolved, t.split("."))
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise UsageError(f"{option} {key}: a relative range needs a value to multiply, but {t} has none "
                                 "in the resolved scenario.")
            base.append(float(v))
    return Param(key=key, targets=targets, low=low, high=high, kind=kind, scale=scale, relative=relative,
                 base=tuple(base))


def make_params(texts, data: dict, resolved: dict, option: str = "--param") -> list[Param]:
    params = [make_param(t, data, resolved, option) for t in texts]
    seen: dict[str, str] = {}
    for p in params:
        for t in p.targets:
            if t in seen:
                raise UsageError(f"{option}: {t} is set by both {seen[t]} and {p.key}; give each key once.")
            seen[t] = p.key
    return params


# ----------------------------------------------------------------------------------------------
# designs
# ----------------------------------------------------------------------------------------------
@dataclass
class Design:
    """Design points: unit coordinates, the parameter values they map to, and a block label each."""

    kind: str
    samples: int
    units: np.ndarray  # (m, k) in [0, 1]
    values: np.ndarray  # (m, k)
    blocks: list[str]  # lhs | grid | A | B | AB:<i>

    def __len__(self) -> int:
        return len(self.blocks)


def is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def design_size(kind: str, k: int, n: int, params: list[Param] | None = None) -> int:
    if kind == "lhs":
        return n
    if kind == "sobol":
        return n * (k + 2)
    if kind == "grid":
        return math.prod(len(p.levels(n)) for p in params) if params else n ** k
    raise UsageError(f"--design: expected one of {', '.join(DESIGNS)}, found {kind!r}.")


def check_design(kind: str, n: int, params: list[Param]) -> None:
    """Refuse designs that cannot work, with the reason and a fix (before anything runs)."""
    k = len(params)
    if k == 0:
        raise UsageError("sweep: give at least one --param KEY=LOW:HIGH.")
    if kind not in DESIGNS:
        raise UsageError(f"--design: expected one of {', '.join(DESIGNS)}, found {kind!r}.")
    if kind == "sobol" and not is_power_of_two(n):
        lo = 1 << max(0, n.bit_length() - 1)
        raise UsageError(f"--samples {n}: the sobol design needs a power of two (a Sobol' sequence is balanced "
                         f"only then), for example {lo} or {lo * 2}; it runs N x (parameters + 2) points.")
    if kind == "sobol" and n < 2:
        raise UsageError("--samples: the sobol design needs at least 2 base samples (4 or more for indices "
                         "worth reading).")
    if kind == "grid" and n < 2:
        raise UsageError("--samples: the grid design needs at least 2 levels per parameter.")
    if kind == "lhs" and n < 2:
        raise UsageError("--samples: the lhs design needs at least 2 points.")
    m = design_size(kind, k, n, params)
    if m > MAX_POINTS:
        raise UsageError(f"--samples {n} with {k} parameters and the {kind} design makes {m:,} design points; "
                         f"at most {MAX_POINTS:,} are allowed. Use fewer samples or parameters.")


def lhs_units(k: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=k, rng=np.random.default_rng(seed)).random(n)


def saltelli_units(k: int, n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """A, B and the AB_i matrices stacked: ``n (k + 2)`` rows (Saltelli 2010)."""
    from scipy.stats import qmc

    base = qmc.Sobol(d=2 * k, scramble=True, rng=np.random.default_rng(seed)).random(n)
    a, b = base[:, :k], base[:, k:]
    rows = [a, b]
    blocks = ["A"] * n + ["B"] * n
    for i in range(k):
        ab = a.copy()
        ab[:, i] = b[:, i]
        rows.append(ab)
        blocks += [f"AB:{i}"] * n
    return np.vstack(rows), blocks


def make_design(kind: str, params: list[Param], n: int, seed: int) -> Design:
    """The design's points as unit coordinates and parameter values."""
    check_design(kind, n, params)
    k = len(params)
    if kind == "grid":
        levels = [p.levels(n) for p in params]
        values = np.array(list(itertools.product(*levels)), dtype=float).reshape(-1, k)
        units = np.array([[p.unit(v) for p, v in zip(params, row, strict=True)] for row in values]).reshape(-1, k)
        return Design(kind, n, units, values, ["grid"] * len(values))
    if kind == "lhs":
        units, blocks = lhs_units(k, n, seed), ["lhs"] * n
    else:
        units, blocks = saltelli_units(k, n, seed)
    values = np.array([[p.value(u) for p, u in zip(params, row, strict=True)] for row in units]).reshape(-1, k)
    return Design(kind, n, units, values, blocks)


def point_name(i: int, total: int) -> str:
    return f"point-{i:0{max(4, len(str(total - 1)))}d}"


def point_data(base: dict, params: list[Param], values, name: str) -> dict:
    """The base scenario mapping with one design point's values set (not yet validated)."""
    data = copy.deepcopy(base)
    for p, v in zip(params, values, strict=True):
        for key, val in p.assignments(float(v)).items():
            set_key(data, key, val)
    data["name"] = name
    return data
