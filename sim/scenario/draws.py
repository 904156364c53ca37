"""Posterior draws as scenarios: the parameter sets the published targets allow, applied to a
scenario.

A posterior (``calibrate --method history-matching``; the shipped one is in
``scenarios/posteriors/programme/``) is a table of parameter sets with weights. An experiment over
the posterior picks ``K`` of them (systematic resampling by weight, from the experiment's seed) and
runs replication ``r`` of every scenario with draw ``r mod K``: within a draw every scenario sees
the same parameters and the same start-ups (common random numbers), so a paired difference is the
policy's doing under that parameter set, and the spread over draws is what the data leave open.

A draw sets a key in a scenario only where the scenario holds the value the posterior was
calibrated from: a variant that sets a key to something else (``stronger-selection``'s jury, the
effects ``grants-only`` switches off) keeps its own value, because that key is its lever. The rule
is applied where the model reads the value (:func:`key_paths`):

- a key of ``centre_defaults`` (``conglomerate_defaults``) reaches every centre (partner) that
  holds the calibrated value, whether it inherits it or sets it itself (a fully resolved file, as
  ``show`` prints it, sets every value at every centre), and no centre that holds another;
- a key with ``*`` (``centres.*.seats``) reaches every entry that holds the calibrated value, and
  no entry that holds another;
- a dated key ``timeline.MONTH.KEY`` concerns a scenario only when its calendar reaches MONTH, and
  then reaches, from that month on, every entry it names whose value in force then is the
  calibrated one (set as written, ``*`` included, when every entry holds it).

:func:`bind` records, when the experiment is planned, which keys each scenario's draws change and
where (``Draws.targets``, kept in the manifest), so a resumed run applies exactly what the first
one applied and the report claims uncertainty only over the parameters that were applied. A
posterior that names a key the schema lacks, or whose draws change nothing in any scenario of the
experiment, is refused (exit 2) before anything runs.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ScenarioError, UsageError
from .keys import expand_key, key_kind, set_dotted
from .loader import SHIPPED
from .paths import dated_key, get_key, lookup

SHIPPED_POSTERIOR = SHIPPED / "posteriors" / "programme" / "posterior.parquet"
"""The posterior the main job uses by default (ccei-as-opened given
scenarios/targets/programme.yaml)."""
DEFAULT_DRAWS = 5
"""Posterior draws in a comparison by default: two replications each at the default -n 10, so that
simulation noise (the spread within a draw) can be told apart from parameter uncertainty (the
spread between draws) within the main job's time budget. Use more on a cluster (--draws 50 -n
100)."""


@dataclass(frozen=True)
class Draws:
    """``K`` parameter sets picked from a posterior, and what the posterior was calibrated from."""

    file: str
    keys: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]  # K x keys
    reference: tuple[float | None, ...]  # the calibrated scenario's value at each key
    source: str  # what the posterior is of ("ccei-as-opened given programme")
    # (key, pinned | narrowed | open) from the calibration
    verdicts: tuple[tuple[str, str], ...] = ()
    targets_file: str = ""
    targets: dict[str, dict[str, list[list[str]]]] | None = None
    """Recorded by :func:`bind`: scenario -> posterior key -> the key paths a draw sets in its data
    (only keys that change the scenario). None for draws not bound to an experiment's scenarios (and
    in manifests written before it was recorded)."""

    def __len__(self) -> int:
        """The number of posterior draws."""
        return len(self.values)

    def to_json(self) -> dict:
        """Plain data for the manifest, so a resumed or replayed experiment meets the same draws."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Draws:
        """The draws a manifest recorded (older manifests lack verdicts and targets)."""
        return cls(d["file"], tuple(d["keys"]), tuple(tuple(v) for v in d["values"]),
                   tuple(d["reference"]), d.get("source", ""),
                   tuple(tuple(v) for v in d.get("verdicts", ())), d.get("targets_file", ""),
                   d.get("targets"))

    def applied(self, scenario: str, resolved: dict) -> list[str]:
        """The posterior keys a draw changes in ``scenario`` (recorded by :func:`bind`)."""
        return list(self.paths(scenario, resolved))

    def applied_in(self, scenarios) -> list[str]:
        """The posterior keys a draw changes in any of ``scenarios``, in the posterior's order (only
        for bound draws; unbound ones claim every key, as before the record existed)."""
        if self.targets is None:
            return list(self.keys)
        hit = {k for n in scenarios for k in (self.targets.get(n) or {})}
        return [k for k in self.keys if k in hit]

    def paths(self, scenario: str, resolved: dict) -> dict[str, list[list[str]]]:
        """Posterior key -> the key paths a draw sets in ``scenario``'s data (given its resolved
        form).

        Bound draws answer from the record; draws from a manifest without one keep the rule such a
        run was started with (the key as written, where the resolved scenario holds the calibrated
        value at every entry it names; a dated key only inside the scenario's calendar).
        """
        if self.targets is not None:
            return self.targets.get(scenario) or {}
        out = {}
        for key, ref in zip(self.keys, self.reference, strict=True):
            dated = dated_key(key)
            if dated is not None and not _in_calendar(resolved, dated[0]):
                continue
            if ref is not None and _all_hold(resolved, key, ref):
                out[key] = [["timeline", *dated] if dated is not None else key.split(".")]
        return out

    def data_for(self, raw: dict, k: int, paths: dict[str, list[list[str]]]) -> dict:
        """The scenario's raw data (before validation) with draw ``k``'s values at ``paths``. A
        month's change (``["timeline", MONTH, KEY]``) becomes that month's last, so it wins over the
        changes written before it (``*`` included)."""
        data = copy.deepcopy(raw)
        row = dict(zip(self.keys, self.values[k], strict=True))
        for key, where in paths.items():
            for parts in where:
                line = data.get("timeline") if len(parts) == 3 and parts[0] == "timeline" else None
                if isinstance(line, dict) and isinstance(line.get(parts[1]), dict):
                    line[parts[1]].pop(parts[2], None)
                set_dotted(data, list(parts), row[key], key)
        return data


