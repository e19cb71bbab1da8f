"""The browser tests: Debian's Chromium driven by Playwright, kept on this machine.

They skip, saying how to install what is missing, when the `playwright` package or a Chromium
binary is not there (Playwright's own browser download is not used: `apt-get install chromium`).
(.ci/run sets BATCH_NOTEBOOKS_REQUIRE_BROWSER, so that there they fail instead.)
Every request that leaves 127.0.0.1 (or file:, data:, blob:) is aborted and recorded, so nothing
reaches outside this machine. Screenshots are written to BATCH_NOTEBOOKS_ARTIFACTS, or to a
pytest temp folder; the path is printed at the end of the run. A failing test also saves a
screenshot of the whole page there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INSTALL = ("install Chromium and Playwright for Python: `sudo apt-get install chromium` "
           "(Debian/Ubuntu) and `.venv/bin/pip install playwright` (make setup installs it), "
           "or set BATCH_NOTEBOOKS_CHROMIUM to a Chromium or Chrome binary")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless and quiet: no GPU, no first-run pages, no background or update traffic.
CHROMIUM_FLAGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
LOCAL_PREFIXES = ("http://127.0.0.1:", "ws://127.0.0.1:", "http://localhost:", "ws://localhost:",
                  "file://", "data:", "blob:", "about:")

_artifacts: list[Path] = []  # where this run put its screenshots, for the closing summary


def chromium_path() -> str | None:
    """The Chromium to drive: BATCH_NOTEBOOKS_CHROMIUM, else the first one on PATH."""
    chosen = os.environ.get("BATCH_NOTEBOOKS_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def _missing(message: str) -> None:
    """Skip, but fail where the browser must be there (CI sets BATCH_NOTEBOOKS_REQUIRE_BROWSER)."""
    if os.environ.get("BATCH_NOTEBOOKS_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests cannot run: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder for screenshots: BATCH_NOTEBOOKS_ARTIFACTS, or a temp folder of this run."""
    chosen = os.environ.get("BATCH_NOTEBOOKS_ARTIFACTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    _artifacts.append(path)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium with a fresh profile (Playwright makes one), one per test module:
    Playwright's event loop is gone again before the tests after these run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing(f"the playwright package is missing: {INSTALL}")
    path = chromium_path()
    if path is None:
        _missing(f"no Chromium found: {INSTALL}")
    flags = CHROMIUM_FLAGS + (["--no-sandbox"] if os.geteuid() == 0 else [])  # root has no sandbox
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=flags, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Outside:
    """Requests to anywhere but this machine, aborted."""

    urls: list[str] = field(default_factory=list)


@pytest.fixture
def outside() -> Outside:
    return Outside()


@pytest.fixture
def page(browser, outside: Outside, artifacts: Path, request: pytest.FixtureRequest):
    """A new page in its own context; on a failure its screenshot goes to the artifacts."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)

    def keep_local(route) -> None:
        url = route.request.url
        if url.startswith(LOCAL_PREFIXES):
            route.continue_()
        else:
            outside.urls.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", keep_local)
    context.set_default_timeout(60_000)  # a loaded machine is slow, not broken
    expect.set_options(timeout=60_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            page.screenshot(path=artifacts / f"{request.node.name}-failure.png", full_page=True)
        except Exception as exc:  # noqa: BLE001 - a missing screenshot must not hide the failure
            print(f"no failure screenshot: {exc}")
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    for path in dict.fromkeys(_artifacts):
        terminalreporter.write_line(f"browser test screenshots: {path}")
