"""Ids are case-preserving and case-insensitive (spec: "you may not have two IDs within an
Account that differ only by case"): documents, folders and runs are keyed by key(id)."""

from __future__ import annotations


def key(ident: str) -> str:
    """The one key of an id, whatever its case."""
    return ident.lower()