DEFAULTS = {"centre_defaults": "centres", "conglomerate_defaults": "conglomerates"}
"""Sections of defaults, and the entries that inherit them."""


def _is_ref(v, ref) -> bool:
    """Whether ``v`` is the number ``ref``."""
    return (ref is not None and isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isclose(float(v), float(ref), rel_tol=1e-9, abs_tol=1e-12))


def _holds(data, parts: list[str], ref) -> bool:
    """Whether ``data`` holds the number ``ref`` at ``parts``."""
    found, v, _ = lookup(data, parts)
    return found and _is_ref(v, ref)


def _concrete(resolved: dict, key: str) -> tuple[str, ...]:
    """The concrete keys ``key`` names in ``resolved`` (``*`` expanded; none when it has no
    entries)."""
    if "*" not in key.split("."):
        return (key,)
    try:
        return expand_key(resolved, key)
    except ScenarioError:
        return ()


def _all_hold(resolved: dict, key: str, ref) -> bool:
    """Whether every entry ``key`` names holds ``ref`` in ``resolved`` (a dated key: the value in
    force from its month on)."""
    concrete = _concrete(resolved, key)
    return bool(concrete) and all(_is_ref(get_key(resolved, k), ref) for k in concrete)


def _in_calendar(resolved: dict, month: str) -> bool:
    from .schema import Calendar

    try:
        cal = Calendar.model_validate(resolved.get("calendar") or {})
        return 0 <= cal.month(month) < cal.horizon_months
    except (ValueError, TypeError):
        return False


