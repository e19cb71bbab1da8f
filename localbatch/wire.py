"""Formats the service uses on the wire: timestamps, ETags, ISO 8601 durations."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from email.utils import format_datetime

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
