"""Plain arguments, checked the same way for the command line and the Python API, before anything
runs.

Every study function takes plain values (numbers, texts, paths) and checks them here first, so that
``sim.compare(replications=1.5)`` is the same one-paragraph :class:`~sim.errors.UsageError` as a
bad ``-n`` on the command line, raised before a results folder exists. It also finds scenario
files by shipped name, turns a mapping of overrides into ``--set`` texts, and opens the executor a
study's plain ``executor``/``workers``/``scheduler`` arguments ask for.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..scenario.loader import SHIPPED

MAX_SEED = 2**63 - 1


def whole(
    value, name: str, low: int = 1, high: int = 100_000, *, optional: bool = False
) -> int | None:
    """``value`` as a whole number in ``[low, high]`` (None allowed when ``optional``), else a
    UsageError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        raise UsageError(f"{name}: expected a whole number from {low:,} to {high:,}, found "
                         f"{value!r}.")
    if not low <= value <= high:
        raise UsageError(f"{name}: expected a whole number from {low:,} to {high:,}, found "
                         f"{value!r}.")
    return int(value)


def seed_of(value) -> int:
    """A root seed: a whole number from 0 to 2**63 - 1."""
    return whole(value, "seed", 0, MAX_SEED)


def number(value, name: str, low: float = 0.0, high: float = math.inf, *, optional: bool = False,
           low_open: bool = False) -> float | None:
    """``value`` as a finite number in its range (None allowed when ``optional``), else a
    UsageError."""
    if value is None and optional:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or value > high or (low_open and value == low):
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        upper = "" if high == math.inf else f" to {high:g}"
        raise UsageError(f"{name}: expected a number {bound}{upper}, found {value!r}.")
    return float(value)


SCALES = {"": 1.0, "k": 1e3, "m": 1e6, "bn": 1e9, "b": 1e9, "tn": 1e12, "t": 1e12}
"""Suffixes an amount of won may carry: ``150M`` = 150,000,000 KRW, ``1.2tn``."""


def amount_krw(value, name: str, *, optional: bool = False) -> float | None:
    """An amount of won: a number, or text such as ``1.2e12``, ``1,200,000,000,000``, ``150M``,
    ``1.2bn`` (suffixes k, M, bn, tn; ``KRW`` may follow), positive and finite, else a
    UsageError."""
    if value is None and optional:
        return None
    v = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    elif isinstance(value, str):
        t = value.strip().lower().replace("_", "").replace(",", "").removesuffix("krw").strip()
        unit = next((u for u in ("bn", "tn", "k", "m", "b", "t") if t.endswith(u)), "")
        with contextlib.suppress(ValueError):
            v = float(t[: len(t) - len(unit)].strip()) * SCALES[unit]
    if v is None or not (v > 0 and math.isfinite(v)):
        raise UsageError(f"{name}: expected a positive amount in KRW (e.g. 150e6, 150,000,000 or "
                         f"150M), found {value!r}.")
    return v


def precision_of(pp) -> float | None:
    """``precision_pp`` (percentage points, as ``--precision``) as the fraction the experiment works
    in."""
    if pp is None:
        return None
    if not (isinstance(pp, (int, float)) and not isinstance(pp, bool) and 0 < pp < math.inf):
        raise UsageError("--precision: expected a positive number of percentage points such as "
                         f"0.1, found {pp}.")
    return pp / 100.0


def choice(value, name: str, options) -> str:
    """``value`` if it is one of ``options``, else a UsageError naming them."""
    if value not in options:
        raise UsageError(f"{name}: expected one of {', '.join(options)}, found {value!r}.")
    return value


def scenario_file(scenario) -> Path:
    """A scenario file from a path, or from a shipped scenario's bare name ("ccei-announced")."""
    p = Path(scenario)
    if p.is_file():
        return p
    named = str(scenario) and p.suffix not in (".yaml", ".yml") and len(p.parts) == 1
    if named and (SHIPPED / f"{scenario}.yaml").is_file():
        return SHIPPED / f"{scenario}.yaml"
    if named:
        raise UsageError(f"{scenario!r}: no such scenario file, and no shipped scenario of that "
                         "name (they are: "
                         f"{', '.join(sorted(q.stem for q in SHIPPED.glob('*.yaml')))}).")
    return p  # the loader says what is wrong with it, with its path


def override_texts(overrides) -> list[str]:
    """``{"centres.*.seats": 40}`` (or already ``["centres.*.seats=40"]``) -> ``--set`` texts."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return [str(o) for o in overrides]


EXECUTORS = ("processes", "serial", "dask")


def open_executor(kind: str = "processes", workers: int | None = None, scheduler: str | None = None,
                  start_method: str | None = "fork"):
    """The executor ``kind`` (``processes``, ``serial`` or ``dask``; a ``scheduler`` address means
    Dask).

    ``start_method`` "fork" forks a process pool's workers from the caller, so that a script or a
    notebook without an ``if __name__ == "__main__":`` guard works; None lets them fork from a
    server that has imported the model (faster, and safe with threads: the command line's choice).
    """
    from ..experiment.executors import ProcessExecutor, make_executor

    workers = whole(workers, "workers", 1, 1024, optional=True)
    if scheduler is None:
        choice(kind, "executor", EXECUTORS)
    if kind == "processes" and scheduler is None:
        return ProcessExecutor(workers, start_method=start_method)
    return make_executor(kind, workers, scheduler)


def echo_for(progress: bool, echo: Callable[[str], None] | None) -> Callable[[str], None]:
    """Where a study's plan, progress and notes go: ``echo`` if given (the command line's stderr),
    else stderr when ``progress`` is asked for, else nowhere (a quiet call from Python)."""
    if echo is not None:
        return echo
    if progress:
        return lambda m: print(m, file=sys.stderr, flush=True)
    return lambda _m: None


def command_of(command, default: list[str]) -> list[str]:
    """The command recorded in the manifest: the command line's, or what the Python call was."""
    if command is None:
        return list(default)
    return [command] if isinstance(command, str) else list(command)
