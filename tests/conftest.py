"""Shared fixtures: small valid scenarios built in code, scenario files written on the fly, and the
robustness tests' tiny scenario with its uninterrupted reference run."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from robust import BASE, N_REF, NAME, SEED, scaled
from rows import metric_rows, table_rows

from sim.scenario import load_scenario
from sim.scenario.loader import deep_merge, dump_yaml, validate
from sim.scenario.schema import Scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

SMALL: dict = {
    "name": "small",
    "description": "two regions, five years: small enough for a test to run in well under a second",
    "calendar": {
        "start": "2014-01",
        "horizon": "2018-12",
        "cohort_first_year": 2014,
        "cohort_last_year": 2016,
    },
    "sectors": {"ict": 0.6, "bio_health": 0.4},
    "regions": {
        "North": {"founding_rate_per_year": 400, "funding_access": 1.0},
        "South": {"founding_rate_per_year": 200, "funding_access": 0.6},
    },
    "centres": {},
    "conglomerates": {},
}
"""A small valid scenario; every other section takes the schema's defaults."""


@pytest.fixture(scope="session")
def shipped() -> Path:
    """The folder of the shipped scenarios."""
    return SCENARIOS


@pytest.fixture(scope="session")
def scenario_dict() -> Callable[..., dict]:
    """Factory: a fresh copy of :data:`SMALL` with ``over`` deep-merged on top."""

    def make(over: dict | None = None) -> dict:
        return deep_merge(copy.deepcopy(SMALL), over or {})

    return make


@pytest.fixture(scope="session")
def make_scenario(scenario_dict) -> Callable[..., Scenario]:
    """Factory: :data:`SMALL` + ``over``, validated by the loader into a frozen Scenario."""

    def make(over: dict | None = None, origin: str = "small.yaml") -> Scenario:
        return validate(scenario_dict(over), origin)

    return make


@pytest.fixture
def write_scenario(tmp_path) -> Callable[..., Path]:
    """Write a scenario file (a mapping is dumped as YAML, text or bytes are written as is)."""

    def write(name: str, content: dict | str | bytes, folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(
                content if isinstance(content, str) else dump_yaml(content), encoding="utf-8"
            )
        return path

    return write


# -- the robustness tests' scaled-down shipped scenario and its reference run (tests/robust.py) --
@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """ccei-announced (all its centres and partners) with founding rates cut 20-fold, fully resolved
    into one self-contained file (so edits to the shipped files during a session change nothing).
    Beside it, ``no-programme.yaml``: the same economy without the programme, the counterfactual a
    compare of tiny finds before the shipped (real-scale) one."""
    from sim.scenario.loader import resolved_dict

    data = resolved_dict(load_scenario(BASE, scaled(BASE, 0.05)))
    data["name"] = NAME
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    none = dict(data, name="no-programme", centre_defaults={}, centres={}, conglomerate_defaults={},
                conglomerates={}, founder_education={}, timeline={})  # the programme's dates go too
    (path.parent / "no-programme.yaml").write_text(dump_yaml(none), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def reference(tiny, tmp_path_factory) -> dict:
    """The tiny scenario's uninterrupted, serial, in-process run: what every resumed or executor run
    must equal."""
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment

    out = tmp_path_factory.mktemp("reference") / "run"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_REF, seed=SEED)
    run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    return {"rows": metric_rows(out), "regions": table_rows(out, "regions.parquet"),
            "startups": table_rows(out, "startups.parquet"),
            "summary": json.loads((out / "summary.json").read_text())["scenarios"]}