def key_paths(key: str, ref, raw: dict, resolved: dict) -> list[list[str]]:
    """Where a draw of ``key`` is set in a scenario's ``raw`` data (before validation) so that it
    reaches every place that holds the calibrated value ``ref`` in the ``resolved`` scenario; empty
    when none does.

    A plain key is set where it is. A key with ``*`` is set at each entry that holds ``ref``. A key
    of ``centre_defaults`` reaches the centres: it is set in the defaults when some centre
    inheriting them holds ``ref``, and at each centre that sets ``ref`` itself; a centre holding
    another value keeps it. Without centres it reaches nothing. A dated key ``timeline.MONTH.KEY``
    concerns a scenario only when its calendar reaches MONTH: it is set as written (the month's
    change, ``*`` included) when every entry it names holds ``ref`` in force from then on, and as
    the month's change of each entry that does when only some do (a later change of the same month,
    so it wins over the written one).
    """
    dated = dated_key(key)
    if dated is not None:
        if not _in_calendar(resolved, dated[0]):
            return []
        concrete = _concrete(resolved, key)
        holding = [k for k in concrete if _is_ref(get_key(resolved, k), ref)]
        if holding and len(holding) == len(concrete):
            return [["timeline", *dated]]
        return [["timeline", dated[0], dated_key(k)[1]] for k in holding]
    parts = key.split(".")
    section = DEFAULTS.get(parts[0])
    if section is None:
        return [k.split(".")
                for k in _concrete(resolved, key) if _holds(resolved, k.split("."), ref)]
    rest = parts[1:]
    out: list[list[str]] = []
    inherited = False
    own = raw.get(section) if isinstance(raw.get(section), dict) else {}
    for name, entry in (resolved.get(section) or {}).items():
        if not _holds(entry, rest, ref):
            continue
        if lookup(own.get(name) or {}, rest)[0]:
            out.append([section, name, *rest])
        else:
            inherited = True
    return ([parts] if inherited else []) + out


def bind(draws: Draws, resolved: dict[str, dict], raw: dict[str, dict]) -> Draws:
    """The draws with, for every scenario of an experiment, the keys they change and where
    (:func:`key_paths`); ``resolved`` and ``raw`` map each scenario's name to its resolved form and
    its data before validation.

    Refuses (:class:`ScenarioError`, exit 2) a posterior without parameters, one naming a key the
    scenario schema lacks, and one whose draws change nothing in any scenario (every scenario holds
    other values than those it was calibrated from, or its draws all equal them): its "uncertainty"
    would be simulation noise presented as parameter uncertainty.
    """
    shipped = Path(draws.file).resolve() == SHIPPED_POSTERIOR.resolve()
    where = (f"--posterior {draws.file}"
             + (" (the shipped posterior, compare's default)" if shipped else ""))
    if not draws.keys:
        raise ScenarioError(f"{where}: its posterior.json lists no parameters, so its draws would "
                            "change nothing; expected the parameters the calibration varied "
                            "(calibrate --method history-matching writes them), or run compare "
                            "with --fixed.")
    unknown = [k for k in draws.keys if key_kind(k) is None]
    if unknown:
        raise ScenarioError(f"{where}: names {', '.join(unknown)}, which "
                            f"{'is' if len(unknown) == 1 else 'are'} not a setting of the scenario "
                            "schema, so a draw could not be applied there; expected scenario keys "
                            "such as centre_defaults.selection_noise (python run_sim.py keys lists "
                            "them). Was the posterior written by another version of valleysim?")
    missing = [k for k, ref in zip(draws.keys, draws.reference, strict=True) if ref is None]
    if missing:
        raise ScenarioError(f"{where}: gives no scenario_value (the value it was calibrated from) "
                            f"for {', '.join(missing)}; expected one for every parameter, to know "
                            "where a draw applies.")
    targets: dict[str, dict[str, list[list[str]]]] = {}
    for name, res in resolved.items():
        found = {}
        for j, (key, ref) in enumerate(zip(draws.keys, draws.reference, strict=True)):
            moves = any(not _is_ref(row[j], ref) for row in draws.values)
            paths = key_paths(key, ref, raw.get(name) or {}, res) if moves else []
            if paths:
                found[key] = paths
        targets[name] = found
    if not any(targets.values()):
        raise ScenarioError(f"{where}: its draws change nothing in any scenario of this "
                            "comparison, so it would report simulation noise as parameter "
                            "uncertainty. A draw sets a key only where a scenario holds the value "
                            f"the posterior was calibrated from ({draws.source}): "
                            f"{_expected(draws, resolved)}. Expected scenarios built on the "
                            "calibrated one (or a posterior calibrated from these scenarios: "
                            "calibrate --method history-matching), or run compare with --fixed.")
    return replace(draws, targets=targets)


