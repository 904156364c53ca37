"""Hostile input: fuzzed and hand-made scenario files, overrides and command lines end in a clear
exit-2 error in seconds, never a traceback or a hang.

``VALLEYSIM_FUZZ_EXAMPLES=N`` runs the property-based tests with N examples each instead of
the default (for a longer hunt than the test suite can afford).
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from procs import env
from robust import (
    FUZZ_SETTINGS,
    ROOT,
    RUN_SIM,
    SHIPPED_TEXT,
    clean_cli_result,
    examples,
    invoke,
    outcome_of,
)

from sim.errors import ScenarioError
from sim.scenario.loader import MAX_FILE_BYTES, dump_yaml


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
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            -1,
            -1.5,
            -1e300,
            1e300,
            10**30,
            2**63,
            0,
            0.0,
            -0.0,
            1e-300,
            1e7,
            1e12,
            "",
            "2015-13",
            "2015-02-30",
            "0000-01",
            "9999-12",
            "*",
            "no-programme",
            "\u0000",
            "\ufeff",
            "\u202e\ub300\uad6c",
            "ccei-announced",
        ]
    ),
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
            text = (
                text[:at]
                + draw(
                    st.one_of(
                        st.binary(max_size=8),
                        st.sampled_from(
                            [
                                b"\xff",
                                b"\xc3",
                                b"\x00",
                                b"\t",
                                b": ",
                                b"- ",
                                b"&a ",
                                b"*a",
                                b"[",
                                b"{",
                                b"'",
                                b'"',
                                b"!!binary ",
                                b"!!python/object:os.system ",
                                b"? ",
                                b"<<: *a\n",
                                b"\r",
                            ]
                        ),
                        st.text(max_size=8).map(lambda s: s.encode("utf-8")),
                    )
                )
                + text[at:]
            )
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            text = text[:at] + text[at:at + 200] + text[at:]
    return text


YAMLISH = st.text(alphabet=list(":-[]{}&*!|>'\"#%@`,?.\n\t "
                                "abc019eE+_~<=\\u") + ["\u00e9", "\ub300"], max_size=300)


def billion_laughs(levels: int, width: int) -> str:
    """A YAML alias bomb of ``levels`` levels, each ``width`` wide."""
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
    "huge-int": "extends: no-programme\nregions: {Seoul: "
                "{founding_rate_per_year: " + "9" * 4299 + "}}\n",
    "huge-int-tag": "extends: no-programme\nregions: {Seoul: {founding_rate_per_year: !!int "
                    "'" + "9" * 6000 + "'}}\n",
    "bad-binary": "extends: no-programme\nname: !!binary '@@@'\n",
    "python-tag": "extends: no-programme\nname: !!python/object/apply:os.system ['true']\n",
    "unhashable-key": "? [a, b]\n: 1\n",
    "map-key": "{a: 1}: 2\n",
    "bad-merge": "a: &a 1\n<<: *a\n",
    "lone-surrogate-key": 'extends: no-programme\nregions: {"\\ud800": {founding_rate_per_year: '
                          '1}}\n',
    "lone-surrogate-name": 'extends: no-programme\nname: "\\udcff"\n',
    "nan-everywhere": "extends: ccei-announced\nregions: {Seoul: {founding_rate_per_year: .nan}}\n"
                      "centre_defaults: {seats: .inf, apply_probability: .nan}\n",
    "absurd-founding": "extends: no-programme\nregions: {"
                       + ", ".join(f"{r}: {{founding_rate_per_year: "
                                   f"1.0e+7}}" for r in ("Seoul", "Busan", "Jeju")) + "}\n",
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
    "many-problems": "name: x\nsectors: {ict: 1}\nregions: "
                     "{" + ", ".join(f"r{i}: {{}}" for i in range(3000)) + "}\n",
}


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    """A folder for the fuzz cases' files."""
    return tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def fresh_dir():
    """A fresh, empty folder for one case (removed after it)."""
    with tempfile.TemporaryDirectory(prefix="valleysim-fuzz-") as d:
        yield Path(d)


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(
        content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    )
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_files_end_in_a_scenario_error(case, fuzz_dir):
    """Each classic attack on a YAML reader ends in one located ScenarioError, in seconds."""
    path = _write(fuzz_dir, f"{case}.yaml", HOSTILE_FILES[case])
    result = outcome_of(path)
    assert isinstance(result, ScenarioError), f"{case}: accepted"
    assert result.message.startswith(f"{path}"), result.message
    assert len(result.message) < 5000, (f"{case}: a {len(result.message):,}-character message is "
                                        f"not a paragraph")


def test_hostile_paths_end_in_a_scenario_error(tmp_path):
    """A directory, a missing file, a pipe, a device, a symlink loop, a name too long,
    self-extension."""
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
        (chain / f"c{i}.yaml").write_text("extends: "
                                          f"c{i + 1}\n" if i < 39 else "extends: no-programme\n")
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
    # alone in its folder: `extends: NAME` finds the shipped file, not an earlier case
    with fresh_dir() as d:
        outcome_of(_write(d, name, text))


