"""scripts/azure_setup.sh and azure_teardown.sh, against a fake `az` on PATH that records every
call and keeps a small Azure of its own in a JSON file: no account is needed, nothing leaves
this machine."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.settings import read_env_file

ROOT = Path(__file__).resolve().parent.parent
SETUP, TEARDOWN = ROOT / "scripts" / "azure_setup.sh", ROOT / "scripts" / "azure_teardown.sh"
BATCH_KEY = "ZmFrZS1iYXRjaC1rZXk+Zm9yLXRlc3Rz/w=="
STORAGE_KEY = "ZmFrZS1zdG9yYWdlLWtleS1mb3ItdGVzdHM="
ME = "11111111-2222-3333-4444-555555555555"
ARGS = ["--location", "westeurope", "--batch-account", "kitbatch", "--storage-account",
        "kitstore", "--resource-group", "kit-rg"]

FAKE_AZ = r'''#!PYTHON -S
"""A fake az: records its arguments, answers from a JSON state file."""
import json, os, sys

argv = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
state_path = os.environ["FAKE_AZ_STATE"]
state = json.load(open(state_path))
words = []
while argv and not argv[0].startswith("--"):
    words.append(argv.pop(0))
opts = {}
while argv:
    name = argv.pop(0)
    value = argv.pop(0) if argv and not argv[0].startswith("--") else True
    opts.setdefault(name, []).append(value)
opt = lambda name: opts.get(name, [None])[-1]
command = " ".join(words)
groups, resources, roles = state["groups"], state["resources"], state["roles"]
SUB = "/subscriptions/0000"


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(3)


def answer(value):
    query = opt("--query")
    if query == "[].id":
        value = [item["id"] for item in value]
    elif query == "[0].value":
        value = value[0]["value"]
    elif query:
        for part in query.split("."):
            value = (value or {}).get(part.strip('"'))
    if opt("--output") == "none":
        return
    if opt("--output") == "tsv":
        for line in (value if isinstance(value, list) else [value]):
            print("" if line is None else line)
    else:
        print(json.dumps(value))


def resource(kind):
    name = opt("--name") or opt("--account-name")
    group = opt("--resource-group")
    found = resources.get(f"{kind}/{name}")
    if not found or found["group"] != group:
        fail(f"ResourceNotFound: {kind} {name}")
    return found


def save():
    json.dump(state, open(state_path, "w"))


if state.get("offline") and command != "account show":
    fail("HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded")
elif command == "account show":
    if state.get("logged_out"):
        fail("Please run 'az login' to setup account.")
    answer({"id": "0000"})
elif command == "group show":
    if opt("--name") not in groups:
        fail("ResourceGroupNotFound")
    answer(groups[opt("--name")])
elif command == "group create":
    key, _, value = opt("--tags").partition("=")
    groups[opt("--name")] = {"id": f"{SUB}/resourceGroups/{opt('--name')}", "tags": {key: value}}
elif command == "group delete":
    del groups[opt("--name")]
    for key in [k for k, r in resources.items() if r["group"] == opt("--name")]:
        del resources[key]
elif command in ("storage account show", "batch account show"):
    answer(resource(words[0]))
elif command in ("storage account create", "batch account create"):
    kind, name, group = words[0], opt("--name"), opt("--resource-group")
    provider = {"storage": "Microsoft.Storage/storageAccounts",
                "batch": "Microsoft.Batch/batchAccounts"}[kind]
    resources[f"{kind}/{name}"] = {
        "id": f"{SUB}/resourceGroups/{group}/providers/{provider}/{name}", "group": group,
        "accountEndpoint": f"{name}.{opt('--location')}.batch.azure.com",
        "lowPriorityCoreQuota": state["spot_quota"], "dedicatedCoreQuota": 20}
elif command == "batch account keys list":
    resource("batch")
    answer({"primary": "''' + BATCH_KEY + r'''"})
elif command == "storage account keys list":
    resource("storage")
    answer([{"value": "''' + STORAGE_KEY + r'''"}])
elif command == "ad signed-in-user show":
    answer({"id": "''' + ME + r'''"})
elif command == "role assignment list":
    answer([r for r in roles if r["scope"] == opt("--scope")
            and opt("--assignee") in (None, r["assignee"]) and opt("--role") in (None, r["role"])])
elif command == "role assignment create":
    roles.append({"id": f"{opt('--scope')}/roleAssignments/{len(roles)}",
                  "assignee": opt("--assignee"), "role": opt("--role"), "scope": opt("--scope")})
elif command == "role assignment delete":
    state["roles"] = [r for r in roles if r["id"] != opt("--ids")]
elif command == "rest":
    if opt("--method") != "put" or "/providers/Microsoft.Consumption/budgets/" not in opt("--url"):
        fail(f"fake az rest does not know: {opt('--method')} {opt('--url')}")
    state.setdefault("budgets", {})[opt("--url")] = json.loads(opt("--body"))
elif command == "resource list":
    answer([r for r in resources.values() if r["group"] == opt("--resource-group")])
else:
    fail(f"fake az does not know: {command}")
save()
'''


class Azure:
    """The fake az's world, and a way to run the scripts against it."""

    def __init__(self, home: Path) -> None:
        self.home, self.log, self.state = home, home / "az.log", home / "state.json"
        bin_dir = home / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "az").write_text(FAKE_AZ.replace("PYTHON", sys.executable, 1))
        (bin_dir / "az").chmod(0o755)
        self.state.write_text(json.dumps({"groups": {}, "resources": {}, "roles": [],
                                          "spot_quota": 10}))
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                    "FAKE_AZ_LOG": str(self.log), "FAKE_AZ_STATE": str(self.state)}

    def run(self, script: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        self.log.write_text("")
        done = subprocess.run(["bash", str(script), *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120, check=False)
        assert BATCH_KEY not in done.stdout + done.stderr
        assert STORAGE_KEY not in done.stdout + done.stderr
        return done

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def changes(self) -> list[str]:
        """The calls that change something, as 'group create', 'role assignment delete', …"""
        return [" ".join(c[:3] if c[0] in ("storage", "batch", "role") else c[:2])
                for c in self.calls() if {"create", "delete"} & set(c[:3])]

    def world(self) -> dict:
        return json.loads(self.state.read_text())

    def set(self, **values) -> None:
        self.state.write_text(json.dumps({**self.world(), **values}))


@pytest.fixture
def azure(tmp_path: Path) -> Azure:
    return Azure(tmp_path)


def test_setup_creates_the_group_accounts_and_roles_and_prints_the_settings(azure: Azure) -> None:
    done = azure.run(SETUP, *ARGS)
    assert done.returncode == 0, done.stderr
    assert azure.changes() == ["group create", "storage account create", "batch account create",
                               "role assignment create", "role assignment create"]
    calls = azure.calls()
    group = next(c for c in calls if c[:2] == ["group", "create"])
    assert group[group.index("--tags") + 1] == "created-by=batch-notebooks"
    batch = next(c for c in calls if c[:3] == ["batch", "account", "create"])
    assert batch[batch.index("--storage-account") + 1] == "kitstore"
    world = azure.world()
    assert {(r["assignee"], r["role"], r["scope"].rsplit("/", 1)[1]) for r in world["roles"]} == {
        (ME, "Azure Batch Data Contributor", "kitbatch"),
        (ME, "Storage Blob Data Contributor", "kitstore")}
    assert "+ az group create --name kit-rg --location westeurope" in done.stdout
    assert "Batch account URL:    https://kitbatch.westeurope.batch.azure.com" in done.stdout
    assert "az batch account keys list --name kitbatch --resource-group kit-rg" in done.stdout
    assert "Core quotas of kitbatch: Spot 10, dedicated 20" in done.stdout
    assert not any("keys" in c for c in calls)  # no --env-file: the keys are not even fetched


def test_setup_again_creates_nothing(azure: Azure) -> None:
    assert azure.run(SETUP, *ARGS).returncode == 0
    again = azure.run(SETUP, *ARGS)
    assert again.returncode == 0, again.stderr
    assert azure.changes() == []
    assert "Resource group kit-rg exists: reusing it" in again.stdout
    assert "Batch account kitbatch exists: reusing it" in again.stdout
    assert "has Azure Batch Data Contributor on kitbatch already" in again.stdout
    assert len(azure.world()["roles"]) == 2


def test_roles_for_each_learner_or_none(azure: Azure) -> None:
    done = azure.run(SETUP, *ARGS, "--assignee", "ana@example.com", "--assignee", "bo@example.com")
    assert done.returncode == 0, done.stderr
    assert sorted({r["assignee"] for r in azure.world()["roles"]}) == \
        ["ana@example.com", "bo@example.com"]
    assert len(azure.world()["roles"]) == 4
    assert not any(c[:2] == ["ad", "signed-in-user"] for c in azure.calls())
    other = Azure(azure.home / "other")
    assert other.run(SETUP, *ARGS, "--no-roles").returncode == 0
    assert other.world()["roles"] == [] and "role assignment create" not in other.changes()


def test_env_file_holds_the_keys_for_its_owner_only_and_is_never_overwritten(
        azure: Azure) -> None:
    env_file = azure.home / "class.env"
    done = azure.run(SETUP, *ARGS, "--env-file", str(env_file))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert read_env_file(env_file) == {
        "BATCH_TARGET": "azure", "BATCH_AUTH": "key", "BATCH_ACCOUNT_NAME": "kitbatch",
        "BATCH_ACCOUNT_URL": "https://kitbatch.westeurope.batch.azure.com",
        "BATCH_ACCOUNT_KEY": BATCH_KEY, "STORAGE_ACCOUNT_NAME": "kitstore",
        "STORAGE_ACCOUNT_KEY": STORAGE_KEY}
    assert f"Wrote the settings, keys included, to {env_file}" in done.stdout
    again = azure.run(SETUP, *ARGS, "--env-file", str(env_file))
    assert again.returncode == 2 and "class.env exists" in again.stderr
    assert azure.calls() == []  # refused before asking Azure anything
    assert read_env_file(env_file)["BATCH_ACCOUNT_KEY"] == BATCH_KEY


@pytest.mark.parametrize(("args", "message"), [
    (["--batch-account", "Kit_Batch"], "--batch-account 'Kit_Batch': use 3-24 lowercase"),
    (["--storage-account", "st"], "--storage-account 'st': use 3-24 lowercase"),
    (["--location", ""], "--location needs a value"),
    (["--colour", "blue"], "unknown option: --colour"),
])
def test_setup_names_the_bad_option(azure: Azure, args: list[str], message: str) -> None:
    options = dict(zip(ARGS[::2], ARGS[1::2]))
    if args[0] in options:
        options[args[0]] = args[1]
        args = []
    done = azure.run(SETUP, *[x for pair in options.items() for x in pair], *args)
    assert done.returncode == 2 and message in done.stderr
    assert azure.calls() == []


def test_setup_says_to_sign_in_and_warns_of_a_spot_quota_of_zero(azure: Azure) -> None:
    azure.set(logged_out=True)
    done = azure.run(SETUP, *ARGS)
    assert done.returncode == 2 and "not signed in to Azure: run az login" in done.stderr
    assert azure.changes() == []
    azure.set(logged_out=False, spot_quota=0)
    done = azure.run(SETUP, *ARGS)
    assert done.returncode == 0 and "Spot quota is 0: notebook 03's pool will get no nodes" \
        in done.stdout


def test_setup_makes_a_monthly_budget_with_e_mail_alerts(azure: Azure) -> None:
    done = azure.run(SETUP, *ARGS, "--budget", "50", "--budget-email", "teacher@example.com")
    assert done.returncode == 0, done.stderr
    (url, body), = azure.world()["budgets"].items()
    assert url == ("https://management.azure.com/subscriptions/0000/resourceGroups/kit-rg/"
                   "providers/Microsoft.Consumption/budgets/batch-notebooks-budget"
                   "?api-version=2024-08-01")
    budget = body["properties"]
    assert (budget["category"], budget["amount"], budget["timeGrain"]) == ("Cost", 50, "Monthly")
    start, end = budget["timePeriod"]["startDate"], budget["timePeriod"]["endDate"]
    assert start.endswith("-01T00:00:00Z") and int(end[:4]) == int(start[:4]) + 1
    assert {(n["thresholdType"], n["threshold"], n["operator"], tuple(n["contactEmails"]))
            for n in budget["notifications"].values()} == {
        ("Actual", 80, "GreaterThan", ("teacher@example.com",)),
        ("Actual", 100, "GreaterThan", ("teacher@example.com",)),
        ("Forecasted", 100, "GreaterThan", ("teacher@example.com",))}
    assert "A budget only alerts:" in done.stdout and "it stops nothing" in done.stdout
    plain = Azure(azure.home / "plain")
    assert plain.run(SETUP, *ARGS).returncode == 0
    assert "budgets" not in plain.world() and not any(c[0] == "rest" for c in plain.calls())


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "50"], "--budget needs --budget-email ADDRESS"),
    (["--budget", "0", "--budget-email", "t@example.com"], "--budget '0': give a positive amount"),
    (["--budget", "ten", "--budget-email", "t@example.com"], "--budget 'ten': give a positive"),
    (["--budget-email", "t@example.com"], "--budget-email needs --budget AMOUNT"),
    (["--budget", "50", "--budget-email", 'x"}@e.com'], "give one e-mail address"),
])
def test_a_bad_budget_option_is_named_before_asking_azure(azure: Azure, args: list[str],
                                                          message: str) -> None:
    done = azure.run(SETUP, *ARGS, *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert azure.calls() == []


def test_teardown_asks_then_deletes_roles_and_group(azure: Azure) -> None:
    assert azure.run(SETUP, *ARGS).returncode == 0
    refused = azure.run(TEARDOWN, "--resource-group", "kit-rg", stdin="yes\n")
    assert refused.returncode == 2 and "you typed 'yes', not 'kit-rg'" in refused.stderr
    assert azure.changes() == [] and "kit-rg" in azure.world()["groups"]
    assert "Microsoft.Batch/batchAccounts/kitbatch" in refused.stdout  # what it would delete
    done = azure.run(TEARDOWN, "--resource-group", "kit-rg", stdin="kit-rg\n")
    assert done.returncode == 0, done.stderr
    assert azure.changes() == ["role assignment delete", "role assignment delete", "group delete"]
    assert azure.world() == {"groups": {}, "resources": {}, "roles": [], "spot_quota": 10}
    gone = azure.run(TEARDOWN, "--resource-group", "kit-rg", "--yes")
    assert gone.returncode == 0 and "nothing to delete" in gone.stdout


def test_teardown_with_yes_does_not_ask_and_no_answer_deletes_nothing(azure: Azure) -> None:
    assert azure.run(SETUP, *ARGS).returncode == 0
    silent = azure.run(TEARDOWN, "--resource-group", "kit-rg")  # no terminal, no answer
    assert silent.returncode == 2 and azure.changes() == []
    done = azure.run(TEARDOWN, "--resource-group", "kit-rg", "--yes")
    assert done.returncode == 0 and "group delete" in azure.changes()
    assert "Type its name" not in done.stdout + done.stderr


def test_teardown_stops_when_azure_does_not_answer(azure: Azure) -> None:
    azure.set(offline=True)
    done = azure.run(TEARDOWN, "--resource-group", "kit-rg", "--yes")
    assert done.returncode == 2 and "could not look up resource group kit-rg" in done.stderr
    assert "Max retries exceeded" in done.stderr and "nothing to delete" not in done.stdout


def test_teardown_refuses_a_group_the_setup_did_not_make(azure: Azure) -> None:
    azure.set(groups={"prod": {"id": "/subscriptions/0000/resourceGroups/prod",
                               "tags": {"owner": "finance"}}})
    done = azure.run(TEARDOWN, "--resource-group", "prod", "--yes")
    assert done.returncode == 2
    assert "has no created-by=batch-notebooks tag" in done.stderr
    assert azure.changes() == [] and "prod" in azure.world()["groups"]
