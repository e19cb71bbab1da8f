"""helpers.clients: the two SDK clients, and one plain sentence per problem, never a key."""

from __future__ import annotations

import base64
import dataclasses
import socket
from pathlib import Path

import azure.identity
import pytest
from azure.batch import BatchClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.storage.blob import BlobServiceClient

from helpers.clients import ROLES, check_connection, connect, explain
from helpers.settings import Settings
from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import trusted

FAR_FUTURE = 4_102_444_800  # 2100-01-01, in seconds since the epoch
WRONG_KEY = base64.b64encode(b"this is a well-formed key, but not the account's" * 2).decode()


def local_settings(endpoints: dict[str, str], **changes) -> Settings:
    settings = Settings("local", endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_URL"],
                        endpoints["STORAGE_ACCOUNT_NAME"], endpoints["STORAGE_BLOB_URL"], "key",
                        endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"])
    return dataclasses.replace(settings, **changes)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_sentence_each(problems: list[str], *secrets: str) -> None:
    """Two problems, Batch's first then Storage's, each one line naming its service."""
    assert len(problems) == 2, problems
    for problem, service in zip(problems, ("Batch", "Storage")):
        assert service in problem
        assert "\n" not in problem and "Traceback" not in problem
        assert problem.rstrip().endswith((".", ")")), problem
        for secret in secrets:
            assert secret and secret not in problem


# -- check_connection ----------------------------------------------------------------------


def test_good_local_settings_have_no_problems(endpoints: dict[str, str]) -> None:
    assert check_connection(local_settings(endpoints)) == []


def test_wrong_keys(endpoints: dict[str, str]) -> None:
    problems = check_connection(local_settings(endpoints, batch_key=WRONG_KEY,
                                               storage_key=WRONG_KEY))
    assert_one_sentence_each(problems, WRONG_KEY, endpoints["BATCH_ACCOUNT_KEY"],
                             endpoints["STORAGE_ACCOUNT_KEY"])
    batch, storage = problems
    assert "rejected the key" in batch and "batch account name" in batch
    assert "rejected the key" in storage and "storage account name" in storage
    assert "Keys page" in batch and "Keys page" in storage


def test_only_the_batch_key_wrong(endpoints: dict[str, str]) -> None:
    problems = check_connection(local_settings(endpoints, batch_key=WRONG_KEY))
    assert len(problems) == 1
    assert problems[0].startswith("The Batch account at ") and "rejected the key" in problems[0]
    assert WRONG_KEY not in problems[0]


def test_only_the_storage_key_wrong(endpoints: dict[str, str]) -> None:
    problems = check_connection(local_settings(endpoints, storage_key=WRONG_KEY))
    assert len(problems) == 1
    assert problems[0].startswith("The Storage account at ") and "rejected the key" in problems[0]
    assert WRONG_KEY not in problems[0]


@pytest.mark.parametrize("key", ["not base64!!", "xx"])
def test_key_that_is_not_base64(endpoints: dict[str, str], key: str) -> None:
    problems = check_connection(local_settings(endpoints, batch_key=key, storage_key=key))
    assert_one_sentence_each(problems, key)
    for problem, service in zip(problems, ("Batch", "Storage")):
        assert f"The {service} key is not valid base64" in problem
        assert "Keys page" in problem


def test_nothing_listening(endpoints: dict[str, str]) -> None:
    port = free_loopback_port()
    batch_url, blob_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/localstore"
    problems = check_connection(local_settings(endpoints, batch_url=batch_url, blob_url=blob_url))
    assert_one_sentence_each(problems, endpoints["BATCH_ACCOUNT_KEY"],
                             endpoints["STORAGE_ACCOUNT_KEY"])
    batch, storage = problems
    assert batch.startswith(f"Nothing answered at {batch_url}:")
    assert "check the Batch URL" in batch
    assert storage.startswith(f"Nothing answered at {blob_url}:")
    assert "check the Storage URL" in storage
    assert "python -m localbatch up" in batch and "python -m localbatch up" in storage


def test_nothing_listening_on_azure_says_network(endpoints: dict[str, str]) -> None:
    port = free_loopback_port()
    problems = check_connection(local_settings(
        endpoints, target="azure", batch_url=f"http://127.0.0.1:{port}",
        blob_url=f"http://127.0.0.1:{port}/localstore"))
    assert len(problems) == 2
    for problem in problems:
        assert "network" in problem
        assert "localbatch" not in problem


def test_wrong_account_name(endpoints: dict[str, str]) -> None:
    problems = check_connection(local_settings(endpoints, batch_account="notmybatch",
                                               storage_account="notmystore"))
    assert_one_sentence_each(problems, endpoints["BATCH_ACCOUNT_KEY"],
                             endpoints["STORAGE_ACCOUNT_KEY"])
    batch, storage = problems
    assert "batch account name" in batch
    assert "storage account name" in storage


def test_service_down_is_nothing_listening(tmp_path: Path) -> None:
    """A localbatch that was up and is now down: the same sentences as a port nobody uses."""
    stopped = StateDir(tmp_path / "stopped")
    endpoints = up(stopped)
    trusted(stopped)
    try:
        settings = local_settings(endpoints)
        assert check_connection(settings) == []
    finally:
        down(stopped)
    problems = check_connection(settings)
    port = free_loopback_port()
    nobody = local_settings(endpoints, batch_url=f"http://127.0.0.1:{port}",
                            blob_url=f"http://127.0.0.1:{port}/localstore")
    expected = [problem.replace(nobody.batch_url, settings.batch_url)
                if "Batch" in problem else problem.replace(nobody.blob_url, settings.blob_url)
                for problem in check_connection(nobody)]
    assert problems == expected
    assert_one_sentence_each(problems, endpoints["BATCH_ACCOUNT_KEY"],
                             endpoints["STORAGE_ACCOUNT_KEY"])


# -- explain -------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["Batch", "Storage"])
def test_entra_authentication_error_names_the_role(endpoints: dict[str, str],
                                                   service: str) -> None:
    settings = local_settings(endpoints, target="azure", auth="entra", batch_key="",
                              storage_key="")
    sentence = explain(ClientAuthenticationError("token rejected"), service, settings)
    assert ROLES[service] in sentence
    assert "az login" in sentence
    assert "\n" not in sentence


def test_explain_roles_are_the_azure_names() -> None:
    assert ROLES == {"Batch": "Azure Batch Data Contributor",
                     "Storage": "Storage Blob Data Contributor"}


def test_explain_unknown_error_names_service_and_type(endpoints: dict[str, str]) -> None:
    settings = local_settings(endpoints)
    secret = endpoints["BATCH_ACCOUNT_KEY"]
    sentence = explain(RuntimeError(f"boom with {secret}"), "Batch", settings)
    assert sentence == f"Could not use Batch at {settings.batch_url}: RuntimeError."
    assert secret not in sentence


def test_explain_service_request_error_is_nothing_answered(endpoints: dict[str, str]) -> None:
    settings = local_settings(endpoints)
    sentence = explain(ServiceRequestError("connection refused"), "Storage", settings)
    assert sentence.startswith(f"Nothing answered at {settings.blob_url}")


# -- connect -------------------------------------------------------------------------------


def test_connect_gives_working_clients(state, endpoints: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    monkeypatch.setenv("BATCH_TARGET", "local")
    monkeypatch.setenv("BATCH_NOTEBOOKS_ENV_FILE", str(tmp_path / "settings.env"))
    settings, batch, blobs = connect()
    assert settings == local_settings(endpoints)
    assert isinstance(batch, BatchClient)
    assert isinstance(blobs, BlobServiceClient)
    assert isinstance(list(batch.list_pools()), list)
    assert isinstance(list(blobs.list_containers()), list)
    assert blobs.account_name == endpoints["STORAGE_ACCOUNT_NAME"]


# -- Microsoft Entra ID against localbatch's http endpoints ---------------------------------


class FakeCredential:
    """A TokenCredential that signs nobody in: enough to build the clients offline."""

    def __init__(self, *args, **kwargs) -> None:
        self.requested: list[tuple] = []

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        self.requested.append(scopes)
        return AccessToken("fake", FAR_FUTURE)


@pytest.fixture
def entra_settings(endpoints: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Microsoft Entra ID on http URLs (a localbatch started with `up --http`, say)."""
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    plain = {name: url.replace("https://", "http://") for name, url in endpoints.items()
             if name in ("BATCH_ACCOUNT_URL", "STORAGE_BLOB_URL")}
    return local_settings({**endpoints, **plain}, auth="entra", batch_key="", storage_key="")


def test_entra_over_http_gives_one_line_per_service(entra_settings: Settings) -> None:
    """The SDKs refuse bearer tokens over plain http; the learner gets two short sentences."""
    problems = check_connection(entra_settings)
    assert_one_sentence_each(problems, "fake")
    for problem in problems:
        assert "Error(" not in problem and 'File "' not in problem


def test_batch_sdk_refuses_bearer_tokens_over_http(entra_settings: Settings) -> None:
    from helpers.clients import batch_client
    with pytest.raises(ServiceRequestError, match="TLS|https"):
        list(batch_client(entra_settings, retry_total=0).list_pools())


def test_entra_over_http_sentence_says_https_is_needed(entra_settings: Settings) -> None:
    """localbatch is up and answering: the sentence must not send the learner to start it.

    Both SDKs refuse a bearer token on an http URL (Batch: ServiceRequestError 'Bearer token
    authentication is not permitted for non-TLS protected (non-https) URLs'; Storage: ValueError
    'Token credential is only supported with HTTPS'). The sentence should say so.
    """
    problems = check_connection(entra_settings)
    assert len(problems) == 2
    for problem in problems:
        assert "Nothing answered" not in problem, problem
        assert "is localbatch up" not in problem, problem
        assert "https" in problem.lower(), problem
