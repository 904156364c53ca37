"""Calibration targets: published figures the model should reproduce, and how far it is from them.

A *targets file* (``scenarios/targets/*.yaml``) holds published figures, each group with its
source: population survival by firm age (``survival``), survival of supported start-ups counted
from their support date (``supported_survival``) and cumulative supported start-ups by a date
(``supported_by``). Every point has a tolerance (absolute for shares, relative for counts);
``check_points`` are reported beside the fit but not fitted.

The loss is the weighted mean of squared z-scores, ``z = (simulated - target) / tolerance``, where
"simulated" is the mean over replications; below 1 the targets are met on average within their
tolerances. :func:`target_values` reads one replication's records for the targets.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..errors import ScenarioError
from ..model.codes import DIED
from ..scenario.ranges import parse_range
from ..scenario.safe_yaml import load_yaml_text
from ..scenario.schema import parse_month
from .ledger import year_rows
from .metrics import cumulative, replication_metrics
from .stats import summarize
from .survival import km_at

GROUPS = {
    "survival": "population survival by firm age in years (Kaplan-Meier, founding cohorts of the "
                "calendar window)",
    "supported_survival": "survival of supported start-ups by years since their support date",
    "supported_by": "cumulative supported start-ups by the end of a month (YYYY-MM)",
    "supported_investment_by": "money supported start-ups attracted after their support (market "
                               "rounds and partners' equity, KRW) by the end of a month (YYYY-MM)",
    "supported_hires_by": "jobs supported start-ups added after their support by the end of a "
                          "month (YYYY-MM)",
    "equity_by_year": "venture money the economy's start-ups raised in a calendar year (KRW): the "
                      "published national figure times modelled_share, the share going to firms of "
                      "the model's ages",
    "equity_firms_by_year": "start-ups that raised venture money in a calendar year: the published "
                            "count times modelled_share",
    "financing_shares": "share of the start-ups alive at the end of ``year`` that have raised "
                        "money from a channel (equity, debt) by then",
}
MONTHLY = ("supported_by", "supported_investment_by", "supported_hires_by")
"""Groups whose points are cumulative totals by the end of a month (the others are shares by
age)."""
YEARLY = ("equity_by_year", "equity_firms_by_year")
"""Groups whose points are totals of a calendar year, published for all ages (scaled by
``modelled_share``)."""
CHANNELS = ("equity", "debt")
"""Keys of ``financing_shares``."""
LABELS = {"supported_by": "supported by", "supported_investment_by": "investment in supported by",
          "supported_hires_by": "hires by supported, by",
          "equity_by_year": "venture money raised in",
          "equity_firms_by_year": "start-ups raising venture money in",
          "financing_shares": "share of start-ups that raised"}
TOP_KEYS = ("name", "description", *GROUPS, "parameters", "priors")
GROUP_KEYS = ("source", "copied_from", "note", "tolerance", "relative_tolerance", "weight",
              "points", "check_points", "modelled_share", "year")
MAX_AGE_YEARS = 20
CURVE_MONTHS = 72
"""Survival curves in the plot and the report run from age 0 to this many months."""


@dataclass(frozen=True)
class TargetPoint:
    """One published figure the model should reproduce."""

    group: str
    key: str  # "1" (years) or "2015-12" (a month)
    value: float
    tolerance: float  # absolute, in the metric's own unit
    weight: float  # 0 = reported only (a check point)
    source: str

    @property
    def metric(self) -> str:
        """The name of the simulated value this point is compared with."""
        if self.group in MONTHLY or self.group in YEARLY or self.group == "financing_shares":
            return f"{self.group}_" + self.key.replace("-", "_")
        return f"{self.group}_{self.key}y"

    @property
    def label(self) -> str:
        """A short name for tables and plots."""
        if self.group == "financing_shares":
            channel, year = self.key.split("-")
            return f"{LABELS[self.group]} {channel} by {year}"
        if self.group in LABELS:
            return f"{LABELS[self.group]} {self.key}"
        return f"{'supported ' if self.group == 'supported_survival' else ''}S({self.key}y)"

    @property
    def kind(self) -> str:
        """``count`` for totals by a month or year, ``share`` for shares by age."""
        return "count" if self.group in MONTHLY or self.group in YEARLY else "share"


@dataclass
class TargetSet:
    """A targets file as read: the published figures the model should reproduce, and the
    parameters and priors a calibration to them varies."""

    path: Path
    name: str
    description: str
    points: list[TargetPoint]
    parameters: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    priors: list[str] = field(default_factory=list)
    """``KEY=LOW:HIGH[:log]`` texts: the ranges a posterior calibration starts from, each a uniform
    prior (in log space with ``:log``)."""

    @property
    def fitted(self) -> list[TargetPoint]:
        """The points a calibration fits (weight above 0); the others are check points."""
        return [p for p in self.points if p.weight > 0]

    @property
    def groups(self) -> list[str]:
        """The groups the points belong to, in the file's order."""
        return list(dict.fromkeys(p.group for p in self.points))


