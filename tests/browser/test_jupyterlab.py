"""Notebooks in JupyterLab, in a real browser, as a learner sees them: 01's credentials form,
06's progress bar, and a notebook opened and saved.

JupyterLab serves temp copies of the notebooks (the committed ones are never opened or saved), with its own Jupyter config, settings, workspaces and runtime folders, a settings file
of its own (BATCH_NOTEBOOKS_ENV_FILE), and the `local` target pointed at the tests' localbatch.
The Azure target is pointed at that same localbatch: nothing leaves this machine.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import nodes_ready, pool_options, wait_for, wait_tasks
from helpers.credentials import FIELDS
from helpers.solutions import hint

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_authenticate.ipynb"
MONITOR = "06_monitor_tasks.ipynb"
JOB_NOTEBOOK = "04_create_job.ipynb"
WRONG_KEY = base64.b64encode(b"a well-formed Batch key, but not this account's" * 2).decode()
LABELS = {name: label for name, label, _ in FIELDS}
SLOW = 180_000  # ms: the first run of a notebook on a loaded machine (kernel start, imports)
# JupyterLab's own calls out (news feed, update check) are switched off; the browser blocks the rest.
LAB_CONFIG = {"LabApp": {"news_url": None,
                         "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification":
                {"fetchNews": "false", "checkForUpdates": False},
                # every cell in the page, on screen or not, so that its outputs can be found
                "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
OUR_NAMES = ("BATCH_", "STORAGE_", "JUPYTER", "IPYTHONDIR")
ACTIVE = re.compile(r"\bmod-active\b")  # the chosen ToggleButtons button


@dataclass
class Lab:
    """A running JupyterLab: its address, its token, and the settings file its kernels write."""

    base_url: str
    token: str
    env_file: Path

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_lab(proc: subprocess.Popen, runtime: Path, log: Path, token: str,
                  timeout: float = 120) -> str:
    """The server's URL once it answers; it may have moved off a port taken meanwhile."""
    deadline = time.monotonic() + timeout
    info = runtime / f"jpserver-{proc.pid}.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if info.exists():
            try:
                url = json.loads(info.read_text())["url"]
                request = urllib.request.Request(f"{url.rstrip('/')}/api/status",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return url
            except (OSError, ValueError, KeyError):
                pass  # still writing the file, or not listening yet
        time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(browser, state, tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token, serving a temp copy of notebook 01."""
    home = tmp_path_factory.mktemp("jupyterlab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    for name in (NOTEBOOK, MONITOR, JOB_NOTEBOOK):
        shutil.copy(ROOT / "notebooks" / name, notebooks / name)
    (notebooks / "cs").mkdir()   # the Czech edition's 01: its kernel runs in a folder "cs"
    shutil.copy(ROOT / "notebooks" / "cs" / NOTEBOOK, notebooks / "cs" / NOTEBOOK)
    config, settings, runtime = home / "config", home / "lab-settings", home / "runtime"
    config.mkdir()
    (config / "jupyter_lab_config.json").write_text(json.dumps(LAB_CONFIG))
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(values))
    env_file = home / "settings.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_NAMES)}
    env.update(BATCH_NOTEBOOKS_ENV_FILE=str(env_file), LOCALBATCH_HOME=str(state.path),
               BATCH_NOTEBOOKS_WORKDIR=str(home / "work"), JUPYTER_CONFIG_DIR=str(config),
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_DATA_DIR=str(home / "data"),
               IPYTHONDIR=str(home / "ipython"))
    token = secrets.token_hex(24)
    log = home / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={_free_port()}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=home, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = _wait_for_lab(proc, runtime, log, token)
        yield Lab(url, token, env_file)
    finally:
        proc.terminate()  # the server shuts its kernels down
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own session: it and its kernels
            proc.wait()
        shutil.copy(log, artifacts / "jupyterlab.log")


def _run_all(page, tries: int = 3) -> None:
    """Run > Run All Cells, pressed again if the kernel dropped it: on a loaded machine it can
    still be busy starting after a second of quiet, and then no cell gets a prompt number."""
    started = page.locator(".jp-NotebookPanel:visible .jp-InputPrompt").filter(
        has_text=re.compile(r"\[(\d+|\*)\]"))
    for _ in range(tries):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if started.count():
                return
            page.wait_for_timeout(200)
        _wait_until_kernel_settles(page)
    pytest.fail(f"Run All ran no cell, {tries} times")


def _wait_until_kernel_settles(page, quiet_s: float = 1.0, timeout_s: float = 180) -> None:
    """Wait until the kernel is ready and has been idle for quiet_s in a row.

    Run All pressed while the kernel is still starting can be dropped (the cells are cleared
    and never run). And ipywidgets holds a field's change back while an earlier one is
    unanswered, but a button click goes out at once: pressing Connect before the kernel
    settles could outrun the key typed last.
    """
    ready = page.get_by_role("contentinfo").get_by_text(re.compile(r"\| Idle$"))
    indicator = page.locator(".jp-NotebookPanel-toolbar:visible .jp-Notebook-ExecutionIndicator").first
    deadline = time.monotonic() + timeout_s
    idle_since = None
    while time.monotonic() < deadline:
        if ready.count() and indicator.get_attribute("data-status") == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= quiet_s:
                return
        else:
            idle_since = None
        page.wait_for_timeout(100)
    pytest.fail(f"the kernel was not ready and idle within {timeout_s} s")


# The box around what the form shows: its text and controls, not the output area's full width.
CONTENT_BOX = """form => {
    const box = form.getBoundingClientRect();
    let right = box.left, bottom = box.top;
    const walker = document.createTreeWalker(form, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        let rects = [];
        if (node.nodeType === Node.TEXT_NODE) {
            const range = document.createRange();
            range.selectNodeContents(node);
            rects = range.getClientRects();
        } else if (["BUTTON", "INPUT", "SELECT"].includes(node.tagName)) {
            rects = node.getClientRects();
        }
        for (const rect of rects) {
            if (rect.width && rect.height) {
                right = Math.max(right, rect.right);
                bottom = Math.max(bottom, rect.bottom);
            }
        }
    }
    return {x: box.left, y: box.top, width: right - box.left, height: bottom - box.top};
}"""


def _screenshot_form(page, form, path: Path, margin: int = 8) -> None:
    """A PNG of the form alone, cropped to what it shows (no margin above: the cell is there)."""
    form.scroll_into_view_if_needed()
    box = form.evaluate(CONTENT_BOX)
    page.screenshot(path=path, clip={"x": max(0, box["x"] - margin), "y": box["y"],
                                     "width": box["width"] + 2 * margin,
                                     "height": box["height"] + margin})


def _page_texts(page) -> str:
    """All a person could see or copy: the text, the HTML, and every field's value."""
    values = page.evaluate(
        "() => Array.from(document.querySelectorAll('input, textarea'), e => e.value)")
    return "\n".join([page.locator("body").inner_text(), page.content(), *values])


def test_credentials_form_connects_locally_and_explains_a_wrong_key(
        lab: Lab, page, endpoints: dict[str, str], artifacts: Path, outside) -> None:
    from playwright.sync_api import expect

    page.goto(lab.url(f"lab/tree/{NOTEBOOK}"))
    expect(page.locator(".jp-NotebookPanel .jp-Notebook")).to_be_visible(timeout=SLOW)
    page.locator(".jp-NotebookPanel .jp-Notebook").click()  # the notebook is the current widget
    _wait_until_kernel_settles(page)
    _run_all(page)

    # The whole notebook ran: its last cell printed that both services answer.
    outputs = page.locator(".jp-OutputArea-output")
    expect(outputs.filter(has_text="✓ Storage account")).to_be_visible(timeout=SLOW)
    form = outputs.filter(has=page.get_by_role("button", name="Connect"))
    expect(form).to_be_visible()
    result = form.locator(".widget-html")
    page.screenshot(path=artifacts / "01-notebook-run.png")

    # Run All did not solve the exercise: the closed solution printed the hint, not its answer.
    expect(outputs.filter(has_text=hint())).to_be_visible()
    assert "403 AuthenticationFailed" not in page.locator("body").inner_text()
    expect(outputs.filter(has_text="✗ a wrong key is refused: keep the error")).to_be_visible()
    # Opened on purpose, and run, it shows its answer.
    cells = page.locator(".jp-CodeCell")
    closed = [i for i in range(cells.count())
              if cells.nth(i).locator(".jp-InputPlaceholder").count()]
    assert len(closed) == 1, "01 has one solution, closed"
    solution = cells.nth(closed[0])
    solution.locator(".jp-InputPlaceholder").click()
    expect(solution.locator(".jp-InputArea-editor")).to_be_visible()
    page.keyboard.press("Shift+Enter")
    expect(outputs.filter(has_text="403 AuthenticationFailed")).to_be_visible(timeout=SLOW)
    page.screenshot(path=artifacts / "01-solution-opened.png")

    # Local: nothing to type.
    local = form.get_by_role("button", name="Local (no account)")
    local.click()
    expect(local).to_have_class(ACTIVE)
    expect(form.get_by_label(LABELS["BATCH_ACCOUNT_KEY"], exact=True)).to_be_hidden()
    _wait_until_kernel_settles(page)
    form.get_by_role("button", name="Connect").click()
    expect(result).to_contain_text(
        f"✓ Connected to Batch account {endpoints['BATCH_ACCOUNT_NAME']} and storage account "
        f"{endpoints['STORAGE_ACCOUNT_NAME']} (local).", timeout=SLOW)
    _screenshot_form(page, form, artifacts / "credentials-form-local.png")

    # Azure, pointed at the local services, with a wrong (well-formed) Batch key.
    azure = form.get_by_role("button", name="Azure", exact=True)
    azure.click()
    expect(azure).to_have_class(ACTIVE)
    form.get_by_label("Shared key", exact=True).check()
    typed = {**{name: endpoints[name] for name in LABELS}, "BATCH_ACCOUNT_KEY": WRONG_KEY}
    for name, value in typed.items():
        field = form.get_by_label(LABELS[name], exact=True)
        field.fill(value)
        expect(field).to_have_value(value)
    _wait_until_kernel_settles(page)
    form.get_by_role("button", name="Connect").click()
    expect(result).to_contain_text("✗", timeout=SLOW)
    _screenshot_form(page, form, artifacts / "credentials-form-wrong-key.png")
    page.screenshot(path=artifacts / "01-wrong-key.png")

    message = result.inner_text().strip()
    assert message.startswith("✗ The Batch account at ") and "rejected the key" in message, message
    assert message.count("✗") == 1, f"only the Batch key is wrong: {message}"
    assert message.count(". ") == 0 and message.endswith("."), f"not one sentence: {message}"
    for name in ("BATCH_ACCOUNT_KEY", "STORAGE_ACCOUNT_KEY"):
        expect(form.get_by_label(LABELS[name], exact=True)).to_have_value("")
    shown = _page_texts(page)
    keys = {"the typed Batch key": WRONG_KEY, "the storage key": endpoints["STORAGE_ACCOUNT_KEY"],
            "localbatch's Batch key": endpoints["BATCH_ACCOUNT_KEY"]}
    on_page = [what for what, key in keys.items() if key in shown]
    assert not on_page, f"the page shows {on_page}"  # named, not printed
    assert not outside.urls, f"the page tried to reach outside this machine: {outside.urls}"

    # The form saved to the server's own settings file, readable by its owner only.
    assert lab.env_file.stat().st_mode & 0o777 == 0o600
    assert "BATCH_TARGET=azure" in lab.env_file.read_text().splitlines()


def _check_cells(name: str) -> list[str]:
    """The ids of a committed notebook's exercise checks (ex-NN-NAME-check)."""
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    return [cell["id"] for cell in cells if re.fullmatch(r"ex-\d\d-.+-check", cell.get("id", ""))]


def _open(page, lab: Lab, name: str) -> None:
    from playwright.sync_api import expect

    # ?reset: a fresh workspace, so the tabs an earlier test left do not reopen and take the
    # focus while this notebook loads (a click on it then waited for a hidden panel).
    page.goto(lab.url(f"lab/tree/{name}") + "&reset")
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook:visible")
    expect(notebook).to_be_visible(timeout=SLOW)
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=name)).to_be_visible()
    notebook.click()  # the notebook is the current widget
    _wait_until_kernel_settles(page)


