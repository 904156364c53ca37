"""A parameter with a range: ``KEY=LOW:HIGH`` on the command line, mapped onto scenario keys.

Written the same way wherever a command takes a range (``sweep --param``, ``optimize --levers``,
``calibrate --params``), parsed by one function (:func:`parse_range`) and held by one class
(:class:`Param`):

- ``centre_defaults.selection_noise=0:2``: a number between 0 and 2;
- ``centres.*.seats=10:80``: ``*`` stands for every entry of that mapping in the scenario file
  (every centre here), all set to the same value; integer-typed keys are rounded;
- ``regions.*.funding_access=x0.5:x1.5``: a relative range, each target's own value times a
  factor between 0.5 and 1.5 (regions keep their differences);
- ``centre_defaults.grants.per_startup_krw=5e6:1e8:log``: sampled uniformly in log-space.

A :class:`Param` maps a unit coordinate ``u`` in [0, 1] to a value and that value to the scenario
keys it sets; designs, optimisers and calibration all work in those unit coordinates.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ScenarioError
from .keys import expand_key, get_key, key_kind

_KEY = re.compile(r"^[A-Za-z0-9_ .*-]+$")
_NUMBER = r"[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*(x?)({_NUMBER})\s*:\s*(x?)({_NUMBER})\s*(?::\s*(log|linear))?\s*$")


@dataclass(frozen=True)
class Range:
    """``KEY=LOW:HIGH[:log]`` as parsed: the key as written and its bounds (None: key alone)."""

    key: str
    low: float | None = None
    high: float | None = None
    scale: str = "linear"
    relative: bool = False

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(low, high), or None for a key given alone (its range comes from elsewhere)."""
        return None if self.low is None else (self.low, self.high)