def hint(key: str, known: Sequence[str]) -> str:
    """A " (did you mean ...?)" for a misspelt key, so the error names the likely fix."""
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _number(value, where: str, origin, *, positive=False, share=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"{origin}: {where}: expected a number, found {value!r}.")
    value = float(value)
    if share and not 0.0 < value <= 1.0:
        raise ScenarioError(f"{origin}: {where}: expected a share between 0 and 1, "
                            f"found {value!r}.")
    if positive and value <= 0:
        raise ScenarioError(f"{origin}: {where}: expected a number above 0, found {value!r}.")
    if value < 0:
        raise ScenarioError(f"{origin}: {where}: expected a number of at least 0, found {value!r}.")
    return value


def _point_key(group: str, key, where: str, origin) -> str:
    if group in YEARLY:
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        if isinstance(key, bool) or not isinstance(key, int) or not 1900 <= key <= 2200:
            raise ScenarioError(f"{origin}: {where}: expected a calendar year (e.g. 2017), found "
                                f"{key!r}.")
        return str(key)
    if group == "financing_shares":
        if key not in CHANNELS:
            raise ScenarioError(f"{origin}: {where}: expected one of {list(CHANNELS)}, found "
                                f"{key!r}.")
        return str(key)
    if group in MONTHLY:
        if hasattr(key, "year") and hasattr(key, "month"):  # YAML reads 2015-12-31 as a date
            key = f"{key.year:04d}-{key.month:02d}"
        try:
            parse_month(str(key))
        except ValueError:
            raise ScenarioError(f"{origin}: {where}: expected a month as YYYY-MM (e.g. 2015-12), "
                                f"found {key!r}.") from None
        return str(key)
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= MAX_AGE_YEARS:
        raise ScenarioError(f"{origin}: {where}: expected a whole number of years from 1 to "
                            f"{MAX_AGE_YEARS}, found {key!r}.")
    return str(key)


def _read_targets_yaml(path: Path) -> dict:
    # scenario files must have text keys; a targets file has ages (numbers) as keys, so it is
    # read here, with the same care about size and errors
    try:
        if not path.is_file():
            raise ScenarioError(f"{path}: no such targets file.", path=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc}).", path=path) from None
    if len(raw) > 1_000_000:
        raise ScenarioError(f"{path}: is {len(raw):,} bytes; a targets file is far smaller.",
                            path=path)
    try:  # the scenario files' reader: alias and depth limits, and 3:1 stays text (not base-60 181)
        data = load_yaml_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: is not UTF-8 text.", path=path) from None
    except RecursionError:
        raise ScenarioError(f"{path}: nesting is too deep to read.", path=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: is not valid YAML{where}: "
                            f"{getattr(exc, 'problem', None) or exc}.",
                            path=path) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of target groups ({', '.join(GROUPS)}), "
                            f"found {type(data).__name__}.", path=path)
    return data


