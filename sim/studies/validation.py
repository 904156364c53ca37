"""The ``validation`` study: the calibrated model against its targets, and its causal effect against
the naive gap (not to be confused with ``validate``, which checks scenario files).

``python run_sim.py validation [-n N] [--seed S] [-j W]`` and ``sim.validation()`` run the
programme scenario (default ``scenarios/ccei-as-opened.yaml``) and the no-programme
counterfactual on the same replications (common random numbers) and give, as Markdown, every
number in ``docs/validation.md``:

- population survival by age against the KOSTAT targets, and the curve's shape (yearly hazards);
- supported start-ups' survival from their support date and cumulative supported start-ups
  against the ministry's figures;
- the causal effect: programme minus counterfactual, for the whole population (survival_5y,
  survivors_5y) and *for the supported start-ups themselves*: each supported start-up is
  followed from its support date in both worlds (with common random numbers start-up ``i`` of a
  region is the same firm with the same luck in both), so the difference is the effect of
  treatment on the treated, free of selection;
- the naive gap (supported survival from support minus unsupported survival from founding, as
  published), split into that effect and the rest (selection).
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np

from ..analysis.effects import firm_keys, match_twins, survival_since_support, twins
from ..analysis.stats import paired_difference, summarize
from ..analysis.targets import MONTHLY, load_targets
from ..errors import ValleysimError
from ..experiment.task import Task, run_task
from ..files import DEFAULT_SEED
from ..scenario.loader import resolved_dict, scenario_hash
from .arguments import override_texts, scenario_file, seed_of, whole
from .outcomes import ValidationOutcome

ROOT = Path(__file__).resolve().parents[2]
AGES = (1, 2, 3, 4, 5)


def effect_row(prog: dict, cf: dict) -> dict:
    """One replication of the programme and of the counterfactual, reduced to validation numbers."""
    r = prog["task"].replication
    out = {"replication": float(r), **{f"p_{k}": float(v) for k, v in prog["metrics"].items()}}
    out.update({f"c_{k}": float(v) for k, v in cf["metrics"].items()})
    # the supported start-ups, and every firm without the programme
    a, b = prog["probe"], cf["probe"]
    codes = {n: i for i, n in enumerate(sorted(set(a["region"]) | set(b["region"])))}
    ia, ib = match_twins(
        firm_keys(np.full(len(a["serial"]), r), a["region"], a["serial"], codes),
        a["founded_month"],
        firm_keys(np.full(len(b["serial"]), r), b["region"], b["serial"], codes),
        b["founded_month"],
    )
    t0 = a["support_age"][ia]
    s_p, s_c = survival_since_support(
        a["age_end"][ia],
        a["died"][ia],
        t0,
        b["age_end"][ib],
        b["died"][ib],
        [12.0 * y for y in AGES],
    )
    for y, vp, vc in zip(AGES, s_p, s_c, strict=True):
        out[f"treated_{y}y"] = float(vp)
        out[f"untreated_{y}y"] = float(vc)
    out["supported_matched"] = float(ia.size)
    out["supported_unmatched"] = float(len(a["serial"]) - ia.size)
    out["supported_median_age_months"] = float(np.median(t0)) if ia.size else math.nan
    out["supported_median_quality"] = float(np.median(a["quality"][ia])) if ia.size else math.nan
    return out


def measure(
    programme, counterfactual, *, replications: int = 10, seed: int = DEFAULT_SEED, executor=None
) -> dict:
    """Run both scenarios on replications 0..N-1 and return {name: per-replication array}."""
    from ..experiment.executors import ProcessExecutor

    own = executor is None
    ex = executor or ProcessExecutor(2)
    args = []
    for i, (sc, supported_only) in enumerate(((programme, True), (counterfactual, False))):
        resolved, digest = resolved_dict(sc), scenario_hash(sc)
        probe = functools.partial(twins, supported_only=supported_only, quality=True)
        args += [
            (resolved, digest, Task(i, sc.name, r), seed, True, False, probe)
            for r in range(replications)
        ]
    try:
        results = list(ex.run(run_task, args))
    finally:
        if own:
            ex.close()
    bad = [r for r in results if "error" in r]
    if bad:
        t = bad[0]["task"]
        raise ValleysimError(f"validation: {t.scenario} replication {t.replication} failed: "
                             f"{bad[0]['error']}\n{bad[0]['traceback']}".rstrip())
    by = {(r["task"].scenario_index, r["task"].replication): r for r in results}
    rows = [effect_row(by[(0, r)], by[(1, r)]) for r in range(replications)]
    return {k: np.array([row[k] for row in rows], dtype=float) for k in rows[0]}


def _ci(x) -> dict:
    return summarize(x)


def report(
    data: dict, targets_survival, targets_programme, *, replications: int, seed: int, command: str
) -> str:
    """The validation tables as Markdown (the numbers of docs/validation.md)."""
    def share(s, d=3):
        return "n/a" if s is None or not math.isfinite(s) else f"{s:.{d}f}"

    def cell(x, d=3, count=False):
        s = _ci(x)
        if count:
            return f"{s['mean']:,.0f} [{s['ci_low']:,.0f}, {s['ci_high']:,.0f}]"
        return f"{share(s['mean'], d)} [{share(s['ci_low'], d)}, {share(s['ci_high'], d)}]"

    def pdiff(a, b, d=3, count=False):
        s = paired_difference(a, b)
        if count:
            return f"{s['diff']:+,.0f} [{s['ci_low']:+,.0f}, {s['ci_high']:+,.0f}]"
        return f"{s['diff']:+.{d}f} [{s['ci_low']:+.{d}f}, {s['ci_high']:+.{d}f}]"

    lines = [f"Replications 0..{replications - 1} of seed {seed}, common random numbers; mean [95% "
             f"CI over replications]. Command: `{command}`", ""]
    # 1. no-programme survival
    lines += ["**No-programme survival by firm age** (target: KOSTAT manufacturing 2015 basis, +-2 "
              "points)", "",
              "| age | target | model | within |", "|---|---:|---|:---:|"]
    tgt = {int(p.key): p for p in targets_survival.points if p.group == "survival"}
    means = {}
    for y in AGES:
        x = data[f"c_survival_{y}y"]
        means[y] = float(np.nanmean(x))
        t = tgt.get(y)
        within = "" if t is None else ("yes" if abs(means[y] - t.value) <= t.tolerance else "no")
        lines.append(f"| {y} y | {share(t.value) if t else '(shape)'} | {cell(x)} | {within} |")
    hz = [-math.log(means[1])] + [-math.log(means[y] / means[y - 1]) for y in AGES[1:]]
    lines += ["", "Yearly hazard (deaths per start-up alive at the start of the year): "
              + ", ".join(f"year {y}: {h:.3f}" for y, h in zip(AGES, hz, strict=True)), ""]
    # 2. the programme
    lines += ["**ccei-as-opened against the ministry's figures**", "",
              "| metric | target (tolerance) | model | within |", "|---|---:|---|:---:|"]
    for p in targets_programme.points:
        x = data[f"p_{p.metric}"]
        m = float(np.nanmean(x))
        count = p.group in MONTHLY
        tol = f"+-{p.tolerance:,.0f}" if count else f"+-{p.tolerance:.2f}"
        within = "yes" if abs(m - p.value) <= p.tolerance else "no"
        tval = f"{p.value:,.0f}" if count else share(p.value)
        if p.group == "supported_investment_by":  # KRW: shown in billions
            x, tval, tol = x / 1e9, f"{p.value / 1e9:,.1f} bn", f"+-{p.tolerance / 1e9:,.1f} bn"
        lines.append(f"| {p.label}{'' if p.weight > 0 else ' (check point)'} | {tval} ({tol}) | "
                     f"{cell(x, count=count)} | {within} |")
    for y in (2, 3, 4):
        lines.append(f"| supported S({y}y) (shape) | | {cell(data[f'p_supported_survival_{y}y'])} "
                     "| |")
    lines += ["", f"Supported start-ups over the run: {cell(data['p_supported'], count=True)}; "
              f"median age at support {np.nanmean(data['supported_median_age_months']):.1f} "
              f"months; median latent quality {np.nanmean(data['supported_median_quality']):.2f} "
              "(all start-ups: 1.00).", ""]
    # 3. causal effect vs naive gap
    lines += ["**Causal effect against the naive gap** (programme minus no-programme, paired by "
              "replication)", "",
              "| quantity | value |", "|---|---|"]
    lines.append(f"| population survival_5y, programme | {cell(data['p_survival_5y'])} |")
    lines.append(f"| population survival_5y, no programme | {cell(data['c_survival_5y'])} |")
    lines.append("| causal effect on population survival_5y | "
                 f"{pdiff(data['p_survival_5y'], data['c_survival_5y'], 4)} |")
    lines.append(f"| causal effect on survivors_5y (start-ups) | "
                 f"{pdiff(data['p_survivors_5y'], data['c_survivors_5y'], count=True)} |")
    for y in (1, 5):
        lines.append(f"| supported start-ups' S({y}y) from support, with the programme | "
                     f"{cell(data[f'treated_{y}y'])} |")
        lines.append(f"| the same start-ups' S({y}y) from the same date, no programme | "
                     f"{cell(data[f'untreated_{y}y'])} |")
        lines.append(f"| **effect on the supported, {y} y** | "
                     f"{pdiff(data[f'treated_{y}y'], data[f'untreated_{y}y'])} |")
    lines.append(f"| naive gap: supported S(5y) from support - unsupported S(5y) from founding | "
                 f"{cell(data['p_naive_gap_5y'])} |")
    gap = data["p_naive_gap_5y"]
    eff = data["treated_5y"] - data["untreated_5y"]
    lines.append(f"| share of the naive gap that is treatment (effect on supported / gap) | "
                 f"{cell(eff / gap, 2)} |")
    lines.append("| supported S(5y) from support vs the ministry's all-start-up 5-year survival | "
                 f"{share(float(np.nanmean(data['p_supported_survival_5y'])))} vs 0.285 (ministry) "
                 "|")
    lines.append("| supported start-ups left out of the matching (founder education changes their "
                 f"arrival) | {np.nanmean(data['supported_unmatched']):.0f} of "
                 f"{np.nanmean(data['p_supported']):,.0f} |")
    return "\n".join(lines) + "\n"


def validation(
    programme=None,
    counterfactual=None,
    *,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    overrides=None,
    workers: int | None = None,
    command=None,
) -> ValidationOutcome:
    """Run ``programme`` (default ccei-as-opened) and ``counterfactual`` (default no-programme) on
    the same ``replications`` and return the tables of docs/validation.md as Markdown. ``overrides``
    change the programme scenario only (e.g. to switch a channel off)."""
    from ..experiment.executors import ProcessExecutor
    from ..scenario import load_scenario

    t0 = time.perf_counter()
    replications = whole(replications, "replications")
    seed = seed_of(seed)
    overrides = override_texts(overrides)
    p = load_scenario(
        scenario_file(programme or ROOT / "scenarios" / "ccei-as-opened.yaml"), overrides
    )
    c = load_scenario(scenario_file(counterfactual or ROOT / "scenarios" / "no-programme.yaml"))
    ex = ProcessExecutor(whole(workers, "workers", 1, 1024, optional=True))
    try:
        data = measure(p, c, replications=replications, seed=seed, executor=ex)
    finally:
        ex.close()
    if command is None:
        command = (
            f"python run_sim.py validation --replications {replications} --seed {seed}"
            + "".join(f" --set {o}" for o in overrides)
        )
    text = report(data, load_targets(ROOT / "scenarios/targets/survival.yaml"),
                  load_targets(ROOT / "scenarios/targets/programme.yaml"),
                  replications=replications, seed=seed, command=command)
    return ValidationOutcome(root=ROOT, markdown=text, seconds=time.perf_counter() - t0)
