"""pytest set-up: the notebooks' kernels use a localbatch of their own, and `--live` points the
conformance tests at a real Azure account instead.

The variables are set before any kernel starts, so every notebook runs against a fresh state
folder, work folder and settings file, never a learner's running tutorial. The learner's Azure
settings (environment, then .env) are kept aside for `--live` only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from helpers.settings import (
    AZURE_NAMES,
    KEY_NAMES,
    SettingsError,
    azure_settings,
    env_file,
    read_env_file,
)

LEARNER_NAMES = (*AZURE_NAMES, *KEY_NAMES, "BATCH_AUTH", "BATCH_LEARNER_ID", "STORAGE_BLOB_URL")
LEARNER_ENV_FILE = env_file()
LEARNER_ENVIRON = {name: os.environ[name] for name in LEARNER_NAMES if name in os.environ}
LIVE_ENDPOINTS: dict[str, str] = {}
LIVE_TIME_SCALE = "20"   # Azure allocates a node in minutes, localbatch in about a second

SCRATCH = Path(tempfile.mkdtemp(prefix="batch-notebooks-tests-"))
USED: set[Path] = set()   # every scratch folder a kernel was pointed at


EDITION_AUTH = {"en": "key", "cs": "entra"}   # as `make notebooks` ran each edition


def use_scratch(folder: Path, auth: str = "key") -> None:
    """Point the kernels started from now on at a localbatch, work folder and settings file
    of their own, signing in with Shared Key or Microsoft Entra ID."""
    USED.add(folder)
    os.environ.update(LOCALBATCH_HOME=str(folder / "localbatch"), BATCH_TARGET="local",
                      BATCH_AUTH=auth, BATCH_NOTEBOOKS_WORKDIR=str(folder / "work"),
                      BATCH_NOTEBOOKS_ENV_FILE=str(folder / "settings.env"))


os.environ["BATCH_NOTEBOOKS_SAMPLE"] = "short"   # 6-second clips, as the committed outputs have
os.environ["LOCALBATCH_TIME_SCALE"] = "60"       # the autoscale clock of the committed outputs
for name in LEARNER_NAMES:
    os.environ.pop(name, None)
use_scratch(SCRATCH)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live", action="store_true",
        help="run only the tests marked conformance, against the Azure Batch and Storage "
             "accounts in the environment or .env (Shared Key). They create pools: it costs "
             "money.")


def pytest_configure(config: pytest.Config) -> None:
    """Under --live, check the account's settings first: a clear error, not 49 skips."""
    if not config.getoption("--live"):
        return
    try:
        settings = azure_settings(learner_azure_values())
    except SettingsError as exc:
        raise pytest.UsageError(f"--live needs an Azure account. {exc}") from None
    if settings.auth != "key":
        raise pytest.UsageError("--live signs requests with Shared Key: set BATCH_AUTH=key, "
                                "BATCH_ACCOUNT_KEY and STORAGE_ACCOUNT_KEY.")
    LIVE_ENDPOINTS.update(
        BATCH_ACCOUNT_NAME=settings.batch_account, BATCH_ACCOUNT_URL=settings.batch_url,
        BATCH_ACCOUNT_KEY=settings.batch_key, STORAGE_ACCOUNT_NAME=settings.storage_account,
        STORAGE_ACCOUNT_KEY=settings.storage_key, STORAGE_BLOB_URL=settings.blob_url)
    os.environ["BATCH_TESTS_TIME_SCALE"] = LIVE_TIME_SCALE


SHARING = {"tests/browser/test_handouts.py": "tests/test_handouts.py"}
"""Test files that share a session fixture (the handouts, built once) with another file."""
STANDALONE = ("10", "11", "12")
"""The notebooks that make their own pools, jobs and inputs and delete them: they need nothing
of 00–09, so each edition's run them apart, in a scratch folder and a worker of their own."""
LONGEST = ("notebooks/cs", "notebooks", "notebooks/cs/standalone", "notebooks/standalone",
           "tests/test_notebooks_headless.py",
           "tests/faults/test_fuzz.py", "tests/faults/test_recovery.py", "tests/test_grade.py",
           "tests/test_two_learners.py", "tests/faults/test_restart_outputs.py",
           "tests/test_handouts.py", "tests/browser/test_jupyterlab.py")
"""The files that take longest, started first (each in a worker as one frees up), so that no
long one starts last and runs alone at the end; the rest follow, most tests first."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under pytest-xdist (`make test` runs `-n`), a file's tests run in one worker, which sets
    up its module fixtures once, and an edition's notebooks run in one worker, in order, as
    they build on each other; the longest files start first (LONGEST)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndEdition(LoadScopeScheduling):
        ordered = False

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:   # the queue is complete by the first assignment
                rank = {scope: n for n, scope in enumerate(LONGEST)}
                for scope in sorted(self.workqueue, key=lambda s: rank.get(s, len(LONGEST))):
                    self.workqueue.move_to_end(scope)
                self.ordered = True
            super()._assign_work_unit(node)

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb"):   # notebooks or notebooks/cs, and their standalone ones
                folder, name = path.rsplit("/", 1)
                return folder + "/standalone" if name[:2] in STANDALONE else folder
            return SHARING.get(path, path)

    return ByFileAndEdition(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --live, leave out every test that needs localbatch's processes or files."""
    if not config.getoption("--live"):
        return
    local_only = [item for item in items if item.get_closest_marker("conformance") is None]
    if local_only:
        config.hook.pytest_deselected(items=local_only)
        items[:] = [item for item in items if item.get_closest_marker("conformance")]


@pytest.fixture(scope="session")
def live_endpoints() -> dict[str, str]:
    """The Azure accounts of --live, under the names localbatch's endpoints use."""
    return LIVE_ENDPOINTS


def learner_azure_values() -> dict[str, str]:
    """The learner's Azure settings (environment, then .env) as they were before the tests hid
    them from the kernels."""
    return {**read_env_file(LEARNER_ENV_FILE), **LEARNER_ENVIRON}


@pytest.fixture(scope="session")
def azure_values() -> dict[str, str]:
    return learner_azure_values()


def edition_scratch(item: pytest.Item) -> Path | None:
    """A notebook's scratch folder: one per edition (notebooks/ or notebooks/cs), so that each
    edition starts from nothing (08 keeps the output container), whatever ran before it, and one
    more per edition for its standalone notebooks (STANDALONE), which run in another worker."""
    if item.path.suffix != ".ipynb":
        return None
    edition = "cs" if item.path.parent.name == "cs" else "en"
    return SCRATCH / (edition + ("-standalone" if item.path.name[:2] in STANDALONE else ""))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a notebook's first kernel starts, point the kernels at its edition's scratch; a
    test after notebooks in the same worker gets the suite's own settings back (Shared Key)."""
    folder = edition_scratch(item)
    auth = EDITION_AUTH[folder.name.removesuffix("-standalone")] if folder else "key"
    folder = folder or SCRATCH
    if os.environ["LOCALBATCH_HOME"] != str(folder / "localbatch"):
        use_scratch(folder, auth)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the kernels' localbatch (one per scratch folder), if they started one."""
    from localbatch.control import down, state_dir
    for folder in USED:
        down(state_dir(folder / "localbatch"))