def parse_range(text: str, option: str = "--param", *, key_alone: bool = False) -> Range:
    """``KEY=LOW:HIGH[:log]`` (or ``KEY`` alone, with ``key_alone``) -> :class:`Range`.

    Raises :class:`ScenarioError` (exit code 2) with what was expected and what was found.
    """
    text = str(text).strip()
    if "=" not in text and not key_alone:
        raise ScenarioError(f"{option} {text!r}: expected dotted.key=LOW:HIGH, for example "
                            "centre_defaults.selection_noise=0:2 or centres.*.seats=10:80.")
    key, sep, rng = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() for p in parts) or not _KEY.match(key):
        raise ScenarioError(f"{option} {text!r}: expected a dotted key such as "
                            "centres.Daejeon.seats"
                            f"{' (optionally =LOW:HIGH)' if key_alone else ' before =LOW:HIGH'}.")
    if not sep:
        return Range(key)
    m = _RANGE.match(rng)
    if not m:
        raise ScenarioError(f"{option} {text!r}: expected LOW:HIGH after '=' (two numbers; "
                            "optionally :log, or xLOW:xHIGH for factors of the scenario's own "
                            f"values), found {rng!r}.")
    rel_lo, lo, rel_hi, hi, scale = m.groups()
    if bool(rel_lo) != bool(rel_hi):
        raise ScenarioError(f"{option} {text!r}: write both ends as factors (x0.5:x2) or neither.")
    low, high = _number(lo, f"{option} {key}"), _number(hi, f"{option} {key}")
    if not low < high:
        raise ScenarioError(f"{option} {text!r}: expected LOW < HIGH, found {low:g} and {high:g} "
                            "(the bounds are reversed or empty).")
    scale = scale or "linear"
    if scale == "log" and low <= 0:
        raise ScenarioError(f"{option} {text!r}: a log range needs LOW > 0, found {low:g}.")
    return Range(key, low, high, scale, bool(rel_lo))


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
    initial: float | None = None
    """The base scenario's own value, where the caller starts from it (calibration)."""

    @property
    def integer(self) -> bool:
        """Whether the key takes whole numbers: sampled values are rounded before they are set."""
        return self.kind == "int"

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
            v = float(min(max(np.rint(v), math.ceil(self.low - 1e-9)),
                          math.floor(self.high + 1e-9)))
        return float(v)

    def unit(self, value: float) -> float:
        """Where ``value`` sits in the range, in [0, 1] (the inverse of :meth:`value`)."""
        if self.high == self.low:
            return 0.5
        if self.scale == "log":
            return float(np.log(value / self.low) / np.log(self.high / self.low))
        return float((value - self.low) / (self.high - self.low))

    def levels(self, n: int) -> list[float]:
        """``n`` evenly spaced values (in the parameter's scale), duplicates after rounding
        dropped."""
        if self.kind == "bool":
            return [0.0, 1.0] if n >= 2 else [0.0]
        return list(dict.fromkeys(self.value(u)
                                  for u in (np.linspace(0, 1, n) if n > 1 else [0.5])))

    def assignments(self, value: float) -> dict[str, object]:
        """Concrete key -> value to write into the scenario for this parameter value."""
        out: dict[str, object] = {}
        for i, t in enumerate(self.targets):
            v = value * self.base[i] if self.relative else value
            out[t] = _typed(v, self.kind)
        return out

    def to_json(self) -> dict:
        """Plain data for the manifest, so a resumed experiment samples the same parameter."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Param:
        """The parameter a manifest recorded (lists back to tuples; ``base`` absent in old ones)."""
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
        raise ScenarioError(f"{where}: {text!r} is not a number.") from None
    if not math.isfinite(v):
        raise ScenarioError(f"{where}: expected a finite number, found {text!r}.")
    return v



def make_param(text: str, data: dict, resolved: dict, option: str = "--param") -> Param:
    """Parse ``KEY=LOW:HIGH[:log]`` against a scenario: raw ``data`` (for ``*``) and its resolved
    form."""
    r = parse_range(text, option)
    key, low, high, scale, relative = r.key, r.low, r.high, r.scale, r.relative
    targets = expand_key(data, key, option)
    kinds = {key_kind(t) for t in targets}
    if None in kinds:
        bad = next(t for t in targets if key_kind(t) is None)
        raise ScenarioError(f"{option} {key}: {bad} is not a setting of the scenario schema; "
                         "expected a key such as centre_defaults.seats, "
                         "centres.Daejeon.grants.per_startup_krw or regions.Busan.funding_access "
                         "(see: python run_sim.py show FILE).")
    if kinds & {"text"}:
        raise ScenarioError(f"{option} {key}: is text (a name or a date), not a number that can be "
                            "swept.")
    kind = "int" if "int" in kinds else "bool" if kinds == {"bool"} else "float"
    if relative and kind != "float":
        raise ScenarioError(f"{option} {key}: a relative range (xLOW:xHIGH) needs a real-valued "
                            f"key; {key} is {kind}.")
    if kind == "bool" and (low, high) != (0.0, 1.0):
        raise ScenarioError(f"{option} {key}: is true/false; give the range 0:1.")
    if kind == "int" and math.floor(high + 1e-9) < math.ceil(low - 1e-9):
        raise ScenarioError(f"{option} {key}: is a whole number, and {low:g}:{high:g} holds none.")
    base: list[float] = []
    if relative:
        for t in targets:
            v = get_key(resolved, t)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ScenarioError(f"{option} {key}: a relative range needs a value to multiply, "
                                 f"but {t} has none in the resolved scenario.")
            base.append(float(v))
    return Param(key=key, targets=targets, low=low, high=high, kind=kind, scale=scale,
                 relative=relative, base=tuple(base))


def make_params(texts, data: dict, resolved: dict, option: str = "--param", *,
                relative: bool = True) -> list[Param]:
    """Parse several ranges against a scenario; each concrete key may be set by one of them only.
    Without ``relative``, a range of factors (xLOW:xHIGH) is refused: where values are recorded as
    the key's own (a posterior's draws), a factor would be read as a value."""
    params = [make_param(t, data, resolved, option) for t in texts]
    for p in params:
        if p.relative and not relative:
            raise ScenarioError(f"{option} {p.key}: a range of factors (x{p.low:g}:x{p.high:g}) "
                                "cannot be a prior: the posterior's draws are values of the key "
                                "itself, and a compare sets them as such. Give the range in the "
                                "key's own values (LOW:HIGH).")
    seen: dict[str, str] = {}
    for p in params:
        for t in p.targets:
            if t in seen:
                raise ScenarioError(f"{option}: {t} is set by both {seen[t]} and {p.key}; give "
                                    "each key once.")
            seen[t] = p.key
    return params
