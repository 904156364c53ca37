"""Calibration to a posterior: history matching in waves, run through the experiment layer.

``python run_sim.py calibrate FILE --targets TARGETS --method history-matching [--points N] [--waves
W]``

The priors are the targets file's ``priors`` (or ``--params``): each a uniform range, so that
every effect can be absent. Wave 1 simulates a Latin hypercube over the priors; each later wave
draws its points from the posterior the emulator gives after the waves before it (see
:mod:`sim.analysis.posterior` for the method and why it is not ABC). Every design point runs
replications ``0..R-1`` of one seed with its own random streams (see :attr:`PosteriorInfo.crn`),
through the one task entry point, in parallel on whatever executor was
given (process pool or Dask). Each finished (point, replication) is journalled at once, and each
wave's design is written before it runs, so an interrupted calibration resumes where it stopped
(``python run_sim.py resume DIR``) and finishes with the same posterior.

Outputs, in the results folder: ``posterior.parquet`` (one row per draw: a column per dotted key
and a ``weight``), ``design.parquet`` (every simulated point with its target values),
``posterior.json``, ``posterior.md`` and ``posterior.png`` (marginal and pairwise plots).
"""

from __future__ import annotations

import functools
import shlex
import time
from pathlib import Path

import numpy as np

from ..analysis import posterior as hm
from ..analysis.folder import columns
from ..analysis.targets import load_targets, target_values
from ..errors import ScenarioError, UsageError, ValleysimError
from ..experiment.folder import default_out
from ..experiment.journal import append_line, number_rows, numbers, read_lines
from ..experiment.lifecycle import StudyFolder
from ..experiment.task import Task
from ..files import (
    DEFAULT_SEED,
    atomic_write_json,
    atomic_write_table,
    json_clean,
    now,
    read_json,
    versions,
)
from ..metadata import PosteriorInfo, study_info
from ..report.posterior import write_posterior_report
from ..scenario.keys import get_key
from ..scenario.loader import base_data, resolved_dict, scenario_hash, validate
from ..scenario.ranges import make_params
from ..scenario.schema import Scenario
from .arguments import (
    command_of,
    echo_for,
    open_executor,
    override_texts,
    scenario_file,
    seed_of,
    whole,
)
from .designs import lhs_units, point_data
from .outcomes import PosteriorOutcome
from .targets import check_targets

KIND = "posterior"
POINTS_PER_PARAMETER = 8
"""Design points per wave and parameter when --points is not given (Loeppky et al. 2009 suggest ten
per input for a first emulator; the later waves concentrate where the posterior is)."""


def one_value(p, resolved: dict, file: str) -> None:
    """Refuse (exit 2) a prior with ``*`` whose entries hold different values in the calibrated
    scenario: its posterior would have no one value it was calibrated from (``scenario_value``), the
    value a compare looks for to know where a draw applies (:mod:`sim.scenario.draws`)."""
    if len(p.targets) < 2:
        return
    held = {t: get_key(resolved, t) for t in p.targets}
    numbers = {float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)
               for v in held.values()}
    if len(numbers) > 1:
        shown = ", ".join(f"{t} = {v!r}" for t, v in list(held.items())[:4])
        more = f" and {len(held) - 4} more" if len(held) > 4 else ""
        raise ScenarioError(f"priors {p.key}: the entries '*' stands for hold different values in "
                            f"{file} ({shown}{more}), so the posterior would have no one value it "
                            "was calibrated from, and a compare could not tell where its draws "
                            "apply; give a prior per entry, or the same value to every entry "
                            "first.")


