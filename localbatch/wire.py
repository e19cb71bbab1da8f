"""Formats the service uses on the wire: timestamps, ETags, ISO 8601 durations."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from . import errors

FOREVER = "P10675199DT2H48M5.4775807S"  # .NET TimeSpan.MaxValue, the service's "no limit"
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 with seven fractional digits and Z, as the service writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"



def rfc1123(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def rfc1123_from_iso(stamp: str) -> str:
    """An ISO time as this module writes it, in the RFC 1123 form of HTTP headers."""
    return rfc1123(datetime.fromisoformat(stamp[:26] + "+00:00"))


def new_etag() -> str:
    """An opaque entity tag shaped like the service's: 0x and 15 hex digits."""
    return "0x" + secrets.token_hex(8).upper()[:15]


def duration_seconds(text: str, prop: str) -> float:
    """Seconds in an ISO 8601 duration; an InvalidPropertyValue error names the property."""
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT"):
        raise errors.InvalidPropertyValue(values={"PropertyName": prop, "PropertyValue": str(text)})
    part = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return part["d"] * 86400 + part["h"] * 3600 + part["m"] * 60 + part["s"]


def duration(seconds: float) -> str:
    """An ISO 8601 duration as the service echoes one back: "PT06M00S" becomes "PT6M"
    (recorded, test_batch_scale_pools)."""
    days, rest = divmod(round(seconds, 7), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{value:g}{unit}" for value, unit in ((hours, "H"), (minutes, "M"),
                                                          (secs, "S")) if value)
    if not days and not time:
        return "PT0S"
    return "P" + (f"{days:g}D" if days else "") + (f"T{time}" if time else "")


# Learn, "Specifying conditional headers" (Batch): one conditional header per request, except
# If-None-Match with If-Modified-Since and If-Match with If-Unmodified-Since, where the ETag wins.
_CONDITIONS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
_PAIRS = ({"if-none-match", "if-modified-since"}, {"if-match", "if-unmodified-since"})


def _tags(value: str) -> list[str]:
    return [tag.strip().strip('"') for tag in value.split(",") if tag.strip()]


def _since(headers, name: str, last_modified: str) -> bool:
    """Whether the entity changed after the header's time (to the second, as Last-Modified)."""
    try:
        stamp = parsedate_to_datetime(headers[name])
    except (TypeError, ValueError):
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise errors.InvalidHeaderValue(values={
            "HeaderName": name, "HeaderValue": headers[name],
            "Reason": "Give an RFC 1123 date, such as Sun, 06 Nov 1994 08:49:37 GMT."})
    changed = datetime.fromisoformat(last_modified[:19] + "+00:00")
    return changed > stamp.astimezone(timezone.utc).replace(microsecond=0)


def precondition(headers, doc: dict, read: bool) -> bool:
    """Whether a request may go ahead under its conditional header. A read whose condition fails
    is answered 304 (False here); a write, or an If-Match / If-Unmodified-Since read, is 412."""
    given = {name for name in _CONDITIONS if name in headers}
    if len(given) > 1 and given not in _PAIRS:
        raise errors.InvalidHeaderValue(values={
            "HeaderName": ", ".join(sorted(given)),
            "Reason": "Give at most one conditional header (or If-Match with "
                      "If-Unmodified-Since, or If-None-Match with If-Modified-Since)."})
    if "if-match" in given:
        tags = _tags(headers["if-match"])
        met, not_modified = "*" in tags or doc["eTag"] in tags, False
    elif "if-none-match" in given:
        tags = _tags(headers["if-none-match"])
        met = not ("*" in tags or doc["eTag"] in tags)
        not_modified = read
    elif "if-unmodified-since" in given:
        met, not_modified = not _since(headers, "if-unmodified-since", doc["lastModified"]), False
    elif "if-modified-since" in given:
        met, not_modified = _since(headers, "if-modified-since", doc["lastModified"]), read
    else:
        return True
    if met:
        return True
    if not_modified:
        return False
    raise errors.ConditionNotMet()
