"""Authentication as the real Batch service answers it: wrong keys, missing or foreign
Authorization, stale dates and api-versions.

Through the real SDK wherever it can send the request; raw HTTP (signed with the SDK's own
BatchSharedKeyAuthPolicy) only for requests the SDK cannot make.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime, timedelta, timezone

import pytest
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError

from tests.conftest import batch_client, unique
from tests.raw_rest import API, error_code, raw_get

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure


def test_wrong_key_is_403_authentication_failed(endpoints: dict[str, str]) -> None:
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    client = batch_client(endpoints, key=wrong_key)
    with pytest.raises(HttpResponseError) as info:
        client.get_pool(unique("any"))
    error = info.value
    assert error.status_code == 403
    assert error.error.code == "AuthenticationFailed"
    assert error.model.error_values[0].key == "AuthenticationErrorDetail"
    assert error.error.details[0].code == "AuthenticationErrorDetail"
    real_key = endpoints["BATCH_ACCOUNT_KEY"]
    texts = [str(error), error.message, error.response.text(), error.model.message.value,
             *(v.value for v in error.model.error_values)]
    assert not any(real_key in text for text in texts)
    assert not any(wrong_key in text for text in texts)


def test_no_authorization_header_is_400_invalid_authentication_info(
        endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, f"/pools?api-version={API}",
                       {"ocp-date": datetime.now(timezone.utc).strftime(
                           "%a, %d %b %Y %H:%M:%S GMT")}, sign=False)
    assert response.status_code == 400
    assert error_code(response) == "InvalidAuthenticationInfo"
    assert response.headers["DataServiceVersion"] == "3.0"
    assert response.headers["request-id"]


def test_a_bearer_token_that_is_not_a_jwt_is_401_with_a_challenge(
        endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, f"/pools?api-version={API}",
                       {"Authorization": "Bearer x", "ocp-date": datetime.now(
                           timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")}, sign=False)
    assert response.status_code == 401
    assert error_code(response) == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer authorization_uri="https://login.microsoftonline.com/')


def test_correctly_signed_raw_request_is_accepted(endpoints: dict[str, str]) -> None:
    """The raw-HTTP signing used below is right: the same request, fresh, succeeds."""
    response = raw_get(endpoints, f"/pools?api-version={API}")
    assert response.status_code == 200, response.text
    assert "value" in response.json()


def test_stale_ocp_date_is_403_authentication_failed(batch: BatchClient) -> None:
    """A correctly signed request whose ocp-date is 20 minutes old (the SDK keeps a given date)."""
    stale = datetime.now(timezone.utc) - timedelta(minutes=20)
    with pytest.raises(HttpResponseError) as info:
        batch.get_pool(unique("any"), ocp_date=stale)
    assert info.value.status_code == 403
    assert info.value.error.code == "AuthenticationFailed"


def test_stale_ocp_date_raw_is_403(endpoints: dict[str, str]) -> None:
    stale = (datetime.now(timezone.utc) - timedelta(minutes=20)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    response = raw_get(endpoints, f"/pools?api-version={API}", {"ocp-date": stale})
    assert response.status_code == 403
    assert error_code(response) == "AuthenticationFailed"


def test_unknown_api_version_is_400_unsupported_request_version(
        endpoints: dict[str, str]) -> None:
    client = BatchClient(endpoints["BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"]),
        api_version="2099-01-01", retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        client.get_pool(unique("any"))
    assert info.value.status_code == 400
    assert info.value.error.code == "UnsupportedRequestVersion"


def test_unknown_api_version_raw_is_400(endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, "/pools?api-version=2001-01-01.1")
    assert response.status_code == 400
    assert error_code(response) == "UnsupportedRequestVersion"


def test_missing_api_version_is_400(endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, "/pools")
    assert response.status_code == 400
    assert error_code(response) == "MissingRequiredQueryParameter"