def _expected(draws: Draws, resolved: dict[str, dict]) -> str:
    """Up to three keys: the calibrated value, and what the first scenario with centres holds
    there."""
    name, res = next(((n, r) for n, r in resolved.items() if r.get("centres")),
                     next(iter(resolved.items())))
    out = []
    for key, ref in list(zip(draws.keys, draws.reference, strict=True))[:3]:
        parts = key.split(".")
        section = DEFAULTS.get(parts[0])
        if section and not res.get(section):
            found = f"{name} has no {section}"
        else:
            if section:
                parts = [section, next(iter(res[section])), *parts[1:]]
            concrete = _concrete(res, ".".join(parts))
            if not concrete:
                found = f"{name} has no entries for {'.'.join(parts)}"
            else:
                v = get_key(res, concrete[0])
                found = (f"{name} holds {v!r} at {concrete[0]}" if v is not None
                         else f"{name} has no {concrete[0]}")
        out.append(f"{key} was calibrated at {ref:g}, {found}")
    more = len(draws.keys) - len(out)
    return "; ".join(out) + (f"; and {more} more" if more > 0 else "")


def load_draws(path: Path | str, k: int, seed: int) -> Draws:
    """``k`` draws from the posterior at ``path`` (posterior.parquet, with posterior.json beside
    it)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_dir():
        path = path / "posterior.parquet"
    meta_path = path.with_name("posterior.json")
    if not path.is_file() or not meta_path.is_file():
        raise UsageError(f"--posterior {path}: expected a posterior.parquet with its "
                         "posterior.json beside it (written by: python run_sim.py calibrate FILE "
                         "--targets T --method history-matching).")
    try:
        table = pq.read_table(path).to_pydict()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # pyarrow's errors and UnicodeDecodeError are ValueErrors
        raise UsageError(f"--posterior {path}: cannot be read as a posterior "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).") from None
    params = _parameters(meta, f"--posterior {path}: {meta_path.name}")
    keys = [p["key"] for p in params]
    missing = [k_ for k_ in [*keys, "weight"] if k_ not in table]
    if missing:
        raise ScenarioError(f"--posterior {path}: expected a column for every parameter of "
                            f"{meta_path.name} and a weight; missing {missing}.")
    w = _column(table, "weight", path)
    if not (len(w) and np.all(w >= 0) and w.sum() > 0):
        raise ScenarioError(f"--posterior {path}: weight: expected non-negative numbers with a "
                            "positive sum.")
    columns = {key: _column(table, key, path) for key in keys}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x4452_4157,)))
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    rows = np.searchsorted(c, (rng.random() + np.arange(k)) / k, side="left").clip(0, len(w) - 1)
    values = tuple(tuple(float(columns[key][i]) for key in keys) for i in rows)
    reference = tuple(p.get("scenario_value") for p in params)
    source = f"{meta.get('scenario', '?')} given {meta.get('targets_name', '?')}"
    verdicts = tuple((p["key"], str(p.get("verdict", "open"))) for p in params)
    spec = meta.get("spec") if isinstance(meta.get("spec"), dict) else {}
    return Draws(str(path), tuple(keys), values, reference, source, verdicts,
                 str(spec.get("targets_file", "")))


def _parameters(meta, where: str) -> list[dict]:
    """posterior.json's parameters, each a mapping with a dotted ``key`` and the number it was
    calibrated from (``scenario_value``); anything else is a :class:`ScenarioError` saying what was
    found."""
    expected = ("expected a JSON object whose parameters are a list of mappings, each with a key "
                "(a dotted scenario key) and a scenario_value (the number the posterior was "
                "calibrated from)")
    params = meta.get("parameters") if isinstance(meta, dict) else None
    if not isinstance(params, list):
        found = f"parameters {_kind(params)}" if isinstance(meta, dict) else _kind(meta)
        raise ScenarioError(f"{where}: {expected}; found {found}.")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, dict):
            raise ScenarioError(f"{where}: parameters[{i}]: expected a mapping with a key and a "
                                f"scenario_value, found {_kind(p)}.")
        key, ref = p.get("key"), p.get("scenario_value")
        if not isinstance(key, str) or not key.strip():
            raise ScenarioError(f"{where}: parameters[{i}].key: expected a dotted scenario key, "
                                f"found {key!r}.")
        if key in seen:
            raise ScenarioError(f"{where}: parameters[{i}].key: {key} is listed twice; expected "
                                "each key once.")
        seen.add(key)
        if ref is not None and not (isinstance(ref, (int, float)) and not isinstance(ref, bool)
                                    and math.isfinite(ref)):
            raise ScenarioError(f"{where}: parameters[{i}].scenario_value ({key}): expected the "
                                f"finite number the posterior was calibrated from, found {ref!r}.")
    return params


def _kind(v) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", type(None): "nothing"}
    return names.get(type(v), type(v).__name__)


def _column(table: dict, key: str, path: Path) -> np.ndarray:
    """A posterior.parquet column as finite floats, or a :class:`ScenarioError` naming the first bad
    row."""
    values = table[key]
    try:
        x = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(values) if not isinstance(v, (int, float))
                   or isinstance(v, bool))
        raise ScenarioError(f"--posterior {path}: column {key}: expected numbers, found "
                            f"{values[bad]!r} in row {bad}.") from None
    if x.size and not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x))
        raise ScenarioError(f"--posterior {path}: column {key}: expected a finite number in every "
                            "row (a parameter set the calibration allows), found "
                            f"{'empty or ' if any(v is None for v in values) else ''}{x[bad[0]]:g} "
                            f"in {len(bad)} of {len(x)} rows (the first: row {bad[0]}).")
    return x



def extend_posterior(source: Path | str, out: Path | str,
                     priors: dict[str, tuple[float, float, float]],
                     seed: int, note: str) -> Path:
    """A posterior with parameters the data say nothing about added from their priors:
    ``out``/posterior.parquet and .json (and a short posterior.md), each draw of ``source`` joined
    with independent draws of ``priors``.

    ``priors`` maps a key (a dated key may hold ``*``:
    ``timeline.2025-01.regions.*.founding_trend_per_year``) to (low, high, the scenario files' own
    value): a uniform prior, drawn by stratified sampling from its own stream, so it is the same
    posterior however often it is made. For an extrapolation past the data, whose uncertainty no
    published figure narrows: a comparison over the result carries that uncertainty in its spread
    over parameter sets, beside what the data leave open.
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
        meta["parameters"].append({"key": key, "scale": "linear", "kind": "float", "low": low,
                                   "high": high, "scenario_value": value,
                                   "prior_90": [low + 0.05 * (high - low),
                                                low + 0.95 * (high - low)],
                                   "posterior_90": [low + 0.05 * (high - low),
                                                    low + 0.95 * (high - low)],
                                   "width_ratio": 1.0, "verdict": "open", "prior_only": True})
    meta["extended_from"] = {"file": str(source), "priors": {k: list(v) for k, v in priors.items()},
                             "seed": seed, "note": note}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_table(out / "posterior.parquet", table)
    atomic_write_json(out / "posterior.json", meta, clean=True)
    lines = [f"# {meta.get('scenario', '?')} given {meta.get('targets_name', '?')}, with priors "
             "past the data", "",
             f"The draws of `{source}` (its posterior.md says what the published figures pin), "
             "each joined with an independent draw of:", ""]
    lines += [f"- `{k}`: uniform {lo:g} .. {hi:g} (the scenario files' value {v:g}); prior only, "
              "no data" for k, (lo, hi, v)
              in priors.items()]
    lines += ["", note, ""]
    atomic_write_bytes(out / "posterior.md", "\n".join(lines))
    return out / "posterior.parquet"
