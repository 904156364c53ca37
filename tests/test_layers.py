"""The house reads one way: imports in sim/ run down the layers, never up or sideways, and no
module grows into a god file.

Layers, low to high: helpers (the modules at the top of sim/, such as files and errors) ->
scenario -> model -> analysis -> {experiment, report} -> studies -> cli. experiment and report
never import each other. Checked on the source (an AST walk), so a lazy import inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"
RANK = {"helpers": 0, "scenario": 1, "model": 2, "analysis": 3, "experiment": 4, "report": 4, "studies": 5, "cli": 6}
MAX_LINES = 600


def layer(parts: list[str]) -> str | None:
    """The layer of a module given as its path parts below sim/ (None for sim/__init__ and unknowns)."""
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
                out += [(node.lineno, mod)] if mod else [(node.lineno, [a.name]) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "sim"]
    return out


def violations() -> list[str]:
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
    """The check itself can fail: a model module importing the CLI, and report importing experiment."""
    fake = tmp_path / "sim"
    for rel, text in {"model/x.py": "from ..cli import main\n", "report/y.py": "from sim.experiment import task\n",
                      "analysis/z.py": "from ..scenario import keys\n"}.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setattr(__import__(__name__), "SIM", fake)
    assert sorted(v.split(" ", 1)[1] for v in violations()) == ["model -> cli", "report -> experiment"]


def test_no_module_is_a_god_file():
    """Every module of sim/ stays under about 600 lines."""
    big = {str(p.relative_to(SIM.parent)): n for p in SIM.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}
