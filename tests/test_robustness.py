"""Issue 8 [robustness]: hostile parameter files, extreme scenarios, interrupted runs, lost workers,
unwritable and full disks, and every shipped scenario end to end.

What tests/test_experiment.py already shows is not repeated here (kill -9 or Ctrl-C once a
part is on disk then resume, SIGTERM to the parent, failing tasks, an unreachable scheduler,
a real scheduler with workers); this file adds what those leave open: fuzzed input, extreme
but valid worlds, kills at other moments (right after start, during consolidation), a Dask
worker killed mid-experiment, and the disk.

``VALLEYSIM_FUZZ_EXAMPLES=N`` runs the property-based tests with N examples each instead of
the default (for a longer hunt than the test suite can afford).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from procs import dask_cluster as start_dask_cluster
from procs import env
from rows import metric_rows, table_rows

from sim.cli import cli
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario
from sim.scenario.loader import MAX_FILE_BYTES, dump_yaml
from sim.scenario.schema import MAX_STARTUPS

ROOT = Path(__file__).resolve().parents[1]
RUN_SIM = str(ROOT / "run_sim.py")
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SHIPPED_TEXT = {p.name: p.read_text(encoding="utf-8") for p in SHIPPED}
FUZZ = int(os.environ.get("VALLEYSIM_FUZZ_EXAMPLES", "0")) or None


def examples(n: int) -> int:
    return FUZZ or n


FUZZ_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                          HealthCheck.function_scoped_fixture])
PER_CASE_SECONDS = 10.0
"""A hostile file must be answered in seconds, never by a hang (generous: CI machines are slow)."""


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def outcome_of(path: Path, overrides=()) -> Scenario | ScenarioError:
    """load_scenario's answer: a Scenario or a ScenarioError, never anything else, in seconds."""
    start = time.perf_counter()
    try:
        result = load_scenario(path, overrides)
    except ScenarioError as exc:
        result = exc
        assert exc.message.strip(), "an error must say something"
        assert "Traceback" not in exc.message
    elapsed = time.perf_counter() - start
    assert elapsed < PER_CASE_SECONDS, f"{path}: took {elapsed:.1f} s"
    if isinstance(result, Scenario):
        # a valid scenario is also a bounded amount of work: never a memory blow-up later
        assert result.expected_startups() <= MAX_STARTUPS
    return result


def invoke(*args, **env_extra):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env_extra or None)


def clean_cli_result(result, codes=(0, 2)) -> None:
    """A CliRunner result that ended by an exit code (no stray exception) without a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ")


def manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------
# 1. fuzzing the scenario loader and the CLI
# ---------------------------------------------------------------------------------------------
def _nested(depth: int, leaf=1):
    node = leaf
    for i in range(depth):
        node = [node] if i % 2 else {"k": node}
    return node


HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, -1.5, -1e300, 1e300, 10**30, 2**63, 0, 0.0, -0.0, 1e-300,
                     1e7, 1e12, "", "2015-13", "2015-02-30", "0000-01", "9999-12", "*", "no-programme",
                     "\u0000", "\ufeff", "\u202e\ub300\uad6c", "ccei-announced"]),
    st.text(max_size=30),
)
HOSTILE = st.one_of(
    HOSTILE_SCALARS,
    st.lists(HOSTILE_SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=8), HOSTILE_SCALARS, max_size=4),
    st.integers(min_value=1, max_value=45).map(_nested),
)


def _paths(node, prefix=()):
    """Every key path in a nested mapping/list (the places a mutation can hit)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated_shipped(draw) -> tuple[str, dict]:
    """A shipped scenario with 1-4 random structural mutations."""
    name = draw(st.sampled_from(sorted(SHIPPED_TEXT)))
    data = yaml.safe_load(SHIPPED_TEXT[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["delete", "replace", "replace", "add-key", "scale", "wrap"]))
        if not path:  # the top level itself
            if op == "delete":
                data = {}
            elif op == "add-key":
                data[draw(st.text(min_size=1, max_size=12))] = draw(HOSTILE)
            continue
        parent, key = _get(data, path[:-1]), path[-1]
        value = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(HOSTILE)
        elif op == "add-key" and isinstance(value, dict):
            value[draw(st.text(min_size=1, max_size=12))] = draw(HOSTILE)
        elif op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = value * draw(st.sampled_from([-1, 0, 1e-9, 10, 1e6, 1e300, math.inf]))
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[value], {"x": value}, str(value)]))
    return name, data


@st.composite
def mangled_text(draw) -> bytes:
    """A shipped scenario's text cut, spliced or sprinkled with bytes that are not UTF-8."""
    text = SHIPPED_TEXT[draw(st.sampled_from(sorted(SHIPPED_TEXT)))].encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "insert", "delete", "duplicate"]))
        if op == "cut":
            text = text[:at]
        elif op == "insert":
            text = text[:at] + draw(st.one_of(
                st.binary(max_size=8),
                st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\t", b": ", b"- ", b"&a ", b"*a", b"[", b"{", b"'",
                                 b'"', b"!!binary ", b"!!python/object:os.system ", b"? ", b"<<: *a\n", b"\r"]),
                st.text(max_size=8).map(lambda s: s.encode("utf-8")))) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            text = text[:at] + text[at:at + 200] + text[at:]
    return text


YAMLISH = st.text(alphabet=list(":-[]{}&*!|>'\"#%@`,?.\n\t abc019eE+_~<=\\u") + ["\u00e9", "\ub300"], max_size=300)


