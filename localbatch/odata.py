"""The OData query options the Batch service takes on lists: $filter, $select, paging."""

from __future__ import annotations

import base64
import operator
import re
from collections.abc import Callable
from typing import Any

from . import errors

Predicate = Callable[[dict], bool]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<punct>[(),])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/.]*))")
_OPS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge,
        "lt": operator.lt, "le": operator.le}
_FUNCS = {"startswith": lambda a, b: a.startswith(b), "endswith": lambda a, b: a.endswith(b),
          "substringof": lambda a, b: b in a}
MAX_RESULTS = 1000
MAX_DEPTH = 50
"""Parentheses and `not`s nested deeper than this are refused: the parser (and the predicate it
builds) recurse once per level. The service's own limit is not documented."""


def bad_query(name: str, value: str, reason: str | None = None) -> errors.BatchError:
    values = {"QueryParameterName": name, "QueryParameterValue": value}
    if reason:
        values["Reason"] = reason
    return errors.InvalidQueryParameterValue(values=values)


def lookup(doc: Any, path: str) -> Any:
    """The value at an OData property path such as executionInfo/exitCode (None if absent)."""
    for part in path.split("/"):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise self.error(f"unexpected text at '{text[pos:]}'")
            kind = match.lastgroup
            raw = match.group(kind)
            value: Any = raw
            if kind == "str":
                value = raw[1:-1].replace("''", "'")
            elif kind == "num":
                value = float(raw) if "." in raw else int(raw)
            self.tokens.append((kind, value))
            pos = match.end()
        self.pos = 0
        self.depth = 0

    def error(self, reason: str) -> errors.BatchError:
        return bad_query("$filter", self.text, reason)

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, value: Any = None) -> Any:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise self.error(f"expected {value or kind}")
        self.pos += 1
        return token[1]

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise self.error(f"unexpected '{self.peek()[1]}'")
        return predicate

    def expr(self) -> Predicate:
        terms = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.pos += 1
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else lambda d: any(t(d) for t in terms)

    def conjunction(self) -> Predicate:
        terms = [self.term()]
        while self.peek() == ("word", "and"):
            self.pos += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else lambda d: all(t(d) for t in terms)

    def term(self) -> Predicate:
        if self.peek() in (("punct", "("), ("word", "not")):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"nested more than {MAX_DEPTH} levels deep")
            opening = self.take()
            if opening == "(":
                inner = self.expr()
                self.take("punct", ")")
            else:
                negated = self.term()
                inner = lambda d: not negated(d)
            self.depth -= 1
            return inner
        name = self.take("word")
        if name in _FUNCS:
            self.take("punct", "(")
            prop = self.take("word")
            self.take("punct", ",")
            literal = self.literal()
            self.take("punct", ")")
            func = _FUNCS[name]
            return lambda d: isinstance(v := lookup(d, prop), str) and func(
                v.lower(), str(literal).lower())
        op_name = self.take("word")
        if op_name not in _OPS:
            raise self.error(f"unknown operator '{op_name}'")
        literal = _fold(self.literal())
        compare = _OPS[op_name]

        def predicate(doc: dict) -> bool:
            value = _fold(lookup(doc, name))
            if value is None or type(value) is not type(literal) and not (
                    isinstance(value, (int, float)) and isinstance(literal, (int, float))):
                return op_name == "ne"
            return compare(value, literal)
        return predicate

    def literal(self) -> Any:
        token = self.peek()
        if token is None or token[0] not in ("str", "num", "word"):
            raise self.error("expected a value")
        self.pos += 1
        if token[0] == "word":
            if token[1] in ("true", "false"):
                return token[1] == "true"
            raise self.error(f"'{token[1]}' is not a value; quote strings with '")
        return token[1]


def parse_filter(text: str | None) -> Predicate | None:
    """A predicate over documents for an OData $filter, or None when there is no filter."""
    if not text or not text.strip():
        return None
    return _Parser(text).parse()


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def select(doc: dict, fields: list[str] | None) -> dict:
    """Only the selected top-level properties, as the service answers a $select."""
    if fields is None:
        return doc
    return {k: v for k, v in doc.items() if k in fields}


def max_results(text: str | None) -> int:
    if text is None:
        return MAX_RESULTS
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESULTS:
        raise errors.OutOfRangeQueryParameterValue(
            values={"QueryParameterName": "maxresults", "QueryParameterValue": text})
    return int(text)


def page(keyed: list[tuple[str, dict]], limit: int, skiptoken: str | None
         ) -> tuple[list[dict], str | None]:
    """One page of (key, doc) pairs sorted by key, and the opaque token of the next one."""
    after = ""
    if skiptoken:
        try:
            after = base64.urlsafe_b64decode(skiptoken.encode()).decode()
        except ValueError:
            raise bad_query("$skiptoken", skiptoken) from None
    rest = [(k, d) for k, d in keyed if k > after]
    chunk = rest[:limit]
    token = None
    if len(rest) > limit:
        token = base64.urlsafe_b64encode(chunk[-1][0].encode()).decode()
    return [d for _, d in chunk], token