class PosteriorProblem:
    """The calibration resolved: base scenario, targets, priors as parameters on the unit cube."""

    def __init__(self, spec: PosteriorInfo):
        """Resolve ``spec``: the base scenario, the targets, the priors and the points per wave
        (checked)."""
        self.spec = spec
        self.data = base_data(Path(spec.file), spec.overrides)
        self.base = validate(self.data, origin=spec.file)
        self.targets = load_targets(spec.targets_file)
        check_targets(self.targets, self.base)
        texts = list(spec.priors) or list(self.targets.priors)
        if not texts:
            raise UsageError(f"{spec.targets_file}: has no `priors` section and no --params were "
                             "given: a posterior needs a range for every parameter, e.g. priors: "
                             f"{{centre_defaults.training.hazard_multiplier_during: 0.1:1.0}}.")
        resolved = resolved_dict(self.base)
        self.params = make_params(texts, self.data, resolved, "priors", relative=False)
        for p in self.params:
            one_value(p, resolved, spec.file)
        self.fitted = [p for p in self.targets.points if p.weight > 0]
        self.wanted = tuple((p.group, p.key) for p in self.targets.points)
        self.points = spec.points or POINTS_PER_PARAMETER * len(self.params)
        least = hm.min_points(len(self.params))
        if self.points < least:
            raise UsageError(f"--points {self.points}: the emulator of {len(self.params)} "
                             f"parameter(s) needs at least {least} design points per wave (the "
                             f"number of parameters + 2, and 4); give --points {least} or more, or "
                             f"leave it out (default {POINTS_PER_PARAMETER} per parameter).")

    def values(self, units) -> list[float]:
        """The parameters' values at unit coordinates ``units``."""
        return [p.value(float(u)) for p, u in zip(self.params, units, strict=True)]

    def scenario(self, units, name: str) -> Scenario:
        """The design point at ``units`` as a validated scenario named ``name``."""
        values = self.values(units)
        try:
            return validate(point_data(self.data, self.params, values, name), origin=self.spec.file)
        except ScenarioError as exc:
            where = ", ".join(f"{p.key}={v:g}" for p, v in zip(self.params, values, strict=True))
            raise ScenarioError("the prior allows a parameter set that is not a valid scenario "
                                f"({where}): {exc.message} Narrow the priors so that every value "
                                "in them is valid.") from None

    def z(self, means: dict[str, float]) -> np.ndarray:
        """Each fitted target's distance in units of its tolerance."""
        return np.array(
            [(means.get(p.metric, np.nan) - p.value) / p.tolerance for p in self.fitted]
        )


