"""Microsoft Entra ID access tokens, made and checked locally: JWTs with the claims Azure's
tokens carry (and Azurite's OAuth mode reads), signed with the state folder's own key.

A token's audience is the resource the client asked for, echoed: Batch asks for
https://batch.core.windows.net/, Storage for https://storage.azure.com. The issuer is shaped as
Microsoft Entra ID's v1 issuer (https://sts.windows.net/<tenant>/), since Azurite accepts no
other; the tenant and the object id are the state folder's own random ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

LIFETIME = 60 * 60                # seconds; Entra ID's access tokens last 60–90 minutes
LEEWAY = 5 * 60                   # clock skew allowed on nbf and exp: Microsoft.IdentityModel's default
BATCH_AUDIENCE = "https://batch.core.windows.net/"
ISSUER = "https://sts.windows.net/{tenant}/"
ALGORITHM = "HS256"
IDENTITY_PATH = "/localbatch/identity/token"   # the token endpoint; no Batch path starts so


@dataclass(frozen=True)
class Identity:
    """Who the state folder's tokens speak for, and the key that signs them."""

    tenant: str
    object_id: str
    signing_key: str

    @property
    def issuer(self) -> str:
        return ISSUER.format(tenant=self.tenant)


class TokenRejected(Exception):
    """A bearer token localbatch does not accept; `detail` says why and what to do."""

    def __init__(self, detail: str, description: str):
        super().__init__(detail)
        self.detail, self.description = detail, description


def issue(identity: Identity, resource: str, now: float | None = None) -> tuple[str, int]:
    """A signed token for the resource, and when it expires (epoch seconds)."""
    issued = int(now if now is not None else time.time())
    expires = issued + LIFETIME
    claims = {"aud": resource, "iss": identity.issuer, "iat": issued, "nbf": issued,
              "exp": expires, "oid": identity.object_id, "sub": identity.object_id,
              "tid": identity.tenant, "appid": identity.object_id, "idtyp": "app",
              "ver": "1.0"}
    return jwt.encode(claims, identity.signing_key, algorithm=ALGORITHM), expires


def check(identity: Identity, token: str, audience: str = BATCH_AUDIENCE) -> dict:
    """The token's claims if it is one of ours, unexpired and for this audience; else
    TokenRejected. Nothing of the token itself goes into the message."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError:
        raise TokenRejected("The bearer token is not a JWT.",
                            "The access token is not valid.") from None
    if claims.get("iss") != identity.issuer:
        raise TokenRejected(
            f"The token was issued by {claims.get('iss')!r}, not by this localbatch: "
            "DefaultAzureCredential found another sign-in first. For the local target, unset "
            "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (and "
            "AZURE_FEDERATED_TOKEN_FILE), or run `eval \"$(python -m localbatch env)\"` again.",
            "The access token is from the wrong issuer.")
    try:
        return jwt.decode(token, identity.signing_key, algorithms=[ALGORITHM], audience=audience,
                          leeway=LEEWAY, options={"require": ["exp", "nbf", "aud"]})
    except jwt.ExpiredSignatureError:
        raise TokenRejected(
            "The access token has expired: get a new one (a credential object does that by "
            "itself; a token pasted by hand does not).",
            "The access token has expired.") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected(   # Batch's wording, as Azure/azure-sdk-for-net#8026 quotes it
            f"The access token has been obtained from wrong audience or resource "
            f"'{claims.get('aud')}'. It should exactly match (including forward slash) with one "
            f"of the allowed audiences '{audience}'.",
            "The access token has an invalid audience.") from None
    except jwt.PyJWTError:
        raise TokenRejected("The access token's signature or claims are not valid for this "
                            "localbatch (was it made by another state folder?).",
                            "The access token is not valid.") from None