def billion_laughs(levels: int, width: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


HOSTILE_FILES: dict[str, str | bytes] = {
    "empty": b"",
    "only-comments": "# nothing\n# here\n",
    "bom-only": "\ufeff",
    "null-document": "~\n",
    "bad-utf8": b"name: caf\xe9\nsectors: {ict: 1}\n",
    "utf16": "name: x\n".encode("utf-16"),
    "nul-bytes": b"name: \x00\x00\n",
    "deep-flow-list": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-flow-map": "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x: 1\n",
    "recursive-list": "extends: no-programme\nsectors: &a [*a]\n",
    "recursive-map": "extends: no-programme\nregions: &r {Seoul: *r}\n",
    "alias-bomb": billion_laughs(9, 10),
    "alias-bomb-wide": billion_laughs(3, 60),
    "many-aliases": "a: &a 1\nb: [" + ", ".join(["*a"] * 500) + "]\n",
    "bad-date": "extends: no-programme\ncalendar: {start: 2015-13-45}\n",
    "bad-float-tag": "extends: no-programme\nname: !!float abc\n",
    "bad-int-tag": "extends: no-programme\nname: !!int abc\n",
    "huge-int": "extends: no-programme\nregions: {Seoul: {founding_rate_per_year: " + "9" * 4299 + "}}\n",
    "huge-int-tag": "extends: no-programme\nregions: {Seoul: {founding_rate_per_year: !!int '" + "9" * 6000 + "'}}\n",
    "bad-binary": "extends: no-programme\nname: !!binary '@@@'\n",
    "python-tag": "extends: no-programme\nname: !!python/object/apply:os.system ['true']\n",
    "unhashable-key": "? [a, b]\n: 1\n",
    "map-key": "{a: 1}: 2\n",
    "bad-merge": "a: &a 1\n<<: *a\n",
    "lone-surrogate-key": 'extends: no-programme\nregions: {"\\ud800": {founding_rate_per_year: 1}}\n',
    "lone-surrogate-name": 'extends: no-programme\nname: "\\udcff"\n',
    "nan-everywhere": "extends: ccei-announced\nregions: {Seoul: {founding_rate_per_year: .nan}}\n"
                      "centre_defaults: {seats: .inf, apply_probability: .nan}\n",
    "absurd-founding": "extends: no-programme\nregions: {"
                       + ", ".join(f"{r}: {{founding_rate_per_year: 1.0e+7}}" for r in ("Seoul", "Busan", "Jeju")) + "}\n",
    "absurd-trend": "extends: no-programme\nregions: {Seoul: {founding_trend_per_year: 1.0}}\n"
                    "calendar: {start: 1950-01, horizon: 2049-12}\n",
    "absurd-calendar": "extends: no-programme\ncalendar: {start: 0001-01, horizon: 9999-12}\n",
    "absurd-intake": "extends: ccei-announced\ncentre_defaults: {intake_every_months: 1.0e-9}\n",
    "zero-quality-education": "extends: ccei-announced\nfounder_education: "
                              "{samsung-software-daegu: {quality_multiplier: 0}}\n",
    "long-name": "extends: no-programme\nname: " + "x" * 100_000 + "\n",
    "long-extends": "extends: " + "a" * 5000 + "\n",
    "extends-nul": 'extends: "a\\0b"\n',
    "extends-dir": "extends: ./\n",
    "extends-dev-zero": "extends: /dev/zero\n",
    "extends-number": "extends: 42\n",
    "extends-missing": "extends: no-such-scenario\n",
    "many-problems": "name: x\nsectors: {ict: 1}\nregions: {" + ", ".join(f"r{i}: {{}}" for i in range(3000)) + "}\n",
}


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def fresh_dir():
    with tempfile.TemporaryDirectory(prefix="valleysim-fuzz-") as d:
        yield Path(d)


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_files_end_in_a_scenario_error(case, fuzz_dir):
    """Each classic attack on a YAML reader ends in one located ScenarioError, in seconds."""
    path = _write(fuzz_dir, f"{case}.yaml", HOSTILE_FILES[case])
    result = outcome_of(path)
    assert isinstance(result, ScenarioError), f"{case}: accepted"
    assert result.message.startswith(f"{path}"), result.message
    assert len(result.message) < 5000, f"{case}: a {len(result.message):,}-character message is not a paragraph"


def test_hostile_paths_end_in_a_scenario_error(tmp_path):
    """A directory, a missing file, a pipe, a device, a symlink loop, a name too long, self-extension."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(tmp_path / "loop2.yaml")
    (tmp_path / "loop2.yaml").symlink_to(loop)
    (tmp_path / "self.yaml").write_text("extends: self\nname: me\n")
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: ./a.yaml\n")
    chain = tmp_path / "chain"
    chain.mkdir()
    for i in range(40):
        (chain / f"c{i}.yaml").write_text(f"extends: c{i + 1}\n" if i < 39 else "extends: no-programme\n")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    cases = {
        tmp_path: "is a directory",
        tmp_path / "missing.yaml": "no such file",
        tmp_path / "self.yaml" / "below.yaml": "no such file",
        fifo: "is not a regular file",
        Path("/dev/zero"): "is not a regular file",
        loop: "cannot be read",
        tmp_path / ("n" * 300 + ".yaml"): "cannot be read",
        tmp_path / "self.yaml": "extends forms a cycle",
        tmp_path / "a.yaml": "extends forms a cycle",
        chain / "c0.yaml": "a chain of at most",
        big: "a scenario file is at most",
    }
    for path, expected in cases.items():
        result = outcome_of(path)
        assert isinstance(result, ScenarioError), path
        assert expected in result.message, result.message


@settings(max_examples=examples(200), **FUZZ_SETTINGS)
@given(case=mutated_shipped())
def test_fuzz_mutated_shipped_scenarios(case):
    """Deleted keys, wrong types, NaN, inf, negative and huge numbers, unicode keys and values,
    deep nesting in any shipped scenario: a valid Scenario or a ScenarioError, nothing else."""
    name, data = case
    try:
        text = dump_yaml(data)
    except (yaml.YAMLError, RecursionError):
        assume(False)
    with fresh_dir() as d:  # alone in its folder: `extends: NAME` finds the shipped file, not an earlier case
        outcome_of(_write(d, name, text))


@settings(max_examples=examples(150), **FUZZ_SETTINGS)
@given(raw=mangled_text())
def test_fuzz_mangled_shipped_text(raw):
    """Cut, spliced and non-UTF-8 text of the shipped scenarios."""
    with fresh_dir() as d:
        outcome_of(_write(d, "mangled.yaml", raw))


@settings(max_examples=examples(150), **FUZZ_SETTINGS)
@given(raw=st.one_of(st.binary(max_size=400), YAMLISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
                     st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_fuzz_random_documents(raw):
    """Random bytes and random YAML-ish text."""
    with fresh_dir() as d:
        outcome_of(_write(d, "random.yaml", raw))


@settings(max_examples=examples(100), **FUZZ_SETTINGS)
@given(doc=st.recursive(st.one_of(HOSTILE_SCALARS, st.just([]), st.just({})), lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=4), st.dictionaries(st.text(max_size=10), inner, min_size=1, max_size=4)),
    max_leaves=30))
def test_fuzz_random_yaml_structures(doc):
    """Random well-formed YAML values of every shape at the top level."""
    with fresh_dir() as d:
        outcome_of(_write(d, "structure.yaml", yaml.safe_dump(doc, allow_unicode=True)))


OVERRIDE_KEYS = st.one_of(
    st.sampled_from(["name", "calendar.start", "calendar.horizon", "calendar.cohort_last_year", "sectors.ict",
                     "regions.Seoul.founding_rate_per_year", "regions.Jeju", "regions", "centres.Daejeon.seats",
                     "centres.Daejeon.opens", "centre_defaults.grants.per_startup_krw", "centre_defaults",
                     "conglomerates.SK.invest_probability", "startups.stages.product", "funding.rounds",
                     "founder_education", "extends", "description.x", "a..b", ".", "", "regions.Seoul.x.y"]),
    st.text(max_size=20))
OVERRIDE_VALUES = st.one_of(
    st.sampled_from(["", "~", ".nan", ".inf", "-.inf", "-1", "1e400", "1.0e+400", "9" * 5000, "2015-13-45",
                     "&a [*a]", "{a: 1", "[1, 2]", "{1: 2}", "!!binary '@@'", "!!float x", "yes", "'text'",
                     "0x1F", "1:30", "\"\\ud800\"", "{Seoul: {founding_rate_per_year: 1.0e+7}}"]),
    st.text(max_size=20))


@settings(max_examples=examples(100), **FUZZ_SETTINGS)
@given(sets=st.lists(st.tuples(OVERRIDE_KEYS, OVERRIDE_VALUES), min_size=1, max_size=3),
       base=st.sampled_from(["no-programme.yaml", "ccei-announced.yaml", "double-grants.yaml"]),
       raw=st.lists(st.text(max_size=15), max_size=1))
def test_fuzz_overrides(sets, base, raw):
    """``--set`` with random keys and values (YAML-read): the same guarantee as files."""
    overrides = [f"{k}={v}" for k, v in sets] + raw
    outcome_of(ROOT / "scenarios" / base, overrides)


@settings(max_examples=examples(40), **FUZZ_SETTINGS)
@given(case=st.one_of(mutated_shipped().map(lambda c: dump_yaml(c[1]).encode("utf-8", "surrogatepass")),
                      mangled_text()))
def test_fuzz_cli_validate_exits_0_or_2_without_traceback(case):
    """The same inputs through ``validate``: exit 0 or 2, one paragraph, no traceback."""
    with fresh_dir() as d:
        clean_cli_result(invoke("validate", _write(d, "cli.yaml", case)))


def _capped(limit: int = 1_500_000_000):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.slow
def test_cli_hostile_files_and_arguments_subprocess(fuzz_dir, tmp_path):
    """As real processes (argv decoding, stderr encoding) with memory capped at 1.5 GB: every hostile
    file in one ``validate`` (exit 2, each file named, no traceback), a FIFO, a file name that is
    not UTF-8 (fine), a scenario name from the command line that is not Unicode text, an absurd
    ``run`` (refused before it allocates anything)."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    bad_name = os.fsencode(tmp_path) + b"/caf\xe9.yaml"  # a Latin-1 file name
    with open(bad_name, "wb") as fh:
        fh.write(SHIPPED_TEXT["no-programme.yaml"].encode())
    files = [_write(fuzz_dir, f"sub-{case}.yaml", HOSTILE_FILES[case]) for case in sorted(HOSTILE_FILES)]
    np_file = ROOT / "scenarios" / "no-programme.yaml"
    runs = [
        (["validate", *files, fifo, os.fsdecode(bad_name)], 2),
        (["show", os.fsdecode(bad_name), "--set", "name=caf\udce9"], 2),  # a file name may be bytes, a name not
        (["run", np_file, "--set", "regions.Seoul.founding_rate_per_year=1e7", "-n", "1", "--out", tmp_path / "o"], 2),
    ]
    outputs = []
    for args, code in runs:
        start = time.perf_counter()
        r = subprocess.run([sys.executable, RUN_SIM, *map(os.fsencode, map(str, args))], cwd=ROOT,
                           capture_output=True, timeout=120, env=env(), preexec_fn=_capped())
        assert time.perf_counter() - start < 60
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        assert r.returncode == code, (args[:2], err)
        assert err.startswith("error: ") and "Traceback" not in err, (args[:2], err)
        outputs.append((out, err))
    out, err = outputs[0]
    for f in [*files, fifo]:
        assert f"{f}: " in err, f  # every hostile file has its own paragraph
    assert "ok  " in out and "caf" in out  # the Latin-1 file name was validated
    for _, err in outputs[1:]:
        assert err.count("\n") == 1, err  # one paragraph
    assert not (tmp_path / "o").exists()  # bad input: nothing written


# ---------------------------------------------------------------------------------------------
# any valid lever values run (the schema's own bounds, at their extremes)
# ---------------------------------------------------------------------------------------------
def _bounds(field) -> tuple[float, float, bool]:
    lo, hi, integer = -math.inf, math.inf, field.annotation is int
    for m in field.metadata:
        lo = max(lo, getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo)
        if getattr(m, "gt", None) is not None:
            lo = max(lo, m.gt + (1 if integer else 1e-9))
        hi = min(hi, getattr(m, "le", None) if getattr(m, "le", None) is not None else hi)
    return lo, hi, integer


def levers(model, skip=()) -> st.SearchStrategy[dict]:
    """Some of ``model``'s bounded numeric fields, each at its lower bound, upper bound or between."""
    fields = {}
    for name, f in model.model_fields.items():
        if name in skip or f.annotation not in (int, float):
            continue
        lo, hi, integer = _bounds(f)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            continue
        between = st.integers(int(lo), int(hi)) if integer else st.floats(lo, hi, allow_nan=False)
        fields[name] = st.one_of(st.just(int(lo) if integer else lo), st.just(int(hi) if integer else hi), between)
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def extreme_valid_world(draw) -> dict:
    from sim.scenario.schema import (
        Centre,
        Conglomerate,
        FounderEducation,
        Grants,
        Region,
        Round,
        StageParams,
        Startups,
        Training,
    )

    stage = levers(StageParams)
    return {
        "name": "extreme", "calendar": {"start": "2014-01", "horizon": "2017-12", "cohort_first_year": 2014,
                                        "cohort_last_year": 2015},
        "sectors": {"ict": 1.0, "bio": draw(st.sampled_from([0.0, 1.0]))},
        "regions": {"North": {"founding_rate_per_year": draw(st.sampled_from([0, 3, 60])),
                              **draw(levers(Region, skip={"founding_rate_per_year"}))},
                    "South": {"founding_rate_per_year": 40}},
        "startups": {**draw(levers(Startups)),
                     "stages": {s: {"months_to_milestone": 10, "failure_hazard_per_month": 0.01, **draw(stage)}
                                for s in ("prototype", "product", "traction")}},
        "funding": {"rounds": {s: {"probability": 0.2, "size_median_krw": 1e8, **draw(levers(Round))}
                               for s in ("prototype", "product", "traction")}},
        "centres": {"Hub": {"region": "North", "partner": "Big", "opens": "2014-06", "catchment": ["*"],
                            "sector_focus": ["ict"], **draw(levers(Centre)),
                            "training": draw(levers(Training)), "grants": draw(levers(Grants))}},
        "conglomerates": {"Big": draw(levers(Conglomerate))},
        "founder_education": {"edu": {"region": "North", "starts": "2015-01",
                                      "founding_rate_multiplier": draw(st.sampled_from([0.0, 1.0, 5.0])),
                                      **draw(levers(FounderEducation, skip={"founding_rate_multiplier"}))}},
    }


@settings(max_examples=examples(60), **FUZZ_SETTINGS)
@given(world=extreme_valid_world(), replication=st.integers(0, 3))
def test_any_valid_scenario_runs_and_reduces_to_sane_metrics(world, replication):
    """Levers at the extremes the schema allows (speed 0, seats 0 or 10 million, weekly contests, no
    hazard, 1000x multipliers, ...): the task never fails and every metric is a share in [0, 1],
    a finite non-negative count or amount, or NaN where undefined."""
    from sim.experiment.task import Task, run_task
    from sim.scenario.loader import resolved_dict, scenario_hash, validate

    try:
        sc = validate(copy.deepcopy(world), "extreme.yaml")
    except ScenarioError as exc:  # some combinations are invalid together (probabilities summing above 1)
        assert "extreme.yaml: invalid scenario" in exc.message
        return
    assert sc.expected_startups() < 10_000  # small worlds: this test is about levers, not size
    start = time.perf_counter()
    result = run_task(resolved_dict(sc), scenario_hash(sc), Task(0, "extreme", replication), 7, True, True)
    assert time.perf_counter() - start < 60
    assert "error" not in result, result.get("traceback")
    for key, v in result["metrics"].items():
        if "survival" in key:
            assert math.isnan(v) or 0.0 <= v <= 1.0, (key, v)
        elif key == "survivors_5y":  # undefined with survival_5y (nobody observed to age 5)
            assert math.isnan(v) == math.isnan(result["metrics"]["survival_5y"]) or v == 0.0, (key, v)
        elif key != "naive_gap_5y":
            assert math.isfinite(v) and v >= 0.0, (key, v)


# ---------------------------------------------------------------------------------------------
# 2. extreme but valid scenarios run and report sensibly
# ---------------------------------------------------------------------------------------------
BASE = ROOT / "scenarios" / "ccei-announced.yaml"
COUNTERFACTUAL = ROOT / "scenarios" / "no-programme.yaml"


def scaled(path: Path, factor: float) -> list[str]:
    """--set overrides multiplying every region's founding rate by ``factor``."""
    sc = load_scenario(path)
    return [f"regions.{r}.founding_rate_per_year={reg.founding_rate_per_year * factor:.6g}"
            for r, reg in sc.regions.items()]


def _every(section: str, key: str, value, path: Path = BASE) -> list[str]:
    sc = load_scenario(path)
    return [f"{section}.{n}.{key}={value}" for n in getattr(sc, section)]


ONE_MONTH = ["calendar.start=2015-01", "calendar.horizon=2015-01", "calendar.cohort_first_year=2015",
             "calendar.cohort_last_year=2015"]
EXTREMES = {
    "no-startups": scaled(BASE, 0.0),
    "zero-budgets": scaled(BASE, 0.05) + _every("centres", "grants.annual_budget_krw", 0)
    + _every("centres", "grants.per_startup_krw", 0) + _every("centres", "operating_cost_krw_per_year", 0)
    + _every("conglomerates", "annual_budget_krw", 0) + _every("founder_education", "cost_krw_per_year", 0),
    "no-seats": scaled(BASE, 0.05) + _every("centres", "seats", 0),
    "one-month": scaled(BASE, 0.05) + ONE_MONTH + _every("centres", "opens", "2015-01")
    + _every("founder_education", "starts", "2015-01"),
}


def _strict_json(path: Path):
    def no_constants(name):
        raise AssertionError(f"{path}: {name} is not JSON")

    return json.loads(path.read_text(), parse_constant=no_constants)


@pytest.mark.parametrize("case", sorted(EXTREMES))
def test_extreme_scenarios_run_and_report_undefined_metrics_as_na(case, tmp_path, capsys):
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment
    from sim.report.tables import headline_table

    over = EXTREMES[case]
    sc = load_scenario(BASE, over).model_copy(update={"name": case})
    cf = load_scenario(COUNTERFACTUAL, [o for o in over if o.startswith(("regions.", "calendar."))])
    spec = ExperimentSpec(scenarios={"cf": cf, case: sc}, replications=2, seed=11, comparisons=[(case, "cf")])
    out = tmp_path / "out"
    outcome = run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    assert not outcome.failures
    assert manifest(out)["status"] == "complete"
    summary = _strict_json(out / "summary.json")  # undefined is null, never a bare NaN
    rows = pq.read_table(out / "replications.parquet").to_pylist()
    assert len(rows) == 4
    for row in rows:
        for key, v in row.items():
            assert v is not None, f"{key} is null in parquet: undefined must be NaN"
            if isinstance(v, float) and key not in ("naive_gap_5y", "seconds"):
                assert math.isnan(v) or v >= 0, (key, v)
    mine = summary["scenarios"][case]
    for metric, why in mine["undefined"].items():
        assert mine["metrics"][metric]["mean"] is None and why
        assert all(math.isnan(r[metric]) for r in rows if r["scenario"] == case)
    for metric, stat in mine["metrics"].items():
        if metric not in mine["undefined"]:
            assert stat["mean"] is not None and math.isfinite(stat["mean"]), metric

    if case in ("no-startups", "one-month"):
        assert {"survival_1y", "survival_5y", "supported_survival_5y"} <= set(mine["undefined"])
        assert all(r["startups"] == 0 for r in rows) if case == "no-startups" else True
    if case == "no-seats":
        assert mine["metrics"]["supported"]["mean"] == 0
        assert "supported_survival_5y" in mine["undefined"]
    if case == "zero-budgets":
        for m in ("grants_krw", "conglomerate_investment_krw", "operating_cost_krw", "programme_cost_krw"):
            assert mine["metrics"][m]["mean"] == 0.0, m
    # comparisons with an undefined side are undefined too (null), never a crash or a number
    for comp in summary["comparisons"]:
        if comp["metric"] in mine["undefined"]:
            assert comp["diff"] is None

    capsys.readouterr()
    headline_table(summary, ["cf", case])
    printed = capsys.readouterr().out
    if mine["undefined"]:
        assert "n/a" in printed
        assert "n/a in S(5y)" in printed or "n/a in supported S(5y)*" in printed
        assert "undefined, no " in printed  # and says why


@pytest.mark.slow
def test_no_startup_experiment_writes_its_reports(tmp_path):
    """The most degenerate world (nothing founded) still gets a full compare report."""
    out = tmp_path / "out"
    over = [a for o in EXTREMES["no-startups"] for a in ("--set", o)]
    r = invoke("compare", BASE, "--counterfactual", "no-programme", "--baseline", "none", "-n", "2",
               "--executor", "serial", "--out", out, "-q", *over)
    clean_cli_result(r, codes=(0,))
    assert "n/a" in r.stdout
    for name in ("report.html", "report.md", "summary.json", "replications.parquet"):
        assert (out / name).is_file(), name
    assert manifest(out)["status"] == "complete"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "n/a" in md and "n/a: " in md  # shown as n/a, and a note says why
    assert not re.search(r"\bnan\b", md, re.IGNORECASE)  # never a raw NaN


@pytest.mark.slow
def test_a_very_large_region_runs_and_an_absurd_one_is_refused(tmp_path):
    """One region founding 30,000 start-ups a year (8 times Seoul) runs; founding rates valid one by
    one that add up to billions of start-ups are refused up front with a clear message."""
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment

    big = ["regions.Seoul.founding_rate_per_year=30000", "calendar.start=2014-01", "calendar.horizon=2015-12",
           "calendar.cohort_first_year=2014", "calendar.cohort_last_year=2014",
           *[o for o in scaled(BASE, 0.0) if not o.startswith("regions.Seoul.")]]
    sc = load_scenario(BASE, big).model_copy(update={"name": "big"})
    assert 55_000 < sc.expected_startups() < 65_000
    out = tmp_path / "big"
    outcome = run_experiment(ExperimentSpec(scenarios={"big": sc}, replications=1), out, SerialExecutor(),
                             progress=False, echo=lambda _m: None)
    assert not outcome.failures
    m = outcome.summary["scenarios"]["big"]["metrics"]
    assert m["startups"]["mean"] > 25_000 and 0 < m["survival_1y"]["mean"] < 1

    absurd = [f"regions.{r}.founding_rate_per_year=1e7" for r in load_scenario(BASE).regions]
    with pytest.raises(ScenarioError) as exc:
        load_scenario(BASE, absurd)
    assert "regions: expected founding rates adding up to at most 1,000,000 start-ups" in exc.value.message
    assert "found about 2.21e+09" in exc.value.message


# ---------------------------------------------------------------------------------------------
# shared by 3-6: a tiny scenario and its uninterrupted, in-process, serial reference run
# ---------------------------------------------------------------------------------------------
NAME = "tiny"
SEED = 20140902
N_REF = 4
DATA_OUTPUTS = ("summary.json", "replications.parquet", "regions.parquet", "startups.parquet")


def parts(folder: Path) -> list[Path]:
    d = Path(folder) / "parts"
    return sorted(d.glob("*.metrics.parquet")) if d.is_dir() else []


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """ccei-announced (all its centres and partners) with founding rates cut 20-fold, fully resolved
    into one self-contained file (so edits to the shipped files during a session change nothing)."""
    from sim.scenario.loader import resolved_dict

    data = resolved_dict(load_scenario(BASE, scaled(BASE, 0.05)))
    data["name"] = NAME
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory) -> dict:
    from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment

    out = tmp_path_factory.mktemp("reference") / "run"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_REF, seed=SEED)
    run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    return {"rows": metric_rows(out), "regions": table_rows(out, "regions.parquet"),
            "startups": table_rows(out, "startups.parquet"),
            "summary": json.loads((out / "summary.json").read_text())["scenarios"]}