@settings(max_examples=examples(150), **FUZZ_SETTINGS)
@given(raw=mangled_text())
def test_fuzz_mangled_shipped_text(raw):
    """Cut, spliced and non-UTF-8 text of the shipped scenarios."""
    with fresh_dir() as d:
        outcome_of(_write(d, "mangled.yaml", raw))


@settings(max_examples=examples(150), **FUZZ_SETTINGS)
@given(raw=st.one_of(st.binary(max_size=400),
                     YAMLISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
                     st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_fuzz_random_documents(raw):
    """Random bytes and random YAML-ish text."""
    with fresh_dir() as d:
        outcome_of(_write(d, "random.yaml", raw))


@settings(max_examples=examples(100), **FUZZ_SETTINGS)
@given(doc=st.recursive(
    st.one_of(HOSTILE_SCALARS, st.just([]), st.just({})),
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, min_size=1, max_size=4)),
    max_leaves=30))
def test_fuzz_random_yaml_structures(doc):
    """Random well-formed YAML values of every shape at the top level."""
    with fresh_dir() as d:
        outcome_of(_write(d, "structure.yaml", yaml.safe_dump(doc, allow_unicode=True)))


OVERRIDE_KEYS = st.one_of(
    st.sampled_from(
        [
            "name",
            "calendar.start",
            "calendar.horizon",
            "calendar.cohort_last_year",
            "sectors.ict",
            "regions.Seoul.founding_rate_per_year",
            "regions.Jeju",
            "regions",
            "centres.Daejeon.seats",
            "centres.Daejeon.opens",
            "centre_defaults.grants.per_startup_krw",
            "centre_defaults",
            "conglomerates.SK.invest_probability",
            "startups.stages.product",
            "funding.equity.rounds",
            "founder_education",
            "extends",
            "description.x",
            "a..b",
            ".",
            "",
            "regions.Seoul.x.y",
        ]
    ),
    st.text(max_size=20),
)
OVERRIDE_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "~",
            ".nan",
            ".inf",
            "-.inf",
            "-1",
            "1e400",
            "1.0e+400",
            "9" * 5000,
            "2015-13-45",
            "&a [*a]",
            "{a: 1",
            "[1, 2]",
            "{1: 2}",
            "!!binary '@@'",
            "!!float x",
            "yes",
            "'text'",
            "0x1F",
            "1:30",
            '"\\ud800"',
            "{Seoul: {founding_rate_per_year: 1.0e+7}}",
        ]
    ),
    st.text(max_size=20),
)


@settings(max_examples=examples(100), **FUZZ_SETTINGS)
@given(sets=st.lists(st.tuples(OVERRIDE_KEYS, OVERRIDE_VALUES), min_size=1, max_size=3),
       base=st.sampled_from(["no-programme.yaml", "ccei-announced.yaml", "double-grants.yaml"]),
       raw=st.lists(st.text(max_size=15), max_size=1))
def test_fuzz_overrides(sets, base, raw):
    """``--set`` with random keys and values (YAML-read): the same guarantee as files."""
    overrides = [f"{k}={v}" for k, v in sets] + raw
    outcome_of(ROOT / "scenarios" / base, overrides)


@settings(max_examples=examples(40), **FUZZ_SETTINGS)
@given(case=st.one_of(
    mutated_shipped().map(lambda c: dump_yaml(c[1]).encode("utf-8", "surrogatepass")),
    mangled_text()))
def test_fuzz_cli_validate_exits_0_or_2_without_traceback(case):
    """The same inputs through ``validate``: exit 0 or 2, one paragraph, no traceback."""
    with fresh_dir() as d:
        clean_cli_result(invoke("validate", _write(d, "cli.yaml", case)))


def _capped(limit: int = 1_500_000_000):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.slow
def test_cli_hostile_files_and_arguments_subprocess(fuzz_dir, tmp_path):
    """As real processes (argv decoding, stderr encoding) with memory capped at 1.5 GB: every
    hostile file in one ``validate`` (exit 2, each file named, no traceback), a FIFO, a file name
    that is not UTF-8 (fine), a scenario name from the command line that is not Unicode text, an
    absurd ``run`` (refused before it allocates anything)."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    bad_name = os.fsencode(tmp_path) + b"/caf\xe9.yaml"  # a Latin-1 file name
    with open(bad_name, "wb") as fh:
        fh.write(SHIPPED_TEXT["no-programme.yaml"].encode())
    files = [
        _write(fuzz_dir, f"sub-{case}.yaml", HOSTILE_FILES[case]) for case in sorted(HOSTILE_FILES)
    ]
    np_file = ROOT / "scenarios" / "no-programme.yaml"
    # a file name may be bytes, a name not
    runs = [
        (["validate", *files, fifo, os.fsdecode(bad_name)], 2),
        (["show", os.fsdecode(bad_name), "--set", "name=caf\udce9"], 2),
        (
            [
                "run",
                np_file,
                "--set",
                "regions.Seoul.founding_rate_per_year=1e7",
                "-n",
                "1",
                "--out",
                tmp_path / "o",
            ],
            2,
        ),
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


