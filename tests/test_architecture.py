"""localbatch's shape, checked from its source: no import circle among its modules (imports
under TYPE_CHECKING and inside functions included), no part reaching another through a hub
object, and HTTP handlers reaching the service only through its managers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "localbatch"
# The attributes that hold a manager (or the state only its owner changes), wherever they are.
MANAGERS = {"scheduler", "tasks", "jobs", "pools", "node_manager", "nodes", "events", "life",
            "book", "background"}
# Holders whose attributes of those names are data, not managers (registry.tasks is a dict).
DATA = {"registry"}
# What an HTTP handler may use of the service object it is given.
API_USES = {"jobs", "pools", "tasks", "account", "key", "base_url", "commit"}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules this module imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target in known:
                found.update({target, *(p for p in _parents(target) if p in known)})
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def chain(node: ast.Attribute) -> list[str]:
    """a.b.c as ["a", "b", "c"] (calls and subscripts in between end it)."""
    names = [node.attr]
    while isinstance(node.value, ast.Attribute):
        node = node.value
        names.append(node.attr)
    if isinstance(node.value, ast.Name):
        names.append(node.value.id)
    return names[::-1]


def hub_reaches(source: str) -> list[str]:
    """Attribute chains that reach a manager through another object (self.svc.scheduler)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            names = chain(node)
            for at in range(1, len(names) - 1):   # a holder that is not the chain's start
                if names[at + 1] in MANAGERS and names[at] not in DATA:
                    found.append(".".join(names[: at + 2]))
                    break
    return sorted(set(found))


def test_the_cycle_finder_finds_a_circle_and_ignores_a_line() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_import_reader_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "jobs.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from .service import Service\nfrom . import wire\n")
    known = {"localbatch", "localbatch.service", "localbatch.wire", "localbatch.jobs"}
    assert imports("localbatch.jobs", module, known) == {
        "localbatch", "localbatch.service", "localbatch.wire"}


def test_no_import_circle_among_the_modules() -> None:
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    assert "localbatch.scheduler" in graph["localbatch.tasks"]   # the reader reads this tree
    assert cycles(graph) == []


def test_only_the_wiring_and_the_server_import_the_service() -> None:
    found = modules()
    importers = sorted(name for name, path in found.items()
                       if "localbatch.service" in imports(name, path, set(found)))
    assert importers == ["localbatch.server"]


def test_the_hub_finder_flags_a_manager_reached_through_another_object() -> None:
    assert hub_reaches("self.svc.scheduler.kick()") == ["self.svc.scheduler"]
    assert hub_reaches("self.scheduler.place()\nself.registry.tasks.get(k)") == []


def test_no_part_reaches_a_manager_through_a_hub() -> None:
    reaches = {name: hub_reaches(path.read_text()) for name, path in modules().items()
               if not name.startswith("localbatch.api")}
    assert {name: found for name, found in reaches.items() if found} == {}


def test_handlers_reach_state_only_through_the_managers() -> None:
    used = set()
    for name, path in modules().items():
        if name.startswith("localbatch.api"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute):
                    names = chain(node)
                    if "svc" in names[:-1]:
                        used.add(names[names.index("svc") + 1])
    assert "tasks" in used   # the walk saw the handlers
    assert used - API_USES == set()