def same_as_reference(folder: Path, reference: dict, n: int = N_REF) -> None:
    assert metric_rows(folder) == [r for r in reference["rows"] if r["replication"] < n]
    assert table_rows(folder, "regions.parquet") == [r for r in reference["regions"] if r["replication"] < n]
    assert table_rows(folder, "startups.parquet") == reference["startups"]
    if n == N_REF:
        assert json.loads((folder / "summary.json").read_text())["scenarios"] == reference["summary"]


def assert_never_falsely_complete(folder: Path, reference: dict, n: int = N_REF) -> str:
    """The folder's state after a kill: whatever it is, it does not claim to be complete unless it is.

    Returns the status ("missing" when no manifest was written yet)."""
    if not (folder / "manifest.json").exists():
        return "missing"
    status = manifest(folder)["status"]  # always parses: the manifest is replaced atomically
    assert status in ("running", "interrupted", "failed", "complete")
    if status == "complete":
        for name in DATA_OUTPUTS:
            assert (folder / name).is_file(), f"complete, but {name} is missing"
        same_as_reference(folder, reference, n)
    return status


def finish_after_kill(folder: Path, tiny: Path, reference: dict) -> None:
    """Whatever a kill left: resume it (or start again if no manifest was written) -> identical results."""
    status = assert_never_falsely_complete(folder, reference)
    if status == "missing":  # killed before the manifest: nothing to resume, start again
        r = invoke("run", tiny, "-n", N_REF, "--executor", "serial", "--out", folder, "--force", "-q")
    elif status == "complete":
        r = invoke("resume", folder, "--executor", "serial", "-q")
        assert r.exit_code == 2 and "already complete" in r.stderr
        return
    else:
        r = invoke("resume", folder, "--executor", "serial", "-q")
    assert r.exit_code == 0, r.output
    assert manifest(folder)["status"] == "complete"
    assert not list(folder.glob(".*.tmp-*")) and not (folder / "parts").exists()
    same_as_reference(folder, reference)


