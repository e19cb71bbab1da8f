"""Replays real Azure Batch traffic (tests/recordings/, see its README) against localbatch: the
recorded status, the headers the SDK reads, the body keys and error codes must come back."""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from contextlib import suppress
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
import requests
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from localbatch import API_VERSION, auth
from localbatch.api.routes import ROUTES
from tests.conftest import delete_pool, pool_options, wait_for

RECORDINGS = {re.search(r"test_batch_(\w+)\[", path.name)[1]: json.loads(path.read_text())["Entries"]
              for path in (Path(__file__).parent / "recordings").glob("*.json")}
POOL, JOB, FILE = "/pools/{pool_id}", "/jobs/{job_id}", "/files/{file_path:path}"
SKIPPED = {  # SDK operations outside the kit's subset (README.md, "localbatch"): request, reason
    "begin_stop_pool_resize": ("POST", POOL + "/stopresize", "the kit never stops a resize"),
    "begin_disable_job": ("POST", JOB + "/disable", "job disable is not in the kit's subset"),
    "begin_enable_job": ("POST", JOB + "/enable", "job enable is not in the kit's subset"),
    "delete_node_file": ("DELETE", POOL + "/nodes/{node_id}" + FILE, "the kit deletes no files"),
    "delete_task_file": ("DELETE", JOB + "/tasks/{task_id}" + FILE, "the kit deletes no files"),
}
IGNORED = {  # recorded response keys not compared
    "certificateReferences": "not in api-version 2025-06-01 (nor in azure-batch 15.1.0's models)",
    "targetNodeCommunicationMode": "not in api-version 2025-06-01 (nor in azure-batch 15.1.0)",
    "endpointConfiguration": "remote login endpoints (RDP/SSH) are not emulated",
    "networkConfiguration": "the ARM-made pools had one that the recordings' requests never sent",
    "userAccounts": "the ARM-made pools had them; the recordings' requests never sent them",
    "autoScaleFormula": "autoscale is not emulated (enableautoscale is skipped)",
    "autoScaleEvaluationInterval": "autoscale is not emulated (enableautoscale is skipped)",
    "resizeErrors": "recorded after stopresize, which is skipped",
}
HEADERS_READ = {"request-id", "dataserviceversion", "etag", "last-modified", "dataserviceid",
                "content-type", "content-length", "ocp-creation-time"}  # and ocp-batch-file-*
# Made by the recorded tests' preparers through ARM before recording: pools (nodes, display
# name) and jobs (on a pool). Every replay also gets a "host" pool for recorded auto pools.
PREPARED = {"files": {"pools": {"2b751f41": (1, None)}, "jobs": {"batch": "2b751f41"}},
            "scale_pools": {"pools": {"f50021c2": (0, "test_pool")}}}
WAIT_SECONDS = 180


def operation(entry: dict) -> str:
    """localbatch's handler for a recorded request, else its declared skip; else the test fails."""
    table = [(method, path, handler.__name__) for path, handlers in ROUTES
             for method, handler in handlers.items()]
    table += [(method, path, name) for name, (method, path, _) in SKIPPED.items()]
    path = urlsplit(entry["RequestUri"]).path
    for method, template, name in table:
        pattern = re.sub(r"\{\w+\}", "[^/]+", template.replace("{file_path:path}", ".+"))
        if method == entry["RequestMethod"] and re.fullmatch(pattern, path):
            return name
    pytest.fail(f"undeclared operation {entry['RequestMethod']} {path}: add it to SKIPPED")


def polls(entries: list[dict]) -> list[list[dict]]:
    """Consecutive identical GETs (the recorded test polling) make one group; next pages do not."""
    groups: list[list[dict]] = []
    for entry in entries:
        last = groups[-1][-1] if groups else {}
        if entry["RequestMethod"] == last.get("RequestMethod") == "GET" and \
                entry["RequestUri"] == last["RequestUri"] and "$skiptoken" not in last["RequestUri"]:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def states(body: object) -> object:
    if isinstance(body, dict) and "value" in body:
        return [item.get("state") for item in body["value"]]
    return (body.get("state"), body.get("allocationState")) if isinstance(body, dict) else None


def missing_keys(recorded: dict, got: dict) -> list[str]:
    return sorted(k for k in recorded if k not in got and k not in IGNORED)


def linux(body: dict) -> None:
    """Windows images and `cmd /c` command lines become their Linux equivalents; few nodes."""
    vm = body.get("virtualMachineConfiguration") or {}
    if "windows" in vm.get("nodeAgentSKUId", ""):
        vm["imageReference"] = {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                                "sku": "server-gen1", "version": "latest"}
        vm["nodeAgentSKUId"] = "batch.node.ubuntu 24.04"
        vm.pop("windowsConfiguration", None)
    command = body.get("commandLine", "")
    if command.startswith("cmd /c "):
        body["commandLine"] = "/bin/bash -c '" + command[7:].strip().strip('"') + "'"
    for name in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        if body.get(name):
            body[name] = 1