def test_the_czech_edition_shows_the_form_in_czech(lab: Lab, page, endpoints: dict[str, str],
                                                   artifacts: Path) -> None:
    """The Czech 01's form, connected locally: Czech throughout, and its screenshot is the one
    the Czech handouts show (docs/cs/credentials-form.png, committed from this test's artifact
    credentials-form-local-cs.png)."""
    from playwright.sync_api import expect

    lab.env_file.write_text("BATCH_TARGET=local\n")  # whatever another test saved
    page.goto(lab.url(f"lab/tree/cs/{NOTEBOOK}"))
    expect(page.locator(".jp-NotebookPanel .jp-Notebook")).to_be_visible(timeout=SLOW)
    page.locator(".jp-NotebookPanel .jp-Notebook").click()
    _wait_until_kernel_settles(page)
    _run_all(page)
    form = page.locator(".jp-OutputArea-output").filter(
        has=page.get_by_role("button", name="Připojit"))
    expect(form).to_be_visible(timeout=SLOW)
    local = form.get_by_role("button", name="Místně (bez účtu)")
    local.click()
    expect(local).to_have_class(ACTIVE)
    _wait_until_kernel_settles(page)
    form.get_by_role("button", name="Připojit").click()
    expect(form.locator(".widget-html")).to_contain_text(
        f"✓ Připojeno k účtu Batch {endpoints['BATCH_ACCOUNT_NAME']}", timeout=SLOW)
    _screenshot_form(page, form, artifacts / "credentials-form-local-cs.png")
    shown = form.inner_text()
    assert not [word for word in ("Connect", "Target", "Sign in", "Learner", "Local (no account)",
                                  "Connected") if word in shown], shown


