"""The request pipeline (auth, api-version, errors, common headers) and reply helpers."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, errors, odata, schema, versions, wire

log = logging.getLogger("localbatch.http")
JSON_TYPE = "application/json; odata=minimalmetadata"


@dataclass
class Call:
    """What a handler needs from a request: path params, query, parsed body, headers."""

    svc: Any
    params: dict[str, str]
    query: dict[str, str]
    headers: Any
    body: Any = None
    base_url: str = ""
    request_id: str = ""


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def entity_headers(doc: dict) -> dict[str, str]:
    return {"ETag": doc["eTag"], "Last-Modified": wire.rfc1123_from_iso(doc["lastModified"]),
            "DataServiceId": doc["url"]}


def created(doc: dict) -> Reply:
    headers = entity_headers(doc)
    headers["Location"] = doc["url"]
    return Reply(201, None, headers)


def accepted(doc: dict) -> Reply:
    return Reply(202, None, entity_headers(doc))


def entity(call: Call, doc: dict, kind: str) -> Reply:
    fields = odata.parse_select(call.query.get("$select"))
    body = {"odata.metadata": f"{call.base_url}/$metadata#{kind}/@Element",
            **odata.select(doc, fields)}
    headers = {"ETag": doc["eTag"], "Last-Modified": wire.rfc1123_from_iso(doc["lastModified"])} \
        if "eTag" in doc else {}
    if headers and not wire.precondition(call.headers, doc, read=True):
        return Reply(304, None, headers)
    return Reply(200, body, headers)


def listing(call: Call, keyed: list[tuple[str, dict]], kind: str, path: str) -> Reply:
    """A page of a list, filtered and selected, with odata.nextLink when more remain."""
    predicate = odata.parse_filter(call.query.get("$filter"))
    fields = odata.parse_select(call.query.get("$select"))
    limit = odata.max_results(call.query.get("maxresults"))
    docs = [(k, d) for k, d in keyed if predicate(d)] if predicate else keyed
    items, token = odata.page(docs, limit, call.query.get("$skiptoken"))
    body: dict = {"odata.metadata": f"{call.base_url}/$metadata#{kind}",
                  "value": [odata.select(d, fields) for d in items]}
    if token:
        query = {k: v for k, v in call.query.items() if k not in ("$skiptoken", "timeOut")}
        query.update({"maxresults": str(limit), "$skiptoken": token})
        body["odata.nextLink"] = f"{call.base_url}{path}?{urlencode(query, safe='$,')}"
    return Reply(200, body)


def error_body(exc: errors.BatchError, base_url: str, request_id: str = "") -> dict:
    """The service's BatchError JSON for an exception."""
    body = {
        "odata.metadata": f"{base_url}/$metadata#Microsoft.Azure.Batch.Protocol."
                          "Entities.Container.errors/@Element",
        "code": exc.code,
        "message": {"lang": "en-US", "value": f"{exc.message}\nRequestId:{request_id}\n"
                                              f"Time:{wire.iso(wire.now())}"},
    }
    if exc.values:
        body["values"] = [{"key": k, "value": v} for k, v in exc.values.items()]
    return body


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=schema.reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.InvalidRequestBody(
            values={"Reason": "The request body is not valid JSON."}) from None


async def dispatch(request: Request, handler: Callable[[Call], Reply]) -> Response:
    svc = request.app.state.svc
    request_id = str(uuid.uuid4())
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    try:
        raw = await request.body()
        auth.verify(request.method, raw_path, raw_query, request.headers, svc.account, svc.key,
                    identity=svc.identity)
        version = versions.check(request.query_params.get("api-version"))
        call = Call(svc, dict(request.path_params), dict(request.query_params), request.headers,
                    _parse_body(raw), svc.base_url, request_id)
        reply = handler(call)
        reply.body = versions.shape(reply.body, version)
        svc.commit()
    except errors.BatchError as exc:
        reply = Reply(exc.status, error_body(exc, svc.base_url, request_id), exc.headers)
        log.info("%s %s -> %s %s", request.method, raw_path, exc.status, exc.code)
    except Exception:
        log.exception("%s %s failed (request-id %s)", request.method, raw_path, request_id)
        reply = Reply(500, error_body(errors.BatchError(), svc.base_url, request_id))
    headers = {"request-id": request_id, "DataServiceVersion": "3.0", **reply.headers}
    if request.headers.get("return-client-request-id", "").lower() == "true" and \
            request.headers.get("client-request-id"):
        headers["client-request-id"] = request.headers["client-request-id"]
    if isinstance(reply.body, bytes):
        return Response(reply.body, reply.status, headers)
    if reply.body is None:
        return Response(None, reply.status, headers)
    return Response(json.dumps(reply.body), reply.status, headers, media_type=JSON_TYPE)
