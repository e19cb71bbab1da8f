"""jsonschema without the IRI grammar: Jupyter's jsonschema[format-nongpl] installs rfc3987_syntax,
which jsonschema imports to check "iri" formats, and which builds a Lark grammar as it is imported:
2.7 s of every process that imports jsonschema (the service; the scripts and pytest, through
nbformat), more than the rest of a service start. Nothing here checks those formats.

Importing this module does it. The schema imports it first; so do the scripts, before nbformat;
and pytest loads it as a plugin (`-p`, in pyproject.toml's addopts), before nbval."""

from __future__ import annotations

import sys


def import_jsonschema() -> None:
    """Import jsonschema with rfc3987_syntax hidden, then unhide it for whatever imports it later
    (only jsonschema's own "iri" checkers go without it). Call it before jsonschema is imported."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None   # makes its import fail, which jsonschema allows
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules["rfc3987_syntax"]


import_jsonschema()