def load_targets(path: str | Path) -> TargetSet:
    """Read and check a targets file; every problem is a ScenarioError naming the key."""
    path = Path(path)
    data = _read_targets_yaml(path)
    for k in data:
        if k not in TOP_KEYS:
            raise ScenarioError(f"{path}: {k}: unknown targets key{hint(k, TOP_KEYS)}; expected "
                                f"some of {list(TOP_KEYS)}.")
    if not any(g in data for g in GROUPS):
        raise ScenarioError(f"{path}: no targets; expected at least one of {list(GROUPS)}.")
    points: list[TargetPoint] = []
    for group in GROUPS:
        if group not in data:
            continue
        spec = data[group]
        if not isinstance(spec, dict):
            raise ScenarioError(f"{path}: {group}: expected a mapping with source, tolerance and "
                                "points.")
        for k in spec:
            if k not in GROUP_KEYS:
                raise ScenarioError(f"{path}: {group}.{k}: unknown targets "
                                    f"key{hint(k, GROUP_KEYS)}; expected some of "
                                    f"{list(GROUP_KEYS)}.")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ScenarioError(f"{path}: {group}.source: expected the source of the figures "
                                "(text); every target needs one.")
        has_abs, has_rel = "tolerance" in spec, "relative_tolerance" in spec
        if has_abs == has_rel:
            raise ScenarioError(f"{path}: {group}: expected exactly one of tolerance (absolute) or "
                                "relative_tolerance (a share of the target).")
        tol_key = "tolerance" if has_abs else "relative_tolerance"
        tol = _number(spec[tol_key], f"{group}.{tol_key}", path, positive=True)
        weight = _number(spec.get("weight", 1.0), f"{group}.weight", path)
        for pkey, w in (("points", weight), ("check_points", 0.0)):
            pts = spec.get(pkey)
            if pts is None:
                # a group may hold check points only
                if pkey == "points" and not spec.get("check_points"):
                    raise ScenarioError(f"{path}: {group}.points: expected a mapping of "
                                        f"{'months' if group in MONTHLY else 'ages'} to values.")
                continue
            if not isinstance(pts, dict) or (pkey == "points" and not pts
                                             and not spec.get("check_points")):
                raise ScenarioError(f"{path}: {group}.{pkey}: expected a mapping of "
                                    f"{'months' if group in MONTHLY else 'ages'} to values, found "
                                    f"{pts!r}.")
            for raw_key, raw_val in pts.items():
                where = f"{group}.{pkey}.{raw_key}"
                key = _point_key(group, raw_key, where, path)
                value = _number(raw_val, where, path,
                                share=group not in MONTHLY and group not in YEARLY,
                                positive=True)
                value, key = _scaled(spec, group, key, value, where, path)
                abs_tol = tol if has_abs else tol * value
                points.append(TargetPoint(group, key, value, abs_tol, w, source.strip()))
    metrics = [p.metric for p in points]
    dup = sorted({m for m in metrics if metrics.count(m) > 1})
    if dup:
        raise ScenarioError(f"{path}: the same target appears twice: {dup}.")
    if not any(p.weight > 0 for p in points):
        raise ScenarioError(f"{path}: every target has weight 0; nothing to fit.")
    params: dict[str, tuple[float, float] | None] = {}
    raw_params = data.get("parameters") or {}
    if isinstance(raw_params, list):
        raw_params = {str(k): None for k in raw_params}
    if not isinstance(raw_params, dict):
        raise ScenarioError(f"{path}: parameters: expected a mapping of dotted.key to LOW:HIGH (or "
                            "null).")
    for k, v in raw_params.items():
        text = str(k) if v is None else f"{k}={v}"
        r = parse_range(text, f"{path}: parameters:", key_alone=True)
        params[r.key] = r.bounds
    raw_priors = data.get("priors") or {}
    if not isinstance(raw_priors, dict):
        raise ScenarioError(f"{path}: priors: expected a mapping of dotted.key to LOW:HIGH "
                            "(optionally :log).")
    priors = []
    for k, v in raw_priors.items():
        if v is None:
            raise ScenarioError(f"{path}: priors: {k}: expected a range LOW:HIGH (a prior needs "
                                "both ends).")
        priors.append(f"{parse_range(f'{k}={v}', f'{path}: priors:').key}={v}")
    name = str(data.get("name") or path.stem)
    return TargetSet(path, name, str(data.get("description") or ""), points, params, priors)


def _scaled(spec: dict, group: str, key: str, value: float, where: str, path) -> tuple[float, str]:
    """A yearly figure times its ``modelled_share``; a financing share's key with its ``year``."""
    if group in YEARLY:
        shares = spec.get("modelled_share")
        if not isinstance(shares, dict) or int(key) not in shares:
            raise ScenarioError(f"{path}: {group}.modelled_share.{key}: expected the share of "
                                f"{where} that goes to firms of the model's ages (a number between "
                                "0 and 1).")
        return value * _number(shares[int(key)], f"{group}.modelled_share.{key}", path,
                               share=True), key
    if group == "financing_shares":
        year = spec.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
            raise ScenarioError(f"{path}: {group}.year: expected the calendar year the shares "
                                f"describe, found {year!r}.")
        return value, f"{key}-{year}"
    return value, key


PENALTY_Z = 10.0
"""z-score of a target the model cannot produce at all (e.g. supported survival with nobody
supported)."""


def loss_of(points: Sequence[TargetPoint], means: dict[str, float]) -> float:
    """Weighted mean of squared z-scores over the fitted points."""
    num = den = 0.0
    for p in points:
        if p.weight <= 0:
            continue
        sim = means.get(p.metric, math.nan)
        z = (sim - p.value) / p.tolerance if math.isfinite(sim) else PENALTY_Z
        num += p.weight * z * z
        den += p.weight
    return num / den if den else math.nan