class HistoryMatching:
    """Runs the waves; everything simulated is journalled in the results folder."""

    def __init__(
        self, spec: PosteriorInfo, folder: StudyFolder, problem: PosteriorProblem | None = None
    ):
        """The waves of ``spec`` in ``folder``, reading back what its journals hold."""
        self.spec = spec
        self.problem = problem or PosteriorProblem(spec)
        self.folder = folder
        self.root = folder.root
        self.progress = folder.progress
        self.echo = folder.echo
        self.values: dict[tuple[str, int], dict] = {}
        evaluation = {"point": str, "replication": int, "values": numbers()}
        for line in read_lines(self.root / "evaluations.jsonl", evaluation):
            self.values[(line["point"], int(line["replication"]))] = line["values"]
        wave = {"wave": int, "units": number_rows(len(self.problem.params))}
        self.designs: dict[int, np.ndarray] = {
            int(line["wave"]): np.asarray(line["units"], float)
            for line in read_lines(self.root / "waves.jsonl", wave)}
        self.checks: list[dict] = []
        self.simulated = 0

    def rng(self, purpose: int, wave: int) -> np.random.Generator:
        """The random stream of one purpose and wave (from the calibration's seed)."""
        return np.random.default_rng(
            np.random.SeedSequence(self.spec.seed, spawn_key=(0x504F, purpose, wave))
        )

    # -- one wave -----------------------------------------------------------------------------
    def design(self, wave: int, sample: hm.WeightedSample | None) -> np.ndarray:
        """Wave ``wave``'s design points (unit coordinates), journalled before they run."""
        if wave in self.designs:  # written before the wave ran: a resumed run uses the same points
            return self.designs[wave]
        d = len(self.problem.params)
        if sample is None:
            units = lhs_units(d, self.problem.points, self.spec.seed)
        else:
            units = hm.design_from_posterior(sample, self.problem.points, self.rng(1, wave))
        for i, u in enumerate(units):  # every point must be a valid scenario before anything runs
            self.problem.scenario(u, point_key(wave, i))
        self.designs[wave] = units
        append_line(self.root / "waves.jsonl", {"wave": wave, "units": units.tolist()})
        return units

    def simulate(self, wave: int, units: np.ndarray) -> None:
        """Simulate the wave's points not yet journalled, journalling each result."""
        reps = range(self.spec.replications)
        probe = functools.partial(target_values, wanted=self.problem.wanted)
        argsets = []
        for i, u in enumerate(units):
            key = point_key(wave, i)
            todo = [r for r in reps if (key, r) not in self.values]
            if not todo:
                continue
            sc = self.problem.scenario(u, key)
            resolved, digest = resolved_dict(sc), scenario_hash(sc)
            argsets += [
                (resolved, digest, Task(i, key, r), self.spec.seed, self.spec.crn, False, probe)
                for r in todo
            ]
        if not argsets:
            return

        def record(result: dict) -> None:
            t = result["task"]
            if "error" in result:
                raise ValleysimError(
                    f"design point {t.scenario}, replication {t.replication} failed "
                    f"({result['error']}); the simulations so far are kept in {self.root}. Fix the "
                    "cause, then continue with: python run_sim.py resume "
                    f"{shlex.quote(str(self.root))}\n{result['traceback']}")
            values = result["probe"]["values"]
            self.values[(t.scenario, t.replication)] = values
            append_line(self.root / "evaluations.jsonl",
                        {"point": t.scenario, "replication": t.replication, "values": values})
            self.simulated += 1

        self.folder.run_tasks([[a] for a in argsets], record, total=len(argsets))

    def outputs(self) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Unit coordinates, z scores (points x fitted targets) and a row per point for
        design.parquet."""
        units, zs, rows = [], [], []
        metrics = [p.metric for p in self.problem.targets.points]
        for wave in sorted(self.designs):
            for i, u in enumerate(self.designs[wave]):
                key = point_key(wave, i)
                per = [
                    self.values[(key, r)]
                    for r in range(self.spec.replications)
                    if (key, r) in self.values
                ]
                if not per:
                    continue
                means = {m: float(np.nanmean([v.get(m, np.nan) for v in per])) for m in metrics}
                units.append(u)
                zs.append(self.problem.z(means))
                rows.append(
                    {
                        "wave": wave,
                        "point": key,
                        "replications": len(per),
                        **dict(
                            zip(
                                [p.key for p in self.problem.params],
                                self.problem.values(u),
                                strict=True,
                            )
                        ),
                        **means,
                    }
                )
        return np.asarray(units, float), np.asarray(zs, float), rows

    def run(self) -> dict:
        """Every wave: design, simulate, fit the emulator, sample the posterior."""
        t0 = time.perf_counter()
        sample = None
        emu = None
        waves = []
        for wave in range(1, self.spec.waves + 1):
            units = self.design(wave, sample)
            if self.progress:
                self.echo(f"wave {wave} of {self.spec.waves}: {len(units)} points x "
                          f"{self.spec.replications} "
                          "replication(s)" + (" drawn from the posterior so "
                                               "far" if sample is not None else
                                               " over the priors (Latin hypercube)"))
            self.simulate(wave, units)
            all_units, z, _ = self.outputs()
            if emu is not None:
                self.checks.append(
                    emulator_check(emu, all_units[-len(units) :], z[-len(units) :], wave)
                )
            emu = hm.fit_emulator(all_units, z, seed=self.spec.seed % 2**31)
            sample, info = hm.sample_posterior(emu, len(self.problem.params), self.rng(2, wave))
            waves.append({"wave": wave, "points": len(units), **info})
            if self.progress:
                self.echo(f"  the data rule out {1 - info['non_implausible_share']:.0%} of the "
                          f"prior box (implausibility > {hm.CUTOFF:g}); effective sample size "
                          f"{info['ess']:,.0f}")
        return {
            "emulator": emu,
            "sample": sample,
            "waves": waves,
            "seconds": time.perf_counter() - t0,
        }


def point_key(wave: int, i: int) -> str:
    """The name of design point ``i`` of wave ``wave`` (``w2-p0007``)."""
    return f"w{wave}-p{i:04d}"


def emulator_check(emu: hm.Emulator, units: np.ndarray, z: np.ndarray, wave: int) -> dict:
    """How well the emulator of the waves before predicted this wave's points (before it saw them):
    standardised errors should mostly lie within +-3 (and about 95 % within +-2)."""
    mean, sd = emu.predict(units)
    err = (z - mean) / np.sqrt(sd ** 2 + emu.nugget_var[None, :])
    ok = np.isfinite(err)
    return {
        "wave": wave,
        "points": len(units),
        "within_2sd": float(np.mean(np.abs(err[ok]) <= 2.0)),
        "within_3sd": float(np.mean(np.abs(err[ok]) <= 3.0)),
        "rms_standardised_error": float(np.sqrt(np.mean(err[ok] ** 2))),
    }


# ----------------------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------------------
def summarise(hmr: HistoryMatching, out: dict) -> dict:
    """posterior.json's content, the draws and the design table."""
    prob = hmr.problem
    emu, sample = out["emulator"], out["sample"]
    rng = hmr.rng(3, 0)
    units, weights = hm.draws(sample, hmr.spec.draws, rng)
    draws = {"draw": np.arange(len(units)), "weight": weights}
    for j, p in enumerate(prob.params):
        draws[p.key] = np.array([p.value(float(u)) for u in units[:, j]])
    params = []
    resolved = resolved_dict(prob.base)
    for p, s in zip(prob.params, hm.unit_summary(sample), strict=True):
        params.append({"key": p.key, "scale": p.scale, "kind": p.kind, "low": p.low, "high": p.high,
                       "scenario_value": get_key(resolved, p.targets[0]),
                       "prior_90": [p.raw(0.05), p.raw(0.95)],
                       "posterior_mean": p.raw(s["mean"]), "posterior_median": p.raw(s["median"]),
                       "posterior_90": [p.raw(s["q05"]), p.raw(s["q95"])],
                       "width_ratio": s["width_ratio"], "verdict": s["verdict"]})
    # what the draws reproduce (emulated) against each target, and what the prior alone allowed
    prior_units = np.random.default_rng(0).random((4096, len(prob.params)))
    post_mean, _ = emu.predict(units)
    prior_mean, _ = emu.predict(prior_units)
    targets = []
    for j, t in enumerate(prob.fitted):
        post = t.value + t.tolerance * post_mean[:, j]
        prior = t.value + t.tolerance * prior_mean[:, j]
        targets.append({"group": t.group, "key": t.key, "metric": t.metric, "target": t.value,
                        "tolerance": t.tolerance, "source": t.source,
                        "posterior_90": hm.weighted_quantile(post, weights, [0.05, 0.95]).tolist(),
                        "posterior_median": float(hm.weighted_quantile(post, weights, [0.5])[0]),
                        "prior_90": np.quantile(prior, [0.05, 0.95]).tolist()})
    _, _, rows = hmr.outputs()
    result = {
        "kind": KIND,
        "spec": hmr.spec.to_json(),
        "scenario": prob.base.name,
        "targets_name": prob.targets.name,
        "method": "history matching with a Gaussian-process emulator",
        "observation_sd_in_tolerances": hm.OBS_SD_Z,
        "implausibility_cutoff": hm.CUTOFF,
        "parameters": params,
        "targets": targets,
        "waves": out["waves"],
        "emulator_checks": hmr.checks,
        "emulator_length_scales": {
            t.metric: dict(zip([p.key for p in prob.params], ls.tolist(), strict=True))
            for t, ls in zip(prob.fitted, emu.length_scales(), strict=True)
        },
        "simulated_points": len(rows),
        "draws": len(units),
        "ess": out["waves"][-1]["ess"],
        "seconds": round(out["seconds"], 2),
    }
    return {"result": json_clean(result), "draws": draws, "rows": rows}


