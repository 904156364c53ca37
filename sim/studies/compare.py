"""The main job: policy variants against the programme as announced and against no programme.

:func:`plan_compare` turns scenario files into an :class:`~sim.experiment.runner.ExperimentSpec`
whose comparisons are every scenario against the counterfactual and every variant against the
baseline (paired, common random numbers); :func:`write_compare_report` writes the report of a
finished comparison through :mod:`sim.report`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ScenarioError, UsageError
from ..experiment.runner import ExperimentSpec
from ..files import DEFAULT_SEED
from ..report import write_reports
from ..report.results import PRACTICAL_PP
from ..scenario.draws import DEFAULT_DRAWS, load_draws
from ..scenario.keys import ENTRY_NAMES, missing_entry, parse_override
from ..scenario.loader import SHIPPED, base_data, header_comment, load_scenario

COMPARE_REPLICATIONS = 10
"""Default replications of ``compare``. With common random numbers, 10 replications put every
library variant's 5-year survival difference against the counterfactual within the precision
target (95% CI half-width at most a tenth of the difference, or 0.1 point under 1 point): when
measured, the worst was 0.88 of its target (stronger-selection), and the paired SDs say 8 would
miss it. Time is proportional: one replication of the 14-scenario library is about 50 CPU-seconds
at the current model speed. Use --precision or -n for other trade-offs."""


def load_all(files, overrides, *, empty_ok: bool = False) -> tuple[dict, dict]:
    """Load scenario files; names must be unique. Returns (scenarios, sources)."""
    scenarios, sources = {}, {}
    for f in files:
        sc = load_scenario(f, overrides, empty_ok=empty_ok)
        if sc.name in scenarios:
            raise ScenarioError(f"{f}: scenario name {sc.name!r} is also the name of {sources[sc.name]}; "
                                "names must be unique in one experiment (set `name:` in the file).")
        scenarios[sc.name] = sc
        sources[sc.name] = str(f)
    return scenarios, sources


def check_overrides(files, overrides) -> None:
    """``--set`` changes every scenario of a comparison, the counterfactual and the baseline included: a
    named entry (a centre, a region, ...) that some scenarios have and others lack is an error naming
    those that lack it, and a ``*`` that matches nothing anywhere is a typo."""
    if not overrides:
        return
    datas = {str(f): base_data(f) for f in files}
    for text in overrides:
        parts, _ = parse_override(text)
        lacking = {f: m for f, d in datas.items() if (m := missing_entry(d, parts)) is not None}
        if not lacking or ("*" in parts and len(lacking) < len(datas)):
            continue
        if len(lacking) == len(datas) and "*" not in parts:
            continue  # a new entry in every scenario, as asked
        section, name = next(iter(lacking.values()))
        what = f"any {ENTRY_NAMES[section]}" if name == "*" else f"{ENTRY_NAMES[section]} {name!r}"
        who = ", ".join(Path(f).name for f in lacking)
        if len(lacking) == len(datas):
            raise ScenarioError(f"--set {text!r}: no scenario of the comparison has {what}; check the key (python "
                                "run_sim.py keys lists them).")
        raise ScenarioError(f"--set {text!r}: {who} {'has' if len(lacking) == 1 else 'have'} no {what}, which only "
                            "some scenarios of the comparison have. --set changes every scenario of a comparison, "
                            "the counterfactual and the baseline included; to change only some scenarios, write a "
                            "variant file that extends them (see scenarios/*.yaml).")


def _library_file(name: str) -> Path | None:
    f = SHIPPED / f"{name}.yaml"
    return f if f.is_file() else None


def plan_compare(files, *, baseline: str | None = "ccei-announced", counterfactual: str = "no-programme",
                 overrides=(), replications: int | None = None, seed: int = DEFAULT_SEED, crn: bool = True,
                 keep_startups: str = "first", precision: float | None = None,
                 max_replications: int = 200, practical_pp: float = PRACTICAL_PP,
                 posterior: Path | str | None = None, draws: int | None = None) -> ExperimentSpec:
    """The comparison as an experiment. With no ``files``, the whole library (every scenarios/*.yaml).

    The counterfactual and the baseline come from the library when they are not among ``files``;
    the order is counterfactual, baseline, then the variants as given. With ``posterior`` (a
    posterior.parquet), replication ``r`` of every scenario runs with posterior draw ``r mod draws``
    (see :mod:`sim.scenario.draws`); there must be at least one replication per draw. ``draws``
    defaults to :data:`DEFAULT_DRAWS`, or to ``replications`` when fewer are asked for.
    """
    files = list(files) or sorted(SHIPPED.glob("*.yaml"))
    if not files:
        raise UsageError(f"compare: no scenario files given and none found in {SHIPPED}.")
    names = [base_data(f).get("name") for f in files]
    for role, name in (("--counterfactual", counterfactual), ("--baseline", baseline)):
        if name is None or name in names:
            continue
        lib = _library_file(name)
        if lib is None:
            raise UsageError(f"compare {role}: expected the name of a scenario among {sorted(map(str, names))} or "
                             f"in {SHIPPED}, found {name!r}.")
        files.append(lib)
        names.append(name)
    check_overrides(files, overrides)
    scenarios, sources = load_all(files, overrides, empty_ok=True)
    if baseline == counterfactual:
        baseline = None
    order = [counterfactual] + ([baseline] if baseline else [])
    order += [n for n in scenarios if n not in order]
    scenarios = {n: scenarios[n] for n in order}
    comparisons = [(n, counterfactual) for n in order if n != counterfactual]
    if baseline:
        comparisons += [(n, baseline) for n in order if n not in (counterfactual, baseline)]
    extra = {"counterfactual": counterfactual, "baseline": baseline, "practical_pp": practical_pp,
             "questions": {n: header_comment(sources.get(n)).strip() for n in order}}
    # every scenario's supported firms, and all of the counterfactual's, so the report can follow the
    # supported firms into the world without the programme in every replication (effect vs selection)
    probes = {n: ("twins-all" if n == counterfactual else "twins") for n in order}
    picked, raw = None, {}
    if posterior is not None:
        if draws is not None and replications is not None and replications < draws:
            raise UsageError(f"-n {replications} with --draws {draws}: every posterior draw needs at least one "
                             f"replication; give -n {draws} or more, or fewer --draws.")
        if draws is None:
            draws = min(DEFAULT_DRAWS, replications) if replications else DEFAULT_DRAWS
        replications = replications or max(2 * draws, COMPARE_REPLICATIONS)
        picked = load_draws(posterior, draws, seed)
        raw = {n: base_data(Path(sources[n]), overrides, empty_ok=True) for n in order}
        extra["posterior"] = {"file": str(posterior), "draws": draws, "source": picked.source}
    return ExperimentSpec(scenarios=scenarios, replications=replications or COMPARE_REPLICATIONS, seed=seed,
                          crn=crn, keep_startups=keep_startups, comparisons=comparisons, precision=precision,
                          max_replications=max_replications, kind="compare", sources=sources, extra=extra,
                          probes=probes, draws=picked, raw=raw)


def reports_written(root) -> bool:
    """Whether a comparison's report (HTML and Markdown) is on disk."""
    return all((Path(root) / f).is_file() for f in ("report.html", "report.md"))


def write_compare_report(root: Path, echo=None, practical_pp: float | None = None) -> dict:
    """report.html, report.md and figures of a finished comparison (or run) in ``root``."""
    return write_reports(Path(root), echo=echo, practical_pp=practical_pp)
