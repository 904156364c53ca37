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
from .keys import expand_key, get_key, set_key
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
        """The keys a draw sets in a scenario (given resolved): those holding the calibrated value (a dated
        key with ``*``, such as a prior on ``timeline.2025-01.regions.*.founding_trend_per_year``: in every
        entry, from that month on)."""
        out = []
        for key, ref in zip(self.keys, self.reference, strict=True):
            if key.startswith("timeline.") and not _in_calendar(resolved, key.split(".")[1]):
                continue  # a dated key past a scenario's calendar does not concern it
            try:
                concrete = expand_key(resolved, key) if "*" in key else (key,)
            except ScenarioError:
                continue
            values = [get_key(resolved, k) for k in concrete]
            if ref is not None and values and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isclose(float(v), float(ref), rel_tol=1e-9, abs_tol=1e-12) for v in values):
                out.append(key)
        return out

    def data_for(self, raw: dict, k: int, keys: list[str]) -> dict:
        """The scenario's raw data (before validation) with draw ``k``'s values at ``keys``."""
        data = copy.deepcopy(raw)
        row = dict(zip(self.keys, self.values[k], strict=True))
        for key in keys:
            set_key(data, key, row[key])
        return data


def _in_calendar(resolved: dict, month: str) -> bool:
    from .schema import Calendar

    try:
        cal = Calendar.model_validate(resolved.get("calendar") or {})
        return 0 <= cal.month(month) < cal.horizon_months
    except (ValueError, TypeError):
        return False


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
    if any("*" in key and not key.startswith("timeline.") for key in keys):
        raise ScenarioError(f"--posterior {path}: a parameter with '*' ({keys}) cannot be applied as one key "
                            "(only a dated key, timeline.MONTH.KEY, may hold a '*': the month's change takes it as written).")
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


def extend_posterior(source: Path | str, out: Path | str, priors: dict[str, tuple[float, float, float]],
                     seed: int, note: str) -> Path:
    """A posterior with parameters the data say nothing about added from their priors: ``out``/posterior.parquet
    and .json (and a short posterior.md), each draw of ``source`` joined with independent draws of ``priors``.

    ``priors`` maps a key (a dated key may hold ``*``: ``timeline.2025-01.regions.*.founding_trend_per_year``)
    to (low, high, the scenario files' own value): a uniform prior, drawn by stratified sampling from
    its own stream, so it is the same posterior however often it is made. For an extrapolation past the
    data, whose uncertainty no published figure narrows: a comparison over the result carries that
    uncertainty in its spread over parameter sets, beside what the data leave open.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..files import atomic_write_bytes, atomic_write_json, atomic_write_table

    source, out = Path(source), Path(out)
    if source.is_dir():
        source = source / "posterior.parquet"
    table = pq.read_table(source)
    meta = json.loads(source.with_name("posterior.json").read_text(encoding="utf-8"))
    n = table.num_rows
    for i, (key, (low, high, value)) in enumerate(priors.items()):
        if key in table.column_names:
            raise ScenarioError(f"{source}: already has a parameter {key}.")
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5052_494F, i)))
        u = (rng.permutation(n) + rng.random(n)) / n
        table = table.append_column(key, pa.array(low + u * (high - low)))
        meta["parameters"].append({"key": key, "scale": "linear", "kind": "float", "low": low, "high": high,
                                   "scenario_value": value, "prior_90": [low + 0.05 * (high - low), low + 0.95 * (high - low)],
                                   "posterior_90": [low + 0.05 * (high - low), low + 0.95 * (high - low)],
                                   "width_ratio": 1.0, "verdict": "open", "prior_only": True})
    meta["extended_from"] = {"file": str(source), "priors": {k: list(v) for k, v in priors.items()}, "seed": seed,
                             "note": note}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_table(out / "posterior.parquet", table)
    atomic_write_json(out / "posterior.json", meta, clean=True)
    lines = [f"# {meta.get('scenario', '?')} given {meta.get('targets_name', '?')}, with priors past the data", "",
             f"The draws of `{source}` (its posterior.md says what the published figures pin), each joined "
             "with an independent draw of:", ""]
    lines += [f"- `{k}`: uniform {lo:g} .. {hi:g} (the scenario files' value {v:g}); prior only, no data" for k, (lo, hi, v)
              in priors.items()]
    lines += ["", note, ""]
    atomic_write_bytes(out / "posterior.md", "\n".join(lines))
    return out / "posterior.parquet"