def test_monitor_shows_the_final_count_when_the_tasks_finished_before_it_ran(
        lab: Lab, page, batch, artifacts: Path) -> None:
    """The tutorial's job, its 5 tasks done before 06 runs: the bar must still end at 5/5."""
    from azure.batch import models
    from playwright.sync_api import expect

    lab.env_file.write_text("BATCH_TARGET=local\n")  # whatever the form test saved
    pool_id, job_id = "LinuxFFmpegPool", "LinuxFFmpegJob"
    batch.create_pool(pool_options(pool_id, 1))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="the pool's node")
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"Task{i}", command_line="/bin/true") for i in range(5)])
        wait_tasks(batch, job_id)
        _open(page, lab, MONITOR)
        _run_all(page)
        outputs = page.locator(".jp-OutputArea-output")
        expect(outputs.filter(has_text="5 tasks completed: 5 succeeded")).to_be_visible(
            timeout=SLOW)
        # tqdm's widget: two texts around the bar, spaced with U+2007 (\s matches it)
        bar = outputs.filter(has_text=re.compile(r"completed:\s*\d+%")).first
        expect(bar).to_contain_text("5/5", timeout=SLOW)
        expect(bar).to_contain_text("100%")
        bar.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "06-progress-after-run-all.png")

        # Run All left every one of 06's exercises undone: each closed solution printed the
        # hint, not its answer, and each check says what is missing.
        checks = _check_cells(MONITOR)
        assert len(checks) >= 2, "06 has two exercises"
        expect(outputs.filter(has_text=hint())).to_have_count(len(checks))
        expect(outputs.filter(has_text=re.compile(r"^✗ .+: "))).to_have_count(len(checks))
    finally:
        for delete, ident in ((batch.begin_delete_job, job_id), (batch.begin_delete_pool, pool_id)):
            delete(ident, polling_interval=0.2).result()


def test_a_notebook_opened_and_saved_is_unchanged_for_git(lab: Lab, page) -> None:
    """JupyterLab rewrites the metadata on open; the kit's git filter takes back exactly that."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from notebook_metadata import normalise

    saved = lab.env_file.parent / "notebooks" / JOB_NOTEBOOK
    before = saved.stat().st_mtime_ns
    _open(page, lab, JOB_NOTEBOOK)
    toolbar = page.locator(".jp-NotebookPanel-toolbar:visible")
    toolbar.get_by_title(re.compile(r"^Save")).first.click()  # the toolbar's save button
    deadline = time.monotonic() + 60
    while saved.stat().st_mtime_ns == before:  # page.wait_for_timeout, not sleep: the page's
        assert time.monotonic() < deadline, "JupyterLab did not save"  # requests pass through
        page.wait_for_timeout(200)                         # this process's route handler
    committed = json.loads((ROOT / "notebooks" / JOB_NOTEBOOK).read_text())
    ours = normalise(json.loads(saved.read_text()))
    changed = [(a, b) for a, b in zip(ours["cells"], committed["cells"]) if a != b]
    assert not changed, f"JupyterLab saved a cell differently: {changed[:1]}"
    assert ours == committed