def target_values(records, scenario, wanted: tuple, curves: bool = False) -> dict:
    """The target metrics one replication produced (and, if asked, curves for plots).

    ``wanted`` is a tuple of (group, key) pairs. Run as the experiment layer's probe
    (:func:`sim.experiment.task.run_task`), so calibration simulates through the one task entry
    point.
    """
    cal = scenario.calendar
    m = replication_metrics(records, cal)
    s = records.startups
    died = s["outcome"] == DIED
    cohort = ((s["cohort_year"] >= cal.cohort_first_year)
              & (s["cohort_year"] <= cal.cohort_last_year))
    age = s["outcome_time"] - s["founded"]
    sup = s["supported"]
    since = (s["outcome_time"] - s["support_time"])[sup]
    w = s["weight"]
    values = {}
    years: dict = {}
    for group, key in wanted:
        p = TargetPoint(group, key, 1.0, 1.0, 1.0, "")
        if p.metric in m:
            values[p.metric] = float(m[p.metric])
        elif group == "survival":
            values[p.metric] = float(km_at(age[cohort], died[cohort], [12.0 * int(key)],
                                           w[cohort])[0])
        elif group == "supported_survival":
            values[p.metric] = float(km_at(since, died[sup], [12.0 * int(key)], w[sup])[0])
        elif group == "supported_by":
            values[p.metric] = float(w[sup][s["support_time"][sup] < cal.month(key) + 1.0].sum())
        elif group in YEARLY:
            years = years or {r["year"]: r for r in year_rows(records, cal)}
            row = years.get(int(key), {})
            column = "equity_raised_krw" if group == "equity_by_year" else "equity_firms"
            values[p.metric] = float(row.get(column, math.nan))
        elif group == "financing_shares":
            channel, year = key.split("-")
            values[p.metric] = financed_share(records, cal, CHANNELS.index(channel), int(year))
        else:  # a month the metrics do not report: from the ledgers of money and hires
            ledger = records.raised if group == "supported_investment_by" else records.hired
            values[p.metric] = float(cumulative(ledger, [cal.month(key) + 1.0])[0])
    out = {"values": values}
    if curves:
        grid = np.arange(CURVE_MONTHS + 1, dtype=float)
        months = np.arange(int(cal.horizon_months) + 1, dtype=float)
        out["curves"] = {
            "survival": km_at(age[cohort], died[cohort], grid, w[cohort]).tolist(),
            "supported_survival": (km_at(since, died[sup], grid, w[sup]).tolist() if sup.any()
                                   else [math.nan] * len(grid)),
            "supported_by": np.searchsorted(np.sort(s["support_time"][sup]), months,
                                            side="left").tolist(),
            **{g: cumulative(ledger, months).tolist()
               for g, ledger in (("supported_investment_by", records.raised),
                                 ("supported_hires_by", records.hired))},
        }
    return out


def financed_share(records, calendar, channel: int, year: int) -> float:
    """Share of the start-ups alive at the end of ``year`` (and founded in the seven years before,
    as the survey's start-ups are) that raised money from ``channel`` (codes.EQUITY, DEBT) by
    then."""
    s, rd = records.startups, records.rounds
    end = calendar.year_start(year + 1)
    alive = (s["founded"] < end) & (s["founded"] >= end - 84.0) & (s["outcome_time"] >= end)
    got = np.zeros(len(s["founded"]), bool)
    if rd:
        got[rd["sid"][(rd["channel"] == channel) & (rd["month"] < end)]] = True
    w = s["weight"]
    total = float(w[alive].sum())
    return float(w[alive & got].sum()) / total if total else math.nan


def target_rows(targets: TargetSet, per_replication: dict) -> list[dict]:
    """Each target against the mean over replications (``metric -> values by replication``), with
    its CI and z."""
    rows = []
    for p in targets.points:
        s = summarize(per_replication.get(p.metric, np.array([])))
        mean = s["mean"]
        z = (mean - p.value) / p.tolerance if math.isfinite(mean) else math.nan
        rows.append({"group": p.group, "key": p.key, "metric": p.metric, "target": p.value,
                     "tolerance": p.tolerance, "weight": p.weight, "fitted_point": p.weight > 0,
                     "source": p.source, "simulated": mean, "ci_low": s["ci_low"],
                     "ci_high": s["ci_high"], "sd": s["sd"], "replications": s["n"], "z": z,
                     "within_tolerance": bool(math.isfinite(z) and abs(z) <= 1.0)})
    return rows


def yearly_curves(targets: TargetSet, curves: dict | None) -> dict:
    """Survival curves (``group -> (replications, months)``) at every whole year: the shape between
    the target ages."""
    out = {}
    if curves is None:
        return out
    for group in targets.groups:
        # totals by month or year, not curves by age
        if group not in ("survival", "supported_survival"):
            continue
        c = curves[group]
        years = range(1, CURVE_MONTHS // 12 + 1)
        out[group] = {str(y): float(np.nanmean(c[:, 12 * y])) if np.isfinite(c[:, 12 * y]).any()
                      else None for y in years}
    return out
