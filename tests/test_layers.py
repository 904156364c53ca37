"""The house reads one way: imports in sim/ run down the layers, never up or sideways, never in a
circle (within a layer too), no module reaches for another's private names, and no module grows
into a god file.

Layers, low to high: helpers (the modules at the top of sim/, such as files and errors) ->
scenario -> model -> analysis -> {experiment, report} -> studies -> cli. experiment and report
never import each other. Checked on the source (an AST walk), so a lazy import inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"
RANK = {
    "helpers": 0,
    "scenario": 1,
    "model": 2,
    "analysis": 3,
    "experiment": 4,
    "report": 4,
    "studies": 5,
    "cli": 6,
}
MAX_LINES = 600


def layer(parts: list[str]) -> str | None:
    """The layer of a module given as its path parts below sim/ (None for sim/__init__ and
    unknowns)."""
    if not parts or parts[0] in ("__init__", "__init__.py"):
        return None
    head = parts[0].removesuffix(".py")
    if head in RANK:
        return head
    return "helpers" if len(parts) == 1 else None


def imported_modules(path: Path) -> list[tuple[int, list[str]]]:
    """(line, module path below sim/) of every import of a sim module in ``path``."""
    rel = list(path.relative_to(SIM).parts)
    package = rel[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    out.append((node.lineno, base + node.module.split(".")))
                else:
                    out += [(node.lineno, base + [a.name]) for a in node.names]
            elif node.module and node.module.split(".")[0] == "sim":
                mod = node.module.split(".")[1:]
                out += (
                    [(node.lineno, mod)] if mod else [(node.lineno, [a.name]) for a in node.names]
                )
        elif isinstance(node, ast.Import):
            out += [
                (node.lineno, a.name.split(".")[1:])
                for a in node.names
                if a.name.split(".")[0] == "sim"
            ]
    return out


def violations() -> list[str]:
    """Every import in sim/ that runs up the layers or between experiment and report."""
    bad = []
    for path in sorted(SIM.rglob("*.py")):
        src = layer(list(path.relative_to(SIM).parts))
        if src is None:
            continue
        for line, target in imported_modules(path):
            dst = layer(target)
            if dst is None or dst == src:
                continue
            up = RANK[dst] > RANK[src]
            sideways = RANK[dst] == RANK[src] == RANK["experiment"]
            if up or sideways:
                bad.append(f"{path.relative_to(SIM.parent)}:{line} {src} -> {dst}")
    return bad


def test_imports_run_down_the_layers_only():
    """No module imports from a higher layer, and experiment and report never import each other."""
    assert violations() == []


def test_the_checker_catches_an_import_up_and_one_sideways(tmp_path, monkeypatch):
    """The check itself can fail: a model module importing the CLI, and report importing
    experiment."""
    fake = tmp_path / "sim"
    for rel, text in {"model/x.py": "from ..cli import "
                                    "main\n", "report/y.py": "from sim.experiment import task\n",
                      "analysis/z.py": "from ..scenario import keys\n"}.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setattr(__import__(__name__), "SIM", fake)
    assert sorted(v.split(" ", 1)[1] for v in violations()) == ["model -> "
                                                                "cli", "report -> experiment"]


def test_no_module_is_a_god_file():
    """Every module of sim/ stays under about 600 lines."""
    big = {str(p.relative_to(SIM.parent)): n for p in SIM.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}


# ---------------------------------------------------------------------------------------------
# no import circle, no private name across modules
# ---------------------------------------------------------------------------------------------
def modules() -> dict[str, Path]:
    """Dotted name (below sim/, "" for sim/__init__) -> file, for every module of sim/."""
    out = {}
    for path in SIM.rglob("*.py"):
        parts = list(path.relative_to(SIM).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_edges() -> dict[str, set[str]]:
    """Module -> the sim modules it imports (``from .pkg import name`` counts the module
    ``pkg.name`` when there is one, else ``pkg``), at the top or inside a function alike."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = [p for p in package if p]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    mod = package[: len(package) - (node.level - 1)] + (
                        node.module.split(".") if node.module else []
                    )
                elif node.module and node.module.split(".")[0] == "sim":
                    mod = node.module.split(".")[1:]
                else:
                    continue
                for alias in node.names:
                    sub = ".".join(mod + [alias.name])
                    deps.add(sub if sub in mods else ".".join(mod))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "sim":
                        deps.add(".".join(alias.name.split(".")[1:]))
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: every group of modules that import each other, directly or not
    (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def private_imports() -> list[str]:
    """``from MODULE import _name`` of a sim module from another one (a private name crossing
    modules)."""
    bad = []
    for path in sorted(modules().values()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").split(".")[0] == "sim"
            ):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{path.relative_to(SIM.parent)}:{node.lineno} imports "
                                   f"{alias.name}")
    return bad


def test_no_import_circle_anywhere_in_sim():
    """No group of modules imports each other, within a layer as across them, imports inside
    functions included: each module can be read (and tested) after the ones it uses."""
    assert circles(import_edges()) == []


def test_no_module_imports_another_module_s_private_name():
    """No ``from MODULE import _name`` of another sim module."""
    assert private_imports() == []


def test_the_checks_catch_a_circle_through_a_function_and_a_private_import(tmp_path, monkeypatch):
    """The checks themselves can fail: report a <-> b (b's import inside a function), and a private
    name."""
    fake = tmp_path / "sim"
    for rel, text in {"__init__.py": "", "report/__init__.py": "", "report/a.py": "from .b import "
                                                                                  "page\n",
                      "report/b.py": "def page():\n    from . import "
                                     "a\n", "report/c.py": "from .a import _x\n",
                      "studies/d.py": "from sim.report.a import thing\n"}.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setattr(__import__(__name__), "SIM", fake)
    assert circles(import_edges()) == [["report.a", "report.b"]]
    assert import_edges()["studies.d"] == {"report.a"}
    assert [v.split(" ", 1)[1] for v in private_imports()] == ["imports _x"]
