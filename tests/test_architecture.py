"""localbatch's shape: the import contracts of .importlinter hold (the layers of
docs/architecture.md, no import circle, only the server importing the service, no schema in the
command line or a node agent); no part reaches another through a hub object; HTTP handlers reach
the service only through its managers.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "localbatch"
# The attributes that hold a manager (or the state only its owner changes), wherever they are.
MANAGERS = {"scheduler", "tasks", "jobs", "pools", "node_manager", "nodes", "events", "life",
            "book", "background"}
# Holders whose attributes of those names are data, not managers (registry.tasks is a dict).
DATA = {"registry"}
# What an HTTP handler may use of the service object it is given.
API_USES = {"jobs", "pools", "tasks", "account", "key", "base_url", "commit", "identity",
            "identity_header"}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


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


# Who writes each kind of record (docs/architecture.md): its saves, drops and state moves.
OWNERS = {"pool": {"localbatch.pools"}, "node": {"localbatch.nodes"},
          "job": {"localbatch.jobs", "localbatch.joblife", "localbatch.jobprep"},
          "task": {"localbatch.tasks"}}
WRITE = re.compile(r"^(?:save|drop)_(pool|node|job|task)(?:_side)?$")


def writes(source: str) -> set[str]:
    """The kinds of record a module writes: registry.save_task(...), states.move("task", ...)."""
    kinds = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        names = chain(node.func)
        if len(names) >= 2 and names[-2] == "registry" and (found := WRITE.match(names[-1])):
            kinds.add(found.group(1))
        if names[-2:] == ["states", "move"] and isinstance(node.args[0], ast.Constant):
            kinds.add(node.args[0].value)
    return kinds


def test_the_writer_finder_sees_saves_drops_and_moves() -> None:
    source = ('self.registry.save_task(j, t)\nself.registry.drop_node(p, n)\n'
              'self.registry.save_job_side(j, reason=None)\nstates.move("pool", pool, "deleting")\n'
              'self.registry.tasks.get(j)')
    assert writes(source) == {"task", "node", "job", "pool"}


def test_each_kind_of_record_has_one_writer() -> None:
    """The scheduler places and the pool manager asks for nodes, but neither writes a task's or
    a node's record: only the owner does, so it can save what it changed."""
    found = {kind: {name for name, path in modules().items() if kind in writes(path.read_text())}
             for kind in OWNERS}
    assert found == OWNERS


def test_the_import_contracts_hold() -> None:
    """lint-imports reads every import, those under TYPE_CHECKING and inside functions too."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


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


def test_the_service_starts_without_building_the_iri_grammar() -> None:
    """rfc3987_syntax (installed for Jupyter) builds a Lark grammar on import: seconds of every
    start. jsonschema is imported without it (lean_imports), and it stays importable."""
    probe = ("import sys, localbatch.server; print('rfc3987_syntax' in sys.modules); "
             "import rfc3987_syntax; print('ok')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "ok"]


def first_import(path: Path, names: tuple[str, ...]) -> str:
    """Which of these modules the file imports first, at its top level."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported = [f"{node.module or ''}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in imported:
            parts = name.strip(".").split(".")
            found = [wanted for wanted in names if wanted in (parts[0], parts[-1])]
            if found:
                return found[0]
    return ""


@pytest.mark.parametrize("path", ["scripts/run_notebooks.py", "scripts/build_handouts.py",
                                  "localbatch/schema/__init__.py"])
def test_what_imports_jsonschema_imports_lean_imports_first(path: str) -> None:
    """The scripts reach jsonschema through nbformat or nbconvert; pytest loads lean_imports as
    a plugin, before nbval's, through addopts."""
    first = ("lean_imports", "nbformat", "nbconvert", "nbclient", "jsonschema")
    assert first_import(ROOT / path, first) == "lean_imports"
    assert "-p localbatch.lean_imports" in (ROOT / "pyproject.toml").read_text()
