"""Posterior draws as scenarios: the parameter sets the published targets allow, applied to a scenario.

A posterior (``calibrate --method history-matching``; the shipped one is in
``scenarios/posteriors/programme/``) is a table of parameter sets with weights. An experiment over
the posterior picks ``K`` of them (systematic resampling by weight, from the experiment's seed) and
runs replication ``r`` of every scenario with draw ``r mod K``: within a draw every scenario sees the
same parameters and the same start-ups (common random numbers), so a paired difference is the
policy's doing under that parameter set, and the spread over draws is what the data leave open.

A draw sets a key in a scenario only where the scenario holds the value the posterior was
calibrated from: a variant that sets a key to something else (``stronger-selection``'s jury, the
effects ``grants-only`` switches off) keeps its own value, because that key is its lever.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ScenarioError, UsageError
from .keys import get_key, set_key
from .loader import SHIPPED

SHIPPED_POSTERIOR = SHIPPED / "posteriors" / "programme" / "posterior.parquet"
"""The posterior the main job uses by default (ccei-as-opened given scenarios/targets/programme.yaml)."""
DEFAULT_DRAWS = 5
"""Posterior draws in a comparison by default: two replications each at the default -n 10, so that
simulation noise (the spread within a draw) can be told apart from parameter uncertainty (the
spread between draws) within the main job's time budget. Use more on a cluster (--draws 50 -n 100)."""


@dataclass(frozen=True)
class Draws:
    """``K`` parameter sets picked from a posterior, and what the posterior was calibrated from."""

    file: str
    keys: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]  # K x keys
    reference: tuple[float | None, ...]  # the calibrated scenario's value at each key
    source: str  # what the posterior is of ("ccei-as-opened given programme")
    verdicts: tuple[tuple[str, str], ...] = ()  # (key, pinned | narrowed | open) from the calibration
    targets_file: str = ""

    def __len__(self) -> int:
        return len(self.values)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Draws:
        return cls(d["file"], tuple(d["keys"]), tuple(tuple(v) for v in d["values"]), tuple(d["reference"]),
                   d.get("source", ""), tuple(tuple(v) for v in d.get("verdicts", ())), d.get("targets_file", ""))

    def applied(self, resolved: dict) -> list[str]:
        """The keys a draw sets in a scenario (given resolved): those holding the calibrated value."""
        out = []
        for key, ref in zip(self.keys, self.reference, strict=True):
            v = get_key(resolved, key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and ref is not None and math.isclose(
                    float(v), float(ref), rel_tol=1e-9, abs_tol=1e-12):
                out.append(key)
        return out

    def data_for(self, raw: dict, k: int, keys: list[str]) -> dict:
        """The scenario's raw data (before validation) with draw ``k``'s values at ``keys``."""
        data = copy.deepcopy(raw)
        row = dict(zip(self.keys, self.values[k], strict=True))
        for key in keys:
            set_key(data, key, row[key])
        return data


def load_draws(path: Path | str, k: int, seed: int) -> Draws:
    """``k`` draws from the posterior at ``path`` (posterior.parquet, with posterior.json beside it)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_dir():
        path = path / "posterior.parquet"
    meta_path = path.with_name("posterior.json")
    if not path.is_file() or not meta_path.is_file():
        raise UsageError(f"--posterior {path}: expected a posterior.parquet with its posterior.json beside it "
                         "(written by: python run_sim.py calibrate FILE --targets T --method history-matching).")
    try:
        table = pq.read_table(path).to_pydict()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        params = meta["parameters"]
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"--posterior {path}: cannot be read as a posterior ({type(exc).__name__}: {exc}).") from None
    keys = [p["key"] for p in params]
    missing = [k_ for k_ in [*keys, "weight"] if k_ not in table]
    if missing:
        raise ScenarioError(f"--posterior {path}: expected a column for every parameter of {meta_path.name} and a "
                            f"weight; missing {missing}.")
    if any("*" in key for key in keys):
        raise ScenarioError(f"--posterior {path}: a parameter with '*' ({keys}) cannot be applied as one key.")
    w = np.asarray(table["weight"], float)
    if not (len(w) and np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise ScenarioError(f"--posterior {path}: weight: expected non-negative numbers with a positive sum.")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x4452_4157,)))
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    rows = np.searchsorted(c, (rng.random() + np.arange(k)) / k, side="left").clip(0, len(w) - 1)
    values = tuple(tuple(float(table[key][i]) for key in keys) for i in rows)
    reference = tuple(p.get("scenario_value") for p in params)
    source = f"{meta.get('scenario', '?')} given {meta.get('targets_name', '?')}"
    verdicts = tuple((p["key"], str(p.get("verdict", "open"))) for p in params)
    return Draws(str(path), tuple(keys), values, reference, source, verdicts,
                 str((meta.get("spec") or {}).get("targets_file", "")))
