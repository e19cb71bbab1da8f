"""environment.yml (conda, for workshops) asks for the same packages as pyproject.toml.

There is no conda on the project's machines, so the two files are compared as data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # PyYAML: already installed through jupyterlab (jupyter-events)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _by_name(lines: list[str], where: str) -> dict[str, Requirement]:
    reqs: dict[str, Requirement] = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in reqs, f"{req.name} is listed twice in {where}"
        reqs[name] = req
    return reqs


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def conda_deps() -> list:
    return yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]


def test_pip_section_matches_pyproject(pyproject: dict, conda_deps: list) -> None:
    project = pyproject["dependencies"] + pyproject["optional-dependencies"]["test"]
    pip_sections = [d["pip"] for d in conda_deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `- pip:` section"
    want = _by_name(project, "pyproject.toml")
    have = _by_name(pip_sections[0], "environment.yml")

    problems = [f"missing from environment.yml: {want[n]}" for n in want.keys() - have.keys()]
    problems += [f"not in pyproject.toml: {have[n]}" for n in have.keys() - want.keys()]
    problems += [
        f"{want[n].name}: pyproject.toml has {want[n]}, environment.yml has {have[n]}"
        for n in want.keys() & have.keys()
        if (want[n].specifier, want[n].extras, want[n].marker)
        != (have[n].specifier, have[n].extras, have[n].marker)
    ]
    assert not problems, "environment.yml drifted from pyproject.toml:\n" + "\n".join(problems)


def test_conda_packages_are_python_node_and_pip(pyproject: dict, conda_deps: list) -> None:
    conda = [d for d in conda_deps if isinstance(d, str)]
    assert "pip" in conda
    assert any(d.startswith("nodejs") for d in conda), "Azurite needs nodejs"
    (python,) = [d for d in conda if d.startswith("python=")]
    version = python.removeprefix("python=")
    assert SpecifierSet(pyproject["requires-python"]).contains(version), (
        f"environment.yml pins {python}, pyproject requires {pyproject['requires-python']}"
    )
