"""The ``compare`` study, the main job: policy variants against the programme as announced and
against no programme.

``python run_sim.py compare`` and ``sim.compare()`` both call :func:`compare`: :func:`plan_compare`
turns scenario files into an :class:`~sim.experiment.runner.ExperimentSpec` whose comparisons are
every scenario against the counterfactual and every variant against the baseline (paired, common
random numbers), everything checked before a folder exists; the runner fills the folder; then,
while the folder is still locked, :func:`write_compare_report` writes its report through
:mod:`sim.report`.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.decision import OUTCOMES
from ..analysis.findings import findings
from ..analysis.history import published_record
from ..analysis.summary import precision_check
from ..errors import ScenarioError, UsageError
from ..experiment.lifecycle import StudyFolder
from ..experiment.runner import ExperimentSpec
from ..files import DEFAULT_SEED
from ..metadata import PRACTICAL_PP, CompareInfo
from ..model.centre import applicant_bounds
from ..report import write_reports
from ..scenario.draws import DEFAULT_DRAWS, SHIPPED_POSTERIOR, bind, load_draws
from ..scenario.economy import check_same_economy, find_named
from ..scenario.keys import ENTRY_NAMES, missing_entry, parse_override
from ..scenario.loader import SHIPPED, base_data, load_scenario, resolved_dict, scenario_hash
from ..scenario.schema import Scenario
from .arguments import (
    amount_krw,
    choice,
    command_of,
    number,
    override_texts,
    precision_of,
    scenario_file,
    seed_of,
    whole,
)
from .outcomes import CompareOutcome
from .run import STARTUPS, load_all, outcome_of, run_spec

COMPARE_REPLICATIONS = 10
"""Default replications of ``compare``. With common random numbers, 10 replications put every
library variant's 5-year survival difference against the counterfactual within the precision
target (95% CI half-width at most a tenth of the difference, or 0.1 point under 1 point): when
measured, the worst was 0.88 of its target (stronger-selection), and the paired SDs say 8 would
miss it. Time is proportional: one replication of the 14-scenario library is about 50 CPU-seconds
at the current model speed. Use --precision or -n for other trade-offs."""


def check_overrides(files, overrides) -> None:
    """``--set`` changes every scenario of a comparison, the counterfactual and the baseline
    included: a named entry (a centre, a region, ...) that some scenarios have and others lack is an
    error naming those that lack it, and a ``*`` that matches nothing anywhere is a typo."""
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
            raise ScenarioError(f"--set {text!r}: no scenario of the comparison has {what}; check "
                                "the key (python run_sim.py keys lists them).")
        raise ScenarioError(f"--set {text!r}: {who} {'has' if len(lacking) == 1 else 'have'} no "
                            f"{what}, which only some scenarios of the comparison have. --set "
                            "changes every scenario of a comparison, the counterfactual and the "
                            "baseline included; to change only some scenarios, write a variant "
                            "file that extends them (see scenarios/*.yaml).")


def plan_compare(
    files,
    *,
    baseline: str | None = "ccei-announced",
    counterfactual: str = "no-programme",
    overrides=(),
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    crn: bool = True,
    keep_startups: str = "first",
    precision: float | None = None,
    max_replications: int = 200,
    practical_pp: float = PRACTICAL_PP,
    posterior: Path | str | None = None,
    draws: int | None = None,
    wtp_krw: float | None = None,
    outcome: str = "survivors",
) -> ExperimentSpec:
    """The comparison as an experiment. With no ``files``, the whole library (every
    scenarios/*.yaml).

    The counterfactual and the baseline, when not among ``files``, are ``NAME.yaml`` beside them or
    in the library; every scenario must simulate the counterfactual's economy
    (:mod:`sim.scenario.economy`). The order is counterfactual, baseline, then the variants as
    given. With ``posterior`` (a posterior.parquet), replication ``r`` of every scenario runs with
    posterior draw ``r mod draws`` (see :mod:`sim.scenario.draws`); there must be at least one
    replication per draw. ``draws`` defaults to :data:`DEFAULT_DRAWS`, or to ``replications`` when
    fewer are asked for.
    """
    files = list(files) or sorted(SHIPPED.glob("*.yaml"))
    if not files:
        raise UsageError(f"compare: no scenario files given and none found in {SHIPPED}.")
    names = [base_data(f).get("name") for f in files]
    given = list(files)
    for role, name in (("--counterfactual", counterfactual), ("--baseline", baseline)):
        if name is None or name in names:
            continue
        found = find_named(name, given, SHIPPED)
        if found is None:
            raise UsageError(f"compare {role}: expected the name of a scenario among "
                             f"{sorted(map(str, names))}, beside them or in {SHIPPED}, found "
                             f"{name!r}.")
        if base_data(found).get("name") != name:
            raise UsageError(f"compare {role} {name}: {found} is named "
                             f"{base_data(found).get('name')!r}, not {name!r}; give the scenario "
                             f"among the files, or name it {name}.")
        files.append(found)
        names.append(name)
    check_overrides(files, overrides)
    scenarios, sources = load_all(files, overrides, empty_ok=True)
    check_same_economy((counterfactual, scenarios[counterfactual], sources[counterfactual]),
                       [(n, sc, sources[n]) for n, sc in scenarios.items()])
    if baseline == counterfactual:
        baseline = None
    order = [counterfactual] + ([baseline] if baseline else [])
    order += [n for n in scenarios if n not in order]
    scenarios = {n: scenarios[n] for n in order}
    comparisons = [(n, counterfactual) for n in order if n != counterfactual]
    if baseline:
        comparisons += [(n, baseline) for n in order if n not in (counterfactual, baseline)]
    picked, raw = None, {}
    if posterior is not None:
        if draws is not None and replications is not None and replications < draws:
            raise UsageError(f"-n {replications} with --draws {draws}: every posterior draw needs "
                             f"at least one replication; give -n {draws} or more, or fewer "
                             "--draws.")
        if draws is None:
            draws = min(DEFAULT_DRAWS, replications) if replications else DEFAULT_DRAWS
        replications = replications or max(2 * draws, COMPARE_REPLICATIONS)
        raw = {n: base_data(Path(sources[n]), overrides, empty_ok=True) for n in order}
        picked = bind(load_draws(posterior, draws, seed),
                      {n: resolved_dict(scenarios[n]) for n in order}, raw)
    info = CompareInfo(counterfactual=counterfactual, baseline=baseline, practical_pp=practical_pp,
                       posterior=({"file": str(posterior), "draws": draws, "source": picked.source,
                                   "priors": prior_only(posterior)}
                                  if picked is not None else None),
                       shipped_baseline=shipped_baseline(baseline, scenarios.get(baseline)),
                       wtp_krw=wtp_krw, outcome=outcome, published=published())
    spec = ExperimentSpec(
        scenarios=scenarios,
        replications=replications or COMPARE_REPLICATIONS,
        seed=seed,
        crn=crn,
        keep_startups=keep_startups,
        comparisons=comparisons,
        precision=precision,
        max_replications=max_replications,
        kind="compare",
        sources=sources,
        info=info,
        draws=picked,
        raw=raw,
    )
    # every draw's scenarios valid, before any folder
    for k in range(len(picked) if picked is not None else 0):
        for n in order:
            spec.scenario_at(n, k)
    spec.probes = twin_probes(spec)
    return spec


def twin_probes(spec: ExperimentSpec) -> dict[str, str | dict]:
    """The probes of a comparison (every scenario's supported firms, and of the counterfactual's the
    firms some scenario could select), so the report can follow the supported firms into the world
    without the programme in every replication (effect vs selection).

    Who could be selected is bounded from every scenario of the comparison under every posterior
    draw (:func:`sim.model.centre.applicant_bounds`), recorded with the probe in the manifest so a
    resumed run keeps the same firms."""
    cf = spec.info.counterfactual
    draws = range(len(spec.draws)) if spec.draws is not None else [0]
    bounds = applicant_bounds(spec.scenario_at(n, k) for n in spec.scenarios for k in draws)
    return {n: ({"name": "twins-eligible", "parameters": {"bounds": bounds}} if n == cf
                else "twins") for n in spec.scenarios}


def shipped_baseline(name: str | None, scenario: Scenario | None) -> bool:
    """Whether the baseline is a shipped scenario exactly as it is on disk now (what
    docs/validation.md measured): recorded when the comparison runs, so its report says the same
    whatever scenarios/ holds later."""
    path = SHIPPED / f"{name}.yaml"
    if not name or scenario is None or not path.is_file():
        return False
    try:
        return scenario_hash(scenario) == scenario_hash(load_scenario(path))
    except ScenarioError:
        return False


def prior_only(posterior) -> dict:
    """The posterior's parameters no data pin (posterior.json marks them ``prior_only``, e.g. an
    extrapolation past the data), each with its prior's range, as the report names them."""
    import json

    try:
        meta = json.loads(Path(posterior).with_name("posterior.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {p["key"]: {"low": p.get("low"), "high": p.get("high")}
            for p in meta.get("parameters", ()) if isinstance(p, dict) and p.get("prior_only")}


HISTORY = SHIPPED / "targets" / "history.yaml"
"""The programme's published yearly figures (public money, partners' money, supported start-ups),
which a comparison's report draws its yearly ledger against."""


def published() -> dict | None:
    """The published yearly figures as the comparison records them (so ``report DIR`` draws the
    figures the comparison ran with, whatever the checkout holds later); None without the file."""
    if not HISTORY.is_file():
        return None
    return published_record(HISTORY, shown=f"scenarios/{HISTORY.relative_to(SHIPPED).as_posix()}")


def reports_written(root) -> bool:
    """Whether a comparison's report (HTML and Markdown) is on disk."""
    return all((Path(root) / f).is_file() for f in ("report.html", "report.md"))


def write_compare_report(
    root: Path, echo=None, practical_pp: float | None = None, wtp_krw: float | None = None
) -> dict:
    """report.html, report.md and figures of a finished comparison (or run) in ``root``: what
    :func:`sim.analysis.findings.findings` reads from the folder (the decision read at ``wtp_krw``
    when given), laid out by :mod:`sim.report`."""
    if echo:
        echo(f"report: reading {root}")
    return write_reports(findings(Path(root), practical_pp, wtp_krw=wtp_krw))


def compare(
    scenarios=(),
    *,
    baseline: str | None = "ccei-announced",
    counterfactual: str = "no-programme",
    practical_pp: float = PRACTICAL_PP,
    posterior=None,
    draws: int | None = None,
    fixed: bool = False,
    wtp=None,
    outcome: str = "survivors",
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    overrides=None,
    out=None,
    force: bool = False,
    startups: str = "first",
    precision_pp: float | None = None,
    max_replications: int = 200,
    crn: bool = True,
    report: bool = True,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> CompareOutcome:
    """Compare scenarios against the counterfactual and the baseline, and write the report.

    With no ``scenarios`` (files, or shipped scenarios' names), the whole policy library. By default
    replication r runs with draw r mod ``draws`` of ``posterior`` (default: the shipped posterior),
    so each difference carries its spread over the parameter sets the targets allow besides
    simulation noise; ``fixed`` runs at the files' own values only. ``baseline`` None (or "none")
    compares with the counterfactual alone. Differences under ``practical_pp`` percentage points of
    5-year survival are reported as small. ``wtp`` is the planner's willingness to pay per
    additional unit of ``outcome`` (KRW: a number, or text such as "150M"; ``survivors``: additional
    5-year survivors, ``jobs``: additional jobs), the value summary.json's ``decision`` and the
    report's first screen are read at; by default what the baseline pays per additional unit. The
    report (report.html, report.md) is written only when
    every task succeeded, and while the folder is still locked: nobody else can replace it
    meanwhile. The other arguments are :func:`sim.studies.run.run`'s.
    """
    replications = whole(replications, "replications", optional=True)
    draws = whole(draws, "draws", optional=True)
    seed = seed_of(seed)
    practical_pp = number(practical_pp, "practical", 0.0, 100.0)
    precision = precision_of(precision_pp)
    max_replications = whole(max_replications, "max_replications")
    wtp = amount_krw(wtp, "wtp", optional=True)
    outcome = choice(outcome, "outcome", OUTCOMES)
    if startups not in STARTUPS:
        raise UsageError(f"startups: expected one of {', '.join(STARTUPS)}, found {startups!r}.")
    if fixed and posterior is not None:
        raise UsageError("compare: --fixed runs without a posterior; give --fixed or --posterior, "
                         "not both.")
    baseline = (
        None if baseline is None or str(baseline).strip().lower() in ("", "none") else baseline
    )
    spec = plan_compare(
        [scenario_file(s) for s in scenarios],
        baseline=baseline,
        counterfactual=counterfactual,
        overrides=override_texts(overrides),
        replications=replications,
        seed=seed,
        crn=crn,
        keep_startups=startups,
        precision=precision,
        max_replications=max_replications,
        practical_pp=practical_pp,
        posterior=None if fixed else (posterior or SHIPPED_POSTERIOR),
        draws=draws,
        wtp_krw=wtp,
        outcome=outcome,
    )
    if report:
        warm_report_imports()

    def then(folder: StudyFolder, done) -> CompareOutcome:
        paths = None
        # a report of incomplete data would mislead; resume writes it
        if report and not done.failures:
            paths = write_compare_report(folder.root, echo=folder.echo if folder.progress else None)
        return compared(spec, done, paths)

    return run_spec(spec, out, default="compare", force=force, workers=workers, executor=executor,
                    scheduler=scheduler, start_method=start_method, progress=progress, echo=echo,
                    command=command_of(command, ["sim.compare"]), then=then)


def compared(spec: ExperimentSpec, done, report: dict | None) -> CompareOutcome:
    """A finished comparison's record (``report``: its pages' paths, if written)."""
    base = outcome_of(done, spec)
    cf = spec.info.counterfactual
    return CompareOutcome(
        **{
            f: getattr(base, f)
            for f in ("root", "failures", "scenarios", "summary", "replications", "seconds")
        },
        counterfactual=cf,
        baseline=spec.info.baseline,
        report=report,
        precision=tuple(precision_check(done.summary, [c for c in spec.comparisons if c[1] == cf])),
    )


def warm_report_imports() -> None:
    """Import the report's libraries (matplotlib, its fonts, jinja2) in a thread while the workers
    simulate: this process mostly waits then, and the report is the main job's last step."""
    import threading

    from ..experiment.estimate import probe_seconds

    # the plan's calibration probe first (cached for a minute), so that it times this machine
    # with nothing else of this process running beside it
    probe_seconds()

    def warm():
        import contextlib

        # only a head start: the report imports what it needs anyway
        with contextlib.suppress(Exception):
            from ..report import compare, html, plots  # noqa: F401

    threading.Thread(target=warm, name="valleysim-warm-report", daemon=True).start()
