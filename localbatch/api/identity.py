"""The token endpoint: App Service's managed identity protocol (GET IDENTITY_ENDPOINT with
`resource` and the X-IDENTITY-HEADER secret), which azure-identity's ManagedIdentityCredential,
and so DefaultAzureCredential, already speaks. It answers as App Service does: a JSON body with
access_token and expires_on, or statusCode and message (which MSAL shows in its error)."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import tokens

RERUN = "run `eval \"$(python -m localbatch env)\"` again"


def _refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "message": message}, status)


async def issue_token(request: Request) -> JSONResponse:
    svc = request.app.state.svc
    if svc.identity is None:
        return _refused(400, "This localbatch serves http (`up --http`), so it issues no "
                             "tokens: run `python -m localbatch up` to serve https.")
    secret = request.headers.get("x-identity-header", "")
    if not hmac.compare_digest(secret.encode(), svc.identity_header.encode()):
        return _refused(401, f"X-IDENTITY-HEADER is not this localbatch's IDENTITY_HEADER: "
                             f"{RERUN} (the state folder may be another one).")
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return _refused(400, "The request has no resource: ask for a scope, such as "
                             "https://batch.core.windows.net//.default.")
    token, expires = tokens.issue(svc.identity, resource)
    return JSONResponse({"access_token": token, "expires_on": str(expires),
                         "resource": resource, "token_type": "Bearer",
                         "client_id": svc.identity.object_id})
