"""What the service and its nodes may show of a value that can hold a SAS: a SAS signature
must never reach a log line, an error or a task's failureInfo."""

from __future__ import annotations

import re
import traceback
from urllib.parse import urlsplit, urlunsplit

_SIGNATURE = re.compile(r"(sig=)[^&\s]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without its query, where a SAS is."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def without_signatures(text: str) -> str:
    """The text with every sig= value hidden: a SAS given where no URL is expected."""
    return _SIGNATURE.sub(r"\1(hidden)", text)


def frames(exc: BaseException) -> str:
    """An exception's class and where it was raised, without its message (it may hold a SAS)."""
    return "\n".join([exc.__class__.__name__] + [
        f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)])
