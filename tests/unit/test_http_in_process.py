"""The REST pipeline in-process: the Starlette app that localbatch.server serves, built around a
Service in a temp folder and called through Starlette's TestClient. No lifespan runs (the
client is not entered), so no node starts and nothing listens; the requests are signed by the
azure-batch SDK's own Shared Key policy."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from localbatch import API_VERSION, image
from localbatch.api.routes import build_app
from localbatch.service import Service
from tests.raw_rest import signed_headers

BASE = "http://testserver"
ACCOUNT = "inprocess"
KEY = base64.b64encode(secrets.token_bytes(32)).decode()
ENDPOINTS = {"BATCH_ACCOUNT_NAME": ACCOUNT, "BATCH_ACCOUNT_KEY": KEY}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    svc = Service(tmp_path, ACCOUNT, KEY, BASE, image.build(tmp_path / "image"))
    try:
        yield TestClient(build_app(svc), base_url=BASE)
    finally:
        svc.registry.store.close()


def get(client: TestClient, path_and_query: str, key: str = KEY):
    headers = signed_headers({**ENDPOINTS, "BATCH_ACCOUNT_KEY": key}, "GET",
                             BASE + path_and_query)
    return client.get(path_and_query, headers=headers)


def code(response) -> str:
    return response.json()["code"]


def values(response) -> dict[str, str]:
    return {v["key"]: v["value"] for v in response.json().get("values", [])}


def test_a_signed_request_lists_the_pools(client: TestClient) -> None:
    response = get(client, f"/pools?api-version={API_VERSION}")
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []
    assert response.headers["request-id"]
    assert response.headers["content-type"].startswith("application/json")


def test_no_api_version_is_missing_required_query_parameter(client: TestClient) -> None:
    response = get(client, "/pools")
    assert response.status_code == 400
    assert code(response) == "MissingRequiredQueryParameter"
    assert values(response) == {"QueryParameterName": "api-version"}


def test_an_unsupported_api_version_is_named(client: TestClient) -> None:
    response = get(client, "/pools?api-version=2019-08-01.10.0")
    assert response.status_code == 400
    assert code(response) == "UnsupportedRequestVersion"
    assert values(response)["QueryParameterValue"] == "2019-08-01.10.0"


def test_a_request_signed_with_another_key_is_authentication_failed(client: TestClient) -> None:
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    response = get(client, f"/pools?api-version={API_VERSION}", key=other)
    assert response.status_code == 403
    assert code(response) == "AuthenticationFailed"


def test_a_request_without_shared_key_is_invalid_authentication_info(client: TestClient) -> None:
    response = client.get(f"/pools?api-version={API_VERSION}")
    assert response.status_code == 400
    assert code(response) == "InvalidAuthenticationInfo"


def test_an_unknown_path_is_invalid_uri(client: TestClient) -> None:
    response = get(client, f"/nowhere/at/all?api-version={API_VERSION}")
    assert response.status_code == 400
    assert code(response) == "InvalidUri"


def test_a_known_path_with_another_verb_is_unsupported_http_verb(client: TestClient) -> None:
    url = f"/jobs/j/taskcounts?api-version={API_VERSION}"
    headers = signed_headers(ENDPOINTS, "PUT", BASE + url, {"Content-Length": "0"})
    response = client.put(url, headers=headers)
    assert response.status_code == 405
    assert code(response) == "UnsupportedHttpVerb"
