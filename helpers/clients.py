"""The two SDK clients of notebook 01, for the notebooks after it, and plain-words errors."""

from __future__ import annotations

import binascii
import os

from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.storage.blob import BlobServiceClient

from .language import tr
from .settings import Settings, load_settings

ROLES = {"Batch": "Azure Batch Data Contributor", "Storage": "Storage Blob Data Contributor"}
KEY_REFUSED = {(403, "AuthenticationFailed"), (403, "AuthorizationFailure"),
               (400, "InvalidAuthenticationInfo")}   # the last: Azurite, with OAuth on


def batch_client(settings: Settings, **options) -> BatchClient:
    if settings.auth == "entra":
        from azure.identity import DefaultAzureCredential
        return BatchClient(settings.batch_url, DefaultAzureCredential(), **options)
    return BatchClient(settings.batch_url, AzureNamedKeyCredential(
        settings.batch_account, settings.batch_key), **options)


def blob_client(settings: Settings, **options) -> BlobServiceClient:
    if settings.auth == "entra":
        from azure.identity import DefaultAzureCredential
        return BlobServiceClient(settings.blob_url, credential=DefaultAzureCredential(), **options)
    return BlobServiceClient(settings.blob_url, credential={
        "account_name": settings.storage_account, "account_key": settings.storage_key}, **options)


def connect() -> tuple[Settings, BatchClient, BlobServiceClient]:
    """Settings and both clients, built exactly as notebook 01 shows."""
    settings = load_settings()
    return settings, batch_client(settings), blob_client(settings)


def sdk_text(value) -> str | None:
    """An SDK enum as the service spells it ("idle", not "BatchNodeState.IDLE")."""
    return getattr(value, "value", value)


def _caused_by(exc: BaseException | None, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _detail(exc: BaseException) -> str:
    """What the service or the credential said, first line only (never a token)."""
    error = getattr(exc, "model", None)   # azure-batch's BatchError
    for item in getattr(error, "error_values", None) or []:
        if getattr(item, "key", "") == "AuthenticationErrorDetail":
            return item.value
    return str(getattr(exc, "message", "") or exc).strip().splitlines()[0]


def _named(service: str) -> dict[str, str]:
    """How a sentence names the service and its account, in the notebook's language ("the
    storage account", „účet úložiště“)."""
    if service == "Batch":
        return {"service": tr("Batch"), "account": tr("batch")}
    return {"service": tr("Storage"), "account": tr("storage")}


def explain(exc: BaseException, service: str, settings: Settings) -> str:
    """One sentence that says what went wrong and what to change (never a key)."""
    where = settings.batch_url if service == "Batch" else settings.blob_url
    fields = {**_named(service), "where": where, "role": ROLES[service],
              "error": type(exc).__name__}
    if settings.auth == "entra" and where.startswith("http://") and \
            not isinstance(exc, ClientAuthenticationError):
        message = tr("Microsoft Entra ID needs an https {service} URL and {where} is http: use "
                     "the https URL from the portal (or Shared key for the local target).")
    elif _caused_by(exc, binascii.Error):
        message = tr("The {service} key is not valid base64: paste the whole key from the "
                     "portal's Keys page, with no spaces or line breaks.")
    elif isinstance(exc, ServiceRequestError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        fields["bundle"] = os.environ.get("REQUESTS_CA_BUNDLE", tr("(not set)"))
        message = tr("{where} has a certificate this computer does not trust: "
                     "REQUESTS_CA_BUNDLE, {bundle}, lacks its CA. Run "
                     "`eval \"$(python -m localbatch env)\"` again for the local target (it adds "
                     "localbatch's CA to your bundle), or unset REQUESTS_CA_BUNDLE.")
    elif isinstance(exc, ServiceRequestError) and settings.target == "local":
        message = tr("Nothing answered at {where}: check the {service} URL (is localbatch up? "
                     "`python -m localbatch up`).")
    elif isinstance(exc, ServiceRequestError):
        message = tr("Nothing answered at {where}: check the {service} URL and your network.")
    elif isinstance(exc, ClientAuthenticationError) and settings.auth == "entra" and \
            settings.target == "local":
        fields["detail"] = _detail(exc)
        message = tr("localbatch refused the Microsoft Entra ID sign-in: {detail}")
    elif isinstance(exc, ClientAuthenticationError) and settings.auth == "entra":
        message = tr("Microsoft Entra ID sign-in failed: run `az login`, and check that you "
                     "have the {role} role on the {account} account.")
    elif isinstance(exc, HttpResponseError):
        fields["status"] = exc.status_code
        fields["code"] = getattr(getattr(exc, "error", None), "code", None) or \
            getattr(exc, "error_code", None) or ""
        if (exc.status_code, fields["code"]) in KEY_REFUSED:
            message = tr("The {service} account at {where} rejected the key: check the {account} "
                         "account name and URL, and copy its key again from the portal's Keys "
                         "page.")
        elif exc.status_code == 403:
            message = tr("The {service} account refused access ({code}): check your {role} role "
                         "on it.")
        else:
            message = tr("The {service} service answered {status} {code}.")
    else:
        message = tr("Could not use {service} at {where}: {error}.")
    return message.format(**fields)


def check_connection(settings: Settings) -> list[str]:
    """Try one cheap call on each service; return the problems found (empty when both work)."""
    problems = []
    try:
        list(batch_client(settings, retry_total=0).list_pools(max_results=1))
    except Exception as exc:  # noqa: BLE001 - any failure becomes one sentence for the learner
        problems.append(explain(exc, "Batch", settings))
    try:
        next(iter(blob_client(settings, retry_total=0).list_containers(results_per_page=1)), None)
    except Exception as exc:  # noqa: BLE001
        problems.append(explain(exc, "Storage", settings))
    return problems