class Replay:
    def __init__(self, endpoints: dict[str, str], batch: BatchClient, name: str):
        self.base = endpoints["BATCH_ACCOUNT_URL"].rstrip("/")
        self.account, self.key = endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"]
        self.batch, self.name, self.http = batch, name, requests.Session()
        self.prefix = f"rp{uuid.uuid4().hex[:6]}_"
        self.ids: dict[str, str] = {}  # recorded id -> localbatch's
        self.made: dict[str, list[str]] = {"/jobs": [], "/pools": []}  # to delete afterwards
        self.next_link: str | None = None
        self.failures: list[str] = []

    def fresh(self, recorded: str) -> str:
        return self.ids.setdefault(recorded, self.prefix + recorded)

    def prepare(self) -> None:
        prepared = PREPARED.get(self.name, {})
        for recorded, (nodes, name) in {"host": (0, None), **prepared.get("pools", {})}.items():
            options = pool_options(self.fresh(recorded), nodes)
            options.display_name = name
            self.batch.create_pool(options)
            self.made["/pools"].append(options.id)
            wait_for(lambda pool=options.id: self.batch.get_pool(pool).allocation_state == "steady",
                     WAIT_SECONDS, f"pool {options.id} steady")
        for recorded, pool in prepared.get("jobs", {}).items():
            self.batch.create_job(models.BatchJobCreateOptions(
                id=self.fresh(recorded), pool_info=models.BatchPoolInfo(pool_id=self.ids[pool])))
            self.made["/jobs"].append(self.ids[recorded])

    def url(self, uri: str) -> str:
        """The recorded path and query with this replay's ids, api-version and skip token."""
        parts = urlsplit(uri)
        segments = [unquote(s) for s in parts.path.split("/")]
        for i in range(2, min(len(segments), 5), 2):
            nodes = segments[i - 1] == "nodes"  # node ids come from localbatch's list of nodes
            segments[i] = self.ids[segments[i]] if nodes else self.fresh(segments[i])
        if len(segments) > 6:  # a file path: Windows separators, recorded job and task ids
            segments[6] = "/".join(self.ids.get(p, p) for p in re.split(r"[\\/]", segments[6]))
        query = dict(parse_qsl(parts.query, keep_blank_values=True), **{"api-version": API_VERSION})
        if "$skiptoken" in query:
            query["$skiptoken"] = dict(parse_qsl(urlsplit(self.next_link or "").query)).get(
                "$skiptoken", "")
        if "$filter" in query:  # startswith(id,'batch_ade_'): a prefix of recorded ids
            query["$filter"] = re.sub(r"'([^']*)'", lambda m: f"'{self.prefix}{m[1]}'" if any(
                i.startswith(m[1]) for i in self.ids) else m[0], query["$filter"])
        path = "/".join(quote(s, safe="") for s in segments)
        return path + "?" + urlencode(query, safe="$,'()", quote_via=quote)

    def body(self, recorded: dict | None) -> dict | None:
        if recorded is None:
            return None
        body = copy.deepcopy(recorded)
        if "id" in body:
            body["id"] = self.fresh(body["id"])
        if "autoPoolSpecification" in body.get("poolInfo", {}):
            body["poolInfo"] = {"poolId": self.ids["host"]}
        linux(body)
        return body

    def send(self, method: str, url: str, body: dict | None) -> requests.Response:
        """One request, signed with Shared Key as the SDK signs it, with a fresh ocp-date."""
        headers = {"ocp-date": formatdate(usegmt=True), "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json; odata=minimalmetadata"
        data = None if body is None else json.dumps(body).encode()
        request = requests.Request(method, self.base + url, headers=headers, data=data).prepare()
        path, _, query = request.path_url.partition("?")
        text = auth.string_to_sign(method, path, query, request.headers, self.account)
        request.headers["Authorization"] = f"SharedKey {self.account}:{auth.sign(self.key, text)}"
        trust = self.http.merge_environment_settings(request.url, {}, None, None, None)
        return self.http.send(request, timeout=60, **trust)   # REQUESTS_CA_BUNDLE, as get() reads

    def replay(self, group: list[dict], label: str) -> None:
        """The last entry of a group; a polling group first waits for the recorded state."""
        entry, deadline = group[-1], time.monotonic() + WAIT_SECONDS
        method, url, body = entry["RequestMethod"], self.url(entry["RequestUri"]), \
            self.body(entry["RequestBody"])
        while True:
            response = self.send(method, url, body)
            got = response.json() if response.content and \
                "json" in response.headers.get("Content-Type", "") else None
            if len(group) == 1 or states(got) == states(entry["ResponseBody"]):
                break
            if time.monotonic() > deadline:
                self.failures.append(f"{label}: after {WAIT_SECONDS} s the state is "
                                     f"{states(got)}, recorded {states(entry['ResponseBody'])}")
                break
            time.sleep(0.2)
        if isinstance(got, dict) and url.split("?")[0].endswith("/nodes"):
            for mine, theirs in zip(entry["ResponseBody"]["value"], got["value"]):
                self.ids.setdefault(mine["id"], theirs["id"])
        self.compare(label, entry, response, got)
        self.next_link = got.get("odata.nextLink") if isinstance(got, dict) else None
        if response.status_code == 201 and url.split("?")[0] in self.made:
            self.made[url.split("?")[0]].append(body["id"])

    def compare(self, label: str, entry: dict, response: requests.Response, got) -> None:
        fail, recorded = self.failures.append, entry["ResponseBody"]
        if response.status_code != entry["StatusCode"]:
            fail(f"{label}: status {response.status_code}, recorded {entry['StatusCode']}: "
                 f"{response.text[:200]}")
            return
        headers = [h for h in entry["ResponseHeaders"] if h not in response.headers and
                   (h.lower() in HEADERS_READ or h.lower().startswith("ocp-batch-file-"))]
        if headers:
            fail(f"{label}: headers {headers} missing (has {sorted(response.headers)})")
        if isinstance(recorded, list):  # a text file's content, recorded as a list of strings
            text = "".join(recorded).replace("\r\n", "\n")
            if response.text != text:
                fail(f"{label}: content {response.text!r}, recorded {text!r}")
        if not isinstance(recorded, dict):
            return
        if not isinstance(got, dict):
            fail(f"{label}: no JSON body ({response.headers.get('Content-Type')})")
            return
        if missing_keys(recorded, got):
            fail(f"{label}: keys {missing_keys(recorded, got)} missing")
        for item in recorded.get("value", []):
            self.item(label, item, got.get("value", []), "maxresults" in entry["RequestUri"])
        sentence = recorded.get("message", {}).get("value", "").split("\n")[0]
        if "code" in recorded and (got.get("code") != recorded["code"] or not got.get(
                "message", {}).get("value", "").startswith(sentence)):
            fail(f"{label}: error {got.get('code')} {got.get('message')}, recorded "
                 f"{recorded['code']} {sentence!r}")

    def item(self, label: str, recorded: dict, got: list[dict], paged: bool) -> None:
        """A list item's keys, compared with the same entity (listed, if this replay made it)."""
        ident = recorded.get("id") or "/".join(
            self.ids.get(p, p) for p in re.split(r"[\\/]", recorded.get("name", "")))
        ident = self.ids.get(ident, ident)
        same = [g for g in got if ident in (g.get("id"), g.get("name"))]
        if not same and self.prefix in ident and not paged:
            self.failures.append(f"{label}: {ident} not listed")
        similar = same or [g for g in got if g.get("isDirectory") == recorded.get("isDirectory")]
        if not similar:
            self.failures.append(f"{label}: no item to compare with {ident}")
        elif missing_keys(recorded, similar[0]):
            self.failures.append(f"{label}: item {ident}: keys "
                                 f"{missing_keys(recorded, similar[0])} missing")

    def cleanup(self) -> None:
        for job_id in self.made["/jobs"]:
            with suppress(HttpResponseError):  # already gone, or being deleted
                self.batch.begin_delete_job(job_id, polling_interval=0.1).result()
        for pool_id in self.made["/pools"]:
            delete_pool(self.batch, pool_id)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_replay(name: str, endpoints: dict[str, str], batch: BatchClient) -> None:
    run, index = Replay(endpoints, batch, name), 0
    try:
        run.prepare()
        for group in polls(RECORDINGS[name]):
            index += len(group)
            if (op := operation(group[-1])) not in SKIPPED:
                run.replay(group, f"entry {index} {op}")
    finally:
        run.cleanup()
    assert not run.failures, "localbatch differs from the recording:\n" + "\n".join(run.failures)


def test_skipped_operations_are_declared() -> None:
    seen = {operation(entry) for entries in RECORDINGS.values() for entry in entries}
    assert seen & set(SKIPPED) == set(SKIPPED) == {
        "begin_stop_pool_resize",
        "begin_disable_job", "begin_enable_job",
        "delete_node_file", "delete_task_file"}
    routed = {(method, path) for path, handlers in ROUTES for method in handlers}
    for name, (method, path, _) in SKIPPED.items():
        assert (method, path) not in routed, f"{name} is in localbatch's route table"
