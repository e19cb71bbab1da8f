"""Shared Key authentication, verified exactly as the Batch service does it, and bearer tokens
(Microsoft Entra ID), checked against the state folder's own signing key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

from . import errors, tokens

log = logging.getLogger(__name__)

SIGNED_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type",
    "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)
MAX_CLOCK_SKEW_SECONDS = 15 * 60


def string_to_sign(method: str, raw_path: str, raw_query: str,
                   headers: Mapping[str, str], account: str) -> str:
    """The canonical string the client signed (the SDK's BatchSharedKeyAuthPolicy recipe)."""
    lowered = {k.lower(): v for k, v in headers.items() if v}
    if method not in ("GET", "HEAD"):
        lowered.setdefault("content-length", "0")
    parts = [method, *(lowered.get(h, "") for h in SIGNED_HEADERS)]
    text = "\n".join(parts) + "\n"
    for name, value in sorted((k, v) for k, v in lowered.items() if "ocp-" in k):
        text += f"{name}:{value}\n"
    text += f"/{account}{raw_path}"
    query = parse_qs(raw_query)
    for name in sorted(query):
        if query[name][0]:
            text += f"\n{name}:{query[name][0]}"
    return text


def sign(key: str, text: str) -> str:
    """HMAC-SHA256 of the text with the base64 account key, base64-encoded."""
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(method: str, raw_path: str, raw_query: str, headers: Mapping[str, str],
           account: str, key: str, now: datetime | None = None,
           identity: tokens.Identity | None = None) -> None:
    """Raise the service's error unless the request carries a valid signature for this account,
    or (over https, where `identity` is set) a valid bearer token for Batch."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme == "Bearer":
        verify_token(credential.strip(), identity)
        return
    name, sep, signature = credential.strip().rpartition(":")
    if scheme != "SharedKey" or not sep or not name or not signature:
        raise errors.InvalidAuthenticationInfo(
            values={"AuthenticationErrorDetail":
                    "The Authorization header must be 'SharedKey <account>:<signature>'."})
    _check_date(lowered, now or datetime.now(timezone.utc))
    text = string_to_sign(method, raw_path, raw_query, headers, account)
    log.debug("string to sign:\n%s", text)
    expected = sign(key, text)
    if name != account or not hmac.compare_digest(expected, signature):
        detail = (f"The MAC signature found in the HTTP request '{signature}' is not the same as "
                  f"any computed signature. Server used following string to sign: '{text}'.")
        if name != account:
            detail = f"The account name '{name}' in the Authorization header is not this account."
        raise errors.AuthenticationFailed(values={"AuthenticationErrorDetail": detail})


def verify_token(token: str, identity: tokens.Identity | None) -> None:
    """401 AuthenticationFailed, with a Bearer challenge, unless the token is valid. The
    challenge's shape is Azure Resource Manager's (doAzureParallel#346 quotes one); what Batch
    itself sends is not documented."""
    if identity is None:
        raise errors.TokenAuthenticationFailed(values={"AuthenticationErrorDetail":
            "This localbatch serves http (`up --http`), and bearer tokens need https: run "
            "`python -m localbatch up` to serve https, or sign in with the account key."})
    try:
        tokens.check(identity, token)
    except tokens.TokenRejected as rejected:
        challenge = (f'Bearer authorization_uri="https://login.microsoftonline.com/'
                     f'{identity.tenant}", error="invalid_token", '
                     f'error_description="{rejected.description}"')
        raise errors.TokenAuthenticationFailed(
            values={"AuthenticationErrorDetail": rejected.detail},
            headers={"WWW-Authenticate": challenge}) from None


def _check_date(headers: Mapping[str, str], now: datetime) -> None:
    raw = headers.get("ocp-date") or headers.get("date")
    if not raw:
        raise errors.AuthenticationFailed(values={
            "AuthenticationErrorDetail": "The request has no ocp-date or Date header."})
    try:
        sent = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise errors.InvalidAuthenticationInfo(values={
            "AuthenticationErrorDetail": f"The date '{raw}' is not in RFC 1123 format."}) from None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)
    if abs((now - sent).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        raise errors.AuthenticationFailed(values={
            "AuthenticationErrorDetail":
            f"Request date '{raw}' is more than 15 minutes away from the server's time; "
            "check this computer's clock."})
