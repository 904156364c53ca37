"""Experimental designs: which scenarios a sweep runs.

A sweep parameter is a :class:`~sim.scenario.ranges.Param`, a dotted scenario key with a range
written ``KEY=LOW:HIGH`` (see :mod:`sim.scenario.ranges`). A design places points in the unit cube
(one coordinate per parameter) and each point becomes one scenario: the base file with the
parameters' values set, validated before anything runs.

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
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..scenario.keys import set_key
from ..scenario.ranges import Param

DESIGNS = ("lhs", "sobol", "grid")
MAX_POINTS = 20_000
"""A design larger than this is refused (a typo in --samples should not queue a year of work)."""

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
        """The number of design points."""
        return len(self.blocks)


def is_power_of_two(n: int) -> bool:
    """Whether ``n`` is a power of two (a Sobol' sequence's balance needs it)."""
    return n >= 1 and n & (n - 1) == 0


def design_size(kind: str, k: int, n: int, params: list[Param] | None = None) -> int:
    """The number of points a design of ``kind`` over ``k`` parameters with ``n`` samples has."""
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
        raise UsageError(f"--samples {n}: the sobol design needs a power of two (a Sobol' sequence "
                         f"is balanced only then), for example {lo} or {lo * 2}; it runs N x "
                         "(parameters + 2) points.")
    if kind == "sobol" and n < 2:
        raise UsageError("--samples: the sobol design needs at least 2 base samples (4 or more for "
                         "indices worth reading).")
    if kind == "grid" and n < 2:
        raise UsageError("--samples: the grid design needs at least 2 levels per parameter.")
    if kind == "lhs" and n < 2:
        raise UsageError("--samples: the lhs design needs at least 2 points.")
    m = design_size(kind, k, n, params)
    if m > MAX_POINTS:
        raise UsageError(f"--samples {n} with {k} parameters and the {kind} design makes {m:,} "
                         f"design points; at most {MAX_POINTS:,} are allowed. Use fewer samples or "
                         "parameters.")


def lhs_units(k: int, n: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` points in ``k`` unit dimensions, from ``seed``."""
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
        units = np.array(
            [[p.unit(v) for p, v in zip(params, row, strict=True)] for row in values]
        ).reshape(-1, k)
        return Design(kind, n, units, values, ["grid"] * len(values))
    if kind == "lhs":
        units, blocks = lhs_units(k, n, seed), ["lhs"] * n
    else:
        units, blocks = saltelli_units(k, n, seed)
    values = np.array(
        [[p.value(u) for p, u in zip(params, row, strict=True)] for row in units]
    ).reshape(-1, k)
    return Design(kind, n, units, values, blocks)


def point_name(i: int, total: int) -> str:
    """The name of design point ``i`` of ``total`` (``point-0007``)."""
    return f"point-{i:0{max(4, len(str(total - 1)))}d}"


def point_data(base: dict, params: list[Param], values, name: str) -> dict:
    """The base scenario mapping with one design point's values set (not yet validated)."""
    data = copy.deepcopy(base)
    for p, v in zip(params, values, strict=True):
        for key, val in p.assignments(float(v)).items():
            set_key(data, key, val)
    data["name"] = name
    return data
