"""Microsoft Entra ID on the local target: the token endpoint DefaultAzureCredential finds,
the checks localbatch makes on every bearer token, and the two targets kept apart."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from azure.batch import BatchClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential

from helpers.clients import check_connection
from helpers.settings import SettingsError, load_settings
from localbatch import tokens
from localbatch.statedir import StateDir

SECRETS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")


@pytest.fixture
def environ(state: StateDir, tmp_path: Path) -> Iterator[dict]:
    """This process's environment, put back afterwards (load_settings changes it, as it changes
    a kernel's), pointed at the session's localbatch with Microsoft Entra ID."""
    saved = dict(os.environ)
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", *SECRETS):
        os.environ.pop(name, None)
    os.environ.update(LOCALBATCH_HOME=str(state.path), BATCH_TARGET="local", BATCH_AUTH="entra",
                      BATCH_NOTEBOOKS_ENV_FILE=str(tmp_path / "settings.env"))
    yield os.environ
    os.environ.clear()
    os.environ.update(saved)


class Fixed:
    """A credential that always hands out the same token (as code that pasted one would)."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def refusal(endpoints: dict[str, str], token: str) -> ClientAuthenticationError:
    batch = BatchClient(endpoints["BATCH_ACCOUNT_URL"], Fixed(token), retry_total=0)
    with pytest.raises(ClientAuthenticationError) as caught:
        list(batch.list_pools())
    return caught.value


def detail(error: ClientAuthenticationError) -> str:
    return {v.key: v.value for v in error.model.error_values}["AuthenticationErrorDetail"]


def test_default_azure_credential_signs_in_to_both_services(environ, endpoints) -> None:
    settings = load_settings()
    assert settings.auth == "entra" and "Microsoft Entra ID" in repr(settings)
    assert check_connection(settings) == []
    credential = DefaultAzureCredential()
    for scope, audience in (("https://batch.core.windows.net//.default",
                             "https://batch.core.windows.net/"),
                            ("https://storage.azure.com/.default", "https://storage.azure.com")):
        claims = jwt.decode(credential.get_token(scope).token, options={"verify_signature": False})
        assert claims["aud"] == audience   # the resource asked for, echoed
        assert claims["iss"].startswith("https://sts.windows.net/")
        assert {"oid", "tid", "iat", "nbf", "exp"} <= claims.keys()
        assert claims["exp"] - claims["iat"] == tokens.LIFETIME


def test_a_token_for_another_audience_is_401_with_batchs_sentence(state, endpoints) -> None:
    token, _ = tokens.issue(state.identity(), "https://batch.core.windows.net")
    error = refusal(endpoints, token)
    assert error.status_code == 401 and error.model.code == "AuthenticationFailed"
    assert detail(error) == (
        "The access token has been obtained from wrong audience or resource "
        "'https://batch.core.windows.net'. It should exactly match (including forward slash) "
        "with one of the allowed audiences 'https://batch.core.windows.net/'.")
    assert 'error="invalid_token"' in error.response.headers["WWW-Authenticate"]


def test_an_expired_token_is_401_with_a_challenge(state, endpoints) -> None:
    token, _ = tokens.issue(state.identity(), tokens.BATCH_AUDIENCE, now=time.time() - 7200)
    error = refusal(endpoints, token)
    assert error.status_code == 401
    assert detail(error).startswith("The access token has expired: get a new one")
    challenge = error.response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization_uri="https://login.microsoftonline.com/')
    assert 'error_description="The access token has expired."' in challenge
    assert token not in str(error)


def test_a_token_signed_with_another_key_is_refused(state, endpoints) -> None:
    identity = state.identity()
    forged = tokens.Identity(identity.tenant, identity.object_id, "not this folder's key" * 3)
    error = refusal(endpoints, tokens.issue(forged, tokens.BATCH_AUDIENCE)[0])
    assert error.status_code == 401
    assert "signature or claims are not valid for this localbatch" in detail(error)


def test_a_real_entra_token_is_refused_naming_what_to_unset(state, endpoints) -> None:
    """A learner's AZURE_CLIENT_SECRET: DefaultAzureCredential tries it before the managed
    identity, and the token it gets is Microsoft Entra ID's, not localbatch's."""
    real = jwt.encode({"iss": "https://sts.windows.net/72f988bf/", "aud": tokens.BATCH_AUDIENCE,
                       "exp": int(time.time()) + 600, "nbf": 0}, "Entra's own key" * 3,
                      algorithm="HS256")
    error = refusal(endpoints, real)
    assert "not by this localbatch" in detail(error)
    assert "unset AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET" in detail(error)


def test_shared_key_still_works_beside_tokens(batch: BatchClient) -> None:
    assert list(batch.list_pools(max_results=1)) is not None


def test_the_token_endpoint_wants_the_identity_header(endpoints) -> None:
    url = endpoints["IDENTITY_ENDPOINT"]
    wrong = requests.get(url, params={"resource": tokens.BATCH_AUDIENCE},
                         headers={"X-IDENTITY-HEADER": "guess"}, timeout=30)
    assert wrong.status_code == 401
    assert "is not this localbatch's IDENTITY_HEADER" in wrong.json()["message"]
    nothing = requests.get(url, headers={"X-IDENTITY-HEADER": endpoints["IDENTITY_HEADER"]},
                           timeout=30)
    assert nothing.status_code == 400 and "no resource" in nothing.json()["message"]


def test_a_learners_client_secret_is_refused_before_any_request(environ) -> None:
    environ.update(AZURE_CLIENT_ID="app", AZURE_TENANT_ID="tenant", AZURE_CLIENT_SECRET="s3cret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("AZURE_CLIENT_SECRET is set, so DefaultAzureCredential "
                                        "would sign in to Microsoft Entra ID")
    assert "s3cret" not in str(caught.value)


def test_the_azure_target_forgets_localbatchs_sign_in(environ, endpoints) -> None:
    """Switched to Azure in 01, the kernel's DefaultAzureCredential must not find localbatch's
    token endpoint (it comes before `az login`)."""
    load_settings()
    assert os.environ["IDENTITY_ENDPOINT"] == endpoints["IDENTITY_ENDPOINT"]
    environ.update(BATCH_TARGET="azure", BATCH_ACCOUNT_NAME="mybatch",
                   BATCH_ACCOUNT_URL="https://mybatch.westeurope.batch.azure.com",
                   STORAGE_ACCOUNT_NAME="mystore")
    assert load_settings().target == "azure"
    assert "IDENTITY_ENDPOINT" not in os.environ and "IDENTITY_HEADER" not in os.environ


def test_a_managed_identity_of_the_learners_own_is_left_alone(environ) -> None:
    environ.update(BATCH_TARGET="azure", BATCH_ACCOUNT_NAME="mybatch",
                   BATCH_ACCOUNT_URL="https://mybatch.westeurope.batch.azure.com",
                   STORAGE_ACCOUNT_NAME="mystore", IDENTITY_ENDPOINT="http://127.0.0.1:41741/msi",
                   IDENTITY_HEADER="app-service")
    load_settings()
    assert os.environ["IDENTITY_ENDPOINT"] == "http://127.0.0.1:41741/msi"
