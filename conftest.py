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

LEARNER_NAMES = (*AZURE_NAMES, *KEY_NAMES, "BATCH_AUTH", "STORAGE_BLOB_URL")
LEARNER_ENV_FILE = env_file()
LEARNER_ENVIRON = {name: os.environ[name] for name in LEARNER_NAMES if name in os.environ}
LIVE_ENDPOINTS: dict[str, str] = {}
LIVE_TIME_SCALE = "20"   # Azure allocates a node in minutes, localbatch in about a second

SCRATCH = Path(tempfile.mkdtemp(prefix="batch-notebooks-tests-"))
EDITIONS: list[Path] = []   # the scratch folder of each edition whose notebooks have started


def use_scratch(folder: Path) -> None:
    """Point the kernels started from now on at a localbatch, work folder and settings file
    of their own."""
    EDITIONS.append(folder)
    os.environ.update(LOCALBATCH_HOME=str(folder / "localbatch"), BATCH_TARGET="local",
                      BATCH_NOTEBOOKS_WORKDIR=str(folder / "work"),
                      BATCH_NOTEBOOKS_ENV_FILE=str(folder / "settings.env"))


use_scratch(SCRATCH)
os.environ["BATCH_NOTEBOOKS_SAMPLE"] = "short"   # 6-second clips, as the committed outputs have
for name in LEARNER_NAMES:
    os.environ.pop(name, None)


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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The Czech notebooks start from nothing, as the English ones do, not from what the
    English run left (08 keeps the output container): before their first kernel starts, the
    kernels get a scratch state of their own."""
    folder = item.path.parent
    if folder.name == "cs" and folder.parent.name == "notebooks" \
            and item.path.suffix == ".ipynb" and len(EDITIONS) == 1:
        use_scratch(SCRATCH / "cs")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the notebooks' localbatch (one per edition), if they started one."""
    from localbatch.control import down, state_dir
    for folder in EDITIONS:
        down(state_dir(folder / "localbatch"))