def write_outputs(root: Path, summary: dict) -> dict[str, Path]:
    """posterior.parquet, design.parquet, posterior.json and the page in ``root``; their paths."""
    import pyarrow as pa

    root = Path(root)
    atomic_write_table(root / "posterior.parquet", pa.table(summary["draws"]))
    atomic_write_table(root / "design.parquet", pa.Table.from_pylist(summary["rows"]))
    atomic_write_json(root / "posterior.json", summary["result"])
    paths = write_posterior_report(root, summary["result"], summary["draws"])
    return {"parquet": root / "posterior.parquet", "json": root / "posterior.json", **paths}


# ----------------------------------------------------------------------------------------------
# start, resume, report
# ----------------------------------------------------------------------------------------------
KEPT = "Simulated design points are kept"
"""What an interrupted calibration keeps (for the message saying how to continue it)."""


def posterior(
    file,
    targets,
    *,
    priors=(),
    points: int | None = None,
    waves: int = 2,
    replications: int = 1,
    seed: int = DEFAULT_SEED,
    draws: int = 1000,
    overrides=None,
    out=None,
    force: bool = False,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> PosteriorOutcome:
    """Which parameter sets the targets allow: history matching over the priors, in waves.

    ``priors`` as ``--params`` gives them (``"KEY=LOW:HIGH"``; default: the targets file's
    ``priors``); ``points`` design points per wave (default 8 per parameter; at least as many as the
    emulator needs, :func:`sim.analysis.posterior.min_points`), each run on ``replications``
    replications; ``draws`` rows in posterior.parquet. Everything is checked before the folder
    exists (the files, the priors, the first wave's points); every simulation is journalled, so
    ``resume`` continues.
    """
    priors = [priors] if isinstance(priors, str) else list(priors or ())
    priors = [item.strip() for text in priors for item in str(text).split(",") if item.strip()]
    spec = PosteriorInfo(
        file=str(scenario_file(file)),
        targets_file=str(targets),
        priors=tuple(priors),
        overrides=tuple(override_texts(overrides)),
        points=whole(points, "points", 4, 100_000, optional=True) or 0,
        waves=whole(waves, "waves", 1, 20),
        replications=whole(replications, "replications", 1, 10_000),
        seed=seed_of(seed),
        draws=whole(draws, "draws", 10, 1_000_000),
    )
    # bad input stops here, before a folder exists: the files, the priors,
    prob = PosteriorProblem(spec)
    # and the first wave's points
    for i, u in enumerate(lhs_units(len(prob.params), prob.points, spec.seed)):
        prob.scenario(u, point_key(1, i))
    command = command_of(command, ["sim.calibrate", str(file), "--method", "history-matching"])
    manifest = {"kind": KIND, "study": spec.to_json(), "command": shlex.join(command),
                "versions": versions(), "started": now(), "ended": None}
    echo = echo_for(progress, echo)
    ex = open_executor(executor, workers, scheduler, start_method)
    root = Path(out) if out is not None else default_out(f"posterior-{prob.base.name}")
    with StudyFolder.create(root, manifest, executor=ex, force=force, parts=False, kept=KEPT,
                            progress=progress, echo=echo) as folder:
        return PosteriorOutcome(root=folder.root, result=_run(spec, folder, problem=prob))


def resume_posterior(root: Path, executor, *, progress: bool = True, echo=print) -> dict:
    """Continue an interrupted posterior calibration (nothing already simulated reruns)."""
    with StudyFolder.reopen(
        root, executor=executor, kept=KEPT, progress=progress, echo=echo
    ) as folder:
        m = folder.manifest()
        if m.get("kind") != KIND:
            raise UsageError(f"{root}: is not a posterior calibration folder (no {KIND} "
                             "manifest.json).")
        if m.get("status") == "complete":
            raise UsageError(f"{root}: this calibration is already complete; nothing to resume. "
                             "Rebuild its report with: python run_sim.py report "
                             f"{shlex.quote(str(root))}")
        spec = study_info(m)
        folder.begin()
        return _run(spec, folder)


def _run(
    spec: PosteriorInfo, folder: StudyFolder, *, problem: PosteriorProblem | None = None
) -> dict:
    hmr = HistoryMatching(spec, folder, problem=problem)
    out = hmr.run()
    folder.close_executor()
    summary = summarise(hmr, out)
    summary["result"]["command"] = folder.manifest().get("command")
    files = write_outputs(folder.root, summary)
    folder.finish("complete", seconds=summary["result"]["seconds"])
    return {**summary["result"], "files": {k: str(v) for k, v in files.items()}}


def rewrite_report(root: Path) -> dict:
    """``report`` of a posterior folder: the page and plot again from posterior.json and
    posterior.parquet."""
    root = Path(root)
    result = read_json(root / "posterior.json")
    if result is None or not (root / "posterior.parquet").is_file():
        raise UsageError(f"{root}: has no posterior.json and posterior.parquet yet; finish it "
                         f"first with: python run_sim.py resume {shlex.quote(str(root))}")
    draws = columns(root / "posterior.parquet", required=True,
                    remedy="It is rebuilt only by calibrating again (python run_sim.py calibrate "
                           "... --method history-matching with a new --out).")
    paths = write_posterior_report(root, result, draws)
    return {**result, "files": {k: str(v) for k, v in paths.items()}}
