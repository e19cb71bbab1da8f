"""The two SDK clients of notebook 01, for the notebooks after it, and plain-words errors."""

from __future__ import annotations

import binascii

from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.storage.blob import BlobServiceClient

from .settings import Settings, load_settings

ROLES = {"Batch": "Azure Batch Data Contributor", "Storage": "Storage Blob Data Contributor"}


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


def explain(exc: BaseException, service: str, settings: Settings) -> str:
    """One sentence that says what went wrong and what to change (never a key)."""
    where = settings.batch_url if service == "Batch" else settings.blob_url
    if settings.auth == "entra" and where.startswith("http://") and \
            not isinstance(exc, ClientAuthenticationError):
        return (f"Microsoft Entra ID needs an https {service} URL and {where} is http: use the "
                "https URL from the portal (or Shared key for the local target).")
    if _caused_by(exc, binascii.Error):
        return (f"The {service} key is not valid base64: paste the whole key from the portal's "
                "Keys page, with no spaces or line breaks.")
    if isinstance(exc, ServiceRequestError):
        return (f"Nothing answered at {where}: check the {service} URL"
                + (" (is localbatch up? `python -m localbatch up`)." if settings.target == "local"
                   else " and your network."))
    if isinstance(exc, ClientAuthenticationError) and settings.auth == "entra":
        return ("Microsoft Entra ID sign-in failed: run `az login`, and check that you have the "
                f"{ROLES[service]} role on the {service.lower()} account.")
    if isinstance(exc, HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None) or \
            getattr(exc, "error_code", None) or ""
        if exc.status_code == 403 and code in ("AuthenticationFailed", "AuthorizationFailure"):
            return (f"The {service} account at {where} rejected the key: check the "
                    f"{service.lower()} account name and URL, and copy its key again from the "
                    "portal's Keys page.")
        if exc.status_code == 403:
            return (f"The {service} account refused access ({code}): check your "
                    f"{ROLES[service]} role on it.")
        return f"The {service} service answered {exc.status_code} {code}."
    return f"Could not use {service} at {where}: {type(exc).__name__}."


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