# ---------------------------------------------------------------------------------------------
# 3. interruption at moments tests/test_experiment.py does not reach
# ---------------------------------------------------------------------------------------------
HOLD_WRAPPER = r'''
import os, sys, time, pathlib
hold, mark = os.environ["VALLEYSIM_TEST_HOLD"], pathlib.Path(os.environ["VALLEYSIM_TEST_MARK"])
from sim.experiment import store

def wait_here():
    mark.write_text(hold)
    time.sleep(600)

if hold == "consolidate":  # in the middle of writing replications.parquet
    import pyarrow.parquet as pq
    class Held(pq.ParquetWriter):
        def write_table(self, *a, **k):
            super().write_table(*a, **k)
            wait_here()
    pq.ParquetWriter = Held
elif hold == "before-complete":  # summary.json written, the manifest not yet "complete"
    update = store.ResultsStore.update_manifest
    def held_update(self, **changes):
        if changes.get("status") == "complete":
            wait_here()
        return update(self, **changes)
    store.ResultsStore.update_manifest = held_update
elif hold == "after-complete":  # the manifest says "complete", the parts are not deleted yet
    drop = store.ResultsStore.drop_parts
    def held_drop(self):
        wait_here()
        return drop(self)
    store.ResultsStore.drop_parts = held_drop
from sim.cli import main
sys.argv[0] = "run_sim.py"
main()
'''


def start_cli(*args, hold: str | None = None, mark: Path | None = None) -> subprocess.Popen:
    """The CLI in its own session (so the test can signal all of it), optionally held at a point."""
    extra = {"VALLEYSIM_TEST_HOLD": hold, "VALLEYSIM_TEST_MARK": mark} if hold else {}
    cmd = [sys.executable, "-c", HOLD_WRAPPER] if hold else [sys.executable, RUN_SIM]
    return subprocess.Popen([*cmd, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(**extra), start_new_session=True)


def stop(proc: subprocess.Popen, sig: int) -> tuple[str, str]:
    """SIGKILL the whole process group (kill -9, the OOM killer) or SIGTERM the parent (`kill PID`)."""
    with contextlib.suppress(ProcessLookupError):
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    try:
        return proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def wait_until(proc: subprocess.Popen, condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) too early:\n{err}")
        if time.monotonic() > deadline:
            stop(proc, signal.SIGKILL)
            pytest.fail("timed out waiting for the run")
        time.sleep(0.01)


HOLDS = [("consolidate", signal.SIGKILL), ("consolidate", signal.SIGTERM), ("before-complete", signal.SIGKILL),
         ("after-complete", signal.SIGKILL), ("after-complete", signal.SIGTERM)]


@pytest.mark.slow
def test_kill_during_consolidation_and_finish_never_looks_complete(tiny, reference, tmp_path):
    """kill -9 or SIGTERM while the final files are assembled (replications.parquet half-written),
    between summary.json and the final status, and between the final status and the clean-up:
    the manifest never says complete with a file missing or wrong, and resume ends identical.
    (The five runs overlap, so this costs about one run's start-up.)"""
    runs = []
    for i, (hold, sig) in enumerate(HOLDS):
        out, mark = tmp_path / f"out{i}", tmp_path / f"mark{i}"
        runs.append((hold, sig, out, mark, start_cli("run", tiny, "-n", N_REF, "--executor", "serial", "--out",
                                                     out, "-q", hold=hold, mark=mark)))
    for hold, sig, out, mark, proc in runs:
        wait_until(proc, mark.exists)
        _, err = stop(proc, sig)
        assert "Traceback" not in err, (hold, sig, err)
        status = assert_never_falsely_complete(out, reference)
        if sig == signal.SIGTERM:
            assert proc.returncode == 130 and status == "interrupted", (hold, proc.returncode, err)
            assert f"python run_sim.py resume {out}" in err
        if hold == "consolidate":
            assert status != "complete" and list(out.glob(".replications.parquet.tmp-*"))  # half-written
        if hold == "before-complete":
            assert status != "complete" and (out / "summary.json").is_file()
        if hold == "after-complete" and sig == signal.SIGKILL:
            assert status == "complete"  # every output was in place before the status was written
    for _hold, _sig, out, _mark, _proc in runs:
        finish_after_kill(out, tiny, reference)


@pytest.mark.slow
def test_kill_at_random_moments_never_looks_complete_and_resume_is_identical(tiny, reference, tmp_path):
    """kill -9 or SIGTERM right after start, at a random delay, and after a random number of finished
    tasks (serial and a process pool of 2). Seeded (VALLEYSIM_KILL_SEED), so a failure can be replayed."""
    rng = random.Random(int(os.environ.get("VALLEYSIM_KILL_SEED", "8")))
    moments = [("delay", 0.0, "serial"), ("delay", rng.uniform(0.3, 3.0), "processes"),
               ("parts", rng.randrange(0, N_REF - 1), "serial"), ("parts", rng.randrange(1, N_REF), "processes")]
    runs = []
    for i, (kind, when, executor) in enumerate(moments):
        out = tmp_path / f"out{i}"
        proc = start_cli("run", tiny, "-n", N_REF, "-j", 2, "--executor", executor, "--out", out, "-q")
        runs.append((kind, when, out, proc, rng.choice([signal.SIGKILL, signal.SIGTERM])))
    t0 = time.monotonic()
    for kind, when, out, proc, sig in runs:  # the runs overlap: this costs one run's start-up, not four
        if kind == "delay":
            time.sleep(max(0.0, t0 + when - time.monotonic()))
        else:
            wait_until(proc, lambda out=out, when=when: len(parts(out)) > when)
        _, err = stop(proc, sig)
        assert "Traceback" not in err, (kind, when, sig, err)
    for _kind, _when, out, _proc, _sig in runs:
        finish_after_kill(out, tiny, reference)


# ---------------------------------------------------------------------------------------------
# 4. distributed faults
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def dask_two_workers():
    """A real ``dask scheduler`` and two ``dask worker`` processes on loopback, each in its own session."""
    with start_dask_cluster(2) as cluster:
        yield cluster


@pytest.mark.slow
def test_dask_worker_killed_mid_experiment_still_completes_identically(dask_two_workers, tiny, reference,
                                                                         tmp_path):
    """SIGKILL one of two `dask worker` processes (and its nanny) once some tasks are done: the
    scheduler reruns its tasks on the other worker and the experiment completes, identical."""
    import threading

    from sim.experiment import DaskExecutor, ExperimentSpec, run_experiment

    address, workers = dask_two_workers
    out = tmp_path / "out"
    executor = DaskExecutor(address)
    assert executor.workers == 2
    killed_at = []

    def kill_one_worker():
        deadline = time.monotonic() + 120
        while len(parts(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        killed_at.append(len(parts(out)))
        os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its nanny, without warning

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_REF, seed=SEED)
    outcome = run_experiment(spec, out, executor, progress=False, echo=lambda _m: None)
    killer.join(timeout=10)
    assert killed_at and 2 <= killed_at[0] < N_REF, f"the worker was lost after {killed_at} tasks"
    assert workers[0].wait(timeout=10) is not None
    assert not outcome.failures
    assert manifest(out)["status"] == "complete"
    same_as_reference(out, reference)


class _SilentListener:
    """Something that accepts TCP connections and never says a word (a wrong port, a stalled host)."""

    def __enter__(self):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.conns = []

        def accept():
            with contextlib.suppress(OSError):
                while True:
                    self.conns.append(self.sock.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        return f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc):
        for c in self.conns:
            c.close()
        self.sock.close()


def test_unreachable_scheduler_variants_fail_within_seconds(tiny, tmp_path):
    """Besides a closed port (tests/test_experiment.py): something that accepts connections but never
    answers (this used to hang forever) and a malformed address: exit 2, a clear message, within
    seconds, nothing written."""
    pytest.importorskip("distributed")
    with _SilentListener() as silent:
        for address, says in [(silent, "did not answer as a Dask scheduler"),
                              ("not-an-address", "missing port number")]:
            start = time.perf_counter()
            r = invoke("run", tiny, "-n", 1, "--scheduler", address, "--out", tmp_path / "out")
            elapsed = time.perf_counter() - start
            clean_cli_result(r, codes=(2,))
            assert f"--scheduler {address}: cannot reach the Dask scheduler within 5 s" in r.stderr
            assert says in r.stderr, r.stderr
            assert elapsed < 20, f"{address}: {elapsed:.1f} s"
            assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# 5. the disk: unwritable and full output locations
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(path: Path, size: str, *options: str):
    """A small tmpfs mounted at ``path`` (root only; skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); needs root and CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_output_under_a_regular_file_is_a_clear_exit_3(tiny, tmp_path):
    """An --out nobody can create (a path below a regular file; chmod does not stop root): exit 3."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = invoke("run", tiny, "-n", 1, "--executor", "serial", "--out", blocker / "sub", "-q")
    clean_cli_result(r, codes=(3,))
    assert f"error: {blocker / 'sub'}: cannot write results (Not a directory)" in r.stderr
    assert blocker.read_text() == "not a folder"


def test_read_only_output_location_is_a_clear_exit_3(tiny, tmp_path):
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        r = invoke("run", tiny, "-n", 1, "--executor", "serial", "--out", ro / "out", "-q")
        clean_cli_result(r, codes=(3,))
        assert "cannot write results (Read-only file system)" in r.stderr
        assert not (ro / "out").exists()


@pytest.mark.slow
def test_full_disk_is_a_clear_exit_3_never_complete_and_resumable(tiny, reference, tmp_path):
    """Disks that fill up at every stage (the manifest, a part, consolidation, summary.json, the final
    status): exit 3 and one paragraph; never 'complete'; after freeing space, resume ends identical."""
    n = 2
    stages = set()
    for size in ("16k", "48k", "224k", "272k", "328k", "1m"):
        with tmpfs(tmp_path / f"disk-{size}", size) as disk:
            out = disk / "out"
            r = invoke("run", tiny, "-n", n, "--executor", "serial", "--out", out, "-q")
            clean_cli_result(r, codes=(0, 3))
            status = assert_never_falsely_complete(out, reference, n)
            if r.exit_code == 3:
                assert status != "complete"
                assert "cannot write results (" in r.stderr and "No space left on device" in r.stderr
                assert "Nothing written there counts as done" in r.stderr
                stages.add((status, tuple(sorted(p.name for p in out.iterdir() if p.name in DATA_OUTPUTS))))
                subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)  # space freed
                if status == "missing":
                    r = invoke("run", tiny, "-n", n, "--executor", "serial", "--out", out, "--force", "-q")
                else:
                    r = invoke("resume", out, "--executor", "serial", "-q")
                assert r.exit_code == 0, r.output
            assert manifest(out)["status"] == "complete"
            same_as_reference(out, reference, n)
    # the sizes hit the disk filling up before the manifest, during the run, while consolidating and
    # (on this version's file sizes) with every output but the final status written
    assert ("missing", ()) in stages
    assert ("running", ()) in stages
    assert any(files for _, files in stages), stages


# ---------------------------------------------------------------------------------------------
# 6. every shipped scenario, end to end
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_smoke_every_shipped_scenario_runs(path, tmp_path):
    """One replication of each shipped scenario (founding rates cut 20-fold) through ``run``:
    exit 0, status complete, a valid summary.json."""
    out = tmp_path / "out"
    over = [a for o in scaled(path, 0.05) for a in ("--set", o)]
    r = invoke("run", path, "-n", 1, "--executor", "serial", "--out", out, "-q", *over)
    clean_cli_result(r, codes=(0,))
    assert manifest(out)["status"] == "complete"
    summary = _strict_json(out / "summary.json")
    name = load_scenario(path).name
    assert list(summary["scenarios"]) == [name]
    metrics = summary["scenarios"][name]["metrics"]
    assert metrics["startups"]["mean"] > 0
    assert 0 < metrics["survival_1y"]["mean"] <= 1 and 0 <= metrics["survival_5y"]["mean"] <= 1
    assert summary["failures"] == []
    assert len(pq.read_table(out / "replications.parquet")) == 1
